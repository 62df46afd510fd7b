"""Special functions: SciPy's (``scipy.special``), registered only when SciPy is installed, and ``numpy.i0``.

Most are ufuncs, which dispatch through ``__array_ufunc__`` exactly like
NumPy's: each is declared by its local partial derivatives.  ``digamma``'s
derivative is ``polygamma(1, x)``, so ``polygamma`` is a primitive too, with
``d/dx polygamma(n, x) = polygamma(n + 1, x)``: derivatives of every order.

``logsumexp``, ``softmax``, ``log_softmax`` and ``polygamma`` are Python
functions that do not dispatch: they convert their input with
``np.asarray``, which a tracer refuses (``TracerConversionError``), and even
if they did not, differentiating their internals would be less stable than
the closed forms.  So each gets a primitive with numerically stable rules
(``exp(x - out)`` for ``logsumexp``, ``out * (t - <out, t>)`` for
``softmax``), and the name ``scipy.special.<function>`` is rebound to a thin
wrapper that calls the primitive when an argument is traced and SciPy's own
function otherwise (the original stays at ``__wrapped__``).  Code that
imported the function by name *before* importing chainrule holds SciPy's
original, which raises ``TracerConversionError`` on traced values.

The modified Bessel functions use ``I_v' = (I_{v-1} + I_{v+1}) / 2``, finite
at 0 (unlike ``I_1' = I_0 - I_1/x``), so ``i1`` and ``iv`` need no special
case there.  ``numpy.i0`` is differentiated without SciPy: its derivatives
come from :data:`bessel_i_p`, ``I_n`` of integer order in plain NumPy.
"""

import functools
import math

import numpy as np

from ..core import Primitive, Tracer, bind, canonical_operand, plain_value, primitive_of, register_function
from ..errors import NotDifferentiableError
from ._broadcast import ndim_of, shape_of
from ._declare import elementwise, rule
from .reductions import normalize_axis

try:
    import scipy.special as sp
except ImportError:                                     # pragma: no cover - SciPy is optional
    sp = None

_TWO_OVER_SQRT_PI = float(2.0 / np.sqrt(np.pi))
_SQRT_PI_2 = float(np.sqrt(np.pi) / 2)
_SQRT_2PI = float(np.sqrt(2 * np.pi))
_INV_SQRT_2PI = float(1 / np.sqrt(2 * np.pi))


def _ufunc(fn, name=None):
    return primitive_of(fn, name=f"scipy.special.{name or fn.__name__}")


def _traced(args, kwargs):
    return any(isinstance(a, Tracer) for a in args) or any(isinstance(v, Tracer) for v in kwargs.values())


def _dispatch(name, frontend):
    """Rebind ``scipy.special.<name>`` to call ``frontend`` on traced arguments, SciPy otherwise."""
    original = getattr(sp, name)
    original = getattr(original, "__wrapped__", original)

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        if _traced(args, kwargs):
            return frontend(*args, **kwargs)
        return original(*args, **kwargs)

    setattr(sp, name, wrapper)
    register_function(wrapper, frontend)
    return wrapper


def _axes(axis, ndim):
    return normalize_axis(axis, ndim)


def _shifted(axis, t, x):
    return tuple(a + ndim_of(t) - ndim_of(x) for a in axis)


def _kept(out, x, axis):
    """``out`` with 1s at the reduced axes (it was computed with keepdims=False)."""
    return np.reshape(out, tuple(1 if i in axis else d for i, d in enumerate(shape_of(x))))


def _expand(g, out, x, axis):
    gs = shape_of(g)
    b = len(gs) - ndim_of(out)
    return np.reshape(g, gs[:b] + tuple(1 if i in axis else d for i, d in enumerate(shape_of(x))))


# -- numpy.i0 (NumPy's own, without SciPy) ------------------------------------------------------------
# np.i0 is a Python function, not a ufunc; its primitive computes with np.i0 itself, so the primal is
# NumPy's.  Its derivative I_1, and I_1's derivative (I_0 + I_2) / 2, ..., come from bessel_i below,
# which needs nothing but NumPy: the power series for |x| <= 30, Hankel's asymptotic expansion beyond.
_SERIES_UP_TO = 30.0
_TINY = 1e-17


