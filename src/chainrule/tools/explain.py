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
Values with more than a few entries are shown by shape and dtype only, every
cell on one line; long traces print their first and last ``max_rows / 2``
rows per sweep and say how many were left out (``to_dict()`` keeps all).
Arguments left out of ``argnums`` are not differentiated: the operations on
them alone are folded into expressions that keep their names
(``cos(w * t)``), and their values are listed once under the trace.
Building and printing are linear in the number of operations.
"""

from __future__ import annotations

import gc
import inspect
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ChainruleError
from ..transforms import choose_mode
from ..transforms.jacobian import RECORD_FIRST, cached_decision, scalar_code, shape_decision
from ..transforms.mode import LIVE_VALUES, format_bytes
from ..transforms.progress import Progress
from .trace import evaluation_trace

__all__ = ["explain", "Explanation", "Step"]

SMALL = 6          # arrays with at most this many entries are shown in full
MAX_ROWS = 40      # rows per sweep that str() prints by default: the first and last half
FOLD_WIDTH = 48    # an expression of constants longer than this stays a row of its own
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
    """A value in one line: a number, the entries of a small array (nested brackets), or ``<dtype (shape)>``."""
    s = _summary(v)
    if s is None:
        return "0"
    if isinstance(s, float):
        return f"{s:.10g}"
    if isinstance(s, dict):
        return f"<{s['dtype']} {tuple(s['shape'])}>"
    return _nested(s)


def _nested(v):
    if isinstance(v, list):
        return "[" + ", ".join(_nested(x) for x in v) + "]"
    return f"{v:.6g}"


@dataclass
class Step:
    """One row of the Wengert list: ``name = op(operands)``, with its three values.

    ``definition`` (``"x * y"``, ``"sin(x)"``, ``"input"``) is written when first
    read: a long trace prints only a few of its rows.
    """

    name: str
    op: str
    operands: tuple
    primal: object
    tangent: object = None
    adjoint: object = None
    output: int = None     # position among the outputs, if this value is one
    params: dict = field(default=None, repr=False)      # the primitive's static parameters
    text: str = field(default=None, repr=False)         # the definition, once written

    @property
    def definition(self):
        if self.text is None:
            self.text = "input" if self.op == "input" else _definition(self.op, self.operands, self.params)
        return self.text

    def to_dict(self):
        return {"name": self.name, "op": self.op, "operands": list(self.operands),
                "definition": self.definition, "primal": _summary(self.primal),
                "tangent": _summary(self.tangent), "adjoint": _summary(self.adjoint), "output": self.output}


@dataclass
class Explanation:
    """What ``explain`` found: the trace, both sweeps, the totals and the recommendation.

    Data first: ``steps`` (one row per input and per primitive application: primal, tangent,
    adjoint), ``to_dict()`` and ``to_dot()``; ``str()`` renders the tables.

    >>> import numpy as np
    >>> e = explain(lambda x, y: x * y + np.sin(x), 2.0, 3.0)
    >>> e.n, e.m, e.operations, [s.definition for s in e.steps][2:]
    (2, 1, 3, ['x * y', 'sin(x)', 'v1 + v2'])
    >>> round(float(e.steps[1].adjoint), 12)            # y_bar = x: one reverse sweep gives the gradient
    2.0
    """

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
    constants: list = field(default_factory=list)   # (name, value) of the arguments not differentiated
    max_rows: int = MAX_ROWS         # rows per sweep str() prints (None: all)
    sparse: object = None            # the SparseDecision of sparse_jacobian (explain(..., sparse=True))

    @property
    def recommendation(self):
        return self.decision.mode

    @property
    def reason(self):
        return self.decision.reason

    def to_dict(self):
        """Everything as plain JSON-serialisable data."""
        return {"function": self.function, "inputs": list(self.inputs), "mode": self.mode,
                "constants": {nm: _summary(v) for nm, v in self.constants},
                "steps": [s.to_dict() for s in self.steps],
                "tangent_seed": [_summary(t) for t in self.tangent_seed],
                "adjoint_seed": [_summary(a) for a in self.adjoint_seed],
                "totals": {"n": self.n, "m": self.m, "operations": self.operations,
                           "tape_bytes": self.tape_bytes},
                "cost": self.cost, "recommendation": self.recommendation, "reason": self.reason,
                "decision": _json(self.decision.to_dict()),
                "sparse": None if self.sparse is None else _json(self.sparse.to_dict())}

    def to_dot(self):
        """The trace as a Graphviz digraph (DOT text): inputs, operations, and the edges between them."""
        lines = ["digraph trace {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=11];']
        consts = 0
        known = {t.name for t in self.steps}
        for s in self.steps:
            shape = "box" if s.op == "input" else ("doublecircle" if s.output is not None else "ellipse")
            label = f"{s.name}\\n{s.definition}\\n{_show(s.primal)}" if s.op != "input" else \
                f"{s.name}\\n{_show(s.primal)}"
            lines.append(f'  "{s.name}" [shape={shape}, label="{_dot_escape(label)}"];')
            for a in s.operands:
                if a in known:
                    lines.append(f'  "{a}" -> "{s.name}";')
                else:
                    consts += 1
                    lines.append(f'  "c{consts}" [shape=plaintext, label="{_dot_escape(a)}"];')
                    lines.append(f'  "c{consts}" -> "{s.name}";')
        lines.append("}")
        return "\n".join(lines) + "\n"

    def __str__(self):
        return render(self, self.max_rows)


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


MANY = 6           # operations with more operands than this show the first few and the last


def _definition(op, operands, params):
    if len(operands) > MANY:
        operands = tuple(operands[:3]) + (f"... {len(operands) - 4} more ...", operands[-1])
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


def _first_basis(values):
    """The first basis direction over ``values``: 1 in the first entry of the first non-empty one."""
    first = next((i for i, v in enumerate(values) if np.size(v)), None)
    return [_basis(v, 0 if i == first else 1) for i, v in enumerate(values)]


def explain(f: Callable, *args: Any, mode: str = "both", names: Sequence[str] | None = None, tangents: Any = None,
            adjoint: Any = None, memory_budget: int | str | None = None, argnums: int | Sequence[int] | None = None,
            max_rows: int | None = MAX_ROWS, progress: bool | None = None, sparse: bool = False) -> Explanation:
    """The evaluation trace of ``f(*args)`` with both sweeps and the cost of each mode.

    ``args`` are floats or float arrays, one per input.  ``argnums`` (default:
    all) says which are differentiated; the others keep their names in the
    trace (``cos(w * t)``) and are listed with their values under it.
    ``mode`` ("both", "forward" or "reverse") says which sweeps ``str()``
    prints, and ``max_rows`` how many rows of each (the first and last half,
    and how many were left out; None: all).  The forward sweep is seeded with
    ``tangents`` (one per differentiated input; default: the first basis
    direction, 1 in the first entry of the first input); the reverse sweep
    with ``adjoint`` (default: 1 in the first entry of the first output, 0
    elsewhere).  ``names`` names the arguments (default: the parameters of
    ``f``).  ``progress``: a counter of the three traced sweeps on stderr
    when they run longer than about 2 s (None: only when stderr is a
    terminal; True: always; False: never).  Cost: a few evaluations of
    ``f``; building and printing are linear in the number of operations.  ``sparse=True`` also detects the
    Jacobian's sparsity pattern and plans it as :func:`~chainrule.sparse_jacobian`
    would (``.sparse``, a :class:`~chainrule.SparseDecision`: nonzeros, density,
    colours per mode, the mode chosen), printed under the dense costs.

    >>> import numpy as np
    >>> e = explain(lambda x, y: x * y + np.sin(x), 2.0, 3.0)
    >>> [s.definition for s in e.steps]
    ['input', 'input', 'x * y', 'sin(x)', 'v1 + v2']
    >>> bool(e.steps[0].adjoint == 3 + np.cos(2.0)), e.n, e.m
    (True, 2, 1)
    >>> [s.definition for s in explain(lambda x, w: x * np.cos(w), 2.0, 0.5, argnums=0).steps]
    ['input', 'x * cos(w)']
    >>> explain(lambda x: x[1:] * x[:-1], np.ones(4), sparse=True).sparse.nonzeros
    6
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
    diff = _argnums(argnums, len(args))
    if tangents is None:
        first = next((i for i in diff if np.size(args[i])), None)     # the first non-empty input
        tangents = [_basis(a, 0 if i == first else 1) for i, a in enumerate(args) if i in diff]
    tangents = list(tangents)
    if len(tangents) != len(diff):
        raise ValueError(f"tangents has {len(tangents)} entries; give one per differentiated argument ({len(diff)})")
    it = iter(tangents)
    all_tangents = [next(it) if i in diff else np.zeros(np.shape(a)) for i, a in enumerate(args)]
    paused = gc.isenabled()
    gc.disable()               # the trace makes ~10 objects per operation; collecting among them would be quadratic
    try:
        with Progress("explain: record, backward sweep, forward sweep", 3, progress) as bar:
            e = _explaining(f, args, names, diff, tangents, all_tangents, adjoint, mode, memory_budget, max_rows, bar)
    finally:
        if paused:
            gc.enable()
    if sparse:
        from ..sparse.transforms import sparse_jacobian     # imports SciPy, which builds the matrices
        argnums = tuple(diff) if len(diff) > 1 else diff[0]
        e.sparse = sparse_jacobian(f, argnums, memory_budget=memory_budget).decision_for(*args)
    return e


