"""A reverse Jacobian split along the tape: each task sweeps one segment of it, for the fan-out.

Splitting a reverse Jacobian's rows among tasks makes every task sweep back over the whole tape
(each at its rows' width): the sweep's fixed cost per entry is paid once per task.  A long
computation -- a trajectory of 2000 time steps -- can instead be cut along the tape, at positions
where little is live: a cut at position ``k`` separates the entries before ``k`` from those after,
and what crosses it (``live``: the values computed before ``k`` and read at or after it, other
than the inputs) is, for a time-stepping loop, one state.  By the chain rule, for a row ``r``

    J[r] = dr/dx (entries from k on, with the live values held) + dr/dlive @ dlive/dx

so two tasks run at once: one sweeps the entries from ``k`` on, seeded on the rows whose sweeps
start there, and stops at ``k`` (its adjoints are then those of the inputs and of the live values);
the other sweeps the entries before ``k``, seeded on the other rows and on the identity of the live
values (``dlive/dx`` as extra rows).  The client chains the pieces with one small matrix product
per cut.  With ``W`` workers there are ``W - 1`` cuts; segment ``s`` carries its rows and the live
values of the cut after it, stops at the cut before it, and returns the derivatives with respect to
the inputs and to the live values there.

Every task records ``f`` whole (plain Python cannot be started halfway), and checks that its tape is
the one the cuts were planned on (:func:`fingerprint`: the primitives and their arguments' positions);
an adjoint a stopped sweep leaves on an entry before the cut that is not one of the planned live
values must be exactly zero (a join's or a write's piece no row reads).  Either check failing makes
the task raise :class:`TapeMismatch`, and the caller computes the Jacobian another way: a
derivative is never assembled from tapes that do not match.

Planned by :func:`tape_plan` (once per shapes, on the tape of the first call's probes) and
:func:`plan_cuts` (with the fan-out's prices); run by :func:`segment_task`; chained by :func:`chain`.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

import numpy as np

from ..reverse import SELECT, sweep_backward, vjp_flat
from .adapter import FlatFun, dtype_of, shape_of, strip
from .derivatives import _bind_kwargs, _finish, _split
from .reach import output_sources

__all__ = ["TapePlan", "TapeMismatch", "tape_plan", "plan_cuts", "split_rows", "segment_specs", "live_at", "segment_task", "chain",
           "fingerprint"]


class TapeMismatch(RuntimeError):
    """A worker's tape is not the one the segments were planned on (``f`` took another path)."""


def fingerprint(tape):
    """A digest of the tape's structure, the same in every process: its length, where its inputs are,
    and each entry's primitive and number of arguments.  (The arguments' positions too would triple its
    cost, 80 ms on a tape of 98 000 entries, for the rare function whose path depends on more than its
    arguments; the stopped sweeps' check on what they leave before the cut catches most of those.)"""
    kept = [e for e in tape if e is not None]
    h = hashlib.blake2b(digest_size=16)
    h.update(np.array([len(tape)] + [i for i, e in enumerate(tape[:64]) if e is None], dtype=np.int64).tobytes())
    h.update(np.array([e[0] for e in kept], dtype=np.int64).tobytes())
    h.update(np.array([len(e[1]) if e[0] >= 0 else -e[2] for e in kept], dtype=np.int64).tobytes())
    return h.hexdigest()


def _node_meta(tape, j):
    """``(shape, dtype)`` of the value of entry ``j``."""
    e = tape[j]
    if e[0] == SELECT:
        v = tape[e[1][0]][2][0][e[2]]
    else:
        v = e[2][0]
    return shape_of(v), dtype_of(v)


