"""String commands: values, options, and every error text Redis 7.0 gives."""
import time

import pytest

from .server import is_redis

NOT_INT = "ERR value is not an integer or out of range"
SYNTAX = "ERR syntax error"
OVERFLOW = "ERR increment or decrement would overflow"
NOT_FLOAT = "ERR value is not a valid float"


def invalid_expire(cmd):
    return "ERR invalid expire time in '%s' command" % cmd


def test_get_set_basic(c):
    assert c.call("GET", "k") is None
    assert c.raw("SET", "k", "v") == b"+OK\r\n"
    assert c.call("GET", "k") == b"v"
    assert c.call("SET", "k", "") == "OK"
    assert c.call("GET", "k") == b""
    binary = bytes(range(256)) * 4
    assert c.call("SET", b"bin\x00key", binary) == "OK"
    assert c.call("GET", b"bin\x00key") == binary
    assert c.err("GET") == "ERR wrong number of arguments for 'get' command"
    assert c.err("GET", "a", "b") == "ERR wrong number of arguments for 'get' command"
    assert c.err("SET", "a") == "ERR wrong number of arguments for 'set' command"


def test_set_large_value(r):
    val = b"x" * (4 * 1024 * 1024)
    assert r.set("big", val)
    assert r.get("big") == val
    assert r.strlen("big") == len(val)


def test_set_expire_options(c):
    assert c.call("SET", "k", "v", "EX", "100") == "OK"
    assert 99 <= c.call("TTL", "k") <= 100
    assert c.call("SET", "k", "v", "PX", "100000") == "OK"
    assert 99000 <= c.call("PTTL", "k") <= 100000
    at = int(time.time()) + 1000
    assert c.call("SET", "k", "v", "EXAT", str(at)) == "OK"
    assert c.call("EXPIRETIME", "k") == at
    at_ms = int(time.time() * 1000) + 500000
    assert c.call("SET", "k", "v", "PXAT", str(at_ms)) == "OK"
    assert c.call("PEXPIRETIME", "k") == at_ms
    # a plain SET clears the TTL, KEEPTTL keeps it
    assert c.call("SET", "k", "v2", "KEEPTTL") == "OK"
    assert c.call("PEXPIRETIME", "k") == at_ms
    assert c.call("SET", "k", "v3") == "OK"
    assert c.call("TTL", "k") == -1
    # options are case-insensitive; repeating the same option is accepted
    assert c.call("SET", "k", "v", "ex", "50") == "OK"
    assert c.call("SET", "k", "v", "EX", "10", "EX", "10") == "OK"
    assert c.call("SET", "k", "v", "EXAT", "99999999999999") == "OK"


def test_set_expire_in_the_past(c):
    assert c.call("SET", "k", "v", "PXAT", "1") == "OK"
    assert c.call("EXISTS", "k") == 0
    c.call("SET", "k", "old")
    assert c.call("SET", "k", "v", "EXAT", "1", "GET") == b"old"
    assert c.call("EXISTS", "k") == 0
    assert c.call("GET", "k") is None


def test_set_nx_xx_get(c):
    assert c.call("SET", "k", "v", "XX") is None
    assert c.call("EXISTS", "k") == 0
    assert c.call("SET", "k", "v", "NX") == "OK"
    assert c.call("SET", "k", "w", "NX") is None
    assert c.call("GET", "k") == b"v"
    assert c.call("SET", "k", "w", "XX") == "OK"
    assert c.call("GET", "k") == b"w"
    assert c.call("SET", "k", "x", "GET") == b"w"
    assert c.call("SET", "new", "x", "GET") is None
    assert c.call("GET", "new") == b"x"
    assert c.call("SET", "k", "y", "NX", "GET") == b"x"
    assert c.call("GET", "k") == b"x"
    assert c.call("SET", "nk", "y", "NX", "GET") is None
    assert c.call("GET", "nk") == b"y"
    assert c.call("SET", "k", "z", "XX", "GET") == b"x"
    assert c.call("SET", "absent", "z", "XX", "GET") is None
    assert c.call("EXISTS", "absent") == 0
    assert c.call("SET", "k", "v", "GET", "GET") == b"z"
    assert c.call("SET", "k", "v", "nx", "NX") is None
    assert c.call("SET", "k", "t", "KEEPTTL", "XX") == "OK"
    assert c.call("SET", "k", "u", "GET", "EX", "100") == b"t"
    assert c.call("TTL", "k") in (99, 100)


