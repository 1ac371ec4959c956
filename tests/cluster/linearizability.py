"""Linearizability checker for histories of GET / SET / INCR on string keys.

Every key is an independent register (P-compositionality: a history is
linearizable iff each key's sub-history is), checked with Wing & Gong's search
as improved by Lowe: walk the time-ordered list of call/return events; at a
call, try to linearize that operation now (the model accepts it from the current
state), remove it from the list and start again from the head; at a return whose
operation is not yet linearized, undo the last choice. A cache of
(set of linearized operations, register state) pairs prunes every configuration
already explored, which keeps the search near-linear on real histories.

Operations whose outcome is unknown to the client (a -TIMEOUT reply, a lost
connection, a socket timeout) get a return time of +infinity and an "any result"
step: they may take effect at any moment after their call, or never (taking
effect after everything else is observably the same as never). Operations that
certainly did not happen (-MOVED, -CLUSTERDOWN, -TRYAGAIN) must simply be left
out of the history, as must reads whose reply was lost.

When a key's history is not linearizable, minimal_failure() shrinks it: first to
the shortest failing prefix in time (operations still running at the cut become
unknown-outcome writes, running reads are dropped), then drops ever smaller
chunks of operations while the rest still fails (delta debugging); an operation
that observed a value only dropped operations could have written goes with them
(so the result keeps the real cause instead of degenerating to "a read saw a
value nobody wrote").
"""
import math
import re
import time

INF = math.inf

GET, SET, INCR = "get", "set", "incr"

_INT_RE = re.compile(rb"-?[1-9][0-9]*|0")
_INT64_MAX = (1 << 63) - 1
_INT64_MIN = -(1 << 63)


class IncrError(str):
    """The result of an INCR answered with an error (value not an integer)."""


class Op:
    """One client operation. kind: GET/SET/INCR; arg: the SET value (bytes);
    result: GET -> bytes or None, SET -> None, INCR -> int or IncrError;
    call/ret: monotonic times; unknown: the outcome is not known (ret is INF)."""

    __slots__ = ("client", "key", "kind", "arg", "result", "call", "ret", "unknown", "note")

    def __init__(self, client, key, kind, arg=None, result=None, call=0.0, ret=INF,
                 unknown=False, note=""):
        self.client = client
        self.key = key
        self.kind = kind
        self.arg = _b(arg)
        self.result = _b(result) if kind == GET else result
        self.call = call
        self.unknown = unknown
        self.ret = INF if unknown else ret
        self.note = note

    def as_unknown(self):
        return Op(self.client, self.key, self.kind, self.arg, None, self.call, INF, True,
                  self.note or "running at cut")

    def __repr__(self):
        return format_op(self)


def _b(v):
    if v is None or isinstance(v, bytes):
        return v
    return str(v).encode()


def _parse_int(state):
    """The register's value as Redis INCR reads it: 0 for a missing key, None if
    it is not a 64-bit integer in canonical form."""
    if state is None:
        return 0
    if not _INT_RE.fullmatch(state):
        return None
    v = int(state)
    return v if _INT64_MIN <= v <= _INT64_MAX else None


_FAIL = object()


def step(state, op):
    """The register model: the state after `op` from `state`, or _FAIL if `op`
    with its observed result is impossible from `state`."""
    if op.kind == GET:
        return state if state == op.result else _FAIL
    if op.kind == SET:
        return op.arg
    cur = _parse_int(state)
    ok = cur is not None and cur < _INT64_MAX
    if op.unknown:
        return str(cur + 1).encode() if ok else state
    if isinstance(op.result, IncrError):
        return state if not ok else _FAIL
    if ok and cur + 1 == op.result:
        return str(op.result).encode()
    return _FAIL


class Result:
    """ok: True (linearizable), False (not), None (search budget exhausted).
    best: the longest linearizable prefix the search found, as a list of ops in
    linearization order (for diagnostics when ok is False)."""

    def __init__(self, ok, best, explored):
        self.ok = ok
        self.best = best
        self.explored = explored


def _unobserved_unknown_sets(ops):
    """Unknown-outcome SETs whose value no operation could have observed: not
    read by a GET, not the base of a known INCR result (even through the unknown
    INCRs that might follow), not a non-integer an INCR error could have seen.
    Such a SET can always be linearized last, i.e. dropped without changing the
    verdict; dropping them keeps the search from trying every place for each."""
    n_unknown_incr = sum(1 for o in ops if o.kind == INCR and o.unknown)
    seen = set()
    incr_error = False
    for o in ops:
        if o.unknown:
            continue
        if o.kind == GET and o.result is not None:
            seen.add(o.result)
        elif o.kind == INCR:
            if isinstance(o.result, IncrError):
                incr_error = True
            else:
                for k in range(n_unknown_incr + 1):
                    seen.add(str(o.result - 1 - k).encode())
    drop = set()
    for i, o in enumerate(ops):
        if not (o.unknown and o.kind == SET):
            continue
        base = _parse_int(o.arg)
        if base is None:
            if incr_error or o.arg in seen:
                continue
        elif any(str(base + k).encode() in seen for k in range(n_unknown_incr + 1)):
            continue
        drop.add(i)
    return drop