@dataclass
class TapePlan:
    """Where a tape may be cut and what crosses each position.

    ``sources``: per output row, the entry its sweep starts at (-1: a constant row);
    ``last``: per entry, the last entry that reads it outside the outputs' joins (-1: none; the inputs
    and the joins themselves are -1); ``size``: per entry, its value's elements (counted only where
    ``last`` is set); ``live``: per position ``k`` (``0 .. len(tape)``), the elements live across a cut
    there, ``inf`` where no cut may fall (a live value that is not a real float array, inside a
    primitive's several results, or among the inputs); ``work``: per position, how many entries before
    it an output depends on (a sweep visits only those: what the function computes for nothing else,
    such as auxiliary data, costs it nothing).  Only the entries an output depends on count as readers.
    """

    n: int
    n_in: int
    sources: np.ndarray
    last: np.ndarray
    size: np.ndarray
    live: np.ndarray
    fingerprint: str
    work: np.ndarray


def tape_plan(tape, n_in, out_nodes, outs):
    """The :class:`TapePlan` of ``tape`` (``n_in`` inputs first, outputs at ``out_nodes``)."""
    n = len(tape)
    sources, walked = output_sources(tape, out_nodes, outs)
    last = [-1] * n
    carried = bytearray(n)                  # read by an entry that is not one of the outputs' pure joins
    reached = bytearray(n)                  # an output depends on it: a backward sweep may visit it
    for node in out_nodes:
        if node is not None:
            reached[node] = 1
    markers = []                            # several results' markers: no cut between them and their entry
    for i in range(n - 1, -1, -1):
        e = tape[i]
        if e is None:
            continue
        if e[0] == SELECT:
            markers.append(i)
        if not reached[i]:                  # (no output depends on what an unreached entry reads)
            continue
        pure = i in walked and not carried[i]   # it only carries values into the outputs: not a reader
        for p in e[1]:
            if p is not None:
                reached[p] = 1
                if not pure:
                    carried[p] = 1
                    if last[p] < 0:
                        last[p] = i         # the first reader met walking back is the last one
    last = np.array(last, dtype=np.int64)
    last[:n_in] = -1
    size = np.zeros(n, dtype=np.int64)
    bad = np.zeros(n + 2, dtype=np.int64)
    delta = np.zeros(n + 2, dtype=np.float64)
    for j in np.nonzero(last > 0)[0].tolist():
        e = tape[j]
        if e[0] != SELECT and type(e[2][0]) is tuple:   # several results: read only by the markers after it
            last[j] = -1
            continue
        shape, dt = _node_meta(tape, j)
        size[j] = s = math.prod(shape)
        delta[j + 1] += s
        delta[last[j] + 1] -= s
        if dt.kind != "f":                  # complex or other: one seed would not give its Jacobian
            bad[j + 1] += 1
            bad[last[j] + 1] -= 1
    live = np.cumsum(delta)[: n + 1]
    blocked = np.cumsum(bad)[: n + 1] > 0
    blocked[: n_in + 1] = True
    blocked[n] = False
    blocked[markers] = True
    live[blocked] = np.inf
    work = np.concatenate([[0], np.cumsum(np.frombuffer(bytes(reached), dtype=np.uint8), dtype=np.int64)])
    return TapePlan(n, n_in, sources, last, size, live, fingerprint(tape), work)


def live_at(plan, k):
    """The entries live across a cut at position ``k``, in tape order."""
    if k <= 0 or k >= plan.n:
        return np.zeros(0, dtype=np.int64)
    idx = np.arange(k)
    return idx[plan.last[:k] >= k]


