"""Reductions and scans: sum, prod, max/min, cumsum/cumprod, and what composes from them.

Static parameters are normalised by the frontends (``axis`` -> a sorted tuple
of non-negative axes, or one int for the scans) before ``bind``.

Few of these functions are primitives.  ``sum``, ``prod``, ``max``/``min``,
``cumsum`` and ``cumprod`` are; ``mean``, ``var``,
``std``, ``average``, ``diff``, ``trace``, ``nansum``, ``nanmean`` and
``linalg.norm`` are compositions of primitives, exact as they stand, so
their derivatives of every order follow from the primitives' rules ("derive,
don't duplicate").  The one addition they need is :data:`root_p`,
``x ** (1/p)`` with derivative 0 at 0, which gives ``std`` at zero variance
and ``norm`` at the zero vector the subgradient 0 instead of ``0 * inf``.

Products with zeros in them are the classic trap: ``out / x`` divides by
zero.  Here the derivative of ``prod`` is the product of the *other* entries,
``L * R`` with ``L`` and ``R`` the exclusive cumulative products from the
left and from the right -- no division, exact with one zero, two zeros, or
any number.  ``cumprod``'s own derivative is a first-order linear
recurrence, ``s[k] = x[k] s[k-1] + c[k]``, which :func:`_linear_scan`
solves in log2(n) doubling steps of multiplications and additions; as those
are differentiable, so is everything built on them, at any order.
"""

import numpy as np

from ..core import Primitive, Tracer, bind, call_plain, concrete_value, plain_value, register_function  # noqa: F401
from ..errors import InPlaceError, NotDifferentiableError
from ._broadcast import dtype_of, ndim_of, shape_of
from ._declare import linear, rule
from .elementwise import real_only

_AxisError = np.exceptions.AxisError if hasattr(np, "exceptions") else np.AxisError   # NumPy < 1.25: np.AxisError


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
            raise _AxisError(a, ndim)
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError("duplicate value in 'axis'")                # as NumPy says
    return tuple(sorted(out))


def _no_out(name, out):
    if out is not None:
        raise InPlaceError(f"numpy.{name}(..., out=...) writes in place; use the returned value instead.")


def _unsupported(name, **given):
    """Raise for optional NumPy arguments (initial=, where=) that the rules do not handle."""
    bad = sorted(k for k, v in given.items() if v is not None and v is not np._NoValue)
    if bad:
        raise NotDifferentiableError(f"numpy.{name}", f"the arguments {bad} are not supported")




def _real(name, a):
    """Reject a complex argument of a composition whose formula holds for real values only."""
    if np.iscomplexobj(concrete_value(a)):
        raise NotDifferentiableError(f"numpy.{name}", "of a complex value: only real arguments are supported")


def _count(shape, axes):
    n = 1
    for ax in axes:
        n *= shape[ax]
    return n


def _expand(g, out, x, axis):
    """An adjoint of a reduction's output, reshaped with 1s at the reduced axes (batch axes kept)."""
    gs = shape_of(g)
    b = len(gs) - ndim_of(out)
    kept = tuple(1 if i in axis else d for i, d in enumerate(shape_of(x)))
    return np.reshape(g, gs[:b] + kept)


def _shifted(axis, t, x):
    return tuple(a + ndim_of(t) - ndim_of(x) for a in axis)


# -- sum ---------------------------------------------------------------------------------
# np.add.reduce is what np.sum calls, without np.sum's Python layer (3x quicker on small arrays)
sum_p = Primitive("numpy.sum", lambda x, *, axis, keepdims: np.add.reduce(x, axis=axis, keepdims=keepdims))


def _sum_jvp(t, out, x, *, axis, keepdims):
    return bind(sum_p, (t,), {"axis": _shifted(axis, t, x), "keepdims": keepdims})


def _sum_vjp(g, out, x, *, axis, keepdims):
    gs = shape_of(g)
    b = len(gs) - ndim_of(out)
    return np.broadcast_to(_expand(g, out, x, axis), gs[:b] + shape_of(x))


linear(sum_p, _sum_jvp, _sum_vjp, complex_ok=True)          # linear: right for complex values


# -- where= and initial=: NumPy's own masked reduction as the primal, the mask in the rules ------------
def _given(v):
    return v is not None and v is not np._NoValue


