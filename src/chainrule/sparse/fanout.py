"""Sparse Jacobians and Hessians fanned out over an executor: the colour groups are the directions.

``sparse_jacobian(f, executor=...)`` and ``sparse_hessian(f, executor=...)``
detect, colour and choose locally at the first call at given shapes, and
evaluate that first call locally too, timed: its time is what a serial call
costs.  Later calls see the colour groups of the chosen mode as one sequence
of directions (forward colours, then reverse colours for a bidirectional
Jacobian; a Hessian's star colours), split it into one contiguous span per
worker, and each task (:func:`colour_task`) evaluates ``f`` in the worker and
sweeps its span in as few batched sweeps as the worker's memory budget
allows -- the same ``_push``/``_pull`` as the serial path, on the span's
colours.  The compressed blocks come back in order and are decompressed
here, with the plan's reads: the result is the serial one.

The worth-it rule of :mod:`chainrule.transforms.fanout` applies: the first
fanned call sweeps one colour group locally, timed (it is part of the
answer), which with the first call's time prices a sweep's fixed cost and a
colour's; later local calls are timed again.  When the rest would not take
clearly longer here than as tasks (or did not, at the last distributed call),
everything runs locally, and work under ``MIN_SECONDS`` never asks the
executor anything.  ``chainrule.transforms.fanout.last()`` says which
and why.
"""

from __future__ import annotations

import time
import weakref

import numpy as np

from ..transforms import fanout
from ..transforms.derivatives import _bind_kwargs, grad
from ..transforms.adapter import FlatFun
from .transforms import _pull, _push

__all__ = ["colour_task", "fan_out_colours"]

_SECONDS = weakref.WeakKeyDictionary()      # plan -> measured seconds of one local evaluation (the first call's)
_COSTS = weakref.WeakKeyDictionary()        # plan -> (fixed seconds per sweep, seconds per colour group)
_SEEN = weakref.WeakKeyDictionary()         # plan -> seconds the last distributed call took (for all colours)


def _flat(fun, args, kwargs, argnums, hessian):
    return FlatFun(_bind_kwargs(grad(fun, argnums) if hessian else fun, kwargs), args, argnums)


def _sub(colours, lo, hi):
    """The colouring restricted to colours ``lo .. hi-1``, renumbered from 0 (-1: not in this span)."""
    return np.where((colours >= lo) & (colours < hi), colours - lo, -1)


def colour_task(fun, args, kwargs, argnums, hessian, parts, memory_budget):
    """The compressed blocks of ``parts`` in a fresh transform of ``fun`` (its gradient when ``hessian``).

    Runs wherever the executor puts it.  ``parts`` is a list of ``(mode, colours,
    count)``: "forward" pushes one tangent per colour (``(count, m)``, the
    rows of ``(J S)^T``), "reverse" pulls one adjoint per colour (``(count, n)``).
    """
    with fanout.collector_paused():
        flat = _flat(fun, args, kwargs, argnums, hessian)
        return [(_push if mode == "forward" else _pull)(flat, colours, count, memory_budget)
                for mode, colours, count in parts]


class _Layout:
    """The directions of a plan's mode: ``kf`` forward colours then ``kr`` reverse colours, and the reads."""

    def __init__(self, plan, mode):
        self.forward = self.reverse = None
        if mode == "star":
            c, self.reads = plan.star
            self.forward = c.colours
        elif mode == "bidirectional":
            self.forward, self.reverse, self.reads = plan.bidirectional()
        else:
            c = plan.colouring(mode)
            setattr(self, mode, c.colours)
            self.reads = plan.reads(mode)
        self.kf = int(self.forward.max(initial=-1)) + 1 if self.forward is not None else 0
        self.kr = int(self.reverse.max(initial=-1)) + 1 if self.reverse is not None else 0

    def parts(self, start, count):
        """Directions ``start .. start+count`` as ``colour_task`` parts (a forward one and/or a reverse one)."""
        stop, parts = start + count, []
        if start < self.kf:
            parts.append(("forward", _sub(self.forward, start, min(stop, self.kf)), min(stop, self.kf) - start))
        if stop > self.kf:
            lo = max(start, self.kf) - self.kf
            parts.append(("reverse", _sub(self.reverse, lo, stop - self.kf), stop - self.kf - lo))
        return parts

    def values(self, blocks):
        """The nonzeros (CSR order) from the tasks' blocks, in direction order."""
        fwd = [b for mode, b in blocks if mode == "forward"]
        rev = [b for mode, b in blocks if mode == "reverse"]
        flat = [np.concatenate(fwd).ravel()] if fwd else []
        if rev:
            flat.append(np.concatenate(rev).ravel())
        compressed = flat[0] if len(flat) == 1 else np.concatenate(flat) if flat else np.zeros(0)
        return compressed[self.reads]


