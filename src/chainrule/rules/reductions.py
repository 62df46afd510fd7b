"""Reductions: sums and means over axes (``axis`` normalised to a sorted tuple)."""

import numpy as np

from ..core import Primitive, bind, register_function
from ..errors import InPlaceError
from ._broadcast import ndim_of, shape_of
from ._declare import linear


def normalize_axis(axis, ndim):
    """``None`` -> all axes; an int or a sequence -> a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    out = []
    for a in axis:
        a = int(a)
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(a, ndim)
        out.append(a % ndim)
    return tuple(sorted(set(out)))


def _no_out(name, out):
    if out is not None:
        raise InPlaceError(f"numpy.{name}(..., out=...) writes in place; use the returned value instead.")


# -- sum ---------------------------------------------------------------------------------
sum_p = Primitive("numpy.sum", lambda x, *, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims))


def _sum_jvp(t, out, x, *, axis, keepdims):
    b = ndim_of(t) - ndim_of(x)
    return bind(sum_p, (t,), {"axis": tuple(a + b for a in axis), "keepdims": keepdims})


def _sum_vjp(g, out, x, *, axis, keepdims):
    xs = shape_of(x)
    gs = shape_of(g)
    b = len(gs) - len(shape_of(out))
    kept = tuple(1 if i in axis else d for i, d in enumerate(xs))
    return np.broadcast_to(np.reshape(g, gs[:b] + kept), gs[:b] + xs)


linear(sum_p, _sum_jvp, _sum_vjp)


def _sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    _no_out("sum", out)
    if initial is not None or where is not None:
        from ..errors import NotDifferentiableError
        raise NotDifferentiableError("numpy.sum", "the initial= and where= arguments are not supported")
    s = bind(sum_p, (a,), {"axis": normalize_axis(axis, ndim_of(a)), "keepdims": bool(keepdims)})
    return s if dtype is None else s.astype(dtype)


def _mean(a, axis=None, dtype=None, out=None, keepdims=False, where=None):
    _no_out("mean", out)
    axes = normalize_axis(axis, ndim_of(a))
    shape = shape_of(a)
    count = 1
    for ax in axes:
        count *= shape[ax]
    return _sum(a, axes, dtype=dtype, keepdims=keepdims, where=where) / count


register_function(np.sum, _sum)
register_function(np.mean, _mean)
register_function((np.add, "reduce"), lambda a, axis=0, dtype=None, out=None, keepdims=False:
                  _sum(a, axis, dtype, out, keepdims))
