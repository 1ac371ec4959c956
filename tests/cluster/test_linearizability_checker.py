"""Unit tests of the linearizability checker on hand-made and generated
histories. No server involved."""
import itertools
import random
import time

from .linearizability import (GET, INCR, INF, SET, IncrError, Op, check_ops, check_history,
                              minimal_failure, report, step, _FAIL)


def W(v, call, ret, c="w", key="k"):
    return Op(c, key, SET, arg=v, call=call, ret=ret)


def Wu(v, call, c="w", key="k"):
    return Op(c, key, SET, arg=v, call=call, unknown=True, note="test")


def R(v, call, ret, c="r", key="k"):
    return Op(c, key, GET, result=v, call=call, ret=ret)


def I(n, call, ret, c="i", key="k"):
    return Op(c, key, INCR, result=n, call=call, ret=ret)


def Iu(call, c="i", key="k"):
    return Op(c, key, INCR, call=call, unknown=True)


def ok(*ops):
    return check_ops(list(ops)).ok


def test_empty_and_sequential():
    assert ok() is True
    assert ok(R(None, 0, 1)) is True
    assert ok(W("a", 0, 1), R("a", 2, 3)) is True
    assert ok(W("a", 0, 1), W("b", 2, 3), R("b", 4, 5), R("b", 6, 7)) is True


def test_stale_and_invented_reads():
    assert ok(W("a", 0, 1), W("b", 2, 3), R("a", 4, 5)) is False
    assert ok(W("a", 0, 1), R(None, 2, 3)) is False
    assert ok(R("ghost", 0, 1)) is False
    assert ok(W("a", 0, 1), R("ghost", 2, 3)) is False


def test_concurrent_reads_may_see_old_or_new():
    assert ok(W("a", 0, 1), W("b", 2, 5), R("a", 3, 4)) is True
    assert ok(W("a", 0, 1), W("b", 2, 5), R("b", 3, 4)) is True
    # a read concurrent with a write must not see a value it was not offered
    assert ok(W("a", 0, 1), W("b", 2, 5), R(None, 3, 4)) is False


def test_new_old_inversion():
    # once a read has returned the new value, a later read may not return the old one
    assert ok(W("a", 0, 1), W("b", 2, 10), R("b", 3, 4), R("a", 5, 6)) is False
    assert ok(W("a", 0, 1), W("b", 2, 10), R("a", 3, 4), R("b", 5, 6)) is True


def test_concurrent_writes_any_order_but_one_order():
    h = [W("a", 0, 10, c="1"), W("b", 0, 10, c="2")]
    assert ok(*h, R("a", 11, 12)) is True
    assert ok(*h, R("b", 11, 12)) is True
    assert ok(*h, R("a", 11, 12), R("b", 13, 14)) is False
    # reads during the writes can see a then b, but not b then a then b
    assert ok(*h, R("a", 1, 2, c="3"), R("b", 3, 4, c="3")) is True
    assert ok(*h, R("b", 1, 2, c="3"), R("a", 3, 4, c="3"), R("b", 5, 6, c="3")) is False


def test_unknown_write_may_or_may_not_happen():
    base = [W("a", 0, 1), Wu("b", 2)]
    assert ok(*base, R("a", 5, 6)) is True          # never happened (so far)
    assert ok(*base, R("b", 5, 6)) is True          # happened
    assert ok(*base, R("a", 5, 6), R("b", 10, 11)) is True   # happened late
    assert ok(*base, R("b", 5, 6), R("a", 10, 11)) is False  # cannot un-happen
    # an unknown write cannot take effect before it was called
    assert ok(W("a", 0, 1), R("b", 1.5, 1.8), Wu("b", 2)) is False


