"""Snapshots and log compaction on real processes: the log stays bounded
under a million writes and the data survives restarts of every node; a
follower left behind past the compacted log, a follower killed in the middle
of receiving a snapshot, and a brand-new member all catch up by
InstallSnapshot and end with the leader's exact data; the RAFT.SNAPSHOT
receive protocol spoken directly by an authenticated Python peer (resume
after a lost connection, out-of-order and corrupt chunks refused, install at
END, -NOPERM for other clients); a leader that never saw the answer to an
install learns from the follower's refusal of the same snapshot and resumes
log replication; a transfer cut mid-way by a partition resumes where it
stopped; writes keep being acknowledged while a snapshot is sent.

Data is compared as (DBSIZE, SHA-256 over every key and value found by SCAN
and MGET, sorted by key), read on a follower over a READONLY connection once
it has applied the leader's commit index."""
import hashlib
import hmac
import threading
import time

from blackbox.resp import Conn, ConnectionClosed, Error, encode

from .test_membership import ROLE_WAIT_S, add_node, roles_ok, wait_for

PROBE = b"__probe__"   # written by Cluster.wait_leader, left out of comparisons


# ---------------------------------------------------------------- helpers

def ival(node, field):
    info = node.info_raft(timeout=5.0)
    assert info is not None, "node %d does not answer INFO" % node.node_id
    return int(info[field])


def mset_load(node, first, count, value, batch=100, inflight=16, timeout=180.0, on_reply=None):
    """MSET keys key:<first>..key:<first+count-1> (value(k) each) through node,
    `batch` keys per MSET, `inflight` MSETs pipelined; every reply must be OK.
    on_reply() runs after each reply (observation hook)."""
    deadline = time.monotonic() + timeout
    nb = (count + batch - 1) // batch
    sent = got = 0
    with Conn(node.port, timeout=60.0) as c:
        while got < nb:
            assert time.monotonic() < deadline, "load not done in %.0f s (%d/%d MSETs)" % (timeout, got, nb)
            while sent < nb and sent - got < inflight:
                lo = first + sent * batch
                hi = min(first + count, lo + batch)
                args = ["MSET"]
                for k in range(lo, hi):
                    args += ["key:%d" % k, value(k)]
                c.send(encode(*args))
                sent += 1
            r = c.read_reply()
            assert r == "OK", "MSET %d replied %r" % (got, r)
            got += 1
            if on_reply:
                on_reply()


def small_value(k):
    return "val:%d" % (k * 7919 % 1000003)


def big_value(k, size=4000):
    """size bytes that RocksDB cannot compress, a function of k."""
    seed = hashlib.sha256(b"%d" % k).digest()
    out = bytearray()
    i = 0
    while len(out) < size:
        out += hashlib.sha256(seed + b"%d" % i).digest()
        i += 1
    return bytes(out[:size])


def expected_digest(count, value):
    h = hashlib.sha256()
    for key in sorted(b"key:%d" % k for k in range(count)):
        v = value(int(key[4:]))
        h.update(key + b"\0" + (v if isinstance(v, bytes) else v.encode()) + b"\0")
    return count, h.hexdigest()


