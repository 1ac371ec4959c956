"""CLUSTER FAILOVER on real processes: a follower asks the leader to hand over
and answers +OK once it leads and serves (every node agrees, writes work
through it at once); Redis's errors for a leader and for bad arguments;
TAKEOVER refused; no acknowledged write lost when it happens under a write
load; a learner refuses; a leader the follower cannot reach is reported; a
client that leaves while waiting does not disturb the node; RAFT.FAILOVER is
refused to ordinary clients."""
import threading
import time

from blackbox.resp import Conn, Error, encode

from .cluster import Client, key_slot
from .test_membership import add_node, wait_for

NOT_A_REPLICA = Error("ERR You should send CLUSTER FAILOVER to a replica")
LEARNER = Error("ERR this node is a learner (a non-voting replica): it cannot lead until the leader promotes it")
TAKEOVER = ("ERR CLUSTER FAILOVER TAKEOVER is not supported")


def _agree_on(cl, node_id, timeout):
    """Every live node names node_id as leader (same term); returns the infos."""
    def agreed():
        infos = cl.infos([n.node_id for n in cl.live()])
        ok = all(v and v.get("raft_leader_id") == str(node_id) for v in infos.values())
        ok = ok and len({v["raft_term"] for v in infos.values()}) == 1
        return infos if ok else None
    return wait_for(agreed, timeout, "every node to name %d as leader" % node_id)


def test_failover_makes_the_follower_leader(make_cluster):
    cl = make_cluster(n=3)
    old = cl.wait_leader()
    assert old.call("SET", "before", "1") == "OK"
    for option in ((), ("FORCE",), ("force",)):
        leader = cl.wait_leader()
        target = next(n for n in cl.nodes.values() if n is not leader)
        term = int(leader.info_raft()["raft_term"])
        with target.conn() as c:
            t0 = time.monotonic()
            assert c.call("CLUSTER", "FAILOVER", *option) == "OK", option
            took = time.monotonic() - t0
            # it leads and serves the moment it answers: a write on the same
            # connection is acknowledged here, not redirected
            info = target.info_raft()
            assert info["raft_role"] == "leader", info
            assert int(info["raft_term"]) > term
            assert c.call("SET", "after:%d" % target.node_id, "x") == "OK"
            assert c.call("GET", "before") == b"1"
        assert took < 3 * cl.et, took
        infos = _agree_on(cl, target.node_id, 5 * cl.et)
        assert [i for i, v in infos.items() if v["raft_role"] == "leader"] == [target.node_id]
        assert leader.info_raft()["raft_role"] == "follower"
        # clients are sent to the new leader, and CLUSTER NODES shows it as master
        assert leader.call("SET", "k", "v") == Error("MOVED %d %s" % (key_slot("k"), target.addr))
        nodes = target.call("CLUSTER", "NODES")
        lines = (nodes.decode() if isinstance(nodes, bytes) else str(nodes)).splitlines()
        assert any("myself,master" in l for l in lines), lines
        print("CLUSTER FAILOVER %s: node %d leads after %.3f s" % (" ".join(option) or "(plain)", target.node_id, took))


def test_argument_errors_and_the_leader(make_cluster):
    cl = make_cluster(n=3)
    leader = cl.wait_leader()
    follower = next(n for n in cl.nodes.values() if n is not leader)
    with leader.conn() as c:
        for option in ((), ("FORCE",), ("TAKEOVER",), ("takeover",)):
            assert c.call("CLUSTER", "FAILOVER", *option) == NOT_A_REPLICA, option
    for node in (leader, follower):
        with node.conn() as c:
            # as Redis 7.0.15 in cluster mode: the option is checked first
            assert c.call("CLUSTER", "FAILOVER", "bogus") == Error("ERR syntax error")
            assert c.call("CLUSTER", "FAILOVER", "FORCE", "extra") == Error(
                "ERR unknown subcommand or wrong number of arguments for 'failover'. Try CLUSTER HELP.")
            assert c.call("RAFT.FAILOVER") == Error("NOPERM this connection is not an authenticated raft peer")
    reply = follower.call("CLUSTER", "FAILOVER", "TAKEOVER")
    assert isinstance(reply, Error) and reply.startswith(TAKEOVER), reply
    assert "FAILOVER [FORCE|TAKEOVER]" in [str(l) for l in follower.call("CLUSTER", "HELP")]
    time.sleep(cl.et)
    assert cl.find_leader() is leader, "a refused CLUSTER FAILOVER moved leadership"


def test_no_leader_known(make_cluster):
    cl = make_cluster(n=3)
    leader = cl.wait_leader()
    others = [i for i in cl.nodes if i != leader.node_id]
    cl.kill(leader.node_id)
    cl.kill(others[0])
    survivor = cl.nodes[others[1]]
    wait_for(lambda: survivor.info_raft().get("raft_leader_id") == "0", 5 * cl.et + 3, "the survivor to know no leader")
    assert survivor.call("CLUSTER", "FAILOVER") == Error("CLUSTERDOWN No raft leader")


def test_leader_unreachable(make_cluster):
    cl = make_cluster(n=3, proxied=True)
    leader = cl.wait_leader()
    follower = next(n for n in cl.nodes.values() if n is not leader)
    # only the follower -> leader link goes silent: the follower still hears
    # the leader, which keeps its majority through the third node
    cl.proxies[(follower.node_id, leader.node_id)].pause()
    t0 = time.monotonic()
    reply = follower.call("CLUSTER", "FAILOVER", timeout=10 * cl.et)
    took = time.monotonic() - t0
    # sent, never answered: the outcome is not known (the proxy holds the request)
    assert isinstance(reply, Error) and reply.startswith("TIMEOUT raft leader node %d unreachable" % leader.node_id), reply
    assert took <= 3 * cl.et + 1, took
    # the link is down now: nothing can be sent, a definite error at once
    t0 = time.monotonic()
    reply = follower.call("CLUSTER", "FAILOVER")
    assert reply == Error("ERR raft leader node %d unreachable: no authenticated link to it" % leader.node_id), reply
    assert time.monotonic() - t0 < 0.5
    assert follower.info_raft()["raft_role"] == "follower"
    cl.proxies[(follower.node_id, leader.node_id)].resume()
    cl.wait_leader()


