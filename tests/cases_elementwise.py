"""Rows of the case table for elementwise functions, reductions and SciPy special functions (see tests/cases.py).

Domains keep each function inside the set where it is differentiable (away
from kinks, ties and poles); the values chosen *at* those points are tested
separately in tests/test_conventions.py.
"""

import numpy as np

from .cases import BINARY_SHAPES, NUMPY2, UNARY_SHAPES, case, numpy2

# -- unary elementwise, each on the usual shapes ------------------------------------------------
UNARY = [  # (numpy function, domain)
    (np.reciprocal, (0.5, 2)), (np.square, (-2, 2)), (np.cbrt, (0.3, 2)), (np.exp2, (-2, 2)),
    (np.expm1, (-2, 2)), (np.log2, (0.2, 3)), (np.log10, (0.2, 3)), (np.log1p, (-0.7, 2)),
    (np.arcsin, (-0.8, 0.8)), (np.arccos, (-0.8, 0.8)), (np.arctan, (-2, 2)), (np.sinh, (-2, 2)),
    (np.cosh, (-2, 2)), (np.arcsinh, (-2, 2)), (np.arccosh, (1.2, 3)), (np.arctanh, (-0.8, 0.8)),
    (np.deg2rad, (-90, 90)), (np.radians, (-90, 90)), (np.rad2deg, (-2, 2)), (np.degrees, (-2, 2)),
    (np.fabs, (0.1, 2)),
]
for fn, dom in UNARY:
    for s in UNARY_SHAPES:
        case(f"{fn.__name__}{s}", fn, s, covers=[f"numpy.{fn.__name__}"], domain=dom)
case("cbrt of negatives", np.cbrt, (4,), covers=["numpy.cbrt"], domain=(-2, -0.3))
case("fabs of negatives", np.fabs, (4,), covers=["numpy.fabs"], domain=(-2, -0.1))
case("sin of cos of exp2 (composition, 2nd order)", lambda x: np.sin(np.cos(np.exp2(x))) * np.tanh(x),
     (2, 3), covers=["numpy.sin", "numpy.cos", "numpy.exp2", "numpy.tanh"])

# -- binary elementwise, each on the broadcasting patterns ----------------------------------------
BINARY = [(np.float_power, (0.5, 2)), (np.logaddexp, (-3, 3)), (np.logaddexp2, (-3, 3)),
          (np.arctan2, (0.2, 2)), (np.hypot, (-2, 2)), (np.maximum, (-2, 2)), (np.minimum, (-2, 2)),
          (np.fmax, (-2, 2)), (np.fmin, (-2, 2)), (np.fmod, (1.1, 1.9))]
for fn, dom in BINARY:
    for sx, sy in BINARY_SHAPES:
        case(f"{fn.__name__}{sx}{sy}", fn, sx, sy, covers=[f"numpy.{fn.__name__}"], domain=dom)

case("divide (alias of true_divide)", lambda x, y: np.divide(x, y) + np.true_divide(y, x), (2, 3), (3,),
     covers=["numpy.divide"], domain=(0.5, 2))
case("arctan2 in all quadrants", lambda x, y: np.arctan2(x, y), (8,), (8,), covers=["numpy.arctan2"],
     domain=(-2, 2))
case("copysign", lambda x, y: np.copysign(x, y) * y, (6,), (6,), covers=["numpy.copysign"], domain=(-2, 2))
case("power: traced exponent, positive base", lambda x, y: np.power(x, y), (2, 3), (2, 3),
     covers=["numpy.power"], domain=(0.3, 2))
case("power: negative base, integer array exponent", lambda x: np.power(x, np.array([1.0, 2.0, 3.0, -2.0])),
     (4,), covers=["numpy.power"], domain=(-2, -0.5))
case("float_power: negative base, integer exponent", lambda x: np.float_power(x, 3) + np.float_power(x, -1),
     (4,), covers=["numpy.float_power"], domain=(-2, -0.5))