def state_digest(node, readonly=False, timeout=120.0):
    """(number of keys, SHA-256 of the sorted key/value pairs), PROBE left out,
    read by SCAN and pipelined MGETs."""
    deadline = time.monotonic() + timeout
    keys = set()
    with Conn(node.port, timeout=60.0) as c:
        if readonly:
            assert c.call("READONLY") == "OK"
        cursor = b"0"
        for _ in range(100000):
            assert time.monotonic() < deadline, "SCAN not done in %.0f s" % timeout
            reply = c.call("SCAN", cursor, "COUNT", 10000)
            assert isinstance(reply, list), "SCAN replied %r" % (reply,)
            cursor, batch = reply
            keys.update(batch)
            if cursor == b"0":
                break
        else:
            raise AssertionError("SCAN did not finish in 100000 calls")
        keys.discard(PROBE)
        ordered = sorted(keys)
        values = []
        step = 1000
        for i in range(0, len(ordered), step * 16):
            group = [ordered[j:j + step] for j in range(i, min(len(ordered), i + step * 16), step)]
            c.send(b"".join(encode("MGET", *g) for g in group))
            for g in group:
                r = c.read_reply()
                assert isinstance(r, list) and len(r) == len(g), "MGET replied %r" % (r,)
                values += r
        dbsize = c.call("DBSIZE")
    h = hashlib.sha256()
    for k, v in zip(ordered, values):
        assert v is not None, "key %r vanished between SCAN and MGET" % k
        h.update(k + b"\0" + v + b"\0")
    assert dbsize - (1 if dbsize > len(ordered) else 0) == len(ordered), \
        "DBSIZE %d but SCAN found %d keys (plus the probe?)" % (dbsize, len(ordered))
    return len(ordered), h.hexdigest()


def same_data(cl, follower_id, leader, timeout=60.0):
    """The follower applies the leader's commit index and holds exactly the
    leader's keys and values."""
    cl.wait_caught_up(follower_id, leader, timeout=timeout)
    want = state_digest(leader)
    got = state_digest(cl.nodes[follower_id], readonly=True)
    assert got == want, "node %d holds %r, the leader %r" % (follower_id, got, want)
    return want


def log_text(node):
    return node.log_tail(10 ** 9)


def load_until(leader, first, value, cond, batch, what, rounds=40, per_round=5000):
    """Writes rounds of per_round keys until cond() holds; returns the next key."""
    k = first
    for _ in range(rounds):
        if cond():
            return k
        mset_load(leader, k, per_round, value, batch=batch, inflight=8)
        k += per_round
    assert cond(), "still not %s after %d keys" % (what, k - first)
    return k


def wait_snapshot_settled(leader, timeout=30.0):
    wait_for(lambda: ival(leader, "raft_snapshot_in_progress") == 0, timeout, "no checkpoint in progress")


# ------------------------------------------------------------------ tests

def test_log_stays_bounded_over_a_million_keys_and_survives_restarts(make_cluster):
    threshold, trailing = 200, 50
    # A checkpoint flushes the state's memtables first, so its duration grows
    # with them: small write buffers keep it short (with the default 64mb a
    # checkpoint reached 7 s here) and the log's bound a matter of the
    # snapshot options.
    cl = make_cluster(snapshot_threshold_entries=threshold, snapshot_trailing_entries=trailing,
                      rocksdb_write_buffer_bytes="8mb")
    leader = cl.wait_leader()
    # A checkpoint is taken once `threshold` entries applied past the last
    # one, and the log compacted to `trailing` before it when it is done;
    # entries keep arriving meanwhile, so allow two more thresholds' worth.
    # The load makes ~3500 entries, all of which an uncompacted log keeps.
    bound = 3 * threshold + trailing
    spans = {i: 0 for i in cl.nodes}
    last_poll = [0.0]

    def observe():
        if time.monotonic() - last_poll[0] < 0.25:
            return
        for i, info in cl.infos().items():
            assert info is not None, "node %d stopped answering" % i
            spans[i] = max(spans[i], int(info["raft_last_index"]) - int(info["raft_first_index"]))
        last_poll[0] = time.monotonic()

    n = 1000000
    mset_load(leader, 0, n, small_value, batch=50, inflight=16, timeout=240.0, on_reply=observe)
    last_poll[0] = 0.0
    observe()
    infos = cl.infos()
    for i, info in infos.items():
        assert int(info["raft_snapshots_taken"]) >= 5, "node %d took %s snapshots" % (i, info["raft_snapshots_taken"])
        assert int(info["raft_last_index"]) > 3 * bound, "the load made too few entries to test the bound: %r" % info
    assert all(s < bound for s in spans.values()), "log span (last - first index) reached %r, bound %d" % (spans, bound)
    assert any(s > 0 for s in spans.values())

    def idle_span(node):
        info = node.info_raft()
        span = int(info["raft_last_index"]) - int(info["raft_first_index"])
        return info["raft_snapshot_in_progress"] == "0" and span < threshold + trailing

    for node in cl.nodes.values():   # once idle: fewer than threshold entries past the last snapshot
        wait_for(lambda: idle_span(node), 30, "node %d's log compacted below %d entries"
                   % (node.node_id, threshold + trailing))

    for i in cl.nodes:
        cl.kill(i)
    for i in cl.nodes:
        cl.restart(i)
    leader = cl.wait_leader(timeout=60.0)
    assert leader.call("DBSIZE") == n + 1  # and the probe
    assert state_digest(leader) == expected_digest(n, small_value)
    for i, info in cl.infos().items():
        span = int(info["raft_last_index"]) - int(info["raft_first_index"])
        assert span < bound, "node %d's log after restart spans %d entries" % (i, span)


