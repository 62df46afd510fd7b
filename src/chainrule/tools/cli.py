"""The ``chainrule`` command line: explain, advise, demo.

An expression given on the command line is parsed with :mod:`ast` and run by
a small interpreter (:func:`compile_expression`) that knows only numbers, the
named variables, arithmetic and comparison operators, subscripts of a
variable, and a fixed list of NumPy functions.  Anything else is rejected
before anything runs, with a message naming the part that is not allowed;
nothing is ever handed to ``eval`` or ``exec``.  A ``file.py:function`` or
``package.module:function`` target is different: it imports and runs the
user's own code, as ``python file.py`` would.

Exit codes: 0 success; 2 a usage error or a rejected expression; 1 an error
raised while running the user's function (its message, and the traceback
with ``--traceback``), or an interruption (Ctrl-C).
"""

import argparse
import ast
import importlib
import importlib.util
import inspect
import json
import os
import sys
import traceback

import numpy as np

from .._version import __version__
from ..errors import ChainruleError

__all__ = ["main", "compile_expression", "parse_assignments", "ExpressionError", "FUNCTIONS", "MAX_LENGTH"]

MAX_LENGTH = 2000        # characters of an expression
MAX_DEPTH = 64           # nesting of its syntax tree
MAX_ELEMENTS = 100_000   # entries of one --at value
MAX_REPEAT = 10_000      # runs of each mode for advise

# the NumPy functions an expression may call, by the name it uses
FUNCTIONS = {name: getattr(np, name) for name in (
    "sin", "cos", "tan", "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh", "tanh", "arcsinh",
    "arccosh", "arctanh", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "cbrt", "square",
    "abs", "absolute", "sign", "hypot", "maximum", "minimum", "where", "sum", "prod", "mean", "dot",
    "clip", "floor", "ceil")}
CONSTANTS = {"pi": np.pi, "e": np.e}
_BINARY = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.true_divide,
           ast.Pow: np.power, ast.MatMult: np.matmul, ast.Mod: np.remainder}
_UNARY = {ast.USub: np.negative, ast.UAdd: np.positive}
_COMPARE = {ast.Lt: np.less, ast.LtE: np.less_equal, ast.Gt: np.greater, ast.GtE: np.greater_equal,
            ast.Eq: np.equal, ast.NotEq: np.not_equal}
_KEYWORDS = {"axis"}     # keyword arguments allowed in calls (integer constants only)

EXPRESSION_HELP = ("numbers, the variables given with --at, + - * / ** @ %, comparisons, "
                   "subscripts of a variable (x[0], x[1:3]), pi, e, and the functions "
                   + ", ".join(sorted(FUNCTIONS)))


class ExpressionError(ChainruleError, ValueError):
    """An expression uses something the command line does not allow (exit code 2)."""


class UsageError(ChainruleError, ValueError):
    """A command-line argument is wrong (exit code 2)."""


class UserCodeError(ChainruleError, RuntimeError):
    """The user's function raised (exit code 1); ``__cause__`` is the original exception."""


def _describe(node, source):
    part = ast.get_source_segment(source, node) or type(node).__name__
    if len(part) > 60:
        part = part[:57] + "..."
    return f"{part!r} (column {getattr(node, 'col_offset', 0) + 1})"


_KIND = {ast.Attribute: "attribute access", ast.Lambda: "a lambda", ast.ListComp: "a comprehension",
         ast.SetComp: "a comprehension", ast.DictComp: "a comprehension", ast.GeneratorExp: "a generator",
         ast.List: "a list literal (give arrays with --at x=[1,2,3])", ast.Dict: "a dict literal",
         ast.Set: "a set literal", ast.NamedExpr: "an assignment expression", ast.Starred: "unpacking",
         ast.JoinedStr: "a string", ast.IfExp: "a conditional expression (use where(cond, a, b))",
         ast.BoolOp: "and/or (use where, minimum, maximum)", ast.Await: "await", ast.Yield: "yield"}