def check_ops(ops, initial=None, max_steps=5_000_000, deadline_s=None):
    """Check one key's history (a list of Op). Returns a Result."""
    drop = _unobserved_unknown_sets(ops)
    if drop:
        ops = [o for i, o in enumerate(ops) if i not in drop]
    n = len(ops)
    events = []
    for i, op in enumerate(ops):
        events.append((op.call, 0, i))
        events.append((op.ret, 1, i))
    events.sort()  # at equal times calls come first: equal stamps count as concurrent
    m = len(events)
    if m == 0:
        return Result(True, [], 0)
    head = m
    nxt = list(range(1, m)) + [-1, 0]
    prv = [i - 1 for i in range(m)] + [-1]
    prv[0] = head
    is_call = [ev[1] == 0 for ev in events]
    opof = [ev[2] for ev in events]
    ret_pos = [0] * n
    for pos, ev in enumerate(events):
        if ev[1] == 1:
            ret_pos[ev[2]] = pos

    def unlink(p):
        nxt[prv[p]] = nxt[p]
        if nxt[p] != -1:
            prv[nxt[p]] = prv[p]

    def relink(p):
        nxt[prv[p]] = p
        if nxt[p] != -1:
            prv[nxt[p]] = p

    state = initial
    linearized = 0
    cache = set()
    stack = []
    best = []
    steps = 0
    t_end = time.monotonic() + deadline_s if deadline_s else None
    entry = nxt[head]
    while nxt[head] != -1:
        steps += 1
        if steps > max_steps or (t_end is not None and (steps & 0xFFF) == 0
                                  and time.monotonic() > t_end):
            return Result(None, [ops[opof[e]] for e, _ in stack], steps)
        if is_call[entry]:
            i = opof[entry]
            new = step(state, ops[i])
            if new is not _FAIL:
                nl = linearized | (1 << i)
                k = (nl, new)
                if k not in cache:
                    cache.add(k)
                    stack.append((entry, state))
                    state = new
                    linearized = nl
                    unlink(entry)
                    unlink(ret_pos[i])
                    if len(stack) > len(best):
                        best = stack[:]
                    entry = nxt[head]
                    continue
            entry = nxt[entry]
        else:
            if not stack:
                return Result(False, [ops[opof[e]] for e, _ in best], steps)
            entry, state = stack.pop()
            i = opof[entry]
            linearized &= ~(1 << i)
            relink(ret_pos[i])
            relink(entry)
            entry = nxt[entry]
    return Result(True, [ops[opof[e]] for e, _ in stack], steps)


def by_key(history):
    keys = {}
    for op in history:
        keys.setdefault(op.key, []).append(op)
    return keys


def check_history(history, **kw):
    """Check a whole history key by key. Returns {key: Result}."""
    return {k: check_ops(ops, **kw) for k, ops in sorted(by_key(history).items())}


def _prefix(ops, t):
    """Operations called by time t; those still running at t become unknown
    writes, running reads are dropped."""
    out = []
    for op in ops:
        if op.call > t:
            continue
        if op.ret <= t:
            out.append(op)
        elif op.kind != GET:
            out.append(op if op.unknown else op.as_unknown())
    return out


def _observes(op):
    """The value an operation's result shows the register held (or now holds)."""
    if op.unknown:
        return None
    if op.kind == GET:
        return op.result
    if op.kind == INCR and not isinstance(op.result, IncrError):
        return str(op.result - 1).encode() if op.result != 1 else None
    return None


def _produces(op):
    if op.kind == SET:
        return op.arg
    if op.kind == INCR and not op.unknown and not isinstance(op.result, IncrError):
        return str(op.result).encode()
    return None


