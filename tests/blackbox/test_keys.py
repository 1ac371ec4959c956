"""Keyspace commands and expiry.

Type-mismatch (WRONGTYPE) cases are not here: raftkv has only strings for now,
so no command can meet a key of another type.
"""
import time

import pytest

NOT_INT = "ERR value is not an integer or out of range"
ARITY = "ERR wrong number of arguments for '%s' command"


def invalid_expire(cmd):
    return "ERR invalid expire time in '%s' command" % cmd


def test_del_unlink_exists(c):
    c.call("MSET", "a", "1", "b", "2", "c", "3")
    assert c.call("EXISTS", "a", "a", "nope") == 2
    assert c.call("DEL", "a", "b", "nope") == 2
    assert c.call("DEL", "a") == 0
    assert c.call("EXISTS", "a", "b", "c") == 1
    assert c.call("UNLINK", "c", "c") == 1
    assert c.call("EXISTS", "c") == 0
    assert c.call("DBSIZE") == 0
    assert c.err("DEL") == ARITY % "del"
    assert c.err("UNLINK") == ARITY % "unlink"
    assert c.err("EXISTS") == ARITY % "exists"


def test_type_touch(c):
    c.call("SET", "a", "1")
    assert c.raw("TYPE", "a") == b"+string\r\n"
    assert c.raw("TYPE", "nope") == b"+none\r\n"
    assert c.call("TOUCH", "a", "a", "nope") == 2
    assert c.err("TYPE") == ARITY % "type"
    assert c.err("TOUCH") == ARITY % "touch"


def test_ttl_pttl_persist(c):
    assert c.call("TTL", "nope") == -2
    assert c.call("PTTL", "nope") == -2
    c.call("SET", "k", "v")
    assert c.call("TTL", "k") == -1
    assert c.call("PTTL", "k") == -1
    assert c.call("PERSIST", "k") == 0
    assert c.call("EXPIRE", "k", "100") == 1
    assert c.call("TTL", "k") in (99, 100)
    assert 99000 < c.call("PTTL", "k") <= 100000
    assert c.call("PERSIST", "k") == 1
    assert c.call("TTL", "k") == -1
    assert c.call("PERSIST", "nope") == 0
    assert c.err("PERSIST") == ARITY % "persist"


def test_expire_family_set_ttls(c):
    c.call("SET", "k", "v")
    assert c.call("PEXPIRE", "k", "100000") == 1
    assert 99000 < c.call("PTTL", "k") <= 100000
    now = int(time.time())
    assert c.call("EXPIREAT", "k", str(now + 500)) == 1
    assert c.call("EXPIRETIME", "k") == now + 500
    assert c.call("PEXPIRETIME", "k") == (now + 500) * 1000
    assert c.call("PEXPIREAT", "k", "99999999999999") == 1
    assert c.call("PEXPIRETIME", "k") == 99999999999999
    assert c.call("EXPIRETIME", "k") == 100000000000
    assert c.call("EXPIRE", "nope", "10") == 0
    assert c.call("PEXPIREAT", "nope", "99999999999999") == 0
    assert c.call("EXPIRETIME", "nope") == -2
    assert c.call("PEXPIRETIME", "nope") == -2
    c.call("SET", "p", "v")
    assert c.call("EXPIRETIME", "p") == -1
    assert c.call("PEXPIRETIME", "p") == -1


@pytest.mark.parametrize("how", [["EXPIRE", "0"], ["EXPIRE", "-1"], ["PEXPIRE", "-100"],
                                 ["EXPIREAT", "1"], ["PEXPIREAT", "1"]])
def test_expire_in_the_past_deletes(c, how):
    c.call("SET", "k", "v")
    assert c.call(how[0], "k", how[1]) == 1
    assert c.call("EXISTS", "k") == 0
    assert c.call("GET", "k") is None


