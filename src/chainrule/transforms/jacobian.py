"""``jacobian`` with the mode chosen per function, and ``choose_mode``, the choice as data.

Auto mode evaluates the function once on a tape, then pushes a few directions
and then one more through a backward sweep and through a forward sweep,
timing each (see :mod:`chainrule.transforms.mode`).  Those probes are not
thrown away: they are the first rows (reverse) or columns (forward) of the
Jacobian, and the tape recorded for the measurement
is the tape the reverse Jacobian pulls the remaining rows through.  What auto
mode spends on top of the chosen mode is the probe of the other mode (and the
recording, when forward wins).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..forward import jvp_flat
from ..reverse import vjp_flat
from .adapter import FlatFun, dtype_of, shape_of, strip
from .derivatives import _basis_chunk, _bind_kwargs, _concat, _finish, _sizes, _split, _zeros, jacfwd, jacrev
from .mode import Decision, decide, directions_per_sweep, fit_sweep, guess_bytes_per_direction, parse_bytes, tape_stats

__all__ = ["jacobian", "choose_mode", "PROBE_DIRECTIONS"]

PROBE_DIRECTIONS = 8
PROBE_REPEATS = 2
_MODES = ("auto", "forward", "reverse")


def _assemble_forward(flat, outs, pieces):
    """Columns ``(n, *o.shape)`` per output leaf -> the Jacobian pytree (as ``jacfwd`` lays it out)."""
    leaves = flat.in_leaves
    blocks = []
    for o, parts in zip(outs, pieces):
        full = _concat(parts)                                    # (n, *o.shape)
        row, off = [], 0
        for x, size in zip(leaves, _sizes(leaves)):
            b = np.moveaxis(full[off:off + size], 0, -1)
            row.append(np.reshape(b, shape_of(o) + shape_of(x)))
            off += size
        blocks.append(flat.inputs(row))
    return flat.outputs(blocks)


def _assemble_reverse(flat, outs, pieces):
    """Rows ``(m, *x.shape)`` per input leaf -> the Jacobian pytree (as ``jacrev`` lays it out)."""
    leaves = flat.in_leaves
    fulls = [_concat(p) for p in pieces]
    blocks, off = [], 0
    for o, size in zip(outs, _sizes(outs)):
        blocks.append(flat.inputs([np.reshape(f[off:off + size], shape_of(o) + shape_of(x))
                                   for f, x in zip(fulls, leaves)]))
        off += size
    return flat.outputs(blocks)


def _pull_rows(flat, outs, pullback, start, k, pieces, stop=None, consume_last=True):
    """Rows ``start..stop`` (default: to m) of the Jacobian, ``k`` adjoint directions per backward sweep."""
    m = sum(_sizes(outs))
    stop = m if stop is None else min(stop, m)
    starts = list(range(start, stop, k))
    for s in starts:
        count = min(k, stop - s)
        adjoints = pullback(_split(_basis_chunk(s, count, m), outs), consume=consume_last and s == starts[-1])
        for p, a, x in zip(pieces, adjoints, flat.in_leaves):
            p.append(_finish(a, x, (count,)))
    return pieces


class _Probe:
    """The first evaluation of an auto-mode Jacobian: the tape, the timed probes, the decision.

    Each mode sweeps one direction untimed (a warm-up), then is timed with up
    to ``PROBE_DIRECTIONS`` directions and with one more; the probes compute the first rows (reverse) or
    columns (forward) of the Jacobian, which the chosen mode keeps.
    """

    def __init__(self, flat, memory_budget):
        self.flat = flat
        leaves = flat.in_leaves
        self.n = sum(_sizes(leaves))
        self.cols = None
        # forward probes before the tape exists, so they do not pay for collecting garbage around it
        self.m_seen = 0
        times = {"forward": self._probe(self.n, self._push_cols, lambda: self.m_seen)}
        t0 = time.perf_counter()
        self.outs, self.pullback = vjp_flat(flat, leaves)
        t_record = time.perf_counter() - t0
        self.stats = tape_stats(self.pullback.tape, leaves, self.outs)
        self.rows = [[] for _ in leaves]
        times["reverse"] = self._probe(self.stats.m, lambda start, count, keep=True: _pull_rows(
            flat, self.outs, self.pullback, start, count, self.rows if keep else [[] for _ in leaves],
            stop=start + count, consume_last=False), lambda: self.n)
        self.done = {mode: done for mode, (_, done) in times.items()}
        fits = {mode: fit_sweep(t[1][0], t[0][0], t[0][1]) if len(t) == 2 else    # (one, many, count)
                fit_sweep(t[0][0]) if t else (0.0, 0.0) for mode, (t, _) in times.items()}
        self.decision = decide(self.stats, t_record, fits["forward"], fits["reverse"], memory_budget)

    @staticmethod
    def _probe(total, sweep, other):
        """Sweep one direction untimed (a warm-up), then time a few, then one more.

        "A few" is ``PROBE_DIRECTIONS``, or a 32nd of the smaller of n and m
        (``other()`` is the other mode's number of directions) when that is
        more: near the diagonal the decision is close, and batches nearer the
        real size price a direction better; but never more than the other
        mode's whole Jacobian needs.  When the mode's remaining directions fit
        in one small sweep, that sweep is timed instead: its cost is then
        measured, not estimated.  Timed sweeps run
        ``PROBE_REPEATS`` times and count their fastest run (a busy machine
        only ever slows a run down); the repeats' results are dropped.
        Returns ``([(seconds, count), ...], directions done)``.
        """
        start = 0
        if total >= 3:
            sweep(0, 1)                          # the first sweep pays for cold caches: not timed
            start = 1
        few = min(max(PROBE_DIRECTIONS, min(total, other()) // 32), total - start - 1, max(other(), 1))
        if total - start <= PROBE_DIRECTIONS:    # the rest fits one small sweep: time the real thing
            spans = [(start, total - start)] if total > start else []
        else:
            spans = [(start, few), (start + few, 1)]
        measured = []
        for begin, count in spans:
            best = math.inf
            for repeat in range(PROBE_REPEATS):
                t0 = time.perf_counter()
                sweep(begin, count, keep=repeat == 0)
                best = min(best, time.perf_counter() - t0)
            measured.append((best, count))
        return measured, start + sum(count for _, count in measured)

    def _push_cols(self, start, count, keep=True):
        flat, n = self.flat, self.n
        outs, touts = jvp_flat(flat, flat.in_leaves, _split(_basis_chunk(start, count, n), flat.in_leaves))
        self.m_seen = sum(_sizes(outs))
        if not keep:
            return
        if self.cols is None:
            self.cols = [[] for _ in outs]
        for p, o, t in zip(self.cols, outs, touts):
            p.append(_zeros((count,), o) if t is None else t)

    def jacobian(self):
        flat, outs = self.flat, self.outs
        if self.decision.mode == "forward":
            self.pullback = None                 # free the tape before the forward sweeps
            n, k = self.n, self.decision.forward.directions_per_sweep
            for start in range(self.done["forward"], n, k):
                self._push_cols(start, min(k, n - start))
            if self.cols is None:
                self.cols = [[_zeros((0,), o)] for o in outs]
            return _assemble_forward(flat, outs, self.cols)
        k = self.decision.reverse.directions_per_sweep
        pieces = _pull_rows(flat, outs, self.pullback, self.done["reverse"], k, self.rows)
        return _assemble_reverse(flat, outs, pieces)


def choose_mode(fun: Callable, *args: Any, argnums: int | Sequence[int] = 0,
                memory_budget: int | str | None = None) -> Decision:
    """The :class:`~chainrule.transforms.mode.Decision` that ``jacobian(fun, mode="auto")`` follows at ``args``.

    Evaluates ``fun`` once on a tape and times a forward and a backward sweep
    of a few directions (see :mod:`chainrule.transforms.mode`).  The result
    has ``.mode`` ("forward" or "reverse"), ``.n``, ``.m``, ``.forward`` and
    ``.reverse`` (directions per sweep, sweeps, estimated seconds and bytes),
    ``.ratio`` and ``.reason``.

    >>> import numpy as np
    >>> choose_mode(lambda x: np.sum(np.sin(x)), np.ones(500)).mode
    'reverse'
    """
    flat = FlatFun(fun, args, argnums)
    return _Probe(flat, parse_bytes(memory_budget)).decision


def jacobian(fun: Callable, argnums: int | Sequence[int] = 0, mode: str = "auto",
             memory_budget: int | str | None = None, has_aux: bool = False) -> Callable:
    """The Jacobian of ``fun``, by the cheaper of forward and reverse mode.

    ``mode="forward"`` is :func:`jacfwd` and ``mode="reverse"`` is
    :func:`jacrev` (identical results).  ``mode="auto"`` measures the function
    at its first evaluation at given input shapes (one taped sweep and a
    forward and a backward probe of a few directions, which become part of the
    answer), takes the mode :func:`choose_mode` would report, and keeps that
    decision for later calls at the same shapes.  ``memory_budget`` (bytes, or a string
    such as ``"512MB"``; default a quarter of the available memory) bounds how
    many directions one sweep carries.  The layout is JAX's: for output leaf
    ``o`` and input leaf ``x``, a block of shape ``o.shape + x.shape``.
    Cost: min over modes of about (directions x one sweep), plus the probe; at
    the first call ``fun`` runs a few more times (three forward probes, one of
    them a warm-up, and one taped evaluation), so it should have no side effects.

    >>> import numpy as np
    >>> jacobian(lambda x: np.sin(x) * 2.0)(np.zeros(2)).tolist()
    [[2.0, 0.0], [0.0, 2.0]]
    """
    if mode not in _MODES:
        raise ValueError(f"mode={mode!r}; choose one of 'auto', 'forward', 'reverse'")
    if mode != "auto" and memory_budget is None:
        return (jacfwd if mode == "forward" else jacrev)(fun, argnums, has_aux)
    if mode == "forward":
        @functools.wraps(fun)
        def jac_forward(*args, **kwargs):
            leaves = FlatFun(_bind_kwargs(fun, kwargs), args, argnums).in_leaves
            k = directions_per_sweep(max(sum(_sizes(leaves)), 1), None, guess_bytes_per_direction(leaves),
                                     memory_budget)
            return jacfwd(fun, argnums, has_aux, chunk_size=k)(*args, **kwargs)
        return jac_forward
    if mode == "reverse":
        @functools.wraps(fun)
        def jac_reverse(*args, **kwargs):
            flat = FlatFun(_bind_kwargs(fun, kwargs), args, argnums, has_aux)
            outs, pullback = vjp_flat(flat, flat.in_leaves)
            k = directions_per_sweep(max(sum(_sizes(outs)), 1), None,
                                     tape_stats(pullback.tape, flat.in_leaves, outs).bytes_per_direction,
                                     memory_budget)
            jac = _assemble_reverse(flat, outs, _pull_rows(flat, outs, pullback, 0, k, [[] for _ in flat.in_leaves]))
            return (jac, strip(flat.aux)) if has_aux else jac
        return jac_reverse

    decisions = {}                       # input shapes and dtypes -> the decision measured on them

    @functools.wraps(fun)
    def jac_fun(*args, **kwargs):
        flat = FlatFun(_bind_kwargs(fun, kwargs), args, argnums, has_aux)
        key = (flat.in_tree, tuple((shape_of(x), dtype_of(x)) for x in flat.in_leaves))
        decision = decisions.get(key)
        if decision is None:             # the first evaluation at these shapes: measure, decide, reuse the probes
            probe = _Probe(flat, parse_bytes(memory_budget))
            decisions[key] = probe.decision
            jac = probe.jacobian()
            return (jac, strip(flat.aux)) if has_aux else jac
        make = jacfwd if decision.mode == "forward" else jacrev
        return make(fun, argnums, has_aux, chunk_size=decision.chosen.directions_per_sweep)(*args, **kwargs)

    def decision_for(*args, **kwargs):
        """The Decision this function took at the shapes of ``args`` (None before its first call there)."""
        flat = FlatFun(_bind_kwargs(fun, kwargs), args, argnums, has_aux)
        return decisions.get((flat.in_tree, tuple((shape_of(x), dtype_of(x)) for x in flat.in_leaves)))

    jac_fun.decision_for = decision_for
    return jac_fun
