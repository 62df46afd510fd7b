"""The Tracer base type and ``bind``, the single entry point of every operation.

A tracer stands in for an array while a transform runs.  It implements
NumPy's dispatch protocols (``__array_ufunc__`` for ufuncs such as
``np.sin``, ``__array_function__`` for everything else such as ``np.sum``)
and the Python operators, so plain ``import numpy as np`` code runs on it
unchanged.  Every path ends in :func:`bind`, which hands the primitive to the
innermost level among the arguments (see :mod:`chainrule.core.level`).

Anything that would silently drop a derivative raises instead: ``float(t)``,
``np.asarray(t, dtype=float)``, a traced value written into a plain NumPy
array, and NumPy functions that have no rule.

Two idioms of ordinary NumPy code need more than the dispatch protocols:

* **Arrays built from traced values**, ``np.array([a * x, b * y])``.  NumPy
  offers no hook for the elements of a list; it asks each element for
  ``__array__``.  A tracer answers with an *object* array holding itself (an
  n-d tracer: one scalar tracer per element), so NumPy builds an object array
  of tracers.  Arithmetic on such an array still goes through the tracers,
  element by element; and wherever chainrule sees one again -- an operand of
  a traced operation, a result of the differentiated function -- it is
  *promoted* back to one traced array (:func:`promote`), with the exact dtype
  NumPy would have given the plain values.
* **Writes**, ``y = np.zeros_like(x); y[0] = x[1]; y[1:] += x[:-1]``.  A
  tracer is a Python object that user code may hold in several names, so a
  write is a functional update whose result the tracer *becomes*
  (:meth:`Tracer._become`): every name sees it, as with NumPy.  Tracers made
  by basic indexing remember their base, so writes through a view reach the
  base and writes into a base refresh its live views.
"""

import operator
import sys
import weakref

import numpy as np

from ..errors import InPlaceError, LeakedTracerError, NotDifferentiableError, TracerConversionError
from .primitive import EMPTY, FUNCTIONS, UFUNCS, primitive_of

__all__ = ["Tracer", "bind", "canonical_operand", "plain_value", "concrete_value", "call_plain",
           "array_operand", "promote", "mark_view", "is_sparse_matrix", "ASSEMBLE", "UNSTACK", "SETITEM",
           "SPARSE_MATMUL"]

# Registry keys of the frontends this module reaches through ``FUNCTIONS`` (the rules define them;
# core never imports the rules).
ASSEMBLE = "assemble"      # (list of elements, shape) -> one traced array
UNSTACK = "unstack"        # tracer -> tuple of its elements, scalar tracers in C order
SETITEM = "setitem"        # (x, index, value) -> x with value written at index, functionally
SPARSE_MATMUL = "sparse_matmul"   # (a, b), one of them a constant scipy.sparse matrix -> a @ b


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
_SCALARS = _PLAIN - {np.ndarray}          # operands that need no look (arrays may be object arrays)


def plain_value(x):
    """The plain value under any number of tracers: to read (shapes, masks), never to differentiate.

    A level that must know when values are read (the sparsity level: a pattern
    built on a value-dependent index holds at this point only) marks its
    tracers ``watched`` and is told of each read.

    Under staging (:mod:`chainrule.jit`) the value is only the tracing call's: reading it makes the
    staged program check, on every later call, that the value is the same (a guard), so nothing
    decided from it can go stale.  Code that reads only a shape, dtype or identity uses
    :func:`concrete_value`; a mask or weights computed from values use :func:`call_plain`.
    """
    while isinstance(x, Tracer):
        if x._staged:
            return x._read_value()
        if x.watched:
            x._level.note_read(x)
        x = x.primal
    return x


def concrete_value(x):
    """The plain value under any number of tracers, for its shape, dtype, type or identity only.

    Under staging it is the value of the call being traced; numbers read from it would be those of
    that call, so use :func:`plain_value` or :func:`call_plain` to compute with them.
    """
    while isinstance(x, Tracer):
        x = x.primal
    return x