def test_expire_nx_xx_gt_lt(c):
    c.call("SET", "a", "1")
    assert c.call("EXPIRE", "a", "100", "NX") == 1
    assert c.call("EXPIRE", "a", "100", "NX") == 0
    assert c.call("EXPIRE", "a", "50", "XX") == 1
    assert c.call("TTL", "a") in (49, 50)
    assert c.call("EXPIRE", "a", "200", "GT") == 1
    assert c.call("EXPIRE", "a", "10", "GT") == 0
    assert c.call("EXPIRE", "a", "10", "LT") == 1
    assert c.call("EXPIRE", "a", "20", "LT") == 0
    assert c.call("TTL", "a") in (9, 10)
    assert c.call("EXPIRE", "a", "5", "XX", "GT") == 0
    assert c.call("EXPIRE", "a", "30", "xx", "gt") == 1
    # a key without TTL counts as an infinite TTL for GT/LT
    c.call("SET", "p", "1")
    assert c.call("EXPIRE", "p", "10", "XX") == 0
    assert c.call("EXPIRE", "p", "10", "GT") == 0
    assert c.call("TTL", "p") == -1
    assert c.call("PEXPIRE", "p", "100000", "LT") == 1
    assert c.call("EXPIRE", "p", "10", "NX") == 0
    now = int(time.time())
    assert c.call("EXPIREAT", "p", str(now + 1000), "GT") == 1
    assert c.call("PEXPIREAT", "p", str((now + 500) * 1000), "GT") == 0
    assert c.call("PEXPIREAT", "p", str((now + 500) * 1000), "LT") == 1
    assert c.call("EXPIRETIME", "p") == now + 500
    # repeating a flag is fine
    c.call("SET", "q", "1")
    assert c.call("EXPIRE", "q", "10", "nx", "nx") == 1
    assert c.call("EXPIRE", "nope", "10", "NX") == 0


@pytest.mark.parametrize("cmd", ["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"])
def test_expire_option_errors(c, cmd):
    c.call("SET", "a", "1")
    both = "ERR NX and XX, GT or LT options at the same time are not compatible"
    assert c.err(cmd, "a", "100", "NX", "XX") == both
    assert c.err(cmd, "a", "100", "NX", "GT") == both
    assert c.err(cmd, "a", "100", "LT", "NX") == both
    assert c.err(cmd, "a", "100", "GT", "LT") == "ERR GT and LT options at the same time are not compatible"
    assert c.err(cmd, "a", "100", "FOO") == "ERR Unsupported option FOO"
    assert c.err(cmd, "a", "100", "NX", "bar") == "ERR Unsupported option bar"
    assert c.err(cmd, "a", "abc") == NOT_INT
    assert c.err(cmd, "a", "1.5") == NOT_INT
    assert c.err(cmd, "a") == ARITY % cmd.lower()
    assert c.call("TTL", "a") == -1


def test_expire_overflow_errors(c):
    c.call("SET", "p", "1")
    assert c.err("EXPIRE", "p", "9223372036854775807") == invalid_expire("expire")
    assert c.err("EXPIRE", "p", "922337203685477580") == invalid_expire("expire")
    assert c.err("PEXPIRE", "p", "9223372036854775807") == invalid_expire("pexpire")
    assert c.err("EXPIREAT", "p", "9223372036854775807") == invalid_expire("expireat")
    assert c.err("EXPIRE", "p", "-9223372036854775808") == invalid_expire("expire")
    assert c.call("TTL", "p") == -1