case("power: constant base ** traced", lambda x: 3.0 ** x + np.float_power(0.5, x), (4,),
     covers=["numpy.power", "numpy.float_power"])
case("power: x ** 0 and x ** 1", lambda x: x ** 0 + x ** 1 + x ** 0.0 * x, (4,), covers=["numpy.power"])
case("logaddexp far apart (stable)", lambda x, y: np.logaddexp(x, y + 800.0), (3,), (3,),
     covers=["numpy.logaddexp"])

# -- clip, round, where ---------------------------------------------------------------------------
case("clip: constant bounds", lambda x: np.clip(x, -1.0, 1.2) * x, (3, 4), covers=["numpy.clip"],
     domain=(-2, 2))
case("clip: traced bounds, broadcast", lambda x, lo, hi: np.clip(x, lo - 1.0, hi + 1.0), (2, 3), (3,), (2, 1),
     covers=["numpy.clip"], domain=(-2, 2))
case("clip: a_min > a_max gives a_max", lambda x, lo, hi: np.clip(x, lo + 5.0, hi), (4,), (4,), (4,),
     covers=["numpy.clip"])
case("clip: one-sided, keyword and method forms", lambda x: np.clip(x, None, 0.5) + x.clip(min=-0.5)
     + np.clip(x, a_min=-1.0, a_max=None), (5,), covers=["numpy.clip"])
for fn in (np.rint, np.trunc):
    case(f"{fn.__name__} (constant)", lambda x, fn=fn: x * fn(x), (4,), covers=[f"numpy.{fn.__name__}"],
         domain=(-2.9, 2.9))
case("round / around (constant)", lambda x: x * np.round(x, 1) + np.around(x) * x ** 2 + x.round(), (4,),
     covers=["numpy.round"], domain=(-2.9, 2.9))
case("logical functions (constant)", lambda x, y: x * np.logical_and(x > 0, y > 0) + y * np.logical_or(x > 0, y < 0)
     + x * np.logical_not(x > 0) + y * np.logical_xor(x > 0, y > 0), (5,), (5,),
     covers=["numpy.logical_and", "numpy.logical_or", "numpy.logical_not", "numpy.logical_xor"])
case("isfinite / isnan / isinf / signbit (constant)",
     lambda x: x * np.isfinite(x) + x * np.isnan(x) + x * np.isinf(x) + x * np.signbit(x), (4,),
     covers=["numpy.isfinite", "numpy.isnan", "numpy.isinf", "numpy.signbit"])
case("where with scalars and broadcasting", lambda x: np.where(x > 0, x ** 2, 1.0) + np.where(x < 0.5, 0.0, x),
     (2, 3), covers=["numpy.where"])

# -- reductions and scans -------------------------------------------------------------------------
R3 = (2, 3, 4)
for axis in (None, 0, (0, 2), -1):
    case(f"prod axis={axis}", lambda x, a=axis: np.prod(x, axis=a), R3, covers=["numpy.prod"], domain=(0.5, 1.5))
    case(f"max axis={axis}", lambda x, a=axis: np.max(x, axis=a), R3, covers=["numpy.max"])
    case(f"min axis={axis} keepdims", lambda x, a=axis: np.min(x, axis=a, keepdims=True), R3, covers=["numpy.min"])
    case(f"var axis={axis}", lambda x, a=axis: np.var(x, axis=a), R3, covers=["numpy.sum", "numpy.square"])
    case(f"std axis={axis} ddof=1", lambda x, a=axis: np.std(x, axis=a, ddof=1), R3, covers=["root"])
case("prod with one zero", lambda x: np.prod(x * np.array([1.0, 0.0, 1.0, 1.0])[:, None], axis=0), (4, 2),
     covers=["numpy.prod"])
case("prod with two zeros", lambda x: np.prod(x * np.array([0.0, 1.0, 0.0, 1.0])[:, None], axis=0), (4, 2),
     covers=["numpy.prod"])