def fan_out_colours(executor, fun, args, kwargs, argnums, plan, transform, values, serial, hessian=False):
    """The values of the nonzeros (CSR order) of ``plan``, its colour groups fanned out over ``executor``.

    ``values``: what the first call at these shapes computed while choosing
    (None: nothing); ``serial()`` computes the values locally.  The plan's
    mode is "forward", "reverse", "bidirectional" or "star" (a Hessian:
    forward over the gradient of ``fun``, ``hessian=True``).
    """
    mode = plan.decision.mode
    layout = _Layout(plan, mode)
    total = layout.kf + layout.kr
    if values is not None or plan not in _SECONDS:      # the first call here: locally, timed
        seconds = plan.decision.seconds.get(mode) if values is not None else None
        if seconds is None:
            t0 = time.perf_counter()
            values = serial()
            seconds = time.perf_counter() - t0
        _SECONDS[plan] = seconds
        fanout.report(fanout.Fanout(mode, total, None, 0, False, seconds, "serial: the first call at these "
                                    f"shapes finds the pattern and colours it, and evaluates locally, timed "
                                    f"({seconds:.3g} s): later calls fan out when that is worth it."))
        return values
    budget = plan.memory_budget

    def task_args(start, count):
        return (fun, args, kwargs, argnums, hessian, layout.parts(start, count), budget)

    def tagged(start, count, blocks):
        return list(zip([p[0] for p in layout.parts(start, count)], blocks))

    def local(why, n_workers=None):
        fanout.report(fanout.Fanout(mode, total, n_workers, 0, False, serial_s, "serial: " + why))
        if probe:
            return layout.values(probe + tagged(start, rest, colour_task(*task_args(start, rest))))
        t0 = time.perf_counter()
        out = serial()
        _SECONDS[plan] = min(_SECONDS[plan], time.perf_counter() - t0)     # the fastest local call
        return out

    cost, probe, start = _COSTS.get(plan), [], 0
    if cost is None and total > 1:              # one colour group here, timed: with the first call's time, the prices
        t0 = time.perf_counter()
        probe = tagged(0, 1, colour_task(*task_args(0, 1)))
        t1 = time.perf_counter() - t0
        sweeps = (layout.kf > 0) + (layout.kr > 0)
        per = max((_SECONDS[plan] - sweeps * t1) / max(total - sweeps, 1), 0.0)
        cost = _COSTS[plan] = (max(t1 - per, 0.0), per)
        start = 1
    fixed, per = cost if cost is not None else (_SECONDS[plan], 0.0)
    rest = total - start
    sweeps = 1 + (layout.kf > start and layout.kr > 0)      # a task spanning both modes sweeps twice
    serial_s = rest * per + sweeps * fixed if probe else _SECONDS[plan] * rest / total
    if rest < 2 or not fanout._worth(serial_s, 0.0):        # too little to send anywhere: the executor is not asked
        return local(f"the {rest} colour group{'s' * (rest != 1)} left would take about {serial_s:.3g} s here, "
                     f"too little to send anywhere (under {fanout.MIN_SECONDS} s).")
    m, n = plan.shape
    result_b = 8 * (min(rest, max(layout.kf - start, 0)) * m + min(rest, layout.kr) * n)
    transfer_s = result_b / fanout.TRANSFER_BYTES_PER_SECOND
    if not fanout._worth(serial_s, per + fanout.TASK_OVERHEAD + sweeps * fixed + transfer_s):
        return local(f"the {rest} colour groups left would take about {serial_s:.3g} s here, less than sending them "
                     "would, however many workers took them.")
    seen = _SEEN.get(plan)
    if seen is not None and not fanout._worth(serial_s, seen * rest / total):   # it did not pay last time
        return local(f"the last distributed call at these shapes took {seen:.3g} s, not clearly less than "
                     f"computing here (about {serial_s:.3g} s).")
    n_workers = fanout.some_workers(executor, transform)
    tasks = min(rest, n_workers)
    parallel_s = rest * per / tasks + fanout.TASK_OVERHEAD + sweeps * fixed + transfer_s
    how = (f"the {rest} colour group{'s' * (rest != 1)} left would take about {serial_s:.3g} s here, against "
           f"about {parallel_s:.3g} s as {tasks} task{'s' * (tasks != 1)} on {n_workers} "
           f"worker{'s' * (n_workers != 1)} (each evaluates {fanout.name_of(fun)} afresh)")
    if not (tasks > 1 and fanout._worth(serial_s, parallel_s)):
        return local(how + ".", n_workers)
    fanout.report(fanout.Fanout(mode, total, n_workers, tasks, True, serial_s, "distributed: " + how + "."))
    fanout.check_picklable(executor, fun, args, kwargs, transform)
    spans = fanout.split_spans(start, rest, tasks)
    t0 = time.perf_counter()
    results = fanout.gather(executor, spans, task_args, transform, fun, task=colour_task)
    _SEEN[plan] = (time.perf_counter() - t0) * total / rest
    for (s, c), blocks in zip(spans, results):
        probe += tagged(s, c, blocks)
    return layout.values(probe)