def test_keys_patterns(c):
    c.call("MSET", "foo", "1", "foobar", "2", "bar", "3", "f?o", "4", "fxo", "5", "h[a]llo", "6")
    def keys(p):
        return sorted(c.call("KEYS", p))
    assert keys("*") == sorted([b"foo", b"foobar", b"bar", b"f?o", b"fxo", b"h[a]llo"])
    assert keys("f*") == [b"f?o", b"foo", b"foobar", b"fxo"]
    assert keys("f?o") == [b"f?o", b"foo", b"fxo"]
    assert keys("f\\?o") == [b"f?o"]
    assert keys("f[ox]o") == [b"foo", b"fxo"]
    assert keys("f[^o]o") == [b"f?o", b"fxo"]
    assert keys("f[a-z]o") == [b"foo", b"fxo"]
    assert keys("h\\[a\\]llo") == [b"h[a]llo"]
    assert keys("*bar") == [b"bar", b"foobar"]
    assert keys("foo") == [b"foo"]
    assert keys("nomatch*") == []
    assert c.err("KEYS") == ARITY % "keys"
    assert c.err("KEYS", "a", "b") == ARITY % "keys"


def test_keys_hides_expired(c):
    c.call("SET", "live", "1")
    c.call("SET", "dead", "1", "PX", "50")
    time.sleep(0.15)
    assert c.call("KEYS", "*") == [b"live"]


def _scan_all(c, *opts, max_calls=10000):
    cursor, seen, calls = b"0", [], 0
    while True:
        reply = c.call("SCAN", cursor, *opts)
        assert isinstance(reply, list) and len(reply) == 2
        cursor, batch = reply
        assert isinstance(cursor, bytes) and cursor.isdigit()
        seen.extend(batch)
        calls += 1
        assert calls < max_calls
        if cursor == b"0":
            return seen, calls