def _explaining(f, args, names, diff, tangents, all_tangents, adjoint, mode, memory_budget, max_rows, bar):
    """The explanation; a function that a traced undifferentiated argument breaks is explained in the
    differentiated ones, the others fixed."""
    try:
        return _explain(f, args, names, diff, tangents, all_tangents, adjoint, mode, memory_budget, max_rows, bar)
    except ChainruleError:
        if len(diff) == len(args):
            raise
    # f does with an undifferentiated argument what a traced value cannot do (int(n), range(n)):
    # explain it as a function of the differentiated ones, the others fixed (and folded into numbers)
    e = _explain(_fixing(f, args, diff), [args[i] for i in diff], [names[i] for i in diff],
                 list(range(len(diff))), tangents, tangents, adjoint, mode, memory_budget, max_rows, bar)
    e.constants = [(names[i], a) for i, a in enumerate(args) if i not in diff]
    return e


def _fixing(f, args, diff):
    def fixed(*xs):
        full = list(args)
        for i, x in zip(diff, xs):
            full[i] = x
        return f(*full)
    fixed.__name__ = getattr(f, "__name__", "f")
    return fixed


def _explain(f, args, names, diff, tangents, all_tangents, adjoint, mode, memory_budget, max_rows, bar=None):
    out = f(*args)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    if adjoint is None:
        adjoint = _first_basis(outs)
    elif not isinstance(adjoint, (tuple, list)):
        adjoint = [adjoint]
    rows, stats = evaluation_trace(f, args, tangents=all_tangents, adjoint=list(adjoint), with_stats=True, bar=bar)
    steps, constants = _steps(rows, names, diff)
    n = sum(int(np.size(args[i])) for i in diff)
    m = stats.m
    ops = len(steps) - len(diff)
    decision = _decision(f, args, diff, n, m, stats, memory_budget)
    per_direction = LIVE_VALUES * stats.largest_value        # the largest value, input or intermediate
    cost = {
        "forward": {"directions": n, "sweeps": decision.forward.sweeps, "work": n * ops,
                    "memory": decision.forward.directions_per_sweep * per_direction, "tape": 0,
                    "estimated_seconds": decision.forward.seconds},
        "reverse": {"directions": m, "sweeps": decision.reverse.sweeps, "work": ops + m * ops,
                    "memory": stats.tape_bytes + decision.reverse.directions_per_sweep * per_direction,
                    "tape": stats.tape_bytes, "estimated_seconds": decision.reverse.seconds},
    }
    fname = getattr(f, "__name__", "f")
    return Explanation(fname if fname != "<lambda>" else "f", [names[i] for i in diff], steps, mode, tangents,
                       list(adjoint), n, m, ops, stats.tape_bytes, cost, decision, constants, max_rows)