def _mask_of(where):
    """``where=`` as a plain boolean array, or ``None`` for no mask (``True``, ``None``, not given)."""
    if not _given(where) or where is True:
        return None
    return np.asarray(plain_value(where), dtype=bool)          # a boolean mask: a constant


def _masked_params(a, axis, keepdims, initial, where):
    return {"axis": normalize_axis(axis, ndim_of(a)), "keepdims": bool(keepdims),
            "initial": initial if _given(initial) else None, "where": _mask_of(where)}


def _masked_impl(fn):
    def impl(x, *, axis, keepdims, initial, where):
        kw = {} if initial is None else {"initial": initial}
        return fn(x, axis=axis, keepdims=keepdims, where=True if where is None else where, **kw)
    return impl


def _masked(g, where):
    return g if where is None else np.where(where, g, 0)


masked_sum_p = Primitive("numpy.sum(where=, initial=)", _masked_impl(np.add.reduce))


def _masked_sum_vjp(g, out, x, *, axis, keepdims, initial, where):
    gs = shape_of(g)
    b = len(gs) - ndim_of(out)
    return _masked(np.broadcast_to(_expand(g, out, x, axis), gs[:b] + shape_of(x)), where)


linear(masked_sum_p,
       lambda t, out, x, *, axis, keepdims, initial, where:
       bind(masked_sum_p, (t,), {"axis": _shifted(axis, t, x), "keepdims": keepdims, "initial": None,
                                 "where": where}),
       _masked_sum_vjp, complex_ok=True)


def _sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    _no_out("sum", out)
    if (initial is not None or where is not None) and (_given(initial) or _mask_of(where) is not None):
        if dtype is not None:
            a = a.astype(dtype)
        return bind(masked_sum_p, (a,), _masked_params(a, axis, keepdims, initial, where))
    s = bind(sum_p, (a,), {"axis": normalize_axis(axis, ndim_of(a)), "keepdims": bool(keepdims)})
    return s if dtype is None else s.astype(dtype)


def _mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    _no_out("mean", out)
    axes = normalize_axis(axis, ndim_of(a))
    mask = _mask_of(where)
    if mask is not None:
        # NumPy divides in float64 and rounds to the sum's dtype; for float32 the quotient of two float32
        # values rounded once more is the same number, so the count is cast instead of the result
        s = _sum(a, axes, dtype=dtype, keepdims=keepdims, where=mask)
        count = np.sum(np.broadcast_to(mask, shape_of(a)), axis=axes, keepdims=keepdims)
        with np.errstate(invalid="ignore", divide="ignore"):
            return s / np.asarray(count, dtype=dtype_of(s))
    return _sum(a, axes, dtype=dtype, keepdims=keepdims) / _count(shape_of(a), axes)


def _reduce_method(front, with_dtype=True):
    """``ufunc.reduce``'s signature on top of a reduction frontend (``np._NoValue``/``True``: not given)."""
    def method(a, axis=0, dtype=None, out=None, keepdims=False, initial=np._NoValue, where=True):
        init = None if initial is np._NoValue else initial
        mask = None if where is True else where
        if with_dtype:
            return front(a, axis, dtype, out, keepdims, init, mask)
        if dtype is not None:
            a = a.astype(dtype)
        return front(a, axis, out, keepdims, init, mask)
    return method


register_function(np.sum, _sum)
register_function(np.mean, _mean)
register_function((np.add, "reduce"), _reduce_method(_sum))


# -- max and min -------------------------------------------------------------------------
def _tie_weights(out, x, axis):
    """1/(number of tied extrema) at the extrema of each slice, 0 elsewhere (a constant array)."""
    return call_plain(_plain_tie_weights, out, x, axis=axis)


def _plain_tie_weights(out, x, axis):
    xp, op = np.asarray(x), np.asarray(out)
    kept = tuple(1 if i in axis else d for i, d in enumerate(xp.shape))
    mask = (xp == op.reshape(kept)).astype(xp.dtype)
    with np.errstate(invalid="ignore"):                     # a nan slice has no extremum: nan weights
        return mask / np.sum(mask, axis=axis, keepdims=True)