def test_incr_model():
    assert ok(I(1, 0, 1), I(2, 2, 3), R(b"2", 4, 5)) is True
    assert ok(W("5", 0, 1), I(6, 2, 3), R("6", 4, 5)) is True
    assert ok(W("5", 0, 1), I(7, 2, 3)) is False
    # two concurrent INCRs cannot both return 6
    assert ok(W("5", 0, 1), I(6, 2, 5, c="x"), I(6, 2, 5, c="y")) is False
    assert ok(W("5", 0, 1), I(7, 2, 5, c="x"), I(6, 2, 5, c="y")) is True
    # INCR on a non-integer fails and changes nothing
    assert ok(W("x", 0, 1), I(IncrError("ERR"), 2, 3), R("x", 4, 5)) is True
    assert ok(W("5", 0, 1), I(IncrError("ERR"), 2, 3)) is False
    assert ok(W("01", 0, 1), I(IncrError("ERR"), 2, 3)) is True
    assert ok(W(str((1 << 63) - 1), 0, 1), I(IncrError("ERR"), 2, 3)) is True


def test_unknown_incr():
    base = [W("5", 0, 1), Iu(2)]
    assert ok(*base, R("5", 3, 4)) is True
    assert ok(*base, R("6", 3, 4)) is True
    assert ok(*base, R("7", 3, 4)) is False
    assert ok(*base, R("6", 3, 4), R("5", 5, 6)) is False
    assert ok(W("x", 0, 1), Iu(2), R("x", 3, 4)) is True


def test_model_step():
    assert step(None, Op("c", "k", INCR, result=1)) == b"1"
    assert step(b"-1", Op("c", "k", INCR, result=0)) == b"0"
    assert step(b"a", Op("c", "k", GET, result=b"b")) is _FAIL


def test_keys_are_independent():
    h = [W("a", 0, 1, key="x"), R("a", 2, 3, key="x"), R(None, 0, 0.5, key="y"),
         W("b", 0.6, 1, key="y"), R("b", 4, 5, key="y")]
    res = check_history(h)
    assert res["x"].ok is True and res["y"].ok is True
    res = check_history(h + [R("a", 6, 7, key="y")])
    assert res["x"].ok is True and res["y"].ok is False


def _brute_force(ops):
    """Reference: some permutation consistent with real time is legal."""
    n = len(ops)
    for perm in itertools.permutations(range(n)):
        pos = {i: p for p, i in enumerate(perm)}
        if any(ops[a].ret < ops[b].call and pos[a] > pos[b]
               for a in range(n) for b in range(n)):
            continue
        state = None
        for i in perm:
            state = step(state, ops[i])
            if state is _FAIL:
                break
        else:
            return True
    return False


def _random_small_history(rnd):
    ops = []
    for _ in range(rnd.randint(1, 6)):
        call = rnd.randint(0, 8)
        ret = call + rnd.randint(0, 4)
        kind = rnd.choice([GET, GET, SET, INCR])
        unknown = kind != GET and rnd.random() < 0.2
        if kind == GET:
            ops.append(Op("c", "k", GET, result=rnd.choice([None, "1", "2", "a"]), call=call, ret=ret))
        elif kind == SET:
            ops.append(Op("c", "k", SET, arg=rnd.choice(["1", "2", "a"]), call=call, ret=ret,
                          unknown=unknown))
        else:
            res = rnd.choice([1, 2, 3, IncrError("ERR")])
            ops.append(Op("c", "k", INCR, result=res, call=call, ret=ret, unknown=unknown))
    return ops


def test_agrees_with_brute_force_on_random_small_histories():
    rnd = random.Random(1234)
    seen = {True: 0, False: 0}
    for _ in range(1500):
        ops = _random_small_history(rnd)
        expect = _brute_force(ops)
        got = check_ops(ops).ok
        assert got == expect, "checker says %s, brute force %s on:\n%s" % (
            got, expect, "\n".join(map(repr, ops)))
        seen[expect] += 1
    assert seen[True] > 100 and seen[False] > 100