class _Checker:
    """Walks the syntax tree once and rejects every node outside the allowed language."""

    def __init__(self, source, variables):
        self.source = source
        self.variables = set(variables)
        self.used = set()

    def reject(self, node, what=None):
        what = what or _KIND.get(type(node), f"{type(node).__name__} syntax")
        raise ExpressionError(f"{what} is not allowed in an expression: {_describe(node, self.source)}. "
                              f"Allowed: {EXPRESSION_HELP}.")

    def check(self, node, depth=0, top=False):
        if depth > MAX_DEPTH:
            raise ExpressionError(f"the expression nests deeper than {MAX_DEPTH} levels; simplify it or "
                                  "write a Python function and run it as file.py:function")
        d = depth + 1
        if isinstance(node, ast.Expression):
            return self.check(node.body, d, top=True)
        if isinstance(node, ast.Tuple) and top:
            for e in node.elts:
                self.check(e, d)
            return
        if isinstance(node, ast.Constant):
            if type(node.value) not in (int, float):
                self.reject(node, f"a {type(node.value).__name__} constant")
            return
        if isinstance(node, ast.Name):
            self._name(node)
            if node.id not in self.variables and node.id not in CONSTANTS:
                if node.id in FUNCTIONS:
                    self.reject(node, f"the function {node.id} without a call")
                raise ExpressionError(f"unknown name {node.id!r} in the expression ({_describe(node, self.source)}); "
                                      f"give its value with --at {node.id}=..., or use one of: {EXPRESSION_HELP}.")
            self.used.add(node.id)
            return
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY:
                self.reject(node, f"the operator {type(node.op).__name__}")
            self.check(node.left, d)
            return self.check(node.right, d)
        if isinstance(node, ast.UnaryOp):
            if type(node.op) not in _UNARY:
                self.reject(node, f"the operator {type(node.op).__name__}")
            return self.check(node.operand, d)
        if isinstance(node, ast.Compare):
            for op in node.ops:
                if type(op) not in _COMPARE:
                    self.reject(node, f"the comparison {type(op).__name__}")
            self.check(node.left, d)
            for c in node.comparators:
                self.check(c, d)
            return
        if isinstance(node, ast.Call):
            return self._call(node, d)
        if isinstance(node, ast.Subscript):
            if not (isinstance(node.value, ast.Name) and node.value.id in self.variables):
                self.reject(node, "a subscript of anything but a variable")
            self.check(node.value, d)
            return self._index(node.slice, node)
        self.reject(node)

    def _name(self, node):
        if node.id.startswith("__") or node.id.endswith("__"):
            self.reject(node, f"the dunder name {node.id}")

    def _call(self, node, d):
        func = node.func
        if isinstance(func, ast.Attribute):
            hint = ""
            if isinstance(func.value, ast.Name) and func.value.id in ("np", "numpy") and func.attr in FUNCTIONS:
                hint = f" (write {func.attr}(...) instead of {func.value.id}.{func.attr}(...))"
            self.reject(func, "attribute access" + hint)
        if not isinstance(func, ast.Name):
            self.reject(node, "calling anything but a listed function by its name")
        self._name(func)
        if func.id not in FUNCTIONS:
            self.reject(node, f"a call to {func.id!r} (not one of the allowed functions)")
        for a in node.args:
            self.check(a, d)
        for k in node.keywords:
            if k.arg not in _KEYWORDS or not _is_int(k.value):
                self.reject(k.value if k.arg else node, "a keyword argument other than axis=<integer>")

    def _index(self, sl, node):
        parts = sl.elts if isinstance(sl, ast.Tuple) else [sl]
        for p in parts:
            if isinstance(p, ast.Slice):
                for b in (p.lower, p.upper, p.step):
                    if b is not None and not _is_int(b):
                        self.reject(node, "a subscript other than integers and slices of integers")
            elif not _is_int(p):
                self.reject(node, "a subscript other than integers and slices of integers")


def _is_int(node):
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) is int


def _int(node):
    if isinstance(node, ast.UnaryOp):
        return -node.operand.value
    return node.value


def _evaluate(node, env):
    """The value of a checked node; ``env`` maps variable names to values (tracers during a sweep)."""
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, env)
    if isinstance(node, ast.Tuple):
        return tuple(_evaluate(e, env) for e in node.elts)
    if isinstance(node, ast.Constant):
        return np.float64(node.value)          # floats, so 10**10**10 overflows to inf instead of running forever
    if isinstance(node, ast.Name):
        return env[node.id] if node.id in env else CONSTANTS[node.id]
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_evaluate(node.left, env), _evaluate(node.right, env))
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_evaluate(node.operand, env))
    if isinstance(node, ast.Compare):
        left, result = _evaluate(node.left, env), None
        for op, c in zip(node.ops, node.comparators):
            right = _evaluate(c, env)
            r = _COMPARE[type(op)](left, right)
            result = r if result is None else np.logical_and(result, r)
            left = right
        return result
    if isinstance(node, ast.Call):
        kwargs = {k.arg: _int(k.value) for k in node.keywords}
        return FUNCTIONS[node.func.id](*[_evaluate(a, env) for a in node.args], **kwargs)
    if isinstance(node, ast.Subscript):
        sl = node.slice
        parts = sl.elts if isinstance(sl, ast.Tuple) else [sl]
        index = tuple(slice(*(None if b is None else _int(b) for b in (p.lower, p.upper, p.step)))
                      if isinstance(p, ast.Slice) else _int(p) for p in parts)
        return env[node.value.id][index if len(index) > 1 else index[0]]
    raise ExpressionError(f"internal: unchecked node {type(node).__name__}")


