"""Network partitions through the per-link proxies (see cluster.py): a leader
cut off from both followers stops acknowledging writes (check-quorum), the
majority elects a new leader, and after healing the old leader follows and
its unreplicated writes are gone; a follower cut off and back does not
depose a healthy leader (pre-vote)."""
import time

from blackbox.resp import Conn, Error, encode

from .cluster import key_slot
from .test_failover import _mget, _write_batch

REFUSALS = ("CLUSTERDOWN", "MOVED ", "TIMEOUT", "TRYAGAIN")


def _wait_info(node, pred, timeout):
    deadline = time.monotonic() + timeout
    info = None
    while time.monotonic() < deadline:
        info = node.info_raft()
        if info and pred(info):
            return info
        time.sleep(0.05)
    raise AssertionError("node %d: condition not met within %.1f s: %r" % (node.node_id, timeout, info))


def test_writes_behind_an_uncommitted_entry_wait_and_are_refused_unlogged(make_cluster):
    """The leader keeps one batch replicating at a time: writes arriving while
    it is uncommitted wait as the next batch, in memory. Cut off, the leader
    logs the first write only; once it steps down, that one is -TIMEOUT (its
    fate is unknown) and the waiting ones -CLUSTERDOWN (never logged)."""
    cl = make_cluster(proxied=True)
    old = cl.wait_leader()
    assert old.call("SET", "before", "1") == "OK"
    last0 = int(old.info_raft()["raft_last_index"])
    cl.cut(old.node_id)
    conns = [Conn(old.port, timeout=4 * cl.et + 5) for _ in range(4)]
    try:
        conns[0].send(encode("SET", "first", "1"))
        _wait_info(old, lambda i: int(i["raft_last_index"]) == last0 + 1, 2)
        for i, c in enumerate(conns[1:]):
            c.send(encode("SET", "waiting:%d" % i, "1"))
            time.sleep(0.05)
        replies = [c.read_reply() for c in conns]
    finally:
        for c in conns:
            c.close()
    assert isinstance(replies[0], Error) and replies[0].startswith("TIMEOUT"), replies
    for r in replies[1:]:
        assert isinstance(r, Error) and r.startswith("CLUSTERDOWN"), replies
    assert int(old.info_raft()["raft_last_index"]) == last0 + 1
    cl.heal()
    new = cl.wait_leader()
    assert _mget(new, ["before", "waiting:0", "waiting:1", "waiting:2"]) == [b"1", None, None, None]


def test_cut_off_leader_steps_down_and_loses_unreplicated_writes(make_cluster):
    cl = make_cluster(proxied=True)
    old = cl.wait_leader()
    others = [i for i in cl.nodes if i != old.node_id]
    base = ["pre:%d" % i for i in range(50)]
    _write_batch(old, base, lambda k: k)
    term0 = int(old.info_raft()["raft_term"])

    t_cut = time.monotonic()
    cl.cut(old.node_id)
    attempts = []  # (sent, replied, key, reply) relative to the cut
    refused_at = None
    cut_keys = []
    deadline = t_cut + 4 * cl.et + 3
    while time.monotonic() < deadline:
        key = "cut:%d" % len(cut_keys)
        cut_keys.append(key)
        sent = time.monotonic()
        try:
            reply = old.call("SET", key, "lost", timeout=2 * cl.et + 1)
        except OSError as e:
            reply = "socket: %s" % type(e).__name__
        now = time.monotonic()
        attempts.append(("%.3f" % (sent - t_cut), "%.3f" % (now - t_cut), key, reply))
        assert reply != "OK", "the cut-off leader acknowledged a write: %r" % attempts
        if isinstance(reply, Error) and reply.startswith(REFUSALS):
            if refused_at is None:
                refused_at = now - t_cut
            if not reply.startswith("TIMEOUT"):
                break
        time.sleep(0.02)
    print("cut-off leader: first refusal %.3f s after the cut; attempts: %r" % (refused_at or -1, attempts))
    assert refused_at is not None, attempts
    assert refused_at <= 2 * cl.et + 0.5, "the cut-off leader refused writes only after %.2f s: %r" % (
        refused_at, attempts)
    assert isinstance(attempts[-1][3], Error) and attempts[-1][3].startswith(("CLUSTERDOWN", "MOVED ")), \
        "the cut-off leader does not refuse new writes up front: %r" % attempts
    assert old.info_raft()["raft_role"] != "leader"

    new = cl.wait_leader(ids=others)
    term1 = int(new.info_raft()["raft_term"])
    assert term1 > term0
    maj = ["maj:%d" % i for i in range(50)]
    _write_batch(new, maj, lambda k: k)

    cl.heal()
    _wait_info(old, lambda i: i["raft_role"] == "follower" and i["raft_leader_id"] == str(new.node_id),
               5 * cl.et + 5)
    cl.wait_caught_up(old.node_id, new)
    # the healthy leader was not deposed by the returning node
    info = new.info_raft()
    assert info["raft_role"] == "leader" and int(info["raft_term"]) == term1
    assert _mget(new, cut_keys) == [None] * len(cut_keys)
    assert _mget(old, cut_keys, readonly=True) == [None] * len(cut_keys)
    assert _mget(old, base + maj, readonly=True) == [k.encode() for k in base + maj]
    moved = old.call("SET", "after", "1")  # the address is old's view of new: its proxy
    assert isinstance(moved, Error) and moved.startswith("MOVED %d " % key_slot("after")), moved
    assert cl.addr_to_id[moved.split()[2]] == new.node_id


