"""Elementwise functions: one local partial derivative per argument.

Broadcasting is handled by the generated rules (tangents are broadcast to the
output's shape; adjoints are summed back over the broadcast axes), so each
declaration is just the calculus: the partial derivative of the output with
respect to each argument, written with NumPy functions so that it is itself
differentiable (second derivatives come from differentiating the partials).

Partials are written so that they keep the inputs' floating dtype (a float32
input gives float32 derivatives): constants are Python scalars, which NumPy
treats as "weak", and masks are booleans, which do not promote.

Where a function has no derivative at a point (a kink, a tie, a jump) the
value chosen is the one stated in the comment beside the declaration and in
its ``convention=``, which ``docs/coverage.md`` lists; ``tests/test_conventions.py``
checks each of them.  Piecewise-constant functions (``floor``, comparisons,
logical functions) are declared non-differentiable: their outputs are
constants to every transform.

Complex intermediates are differentiated correctly by the holomorphic
functions (``+``, ``*``, ``exp``, ``sin``, ...), whose rules are the complex
derivative; ``abs``, ``angle`` and ``sign`` (z / |z| under NumPy 2) have their own
non-holomorphic rules.  The rules of ``maximum`` and ``clip`` hold for real
arguments only, so those primitives are marked :func:`real_only` and refuse a
complex value instead of returning a wrong derivative.
"""

import math

import numpy as np

from ..core import Primitive, bind, call_plain, canonical_operand, plain_value, primitive_of, register_function
from ..errors import InPlaceError, NotDifferentiableError
from ._broadcast import add_into, dtype_of, fit_adjoint, fit_tangent, into
from ._pattern import elementwise_pattern
from ._declare import as_primitive, complex_safe, elementwise, nondifferentiable, real_for, rule

_LN2 = float(np.log(2.0))
_LN10 = float(np.log(10.0))
_SCALARS = (int, float, np.integer, np.floating)




def real_only(prim):
    """Make ``prim`` reject complex inputs: its rules are those of a real function of real arguments.

    Holomorphic functions (+, *, exp, sin, ...) differentiate complex intermediates correctly, but
    |z|, max, clip or sign of a complex value would get a wrong derivative from real rules, silently.
    """
    impl = prim.impl

    def checked(*args, **params):
        for a in args:
            if np.iscomplexobj(a):
                raise NotDifferentiableError(
                    prim.name, "of a complex value: its rule is for real arguments; work with the real "
                    "and imaginary parts (np.real/np.imag outside the function, or two real arguments)")
        return impl(*args, **params)

    checked.refuses_complex = True                  # docs/coverage.md's complex column reads it
    prim.impl = checked
    return prim


# -- arithmetic ------------------------------------------------------------------------------
elementwise(np.add, 1, 1)
# The joint JVPs below give the same numbers as the partials with fewer temporary arrays
# (forward mode's peak memory): one expression over both tangents instead of two products and a sum.
def _subtract_jvp(t, out, x, y):
    tx, ty = t
    return -ty if tx is None else tx if ty is None else tx - ty


def _multiply_jvp(t, out, x, y):
    tx, ty = t
    if tx is None:
        return ty * x
    r = tx * y
    return r if ty is None else add_into(r, ty * x)


def _divide_jvp(t, out, x, y):
    tx, ty = t                                   # d(x / y) = (dx - out dy) / y, in one buffer
    if ty is None:
        return tx / y
    num = ty * out
    num = -num if tx is None else into(np.subtract, tx, num, num)
    return into(np.true_divide, num, y, num)


elementwise(np.subtract, 1, -1, jvp_all=_subtract_jvp)
elementwise(np.multiply, lambda y: y, lambda x: x, jvp_all=_multiply_jvp)
def _reciprocal_of(y):
    # 1 / y with NumPy's semantics: a Python 0 as the constant denominator gives inf, not
    # ZeroDivisionError (a Python float, so it stays a weak scalar and float32 stays float32)
    if (type(y) is int or type(y) is float) and y == 0:
        return math.copysign(math.inf, y) if type(y) is float else math.inf
    return 1 / y


elementwise(np.true_divide, _reciprocal_of, lambda out, y: -out / y,      # also np.divide (same ufunc)
            jvp_all=_divide_jvp)
