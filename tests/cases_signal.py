"""Rows of the case table for signals and statistics (see tests/cases.py).

gradient, ediff1d, convolve/correlate, interp, polyval, vander, trapezoid, quantiles, cov/corrcoef,
histograms, the nan-aware reductions and scans, where=/initial= on reductions, every np.pad mode and
the ufunc methods outer/reduce/accumulate.  Most are compositions; each row names the primitives it
runs through, and the finite-difference oracle evaluates the same function with plain NumPy.
Inputs are random, so ties, breakpoints and bin edges are met with probability zero.
"""

import inspect

import numpy as np

from .cases import case

GET = ["getitem", "index_add"]
SUB = ["numpy.subtract", "numpy.divide", "getitem", "index_add", "numpy.concatenate"]


def _spacing(c):
    """Increasing coordinates from arbitrary values: the cumulative sum of steps in [0.5, 4.5]."""
    return np.cumsum(0.5 + c ** 2)


# -- gradient and differences -------------------------------------------------------------------
for eo in (1, 2):
    case(f"gradient edge_order={eo}", lambda f, eo=eo: np.gradient(f, edge_order=eo)[1] * np.gradient(f)[0], (4, 5),
         covers=SUB)
    case(f"gradient spacing scalar and coordinates, edge_order={eo}",
         lambda f, eo=eo: np.gradient(f, 0.3, np.array([0., 0.5, 1.7, 2.0, 3.1]), edge_order=eo)[1],
         (3, 5), covers=SUB + ["numpy.multiply", "numpy.add"])
    case(f"gradient traced coordinates, axis=0, edge_order={eo}",
         lambda f, c, eo=eo: np.gradient(f, _spacing(c), axis=0, edge_order=eo), (5, 2), (5,),
         covers=SUB + ["numpy.cumsum"])
    case(f"gradient traced step, edge_order={eo}", lambda f, h, eo=eo: np.gradient(f, h, edge_order=eo), (6,), (),
         covers=SUB, domain=(0.5, 2))
case("ediff1d with traced to_begin and a constant to_end", lambda x, b: np.ediff1d(x, to_begin=b, to_end=[1.5]),
     (2, 3), (2,), covers=SUB)

# -- convolution and correlation: both arguments traced, every mode, both length orders -------------
for mode in ("full", "same", "valid"):
    for n, m in ((5, 3), (2, 4)):
        case(f"convolve {mode} ({n}, {m})", lambda a, v, mode=mode: np.convolve(a, v, mode) ** 2, (n,), (m,),
             covers=["numpy.convolve"])
        case(f"correlate {mode} ({n}, {m})", lambda a, v, mode=mode: np.correlate(a, v, mode) ** 2, (n,), (m,),
             covers=["numpy.correlate"])
case("convolve of a product (second order mixes both arguments)",
     lambda a, v: np.sum(np.convolve(a * v[0], v, "same") * np.correlate(a, v, "same")), (4,), (3,),
     covers=["numpy.convolve", "numpy.correlate"])

# -- interpolation ---------------------------------------------------------------------------------
XP = np.array([-1.5, -0.7, 0.1, 0.4, 1.2, 1.9])
case("interp in x and fp (constant xp), outside values from fp", lambda x, fp: np.interp(x, XP, fp) ** 2,
     (3, 4), (6,), covers=["numpy.interp"], domain=(-2.5, 2.5))
case("interp in x, xp and fp", lambda x, c, fp: np.interp(x, _spacing(c) - 4.0, fp), (7,), (6,), (6,),
     covers=["numpy.interp", "numpy.cumsum"], domain=(-1.5, 1.5))
case("interp left/right constants and traced", lambda x, fp, r: np.interp(x, XP, fp, left=-3.0, right=r) * x,
     (8,), (6,), (), covers=["numpy.interp", "numpy.where"], domain=(-2.5, 2.5))
case("interp periodic", lambda x, fp: np.interp(x, XP, fp, period=2.5), (6,), (6,),
     covers=["numpy.interp", "numpy.remainder"], domain=(-3, 3))