def call_plain(fn, *args, **params):
    """``fn`` applied to the plain values of ``args``: masks, weights and checks that carry no
    derivative (``np.where``'s condition, the weights of tied maxima).

    Under staging (:mod:`chainrule.jit`) the call is recorded as one operation of the program, so it
    is computed again from each call's values; its result is then a staged value.

    >>> call_plain(np.greater, np.array([1.0, -1.0]), 0.0)
    array([ True, False])
    """
    vals = []
    stage = None
    for a in args:
        while isinstance(a, Tracer):
            if a._staged:
                if stage is None or a._level.depth > stage._level.depth:
                    stage = a           # the innermost program (a loop's step staged on its own)
                break
            if a.watched:                                   # the sparsity level: a value-dependent result
                a._level.note_read(a)
            a = a.primal
        vals.append(a)                                      # plain, or a staged tracer
    if stage is not None:
        return stage._level.stage_call(fn, vals, params)
    return fn(*vals, **params)


def array_operand(a):
    """Tracers pass; anything else becomes an array (for functions whose operands are arrays).

    An object array of traced values (``np.array([t1, t2])``) becomes one traced array."""
    if type(a) is np.ndarray:                   # the common constant: no matrix or sparse checks
        return a if a.dtype.kind != "O" else promote(a)
    if isinstance(a, Tracer):
        return a
    if isinstance(a, np.matrix):
        raise _matrix_error()
    if is_sparse_matrix(a):
        raise _sparse_error()
    a = np.asarray(a)
    return a if a.dtype.kind != "O" else promote(a)


def canonical_operand(x):
    """Tracers, arrays and scalars pass; lists and other array-likes become arrays; object arrays of
    traced values become traced arrays."""
    t = type(x)
    if t is np.ndarray:
        return x if x.dtype.kind != "O" else promote(x)
    if t in _PLAIN or isinstance(x, Tracer):
        return x
    if isinstance(x, np.matrix):
        raise _matrix_error()
    if is_sparse_matrix(x):
        raise _sparse_error()
    x = np.asarray(x)
    return x if x.dtype.kind != "O" else promote(x)


def _matrix_error():
    from ..errors import InputDtypeError
    return InputDtypeError(
        "an np.matrix meets a traced value: its * and ** are matrix products, which chainrule would "
        "differentiate as the elementwise ones. Convert it with np.asarray(M) and use @ for products.")


def is_sparse_matrix(x):
    """Whether ``x`` is a ``scipy.sparse`` matrix or array (SciPy is never imported for the answer:
    if it is not loaded, ``x`` cannot be one)."""
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(x)


def _sparse_error():
    from ..errors import InputDtypeError
    return InputDtypeError(
        "a scipy.sparse matrix meets a traced value in an operation chainrule does not differentiate "
        "with a sparse operand. It differentiates the products A @ x, A.dot(x) and x @ A "
        "with a constant sparse A; for anything else convert it with A.toarray(). (A * x of a "
        "scipy.sparse *matrix* is a matrix product: write A @ x.)")


def promote(a):
    """An object array that holds traced values, as one traced array (anything else: unchanged).

    The dtype is the one NumPy gives the plain values; an element that is not a
    number (a string, None) leaves the array as it is, for NumPy to reject.
    """
    if type(a) is not np.ndarray or a.dtype.kind != "O":
        return a
    elems = a.ravel().tolist() if a.ndim else [a[()]]
    for e in elems:
        if isinstance(e, Tracer):
            return FUNCTIONS[ASSEMBLE](elems, a.shape)
    return a


