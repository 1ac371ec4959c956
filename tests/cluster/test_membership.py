"""Membership changes on real processes: RAFT.NODE ADD / REMOVE, joining
with cluster-join (learner, log replay, automatic promotion), growing and
shrinking under a write load, removing the leader, redirects and the one
change at a time rule, and restarts keeping the membership."""
import threading
import time

from blackbox.resp import Error
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


def remove_node(cl, node_id, stop=True):
    leader = cl.wait_leader()
    reply = leader.call("RAFT.NODE", "REMOVE", str(node_id), timeout=10.0)
    return reply


def forget(cl, node_id):
    node = cl.nodes.pop(node_id)
    node.stop(timeout=5.0)
    cl.ports.pop(node_id)


def voters_learners(info):
    """(number of voters, number of learners) from INFO raft."""
    return int(info.get("raft_voters", -1)), int(info.get("raft_learners", -1))


def wait_for(cond, timeout, what):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


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
    c = node.call("READONLY")
    from blackbox.resp import Conn
    with Conn(node.port, timeout=5.0) as conn:
        conn.call("READONLY")
        for k in range(50):
            assert conn.call("GET", "k%d" % k) == b"v%d" % k
    assert "Cluster: node 4" in cl.nodes[cl.wait_leader().node_id].log_tail(200000)
