"""Membership changes on real processes: RAFT.NODE ADD / REMOVE, joining
with cluster-join (learner, log replay, automatic promotion), growing and
shrinking under a write load, removing the leader, redirects and the one
change at a time rule, and restarts keeping the membership."""
import threading
import time

from blackbox.resp import Conn, Error, encode
from blackbox.server import pick_port

from .cluster import Client, Node

ROLE_WAIT_S = 30.0


def add_node(cl, node_id, leader=None, start=True):
    """RAFT.NODE ADD node_id on the leader, then start it with cluster-join.
    Returns (reply, node)."""
    leader = leader or cl.wait_leader()
    port = pick_port()
    while port in cl.ports.values():
        port = pick_port()
    reply = leader.call("RAFT.NODE", "ADD", str(node_id), "127.0.0.1:%d" % port, timeout=10.0)
    node = Node(cl.workdir / ("node%d" % node_id), node_id=node_id, cluster_join=leader.addr,
                cluster_id=cl.cluster_id, cluster_secret=cl.cluster_secret,
                election_timeout_ms=cl.election_timeout_ms,
                heartbeat_ms=int(cl.nodes[leader.node_id].options["heartbeat-ms"]))
    cl.nodes[node_id] = node
    cl.ports[node_id] = port
    cl.addr_to_id["127.0.0.1:%d" % port] = node_id
    if start:
        node.start(port=port)
    return reply, node


def change(cl, ids, *args, timeout=30.0):
    """RAFT.NODE args on the leader among ids, retried while it certainly did
    not happen (no leader, MOVED); returns the final reply."""
    deadline = time.monotonic() + timeout
    reply = None
    while time.monotonic() < deadline:
        leader = cl.wait_leader(ids)
        try:
            reply = leader.call("RAFT.NODE", *args, timeout=10.0)
        except OSError as e:
            reply = e
            continue
        if not (isinstance(reply, Error) and str(reply).startswith(("MOVED", "CLUSTERDOWN", "TRYAGAIN"))):
            return reply
        time.sleep(0.1)
    return reply


def peer_lines(info):
    return [k for k in info if k.startswith("raft_peer")]


def check_keys(cl, ids, expected):
    """Every node in ids has applied the leader's commit index and holds
    every expected key (READONLY reads of its own state)."""
    leader = cl.wait_leader()
    for i in ids:
        cl.wait_caught_up(i, leader, timeout=60.0)
        with Conn(cl.ports[i], timeout=10.0) as conn:
            conn.call("READONLY")
            missing = [k for k, v in expected.items() if conn.call("GET", k) != v.encode()]
        assert not missing, "node %d lacks %d acknowledged keys, e.g. %r" % (i, len(missing), missing[:5])


class Writer(threading.Thread):
    """Writes distinct keys through a redirect-following Client until stopped;
    acked holds every write acknowledged with OK."""

    def __init__(self, cl, prefix):
        super().__init__(daemon=True)
        self.cl = cl
        self.prefix = prefix
        self.acked = {}
        self.unknown = 0
        self.done = threading.Event()

    def run(self):
        cli = Client(self.cl, timeout=3.0)
        i = 0
        hard_stop = time.monotonic() + 240
        while not self.done.is_set() and time.monotonic() < hard_stop:
            key, val = "%s%d" % (self.prefix, i), "v%d" % i
            out = cli.call_until("SET", key, val, deadline=time.monotonic() + 5)
            if out == ("ok", "OK"):
                self.acked[key] = val
            elif out[0] == "unknown":
                self.unknown += 1
            i += 1
        cli.close()

    def finish(self):
        self.done.set()
        self.join(30)
        assert not self.is_alive()


def wait_for(cond, timeout, what, step=0.1):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(step)
    raise AssertionError("timed out after %.0f s waiting for %s (last: %r)" % (timeout, what, last))


def nodes_lines(node):
    text = node.call("CLUSTER", "NODES")
    if isinstance(text, bytes):
        text = text.decode()
    return [l for l in str(text).splitlines() if l.strip()]


def roles_ok(cl, ids, nvoters):
    """Every node in ids is a member and every one sees nvoters voters and
    no learner (CLUSTER NODES lists len(ids) nodes, none nofailover)."""
    for i in ids:
        try:
            lines = nodes_lines(cl.nodes[i])
        except Exception:
            return False
        if len(lines) != len(ids) or any("nofailover" in l for l in lines):
            return False
        info = cl.nodes[i].info_raft()
        if not info or info.get("raft_role") == "learner":
            return False
    return nvoters == len(ids)