@pytest.mark.parametrize("args,error", [
    (["EX", "10", "PX", "100"], SYNTAX),
    (["PX", "10", "EX", "100"], SYNTAX),
    (["EX", "10", "EXAT", "100"], SYNTAX),
    (["PXAT", "10", "EXAT", "100"], SYNTAX),
    (["NX", "XX"], SYNTAX),
    (["XX", "NX"], SYNTAX),
    (["EX", "10", "KEEPTTL"], SYNTAX),
    (["KEEPTTL", "PX", "10"], SYNTAX),
    (["EX"], SYNTAX),
    (["PXAT"], SYNTAX),
    (["FOO"], SYNTAX),
    (["NX", "FOO"], SYNTAX),
    (["EX", "0"], invalid_expire("set")),
    (["EX", "-1"], invalid_expire("set")),
    (["PX", "0"], invalid_expire("set")),
    (["PX", "-100"], invalid_expire("set")),
    (["EXAT", "0"], invalid_expire("set")),
    (["PXAT", "0"], invalid_expire("set")),
    (["EX", "9999999999999999"], invalid_expire("set")),
    (["EX", "9223372036854775807"], invalid_expire("set")),
    (["PX", "9223372036854775807"], invalid_expire("set")),
    (["EX", "abc"], NOT_INT),
    (["PX", "1.5"], NOT_INT),
    (["EX", "9223372036854775808"], NOT_INT),
])
def test_set_invalid(c, args, error):
    c.call("SET", "k", "orig")
    assert c.err("SET", "k", "v", *args) == error
    assert c.call("GET", "k") == b"orig"
    assert c.call("TTL", "k") == -1


def test_setnx_setex_psetex(c):
    assert c.call("SETNX", "k", "a") == 1
    assert c.call("SETNX", "k", "b") == 0
    assert c.call("GET", "k") == b"a"
    assert c.call("SETEX", "k", "10", "v") == "OK"
    assert c.call("GET", "k") == b"v" and c.call("TTL", "k") in (9, 10)
    assert c.call("PSETEX", "p", "100000", "v") == "OK"
    assert 99000 <= c.call("PTTL", "p") <= 100000
    assert c.err("SETEX", "k", "0", "v") == invalid_expire("setex")
    assert c.err("SETEX", "k", "-5", "v") == invalid_expire("setex")
    assert c.err("SETEX", "k", "abc", "v") == NOT_INT
    assert c.err("PSETEX", "k", "0", "v") == invalid_expire("psetex")
    assert c.err("PSETEX", "k", "9223372036854775807", "v") == invalid_expire("psetex")
    assert c.err("SETEX", "k", "9999999999999999", "v") == invalid_expire("setex")
    assert c.err("SETEX", "k", "10") == "ERR wrong number of arguments for 'setex' command"
    assert c.err("SETNX", "k") == "ERR wrong number of arguments for 'setnx' command"


def test_mget_mset_msetnx(c):
    assert c.call("MSET", "a", "1", "b", "2") == "OK"
    assert c.call("MGET", "a", "b", "nope", "a") == [b"1", b"2", None, b"1"]
    assert c.err("MSET", "a", "1", "b") == "ERR wrong number of arguments for 'mset' command"
    assert c.err("MSET") == "ERR wrong number of arguments for 'mset' command"
    assert c.err("MGET") == "ERR wrong number of arguments for 'mget' command"
    assert c.call("MSETNX", "a", "9", "c", "3") == 0
    assert c.call("MGET", "a", "c") == [b"1", None]
    assert c.call("MSETNX", "c", "3", "d", "4") == 1
    assert c.call("MGET", "c", "d") == [b"3", b"4"]
    assert c.err("MSETNX", "x", "1", "y") == "ERR wrong number of arguments for 'msetnx' command"
    # the last value wins for a repeated key
    assert c.call("MSET", "dup", "1", "dup", "2") == "OK"
    assert c.call("GET", "dup") == b"2"
    c.call("SET", "t", "v", "EX", "100")
    c.call("MSET", "t", "w")
    assert c.call("TTL", "t") == -1


def test_getset_getdel(c):
    assert c.call("GETSET", "k", "1") is None
    assert c.call("GETSET", "k", "2") == b"1"
    c.call("EXPIRE", "k", "100")
    assert c.call("GETSET", "k", "3") == b"2"
    assert c.call("TTL", "k") == -1
    assert c.call("GETDEL", "k") == b"3"
    assert c.call("GETDEL", "k") is None
    assert c.call("EXISTS", "k") == 0
    assert c.err("GETDEL") == "ERR wrong number of arguments for 'getdel' command"