case("prod keepdims, method", lambda x: np.prod(x, axis=1, keepdims=True) * x.prod()
     + np.prod(x, axis=0)[:, None], (3, 3), covers=["numpy.prod"], domain=(0.5, 1.5))
case("amax / amin / methods / maximum.reduce", lambda x: np.amax(x, axis=0) * np.amin(x, axis=0) + x.max(axis=0)
     - x.min(axis=0) + np.maximum.reduce(x, axis=0) * np.minimum.reduce(x), (3, 2),
     covers=["numpy.max", "numpy.min"])
case("max of a constant-shifted input (no ties)", lambda x: np.max(x ** 2 + np.arange(4.0)), (4,),
     covers=["numpy.max"])
for axis in (None, 0, 1, -1):
    case(f"cumsum axis={axis}", lambda x, a=axis: np.cumsum(x, axis=a) ** 2, R3, covers=["numpy.cumsum"])
    case(f"cumprod axis={axis}", lambda x, a=axis: np.cumprod(x, axis=a), R3, covers=["numpy.cumprod"],
         domain=(0.5, 1.5))
case("cumprod long axis (several doubling steps)", lambda x: np.cumprod(x, axis=0), (11, 2),
     covers=["numpy.cumprod"], domain=(0.7, 1.3))
case("cumprod with zeros", lambda x: np.cumprod(x * np.array([1.0, 0.0, 1.0, 0.0, 1.0])), (5,),
     covers=["numpy.cumprod"])
case("add.accumulate / multiply.accumulate / methods", lambda x: np.add.accumulate(x) * np.multiply.accumulate(x)
     + x.cumsum(axis=1) * x.cumprod(axis=1), (3, 2), covers=["numpy.cumsum", "numpy.cumprod"], domain=(0.5, 1.5))
case("mean / var / std of a product", lambda x, y: np.std(x * y, axis=0) + np.var(x, ddof=1) * np.mean(y),
     (3, 4), (4,), covers=["root", "numpy.square", "numpy.sum"])
case("std keepdims, correction=", lambda x: np.std(x, axis=(0, 1), keepdims=True, correction=1) * x, (2, 3),
     covers=["root"], skip=numpy2("np.std(correction=)"))
case("diff n=1, n=2, axis=0", lambda x: np.diff(x) ** 2 + np.diff(x, n=2, axis=0).sum(), (4, 4),
     covers=["getitem", "numpy.subtract"])
case("diff prepend / append", lambda x: np.diff(x, prepend=0.0, append=x[-1:] ** 2), (5,),
     covers=["getitem", "numpy.concatenate"])
case("trace, offsets and axes", lambda x: np.trace(x) + np.trace(x, 1) * np.trace(x, -1)
     + np.sum(np.trace(x[None] * x[:, :, None], axis1=1, axis2=2) ** 2) + x.trace(), (3, 3), covers=["getitem"])
case("average: unweighted, weighted, 1-D weights", lambda x, w: np.average(x) + np.average(x, axis=1, weights=w)
     .sum() + np.sum(np.average(x, axis=0, weights=w[:2] + 2.0, returned=True)[0]), (2, 3), (3,),
     covers=["numpy.sum"], domain=(0.5, 2))
case("nansum / nanmean", lambda x: np.nansum(np.where([True, False, True], x, np.nan), axis=1)
     * np.nanmean(np.where(x > 0, x, np.nan)), (2, 3), covers=["numpy.where"], domain=(-1, 2))
NORM_ORDS = [None, 1, 2, np.inf, -np.inf, 3, 0.5]
for o in NORM_ORDS:
    case(f"vector norm ord={o}", lambda x, o=o: np.linalg.norm(x, ord=o), (5,), covers=["root", "numpy.absolute"],
         domain=(0.2, 2))
    case(f"vector norm ord={o} axis=1 keepdims", lambda x, o=o: np.linalg.norm(x, ord=o, axis=1, keepdims=True) * x,
         (2, 4), covers=["root"], domain=(-2, -0.2))
