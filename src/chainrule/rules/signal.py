"""Signals and sampled functions: differences, convolutions, interpolation, polynomials, integrals.

Most functions here are NumPy's own arithmetic replayed on traced values
(``gradient``, ``ediff1d``, ``polyval``, ``vander``, ``trapezoid``, the
ufunc methods ``outer``/``reduce``/``accumulate``): the same operations in
the same order, so the primal is NumPy's and derivatives of every order
follow from the primitives'.

Three are primitives, because NumPy computes them in compiled loops whose
rounding a composition would not reproduce:

* ``convolve`` and ``correlate`` are bilinear.  Their rules are full
  convolutions of a (batched) tangent or adjoint with the other argument,
  written as a sum of shifted copies (one per entry of the shorter operand,
  so differentiable again and O(n + m) memory per term), with the
  ``same``/``valid`` window taken out of the full result or an adjoint put
  back into it.
* ``interp`` is piecewise linear in ``x`` and linear in ``fp`` and
  rational in ``xp``.  The segment of each ``x`` is read from the primal
  (``searchsorted``); on it the value is
  ``fp[j] + (x - xp[j]) (fp[j+1] - fp[j]) / (xp[j+1] - xp[j])``, whose
  partial derivatives are written with gathers of the traced ``xp`` and
  ``fp``.  At a breakpoint the derivative in ``x`` is the slope of the
  segment to the right (to the left at the last point).
"""

import warnings

import numpy as np

from ..core import FUNCTIONS, UFUNCS, Primitive, Tracer, array_operand, bind, plain_value, register_function
from ..errors import NotDifferentiableError
from ._broadcast import dtype_of, ndim_of, shape_of
from ._declare import rule
from .reductions import _no_out, _real, normalize_axis

_GRADIENT_TUPLE = isinstance(np.gradient(np.zeros((3, 3))), tuple)      # NumPy 1.x returns a list


# -- gradient ---------------------------------------------------------------------------------------
def _at(nd, axis, sl):
    index = [slice(None)] * nd
    index[axis] = sl
    return tuple(index)


def _spacing(f, axes, varargs):
    """NumPy's list of spacings: a scalar (uniform) or the differences of the coordinates, per axis."""
    n = len(varargs)
    if n == 0:
        return [1.0] * len(axes)
    if n == 1 and ndim_of(varargs[0]) == 0:
        return list(varargs) * len(axes)
    if n != len(axes):
        raise TypeError("invalid number of arguments")
    dx = []
    for i, d in enumerate(varargs):
        if ndim_of(d) == 0 and not isinstance(d, (list, tuple)):
            dx.append(d)                                 # as given: a Python float stays weakly typed
            continue
        d = d if isinstance(d, Tracer) else np.asanyarray(d)
        if ndim_of(d) != 1:
            raise ValueError("distances must be either scalars or 1d")
        if shape_of(d)[0] != shape_of(f)[axes[i]]:
            raise ValueError("when 1d, distances must match the length of the corresponding dimension")
        if dtype_of(d).kind in "iub":
            d = d.astype(np.float64)
        diffx = np.diff(d)
        dp = np.asarray(plain_value(diffx))
        # NumPy collapses evenly spaced coordinates to one step; traced coordinates keep every step,
        # so that the derivative in each coordinate is the one of the non-uniform formula
        if not isinstance(diffx, Tracer) and (dp == dp[0]).all():
            diffx = diffx[0]
        dx.append(diffx)
    return dx


