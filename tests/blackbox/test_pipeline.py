"""Pipelining: many requests in one send are all answered, in order."""
import random
import time

from .resp import encode


def test_ten_thousand_mixed_commands_in_one_send(c):
    rng = random.Random(1234)
    model, reqs, expected = {}, [], []
    for i in range(10000):
        key = "p:%d" % rng.randrange(300)
        op = rng.randrange(8)
        if op == 0:
            val = "v%d" % i
            reqs.append(encode("SET", key, val))
            expected.append("OK")
            model[key] = val.encode()
        elif op == 1:
            reqs.append(encode("GET", key))
            expected.append(model.get(key))
        elif op == 2:
            reqs.append(encode("INCR", "counter"))
            model["counter"] = str(int(model.get("counter", b"0")) + 1).encode()
            expected.append(int(model["counter"]))
        elif op == 3:
            reqs.append(encode("DEL", key))
            expected.append(1 if model.pop(key, None) is not None else 0)
        elif op == 4:
            reqs.append(encode("ECHO", "e%d" % i))
            expected.append(("e%d" % i).encode())
        elif op == 5:
            reqs.append(encode("EXISTS", key))
            expected.append(1 if key in model else 0)
        elif op == 6:
            reqs.append(b"PING\r\n")  # inline requests mixed into the stream
            expected.append("PONG")
        else:
            reqs.append(encode("nosuchcmd", "x"))
            expected.append("ERR unknown command 'nosuchcmd', with args beginning with: 'x' ")
    reqs.append(encode("DBSIZE"))
    expected.append(len(model))
    c.send(b"".join(reqs))
    for i, want in enumerate(expected):
        got = c.read_reply()
        assert got == want, "reply #%d: %r != %r" % (i, got, want)
    assert c.call("PING") == "PONG"


def test_interleaved_set_get_sees_previous_set(c):
    n = 3000
    reqs = []
    for i in range(n):
        reqs.append(encode("SET", "k", "value-%d" % i))
        reqs.append(encode("GET", "k"))
        reqs.append(encode("APPEND", "log", "%d," % i))
    c.send(b"".join(reqs))
    total = 0
    for i in range(n):
        assert c.read_reply() == "OK"
        assert c.read_reply() == ("value-%d" % i).encode()
        total += len("%d," % i)
        assert c.read_reply() == total
    assert c.call("GET", "log") == "".join("%d," % i for i in range(n)).encode()


def test_dependent_pipeline_does_not_wait_for_a_timer(c):
    # Each GET waits for the INCR before it to apply, and the INCR after it is
    # proposed only then, when no new input arrives to wake the event loop: a
    # loop that slept until its next timer here took ~100 ms per pair (5 s).
    n = 50
    start = time.monotonic()
    c.send(b"".join(encode("INCR", "dep") + encode("GET", "dep") for _ in range(n)))
    for i in range(1, n + 1):
        assert c.read_reply() == i
        assert c.read_reply() == str(i).encode()
    assert time.monotonic() - start < 1.5


def test_pipeline_split_at_every_byte_boundary(c):
    data = encode("SET", "split", "abc") + encode("GET", "split") + b"PING\r\n" + encode("ECHO", "")
    for b in data:
        c.send(bytes([b]))
    assert [c.read_reply() for _ in range(4)] == ["OK", b"abc", "PONG", b""]


def test_redis_py_pipeline(r):
    pipe = r.pipeline(transaction=False)
    for i in range(500):
        pipe.set("rp:%d" % i, i)
        pipe.incr("rp:%d" % i)
    results = pipe.execute()
    assert results == [x for i in range(500) for x in (True, i + 1)]
    assert r.mget(["rp:%d" % i for i in range(500)]) == [str(i + 1).encode() for i in range(500)]


def test_clients_are_independent(server):
    conns = [server.conn() for _ in range(5)]
    try:
        for i, conn in enumerate(conns):
            conn.send(b"".join(encode("SET", "c%d" % i, "%d" % j) for j in range(200)))
        for conn in conns:
            for _ in range(200):
                assert conn.read_reply() == "OK"
        for i, conn in enumerate(conns):
            assert conn.call("GET", "c%d" % i) == b"199"
    finally:
        for conn in conns:
            conn.close()


def test_many_concurrent_connections(server):
    conns = []
    try:
        for i in range(150):
            conns.append(server.conn())
        for i, conn in enumerate(conns):
            conn.send(encode("SET", "cc%d" % i, "%d" % i) + encode("INCR", "cc%d" % i))
        for i, conn in enumerate(conns):
            assert conn.read_reply() == "OK"
            assert conn.read_reply() == i + 1
    finally:
        for conn in conns:
            conn.close()


def test_slow_reader_gets_every_reply(c):
    value = b"v" * 10000
    c.call("SET", "big", value)
    n = 2000
    c.send(b"".join(encode("GET", "big") for _ in range(n)) + encode("ECHO", "done"))
    time.sleep(0.5)  # let the server queue ~20 MB of replies before reading any
    for _ in range(n):
        assert c.read_reply() == value
    assert c.read_reply() == b"done"


def test_errors_wait_their_turn_behind_writes(c):
    # an error found before execution (unknown command, arity) is still
    # answered after the replies of the writes sent before it
    c.send(encode("INCR", "x") + encode("nosuch") + encode("SET", "a", "1") + encode("GET")
           + encode("SET", "b", "1", "NX", "XX") + encode("PING"))
    assert [c.read_reply() for _ in range(6)] == [
        1, "ERR unknown command 'nosuch', with args beginning with: ", "OK",
        "ERR wrong number of arguments for 'get' command", "ERR syntax error", "PONG"]