def compile_expression(source, variables):
    """A function of ``variables`` (names, in order) computing the checked expression ``source``.

    Raises :class:`ExpressionError` naming the first part that is not allowed.

    >>> f = compile_expression("x*y + sin(x)", ["x", "y"])
    >>> round(float(f(2.0, 3.0)), 6)
    6.909297
    >>> compile_expression("x.__class__", ["x"])
    Traceback (most recent call last):
    ...
    chainrule.tools.cli.ExpressionError: attribute access is not allowed in an expression: 'x.__class__' (column 1). ...
    """
    if not isinstance(source, str):
        raise ExpressionError("the expression must be a string")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(source)} characters long; the limit is {MAX_LENGTH}. "
                              "Write a Python function and run it as file.py:function instead.")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as err:
        raise ExpressionError(f"the expression is not valid syntax: {err.msg} (column {err.offset})") from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError("the expression could not be parsed (too deeply nested?)") from None
    checker = _Checker(source.strip(), variables)
    checker.check(tree)
    names = list(variables)

    def expression(*values):
        return _evaluate(tree, dict(zip(names, values)))
    expression.__name__ = "f"
    expression.used = checker.used
    return expression


def parse_assignments(items):
    """``["x=2", "y=[1,2]"]`` -> ``{"x": 2.0, "y": array([1., 2.])}``; numbers and (nested) lists only."""
    values = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier() or name.startswith("__"):
            raise UsageError(f"--at expects name=value pairs such as x=2 or x=[1,2,3], got {item!r}")
        if len(text) > 20 * MAX_ELEMENTS:
            raise UsageError(f"the value of {name} is too long; pass large inputs from a Python file")
        try:
            value = ast.literal_eval(text.strip())
            array = np.asarray(value, dtype=float)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            raise UsageError(f"the value of {name} must be a number or a list of numbers such as [1, 2, 3], "
                             f"got {text!r}") from None
        except OverflowError:
            raise UsageError(f"the value of {name} has an integer too large for a float (the largest is about "
                             "1.8e308)") from None
        if array.size > MAX_ELEMENTS:
            raise UsageError(f"the value of {name} has {array.size} entries; the limit is {MAX_ELEMENTS}")
        values[name] = np.float64(array) if array.ndim == 0 else array
    if not values:
        raise UsageError("give the point to evaluate at with --at, e.g. --at x=2 y=3")
    return values


def _split_wrt(wrt, values):
    if wrt is None:
        return list(values)
    names = [w.strip() for w in wrt.split(",") if w.strip()]
    missing = [w for w in names if w not in values]
    if missing or not names:
        raise UsageError(f"--wrt names {', '.join(missing) or 'nothing'}, but --at gives "
                         f"{', '.join(values)}; list variables that have a value, e.g. --wrt x,y")
    return names


def _is_code_target(target):
    head, sep, tail = target.rpartition(":")
    return bool(sep) and tail.isidentifier() and (head.endswith(".py") or
                                                  all(p.isidentifier() for p in head.split(".")))


def _load_function(target):
    """The function named by ``file.py:function`` or ``package.module:function`` (runs the user's code)."""
    path, _, name = target.rpartition(":")
    if path.endswith(".py"):
        if not os.path.isfile(path):
            raise UsageError(f"no such file: {path}")
        spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0], path)
        module = importlib.util.module_from_spec(spec)
        sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
        try:
            spec.loader.exec_module(module)
        except Exception as err:
            raise UserCodeError(f"importing {path} raised {type(err).__name__}: {err}") from err
    else:
        try:
            module = importlib.import_module(path)
        except ModuleNotFoundError as err:
            if err.name and path.startswith(err.name):
                raise UsageError(f"no module named {err.name!r} (from {target!r}); check the name and "
                                 "that it is importable from this directory") from None
            raise UserCodeError(f"importing {path} raised {type(err).__name__}: {err}") from err
        except Exception as err:
            raise UserCodeError(f"importing {path} raised {type(err).__name__}: {err}") from err
    fn = getattr(module, name, None)
    if not callable(fn):
        raise UsageError(f"{path} has no function {name!r}")
    return fn