def test_add_learner_catches_up_and_is_promoted(make_cluster):
    cl = make_cluster(n=3)
    leader = cl.wait_leader()
    for k in range(50):
        assert leader.call("SET", "k%d" % k, "v%d" % k) == "OK"
    reply, node = add_node(cl, 4, leader)
    assert reply == "OK"
    wait_for(lambda: roles_ok(cl, [1, 2, 3, 4], 4), ROLE_WAIT_S, "4 voters everywhere")
    cl.wait_caught_up(4, cl.wait_leader())
    check_keys(cl, [4], {"k%d" % k: "v%d" % k for k in range(50)})
    info = node.info_raft()
    assert info["raft_role"] in ("follower", "leader")
    assert len(peer_lines(info)) == 3


def wait_members(cl, ids, timeout=ROLE_WAIT_S):
    """Wait until every node in ids lists exactly ids as members, all voters."""
    wait_for(lambda: roles_ok(cl, ids, len(ids)), timeout, "members %s, all voters, on every one of them" % ids)


def test_grow_to_five_and_shrink_to_three_under_load(make_cluster):
    cl = make_cluster(n=3)
    w = Writer(cl, "g")
    w.start()
    try:
        time.sleep(0.5)
        for nid in (4, 5):
            reply, _ = add_node(cl, nid, cl.wait_leader())
            assert reply == "OK"
            wait_members(cl, [i for i in range(1, nid + 1)])
        time.sleep(0.5)
        leader = cl.wait_leader()
        gone = [i for i in (1, 2, 3, 4, 5) if i != leader.node_id][:2]
        for nid in gone:
            assert change(cl, [i for i in cl.nodes if i not in gone or i == nid], "REMOVE", str(nid)) == "OK"
        remaining = [i for i in (1, 2, 3, 4, 5) if i not in gone]
        wait_members(cl, remaining)
        time.sleep(0.5)
    finally:
        w.finish()
    for nid in gone:
        # A removed follower never gets the entry that removed it: a peer's
        # answer tells it.
        wait_for(lambda: "was removed from the cluster configuration" in cl.nodes[nid].log_tail(200000), 20,
                 "node %d to log its removal" % nid)
        cl.nodes[nid].stop(timeout=5.0)
    assert len(w.acked) > 20
    check_keys(cl, remaining, w.acked)


def test_remove_leader_under_load(make_cluster):
    cl = make_cluster(n=3)
    old = cl.wait_leader()
    w = Writer(cl, "r")
    w.start()
    try:
        time.sleep(0.5)
        reply = old.call("RAFT.NODE", "REMOVE", str(old.node_id), timeout=10.0)
        assert reply == "OK"
        rest = [i for i in cl.nodes if i != old.node_id]
        new = cl.wait_leader(rest)
        assert new.node_id != old.node_id
        wait_members(cl, rest)
        time.sleep(0.5)
    finally:
        w.finish()
    assert "removed from the cluster configuration" in old.log_tail(200000)
    assert old.info_raft()["raft_role"] != "leader"
    old.stop(timeout=5.0)
    assert len(w.acked) > 10
    check_keys(cl, rest, w.acked)


def test_redirects_and_refusals(make_cluster):
    cl = make_cluster(n=3)
    leader = cl.wait_leader()
    follower = next(n for n in cl.nodes.values() if n is not leader)
    reply = follower.call("RAFT.NODE", "ADD", "9", "127.0.0.1:1234")
    assert isinstance(reply, Error) and str(reply) == "MOVED 0 %s" % leader.addr
    reply = follower.call("RAFT.NODE", "REMOVE", "2")
    assert isinstance(reply, Error) and str(reply).startswith("MOVED 0 ")
    for args, want in [(("ADD", "2", "127.0.0.1:1234"), "ERR node 2 is already a member"),
                       (("ADD", "0", "127.0.0.1:1234"), "ERR invalid node id"),
                       (("ADD", "9", "nonsense"), "ERR invalid cluster member 'nonsense': missing :port"),
                       (("REMOVE", "9"), "ERR unknown node id 9: not a member"),
                       (("ADD", "9", leader.addr), "ERR node %d already has address" % leader.node_id),
                       (("ADD", "9"), "ERR wrong number of arguments for 'raft.node|add' command")]:
        reply = leader.call("RAFT.NODE", *args)
        assert isinstance(reply, Error) and str(reply).startswith(want), (args, reply)
    # A learner that never catches up (its process is not started) stays a
    # learner, and shows at once on every node.
    reply, _ = add_node(cl, 4, leader, start=False)
    assert reply == "OK"
    port4 = cl.ports[4]
    for i in (1, 2, 3):
        wait_for(lambda: any("127.0.0.1:%d@%d slave,nofailover" % (port4, port4) in l
                             for l in nodes_lines(cl.nodes[i])), 10, "node 4 as a learner on node %d" % i)
    shards = leader.call("CLUSTER", "SHARDS")
    assert len(shards[0][3]) == 4
    assert b"cluster_known_nodes:4" in leader.call("CLUSTER", "INFO")
    time.sleep(1.0)
    assert any("nofailover" in l for l in nodes_lines(leader))
    # A removed id is never given again.
    assert change(cl, [1, 2, 3], "REMOVE", "4") == "OK"
    reply = cl.wait_leader([1, 2, 3]).call("RAFT.NODE", "ADD", "4", "127.0.0.1:1235")
    assert isinstance(reply, Error) and "was used before" in str(reply)


