"""Recording the evaluation trace: every primitive application with its values.

``evaluation_trace(f, args, tangents, adjoint)`` runs ``f`` once under each
engine with recording levels and returns one :class:`TraceRow` per
primitive application, in execution order (a Wengert list): the operation,
its operands, its primal value, its tangent in the seed direction and its
adjoint for the seed adjoint.  ``explain`` renders these rows; tests read them.
The recording levels are subclasses, so the engines' hot paths pay nothing
when nobody records.
"""

from dataclasses import dataclass

import numpy as np

from ..core import EMPTY, Tracer, promote
from ..forward import ForwardLevel, ForwardTracer
from ..reverse import ReverseLevel, ReverseTracer, sweep_backward
from ..transforms.mode import tape_stats

__all__ = ["TraceRow", "evaluation_trace"]


@dataclass(slots=True)
class TraceRow:
    """One line of the Wengert list: ``name = op(operands)``."""

    name: str          # "x0", "x1" for inputs, "v1", "v2", ... for intermediates
    op: str            # the primitive, or "input"
    operands: tuple    # names of traced operands, reprs of constants
    primal: object
    tangent: object = None
    adjoint: object = None
    params: dict = None    # the primitive's static parameters (axis, shape, ...)
    output: int = None     # the position among the function's outputs, for an output row


# What the recording levels keep per operation, as plain tuples (no object per value: a trace has
# 10^5 operations).  A tracer may later be written into (``x[i] = v`` makes it hold a new value), so
# each keeps the state of the moment: reverse, ``(prim, operands, params, out, several)`` with
# ``out`` a ``(node, primal)`` pair (a tuple of them when ``several``) and each operand its node if
# traced, else ``(constant,)``; forward, the result's tangent (a tuple of them when ``several``).


def _record_reverse(level, prim, args, params, out):
    if type(out) is ReverseTracer or isinstance(out, Tracer):
        if out._level is not level:
            return out
        snap, several = (out.node, out.primal), False
    elif type(out) is tuple:
        if not _traced_tuple(out, level):
            return out
        snap, several = tuple((o.node, o.primal) for o in out), True
    else:
        return out
    operands = tuple([a.node if type(a) is ReverseTracer and a._level is level else _reference(a, level)
                      for a in args])
    level.rows.append((prim, operands, params, snap, several))
    return out


def _reference(a, level):
    """An operand in a reverse row: its node if it is a value of ``level``, else ``(constant,)``."""
    return a.node if isinstance(a, Tracer) and a._level is level else (a,)


def _record_forward(level, out):
    if type(out) is ForwardTracer or isinstance(out, Tracer):
        if out._level is level:
            level.rows.append(out.tangent)
    elif type(out) is tuple:
        if _traced_tuple(out, level):
            level.rows.append(tuple(o.tangent for o in out))
    return out


class _RecordingForward(ForwardLevel):
    __slots__ = ("rows",)

    def process_unary(self, prim, x):             # the engine's shortcut, recorded unless it went through process
        rows = self.rows
        k = len(rows)
        out = ForwardLevel.process_unary(self, prim, x)
        return _record_forward(self, out) if len(rows) == k else out

    def process(self, prim, args, params):
        return _record_forward(self, super().process(prim, args, params))


class _RecordingReverse(ReverseLevel):
    __slots__ = ("rows",)

    def process_unary(self, prim, x):             # the engine's shortcut, recorded unless it went through process
        rows = self.rows
        k = len(rows)
        out = ReverseLevel.process_unary(self, prim, x)
        return _record_reverse(self, prim, (x,), EMPTY, out) if len(rows) == k else out

    def process(self, prim, args, params):
        return _record_reverse(self, prim, args, params, super().process(prim, args, params))


def _traced_tuple(out, level):
    return isinstance(out, tuple) and bool(out) and all(isinstance(o, Tracer) and o._level is level for o in out)


def _promoted(out):
    """The function's result with object arrays of traced values joined (np.array([a, b]))."""
    if isinstance(out, (tuple, list)):
        return type(out)(_promoted(o) for o in out)
    return promote(out) if type(out) is np.ndarray and out.dtype.kind == "O" else out