def mark_view(view, base, read, write, index=None):
    """Record that tracer ``view`` is a NumPy view of tracer ``base``.

    ``read(base)`` recomputes the view from its base, ``write(base, view)`` writes the view's value
    back into the base (``None``: the view is read-only, as NumPy's ``diagonal``); ``index``, the
    key of ``view = base[key]``, lets ``base[key] = view`` be recognised as the no-op it is.
    """
    if view is base or not isinstance(view, Tracer) or view._level is not base._level:
        return view
    view._base = (base, read, write, index)
    try:
        views = base._views
    except AttributeError:
        views = base._views = []
    else:
        if len(views) > 8:                                  # drop the dead ones now and then
            views[:] = [r for r in views if r() is not None]
    views.append(weakref.ref(view))
    return view


def _ufunc_name(ufunc):
    """``scipy.special.jv`` for SciPy's ufuncs, ``numpy.sin`` for NumPy's."""
    special = sys.modules.get("scipy.special")
    if special is not None and getattr(special, ufunc.__name__, None) is ufunc:
        return f"scipy.special.{ufunc.__name__}"
    return f"numpy.{ufunc.__name__}"


def _fn_name(fn):
    mod = getattr(fn, "__module__", None) or "numpy"
    if mod.startswith("numpy") and mod.count(".") and not mod.startswith(("numpy.linalg", "numpy.fft")):
        mod = "numpy"
    return f"{mod}.{getattr(fn, '__name__', repr(fn))}"


def _conversion_error(what, advice=None):
    return TracerConversionError(
        f"{what} of a traced value would drop its derivative. "
        + (advice or "Keep the value as it is (NumPy functions and operators accept it); read the "
           "number only outside the differentiated function.")
    )


_FLOAT_ADVICE = (
    "Python's math module calls float() (math.sin(x), math.exp(x)): use np.sin(x), np.exp(x). "
    "A traced value written into a plain NumPy array also calls it (y = np.zeros(n); y[i] = x): "
    "make the buffer from a traced value instead, y = np.zeros_like(x) (or np.zeros_like(x, shape=n)), "
    "and writes into it are differentiated. Otherwise keep the value as it is, or read the number "
    "only outside the differentiated function.")