def test_client_leaving_while_waiting(make_cluster):
    cl = make_cluster(n=3, proxied=True)
    leader = cl.wait_leader()
    follower = next(n for n in cl.nodes.values() if n is not leader)
    cl.proxies[(follower.node_id, leader.node_id)].pause()
    c = Conn(follower.port)
    c.send(encode("CLUSTER", "FAILOVER"))
    time.sleep(0.2)
    c.close()
    # the request fails later with nobody left to tell; the node carries on
    time.sleep(3 * cl.et + 0.5)
    assert follower.call("PING") == "PONG"
    assert "unreachable" in follower.log_tail(20000) and "(client gone)" in follower.log_tail(20000)
    cl.proxies[(follower.node_id, leader.node_id)].resume()
    # The held request may still reach the leader and hand over, even after the
    # nodes agreed on a leader once: a node then knows none until that election
    # ends, and answers CLUSTERDOWN meanwhile.
    for _ in range(5):
        leader = cl.wait_leader()
        target = next(n for n in cl.nodes.values() if n is not leader)
        reply = target.call("CLUSTER", "FAILOVER", timeout=10 * cl.et)
        if not (isinstance(reply, Error) and reply.startswith("CLUSTERDOWN No raft leader")):
            break
        time.sleep(cl.et)
    assert reply == "OK", reply
    assert target.info_raft()["raft_role"] == "leader"


def test_failover_under_write_load_loses_no_acknowledged_write(make_cluster):
    cl = make_cluster(n=3)
    first = cl.wait_leader()
    acked = {}
    unknown = [0]
    lock = threading.Lock()
    stop = threading.Event()

    def writer(t):
        cli = Client(cl, node_id=first.node_id, timeout=3.0)
        i = 0
        hard_stop = time.monotonic() + 60
        while not stop.is_set() and i < 100000 and time.monotonic() < hard_stop:
            key, val = "fl:%d:%d" % (t, i), "v%d" % i
            i += 1
            kind, reply = cli.call_until("SET", key, val, deadline=time.monotonic() + 2.0)
            with lock:
                if kind == "ok" and reply == "OK":
                    acked[key] = val
                elif kind == "unknown":
                    unknown[0] += 1
        cli.close()

    threads = [threading.Thread(target=writer, args=(t,), daemon=True) for t in range(4)]
    for th in threads:
        th.start()
    moves = []
    try:
        time.sleep(1.0)
        for _ in range(2):
            leader = cl.wait_leader(writable=False)
            target = next(n for n in cl.nodes.values() if n is not leader)
            with lock:
                n_before = len(acked)
            reply = target.call("CLUSTER", "FAILOVER", timeout=10 * cl.et)
            assert reply == "OK", reply
            moves.append((leader.node_id, target.node_id, n_before))
            time.sleep(1.0)
    finally:
        stop.set()
        for th in threads:
            th.join(15)
    with lock:
        n_after = len(acked)
    assert moves[0][2] > 20, "too few writes before the failover: %r" % moves
    assert n_after > moves[-1][2], "no write acknowledged after the last failover"
    final = cl.wait_leader()
    assert final.node_id == moves[-1][1]
    keys = sorted(acked)
    got = []
    with final.conn() as c:
        for i in range(0, len(keys), 200):
            got += c.call("MGET", *keys[i:i + 200])
    lost = [(k, acked[k], v) for k, v in zip(keys, got) if v != acked[k].encode()]
    print("failovers %r; %d writes acknowledged, %d with unknown outcome" % (moves, len(keys), unknown[0]))
    assert not lost, "%d of %d acknowledged writes lost, e.g. %r" % (len(lost), len(keys), lost[:5])


def test_learner_refuses(make_cluster):
    cl = make_cluster(n=3)
    leader = cl.wait_leader()
    reply, _ = add_node(cl, 4, leader, start=False)
    assert reply == "OK"
    # A long log after the ADD entry: node 4 learns it is a learner early in
    # its catch-up and stays one until it is within learner-promote-lag-entries.
    value = "x" * 4096
    with leader.conn() as c:
        for b in range(400):
            c.send(b"".join(encode("SET", "big:%d:%d" % (b, j), value) for j in range(16)))
            assert all(c.read_reply() == "OK" for _ in range(16))
    node4 = cl.nodes[4]
    node4.start(port=cl.ports[4])
    checked = None
    roles = []
    deadline = time.monotonic() + 60
    with node4.conn() as c:
        while checked is None and time.monotonic() < deadline:
            role = c.call("RAFT.INFO").decode().split("raft_role:")[1].split()[0]
            if not roles or roles[-1] != role:
                roles.append(role)
            if role == "learner":
                reply = c.call("CLUSTER", "FAILOVER")
                after = c.call("RAFT.INFO").decode().split("raft_role:")[1].split()[0]
                if after == "learner":
                    checked = reply
            elif role in ("follower", "leader") and "learner" in roles:
                break
    assert checked is not None, "never asked node 4 while it was a learner; roles seen: %r" % roles
    assert checked == LEARNER, checked
    print("learner refused; roles node 4 went through: %r" % roles)
    assert leader.info_raft()["raft_role"] == "leader"