def _operand(a, names):
    if type(a) is int:
        return names.get(a, "?")
    a = a[0]
    if isinstance(a, Tracer):
        return "?"
    if type(a) is float:
        return repr(a)
    if np.ndim(a) == 0:
        return repr(float(a)) if isinstance(a, (float, np.floating)) else repr(a)
    return f"const{np.shape(a)}"


def evaluation_trace(f, args, tangents=None, adjoint=None, with_stats=False, bar=None):
    """The rows of ``f(*args)``'s evaluation trace (a flat function of flat float arguments).

    ``tangents`` (default: the first basis direction) seeds the forward sweep;
    ``adjoint`` (default: 1 for each output entry) seeds the reverse sweep.
    With ``with_stats``, returns ``(rows, stats)``: the
    :class:`~chainrule.transforms.mode.TapeStats` of the recorded tape.
    ``bar`` (a :class:`~chainrule.transforms.progress.Progress` of 3 units)
    counts the recording, the backward sweep and the forward sweep.
    Cost: one recorded evaluation, one backward and one forward sweep, O(operations).
    """
    args = list(args)
    if tangents is None:
        tangents = [np.ones_like(a, dtype=float) * (i == 0) for i, a in enumerate(args)]
    # reverse sweep, recorded
    rev = _RecordingReverse()
    rev.rows = []
    with rev:
        inputs = [rev.new_input(a) for a in args]
        out = _promoted(f(*inputs))
    if bar is not None:
        bar.update(1)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    position = {}                                   # node -> its first position among the outputs
    for j, o in enumerate(outs):
        if isinstance(o, ReverseTracer) and o._level is rev:
            position.setdefault(o.node, j)
    stats = tape_stats(rev.tape, args, [o.primal if isinstance(o, ReverseTracer) else o for o in outs]) \
        if with_stats else None
    adjoints = [None] * len(rev.tape)
    seeds = adjoint if isinstance(adjoint, (tuple, list)) else (adjoint,) * len(outs)
    for o, s in zip(outs, seeds):
        if isinstance(o, ReverseTracer):
            adjoints[o.node] = np.ones_like(o.primal, dtype=float) if s is None else s
    sweep_backward(list(rev.tape), adjoints, consume=True, keep_adjoints=True)
    if bar is not None:
        bar.update(2)
    # forward sweep, recorded: the same program, so the same sequence of operations
    fwd = _RecordingForward()
    fwd.rows = []
    with fwd:
        f_inputs = [ForwardTracer(fwd, a, t) for a, t in zip(args, tangents)]
        _promoted(f(*f_inputs))
    tans = []                                       # one tangent per value, in the order of the rows below
    for t in fwd.rows:
        if type(t) is tuple:
            tans.extend(t)
        else:
            tans.append(t)
    tans.extend([None] * (sum(len(r[3]) if r[4] else 1 for r in rev.rows) - len(tans)))
    # the rows, each built once with its three values
    names = {t.node: f"x{i}" for i, t in enumerate(inputs)}
    rows = [TraceRow(f"x{i}", "input", (), a, tg, adjoints[t.node], None, position.get(t.node))
            for i, (a, t, tg) in enumerate(zip(args, inputs, tangents))]
    k = 0
    short = {}                                      # prim -> its name without "numpy."
    for prim, op_args, params, snap, several in rev.rows:
        name = short.get(prim)
        if name is None:
            name = short[prim] = prim.name.replace("numpy.", "")
        if len(op_args) == 2:                       # unrolled: the bulk of all operations
            a, b = op_args
            operands = (names.get(a, "?") if type(a) is int else _operand(a, names),
                        names.get(b, "?") if type(b) is int else _operand(b, names))
        else:
            operands = tuple([names.get(a, "?") if type(a) is int else _operand(a, names) for a in op_args])
        params = dict(params) if params else None
        if not several:                             # the common case, unrolled
            node, primal = snap
            names[node] = vk = f"v{k + 1}"
            rows.append(TraceRow(vk, name, operands, primal, tans[k], adjoints[node], params, position.get(node)))
            k += 1
            continue
        for j, (node, primal) in enumerate(snap):
            names[node] = vk = f"v{k + 1}"
            rows.append(TraceRow(vk, f"{name}[{j}]", operands, primal, tans[k], adjoints[node], params,
                                 position.get(node)))
            k += 1
    if bar is not None:
        bar.update(3)
    return (rows, stats) if with_stats else rows