def test_lagging_follower_catches_up_by_snapshot(make_cluster):
    cl = make_cluster(snapshot_threshold_entries=200, snapshot_trailing_entries=50)
    leader = cl.wait_leader()
    mset_load(leader, 0, 2000, small_value, batch=20, inflight=4)
    f = next(i for i in cl.nodes if i != leader.node_id)
    behind = cl.wait_caught_up(f, leader)
    cl.kill(f)
    taken0 = ival(leader, "raft_snapshots_taken")
    f_applied = int(behind["raft_applied_index"])

    def compacted_past_it():
        return (ival(leader, "raft_snapshots_taken") >= taken0 + 2
                and ival(leader, "raft_first_index") > f_applied + 1)

    n = load_until(leader, 2000, small_value, compacted_past_it, batch=20, what="compacted past the follower")
    wait_snapshot_settled(leader)
    sent0 = ival(leader, "raft_snapshots_sent")
    node = cl.nodes[f]
    # What a crash during an earlier install's background removal would leave.
    (node.dir / "trash-7").mkdir()
    (node.dir / "trash-7" / "000012.sst").write_bytes(b"x" * 4096)
    cl.restart(f)
    assert not (node.dir / "trash-7").exists(), "the restart left an old trash directory"
    wait_for(lambda: "Snapshot: installed index" in log_text(node), 60, "the follower installs a snapshot")
    assert ival(node, "raft_snapshots_installed") >= 1
    count, _ = same_data(cl, f, leader)
    assert count == n
    assert ival(leader, "raft_snapshots_sent") > sent0
    assert "and installed there" in log_text(leader)
    # The replaced database is removed off the loop, and entirely.
    wait_for(lambda: not any(p.name.startswith(("trash-", "snapshot-recv")) for p in node.dir.iterdir()),
             10, "the old database removed")


BIG_KEYS = 8000


def _big_snapshot_cluster(make_cluster, proxied=False, keys=BIG_KEYS):
    """A cluster whose follower f was down while keys*4000 bytes went in: the
    leader's snapshot is large and sent in 4096-byte chunks, which takes seconds."""
    cl = make_cluster(proxied=proxied, snapshot_threshold_entries=100, snapshot_trailing_entries=20,
                      snapshot_chunk_bytes=4096)
    leader = cl.wait_leader()
    f = next(i for i in cl.nodes if i != leader.node_id)
    mset_load(leader, 0, 200, small_value, batch=10, inflight=2)
    cl.wait_caught_up(f, leader)
    assert state_digest(cl.nodes[f], readonly=True)[0] == 200
    cl.kill(f)
    f_applied = ival(cl.nodes[next(i for i in cl.nodes if i not in (f, leader.node_id))], "raft_applied_index")
    mset_load(leader, 1000, keys, big_value, batch=25, inflight=8)
    load_until(leader, 1000 + keys, small_value,
               lambda: ival(leader, "raft_first_index") > f_applied + 1 and ival(leader, "raft_snapshot_bytes") > keys * 3000,
               batch=5, what="compacted with a large snapshot", per_round=500)
    wait_snapshot_settled(leader)
    return cl, leader, f