def _orphans(ops):
    """Operations of `ops` that observed a value no operation of `ops` called
    before they returned could have written (counting what the unknown-outcome
    INCRs called by then could have made of the written integers)."""
    by_call = sorted(ops, key=lambda o: o.call)
    observers = sorted((o for o in ops if _observes(o) is not None), key=lambda o: o.ret)
    vals, ints, k, j = set(), [0], 0, 0
    out = []
    for o in observers:
        while j < len(by_call) and by_call[j].call < o.ret:
            p = by_call[j]
            j += 1
            k += p.kind == INCR and p.unknown
            v = _produces(p)
            if v is not None:
                vals.add(v)
                if _parse_int(v) is not None:
                    ints.append(_parse_int(v))
        seen = _observes(o)
        if seen in vals:
            continue
        iv = _parse_int(seen)
        if iv is not None and k and any(0 < iv - b <= k for b in ints):
            continue
        out.append(o)
    return out


def _without(cur, chunk, innate):
    """cur minus chunk, minus (transitively) every operation that observed a
    value only the removed operations wrote: a read of a value nobody wrote is
    not linearizable for a trivial reason and would hide the real one. Ops
    whose ids are in `innate` were orphans from the start (then they are the
    real cause) and stay."""
    gone = set(map(id, chunk))
    while True:
        rest = [o for o in cur if id(o) not in gone]
        orphans = [o for o in _orphans(rest) if id(o) not in innate]
        if not orphans:
            return rest
        gone.update(map(id, orphans))


def minimal_failure(ops, budget_s=20.0):
    """A small non-linearizable sub-history of a non-linearizable key history
    (see the module comment): the shortest failing prefix, then delta debugging
    (drop ever smaller chunks while the rest still fails). Returns a list of Op
    sorted by call time; best effort within budget_s."""
    t_end = time.monotonic() + budget_s

    def fails(sub):
        left = max(0.05, t_end - time.monotonic())
        return check_ops(sub, max_steps=500_000, deadline_s=left).ok is False

    cuts = sorted({op.ret for op in ops if op.ret != INF})
    lo, hi = 0, len(cuts) - 1
    cur = ops
    if cuts and fails(_prefix(ops, cuts[hi])):
        while lo < hi and time.monotonic() < t_end:
            mid = (lo + hi) // 2
            if fails(_prefix(ops, cuts[mid])):
                hi = mid
            else:
                lo = mid + 1
        cur = _prefix(ops, cuts[hi])
    cur = sorted(cur, key=lambda o: o.call)
    innate = set(map(id, _orphans(cur)))
    parts = 2
    while len(cur) > 1 and time.monotonic() < t_end:
        size = -(-len(cur) // parts)
        for start in range(0, len(cur), size):
            rest = _without(cur, cur[start:start + size], innate)
            if rest and fails(rest):
                cur = rest
                parts = max(parts - 1, 2)
                break
        else:
            if size == 1:
                break
            parts = min(parts * 2, len(cur))
    return cur


def format_op(op, t0=0.0):
    if op.kind == GET:
        what = "GET -> %r" % (op.result,)
    elif op.kind == SET:
        what = "SET %r" % (op.arg,)
    else:
        what = "INCR -> %r" % (op.result,)
    if op.unknown:
        what = "%s (outcome unknown%s)" % (what.split(" ->")[0], ": " + op.note if op.note else "")
    ret = "inf" if op.ret == INF else "%9.4f" % (op.ret - t0)
    return "[%9.4f .. %9s] client %-3s %s %s" % (op.call - t0, ret, op.client, op.key, what)


def format_ops(ops, t0=None):
    if not ops:
        return "(empty)"
    if t0 is None:
        t0 = min(op.call for op in ops)
    return "\n".join(format_op(op, t0) for op in sorted(ops, key=lambda o: o.call))


def report(history, t0=None, **kw):
    """Check `history`; returns (ok, text). ok is False if any key is not
    linearizable, None if some key was inconclusive and none failed. text holds,
    per failing key, its minimal offending sub-history."""
    results = check_history(history, **kw)
    keys = by_key(history)
    lines = []
    ok = True
    for k, res in results.items():
        n_unknown = sum(1 for o in keys[k] if o.unknown)
        lines.append("key %s: %d ops (%d unknown outcome), %s after %d steps"
                     % (k, len(keys[k]), n_unknown,
                        {True: "linearizable", False: "NOT LINEARIZABLE",
                         None: "inconclusive (search budget exhausted)"}[res.ok], res.explored))
        if res.ok is False:
            ok = False
            base = t0 if t0 is not None else min(o.call for o in keys[k])
            lines.append("  minimal non-linearizable sub-history (times in s):")
            lines += ["    " + s for s in format_ops(minimal_failure(keys[k]), base).split("\n")]
            lines.append("  longest linearizable prefix found ends with:")
            lines += ["    " + format_op(o, base) for o in res.best[-8:]]
        elif res.ok is None and ok:
            ok = None
    return ok, "\n".join(lines)