def plan_cuts(plan, rows, tasks, record, fixed, per_row):
    """Cuts for ``tasks`` segments of the tape, for the rows ``rows`` (flat output indices), each
    segment's task costing about ``record + share * (fixed + width * per_row)`` seconds (``share``: of
    the entries an output depends on, those in its segment; ``width``: its rows and the live elements
    of the cut after it).

    Returns ``(cuts, seconds)``: at most ``tasks - 1`` increasing positions and the costliest task's estimate,
    or ``(None, inf)`` when no cuts do better than one task.  The largest task cost is bisected; for
    each bound, segments are packed greedily, each as long as the bound allows.
    """
    n = plan.n
    src = np.sort(plan.sources[rows])
    last_src = int(src[-1]) + 1 if src.size else 0
    pos = np.arange(n + 1)
    before = np.searchsorted(src, pos, side="left")           # rows whose sweeps start before each position

    work = plan.work
    total = max(int(work[n]), 1)

    def costs(a):
        """Task cost of a segment from ``a`` to each position ``b > a`` (ending there with a cut)."""
        width = before[a + 1:] - (before[a] if a else 0) + plan.live[a + 1:]
        with np.errstate(invalid="ignore"):               # inf * 0 where no cut may fall, at no per-row price
            c = record + (work[a + 1:] - work[a]) / total * (fixed + width * per_row)
        c[~np.isfinite(width)] = np.inf
        return c

    def tail(a):
        width = src.size - (before[a] if a else 0)
        return record + max(int(work[max(last_src, a)]) - int(work[a]), 0) / total * (fixed + width * per_row)

    def pack(limit):
        a, cuts = 0, []
        for _ in range(tasks - 1):
            if tail(a) <= limit:                 # the rest fits one task: fewer segments will do
                break
            ok = np.nonzero(costs(a)[:n - a - 1] <= limit)[0]
            if not ok.size:
                return None
            a = a + 1 + int(ok[-1])
            cuts.append(a)
        return cuts if cuts and tail(a) <= limit else None

    single = tail(0)
    low, high, best = 0.0, single, None
    for _ in range(40):
        mid = 0.5 * (low + high)
        cuts = pack(mid)
        if cuts is not None:
            best, high = cuts, mid
        else:
            low = mid
    if best is None:
        return None, math.inf
    bounds = [0] + best
    seconds = max([float(costs(a)[b - a - 1]) for a, b in zip(bounds, best)] + [tail(best[-1])])
    return best, seconds


def split_rows(plan, rows, cuts):
    """``rows`` per segment: a row goes to the segment its sweep starts in."""
    src = plan.sources[rows]
    seg = np.searchsorted(np.asarray(cuts, dtype=np.int64), src, side="right")
    return [rows[seg == s] for s in range(len(cuts) + 1)]


def segment_specs(plan, seg_rows, cuts):
    """What each segment's :func:`segment_task` is given besides the function: ``(rows, stop, live_in,
    live_out)``, for the rows per segment ``seg_rows`` (:func:`split_rows`) and the ``cuts``."""
    bounds = [0, *cuts, plan.n]
    lives = [live_at(plan, c) for c in bounds]
    return [(r, bounds[i], lives[i], lives[i + 1]) for i, r in enumerate(seg_rows)]


def segment_task(fun, args, kwargs, argnums, has_aux, rows, stop, live_in, live_out, expected, chunk):
    """One segment's sweep, in a worker: ``(d_inputs, d_live, outs, out_tree, aux, seconds)``.

    ``rows``: flat output indices seeded here; ``live_out``: entries whose identity is seeded after
    them (the cut after this segment); the sweep stops at ``stop`` and returns, for each of the
    ``len(rows) + size(live_out)`` directions, the adjoint of each input leaf (``(width, *shape)``)
    and of the entries ``live_in`` (``(width, size(live_in))``).  ``expected``: the planned tape's
    :func:`fingerprint`.  ``chunk``: directions per backward sweep.
    """
    from .fanout import collector_paused

    t0 = time.thread_time()
    with collector_paused():
        flat = FlatFun(_bind_kwargs(fun, kwargs), args, argnums, has_aux)
        leaves = flat.in_leaves
        outs, pullback = vjp_flat(flat, leaves)
        tape = pullback.tape
        if fingerprint(tape) != expected:
            raise TapeMismatch("the function recorded another tape in this worker than the one the segments "
                               "were planned on")
        d_in, d_live = _sweep_segment(tape, pullback.out_nodes, outs, leaves, np.asarray(rows, dtype=np.int64),
                                      stop, list(live_in), list(live_out), chunk)
    outs = [np.asarray(o) if not isinstance(o, (float, np.generic)) else o for o in outs]
    return d_in, d_live, outs, flat.out_tree, (strip(flat.aux) if has_aux else None), time.thread_time() - t0


