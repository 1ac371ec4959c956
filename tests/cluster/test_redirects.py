"""A healthy 3-node cluster seen by clients: -MOVED from followers with the
key's exact slot, redis-cli -c and redis-py's RedisCluster following it, the
CLUSTER * replies of a one-shard Redis Cluster, READONLY reads on followers,
INFO raft, and RAFT.* commands refused to ordinary clients."""
import re
import subprocess
import time

import pytest
import redis
from redis.cluster import ClusterNode, RedisCluster

from blackbox.resp import Conn, ConnectionClosed, Error

from .cluster import crc16, key_slot, parse_info

KEYS = ["foo", "bar", "{user1000}.following", "{user1000}.followers", "foo{}{bar}", "{}foo",
        "a{b}c{d}", "{{x}}", "x{", "}{y}", b"\xff\x00bin", "k" * 300]


@pytest.fixture
def roles(cluster3):
    leader = cluster3.wait_leader()
    followers = [n for n in cluster3.nodes.values() if n is not leader]
    return leader, followers


def test_key_slot_helper_matches_redis_cluster_rule():
    assert crc16(b"123456789") == 0x31C3
    assert key_slot("foo") == 12182
    assert key_slot("{user1000}.following") == key_slot("user1000") == key_slot("{user1000}.followers")
    assert key_slot("foo{}{bar}") == crc16(b"foo{}{bar}") % 16384
    assert key_slot("{}foo") == crc16(b"{}foo") % 16384
    assert key_slot("a{b}c{d}") == key_slot("b")
    assert key_slot("{{x}}") == key_slot("{x")


def test_follower_answers_moved_with_exact_slot_and_leader_address(roles):
    leader, followers = roles
    for f in followers:
        with f.conn() as c:
            for key in KEYS:
                want = "MOVED %d %s" % (key_slot(key), leader.addr)
                assert c.call("SET", key, "v") == Error(want), key
                assert c.call("GET", key) == Error(want), key
                assert c.call("INCR", key) == Error(want), key
            # exact bytes on the wire
            assert c.raw("GET", "foo") == b"-MOVED 12182 %s\r\n" % leader.addr.encode()
            # commands without keys are served locally
            assert c.call("PING") == "PONG"
            assert c.call("CLUSTER", "KEYSLOT", "{user1000}.following") == key_slot("user1000")


def test_cluster_keyslot_on_every_node(cluster3):
    for node in cluster3.nodes.values():
        with node.conn() as c:
            for key in KEYS:
                assert c.call("CLUSTER", "KEYSLOT", key) == key_slot(key), key


def test_leader_serves_and_followers_agree_on_leader(roles):
    leader, followers = roles
    with leader.conn() as c:
        assert c.call("SET", "foo", "bar") == "OK"
        assert c.call("GET", "foo") == b"bar"
    for f in followers:
        info = f.info_raft()
        assert info["raft_role"] == "follower"
        assert info["raft_leader_id"] == str(leader.node_id)
        assert info["raft_leader_addr"] == leader.addr


def test_info_raft_fields(cluster3, roles):
    leader, _ = roles
    fields = ["raft_node_id", "raft_role", "raft_term", "raft_leader_id", "raft_leader_addr",
              "raft_commit_index", "raft_applied_index", "raft_first_index", "raft_last_index"]
    terms = set()
    for i, node in cluster3.nodes.items():
        info = node.info_raft()
        for f in fields:
            assert f in info, (i, f, info)
        assert info["raft_node_id"] == str(i)
        assert info["raft_role"] in ("leader", "follower")
        assert info["raft_leader_addr"] == leader.addr
        assert int(info["raft_applied_index"]) <= int(info["raft_commit_index"]) <= int(info["raft_last_index"])
        terms.add(info["raft_term"])
        with node.conn() as c:
            assert parse_info(c.call("RAFT.INFO"))["raft_node_id"] == str(i)
    assert len(terms) == 1
    # the leader has one line per peer with its match index
    text = leader.call("INFO", "raft").decode()
    peer_lines = [l for l in text.splitlines() if "match" in l.lower()]
    assert len(peer_lines) >= 2, text


def _redis_cli(port, *args):
    out = subprocess.run(["redis-cli", "-c", "-h", "127.0.0.1", "-p", str(port)] + list(args),
                         capture_output=True, timeout=20)
    return out.stdout.decode().strip()


def test_redis_cli_c_follows_moved(roles):
    leader, followers = roles
    f1, f2 = followers
    assert _redis_cli(f1.port, "SET", "cli:{tag}:k", "hello") == "OK"
    assert _redis_cli(f2.port, "GET", "cli:{tag}:k") == "hello"
    assert _redis_cli(f2.port, "INCR", "cli:counter") == "1"
    assert _redis_cli(f1.port, "INCR", "cli:counter") == "2"
    assert leader.call("GET", "cli:{tag}:k") == b"hello"


def test_redis_py_cluster_client(roles):
    leader, followers = roles
    rc = RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", followers[0].port)], socket_timeout=5)
    try:
        assert [n.port for n in rc.get_primaries()] == [leader.port]
        assert sorted(n.port for n in rc.get_replicas()) == sorted(f.port for f in followers)
        for i in range(20):
            assert rc.set("rc:%d" % i, "v%d" % i) is True
        assert [rc.get("rc:%d" % i) for i in range(20)] == [b"v%d" % i for i in range(20)]
        assert rc.incr("rc:ctr") == 1
    finally:
        rc.close()