def receiving(node):
    info = node.info_raft()
    if not info or info.get("raft_snapshot_receiving") != "1":
        return None
    got, total = int(info["raft_snapshot_receive_bytes"]), int(info["raft_snapshot_receive_total_bytes"])
    return (got, total) if 0 < got < total else None


def test_receiver_killed_mid_snapshot_restarts_and_installs(make_cluster):
    cl, leader, f = _big_snapshot_cluster(make_cluster)
    node = cl.nodes[f]
    node.start(port=cl.ports[f])
    got, total = wait_for(lambda: receiving(node), 30, "the follower receiving the snapshot", step=0.01)
    cl.kill(f)
    recv_dir = node.dir / "snapshot-recv"
    assert recv_dir.is_dir() and any(recv_dir.iterdir()), "nothing was written to %s" % recv_dir
    assert "Snapshot: installed index" not in log_text(node)
    cl.restart(f)
    # It serves at once, from the old database or, if it was quick to receive it
    # again, the whole snapshot: never a part. The old database is the one it had
    # (200 keys and the probe) or an earlier state of it: its state database rolls
    # back to its last flush and replays its log only up to the commit index it
    # stored, until the leader tells it more.
    with Conn(cl.ports[f], timeout=10.0) as c:
        assert c.call("READONLY") == "OK"
        size = c.call("DBSIZE")
        assert size <= 201 or size > BIG_KEYS, "the restarted node holds %r keys" % (size,)
    wait_for(lambda: "Snapshot: installed index" in log_text(node), 120, "the restarted follower installs")
    same_data(cl, f, leader, timeout=120.0)
    assert ival(node, "raft_snapshots_installed") >= 1


def test_new_member_joins_by_snapshot_and_is_promoted(make_cluster):
    cl = make_cluster(snapshot_threshold_entries=200, snapshot_trailing_entries=50)
    leader = cl.wait_leader()
    load_until(leader, 0, small_value,
               lambda: ival(leader, "raft_snapshots_taken") >= 2 and ival(leader, "raft_first_index") > 100,
               batch=20, what="compacted")
    wait_snapshot_settled(leader)
    sent0 = ival(leader, "raft_snapshots_sent")
    reply, node = add_node(cl, 4, leader)
    assert reply == "OK"
    wait_for(lambda: "Snapshot: installed index" in log_text(node), 60, "the new node installs a snapshot")
    wait_for(lambda: roles_ok(cl, [1, 2, 3, 4], 4), ROLE_WAIT_S, "4 voters everywhere")
    leader = cl.wait_leader()
    same_data(cl, 4, leader)
    assert ival(leader, "raft_snapshots_sent") > sent0
    assert ival(node, "raft_snapshots_installed") >= 1


def test_snapshot_transfer_resumes_after_a_partition(make_cluster):
    cl, leader, f = _big_snapshot_cluster(make_cluster, proxied=True)
    node = cl.nodes[f]
    node.start(port=cl.ports[f])
    got, total = wait_for(lambda: receiving(node), 30, "the follower receiving the snapshot", step=0.01)
    cl.cut(f)
    wait_for(lambda: "Snapshot: sending index" in log_text(leader) and " failed: " in log_text(leader),
               10 * cl.et + 10, "the leader giving up on the cut link")
    before = ival(node, "raft_snapshot_receive_bytes")
    assert before >= got
    cl.heal(f)
    wait_for(lambda: "resuming at file" in log_text(leader), 30, "the leader resuming the transfer")
    wait_for(lambda: "Snapshot: installed index" in log_text(node), 120, "the follower installs")
    same_data(cl, f, leader, timeout=120.0)


