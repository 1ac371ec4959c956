"""How the leader batches writes into log entries: once a commit answered
clients, the next entry waits (up to about a millisecond) for their next
commands, so closed-loop clients share rounds instead of splitting into two
cohorts that take turns (replica.c, gathering); a client that goes quiet does
not hold the others' writes beyond that bound."""
import subprocess
import time

from blackbox.resp import Conn


def _counters(node):
    info = node.info_raft()
    return int(info["raft_proposals"]), int(info["raft_entries_applied"])


def test_closed_loop_clients_share_rounds(cluster3):
    leader = cluster3.wait_leader()
    p0, e0 = _counters(leader)
    subprocess.run(["redis-benchmark", "-p", str(leader.port), "-t", "set", "-c", "50", "-P", "1",
                    "-n", "20000", "-r", "1000", "-d", "16", "-q"],
                   check=True, capture_output=True, timeout=120)
    p1, e1 = _counters(leader)
    assert p1 - p0 >= 20000
    per_entry = (p1 - p0) / (e1 - e0)
    # 50 clients, one write each in flight: ~49 per entry gathered, ~24 without.
    assert per_entry >= 35, per_entry


def test_a_client_gone_quiet_does_not_hold_the_next_batch(cluster3):
    leader = cluster3.wait_leader()
    with Conn(leader.port) as a, Conn(leader.port) as b:
        for _ in range(20):
            # Both answered by one commit (when they share an entry): the next
            # entry then awaits b's next command, which never comes.
            a.send(b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n")
            b.send(b"*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n1\r\n")
            assert a.read_reply() == "OK"
            assert b.read_reply() == "OK"
            start = time.monotonic()
            assert a.call("SET", "a", "2") == "OK"
            assert time.monotonic() - start < 0.5