def _decision(f, args, diff, n, m, stats, memory_budget):
    """The decision ``jacobian(f, argnums=diff, mode="auto")`` takes at ``args``: the one it took before, or
    the shapes' when they decide for it too, else :func:`choose_mode` (the same first call, sharing its cache)."""
    decision = cached_decision(f, args, tuple(diff), memory_budget)
    if decision is not None:
        return decision
    decision = shape_decision(n, m, memory_budget, stats=stats)
    if decision is None or n >= RECORD_FIRST or decision.mode == "reverse" and scalar_code(n, stats):
        # near the diagonal, or scalar code, where jacobian's first call times or predicts from its recording,
        # or from RECORD_FIRST inputs on, where it starts with a guarded forward sweep
        decision = choose_mode(f, *args, argnums=tuple(diff), memory_budget=memory_budget)
    return decision


def _argnums(argnums, count):
    if argnums is None:
        return list(range(count))
    nums = [argnums] if isinstance(argnums, int) else list(argnums)
    bad = [a for a in nums if not isinstance(a, int) or not -count <= a < count]
    if bad or not nums:
        raise ValueError(f"argnums={argnums!r}: give positions of the {count} arguments, e.g. argnums=(0, 1)")
    return sorted({a % count for a in nums})


def _steps(rows, names, diff):
    """Steps from trace rows: inputs renamed, and operations on undifferentiated arguments alone folded into text.

    Returns ``(steps, constants)``.  One pass over the rows.
    """
    rename = {f"x{i}": nm for i, nm in enumerate(names)}
    count = sum(1 for r in rows[:len(names)] if r.op == "input")
    if count and all(int(r.name[1:]) in diff for r in rows[:count]) and \
            all(r.op != "input" for r in rows[count:]):
        # every argument differentiated (the common case): nothing to fold; inputs renamed, and the
        # operands of the rows that read an input
        steps = [Step(rename.get(r.name, r.name), "input", (), r.primal, r.tangent, r.adjoint, r.output, text="input")
                 for r in rows[:count]]
        for r in rows[count:]:
            ops = r.operands
            if not rename.keys().isdisjoint(ops):
                ops = tuple([rename.get(o, o) for o in ops])
            steps.append(Step(r.name, r.op, ops, r.primal, r.tangent, r.adjoint, r.output, r.params))
        return steps, []
    folded = {}                                       # name -> expression text of a value that is not differentiated
    constants = []
    steps, known = [], set()
    for r in rows:
        name = rename.get(r.name, r.name)
        if r.op == "input":
            index = int(r.name[1:])
            if index in diff:
                steps.append(Step(name, "input", (), r.primal, r.tangent, r.adjoint, r.output, text="input"))
                known.add(name)
            else:
                folded[name] = name
                constants.append((name, r.primal))
            continue
        operands = tuple([rename.get(o, o) for o in r.operands])
        if not folded:                                # every argument differentiated: nothing to fold
            steps.append(Step(name, r.op, operands, r.primal, r.tangent, r.adjoint, r.output, r.params))
            known.add(name)
            continue
        if all(o in folded or o not in known for o in operands) and any(o in folded for o in operands) \
                and r.output is None:
            text = _definition(r.op, tuple(_wrap(folded[o]) if o in folded and r.op in _INFIX else folded.get(o, o)
                                           for o in operands), r.params)
            if len(text) <= FOLD_WIDTH:
                folded[name] = text
                continue
        shown = tuple(_wrap(folded[o]) if o in folded and r.op in _INFIX else folded.get(o, o) for o in operands)
        steps.append(Step(name, r.op, shown, r.primal, r.tangent, r.adjoint, r.output, r.params))
        known.add(name)
    return steps, constants


