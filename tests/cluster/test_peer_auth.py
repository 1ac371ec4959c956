"""Peer authentication: a node with the wrong cluster-secret or another
cluster-id pointed at a running cluster (as an extra member 4, or taking the
place of a follower while that follower is down) is refused: the cluster's leader and
term do not change, it keeps serving, the refusals are logged, and the
impostor never receives the cluster's data."""
import re
import time

import pytest

from .cluster import Node, pick_port
from .test_failover import _mget, _write_batch

REFUSAL_RE = re.compile(r"authentication failed|refused|not a member|unknown node", re.I)


@pytest.mark.parametrize("as_id,bad", [("follower", "secret"), ("follower", "cluster-id"), ("new", "secret")],
                         ids=["follower-id-wrong-secret", "follower-id-other-cluster-id", "node4-wrong-secret"])
def test_impostor_is_refused(make_cluster, tmp_path, as_id, bad):
    cl = make_cluster()
    leader = cl.wait_leader()
    victim = next(i for i in cl.nodes if i != leader.node_id)
    keys = ["secret:%d" % i for i in range(20)]
    _write_batch(leader, keys, lambda k: k)
    log_sizes = {i: len(n.log_tail(10 ** 9)) for i, n in cl.nodes.items()}

    if as_id == "follower":
        node_id = victim
        cl.kill(victim)
        port = cl.ports[victim]
        members = cl.members(victim)
    else:
        node_id = cl.n + 1
        port = pick_port()
        members = cl.members(1) + ",%d@127.0.0.1:%d" % (node_id, port)
    opts = dict(node_id=node_id, cluster_members=members,
                cluster_id="other" if bad == "cluster-id" else cl.cluster_id,
                cluster_secret="wrong-secret" if bad == "secret" else cl.cluster_secret,
                election_timeout_ms=cl.election_timeout_ms, heartbeat_ms=100)
    rogue = Node(tmp_path / "rogue", **opts)
    legit = [i for i in cl.nodes if i != node_id]
    try:
        rogue.start(port=port)
        before = {i: (v["raft_term"], v["raft_leader_id"]) for i, v in cl.infos(legit).items()}
        deadline = time.monotonic() + 4 * cl.et + 1
        n = 0
        while time.monotonic() < deadline:
            now = {i: (v["raft_term"], v["raft_leader_id"]) for i, v in cl.infos(legit).items()}
            assert now == before, "the impostor changed the cluster: %r -> %r" % (before, now)
            assert leader.call("SET", "during:%d" % n, "x") == "OK"
            n += 1
            time.sleep(0.1)
        rinfo = rogue.info_raft()
        assert rinfo["raft_role"] != "leader", rinfo
        assert _mget(rogue, keys, readonly=True) == [None] * len(keys), "the impostor got the cluster's data"
        new_logs = "".join(n.log_tail(10 ** 9)[log_sizes[i]:] for i, n in cl.nodes.items() if i in legit)
        assert REFUSAL_RE.search(new_logs), "no refusal logged by the cluster:\n" + new_logs[-3000:]
        if as_id == "follower":
            # the leader dials the victim's address: the impostor refuses it as well
            assert REFUSAL_RE.search(rogue.log_tail()), rogue.log_tail()
    finally:
        rogue.stop(timeout=5)
    if as_id == "follower":
        cl.restart(victim)
        cl.wait_caught_up(victim, leader)
        assert _mget(cl.nodes[victim], keys, readonly=True) == [k.encode() for k in keys]
    assert cl.find_leader() is leader