def _simulated_history(rnd, n_clients=5, n_ops=3000, keys=("a", "b", "c")):
    """Clients run ops whose effect happens atomically at a random instant
    between call and return on a true register: linearizable by construction.
    Some writes are reported with unknown outcome (applied or not)."""
    regs = {k: None for k in keys}
    t = [0.0] * n_clients
    pending = []  # (effect time, seq, client, op template)
    for seq in range(n_ops):
        c = rnd.randrange(n_clients)
        call = t[c] + rnd.random()
        ret = call + rnd.random() * 3
        t[c] = ret
        pending.append((call + (ret - call) * rnd.random(), seq, c, call, ret))
    pending.sort()
    history = []
    for eff, seq, c, call, ret in pending:
        key = rnd.choice(keys)
        kind = rnd.choice([GET, GET, SET, INCR])
        unknown = kind != GET and rnd.random() < 0.03
        if unknown and rnd.random() < 0.5:  # lost before it took effect
            history.append(Op(c, key, kind, arg=str(seq) if kind == SET else None,
                              call=call, unknown=True))
            continue
        if kind == GET:
            op = Op(c, key, GET, result=regs[key], call=call, ret=ret)
        elif kind == SET:
            v = str(seq * 10)
            regs[key] = v.encode()
            op = Op(c, key, SET, arg=v, call=call, ret=ret, unknown=unknown)
        else:
            new = step(regs[key], Op(c, key, INCR, unknown=True))
            if new == regs[key]:
                op = Op(c, key, INCR, result=IncrError("ERR"), call=call, ret=ret)
            else:
                op = Op(c, key, INCR, result=int(new), call=call, ret=ret, unknown=unknown)
            regs[key] = new
        history.append(op)
    return history


def test_large_linearizable_history_is_fast():
    h = _simulated_history(random.Random(7))
    t0 = time.monotonic()
    res = check_history(h)
    elapsed = time.monotonic() - t0
    assert all(r.ok is True for r in res.values()), {k: r.ok for k, r in res.items()}
    assert elapsed < 20, "checker took %.1f s on %d ops" % (elapsed, len(h))


def test_injected_stale_read_is_found_and_minimized():
    rnd = random.Random(11)
    h = _simulated_history(rnd, n_clients=4, n_ops=600, keys=("a",))
    # a client reads, long after everything settled, a value from the middle of the history
    end = max(o.ret for o in h if o.ret != INF)
    sets = [o for o in h if o.kind == SET and not o.unknown]
    old = sets[len(sets) // 2]
    bad = Op("z", "a", GET, result=old.arg, call=end + 10, ret=end + 11)
    final = Op("z", "a", SET, arg="final", call=end + 5, ret=end + 6)
    h2 = h + [final, bad]
    assert check_ops(h2).ok is False
    small = minimal_failure(h2)
    assert bad in small and final in small
    assert check_ops(small).ok is False
    assert len(small) <= 4, "\n".join(map(repr, small))
    ok_, text = report(h2)
    assert ok_ is False and "NOT LINEARIZABLE" in text and "client z" in text


def test_read_of_a_value_nobody_wrote_is_its_own_witness():
    h = _simulated_history(random.Random(5), n_clients=3, n_ops=300, keys=("a",))
    mid = sorted(h, key=lambda o: o.call)[150]
    bad = Op("z", "a", GET, result="never-written", call=mid.call, ret=mid.call + 0.5)
    small = minimal_failure(h + [bad])
    assert small == [bad]


def test_minimal_failure_keeps_the_writer_of_observed_values():
    h = [W("a", 0, 1, c="1"), W("b", 2, 3, c="1"), R("b", 4, 5, c="2"), R("a", 6, 7, c="2"),
         R(None, 0.2, 0.5, c="3"), W("c", 8, 9, c="3")]
    small = minimal_failure(h)
    assert check_ops(small).ok is False
    kinds = sorted((o.kind, o.arg or o.result) for o in small)
    # the stale read of "a" after "b" was written, with both writers kept
    assert kinds == [(GET, b"a"), (SET, b"a"), (SET, b"b")], small


def test_budget_exhaustion_is_inconclusive():
    rnd = random.Random(3)
    # many concurrent unknown writes make the search space large
    h = [Op(str(i), "k", SET, arg=str(i), call=0, unknown=True) for i in range(40)]
    h += [Op("r", "k", GET, result=str(rnd.randrange(40)), call=1 + i, ret=1.5 + i) for i in range(40)]
    h.append(Op("r", "k", GET, result="nobody", call=100, ret=101))
    assert check_ops(h, max_steps=2000).ok is None
