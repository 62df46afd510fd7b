"""The Tracer base type and ``bind``, the single entry point of every operation.

A tracer stands in for an array while a transform runs.  It implements
NumPy's dispatch protocols (``__array_ufunc__`` for ufuncs such as
``np.sin``, ``__array_function__`` for everything else such as ``np.sum``)
and the Python operators, so plain ``import numpy as np`` code runs on it
unchanged.  Every path ends in :func:`bind`, which hands the primitive to the
innermost level among the arguments (see :mod:`chainrule.core.level`).

Anything that would silently drop a derivative raises instead:
``float(t)``, ``np.asarray(t)``, writes into arrays, and NumPy functions that
have no rule.
"""

import operator

import numpy as np

from ..errors import InPlaceError, LeakedTracerError, NotDifferentiableError, TracerConversionError
from .primitive import EMPTY, FUNCTIONS, UFUNCS, primitive_of

__all__ = ["Tracer", "bind", "canonical_operand", "plain_value", "array_operand"]


def bind(prim, args, params=EMPTY):
    """Apply ``prim`` to ``args``: plain NumPy if nothing is traced, else the innermost level's engine."""
    top = None
    for a in args:
        if isinstance(a, Tracer):
            lv = a._level
            if top is None or lv.depth > top.depth:
                top = lv
    if top is None:
        return prim.impl(*args, **params)
    if not top.active:
        raise _leaked(prim)
    return top.process(prim, args, params)


_PLAIN = frozenset({float, int, bool, np.ndarray, np.float64, np.float32, np.float16,
                    np.int64, np.int32, np.bool_, complex, np.complex128, np.complex64})


def plain_value(x):
    """The plain value under any number of tracers: to read (shapes, masks), never to differentiate."""
    while isinstance(x, Tracer):
        x = x.primal
    return x


def array_operand(a):
    """Tracers pass; anything else becomes an array (for functions whose operands are arrays)."""
    return a if isinstance(a, Tracer) else np.asarray(a)


def canonical_operand(x):
    """Tracers, arrays and scalars pass; lists and other array-likes become arrays."""
    if type(x) in _PLAIN or isinstance(x, Tracer):
        return x
    return np.asarray(x)


def _fn_name(fn):
    mod = getattr(fn, "__module__", None) or "numpy"
    if mod.startswith("numpy") and mod.count(".") and not mod.startswith(("numpy.linalg", "numpy.fft")):
        mod = "numpy"
    return f"{mod}.{getattr(fn, '__name__', repr(fn))}"


def _conversion_error(what):
    return TracerConversionError(
        f"{what} of a traced value would drop its derivative. Keep the value as it is "
        "(NumPy functions and operators accept it); use np.stack or np.concatenate to build an "
        "array from traced values; read the number only outside the differentiated function."
    )


# The arithmetic primitives compute with Python's operators: on arrays and NumPy scalars they run
# the same ufuncs, but calling e.g. np.multiply on two scalars costs ~15x more than ``x * y``.
# (Inputs are NumPy scalars or arrays, never Python floats: the transforms convert them.)
_add = primitive_of(np.add, impl=operator.add)
_subtract = primitive_of(np.subtract, impl=operator.sub)
_multiply = primitive_of(np.multiply, impl=operator.mul)
_divide = primitive_of(np.true_divide, impl=operator.truediv)
_power = primitive_of(np.power, impl=operator.pow)
_negative = primitive_of(np.negative, impl=operator.neg)
_positive = primitive_of(np.positive, impl=operator.pos)
_absolute = primitive_of(np.absolute)
_matmul = primitive_of(np.matmul)
_floor_divide = primitive_of(np.floor_divide, impl=operator.floordiv)
_remainder = primitive_of(np.remainder, impl=operator.mod)
_less = primitive_of(np.less, impl=operator.lt)
_less_equal = primitive_of(np.less_equal, impl=operator.le)
_greater = primitive_of(np.greater, impl=operator.gt)
_greater_equal = primitive_of(np.greater_equal, impl=operator.ge)
_equal = primitive_of(np.equal, impl=operator.eq)
_not_equal = primitive_of(np.not_equal, impl=operator.ne)

_c = canonical_operand


