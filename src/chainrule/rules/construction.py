"""Building and rearranging arrays: linspace, meshgrid, block, insert, delete, select, unique, ...

None of these needs a primitive of its own.  Each is composed from the
arithmetic, shape and indexing primitives, so its derivatives of every order
follow from theirs, and each returns exactly the value NumPy returns for the
same arguments:

* ``linspace`` repeats NumPy's own arithmetic on the traced endpoints
  (``arange * step + start``, the last sample set to ``stop``), so the samples
  are the same floats and their derivatives are ``1 - i/div`` and ``i/div``;
  ``logspace`` is ``base ** linspace``, and ``geomspace`` NumPy's ``logspace``
  of the logarithms with the endpoints set to ``start`` and ``stop``.
* Functions that only move entries around -- ``block``, ``insert``, ``delete``
  -- run NumPy's own function on an array of *codes* (the position of every
  input entry in one flat array of all the inputs) and gather the traced
  entries by the codes that come out.  NumPy's semantics (broadcasting of the
  inserted values, boolean and slice positions, nesting rules, its error
  messages) therefore hold as they are, and the adjoint is the scatter-add of
  the gather.
* Functions with integer or boolean results (``argmax``, ``searchsorted``,
  ``ix_``) are computed on the primal values: constants to every transform.
* ``unique`` gathers the first occurrence of each value (``return_index``):
  the values are differentiable, the indices, inverse and counts constants.
* ``real``, ``conj`` and ``real_if_close`` of a real traced value are the value
  itself and ``imag`` is NumPy's zeros; a complex traced value is refused
  (complex differentiation is not supported).

>>> import chainrule as cr
>>> float(cr.grad(lambda a: np.linspace(a, 1.0, 5)[1])(0.0))          # 1 - 1/4
0.75
>>> cr.grad(lambda x: np.sum(np.insert(x, 1, x[0]) ** 2))(np.array([1.0, 2.0]))
array([4., 4.])
"""

import operator

import numpy as np

from ..core import FUNCTIONS, Primitive, Tracer, bind, plain_value, primitive_of, register_function
from ..errors import NotDifferentiableError, TracerConversionError
from ._broadcast import dtype_of, ndim_of, shape_of
from ._declare import linear
from .indexing import gather


def _operand(v):
    """A tracer as it is; a list holding tracers through ``np.array``'s frontend; else a plain array."""
    if isinstance(v, Tracer):
        return v
    if isinstance(v, (list, tuple)) and _holds_tracer(v):
        return FUNCTIONS[np.array](v)
    return np.asarray(v)


def _holds_tracer(obj):
    if isinstance(obj, Tracer):
        return True
    if isinstance(obj, (list, tuple)):
        return any(_holds_tracer(o) for o in obj)
    return False


def _cast(x, dtype):
    """``x`` in ``dtype``: a float cast of a tracer (others raise), any cast of a plain value."""
    if dtype_of(x) == dtype:
        return x
    if isinstance(x, Tracer):
        return FUNCTIONS["astype"](x, dtype)
    return np.asarray(x).astype(dtype)


def _static_positions(name, obj):
    if _holds_tracer(obj):
        raise TracerConversionError(
            f"numpy.{name}: the positions (obj) are traced; they must be integers, slices or masks that "
            "do not depend on the differentiated inputs.")


def _codes(x, start):
    """``start, start + 1, ...`` in the shape of ``x``: where each entry of ``x`` sits in a flat concatenation."""
    n = int(np.prod(shape_of(x), dtype=np.int64))
    return np.arange(start, start + n, dtype=np.intp).reshape(shape_of(x))


def _gather_flat(pieces, codes, unique):
    """Entries ``codes`` of the flat concatenation of ``pieces``."""
    flat = np.ravel(pieces[0]) if len(pieces) == 1 else np.concatenate([np.ravel(p) for p in pieces])
    return gather(flat, (codes,), unique=unique)


# -- linspace and logspace ---------------------------------------------------------------------------------


def _linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0, *, device=None):
    # NumPy itself on the plain values with num=0: checks the arguments and gives the working dtype
    dt = np.linspace(plain_value(start), plain_value(stop), 0, endpoint=endpoint).dtype
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    if dtype is not None and not np.issubdtype(dtype, np.inexact):
        raise NotDifferentiableError(
            "numpy.linspace", f"dtype={np.dtype(dtype)} rounds the samples to integers, which has no derivative; "
            "keep a float dtype")
    # NumPy subtracts in the working dtype (NumPy 2: np.subtract(..., dtype=dt); 1.x: start * 1.0)
    start, stop = _cast(_operand(start), dt), _cast(_operand(stop), dt)
    div = num - 1 if endpoint else num
    delta = stop - start
    y = np.arange(0, num, dtype=dt).reshape((-1,) + (1,) * ndim_of(delta))
    if div > 0:
        step = delta / div
        if np.any(plain_value(step) == 0):                 # as NumPy: denormal steps, gh-5437
            y = y / div * delta
        else:
            y = y * step
    else:
        step = np.nan
        y = y * delta
    y = y + start
    if endpoint and num > 1:
        last = np.broadcast_to(_cast(stop, dtype_of(y)), (1,) + shape_of(y)[1:])
        y = np.concatenate([y[:-1], last])
    if axis != 0:
        y = np.moveaxis(y, 0, axis)
    if dtype is not None:
        y = _cast(y, np.dtype(dtype))
    return (y, step) if retstep else y


