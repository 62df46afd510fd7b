"""Shape functions: reshape, transpose, broadcast_to, concatenate, casts.

All are linear, so each JVP applies the function to the tangent (shifted past
the tangent's batch axes) and each VJP applies its adjoint; no values are kept.
"""

import numpy as np

from ..core import Primitive, Tracer, bind, register_function
from ..errors import NotDifferentiableError
from ._broadcast import dtype_of, fit_adjoint, fit_tangent, ndim_of, shape_of
from ._declare import linear, variadic
from .reductions import normalize_axis

# -- reshape -----------------------------------------------------------------------------
reshape_p = Primitive("numpy.reshape", lambda x, *, shape: np.reshape(x, shape))


def _batch(t, x):
    s = shape_of(t)
    return s[: len(s) - ndim_of(x)]


linear(reshape_p,
       lambda t, out, x, *, shape: bind(reshape_p, (t,), {"shape": _batch(t, x) + shape}),
       lambda g, out, x, *, shape: bind(reshape_p, (g,), {"shape": _batch(g, out) + shape_of(x)}))


def _reshape(a, shape=None, order="C", *, newshape=None, copy=None):
    if shape is None:
        shape = newshape
    if order != "C":
        raise NotDifferentiableError("numpy.reshape", f"order={order!r}; only order='C' is supported")
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in shape)
    full = np.empty(shape_of(a), dtype=bool).reshape(shape).shape     # resolves -1, checks the size
    if full == shape_of(a):
        return a
    return bind(reshape_p, (a,), {"shape": full})


def _ravel(a, order="C"):
    return _reshape(a, (-1,), order)


register_function(np.reshape, _reshape)
register_function(np.ravel, _ravel)

# -- transpose ---------------------------------------------------------------------------
transpose_p = Primitive("numpy.transpose", lambda x, *, axes: np.transpose(x, axes))


def _shifted(axes, b):
    return tuple(range(b)) + tuple(a + b for a in axes)


def _inverse(axes):
    inv = [0] * len(axes)
    for i, a in enumerate(axes):
        inv[a] = i
    return tuple(inv)


linear(transpose_p,
       lambda t, out, x, *, axes: bind(transpose_p, (t,), {"axes": _shifted(axes, ndim_of(t) - len(axes))}),
       lambda g, out, x, *, axes: bind(transpose_p, (g,),
                                       {"axes": _shifted(_inverse(axes), ndim_of(g) - len(axes))}))


def _transpose(a, axes=None):
    n = ndim_of(a)
    if axes is None:
        axes = tuple(range(n - 1, -1, -1))
    else:
        axes = tuple(int(ax) % n if n else int(ax) for ax in axes)
        if sorted(axes) != list(range(n)):
            raise ValueError(f"axes {axes} are not a permutation of the {n} axes")
    if axes == tuple(range(n)):
        return a
    return bind(transpose_p, (a,), {"axes": axes})


def _swapaxes(a, axis1, axis2):
    n = ndim_of(a)
    axes = list(range(n))
    i, j = normalize_axis(axis1, n)[0], normalize_axis(axis2, n)[0]
    axes[i], axes[j] = axes[j], axes[i]
    return _transpose(a, axes)


def _moveaxis(a, source, destination):
    n = ndim_of(a)
    src = [int(s) % n for s in np.atleast_1d(source)]
    dst = [int(d) % n for d in np.atleast_1d(destination)]
    order = [i for i in range(n) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return _transpose(a, order)


register_function(np.transpose, _transpose)
register_function(np.swapaxes, _swapaxes)
register_function(np.moveaxis, _moveaxis)

# -- broadcast_to ------------------------------------------------------------------------
broadcast_to_p = Primitive("numpy.broadcast_to", lambda x, *, shape: np.broadcast_to(x, shape))
linear(broadcast_to_p,
       lambda t, out, x, *, shape: fit_tangent(t, x, out),
       lambda g, out, x, *, shape: fit_adjoint(g, x, out))


def _broadcast_to(array, shape, subok=False):
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in shape)
    if shape == shape_of(array):
        return array
    np.broadcast_shapes(shape_of(array), shape)                    # raises NumPy's error on mismatch
    return bind(broadcast_to_p, (array,), {"shape": shape})


register_function(np.broadcast_to, _broadcast_to)

# -- concatenate (variadic) --------------------------------------------------------------
concatenate_p = Primitive("numpy.concatenate", lambda *xs, axis: np.concatenate(xs, axis=axis), arity=None)


def _concat_jvp(i, t, out, *xs, axis):
    """The tangent of piece i, placed in zeros where the other pieces are."""
    b = ndim_of(t) - ndim_of(xs[i])
    pieces = []
    for j, x in enumerate(xs):
        if j == i:
            pieces.append(t)
        else:
            pieces.append(np.zeros(shape_of(t)[:b] + shape_of(x), dtype=dtype_of(t)))
    return bind(concatenate_p, tuple(pieces), {"axis": axis + b})


def _concat_vjp(i, g, out, *xs, axis):
    b = ndim_of(g) - ndim_of(out)
    start = sum(shape_of(x)[axis] for x in xs[:i])
    index = (slice(None),) * (b + axis) + (slice(start, start + shape_of(xs[i])[axis]),)
    return g[index]


variadic(concatenate_p, _concat_jvp, _concat_vjp, needs=())


def _concatenate(arrays, axis=0, out=None, dtype=None, casting=None):
    if out is not None:
        from ..errors import InPlaceError
        raise InPlaceError("numpy.concatenate(..., out=...) writes in place; use the returned value.")
    arrays = tuple(arrays)
    if axis is None:
        arrays = tuple(_ravel(a) for a in arrays)
        axis = 0
    axis = normalize_axis(axis, ndim_of(arrays[0]))[0]
    arrays = tuple(a if isinstance(a, Tracer) else np.asarray(a) for a in arrays)
    return bind(concatenate_p, arrays, {"axis": axis})


register_function(np.concatenate, _concatenate)

# -- casts between float dtypes ----------------------------------------------------------
astype_p = Primitive("astype", lambda x, *, dtype: np.asarray(x).astype(dtype))
linear(astype_p,
       lambda t, out, x, *, dtype: bind(astype_p, (t,), {"dtype": dtype}),
       lambda g, out, x, *, dtype: bind(astype_p, (g,), {"dtype": dtype_of(x)}))


def _astype(x, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise NotDifferentiableError(
            f"astype({dtype})", "a cast to a non-float dtype has no derivative; cast the primal "
            "outside the differentiated function, or keep a float dtype")
    if dtype == dtype_of(x):
        return +x
    return bind(astype_p, (x,), {"dtype": dtype})


register_function("astype", _astype)
register_function(np.copy, lambda a, order="K", subok=False: +a)

# -- queries: no derivative involved ----------------------------------------------------------
register_function(np.shape, lambda a: a.shape)
register_function(np.ndim, lambda a: a.ndim)
register_function(np.size, lambda a, axis=None: a.size if axis is None else a.shape[axis])