elementwise(np.negative, -1)
elementwise(np.positive, 1)
elementwise(np.reciprocal, lambda out: -out * out)
elementwise(np.square, lambda x: 2 * x)
elementwise(np.remainder, 1, lambda x, y: -np.floor_divide(x, y),
            convention="at a jump of x % y the one-sided derivative of the continuous piece is used")
elementwise(np.fmod, 1, lambda x, y: -np.trunc(x / y),
            convention="at a jump of fmod(x, y) the one-sided derivative of the continuous piece is used")


# -- powers ----------------------------------------------------------------------------------
def _safe_log(x):
    """log(x) where x > 0, and log(1) = 0 elsewhere (used where the factor beside it is 0)."""
    return np.log(np.where(x > 0, x, 1.0))


def _power_partials(pow_fn):
    """The two partials of ``pow_fn(x, y)`` (np.power or np.float_power)."""

    def base(x, y):
        # d/dx x**y = y x**(y-1); where y == 0 it is 0, also at x == 0 (not 0 * inf).
        if isinstance(y, _SCALARS):                           # a constant exponent: x**2, x**0.5
            if y == 0 or y == 1:
                return 0 if y == 0 else y
            return y * x if y == 2 else y * pow_fn(x, y - 1)  # x**2, the common case, without a power
        both_zero = (x == 0) & (y == 0)
        return y * pow_fn(x, np.where(both_zero, 1, y - 1))

    def exponent(out, x):
        # d/dy x**y = x**y log x for x > 0; 0 at x == 0 (the limit for y > 0); nan for x < 0,
        # where x**y is real only at integer y and has no derivative in y.
        if dtype_of(out).kind == "c":             # complex: x**y = exp(y log x), principal log; 0 at x == 0
            return out * np.log(np.where(x == 0, 1, x) + 0j)
        return np.where(x < 0, np.nan, out * _safe_log(x))

    return base, exponent


_POWER_CONVENTION = ("d/dx x**y = 0 where y == 0 (also at x == 0); d/dy x**y = 0 at x == 0 "
                     "and nan for x < 0")
elementwise(np.power, *_power_partials(np.power), convention=_POWER_CONVENTION)
elementwise(np.float_power, *_power_partials(np.float_power), convention=_POWER_CONVENTION)
elementwise(np.sqrt, lambda out: 0.5 / out)                  # +inf at 0, the one-sided derivative
elementwise(np.cbrt, lambda out: 1 / (3 * out * out))        # +inf at 0


# -- exponentials and logarithms -------------------------------------------------------------
elementwise(np.exp, lambda out: out)
elementwise(np.exp2, lambda out: _LN2 * out)
elementwise(np.expm1, lambda out: out + 1)
elementwise(np.log, lambda x: 1 / x)
elementwise(np.log2, lambda x: 1 / (_LN2 * x))
elementwise(np.log10, lambda x: 1 / (_LN10 * x))
elementwise(np.log1p, lambda x: 1 / (1 + x))
# exp(x - out) = e^x / (e^x + e^y), never overflows
elementwise(np.logaddexp, lambda out, x: np.exp(x - out), lambda out, y: np.exp(y - out))
elementwise(np.logaddexp2, lambda out, x: np.exp2(x - out), lambda out, y: np.exp2(y - out))


# -- trigonometric and hyperbolic ------------------------------------------------------------
elementwise(np.sin, lambda x: np.cos(x), finite=True)         # bounded partials: no zero-seed check
elementwise(np.cos, lambda x: -np.sin(x), finite=True)
elementwise(np.tan, lambda out: 1 + out * out)
elementwise(np.arcsin, lambda x: 1 / np.sqrt(1 - x * x))
elementwise(np.arccos, lambda x: -1 / np.sqrt(1 - x * x))
elementwise(np.arctan, lambda x: 1 / (1 + x * x))
elementwise(np.sinh, lambda x: np.cosh(x))
elementwise(np.cosh, lambda x: np.sinh(x))
elementwise(np.tanh, lambda out: 1 - out * out, finite=True)
elementwise(np.arcsinh, lambda x: 1 / np.sqrt(x * x + 1))
def _arccosh_partial(x):
    if dtype_of(x).kind == "c":     # principal branch: 1/sqrt(z^2 - 1) flips sign across the imaginary axis
        return 1 / (np.sqrt(x - 1) * np.sqrt(x + 1))
    return 1 / np.sqrt(x * x - 1)