# -- polynomials, integrals ------------------------------------------------------------------------
case("polyval in p and x", lambda p, x: np.polyval(p, x), (4,), (2, 3), covers=["numpy.multiply", "numpy.add"])
case("poly of zeros", lambda z: np.poly(z), (4,), covers=["numpy.multiply", "numpy.concatenate"])
case("poly of a matrix (its characteristic polynomial)", lambda a: np.poly(a), (3, 3),
     covers=["numpy.linalg.eigvals"])
case("polydiv quotient and remainder", lambda u, v: np.concatenate(np.polydiv(u, v)), (5,), (3,),
     covers=["numpy.divide", "numpy.concatenate"], domain=(0.5, 2))
case("polydiv by a longer divisor", lambda u, v: np.polydiv(u, v)[1] * np.polydiv(u, v)[0], (2,), (3,),
     covers=["numpy.multiply"], domain=(0.5, 2))
case("polyfit in x, y and the weights", lambda x, y, w: np.polyfit(_spacing(x), y, 2, w=w + 2.5), (6,), (6,), (6,),
     covers=["numpy.linalg.pinv", "numpy.sqrt"])
case("polyfit full, 2-D y", lambda x, y: np.concatenate([np.ravel(r) for r in np.polyfit(_spacing(x), y, 1, full=True)[:2]]),
     (5,), (5, 2), covers=["numpy.linalg.pinv"])
case("roots of a polynomial with real roots", lambda z: np.sort(np.real(np.roots(np.poly(_spacing(z))))), (4,),
     covers=["numpy.linalg.eigvals"])
case("roots, complex, with a trailing zero", lambda p: (lambda r: np.concatenate([np.real(r), np.imag(r)]))(
     np.roots(np.concatenate([p + 2.0, [0.0]]))), (4,), covers=["numpy.linalg.eigvals"])
case("vander", lambda x: np.vander(x) + np.vander(x, 2, increasing=True).sum(), (4,),
     covers=["numpy.cumprod", "numpy.concatenate"])
case("trapezoid uniform and dx", lambda y: _trapezoid(y) + _trapezoid(y, dx=0.3, axis=0).sum(), (3, 4),
     covers=["numpy.sum"] + SUB)
case("trapezoid with traced sample points", lambda y, c: _trapezoid(y, _spacing(c)), (2, 4), (4,),
     covers=["numpy.sum", "numpy.cumsum"] + SUB)
case("trapezoid with 2-D sample points", lambda y, x: _trapezoid(y, x + np.arange(4.0), axis=1), (2, 4), (2, 4),
     covers=["numpy.sum"] + SUB)


def _trapezoid(*args, **kwargs):
    fn = getattr(np, "trapezoid", None) or getattr(np, "trapz")
    return fn(*args, **kwargs)


# -- quantiles and order statistics ----------------------------------------------------------------
for method in ("linear", "lower", "higher", "nearest", "midpoint", "hazen", "median_unbiased"):
    case(f"quantile method={method}", lambda x, m=method: np.quantile(x, [0.1, 0.45, 0.8], axis=1, method=m),
         (3, 6), covers=GET)
case("quantile keepdims, axis tuple", lambda x: np.quantile(x, 0.3, axis=(0, 2), keepdims=True), (2, 3, 4),
     covers=GET)
case("quantile of traced q", lambda x, q: np.quantile(x, q * 0.2 + 0.5), (7,), (2,), covers=GET)
case("percentile and median", lambda x: np.percentile(x, 37.0, axis=0) * np.median(x, axis=0), (5, 3),
     covers=GET + ["numpy.multiply"])
NAN = np.array([[0.0, np.nan, 0.0, 0.0], [np.nan, 0.0, 0.0, np.nan], [0.0, 0.0, 0.0, 0.0]])
case("nanquantile / nanpercentile", lambda x: np.nanquantile(x + NAN, 0.3, axis=1)
     + np.nanpercentile(x + NAN, [20.0, 90.0], axis=1).sum(axis=0), (3, 4), covers=GET)
case("nanmedian", lambda x: np.nanmedian(x + NAN, axis=1) + np.nanmedian(x + NAN), (3, 4),
     covers=GET + ["numpy.divide"])

# -- covariance and correlation ----------------------------------------------------------------------
case("cov (rows are variables)", lambda x: np.cov(x), (3, 5), covers=["numpy.matmul", "numpy.sum"])
case("cov rowvar=False, bias, y", lambda x, y: np.cov(x, y, rowvar=False, bias=True), (5, 2), (5,),
     covers=["numpy.matmul", "numpy.concatenate"])