def test_writes_acknowledged_while_a_snapshot_is_sent(make_cluster):
    cl, leader, f = _big_snapshot_cluster(make_cluster)
    acks = []
    stop = threading.Event()
    errors = []

    def writer():
        hard_stop = time.monotonic() + 120
        try:
            with Conn(leader.port, timeout=10.0) as c:
                i = 0
                while not stop.is_set() and time.monotonic() < hard_stop:
                    r = c.call("SET", "during:%d" % i, "x")
                    if r != "OK":
                        errors.append(r)
                        return
                    acks.append(time.monotonic())
                    i += 1
        except (OSError, ConnectionClosed) as e:
            errors.append(e)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    try:
        wait_for(lambda: len(acks) > 10, 10, "the writer running")
        base_from = time.monotonic()
        time.sleep(2.0)
        base_to = time.monotonic()
        cl.nodes[f].start(port=cl.ports[f])
        start = wait_for(lambda: time.monotonic() if ival(leader, "raft_snapshot_sending") >= 1 else None,
                           30, "the leader sending", step=0.01)
        end = wait_for(lambda: time.monotonic() if ival(leader, "raft_snapshot_sending") == 0 else None,
                         120, "the transfer finishing", step=0.01)
    finally:
        stop.set()
        t.join(30)
    assert not errors, errors
    during = [a for a in acks if start <= a <= end]
    assert end - start > 0.2, "the transfer took only %.3f s: too short to tell" % (end - start)
    assert len(during) > 0, "no write acknowledged during the %.1f s transfer" % (end - start)
    # and at a reasonable rate: at least a quarter of the rate before the transfer
    base_rate = len([a for a in acks if base_from <= a <= base_to]) / (base_to - base_from)
    rate = len(during) / (end - start)
    assert rate >= base_rate / 4, "%.0f acks/s during the transfer, %.0f before" % (rate, base_rate)
    assert "Snapshot: installed index" in log_text(cl.nodes[f])
    same_data(cl, f, leader, timeout=120.0)


def test_leader_killed_mid_snapshot_new_leader_sends_its_own(make_cluster):
    cl, leader, f = _big_snapshot_cluster(make_cluster)
    node = cl.nodes[f]
    node.start(port=cl.ports[f])
    wait_for(lambda: receiving(node), 30, "the follower receiving the snapshot", step=0.01)
    old = leader.node_id
    cl.kill(old)
    other = next(i for i in cl.nodes if i not in (f, old))
    new_leader = cl.wait_leader(ids=[f, other], timeout=30.0)
    assert new_leader.node_id == other, "the follower that lacks the log was elected"
    wait_for(lambda: "Snapshot: installed index" in log_text(node), 120,
               "the follower installing the new leader's snapshot")
    assert "from node %d" % other in [l for l in log_text(node).splitlines() if "Snapshot: installed index" in l][-1]
    want = same_data(cl, f, new_leader, timeout=120.0)
    assert new_leader.call("DBSIZE") == want[0] + 1   # nothing written since: the probe only
    cl.restart(old)
    leader = cl.wait_leader(timeout=30.0)
    cl.wait_caught_up(old, leader, timeout=60.0)
    assert same_data(cl, old, leader) == same_data(cl, f, leader) == want


# ------------------------------------------- the receive protocol, directly

def peer_conn(node, as_id, cl):
    """A connection to node authenticated as raft peer as_id (the handshake
    of src/transport.c: RAFT.HELLO, then RAFT.AUTH with the HMAC proof)."""
    c = Conn(node.port, timeout=10.0)
    nonce = c.call("RAFT.HELLO", cl.cluster_id, str(as_id))
    assert isinstance(nonce, bytes), nonce
    msg = b"raftkv-peer|%s|%d|%s" % (cl.cluster_id.encode(), as_id, nonce)
    proof = hmac.new(cl.cluster_secret.encode(), msg, hashlib.sha256).hexdigest()
    assert c.call("RAFT.AUTH", proof) == "OK"
    return c


