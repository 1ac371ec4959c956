"""Real containers: the image (both build paths) and the docker-compose
three-node cluster of the repository root.

Run by tests/docker/run.sh, which makes sure the base image exists, picks a
compose project name unique to the run and free host ports, and removes
everything the run created. Environment it passes:
  RAFTKV_TEST_PROJECT   compose project name (also the label on extra containers)
  RAFTKV_PORT1..3       host ports the client ports are published on
The tests run in file order and share one cluster: each leaves it healthy.
"""
import os
import shutil
import subprocess
import tempfile
import threading
import time

import pytest
import redis

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PROJECT = os.environ.get("RAFTKV_TEST_PROJECT", "raftkvtest%d" % os.getpid())
PORTS = [int(os.environ.get("RAFTKV_PORT%d" % i, str(7000 + i))) for i in (1, 2, 3)]
NETWORK = PROJECT + "_default"
SELF_IMAGE = "raftkv:test"
PREBUILT_IMAGE = "raftkv:test-prebuilt"
ELECTION_TIMEOUT_S = 1.0        # the compose file keeps the default election-timeout-ms
SECRET = "docker-test-secret"


def run(*args, timeout=120, check=True, env=None):
    p = subprocess.run(list(args), cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)
    if check and p.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s" % (" ".join(args), p.returncode, p.stdout[-3000:],
                                                          p.stderr[-3000:]))
    return p


def compose_cmd():
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return ["docker", "compose"]


def compose(*args, timeout=180, check=True):
    env = dict(os.environ)
    env.update({"RAFTKV_IMAGE": state["image"], "RAFTKV_CLUSTER_SECRET": SECRET,
                "RAFTKV_CLUSTER_ID": "docker-test", "RAFTKV_PORT1": str(PORTS[0]),
                "RAFTKV_PORT2": str(PORTS[1]), "RAFTKV_PORT3": str(PORTS[2]),
                "RAFTKV_BIND": "127.0.0.1", "RAFTKV_ANNOUNCE_IP": "127.0.0.1"})
    return run(*compose_cmd(), "-p", PROJECT, "-f", "docker-compose.yml",
               "-f", "tests/docker/compose.test.yml", *args, timeout=timeout, check=check, env=env)


state = {"image": SELF_IMAGE, "acked": {}}


# ---------------------------------------------------------------- images

def image_id(tag):
    p = run("docker", "image", "inspect", "-f", "{{.Id}}", tag, check=False)
    return p.stdout.strip() if p.returncode == 0 else None


def drop_replaced(tag, old_id):
    """A rebuild leaves the previous image of tag untagged: remove that one
    image (ours) so runs do not pile them up; the layer cache stays."""
    if old_id and image_id(tag) != old_id:
        run("docker", "rmi", old_id, check=False)


def mirror_reachable():
    p = run("docker", "run", "--rm", "debian:bookworm", "apt-get", "update", timeout=120, check=False)
    return p.returncode == 0


def test_self_contained_image_builds():
    """The Dockerfile a user runs: multi-stage, apt inside the build. Without
    network in build containers it must at least get to its apt step."""
    old = image_id(SELF_IMAGE)
    p = run("docker", "build", "-t", SELF_IMAGE, ".", timeout=900, check=False)
    drop_replaced(SELF_IMAGE, old)
    if p.returncode == 0:
        cfg = run("docker", "image", "inspect", "-f",
                  "{{.Config.User}}|{{json .Config.Volumes}}|{{json .Config.Healthcheck.Test}}", SELF_IMAGE).stdout
        assert cfg.startswith("raftkv|") and '"/data"' in cfg and "PING" in cfg
        return
    out = p.stdout + p.stderr
    assert "apt-get update" in out, out[-3000:]
    assert not mirror_reachable(), "self-contained build failed although the mirror is reachable:\n" + out[-3000:]
    state["image"] = PREBUILT_IMAGE


def test_prebuilt_image_runs():
    """The second path: an image assembled from the host-built binary and the
    host's runtime libraries (tests/docker/Dockerfile.prebuilt)."""
    server = os.path.join(ROOT, "src", "raftkv-server")
    assert os.path.exists(server), "build src/raftkv-server first (make)"
    ctx = tempfile.mkdtemp(prefix="raftkv-prebuilt-")
    try:
        run("bash", "tests/docker/prebuilt-context.sh", ctx)
        old = image_id(PREBUILT_IMAGE)
        run("docker", "build", "-t", PREBUILT_IMAGE, "-f", os.path.join(ctx, "Dockerfile"), ctx, timeout=300)
        drop_replaced(PREBUILT_IMAGE, old)
    finally:
        shutil.rmtree(ctx, ignore_errors=True)
    cid = run("docker", "run", "-d", "--label", "raftkv.test=" + PROJECT, "-p", "127.0.0.1::6379",
              PREBUILT_IMAGE).stdout.strip()
    try:
        port = int(run("docker", "port", cid, "6379/tcp").stdout.split(":")[-1])
        r = redis.Redis(port=port, socket_timeout=5)
        deadline = time.time() + 20
        while True:
            try:
                assert r.ping()
                break
            except redis.ConnectionError:
                assert time.time() < deadline, run("docker", "logs", cid, check=False).stderr
                time.sleep(0.2)
        assert r.set("a", "1") and r.get("a") == b"1"
        assert run("docker", "exec", cid, "id", "-un").stdout.strip() == "raftkv"
        health = ""
        for _ in range(60):
            health = run("docker", "inspect", "-f", "{{.State.Health.Status}}", cid).stdout.strip()
            if health == "healthy":
                break
            time.sleep(0.5)
        assert health == "healthy"
    finally:
        run("docker", "rm", "-f", "-v", cid, check=False)