for o in [None, "fro", 1, -1, np.inf, -np.inf]:
    case(f"matrix norm ord={o}", lambda x, o=o: np.linalg.norm(x, ord=o, axis=(0, 1)), (3, 4), covers=["root"])
    case(f"matrix norm ord={o} axis=(2, 0) keepdims", lambda x, o=o: np.linalg.norm(x, ord=o, axis=(2, 0),
         keepdims=True), (3, 2, 4), covers=["root"])
# nuc, 2 and -2 go through np.linalg.svdvals
for o in ["nuc", 2, -2]:
    case(f"matrix norm ord={o}", lambda x, o=o: np.linalg.norm(x, ord=o), (3, 4), covers=["numpy.sum"])
    case(f"matrix norm ord={o} stacked axis=(2, 1)", lambda x, o=o: np.linalg.norm(x, ord=o, axis=(2, 1)), (2, 3, 2),
         covers=["numpy.max"])
case("norm of the whole array, keepdims", lambda x: np.linalg.norm(x, keepdims=True) * x, (2, 3), covers=["root"])

# -- SciPy special functions (rules/special.py; only when SciPy is installed) ------------------------
try:
    import scipy.special as sp
except ImportError:                                         # pragma: no cover - scipy is a test extra
    sp = None
if sp is not None:
    SPECIAL = [(sp.expit, (-3, 3)), (sp.logit, (0.1, 0.9)), (sp.erf, (-2, 2)), (sp.erfc, (-2, 2)),
               (sp.gammaln, (0.3, 4)), (sp.digamma, (0.3, 4)), (sp.gamma, (0.3, 4)), (sp.log_expit, (-3, 3)),
               (sp.ndtr, (-2, 2)), (sp.log_ndtr, (-4, 2)), (sp.ndtri, (0.1, 0.9)), (sp.erfinv, (-0.8, 0.8)),
               (sp.erfcinv, (0.2, 1.8)), (sp.entr, (0.2, 2))]
    for fn, dom in SPECIAL:
        for s in UNARY_SHAPES:
            name = "digamma" if fn is sp.digamma else fn.__name__           # its __name__ is "psi"
            case(f"{name}{s}", fn, s, covers=[f"scipy.special.{name}"], domain=dom)
    case("gammaln of negatives (between poles)", sp.gammaln, (4,), covers=["scipy.special.gammaln"],
         domain=(-0.9, -0.1))
    case("log_ndtr far in the lower tail (stable)", lambda x: sp.log_ndtr(x - 40.0), (3,),
         covers=["scipy.special.log_ndtr"])
    for fn in (sp.xlogy, sp.xlog1py, sp.betaln, sp.beta, sp.rel_entr, sp.kl_div):
        for sx, sy in BINARY_SHAPES:
            case(f"{fn.__name__}{sx}{sy}", fn, sx, sy, covers=[f"scipy.special.{fn.__name__}"], domain=(0.2, 2))
    case("polygamma n=0..2", lambda x: sp.polygamma(0, x) + sp.polygamma(1, x) * sp.polygamma(2, x), (3,),
         covers=["scipy.special.polygamma"], domain=(0.5, 3))
    case("psi (alias of digamma)", lambda x: sp.psi(x) ** 2, (3,), covers=["scipy.special.digamma"], domain=(0.5, 3))
    for axis in (None, 0, -1, (0, 1)):
        case(f"logsumexp axis={axis}", lambda x, a=axis: sp.logsumexp(x, axis=a), (2, 3, 2),
             covers=["scipy.special.logsumexp"])
        case(f"logsumexp axis={axis} keepdims", lambda x, a=axis: sp.logsumexp(x, axis=a, keepdims=True) * x,
             (2, 3, 2), covers=["scipy.special.logsumexp"])
        case(f"softmax axis={axis}", lambda x, a=axis: sp.softmax(x, axis=a), (2, 3, 2),
             covers=["scipy.special.softmax"])
        case(f"log_softmax axis={axis}", lambda x, a=axis: sp.log_softmax(x, axis=a), (2, 3, 2),
             covers=["scipy.special.log_softmax"])
    case("logsumexp with weights b", lambda x, b: sp.logsumexp(x, axis=1, b=b), (2, 3), (3,),
         covers=["scipy.special.logsumexp"], domain=(0.2, 2))
    case("logsumexp of large values (stable)", lambda x: sp.logsumexp(x * 1000.0), (4,),
         covers=["scipy.special.logsumexp"], domain=(0.5, 1.0))