def read_sealed_snapshot(node):
    """(meta text, index, [(name, bytes)]) of node's newest sealed snapshot."""
    dirs = sorted((p for p in (node.dir / "snapshots").iterdir() if p.name != "tmp"),
                  key=lambda p: int(p.name.split("-")[0]))
    assert dirs, "no sealed snapshot under %s" % node.dir
    d = dirs[-1]
    meta = (d / "raftkv-snapshot.meta").read_bytes()
    lines = meta.decode().splitlines()
    assert lines[0] == "raftkv-snapshot 1" and lines[1].startswith("index ")
    nfiles = int(lines[4].split()[1])
    files = []
    for line in lines[5:5 + nfiles]:
        size, crc, name = line.split()
        data = (d / name).read_bytes()
        assert len(data) == int(size)
        files.append((name, data))
    return meta, int(lines[1].split()[1]), files


def send_file(c, sid, fi, data, chunk=4096):
    for off in range(0, max(len(data), 1), chunk):
        r = c.call("RAFT.SNAPSHOT", "CHUNK", sid, str(fi), str(off), data[off:off + chunk])
        assert r == "OK", "CHUNK file %d offset %d: %r" % (fi, off, r)


def _cut_follower_behind_a_snapshot(make_cluster):
    """A proxied cluster whose follower f was down while the leader compacted
    its log, restarted cut off from its peers (only the test talks to it).
    Returns (cluster, leader, f, meta, index, files, sid)."""
    cl = make_cluster(proxied=True, snapshot_threshold_entries=100, snapshot_trailing_entries=20)
    leader = cl.wait_leader()
    lid = leader.node_id
    f = next(i for i in cl.nodes if i != lid)
    cl.kill(f)
    load_until(leader, 0, small_value,
               lambda: ival(leader, "raft_snapshots_taken") >= 1 and ival(leader, "raft_first_index") > 10,
               batch=10, what="compacted", per_round=2000)
    wait_snapshot_settled(leader)
    meta, index, files = read_sealed_snapshot(leader)
    cl.cut(f)
    cl.nodes[f].start(port=cl.ports[f])
    assert ival(cl.nodes[f], "raft_applied_index") < index
    return cl, leader, f, meta, index, files, "%d-test-%d" % (index, lid)