class Tracer:
    """A traced value.  Subclasses add what their engine carries (a tangent, a tape node).

    ``primal`` is the value one level down: an array, a NumPy or Python
    scalar, or a tracer of an outer level when transforms are nested.
    """

    __slots__ = ("_level", "primal")
    __array_priority__ = 1000

    # -- array attributes, read from the primal ---------------------------------
    @property
    def shape(self):
        return getattr(self.primal, "shape", ())

    @property
    def ndim(self):
        return len(getattr(self.primal, "shape", ()))

    @property
    def size(self):
        n = 1
        for d in getattr(self.primal, "shape", ()):
            n *= d
        return n

    @property
    def dtype(self):
        p = self.primal
        return p.dtype if hasattr(p, "dtype") else np.result_type(p)

    def __len__(self):
        return len(self.primal)

    def __iter__(self):
        for i in range(len(self.primal)):
            yield self[i]

    # -- the NumPy protocols --------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method == "__call__" and not kwargs:
            prim = UFUNCS.get(ufunc)
            if prim is not None and (prim.fast or prim.declared):
                if len(inputs) == 1:                    # the one input is self
                    level = self._level
                    if level.active:
                        return level.process_unary(prim, self)
                    raise _leaked(prim)
                return bind(prim, tuple(map(_c, inputs)), EMPTY)
        if "out" in kwargs:
            raise InPlaceError(
                f"numpy.{ufunc.__name__}(..., out=...) writes into an array in place, which "
                "chainrule cannot differentiate. Use the returned value instead (y = f(x), not out=y)."
            )
        if method == "__call__":
            prim = UFUNCS.get(ufunc)
            if prim is None or not prim.declared:
                raise NotDifferentiableError(f"numpy.{ufunc.__name__}")
            if kwargs:
                raise NotDifferentiableError(
                    f"numpy.{ufunc.__name__}", f"keyword arguments {sorted(kwargs)} are not supported")
            return bind(prim, tuple(map(_c, inputs)), EMPTY)
        frontend = FUNCTIONS.get((ufunc, method))
        if frontend is None:
            if method == "at":
                raise InPlaceError(f"numpy.{ufunc.__name__}.at writes into an array in place; "
                                   "chainrule cannot differentiate it. Build a new array instead.")
            raise NotDifferentiableError(f"numpy.{ufunc.__name__}.{method}")
        return frontend(*inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        frontend = FUNCTIONS.get(func)
        if frontend is None:
            raise NotDifferentiableError(_fn_name(func))
        return frontend(*args, **kwargs)

    def __array__(self, dtype=None, copy=None):
        raise _conversion_error("np.asarray() / np.array()")

    def __float__(self):
        raise _conversion_error("float()")

    def __int__(self):
        raise _conversion_error("int()")

    def __complex__(self):
        raise _conversion_error("complex()")

    def __index__(self):
        raise _conversion_error("Using as an index")

    def __bool__(self):
        # Control flow on a traced value follows its primal value; no derivative is lost.
        return bool(self.primal)

    def __setitem__(self, key, value):
        raise InPlaceError(
            "item assignment into a traced array (x[i] = ...) is an in-place write that chainrule "
            "cannot differentiate. Build the new array functionally, e.g. with np.where, "
            "np.concatenate or x + np.eye(...)[i] * (value - x[i])."
        )

    def __format__(self, spec):
        return format(self.primal, spec)

    # -- operators (see _binary below) ---------------------------------------------
    def __neg__(self): return _unary_op(_negative, self)
    def __pos__(self): return _unary_op(_positive, self)
    def __abs__(self): return _unary_op(_absolute, self)
    __hash__ = None

    def __getitem__(self, index):
        return FUNCTIONS[operator.getitem](self, index)

    # -- array methods, routed through the NumPy functions --------------------
    @property
    def T(self):
        return np.transpose(self)

    def reshape(self, *shape, order="C"):
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = shape[0]
        return np.reshape(self, shape, order=order)

    def transpose(self, *axes):
        if len(axes) == 1 and not isinstance(axes[0], int):
            axes = axes[0]
        return np.transpose(self, axes or None)

    def sum(self, *a, **k): return np.sum(self, *a, **k)
    def mean(self, *a, **k): return np.mean(self, *a, **k)
    def prod(self, *a, **k): return np.prod(self, *a, **k)
    def max(self, *a, **k): return np.max(self, *a, **k)
    def min(self, *a, **k): return np.min(self, *a, **k)
    def std(self, *a, **k): return np.std(self, *a, **k)
    def var(self, *a, **k): return np.var(self, *a, **k)
    def cumsum(self, *a, **k): return np.cumsum(self, *a, **k)
    def cumprod(self, *a, **k): return np.cumprod(self, *a, **k)
    def clip(self, min=None, max=None, **k): return np.clip(self, min, max, **k)   # NumPy 1.x: no min=/max=
    def dot(self, other): return np.dot(self, other)
    def ravel(self, order="C"): return np.ravel(self, order=order)
    def flatten(self, order="C"): return np.ravel(self, order=order)
    def squeeze(self, axis=None): return np.squeeze(self, axis=axis)
    def swapaxes(self, a, b): return np.swapaxes(self, a, b)
    def diagonal(self, *a, **k): return np.diagonal(self, *a, **k)
    def trace(self, *a, **k): return np.trace(self, *a, **k)
    def argmax(self, *a, **k): return np.argmax(self, *a, **k)
    def argmin(self, *a, **k): return np.argmin(self, *a, **k)
    def repeat(self, *a, **k): return np.repeat(self, *a, **k)
    def take(self, *a, **k): return np.take(self, *a, **k)
    def round(self, decimals=0): return np.round(self, decimals)
    def argsort(self, *a, **k): return np.argsort(self, *a, **k)
    def conj(self):
        if self.dtype.kind == "c":
            raise NotDifferentiableError("conj", "of a complex traced value; chainrule differentiates real values")
        return +self
    conjugate = conj

    @property
    def mT(self):
        return np.swapaxes(self, -1, -2)

    def sort(self, *a, **k):
        raise InPlaceError("x.sort() sorts a traced array in place, which chainrule cannot differentiate. "
                           "Use the returned value of np.sort(x) instead.")

    def copy(self):
        return np.copy(self)

    def astype(self, dtype, copy=True):
        return FUNCTIONS["astype"](self, dtype)

    def __repr__(self):
        return f"{type(self).__name__}({self.primal!r}, level={self._level.depth})"


def _leaked(prim):
    return LeakedTracerError(
        f"{prim.name} was applied to a traced value whose transform has already returned "
        "(a tracer leaked out, e.g. stored in a global or a closure). Return values from the "
        "differentiated function instead of storing them.")


def _unary_op(prim, x):
    level = x._level
    if not level.active:
        raise _leaked(prim)
    return level.process_unary(prim, x)


def _binary(prim):
    """``x op y`` for a tracer ``x``: straight to its level unless ``y`` is a tracer too."""
    def op(self, other):
        if isinstance(other, Tracer):
            level = self._level
            if other._level is level and level.active:          # both of one level: no search
                return level.process(prim, (self, other), EMPTY)
            return bind(prim, (self, other))
        level = self._level
        if not level.active:
            raise _leaked(prim)
        return level.process(prim, (self, other if type(other) in _PLAIN else _c(other)), EMPTY)
    return op


def _reflected(prim):
    """``y op x`` for a tracer ``x`` when ``y`` did not handle it."""
    def op(self, other):
        if isinstance(other, Tracer):
            return bind(prim, (other, self))
        level = self._level
        if not level.active:
            raise _leaked(prim)
        return level.process(prim, (other if type(other) in _PLAIN else _c(other), self), EMPTY)
    return op


for _name, _prim in [("add", _add), ("sub", _subtract), ("mul", _multiply), ("truediv", _divide),
                     ("pow", _power), ("matmul", _matmul), ("floordiv", _floor_divide),
                     ("mod", _remainder)]:
    setattr(Tracer, f"__{_name}__", _binary(_prim))
    setattr(Tracer, f"__r{_name}__", _reflected(_prim))
for _name, _prim in [("lt", _less), ("le", _less_equal), ("gt", _greater), ("ge", _greater_equal),
                     ("eq", _equal), ("ne", _not_equal)]:
    setattr(Tracer, f"__{_name}__", _binary(_prim))