def test_scan_full_iteration(c):
    keys = {("key:%d" % i).encode() for i in range(1000)}
    c.send(b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1\r\nv\r\n" % (len(k), k) for k in keys))
    for _ in keys:
        assert c.read_reply() == "OK"
    seen, calls = _scan_all(c)
    assert len(seen) == len(keys) and set(seen) == keys
    assert calls > 1
    seen, calls = _scan_all(c, "COUNT", "100")
    assert len(seen) == len(keys) and set(seen) == keys
    seen, _ = _scan_all(c, "COUNT", "5000")
    assert sorted(seen) == sorted(keys)


def test_scan_match_type_count(c):
    c.call("MSET", "foo", "1", "foobar", "2", "bar", "3")
    seen, _ = _scan_all(c, "MATCH", "foo*")
    assert sorted(seen) == [b"foo", b"foobar"]
    seen, _ = _scan_all(c, "TYPE", "string")
    assert sorted(seen) == [b"bar", b"foo", b"foobar"]
    seen, _ = _scan_all(c, "TYPE", "list")
    assert seen == []
    seen, _ = _scan_all(c, "COUNT", "1", "MATCH", "*bar", "TYPE", "STRING")
    assert sorted(seen) == [b"bar", b"foobar"]
    seen, _ = _scan_all(c, "MATCH", "nothing*")
    assert seen == []


def test_scan_errors(c):
    assert c.err("SCAN", "x") == "ERR invalid cursor"
    assert c.err("SCAN", "18446744073709551616") == "ERR invalid cursor"
    assert c.err("SCAN", "0", "COUNT", "0") == "ERR syntax error"
    assert c.err("SCAN", "0", "COUNT", "-1") == "ERR syntax error"
    assert c.err("SCAN", "0", "COUNT", "x") == NOT_INT
    assert c.err("SCAN", "0", "MATCH") == "ERR syntax error"
    assert c.err("SCAN", "0", "FOO", "bar") == "ERR syntax error"
    assert c.err("SCAN") == ARITY % "scan"
    assert c.call("SCAN", "0") == [b"0", []]


def test_rename(c):
    assert c.err("RENAME", "nope", "x") == "ERR no such key"
    assert c.err("RENAMENX", "nope", "x") == "ERR no such key"
    c.call("SET", "x", "1", "EX", "100")
    c.call("SET", "y", "2")
    assert c.call("RENAME", "x", "x") == "OK"
    assert c.call("RENAMENX", "x", "x") == 0
    assert c.call("RENAMENX", "x", "y") == 0
    assert c.call("RENAME", "x", "y") == "OK"
    assert c.call("GET", "y") == b"1"
    assert c.call("TTL", "y") in (99, 100)
    assert c.call("EXISTS", "x") == 0
    assert c.call("RENAMENX", "y", "z") == 1
    assert c.call("MGET", "y", "z") == [None, b"1"]
    assert c.call("TTL", "z") in (99, 100)
    c.call("SET", "w", "v", "EX", "50")
    assert c.call("RENAME", "z", "w") == "OK"
    assert c.call("TTL", "w") in (99, 100)
    assert c.err("RENAME", "w", "z", "EXTRA") == ARITY % "rename"
    assert c.err("RENAMENX", "w") == ARITY % "renamenx"


def test_copy(c):
    assert c.call("COPY", "nope", "dst") == 0
    c.call("SET", "src", "v", "EX", "100")
    assert c.call("COPY", "src", "dst") == 1
    assert c.call("GET", "dst") == b"v"
    assert c.call("TTL", "dst") in (99, 100)
    c.call("SET", "src", "v2")
    assert c.call("COPY", "src", "dst") == 0
    assert c.call("GET", "dst") == b"v"
    assert c.call("COPY", "src", "dst", "REPLACE") == 1
    assert c.call("GET", "dst") == b"v2"
    assert c.call("TTL", "dst") == -1
    assert c.call("COPY", "src", "d0", "DB", "0") == 1
    assert c.call("GET", "d0") == b"v2"
    assert c.err("COPY", "src", "d1", "DB", "1") == "ERR DB index is out of range"
    assert c.err("COPY", "src", "d1", "DB", "-1") == "ERR DB index is out of range"
    assert c.err("COPY", "src", "d1", "DB", "x") == NOT_INT
    assert c.err("COPY", "src", "d1", "FOO") == "ERR syntax error"
    assert c.err("COPY", "src", "src") == "ERR source and destination objects are the same"
    assert c.err("COPY", "src", "src", "REPLACE") == "ERR source and destination objects are the same"
    assert c.err("COPY", "src") == ARITY % "copy"
    assert c.call("EXISTS", "d1") == 0


def test_randomkey(c):
    assert c.call("RANDOMKEY") is None
    keys = {b"a", b"b", b"c"}
    c.call("MSET", "a", "1", "b", "2", "c", "3")
    got = {c.call("RANDOMKEY") for _ in range(60)}
    assert got <= keys and len(got) >= 2
    assert c.err("RANDOMKEY", "x") == ARITY % "randomkey"


def test_key_expires(c):
    c.call("SET", "k", "v", "PX", "100")
    c.call("SET", "e", "v")
    c.call("PEXPIRE", "e", "100")
    assert c.call("GET", "k") == b"v"
    time.sleep(0.25)
    assert c.call("GET", "k") is None
    assert c.call("EXISTS", "k", "e") == 0
    assert c.call("TTL", "k") == -2
    assert c.call("MGET", "k", "e") == [None, None]
    assert c.call("STRLEN", "e") == 0
    # SET NX / INCR treat the expired key as missing
    assert c.call("SET", "k", "new", "NX") == "OK"
    c.call("SET", "n", "41", "PX", "50")
    time.sleep(0.15)
    assert c.call("INCR", "n") == 1


def test_active_expiry_shrinks_dbsize(c):
    c.send(b"".join(b"*5\r\n$3\r\nSET\r\n$5\r\nt:%03d\r\n$1\r\nv\r\n$2\r\nPX\r\n$3\r\n100\r\n" % i
                    for i in range(100)))
    for _ in range(100):
        assert c.read_reply() == "OK"
    c.call("SET", "keep", "1")
    deadline = time.monotonic() + 8.0
    size = None
    while time.monotonic() < deadline:
        size = c.call("DBSIZE")
        if size == 1:
            break
        time.sleep(0.1)
    assert size == 1, "expired keys still counted by DBSIZE after 8 s"
    assert c.call("GET", "keep") == b"1"
