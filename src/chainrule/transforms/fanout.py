"""Jacobians fanned out over an executor: ``jacfwd(f, executor=...)`` and friends.

A full Jacobian is a set of independent sweeps: columns (forward) or rows
(reverse).  With ``executor=`` -- any :class:`concurrent.futures.Executor`
(threads or processes) or a ``dask.distributed.Client`` (anything whose
``submit`` returns futures with ``result()``) -- the directions are split into
one contiguous chunk per worker (more when a chunk would not fit the memory
budget).  Reverse-mode rows are split by cost, not by count: a row that reads an
early state of a trajectory sweeps back only from that state (:func:`output_reach`
says how far along the tape each row reaches), so the task holding early rows takes
more of them.  When its prices say so, a reverse Jacobian is cut along the tape instead, where
little is live (a trajectory's state between two steps): each task sweeps one segment of the tape,
and the pieces are chained here (:mod:`.segments`; :attr:`Fanout.cuts`).  Each task runs a fresh top-level transform of ``f`` in the worker and
sweeps its chunk in as few batched sweeps as the budget allows
(:func:`sweep_task`), and the chunks are assembled in order.  The result is
the serial one: the same seeds give the same numbers wherever they run --
bit for bit, except that a matrix product in ``f`` may round its last bits
differently at another batch width (NumPy's BLAS picks its kernel by shape;
``chunk_size=`` does the same serially), and that where ``f`` meets an infinite
value, a chunk whose rows read nothing of it gets the seed convention's exact
zeros, while a sweep of all rows at once may carry the NaN of a ``0 * inf``
through a rule that does not follow the convention (a matrix product's).

Worth it or not: at the first call at given shapes, two sweeps of 1 and
``max(PROBE_DIRECTIONS, directions // PROBE_SHARE)`` directions run locally,
timed (they are part of the answer), which prices a sweep's fixed cost and a
direction's (auto mode's measured decision gives the whole time directly); in
reverse mode they take the rows that reach furthest, so they price whole sweeps.
Later calls take the prices from that first one, and the time of the fastest
local call once there is one.  Work under ``MIN_SECONDS`` is computed here
without even asking the executor for its workers (a Dask client asks its
scheduler); otherwise the tasks' estimate -- ``TASK_OVERHEAD`` each, a fresh
evaluation of ``f`` (recorded, in reverse) per task, the directions' share,
and the results' bytes at ``TRANSFER_BYTES_PER_SECOND`` -- must beat the serial
remainder clearly, and a distributed call that did not clearly beat computing here keeps
later calls at those shapes here -- "computing here" being the fastest local call's time
once there is one, else the larger of the probes' estimate and the work the last call's
tasks did (their CPU time, :func:`timed_sweep_task`, less the fresh evaluations a serial
call would not make: narrow probes can underprice a wide sweep).  A call that stays here without the executor being
asked, on a measured serial price (which only ever falls), is settled: later calls at
those shapes go straight to the serial transform, for one dictionary look-up (each
transformed function keeps its own memo, by the arguments' shapes).  :func:`last` says
what the last call did and why; :func:`forget` drops every measurement and verdict.

On Dask, the workers' own monitoring competes with the tasks: by default each worker
samples its running task's stack every 10 ms (the dashboard's profile) and checks its
event loop every 20 ms and its memory every 100 ms, which cost a busy worker about 15-20%
more CPU than the task's thread used in ``benchmarks/distributed.py``; its ``QUIET``
settings (``distributed.worker.profile.enabled: False`` and slower ticks) remove nearly all
of it.  The nanny's default ``MALLOC_TRIM_THRESHOLD_`` makes every array above 128 KiB an
mmap (3x slower sweeps there): start workers without it.

Complex values follow ``jacfwd``'s and ``jacrev``'s rules (``holomorphic=``),
checked locally before anything is sent.  A task holds Python's cyclic
collector while it records (:func:`collector_paused`).

Faults: an exception raised by ``f`` in a worker reaches the caller as
itself; a task lost with its worker (a broken process pool, Dask's
``KilledWorker``) is resubmitted once -- on a fresh process pool when the
given one broke -- and otherwise a :class:`~chainrule.errors.WorkerLostError`
is raised: nothing is ever silently missing from the result.  A function that
cannot be pickled for a process pool raises
:class:`~chainrule.errors.UnpicklableFunctionError` before anything is sent.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import functools
import gc
import math
import os
import pickle
import threading
import time
import weakref
from dataclasses import dataclass

import numpy as np

from ..errors import UnpicklableFunctionError, WorkerLostError
from ..forward import jvp_flat
from ..reverse import vjp_flat
from .adapter import FlatFun, check_holomorphic, dtype_of, shape_of, strip
from .derivatives import _basis_chunk, _bind_kwargs, _concat, _owned, _split, _zeros, jacrev
from .derivatives import pull_span as _pull_span
from .jacobian import _argument_key, _assemble_forward, _assemble_reverse, _block, _keep, decision_key
from .mode import directions_per_sweep, fit_sweep, guess_bytes_per_direction, sweep_bytes_per_direction
from .reach import output_reach, share_of
from .segments import TapeMismatch, chain, plan_cuts, segment_specs, segment_task, split_rows, tape_plan

__all__ = ["TASK_OVERHEAD", "MIN_SECONDS", "PROBE_DIRECTIONS", "PROBE_SHARE", "Fanout", "last", "fan_out", "fanned",
           "sweep_task", "timed_sweep_task", "collector_paused", "workers", "some_workers", "check_picklable", "gather", "report", "forget",
           "split_spans", "split_by_cost", "output_reach", "name_of", "JacrevOf"]

TASK_OVERHEAD = 0.02       # seconds a task costs beyond its sweeps: sending f and x, scheduling, the result back
MIN_SECONDS = 0.05         # a serial remainder shorter than this is never distributed
PROBE_DIRECTIONS = 4       # at least this many directions in the second local, timed sweep (the first carries one)
PROBE_SHARE = 16           # ... and a sixteenth of them: a direction's price at a realistic width
WAIT_FOR_WORKERS = 10.0    # seconds to wait for a Dask cluster's first worker
TRANSFER_BYTES_PER_SECOND = 100e6   # results coming back: serialised, sent, received, assembled here
_LOST = ("KilledWorker", "CommClosedError", "BrokenProcessPool", "BrokenThreadPool", "FutureCancelledError")


@dataclass(frozen=True)
class Fanout:
    """What a call with ``executor=`` did: ``distributed`` or not, over how many tasks, and why.

    ``workers`` is None when the executor was not asked (too little work to send anywhere);
    ``spans`` are the tasks' ``(first direction, count)`` when it was distributed by rows; ``cuts`` the
    tape positions where a reverse Jacobian was cut into segments (``transforms/segments.py``) instead.
    """

    mode: str
    directions: int
    workers: int | None
    tasks: int
    distributed: bool
    serial_seconds: float      # estimated time of the directions left after the probe, swept locally
                               # (with f's recording, in reverse mode, when the call did not probe)
    reason: str
    spans: tuple = ()
    cuts: tuple = ()           # reverse mode split along the tape: the tape positions of the cuts


class _Last:
    fanout = None


_LAST = _Last()


def last():
    """The :class:`Fanout` of the process's last call with an executor (None before one)."""
    return _LAST.fanout


