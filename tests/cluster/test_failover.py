"""Nodes dying: no majority means -CLUSTERDOWN; kill -9 of the leader under a
write load loses no acknowledged write and a new leader serves within 3x the
election timeout; a killed follower catches up after restart; a 5-node
cluster survives two failures."""
import threading
import time

from blackbox.resp import Error, encode

from .cluster import Client


def _write_batch(node, keys, value_of):
    """Pipelined SETs on one connection; all must answer OK."""
    with node.conn() as c:
        c.send(b"".join(encode("SET", k, value_of(k)) for k in keys))
        replies = [c.read_reply() for _ in keys]
    assert all(r == "OK" for r in replies), [r for r in replies if r != "OK"][:3]


def _mget(node, keys, readonly=False):
    out = []
    with node.conn() as c:
        if readonly:
            assert c.call("READONLY") == "OK"
        for i in range(0, len(keys), 200):
            got = c.call("MGET", *keys[i:i + 200])
            assert isinstance(got, list), got
            out += got
    return out


def _wait_reply(node, args, accept, timeout, per_call_timeout=2.0):
    """Send args on fresh connections until the reply satisfies accept(reply)
    or timeout passes; never accepts an OK to a write. Returns (reply, seen)."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        try:
            reply = node.call(*args, timeout=per_call_timeout)
        except OSError as e:
            reply = "socket: %s" % type(e).__name__
        seen.append(reply)
        if accept(reply):
            return reply, seen
        time.sleep(0.05)
    return None, seen


def test_clusterdown_without_majority(make_cluster):
    cl = make_cluster()
    leader = cl.wait_leader()
    assert leader.call("SET", "before", "1") == "OK"
    others = [i for i in cl.nodes if i != leader.node_id]
    survivor = cl.nodes[others[0]]
    cl.kill(leader.node_id)
    cl.kill(others[1])
    reply, seen = _wait_reply(survivor, ("SET", "x", "1"),
                              lambda r: isinstance(r, Error) and r.startswith("CLUSTERDOWN"), 5 * cl.et + 3)
    assert "OK" not in seen, seen
    assert reply == Error("CLUSTERDOWN No raft leader"), seen
    assert survivor.call("GET", "before") == Error("CLUSTERDOWN No raft leader")
    info = survivor.info_raft()
    assert info["raft_role"] in ("follower", "candidate")
    with survivor.conn() as c:
        assert c.call("CLUSTER", "INFO").decode().find("cluster_state:fail") >= 0
        assert c.call("READONLY") == "OK"
        # stale reads are still served (the survivor may not have learnt that
        # "before" committed: the leader died before telling it)
        assert c.call("GET", "before") in (None, b"1")
    # a majority again: service resumes and nothing was lost
    cl.restart(others[1])
    new_leader = cl.wait_leader()
    assert new_leader.call("GET", "before") == b"1"
    assert new_leader.call("SET", "x", "2") == "OK"


def test_kill_leader_under_write_load(make_cluster):
    cl = make_cluster()
    old = cl.wait_leader()
    acked = {}
    oks = []  # (time, node id)
    lock = threading.Lock()
    stop = threading.Event()
    t_kill = [None]

    def writer(t):
        cli = Client(cl, node_id=old.node_id, timeout=3.0)
        i = 0
        while not stop.is_set() and i < 100000:
            key, val = "load:%d:%d" % (t, i), "v%d-%d" % (t, i)
            i += 1
            node = cli.node_id
            kind, reply = cli.call_until("SET", key, val, deadline=time.monotonic() + 1.0)
            now = time.monotonic()
            if kind == "ok" and reply == "OK":
                with lock:
                    acked[key] = val
                    oks.append((now, node))
            elif kind in ("ok", "error"):
                with lock:
                    oks.append((now, "error: %s" % reply))
        cli.close()

    threads = [threading.Thread(target=writer, args=(t,), daemon=True) for t in range(4)]
    for th in threads:
        th.start()
    try:
        time.sleep(1.5)
        with lock:
            n_before = len(acked)
        t_kill[0] = time.monotonic()
        cl.kill(old.node_id)
        deadline = t_kill[0] + 3 * cl.et + 5
        first_after = None
        while time.monotonic() < deadline:
            with lock:
                after = [t for t, n in oks if t > t_kill[0] and n != old.node_id and not isinstance(n, str)]
            if after:
                first_after = min(after)
                if time.monotonic() > first_after + 1.0:
                    break
            time.sleep(0.05)
    finally:
        stop.set()
        for th in threads:
            th.join(15)
    errors = [n for _, n in oks if isinstance(n, str)]
    assert not errors, errors[:5]
    assert n_before > 20, "too few writes before the kill: %d" % n_before
    assert first_after is not None, "no write acknowledged after the leader was killed"
    failover = first_after - t_kill[0]
    print("failover: first write acknowledged by a new leader %.3f s after kill -9 (limit %.1f s)"
          % (failover, 3 * cl.et))
    assert failover <= 3 * cl.et, "new leader served only after %.2f s" % failover

    new = cl.wait_leader()
    assert new.node_id != old.node_id
    keys = sorted(acked)
    got = _mget(new, keys)
    lost = [(k, acked[k], v) for k, v in zip(keys, got) if v != acked[k].encode()]
    assert not lost, "%d of %d acknowledged writes lost, e.g. %r" % (len(lost), len(keys), lost[:5])

    # the old leader comes back as a follower with every acknowledged write
    cl.restart(old.node_id)
    cl.wait_caught_up(old.node_id, new)
    assert cl.nodes[old.node_id].info_raft()["raft_role"] == "follower"
    got = _mget(cl.nodes[old.node_id], keys, readonly=True)
    assert [v.decode() if v else v for v in got] == [acked[k] for k in keys]


def test_killed_follower_catches_up(make_cluster):
    cl = make_cluster()
    leader = cl.wait_leader()
    fid = next(i for i in cl.nodes if i != leader.node_id)
    keys = ["fc:%d" % i for i in range(600)]
    _write_batch(leader, keys[:200], lambda k: "a-" + k)
    cl.kill(fid)
    _write_batch(leader, keys[200:], lambda k: "b-" + k)
    assert leader.call("DEL", "fc:0") == 1
    assert leader.call("INCRBY", "fc:ctr", "7") == 7
    cl.restart(fid)
    info = cl.wait_caught_up(fid, leader)
    assert info["raft_role"] == "follower"
    assert info["raft_leader_id"] == str(leader.node_id)
    all_keys = keys + ["fc:ctr"]
    assert _mget(cl.nodes[fid], all_keys, readonly=True) == _mget(leader, all_keys)
    assert cl.nodes[fid].call("DBSIZE") == leader.call("DBSIZE")
    # and it keeps following new writes
    assert leader.call("SET", "fc:late", "x") == "OK"
    cl.wait_caught_up(fid, leader)
    assert _mget(cl.nodes[fid], ["fc:late"], readonly=True) == [b"x"]


def test_five_nodes_survive_two_failures(make_cluster):
    cl = make_cluster(n=5)
    leader = cl.wait_leader()
    keys = ["five:%d" % i for i in range(100)]
    _write_batch(leader, keys, lambda k: k + "-v")
    victim = next(i for i in cl.nodes if i != leader.node_id)
    cl.kill(leader.node_id)
    cl.kill(victim)
    t0 = time.monotonic()
    new = cl.wait_leader()
    print("5 nodes: new leader writable %.2f s after losing two" % (time.monotonic() - t0))
    assert _mget(new, keys) == [(k + "-v").encode() for k in keys]
    assert new.call("SET", "five:after", "1") == "OK"
    # a third failure leaves 2 of 5: no majority
    third = next(n for n in cl.live() if n is not new)
    cl.kill(new.node_id)
    reply, seen = _wait_reply(third, ("SET", "five:x", "1"),
                              lambda r: isinstance(r, Error) and r.startswith("CLUSTERDOWN"), 5 * cl.et + 3)
    assert "OK" not in seen and reply is not None, seen