def _logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    # the dtype NumPy raises in: 1.x always makes the base an array (float64), NumPy 2 only an array base
    dt = np.logspace(plain_value(start), plain_value(stop), 0, base=plain_value(base)).dtype
    if not isinstance(base, (float, int)) and ndim_of(base):
        # as NumPy: an array base is broadcast with the endpoints, which may move the sample axis
        nd = len(np.broadcast_shapes(shape_of(start), shape_of(stop), shape_of(base)))
        start, stop, base = (np.reshape(_operand(a), (1,) * (nd - ndim_of(a)) + shape_of(a))
                             for a in (start, stop, base))
        base = np.expand_dims(base, axis)
    y = _cast(_linspace(start, stop, num=num, endpoint=endpoint, axis=axis), dt)
    out = np.power(base, y)
    return out if dtype is None else _cast(out, np.dtype(dtype))


def _geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    ps, pt = np.asarray(plain_value(start)), np.asarray(plain_value(stop))
    if np.any(ps == 0) or np.any(pt == 0):
        raise ValueError("Geometric sequence cannot include zero")
    if np.iscomplexobj(ps) or np.iscomplexobj(pt):
        raise NotDifferentiableError("numpy.geomspace", "of complex endpoints")
    dt = np.result_type(ps, pt, float(num), np.zeros((), dtype))
    # as NumPy: samples of the same sign as start, 10 ** linspace(log10 |start|, log10 |stop|), and the
    # endpoints set to start and stop exactly
    sign = np.sign(ps).astype(dt)
    start, stop = _cast(_operand(start), dt) / sign, _cast(_operand(stop), dt) / sign
    with np.errstate(invalid="ignore"):                     # stop of the other sign: nan, as NumPy
        y = _logspace(np.log10(start), np.log10(stop), num=num, endpoint=endpoint, base=10.0, dtype=dt)
    if num > 0:
        body = shape_of(y)[1:]
        first, rest = np.broadcast_to(start, (1,) + body), y[1:]
        if num > 1 and endpoint:
            rest = np.concatenate([y[1:-1], np.broadcast_to(stop, (1,) + body)])
        y = np.concatenate([first, rest])
    y = y * sign
    if axis != 0:
        y = np.moveaxis(y, 0, axis)
    return y if dtype is None else _cast(y, np.dtype(dtype))


_linspace.convention = "the samples are start + i (stop - start) / div: derivatives 1 - i/div and i/div"
register_function(np.linspace, _linspace)
register_function(np.logspace, _logspace)
register_function(np.geomspace, _geomspace)

# -- meshgrid --------------------------------------------------------------------------------------------------
_MESHGRID_TYPE = type(np.meshgrid(np.zeros(1)))             # a tuple since NumPy 2.0, a list before


def _meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    if indexing not in ("xy", "ij"):
        raise ValueError("Valid values for `indexing` are 'xy' and 'ij'.")
    nd = len(xi)
    s0 = (1,) * nd
    out = [np.reshape(_operand(x), s0[:i] + (-1,) + s0[i + 1:]) for i, x in enumerate(xi)]
    if indexing == "xy" and nd > 1:
        out[0] = np.reshape(out[0], (1, -1) + s0[2:])
        out[1] = np.reshape(out[1], (-1, 1) + s0[2:])
    if not sparse:
        shape = np.broadcast_shapes(*map(shape_of, out))
        out = [np.broadcast_to(o, shape) for o in out]
    if copy:
        out = [o if isinstance(o, Tracer) else o.copy() for o in out]   # tracers are never written to
    return _MESHGRID_TYPE(out)


register_function(np.meshgrid, _meshgrid)

# -- block, append, insert, delete ----------------------------------------------------------------------------


def _block(arrays):
    leaves = []
    start = [0]

    def codes(obj):
        if isinstance(obj, list):
            return [codes(o) for o in obj]
        if isinstance(obj, tuple):                          # NumPy refuses tuples; let it say so
            return tuple(codes(o) for o in obj)
        a = _operand(obj)
        leaves.append(a)
        c = _codes(a, start[0])
        start[0] += c.size
        return c

    index = np.block(codes(arrays))
    return _gather_flat(leaves, index, unique=True)