def _extremum(name, fn):
    prim = Primitive(f"numpy.{name}", lambda x, *, axis, keepdims: fn(x, axis=axis, keepdims=keepdims))
    # Ties share the adjoint equally: each of k tied extrema gets 1/k (the mean of the one-sided derivatives).
    rule(prim,
         (lambda t, out, x, *, axis, keepdims:
          np.sum(t * _tie_weights(out, x, axis), axis=_shifted(axis, t, x), keepdims=keepdims),),
         (lambda g, out, x, *, axis, keepdims: _expand(g, out, x, axis) * _tie_weights(out, x, axis),),
         needs=(("out", "x"),),
         convention="ties: the derivative is shared equally among the tied extrema")

    masked = Primitive(f"numpy.{name}(where=, initial=)", _masked_impl(fn))
    # An entry equal to the result gets it (shared among ties); a result that is `initial` itself gets 0.
    rule(masked,
         (lambda t, out, x, *, axis, keepdims, initial, where:
          np.sum(t * _masked_tie_weights(out, x, axis, where), axis=_shifted(axis, t, x), keepdims=keepdims),),
         (lambda g, out, x, *, axis, keepdims, initial, where:
          _expand(g, out, x, axis) * _masked_tie_weights(out, x, axis, where),),
         needs=(("out", "x"),),
         convention="ties shared equally among the selected extrema; 0 where the result is `initial`")

    def frontend(a, axis=None, out=None, keepdims=False, initial=None, where=None):
        _no_out(name, out)
        if (initial is not None or where is not None) and (_given(initial) or _mask_of(where) is not None):
            return bind(masked, (a,), _masked_params(a, axis, keepdims, initial, where))
        return bind(prim, (a,), {"axis": normalize_axis(axis, ndim_of(a)), "keepdims": bool(keepdims)})

    return prim, masked, frontend


def _masked_tie_weights(out, x, axis, where):
    xp, op = np.asarray(plain_value(x)), np.asarray(plain_value(out))
    kept = tuple(1 if i in axis else d for i, d in enumerate(xp.shape))
    mask = xp == op.reshape(kept)
    if where is not None:
        mask = mask & where
    mask = mask.astype(xp.dtype)
    count = np.sum(mask, axis=axis, keepdims=True)
    return mask / np.maximum(count, 1)


max_p, masked_max_p, _max = _extremum("max", np.max)
min_p, masked_min_p, _min = _extremum("min", np.min)
for _p in (max_p, min_p, masked_max_p, masked_min_p):
    real_only(_p)
for _fn, _front in ((np.max, _max), (np.amax, _max), (np.min, _min), (np.amin, _min)):
    register_function(_fn, _front)
register_function((np.maximum, "reduce"), _reduce_method(_max, with_dtype=False))
register_function((np.minimum, "reduce"), _reduce_method(_min, with_dtype=False))


# -- scans along one axis ------------------------------------------------------------------
def _along(ax, sl):
    """An index applying ``sl`` to the axis ``ax`` counted from the end (ax < 0), whatever leads it."""
    return (Ellipsis, sl) + (slice(None),) * (-ax - 1)


def _reverse(v, ax):
    return v[_along(ax, slice(None, None, -1))]


def _shift(v, ax, s, fill):
    """``v`` moved ``s`` places forward along ``ax`` (ax < 0), the first ``s`` filled with ``fill``."""
    shape = shape_of(v)
    n = shape[ax]
    if s >= n:
        return np.full(shape, fill, dtype=dtype_of(v))
    p = len(shape) + ax
    pad = np.full(shape[:p] + (s,) + shape[p + 1:], fill, dtype=dtype_of(v))
    return np.concatenate([pad, v[_along(ax, slice(0, n - s))]], axis=ax)


def _linear_scan(a, c, ax):
    """``s`` with ``s[k] = a[k] s[k-1] + c[k]`` along ``ax`` (ax < 0), ``s[-1] = 0``.

    Doubling (Hillis-Steele): after the step of width ``w`` each position holds
    the composition of the affine maps of the ``2w`` positions ending there.
    ``c`` may carry leading batch axes that ``a`` has not.
    """
    n = shape_of(c)[ax]
    w = 1
    while w < n:
        c = c + a * _shift(c, ax, w, 0)
        if 2 * w < n:
            a = a * _shift(a, ax, w, 1)
        w *= 2
    return c


cumsum_p = Primitive("numpy.cumsum", lambda x, *, axis: np.cumsum(x, axis=axis))
linear(cumsum_p,
       lambda t, out, x, *, axis: bind(cumsum_p, (t,), {"axis": axis + ndim_of(t) - ndim_of(x)}),
       lambda g, out, x, *, axis: _reverse(np.cumsum(_reverse(g, axis - ndim_of(x)), axis=axis - ndim_of(x)),
                                           axis - ndim_of(x)), complex_ok=True)

