"""The values chosen where a derivative does not exist: ties, kinks, zeros, poles.

Each test puts the input exactly on the special point and checks the value
the convention (``Primitive.convention``, docs/coverage.md) promises, in both
modes.  Away from these points the case table (test_rules.py) checks the
same rules against finite differences.  Expected values are computed here
from the convention's definition, independently of the rules.
"""

import warnings

import numpy as np
import pytest

import chainrule as cr


def both_modes(f, x):
    """The full Jacobian of ``f`` at ``x`` by forward and by reverse mode."""
    return np.asarray(cr.jacfwd(f)(x)), np.asarray(cr.jacrev(f)(x))


def assert_both(f, x, expected):
    fwd, rev = both_modes(f, x)
    np.testing.assert_allclose(fwd, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(rev, expected, rtol=1e-12, atol=1e-12)


@pytest.fixture(autouse=True)
def no_warnings():
    """At a convention point the rule must not divide by zero on the way (no RuntimeWarning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        yield


# -- ties ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [np.maximum, np.minimum, np.fmax, np.fmin])
def test_binary_extrema_share_a_tie_equally(fn):
    x = np.array([1.0, 2.0, 3.0])
    y = np.array([1.0, 0.0, 5.0])
    is_x = {np.maximum: x > y, np.minimum: x < y, np.fmax: x > y, np.fmin: x < y}[fn]
    wx = np.where(x == y, 0.5, is_x.astype(float))
    assert_both(lambda v: fn(v[0], v[1]), np.stack([x, y]), np.stack([np.diag(wx), np.diag(1 - wx)], axis=-2))


def test_relu_at_zero_is_one_half():
    assert_both(lambda x: np.maximum(x, 0.0), np.array([-1.0, 0.0, 2.0]), np.diag([0.0, 0.5, 1.0]))


def test_fmax_gives_the_whole_derivative_to_the_number_beside_a_nan():
    x = np.array([np.nan, 2.0])
    y = np.array([1.0, np.nan])
    assert_both(lambda v: np.fmax(v[0], v[1]), np.stack([x, y]),
                np.stack([np.diag([0.0, 1.0]), np.diag([1.0, 0.0])], axis=-2))


@pytest.mark.parametrize("fn, pick", [(np.max, np.argmax), (np.min, np.argmin), (np.amax, None), (np.amin, None)])
def test_reduction_extrema_share_ties_equally(fn, pick):
    x = np.array([[1.0, 3.0, 3.0, 2.0], [0.0, 0.0, 0.0, 0.0], [5.0, -1.0, 4.0, -1.0]])
    ext = fn(x, axis=1, keepdims=True)
    tied = (x == ext).astype(float)
    w = tied / tied.sum(axis=1, keepdims=True)
    expected = np.zeros((3, 3, 4))
    for i in range(3):
        expected[i, i] = w[i]
    assert_both(lambda v: fn(v, axis=1), x, expected)
    g = cr.grad(lambda v: fn(v))(x)                              # over all entries: one tie group
    tied_all = (x == fn(x)).astype(float)
    np.testing.assert_allclose(g, tied_all / tied_all.sum())


def test_max_of_nan_slice_is_nan_not_a_silent_zero():
    g = cr.grad(lambda v: np.max(v))(np.array([1.0, np.nan]))
    assert np.all(np.isnan(g))


# -- kinks -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [np.abs, np.absolute, np.fabs, abs])
def test_abs_at_zero_is_zero(fn):
    assert_both(lambda x: fn(x), np.array([-2.0, 0.0, 3.0]), np.diag([-1.0, 0.0, 1.0]))


def test_copysign_at_zero():
    x = np.array([0.0, 2.0, -2.0])
    assert_both(lambda v: np.copysign(v, -1.0), x, np.diag([0.0, -1.0, 1.0]))
    assert_both(lambda y: np.copysign(np.array([1.0, 2.0, 3.0]), y), x, np.zeros((3, 3)))


def test_clip_at_the_bounds_passes_x_through():
    x = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    assert_both(lambda v: np.clip(v, -1.0, 1.0), x, np.diag([0.0, 1.0, 1.0, 1.0, 0.0]))

    def of_bounds(b):                                       # d/d(a_min), d/d(a_max)
        return np.clip(x, b[0], b[1])
    fwd, rev = both_modes(of_bounds, np.array([-1.0, 1.0]))
    expected = np.array([[1, 0], [0, 0], [0, 0], [0, 0], [0, 1.0]])
    np.testing.assert_allclose(fwd, expected)
    np.testing.assert_allclose(rev, expected)


def test_clip_with_crossed_bounds_follows_a_max():
    # NumPy returns a_max everywhere when a_min > a_max; so does the derivative
    g = cr.grad(lambda b: np.sum(np.clip(np.array([0.0, 5.0]), b[0], b[1])))(np.array([3.0, 1.0]))
    np.testing.assert_allclose(g, [0.0, 2.0])


@pytest.mark.parametrize("fn", [np.arctan2, np.hypot])
def test_origin_of_arctan2_and_hypot_gives_zero(fn):
    assert_both(lambda v: fn(v[0], v[1]), np.zeros(2), np.zeros(2))


@pytest.mark.parametrize("fn", [np.floor, np.ceil, np.rint, np.trunc, np.sign, np.round, np.around])
def test_piecewise_constant_functions_have_derivative_zero_at_their_jumps(fn):
    x = np.array([0.0, 1.0, 0.5, -1.5])
    assert_both(lambda v: v + fn(v), x, np.eye(4))


def test_sinc_at_zero_first_and_second_derivative():
    x = np.array([0.0])
    assert_both(np.sinc, x, [[0.0]])
    np.testing.assert_allclose(cr.hessian(lambda v: np.sinc(v)[0])(x), [[-np.pi ** 2 / 3]], rtol=1e-12)


def test_heaviside_at_the_jump_follows_its_second_argument():
    x = np.array([-1.0, 0.0, 2.0])
    assert_both(lambda v: np.heaviside(v, 0.5), x, np.zeros((3, 3)))
    assert_both(lambda h: np.heaviside(x, h), np.full(3, 0.5), np.diag([0.0, 1.0, 0.0]))


def test_median_of_an_even_count_shares_between_the_two_middle_entries():
    assert_both(lambda v: np.median(v), np.array([4.0, 1.0, 3.0, 2.0]), [0.0, 0.0, 0.5, 0.5])
    assert_both(lambda v: np.median(v), np.array([4.0, 1.0, 3.0]), [0.0, 0.0, 1.0])


def test_nan_extrema_skip_nan_and_keep_numpy_values():
    x = np.array([[np.nan, 2.0, 5.0], [np.nan, np.nan, np.nan]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)        # NumPy warns about the all-nan slice
        out, t = cr.jvp(lambda v: np.nanmax(v, axis=1), (x,), (np.ones_like(x),))
        np.testing.assert_array_equal(out, np.nanmax(x, axis=1))
    np.testing.assert_allclose(t[0], 1.0)


# -- powers -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("power", [np.power, np.float_power])
def test_power_at_zero_base(power):
    zero = np.array([0.0])
    assert_both(lambda x: power(x, 0.0), zero, [[0.0]])          # x**0 is the constant 1: not 0 * inf
    assert_both(lambda x: power(x, 1.0), zero, [[1.0]])
    assert_both(lambda x: power(x, 2.0), zero, [[0.0]])
    assert_both(lambda x: power(x, np.array([0.0])), zero, [[0.0]])    # an array exponent takes the other branch
    assert_both(lambda y: power(np.array([0.0]), y), np.array([2.0]), [[0.0]])   # d/dy 0**y = 0
    assert_both(lambda v: power(v[:1], v[1:]), np.array([0.0, 0.0]), [[0.0, 0.0]])


@pytest.mark.parametrize("power", [np.power, np.float_power])
def test_power_of_a_negative_base_with_integer_exponent(power):
    x = np.array([-2.0, -0.5])
    for n in (2, 3, -1, -2):
        assert_both(lambda v: power(v, n), x, np.diag(n * x ** (n - 1.0)))
    with np.errstate(invalid="ignore"):
        d = cr.grad(lambda y: np.sum(power(np.array([-2.0]), y)))(np.array([3.0]))
    assert np.isnan(d).all()                                 # (-2)**y is not real near y = 3


def test_power_second_derivative_in_the_exponent_at_zero():
    # d^2/dx dy x**y = x**(y-1) (1 + y log x); at y == 0, x == 2 it is 1/2 (a traced exponent of 0)
    h = cr.hessian(lambda v: np.power(v[0], v[1]))(np.array([2.0, 0.0]))
    np.testing.assert_allclose(h[0, 1], 0.5)
    np.testing.assert_allclose(h[1, 0], 0.5)


# -- products with zeros ------------------------------------------------------------------------------
def others(x):
    """Gradient of prod(x): the product of all other entries, by deleting each entry in turn."""
    return np.array([np.prod(np.delete(x, i)) for i in range(x.size)])


def others2(x):
    """Hessian of prod(x): the product of all entries but i and j, 0 on the diagonal."""
    n = x.size
    return np.array([[0.0 if i == j else np.prod(np.delete(x, [i, j])) for j in range(n)] for i in range(n)])


@pytest.mark.parametrize("x", [np.array([2.0, 0.0, 3.0, 0.5]), np.array([2.0, 0.0, 3.0, 0.0]),
                               np.array([0.0, 0.0, 0.0]), np.array([1.5, -2.0, 3.0])],
                         ids=["one zero", "two zeros", "all zeros", "no zero"])
@pytest.mark.parametrize("fn", [np.prod, lambda v: np.cumprod(v)[-1]], ids=["prod", "cumprod[-1]"])
def test_products_with_zeros_first_and_second_order(x, fn):
    assert_both(fn, x, others(x))
    np.testing.assert_allclose(cr.hessian(fn)(x), others2(x), atol=1e-12)


def test_cumprod_with_a_zero_in_every_position():
    x = np.array([1.5, -2.0, 0.5, 3.0])
    for k in range(4):
        z = x.copy()
        z[k] = 0.0
        expected = np.array([[others(z[: i + 1])[j] if j <= i else 0.0 for j in range(4)] for i in range(4)])
        assert_both(np.cumprod, z, expected)


# -- std and norms at zero --------------------------------------------------------------------------
def test_std_at_zero_variance_is_zero():
    x = np.full(4, 3.0)
    assert_both(lambda v: np.std(v), x, np.zeros(4))
    assert_both(lambda v: np.std(v, ddof=1), x, np.zeros(4))
    np.testing.assert_allclose(cr.hessian(lambda v: np.std(v))(x), np.zeros((4, 4)))
    np.testing.assert_allclose(cr.grad(lambda v: np.var(v))(x), np.zeros(4))


@pytest.mark.parametrize("ord", [None, 1, 2, 3, np.inf, -np.inf])
def test_vector_norm_at_zero_is_zero(ord):
    assert_both(lambda v: np.linalg.norm(v, ord=ord), np.zeros(3), np.zeros(3))


@pytest.mark.parametrize("ord", [None, "fro", 1, np.inf])
def test_matrix_norm_at_zero_is_zero(ord):
    g = cr.grad(lambda v: np.linalg.norm(v, ord=ord))(np.zeros((2, 3)))
    np.testing.assert_allclose(g, np.zeros((2, 3)))


def test_inf_norm_ties_share_equally():
    x = np.array([-3.0, 1.0, 3.0])
    assert_both(lambda v: np.linalg.norm(v, ord=np.inf), x, [-0.5, 0.0, 0.5])


def test_nuclear_and_spectral_norm_derivatives():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((4, 3))
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    np.testing.assert_allclose(cr.grad(lambda m: np.linalg.norm(m, "nuc"))(a), u @ vh, atol=1e-12)
    np.testing.assert_allclose(cr.grad(lambda m: np.linalg.norm(m, 2))(a), np.outer(u[:, 0], vh[0]), atol=1e-12)


# -- nan entries and where --------------------------------------------------------------------------
def test_nan_entries_get_derivative_zero():
    x = np.array([1.0, np.nan, 2.0])
    assert_both(lambda v: np.nansum(2.0 * v), x, [2.0, 0.0, 2.0])
    assert_both(lambda v: np.nanmean(3.0 * v), x, [1.5, 0.0, 1.5])


def test_where_drops_the_tangent_of_the_branch_not_taken():
    # sqrt'(0) = inf: multiplying the tangent by the mask would give inf * 0 = nan
    x = np.array([0.0, 4.0])
    with np.errstate(divide="ignore", invalid="ignore"):
            fwd = np.asarray(cr.jacfwd(lambda v: np.where(v > 0, np.sqrt(np.abs(v)), v))(x))
    np.testing.assert_allclose(fwd, np.diag([1.0, 0.25]))


# -- dtypes ------------------------------------------------------------------------------------------
FLOAT32 = [np.maximum, np.fmin, np.logaddexp, np.arctan2, np.hypot, np.copysign,
           lambda x, y: np.clip(x, -0.5, y), lambda x, y: np.prod(x * y), lambda x, y: np.std(x + y),
           lambda x, y: np.linalg.norm(x - y, 3), lambda x, y: np.cumprod(x * y), lambda x, y: np.max(x - y),
           lambda x, y: np.var(x * y, ddof=1), lambda x, y: np.nanmean(x * y), lambda x, y: np.power(x * x, y)]


@pytest.mark.parametrize("fn", FLOAT32, ids=range(len(FLOAT32)))
def test_float32_in_float32_out(fn):
    x = np.array([0.5, -1.0, 1.5], dtype=np.float32)
    y = np.array([1.0, 0.25, -2.0], dtype=np.float32)
    if np.lib.NumpyVersion(np.__version__) < "2.0.0" and np.ndim(fn(x, y)) == 0:
        pytest.skip("NumPy < 2.0 promotes a float32 scalar with a Python float to float64 (NEP 50 changed "
                    "that in 2.0), so a scalar result computed from float32 may come out float64 there")
    gx, gy = cr.grad(lambda a, b: np.sum(fn(a, b)), argnums=(0, 1))(x, y)
    assert gx.dtype == np.float32 and gy.dtype == np.float32
    t = cr.jvp(lambda a, b: fn(a, b), (x, y), (x, y))[1]
    assert np.asarray(t).dtype == np.float32
    g64 = cr.grad(lambda a, b: np.sum(fn(a, b)), argnums=(0, 1))(x.astype(float), y.astype(float))
    np.testing.assert_allclose(gx, g64[0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("fn", [lambda x: np.maximum(x * 1j, 0.0), lambda x: np.median(x + 1j),
                                lambda x: np.max(x + 1j),
                                lambda x: np.clip(x + 1j, 0, 1)])     # np.sign: tests/test_complex_points.py
def test_real_rules_refuse_complex_intermediates(fn):
    with pytest.raises(cr.NotDifferentiableError, match="complex"):
        cr.jacfwd(fn)(np.array([1.0, 2.0]))


def test_one_argument_where_returns_the_indices_of_a_traced_condition():
    def f(x):
        (i,) = np.where(x > 0)
        return x[i] ** 2
    x = np.array([-1.0, 2.0, 3.0])
    np.testing.assert_allclose(cr.jacrev(f)(x), [[0, 4.0, 0], [0, 0, 6.0]])


# -- SciPy ----------------------------------------------------------------------------------------------
try:
    import scipy.special as sp
except ImportError:                                     # pragma: no cover - scipy is a test extra
    sp = None
needs_scipy = pytest.mark.skipif(sp is None, reason="SciPy not installed")


@needs_scipy
@pytest.mark.parametrize("name, y0, at_3", [("xlogy", 0.0, 2 / 3), ("xlog1py", -1.0, 2 / 4),
                                            ("rel_entr", 0.0, -2 / 3), ("kl_div", 0.0, 1 - 2 / 3)])
def test_y_partial_where_x_is_zero(name, y0, at_3):
    # these are x * (a function of y) (+ y for kl_div) and stay 0 (or y) at x == 0 for every y,
    # also where y's own factor is infinite (y0)
    fn = getattr(sp, name)
    g = cr.grad(lambda y: np.sum(fn(np.array([0.0, 2.0]), y)))(np.array([y0, 3.0]))
    np.testing.assert_allclose(g, [1.0 if name == "kl_div" else 0.0, at_3])


@needs_scipy
def test_scipy_python_functions_are_untouched_on_plain_values():
    x = np.array([[1.0, 2.0, 3.0], [1000.0, 1001.0, -5.0]])
    for name, kw in [("logsumexp", {"axis": 1}), ("softmax", {"axis": 0}), ("log_softmax", {}),
                     ("logsumexp", {"b": np.array([1.0, 0.0, 2.0]), "return_sign": True})]:
        fn = getattr(sp, name)
        got, want = fn(x, **kw), fn.__wrapped__(x, **kw)
        if not isinstance(got, tuple):
            got, want = (got,), (want,)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
    np.testing.assert_array_equal(sp.polygamma(2, x[0]), sp.polygamma.__wrapped__(2, x[0]))


@needs_scipy
def test_logsumexp_and_softmax_rules_are_stable_at_large_values():
    x = np.array([1000.0, 1001.0, 999.0])
    softmax = np.exp(x - x.max()) / np.sum(np.exp(x - x.max()))
    assert_both(lambda v: sp.logsumexp(v), x, softmax)
    j = np.diag(softmax) - np.outer(softmax, softmax)
    assert_both(lambda v: sp.softmax(v), x, j)
    assert_both(lambda v: sp.log_softmax(v), x, np.eye(3) - softmax[None, :])


@needs_scipy
def test_gammaln_derivatives_are_the_polygammas():
    x = np.array([0.7, 2.5])
    assert_both(lambda v: sp.gammaln(v), x, np.diag(sp.digamma(x)))
    assert_both(lambda v: sp.digamma(v), x, np.diag(sp.polygamma(1, x)))
    h = cr.jacfwd(cr.jacrev(lambda v: sp.digamma(v)))(x)              # third derivative of gammaln
    np.testing.assert_allclose(np.einsum("iii->i", h), sp.polygamma(2, x), rtol=1e-12)


@needs_scipy
def test_scipy_float32_in_float32_out():
    x = np.array([0.2, 0.5, 0.7], dtype=np.float32)
    for fn in (sp.expit, sp.logit, sp.erf, sp.erfc, lambda v: sp.logsumexp(v), lambda v: sp.softmax(v),
               lambda v: sp.xlogy(v, v)):
        g = cr.grad(lambda v: np.sum(fn(v)))(x)
        assert g.dtype == np.float32


# -- found in review: the two modes agree where a branch or direction carries no perturbation --
def test_where_branch_not_taken_is_zero_in_both_modes():
    f = lambda x: np.sum(np.where(x > 0, np.sqrt(x), 0.0))          # noqa: E731
    x = np.array([0.0, 4.0])
    for jac in (cr.jacfwd, cr.jacrev, cr.grad):
        with np.errstate(divide="ignore", invalid="ignore"):      # sqrt'(0) = inf, as NumPy warns
            assert np.array_equal(jac(f)(x), [0.0, 0.25])
    g = lambda x: np.sum(np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), 0.0) + np.where(x > 0, np.log(x), 0.0))  # noqa: E731
    with np.errstate(divide="ignore", invalid="ignore"):
        assert np.array_equal(cr.grad(g)(np.array([0.0, 1.0, -1.0])), [0.0, 2.0, 0.0])


def test_zero_directions_of_a_jacobian_stay_zero_at_an_infinite_derivative():
    x = np.array([0.0, 4.0])
    with np.errstate(divide="ignore", invalid="ignore"):
        jf, jr = cr.jacfwd(np.sqrt)(x), cr.jacrev(np.sqrt)(x)
    assert np.array_equal(jf, jr) and jf[0, 0] == np.inf and jf[0, 1] == 0.0 and jf[1, 0] == 0.0


def test_division_by_a_python_zero_follows_numpy_in_both_modes():
    with np.errstate(divide="ignore", invalid="ignore"):
        g = cr.grad(lambda x: np.sum(x / 0))(np.ones(2))
        t = cr.jvp(lambda x: np.sum(x / 0), (np.ones(2),), (np.ones(2),))[1]
    assert np.all(np.isinf(g)) and np.isinf(t)


def test_unsupported_keywords_are_not_ignored():
    a = np.array([[2.0, 1.0], [0.0, 3.0]])
    with pytest.raises(cr.NotDifferentiableError, match="hermitian"):
        cr.jvp(lambda x: np.linalg.pinv(x, hermitian=True), (a,), (a,))
    x32 = np.ones((2, 2), np.float32)
    out, t = cr.jvp(lambda x: np.concatenate([x, x], dtype=np.float64), (x32,), (x32,))
    assert out.dtype == np.float64 and t.dtype == np.float64
    assert cr.jvp(lambda x: np.stack([x, x], dtype=np.float64), (x32,), (x32,))[0].dtype == np.float64


def test_where_guards_x_log_x_at_zero_in_both_modes():
    f = lambda x: np.sum(np.where(x > 0, x * np.log(np.where(x > 0, x, 1.0)), 0.0) + np.where(x > 0, x * np.log(x), 0.0))  # noqa: E731
    x = np.array([0.0, 1.0])
    with np.errstate(divide="ignore", invalid="ignore"):
        for jac in (cr.jacfwd, cr.jacrev):
            assert np.array_equal(jac(f)(x), [0.0, 2.0])