def _gradient_axis(f, axis, ax_dx, edge_order, otype):
    nd = ndim_of(f)
    s = lambda sl: f[_at(nd, axis, sl)]                          # noqa: E731
    if shape_of(f)[axis] < edge_order + 1:
        raise ValueError("Shape of array too small to calculate a numerical gradient, "
                         "at least (edge_order + 1) elements are required.")
    uniform = ndim_of(ax_dx) == 0
    shape = [1] * nd
    shape[axis] = -1
    if uniform:
        inner = (s(slice(2, None)) - s(slice(None, -2))) / (2. * ax_dx)
    else:
        dx1, dx2 = ax_dx[0:-1], ax_dx[1:]
        a = np.reshape(-(dx2) / (dx1 * (dx1 + dx2)), shape)
        b = np.reshape((dx2 - dx1) / (dx1 * dx2), shape)
        c = np.reshape(dx1 / (dx2 * (dx1 + dx2)), shape)
        inner = a * s(slice(None, -2)) + b * s(slice(1, -1)) + c * s(slice(2, None))
    if edge_order == 1:
        first = (s(slice(1, 2)) - s(slice(0, 1))) / (ax_dx if uniform else ax_dx[0])
        last = (s(slice(-1, None)) - s(slice(-2, -1))) / (ax_dx if uniform else ax_dx[-1])
    else:
        if uniform:
            a, b, c = -1.5 / ax_dx, 2. / ax_dx, -0.5 / ax_dx
        else:
            dx1, dx2 = ax_dx[0], ax_dx[1]
            a = -(2. * dx1 + dx2) / (dx1 * (dx1 + dx2))
            b = (dx1 + dx2) / (dx1 * dx2)
            c = - dx1 / (dx2 * (dx1 + dx2))
        first = a * s(slice(0, 1)) + b * s(slice(1, 2)) + c * s(slice(2, 3))
        if uniform:
            a, b, c = 0.5 / ax_dx, -2. / ax_dx, 1.5 / ax_dx
        else:
            dx1, dx2 = ax_dx[-2], ax_dx[-1]
            a = (dx2) / (dx1 * (dx1 + dx2))
            b = - (dx2 + dx1) / (dx1 * dx2)
            c = (2. * dx2 + dx1) / (dx2 * (dx1 + dx2))
        last = a * s(slice(-3, -2)) + b * s(slice(-2, -1)) + c * s(slice(-1, None))
    parts = [p if dtype_of(p) == otype else p.astype(otype) for p in (first, inner, last)]
    return np.concatenate(parts, axis=axis)


def _gradient(f, *varargs, axis=None, edge_order=1):
    f = f if isinstance(f, Tracer) else np.asanyarray(f)
    _real("gradient", f)
    nd = ndim_of(f)
    axes = normalize_axis(axis, nd) if axis is not None else tuple(range(nd))
    if axis is not None and not isinstance(axis, (int, np.integer)):
        axes = tuple(int(a) % nd for a in axis)           # NumPy keeps the order given
    dx = _spacing(f, axes, varargs)
    if edge_order > 2:
        raise ValueError("'edge_order' greater than 2 not supported")
    otype = dtype_of(f)
    if otype.kind not in "fc":
        f, otype = f.astype(np.float64), np.dtype(np.float64)
    out = [_gradient_axis(f, ax, d, edge_order, otype) for ax, d in zip(axes, dx)]
    if len(axes) == 1:
        return out[0]
    return tuple(out) if _GRADIENT_TUPLE else out


_gradient.convention = "NumPy's finite-difference formulas; traced coordinates use the non-uniform formula"
register_function(np.gradient, _gradient)


# -- ediff1d -------------------------------------------------------------------------------------------
def _ediff1d(ary, to_end=None, to_begin=None):
    a = np.ravel(ary)
    dt = dtype_of(a)
    pieces = []
    for extra in (to_begin, None, to_end):
        if extra is None:
            continue
        e = extra if isinstance(extra, Tracer) else np.asanyarray(extra)
        if not np.can_cast(dtype_of(e), dt, casting="same_kind"):
            raise TypeError(f"dtype of `to_{'begin' if extra is to_begin else 'end'}` must be compatible "
                            "with input `ary` under the `same_kind` rule.")
        pieces.append(np.ravel(e).astype(dt) if dtype_of(e) != dt else np.ravel(e))
    d = a[1:] - a[:-1]
    if to_begin is None and to_end is None:
        return d
    begin = [pieces[0]] if to_begin is not None else []
    end = [pieces[-1]] if to_end is not None else []
    return np.concatenate(begin + [d] + end)


register_function(np.ediff1d, _ediff1d)


# -- convolve and correlate --------------------------------------------------------------------------
def _pad_last(v, k):
    if k == 0:
        return v
    zeros = np.zeros(shape_of(v)[:-1] + (k,), dtype=dtype_of(v))
    return np.concatenate([zeros, v, zeros], axis=-1)