def _bessel_i(x, *, n):
    """I_n(x) for an integer n >= 0 (relative error ~1e-15 against scipy.special.iv)."""
    x = np.asarray(x)
    dt = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    a = np.abs(x).astype(np.float64)
    out = np.empty_like(a)
    small = a <= _SERIES_UP_TO
    with np.errstate(over="ignore", invalid="ignore"):
        h = a[small] / 2                                # sum_k (x/2)^(2k+n) / (k! (k+n)!): positive terms
        q = h * h
        term = h ** n / math.factorial(n)
        total = term.copy()
        k = 0
        while np.any(term > _TINY * total):
            k += 1
            term = term * q / (k * (k + n))
            total += term
        out[small] = total
        z = a[~small]                                   # e^z / sqrt(2 pi z) sum_k (-1)^k a_k(n) / z^k
        mu = 4.0 * n * n
        term = np.ones_like(z)
        total = term.copy()
        for k in range(1, 60):                          # |term| shrinks by ~k/(2z) < 1/2 per step here
            term = term * -(mu - (2 * k - 1) ** 2) / (8.0 * k * z)
            total += term
            if not np.any(np.abs(term) > _TINY * np.abs(total)):
                break
        half = np.exp(z / 2)                            # e^z as a product: finite up to I_n's own overflow
        out[~small] = np.where(np.isinf(z), np.inf, half * (half * total / np.sqrt(2 * np.pi * z)))
    if n % 2:
        out = np.where(x < 0, -out, out)                # I_n(-x) = (-1)^n I_n(x)
    out = out.astype(dt, copy=False)
    return out[()] if x.ndim == 0 else out


bessel_i_p = Primitive("bessel_i", _bessel_i)


def _bessel_i_next(t, out, x, *, n):
    return t * (0.5 * (bind(bessel_i_p, (x,), {"n": abs(n - 1)}) + bind(bessel_i_p, (x,), {"n": n + 1})))


rule(bessel_i_p, (_bessel_i_next,), (_bessel_i_next,), needs=(("x",),))
i0_p = Primitive("numpy.i0", np.i0)
elementwise(i0_p, lambda x: bind(bessel_i_p, (x,), {"n": 1}))
register_function(np.i0, lambda x: bind(i0_p, (canonical_operand(x),)))

