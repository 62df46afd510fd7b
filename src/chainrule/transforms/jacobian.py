"""``jacobian`` with the mode chosen per function, and ``choose_mode``, the choice as data.

The first call at given input shapes decides, and costs about what the chosen
mode costs:

* with at most ``FEW_DIRECTIONS`` inputs, one forward sweep carries all n
  tangent directions: that is the whole Jacobian, and it tells m.  Reverse
  mode would first have to record the function, which costs about as much.
* from ``RECORD_FIRST`` inputs on (when one sweep can carry all n
  directions), one forward sweep of all n directions runs under a guard
  (:mod:`~chainrule.transforms.guarded`) that gives up at the first
  operation where the directions' arithmetic makes forward mode clearly
  dearer than reverse mode's recording and backward sweep (array code),
  before that operation runs.  On scalar code it runs to its end: that sweep
  is the Jacobian and tells m; forward is then final if m is at least
  ``SHAPE_RATIO`` times n, else the next call times reverse mode (a
  recording and backward sweep) against it and keeps the faster.  When the
  guard gives up, nothing of the sweep is kept and the call goes on below.
  Where it would give up at f's very first operation (array code's usual
  start, ``W @ x``), the call records at once instead and asks the guard's
  question at that operation (:class:`~chainrule.transforms.guarded.FirstOperationLevel`):
  the same decision, without the sweep cut short; elsewhere that recording
  stops before its first operation and the guarded sweep runs.
* otherwise one plain evaluation tells m (and what one evaluation costs) --
  or, from ``RECORD_FIRST`` inputs on, the recording reverse mode needs
  anyway: forward mode could then win from the shapes only with m at least
  ``SHAPE_RATIO`` times larger still, where its sweeps dwarf the recording.
  When one mode has ``SHAPE_RATIO`` times fewer directions than the other,
  the shapes decide: no measured price of a direction could make up for that.
* near the diagonal, the mode with fewer directions (the favourite) runs its
  first sweep, as wide as a sweep may be (often its whole Jacobian), timed;
  then the other mode sweeps a sixteenth of its directions, timed, but only
  if that probe (with its sweep's fixed part) is estimated to cost less than
  ``PROBE_SHARE`` of the favourite's Jacobian (an expensive function is not
  probed twice).  The sweeps are rows (reverse) or columns (forward) of the Jacobian: what the
  favourite computed is kept, the recorded tape is the one reverse mode pulls
  through, and the decision for later calls follows the two timings.
* when a recording shows long scalar code (the shapes say reverse, or near
  the diagonal from ``RECORD_FIRST`` inputs on, after the guard gave up at
  some array operation), where a forward sweep
  carries n directions for little more than the price of one, the first
  call finishes through its tape (the recording is paid) and later calls go
  forward if the recording's time and size predict a cheaper forward sweep;
  that prediction is checked: the second call times its forward sweep
  against the first call's recording and backward sweep, and the decision
  becomes the faster of the two.

Decisions live in one process-wide, least-recently-used cache
(:data:`~chainrule.transforms.mode.DECISIONS`), keyed by the function (its
code and closure constants when those are plain constants, else its identity),
argnums, and the shapes and dtypes of the arguments, and shared by every
``jacobian`` object and by ``choose_mode``; ``clear_caches()`` empties it.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
import types
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..forward import jvp_flat
from ..reverse import vjp_flat
from ..pytree import flatten
from .adapter import FlatFun, check_holomorphic, dtype_of, shape_of, strip
from .derivatives import _basis_chunk, _bind_kwargs, _concat, _owned, _split, _zeros, jacfwd, jacrev, pull_span
from .mode import (DECISIONS, DEFAULT_MAX_DIRECTIONS, FEW_DIRECTIONS, LIVE_VALUES, SHAPE_RATIO,
                   Decision, decide, decide_without_timing,
                   directions_per_sweep, format_bytes, guess_bytes_per_direction, parse_bytes, tape_stats)
from .guarded import FirstOperationLevel, FirstOperationRuns, GuardedForwardLevel, GuardTripped, guarded_jvp_flat
from .progress import Progress, report_done
from .reach import output_reach, sweep_share

__all__ = ["jacobian", "choose_mode", "clear_caches", "decision_key", "shape_decision", "PROBE_SHARE",
           "cached_decision", "scalar_code", "predict_scalar_code"]

PROBE_SHARE = 0.15      # probe the other mode only if that costs less than this share of the favourite's Jacobian
SCALAR_CODE = 4                 # a tape with at most this many entries per operation is scalar code
SCALAR_CODE_OPERATIONS = 1000   # ... and this many operations, so that the engine's overhead dominates
FORWARD_PER_RECORDING = 1.1     # the fixed part of a forward sweep of scalar code, in recordings of it
BACKWARD_PER_RECORDING = 1.0    # a backward sweep of scalar code costs about one recording
TANGENT_SECONDS = 4e-9          # ... and a tangent direction, per entry of the operations' values
PREDICTION_MARGIN = 0.10        # a forward sweep predicted up to this much dearer than reverse is still tried:
# the next call times it against the first call's reverse mode and keeps the faster, so a close prediction is
# settled by measurement rather than by the constants above
# (measured on the RK4 loss of benchmarks/simulation.py, 300 and 1000 steps: a forward sweep costs
# 1.03-1.13 recordings for 1 direction, plus 3.5-3.8 ns per direction and entry; a backward sweep 0.8-1.05)
RECORDING_COST = 4      # a recorded sweep costs at least this many plain evaluations (array code; scalar code 10-30)
PROBE_FRACTION = 16    # a probe sweeps this fraction of its mode's directions
RECORD_FIRST = SHAPE_RATIO * FEW_DIRECTIONS   # from this many inputs on, the first call records rather than evaluates
KEEP_TAPE_SHARE = 16    # ... and keeps that tape through a forward sweep (for a probe) if it is at most 1/16 of the budget
_MODES = ("auto", "forward", "reverse")
_clock = time.process_time      # CPU time: the recording and sweeps a prediction rests on and is checked by
# (they are compared across calls, where the wall clock would count whatever else the machine ran meanwhile)


def _block(b, o, x):
    """A Jacobian block in the dtype of its output and input together, whichever mode computed it.

    Forward sweeps carry the output's precision, backward sweeps the input's:
    for a float32 input and a float64 output the two modes would disagree, and
    auto mode's choice (which may depend on timing) would show in the dtype.
    """
    do, dx = dtype_of(o), dtype_of(x)
    if do == dx == b.dtype:                      # the common case: one dtype throughout
        return b
    dt = np.result_type(do, dx)
    return b if b.dtype == dt or dt.kind not in "fc" else b.astype(dt)


def _keep(b, o, x):
    return b


def _assemble_forward(flat, outs, pieces, block=_block):
    """Columns ``(n, *o.shape)`` per output leaf -> the Jacobian pytree (as ``jacfwd`` lays it out).
    ``block``: what makes each block's dtype (``_keep``: the sweeps', as ``jacfwd`` leaves it)."""
    leaves = flat.in_leaves
    blocks = []
    for o, parts in zip(outs, pieces):
        full = _concat(parts)                                    # (n, *o.shape)
        row, off = [], 0
        for x, size in zip(leaves, _sizes(leaves)):
            b = np.moveaxis(full[off:off + size], 0, -1)
            row.append(block(np.reshape(b, shape_of(o) + shape_of(x)), o, x))
            off += size
        blocks.append(flat.inputs(row))
    return flat.outputs(blocks)


def _assemble_reverse(flat, outs, pieces, block=_block):
    """Rows ``(m, *x.shape)`` per input leaf -> the Jacobian pytree (as ``jacrev`` lays it out).
    ``block``: as in :func:`_assemble_forward` (``_keep``: the sweeps' dtype, as ``jacrev`` leaves it)."""
    leaves = flat.in_leaves
    fulls = [_concat(p) if p else _zeros((0,), x) for p, x in zip(pieces, leaves)]     # m == 0: no rows
    blocks, off = [], 0
    for o, size in zip(outs, _sizes(outs)):
        blocks.append(flat.inputs([block(np.reshape(f[off:off + size], shape_of(o) + shape_of(x)), o, x)
                                   for f, x in zip(fulls, leaves)]))
        off += size
    return flat.outputs(blocks)


def _pull_rows(flat, outs, pullback, start, k, pieces, stop=None, consume_last=True):
    """Rows ``start..stop`` (default: to m) of the Jacobian, ``k`` adjoint directions per backward sweep."""
    _check_real_outputs(flat, outs)
    m = sum(_sizes(outs))
    return pull_span(flat, outs, pullback, start, k, pieces, m if stop is None else min(stop, m), consume_last, m)


def _check_real_outputs(flat, outs):
    for o in outs:                       # real seeds on a complex output would give only Re(J): refuse
        if dtype_of(o).kind == "c":
            check_holomorphic("jacobian (reverse mode; mode='forward' handles complex outputs of real inputs)",
                              flat.f, flat.in_leaves, outs, False)


def _few(total):
    """The directions one sweep carries when there are at most ``FEW_DIRECTIONS`` (0: more, ask the decision).

    What :func:`~chainrule.transforms.mode.directions_per_sweep` gives whatever the budget, so that a
    decision's cost of the chosen mode (written when first read) need not be built for it.
    """
    return max(total, 1) if total <= FEW_DIRECTIONS else 0


def _sizes(leaves):
    return [x.size if type(x) is np.ndarray else math.prod(shape_of(x)) for x in leaves]


class _Unkeyable(Exception):
    pass


_CONSTANTS = (int, float, complex, str, bytes, bool, type(None), np.generic, np.dtype, type)


def _constant_key(v, depth=0):
    """A hashable stand-in for a value that is a plain constant (or a tuple of them, or a keyable function)."""
    if isinstance(v, _CONSTANTS):
        return (type(v).__name__, v)
    if isinstance(v, tuple) and depth < 4:
        return tuple(_constant_key(x, depth + 1) for x in v)
    if isinstance(v, types.FunctionType) and depth < 4:
        return _function_key(v, depth + 1)
    if isinstance(v, types.ModuleType):
        return ("module", v.__name__)
    raise _Unkeyable


class _Ref:
    """An object's identity in a key, without keeping it alive: equal only while the same object lives."""

    __slots__ = ("ref", "ident")

    def __init__(self, obj):
        self.ref, self.ident = weakref.ref(obj), id(obj)

    def __hash__(self):
        return self.ident

    def __eq__(self, other):
        if type(other) is not _Ref or other.ident != self.ident:
            return False
        obj = self.ref()
        return obj is not None and obj is other.ref()


def _identity_key(obj):
    """The object's identity, without keeping it alive when it can be weakly referenced."""
    try:
        return ("ref", _Ref(obj))
    except TypeError:
        try:
            hash(obj)
        except TypeError:
            raise _Unkeyable from None
        return ("object", obj)


def _cell_key(v, depth):
    """A captured value: by value if it is a plain constant, else by identity (a weak reference where possible)."""
    try:
        return _constant_key(v, depth)
    except _Unkeyable:
        return _identity_key(v)


def _function_key(fun, depth=0):
    """What identifies ``fun``'s behaviour: its code and closure when they are plain constants, else its identity.

    Two lambdas made by the same line with the same captures behave the same,
    so ``jacobian(lambda x: g(x, w, 2.0))`` written inside a loop hits the
    cache: captured constants count by value, other captured objects (``g``,
    the array ``w``) by identity, through weak references, so a dead object's
    reused address never matches.  A capture that is neither (a list) makes
    the function count by its own identity.
    """
    if isinstance(fun, types.FunctionType):
        try:
            cells = tuple(_cell_key(c.cell_contents, depth) for c in fun.__closure__ or ())
            defaults = _constant_key(fun.__defaults__ or (), depth)
            kwdefaults = _constant_key(tuple(sorted((fun.__kwdefaults__ or {}).items())), depth)
            return ("code", fun.__code__, id(fun.__globals__), cells, defaults, kwdefaults)
        except (_Unkeyable, ValueError):          # ValueError: an empty cell (a recursive closure)
            pass
    if isinstance(fun, types.MethodType):
        return ("method", _function_key(fun.__func__, depth + 1), _identity_key(fun.__self__))
    if isinstance(fun, functools.partial):
        return ("partial", _function_key(fun.func, depth + 1), _argument_key(fun.args),
                _argument_key(tuple(sorted(fun.keywords.items()))))
    return _identity_key(fun)


_FUNCTION_KEYS = weakref.WeakKeyDictionary()     # function -> (ids of its captured values, its key)


def _cached_function_key(fun):
    """:func:`_function_key`, remembered per function object while what it captures stays the same objects."""
    try:
        ids = tuple(id(c.cell_contents) for c in getattr(fun, "__closure__", None) or ())
        hit = _FUNCTION_KEYS.get(fun)
    except (TypeError, ValueError):             # not weakly referable or hashable; an empty cell
        return _function_key(fun)
    if hit is not None and hit[0] == ids:
        return hit[1]
    key = _function_key(fun)
    _FUNCTION_KEYS[fun] = (ids, key)
    return key


def _argument_key(v):
    if type(v) is np.ndarray or type(v) is np.float64:
        return (v.shape, v.dtype)
    if type(v) is tuple:                 # the arguments themselves: spare the failed attribute look-ups below
        return ("tuple",) + tuple(_argument_key(x) for x in v)
    if hasattr(v, "shape") and hasattr(v, "dtype"):
        return ("array", tuple(v.shape), v.dtype)
    if isinstance(v, (tuple, list)):
        return (type(v).__name__,) + tuple(_argument_key(x) for x in v)
    if isinstance(v, dict):
        return ("dict",) + tuple((k, _argument_key(x)) for k, x in v.items())
    try:
        return _constant_key(v)
    except _Unkeyable:
        return _identity_key(v)


def decision_key(fun, args, kwargs, argnums, has_aux=False, memory_budget=None):
    """The key of auto mode's decision for ``fun`` at ``args`` (None: not cacheable).

    Differentiated arguments count by their leaves' shapes and dtypes; other
    arguments by their shapes and dtypes if they are arrays, their value if
    they are plain constants, else their identity.
    """
    try:
        return (_cached_function_key(fun), (argnums,) if isinstance(argnums, int) else tuple(argnums), has_aux,
                _argument_key(tuple(args)), _argument_key(tuple(sorted(kwargs.items()))) if kwargs else (),
                memory_budget)
    except (_Unkeyable, TypeError):
        return None


def shape_decision(n, m, memory_budget, bytes_per_direction=None, stats=None):
    """The :class:`~chainrule.transforms.mode.Decision` the shapes alone take, or None (a probe is needed).

    With at most ``FEW_DIRECTIONS`` inputs, forward (one sweep is the whole
    Jacobian); when one mode has ``SHAPE_RATIO`` times fewer directions, that
    mode -- but reverse only if its tape (``stats`` of a recording) fits the budget.
    """
    budget = parse_bytes(memory_budget)
    if n <= FEW_DIRECTIONS:
        return decide_without_timing("forward", n, m, lambda: _few_why(n), budget, stats, bytes_per_direction)
    if max(n, m) < SHAPE_RATIO * max(min(n, m), 1):
        return None
    if n < m:
        return decide_without_timing("forward", n, m, lambda: _ratio_why("forward", n, m), budget, stats,
                                     bytes_per_direction)
    if stats.tape_bytes + stats.bytes_per_direction > budget:
        tape_b = stats.tape_bytes
        why = lambda: (f"forward: reverse mode has {_ratio(n, m):.0f} times fewer directions, but its tape of "  # noqa: E731
                       f"{format_bytes(tape_b)} does not fit the memory budget of {format_bytes(budget)}.")
        return decide_without_timing("forward", n, m, why, budget, stats)
    return decide_without_timing("reverse", n, m, lambda: _ratio_why("reverse", n, m), budget, stats)


# the reasons of shape_decision, written when first read


def _ratio(n, m):
    return max(n, m) / max(min(n, m), 1)


def _few_why(n):
    return (f"forward: n = {n} tangent direction{'s' * (n != 1)} fit one forward sweep, which computes the "
            "whole Jacobian for about the price of the recording that reverse mode needs before its first "
            "backward sweep; decided from the shapes, nothing timed.")


def _ratio_why(mode, n, m):
    tail = (f", {_ratio(n, m):.0f} times fewer; no measured price of a direction comes near that ratio (a backward "
            "step costs about 1-3 tangent steps), so the shapes decide, nothing timed.")
    if mode == "forward":
        return f"forward: n = {n} tangent direction{'s' * (n != 1)} against m = {m}{tail}"
    return f"reverse: m = {m} adjoint direction{'s' * (m != 1)} against n = {n}{tail}"


def scalar_code(n, stats):
    """Whether a recorded tape is long scalar code with few enough inputs for one forward sweep to carry them all.

    At most ``SCALAR_CODE`` entries per operation, at least
    ``SCALAR_CODE_OPERATIONS`` operations, and n at most
    ``DEFAULT_MAX_DIRECTIONS``: there the engine's overhead per operation,
    not the arithmetic of the directions, prices a sweep.
    """
    return (n <= DEFAULT_MAX_DIRECTIONS and stats.operations >= SCALAR_CODE_OPERATIONS
            and stats.elements <= SCALAR_CODE * stats.operations)


def predict_scalar_code(n, m, stats, t_record, memory_budget):
    """``(forward sweep, backward sweep)`` seconds predicted from a recording of scalar code, or None.

    None unless :func:`scalar_code` holds and one forward sweep carries all n
    directions within the budget.  A forward sweep: ``FORWARD_PER_RECORDING``
    recordings plus ``TANGENT_SECONDS`` per direction and entry of the
    operations' values; a backward sweep: ``BACKWARD_PER_RECORDING``
    recordings plus as much per adjoint direction and entry.
    """
    if not scalar_code(n, stats):
        return None
    if directions_per_sweep(n, None, stats.bytes_per_direction, memory_budget) < n:
        return None
    fwd = FORWARD_PER_RECORDING * t_record + n * stats.elements * TANGENT_SECONDS
    back = BACKWARD_PER_RECORDING * t_record + m * stats.elements * TANGENT_SECONDS
    return fwd, back


class _AutoJacobian:
    """An auto-mode Jacobian at given shapes: decide (unless ``decision`` is known), keeping every useful sweep.

    ``decision`` is the :class:`~chainrule.transforms.mode.Decision`;
    ``jacobian()`` finishes the Jacobian in the chosen mode, reusing the
    columns (forward) or rows and tape (reverse) the probes computed.
    """

    def __init__(self, flat, memory_budget, progress=None, decision=None):
        self.flat, self.budget, self.progress = flat, memory_budget, progress
        leaves = flat.in_leaves
        self.n = sum(_sizes(leaves))
        self.cols, self.rows = None, [[] for _ in leaves]
        self.outs = self.pullback = self.stats = self.reach = None
        self.done = {"forward": 0, "reverse": 0}
        self.t_record = self.t_eval = self.c_record = 0.0     # seconds: wall clock; c_record: CPU (_clock)
        self.finish = None          # the mode this call finishes in, when not the decision's
        self.kept = None            # a recording made before a forward sweep, for reverse's probe
        self.t_backward = self.t_forward = None     # the finishing sweeps, timed when a prediction needs them
        self.later = decision is not None         # a later call, following a decision taken before
        self.tripped = None         # the GuardTripped of a first call's guarded forward sweep
        self.failed = None          # ... or the name of the exception it raised
        self.decision = decision if decision is not None else self._decide()
        if self.later and decision.verify and decision.measured:
            self.finish = "reverse"     # forward was timed by the first call (a guarded sweep): now reverse, timed

    # -- the sweeps, each one part of the Jacobian ------------------------------------------------------
    def _push_cols(self, start, count, level=None):
        flat, n = self.flat, self.n
        if level is None:
            outs, touts = jvp_flat(flat, flat.in_leaves, _split(_basis_chunk(start, count, n), flat.in_leaves))
        else:                               # a guarded sweep: the seed made once the guard lets an operation run
            outs, touts = guarded_jvp_flat(level, flat, flat.in_leaves,
                                           lambda: _split(_basis_chunk(start, count, n), flat.in_leaves))
        self.outs = outs
        if self.cols is None:
            self.cols = [[] for _ in outs]
        for p, o, t in zip(self.cols, outs, touts):
            p.append(_zeros((count,), o) if t is None else _owned(t))
        self.done["forward"] = start + count

    def _record(self, stats=True):
        """Record f; with ``stats`` (a recording the decision reads), timed and measured by :func:`tape_stats`."""
        leaves = self.flat.in_leaves
        if not stats:                            # the finishing sweeps' recording: nothing reads its time
            self.outs, self.pullback = vjp_flat(self.flat, leaves)
            return
        t0, c0 = time.perf_counter(), _clock()
        self.outs, self.pullback = vjp_flat(self.flat, leaves)
        self.t_record, self.c_record = time.perf_counter() - t0, _clock() - c0
        self.stats = tape_stats(self.pullback.tape, leaves, self.outs)

    def _pull(self, start, count):
        _pull_rows(self.flat, self.outs, self.pullback, start, count, self.rows, stop=start + count,
                   consume_last=False)
        self.done["reverse"] = start + count

    def _timed(self, mode, count):
        """Sweep ``count`` more directions of ``mode``; ``(seconds, count)``.

        Reverse rows that read early outputs of a trajectory sweep back only from those outputs
        (:mod:`chainrule.transforms.reach`): their time is scaled to a sweep that reaches as far back
        as the Jacobian's full sweeps do."""
        start = self.done[mode]
        t0 = time.perf_counter()
        (self._push_cols if mode == "forward" else self._pull)(start, count)
        t = time.perf_counter() - t0
        if mode == "reverse" and start + count < sum(_sizes(self.outs)):      # a probe, not every row
            if self.reach is None:                  # (walked once: both probes sweep the same tape)
                pb = self.pullback
                self.reach = output_reach(pb.tape, pb.out_nodes, self.outs)
            t *= sweep_share(self.reach, start, count)
        return t, count

    # -- the decision ---------------------------------------------------------------------------------
    def _decide(self):
        n, flat = self.n, self.flat
        if n <= FEW_DIRECTIONS:                   # one forward sweep is the whole Jacobian, and tells m
            self._push_cols(0, n)
            return shape_decision(n, sum(_sizes(self.outs)), self.budget, guess_bytes_per_direction(flat.in_leaves))
        if n >= RECORD_FIRST:
            guarded = self._guarded_forward()
            if guarded is not None:             # scalar code: the forward sweep was the Jacobian
                return guarded
            decision = self._recorded_first(n)
            if self.tripped is not None:
                decision = _noted(decision, functools.partial(_trip_note, n, self.tripped))
            elif self.failed is not None:
                failed = self.failed
                decision = _noted(decision, lambda: f"A guarded forward sweep of all {n} directions failed "
                                                    f"({failed}): recorded instead.")
            return decision
        # one plain evaluation tells m: the cheapest sweep there is (a recorded or tangent sweep of
        # scalar code costs 10-30 of them), so it is the one spent when the other mode wins
        outs = self._evaluate()
        m = sum(_sizes(outs))
        self.first_outs = outs
        if max(n, m) >= SHAPE_RATIO * max(min(n, m), 1):
            return self._by_shapes(n, m)
        return self._by_probes(n, m)

    def _guarded_forward(self):
        """One forward sweep of all n directions under a guard (see :mod:`.guarded`); the decision, or None.

        None when one sweep cannot carry all n directions within the budget,
        or when the guard tripped (array code: forward mode would cost far
        more than reverse mode's recording and backward sweep), with nothing
        of the sweep kept.  Otherwise the sweep is this call's Jacobian and
        tells m: forward for good when m is ``SHAPE_RATIO`` times n (or
        zero), else forward with ``verify`` -- the next call times reverse
        mode against this sweep and keeps the faster.
        """
        n = self.n
        if n > DEFAULT_MAX_DIRECTIONS or n * guess_bytes_per_direction(self.flat.in_leaves) > self.budget:
            return None                         # more than one sweep (directions_per_sweep, with jacfwd's guess)
        if self._record_if_refused(n):          # array code: the guard would refuse the first operation
            return None
        level = GuardedForwardLevel(n)
        start, c0 = time.monotonic(), _clock()
        try:
            self._push_cols(0, n, level)
        except GuardTripped:
            pass
        except Exception as err:                # noqa: BLE001 - forward mode failed (a custom_vjp has no JVP,
            self.failed = type(err).__name__    # memory ran out): reverse mode may still work, and records
            self.cols, self.outs, self.done["forward"] = None, None, 0      # (raising again if f is at fault)
            return None
        if level.tripped is not None:           # also when f swallowed the exception: nothing is kept
            self.tripped = level.tripped.with_traceback(None)      # no cycle through f's frames
            self.cols, self.outs, self.done["forward"] = None, None, 0
            return None
        t_forward = _clock() - c0
        report_done("jacobian (forward)", n, self.progress, start)      # one sweep: reported at its end
        m = sum(_sizes(self.outs))
        self.first_outs = self.outs
        final = m == 0 or m >= SHAPE_RATIO * n
        ops = level.operations
        why = lambda: _guarded_why(n, m, ops, t_forward, final)     # noqa: E731
        return decide_without_timing("forward", n, m, why, self.budget, bytes_per_direction=self._forward_bytes(),
                                     seconds=(t_forward, float("nan")), verify=not final, measured=True)

    def _record_if_refused(self, n):
        """Record f if a guarded forward sweep would refuse its first operation (then True, ``tripped`` set).

        That is array code's usual start (``W @ x``, ``np.sin(x)`` on the
        inputs): the guarded sweep would give up before that operation ran,
        and the call record instead -- so the recording starts at once, and
        its first operation asks what the guard would have done
        (:class:`~chainrule.transforms.guarded.FirstOperationLevel`).  False,
        nothing kept, when the guard would let it run (or f failed, or made
        no operation): the guarded sweep runs as before, and decides the same.
        """
        # CPU time from the first operation on (what runs before it is a few tracers): a recording that
        # stops there costs no clock reading
        level = FirstOperationLevel(n, _clock)
        flat = self.flat
        recorded = False
        try:
            t0 = time.perf_counter()
            outs, pullback = vjp_flat(flat, flat.in_leaves, level)
            t_record, c1 = time.perf_counter() - t0, _clock()
            recorded = True
        except FirstOperationRuns:
            pass
        except Exception:                        # noqa: BLE001 - the guarded sweep and the recording after it
            pass                                 # meet (and report) the failure as without this shortcut
        finally:
            trip, c0 = FirstOperationLevel.verdict(level)
        if not recorded or trip is None:
            return False
        self.outs, self.pullback, self.t_record, self.c_record = outs, pullback, t_record, c1 - c0
        self.stats = tape_stats(pullback.tape, flat.in_leaves, outs)
        self.tripped = trip
        return True

    def _recorded_first(self, n):
        """From ``RECORD_FIRST`` inputs on, when no guarded forward sweep ran to its end: record first."""
        # the recording tells m too, and with this many inputs the shapes say reverse unless m is
        # larger still (then a forward sweep of n >= RECORD_FIRST directions dwarfs the recording)
        if self.pullback is None:               # not recorded already (by _record_if_refused)
            self._record()
        m = sum(_sizes(self.outs))
        self.first_outs = self.outs
        if max(n, m) >= SHAPE_RATIO * max(min(n, m), 1):
            return self._by_shapes(n, m)
        scalar = self._scalar_code(n, m)
        if scalar is not None:              # scalar code: the recording cost as much as a sweep; use it
            return scalar
        if n <= m:                          # near the diagonal, forward first: as if nothing were recorded,
            if self.stats.tape_bytes <= self.budget // KEEP_TAPE_SHARE:     # but a small tape is kept aside
                self.kept = (self.outs, self.pullback, self.stats, self.t_record)    # for reverse's probe
            self.pullback = self.stats = None
            self.t_record = 0.0
        self._evaluate()                    # the probes are priced with one plain evaluation
        return self._by_probes(n, m)

    def _evaluate(self):
        flat = self.flat
        t0 = time.perf_counter()
        outs = flat(flat.in_leaves)
        self.t_eval = time.perf_counter() - t0
        return outs

    def _forward_bytes(self):
        """Bytes of one tangent direction: at least the inputs and outputs, and a few values as large as either."""
        in_b, out_b = guess_bytes_per_direction(self.flat.in_leaves), guess_bytes_per_direction(self.first_outs)
        return max(in_b, out_b) + (in_b + out_b) // LIVE_VALUES

    def _by_shapes(self, n, m):
        if n < m:
            self.pullback = self.stats = None       # recorded first (n >= RECORD_FIRST), not needed
            return shape_decision(n, m, self.budget, self._forward_bytes())
        if self.pullback is None:
            self._record()
        decision = shape_decision(n, m, self.budget, stats=self.stats)
        if decision.mode == "forward":
            self.pullback = None
            return decision
        if self.stats.operations < SCALAR_CODE_OPERATIONS:     # too short for scalar code (see scalar_code)
            return decision
        scalar = self._scalar_code(n, m)
        return scalar if scalar is not None else decision

    def _scalar_code(self, n, m):
        """After a recording of scalar code: this call finishes through its tape; later calls go forward if predicted cheaper.

        Reverse mode walks the operations twice (the recording, then the
        backward sweep); one forward sweep walks them once and carries all n
        directions.  On array code the directions' arithmetic dominates and
        the shapes (or the probes) decide; on scalar code (see
        :func:`scalar_code`) each operation costs the engine's fixed
        overhead, whatever the number of directions, so a forward sweep --
        about ``FORWARD_PER_RECORDING`` recordings plus ``TANGENT_SECONDS``
        per direction and entry -- may cost less than a recording and a
        backward sweep.  The recording is paid: this call finishes through
        its tape (a backward sweep of m directions) unless a forward sweep is
        predicted cheaper than that backward sweep alone.  A forward decision
        for later calls is a prediction (``verify``): the next call times its
        forward sweep against this call's recording and backward sweep, and
        keeps the faster.  None when the tape is not scalar code.
        """
        st, t = self.stats, self.c_record        # CPU seconds, as the next call times its forward sweep
        predicted = predict_scalar_code(n, m, st, t, self.budget)
        if predicted is None:
            return None
        fwd, back = predicted
        rev = t + back
        if fwd > back:
            self.finish = "reverse"     # the tape exists: one backward sweep is the cheaper finish
        else:
            self.pullback = None        # even the backward sweep alone costs more: this call goes forward too
        code = (f"f is scalar code ({st.elements / st.operations:.1f} entries per operation, {st.operations} "
                "operations), where each operation costs the engine's overhead more than the arithmetic of its "
                "directions")
        if fwd > (1.0 + PREDICTION_MARGIN) * rev:
            why = (f"reverse: m = {m} adjoint direction{'s' * (m != 1)} against n = {n}; {code}, but one forward "
                   f"sweep is predicted at {_fmt(fwd)}, more than {PREDICTION_MARGIN:.0%} above the {_fmt(rev)} "
                   f"of the recording ({_fmt(t)}, timed) and backward sweep (predicted), in CPU seconds")
            return decide_without_timing("reverse", n, m, why + ".", self.budget, stats=st, seconds=(fwd, rev))
        finish = ("this first call finished in reverse, through the tape it had; the next call times its forward sweep "
                  "against this call's and keeps the faster mode" if self.finish == "reverse" else
                  "this call went forward too: a forward sweep is predicted cheaper than the backward sweep alone")
        why = (f"forward: {n} tangent direction{'s' * (n != 1)} against m = {m} adjoint direction{'s' * (m != 1)}, "
               f"but {code}: one forward sweep is predicted at {_fmt(fwd)} (about {FORWARD_PER_RECORDING:g} "
               f"recordings of {_fmt(t)}), against {_fmt(rev)} for the recording and backward sweep of reverse "
               f"mode (CPU seconds); predicted from the recording, not timed ({finish})")
        return decide_without_timing("forward", n, m, why + ".", self.budget, stats=st, seconds=(fwd, rev),
                                     verify=self.finish == "reverse")

    def settled(self):
        """The decision to keep after this call (None: the one taken stands).

        After a first call that predicted forward and finished through its
        tape: the same prediction, with the backward sweep's time as measured.
        After a later call that ran a predicted forward mode (``verify``): the
        faster of the two timed modes, now measured.  After a later call that
        ran reverse mode, timed, against a first call's guarded forward sweep
        (``verify`` and ``measured``): the faster of the two.
        """
        d = self.decision
        if not d.verify:
            return None
        if self.t_backward is not None and self.later:     # forward timed by a guarded first sweep, reverse now
            fwd, rev = d.forward.seconds, self.t_backward
            mode = "forward" if fwd <= rev else "reverse"
            why = (f"{mode}: timed: the recording and backward sweep of m = {d.m} direction{'s' * (d.m != 1)} took "
                   f"{_fmt(rev)} of CPU, against {_fmt(fwd)} for the first call's guarded forward sweep of all "
                   f"n = {d.n} directions (it ran to its end: scalar code, where a forward sweep costs about a "
                   "recording whatever its directions).")
            return _with_seconds(d, fwd, rev, why, mode=mode, measured=True)
        if self.t_backward is not None:           # the first call: reverse is now timed
            rev = self.c_record + self.t_backward
            return _with_seconds(d, d.forward.seconds, rev, d.reason.replace(
                "backward sweep of reverse mode;", f"backward sweep of reverse mode (timed: {_fmt(rev)});"))
        if self.t_forward is None:
            return None
        fwd, rev = self.t_forward, d.reverse.seconds
        mode = "forward" if fwd <= rev else "reverse"
        why = (f"{mode}: timed: one forward sweep of all n = {d.n} directions took {_fmt(fwd)} of CPU, against "
               f"{_fmt(rev)} for the recording and backward sweep of m = {d.m} direction{'s' * (d.m != 1)} "
               "(timed by the first call, or predicted from its recording where choose_mode or explain only "
               "decided); the first call had predicted forward from the recording (scalar code).")
        return _with_seconds(d, fwd, rev, why, mode=mode, measured=True)

    @staticmethod
    def _probe_size(total):
        """Directions of the other mode's probe sweep: a sixteenth of its total."""
        return max(1, min(total, total // PROBE_FRACTION))

    def _by_probes(self, n, m):
        """Near the diagonal: the favourite's first sweep (often its whole Jacobian), then maybe a probe.

        The favourite is the mode with fewer directions (forward when n = m:
        on scalar code a forward sweep costs about one recording, reverse
        mode a recording and a backward sweep).  Its first sweep
        carries as many directions as a sweep may, and is timed: that prices
        its directions at the real batch size.  The other mode then sweeps a
        sixteenth of its directions, timed -- unless that would cost more
        than ``PROBE_SHARE`` of the favourite's Jacobian, counting the fixed
        part of the probe's sweep (a reverse probe records first; a sweep
        costs at least ``RECORDING_COST`` plain evaluations).  Both prices go
        to :func:`~chainrule.transforms.mode.decide`;
        what the favourite already computed is kept either way.
        """
        fav = "forward" if n <= m else "reverse"
        other = "reverse" if fav == "forward" else "forward"
        dirs = {"forward": n, "reverse": m}
        if fav == "reverse":
            if self.pullback is None:
                self._record()
            per_b = self.stats.bytes_per_direction
        else:
            per_b = self._forward_bytes()
        room = self.budget - (self.stats.tape_bytes if self.stats else 0)
        k = directions_per_sweep(dirs[fav], None, per_b, max(room, 1))
        t, count = self._timed(fav, k)
        fits = {fav: (0.0, t / count)}
        estimate = fits[fav][1] * dirs[fav] + self.t_record
        # the other mode's probe: a sixteenth of its directions at the favourite's price, and the fixed
        # part of its sweep -- for reverse, a recording and a backward walk, each at least
        # RECORDING_COST plain evaluations; for forward, a walk of the recorded operations
        fixed = self.t_record if fav == "reverse" else 2 * RECORDING_COST * self.t_eval
        probe_cost = fixed + fits[fav][1] * self._probe_size(dirs[other])
        if probe_cost > PROBE_SHARE * estimate:
            self.kept = None
            why = (f"{fav}: near the diagonal (n = {n}, m = {m}) the mode with fewer directions, since probing "
                   f"{other} mode would cost about {_fmt(probe_cost)}, more than {PROBE_SHARE:.0%} of the "
                   f"{_fmt(estimate)} {fav} mode is estimated at (one evaluation takes {_fmt(self.t_eval)})")
            if fav == "forward":
                return decide_without_timing(fav, n, m, why + ".", self.budget, bytes_per_direction=per_b)
            return decide_without_timing(fav, n, m, why + ".", self.budget, stats=self.stats)
        if other == "reverse":
            if self.kept is not None:           # recorded before the forward sweep (n >= RECORD_FIRST)
                self.outs, self.pullback, self.stats, self.t_record = self.kept
            else:
                self._record()
        self.kept = None
        t, count = self._timed(other, self._probe_size(dirs[other]))
        fits[other] = (0.0, t / count)
        return decide(self.stats, self.t_record, fits["forward"], fits["reverse"], self.budget)

    def jacobian(self):
        flat = self.flat
        mode = self.finish or self.decision.mode
        if self.done["forward"] >= self.n > 0:
            mode = "forward"                     # the probe already computed every column
        elif self.pullback is not None and self.done["reverse"] >= sum(_sizes(self.outs)):
            mode = "reverse"                     # ... or every row
        if mode == "forward":
            self.pullback = None                 # free the tape before the forward sweeps
            n = self.n
            k = _few(n) or self.decision.forward.directions_per_sweep
            timed = self.decision.verify and self.later     # a later call checking a predicted forward mode
            t0 = _clock() if timed else 0.0
            _sweep_all("jacobian (forward)", self.done["forward"], n, k, self.progress, self._push_cols)
            if timed:
                self.t_forward = _clock() - t0
            if self.cols is None:                # n = 0, or the forward sweeps never ran
                outs = self.outs if self.outs is not None else flat(flat.in_leaves)
                self.cols = [[_zeros((0,), o)] for o in outs]
                self.outs = outs
            return _assemble_forward(flat, self.outs, self.cols)
        timed = self.finish == "reverse" and self.decision.verify    # a first call's backward sweep, or a
        t0 = _clock() if timed else 0.0         # later call's recording and backward sweep, against forward's
        if self.pullback is None:
            self._record(stats=False)
        outs = self.outs
        m = sum(_sizes(outs))
        k = _few(m) or self.decision.reverse.directions_per_sweep
        start = self.done["reverse"]
        if start < m:
            _check_real_outputs(flat, outs)
        pullback, rows = self.pullback, self.rows
        _sweep_all("jacobian (reverse)", start, m, k, self.progress,      # the last sweep consumes the tape
                   lambda s, c: pull_span(flat, outs, pullback, s, c, rows, s + c, s + c >= m, m=m))
        if timed:
            self.t_backward = _clock() - t0
        self.pullback = None
        if m == 0:                               # no outputs: no rows
            self.rows = [[_zeros((0,), x)] for x in flat.in_leaves]
        return _assemble_reverse(flat, self.outs, self.rows)


def _sweep_all(label, start, total, k, progress, sweep):
    """``sweep(s, count)`` over directions ``start .. total``, ``k`` at a time, showing progress.

    At most one sweep (the common case) is reported at its end, without a
    :class:`~chainrule.transforms.progress.Progress` unless it ran long.
    """
    if start + k >= total:
        t_start = time.monotonic()
        if start < total:
            sweep(start, total - start)
        report_done(label, total, progress, t_start)
        return
    with Progress(label, total, progress) as bar:
        for s in range(start, total, k):
            sweep(s, min(k, total - s))
            bar.update(min(s + k, total))


def _guarded_why(n, m, operations, seconds, final):
    """The reason of a decision after a guarded forward sweep that ran to its end."""
    why = (f"forward: a guarded forward sweep of all n = {n} directions completed ({operations} operations, "
           f"{_fmt(seconds)} of CPU): scalar code, or arrays small enough that the directions' arithmetic "
           "stayed below the engine's overhead per operation, where one forward sweep costs about a recording "
           "whatever its directions; it was this call's Jacobian and told m = " + str(m))
    if final:
        return why + (f", {_ratio(n, m):.0f} times n: forward for good." if m else ": no outputs, forward for good.")
    return why + "; the next call times reverse mode (a recording and backward sweep) and keeps the faster."


def _trip_note(n, trip):
    return (f"A guarded forward sweep of all {n} directions aborted at {trip.prim.name} on a {trip.shape} value "
            f"(operation {trip.operations}): array code, recorded instead.")


def _noted(d, note):
    """``d`` (just built, not yet shared) with ``note()`` appended to its reason, both written when first read."""
    lazy = d.__dict__.get("_lazy")
    if lazy is None:
        lazy = d.__dict__["_lazy"] = {}
    reason = lazy.get("reason") or d.__dict__.pop("reason")
    lazy["reason"] = lambda: (reason() if callable(reason) else reason) + " " + note()
    return d


def _fmt(s):
    return f"{s:.2f} s" if s >= 1 else f"{s * 1e3:.2f} ms" if s >= 1e-3 else f"{s * 1e6:.0f} us"


def _first_call(fun, args, kwargs, argnums, has_aux, memory_budget, progress=None):
    """``(decision, first_call or None, key)``: the cached decision for these shapes, or a fresh measurement."""
    key = decision_key(fun, args, kwargs, argnums, has_aux, memory_budget)
    decision = DECISIONS.get(key) if key is not None else None
    if decision is not None:
        return decision, None, key
    flat = FlatFun(_bind_kwargs(fun, kwargs), args, argnums, has_aux)
    first = _AutoJacobian(flat, parse_bytes(memory_budget), progress)
    if key is not None:
        DECISIONS.put(key, first.decision)
    return first.decision, first, key


def _with_seconds(d, forward_s, reverse_s, reason, mode=None, measured=None):
    """``d`` with the two modes' seconds (and maybe its mode) replaced: a prediction checked by timing."""
    mode = d.mode if mode is None else mode
    measured = d.measured if measured is None else measured
    ratio = (reverse_s / max(d.m, 1)) / max(forward_s / max(d.n, 1), 1e-12) if measured else d.ratio
    return dataclasses.replace(d, mode=mode, forward=dataclasses.replace(d.forward, seconds=forward_s),
                               reverse=dataclasses.replace(d.reverse, seconds=reverse_s), ratio=ratio,
                               reason=reason, measured=measured, verify=not measured)


def cached_decision(fun, args, argnums=0, memory_budget=None):
    """The decision ``jacobian(fun, argnums, mode="auto")`` took at the shapes of ``args`` (None: none yet)."""
    key = decision_key(fun, args, {}, argnums, False, memory_budget)
    return DECISIONS.get(key) if key is not None else None


def clear_caches() -> None:
    """Forget every decision ``jacobian(mode="auto")`` and ``choose_mode`` have taken in this process.

    >>> clear_caches()
    """
    DECISIONS.clear()


def choose_mode(fun: Callable, *args: Any, argnums: int | Sequence[int] = 0,
                memory_budget: int | str | None = None, sparse: bool = False) -> Decision:
    """The :class:`~chainrule.transforms.mode.Decision` that ``jacobian(fun, mode="auto")`` follows at ``args``.

    With ``sparse=True``, the :class:`~chainrule.sparse.transforms.SparseDecision` of
    ``sparse_jacobian(fun, mode="auto")`` instead: the pattern's size, the colours
    (sweeps) of forward, reverse and bidirectional mode, the vertex orders tried
    and the measured times behind the choice.

    Shares the process's decision cache with ``jacobian``: a decision taken
    for the same function, argnums and input shapes is returned without
    evaluating ``fun``.  Otherwise decides as auto mode's first call does (see
    this module): from the shapes when one mode has far fewer directions, else
    by timing sweeps of a few directions.  The result has ``.mode``
    ("forward" or "reverse"), ``.n``, ``.m``, ``.forward`` and ``.reverse``
    (directions per sweep, sweeps, estimated seconds and bytes), ``.ratio``,
    ``.measured`` and ``.reason``.

    >>> import numpy as np
    >>> choose_mode(lambda x: np.sum(np.sin(x)), np.ones(500)).mode
    'reverse'
    """
    if sparse:
        from ..sparse.transforms import sparse_jacobian        # the sparse transforms build on this module's layer
        return sparse_jacobian(fun, argnums).decision_for(*args)
    return _first_call(fun, args, {}, argnums, False, memory_budget)[0]


def _complex_argument(args, argnums):
    nums = (argnums,) if isinstance(argnums, int) else argnums
    for i in nums:
        if -len(args) <= i < len(args):
            x = args[i]
            if type(x) is np.ndarray or type(x) is np.float64:     # one leaf, the common case
                if x.dtype.kind == "c":
                    return True
                continue
            for x in flatten(args[i])[0]:
                if dtype_of(x).kind == "c":
                    return True
    return False


def jacobian(fun: Callable, argnums: int | Sequence[int] = 0, mode: str = "auto",
             memory_budget: int | str | None = None, has_aux: bool = False,
             progress: bool | None = None, holomorphic: bool = False,
             executor: Any = None) -> Callable:
    """The Jacobian of ``fun``, by the cheaper of forward and reverse mode.

    ``mode="forward"`` is :func:`jacfwd` and ``mode="reverse"`` is
    :func:`jacrev` (identical results).  ``mode="auto"`` decides at the first
    call at given input shapes, for about the price of the chosen mode (see
    this module): from the shapes when one mode has far fewer directions,
    else by timing a few directions of each mode, sweeps that become part of
    the answer.  The decision is kept in a process-wide cache shared with
    :func:`choose_mode` and every other ``jacobian`` of the same function
    (``chainrule.clear_caches()`` empties it).  ``memory_budget`` (bytes, or a
    string such as ``"512MB"``; default a quarter of the available memory)
    bounds how many directions one sweep carries.  ``progress``: a counter on
    stderr for calls that run longer than about 2 s (None: only when stderr is
    a terminal; True: always; False: never).  ``executor``: a
    ``concurrent.futures`` executor or a ``dask.distributed.Client``; auto
    mode decides here (cached as above) and the tasks sweep in the chosen
    mode, or everything stays local when the sweeps are too cheap to ship
    (:mod:`chainrule.transforms.fanout`).  The layout is JAX's: for output
    leaf ``o`` and input leaf ``x``, a block of shape ``o.shape + x.shape``
    and, in auto mode, dtype ``np.result_type(o, x)`` whichever mode ran.
    Complex inputs of a real-valued ``fun`` go to reverse mode; ``holomorphic=True``
    gives the complex derivative of a holomorphic ``fun`` (see :func:`jacfwd`).
    Cost: min over modes of about (directions x one sweep); the first call
    adds at most one plain evaluation of ``fun`` and, near the diagonal, a
    few directions of the other mode -- or, from ``RECORD_FIRST`` (256)
    inputs on, starts with a forward sweep of all of them that stops at array
    code's first costly operation and is the Jacobian of scalar code (whose
    second call then times reverse mode once) -- so ``fun`` should have no
    side effects.

    >>> import numpy as np
    >>> jacobian(lambda x: np.sin(x) * 2.0)(np.zeros(2)).tolist()
    [[2.0, 0.0], [0.0, 2.0]]
    """
    if mode not in _MODES:
        raise ValueError(f"mode={mode!r}; choose one of 'auto', 'forward', 'reverse'")
    if holomorphic:
        return (jacrev if mode == "reverse" else jacfwd)(fun, argnums, has_aux, holomorphic=True, executor=executor)
    if mode != "auto" and (memory_budget is None or executor is not None):
        return (jacfwd if mode == "forward" else jacrev)(fun, argnums, has_aux, executor=executor)
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
            check_holomorphic("jacrev", fun, flat.in_leaves, outs, False)
            k = directions_per_sweep(max(sum(_sizes(outs)), 1), None,
                                     tape_stats(pullback.tape, flat.in_leaves, outs).bytes_per_direction,
                                     memory_budget)
            jac = _assemble_reverse(flat, outs, _pull_rows(flat, outs, pullback, 0, k, [[] for _ in flat.in_leaves]))
            return (jac, strip(flat.aux)) if has_aux else jac
        return jac_reverse

    local_for_good = {}          # (decision key, mode) -> (epoch, Fanout): fanned calls that stay local for good

    @functools.wraps(fun)
    def jac_fun(*args, **kwargs):
        if _complex_argument(args, argnums):         # forward sweeps cannot hold a Jacobian over C
            return jacrev(fun, argnums, has_aux, executor=executor)(*args, **kwargs)
        decision, run, key = _first_call(fun, args, kwargs, argnums, has_aux, memory_budget, progress)
        if executor is not None:
            from . import fanout                         # it builds on this module
            hit = local_for_good.get((key, decision.mode)) if key is not None and run is None else None
            if hit is None or hit[0] != fanout.epoch():
                return _fanned_auto(decision, run, args, kwargs, key)
            fanout.report(hit[1])        # settled local at these shapes: the plain call, as jacfwd/jacrev do
        if run is None:                  # decided before: the chosen mode alone
            run = _AutoJacobian(FlatFun(_bind_kwargs(fun, kwargs), args, argnums, has_aux), decision.memory_budget,
                                progress, decision)
        jac = run.jacobian()             # at the first call, finishes what the probes began
        if decision.verify and key is not None:
            settled = run.settled()      # a predicted mode, now timed
            if settled is not None:
                DECISIONS.put(key, settled)
        return (jac, strip(run.flat.aux)) if has_aux else jac

    def _fanned_auto(decision, run, args, kwargs, key):
        """The decided mode's sweeps over ``executor``; locally (finishing the probes' work) when not worth it."""
        from .fanout import epoch, fan_out                    # it builds on this module

        def serial():
            local = run if run is not None else _AutoJacobian(
                FlatFun(_bind_kwargs(fun, kwargs), args, argnums, has_aux), decision.memory_budget, progress, decision)
            jac = local.jacobian()
            return (jac, strip(local.flat.aux)) if has_aux else jac

        if run is not None and (run.done["forward"] >= run.n > 0 or run.pullback is not None
                                and run.done["reverse"] >= sum(_sizes(run.outs))):
            return serial()                                   # deciding computed the whole Jacobian
        settled = None
        if key is not None:
            settled = functools.partial(lambda k, e, verdict: local_for_good.__setitem__(k, (e, verdict)),
                                        (key, decision.mode), epoch())
        return fan_out(executor, fun, args, kwargs, argnums, has_aux, decision.mode, "jacobian", serial,
                       known_seconds=decision.chosen.seconds if decision.measured else None, settled=settled)

    def decision_for(*args, **kwargs):
        """The Decision taken for this function at the shapes of ``args`` (None before a first call there)."""
        key = decision_key(fun, args, kwargs, argnums, has_aux, memory_budget)
        return DECISIONS.get(key) if key is not None else None

    jac_fun.decision_for = decision_for
    return jac_fun