def _convolution_window(x, w, start, count):
    """Entries ``start .. start + count`` of ``convolve(x, w, 'full')`` along the last axis of ``x``.

    ``x`` may carry batch axes, ``w`` is 1-D.  ``out[k] = sum_j w[j] x[k - j]``, computed by a Python
    loop over the shortest of three things: the entries of ``w`` (a shifted copy of ``x`` each),
    the entries of ``x`` (a shifted copy of ``w`` each) or the outputs (one dot product each).  Every
    step is differentiable again, and the memory is that of a few copies of the operands.
    """
    n, m = shape_of(x)[-1], shape_of(w)[-1]
    if count <= min(n, m):                               # one dot product per output
        xp = _pad_last(x, m - 1)
        wr = w[::-1]
        cols = [np.matmul(xp[..., k:k + m], wr)[..., None] for k in range(start, start + count)]
        return np.concatenate(cols, axis=-1)
    out = None
    if m <= n:                                           # one shifted copy of x per entry of w
        xp = _pad_last(x, m - 1)
        for j in range(m):
            term = w[j] * xp[..., start - j + m - 1:start - j + m - 1 + count]
            out = term if out is None else out + term
    else:                                                # one shifted copy of w per entry of x
        wp = _pad_last(w, n - 1)
        for i in range(n):
            term = x[..., i:i + 1] * wp[start - i + n - 1:start - i + n - 1 + count]
            out = term if out is None else out + term
    return out


def _window(n, m, mode, reverse):
    """(offset, length) of ``mode``'s output inside the full result (lengths ``n`` of a, ``m`` of v)."""
    full = n + m - 1
    if mode == "full":
        return 0, full
    lo = min(n, m)
    length = max(n, m) if mode == "same" else max(n, m) - lo + 1
    off = (lo - 1) // 2 if mode == "same" else lo - 1
    if reverse and n < m:                                   # correlate with the longer second argument
        off = full - length - off
    return off, length


def _rev(v):
    return v[..., ::-1]


def _conv_rules(prim, reverse):
    # convolve(a, v) is bilinear: its tangent in a is convolve(t, v), in v convolve(a, t); the adjoints
    # are correlations: entries of convolve(g, reversed other) at the argument's positions.
    # correlate(a, v) = convolve(a, v[::-1]) for real values.
    def window(x, w, a, v, mode):
        off, length = _window(shape_of(a)[-1], shape_of(v)[-1], mode, reverse)
        return _convolution_window(x, w, off, length)

    def embed(g, a, v, mode):
        n, m = shape_of(a)[-1], shape_of(v)[-1]
        off, length = _window(n, m, mode, reverse)
        full = n + m - 1
        if length == full:
            return g
        lead = shape_of(g)[:-1]
        return np.concatenate([np.zeros(lead + (off,), dtype=dtype_of(g)), g,
                               np.zeros(lead + (full - off - length,), dtype=dtype_of(g))], axis=-1)

    def jvp_a(t, out, a, v, *, mode):
        return window(t, _rev(v) if reverse else v, a, v, mode)

    def jvp_v(t, out, a, v, *, mode):
        return window(_rev(t) if reverse else t, a, a, v, mode)

    def vjp_a(g, out, a, v, *, mode):
        m = shape_of(v)[-1]
        return _convolution_window(embed(g, a, v, mode), v if reverse else _rev(v), m - 1, shape_of(a)[-1])

    def vjp_v(g, out, a, v, *, mode):
        n, m = shape_of(a)[-1], shape_of(v)[-1]
        r = _convolution_window(embed(g, a, v, mode), _rev(a), n - 1, m)
        return _rev(r) if reverse else r

    # Both arguments have one dtype (the frontend casts): the formulas are bilinear with no conjugation,
    # so under the bilinear pairing their transposes are the same formulas for complex values.
    rule(prim, (jvp_a, jvp_v), (vjp_a, vjp_v), needs=(("y",), ("x",)), complex_ok=True)


def _correlate_unconjugated(a, w, *, mode):
    """sum_n a[n + k] w[n]: NumPy's correlate of a and conj(w) (its complex correlate conjugates v).

    conj(conj(v)) == v exactly, so the primal is NumPy's own number."""
    return np.correlate(a, np.conjugate(w) if w.dtype.kind == "c" else w, mode=mode)


convolve_p = Primitive("numpy.convolve", lambda a, v, *, mode: np.convolve(a, v, mode=mode), arity=2)
correlate_p = Primitive("numpy.correlate", _correlate_unconjugated, arity=2)
_conv_rules(convolve_p, False)
_conv_rules(correlate_p, True)


