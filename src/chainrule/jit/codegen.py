"""Print a :class:`~.ir.Program` as a Python function calling NumPy, and compile it.

The printer is separate from the IR (as ``explain``'s renderer is from its
table): one line per equation, named as in a Wengert list -- the inputs are
``v1 .. vn``, every later value the next ``v`` -- with a comment naming the
NumPy function (or rule helper) the line came from.  Guards print as
``if ...: return MISS``: the caller then tries another traced path or
traces this one.
"""

import keyword
import linecache
import math
import operator
import re

import numpy as np

from .ir import GUARD_TRUTH, GUARD_VALUE, STRUCTURED, Const, Var
from .passes import elementwise_ufunc

__all__ = ["generate", "MISS"]


class _Miss:
    """What a generated function returns when a guard fails."""

    __slots__ = ()

    def __repr__(self):
        return "MISS"


MISS = _Miss()

_INFIX = {operator.add: "+", operator.sub: "-", operator.mul: "*", operator.truediv: "/",
          operator.pow: "**", operator.floordiv: "//", operator.mod: "%", operator.matmul: "@",
          operator.lt: "<", operator.le: "<=", operator.gt: ">", operator.ge: ">=",
          operator.eq: "==", operator.ne: "!="}
_PREFIX = {operator.neg: "-", operator.pos: "+"}
_METHODS = {"numpy.reshape": "shape", "numpy.transpose": "axes"}     # printed as ndarray methods
_COMPARE = {operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne}
_SCALAR_INFIX = {operator.add, operator.sub, operator.mul, operator.truediv, operator.pow}
_MATH = {np.sin: "math.sin", np.cos: "math.cos", np.tan: "math.tan", np.exp: "math.exp",
         np.log: "math.log", np.sqrt: "math.sqrt", np.tanh: "math.tanh", np.sinh: "math.sinh",
         np.cosh: "math.cosh", np.arcsin: "math.asin", np.arccos: "math.acos", np.arctan: "math.atan",
         np.arcsinh: "math.asinh", np.arctanh: "math.atanh", np.log1p: "math.log1p",
         np.expm1: "math.expm1", np.absolute: "abs", np.negative: "-"}