def _build(target, values, wrt):
    """``(f, args, names)``: a function of the ``wrt`` variables, its point, and their names."""
    names = _split_wrt(wrt, values)
    fixed = {k: v for k, v in values.items() if k not in names}
    if _is_code_target(target):
        fn = _load_function(target)
        try:
            params = inspect.signature(fn).parameters
        except (TypeError, ValueError):
            params = {}
        unknown = [k for k in values if params and k not in params
                   and not any(p.kind == p.VAR_KEYWORD for p in params.values())]
        if unknown:
            raise UsageError(f"{target} has no parameter {', '.join(unknown)}; its parameters are "
                             f"{', '.join(params)}")

        def f(*args):
            return fn(**fixed, **dict(zip(names, args)))
        f.__name__ = getattr(fn, "__name__", "f")
    else:
        expr = compile_expression(target, list(values))
        unused = [n for n in names if n not in expr.used]
        if len(unused) == len(names):
            raise UsageError(f"the expression does not use {', '.join(unused)}; differentiate with respect "
                             "to variables it uses (--wrt)")
        order = list(values)

        def f(*args):
            env = dict(fixed, **dict(zip(names, args)))
            return expr(*[env[k] for k in order])
    return f, [values[n] for n in names], names


def _run_user(fn, traceback_wanted):
    try:
        return fn()
    except (ExpressionError, UsageError, UserCodeError):
        raise
    except Exception as err:
        raise UserCodeError(f"{type(err).__name__}: {err}") from err


def _max_rows(text):
    if text.strip().lower() in ("all", "none"):
        return None
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 2:
        raise argparse.ArgumentTypeError(f"--max-rows takes a whole number of at least 2, or 'all'; got {text!r}")
    return n


def _cmd_explain(args):
    from .explain import explain
    values = parse_assignments(args.at)
    wrt = _split_wrt(args.wrt, values)
    # every variable is an argument, so those left out of --wrt keep their names in the trace
    f, point, names = _build(args.target, values, None)
    argnums = tuple(i for i, nm in enumerate(names) if nm in wrt)
    rows = {"max_rows": args.max_rows} if hasattr(args, "max_rows") else {}
    e = _run_user(lambda: explain(f, *point, mode=args.mode, names=names, argnums=argnums, sparse=args.sparse,
                                  progress=True if args.progress else None, **rows), args.traceback)
    print(json.dumps(e.to_dict(), indent=1) if args.json else str(e), end="" if not args.json else "\n")
    if args.dot:
        try:
            with open(args.dot, "w") as fh:
                fh.write(e.to_dot())
        except OSError as err:
            raise UsageError(f"cannot write the graph to --dot {args.dot}: {err.strerror or err}") from None
    if getattr(args, "code", False):
        print("\n" + _run_user(lambda: derivative_code(f, point, names), args.traceback), end="")
    return 0


def derivative_code(f, point, names):
    """The generated code (``chainrule.jit``) of the gradient of ``f`` at ``point`` (of its Jacobian
    when ``f`` is not scalar), with a header naming the inputs."""
    import numpy as np

    from ..jit import jit
    from ..transforms import grad, jacobian
    argnums = tuple(range(len(point))) if len(point) > 1 else 0
    scalar = np.ndim(f(*point)) == 0
    t = grad(f, argnums=argnums) if scalar else jacobian(f, argnums=argnums)
    inputs = ", ".join(f"v{k + 1} = {n}" for k, n in enumerate(names))
    return (f"Generated code of the {'gradient' if scalar else 'Jacobian'} (chainrule.jit; {inputs}):\n\n"
            + jit(t).source(*point))


def _cmd_advise(args):
    from .advise import advise
    f, point, names = _build(args.target, parse_assignments(args.at), args.wrt)
    if not 1 <= args.repeat <= MAX_REPEAT:
        raise UsageError(f"--repeat must be between 1 and {MAX_REPEAT}, got {args.repeat}")
    argnums = tuple(range(len(point)))
    a = _run_user(lambda: advise(f, *point, argnums=argnums if len(point) > 1 else 0, repeat=args.repeat,
                                 sparse=args.sparse), args.traceback)
    print(json.dumps(a.to_dict(), indent=1) if args.json else str(a), end="" if not args.json else "\n")
    return 0