# ---------------------------------------------------------------- cluster helpers

def container(i):
    return compose("ps", "-q", "node%d" % i).stdout.strip()


def client(i, timeout=2):
    return redis.Redis(host="127.0.0.1", port=PORTS[i - 1], socket_timeout=timeout,
                       socket_connect_timeout=timeout)


def info_raft(i):
    """INFO raft of node i through its published port, or None."""
    try:
        text = client(i).execute_command("INFO", "raft")
    except (redis.RedisError, OSError):
        return None
    if isinstance(text, bytes):
        text = text.decode()
    if isinstance(text, dict):
        return {k: str(v) for k, v in text.items()}
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def exec_cli(i_or_cid, *args, timeout=10):
    cid = i_or_cid if isinstance(i_or_cid, str) else container(i_or_cid)
    p = run("timeout", str(timeout), "docker", "exec", cid, "redis-cli", "-p", "6379", *args,
            timeout=timeout + 10, check=False)
    return p.stdout.strip()


def exec_info(cid):
    return dict(l.split(":", 1) for l in exec_cli(cid, "INFO", "raft").splitlines() if ":" in l)


def wait_leader(nodes=(1, 2, 3), timeout=30, exclude=None):
    """The node that is leader and ready (a write goes through), as its index."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for i in nodes:
            inf = info_raft(i)
            if inf and inf.get("raft_role") == "leader" and int(inf["raft_node_id"]) != exclude:
                try:
                    if client(i).set("leader-probe", str(i)):
                        return i
                except redis.RedisError:
                    pass
        time.sleep(0.1)
    raise AssertionError("no leader among %s within %ss" % (nodes, timeout))


def wait_caught_up(i, leader, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        a, b = info_raft(i), info_raft(leader)
        if a and b and int(a["raft_applied_index"]) >= int(b["raft_commit_index"]):
            return
        time.sleep(0.2)
    raise AssertionError("node %d did not catch up with the leader %d" % (i, leader))


class Writer(threading.Thread):
    """Writes w:<run>:<n> = n in a loop, following -MOVED and retrying on
    errors; records every acknowledged write."""

    def __init__(self, tag):
        super().__init__(daemon=True)
        self.tag, self.stop, self.acked, self.errors = tag, threading.Event(), {}, 0

    def run(self):
        n, target = 0, 1
        while not self.stop.is_set() and n < 200000:
            key, val = "w:%s:%d" % (self.tag, n), str(n)
            try:
                if client(target, timeout=1).set(key, val):
                    self.acked[key] = val
                n += 1
            except redis.ResponseError as e:
                msg = str(e)
                if "MOVED" in msg or isinstance(e, redis.exceptions.MovedError):
                    target = PORTS.index(int(msg.rsplit(":", 1)[1])) + 1
                else:
                    self.errors += 1
                    target = target % 3 + 1
                    time.sleep(0.05)
                n += 1
            except (redis.RedisError, OSError, ValueError):
                self.errors += 1
                target = target % 3 + 1
                n += 1
                time.sleep(0.05)

    def finish(self):
        self.stop.set()
        self.join(10)
        state["acked"].update(self.acked)
        return self.acked


def check_acked(i, readonly=False):
    r = client(i, timeout=5)
    if readonly:
        r.execute_command("READONLY")
    keys = sorted(state["acked"])
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        got = r.mget(chunk)
        missing = [k for k, v in zip(chunk, got) if v is None or v.decode() != state["acked"][k]]
        assert not missing, "node %d lost acknowledged writes: %s" % (i, missing[:10])


@pytest.fixture(scope="module")
def cluster():
    compose("up", "-d", "--no-build", timeout=300)
    yield
    compose("down", "-v", "--remove-orphans", "-t", "5", timeout=300, check=False)


# ---------------------------------------------------------------- cluster tests

def test_cluster_up_and_redirects(cluster):
    leader = wait_leader(timeout=60)
    follower = leader % 3 + 1
    # A follower names the leader's host-reachable announced address.
    with pytest.raises(redis.ResponseError) as e:
        client(follower).set("k", "v")
    assert str(e.value).endswith("127.0.0.1:%d" % PORTS[leader - 1])
    # redis-cli -c from the host, against every published port.
    for port in PORTS:
        p = run("redis-cli", "-c", "-p", str(port), "SET", "k%d" % port, "v%d" % port)
        assert p.stdout.strip() == "OK"
        p = run("redis-cli", "-c", "-p", str(port), "GET", "k%d" % port)
        assert p.stdout.strip() == "v%d" % port
        state["acked"]["k%d" % port] = "v%d" % port
    # CLUSTER SLOTS / NODES name the announced addresses, never service names.
    slots = client(follower).execute_command("CLUSTER", "SLOTS")
    assert slots[0][2][0] in (b"127.0.0.1", "127.0.0.1") and slots[0][2][1] == PORTS[leader - 1]
    assert sorted(n[1] for n in slots[0][2:]) == sorted(PORTS)
    nodes = client(follower).execute_command("CLUSTER", "NODES")
    nodes = nodes.decode() if isinstance(nodes, bytes) else nodes
    for port in PORTS:
        assert "127.0.0.1:%d@6379" % port in nodes


def test_kill_leader_under_load(cluster):
    leader = wait_leader()
    w = Writer("kill")
    w.start()
    time.sleep(1.5)
    cid = container(leader)
    t0 = time.time()
    run("docker", "kill", cid)
    t1 = time.time()
    wait_leader(nodes=[i for i in (1, 2, 3) if i != leader], timeout=15)
    elapsed = time.time() - t1
    print("docker kill took %.2fs, then a new leader took writes after %.2fs" % (t1 - t0, elapsed))
    assert elapsed < 3 * ELECTION_TIMEOUT_S, "new leader %.2fs after the kill" % elapsed
    time.sleep(1.5)
    acked = w.finish()
    assert len(acked) > 10
    compose("start", "node%d" % leader)
    wait_caught_up(leader, wait_leader(), timeout=60)
    check_acked(wait_leader())
    check_acked(leader, readonly=True)


def test_network_partition_of_leader(cluster):
    leader = wait_leader()
    cid = container(leader)
    w = Writer("part")
    w.start()
    time.sleep(1)
    run("docker", "network", "disconnect", "-f", NETWORK, cid)
    try:
        others = [i for i in (1, 2, 3) if i != leader]
        new = wait_leader(nodes=others, timeout=20)
        # The cut-off leader steps down (check-quorum) and takes no write.
        deadline = time.time() + 6 * ELECTION_TIMEOUT_S
        while exec_info(cid).get("raft_role") == "leader" and time.time() < deadline:
            time.sleep(0.2)
        assert exec_info(cid).get("raft_role") != "leader"
        assert exec_cli(cid, "SET", "cut-off", "x", timeout=8) != "OK"
        time.sleep(1)
    finally:
        run("docker", "network", "connect", "--alias", "node%d" % leader, NETWORK, cid)
    acked = w.finish()
    assert len(acked) > 10
    # After the heal the old leader follows the new one and catches up.
    deadline = time.time() + 30
    inf = {}
    while time.time() < deadline:
        inf = exec_info(cid)
        if inf.get("raft_role") == "follower" and inf.get("raft_leader_id") not in (None, "0", str(leader)):
            break
        time.sleep(0.2)
    assert inf.get("raft_role") == "follower", inf
    cur = wait_leader()
    assert cur != leader or new == cur
    deadline = time.time() + 30
    while time.time() < deadline:
        a, b = exec_info(cid), info_raft(cur)
        if a and b and int(a["raft_applied_index"]) >= int(b["raft_commit_index"]):
            break
        time.sleep(0.2)
    check_acked(cur)
    assert client(cur).get("cut-off") is None


def test_down_and_up_keeps_data(cluster):
    wait_leader()
    compose("down", "-t", "10")
    compose("up", "-d", "--no-build", timeout=300)
    leader = wait_leader(timeout=60)
    check_acked(leader)
    for i in (1, 2, 3):
        if i != leader:
            wait_caught_up(i, leader)
            check_acked(i, readonly=True)


def test_other_cluster_is_refused(cluster):
    leader = wait_leader()
    term = info_raft(leader)["raft_term"]
    # Same secret, a member's node id, another cluster-id: still refused.
    cid = run("docker", "run", "-d", "--label", "raftkv.test=" + PROJECT, "--network", NETWORK,
              "--hostname", "intruder", state["image"], "--node-id", "3",
              "--cluster-members", "1@node1:6379,2@node2:6379,3@intruder:6379",
              "--cluster-id", "other-cluster", "--cluster-secret", SECRET,
              "--election-timeout-ms", "200", "--heartbeat-ms", "50").stdout.strip()
    try:
        deadline = time.time() + 20
        refused = False
        while time.time() < deadline and not refused:
            logs = run("docker", "logs", container(1), check=False)
            refused = "cluster id 'other-cluster' is not ours" in logs.stdout + logs.stderr
            time.sleep(0.5)
        assert refused
        time.sleep(2)
        assert exec_info(cid).get("raft_role") != "leader"
        assert wait_leader() == leader and info_raft(leader)["raft_term"] == term
        assert client(leader).set("after-intruder", "ok")
        state["acked"]["after-intruder"] = "ok"
    finally:
        run("docker", "rm", "-f", "-v", cid, check=False)