# -- more elementwise and reductions ------------------------------------------------------------------
case("sinc", np.sinc, (2, 3), covers=["numpy.sinc"])
case("sinc near 0 (series branch)", lambda x: np.sinc(x * 1e-4), (4,), covers=["numpy.sinc"])
case("heaviside", lambda x, h: np.heaviside(x, h) * x + np.heaviside(np.floor(x), h), (6,), (6,),
     covers=["numpy.heaviside"], domain=(-2.9, 2.9))
case("boolean and rounded queries (constant)", lambda x: x * np.isclose(x, 1.0) + x * np.fix(x) + x * np.isposinf(x)
     + x * np.isneginf(x) + x * np.count_nonzero(x > 0) + x * np.allclose(x, x) + x * np.array_equal(x, x),
     (4,), covers=["numpy.multiply"], domain=(-2.9, 2.9))
case("nan_to_num", lambda x: np.nan_to_num(np.where(x > 0, x, np.nan), nan=-1.0) * x, (2, 3),
     covers=["numpy.where"])
for axis in (None, 0, (0, 2)):
    case(f"ptp axis={axis}", lambda x, a=axis: np.ptp(x, axis=a), R3, covers=["numpy.max", "numpy.min"])
    case(f"median axis={axis}", lambda x, a=axis: np.median(x, axis=a), R3, covers=["numpy.sum"])
    case(f"median axis={axis} keepdims, odd count", lambda x, a=axis: np.median(x[:, :, :3], axis=a, keepdims=True),
         R3, covers=["numpy.sum"])
    NAN = lambda x: np.where(x > -1.8, x, np.nan)             # noqa: E731  (a few nan entries)
    case(f"nanvar / nanstd axis={axis}", lambda x, a=axis: np.nanvar(NAN(x), axis=a) + np.nanstd(NAN(x), axis=a),
         R3, covers=["root"])
    case(f"nanmax / nanmin / nanprod axis={axis}", lambda x, a=axis: np.nanmax(NAN(x), axis=a)
         * np.nanmin(NAN(x), axis=a) + np.nanprod(NAN(x) * 0.5, axis=a), R3, covers=["numpy.max", "numpy.prod"])
case("nanstd ddof=1 keepdims", lambda x: np.nanstd(np.where(x > -1.5, x, np.nan), ddof=1, keepdims=True) * x, R3,
     covers=["root"])
case("multiply.reduce is prod", lambda x: np.multiply.reduce(x, axis=1)[:2] * np.multiply.reduce(x), (3, 2),
     covers=["numpy.prod"], domain=(0.5, 1.5))
case("nextafter: d/dx = 1, d/dy = 0", lambda x, y: np.nextafter(x, y) * (y + 3.0), (2, 3), (3,),
     covers=["numpy.nextafter"])
case("spacing (constant): powers of two", lambda x: x * np.spacing(x) / np.spacing(np.ones_like(x)), (6,),
     covers=["numpy.spacing"], domain=(0.3, 3.0))

# sign of a complex intermediate (NumPy 2: z / |z|; NumPy 1.x's sign(Re z) is a constant, tests/cases.py)
if NUMPY2:
    case("sign of a complex intermediate (z / |z|)",
         lambda x, y: np.real(np.sign(x + 1j * y) * (2 - 1j)) + np.imag(np.sign(x * y + 0.5j)), (2, 3), (3,),
         covers=["numpy.sign (complex)"], domain=(0.3, 2))
