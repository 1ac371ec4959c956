"""Protocol robustness: malformed or oversized requests get Redis's exact
error, that connection is closed, and other clients keep being served."""
import socket
import time

import pytest

from .resp import encode
from .server import Server

MB = 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Module server with the smallest bulk limit Redis accepts (1mb)."""
    srv = Server(tmp_path_factory.mktemp("proto"), proto_max_bulk_len="1mb")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def bystander(server):
    """A client connected before the bad one; it must keep working."""
    conn = server.conn()
    assert conn.call("SET", "bystander", "alive") == "OK"
    yield conn
    assert conn.call("PING") == "PONG"
    assert conn.call("GET", "bystander") == b"alive"
    with server.conn() as fresh:
        assert fresh.call("ECHO", "still serving") == b"still serving"
    conn.close()


def expect_error_and_close(server, payload, error):
    with server.conn() as conn:
        conn.send(payload)
        closed, data = conn.wait_closed()
        assert data == b"-ERR Protocol error: " + error + b"\r\n"
        assert closed, "server kept the connection open after a protocol error"


@pytest.mark.parametrize("payload,error", [
    (b"*3000000000\r\n", b"invalid multibulk length"),
    (b"*abc\r\n", b"invalid multibulk length"),
    (b"*1x\r\n", b"invalid multibulk length"),
    (b"*" + b"1" * 70000, b"too big mbulk count string"),
    (b"*1\r\nx\r\n", b"expected '$', got 'x'"),
    (b"*2\r\n$4\r\nECHO\r\n:5\r\n", b"expected '$', got ':'"),
    (b"*1\r\n$abc\r\n", b"invalid bulk length"),
    (b"*1\r\n$1x\r\n", b"invalid bulk length"),
    (b"*1\r\n$-1\r\n", b"invalid bulk length"),
    (b"*1\r\n$-5\r\n", b"invalid bulk length"),
    (b"*1\r\n$1048577\r\n", b"invalid bulk length"),
    (b"*1\r\n$536870913\r\n", b"invalid bulk length"),
    (b"*1\r\n$" + b"1" * 70000, b"too big bulk count string"),
    (b'SET "a b" "c\r\n', b"unbalanced quotes in request"),
    (b'ECHO "a"b\r\n', b"unbalanced quotes in request"),
    (b"ECHO 'a'b\r\n", b"unbalanced quotes in request"),
    (b"x" * 70000, b"too big inline request"),
], ids=["huge-multibulk", "alpha-multibulk", "junk-multibulk", "long-multibulk-line",
        "expected-dollar-x", "expected-dollar-colon", "alpha-bulk", "junk-bulk", "bulk-minus-1",
        "bulk-negative", "bulk-over-limit", "bulk-over-512mb", "long-bulk-line",
        "unbalanced-dq", "dq-then-text", "sq-then-text", "inline-64k"])
def test_protocol_error(server, bystander, payload, error):
    expect_error_and_close(server, payload, error)


def test_error_after_good_requests_in_same_send(server, bystander):
    with server.conn() as conn:
        conn.send(encode("SET", "before", "1") + b"PING\r\n" + b"*1\r\n$abc\r\n" + encode("SET", "after", "1"))
        closed, data = conn.wait_closed()
        assert data == b"+OK\r\n+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"
        assert closed
    assert bystander.call("EXISTS", "before", "after") == 1


def test_bulk_at_limit_is_accepted(server, bystander):
    with server.conn() as conn:
        big = b"y" * MB
        assert conn.call("SET", "big", big) == "OK"
        assert conn.call("STRLEN", "big") == MB
        conn.send(b"*2\r\n$4\r\nECHO\r\n$1048576\r\n")
        conn.send(big[:MB // 2])
        time.sleep(0.05)
        conn.send(big[MB // 2:] + b"\r\n")
        assert conn.read_reply() == big


def test_empty_and_blank_requests_are_ignored(server, bystander):
    with server.conn() as conn:
        conn.send(b"\r\n\r\n*0\r\n*-1\r\n*-5\r\n\n   \r\nPING\r\n")
        assert conn.read_reply() == "PONG"
        conn.send(b"PING\n")
        assert conn.read_reply() == "PONG"
        conn.send(b"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n")
        assert conn.read_reply() == b""


def test_inline_commands_and_quoting(server, bystander):
    with server.conn() as conn:
        conn.send(b'SET "key with space" \'single quoted\'\r\n')
        assert conn.read_reply() == "OK"
        assert conn.call("GET", "key with space") == b"single quoted"
        conn.send(b"  ECHO   spaced   \r\n")
        assert conn.read_reply() == b"spaced"
        conn.send(b'ECHO "\\x41\\x42\\n\\t\\\\"\r\n')
        assert conn.read_reply() == b"AB\n\t\\"
        conn.send(b'ECHO ""\r\n')
        assert conn.read_reply() == b""
        conn.send(b"ECHO a b\r\n")
        assert conn.read_reply() == "ERR wrong number of arguments for 'echo' command"
        conn.send(b"nosuch a\r\n")
        assert conn.read_reply() == "ERR unknown command 'nosuch', with args beginning with: 'a' "


def test_unknown_reply_type_first_byte_is_inline(server, bystander):
    with server.conn() as conn:
        conn.send(b"+PING\r\n")
        assert conn.read_reply() == "ERR unknown command '+PING', with args beginning with: "
        assert conn.call("PING") == "PONG"


def test_client_disconnect_mid_request(server, bystander):
    for payload in (b"*3\r\n$3\r\nSET\r\n$4\r\nhalf", b"*2\r\n$4\r\nECHO\r\n$100000\r\n" + b"z" * 5000,
                    b"SET inline-half"):
        s = socket.create_connection(("127.0.0.1", server.port))
        s.sendall(payload)
        s.close()
    assert bystander.call("EXISTS", "half", "inline-half") == 0


def test_query_buffer_limit(make_server):
    srv = make_server(client_query_buffer_limit="1mb", proto_max_bulk_len="4mb")
    with srv.conn() as other:
        with srv.conn() as conn:
            assert conn.call("SET", "ok", b"a" * (900 * 1024)) == "OK"
            try:
                conn.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n" % (2 * MB) + b"x" * (2 * MB) + b"\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass   # closed past the limit before the client had sent it all
            closed, data = conn.wait_closed()
            assert closed and data == b""
        assert other.call("EXISTS", "k") == 0
        assert other.call("STRLEN", "ok") == 900 * 1024
        # a long pipeline of small requests is no single oversized request
        with srv.conn() as conn:
            n = 30000
            conn.send(b"".join(encode("SET", "q%d" % (i % 50), "v" * 60) for i in range(n)))
            for _ in range(n):
                assert conn.read_reply() == "OK"
        assert other.call("PING") == "PONG"


def test_maxclients(make_server):
    srv = make_server(maxclients=3)
    conns = [srv.conn() for _ in range(3)]
    try:
        for conn in conns:
            assert conn.call("PING") == "PONG"
        extra = srv.conn(auth=False)
        closed, data = extra.wait_closed()
        extra.close()
        assert data == b"-ERR max number of clients reached\r\n"
        assert closed
        for conn in conns:
            assert conn.call("PING") == "PONG"
        conns.pop().close()
        deadline = time.monotonic() + 5
        while True:
            with srv.conn() as again:
                try:
                    if again.call("PING") == "PONG":
                        break
                except Exception:
                    pass
            assert time.monotonic() < deadline, "a freed client slot was never reused"
            time.sleep(0.1)
    finally:
        for conn in conns:
            conn.close()