def _cmd_sparse(args):
    from ..sparse.transforms import sparse_hessian, sparse_jacobian
    f, point, names = _build(args.target, parse_assignments(args.at), args.wrt)
    argnums = tuple(range(len(point))) if len(point) > 1 else 0
    if args.hessian:
        d = _run_user(lambda: sparse_hessian(f, argnums).decision_for(*point), args.traceback)
    else:
        d = _run_user(lambda: sparse_jacobian(f, argnums, args.mode).decision_for(*point), args.traceback)
    print(json.dumps(d.to_dict(), indent=1) if args.json else str(d))
    if args.spy:
        if args.hessian:
            raise UsageError("--spy draws a Jacobian's colouring; leave out --hessian")
        import matplotlib
        matplotlib.use("Agg")
        from .sparsity import spy
        ax = _run_user(lambda: spy(f, *point, argnums=argnums, mode=args.mode), args.traceback)
        ax.figure.savefig(args.spy, dpi=120, bbox_inches="tight")
    return 0


def _cmd_demo(args):
    from .demo import run_demo
    return run_demo(out=args.out, quick=args.quick, stream=sys.stdout)


def _parser():
    p = argparse.ArgumentParser(
        prog="chainrule",
        description="Exact derivatives of NumPy code, in forward and reverse mode, and which mode to use.",
        epilog="Examples:\n"
               "  chainrule explain \"x*y + sin(x)\" --at x=2 y=3\n"
               "  chainrule advise \"tanh(x) * sum(x)\" --at x=[1,2,3]\n"
               "  chainrule sparse \"x[1:] * x[:-1]\" --at x=[1,2,3,4]\n"
               "  chainrule demo --out modes.png\n"
               "Exit codes: 0 success, 2 usage error or rejected expression, 1 error in your function.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"chainrule {__version__}",
                   help="print the version of chainrule and exit")
    sub = p.add_subparsers(dest="command", metavar="{explain,advise,sparse,demo}")
    target_help = ("an expression in quotes, or file.py:function, or package.module:function. "
                   "An expression may use " + EXPRESSION_HELP.replace("%", "%%") + "; nothing else runs. A file or module "
                   "target IMPORTS AND RUNS YOUR OWN CODE, as python would.")

    def common(sp):
        sp.add_argument("target", help=target_help)
        sp.add_argument("--at", nargs="+", required=True, metavar="NAME=VALUE",
                        help="the point: numbers or small arrays, e.g. --at x=2 y=[1,2,3]")
        sp.add_argument("--wrt", metavar="NAMES", help="comma-separated variables to differentiate "
                                                         "(default: all given with --at)")
        sp.add_argument("--json", action="store_true", help="print the data as JSON instead of the text")
        sp.add_argument("--traceback", action="store_true", help="show the full traceback of an error "
                                                                  "raised by your function")

    e = sub.add_parser("explain", help="the evaluation trace with tangents and adjoints, and the cost of each mode",
                       description="Trace the function at a point and print the Wengert list, the forward sweep "
                                   "(tangents), the reverse sweep (adjoints, in reverse order), the cost of a full "
                                   "Jacobian in each mode and the mode jacobian() would choose.",
                       epilog="Examples:\n  chainrule explain \"x*y + sin(x)\" --at x=2 y=3\n"
                              "  chainrule explain \"sum(tanh(x) ** 2)\" --at x=[0.5,1,2] --mode reverse\n"
                              "  chainrule explain model.py:loss --at w=[1,2] b=0.5 --wrt w --json",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    common(e)
    e.add_argument("--mode", choices=("forward", "reverse", "both"), default="both",
                   help="which sweep(s) to print (default: both)")
    e.add_argument("--max-rows", type=_max_rows, default=argparse.SUPPRESS, metavar="N",
                   help="rows of each sweep to print: the first and last N/2 (default: 40; 'all': every row)")
    e.add_argument("--progress", action="store_true",
                   help="report long tracing on stderr even when it is not a terminal (it is shown on a "
                        "terminal after about 2 s anyway)")
    e.add_argument("--dot", metavar="FILE", help="also write the trace as a Graphviz graph (DOT) to FILE")
    e.add_argument("--sparse", action="store_true", help="also detect the Jacobian's sparsity pattern and report "
                   "its nonzeros, density, colours per mode and the mode sparse_jacobian() chooses")
    e.add_argument("--code", action="store_true",
                   help="also print the derivative program as the Python code chainrule.jit generates")
    e.set_defaults(run=_cmd_explain)

    a = sub.add_parser("advise", help="measure both modes on your function and recommend one",
                       description="Compute the full Jacobian in forward and in reverse mode, several times each, "
                                   "and report median time, peak memory, the recommendation, and what "
                                   "jacobian(mode='auto') would choose.",
                       epilog="Examples:\n  chainrule advise \"tanh(x) * sum(x)\" --at x=[1,2,3] --repeat 9\n"
                              "  chainrule advise sim.py:observables --at k=0.5 c=0.1",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    common(a)
    a.add_argument("--repeat", type=int, default=5, help="runs of each mode (default: 5)")
    a.add_argument("--sparse", action="store_true", help="also measure sparse_jacobian() and report its pattern: "
                   "nonzeros, density, colours per mode, the mode chosen")
    a.set_defaults(run=_cmd_advise)

    s = sub.add_parser("sparse", help="the sparsity pattern, its colours in each mode, and the mode chosen",
                       description="Detect the pattern of the Jacobian (or, with --hessian, the Hessian) at a "
                                   "point, colour it for forward, reverse and bidirectional mode, and print the "
                                   "nonzeros, the density, the sweeps each mode needs and the mode "
                                   "sparse_jacobian() chooses; --spy draws the colouring (needs matplotlib).",
                       epilog="Examples:\n  chainrule sparse \"x[1:] * x[:-1]\" --at x=[1,2,3,4]\n"
                              "  chainrule sparse \"x[1:] * x[0] + x[:-1]\" --at x=[1,2,3,4,5] --spy pattern.png\n"
                              "  chainrule sparse \"sum(x[1:] * x[:-1] ** 2)\" --at x=[1,2,3,4] --hessian",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    common(s)
    s.add_argument("--mode", choices=("auto", "forward", "reverse", "bidirectional"), default="auto",
                   help="the mode to plan (default: auto, which measures the candidates)")
    s.add_argument("--hessian", action="store_true", help="the Hessian of a scalar function (star colouring)")
    s.add_argument("--spy", metavar="FILE", help="also draw the pattern coloured by sweep to FILE")
    s.set_defaults(run=_cmd_sparse)

    d = sub.add_parser("demo", help="the textbook example in both modes, then where each mode wins, measured",
                       description="Explain f(x, y) = x*y + sin(x) at (2, 3) in both modes; then time forward "
                                   "and reverse Jacobians of tanh layers R^n -> R^m over a grid of n and m, print "
                                   "the table and draw where each mode wins (needs matplotlib: "
                                   "pip install 'chainrule[plot]').",
                       epilog="Example:\n  chainrule demo --out chainrule-modes.png",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    d.add_argument("--out", default="chainrule-modes.png", help="the picture to write (default: %(default)s)")
    d.add_argument("--quick", action="store_true", help="a small grid, a few seconds")
    d.set_defaults(run=_cmd_demo)
    return p


def main(argv=None):
    """Run the command line; returns the exit code."""
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    options = {"-h", "--help", "--at", "--wrt", "--json", "--traceback", "--mode", "--dot", "--repeat",
               "--hessian", "--spy", "--max-rows", "--progress", "--code", "--sparse"}
    if len(argv) > 1 and argv[0] in ("explain", "advise", "sparse") and argv[1].startswith("-") \
            and argv[1].split("=")[0] not in options:
        argv[1] = " " + argv[1]          # an expression such as "-x + 1", not an option
    args = parser.parse_args(argv)       # exits with 2 on usage errors
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print(f"chainrule {args.command}: interrupted", file=sys.stderr)
        return 1
    except BrokenPipeError:                      # the reader of our output went away (| head)
        sys.stderr.close()
        return 1
    except (ExpressionError, UsageError) as err:
        print(f"chainrule {args.command}: error: {err}", file=sys.stderr)
        return 2
    except UserCodeError as err:
        if getattr(args, "traceback", False) and err.__cause__ is not None:
            traceback.print_exception(type(err.__cause__), err.__cause__, err.__cause__.__traceback__)
        print(f"chainrule {args.command}: your function raised an error: {err}", file=sys.stderr)
        if not getattr(args, "traceback", False):
            print("(run again with --traceback to see where)", file=sys.stderr)
        return 1