case("cov with fweights, aweights and ddof", lambda x: np.cov(x, ddof=2, fweights=[1, 2, 1, 3, 1],
                                                              aweights=[0.5, 1.0, 2.0, 1.0, 0.3]), (2, 5),
     covers=["numpy.matmul", "numpy.sum"])
case("corrcoef", lambda x: np.corrcoef(x), (3, 6), covers=["numpy.matmul", "numpy.sqrt", "numpy.clip"])
case("corrcoef of two vectors", lambda x, y: np.corrcoef(x, y)[0, 1], (6,), (6,), covers=["numpy.matmul"])

# -- histograms: integer counts, edges that follow the data's extremes -------------------------------
case("histogram density and edges", lambda x: np.histogram(x, bins=4, density=True)[0] * np.histogram(x)[1][3],
     (3, 5), covers=["numpy.histogram_bin_edges", "numpy.max", "numpy.min"])
case("histogram_bin_edges with a traced range", lambda x, lo: np.histogram_bin_edges(x, bins=3, range=(lo - 4.0, 4.0))
     * np.histogram(x, bins=[-2.0, 0.0, 0.5, 2.0], density=True)[0].sum(), (5,), (),
     covers=["numpy.histogram_bin_edges"])
case("histogram: weighted counts (and density) are linear in the weights",
     lambda x, w: np.histogram(x, bins=4, weights=w)[0] + np.histogram(x, bins=3, weights=w, density=True)[0].sum(),
     (2, 6), (2, 6), covers=["zeros_like", "index_add", "numpy.histogram_bin_edges"])
case("histogram2d: weighted counts are linear in the weights, constant in the samples",
     lambda x, y, w: np.histogram2d(x, y, bins=3, weights=w)[0], (12,), (12,), (12,),
     covers=["zeros_like", "index_add"])
case("histogram2d density and edges that follow the data", lambda x, y: np.histogram2d(x, y, bins=[2, 3], density=True)[0]
     * np.histogram2d(x, y)[1][2] + np.histogram2d(x, y, bins=[2, 3])[2][1], (10,), (10,),
     covers=["numpy.histogram_bin_edges"])
case("histogramdd weighted density with a traced range",
     lambda s, w, lo: np.histogramdd(s, bins=(2, 2, 3), range=[(lo - 3.0, 3.0), None, (-2.5, 2.5)], weights=w,
                                     density=True)[0] * np.histogramdd(s, bins=2)[1][1][1], (15, 3), (15,), (),
     covers=["zeros_like", "index_add", "numpy.histogram_bin_edges"])

# -- nan-aware reductions and scans, cumulative_sum ----------------------------------------------------
case("nancumsum / nancumprod", lambda x: np.nancumsum(x + NAN, axis=1) * np.nancumprod(x + NAN, axis=0), (3, 4),
     covers=["numpy.cumsum", "numpy.cumprod", "numpy.where"])
case("nanmax / nanmin with initial and where", lambda x: np.nanmax(x + NAN, axis=1, initial=-5.0)[:, None]
     * np.nanmin(x + NAN, axis=0, initial=5.0, where=NAN[0] == 0), (3, 4),
     covers=["numpy.max(where=, initial=)", "numpy.min(where=, initial=)"])
case("nanmean / nansum with where", lambda x: np.nanmean(x + NAN, axis=1, where=NAN[0] == 0)
     + np.nansum(x + NAN, where=NAN == 0), (3, 4), covers=["numpy.sum(where=, initial=)"])
if hasattr(np, "cumulative_sum"):
    case("cumulative_sum / cumulative_prod include_initial",
         lambda x: np.cumulative_sum(x, axis=1, include_initial=True)[:, 1:]
         * np.cumulative_prod(x, axis=1, include_initial=True)[:, :-1], (2, 4),
         covers=["numpy.cumsum", "numpy.cumprod", "numpy.concatenate"])