elementwise(np.arccosh, _arccosh_partial)
elementwise(np.arctanh, lambda x: 1 / (1 - x * x))
for _f, _c in ((np.deg2rad, np.pi / 180), (np.radians, np.pi / 180),
               (np.rad2deg, 180 / np.pi), (np.degrees, 180 / np.pi)):
    elementwise(_f, float(_c))


def _nonzero_or_one(r2):
    return np.where(r2 > 0, r2, 1.0)


# arctan2(x, y) is the angle of the point (y, x); at the origin both partials are taken as 0.
elementwise(np.arctan2, lambda x, y: y / _nonzero_or_one(x * x + y * y),
            lambda x, y: -x / _nonzero_or_one(x * x + y * y),
            convention="both partials are 0 at x == y == 0")
# hypot(x, y) = |(x, y)|; at the origin both partials are taken as 0 (the subgradient 0, as abs'(0)).
elementwise(np.hypot, lambda out, x: x / _nonzero_or_one(out), lambda out, y: y / _nonzero_or_one(out),
            convention="both partials are 0 at x == y == 0")


# -- absolute value, signs, extrema ----------------------------------------------------------
def _abs_jvp(t, out, x):
    if dtype_of(x).kind != "c":
        return np.sign(x) * t
    # |z| is not holomorphic: d|z| = Re(conj(z) dz) / |z|, a real tangent; 0 at z == 0 (as abs'(0) = 0)
    return np.real(np.conjugate(x) * t) / _nonzero_or_one(out)


def _abs_vjp(g, out, x):
    if dtype_of(x).kind != "c":
        return g * np.sign(x)
    return g * (np.conjugate(x) / _nonzero_or_one(out))     # the transpose of t -> Re(conj(z) t) / |z|


rule(np.absolute, (_abs_jvp,), (_abs_vjp,), needs=(("out", "x"),), complex_ok=True,    # also np.abs
     convention="abs'(0) = 0; for complex z, d|z| = Re(conj(z) dz) / |z| (0 at z == 0)")
primitive_of(np.absolute).pattern = elementwise_pattern([True])
elementwise(np.fabs, lambda x: np.sign(x), convention="fabs'(0) = 0")
# copysign(x, y) = |x| sign(y): the y-partial is 0 (piecewise constant); at x == 0 the x-partial is 0, as abs'(0)
elementwise(np.copysign, lambda x, y: np.sign(x) * np.copysign(1.0, y), 0,
            convention="d/dx is 0 at x == 0 (as abs'(0)); d/dy is 0")

# A tie x == y shares the derivative equally: 0.5 to each argument (the mean of the one-sided ones).
_TIE = "ties x == y share the derivative equally: 0.5 to each argument"
elementwise(np.maximum, lambda x, y: 0.5 + 0.5 * np.sign(x - y), lambda x, y: 0.5 - 0.5 * np.sign(x - y),
            convention=_TIE)
elementwise(np.minimum, lambda x, y: 0.5 - 0.5 * np.sign(x - y), lambda x, y: 0.5 + 0.5 * np.sign(x - y),
            convention=_TIE)


def _fmax_x(x, y):
    # fmax ignores a nan argument: the other one gets the whole derivative
    return np.where(np.isnan(y), 1, np.where(np.isnan(x), 0, 0.5 + 0.5 * np.sign(x - y)))


def _fmin_x(x, y):
    return np.where(np.isnan(y), 1, np.where(np.isnan(x), 0, 0.5 - 0.5 * np.sign(x - y)))


_FTIE = _TIE + "; a nan argument gets 0 and the other one 1"
elementwise(np.fmax, _fmax_x, lambda x, y: _fmax_x(y, x), convention=_FTIE)
elementwise(np.fmin, _fmin_x, lambda x, y: _fmin_x(y, x), convention=_FTIE)


# -- sinc and heaviside -------------------------------------------------------------------------
# sinc(x) = sin(pi x) / (pi x); near 0 its Taylor series, so that sinc'(0) = 0 and sinc''(0) = -pi^2/3 hold
_PI2_3 = float(np.pi ** 2 / 3)
_PI4_30 = float(np.pi ** 4 / 30)


def _sinc_partial(out, x):
    small = np.abs(x) < 1e-3
    series = x * (_PI4_30 * x * x - _PI2_3)
    return np.where(small, series, (np.cos(np.pi * x) - out) / np.where(small, 1, x))