def _wrap(text):
    """Parentheses around a folded expression used as an operand of an infix operator, unless it is a call."""
    return f"({text})" if " " in text and not re.fullmatch(r"[\w.]+\(.*\)", text) else text


def _table(header, rows):
    """Aligned columns; a row of one cell (a note) spans the table and does not set widths."""
    full = [r for r in rows if len(r) == len(header)]
    widths = [max(len(str(r[i])) for r in [header] + full) for i in range(len(header))]
    fmt = lambda r: "  " + "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return [fmt(header), "  " + "  ".join("-" * w for w in widths)] + [fmt(r) if len(r) == len(header)
                                                                        else "  " + r[0] for r in rows]


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
    ops, v = step.operands, step.name
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


def _consumers(steps, traced, wanted):
    """For each value in ``wanted``, ``[(consumer step, d consumer / d value, kind)]``: one pass over the steps.

    Only the steps that use a wanted value have their partials written out.
    """
    users = {}
    for c in steps:
        if not wanted.isdisjoint(c.operands):
            for o in c.operands:
                if o in wanted:
                    users.setdefault(o, []).append(c)
    return users


def _adjoint_rule(step, users, seeded, traced):
    terms = ["seed"] if step.name in seeded else []
    consumers = list({id(c): c for c in users.get(step.name, ())}.values())     # each consumer once, in order
    skipped = 0
    if len(consumers) > MANY:                  # write out the first few and the last; count the rest
        skipped = sum(c.operands.count(step.name) for c in consumers[3:-1])
        consumers = consumers[:3] + consumers[-1:]
    partials = [(c, d, kind) for c in consumers for o, d, kind in _partials(c, traced) if o == step.name]
    if skipped:
        partials.insert(len(partials) - sum(1 for c, _, _ in partials if c is consumers[-1]), None)
    for item in partials:
        if item is None:
            terms.append(f"... ({skipped} more terms)")
            continue
        c, d, kind = item
        if kind == "linear":
            terms.append(_linear_text(c, step.name, _bar(c.name), forward=False))
        elif d == "1":
            terms.append(_bar(c.name))
        elif d == "-1":
            terms.append(f"-{_bar(c.name)}")
        else:
            terms.append(f"{_bar(c.name)} * {d}")
    return _join(terms) or "0"