def report(fanout):
    """Make ``fanout`` what :func:`last` returns (the sparse transforms' fan-out reports through here)."""
    _LAST.fanout = fanout


# (decision key, mode, holomorphic) -> (directions, a sweep's fixed and per-direction seconds, seconds per
# task, a backward sweep's bytes per direction, the result's bytes per direction, each row's reach or None)
_COSTS = {}
_COSTS_LOCK = threading.Lock()
_SEEN = {}                  # the same key -> seconds the last distributed call took (for all directions)
_WORK = {}                  # the same key -> its tasks' CPU seconds, less the fresh evaluations a serial call
                            # does not repeat (for all directions): what the work cost at the tasks' width
_LOCAL = {}                 # the same key -> seconds the last local call took (all directions)
_SETTLED = {}               # the same key -> the Fanout of a call that stays local for good (decided without workers)
_CUTS = {}                  # the same key -> (the arguments of its last plan_cuts, its answer)
_PLANS = {}                 # the same key -> the TapePlan of a reverse call's tape (False: its workers' tapes differed)
_SPLIT = {}                 # the same key -> a sweep's fixed and per-row seconds (whole tape) fitted to the last
                            # distributed call's tasks, for splitting rows of unequal reach by cost
_EPOCH = [0]                # bumped by forget(): the transforms' own memos of settled calls are stale from then on


class JacrevOf:
    """``jacrev(fun, argnums, has_aux)`` as a picklable callable: the inner function of a fanned-out Hessian."""

    def __init__(self, fun, argnums, has_aux):
        self.fun, self.argnums, self.has_aux = fun, argnums, has_aux
        self._jacrev = None                      # built at the first call, here or in a worker

    def __call__(self, *args, **kwargs):
        if self._jacrev is None:
            self._jacrev = jacrev(self.fun, self.argnums, self.has_aux)
        return self._jacrev(*args, **kwargs)

    def __getstate__(self):                      # the built jacrev is a closure: send what rebuilds it
        return {"fun": self.fun, "argnums": self.argnums, "has_aux": self.has_aux, "_jacrev": None}

    @property
    def __name__(self):
        return f"jacrev({getattr(self.fun, '__name__', 'f')})"


