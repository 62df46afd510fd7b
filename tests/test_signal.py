"""Signals and statistics: the primal value is NumPy's own (bit for bit, same dtype and type), the
refusals name the function and the argument, and constant results carry no derivative.

The derivatives themselves are checked by the case table (tests/cases_signal.py, run by test_rules.py).
"""

import inspect
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import InPlaceError, NotDifferentiableError

from .cases import NUMPY2

RNG = np.random.default_rng(7)
X = RNG.normal(size=(4, 7))
X32 = X.astype(np.float32)
XN = X.copy()
XN[1, 2] = np.nan
XN[3, :] = np.nan
COORDS = np.cumsum(RNG.uniform(0.5, 1.5, size=7))
A5, V3 = RNG.normal(size=5), RNG.normal(size=3)
XP = np.cumsum(RNG.uniform(0.5, 1.5, size=6))
FP = RNG.normal(size=6)
XQ = RNG.uniform(XP[0] - 1, XP[-1] + 1, size=(3, 4))
MASK = RNG.uniform(size=(4, 7)) > 0.3
M1 = RNG.uniform(size=7) > 0.4
TRAPEZOID = getattr(np, "trapezoid", None) or getattr(np, "trapz")

PRIMALS = [  # (name, function, arguments): the function's value on traced arguments must be NumPy's
    ("gradient", lambda f: np.gradient(f), (X,)),
    ("gradient edge_order=2 spacings", lambda f: np.gradient(f, 0.3, COORDS, edge_order=2), (X,)),
    ("gradient float32, scalar and coordinates", lambda f: np.gradient(f, 2.0, np.arange(7.0) * 3, edge_order=2),
     (X32,)),
    ("gradient traced coordinates", lambda f, c: np.gradient(f, c, axis=1), (X, COORDS)),
    ("ediff1d", lambda f: np.ediff1d(f, to_begin=[1.0, 2.0], to_end=-3), (X,)),
    ("convolve full", lambda a, v: np.convolve(a, v), (A5, V3)),
    ("convolve same, shorter first", lambda a, v: np.convolve(a, v, "same"), (V3, A5)),
    ("correlate valid", lambda a, v: np.correlate(a, v), (A5, V3)),
    ("correlate same, shorter first", lambda a, v: np.correlate(a, v, "same"), (V3, A5)),
    ("convolve float32", lambda a, v: np.convolve(a, v, "same"), (A5.astype(np.float32), V3.astype(np.float32))),
    ("interp", lambda x, xp, fp: np.interp(x, xp, fp), (XQ, XP, FP)),
    ("interp left/right", lambda x, xp, fp: np.interp(x, xp, fp, left=-1.0, right=2.0), (XQ, XP, FP)),
    ("interp traced left", lambda x, fp, lo: np.interp(x, XP, fp, left=lo), (XQ, FP, np.float64(0.3))),
    ("interp period", lambda x, xp, fp: np.interp(x, xp, fp, period=4.0), (XQ, XP, FP)),
    ("interp scalar x", lambda x, fp: np.interp(x, XP, fp), (np.float64(XP[2] + 0.1), FP)),
    ("polyval", lambda p, x: np.polyval(p, x), (FP[:4], X)),
    ("polyval float32", lambda x: np.polyval([1.0, 2.0, 3.0], x), (X32,)),
    ("vander", lambda x: np.vander(x), (X[0],)),
    ("vander float32 increasing", lambda x: np.vander(x, 3, increasing=True), (X32[0],)),
    ("trapezoid", lambda y: TRAPEZOID(y), (X,)),
    ("trapezoid with x", lambda y, c: TRAPEZOID(y, c), (X, COORDS)),
    ("trapezoid dx float32", lambda y: TRAPEZOID(y, dx=0.3, axis=0), (X32,)),
    ("quantile", lambda a: np.quantile(a, 0.37, axis=1), (X,)),
    ("quantile float32", lambda a: np.quantile(a, 0.37, axis=1), (X32,)),
    ("quantile array q", lambda a: np.quantile(a, [0.1, 0.5, 0.93]), (X,)),
    ("quantile with nan", lambda a: np.quantile(a, 0.5, axis=1), (XN,)),
    ("percentile keepdims", lambda a: np.percentile(a, np.array([[3.0, 50], [70, 100]]), axis=0, keepdims=True),
     (X,)),
    ("median", lambda a: np.median(a, axis=1), (X,)),
    ("nanquantile", lambda a: np.nanquantile(a, 0.37, axis=1), (XN,)),
    ("nanpercentile float32", lambda a: np.nanpercentile(a, [20, 80], axis=1), (XN.astype(np.float32),)),
    ("nanmedian", lambda a: np.nanmedian(a, axis=1), (XN,)),
    ("nanmedian of everything", lambda a: np.nanmedian(a), (XN,)),
    ("nancumsum", lambda a: np.nancumsum(a, axis=1), (XN,)),
    ("nancumprod", lambda a: np.nancumprod(a), (XN,)),
    ("cov", lambda a: np.cov(a), (X,)),
    ("cov rowvar=False bias", lambda a: np.cov(a, rowvar=False, bias=True), (X,)),
    ("cov weights", lambda a: np.cov(a, ddof=2, fweights=[1, 2, 1, 3, 1, 1, 2], aweights=np.arange(1.0, 8)), (X,)),
    ("cov x, y", lambda a, b: np.cov(a, b), (X[0], X[1])),
    ("cov float32", lambda a: np.cov(a), (X32,)),
    ("corrcoef", lambda a: np.corrcoef(a), (X,)),
    ("corrcoef x, y", lambda a, b: np.corrcoef(a, b), (X[0], X[1])),
    ("histogram", lambda a: np.histogram(a), (X,)),
    ("histogram density float32", lambda a: np.histogram(a, bins=5, density=True), (X32,)),
    ("histogram range, auto bins", lambda a: np.histogram(a, bins="auto", range=(-1, 2), density=True), (X,)),
    ("histogram_bin_edges fd", lambda a: np.histogram_bin_edges(a, bins="fd"), (X,)),
    ("sum where", lambda a: np.sum(a, where=MASK), (X,)),
    ("sum where initial float32", lambda a: np.sum(a, axis=0, initial=2.5, where=M1), (X32,)),
    ("mean where", lambda a: np.mean(a, axis=1, where=MASK), (X,)),
    ("mean where float32", lambda a: np.mean(a, where=M1), (X32,)),
    ("prod where", lambda a: np.prod(a, axis=1, where=MASK), (X,)),
    ("prod initial", lambda a: np.prod(a, axis=0, initial=-1.5), (X,)),
    ("max initial", lambda a: np.max(a, axis=1, initial=0.5), (X,)),
    ("min where initial", lambda a: np.min(a, axis=0, initial=0.0, where=MASK), (X,)),
    ("add.reduce where", lambda a: np.add.reduce(a, axis=1, where=MASK, initial=1.0), (X,)),
    ("maximum.reduce initial", lambda a: np.maximum.reduce(a, axis=(0, 1), initial=0.0), (X,)),
    ("var where", lambda a: np.var(a, axis=1, where=MASK), (X,)),
    ("std where ddof keepdims", lambda a: np.std(a, axis=1, where=MASK, ddof=1, keepdims=True), (X,)),
    ("var where float32", lambda a: np.var(a, where=MASK), (X32,)),
    ("nanmean where", lambda a: np.nanmean(a, axis=1, where=MASK), (XN,)),
    ("nanmax where", lambda a: np.nanmax(a, axis=1, initial=-5.0, where=MASK), (XN,)),
    ("subtract.outer", lambda a, b: np.subtract.outer(a, b), (X[0], X[1, :3])),
    ("hypot.reduce", lambda a: np.hypot.reduce(a, axis=1), (X,)),
    ("hypot.reduce where (identity as the start)", lambda a: np.hypot.reduce(a, axis=1, where=MASK), (X,)),
    ("subtract.reduce where initial", lambda a: np.subtract.reduce(a, axis=0, where=MASK, initial=0.5), (X,)),
    ("subtract.reduce initial keepdims", lambda a: np.subtract.reduce(a, axis=0, initial=1.5, keepdims=True), (X,)),
    ("divide.accumulate", lambda a: np.divide.accumulate(a, axis=1), (X,)),
    ("maximum.accumulate", lambda a: np.maximum.accumulate(a, axis=1), (X32,)),
]
for _mode, _kw in [("mean", {}), ("mean", {"stat_length": ((1, 2), (3, 1))}),
                   ("linear_ramp", {"end_values": (1.0, -2.0)}), ("maximum", {}), ("minimum", {"stat_length": 2}),
                   ("median", {}), ("reflect", {"reflect_type": "odd"}),
                   ("symmetric", {"reflect_type": "odd"})]:
    PRIMALS.append((f"pad {_mode} {_kw}", lambda a, m=_mode, kw=_kw: np.pad(a, ((2, 1), (3, 2)), mode=m, **kw), (X,)))
    PRIMALS.append((f"pad {_mode} {_kw} float32, wide", lambda a, m=_mode, kw=_kw: np.pad(a, 9, mode=m, **kw), (X32,)))
