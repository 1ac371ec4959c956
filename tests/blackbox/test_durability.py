"""Durability: what was acknowledged survives a restart and a kill -9.

Stock Redis passes these too when run with appendonly + appendfsync always
(which is how the conftest starts it), so they run on both targets."""
import random
import threading
import time

import redis

from .resp import encode


def _fill(conn, n, prefix="d"):
    conn.send(b"".join(encode("SET", "%s:%d" % (prefix, i), "value-%d" % i) for i in range(n)))
    for _ in range(n):
        assert conn.read_reply() == "OK"


def _check(conn, n, prefix="d"):
    got = conn.call("MGET", *["%s:%d" % (prefix, i) for i in range(n)])
    assert got == [("value-%d" % i).encode() for i in range(n)]


def test_restart_keeps_data_and_ttls(make_server):
    srv = make_server()
    now_ms = int(time.time() * 1000)
    with srv.conn() as conn:
        _fill(conn, 500)
        conn.call("SET", "ttl:ex", "a", "EX", "1000")
        conn.call("SET", "ttl:pxat", "b", "PXAT", str(now_ms + 3600 * 1000))
        conn.call("SET", "ttl:short", "c", "PX", "300")
        conn.call("SET", "persisted", "d", "EX", "100")
        conn.call("PERSIST", "persisted")
        conn.call("INCRBY", "counter", "41")
        conn.call("INCR", "counter")
        conn.call("DEL", "d:0")
        conn.call("SET", "bin", bytes(range(256)))
        pexp = conn.call("PEXPIRETIME", "ttl:ex")
    srv.restart()
    time.sleep(0.4)  # ttl:short must now be gone, even though nobody touched it across the restart
    with srv.conn() as conn:
        assert conn.call("GET", "d:0") is None
        assert conn.call("MGET", "d:1", "d:499") == [b"value-1", b"value-499"]
        assert conn.call("PEXPIRETIME", "ttl:ex") == pexp
        assert conn.call("PEXPIRETIME", "ttl:pxat") == now_ms + 3600 * 1000
        assert conn.call("GET", "ttl:short") is None
        assert conn.call("TTL", "persisted") == -1
        assert conn.call("GET", "counter") == b"42"
        assert conn.call("GET", "bin") == bytes(range(256))
        assert conn.call("DBSIZE") in (503, 504)  # ttl:short may still be counted until expired
        conn.call("SET", "after", "1")
    srv.restart()
    with srv.conn() as conn:
        assert conn.call("GET", "after") == b"1"
        assert conn.call("GET", "counter") == b"42"


def test_kill9_after_acknowledged_writes(make_server):
    srv = make_server()
    with srv.conn() as conn:
        _fill(conn, 300)
        conn.call("SET", "ttl", "x", "EX", "500")
        conn.call("DEL", "d:7")
    srv.restart(kill=True)
    with srv.conn() as conn:
        got = conn.call("MGET", *["d:%d" % i for i in range(300)])
        assert got == [None if i == 7 else ("value-%d" % i).encode() for i in range(300)]
        assert 490 <= conn.call("TTL", "ttl") <= 500


def test_flushall_survives_restart(make_server):
    srv = make_server()
    with srv.conn() as conn:
        _fill(conn, 50)
        assert conn.call("FLUSHALL") == "OK"
        conn.call("SET", "only", "1")
    srv.restart(kill=True)
    with srv.conn() as conn:
        assert conn.call("KEYS", "*") == [b"only"]


def test_kill9_during_write_load(make_server):
    srv = make_server()
    n_threads, keys_per_thread = 4, 20
    acked = [dict() for _ in range(n_threads)]
    stop = threading.Event()
    errors = []

    def writer(t):
        cli = redis.Redis(host="127.0.0.1", port=srv.port, socket_timeout=5,
                          socket_connect_timeout=2, retry_on_timeout=False)
        deadline = time.monotonic() + 6.0
        n = 0
        try:
            while not stop.is_set() and time.monotonic() < deadline and n < 1000000:
                n += 1
                key = "w%d:%d" % (t, n % keys_per_thread)
                try:
                    cli.set(key, n)
                except (redis.ConnectionError, redis.TimeoutError, OSError):
                    return  # server gone: this write is not acknowledged
                acked[t][key] = n
        except Exception as e:  # anything else is a bug in the server's replies
            errors.append(repr(e))
        finally:
            cli.close()

    threads = [threading.Thread(target=writer, args=(t,), daemon=True) for t in range(n_threads)]
    for th in threads:
        th.start()
    time.sleep(random.Random().uniform(0.8, 2.5))
    srv.kill9()
    stop.set()
    for th in threads:
        th.join(10)
        assert not th.is_alive()
    assert not errors, errors
    total = sum(len(a) for a in acked)
    assert total > 0, "no write was acknowledged before the kill"
    srv.start()
    with srv.client() as cli:
        for t in range(n_threads):
            keys = sorted(acked[t])
            if not keys:
                continue
            values = cli.mget(keys)
            for key, val in zip(keys, values):
                assert val is not None, "acknowledged key %s lost" % key
                assert int(val) >= acked[t][key], (
                    "%s: acknowledged %d, read back %s" % (key, acked[t][key], val))
