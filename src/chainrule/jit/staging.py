"""The staging level: run a function once, recording every primitive into a :class:`~.ir.Program`.

A :class:`StagingTracer` holds the value of the call being traced (so shapes,
dtypes and Python control flow work as usual) and the program variable that
will hold it on later calls.  The staging level is pushed *first*, so the
levels of ``grad``, ``jacfwd`` and ``hessian`` run nested over it: their
engines compute primal results by binding again one level down, and their
rules' arithmetic in the backward sweep acts on staged values -- all of it is
recorded.

Whatever is decided from a staged value at trace time becomes a guard, so a
later call whose values would take another path is never answered by a
stale program:

* ``bool(t)`` (an ``if``/``while`` on a staged value) records the outcome;
* ``float(t)``, ``int(t)``, and a rule reading the number with
  :func:`chainrule.core.plain_value` record the whole value;
* a rule's masks and checks computed with :func:`chainrule.core.call_plain`
  (``np.where``'s condition, the zero-seed convention, tied maxima) are
  recorded as operations and recomputed on every call, no guard needed.
"""

import numpy as np

from ..core import EMPTY, Level, Tracer, active_levels
from ..errors import NotDifferentiableError
from ..pytree import flatten, unflatten
from .codegen import MISS, generate
from .ir import CALL, GUARD_TRUTH, GUARD_VALUE, STRUCTURED, Const, Eqn, Program, Var
from .passes import optimise

__all__ = ["StagingLevel", "StagingTracer", "stage_as_written", "Unstructured"]

STAGED_AS_WRITTEN = set()


def stage_as_written(prim):
    """Under staging, run ``prim``'s implementation on the staged values (its own operations are
    recorded) instead of recording one opaque call of it: for primitives such as ``chainrule.loop``
    whose implementation stages itself structured (:meth:`StagingLevel.structured`)."""
    STAGED_AS_WRITTEN.add(prim)
    return prim


class Unstructured(Exception):
    """A function given to :meth:`StagingLevel.structured` cannot be staged on its own (it reads a
    traced value of another transform from a closure, or takes too many paths): stage it inline."""


MAX_BODY_PATHS = 4        # traced paths of one sub-function (a loop's step) before it is staged inline


