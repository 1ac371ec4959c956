"""Linearizability under faults: several clients run random GET / SET / INCR
on a few keys against a proxied 3-node cluster (following -MOVED) while a
nemesis kill -9s and restarts nodes and cuts nodes off and heals them, one
fault at a time. Every operation is recorded with its call and return times;
the per-key history is checked against a register model (linearizability.py).

Outcomes: a reply is a known result; -TIMEOUT, a lost connection or no reply
within the client timeout is an unknown outcome (the write may or may not
have taken effect; a read with unknown outcome is dropped); -MOVED,
-CLUSTERDOWN, -TRYAGAIN or a refused connection mean the operation did not
happen and it is left out. RAFTKV_LIN_SECONDS (default 20) sets the length of
the run and RAFTKV_LIN_SEED the random seed (printed). It runs once with the
default read-mode (ReadIndex) and once with read-mode lease (the lease must
expire before a new leader can be elected, so no stale read either)."""
import os
import random
import threading
import time

import pytest

from . import linearizability as lin
from .cluster import Client

DURATION_S = float(os.environ.get("RAFTKV_LIN_SECONDS", "20"))
KEYS = ["lin:a", "lin:b", "lin:{c}"]
N_CLIENTS = 4


def _client_loop(cl, cid, rnd, stop, history, odd, lock):
    cli = Client(cl, node_id=rnd.choice(list(cl.nodes)), timeout=1.0)
    seq = 0
    while not stop.is_set() and seq < 1_000_000:
        seq += 1
        key = rnd.choice(KEYS)
        r = rnd.random()
        if r < 0.45:
            kind, args, arg = lin.GET, ("GET", key), None
        elif r < 0.8:
            arg = str((cid + 1) * 10_000_000 + seq * 100)
            kind, args = lin.SET, ("SET", key, arg)
        else:
            kind, args, arg = lin.INCR, ("INCR", key), None
        t_call = time.monotonic()
        outcome, reply = cli.call(*args)
        t_ret = time.monotonic()
        op = None
        if outcome == "ok":
            if kind == lin.GET and (reply is None or isinstance(reply, bytes)):
                op = lin.Op(cid, key, kind, result=reply, call=t_call, ret=t_ret)
            elif kind == lin.SET and reply == "OK":
                op = lin.Op(cid, key, kind, arg=arg, call=t_call, ret=t_ret)
            elif kind == lin.INCR and isinstance(reply, int):
                op = lin.Op(cid, key, kind, result=reply, call=t_call, ret=t_ret)
            else:
                with lock:
                    odd.append((cid, args, reply))
        elif outcome == "error":
            if kind == lin.INCR and reply == "ERR value is not an integer or out of range":
                op = lin.Op(cid, key, kind, result=lin.IncrError(reply), call=t_call, ret=t_ret)
            else:
                with lock:
                    odd.append((cid, args, reply))
        elif outcome == "unknown":
            # try another node: clients end up on both sides of a partition
            cli.move()
            if kind != lin.GET:
                op = lin.Op(cid, key, kind, arg=arg, call=t_call, unknown=True, note=reply[:40])
        elif outcome == "not_applied" and not reply.startswith("MOVED"):
            time.sleep(0.05)
        if op is not None:
            with lock:
                history.append(op)
        time.sleep(rnd.random() * 0.004)
    cli.close()


def _nemesis(cl, rnd, stop, events, t0):
    """One fault at a time: kill -9 + restart, or cut off + heal, of the
    leader (60%) or a random node."""
    actions = ["kill", "cut"]
    k = 0
    while not stop.is_set() and k < 100:
        stop.wait(0.8 + rnd.random())
        if stop.is_set():
            break
        leader = cl.find_leader()
        target = leader.node_id if leader is not None and rnd.random() < 0.6 else rnd.choice(list(cl.nodes))
        action = actions[k % 2]
        k += 1
        events.append(("%.2f" % (time.monotonic() - t0), action, target,
                       "leader" if leader is not None and leader.node_id == target else "follower"))
        if action == "kill":
            cl.kill(target)
            stop.wait(1.0 + rnd.random() * 2)
            cl.restart(target)
        else:
            cl.cut(target)
            stop.wait(1.5 + rnd.random() * 2)
            cl.heal(target)
        events.append(("%.2f" % (time.monotonic() - t0), "undo " + action, target, ""))


@pytest.mark.parametrize("read_mode", ["linearizable", "lease"])
def test_linearizable_under_kills_and_partitions(make_cluster, read_mode):
    seed = int(os.environ.get("RAFTKV_LIN_SEED", random.randrange(1 << 30)))
    print("linearizability run: read-mode %s, seed %d, %.0f s" % (read_mode, seed, DURATION_S))
    rnd = random.Random(seed)
    cl = make_cluster(proxied=True, read_mode=read_mode)
    cl.wait_leader()
    history, odd, events = [], [], []
    lock = threading.Lock()
    stop = threading.Event()
    t0 = time.monotonic()
    clients = [threading.Thread(target=_client_loop,
                                args=(cl, c, random.Random(rnd.random()), stop, history, odd, lock),
                                daemon=True) for c in range(N_CLIENTS)]
    nemesis_stop = threading.Event()
    nemesis = threading.Thread(target=_nemesis, args=(cl, random.Random(rnd.random()), nemesis_stop, events, t0),
                               daemon=True)
    for th in clients:
        th.start()
    nemesis.start()
    try:
        time.sleep(DURATION_S)
    finally:
        nemesis_stop.set()
        nemesis.join(30)
        cl.heal()
        for i, node in cl.nodes.items():
            if not node.alive():
                cl.restart(i)
        # let the clients see the healed cluster for a moment, then stop them
        time.sleep(2 * cl.et)
        stop.set()
        for th in clients:
            th.join(15)
    assert not nemesis.is_alive() and not any(th.is_alive() for th in clients)

    # final reads of every key, after everything healed
    leader = cl.wait_leader()
    for key in KEYS:
        t_call = time.monotonic()
        got = leader.call("GET", key)
        history.append(lin.Op("final", key, lin.GET, result=got, call=t_call, ret=time.monotonic()))

    n_known = sum(1 for o in history if not o.unknown)
    n_unknown = len(history) - n_known
    print("history: %d ops (%d unknown outcome); nemesis: %r" % (len(history), n_unknown, events))
    assert not odd, "unexpected replies: %r" % odd[:10]
    assert any(e[1] == "kill" for e in events) and any(e[1] == "cut" for e in events), events
    assert n_known >= 200, "too little progress: %d completed operations" % n_known
    t_check = time.monotonic()
    ok, text = lin.report(history, t0=t0, deadline_s=60)
    print(text)
    print("checked in %.1f s" % (time.monotonic() - t_check))
    assert ok is not False, "history is not linearizable (seed %d; nemesis %r):\n%s" % (seed, events, text)