def _sweep_segment(tape, out_nodes, outs, leaves, rows, stop, live_in, live_out, chunk):
    n_in = len(leaves)
    m = sum(math.prod(shape_of(o)) for o in outs)
    metas_out = [_node_meta(tape, j) for j in live_out]
    metas_in = [_node_meta(tape, j) for j in live_in]
    sizes_in = [math.prod(s) for s, _ in metas_in]
    width = rows.size + sum(math.prod(s) for s, _ in metas_out)
    allowed = set(live_in)
    d_in = [[] for _ in leaves]
    d_live = []
    starts = list(range(0, width, max(chunk, 1))) or [0]       # (no directions: one empty sweep)
    for c0 in starts:
        c1 = min(c0 + chunk, width)
        c = c1 - c0
        adjoints = [None] * len(tape)

        def seed(node, value):
            a = adjoints[node]
            adjoints[node] = value if a is None else a + value

        basis = np.zeros((c, m))                                   # one-hot rows on the outputs
        cols = np.arange(c0, min(c1, rows.size))
        basis[cols - c0, rows[cols]] = 1
        for node, g in zip(out_nodes, _split(basis, outs)):
            if node is not None and g.any():                       # (a leaf no row here reads: no seed)
                seed(node, g)
        off = rows.size
        for j, (shape, dt) in zip(live_out, metas_out):            # the identity on the live values after
            s = math.prod(shape)
            lo, hi = max(off, c0), min(off + s, c1)
            if lo < hi:
                g = np.zeros((c, s), dtype=dt)
                g[np.arange(lo, hi) - c0, np.arange(lo, hi) - off] = 1
                seed(j, g.reshape((c,) + shape))
            off += s
        sweep_backward(tape if c0 == starts[-1] else list(tape), adjoints, consume=True, stop=stop)
        for i in range(stop - 1, n_in - 1, -1):                     # what else the stopped sweep left
            a = adjoints[i]
            if a is not None and i not in allowed and np.any(np.asarray(a) != 0):
                raise TapeMismatch(f"the sweep stopped at entry {stop} left an adjoint on entry {i}, which the "
                                   "plan did not count as live there")
        for p, a, x in zip(d_in, adjoints[:n_in], leaves):
            p.append(_finish(a, x, (c,)))
        if live_in:
            d_live.append(np.concatenate([np.zeros((c, s)) if adjoints[j] is None
                                          else np.reshape(adjoints[j], (c, s))
                                          for j, s in zip(live_in, sizes_in)], axis=1))
    d_in = [p[0] if len(p) == 1 else np.concatenate(p, axis=0) for p in d_in]
    d_live = None if not live_in else d_live[0] if len(d_live) == 1 else np.concatenate(d_live, axis=0)
    return d_in, d_live


def chain(parts, seg_rows, leaves, lo, count):
    """Rows ``lo .. lo+count`` of the Jacobian, per input leaf ``(count, *shape)``, from the segments'
    results ``parts`` (``(d_inputs, d_live)`` in tape order) and their rows ``seg_rows``."""
    # (computed at the precision of the live values' adjoints too: a float32 input of a float64 function)
    dt = np.result_type(*[dtype_of(x) for x in leaves], *[d.dtype for _, d in parts if d is not None]) \
        if leaves else np.float64
    sizes = [math.prod(shape_of(x)) for x in leaves]
    full = np.zeros((count, sum(sizes)), dtype=dt)
    g = None                                  # d(live values at the cut so far) / d(inputs)
    for (d_in, d_live), rows in zip(parts, seg_rows):
        t = np.concatenate([np.reshape(d, (d.shape[0], s)) for d, s in zip(d_in, sizes)], axis=1) if d_in else \
            np.zeros((rows.size, 0), dtype=dt)
        if g is not None and d_live is not None and d_live.shape[1]:
            if d_live.shape[1] != g.shape[0]:
                raise TapeMismatch("the segments' live values do not match across a cut")
            t = t + d_live @ g
        full[rows - lo] = t[: rows.size]
        g = t[rows.size:]
    out, off = [], 0
    for x, s in zip(leaves, sizes):
        out.append(np.ascontiguousarray(full[:, off:off + s]).reshape((count,) + shape_of(x)).astype(
            dtype_of(x), copy=False))
        off += s
    return out