class StagingTracer(Tracer):
    """A staged value: the tracing call's value (``primal``) and its program variable (``var``)."""

    __slots__ = ("var",)
    _staged = True

    def __init__(self, level, primal, var):
        self._level = level
        self.primal = primal
        self.var = var

    # NumPy functions without a chainrule rule still have a value: staged, they are recorded as they
    # are (a derivative-carrying tracer above this one would have raised before reaching here).
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        try:
            return Tracer.__array_ufunc__(self, ufunc, method, *inputs, **kwargs)
        except NotDifferentiableError:
            if not _only_staged(inputs, kwargs):
                raise
            fn = ufunc if method == "__call__" else getattr(ufunc, method)
            return _deepest(inputs, kwargs, self._level).stage_nested_call(fn, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        try:
            return Tracer.__array_function__(self, func, types, args, kwargs)
        except NotDifferentiableError:
            if not _only_staged(args, kwargs):
                raise
            return _deepest(args, kwargs, self._level).stage_nested_call(func, args, kwargs)

    def __and__(self, other): return np.bitwise_and(self, other)
    def __rand__(self, other): return np.bitwise_and(other, self)
    def __or__(self, other): return np.bitwise_or(self, other)
    def __ror__(self, other): return np.bitwise_or(other, self)
    def __xor__(self, other): return np.bitwise_xor(self, other)
    def __rxor__(self, other): return np.bitwise_xor(other, self)
    def __invert__(self): return np.invert(self)

    def __bool__(self):
        outcome = bool(self.primal)
        self._level.guard_truth(self, outcome)
        return outcome

    def _read_value(self):
        return self._level.guard_value(self)

    def __float__(self):
        return float(self._read_value())

    def __int__(self):
        return int(self._read_value())

    def __index__(self):
        return self._read_value().__index__()

    def __complex__(self):
        return complex(self._read_value())

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and np.dtype(dtype) != np.dtype(object):
            return np.array(self._read_value(), dtype=dtype)
        return Tracer.__array__(self, dtype, copy)


def _only_staged(args, kwargs):
    """No tracer of another kind among ``args`` and ``kwargs`` (nested lists included)."""
    stack = list(args) + list(kwargs.values())
    while stack:
        a = stack.pop()
        if isinstance(a, Tracer) and type(a) is not StagingTracer:
            return False
        if isinstance(a, (list, tuple)):
            stack.extend(a)
    return True


def _deepest(args, kwargs, level):
    """The innermost staging level among the staged values in ``args`` and ``kwargs`` (a loop's step
    staged on its own mixes its values with those of the enclosing program)."""
    stack = list(args) + list(kwargs.values())
    while stack:
        a = stack.pop()
        if type(a) is StagingTracer and a._level.depth > level.depth:
            level = a._level
        elif isinstance(a, (list, tuple)):
            stack.extend(a)
    return level


def _holds_tracer(a):
    return isinstance(a, (list, tuple, dict)) and any(isinstance(x, Tracer) for x in flatten(a)[0])


def _meta(v):
    shape = getattr(v, "shape", ())
    dtype = getattr(v, "dtype", None)
    return shape, dtype


class StagingLevel(Level):
    """Records the operations applied to its tracers into ``eqns``."""

    __slots__ = ("eqns", "consts", "_const_ids", "_count", "_last_context", "parent", "captured")

    def __init__(self, parent=None):
        Level.__init__(self)
        self.parent = parent        # the enclosing program's level, for a sub-program (a loop's step)
        self.captured = []          # [(enclosing tracer, own input)]: enclosing values read from closures
        self.eqns = []
        self.consts = []
        self._const_ids = {}
        self._count = 0
        self._last_context = ((), ())

    def new_var(self, value):
        self._count += 1
        return Var(self._count, *_meta(value), type(value))

    def new_input(self, value):
        return StagingTracer(self, value, self.new_var(value))

    def atom(self, x):
        """The program atom of ``x``: its variable, or a constant (arrays copied once, as fixed)."""
        if type(x) is StagingTracer and x._level is self:
            return x.var
        if isinstance(x, Tracer):
            return self.capture(x).var
        key = id(x)
        c = self._const_ids.get(key)
        if c is not None and c[1] is x:
            return c[0]
        value = x.copy() if type(x) is np.ndarray else x
        c = Const(value, len(self.consts))
        self.consts.append(c)
        self._const_ids[key] = (c, x)                       # keeps x alive, so its id stays its own
        return c

    def name_adjoint(self, primal, g):
        """The backward sweep's final adjoint ``g`` of the node whose primal is ``primal``: its variable
        is printed ``<primal>_bar`` (the first node it is the adjoint of, from the output back)."""
        if type(g) is StagingTracer and g._level is self and type(primal) is StagingTracer \
                and primal._level is self and g.var.adjoint_of is None and g.var is not primal.var \
                and g.var.name is None:
            g.var.adjoint_of = primal.var

    def capture(self, x):
        """This sub-program's input holding ``x``, a staged value of an enclosing program (read from
        a closure); any other tracer means the function cannot be staged on its own."""
        if type(x) is not StagingTracer or self.parent is None:
            raise Unstructured(f"a traced value of another transform ({type(x).__name__})")
        if x._level is not self.parent:
            x = self.parent.capture(x)
        for outer, own in self.captured:
            if outer is x:
                return own
        own = self.new_input(x.primal)
        self.captured.append((x, own))
        return own

    def _context(self):
        """The transforms active above this level, outermost first (``("reverse",)`` under grad)."""
        names = tuple(type(lv).__name__.removesuffix("Level").lower() for lv in active_levels()
                      if type(lv) is not StagingLevel)
        if names != self._last_context[0]:
            self._last_context = (names, names)
        return self._last_context[1]

    def _record(self, name, fn, vals, ins, params, multiple):
        out = fn(*vals, **params) if params else fn(*vals)
        context = self._context()
        if multiple is None:                                # a plain function: a tuple is several results
            multiple = type(out) is tuple or isinstance(out, tuple) and hasattr(out, "_fields")
        if multiple:
            outs = tuple(self.new_input(o) for o in out)
            self.eqns.append(Eqn(CALL, name, fn, ins, params, [t.var for t in outs], True, context=context))
            return outs
        t = self.new_input(out)
        self.eqns.append(Eqn(CALL, name, fn, ins, params, [t.var], context=context))
        return t

    def _operands(self, args):
        vals, ins = [], []
        for a in args:
            if type(a) is StagingTracer and a._level is self:
                vals.append(a.primal)
                ins.append(a.var)
            elif isinstance(a, Tracer):
                own = self.capture(a)
                vals.append(own.primal)
                ins.append(own.var)
            else:
                vals.append(a)
                ins.append(self.atom(a))
        return vals, ins

    def process(self, prim, args, params):
        if prim in STAGED_AS_WRITTEN:
            return prim.impl(*args, **params)
        vals, ins = self._operands(args)
        return self._record(prim.name, prim.impl, vals, ins, params, prim.multiple_results)

    def process_unary(self, prim, x):
        return self.process(prim, (x,), EMPTY)

    def stage_call(self, fn, args, params):
        """Record ``fn(*args, **params)`` on plain values (from :func:`chainrule.core.call_plain`)."""
        vals, ins = self._operands(args)
        name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", "call")
        if isinstance(fn, np.ufunc) or getattr(fn, "__module__", "").startswith("numpy"):
            name = f"numpy.{name}"
        elif name.endswith("<lambda>"):
            name = f"{fn.__module__}.{name}"
        return self._record(name, fn, vals, ins, params, None)

    def stage_nested_call(self, fn, args, kwargs):
        """Record ``fn(*args, **kwargs)`` where staged values may sit inside lists, tuples and dicts
        (``np.concatenate([a, b])`` of a function without a rule): they become the call's operands."""
        leaves, tree = flatten((tuple(args), dict(kwargs)))
        if not any(type(x) is StagingTracer for x in leaves[len(args):]) and \
                all(type(a) is StagingTracer or not _holds_tracer(a) for a in args):
            return self.stage_call(fn, args, kwargs)            # staged values only at the top level

        def call(*leaves):
            a, k = unflatten(tree, leaves)
            return fn(*a, **k)
        call.__qualname__ = call.__name__ = getattr(fn, "__name__", "call") + "_of_leaves"   # not fn's signature
        call.__module__ = getattr(fn, "__module__", None) or "numpy"
        return self.stage_call(call, leaves, {})

    def guard_truth(self, t, outcome):
        self.eqns.append(Eqn(GUARD_TRUTH, "bool", bool, [t.var], {"expect": outcome}, [], context=self._context()))

    def guard_value(self, t):
        value = t.primal
        c = Const(value.copy() if type(value) is np.ndarray else value, len(self.consts))
        self.consts.append(c)
        self.eqns.append(Eqn(GUARD_VALUE, "value", None, [t.var, c], EMPTY, [], context=self._context()))
        return value

    def structured(self, runner, fns, args, label, prefix):
        """Stage ``runner(calls, *args)`` as one equation whose functions ``fns`` are each staged once,
        as sub-programs, instead of inline: a loop stays a loop over a generated step.

        ``fns[k](*values)`` returns a list of values; ``calls[k]`` runs it in ``runner`` (on plain
        values: each call runs the sub-program of a traced path whose guards hold, tracing another
        path when none does).  ``runner`` is plain Python over ``calls`` and the values of ``args``
        (staged values and constants) and returns a list of values; the equation runs it again on
        every call of the program, and makes the program miss when no path of a sub-function fits.
        Returns the staged results, or None when a function cannot be staged on its own (then the
        caller stages it inline).  ``label`` names the equation, ``prefix`` the sub-functions."""
        subs = [SubFunction(fn, f"{prefix}_{name}") for name, fn in fns]
        vals, ins = self._operands(args)
        try:
            out = runner([sub.tracing(self) for sub in subs], *vals)
        except Unstructured:
            return None
        captured = [outer for sub in subs for outer, _ in sub.captured]
        cap_vals, cap_ins = self._operands(captured)
        run = Structured(runner, subs, len(vals), label)
        outs = tuple(self.new_input(o) for o in out)
        self.eqns.append(Eqn(STRUCTURED, label, run, list(ins) + list(cap_ins), EMPTY, [t.var for t in outs],
                             True, context=self._context()))
        return outs


class _Missed(Exception):
    """No traced path of a sub-function fits this call's values."""


class SubPath:
    __slots__ = ("program", "source", "fn", "captured")

    def __init__(self, program, source, fn, captured):
        self.program, self.source, self.fn, self.captured = program, source, fn, captured


class SubFunction:
    """A function staged on its own (a loop's step): its traced paths and the enclosing values it reads."""

    def __init__(self, fn, name):
        self.fn = fn
        self.name = name
        self.paths = []
        self.captured = []          # [(enclosing tracer, index)] over all paths, in first-read order

    def tracing(self, level):
        """The function as ``runner`` calls it while the enclosing program is traced."""
        def call(*vals):
            for path in self.paths:
                out = path.fn(*vals, *[self.captured[j][0].primal for j in path.captured])
                if out is not MISS:
                    return out
            if len(self.paths) >= MAX_BODY_PATHS:
                raise Unstructured(f"{self.name} took more than {MAX_BODY_PATHS} paths")
            return self.trace(level, vals)
        return call

    def trace(self, level, vals):
        with StagingLevel(level) as child:
            inputs = [child.new_input(v) for v in vals]
            out = self.fn(*inputs)
            atoms = [child.atom(o) for o in out]
            results = [o.primal if type(o) is StagingTracer else o for o in out]
        indices = []
        for outer, own in child.captured:
            for j, (known, _) in enumerate(self.captured):
                if known is outer:
                    break
            else:
                j = len(self.captured)
                self.captured.append((outer, j))
            indices.append(j)
        program = optimise(Program([t.var for t in inputs] + [own.var for _, own in child.captured],
                                   child.eqns, atoms))
        name = f"{self.name}_{len(self.paths) + 1}" if self.paths else self.name
        source, fn = generate(program, name, "tuple")
        self.paths.append(SubPath(program, source, fn, indices))
        return tuple(results)

    def runtime(self, caps):
        """The function as ``runner`` calls it when the program runs; ``caps``: the enclosing values."""
        paths = [(p.fn, tuple(caps[j] for j in p.captured)) for p in self.paths]
        if len(paths) == 1:
            fn, extra = paths[0]

            def call(*vals):
                out = fn(*vals, *extra)
                if out is MISS:
                    raise _Missed
                return out
            return call

        def call(*vals):
            for fn, extra in paths:
                out = fn(*vals, *extra)
                if out is not MISS:
                    return out
            raise _Missed
        return call

    @property
    def guarded(self):
        return any(e.kind != CALL for p in self.paths for e in p.program.eqns)


class Structured:
    """The function of a structured equation: ``runner`` over the sub-functions' compiled paths."""

    def __init__(self, runner, subs, n_args, label):
        self.runner = runner
        self.subs = subs
        self.n_args = n_args
        self.label = label
        self.guarded = any(sub.guarded for sub in subs)
        self.__name__ = label.split(".")[-1]

    def __call__(self, *ins):
        n = self.n_args
        caps = ins[n:]
        calls = []
        k = 0
        for sub in self.subs:
            m = len(sub.captured)
            calls.append(sub.runtime(caps[k:k + m]))
            k += m
        try:
            return tuple(self.runner(calls, *ins[:n]))
        except _Missed:
            return MISS