def test_cut_off_follower_does_not_depose_leader(make_cluster):
    cl = make_cluster(proxied=True)
    leader = cl.wait_leader()
    term0 = leader.info_raft()["raft_term"]
    fid = next(i for i in cl.nodes if i != leader.node_id)
    cl.cut(fid)
    assert leader.call("SET", "during", "1") == "OK"  # one follower is enough for a majority
    time.sleep(3 * cl.et)
    cl.heal()
    cl.wait_caught_up(fid, leader)
    time.sleep(cl.et)
    info = leader.info_raft()
    assert info["raft_role"] == "leader" and info["raft_term"] == term0, info
    assert cl.nodes[fid].info_raft()["raft_term"] == term0
    assert _mget(cl.nodes[fid], ["during"], readonly=True) == [b"1"]


def test_requests_behind_a_waiting_command_keep_their_order(make_cluster):
    """A command waiting for its commit, or a read for its ReadIndex round,
    holds the connection's later requests behind it however many arrive
    meanwhile: the server keeps reading them (into the room its query
    buffer has, 16 KB, then it stops until the command resumes) and runs
    them in order once the leader reaches its followers again. The cut is
    well within the election timeout, so the leader stays."""
    cl = make_cluster(proxied=True, election_timeout_ms=4000, heartbeat_ms=100)
    leader = cl.wait_leader()
    assert leader.call("SET", "n", "0") == "OK"
    incrs = 3000   # ~30 bytes each: several times the query buffer
    with Conn(leader.port, timeout=30) as c:
        cl.cut(leader.node_id)
        c.send(encode("ECHO", "e" * 100) + encode("SET", "w", "first"))   # ECHO runs at once
        time.sleep(0.3)
        c.send(encode("GET", "w"))
        for _ in range(3):
            c.send(b"".join(encode("INCR", "n") for _ in range(incrs // 3)))
            time.sleep(0.1)
        c.send(encode("GET", "n"))
        time.sleep(0.3)
        cl.heal()
        replies = [c.read_reply() for _ in range(incrs + 4)]
        cl.cut(leader.node_id)
        c.send(encode("ECHO", "e" * 100) + encode("GET", "w"))   # GET waits for a round
        time.sleep(0.3)
        c.send(b"".join(encode("GET", "n") for _ in range(1000)))
        time.sleep(0.3)
        cl.heal()
        reads = [c.read_reply() for _ in range(1002)]
    assert replies[:3] == [b"e" * 100, "OK", b"first"], replies[:3]
    assert replies[3:3 + incrs] == list(range(1, incrs + 1))
    assert replies[-1] == str(incrs).encode()
    assert reads[:2] == [b"e" * 100, b"first"], reads[:2]
    assert reads[2:] == [str(incrs).encode()] * 1000
    assert int(leader.info_raft()["raft_term"]) == int(cl.wait_leader().info_raft()["raft_term"])