def _conv_frontend(name, prim):
    def frontend(a, v, mode=("full" if name == "convolve" else "valid")):
        a = a if isinstance(a, Tracer) else np.asarray(a)
        v = v if isinstance(v, Tracer) else np.asarray(v)
        if mode not in ("full", "same", "valid"):
            raise ValueError(f"mode must be one of 'full', 'same', or 'valid' (got {mode!r})")
        a = np.reshape(a, (-1,)) if ndim_of(a) == 0 else a
        v = np.reshape(v, (-1,)) if ndim_of(v) == 0 else v
        if ndim_of(a) != 1 or ndim_of(v) != 1:
            raise ValueError("object too deep for desired array")
        if shape_of(a)[0] == 0 or shape_of(v)[0] == 0:
            raise ValueError(f"{'a' if shape_of(a)[0] == 0 else 'v'} cannot be empty")
        dt = np.result_type(dtype_of(a), dtype_of(v))
        a, v = (x if dtype_of(x) == dt else x.astype(dt) for x in (a, v))
        if name == "correlate" and dt.kind == "c":
            v = np.conjugate(v)                 # the primitive is the correlation without NumPy's conj(v)
        return bind(prim, (a, v), {"mode": mode})
    return frontend


register_function(np.convolve, _conv_frontend("convolve", convolve_p))
register_function(np.correlate, _conv_frontend("correlate", correlate_p))


# -- interp ----------------------------------------------------------------------------------------------
def _segments(x, xp, left, right):
    """Per ``x``: the segment ``j``, and masks inside [xp[0], xp[-1]], below with fp[0], above with fp[-1]."""
    xv, xpv = np.asarray(plain_value(x)), np.asarray(plain_value(xp))
    n = xpv.shape[0]
    j = np.clip(np.searchsorted(xpv, xv, side="right") - 1, 0, n - 2)
    inside = (xv >= xpv[0]) & (xv <= xpv[-1])
    below = (xv < xpv[0]) & (left is None)
    above = (xv > xpv[-1]) & (right is None)
    return j, inside, below, above


def _interp_pieces(x, xp, fp, left, right):
    j, inside, below, above = _segments(x, xp, left, right)
    x0, x1 = xp[j], xp[j + 1]
    h = x1 - x0
    slope = (fp[j + 1] - fp[j]) / h
    w = (x - x0) / h
    return j, inside, below, above, slope, w


def _gather2(t, j, c0, c1):
    return c0 * t[..., j] + c1 * t[..., j + 1]


_ONE_HOT_BUDGET = 1 << 20        # entries of one one-hot block (8 MiB in float64)