if "mean" in inspect.signature(np.var).parameters:            # NumPy >= 2.0
    PRIMALS += [("var with a given mean", lambda a: np.var(a, axis=1, mean=np.mean(a, axis=1, keepdims=True)), (X,)),
                ("std with a given mean, where", lambda a: np.std(a, axis=1, mean=np.mean(a, axis=1, keepdims=True),
                                                                 where=MASK), (X,))]
if hasattr(np, "cumulative_sum"):
    PRIMALS += [("cumulative_sum", lambda a: np.cumulative_sum(a, axis=1, include_initial=True), (X,)),
                ("cumulative_prod float32", lambda a: np.cumulative_prod(a, axis=0, include_initial=True), (X32,))]


def _same(expected, got):
    if isinstance(expected, (tuple, list)):
        assert type(got) is type(expected) and len(got) == len(expected)
        for e, g in zip(expected, got):
            _same(e, g)
        return
    assert type(got) is type(expected), (type(got), type(expected))
    assert np.result_type(got) == np.result_type(expected)
    assert np.shape(got) == np.shape(expected)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("name, fn, args", PRIMALS, ids=[p[0] for p in PRIMALS])
def test_primal_is_numpys(name, fn, args):
    if name == "quantile float32" and not NUMPY2:
        pytest.skip("NumPy 1.x promotes float32 with a Python-float q by value; the traced result keeps float32")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)         # all-nan slices warn in NumPy, as they should
        expected = fn(*args)
        forward, _ = cr.jvp(fn, args, tuple(np.ones_like(a) for a in args))
        reverse, _ = cr.vjp(fn, *args)
    _same(expected, forward)
    _same(expected, reverse)


