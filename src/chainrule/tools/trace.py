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


@dataclass
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


class _Snap:
    """A tracer's state when an operation was recorded (a tracer written into later holds another)."""

    __slots__ = ("primal", "node", "tangent")

    def __init__(self, t):
        self.primal = t.primal
        self.node = getattr(t, "node", None)
        self.tangent = getattr(t, "tangent", None)


def _record(level, prim, args, params, out):
    if (isinstance(out, Tracer) and out._level is level) or _traced_tuple(out, level):
        snap = tuple(map(_Snap, out)) if isinstance(out, tuple) else _Snap(out)
        operands = tuple(_Snap(a) if isinstance(a, Tracer) and a._level is level else a for a in args)
        level.rows.append((prim, operands, params, snap))
    return out


class _RecordingForward(ForwardLevel):
    __slots__ = ("rows",)

    def process_unary(self, prim, x):             # route the engine's shortcut through process
        return self.process(prim, (x,), EMPTY)

    def process(self, prim, args, params):
        return _record(self, prim, args, params, super().process(prim, args, params))


class _RecordingReverse(ReverseLevel):
    __slots__ = ("rows",)

    def process_unary(self, prim, x):             # route the engine's shortcut through process
        return self.process(prim, (x,), EMPTY)

    def process(self, prim, args, params):
        return _record(self, prim, args, params, super().process(prim, args, params))


def _traced_tuple(out, level):
    return isinstance(out, tuple) and bool(out) and all(isinstance(o, Tracer) and o._level is level for o in out)


def _promoted(out):
    """The function's result with object arrays of traced values joined (np.array([a, b]))."""
    if isinstance(out, (tuple, list)):
        return type(out)(_promoted(o) for o in out)
    return promote(out) if type(out) is np.ndarray and out.dtype.kind == "O" else out


def _operand(a, names):
    if isinstance(a, _Snap):
        return names.get(a.node, "?")
    if isinstance(a, Tracer):
        return "?"
    if np.ndim(a) == 0:
        return repr(float(a)) if isinstance(a, (float, np.floating)) else repr(a)
    return f"const{np.shape(a)}"


def evaluation_trace(f, args, tangents=None, adjoint=None, with_stats=False):
    """The rows of ``f(*args)``'s evaluation trace (a flat function of flat float arguments).

    ``tangents`` (default: the first basis direction) seeds the forward sweep;
    ``adjoint`` (default: 1 for each output entry) seeds the reverse sweep.
    With ``with_stats``, returns ``(rows, stats)``: the
    :class:`~chainrule.transforms.mode.TapeStats` of the recorded tape.
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
    names = {t.node: f"x{i}" for i, t in enumerate(inputs)}
    rows = [TraceRow(f"x{i}", "input", (), a) for i, a in enumerate(args)]
    node_row = {t.node: rows[i] for i, t in enumerate(inputs)}
    k = 0
    for prim, op_args, params, o in _expand(rev.rows):
        k += 1
        names[o.node] = f"v{k}"
        row = TraceRow(f"v{k}", prim, tuple(_operand(a, names) for a in op_args), o.primal,
                       params=dict(params) if params else None)
        rows.append(row)
        node_row[o.node] = row
    outs = out if isinstance(out, (tuple, list)) else (out,)
    for j, o in enumerate(outs):
        if isinstance(o, ReverseTracer) and o.node in node_row and node_row[o.node].output is None:
            node_row[o.node].output = j
    stats = tape_stats(rev.tape, args, [o.primal if isinstance(o, ReverseTracer) else o for o in outs]) \
        if with_stats else None
    adjoints = [None] * len(rev.tape)
    seeds = adjoint if isinstance(adjoint, (tuple, list)) else (adjoint,) * len(outs)
    for o, s in zip(outs, seeds):
        if isinstance(o, ReverseTracer):
            adjoints[o.node] = np.ones_like(o.primal, dtype=float) if s is None else s
    sweep_backward(list(rev.tape), adjoints, consume=True, keep_adjoints=True)
    for node, row in node_row.items():
        row.adjoint = adjoints[node]
    # forward sweep, recorded: the same program, so the same sequence of operations
    fwd = _RecordingForward()
    fwd.rows = []
    with fwd:
        f_inputs = [ForwardTracer(fwd, a, t) for a, t in zip(args, tangents)]
        _promoted(f(*f_inputs))
    for row, t in zip(rows, tangents):
        row.tangent = t
    for row, (_, _, _, o) in zip(rows[len(args):], _expand(fwd.rows)):
        row.tangent = o.tangent
    return (rows, stats) if with_stats else rows


def _expand(recorded):
    """Recorded applications as ``(op name, args, params, tracer)``, one per result."""
    for prim, op_args, params, o in recorded:
        name = prim.name.replace("numpy.", "")
        if isinstance(o, tuple):
            for j, oj in enumerate(o):
                yield f"{name}[{j}]", op_args, params, oj
        else:
            yield name, op_args, params, o