# -- where= and initial= on the reductions -----------------------------------------------------------------
MASK = np.array([[True, False, True, True], [False, True, True, False], [True, True, False, True]])
case("sum where= and initial=", lambda x: np.sum(x ** 2, axis=1, where=MASK, initial=1.5)
     + np.sum(x, where=x > 0) + np.add.reduce(x, axis=0, where=MASK[0, :, None].T, keepdims=True).sum(),
     (3, 4), covers=["numpy.sum(where=, initial=)"])
case("mean where=", lambda x: np.mean(x, axis=0, where=MASK) + np.mean(x, where=MASK), (3, 4),
     covers=["numpy.sum(where=, initial=)"])
case("var / std where=", lambda x: np.var(x, axis=1, where=MASK) * np.std(x, axis=1, where=MASK, ddof=1), (3, 4),
     covers=["numpy.sum(where=, initial=)", "root"])
if "mean" in inspect.signature(np.var).parameters:            # NumPy >= 2.0
    case("var with a traced mean", lambda x, m: np.var(x, axis=0, mean=m), (3, 4), (1, 4),
         covers=["numpy.sum", "numpy.subtract"])
case("prod where= and initial=", lambda x: np.prod(x, axis=1, where=MASK)[:, None] * np.prod(x, axis=0, initial=-1.5)
     + np.multiply.reduce(x, axis=1, where=MASK, initial=2.0)[:, None], (3, 4), covers=["numpy.prod(where=, initial=)"])
case("max/min with initial and where", lambda x: np.max(x, axis=1, initial=0.0) * np.min(x, axis=0, where=MASK,
                                                                                         initial=3.0)[:3]
     + np.maximum.reduce(x, axis=None, initial=-9.0), (3, 4),
     covers=["numpy.max(where=, initial=)", "numpy.min(where=, initial=)"])

# -- pad: every mode -------------------------------------------------------------------------------------------
for mode, kw in (("mean", {}), ("mean", {"stat_length": ((1, 2), (3, 1))}),
                 ("linear_ramp", {"end_values": (1.0, -2.0)}),
                 ("reflect", {"reflect_type": "odd"}), ("symmetric", {"reflect_type": "odd"})):
    case(f"pad {mode} {kw}", lambda x, m=mode, kw=kw: np.pad(x, ((2, 1), (3, 5)), mode=m, **kw) ** 2, (3, 4),
         covers=["numpy.pad(linear modes)"])
for mode in ("maximum", "minimum", "median"):
    case(f"pad {mode}",
         lambda x, m=mode: np.pad(x, ((2, 1), (0, 3)), mode=m)[:5, :6] * np.pad(x, 1, mode=m, stat_length=2),
         (3, 4), covers=["numpy.max", "numpy.min", "numpy.concatenate"] + GET)
case("pad empty: the border is not a function of x", lambda x: np.pad(x, 2, mode="empty")[2:-2, 2:-2] ** 2, (3, 4),
     covers=["index_add"])

# -- ufunc methods ------------------------------------------------------------------------------------------
for u in (np.subtract, np.multiply, np.divide, np.power, np.hypot, np.arctan2, np.logaddexp, np.maximum):
    case(f"{u.__name__}.outer", lambda a, b, u=u: u.outer(a, b), (2, 2), (3,), covers=[f"numpy.{u.__name__}"],
         domain=(0.5, 2))
for u in (np.subtract, np.divide, np.hypot, np.logaddexp, np.power):
    case(f"{u.__name__}.reduce / accumulate", lambda a, u=u: u.reduce(a, axis=1) * u.accumulate(a, axis=0)[-1]
         + u.reduce(a, axis=0, keepdims=True, initial=1.5), (3, 3), covers=[f"numpy.{u.__name__}"], domain=(0.5, 2))
case("ufunc.reduce with where= (and initial=)", lambda a: np.subtract.reduce(a, axis=1, where=MASK, initial=0.5)
     * np.hypot.reduce(a, axis=0, where=MASK)[:3], (3, 4), covers=["numpy.subtract", "numpy.hypot", "numpy.where"],
     domain=(0.5, 2))
case("maximum / minimum / fmax / fmin accumulate", lambda a: np.maximum.accumulate(a, axis=1) * np.minimum.accumulate(a)
     + np.fmax.accumulate(a, axis=1) ** 2 - np.fmin.accumulate(a, axis=0), (3, 5), covers=GET)