def test_getex(c):
    assert c.call("GETEX", "nope") is None
    assert c.call("GETEX", "nope", "EX", "10") is None
    assert c.call("EXISTS", "nope") == 0
    c.call("SET", "k", "v")
    assert c.call("GETEX", "k") == b"v"
    assert c.call("TTL", "k") == -1
    assert c.call("GETEX", "k", "EX", "100") == b"v"
    assert c.call("TTL", "k") in (99, 100)
    assert c.call("GETEX", "k", "PX", "50000") == b"v"
    assert 49000 <= c.call("PTTL", "k") <= 50000
    at = int(time.time()) + 2000
    assert c.call("GETEX", "k", "EXAT", str(at)) == b"v"
    assert c.call("EXPIRETIME", "k") == at
    at_ms = int(time.time() * 1000) + 3000000
    assert c.call("GETEX", "k", "PXAT", str(at_ms)) == b"v"
    assert c.call("PEXPIRETIME", "k") == at_ms
    assert c.call("GETEX", "k", "PERSIST") == b"v"
    assert c.call("TTL", "k") == -1
    assert c.err("GETEX", "k", "EX", "0") == invalid_expire("getex")
    assert c.err("GETEX", "k", "EX", "-1") == invalid_expire("getex")
    assert c.err("GETEX", "k", "PX", "0") == invalid_expire("getex")
    assert c.err("GETEX", "k", "EXAT", "0") == invalid_expire("getex")
    assert c.err("GETEX", "k", "EX", "9223372036854775807") == invalid_expire("getex")
    assert c.err("GETEX", "k", "PX", "9223372036854775807") == invalid_expire("getex")
    assert c.err("GETEX", "k", "PX", "abc") == NOT_INT
    assert c.err("GETEX", "k", "EX", "10", "PX", "10") == SYNTAX
    assert c.err("GETEX", "k", "PERSIST", "EX", "10") == SYNTAX
    assert c.err("GETEX", "k", "EX", "10", "PERSIST") == SYNTAX
    assert c.err("GETEX", "k", "KEEPTTL") == SYNTAX
    assert c.err("GETEX", "k", "FOO") == SYNTAX
    assert c.err("GETEX", "k", "EX") == SYNTAX
    assert c.call("TTL", "k") == -1
    # an expire time in the past deletes the key
    assert c.call("GETEX", "k", "PXAT", "1") == b"v"
    assert c.call("EXISTS", "k") == 0
    c.call("SET", "k", "v")
    assert c.call("GETEX", "k", "EXAT", "1") == b"v"
    assert c.call("EXISTS", "k") == 0


def test_append_strlen(c):
    assert c.call("APPEND", "k", "hello") == 5
    assert c.call("APPEND", "k", " world") == 11
    assert c.call("GET", "k") == b"hello world"
    assert c.call("STRLEN", "k") == 11
    assert c.call("STRLEN", "nope") == 0
    assert c.call("APPEND", "k", "") == 11
    c.call("SET", "t", "a", "EX", "100")
    assert c.call("APPEND", "t", "b") == 2
    assert c.call("TTL", "t") in (99, 100)
    assert c.err("APPEND", "k") == "ERR wrong number of arguments for 'append' command"
    assert c.err("STRLEN") == "ERR wrong number of arguments for 'strlen' command"


def test_incr_decr(c):
    assert c.call("INCR", "n") == 1
    assert c.call("INCRBY", "n", "10") == 11
    assert c.call("DECR", "n") == 10
    assert c.call("DECRBY", "n", "5") == 5
    assert c.call("INCRBY", "n", "-7") == -2
    assert c.call("GET", "n") == b"-2"
    assert c.call("DECR", "fresh") == -1
    c.call("SET", "n", "100", "EX", "100")
    assert c.call("INCR", "n") == 101
    assert c.call("TTL", "n") in (99, 100)
    c.call("SET", "sp", "1")
    c.call("APPEND", "sp", "2")
    assert c.call("INCR", "sp") == 13
    c.call("SET", "neg", "-42")
    assert c.call("INCR", "neg") == -41


@pytest.mark.parametrize("value", ["abc", "1.5", " 1", "1 ", "010", "+5", "-0", "", "99999999999999999999",
                                   "0x10", "1e3"])