_ARRAY_ADVICE = (
    "NumPy was asked for a {dtype} array: np.array([...], dtype=...) or np.asarray(x, dtype=...) of "
    "traced values, or a traced value written into a plain NumPy array (y = np.zeros(n); "
    "y[:2] = [a, b]). Leave out dtype= (cast afterwards with .astype), and make buffers with "
    "np.zeros_like(x) so that writes into them are differentiated.")


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

    __slots__ = ("_level", "primal", "_base", "_views", "_origin", "__weakref__")
    __array_priority__ = 1000
    watched = False             # True: plain_value() reports reads of the primal to the level
    _staged = False             # True for chainrule.jit's staged values: their numbers are not known yet

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
                if not prim.fast:                       # a ufunc whose call needs a frontend (np.sign of complex)
                    frontend = FUNCTIONS.get((ufunc, "__call__"))
                    if frontend is not None:
                        return frontend(*inputs)
                if len(inputs) == 1:                    # the one input is self
                    level = self._level
                    if level.active:
                        return level.process_unary(prim, self)
                    raise _leaked(prim)
                if len(inputs) == 2:                    # A @ x, np.multiply(c, x): a plain constant and self
                    a, b = inputs
                    other = a if b is self else b if a is self else self
                    kind = type(other)
                    if kind in _SCALARS or (kind is np.ndarray and other.dtype.kind != "O"):
                        level = self._level
                        if level.active:
                            return level.process(prim, inputs, EMPTY)
                        raise _leaked(prim)
                return bind(prim, tuple(map(_c, inputs)), EMPTY)
        if "out" in kwargs:
            out = kwargs.pop("out")
            out = out if isinstance(out, tuple) else (out,)
            if method == "__call__" and len(out) == 1 and isinstance(out[0], Tracer):
                out[0][...] = ufunc(*inputs, **kwargs)           # a write into a traced array
                return out[0]
            raise InPlaceError(
                f"numpy.{ufunc.__name__}(..., out=...) writes into a plain NumPy array in place, which "
                "chainrule cannot see. Use the returned value instead (y = f(x), not out=y), or make "
                "the output array from a traced value (np.zeros_like(x)).")
        if method == "__call__":
            prim = UFUNCS.get(ufunc)
            if prim is None or not prim.declared:
                raise NotDifferentiableError(_ufunc_name(ufunc))
            if kwargs:
                raise NotDifferentiableError(
                    _ufunc_name(ufunc), f"keyword arguments {sorted(kwargs)} are not supported")
            return bind(prim, tuple(map(_c, inputs)), EMPTY)
        frontend = FUNCTIONS.get((ufunc, method))
        if frontend is None:
            if method == "at":
                raise InPlaceError(f"numpy.{ufunc.__name__}.at writes into an array in place; "
                                   "chainrule cannot differentiate it. Build a new array instead.")
            raise NotDifferentiableError(f"{_ufunc_name(ufunc)}.{method}")
        return frontend(*inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        frontend = FUNCTIONS.get(func)
        if frontend is None:
            raise NotDifferentiableError(_fn_name(func))
        return frontend(*args, **kwargs)

    def __array__(self, dtype=None, copy=None):
        # NumPy asks this of every element of np.array([t1, t2]) and of np.asarray(t).  An object
        # array keeps the tracers (see the module docstring); a numeric dtype cannot.
        if dtype is not None and np.dtype(dtype) != np.dtype(object):
            raise _conversion_error(f"A conversion to a plain {np.dtype(dtype)} array",
                                    _ARRAY_ADVICE.format(dtype=np.dtype(dtype)))
        if "scipy.sparse" in sys.modules:
            caller = _scipy_sparse_caller()
            if caller in _SPARSE_PRODUCTS:
                # ``A @ x`` with a scipy.sparse A: SciPy's product asks for our array first and returns
                # NotImplemented for a 0-d object array, so that Python calls x.__rmatmul__(A) (below)
                out = np.empty((), dtype=object)
                out[()] = self
                return out
            if caller is not None:
                raise _conversion_error(
                    f"Passing a traced value to scipy.sparse ({caller})",
                    "chainrule differentiates the products A @ x, A.dot(x) and x @ A of a constant "
                    "scipy.sparse A with traced x; for anything else convert A with A.toarray().")
        shape = self.shape
        out = np.empty(shape, dtype=object)
        if not shape:
            out[()] = self
            return out
        flat = out.reshape(-1)
        origin = self.primal
        for i, e in enumerate(FUNCTIONS[UNSTACK](self)):
            e._origin = (self, i, origin)         # lets promote() join whole runs back cheaply
            flat[i] = e
        return out

    def __float__(self):
        raise _conversion_error("float()", _FLOAT_ADVICE)

    def __int__(self):
        raise _conversion_error("int()", "Use np.floor(x) or np.round(x), which keep it traced, or "
                                "read the number only outside the differentiated function.")

    def __complex__(self):
        raise _conversion_error("complex()")

    def __index__(self):
        raise _conversion_error("Using a traced value as an index (x[i], range(i), a shape)",
                                "Indices must not depend on the differentiated inputs; a boolean "
                                "mask such as x > 0, or np.argmax(x), is fine.")

    def __round__(self, ndigits=None):
        if ndigits is None:
            raise _conversion_error("round(x), which returns a Python int,",
                                    "Use np.round(x), which keeps it traced (its derivative is zero).")
        return np.round(self, ndigits)

    def __divmod__(self, other):
        return self // other, self % other

    def __rdivmod__(self, other):
        return other // self, other % self

    def item(self, *args):
        """The element as a scalar tracer (not a Python number, which would drop the derivative)."""
        if not args:
            if self.size != 1:
                raise ValueError("can only convert an array of size 1 to a Python scalar")
            return np.reshape(self, ())
        index = args[0] if len(args) == 1 else args
        if isinstance(index, (int, np.integer)):
            return np.ravel(self)[index]
        return self[tuple(index)]

    def tolist(self):
        """Nested lists of scalar tracers, as ``ndarray.tolist`` gives nested lists of numbers."""
        if not self.shape:
            return self
        return [e.tolist() for e in self]


    def __bool__(self):
        # Control flow on a traced value follows its primal value; no derivative is lost.
        return bool(self.primal)

    def __setitem__(self, key, value):
        base = getattr(value, "_base", None)
        if base is not None and base[0] is self and _same_key(base[3], key):
            return                          # x[k] = x[k] with a live view: y[1:] += v wrote through already
        self._write(FUNCTIONS[SETITEM](self, key, value))

    def _write(self, new, skip=None):
        """Make this tracer hold ``new`` (its whole new value), with NumPy's view semantics:
        a view writes its new value back into its base, which refreshes its other live views
        (``skip``: the view the write came through, already up to date)."""
        base = getattr(self, "_base", None)
        if base is not None and base[2] is None:
            raise InPlaceError("this traced array is a read-only view (as NumPy's diagonal and "
                               "broadcast_to return); write into a copy: v = np.copy(v)")
        self._become(new)
        if base is not None:
            base[2](base[0], self)                           # refreshes the base's other views, and ours
        elif getattr(self, "_views", None):
            self._refresh_views(skip)

    def _refresh_views(self, skip=None):
        views = self._views
        live = []
        for ref in tuple(views):
            v = ref()
            if v is not None and getattr(v, "_base", (None,))[0] is self:
                live.append(ref)
                if v is not skip:
                    v._become(v._base[1](self))
                if getattr(v, "_views", None):
                    v._refresh_views()
        views[:] = live

    def _become(self, new):
        """Take over ``new``'s value and derivative (a functional update made in place)."""
        if not isinstance(new, Tracer) or new._level is not self._level or type(new) is not type(self):
            raise InPlaceError(
                "a write into a traced array stored a value that depends on a variable of an inner "
                "transform (nested grad/jacfwd) into an array of an outer one. Create the array "
                "inside the inner function, e.g. y = np.zeros_like(x) of one of its own variables.")
        for name in _state_slots(type(self)):
            setattr(self, name, getattr(new, name))

    def _inplace(self, op, other):
        # NumPy's x += y writes into an array, which every name of it sees; scalars are immutable,
        # so for them Python falls back to x = x + y.
        new = op(self, other)
        if not isinstance(concrete_value(self), np.ndarray):
            return new
        if isinstance(new, Tracer) and new.shape != self.shape:
            raise ValueError(f"non-broadcastable output operand with shape {self.shape} doesn't match "
                             f"the broadcast shape {new.shape}")
        if isinstance(new, Tracer) and new.dtype != self.dtype:
            new = new.astype(self.dtype)
        self._write(new)
        return self

    def __iadd__(self, other): return self._inplace(operator.add, other)
    def __isub__(self, other): return self._inplace(operator.sub, other)
    def __imul__(self, other): return self._inplace(operator.mul, other)
    def __itruediv__(self, other): return self._inplace(operator.truediv, other)
    def __ipow__(self, other): return self._inplace(operator.pow, other)
    def __imatmul__(self, other): return self._inplace(operator.matmul, other)
    def __ifloordiv__(self, other): return self._inplace(operator.floordiv, other)
    def __imod__(self, other): return self._inplace(operator.mod, other)

    def fill(self, value):
        """``x.fill(v)``: every element becomes ``v`` (traced or not), as a functional update."""
        self[...] = value

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
    def conj(self): return np.conjugate(self)
    conjugate = conj

    @property
    def real(self):
        return np.real(self)

    @property
    def imag(self):
        return np.imag(self)

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


_SPARSE_PRODUCTS = frozenset({"_matmul_dispatch", "_rmatmul_dispatch", "_mul_dispatch"})


def _scipy_sparse_caller():
    """The name of the function of scipy.sparse's own code (its matrix classes, not scipy.sparse.linalg)
    that called ``__array__``, or None: NumPy's conversion is a C function, so the first Python frame
    above chainrule's own is the caller's."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith("chainrule."):
        frame = frame.f_back
    if frame is not None and frame.f_globals.get("__name__", "").startswith("scipy.sparse._"):
        return frame.f_code.co_name
    return None


def _sparse_product(dense, reflected):
    """``x @ A`` (``A @ x`` if ``reflected``) for a tracer ``x``: a constant scipy.sparse ``A`` goes to
    its own primitive, anything else to ``dense``, the ordinary product."""
    def op(self, other):
        if type(other) is not np.ndarray and not isinstance(other, Tracer) and is_sparse_matrix(other):
            return FUNCTIONS[SPARSE_MATMUL](*((other, self) if reflected else (self, other)))
        return dense(self, other)
    return op


def _same_key(a, b):
    if a is b:
        return True
    try:
        return type(a) is type(b) and bool(a == b)
    except (TypeError, ValueError):
        return False


_STATE = {}


def _state_slots(cls):
    """The slots that hold a tracer's value and derivative (not its view bookkeeping)."""
    names = _STATE.get(cls)
    if names is None:
        names = ["primal"]
        for k in cls.__mro__:
            for n in k.__dict__.get("__slots__", ()):
                if k is not Tracer and n not in ("__weakref__", "__dict__"):
                    names.append(n)
        names = _STATE[cls] = tuple(names)
    return names


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
        if type(other) not in _SCALARS:
            other = _c(other)
            if isinstance(other, Tracer):           # an array of traced values, promoted: perhaps a deeper level's
                return bind(prim, (self, other))
        return level.process(prim, (self, other), EMPTY)
    return op


def _reflected(prim):
    """``y op x`` for a tracer ``x`` when ``y`` did not handle it."""
    def op(self, other):
        if isinstance(other, Tracer):
            return bind(prim, (other, self))
        level = self._level
        if not level.active:
            raise _leaked(prim)
        if type(other) not in _SCALARS:
            other = _c(other)
            if isinstance(other, Tracer):           # an array of traced values, promoted: perhaps a deeper level's
                return bind(prim, (other, self))
        return level.process(prim, (other, self), EMPTY)
    return op


for _name, _prim in [("add", _add), ("sub", _subtract), ("mul", _multiply), ("truediv", _divide),
                     ("pow", _power), ("matmul", _matmul), ("floordiv", _floor_divide),
                     ("mod", _remainder)]:
    setattr(Tracer, f"__{_name}__", _binary(_prim))
    setattr(Tracer, f"__r{_name}__", _reflected(_prim))
Tracer.__matmul__ = _sparse_product(Tracer.__matmul__, False)
Tracer.__rmatmul__ = _sparse_product(Tracer.__rmatmul__, True)
for _name, _prim in [("lt", _less), ("le", _less_equal), ("gt", _greater), ("ge", _greater_equal),
                     ("eq", _equal), ("ne", _not_equal)]:
    setattr(Tracer, f"__{_name}__", _binary(_prim))


def _ufunc_method(ufunc):
    def method(self, *args):
        return ufunc(self, *args)
    method.__name__ = ufunc.__name__
    return method


# NumPy's loops over object arrays (np.sin of np.array([t1, t2])) call t1.sin(): every ufunc is also a
# method of the tracer.  Class attributes, so that ordinary attribute lookups stay as quick as they were
# (a __getattr__ hook would slow every one of them by ~10%).
for _name in dir(np):
    _u = getattr(np, _name, None)
    if isinstance(_u, np.ufunc) and not _name.startswith("_") and not hasattr(Tracer, _name):
        setattr(Tracer, _name, _ufunc_method(_u))