cumprod_p = Primitive("numpy.cumprod", lambda x, *, axis: np.cumprod(x, axis=axis))


def _cumprod_jvp(t, out, x, *, axis):
    # s[k] = x[k] s[k-1] + out[k-1] t[k]: the tangent of out[k] = out[k-1] x[k]
    ax = axis - ndim_of(x)
    return _linear_scan(x, _shift(out, ax, 1, 1) * t, ax)


def _cumprod_vjp(g, out, x, *, axis):
    # x_bar[i] = out[i-1] h[i] with h[i] = g[i] + x[i+1] h[i+1]: the same recurrence, run backwards
    ax = axis - ndim_of(x)
    h = _reverse(_linear_scan(_shift(_reverse(x, ax), ax, 1, 0), _reverse(g, ax), ax), ax)
    return _shift(out, ax, 1, 1) * h


rule(cumprod_p, (_cumprod_jvp,), (_cumprod_vjp,), needs=(("out", "x"),), complex_ok=True)


def _scan_frontend(name, prim):
    def frontend(a, axis=None, dtype=None, out=None):
        _no_out(name, out)
        if axis is None:
            a = np.ravel(a)
            axis = 0
        s = bind(prim, (a,), {"axis": normalize_axis(axis, ndim_of(a))[0]})
        return s if dtype is None else s.astype(dtype)
    return frontend


_cumsum = _scan_frontend("cumsum", cumsum_p)
_cumprod = _scan_frontend("cumprod", cumprod_p)
register_function(np.cumsum, _cumsum)
register_function(np.cumprod, _cumprod)
register_function((np.add, "accumulate"), lambda a, axis=0, dtype=None, out=None: _cumsum(a, axis, dtype, out))
register_function((np.multiply, "accumulate"), lambda a, axis=0, dtype=None, out=None:
                  _cumprod(a, axis, dtype, out))


# -- prod ----------------------------------------------------------------------------------
prod_p = Primitive("numpy.prod", lambda x, *, axis, keepdims: np.prod(x, axis=axis, keepdims=keepdims))


def _others(x, axis):
    """For each entry, the product of the other entries of its slice: L * R, no division."""
    xs = shape_of(x)
    rest = tuple(i for i in range(len(xs)) if i not in axis)
    order = rest + axis
    lined = np.reshape(np.transpose(x, order), tuple(xs[i] for i in rest) + (-1,))
    left = _shift(np.cumprod(lined, axis=-1), -1, 1, 1)
    right = _reverse(_shift(np.cumprod(_reverse(lined, -1), axis=-1), -1, 1, 1), -1)
    both = np.reshape(left * right, tuple(xs[i] for i in order))
    inverse = [0] * len(order)
    for i, a in enumerate(order):
        inverse[a] = i
    return np.transpose(both, tuple(inverse))


rule(prod_p,
     (lambda t, out, x, *, axis, keepdims:
      np.sum(t * _others(x, axis), axis=_shifted(axis, t, x), keepdims=keepdims),),
     (lambda g, out, x, *, axis, keepdims: _expand(g, out, x, axis) * _others(x, axis),),
     needs=(("x",),), complex_ok=True)


masked_prod_p = Primitive("numpy.prod(where=, initial=)", _masked_impl(np.multiply.reduce))


def _masked_others(x, axis, initial, where):
    """The derivative of ``initial * prod(x[where])`` in each entry: the other selected entries' product."""
    d = _others(x if where is None else np.where(where, x, 1), axis)
    d = d if initial is None else d * initial
    return _masked(d, where)


rule(masked_prod_p,
     (lambda t, out, x, *, axis, keepdims, initial, where:
      np.sum(t * _masked_others(x, axis, initial, where), axis=_shifted(axis, t, x), keepdims=keepdims),),
     (lambda g, out, x, *, axis, keepdims, initial, where:
      _expand(g, out, x, axis) * _masked_others(x, axis, initial, where),),
     needs=(("x",),), complex_ok=True)


def _prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    _no_out("prod", out)
    if (initial is not None or where is not None) and (_given(initial) or _mask_of(where) is not None):
        if dtype is not None:
            a = a.astype(dtype)
        return bind(masked_prod_p, (a,), _masked_params(a, axis, keepdims, initial, where))
    p = bind(prod_p, (a,), {"axis": normalize_axis(axis, ndim_of(a)), "keepdims": bool(keepdims)})
    return p if dtype is None else p.astype(dtype)


