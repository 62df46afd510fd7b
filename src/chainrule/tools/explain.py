"""``explain``: the evaluation trace, both sweeps and the cost of each mode, as a textbook shows them.

``explain(f, *args)`` runs ``f`` once per engine with recording levels
(:func:`~chainrule.tools.trace.evaluation_trace`) and returns an
:class:`Explanation`: one :class:`Step` per primitive application (the
Wengert list ``v_i = op(v_j, ...)``, with the primal value, the tangent for
the forward seed and the adjoint for the reverse seed), the totals (n, m,
operations, bytes the tape keeps), the cost of a full Jacobian in each mode,
and the :class:`~chainrule.transforms.mode.Decision` that
``jacobian(mode="auto")`` takes.  Data first: ``to_dict()`` is
JSON-serialisable, ``to_dot()`` is a Graphviz graph, ``str()`` is the table.
Values with more than a few entries are shown by shape and dtype only.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..transforms import choose_mode
from ..transforms.mode import LIVE_VALUES, format_bytes
from .trace import evaluation_trace

__all__ = ["explain", "Explanation", "Step"]

SMALL = 6          # arrays with at most this many entries are shown in full
_MODES = ("both", "forward", "reverse")
_INFIX = {"add": "+", "subtract": "-", "multiply": "*", "true_divide": "/", "divide": "/", "power": "**",
          "matmul": "@", "floor_divide": "//", "remainder": "%"}
_PREFIX = {"negative": "-", "positive": "+"}


def _summary(v):
    """A value for people and for JSON: a float, a short list, or its shape and dtype."""
    if v is None:
        return None
    a = np.asarray(v)
    if a.ndim == 0:
        return float(a) if a.dtype.kind in "fiub" else str(a)
    if a.size <= SMALL:
        return a.astype(float).tolist()
    return {"shape": list(a.shape), "dtype": str(a.dtype)}


def _show(v):
    s = _summary(v)
    if s is None:
        return "0"
    if isinstance(s, float):
        return f"{s:.10g}"
    if isinstance(s, dict):
        return f"<{s['dtype']} {tuple(s['shape'])}>"
    return np.array2string(np.asarray(s), precision=6, separator=", ", max_line_width=10_000)


@dataclass
class Step:
    """One row of the Wengert list: ``name = op(operands)``, with its three values."""

    name: str
    op: str
    operands: tuple
    definition: str        # "x * y", "sin(x)", "input"
    primal: object
    tangent: object = None
    adjoint: object = None
    output: int = None     # position among the outputs, if this value is one

    def to_dict(self):
        return {"name": self.name, "op": self.op, "operands": list(self.operands),
                "definition": self.definition, "primal": _summary(self.primal),
                "tangent": _summary(self.tangent), "adjoint": _summary(self.adjoint), "output": self.output}


@dataclass
class Explanation:
    """What ``explain`` found: the trace, both sweeps, the totals and the recommendation."""

    function: str
    inputs: list                     # names of the inputs, in order
    steps: list                      # Step per input and per primitive application, in execution order
    mode: str                        # which sweeps to show: "both", "forward", "reverse"
    tangent_seed: list               # the forward seed, one entry per input
    adjoint_seed: list               # the reverse seed, one entry per output
    n: int
    m: int
    operations: int
    tape_bytes: int
    cost: dict = field(default_factory=dict)     # mode -> {"directions", "sweeps", "work", "memory"}
    decision: object = None          # the chainrule.transforms.mode.Decision of jacobian(mode="auto")

    @property
    def recommendation(self):
        return self.decision.mode

    @property
    def reason(self):
        return self.decision.reason

    def to_dict(self):
        """Everything as plain JSON-serialisable data."""
        return {"function": self.function, "inputs": list(self.inputs), "mode": self.mode,
                "steps": [s.to_dict() for s in self.steps],
                "tangent_seed": [_summary(t) for t in self.tangent_seed],
                "adjoint_seed": [_summary(a) for a in self.adjoint_seed],
                "totals": {"n": self.n, "m": self.m, "operations": self.operations,
                           "tape_bytes": self.tape_bytes},
                "cost": self.cost, "recommendation": self.recommendation, "reason": self.reason,
                "decision": _json(self.decision.to_dict())}

    def to_dot(self):
        """The trace as a Graphviz digraph (DOT text): inputs, operations, and the edges between them."""
        lines = ["digraph trace {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=11];']
        consts = 0
        for s in self.steps:
            shape = "box" if s.op == "input" else ("doublecircle" if s.output is not None else "ellipse")
            label = f"{s.name}\\n{s.definition}\\n{_show(s.primal)}" if s.op != "input" else \
                f"{s.name}\\n{_show(s.primal)}"
            lines.append(f'  "{s.name}" [shape={shape}, label="{_dot_escape(label)}"];')
            for a in s.operands:
                if a in {t.name for t in self.steps}:
                    lines.append(f'  "{a}" -> "{s.name}";')
                else:
                    consts += 1
                    lines.append(f'  "c{consts}" [shape=plaintext, label="{_dot_escape(a)}"];')
                    lines.append(f'  "c{consts}" -> "{s.name}";')
        lines.append("}")
        return "\n".join(lines) + "\n"

    def __str__(self):
        return render(self)


def _dot_escape(s):
    return str(s).replace('"', '\\"').replace("\n", "\\n")


def _json(v):
    if isinstance(v, dict):
        return {k: _json(x) for k, x in v.items()}
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _index_text(index):
    parts = []
    for i in index if isinstance(index, tuple) else (index,):
        if isinstance(i, slice):
            text = ("" if i.start is None else str(i.start)) + ":" + ("" if i.stop is None else str(i.stop))
            parts.append(text + ("" if i.step is None else f":{i.step}"))
        elif i is None:
            parts.append("None")
        elif i is Ellipsis:
            parts.append("...")
        elif np.ndim(i) == 0:
            parts.append(str(i))
        else:
            parts.append(f"<index {np.shape(i)}>")
    return ", ".join(parts)


def _definition(op, operands, params):
    if op == "getitem" and params and "index" in params and len(operands) == 1:
        return f"{operands[0]}[{_index_text(params['index'])}]"
    if op in _INFIX and len(operands) == 2:
        return f"{operands[0]} {_INFIX[op]} {operands[1]}"
    if op in _PREFIX and len(operands) == 1:
        return f"{_PREFIX[op]}{operands[0]}"
    extra = [f"{k}={v}" for k, v in (params or {}).items() if v is not None and v is not False]
    return f"{op}({', '.join(list(operands) + extra)})"


def _input_names(f, count):
    try:
        params = [p.name for p in inspect.signature(f).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    if len(params) >= count:
        return params[:count]
    return [f"x{i}" for i in range(count)]


def _numeric(a):
    try:
        return np.asarray(a).dtype.kind in "iuf"
    except (ValueError, TypeError):
        return False


def _basis(like, index=0):
    e = np.zeros(np.shape(like))
    if e.ndim == 0:
        return np.float64(1.0 if index == 0 else 0.0)
    if index == 0:
        e.flat[0] = 1.0
    return e


def explain(f: Callable, *args: Any, mode: str = "both", names: Sequence[str] | None = None, tangents: Any = None,
            adjoint: Any = None, memory_budget: int | str | None = None) -> Explanation:
    """The evaluation trace of ``f(*args)`` with both sweeps and the cost of each mode.

    ``args`` are floats or float arrays, one per input.  ``mode`` ("both",
    "forward" or "reverse") says which sweeps ``str()`` prints.  The forward
    sweep is seeded with ``tangents`` (default: the first basis direction,
    1 in the first entry of the first input); the reverse sweep with
    ``adjoint`` (default: 1 in the first entry of the first output, 0
    elsewhere).  ``names`` names the inputs (default: the
    parameters of ``f``).  Cost: a few evaluations of ``f``.

    >>> import numpy as np
    >>> e = explain(lambda x, y: x * y + np.sin(x), 2.0, 3.0)
    >>> [s.definition for s in e.steps]
    ['input', 'input', 'x * y', 'sin(x)', 'v1 + v2']
    >>> bool(e.steps[0].adjoint == 3 + np.cos(2.0)), e.n, e.m
    (True, 2, 1)
    """
    if mode not in _MODES:
        raise ValueError(f"mode={mode!r}; choose one of 'both', 'forward', 'reverse'")
    if not args:
        raise TypeError("explain(f, *args) needs the point to evaluate at: explain(f, 2.0, 3.0)")
    for i, a in enumerate(args):
        if isinstance(a, (dict, tuple, list)) and not _numeric(a):
            raise TypeError(f"explain takes floats and float arrays, one per input; argument {i} is a "
                            f"{type(a).__name__}. Explain a function of its leaves instead, e.g. "
                            "explain(lambda w, b: f({'w': w, 'b': b}), w, b).")
    args = [np.float64(a) if isinstance(a, (int, float)) and not isinstance(a, bool) else np.asarray(a, dtype=float)
            if not isinstance(a, np.ndarray) else a for a in args]
    names = list(names) if names is not None else _input_names(f, len(args))
    if tangents is None:
        tangents = [_basis(a, i) for i, a in enumerate(args)]
    out = f(*args)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    if adjoint is None:
        adjoint = [_basis(o, j) for j, o in enumerate(outs)]
    elif not isinstance(adjoint, (tuple, list)):
        adjoint = [adjoint]
    rows = evaluation_trace(f, args, tangents=list(tangents), adjoint=list(adjoint))
    rename = {f"x{i}": nm for i, nm in enumerate(names)}
    steps = []
    for r in rows:
        name = rename.get(r.name, r.name)
        operands = tuple(rename.get(o, o) for o in r.operands)
        steps.append(Step(name, r.op, operands, "input" if r.op == "input" else _definition(r.op, operands, r.params),
                          r.primal, r.tangent, r.adjoint, r.output))
    decision = choose_mode(f, *args, argnums=tuple(range(len(args))), memory_budget=memory_budget)
    n, m, ops = decision.n, decision.m, decision.operations
    per_direction = LIVE_VALUES * max([np.asarray(s.primal).nbytes for s in steps] + [8])
    cost = {
        "forward": {"directions": n, "sweeps": decision.forward.sweeps, "work": n * ops,
                    "memory": decision.forward.directions_per_sweep * per_direction, "tape": 0,
                    "estimated_seconds": decision.forward.seconds},
        "reverse": {"directions": m, "sweeps": decision.reverse.sweeps, "work": ops + m * ops,
                    "memory": decision.tape_bytes + decision.reverse.directions_per_sweep * per_direction,
                    "tape": decision.tape_bytes, "estimated_seconds": decision.reverse.seconds},
    }
    fname = getattr(f, "__name__", "f")
    return Explanation(fname if fname != "<lambda>" else "f", names, steps, mode, list(tangents), list(adjoint),
                       n, m, ops, decision.tape_bytes, cost, decision)


def _table(header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    fmt = lambda r: "  " + "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return [fmt(header), "  " + "  ".join("-" * w for w in widths)] + [fmt(r) for r in rows]


def _dot(name):
    return f"{name}_dot"


def _bar(name):
    return f"{name}_bar"


# the local partial derivative d op / d operand, as text, for unary operations ({a}: operand, {v}: result)
_PARTIAL = {"sin": "cos({a})", "cos": "-sin({a})", "tan": "(1 + {v}**2)", "exp": "{v}", "expm1": "({v} + 1)",
            "log": "1/{a}", "log1p": "1/(1 + {a})", "tanh": "(1 - {v}**2)", "sinh": "cosh({a})",
            "cosh": "sinh({a})", "sqrt": "1/(2*{v})", "square": "2*{a}", "arctan": "1/(1 + {a}**2)",
            "absolute": "sign({a})", "abs": "sign({a})", "reciprocal": "-{v}**2"}
_LINEAR = {"sum", "mean", "reshape", "transpose", "negative", "positive", "squeeze", "expand_dims", "ravel",
           "broadcast_to", "getitem", "moveaxis", "swapaxes", "real", "copy"}


def _partials(step, traced):
    """``[(operand, text of d step / d operand, kind)]`` for its traced operands; kind: "scale" or "linear"."""
    ops, v, out = step.operands, step.name, []
    a = ops[0] if ops else None
    b = ops[1] if len(ops) > 1 else None
    op = step.op
    if op in ("add", "subtract") and len(ops) == 2:
        return [(o, ("-1" if (op == "subtract" and k == 1) else "1"), "scale") for k, o in enumerate(ops)
                if o in traced]
    if op == "multiply" and len(ops) == 2:
        return [(o, other, "scale") for o, other in ((a, b), (b, a)) if o in traced]
    if op in ("true_divide", "divide") and len(ops) == 2:
        return ([(a, f"1/{b}", "scale")] if a in traced else []) + \
               ([(b, f"-{v}/{b}", "scale")] if b in traced else [])
    if op == "power" and len(ops) == 2 and a in traced and b not in traced:
        try:
            c = float(b) - 1
            return [(a, f"{b}*{a}" if c == 1 else f"{b}*{a}**{c:g}", "scale")]
        except ValueError:
            return [(a, f"{b}*{a}**({b} - 1)", "scale")]
    if op in _PARTIAL and a in traced and len(ops) == 1:
        return [(a, _PARTIAL[op].format(a=a, v=v), "scale")]
    if op in _LINEAR or op == "matmul":
        return [(o, op, "linear") for o in ops if o in traced]
    return [(o, f"d{v}/d{o}", "scale") for o in ops if o in traced]


def _tangent_rule(step, traced):
    if step.op == "input":
        return "seed"
    terms = []
    for o, d, kind in _partials(step, traced):
        if kind == "linear":
            terms.append(_linear_text(step, o, _dot(o), forward=True))
        elif d == "1":
            terms.append(_dot(o))
        elif d == "-1":
            terms.append(f"-{_dot(o)}")
        else:
            terms.append(f"{d} * {_dot(o)}")
    return _join(terms) or "0"


def _linear_text(step, operand, t, forward):
    if step.op == "matmul":
        a, b = step.operands
        if forward:
            return f"{t} @ {b}" if operand == a else f"{a} @ {t}"
        return f"{t} @ {b}.T" if operand == a else f"{a}.T @ {t}"
    if step.op == "negative":
        return f"-{t}"
    if step.op == "getitem" and step.definition.startswith(operand + "["):
        where = step.definition[len(operand):]
        return f"{t}{where}" if forward else f"({t} placed at {where})"
    return f"{step.op}({t})" if forward else f"{step.op}^T({t})"


def _adjoint_rule(step, steps, traced, seeded):
    terms = ["seed"] if step.name in seeded else []
    for c in steps:
        for o, d, kind in _partials(c, traced):
            if o != step.name:
                continue
            if kind == "linear":
                terms.append(_linear_text(c, o, _bar(c.name), forward=False))
            elif d == "1":
                terms.append(_bar(c.name))
            elif d == "-1":
                terms.append(f"-{_bar(c.name)}")
            else:
                terms.append(f"{_bar(c.name)} * {d}")
    return _join(terms) or "0"


def _join(terms):
    text = " + ".join(terms)
    return text.replace("+ -", "- ")


def render(e):
    """The explanation as text: the trace, the sweeps asked for, the totals and the recommendation."""
    inputs = ", ".join(e.inputs)
    at = ", ".join(f"{s.name} = {_show(s.primal)}" for s in e.steps if s.op == "input")
    lines = [f"{e.function}({inputs}) at {at}", "", "Evaluation trace (Wengert list)"]
    lines += _table(["v", "definition", "primal", "shape"],
                    [[s.name, s.definition, _show(s.primal), _shape(s.primal)] for s in e.steps])
    outputs = [s.name for s in e.steps if s.output is not None]
    if outputs:
        lines.append(f"  output: {', '.join(outputs)}")
    if e.mode in ("both", "forward"):
        seed = ", ".join(f"{_dot(nm)} = {_show(t)}" for nm, t in zip(e.inputs, e.tangent_seed))
        lines += ["", f"Forward sweep (tangents), seed {seed}"]
        traced = {s.name for s in e.steps}
        lines += _table(["v", "tangent", "rule", "value"],
                        [[s.name, _dot(s.name), _tangent_rule(s, traced), _show(s.tangent)] for s in e.steps])
    if e.mode in ("both", "reverse"):
        seed = ", ".join(f"{_bar(nm)} = {_show(a)}" for nm, a in zip(outputs or ["out"], e.adjoint_seed))
        lines += ["", f"Reverse sweep (adjoints), seed {seed}, in reverse order"]
        traced = {s.name for s in e.steps}
        seeded = {s.name for s in e.steps if s.output is not None}
        lines += _table(["v", "adjoint", "rule", "value"],
                        [[s.name, _bar(s.name), _adjoint_rule(s, e.steps, traced, seeded), _show(s.adjoint)]
                         for s in reversed(e.steps)])
    lines += ["", f"Totals: n = {e.n} input{'s' * (e.n != 1)}, m = {e.m} output{'s' * (e.m != 1)}, "
                  f"{e.operations} operation{'s' * (e.operations != 1)}; the reverse sweep keeps {format_bytes(e.tape_bytes)}",
              "", "Cost of the full Jacobian"]
    rows = []
    for mode in ("forward", "reverse"):
        c = e.cost[mode]
        work = f"{c['directions']} x {e.operations} = {c['directions'] * e.operations}"
        if mode == "reverse":
            work += f" (+{e.operations} recorded)"
        rows.append([mode, c["directions"], c["sweeps"], work, format_bytes(c["memory"])])
    lines += _table(["mode", "directions", "sweeps", "work (directions x operations)", "memory"], rows)
    lines += ["", f"Recommendation: {e.reason}"]
    return "\n".join(lines) + "\n"


def _shape(v):
    a = np.asarray(v)
    return "scalar" if a.ndim == 0 else str(a.shape)
