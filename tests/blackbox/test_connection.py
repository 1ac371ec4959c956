"""Connection commands: PING ECHO QUIT SELECT HELLO AUTH CLIENT, with Redis 7.0's exact replies."""
import pytest

from .resp import Conn, Error, Status, encode
from .server import is_redis


def test_ping(c):
    assert c.raw("PING") == b"+PONG\r\n"
    assert c.call("PING", "hello") == b"hello"
    assert c.call("PING", "") == b""
    assert c.err("PING", "a", "b") == "ERR wrong number of arguments for 'ping' command"


def test_echo(c):
    assert c.call("ECHO", "hi there") == b"hi there"
    assert c.call("ECHO", b"\x00\xff\r\n") == b"\x00\xff\r\n"
    assert c.err("ECHO") == "ERR wrong number of arguments for 'echo' command"
    assert c.err("ECHO", "a", "b") == "ERR wrong number of arguments for 'echo' command"


def test_quit_replies_ok_then_closes(server):
    with server.conn() as conn:
        conn.send(encode("QUIT") + encode("PING"))
        closed, data = conn.wait_closed()
        assert closed
        assert data == b"+OK\r\n"


def test_select(c):
    assert c.call("SELECT", "0") == "OK"
    assert c.err("SELECT", "1") == "ERR DB index is out of range"
    assert c.err("SELECT", "-1") == "ERR DB index is out of range"
    assert c.err("SELECT", "x") == "ERR value is not an integer or out of range"
    assert c.err("SELECT") == "ERR wrong number of arguments for 'select' command"
    assert c.call("PING") == "PONG"


def _hello_map(reply):
    assert isinstance(reply, list) and len(reply) == 14, reply
    keys = reply[0::2]
    assert keys == [b"server", b"version", b"proto", b"id", b"mode", b"role", b"modules"]
    return dict(zip(keys, reply[1::2]))


def test_hello_2(c):
    m = _hello_map(c.call("HELLO", "2"))
    assert m[b"proto"] == 2
    assert m[b"id"] == c.call("CLIENT", "ID")
    assert m[b"modules"] == []
    assert isinstance(m[b"version"], bytes) and m[b"version"]
    m = _hello_map(c.call("HELLO"))
    assert m[b"proto"] == 2


def test_hello_setname(c):
    _hello_map(c.call("HELLO", "2", "SETNAME", "myname"))
    assert c.call("CLIENT", "GETNAME") == b"myname"


def test_hello_errors(c):
    assert c.raw("HELLO", "4") == b"-NOPROTO unsupported protocol version\r\n"
    assert c.err("HELLO", "1") == "NOPROTO unsupported protocol version"
    assert c.err("HELLO", "0") == "NOPROTO unsupported protocol version"
    assert c.err("HELLO", "x") == "ERR Protocol version is not an integer or out of range"
    assert c.err("HELLO", "2", "FOO") == "ERR Syntax error in HELLO option 'FOO'"
    # still RESP2 afterwards
    assert c.raw("PING") == b"+PONG\r\n"


@pytest.mark.raftkv_only("raftkv speaks RESP2 only; Redis accepts HELLO 3")
def test_hello_3_is_refused(c):
    assert c.raw("HELLO", "3") == b"-NOPROTO unsupported protocol version\r\n"
    assert c.raw("PING") == b"+PONG\r\n"


def test_auth_without_password_configured(c):
    assert c.err("AUTH", "x") == (
        "ERR AUTH <password> called without any password configured for the default user. "
        "Are you sure your configuration is correct?")
    assert c.err("AUTH") == "ERR wrong number of arguments for 'auth' command"
    assert c.err("AUTH", "a", "b", "c") == "ERR syntax error"


def test_auth_with_requirepass(make_server):
    srv = make_server(requirepass="s3cret")
    noauth = "NOAUTH Authentication required."
    wrong = "WRONGPASS invalid username-password pair or user is disabled."
    with srv.conn(auth=False) as conn:
        assert conn.raw("PING") == b"-NOAUTH Authentication required.\r\n"
        assert conn.err("GET", "a") == noauth
        assert conn.err("ECHO", "x") == noauth
        assert conn.err("SELECT", "0") == noauth
        assert conn.raw("AUTH", "bad") == (
            b"-WRONGPASS invalid username-password pair or user is disabled.\r\n")
        assert conn.err("AUTH", "default", "bad") == wrong
        assert conn.err("AUTH", "nouser", "s3cret") == wrong
        assert conn.err("GET", "a") == noauth
        assert conn.call("AUTH", "s3cret") == "OK"
        assert conn.call("SET", "a", "1") == "OK"
        assert conn.call("GET", "a") == b"1"
    with srv.conn(auth=False) as conn:
        assert conn.call("AUTH", "default", "s3cret") == "OK"
        assert conn.call("PING") == "PONG"
    with srv.conn(auth=False) as conn:
        assert conn.err("HELLO", "2").startswith(
            "NOAUTH HELLO must be called with the client already authenticated")
        assert conn.err("HELLO", "2", "AUTH", "default", "bad") == wrong
        _hello_map(conn.call("HELLO", "2", "AUTH", "default", "s3cret"))
        assert conn.call("GET", "a") == b"1"
    with srv.conn(auth=False) as conn:
        # unknown commands are reported as such even before authentication
        assert conn.err("foo") == "ERR unknown command 'foo', with args beginning with: "
        assert conn.call("QUIT") == "OK"