register_function(np.prod, _prod)
register_function((np.multiply, "reduce"), _reduce_method(_prod))


# -- roots with the subgradient 0 at 0: std at zero variance, norms at zero --------------------
root_p = Primitive("root", lambda x, *, p: np.sqrt(x) if p == 2 else x ** (1.0 / p))


def _root_partial(out, x, p):
    # d/dx x**(1/p) = out / (p x), +inf at x == 0; taken as 0 there, so std and norm get the subgradient 0
    positive = x > 0
    return np.where(positive, out / (p * np.where(positive, x, 1)), 0)


rule(root_p,
     (lambda t, out, x, *, p: t * _root_partial(out, x, p),),
     (lambda g, out, x, *, p: g * _root_partial(out, x, p),),
     needs=(("out", "x"),),
     convention="x ** (1/p) (p = 2: sqrt) with derivative 0 at x == 0, the subgradient 0 of std and norm")


def _root(x, p):
    return bind(root_p, (x,), {"p": p})


# -- variance and standard deviation -------------------------------------------------------------
def _abs2(d):
    """|d|^2, real: ``d * d`` for real values, ``Re(d)^2 + Im(d)^2`` for complex ones (smooth at 0, unlike abs)."""
    if dtype_of(d).kind != "c":
        return np.square(d)
    return np.square(np.real(d)) + np.square(np.imag(d))


def _var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, mean=None,
         correction=None):
    # NumPy's variance of complex values is the mean of |a - mean|^2: real
    _no_out("var", out)
    if correction is not None:
        ddof = correction
    axes = normalize_axis(axis, ndim_of(a))
    mask = _mask_of(where)
    if mask is not None or mean is not None:          # as NumPy: the (masked) mean, or the one given
        d = a - (mean if mean is not None else _mean(a, axes, keepdims=True, where=mask))
        s = _sum(_abs2(d), axes, keepdims=keepdims, where=mask)
        count = _count(shape_of(a), axes) if mask is None else \
            np.sum(np.broadcast_to(mask, shape_of(a)), axis=axes, keepdims=keepdims)
        with np.errstate(invalid="ignore", divide="ignore"):
            v = s / np.asarray(np.maximum(count - ddof, 0), dtype=dtype_of(s))
        return v if dtype is None else v.astype(dtype)
    d = a - _mean(a, axes, keepdims=True)
    v = _sum(_abs2(d), axes, keepdims=keepdims) / max(_count(shape_of(a), axes) - ddof, 0)
    return v if dtype is None else v.astype(dtype)


def _std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, mean=None,
         correction=None):
    return _root(_var(a, axis, dtype, out, ddof, keepdims, where=where, mean=mean, correction=correction), 2)


_std.convention = "derivative 0 where the variance is 0"
register_function(np.var, _var)
register_function(np.std, _std)


# -- compositions: average, diff, trace, nansum, nanmean ---------------------------------------
def _average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    axes = normalize_axis(axis, ndim_of(a))
    if weights is None:
        avg = _mean(a, axes, keepdims=keepdims)
        scale = np.full(shape_of(avg), _count(shape_of(a), axes), dtype=dtype_of(avg))
    else:
        w = weights if isinstance(weights, Tracer) else np.asarray(weights)
        if ndim_of(w) != ndim_of(a):
            if axis is None or len(axes) != 1 or ndim_of(w) != 1 or shape_of(w)[0] != shape_of(a)[axes[0]]:
                raise TypeError("numpy.average: 1-D weights need an axis of a of the same length")
            w = np.reshape(w, tuple(-1 if i == axes[0] else 1 for i in range(ndim_of(a))))
        w = np.broadcast_to(w, np.broadcast_shapes(shape_of(w), shape_of(a)))
        scale = _sum(w, axes, keepdims=keepdims)
        if call_plain(lambda s: bool(np.any(np.asarray(s) == 0)), scale):
            raise ZeroDivisionError("Weights sum to zero, can't be normalized")
        avg = _sum(a * w, axes, keepdims=keepdims) / scale
    if returned:
        return avg, (scale if shape_of(scale) == shape_of(avg) else np.broadcast_to(scale, shape_of(avg)))
    return avg