def _append(arr, values, axis=None):
    arr, values = _operand(arr), _operand(values)
    if axis is None:
        if ndim_of(arr) != 1:
            arr = np.ravel(arr)
        values = np.ravel(values)
        axis = ndim_of(arr) - 1
    return np.concatenate((arr, values), axis=axis)


def _insert(arr, obj, values, axis=None):
    _static_positions("insert", obj)
    arr, values = _operand(arr), _operand(values)
    values = _cast(values, dtype_of(arr))                   # NumPy converts the values to arr's dtype
    n = int(np.prod(shape_of(arr), dtype=np.int64))
    index = np.insert(_codes(arr, 0), obj, _codes(values, n), axis=axis)
    return _gather_flat([arr, values], index, unique=False)   # broadcast values repeat


def _delete(arr, obj, axis=None):
    _static_positions("delete", obj)
    arr = _operand(arr)
    return _gather_flat([arr], np.delete(_codes(arr, 0), obj, axis=axis), unique=True)


register_function(np.block, _block)
register_function(np.append, _append)
register_function(np.insert, _insert)
register_function(np.delete, _delete)

# -- rollaxis: a transpose ------------------------------------------------------------------------------------


def _rollaxis(a, axis, start=0):
    # NumPy's rollaxis of a zero-strided array of distinct axis lengths 2, 3, ... names the permutation
    n = ndim_of(a)
    probe = np.broadcast_to(np.empty(()), tuple(range(2, n + 2)))
    return np.transpose(a, tuple(d - 2 for d in np.rollaxis(probe, axis, start).shape))


register_function(np.rollaxis, _rollaxis)

# -- select: a chain of where ---------------------------------------------------------------------------------


def _select(condlist, choicelist, default=0):
    conds = [plain_value(c) for c in condlist]
    choices = [_operand(c) for c in choicelist]
    # NumPy on the plain values: checks the arguments, and gives the result's shape and dtype
    ref = np.select(conds, [plain_value(c) for c in choices], plain_value(default))
    result = default if isinstance(default, Tracer) else np.asarray(default, dtype=ref.dtype)
    for cond, choice in zip(conds[::-1], choices[::-1]):
        result = np.where(cond, choice, result)
    if shape_of(result) != ref.shape:
        result = np.broadcast_to(result, ref.shape)
    return _cast(result, ref.dtype)


_select.convention = "the derivative follows the chosen entry; conditions are constants"
register_function(np.select, _select)

# -- functions with constant integer results --------------------------------------------------------------------


def _constant(fn):
    def frontend(*args, **kwargs):
        return fn(*map(plain_value, args), **{k: plain_value(v) for k, v in kwargs.items()})
    frontend.__name__ = f"_{fn.__name__}"
    frontend.convention = "integer result: computed on the primal, a constant"
    return frontend


for _fn in (np.argmax, np.argmin, np.searchsorted):
    register_function(_fn, _constant(_fn))


def _ix(*args):
    return np.ix_(*[plain_value(a) for a in args])


_ix.convention = "index arrays: computed on the primal, constants"
register_function(np.ix_, _ix)


def _unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, **kwargs):
    found = np.unique(plain_value(ar), return_index=True, return_inverse=return_inverse,
                      return_counts=return_counts, axis=axis, **kwargs)
    first = found[1]
    if axis is None:
        values = gather(np.ravel(ar), (first,), unique=True)
    else:
        values = np.take(ar, first, axis=axis)
    extra = found[1:] if return_index else found[2:]
    return (values, *extra) if extra else values


_unique.convention = ("each value follows its first occurrence in the input; indices, inverse and counts "
                      "are constants")
register_function(np.unique, _unique)


def _intersect1d(ar1, ar2, assume_unique=False, return_indices=False):
    """NumPy's common values, read from the traced inputs at NumPy's own indices (a value found in both
    traced inputs follows each by half, as at a tie of ``np.maximum``)."""
    found = np.intersect1d(plain_value(ar1), plain_value(ar2), assume_unique=assume_unique, return_indices=True)
    dt = np.result_type(dtype_of(ar1), dtype_of(ar2))
    picked = [gather(np.ravel(a), (i,), unique=True) for a, i in ((ar1, found[1]), (ar2, found[2]))
              if isinstance(a, Tracer)]
    values = picked[0] if len(picked) == 1 else 0.5 * (picked[0] + picked[1])
    values = values if dtype_of(values) == dt else values.astype(dt)
    return (values, found[1], found[2]) if return_indices else values


_intersect1d.convention = ("each common value follows its first occurrence in the traced input(s); found in "
                           "both traced inputs, it follows each by 1/2")


def _union1d(ar1, ar2):
    return np.unique(np.concatenate((np.ravel(ar1), np.ravel(ar2))))