def test_incr_not_an_integer(c, value):
    c.call("SET", "k", value)
    assert c.err("INCR", "k") == NOT_INT
    assert c.err("DECRBY", "k", "1") == NOT_INT
    assert c.call("GET", "k") == value.encode()


def test_incr_errors(c):
    assert c.err("INCRBY", "n", "abc") == NOT_INT
    assert c.err("INCRBY", "n", "1.5") == NOT_INT
    assert c.err("DECRBY", "n", "") == NOT_INT
    assert c.err("INCRBY", "n", "9223372036854775808") == NOT_INT
    assert c.call("EXISTS", "n") == 0
    c.call("SET", "m", "9223372036854775807")
    assert c.err("INCR", "m") == OVERFLOW
    assert c.err("INCRBY", "m", "1") == OVERFLOW
    assert c.call("DECR", "m") == 9223372036854775806
    c.call("SET", "m", "-9223372036854775808")
    assert c.err("DECR", "m") == OVERFLOW
    assert c.err("INCRBY", "m", "-1") == OVERFLOW
    assert c.err("DECRBY", "m", "-9223372036854775808") == "ERR decrement would overflow"
    assert c.call("INCRBY", "m", "9223372036854775807") == -1
    assert c.call("INCRBY", "q", "9223372036854775807") == 9223372036854775807
    assert c.err("INCRBY", "q", "1") == OVERFLOW
    assert c.err("INCR") == "ERR wrong number of arguments for 'incr' command"
    assert c.err("INCRBY", "n") == "ERR wrong number of arguments for 'incrby' command"


def test_incrbyfloat(c):
    assert c.call("INCRBYFLOAT", "f", "1.5") == b"1.5"
    assert c.call("INCRBYFLOAT", "f", "1e3") == b"1001.5"
    assert c.call("INCRBYFLOAT", "f", "-1001.5") == b"0"
    assert c.call("GET", "f") == b"0"
    c.call("SET", "f", "3")
    assert c.call("INCRBYFLOAT", "f", "2") == b"5"
    assert c.call("INCRBYFLOAT", "f", "2.0e2") == b"205"
    assert c.call("INCRBYFLOAT", "f", "-5.5") == b"199.5"
    c.call("SET", "f", "10.50")
    assert c.call("INCRBYFLOAT", "f", "0") == b"10.5"
    assert c.call("INCRBYFLOAT", "f", "0.1") == b"10.6"
    c.call("SET", "f", "5.0e3")
    assert c.call("INCRBYFLOAT", "f", "200") == b"5200"
    c.call("SET", "f", "1", "EX", "100")
    assert c.call("INCRBYFLOAT", "f", "1") == b"2"
    assert c.call("TTL", "f") in (99, 100)


def test_incrbyfloat_number_formats(c):
    assert c.call("INCRBYFLOAT", "a", "0.1") == b"0.1"
    assert c.call("INCRBYFLOAT", "a", "0.2") == b"0.3"
    assert c.call("INCRBYFLOAT", "i", ".5") == b"0.5"
    assert c.call("INCRBYFLOAT", "i", "5.") == b"5.5"
    assert c.call("INCRBYFLOAT", "i", "+1") == b"6.5"
    assert c.call("INCRBYFLOAT", "j", "-1.5e+2") == b"-150"
    assert c.call("INCRBYFLOAT", "j", "1E2") == b"-50"
    assert c.call("INCRBYFLOAT", "z", "-0") == b"0"
    c.call("SET", "e", "0.3333333333333333")
    assert c.call("INCRBYFLOAT", "e", "0") == b"0.3333333333333333"


def test_incrbyfloat_long_double_precision(c):
    # Redis computes in long double (x86-64: 64-bit mantissa) and prints %.17Lg
    assert c.call("INCRBYFLOAT", "g", "1e17") == b"100000000000000000"
    assert c.call("INCRBYFLOAT", "g", "1") == b"100000000000000001"
    assert c.call("INCRBYFLOAT", "h", "123456789.123456789") == b"123456789.12345678899873747"
    c.call("SET", "big", "12345678901234567890")
    assert c.call("INCRBYFLOAT", "big", "1") == b"12345678901234567891"
    c.call("SET", "f", "1e308")
    assert c.call("INCRBYFLOAT", "f", "1e308").startswith(b"19999999999999999999")
    c.call("SET", "x", "1e5000")
    assert c.err("INCRBYFLOAT", "x", "1") == NOT_FLOAT