def _diff(a, n=1, axis=-1, prepend=np._NoValue, append=np._NoValue):
    nd = ndim_of(a)
    ax = normalize_axis(axis, nd)[0] - nd
    pieces = []
    for extra, at_end in ((prepend, False), (append, True)):
        if extra is np._NoValue:
            continue
        if ndim_of(extra) == 0:
            shape = list(shape_of(a))
            shape[ax] = 1
            extra = np.broadcast_to(extra, tuple(shape))
        pieces.append((extra, at_end))
    if pieces:
        a = np.concatenate([p for p, end in pieces if not end] + [a] + [p for p, end in pieces if end], axis=ax)
    for _ in range(n):
        a = a[_along(ax, slice(1, None))] - a[_along(ax, slice(None, -1))]
    return a


def _trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    _no_out("trace", out)
    m = np.moveaxis(a, (axis1, axis2), (-2, -1))
    rows, cols = shape_of(m)[-2:]
    i = np.arange(max(0, -offset), min(rows, cols - offset))
    t = np.sum(m[..., i, i + offset], axis=-1)
    return t if dtype is None else t.astype(dtype)


def _nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    # nan entries are left out of the sum: their derivative is 0
    return _sum(np.where(call_plain(np.isnan, a), 0, a), axis, dtype, out, keepdims, initial, where)


def _nanmean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    _no_out("nanmean", out)
    present = call_plain(_present, a)
    mask = _mask_of(where)
    if mask is not None:
        count = np.sum(present, axis=axis, keepdims=keepdims, where=mask).astype(dtype_of(a))
        return _sum(np.where(present, a, 0), axis, dtype, None, keepdims, where=mask) / count
    count = np.sum(present, axis=axis, keepdims=keepdims).astype(dtype_of(a))
    return _sum(np.where(present, a, 0), axis, dtype, None, keepdims) / count


def _nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, mean=None,
            correction=None):
    _no_out("nanvar", out)
    _unsupported("nanvar", where=where, mean=mean)
    if correction is not None:
        ddof = correction
    axes = normalize_axis(axis, ndim_of(a))
    present = call_plain(_present, a)
    count = np.sum(present, axis=axes, keepdims=True).astype(np.finfo(dtype_of(a)).dtype)   # real for complex a
    d = np.where(present, a - _sum(np.where(present, a, 0), axes, keepdims=True) / count, 0)
    n = count if keepdims else np.squeeze(count, axis=axes)
    v = _sum(_abs2(d), axes, keepdims=keepdims) / np.maximum(n - ddof, 0)
    return v if dtype is None else v.astype(dtype)


def _nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, mean=None,
            correction=None):
    return _root(_nanvar(a, axis, dtype, out, ddof, keepdims, where=where, mean=mean, correction=correction), 2)


def _present(a):
    return ~np.isnan(a)


def _nan_filled(a, fill):
    nan = call_plain(np.isnan, a)
    return np.where(nan, fill, a), nan


def _nanprod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    return _prod(_nan_filled(a, 1)[0], axis, dtype, out, keepdims, initial, where)


def _nan_extremum(name, reduce, fill):
    def frontend(a, axis=None, out=None, keepdims=False, initial=None, where=None):
        filled, nan = _nan_filled(a, fill)
        r = reduce(filled, axis, out, keepdims, initial, where)
        if _given(initial):                                      # an all-nan slice gives `initial`
            return r
        mask = _mask_of(where)
        if mask is not None:
            nan = nan | ~mask
        all_nan = np.all(nan, axis=axis, keepdims=keepdims)      # NumPy returns nan for an all-nan slice
        return np.where(all_nan, np.nan, r) if np.any(all_nan) else r
    frontend.convention = "nan entries get derivative 0; ties shared equally"
    return frontend


def _ptp(a, axis=None, out=None, keepdims=False):
    _no_out("ptp", out)
    return _max(a, axis, None, keepdims) - _min(a, axis, None, keepdims)