sinc_p = elementwise(Primitive("numpy.sinc", np.sinc), _sinc_partial, complex_ok=True)      # holomorphic
register_function(np.sinc, lambda x: bind(sinc_p, (canonical_operand(x),)))
# heaviside(x, h) is 0, h, 1 for x <, ==, > 0: piecewise constant in x (0 at the jump too); h counts only at x == 0
elementwise(np.heaviside, 0, lambda x: x == 0, convention="d/dx is 0, also at the jump x == 0")
# nextafter(x, y) = x +- spacing(x): x moved by one float towards y, so d/dx = 1 and d/dy = 0 (spacing and the
# direction are piecewise constant)
elementwise(np.nextafter, 1, 0, convention="d/dx = 1, d/dy = 0: x moved one float towards y (also at x == y)")


# -- piecewise constant: no derivative -------------------------------------------------------
nondifferentiable(np.sign, convention="sign'(x) = 0 everywhere, including at 0")
nondifferentiable(np.spacing, convention="the distance to the next float: piecewise constant, derivative 0")
nondifferentiable(np.floor, np.ceil, np.rint, np.trunc, np.floor_divide)
nondifferentiable(np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
                  convention="comparisons are boolean: no derivative")
nondifferentiable(np.logical_and, np.logical_or, np.logical_not, np.logical_xor,
                  np.isfinite, np.isnan, np.isinf, np.signbit,
                  convention="boolean result: no derivative")


# -- np.clip(a, a_min, a_max): a function with a primitive of three arguments ------------------
clip_p = Primitive("numpy.clip", np.clip, arity=3)
# At x == a_min or x == a_max the derivative goes to x (1), not to the bound: x passes
# through on the closed interval.  If a_min > a_max NumPy returns a_max, so a_max gets it.
elementwise(clip_p,
            lambda x, lo, hi: (lo <= x) & (x <= hi),
            lambda x, lo, hi: (x < lo) & (lo <= hi),
            lambda x, lo, hi: (x > hi) | (lo > hi),
            argnames=("x", "lo", "hi"),
            convention="at x == a_min or x == a_max the derivative is 1 for x and 0 for the bound")


def _clip(a, a_min=None, a_max=None, out=None, **kwargs):
    if out is not None:
        raise InPlaceError("numpy.clip(..., out=...) writes in place; use the returned value instead.")
    a_min = kwargs.pop("min", a_min)
    a_max = kwargs.pop("max", a_max)
    if kwargs:
        raise TypeError(f"numpy.clip: unsupported keyword arguments {sorted(kwargs)}")
    lo = -np.inf if a_min is None else canonical_operand(a_min)
    hi = np.inf if a_max is None else canonical_operand(a_max)
    return bind(clip_p, (canonical_operand(a), lo, hi))


register_function(np.clip, _clip)


for _f in (np.maximum, np.minimum, np.fmax, np.fmin):
    real_only(as_primitive(_f))
real_only(clip_p)


# np.sign of a complex value.  NumPy >= 2 defines it as s = z / |z|, which is not constant: it turns
# with the phase of z.  Its differential, ds = dz / |z| - z Re(conj(z) dz) / |z|^3, is with |s| == 1
# ds = i s Im(conj(s) dz) / |z|: the part of dz across the ray of z, scaled by 1 / |z|.  Not
# holomorphic; the VJP is its transpose under the bilinear pairing Re(sum(g ds)) = Re(sum(g' dz)),
# g' = i Im(g s) conj(s) / |z|.  At z == 0 (s == 0) both are 0, as abs'(0) = 0.  NumPy 1.x defines
# sign(z) as sign(Re z) (sign(Im z) where Re z == 0): piecewise constant, a constant as for real x.
_SIGN_IS_PHASE = np.lib.NumpyVersion(np.__version__) >= "2.0.0"


def _complex_sign_jvp(t, out, x):
    return 1j * out * np.imag(np.conjugate(out) * t) / _nonzero_or_one(np.abs(x))


def _complex_sign_vjp(g, out, x):
    return 1j * np.imag(g * out) * np.conjugate(out) / _nonzero_or_one(np.abs(x))


def _sign(x):
    """np.sign on a traced value: a constant for real values, z / |z| with its derivative for complex ones."""
    x = canonical_operand(x)
    if dtype_of(x).kind == "c":
        return bind(complex_sign_p, (x,))
    return bind(primitive_of(np.sign), (x,))