def same_value(a, b):
    """Exact equality of a value with the one read while tracing (type, shape, dtype, nan where nan)."""
    if type(a) is not type(b):
        return False
    if type(a) is np.ndarray:
        return a.shape == b.shape and a.dtype == b.dtype and bool(
            np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    try:
        return bool(a == b) or (a != a and b != b)
    except Exception:                                       # pragma: no cover - exotic values
        return False


def _is_literal(v):
    if v is None or type(v) in (bool, int, str):
        return True
    if type(v) is float:
        return math.isfinite(v)
    if type(v) is tuple:
        return all(_is_literal(x) for x in v)
    return False


_GENERATED = re.compile(r"^(v\d+|[ck]\d+|out)$")     # names the printer makes itself


class _Printer:
    def __init__(self, program, name, form=None):
        self.program = program
        self.form = form
        self.name = name
        self.ns = {"np": np, "MISS": MISS, "same_value": same_value}
        self.taken = {name, name + "_floats", name + "_call", "numpy_variant", "math", "isfinite", "vdot", "np_float64",
                      "float", "abs", "bool", "np", "MISS", "same_value"}
        self.names = {}
        self.fn_names = {}
        self.value_names = {}
        self.structured = []            # the structured equations' runners, whose steps follow the source
        self.count = 0

    def var(self, v):
        """A variable's name: an input's parameter name (``x``), ``<primal>_bar`` for an adjoint the
        backward sweep computed (``v3_bar``, ``x_bar``), else the next ``v`` of the Wengert list."""
        n = self.names.get(v)
        if n is not None:
            return n
        if v.name is not None and v.name.isidentifier() and not keyword.iskeyword(v.name) \
                and v.name not in self.taken and v.name not in self.ns and not _GENERATED.match(v.name):
            n = v.name
        elif v.adjoint_of is not None:
            base = self.var(v.adjoint_of) + "_bar"
            n, k = base, 1
            while n in self.taken:
                k += 1
                n = f"{base}{k}"
        else:
            while True:
                self.count += 1
                n = f"v{self.count}"
                if n not in self.taken:
                    break
        self.taken.add(n)
        self.names[v] = n
        return n

    def value(self, x, prefix="c"):
        """An expression for a fixed value: a literal, or a name in the namespace."""
        if _is_literal(x):
            return repr(x)
        if isinstance(x, np.dtype):
            return f"np.dtype({x.str!r})"
        n = self.value_names.get(id(x))
        if n is None:
            n = self.value_names[id(x)] = f"{prefix}{len(self.value_names)}"
            self.ns[n] = x
        return n

    def atom(self, a):
        return self.var(a) if isinstance(a, Var) else self.value(a.value)

    def function(self, fn, label):
        n = self.fn_names.get(id(fn))
        if n is not None:
            return n
        fname = getattr(fn, "__name__", None)
        if isinstance(fname, str):
            for mod, prefix in ((np, "np."), (np.linalg, "np.linalg.")):
                if getattr(mod, fname, None) is fn:
                    self.fn_names[id(fn)] = prefix + fname
                    return prefix + fname
        base = re.sub(r"\W+", "_", label.split(".")[-1].replace("<lambda>", "rule")).strip("_") or "f"
        n = base
        k = 1
        while n in self.ns or n in self.taken:
            k += 1
            n = f"{base}_{k}"
        self.ns[n] = fn
        self.fn_names[id(fn)] = n
        return n

    def index(self, index):
        """``x[...]``'s subscript for a canonical index tuple (full trailing slices left out)."""
        items = list(index)
        while len(items) > 1 and isinstance(items[-1], slice) and items[-1] == slice(None):
            items.pop()
        parts = []
        for k in items:
            if isinstance(k, slice):
                a = "" if k.start is None else repr(k.start)
                b = "" if k.stop is None else repr(k.stop)
                parts.append(f"{a}:{b}" + ("" if k.step is None else f":{k.step!r}"))
            elif k is Ellipsis:
                parts.append("...")
            elif k is None or type(k) is int:
                parts.append(repr(k))
            else:
                parts.append(self.value(k, "k"))
        return ", ".join(parts) + ("," if len(parts) == 1 and not isinstance(items[0], (slice, int))
                                   and items[0] is not Ellipsis else "")

    def line(self, e):
        if e.kind == GUARD_TRUTH:
            v = self.atom(e.ins[0])
            test = f"not {v}" if e.params["expect"] else v
            return f"if {test}: return MISS", f"guard: an if/while took the {e.params['expect']} branch"
        if e.kind == GUARD_VALUE:
            return (f"if not same_value({self.atom(e.ins[0])}, {self.atom(e.ins[1])}): return MISS",
                    "guard: a number read while tracing")
        args = [self.atom(a) for a in e.ins]
        lhs = ", ".join(self.var(o) for o in e.outs)
        if e.kind == STRUCTURED:
            fn = self.function(e.fn, e.name)
            self.structured.append(e.fn)
            steps = ", ".join(p.fn.__name__.removesuffix("_call") for sub in e.fn.subs for p in sub.paths)
            comment = f"{e.name}, over {steps} (below)"
            if e.fn.guarded:
                return (f"out = {fn}({', '.join(args)})\n    if out is MISS: return MISS\n"
                        f"    {lhs}{',' if len(e.outs) == 1 else ''} = out"), comment
            return f"{lhs}{',' if len(e.outs) == 1 else ''} = {fn}({', '.join(args)})", comment
        if e.into is not None:                              # written into a dead input's array
            u = elementwise_ufunc(e.fn)
            return f"{lhs} = {self.function(u, e.name)}({', '.join(args)}, out={args[e.into]})", \
                f"{e.name}, into {args[e.into]}'s array"
        if e.multiple:
            lhs = lhs + ("," if len(e.outs) == 1 else "")
        if e.name == "getitem" and set(e.params) == {"index", "unique"} and len(args) == 1 \
                and isinstance(e.params["index"], tuple):
            return f"{lhs} = {args[0]}[{self.index(e.params['index'])}]", ""
        if e.name in _METHODS and type(e.ins[0]) is Var and e.ins[0].type is np.ndarray \
                and tuple(e.params) == (_METHODS[e.name],) and _is_literal(e.params[_METHODS[e.name]]):
            return f"{lhs} = {args[0]}.{e.name[6:]}({e.params[_METHODS[e.name]]!r})", e.name    # the method: ~4x quicker
        if getattr(e.fn, "passes_when_nonzero", False) and not e.params and len(args) > 1 \
                and type(e.ins[0]) is Var and e.ins[0].type is np.ndarray and e.ins[0].dtype is not None \
                and np.dtype(e.ins[0].dtype).kind == "f":
            # the zero-seed check's own first test, inline (it returns its argument when every entry is
            # finite); the call only where one is not
            self.ns.update(isfinite=math.isfinite, vdot=np.vdot)
            fn = self.function(e.fn, e.name)
            return (f"{lhs} = {args[0]} if isfinite(vdot({args[0]}, {args[0]})) else {fn}({', '.join(args)})",
                    f"{e.name}: the zero-seed check")
        if e.fn in _INFIX and len(args) == 2 and not e.params:
            return f"{lhs} = {args[0]} {_INFIX[e.fn]} {args[1]}", e.name
        if e.fn in _PREFIX and len(args) == 1 and not e.params:
            return f"{lhs} = {_PREFIX[e.fn]}{args[0]}", e.name
        fn = self.function(e.fn, e.name)
        args += [f"{k}={self.value(v, 'k')}" for k, v in e.params.items()]
        comment = e.name if not fn.endswith(e.name.split(".")[-1]) or not fn.startswith("np.") else ""
        return f"{lhs} = {fn}({', '.join(args)})", comment

    def scalar_source(self):
        """The same program on Python floats with the math module, or None when it does not qualify
        (every value a float64 scalar, every operation in the table below)."""
        p = self.program
        for v in p.inputs:
            if v.type not in (float, np.float64, int):          # int: a loop's step index
                return None
        lines = []
        for e in p.eqns:
            if e.kind == GUARD_VALUE or e.multiple or e.into is not None:
                return None
            args = []
            for a in e.ins:
                if isinstance(a, Var):
                    args.append(self.var(a))
                elif type(a.value) in (float, int, np.float64) and math.isfinite(a.value):
                    args.append(repr(float(a.value)) if type(a.value) is not int else repr(a.value))
                else:
                    return None
            if e.kind == GUARD_TRUTH:
                lines.append(f"if {'not ' if e.params['expect'] else ''}{args[0]}: return MISS")
                continue
            out = e.outs[0]
            fn = e.fn
            boolean = fn in _COMPARE
            if out.shape != () or (out.type not in (float, np.float64) and not (boolean and out.type is np.bool_)):
                return None
            if e.params:
                return None
            v = self.var(out)
            if fn in _SCALAR_INFIX:
                if fn is operator.pow and not (isinstance(e.ins[1], Const) and float(e.ins[1].value).is_integer()):
                    return None                             # x ** y: complex for x < 0 in Python
                lines.append(f"{v} = {args[0]} {_INFIX[fn]} {args[1]}")
            elif boolean:
                lines.append(f"{v} = {args[0]} {_INFIX[fn]} {args[1]}")
            elif fn in _PREFIX:
                lines.append(f"{v} = {_PREFIX[fn]}{args[0]}")
            elif fn in _MATH:
                lines.append(f"{v} = {_MATH[fn]}({args[0]})")
            elif getattr(fn, "__name__", "") == "seeded" and getattr(fn, "passes_when_nonzero", False):
                lines.append(f"{v} = {args[0]} if isfinite({args[0]}) or {args[1]} != 0 else 0.0")
            elif getattr(fn, "passes_when_nonzero", False):
                quiet = " and ".join(f"{s} == 0" for s in args[1:]) or "True"
                lines.append(f"{v} = 0.0 if not isfinite({args[0]}) and {quiet} else {args[0]}")
            else:
                return None
        for a in p.outputs:
            if not isinstance(a, Var) or a.type not in (float, np.float64):
                return None
        outs = [f"np_float64({self.var(a)})" for a in p.outputs]
        head = [f"{self.var(v)} = float({self.var(v)})" for v in p.inputs if v.type is np.float64]
        ret = outs[0] if self.form == "leaf" else f"({', '.join(outs)}{',' if len(outs) == 1 else ''})" \
            if self.form == "tuple" else f"[{', '.join(outs)}]"
        body = "\n".join(f"    {ln}" for ln in head + lines + [f"return {ret}"])
        self.ns.update(math=math, isfinite=math.isfinite, np_float64=np.float64)
        return f"def {self.name}_floats({', '.join(self.var(v) for v in p.inputs)}):\n{body}\n"

    def source(self):
        p = self.program
        params = ", ".join(self.var(v) for v in p.inputs)
        body = [f"    {self.var(v)} = np.float64({self.var(v)})" for v in p.inputs if v.type is float]
        dies = _deaths(p)
        context = ()
        for k, e in enumerate(p.eqns):
            if e.context != context and (k or e.context):
                context = e.context
                body.append(f"    # -- {_describe_context(context)}")
            code, comment = self.line(e)
            if e.note:
                comment = f"{comment}: {e.note}" if comment else e.note
            first, _, rest = code.partition("\n")
            body.append(f"    {first}" + (f"    # {comment}" if comment else "") + (f"\n{rest}" if rest else ""))
            if k in dies:                                   # free arrays at their last use
                body.append(f"    del {', '.join(self.var(v) for v in dies[k])}")
        outs = []
        for a in p.outputs:
            if isinstance(a, Const) and type(a.value) is np.ndarray:
                outs.append(f"{self.value(a.value)}.copy()")   # never hand out the program's own array
            else:
                outs.append(self.atom(a))
        if self.form == "leaf":
            body.append(f"    return {outs[0]}")
        elif self.form == "tuple":
            body.append(f"    return ({', '.join(outs)}{',' if len(outs) == 1 else ''})")
        else:
            body.append(f"    return [{', '.join(outs)}]")
        src = f"def {self.name}({params}):\n" + "\n".join(body) + "\n"
        for run in self.structured:
            for sub in run.subs:
                for path in sub.paths:
                    src += (f"\n\n# {path.fn.__name__.removesuffix('_call')}: a step of {run.label}, staged once "
                            f"(inputs: the state, then values it reads from the enclosing program)\n{path.source}")
        return src


def _describe_context(context):
    """A section comment: the transforms active when the next lines were recorded."""
    if not context:
        return "no transform active: backward sweeps and results"
    return "recorded under " + " > ".join(context) + (" (forward pass, taped)" if context[-1] == "reverse" else "")


def _deaths(program):
    """eqn index -> the array variables (not scalars: freeing them saves nothing) last used there."""
    last = {}
    for k, e in enumerate(program.eqns):
        for v in e.outs:
            last[v] = k
        for a in e.ins:
            if isinstance(a, Var):
                last[a] = k
    keep = {a for a in program.outputs if isinstance(a, Var)} | set(program.inputs)
    dies = {}
    for v, k in last.items():
        if v not in keep and v.shape:
            dies.setdefault(k, []).append(v)
    return dies


_serial = [0]


def generate(program, name="staged", form=None):
    """``(source, function)``: the Python source of ``program`` and the compiled function.

    The function takes the program's inputs positionally and returns its
    outputs -- the one output (``form="leaf"``), a tuple of them (``"tuple"``)
    or a list (``None``) -- or :data:`MISS` when a guard fails.
    """
    printer = _Printer(program, re.sub(r"\W", "_", name) or "staged", form)
    src = printer.source()
    fast = printer.scalar_source()
    ns = printer.ns
    if fast is None:
        return src, _compile(src, name, ns)[printer.name]
    # Python floats and the math module are ~5x quicker than NumPy scalars; where they raise
    # (overflow, division by zero, a domain error) NumPy's answer (inf, nan) is the one to give.
    # The NumPy variant is compiled when first needed (compiling a long function takes a while).
    numpy_src = src
    call = (f"def {printer.name}_call(*args):\n    try:\n        return {printer.name}_floats(*args)\n"
            f"    except (ArithmeticError, ValueError):\n        return numpy_variant()(*args)\n")

    def numpy_variant():
        fn = ns.get(printer.name)
        if fn is None:
            fn = _compile(numpy_src, name, ns)[printer.name]
        return fn
    ns["numpy_variant"] = numpy_variant
    _compile(f"{fast}\n\n{call}", name, ns)
    src = (f"{src}\n\n# The same program on Python floats (math module); the NumPy code above runs "
           f"where they raise.\n{fast}\n\n{call}")
    return src, ns[printer.name + "_call"]


def _compile(src, name, ns):
    _serial[0] += 1
    filename = f"<chainrule.jit {name} #{_serial[0]}>"
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)   # readable tracebacks
    exec(compile(src, filename, "exec"), ns)
    return ns