def test_constant_results_carry_no_derivative():
    # counts and nanargmax are integers: the gradient is that of the rest of the product only
    f = lambda x: np.sum(x * np.histogram(x, bins=3)[0][0]) + x[0] * np.nanargmax(x)   # noqa: E731
    x = X[0]
    g = cr.grad(f)(x)
    expected = np.full_like(x, np.histogram(x, bins=3)[0][0])
    expected[0] += np.nanargmax(x)
    np.testing.assert_allclose(g, expected, rtol=0, atol=0)


def test_histogram_edges_follow_the_extremes():
    # d edges / d x: edge i moves with min by 1 - i/bins and with max by i/bins
    x = np.array([0.3, -1.2, 2.0, 0.7])
    jac = cr.jacobian(lambda x: np.histogram_bin_edges(x, bins=4))(x)
    u = np.arange(5) / 4
    expected = np.zeros((5, 4))
    expected[:, 1] = 1 - u
    expected[:, 2] = u
    np.testing.assert_allclose(jac, expected, atol=1e-15)


def test_running_maximum_follows_the_earliest_of_tied_records():
    x = np.array([1.0, 3.0, 3.0, 2.0, 5.0])            # running max 1, 3, 3, 3, 5: from x0, x1, x1, x1, x4
    expected = np.eye(5)[[0, 1, 1, 1, 4]]
    np.testing.assert_array_equal(cr.jacfwd(np.maximum.accumulate)(x), expected)
    np.testing.assert_array_equal(cr.jacrev(np.maximum.accumulate)(x), expected)