def _kv(flat):
    """A RESP flat [k1, v1, k2, v2, ...] list as a dict with str keys."""
    return {(k.decode() if isinstance(k, bytes) else k): v for k, v in zip(flat[::2], flat[1::2])}


def test_cluster_slots_shards_nodes_info_myid(cluster3, roles):
    leader, followers = roles
    ids = {}
    for i, node in cluster3.nodes.items():
        myid = node.call("CLUSTER", "MYID")
        assert re.fullmatch(rb"[0-9a-f]{40}", myid), myid
        ids[node.port] = myid.decode()
    assert len(set(ids.values())) == 3
    for node in cluster3.nodes.values():
        with node.conn() as c:
            slots = c.call("CLUSTER", "SLOTS")
            assert len(slots) == 1
            start, end, master, *replicas = slots[0]
            assert (start, end) == (0, 16383)
            assert master[:3] == [b"127.0.0.1", leader.port, ids[leader.port].encode()]
            assert sorted(r[1] for r in replicas) == sorted(f.port for f in followers)
            for r in replicas:
                assert r[2].decode() == ids[r[1]]

            info = parse_info(c.call("CLUSTER", "INFO"))
            assert info["cluster_state"] == "ok"
            assert info["cluster_slots_assigned"] == "16384"
            assert info["cluster_known_nodes"] == "3"
            assert info["cluster_size"] == "1"

            lines = c.call("CLUSTER", "NODES").decode().strip().splitlines()
            assert len(lines) == 3
            by_id = {l.split()[0]: l.split() for l in lines}
            assert set(by_id) == set(ids.values())
            me = by_id[ids[node.port]]
            assert "myself" in me[2]
            m = by_id[ids[leader.port]]
            assert m[1].startswith(leader.addr) and "master" in m[2] and m[-1] == "0-16383"
            for f in followers:
                r = by_id[ids[f.port]]
                assert r[1].startswith(f.addr) and "slave" in r[2] and r[3] == ids[leader.port]

            shards = c.call("CLUSTER", "SHARDS")
            assert len(shards) == 1
            shard = _kv(shards[0])
            assert shard["slots"] == [0, 16383]
            nodes = [_kv(n) for n in shard["nodes"]]
            assert sorted(n["port"] for n in nodes) == sorted(cluster3.ports.values())
            roles_ = {n["port"]: n["role"] for n in nodes}
            assert roles_[leader.port] == b"master"
            assert all(roles_[f.port] == b"replica" for f in followers)


def test_readonly_follower_reads_locally(roles):
    leader, followers = roles
    assert leader.call("SET", "ro:k", "v1") == "OK"
    for f in followers:
        with f.conn() as c:
            assert c.call("GET", "ro:k") == Error("MOVED %d %s" % (key_slot("ro:k"), leader.addr))
            assert c.call("READONLY") == "OK"
            deadline = time.monotonic() + 5
            got = None
            while time.monotonic() < deadline:
                got = c.call("GET", "ro:k")
                if got == b"v1":
                    break
                time.sleep(0.05)
            assert got == b"v1"
            # writes are still redirected
            assert c.call("SET", "ro:k", "v2") == Error("MOVED %d %s" % (key_slot("ro:k"), leader.addr))
            assert c.call("READWRITE") == "OK"
            assert c.call("GET", "ro:k") == Error("MOVED %d %s" % (key_slot("ro:k"), leader.addr))
    assert leader.call("GET", "ro:k") == b"v1"


def _term_and_leader(cluster3):
    infos = cluster3.infos()
    return {i: (v["raft_term"], v["raft_leader_id"]) for i, v in infos.items()}


def test_raft_commands_refused_to_ordinary_clients(cluster3, roles):
    leader, _ = roles
    before = _term_and_leader(cluster3)
    last_before = int(leader.info_raft()["raft_last_index"])
    for node in cluster3.nodes.values():
        with node.conn() as c:
            for args in [("RAFT.MSG", "garbage"),
                         ("RAFT.MSG", b"\x00" * 64),
                         ("RAFT.MSG", b"\x01" + b"\xff" * 200)]:
                try:
                    reply = c.call(*args)
                except ConnectionClosed:
                    c.close()
                    break
                assert isinstance(reply, Error), (args, reply)
    # a handshake with a wrong proof is refused and the connection closed
    for node in cluster3.nodes.values():
        with Conn(node.port) as c:
            hello = c.call("RAFT.HELLO", cluster3.cluster_id, "2")
            if isinstance(hello, Error):
                continue
            reply = c.call("RAFT.AUTH", "00" * 32)
            assert isinstance(reply, Error), reply
            closed, _ = c.wait_closed(5)
            assert closed
        with Conn(node.port) as c:
            assert isinstance(c.call("RAFT.HELLO", "other-cluster", "2"), Error)
    time.sleep(3 * cluster3.et)
    assert _term_and_leader(cluster3) == before
    assert int(leader.info_raft()["raft_last_index"]) == last_before
    logs = "".join(cluster3.logs(200000).values())
    assert re.search(r"authentication failed|refused", logs, re.I)
    assert leader.call("SET", "after:raft", "1") == "OK"