def test_incrbyfloat_errors(c):
    assert c.err("INCRBYFLOAT", "f", "abc") == NOT_FLOAT
    assert c.err("INCRBYFLOAT", "f", "1x") == NOT_FLOAT
    assert c.err("INCRBYFLOAT", "f", "nan") == NOT_FLOAT
    assert c.err("INCRBYFLOAT", "f", "") == NOT_FLOAT
    assert c.call("EXISTS", "f") == 0
    c.call("SET", "f", "1.5")
    assert c.err("INCRBYFLOAT", "f", "inf") == "ERR increment would produce NaN or Infinity"
    assert c.err("INCRBYFLOAT", "f", "-inf") == "ERR increment would produce NaN or Infinity"
    c.call("SET", "f", "abc")
    assert c.err("INCRBYFLOAT", "f", "1") == NOT_FLOAT
    c.call("SET", "f", "1.5 ")
    assert c.err("INCRBYFLOAT", "f", "1") == NOT_FLOAT
    assert c.call("GET", "f") == b"1.5 "
    assert c.err("INCRBYFLOAT", "f") == "ERR wrong number of arguments for 'incrbyfloat' command"


def test_getrange(c):
    c.call("SET", "a", "hello")
    assert c.call("GETRANGE", "a", "0", "4") == b"hello"
    assert c.call("GETRANGE", "a", "1", "2") == b"el"
    assert c.call("GETRANGE", "a", "-3", "-1") == b"llo"
    assert c.call("GETRANGE", "a", "0", "-1") == b"hello"
    assert c.call("GETRANGE", "a", "3", "2") == b""
    assert c.call("GETRANGE", "a", "100", "200") == b""
    assert c.call("GETRANGE", "a", "-100", "2") == b"hel"
    assert c.call("GETRANGE", "a", "2", "100") == b"llo"
    assert c.call("GETRANGE", "nope", "0", "-1") == b""
    assert c.call("SUBSTR", "a", "0", "1") == b"he"
    assert c.err("GETRANGE", "a", "x", "1") == NOT_INT
    assert c.err("GETRANGE", "a", "0") == "ERR wrong number of arguments for 'getrange' command"


def test_setrange(c):
    c.call("SET", "a", "hello")
    assert c.call("SETRANGE", "a", "1", "EL") == 5
    assert c.call("GET", "a") == b"hELlo"
    assert c.call("SETRANGE", "a", "5", "!!") == 7
    assert c.call("GET", "a") == b"hELlo!!"
    assert c.call("SETRANGE", "r", "5", "x") == 6
    assert c.call("GET", "r") == b"\x00\x00\x00\x00\x00x"
    # an empty value on a missing key creates nothing; on an existing key changes nothing
    assert c.call("SETRANGE", "e", "10", "") == 0
    assert c.call("EXISTS", "e") == 0
    assert c.call("SETRANGE", "a", "100", "") == 7
    assert c.call("GET", "a") == b"hELlo!!"
    c.call("SET", "t", "abc", "EX", "100")
    assert c.call("SETRANGE", "t", "0", "X") == 3
    assert c.call("TTL", "t") in (99, 100)
    assert c.err("SETRANGE", "a", "-1", "x") == "ERR offset is out of range"
    assert c.err("SETRANGE", "a", "x", "x") == NOT_INT
    assert c.err("SETRANGE", "a", "536870912", "x") == (
        "ERR string exceeds maximum allowed size (proto-max-bulk-len)")
    assert c.err("SETRANGE", "a", "536870911", "xy") == (
        "ERR string exceeds maximum allowed size (proto-max-bulk-len)")
    assert c.call("GET", "a") == b"hELlo!!"
    assert c.err("SETRANGE", "a", "1") == "ERR wrong number of arguments for 'setrange' command"


def test_append_respects_proto_max_bulk_len(make_server):
    srv = make_server(proto_max_bulk_len="1mb")
    with srv.conn() as conn:
        conn.call("SET", "k", b"x" * (1024 * 1024 - 2))
        assert conn.call("APPEND", "k", "yy") == 1024 * 1024
        assert conn.err("APPEND", "k", "z") == (
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)")
        assert conn.call("STRLEN", "k") == 1024 * 1024
        assert conn.err("SETRANGE", "k", str(1024 * 1024), "z") == (
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)")
        assert conn.call("SETRANGE", "k", str(1024 * 1024 - 1), "z") == 1024 * 1024