def _join(terms):
    if len(terms) > MANY and not any(t.startswith("... (") for t in terms):
        terms = terms[:3] + [f"... ({len(terms) - 4} more terms)", terms[-1]]
    text = " + ".join(terms)
    return text.replace("+ -", "- ")


def _window(items, max_rows):
    """``(first, left_out, last)``: all items, or the first and last ``max_rows // 2`` of them."""
    if max_rows is None or len(items) <= max_rows:
        return items, 0, []
    half = max(max_rows // 2, 1)
    return items[:half], len(items) - 2 * half, items[-half:]


def _windowed(items, max_rows, row):
    """Table rows for a window of ``items`` (``row(item)`` makes one), with a line for the ones left out."""
    first, left_out, last = _window(items, max_rows)
    rows = [row(s) for s in first]
    if left_out:
        rows.append([f"... {left_out:,} rows left out (max_rows=None shows all) ..."])
        rows += [row(s) for s in last]
    return rows


def render(e, max_rows=MAX_ROWS):
    """The explanation as text: the trace, the sweeps asked for, the totals and the recommendation.

    ``max_rows``: rows per sweep (the first and last half; None: all).  Linear in the number of operations.
    """
    inputs = ", ".join(e.inputs)
    at = ", ".join(f"{s.name} = {_show(s.primal)}" for s in e.steps if s.op == "input")
    lines = [f"{e.function}({inputs}) at {at}", "", "Evaluation trace (Wengert list)"]
    lines += _table(["v", "definition", "primal", "shape"],
                    _windowed(e.steps, max_rows, lambda s: [s.name, s.definition, _show(s.primal), _shape(s.primal)]))
    outputs = [s.name for s in e.steps if s.output is not None]
    if outputs:
        more = f", ... ({len(outputs)} in all)" if len(outputs) > 8 else ""
        lines.append(f"  output: {', '.join(outputs[:8])}" + more)
    if e.constants:
        lines.append("  not differentiated: " + ", ".join(f"{nm} = {_show(v)}" for nm, v in e.constants))
    traced = {s.name for s in e.steps}
    if e.mode in ("both", "forward"):
        seed = ", ".join(f"{_dot(nm)} = {_show(t)}" for nm, t in zip(e.inputs, e.tangent_seed))
        lines += ["", f"Forward sweep (tangents), seed {seed}"]
        lines += _table(["v", "tangent", "rule", "value"],
                        _windowed(e.steps, max_rows,
                                  lambda s: [s.name, _dot(s.name), _tangent_rule(s, traced), _show(s.tangent)]))
    if e.mode in ("both", "reverse"):
        seed = ", ".join(f"{_bar(nm)} = {_show(a)}" for nm, a in zip(outputs or ["out"], e.adjoint_seed))
        if len(outputs) > 8:
            seed = ", ".join(f"{_bar(nm)} = {_show(a)}" for nm, a in zip(outputs[:4], e.adjoint_seed)) + ", ..."
        lines += ["", f"Reverse sweep (adjoints), seed {seed}, in reverse order"]
        seeded = set(outputs)
        first, _, last = _window(e.steps[::-1], max_rows)
        users = _consumers(e.steps, traced, {s.name for s in first + last})
        lines += _table(["v", "adjoint", "rule", "value"],
                        _windowed(e.steps[::-1], max_rows,
                                  lambda s: [s.name, _bar(s.name), _adjoint_rule(s, users, seeded, traced),
                                             _show(s.adjoint)]))
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
    if e.sparse is not None:
        lines += ["", "Sparse Jacobian (sparse_jacobian)", str(e.sparse)]
    return "\n".join(lines) + "\n"


def _shape(v):
    a = np.asarray(v)
    return "scalar" if a.ndim == 0 else str(a.shape)