if sp is not None:
    # -- ufuncs --------------------------------------------------------------------------------
    elementwise(_ufunc(sp.expit), lambda out: out * (1 - out))
    elementwise(_ufunc(sp.logit), lambda x: 1 / (x * (1 - x)))
    elementwise(_ufunc(sp.erf), lambda x: _TWO_OVER_SQRT_PI * np.exp(-x * x))
    elementwise(_ufunc(sp.erfc), lambda x: -_TWO_OVER_SQRT_PI * np.exp(-x * x))
    elementwise(_ufunc(sp.gammaln), lambda x: sp.digamma(x))

    polygamma_p = Primitive("scipy.special.polygamma", lambda x, *, n: sp.polygamma(n, x))

    def _polygamma_next(t, out, x, *, n):
        return t * bind(polygamma_p, (x,), {"n": n + 1})

    rule(polygamma_p, (_polygamma_next,), (_polygamma_next,), needs=(("x",),))
    elementwise(_ufunc(sp.digamma, "digamma"), lambda x: bind(polygamma_p, (x,), {"n": 1}))     # also sp.psi

    # xlogy(0, y) = 0 for every y, so the y-partial is 0 where x == 0 (not 0/0 at y == 0).
    def _x_over(x, d):
        zero = x == 0
        return np.where(zero, 0, x / np.where(zero, 1, d))

    elementwise(_ufunc(sp.xlogy), lambda y: np.log(y), lambda x, y: _x_over(x, y),
                convention="d/dy is 0 where x == 0")
    elementwise(_ufunc(sp.xlog1py), lambda y: np.log1p(y), lambda x, y: _x_over(x, 1 + y),
                convention="d/dy is 0 where x == 0")

    elementwise(_ufunc(sp.gamma), lambda out, x: out * sp.digamma(x))
    elementwise(_ufunc(sp.log_expit), lambda x: sp.expit(-x))                   # 1 - expit(x), without cancelling
    elementwise(_ufunc(sp.ndtr), lambda x: _INV_SQRT_2PI * np.exp(-0.5 * x * x))
    # phi(x) / Phi(x) as exp(-x^2/2 - log Phi(x)): finite far into the lower tail
    elementwise(_ufunc(sp.log_ndtr), lambda out, x: _INV_SQRT_2PI * np.exp(-0.5 * x * x - out))
    elementwise(_ufunc(sp.ndtri), lambda out: _SQRT_2PI * np.exp(0.5 * out * out))
    elementwise(_ufunc(sp.erfinv), lambda out: _SQRT_PI_2 * np.exp(out * out))
    elementwise(_ufunc(sp.erfcinv), lambda out: -_SQRT_PI_2 * np.exp(out * out))
    elementwise(_ufunc(sp.betaln), lambda x, y: sp.digamma(x) - sp.digamma(x + y),
                lambda x, y: sp.digamma(y) - sp.digamma(x + y))
    elementwise(_ufunc(sp.beta), lambda out, x, y: out * (sp.digamma(x) - sp.digamma(x + y)),
                lambda out, x, y: out * (sp.digamma(y) - sp.digamma(x + y)))
    elementwise(_ufunc(sp.entr), lambda x: -np.log(x) - 1)                      # +inf at 0, the one-sided value
    # rel_entr(x, y) = x log(x/y) and kl_div(x, y) = x log(x/y) - x + y; both are 0 at x == 0 for every y
    elementwise(_ufunc(sp.rel_entr), lambda x, y: np.log(x / y) + 1, lambda x, y: -_x_over(x, y),
                convention="d/dy is 0 where x == 0")
    elementwise(_ufunc(sp.kl_div), lambda x, y: np.log(x / y), lambda x, y: 1 - _x_over(x, y),
                convention="d/dy is 1 where x == 0")

    # -- logsumexp -----------------------------------------------------------------------------
    logsumexp_p = Primitive("scipy.special.logsumexp",
                            lambda x, *, axis, keepdims: sp.logsumexp(x, axis=axis, keepdims=keepdims))

    def _lse_weights(out, x, axis, keepdims):
        # exp(x - out): the softmax of x along axis, never overflowing
        return np.exp(x - (out if keepdims else _kept(out, x, axis)))

    rule(logsumexp_p,
         (lambda t, out, x, *, axis, keepdims:
          np.sum(t * _lse_weights(out, x, axis, keepdims), axis=_shifted(axis, t, x), keepdims=keepdims),),
         (lambda g, out, x, *, axis, keepdims:
          (g if keepdims else _expand(g, out, x, axis)) * _lse_weights(out, x, axis, keepdims),),
         needs=(("out", "x"),))

    # With weights b: out = log|s|, s = sum b e^a (SciPy's value: nan where s < 0 unless return_sign).
    # d out/d b_i = sign(s) e^(a_i - out) and d out/d a_i = b_i times that: finite wherever out is,
    # also where a weight is 0 or negative.  (Rewriting it as logsumexp(a + log b) is not: log of a
    # negative weight is nan, and d/db_i of log b_i is infinite at b_i = 0.)
    def _lse_weighted_impl(x, b, *, axis, keepdims, return_sign):
        out = sp.logsumexp(x, axis=axis, b=b, keepdims=keepdims, return_sign=return_sign)
        return out[0] if return_sign else out

    logsumexp_weighted_p = Primitive("scipy.special.logsumexp", _lse_weighted_impl, arity=2)

    def _lse_db(out, x, b, axis, keepdims):
        """d out / d b: sign(s) e^(x - out), with s = sum b e^x (as sum b e^(x - out) = sign(s))."""
        e = np.exp(x - (out if keepdims else _kept(out, x, axis)))
        return np.sign(np.sum(b * e, axis=axis, keepdims=True)) * e

    def _lse_weighted_jvp(of_b):
        def jvp(t, out, x, b, *, axis, keepdims, return_sign):
            d = _lse_db(out, x, b, axis, keepdims)
            return np.sum(t * (d if of_b else b * d), axis=_shifted(axis, t, x), keepdims=keepdims)
        return jvp

    def _lse_weighted_vjp(of_b):
        def vjp(g, out, x, b, *, axis, keepdims, return_sign):
            d = _lse_db(out, x, b, axis, keepdims)
            return (g if keepdims else _expand(g, out, x, axis)) * (d if of_b else b * d)
        return vjp

    rule(logsumexp_weighted_p, (_lse_weighted_jvp(False), _lse_weighted_jvp(True)),
         (_lse_weighted_vjp(False), _lse_weighted_vjp(True)), needs=(("out", "x", "y"), ("out", "x", "y")))

    def _logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
        if b is None:
            out = bind(logsumexp_p, (a,), {"axis": _axes(axis, ndim_of(a)), "keepdims": bool(keepdims)})
        else:
            shape = np.broadcast_shapes(shape_of(a), shape_of(b))      # the rules see equal shapes
            a = a if shape_of(a) == shape else np.broadcast_to(a, shape)
            b = b if shape_of(b) == shape else np.broadcast_to(b, shape)
            out = bind(logsumexp_weighted_p, (a, b), {"axis": _axes(axis, len(shape)), "keepdims": bool(keepdims),
                                                     "return_sign": bool(return_sign)})
        if not return_sign:
            return out
        # the sign is piecewise constant (derivative 0): SciPy's own, from the plain values
        _, sign = sp.logsumexp.__wrapped__(plain_value(a), axis=axis, b=None if b is None else plain_value(b),
                                           keepdims=keepdims, return_sign=True)
        return out, sign

    # -- softmax and log_softmax -----------------------------------------------------------------
    softmax_p = Primitive("scipy.special.softmax", lambda x, *, axis: sp.softmax(x, axis=axis))

    def _softmax_jvp(t, out, x, *, axis):
        return out * (t - np.sum(out * t, axis=_shifted(axis, t, x), keepdims=True))

    rule(softmax_p, (_softmax_jvp,), (_softmax_jvp,), needs=(("out",),))   # J is symmetric: same rule

    log_softmax_p = Primitive("scipy.special.log_softmax", lambda x, *, axis: sp.log_softmax(x, axis=axis))
    rule(log_softmax_p,
         (lambda t, out, x, *, axis: t - np.sum(np.exp(out) * t, axis=_shifted(axis, t, x), keepdims=True),),
         (lambda g, out, x, *, axis: g - np.exp(out) * np.sum(g, axis=_shifted(axis, g, x), keepdims=True),),
         needs=(("out",),))

    def _softmax(x, axis=None):
        return bind(softmax_p, (x,), {"axis": _axes(axis, ndim_of(x))})

    def _log_softmax(x, axis=None):
        return bind(log_softmax_p, (x,), {"axis": _axes(axis, ndim_of(x))})

    def _polygamma(n, x):
        if isinstance(n, Tracer) or np.ndim(n) != 0:
            raise NotDifferentiableError("scipy.special.polygamma", "the order n must be one plain integer")
        return bind(polygamma_p, (x,), {"n": int(n)})

    # -- modified Bessel functions of the first kind ----------------------------------------------
    # I_v' = (I_{v-1} + I_{v+1}) / 2, which has no 1/x at 0 (the textbook I_1' = I_0 - I_1/x does);
    # the scaled ones are ive(v, x) = exp(-|x|) I_v(x), so ive' = (ive_{v-1} + ive_{v+1}) / 2 - sign(x) ive.
    _KINK = "d/dx exp(-|x|) at x == 0 is taken as 0 (sign(0) = 0): i0e'(0) = 0, the mean of -1 and 1"
    elementwise(_ufunc(sp.iv), None, lambda x, y: 0.5 * (sp.iv(x - 1, y) + sp.iv(x + 1, y)))
    elementwise(_ufunc(sp.ive), None, lambda out, x, y: 0.5 * (sp.ive(x - 1, y) + sp.ive(x + 1, y)) - np.sign(y) * out,
                convention=_KINK)
    elementwise(_ufunc(sp.i0), lambda x: sp.i1(x))
    elementwise(_ufunc(sp.i1), lambda x: 0.5 * (sp.i0(x) + sp.iv(2, x)))
    elementwise(_ufunc(sp.i0e), lambda out, x: sp.i1e(x) - np.sign(x) * out, convention=_KINK)
    elementwise(_ufunc(sp.i1e), lambda out, x: 0.5 * (sp.i0e(x) + sp.ive(2, x)) - np.sign(x) * out)

    _dispatch("logsumexp", _logsumexp)
    _dispatch("softmax", _softmax)
    _dispatch("log_softmax", _log_softmax)
    _dispatch("polygamma", _polygamma)