def test_snapshot_protocol_spoken_directly(make_cluster):
    cl, leader, f, meta, index, files, sid = _cut_follower_behind_a_snapshot(make_cluster)
    lid = leader.node_id
    node = cl.nodes[f]
    big = max(range(len(files)), key=lambda i: len(files[i][1]))
    assert len(files[big][1]) > 3 * 4096, "the largest snapshot file is too small: %r" % [(n, len(d)) for n, d in files]

    sid = "%d-test-%d" % (index, lid)

    with Conn(node.port) as plain:
        err = plain.call("RAFT.SNAPSHOT", "BEGIN", sid, meta)
        assert isinstance(err, Error) and err.startswith("NOPERM"), err
        err = plain.call("RAFT.SNAPSHOT", "CHUNK", sid, "0", "0", b"x")
        assert isinstance(err, Error) and err.startswith("NOPERM"), err
    assert not (node.dir / "snapshot-recv").exists()

    c = peer_conn(node, lid, cl)
    assert isinstance(c.call("RAFT.SNAPSHOT", "BEGIN", sid, b"garbage"), Error)
    assert c.call("RAFT.SNAPSHOT", "BEGIN", sid, meta) == [0, 0]
    info = node.info_raft()
    assert info["raft_snapshot_receiving"] == "1", info
    assert int(info["raft_snapshot_receive_total_bytes"]) == sum(len(d) for _, d in files)
    for fi in range(big):
        send_file(c, sid, fi, files[fi][1])
    data = files[big][1]
    half = (len(data) // 2) // 4096 * 4096
    send_file(c, sid, big, data[:half])
    err = c.call("RAFT.SNAPSHOT", "CHUNK", sid, str(big), str(half + 4096), data[half + 4096:half + 8192])
    assert isinstance(err, Error) and "out of order" in err, err
    err = c.call("RAFT.SNAPSHOT", "END", sid)
    assert isinstance(err, Error) and "incomplete" in err, err
    c.close()  # the link drops mid-file

    c = peer_conn(node, lid, cl)
    assert c.call("RAFT.SNAPSHOT", "BEGIN", sid, meta) == [big, half], "no resume position"
    err = c.call("RAFT.SNAPSHOT", "CHUNK", "other-id", str(big), str(half), data[half:half + 10])
    assert isinstance(err, Error) and "no such snapshot transfer" in err, err
    # the rest of the file with one byte flipped: refused when the file completes
    bad = bytearray(data)
    bad[half + 1] ^= 0xFF
    for off in range(half, len(data), 4096):
        r = c.call("RAFT.SNAPSHOT", "CHUNK", sid, str(big), str(off), bytes(bad[off:off + 4096]))
        if off + 4096 < len(data):
            assert r == "OK", r
        else:
            assert isinstance(r, Error) and "checksum mismatch" in r, r
    assert "checksum mismatch" in log_text(node)
    assert c.call("RAFT.SNAPSHOT", "BEGIN", sid, meta) == [big, 0], "the corrupt file is not received again"
    send_file(c, sid, big, data)
    for fi in range(big + 1, len(files)):
        send_file(c, sid, fi, files[fi][1])
    assert c.call("RAFT.SNAPSHOT", "END", sid) == "OK"
    c.close()
    assert "Snapshot: installed index %d" % index in log_text(node)
    info = node.info_raft()
    assert int(info["raft_applied_index"]) >= index and info["raft_snapshot_receiving"] == "0", info
    with Conn(node.port) as r:
        assert r.call("READONLY") == "OK"
        keys_at_index = r.call("DBSIZE")
    assert keys_at_index > 1000

    c = peer_conn(node, lid, cl)
    err = c.call("RAFT.SNAPSHOT", "BEGIN", sid + "x", meta)
    assert isinstance(err, Error) and "not needed" in err, err
    c.close()


def test_leader_learns_the_follower_already_has_its_snapshot(make_cluster):
    """The follower installed the leader's snapshot but the leader never saw
    END's reply (here: the test installs it, as the leader's peer id): the
    leader's next BEGIN is answered 'snapshot not needed', and the follower
    must then catch up from the log."""
    cl, leader, f, meta, index, files, sid = _cut_follower_behind_a_snapshot(make_cluster)
    node = cl.nodes[f]
    c = peer_conn(node, leader.node_id, cl)
    assert c.call("RAFT.SNAPSHOT", "BEGIN", sid, meta) == [0, 0]
    for fi, (_, data) in enumerate(files):
        send_file(c, sid, fi, data)
    assert c.call("RAFT.SNAPSHOT", "END", sid) == "OK"
    c.close()
    assert ival(node, "raft_applied_index") >= index
    cl.heal(f)
    leader = cl.wait_leader()
    same_data(cl, f, leader, timeout=20.0)



def test_sigterm_while_snapshots_are_taken_exits_cleanly(make_cluster):
    """SIGTERM under a write load with a snapshot taken every few entries:
    each node waits for the checkpoint it is taking (it reads the store)
    before closing the store, and exits 0 -- it used to crash there."""
    import signal
    import subprocess
    for rnd in range(3):
        cl = make_cluster(snapshot_threshold_entries=20, snapshot_trailing_entries=20)
        leader = cl.wait_leader()
        load = subprocess.Popen(["redis-benchmark", "-p", str(leader.port), "-t", "set", "-P", "16",
                                 "-n", "2000000", "-r", "100000", "-q"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if int(leader.info_raft().get("raft_snapshots_taken", 0)) >= 3:
                    break
                time.sleep(0.1)
            time.sleep(0.1 * rnd)
            for n in cl.nodes.values():
                n.proc.send_signal(signal.SIGTERM)
            codes = {i: n.proc.wait(timeout=30) for i, n in cl.nodes.items()}
        finally:
            load.kill()
            load.wait()
        assert leader.log_tail(10 ** 9).count("Snapshot: taken") >= 3
        assert codes == {i: 0 for i in cl.nodes}, codes