def _median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    _no_out("median", out)
    _real("median", a)
    nd = ndim_of(a)
    axes = normalize_axis(axis, nd)
    rest = tuple(i for i in range(nd) if i not in axes)
    lined = np.reshape(np.transpose(a, rest + axes), tuple(shape_of(a)[i] for i in rest) + (-1,))
    s = np.sort(lined, axis=-1)
    n = shape_of(lined)[-1]
    m = s[..., n // 2] if n % 2 else (s[..., n // 2 - 1] + s[..., n // 2]) / 2
    nan = call_plain(lambda p: np.any(np.isnan(p), axis=-1), lined)            # NumPy's median of a slice with nan is nan
    if np.any(nan):
        m = np.where(nan, np.nan, m)
    if keepdims:
        m = np.reshape(m, tuple(1 if i in axes else d for i, d in enumerate(shape_of(a))))
    return m


_nansum.convention = _nanmean.convention = _nanvar.convention = _nanprod.convention = "nan entries get derivative 0"
_nanstd.convention = "nan entries get derivative 0; 0 where the variance is 0"
_median.convention = "the middle entry (or the mean of the two middle ones) of the sorted slice gets the derivative"
register_function(np.nanvar, _nanvar)
register_function(np.nanstd, _nanstd)
register_function(np.nanprod, _nanprod)
register_function(np.nanmax, _nan_extremum("nanmax", _max, -np.inf))
register_function(np.nanmin, _nan_extremum("nanmin", _min, np.inf))
register_function(np.ptp, _ptp)
register_function(np.median, _median)
register_function(np.average, _average)
register_function(np.diff, _diff)
register_function(np.trace, _trace)
register_function(np.nansum, _nansum)
register_function(np.nanmean, _nanmean)


# -- linalg.norm ---------------------------------------------------------------------------------
# Complex entries enter through |x| (np.abs, differentiable away from 0) and |x|^2 = Re(x)^2 + Im(x)^2
# (everywhere); the 2-norm and nuclear norm of a matrix through its singular values, as for real ones.

def _vector_norm(x, axis, ord):
    if ord is None or ord == 2:
        return _root(_sum(_abs2(x), axis), 2)
    if ord == np.inf:
        return _max(np.abs(x), axis)
    if ord == -np.inf:
        return _min(np.abs(x), axis)
    if ord == 0:                                            # the number of nonzeros: piecewise constant
        return call_plain(lambda p: np.sum(np.asarray(p) != 0, axis=axis).astype(dtype_of(p)), x)
    if ord == 1:
        return _sum(np.abs(x), axis)
    if isinstance(ord, str):
        raise ValueError(f"Invalid norm order '{ord}' for vectors")
    return _root(_sum(np.abs(x) ** ord, axis), ord)


def _matrix_norm(x, row, col, ord):
    if ord is None or ord == "fro":
        return _root(_sum(_abs2(x), (row, col)), 2)
    if ord in (1, -1, np.inf, -np.inf):
        if ord in (np.inf, -np.inf):
            row, col = col, row
        sums = _sum(np.abs(x), row)
        return (_max if ord > 0 else _min)(sums, col - 1 if col > row else col)
    if ord in (2, -2, "nuc"):
        # through np.linalg.svd's singular values (declared with the linear algebra): nuc -> U V^T, 2 -> u1 v1^T
        s = np.linalg.svd(np.moveaxis(x, (row, col), (-2, -1)), compute_uv=False)
        return _sum(s, -1) if ord == "nuc" else (_max if ord == 2 else _min)(s, -1)
    raise ValueError(f"Invalid norm order {ord!r} for matrices")


def _norm(x, ord=None, axis=None, keepdims=False):
    nd = ndim_of(x)
    if axis is None:
        if ord is None:                                     # as NumPy: sqrt(dot(x, x)) of the flattened x
            flat = np.ravel(x)
            r = _root(np.dot(flat, flat), 2) if dtype_of(x).kind != "c" else _root(_sum(_abs2(flat), (0,)), 2)
            return np.reshape(r, (1,) * nd) if keepdims else r
        axis = tuple(range(nd))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    axes = tuple(int(a) % nd for a in axes)
    if len(axes) == 1:
        r = _vector_norm(x, axes[0], ord)
    elif len(axes) == 2:
        if axes[0] == axes[1]:
            raise ValueError("Duplicate axes given.")
        r = _matrix_norm(x, axes[0], axes[1], ord)
    else:
        raise ValueError("Improper number of dimensions to norm.")
    if keepdims:
        r = np.reshape(r, tuple(1 if i in axes else d for i, d in enumerate(shape_of(x))))
    return r


_norm.convention = ("0 at the zero vector or matrix (the subgradient 0); ties of max/min-based norms share "
                    "equally; 2 and 'nuc' assume distinct singular values")
register_function(np.linalg.norm, _norm)