_union1d.convention = "np.unique of both inputs: each value follows its first occurrence, in ar1 before ar2"


def _setdiff1d(ar1, ar2, assume_unique=False):
    ar1 = np.ravel(ar1) if assume_unique else np.unique(ar1)
    return ar1[np.isin(plain_value(ar1), plain_value(ar2), assume_unique=True, invert=True)]


_setdiff1d.convention = "the values of ar1 not in ar2 follow ar1 (first occurrences); ar2 is a constant"


def _setxor1d(ar1, ar2, assume_unique=False):
    aux = np.concatenate((np.ravel(ar1), np.ravel(ar2)) if assume_unique else (np.unique(ar1), np.unique(ar2)))
    order = np.argsort(plain_value(aux), kind="mergesort")
    aux = aux[order]
    p = np.asarray(plain_value(aux))
    if p.size == 0:
        return aux
    flag = np.concatenate(([True], p[1:] != p[:-1], [True]))
    return aux[flag[1:] & flag[:-1]]


_setxor1d.convention = "the values in exactly one input follow their first occurrence there"
register_function(np.intersect1d, _intersect1d)
register_function(np.union1d, _union1d)
register_function(np.setdiff1d, _setdiff1d)
register_function(np.setxor1d, _setxor1d)


def _unique_array_api(fn):
    """``unique_values``/``_counts``/``_inverse``/``_all`` (NumPy >= 2.0): NumPy's result, its values gathered."""
    def frontend(x):
        p = plain_value(x)
        ref = fn(p)
        values = ref if fn is np.unique_values else ref.values
        if fn is np.unique_all:
            index = ref.indices
        else:   # NumPy may return them unsorted: each value's first occurrence, through the sorted values
            ordered, first = np.unique(p, return_index=True)
            index = first[np.searchsorted(ordered, values)]
        # (several nan values, unequal to each other, all follow the first nan)
        gathered = gather(np.ravel(x), (index,), unique=np.unique(index).size == index.size)
        return gathered if fn is np.unique_values else type(ref)(gathered, *ref[1:])
    frontend.__name__ = f"_{fn.__name__}"
    frontend.convention = _unique.convention
    return frontend


for _name in ("unique_values", "unique_counts", "unique_inverse", "unique_all"):
    if hasattr(np, _name):
        register_function(getattr(np, _name), _unique_array_api(getattr(np, _name)))

# -- real and imaginary parts, conjugate -------------------------------------------------------------------------
# Not holomorphic, but real-linear: under the bilinear pairing <a, b> = Re(sum(a b)) the transpose of
# Re is g -> g (as a complex adjoint), of Im is g -> -i g, of conj is g -> conj(g).


def _as_complex_like(g, x):
    return g * (1 + 0j) if dtype_of(x).kind == "c" and dtype_of(g).kind != "c" else g


real_p = Primitive("numpy.real", np.real)
linear(real_p, lambda t, out, x: np.real(t), lambda g, out, x: _as_complex_like(g, x), complex_ok=True)
imag_p = Primitive("numpy.imag", np.imag)
linear(imag_p, lambda t, out, x: np.imag(t), lambda g, out, x: -1j * g, complex_ok=True)


def _real(val):
    if dtype_of(val).kind != "c":
        return val                                          # NumPy returns the real array itself
    return bind(real_p, (val,))


def _imag(val):
    if dtype_of(val).kind != "c":
        return np.imag(plain_value(val))                    # NumPy's zeros: a constant
    return bind(imag_p, (val,))


def _real_if_close(a, tol=100):
    if dtype_of(a).kind != "c":
        return a
    p = plain_value(a)
    if np.isrealobj(np.real_if_close(p, tol=tol)):          # the imaginary part is negligible here: NumPy drops it
        return bind(real_p, (a,))
    return a


_real.convention = "the real part: linear (a complex adjoint g for a complex argument)"
_imag.convention = "the imaginary part: linear (adjoint -1j g); NumPy's zeros for a real value, a constant"
_real_if_close.convention = ("Re(a) where NumPy drops a negligible imaginary part (its derivative: that of "
                             "Re), else a itself")
register_function(np.real, _real)
register_function(np.imag, _imag)
register_function(np.real_if_close, _real_if_close)


def _angle(z, deg=False):
    a = np.arctan2(_imag(z), _real(z))                      # arctan2's rule: 0 at z == 0
    return a * (180 / np.pi) if deg else a


_angle.convention = "arctan2(Im z, Re z): the derivative of the argument, 0 at z == 0"
register_function(np.angle, _angle)
# np.conj is np.conjugate: the identity on real values
linear(primitive_of(np.conjugate), lambda t, out, x: np.conjugate(t), lambda g, out, x: np.conjugate(g),
       complex_ok=True)