def test_auth_unauthenticated_request_limits(make_server):
    srv = make_server(requirepass="pw")
    with srv.conn(auth=False) as conn:
        conn.send(b"*11\r\n")
        closed, data = conn.wait_closed()
        assert data == b"-ERR Protocol error: unauthenticated multibulk length\r\n"
        assert closed
    with srv.conn(auth=False) as conn:
        conn.send(b"*1\r\n$16385\r\n")
        closed, data = conn.wait_closed()
        assert data == b"-ERR Protocol error: unauthenticated bulk length\r\n"
        assert closed
    with srv.conn(auth=True) as conn:
        big = b"x" * 20000
        assert conn.call("SET", "k", big, "GET") is None
        assert conn.call("STRLEN", "k") == 20000


def test_client_id_and_names(c, server):
    cid = c.call("CLIENT", "ID")
    assert isinstance(cid, int) and cid > 0
    with server.conn() as other:
        assert other.call("CLIENT", "ID") > cid
    assert c.call("CLIENT", "GETNAME") is None
    assert c.call("CLIENT", "SETNAME", "worker-1") == "OK"
    assert c.call("CLIENT", "GETNAME") == b"worker-1"
    assert c.err("CLIENT", "SETNAME", "a b") == (
        "ERR Client names cannot contain spaces, newlines or special characters.")
    assert c.err("CLIENT", "SETNAME", "a\nb") == (
        "ERR Client names cannot contain spaces, newlines or special characters.")
    assert c.call("CLIENT", "GETNAME") == b"worker-1"
    assert c.call("CLIENT", "SETNAME", "") == "OK"
    assert c.call("CLIENT", "GETNAME") is None
    assert c.err("CLIENT", "SETNAME") == "ERR wrong number of arguments for 'client|setname' command"
    assert c.err("CLIENT") == "ERR wrong number of arguments for 'client' command"
    assert c.err("CLIENT", "FOO") == "ERR unknown subcommand 'FOO'. Try CLIENT HELP."


def _fields(line):
    return dict(kv.split("=", 1) for kv in line.split(" "))


def test_client_list_and_info(c, server):
    c.call("CLIENT", "SETNAME", "lister")
    cid = c.call("CLIENT", "ID")
    with server.conn() as other:
        other.call("CLIENT", "SETNAME", "other")
        oid = other.call("CLIENT", "ID")
        listing = c.call("CLIENT", "LIST")
        assert isinstance(listing, bytes) and listing.endswith(b"\n")
        lines = listing.decode().rstrip("\n").split("\n")
        by_id = {int(_fields(l)["id"]): _fields(l) for l in lines}
        assert cid in by_id and oid in by_id
        me = by_id[cid]
        assert me["name"] == "lister"
        assert me["addr"].startswith("127.0.0.1:")
        assert me["db"] == "0"
        assert me["cmd"] == "client|list"
        for f in ("laddr", "fd", "age", "idle", "flags", "resp"):
            assert f in me
        assert by_id[oid]["name"] == "other"
        assert by_id[oid]["cmd"] == "client|id"  # its last command
    info = c.call("CLIENT", "INFO")
    assert info.endswith(b"\n") and info.count(b"\n") == 1
    mine = _fields(info.decode().rstrip("\n"))
    assert int(mine["id"]) == cid and mine["name"] == "lister" and mine["cmd"] == "client|info"


def test_client_kill(c, server):
    victim = server.conn()
    try:
        vid = victim.call("CLIENT", "ID")
        assert c.call("CLIENT", "KILL", "ID", str(vid)) == 1
        closed, _ = victim.wait_closed()
        assert closed
    finally:
        victim.close()
    victim = server.conn()
    try:
        info = _fields(victim.call("CLIENT", "INFO").decode().rstrip("\n"))
        assert c.call("CLIENT", "KILL", "ADDR", info["addr"]) == 1
        assert victim.wait_closed()[0]
    finally:
        victim.close()
    victim = server.conn()
    try:
        info = _fields(victim.call("CLIENT", "INFO").decode().rstrip("\n"))
        assert c.call("CLIENT", "KILL", info["addr"]) == "OK"
        assert victim.wait_closed()[0]
    finally:
        victim.close()
    assert c.call("CLIENT", "KILL", "ID", "999999") == 0
    assert c.err("CLIENT", "KILL", "1.2.3.4:5") == "ERR No such client"
    assert c.err("CLIENT", "KILL", "ID", "x") == "ERR client-id should be greater than 0"
    assert c.err("CLIENT", "KILL", "ID", "1", "FOO") == "ERR syntax error"
    assert c.err("CLIENT", "KILL", "FOO", "bar") == "ERR syntax error"
    assert c.call("PING") == "PONG"