if _SIGN_IS_PHASE:
    complex_sign_p = rule(Primitive("numpy.sign (complex)", np.sign), (_complex_sign_jvp,), (_complex_sign_vjp,),
                          needs=(("out", "x"),), complex_ok=True,
                          convention="sign(z) = z / |z| (NumPy 2): ds = i sign(z) Im(conj(sign(z)) dz) / |z|; "
                          "0 at z == 0, as abs'(0)")
    complex_sign_p.pattern = elementwise_pattern([True])
    _sign.complex_primitive = complex_sign_p           # docs/coverage.md's complex column reads it
    register_function((np.sign, "__call__"), _sign)


# -- np.round / np.around: a function with a static number of decimals -------------------------
round_p = Primitive("numpy.round", lambda x, *, decimals: np.round(x, decimals))
nondifferentiable(round_p)


def _round(a, decimals=0, out=None):
    if out is not None:
        raise InPlaceError("numpy.round(..., out=...) writes in place; use the returned value instead.")
    return bind(round_p, (a,), {"decimals": int(decimals)})


register_function(np.round, _round)
register_function(np.around, _round)


# -- functions with constant (boolean, integer, rounded) results: computed on the plain values ------
def _constant(fn):
    def frontend(*args, **kwargs):
        return call_plain(fn, *args, **{k: plain_value(v) for k, v in kwargs.items()})
    frontend.convention = "constant result: no derivative"
    return frontend


for _f in (np.isclose, np.allclose, np.array_equal, np.array_equiv, np.isposinf, np.isneginf,
           np.count_nonzero, np.fix, np.isreal, np.iscomplex):
    register_function(_f, _constant(_f))


def _nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    # the replaced entries are constants: derivative 0 there
    replaced = call_plain(lambda p: np.nan_to_num(np.asarray(p), nan=nan, posinf=posinf, neginf=neginf), x)
    return np.where(call_plain(np.isfinite, x), x, replaced)


_nan_to_num.convention = "entries replaced (nan, inf) get derivative 0"
register_function(np.nan_to_num, _nan_to_num)


# -- np.where(condition, x, y) ------------------------------------------------------------
# The rules select rather than multiply by the mask, so that a nan or inf tangent of the branch
# not taken stays out (nan * 0 is nan): np.where(x > 0, np.log(x), 0) has derivative 0 at x <= 0.
where_p = Primitive("numpy.where", np.where, arity=3)
rule(where_p,
     (None,
      lambda t, out, c, x, y: np.where(c, fit_tangent(t, x, out), 0),
      lambda t, out, c, x, y: np.where(c, 0, fit_tangent(t, y, out))),
     (None,
      lambda g, out, c, x, y: real_for(fit_adjoint(np.where(c, g, 0), x, out), x),
      lambda g, out, c, x, y: real_for(fit_adjoint(np.where(c, 0, g), y, out), y)),
     needs=((), ("x",), ("x",)), complex_ok=True)          # positions: "x" is the first argument, the condition


def _where(condition, x=None, y=None):
    if x is None and y is None:                         # np.where(c) is np.nonzero(c): indices, no derivative
        return np.nonzero(plain_value(condition))
    if x is None or y is None:
        raise ValueError("either both or neither of x and y should be given")
    # the condition selects; it carries no derivative (under chainrule.jit it is computed on every call)
    c = call_plain(_as_mask, condition)
    return bind(where_p, (c, canonical_operand(x), canonical_operand(y)))


def _as_mask(c):
    return np.asarray(c, dtype=bool)


register_function(np.where, _where)


# -- complex arguments ----------------------------------------------------------------------------
# Holomorphic functions: the partial is the complex derivative, and under the bilinear pairing (no
# conjugation, see the README's "Complex numbers") the generated JVP and VJP are right unchanged.
# sqrt, log and power use NumPy's principal branch, whose derivative these partials are.
complex_safe(np.add, np.subtract, np.multiply, np.true_divide, np.negative, np.positive, np.reciprocal,
             np.square, np.power, np.float_power, np.sqrt, np.exp, np.exp2, np.expm1, np.log, np.log2,
             np.log10, np.log1p, np.sin, np.cos, np.tan, np.sinh, np.cosh, np.tanh, np.arcsin, np.arccos,
             np.arctan, np.arcsinh, np.arccosh, np.arctanh)