@contextlib.contextmanager
def collector_paused():
    """Python's cyclic garbage collector held off for the duration of a task (and restored after).

    A task's tape is long-lived by construction, and the collector's full
    collections while it is recorded traverse it again and again: a third of
    the recording time of the benchmark's 98 000-entry tape.  A task is
    bounded, so what it leaves behind is collected when it returns.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def sweep_task(fun, args, kwargs, argnums, has_aux, mode, start, count, total, chunk_size=None,
               bytes_per_direction=None):
    """Columns (forward) or rows (reverse) ``start .. start+count`` of ``total``, in a fresh top-level transform.

    Runs wherever the executor puts it.  Returns ``(pieces, outs, out_tree, aux)``:
    one ``(count, ...)`` array per output leaf (forward) or per input leaf
    (reverse), the output values and structure, and the auxiliary data.
    ``bytes_per_direction``: a sweep's memory per direction, if the caller
    measured it (else estimated here); the worker's own budget sets the chunks.
    """
    with collector_paused():
        return _sweep(fun, args, kwargs, argnums, has_aux, mode, start, count, total, chunk_size,
                      bytes_per_direction)


def _sweep(fun, args, kwargs, argnums, has_aux, mode, start, count, total, chunk_size, bytes_per_direction):
    flat = FlatFun(_bind_kwargs(fun, kwargs), args, argnums, has_aux)
    leaves = flat.in_leaves
    if mode == "forward":
        k = directions_per_sweep(count, chunk_size, guess_bytes_per_direction(leaves))
        cols, outs = None, None
        for s in range(start, start + count, k):
            c = min(k, start + count - s)
            outs, touts = jvp_flat(flat, leaves, _split(_basis_chunk(s, c, total), leaves))
            touts = [_zeros((c,), o) if t is None else _owned(t) for o, t in zip(outs, touts)]
            cols = [[t] for t in touts] if cols is None else [p + [t] for p, t in zip(cols, touts)]
        pieces = [_concat(p) for p in cols]
    else:
        outs, pullback = vjp_flat(flat, leaves)
        k = directions_per_sweep(count, chunk_size, bytes_per_direction
                                 or (lambda: sweep_bytes_per_direction(pullback.tape, leaves, outs)))
        rows = _pull_span(flat, outs, pullback, start, k, [[] for _ in leaves], start + count)
        pieces = [_concat(p) for p in rows]
    outs = [np.asarray(o) if not isinstance(o, (float, np.generic)) else o for o in outs]
    return pieces, outs, flat.out_tree, (strip(flat.aux) if has_aux else None)


def timed_sweep_task(*args):
    """:func:`sweep_task` and the CPU seconds it took in its worker's thread: ``(result, seconds)``.

    The tasks of a distributed call measure what the work costs at the width
    it was swept at, which the first call's narrow local probes may not (a
    wide sweep's large temporaries cost page faults that a narrow one's do
    not): the next call weighs its last distributed time against this too.
    """
    t0 = time.thread_time()
    out = sweep_task(*args)
    return out, time.thread_time() - t0


def name_of(fun):
    if isinstance(fun, functools.partial):
        return f"partial({name_of(fun.func)}, ...)"
    return getattr(fun, "__name__", None) or type(fun).__name__


def _is_process_pool(executor):
    return isinstance(executor, cf.ProcessPoolExecutor)


def _is_dask(executor):
    return hasattr(executor, "nthreads") and hasattr(executor, "scheduler")


_WORKER_COUNTS = {}          # id(Dask client) -> (a weak reference to it, monotonic time asked, its workers' threads)
WORKERS_FRESH = 1.0         # seconds a Dask cluster's thread count is reused before the scheduler is asked again


def workers(executor):
    """How many tasks ``executor`` runs at once (its worker threads or processes; Dask: all workers' threads).

    A Dask client's answer (a round trip to its scheduler) is reused for ``WORKERS_FRESH`` seconds.
    """
    if _is_dask(executor):
        now = time.monotonic()
        hit = _WORKER_COUNTS.get(id(executor))
        if hit is not None and hit[0]() is executor and now - hit[1] < WORKERS_FRESH:
            return hit[2]
        n = sum(executor.nthreads().values())
        if n == 0 and hasattr(executor, "wait_for_workers"):
            try:
                executor.wait_for_workers(1, timeout=WAIT_FOR_WORKERS)
            except Exception:
                pass
            n = sum(executor.nthreads().values())
        if n > 0:
            if len(_WORKER_COUNTS) > 16:
                _WORKER_COUNTS.clear()
            try:
                _WORKER_COUNTS[id(executor)] = (weakref.ref(executor), now, n)
            except TypeError:                     # not weakly referable: ask every time
                pass
        return n
    n = getattr(executor, "_max_workers", None)
    return int(n) if n is not None else (os.cpu_count() or 1)


def some_workers(executor, transform):
    """:func:`workers`, refusing an executor with none (nothing could ever be computed: no hang)."""
    n = workers(executor)
    if n < 1:
        raise ValueError(f"{transform}(executor={type(executor).__name__}): the executor has no workers, so no "
                         "direction could ever be computed. Start workers (dask worker tcp://...) or wait for "
                         "them (client.wait_for_workers(1)), or leave executor= out to compute locally.")
    return n


def check_picklable(executor, fun, args, kwargs, transform):
    """A process pool pickles what it sends: say what cannot be sent, and what to do, before sending anything."""
    if not _is_process_pool(executor):
        return
    for what, obj in (("the function " + name_of(fun), fun), ("its arguments", (args, kwargs))):
        try:
            pickle.dumps(obj)
        except Exception as e:
            raise UnpicklableFunctionError(
                f"{transform}(executor={type(executor).__name__}): {what} cannot be pickled to send to "
                f"the worker processes ({type(e).__name__}: {e}). A process pool pickles with the standard "
                "pickle module, which cannot send lambdas, functions defined inside other functions, or "
                "captured open files, locks and sockets. Define the function at module level and pass what it "
                "needs as arguments, or use a dask.distributed Client (its cloudpickle sends lambdas and "
                "closures), or a ThreadPoolExecutor, which sends nothing.") from e


def _submit(executor, task, *args):
    if _is_dask(executor):
        return executor.submit(task, *args, pure=False)
    return executor.submit(task, *args)


def _lost(exc):
    return isinstance(exc, (cf.BrokenExecutor, cf.CancelledError)) or type(exc).__name__ in _LOST


class _Refused:
    """A submission the executor refused because it had lost a worker already: handled as a lost task."""

    def __init__(self, exc):
        self.exc = exc

    def result(self):
        raise self.exc

    def cancel(self):
        return False


def _submit_once(executor, task, *args):
    """``_submit``; a pool that broke between two submissions gives a :class:`_Refused` instead of raising."""
    try:
        return _submit(executor, task, *args)
    except BaseException as e:
        if not _lost(e):
            raise
        return _Refused(e)


def _gather(executor, spans, task_args, transform, fun, task=sweep_task):
    """The results of one ``task`` per ``(start, count)`` span, in order; a lost task is resubmitted once."""
    futures = [_submit_once(executor, task, *task_args(s, c)) for s, c in spans]
    results, fresh = [None] * len(spans), None
    try:
        for i, fut in enumerate(futures):
            try:
                results[i] = fut.result()
                continue
            except BaseException as e:
                if not _lost(e):
                    raise                    # f's own exception (or a KeyboardInterrupt): as it is
                first = e
            # the worker was lost: once more, on a fresh pool if the given process pool broke
            target = executor
            if isinstance(first, cf.BrokenExecutor) and _is_process_pool(executor):
                if fresh is None:
                    fresh = cf.ProcessPoolExecutor(max_workers=max(1, workers(executor)))
                target = fresh
            try:
                results[i] = _submit(target, task, *task_args(*spans[i])).result()
            except BaseException as e:
                if not _lost(e):
                    raise
                s, c = spans[i]
                raise WorkerLostError(
                    f"{transform}(executor=...) of {name_of(fun)}: the task sweeping directions {s}..{s + c - 1} "
                    f"was lost twice with its worker ({type(first).__name__}, then {type(e).__name__}: {e}); "
                    "no partial Jacobian is returned. Check the workers' memory and logs, or run serially "
                    "without executor=.") from e
    finally:
        for fut in futures:
            fut.cancel()
        if fresh is not None:
            fresh.shutdown(wait=False, cancel_futures=True)
    return results


def split_spans(start, count, tasks):
    """``count`` directions from ``start`` as ``tasks`` contiguous ``(start, count)`` spans (sizes within one)."""
    base, extra = divmod(count, tasks)
    spans = []
    for i in range(tasks):
        c = base + (i < extra)
        spans.append((start, c))
        start += c
    return spans


def split_by_cost(start, count, tasks, cost):
    """``count`` directions from ``start`` as at most ``tasks`` contiguous spans whose largest ``cost(lo, hi)``
    is about as small as it can be (``cost`` grows as a span grows).  Span ends are taken from at most
    256 evenly spaced candidates, so a long range is split in a few milliseconds.

    >>> split_by_cost(0, 10, 2, lambda lo, hi: (hi - lo) * (2 if lo >= 5 else 1))
    [(0, 7), (7, 3)]
    """
    if tasks <= 1 or count <= 1:
        return [(start, count)]
    step = -(-count // 256)
    ends = list(range(start + step, start + count, step)) + [start + count]

    def pack(limit):
        spans, lo, prev = [], start, None
        for e in ends:
            if cost(lo, e) > limit and prev is not None:
                spans.append((lo, prev - lo))
                lo = prev
            prev = e
        spans.append((lo, start + count - lo))
        return spans

    low, high = 0.0, cost(start, start + count)
    best = pack(high)
    for _ in range(30):
        mid = 0.5 * (low + high)
        spans = pack(mid)
        if len(spans) <= tasks:
            best, high = spans, mid
        else:
            low = mid
    return best


def gather(executor, spans, task_args, transform, fun, task=sweep_task):
    """:func:`_gather`, with a clear :class:`UnpicklableFunctionError` when what a task needs cannot be sent."""
    try:
        return _gather(executor, spans, task_args, transform, fun, task)
    except (pickle.PicklingError, TypeError, AttributeError) as e:
        if "pickle" not in str(e).lower() and "serializ" not in str(e).lower():
            raise
        raise UnpicklableFunctionError(
            f"{transform}(executor={type(executor).__name__}): {name_of(fun)} or its arguments could not be "
            f"sent to the workers ({type(e).__name__}: {e}). Do not capture open files, locks or sockets; "
            "pass what the function needs as arguments instead.") from e


def _worth(serial_s, parallel_s):
    """Distribute only when the serial remainder is not trivial and the tasks would clearly win."""
    return serial_s >= MIN_SECONDS and parallel_s < 0.8 * serial_s


def fanned(fun, argnums, has_aux, chunk_size, executor, mode, transform, holomorphic):
    """``transform(fun, ..., executor=executor)``: :func:`fan_out` behind the serial ``transform(fun, ...)``.

    Each transformed function remembers, by its arguments' shapes and dtypes, the calls that stay
    local for good (see :func:`fan_out`): those then cost the serial call and one dictionary look-up.
    """
    local = transform(fun, argnums, has_aux, chunk_size, holomorphic)
    memo = {}                                    # the arguments' key -> (epoch, Fanout) of a settled call

    def settle(signature):
        epoch = _EPOCH[0]
        return lambda verdict: memo.__setitem__(signature, (epoch, verdict))

    @functools.wraps(fun)
    def jac_fun(*args, **kwargs):
        try:
            signature = _argument_key(args) if not kwargs else (_argument_key(args),
                                                                  _argument_key(tuple(sorted(kwargs.items()))))
            hit = memo.get(signature)
        except Exception:                        # unhashable or unkeyable arguments: no memo
            signature = hit = None
        if hit is not None and hit[0] == _EPOCH[0]:
            _LAST.fanout = hit[1]
            return local(*args, **kwargs)
        return fan_out(executor, fun, args, kwargs, argnums, has_aux, mode, transform.__name__,
                       lambda: local(*args, **kwargs), chunk_size, holomorphic=holomorphic,
                       settled=None if signature is None else settle(signature))

    return jac_fun


def fan_out(executor, fun, args, kwargs, argnums, has_aux, mode, transform, serial, chunk_size=None,
            known_seconds=None, holomorphic=False, settled=None):
    """The Jacobian of ``fun`` in ``mode``, its directions fanned out over ``executor``.

    ``serial()`` computes it locally (the fallback).  ``known_seconds``: the
    estimated time of the whole Jacobian, if a decision measured it.  Returns
    what ``serial()`` would: the Jacobian, or ``(jacobian, aux)`` with ``has_aux``.
    Complex values follow ``jacfwd``'s and ``jacrev``'s rules (``holomorphic``),
    checked here, on the first call at given dtypes, before anything is sent.
    ``settled(fanout)``, if given, is called when the call stays local for good: no later call
    at these shapes can decide otherwise (the executor was not asked, on a measured serial price,
    which only ever falls); such calls are remembered here too and go straight to ``serial()``.
    """
    key = decision_key(fun, args, kwargs, argnums, has_aux)
    if key is not None:
        key = (key, mode, holomorphic)
        verdict = _SETTLED.get(key)
        if verdict is not None:                  # local for good at these shapes: no more than the serial call
            _LAST.fanout = verdict
            if settled is not None:
                settled(verdict)
            return serial()
    return _fan_out(executor, fun, args, kwargs, argnums, has_aux, mode, transform, serial, chunk_size,
                    known_seconds, holomorphic, key, settled)


def _fan_out(executor, fun, args, kwargs, argnums, has_aux, mode, transform, serial, chunk_size, known_seconds,
             holomorphic, key, settled_hook):
    """:func:`fan_out` past the settled verdicts (``key``: the call's key, or None)."""
    flat = FlatFun(_bind_kwargs(fun, kwargs), args, argnums, has_aux)
    leaves = flat.in_leaves
    if isinstance(fun, JacrevOf) and any(dtype_of(x).kind == "c" for x in leaves):
        raise NotImplementedError(f"hessian(..., executor=...) of {name_of(fun.fun)} over complex inputs is not "
                                  "supported yet (its directions are the real and imaginary parts of each input); "
                                  "leave out executor=")
    n = sum(math.prod(shape_of(x)) for x in leaves)
    cost = _COSTS.get(key) if key is not None else None

    per_b = None                                 # a backward sweep's bytes per direction, measured here once

    def task_args(start, count, total=None):
        return (fun, args, kwargs, argnums, has_aux, mode, start, count, total_dirs if total is None else total,
                chunk_size, per_b)

    first = finish = pullback = None
    probe_s = 0.0
    reach = None                                  # reverse: each row's reach along the tape (output_reach)
    lo = 0                                        # the first direction left after the probes
    if cost is None:                              # two timed sweeps here, of 1 and a few directions: the answer's start
        if mode == "forward":
            check_holomorphic("jacfwd", fun, leaves, None, holomorphic)
            total_dirs = n
            p1, p2 = min(1, n), min(max(PROBE_DIRECTIONS, n // PROBE_SHARE), max(n - 1, 0))
            t0 = time.perf_counter()
            a = sweep_task(*task_args(0, p1))
            t1 = time.perf_counter()
            b = sweep_task(*task_args(p1, p2)) if p2 else None
            t2 = time.perf_counter()
            record = 0.0
            first = a if b is None else ([_concat([x, y]) for x, y in zip(a[0], b[0])],) + a[1:]
            if holomorphic:
                check_holomorphic("jacfwd", fun, leaves, first[1], True)
            result_b = sum(np.asarray(o).nbytes for o in first[1])
            finish = lambda: sweep_task(*task_args(p, rest))              # noqa: E731
        else:
            t = time.perf_counter()
            with collector_paused():                 # as in the tasks: the same price
                outs, pullback = vjp_flat(flat, leaves)
            t0 = time.perf_counter()
            record = t0 - t
            check_holomorphic("jacrev", fun, leaves, outs, holomorphic)
            total_dirs = m = sum(math.prod(shape_of(o)) for o in outs)
            per_b = sweep_bytes_per_direction(pullback.tape, leaves, outs)
            p1, p2 = min(1, m), min(max(PROBE_DIRECTIONS, m // PROBE_SHARE), max(m - 1, 0))
            reach = output_reach(pullback.tape, pullback.out_nodes, outs)
            # the probes take the rows that reach furthest (the last ones, for a trajectory's states in
            # time order): a sweep of them prices what a sweep of all the rows costs
            at_end = m > 1 and reach[-1] > reach[0]
            a1, a2 = (m - p1, m - p1 - p2) if at_end else (0, p1)
            rows = _pull_span(flat, outs, pullback, a1, 1, [[] for _ in leaves], a1 + p1, consume_last=False)
            t1 = time.perf_counter()
            more = _pull_span(flat, outs, pullback, a2, max(p2, 1), [[] for _ in leaves], a2 + p2,
                              consume_last=False)
            t2 = time.perf_counter()
            rows = [b + a if at_end else a + b for a, b in zip(rows, more)]
            pieces = [_concat(r) if r else _zeros((0,), x) for r, x in zip(rows, leaves)]
            first = (pieces, outs, flat.out_tree, strip(flat.aux) if has_aux else None)
            result_b = sum(np.asarray(x).nbytes for x in leaves)
            lo = 0 if at_end else p1 + p2

            def finish():                            # the rest on the probe's tape: no second recording
                k = directions_per_sweep(rest, chunk_size, per_b)
                done = _pull_span(flat, outs, pullback, lo, k, [[] for _ in leaves], lo + rest)
                return [_concat(r) for r in done], outs, flat.out_tree, first[3]
        p = p1 + p2
        if mode == "forward":
            lo = p
        probe_s = t2 - (t if mode == "reverse" else t0)
        # a sweep of k directions costs fixed + k * per_dir (fit_sweep's model, from the two timings)
        # (a first sweep slower than the wider second one paid for cold caches: it prices nothing)
        fixed, per_dir = fit_sweep(min(t1 - t0, t2 - t1), t2 - t1, p2) if p2 > 1 else (t1 - t0, 0.0)
        if reach is not None and (reach.size == 0 or reach.min() >= reach.max()):
            reach = None                          # every row reaches as far: the probes priced them all
        if reach is not None:                     # priced over the probes' reach: a sweep of the whole tape
            share = max(share_of(reach, a1, a1 + p1), share_of(reach, a2, a2 + p2))
            if share > 0:
                fixed, per_dir = fixed / share, per_dir / share
        per_task = record + fixed                 # each task evaluates f (and records, in reverse) again
        if key is not None:
            with _COSTS_LOCK:
                _COSTS[key] = (total_dirs, fixed, per_dir, per_task, per_b, result_b, reach)
    else:
        total_dirs, fixed, per_dir, per_task, per_b, result_b, reach = cost
        p = 0
    rest = total_dirs - p

    def sweeps_s(a, b, fixed_s=None, per_s=None):
        """One sweep of directions ``a .. b``, at these prices (the probes' by default): over their reach's
        share of the tape."""
        return share_of(reach, a, b) * ((fixed if fixed_s is None else fixed_s)
                                        + (b - a) * (per_dir if per_s is None else per_s))

    k_local = directions_per_sweep(max(rest, 1), chunk_size, guess_bytes_per_direction(leaves))
    serial_s = sum(sweeps_s(a, min(a + k_local, lo + rest)) for a in range(lo, lo + rest, k_local))
    if first is None:                             # no probe in this call, so no tape: computed here, f is
        serial_s += per_task - fixed              # recorded again first (per_task - fixed: 0 in forward mode)
    if known_seconds is not None and math.isfinite(known_seconds):
        serial_s = known_seconds
    if key in _LOCAL:                             # measured: the last local call, for this many directions
        serial_s = _LOCAL[key] * rest / total_dirs
        # it prices a direction better than the narrow probes did (a wide sweep's temporaries cost more)
        per_dir = max(per_dir, (_LOCAL[key] - per_task) / total_dirs)

    def local(why, n_workers=None, settled=False):
        """Serially: the rest on top of the probe's directions, or everything when nothing was probed (timed).

        ``settled``: no later call at these shapes can decide otherwise (the executor was not asked, and a
        serial price only ever falls), so later calls go straight to ``serial()``.
        """
        _LAST.fanout = Fanout(mode, total_dirs, n_workers, 0, False, serial_s, "serial: " + why)
        if settled and key in _LOCAL:              # the serial price was measured, not estimated
            _SETTLED[key] = _LAST.fanout
            if settled_hook is not None:
                settled_hook(_LAST.fanout)
        t = time.perf_counter()
        if first is None:
            jac = serial()
        else:                                     # the probe's rows first, or last when they were the last rows
            jac = _assemble(flat, mode, [first] if rest <= 0 else [first, finish()] if lo else [finish(), first],
                            has_aux, transform)
        if key is not None:                       # the fastest local call: one slowed by other load misleads less
            took = time.perf_counter() - t + (probe_s if first is not None else 0.0)
            _LOCAL[key] = min(took, _LOCAL.get(key, took))
        return jac

    if rest <= 0:                                 # the probe was the whole Jacobian
        return local("the first, local sweep computed every direction.")
    if rest < 2 or not _worth(serial_s, 0.0):     # too little to send anywhere: the executor is not even asked
        return local(f"the {rest} {mode} direction{'s' * (rest != 1)} left would take about {serial_s:.3g} s here, "
                     f"too little to send anywhere (under {MIN_SECONDS} s).", settled=True)
    transfer_s = rest * result_b / TRANSFER_BYTES_PER_SECOND
    if not _worth(serial_s, per_dir + TASK_OVERHEAD + per_task + transfer_s):
        return local(f"the {rest} {mode} direction{'s' * (rest != 1)} left would take about {serial_s:.3g} s here, "
                     f"less than sending them would, however many workers took them ({TASK_OVERHEAD + per_task:.3g} s "
                     f"a task, {transfer_s:.3g} s for the results to come back).", settled=True)
    seen = _SEEN.get(key)
    # it did not pay last time: against the serial price measured here, or estimated here and from the work
    # the last call's tasks did (their CPU time at their sweeps' width, which the narrow probes may underprice)
    here_s = serial_s if key in _LOCAL else max(serial_s, _WORK.get(key, 0.0) * rest / total_dirs)
    if seen is not None and not _worth(here_s, seen * rest / total_dirs):
        return local(f"the last distributed call at these shapes took {seen:.3g} s, not clearly less than "
                     f"computing here (about {here_s * total_dirs / rest:.3g} s).", settled=True)
    n_workers = some_workers(executor, transform)
    tasks = min(rest, n_workers)
    if chunk_size is None:                        # more tasks when one worker's share would not fit a sweep
        share = -(-rest // tasks)
        k = directions_per_sweep(share, None, guess_bytes_per_direction(leaves) if mode == "forward" else None)
        if k < share:
            tasks = min(rest, n_workers * -(-share // (k * 4)))
    waves = -(-tasks // n_workers)
    parallel_s = (rest * per_dir / min(tasks, n_workers) + waves * (TASK_OVERHEAD + per_task)
                  + transfer_s)
    spans = split_spans(lo, rest, tasks)
    if reach is not None and tasks <= n_workers:  # rows that reach less of the tape cost less: spans of equal cost
        f_row, p_row = _SPLIT.get(key, (fixed, per_dir))      # the last call's tasks' prices, when known
        balanced = split_by_cost(lo, rest, tasks, lambda a, b: per_task - fixed + sweeps_s(a, b, f_row, p_row))
        if len(balanced) == tasks:                # (fewer: no split beats one task, by these prices)
            spans = balanced
        parallel_s = (max(per_task - fixed + sweeps_s(a, a + c) for a, c in spans) + TASK_OVERHEAD
                      + transfer_s)
    how = (f"the {rest} {mode} direction{'s' * (rest != 1)} left would take about {serial_s:.3g} s here, "
           f"against about {parallel_s:.3g} s as {tasks} task{'s' * (tasks != 1)} on {n_workers} "
           f"worker{'s' * (n_workers != 1)} (each task pays about {TASK_OVERHEAD + per_task:.3g} s: sending, and "
           f"a fresh {'recorded ' if mode == 'reverse' else ''}evaluation of {name_of(fun)})")
    if reach is not None and tasks > 1:
        how += (f"; rows split {' + '.join(str(c) for _, c in spans)} by how far back along the tape each "
                "reaches (a row that reads an early output costs only the steps before it)")
    segs, by_rows = None, (how, tasks, parallel_s)
    if mode == "reverse" and 1 < tasks <= n_workers and not holomorphic and key is not None:
        segs = _segments(key, pullback, leaves, outs if first is not None else None, lo, rest, tasks,
                         per_task - fixed, fixed, per_dir)
        if segs is not None and segs[3] + TASK_OVERHEAD + transfer_s < 0.9 * parallel_s:
            parallel_s = segs[3] + TASK_OVERHEAD + transfer_s
            tasks = len(segs[1]) + 1
            how = (f"the {rest} {mode} direction{'s' * (rest != 1)} left would take about {serial_s:.3g} s here, "
                   f"against about {parallel_s:.3g} s as {tasks} segments of the tape on {n_workers} "
                   f"worker{'s' * (n_workers != 1)}, cut at {', '.join(map(str, segs[1]))} of {segs[0].n} "
                   f"entries where {' and '.join(str(int(segs[0].live[c])) for c in segs[1])} elements are "
                   f"live (each task records {name_of(fun)} and sweeps its segment for its "
                   f"{' / '.join(str(r.size) for r in segs[2])} rows and the live values' derivatives)")
        else:
            segs = None
    if not (tasks > 1 and _worth(serial_s, parallel_s)):
        return local(how + ".", n_workers)
    if segs is not None:
        _LAST.fanout = Fanout(mode, total_dirs, n_workers, tasks, True, serial_s, "distributed: " + how + ".",
                              cuts=tuple(segs[1]))
        check_picklable(executor, fun, args, kwargs, transform)
        t = time.perf_counter()
        try:
            result = _run_segments(executor, segs, fun, args, kwargs, argnums, has_aux, leaves, lo, rest,
                                   chunk_size, per_b, transform)
        except TapeMismatch as e:                 # f recorded other tapes there: never chain such pieces
            _PLANS[key] = False                   # (nor plan on one tape again: split by rows from now on)
            how, tasks, parallel_s = by_rows
            how += f"; not cut along the tape: the segments could not be chained ({e})"
            if not (tasks > 1 and _worth(serial_s, parallel_s)):
                return local(how + ".", n_workers)
        else:
            # (not the tasks' CPU as the work a serial call would do: they swept the live values' rows too)
            _SEEN[key] = (time.perf_counter() - t) * total_dirs / rest
            results = [result]
            if first is not None:
                results.insert(0 if lo else len(results), first)
            return _assemble(flat, mode, results, has_aux, transform)
    _LAST.fanout = Fanout(mode, total_dirs, n_workers, tasks, True, serial_s, "distributed: " + how + ".",
                          tuple(spans))
    check_picklable(executor, fun, args, kwargs, transform)
    pullback = None                               # the probe's tape is not needed any more
    t = time.perf_counter()
    timed = gather(executor, spans, task_args, transform, fun, task=timed_sweep_task)
    results = [r for r, _ in timed]
    if key is not None:
        _SEEN[key] = (time.perf_counter() - t) * total_dirs / rest
        # the tasks' CPU time, less the fresh recordings and the sweeps' fixed parts beyond a serial call's
        extra = (len(timed) - 1) * (per_task - fixed) + max(0, len(timed) - -(-rest // k_local)) * fixed
        work = sum(c for _, c in timed) - extra
        _WORK[key] = max(work, 0.0) * total_dirs / rest
        if reach is not None and len(timed) > 1 and first is None:     # (a first call's tasks warm their workers)
            _fit_split(key, spans, [c for _, c in timed], reach, per_task - fixed, fixed / max(per_dir, 1e-12))
    if first is not None:
        results.insert(0 if lo else len(results), first)
    return _assemble(flat, mode, results, has_aux, transform)


def _segments(key, pullback, leaves, outs, lo, rest, tasks, record, fixed, per_row):
    """``(plan, cuts, rows per segment, seconds)`` of the best split of a reverse Jacobian's tape into
    ``tasks`` segments (:mod:`.segments`), or None: no plan (no tape to plan on, or workers recorded
    another one before), complex values, or no cuts that beat a single task."""
    plan = _PLANS.get(key)
    if plan is None and pullback is not None and outs is not None:
        if any(dtype_of(x).kind != "f" for x in list(leaves) + list(outs)):
            plan = False
        else:
            plan = tape_plan(pullback.tape, len(leaves), pullback.out_nodes, outs)
        with _COSTS_LOCK:
            _PLANS[key] = plan
    if not plan:
        return None
    rows = np.arange(lo, lo + rest)
    asked = (lo, rest, tasks, record, fixed, per_row)
    hit = _CUTS.get(key)
    if hit is not None and hit[0] == asked:      # the same call at the same prices: the same cuts
        cuts, seconds = hit[1]
    else:
        cuts, seconds = plan_cuts(plan, rows, tasks, record, fixed, per_row)
        with _COSTS_LOCK:
            _CUTS[key] = (asked, (cuts, seconds))
    if cuts is None:
        return None
    return plan, cuts, split_rows(plan, rows, cuts), seconds


def _run_segments(executor, segs, fun, args, kwargs, argnums, has_aux, leaves, lo, rest, chunk_size, per_b,
                  transform):
    """The segments' tasks, gathered and chained: ``(pieces, outs, out_tree, aux)``.  Raises
    :class:`~.segments.TapeMismatch` when the tasks' tapes or outputs differ (pieces of two evaluations
    of an impure function are never chained)."""
    plan, cuts, seg_rows, _ = segs
    specs = segment_specs(plan, seg_rows, cuts)
    starts = {}
    for i, r in enumerate(seg_rows):               # for the gather's messages: a task by its first row
        starts[int(r[0]) if r.size else lo + rest + i] = i

    def task_args(s, c):
        rows, stop, live_in, live_out = specs[starts[s]]
        width = rows.size + int(plan.size[live_out].sum())
        return (fun, args, kwargs, argnums, has_aux, rows, stop, live_in, live_out, plan.fingerprint,
                directions_per_sweep(max(width, 1), chunk_size, per_b))

    spans = [(s, max(seg_rows[i].size, 1)) for s, i in starts.items()]
    done = gather(executor, spans, task_args, transform, fun, task=segment_task)
    _, _, outs, out_tree, aux, _ = done[0]
    for d in done[1:]:                             # a function whose values depend on more than its arguments
        if d[3] != out_tree or not all(_same(a, b) for a, b in zip(d[2], outs)):
            raise TapeMismatch("the tasks' evaluations of the function gave different outputs")
    pieces = chain([(d[0], d[1]) for d in done], seg_rows, leaves, lo, rest)
    return pieces, outs, out_tree, aux


def _same(a, b):
    """Whether two evaluations' output leaves agree (to the last bits another BLAS kernel may change)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    scale = float(np.max(np.abs(b), initial=0.0)) if b.size else 0.0
    return bool(np.allclose(a, b, rtol=1e-10, atol=1e-12 * scale, equal_nan=True))


def _fit_split(key, spans, seconds, reach, record, probed_ratio=None):
    """Fit a sweep's fixed and per-row seconds to what the tasks of ``spans`` took (CPU, in their workers,
    less ``record``, the recording each paid): ``seconds[i] - record = reach_i * (fixed + rows_i * per_row)``.
    The narrow probes price a row at a width the tasks do not sweep at, and a worker's sweep may run at
    another speed than this process's; the next call splits its rows by these prices instead (averaged
    with the last call's fit).  Kept only when both come out positive (two tasks of the same reach
    cannot tell them apart) and, given the probes' ``fixed / per_row`` as ``probed_ratio``, within a
    factor of 3 of it: two tasks' times are noisy, and a wild fit would split worse than the probes."""
    e = np.array([share_of(reach, a, a + c) for a, c in spans])
    rows = np.array([c for _, c in spans], dtype=float)
    y = np.array(seconds, dtype=float) - record
    A = np.stack([e, e * rows], axis=1)
    sol, _, rank, _ = np.linalg.lstsq(A, y, rcond=None)
    if rank == 2 and sol[0] > 0 and sol[1] > 0:
        if probed_ratio is not None and not probed_ratio / 3 <= sol[0] / sol[1] <= probed_ratio * 3:
            return
        with _COSTS_LOCK:                        # averaged with the last fit: one slowed task moves it half as far
            old = _SPLIT.get(key)
            _SPLIT[key] = ((float(sol[0]), float(sol[1])) if old is None else
                           (0.5 * (old[0] + float(sol[0])), 0.5 * (old[1] + float(sol[1]))))


def epoch():
    """How many times :func:`forget` has run: a verdict remembered at an older epoch no longer holds."""
    return _EPOCH[0]


def forget():
    """Forget every price measured and every call timed (:func:`fan_out` measures again at the next call)."""
    with _COSTS_LOCK:
        _COSTS.clear()
        _SEEN.clear()
        _WORK.clear()
        _SPLIT.clear()
        _PLANS.clear()
        _CUTS.clear()
        _LOCAL.clear()
        _SETTLED.clear()
        _EPOCH[0] += 1


def _assemble(flat, mode, results, has_aux, transform):
    """The Jacobian from the tasks' results, in the dtypes ``transform`` gives serially: ``jacfwd`` and
    ``jacrev`` keep their sweeps' (the outputs' and the inputs' precision: a float32 input of a float64
    function has a float32 ``jacrev``), ``jacobian`` the two together, whichever mode it chose."""
    _, outs, out_tree, aux = results[0]
    flat.out_tree, flat.aux = out_tree, aux
    pieces = [[r[0][i] for r in results] for i in range(len(results[0][0]))]
    block = _block if transform == "jacobian" else _keep
    jac = (_assemble_forward if mode == "forward" else _assemble_reverse)(flat, outs, pieces, block)
    return (jac, aux) if has_aux else jac
