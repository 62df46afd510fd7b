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
from .ir import CALL, GUARD_TRUTH, GUARD_VALUE, Const, Eqn, Var

__all__ = ["StagingLevel", "StagingTracer"]


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
            return self._level.stage_nested_call(fn, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        try:
            return Tracer.__array_function__(self, func, types, args, kwargs)
        except NotDifferentiableError:
            if not _only_staged(args, kwargs):
                raise
            return self._level.stage_nested_call(func, args, kwargs)

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


def _holds_tracer(a):
    return isinstance(a, (list, tuple, dict)) and any(isinstance(x, Tracer) for x in flatten(a)[0])


def _meta(v):
    shape = getattr(v, "shape", ())
    dtype = getattr(v, "dtype", None)
    return shape, dtype


class StagingLevel(Level):
    """Records the operations applied to its tracers into ``eqns``."""

    __slots__ = ("eqns", "consts", "_const_ids", "_count", "_last_context")

    def __init__(self):
        Level.__init__(self)
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
        key = id(x)
        c = self._const_ids.get(key)
        if c is not None and c[1] is x:
            return c[0]
        value = x.copy() if type(x) is np.ndarray else x
        c = Const(value, len(self.consts))
        self.consts.append(c)
        self._const_ids[key] = (c, x)                       # keeps x alive, so its id stays its own
        return c

    def _context(self):
        """The transforms active above this level, outermost first (``("reverse",)`` under grad)."""
        names = tuple(type(lv).__name__.removesuffix("Level").lower() for lv in active_levels()
                      if lv is not self)
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
            else:
                vals.append(a)
                ins.append(self.atom(a))
        return vals, ins

    def process(self, prim, args, params):
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