def test_one_change_at_a_time(make_cluster):
    cl = make_cluster(n=3)
    leader = cl.wait_leader()
    others = [i for i in cl.nodes if i != leader.node_id]
    for i in others:
        cl.kill(i)
    # No quorum: the first change cannot commit, the second is refused.
    with Conn(leader.port, timeout=15.0) as first, Conn(leader.port, timeout=5.0) as second:
        first.send(encode("RAFT.NODE", "ADD", "4", "127.0.0.1:1236"))
        time.sleep(0.2)
        reply = second.call("RAFT.NODE", "ADD", "5", "127.0.0.1:1237")
        assert isinstance(reply, Error) and str(reply) == "ERR a membership change is in progress", reply
        reply = first.read_reply()
        assert isinstance(reply, Error) and str(reply).startswith("TIMEOUT"), reply
    for i in others:
        cl.restart(i)
    cl.wait_leader()


def test_restarts_keep_membership(make_cluster):
    cl = make_cluster(n=3)
    leader = cl.wait_leader()
    assert leader.call("SET", "before", "1") == "OK"
    reply, node4 = add_node(cl, 4, leader)
    assert reply == "OK"
    wait_members(cl, [1, 2, 3, 4])
    assert cl.wait_leader().call("SET", "after", "2") == "OK"
    # The added node alone.
    cl.restart(4)
    wait_members(cl, [1, 2, 3, 4])
    assert len(peer_lines(node4.info_raft())) == 3
    # The whole cluster.
    for i in list(cl.nodes):
        cl.nodes[i].stop(timeout=5.0)
    for i in cl.nodes:
        cl.nodes[i].start(port=cl.ports[i])
    wait_members(cl, [1, 2, 3, 4])
    for i in cl.nodes:
        assert len(peer_lines(cl.nodes[i].info_raft())) == 3
    check_keys(cl, [1, 2, 3, 4], {"before": "1", "after": "2"})
    # The 4-voter cluster survives losing one node, an original voter.
    leader = cl.wait_leader()
    victim = next(i for i in (1, 2, 3) if i != leader.node_id)
    cl.kill(victim)
    assert cl.wait_leader([i for i in cl.nodes if i != victim]).call("SET", "later", "3") == "OK"


def test_single_node_grows_and_restarts(make_cluster):
    """A one-node cluster (before it compacted its log) takes a second voter;
    both restart as a two-voter group (neither waits to lead alone)."""
    cl = make_cluster(n=1)
    leader = cl.wait_leader()
    for k in range(20):
        assert leader.call("SET", "s%d" % k, "v") == "OK"
    reply, _ = add_node(cl, 2, leader)
    assert reply == "OK"
    wait_members(cl, [1, 2])
    check_keys(cl, [1, 2], {"s%d" % k: "v" for k in range(20)})
    for i in (1, 2):
        cl.nodes[i].stop(timeout=5.0)
    for i in (1, 2):
        cl.nodes[i].start(port=cl.ports[i])
    wait_members(cl, [1, 2])
    check_keys(cl, [1, 2], {"s%d" % k: "v" for k in range(20)})


def test_join_started_before_add(make_cluster):
    """A node started with cluster-join before the operator ran RAFT.NODE ADD
    keeps asking (its HELLO is refused until the ADD is in the log), then
    joins."""
    cl = make_cluster(n=3)
    leader = cl.wait_leader()
    port = pick_port()
    node = Node(cl.workdir / "node4", node_id=4, cluster_join=leader.addr, cluster_id=cl.cluster_id,
                cluster_secret=cl.cluster_secret, election_timeout_ms=cl.election_timeout_ms)
    cl.nodes[4] = node
    cl.ports[4] = port
    t = threading.Thread(target=node.start, kwargs={"port": port}, daemon=True)
    t.start()
    time.sleep(2.0)
    assert not node._ready()
    assert change(cl, [1, 2, 3], "ADD", "4", "127.0.0.1:%d" % port) == "OK"
    t.join(30)
    assert not t.is_alive()
    wait_members(cl, [1, 2, 3, 4])
    assert "attempt 1 of" in node.log_tail(100000)