def test_quantile_derivative_in_q_is_the_slope_of_the_sorted_data():
    x = np.array([3.0, 1.0, 4.0, 1.5, 5.0])           # sorted: 1, 1.5, 3, 4, 5; q = 0.3 -> between 1.5 and 3
    g = cr.grad(lambda q: np.quantile(x, q))(0.3)
    assert g == pytest.approx((3.0 - 1.5) * 4)


@pytest.mark.parametrize("call, words", [
    (lambda x: np.quantile(x, 0.5, method="inverted_cdf"), ["numpy.quantile", "inverted_cdf"]),
    (lambda x: np.percentile(x, 50, method="closest_observation"), ["numpy.percentile", "closest_observation"]),
    pytest.param(lambda x: np.quantile(x, 0.5, weights=np.ones(7), method="inverted_cdf"),
                 ["numpy.quantile", "weights"], marks=pytest.mark.skipif(
                     "weights" not in inspect.signature(np.quantile).parameters, reason="NumPy < 2 has no weights=")),
    (lambda x: np.pad(x, 1, mode=lambda v, w, i, k: None), ["numpy.pad", "callable"]),
    (lambda x: np.pad(x, 1, mode="linear_ramp", end_values=x[0]), ["numpy.pad", "end_values"]),
    (lambda x: np.cov(x, fweights=x[0] > 0, aweights=x[1] ** 2), ["numpy.cov", "aweights"]),
    (lambda x: np.interp(x[0], XP, FP + 1j), ["numpy.interp", "complex"]),
    (lambda x: np.subtract.reduce(x, axis=(0, 1)), ["numpy.subtract.reduce", "several axes"]),
    (lambda x: np.hypot.reduce(x, axis=None, where=MASK[:2]), ["numpy.hypot.reduce", "several axes"]),
    (lambda x: np.multiply.outer(x, x, dtype=np.float32), ["numpy.multiply.outer", "dtype"]),
])
def test_refusals_name_the_function_and_the_cause(call, words):
    with pytest.raises(NotDifferentiableError) as info:
        cr.grad(lambda x: np.sum(call(x)))(X[:2, :7].copy())
    for w in words:
        assert w in str(info.value)


def test_accumulate_into_out_is_refused():
    with pytest.raises(InPlaceError):
        cr.grad(lambda x: np.sum(np.hypot.accumulate(x, out=np.empty(7))))(X[0])


def test_methods_of_piecewise_constant_ufuncs_are_constants():
    # np.less.outer and np.floor_divide.reduce are NumPy's own values, with derivative 0
    x = X[:3, :4]
    c1 = np.less.outer(x[0], x[1])[0]
    c2 = np.floor_divide.reduce(np.abs(x) + 1, axis=0)
    g = cr.grad(lambda a: np.sum(a * np.less.outer(a[0], a[1])[0]
                                 + a * np.floor_divide.reduce(np.abs(a) + 1, axis=0)))(x)
    np.testing.assert_array_equal(g, np.broadcast_to(c1 + c2, x.shape))