def _scatter2(g, j, c0, c1, n):
    """The transpose of :func:`_gather2`: ``g c0`` added at ``j`` and ``g c1`` at ``j + 1``.

    Products with one-hot blocks of at most :data:`_ONE_HOT_BUDGET` entries (linear in ``g`` and
    differentiable in the coefficients, so higher orders follow).
    """
    k = j.size
    b = shape_of(g)[:ndim_of(g) - j.ndim]
    g0, g1 = np.reshape(g * c0, b + (k,)), np.reshape(g * c1, b + (k,))
    jf = j.reshape(-1, 1)
    step = max(1, _ONE_HOT_BUDGET // n)
    out = None
    for s in range(0, k, step):
        e = min(k, s + step)
        cols = np.arange(n)
        onehot = (jf[s:e] == cols).astype(dtype_of(g))
        shifted = (jf[s:e] + 1 == cols).astype(dtype_of(g))
        part = np.matmul(g0[..., s:e], onehot) + np.matmul(g1[..., s:e], shifted)
        out = part if out is None else out + part
    return out


def _interp_coefficients(wrt, x, xp, fp, left, right):
    """(j, c0, c1): the derivative in ``wrt`` ('xp' or 'fp') is ``c0`` at ``j`` and ``c1`` at ``j + 1``."""
    j, inside, below, above, slope, w = _interp_pieces(x, xp, fp, left, right)
    if wrt == "fp":
        c0 = np.where(inside, 1 - w, np.where(below, 1.0, 0.0))
        c1 = np.where(inside, w, np.where(above, 1.0, 0.0))
    else:
        c0 = np.where(inside, -slope * (1 - w), 0.0)
        c1 = np.where(inside, -slope * w, 0.0)
    return j, c0, c1


def _interp_dx(x, xp, fp, left, right):
    j, inside, below, above, slope, w = _interp_pieces(x, xp, fp, left, right)
    return np.where(inside, slope, 0.0)


def _interp_jvp_table(wrt):
    def jvp(t, out, x, xp, fp, *, left, right):
        j, c0, c1 = _interp_coefficients(wrt, x, xp, fp, left, right)
        return _gather2(t, j, c0, c1)

    def vjp(g, out, x, xp, fp, *, left, right):
        j, c0, c1 = _interp_coefficients(wrt, x, xp, fp, left, right)
        return _scatter2(g, j, c0, c1, shape_of(xp)[0])
    return jvp, vjp


interp_p = Primitive("numpy.interp", lambda x, xp, fp, *, left, right: np.interp(x, xp, fp, left, right), arity=3)
_jvp_xp, _vjp_xp = _interp_jvp_table("xp")
_jvp_fp, _vjp_fp = _interp_jvp_table("fp")
rule(interp_p,
     (lambda t, out, x, xp, fp, *, left, right: t * _interp_dx(x, xp, fp, left, right), _jvp_xp, _jvp_fp),
     (lambda g, out, x, xp, fp, *, left, right: g * _interp_dx(x, xp, fp, left, right), _vjp_xp, _vjp_fp),
     needs=(("x", "y", "z"),) * 3,
     convention="at a breakpoint xp[k] the derivative in x is the slope to its right (at xp[-1]: to its left); "
                "0 outside [xp[0], xp[-1]]")


def _interp(x, xp, fp, left=None, right=None, period=None):
    x, xp, fp = (v if isinstance(v, Tracer) else np.asarray(v) for v in (x, xp, fp))
    if np.iscomplexobj(plain_value(fp)):
        raise NotDifferentiableError("numpy.interp", "of complex fp: interpolate the real and imaginary "
                                     "parts separately")
    x, xp, fp = (v if dtype_of(v) == np.float64 else v.astype(np.float64) for v in (x, xp, fp))
    if ndim_of(xp) != 1 or ndim_of(fp) != 1:
        raise ValueError("Data points must be 1-D sequences")
    if shape_of(xp)[0] != shape_of(fp)[0]:
        raise ValueError("fp and xp are not of the same length")
    if shape_of(xp)[0] < 2:
        raise NotDifferentiableError("numpy.interp", "with fewer than two data points; use np.where")
    if period is not None:
        if period == 0:
            raise ValueError("period must be a non-zero value")
        period = abs(period)
        left = right = None
        x = x % period
        xp = xp % period
        order = np.argsort(np.asarray(plain_value(xp)))              # NumPy's own order
        xp, fp = xp[order], fp[order]
        xp = np.concatenate((xp[-1:] - period, xp, xp[0:1] + period))
        fp = np.concatenate((fp[-1:], fp, fp[0:1]))
    traced_bounds = [(b, side) for b, side in ((left, "left"), (right, "right")) if isinstance(b, Tracer)]
    out = bind(interp_p, (x, xp, fp), {"left": None if isinstance(left, Tracer) else left,
                                       "right": None if isinstance(right, Tracer) else right})
    for b, side in traced_bounds:                           # a traced bound: selected where it applies
        xv, xpv = np.asarray(plain_value(x)), np.asarray(plain_value(xp))
        out = np.where(xv < xpv[0] if side == "left" else xv > xpv[-1], b, out)
    return out


register_function(np.interp, _interp)


# -- polynomials ------------------------------------------------------------------------------------------
def _polyval(p, x):
    if isinstance(p, np.poly1d):
        p = p.coeffs
    if not isinstance(p, Tracer):
        p = np.asarray(p) if not any(isinstance(c, Tracer) for c in p) else list(p)
    x = x if isinstance(x, Tracer) else np.asanyarray(x)
    y = np.zeros(shape_of(x), dtype=dtype_of(x))
    for pv in p:                                           # Horner's scheme, as NumPy
        y = y * x + pv
    return y


def _vander(x, N=None, increasing=False):
    if ndim_of(x) != 1:
        raise ValueError("x must be a one-dimensional array or sequence.")
    n = shape_of(x)[0]
    N = n if N is None else N
    dt = np.promote_types(dtype_of(x), int)
    x = x if dtype_of(x) == dt else x.astype(dt)
    cols = []
    if N > 0:
        cols.append(np.ones((n, 1), dtype=dt))
    if N > 1:
        cols.append(np.cumprod(np.broadcast_to(x[:, None], (n, N - 1)), axis=1))
    v = np.concatenate(cols, axis=1) if cols else np.zeros((n, 0), dtype=dt)
    return v if increasing else v[:, ::-1]


register_function(np.polyval, _polyval)
register_function(np.vander, _vander)


def _poly(seq_of_zeros):
    z = np.atleast_1d(array_operand(seq_of_zeros))
    sh = shape_of(z)
    if len(sh) == 2 and sh[0] == sh[1] and sh[0] != 0:
        z = np.linalg.eigvals(z)                           # the characteristic polynomial, as NumPy
    elif len(sh) == 1:
        dt = np.dtype(np.mintypecode(dtype_of(z).char))
        z = z if dtype_of(z) == dt else z.astype(dt)
    else:
        raise ValueError("input must be 1d or non-empty square 2d array.")
    if shape_of(z)[0] == 0:
        return 1.0
    dt = dtype_of(z)
    zero = np.zeros((1,), dtype=dt)
    a = np.ones((1,), dtype=dt)
    for k in range(shape_of(z)[0]):                        # a * (s - z_k): NumPy's convolve with [1, -z_k]
        a = np.concatenate([a, zero]) - z[k] * np.concatenate([zero, a])
    if dt.kind == "c":                                     # conjugate pairs: a real polynomial, as NumPy
        roots = np.asarray(plain_value(z), complex)
        if np.all(np.sort(roots) == np.sort(roots.conjugate())):
            a = np.real(a)
    return a


def _polydiv(u, v):
    u = np.atleast_1d(array_operand(u)) + 0.0
    v = np.atleast_1d(array_operand(v)) + 0.0
    dt = np.result_type(dtype_of(u), dtype_of(v))
    m, n = shape_of(u)[0] - 1, shape_of(v)[0] - 1
    scale = 1.0 / v[0]
    r = u if dtype_of(u) == dt else u.astype(dt)
    q = []
    for k in range(m - n + 1):                             # long division, as NumPy
        d = scale * r[k]
        q.append(d)
        r = np.concatenate([r[:k], r[k:k + n + 1] - d * v, r[k + n + 1:]])
    q = np.stack(q) if q else np.zeros((1,), dtype=dt)
    while np.allclose(plain_value(r[0]), 0, rtol=1e-14) and shape_of(r)[-1] > 1:
        r = r[1:]
    return q, r


_polydiv.convention = "leading remainder terms within rtol=1e-14 of 0 are dropped, as NumPy; the shape is fixed"


def _polyfit(x, y, deg, rcond=None, full=False, w=None, cov=False):
    if cov:
        raise NotDifferentiableError("numpy.polyfit", "cov=True is not supported; call it with full=True and "
                                     "build the covariance from the residuals, or without cov")
    order = int(deg) + 1
    x = array_operand(x) + 0.0
    y = array_operand(y) + 0.0
    if deg < 0:
        raise ValueError("expected deg >= 0")
    if ndim_of(x) != 1:
        raise TypeError("expected 1D vector for x")
    if shape_of(x)[0] == 0:
        raise TypeError("expected non-empty vector for x")
    if ndim_of(y) < 1 or ndim_of(y) > 2:
        raise TypeError("expected 1D or 2D array for y")
    if shape_of(x)[0] != shape_of(y)[0]:
        raise TypeError("expected x and y to have same length")
    if rcond is None:
        rcond = shape_of(x)[0] * np.finfo(dtype_of(x)).eps
    lhs = np.vander(x, order)
    rhs = y
    if w is not None:                                      # weights scale the rows, as NumPy
        w = array_operand(w) + 0.0
        if ndim_of(w) != 1:
            raise TypeError("expected a 1-d array for weights")
        if shape_of(w)[0] != shape_of(y)[0]:
            raise TypeError("expected w and y to have the same length")
        lhs = lhs * w[:, None]
        rhs = rhs * (w[:, None] if ndim_of(rhs) == 2 else w)
    scale = np.sqrt(np.sum(lhs * lhs, axis=0))             # columns scaled to unit norm, as NumPy
    c, resids, rank, s = np.linalg.lstsq(lhs / scale, rhs, rcond)
    c = np.transpose(np.transpose(c) / scale)
    if rank != order and not full:
        warnings.warn("Polyfit may be poorly conditioned", _RANK_WARNING, stacklevel=2)
    if full:
        return c, resids, rank, s, rcond
    return c


_polyfit.convention = "least squares through lstsq with NumPy's weights and column scaling; rank held fixed"
_RANK_WARNING = getattr(getattr(np, "exceptions", np), "RankWarning")


def _roots(p):
    p = np.atleast_1d(array_operand(p))
    if ndim_of(p) != 1:
        raise ValueError("Input must be a rank-1 array.")
    non_zero = np.nonzero(np.ravel(plain_value(p)))[0]
    if len(non_zero) == 0:
        return np.array([])
    trailing = len(p) - int(non_zero[-1]) - 1
    p = p[int(non_zero[0]):int(non_zero[-1]) + 1]          # exact zeros at either end: dropped, as NumPy
    if dtype_of(p).kind not in "fc":
        p = p.astype(float)
    n = shape_of(p)[0]
    if n > 1:                                              # eigenvalues of the companion matrix
        top = np.reshape(-p[1:] / p[0], (1, n - 1))
        roots = np.linalg.eigvals(np.concatenate([top, np.eye(n - 2, n - 1, dtype=dtype_of(p))]))
    else:
        return np.zeros((trailing,), dtype=dtype_of(p))
    return np.concatenate([roots, np.zeros((trailing,), dtype=dtype_of(roots))]) if trailing else roots


_roots.convention = "eigenvalues of the companion matrix (complex unless all are real); zero coefficients at the ends are dropped"
register_function(np.poly, _poly)
register_function(np.polydiv, _polydiv)
register_function(np.polyfit, _polyfit)
register_function(np.roots, _roots)


# -- trapezoid ---------------------------------------------------------------------------------------------
def _trapezoid(y, x=None, dx=1.0, axis=-1):
    y = y if isinstance(y, Tracer) else np.asanyarray(y)
    nd = ndim_of(y)
    if x is None:
        d = dx
    else:
        x = x if isinstance(x, Tracer) else np.asanyarray(x)
        if ndim_of(x) == 1:
            d = np.diff(x)
            shape = [1] * nd
            shape[axis] = shape_of(d)[0]
            d = np.reshape(d, tuple(shape))
        else:
            d = np.diff(x, axis=axis)
    return np.sum(d * (y[_at(nd, axis, slice(1, None))] + y[_at(nd, axis, slice(None, -1))]) / 2.0, axis=axis)


for _name in ("trapezoid", "trapz"):                        # trapezoid: NumPy 2; trapz: NumPy 1.x
    _fn = getattr(np, _name, None)
    if _fn is not None:
        register_function(_fn, _trapezoid)


# -- ufunc methods: outer, reduce, accumulate ------------------------------------------------------------
def _no_kwargs(ufunc, method, kwargs):
    bad = sorted(k for k, v in kwargs.items() if v is not None)
    if bad:
        raise NotDifferentiableError(f"numpy.{ufunc.__name__}.{method}", f"the arguments {bad} are not supported")


def _outer(ufunc):
    def frontend(a, b, **kwargs):
        _no_kwargs(ufunc, "outer", kwargs)
        a = a if isinstance(a, Tracer) else np.asarray(a)
        return ufunc(np.reshape(a, shape_of(a) + (1,) * ndim_of(b)), b)
    return frontend


def _fold_axis(ufunc, method, a, axis):
    a = a if isinstance(a, Tracer) else np.asarray(a)
    if axis is None:
        a, axis = np.ravel(a), 0
    elif isinstance(axis, tuple):
        if len(axis) != 1:
            raise NotDifferentiableError(f"numpy.{ufunc.__name__}.{method}",
                                         "over several axes at once; reduce one axis after the other")
        axis = axis[0]
    return a, normalize_axis(axis, ndim_of(a))[0]


def _fold(ufunc, a, axis, initial, keep, mask=None):
    """The left fold of ``ufunc`` along ``axis``, as NumPy's loop runs it: every partial result if ``keep``.

    ``mask`` (``where=``, broadcast to ``a``): entries where it is False leave the running value as it is.
    """
    nd = ndim_of(a)
    n = shape_of(a)[axis]
    r = initial
    partial = []
    for i in range(n):
        xi = a[_at(nd, axis, i)]
        if r is np._NoValue:
            r = xi
        elif mask is None:
            r = ufunc(r, xi)
        else:
            r = np.where(mask[_at(nd, axis, i)], ufunc(r, xi), r)
        if keep:
            partial.append(r)
    return r, partial


def _reduce(ufunc):
    def frontend(a, axis=0, dtype=None, out=None, keepdims=False, initial=np._NoValue, where=True):
        _no_out(f"{ufunc.__name__}.reduce", out)
        _no_kwargs(ufunc, "reduce", {"dtype": dtype})
        mask = None if where is True else np.asarray(plain_value(where), dtype=bool)
        if mask is not None:
            if axis is None or (isinstance(axis, tuple) and len(axis) != 1):
                _fold_axis(ufunc, "reduce", np.zeros((1, 1)), (0, 1))            # several axes: refused
            mask = np.broadcast_to(mask, shape_of(a))
            if initial is np._NoValue:
                if ufunc.identity is None:                # NumPy's own error: a mask needs a start value
                    return ufunc.reduce(np.asarray(plain_value(a)), axis=axis, where=mask)
                initial = ufunc.identity
        a, ax = _fold_axis(ufunc, "reduce", a, axis)
        if shape_of(a)[ax] == 0 and initial is np._NoValue:
            return ufunc.reduce(np.asarray(plain_value(a)), axis=ax, keepdims=keepdims)   # NumPy's error or identity
        if initial is not np._NoValue and initial is None:
            raise NotDifferentiableError(f"numpy.{ufunc.__name__}.reduce", "initial=None (object arrays)")
        r, _ = _fold(ufunc, a, ax, initial, False, mask)
        if keepdims:
            r = np.expand_dims(r, ax)
        return r
    return frontend


def _accumulate_args(ufunc, array, axis, dtype, out):
    """``(array, axis)`` of ``ufunc.accumulate``, checked as NumPy checks them."""
    _no_out(f"{ufunc.__name__}.accumulate", out)
    _no_kwargs(ufunc, "accumulate", {"dtype": dtype})
    a = array if isinstance(array, Tracer) else np.asarray(array)
    if ndim_of(a) == 0:
        raise TypeError("cannot accumulate on a scalar")
    return a, normalize_axis(axis, ndim_of(a))[0]


def _accumulate(ufunc):
    def frontend(array, axis=0, dtype=None, out=None):
        a, ax = _accumulate_args(ufunc, array, axis, dtype, out)
        if shape_of(a)[ax] == 0:
            return np.asarray(plain_value(a)).copy()
        _, partial = _fold(ufunc, a, ax, np._NoValue, True)
        return np.stack(partial, axis=ax)
    return frontend


def _selection_accumulate(ufunc):
    """maximum/minimum/fmax/fmin.accumulate: each output is one input, gathered (no loop of binary calls).

    Each output follows the input where the running result last changed: at ties, the earliest one.
    """
    def frontend(array, axis=0, dtype=None, out=None):
        a, ax = _accumulate_args(ufunc, array, axis, dtype, out)
        p = np.asarray(plain_value(a))
        run = ufunc.accumulate(p, axis=ax)
        if run.shape[ax] == 0:
            return run
        prev = np.concatenate([np.take(run, [0], axis=ax), np.take(run, np.arange(run.shape[ax] - 1), axis=ax)],
                              axis=ax)
        same = (run == prev) | (np.isnan(run) & np.isnan(prev))
        shape = [1] * run.ndim
        shape[ax] = -1
        position = np.arange(run.shape[ax]).reshape(shape)
        changed = ~same | (position == 0)
        index = np.maximum.accumulate(np.where(changed, position, 0), axis=ax)
        return np.take_along_axis(a, index, axis=ax)
    frontend.convention = "each output follows the input where the running extremum was set (ties: the earliest)"
    return frontend


for _ufunc in (np.maximum, np.minimum, np.fmax, np.fmin):
    register_function((_ufunc, "accumulate"), _selection_accumulate(_ufunc))

def _constant_method(ufunc, method):
    """A method of a piecewise-constant ufunc (comparisons, logical ones): NumPy's result on the primals."""
    fn = getattr(ufunc, method)

    def frontend(*args, **kwargs):
        return fn(*[plain_value(a) for a in args], **{k: plain_value(v) for k, v in kwargs.items()})
    frontend.convention = "piecewise constant: computed on the primal values, derivative 0"
    return frontend


for _ufunc, _prim in list(UFUNCS.items()):
    if isinstance(_ufunc, np.ufunc) and _ufunc.nin == 2 and _ufunc.nout == 1 and _ufunc.signature is None \
            and _prim.declared:
        for _method, _make in (("outer", _outer), ("reduce", _reduce), ("accumulate", _accumulate)):
            if (_ufunc, _method) not in FUNCTIONS:
                register_function((_ufunc, _method),
                                  _make(_ufunc) if _prim.differentiable else _constant_method(_ufunc, _method))
