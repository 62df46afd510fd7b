"""Construction, rearranging and array-API functions: NumPy's own values, constant results, refusals,
and the Bessel functions against independent values (tests/cases_construction.py has the derivative rows)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.core import Tracer
from chainrule.errors import NotDifferentiableError, TracerConversionError
from chainrule.pytree import flatten
from chainrule.testing import check_grads

from .cases_construction import ROWS

RNG = np.random.default_rng(7)
X = RNG.uniform(-2, 2, (3, 4))
V = RNG.uniform(-2, 2, 4)


def _same(a, b):
    """Same values (bit for bit, nan where nan), same dtype, same container types and shapes."""
    (la, ta), (lb, tb) = flatten(a), flatten(b)
    assert ta == tb, f"structure {ta} != {tb}"
    for u, w in zip(la, lb):
        assert type(u) is type(w) or (np.ndim(u) == np.ndim(w) == 0 and np.result_type(u) == np.result_type(w)), \
            f"{type(u)} != {type(w)}"
        assert np.result_type(u) == np.result_type(w), f"dtype {np.result_type(u)} != {np.result_type(w)}"
        assert np.shape(u) == np.shape(w)
        assert np.array_equal(u, w, equal_nan=True), f"{u} != {w}"


def _primal_through_both_modes(f, args):
    fwd = cr.jvp(f, args, tuple(np.ones_like(a) for a in args))[0]
    rev = cr.vjp(f, *args)[0]
    return fwd, rev


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("c", ROWS, ids=lambda c: c.name)
def test_rows_compute_numpys_value(c, dtype):
    if c.skip:
        pytest.skip(c.skip)
    args = c.args(seed=4, dtype=dtype)
    expected = c.fn(*args)
    for got in _primal_through_both_modes(c.fn, args):
        _same(got, expected)


# -- options the derivative rows do not all reach: NumPy's value and a first-order check ---------------------
MORE = {
    "linspace dtype=float32 from float64": (lambda a, b: np.linspace(a, b, 5, dtype=np.float32), (0.3, 1.9)),
    "linspace of a zero interval": (lambda a, b: np.linspace(a, a, 4) + b, (0.7, 0.1)),
    "linspace retstep of two samples": (lambda a, b: np.linspace(a, b, 2, retstep=True), (0.3, 1.9)),
    "linspace num=0": (lambda a, b: np.linspace(a, b, 0), (0.3, 1.9)),
    "linspace of a 2-D start, axis=2": (lambda a, b: np.linspace(a, b, 3, axis=2), (X[:2, :3], 1.5)),
    "logspace dtype float32, axis=-1": (lambda a, b: np.logspace(a, b, 3, dtype=np.float32, axis=-1), (V[:2], V[2:])),
    "geomspace of one sample, dtype float32": (lambda a, b: np.geomspace(a, b, 1, dtype=np.float32), (0.3, 1.9)),
    "geomspace of float32 endpoints": (lambda a, b: np.geomspace(a.astype(np.float32), b.astype(np.float32), 4),
                                       (X[0] + 3, X[1] + 3)),
    "meshgrid of one input": (lambda x: np.meshgrid(x), (V,)),
    "meshgrid ij, not sparse": (lambda x, y: np.meshgrid(x, y, indexing="ij"), (V, V[:3])),
    "meshgrid sparse xy of three": (lambda x, y: np.meshgrid(x, y, x, sparse=True), (V, V[:3])),
    "block of a traced scalar only": (lambda x: np.block(x), (1.5,)),
    "block with mixed dtypes": (lambda x: np.block([[x, np.ones((3, 1), np.float32)]]), (X,)),
    "append float32 to float64": (lambda x: np.append(x, np.float32(2.5)), (V,)),
    "insert float64 values into float32": (lambda x, y: np.insert(x.astype(np.float32), 2, y), (V, V[:1])),
    "insert with a negative position along axis 0": (lambda x, y: np.insert(x, -1, y[:4], axis=0), (X, V)),
    "delete with a boolean mask along an axis": (lambda x: np.delete(x, [True, False, True, False], axis=1), (X,)),
    "unique with every output": (lambda x: np.unique(np.round(x * 2) / 2, return_index=True, return_inverse=True,
                                                     return_counts=True), (X,)),
    "unique of a matrix along axis 1": (lambda x: np.unique(np.concatenate([x, x[:, :2]], axis=1), axis=1), (X,)),
    "rollaxis with negative axis and start": (lambda x: np.rollaxis(x[None], -1, -2), (X,)),
    "select with a traced default": (lambda x, d: np.select([x > 0], [x], default=d), (X, V)),
    "select of float32 with a float default": (lambda x: np.select([x > 0], [x.astype(np.float32)], 0.1), (X,)),
    "imag of a real scalar": (lambda x: np.imag(x) + x, (1.5,)),
}
if hasattr(np, "unstack"):
    MORE["unstack along the last axis"] = (lambda x: np.unstack(x, axis=-1), (X,))
    MORE["astype to float32"] = (lambda x: np.astype(x, np.float32), (X,))
    MORE["linalg.vector_norm ord=inf keepdims"] = (lambda x: np.linalg.vector_norm(x, ord=np.inf, keepdims=True), (X,))
    MORE["linalg.vector_norm of a negative axis tuple"] = (lambda x: np.linalg.vector_norm(x[None], axis=(-1, 0)), (X,))
    MORE["unique_all, unique_counts, unique_inverse"] = (lambda x: (tuple(np.unique_all(np.round(x))),
                                                                    tuple(np.unique_counts(np.round(x))),
                                                                    tuple(np.unique_inverse(np.round(x) + x))), (X,))
    MORE["linalg.trace offset"] = (lambda x: np.linalg.trace(x, offset=1), (X,))


@pytest.mark.parametrize("name", MORE)
def test_more_options_compute_numpys_value_and_derivative(name):
    f, args = MORE[name]
    args = tuple(np.float64(a) if isinstance(a, float) else a for a in args)
    expected = f(*args)
    for got in _primal_through_both_modes(f, args):
        _same(got, expected)
    check_grads(f, args, order=1, atol=1e-4 if "float32" in name else None, eps=1e-3 if "float32" in name else None)


def test_linspace_derivatives_are_the_interpolation_weights():
    # samples start + i (stop - start) / div: d/dstart = 1 - i/div, d/dstop = i/div (hand-computed)
    for num, endpoint in [(5, True), (5, False), (1, True), (2, False)]:
        div = num - 1 if endpoint else num
        i = np.arange(num)
        w = i / div if div else np.zeros(num)
        ds, dt = cr.jacobian(lambda a, b: np.linspace(a, b, num, endpoint=endpoint), argnums=(0, 1))(0.3, 2.0)
        assert np.allclose(ds, 1 - w, rtol=0, atol=1e-15) and np.allclose(dt, w, rtol=0, atol=1e-15)
    # an array endpoint along axis=1: the weights on the new axis, identity on the other
    ds = cr.jacfwd(lambda a: np.linspace(a, 1.0, 3, axis=1))(np.array([0.1, 0.2]))
    assert np.allclose(ds, np.array([1, 0.5, 0])[None, :, None] * np.eye(2)[:, None, :])


def test_linspace_step_of_one_sample_is_numpys_nan():
    f = lambda a: np.linspace(a, 2.0, 1, retstep=True)      # noqa: E731
    for got in _primal_through_both_modes(f, (np.float64(0.5),)):
        _same(got, f(np.float64(0.5)))


@pytest.mark.skipif(not hasattr(np, "unique_values"), reason="NumPy < 2.0")
def test_unique_values_with_several_nans_are_numpys():
    f = lambda x: np.unique_values(np.where(x > 1, np.nan, x))         # noqa: E731
    for got in _primal_through_both_modes(f, (X,)):
        _same(got, f(X))


def test_geomspace_derivatives_by_hand():
    # a^(1 - w) b^w with w = i/div: d/da = (1 - w) out / a, d/db = w out / b; the endpoints exactly a and b
    a, b, w = 0.5, 8.0, np.arange(5) / 4
    out = a ** (1 - w) * b ** w
    da, db = cr.jacobian(lambda a, b: np.geomspace(a, b, 5), argnums=(0, 1))(a, b)
    assert np.allclose(da, (1 - w) * out / a, rtol=1e-13) and np.allclose(db, w * out / b, rtol=1e-13)
    assert da[0] == 1.0 and db[-1] == 1.0 and db[0] == 0.0 and da[-1] == 0.0
    with pytest.raises(ValueError, match="zero"):
        cr.grad(lambda a: np.sum(np.geomspace(a, 0.0, 3)))(1.0)


# -- constant results: NumPy's own values, plain (not traced), the same at every level ----------------------
CONSTANT = {
    "argmax": lambda x: np.argmax(x),
    "argmax axis keepdims": lambda x: np.argmax(x, axis=1, keepdims=True),
    "argmin axis=0": lambda x: np.argmin(x, axis=0),
    "argmax method": lambda x: x.argmax(axis=0),
    "searchsorted": lambda x: np.searchsorted(np.sort(x[0]), x[1], side="right"),
    "searchsorted sorter": lambda x: np.searchsorted(x[0], 0.1, sorter=np.argsort(X[0])),
    "ix_": lambda x: np.ix_(np.argmax(x, axis=0), [0, 1]),
    "unique extras": lambda x: np.unique(np.round(x), return_index=True, return_inverse=True, return_counts=True)[1:],
    "imag": lambda x: np.imag(x),
}


@pytest.mark.parametrize("name", CONSTANT)
def test_constant_results_are_numpys_and_carry_no_derivative(name):
    g = CONSTANT[name]
    expected = g(X)
    seen = []

    def f(x):
        r = g(x)
        seen.append(r)
        return np.sum(x * x)

    cr.grad(f)(X)
    cr.jvp(f, (X,), (X,))
    cr.hessian(f)(X)                                        # nested: a tracer of a tracer
    for r in seen:
        assert not any(isinstance(leaf, Tracer) for leaf in flatten(r)[0])
        _same(r, expected)


def test_unique_values_follow_the_first_occurrence():
    x = np.array([3.0, 1.0, 3.0, 2.0, 1.0])
    j = cr.jacobian(lambda x: np.unique(x))(x)
    assert np.array_equal(j, np.array([[0, 1, 0, 0, 0], [0, 0, 0, 1, 0], [1, 0, 0, 0, 0]]))


def test_meshgrid_container_is_numpys():
    kind = type(np.meshgrid(V, V))

    def f(x):
        out = np.meshgrid(x, x[:2], sparse=True)
        assert type(out) is kind
        return out[0] * out[1]
    check_grads(f, (V,), order=1)


# -- refusals and errors -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [np.real, np.imag, np.conj, np.conjugate, np.real_if_close])
def test_complex_traced_values_match_finite_differences(fn):
    # a real function of X through a complex intermediate: both modes against central differences
    def f(x):
        return np.sum(np.abs(fn(x * (1 + 2j)) + 0.5j) ** 2)
    h = 1e-6
    fd = np.array([(f(X + h * e) - f(X - h * e)) / (2 * h) for e in np.eye(X.size).reshape((X.size,) + X.shape)])
    np.testing.assert_allclose(cr.grad(f)(X).ravel(), fd.ravel(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(cr.jacfwd(f)(X).ravel(), fd.ravel(), rtol=1e-6, atol=1e-6)


def test_real_of_a_real_value_is_the_value():
    assert np.array_equal(cr.grad(lambda x: np.sum(np.real(x) * np.conj(x)))(X), 2 * X)


def test_integer_results_of_traced_values_are_refused():
    with pytest.raises(NotDifferentiableError, match="linspace"):
        cr.grad(lambda a: np.sum(np.linspace(a, 10.0, 4, dtype=int)))(0.5)
    with pytest.raises(NotDifferentiableError, match="astype"):
        cr.grad(lambda x: np.sum(np.insert(np.arange(3), 1, x)))(0.5)


@pytest.mark.parametrize("fn", [lambda x: np.insert(x, x[0], 1.0), lambda x: np.delete(x, [x[0]])])
def test_traced_positions_are_refused(fn):
    with pytest.raises(TracerConversionError, match="positions"):
        cr.grad(lambda x: np.sum(fn(x)))(V)


@pytest.mark.parametrize("fn, arg", [(lambda x: np.hsplit(x, 1), np.float64(1.0)), (lambda x: np.vsplit(x, 1), V),
                                     (lambda x: np.dsplit(x, 2), X), (lambda x: np.rollaxis(x, 0, 4), X),
                                     (lambda x: np.block([x, [x]]), V), (lambda x: np.delete(x, 7), V)])
def test_numpys_errors_are_raised_as_numpy_raises_them(fn, arg):
    with pytest.raises(Exception) as numpy_error:
        fn(arg)
    with pytest.raises(type(numpy_error.value)):
        cr.jvp(lambda x: fn(x)[0], (arg,), (arg,))


@pytest.mark.skipif(not isinstance(getattr(np, "vecdot", None), np.ufunc), reason="NumPy < 2.0")
def test_array_api_errors():
    with pytest.raises(NotDifferentiableError, match="vecdot"):          # gufunc keywords are not routed
        cr.grad(lambda x: np.sum(np.vecdot(x, x, axis=0)))(X)
    # complex values: vecdot conjugates its first argument (rows at complex points: tests/cases_complex.py)
    f, g = (lambda x: np.sum(np.abs(np.vecdot(x * (1 + 2j), x + 1j)) ** 2),
            lambda x: np.sum(np.abs(np.sum(np.conj(x * (1 + 2j)) * (x + 1j), axis=-1)) ** 2))
    np.testing.assert_allclose(cr.grad(f)(X), cr.grad(g)(X), rtol=1e-12)
    with pytest.raises(ValueError, match="one-dimensional"):
        cr.grad(lambda x: np.sum(np.linalg.outer(x, x)))(X)
    with pytest.raises(ValueError, match="2-dimensional"):
        cr.grad(lambda x: np.sum(np.matrix_transpose(x)))(V)


# -- modified Bessel functions ----------------------------------------------------------------------------------
def test_bessel_i_of_integer_order_matches_scipy():
    sp = pytest.importorskip("scipy.special")
    from chainrule.rules.special import _bessel_i
    x = np.concatenate([-np.logspace(-6, 2.8, 200), [0.0], np.logspace(-6, 2.8, 200), [29.999, 30.001]])
    for n in range(6):
        assert np.allclose(_bessel_i(x, n=n), sp.iv(n, x), rtol=1e-13, atol=0)
    assert np.allclose(_bessel_i(x, n=0), np.i0(x), rtol=1e-13, atol=0)


def test_bessel_derivatives_against_the_textbook_forms():
    sp = pytest.importorskip("scipy.special")
    x = np.array([-5.0, -0.7, 0.2, 1.3, 8.0, 35.0])
    d_i1 = sp.i0(x) - sp.i1(x) / x                          # the usual form, away from 0
    assert np.allclose(cr.jacobian(lambda x: sp.i1(x))(x).diagonal(), d_i1, rtol=1e-12)
    assert np.allclose(cr.jacobian(lambda x: np.i0(x))(x).diagonal(), sp.i1(x), rtol=1e-12)
    assert np.allclose(cr.jacobian(lambda x: sp.i0e(x))(x).diagonal(), sp.i1e(x) - np.sign(x) * sp.i0e(x), rtol=1e-12)
    assert np.allclose(cr.jacobian(lambda x: sp.i1e(x))(x).diagonal(),
                       sp.i0e(x) - sp.i1e(x) / x - np.sign(x) * sp.i1e(x), rtol=1e-12)
    # at 0: I1'(0) = 1/2, I1'''(0) = 3/8 (I1 = x/2 + x^3/16 + ...); i1e'(0) = 1/2; i0e'(0) = 0 by convention
    assert cr.grad(sp.i1)(0.0) == 0.5 and cr.grad(np.i0)(0.0) == 0.0
    assert np.isclose(cr.jacfwd(cr.jacfwd(cr.grad(sp.i1)))(0.0), 0.375, rtol=1e-14)
    assert np.isclose(cr.jacfwd(cr.jacfwd(cr.grad(np.i0)))(0.0), 0.0) and np.isclose(cr.hessian(np.i0)(0.0), 0.5)
    assert cr.grad(sp.i1e)(0.0) == 0.5 and cr.grad(sp.i0e)(0.0) == 0.0


def test_scaled_bessel_kink_at_zero_in_both_modes():
    sp = pytest.importorskip("scipy.special")
    x = np.array([0.0, -0.0, 1.0])
    # exp(-|x|) I_v(x): d/dx at 0 is I_v'(0) - sign(0) I_v(0) with sign(0) = 0 -> I_v'(0): 0 for v = 0, 1/2 for v = 1
    for f, at0 in [(sp.i0e, 0.0), (sp.i1e, 0.5), (lambda x: sp.ive(0.0, x), 0.0), (lambda x: sp.ive(1.0, x), 0.5)]:
        for jac in (cr.jacfwd(f)(x), cr.jacrev(f)(x)):
            assert jac[0, 0] == at0 and jac[1, 1] == at0
            assert np.isclose(jac[2, 2], (f(1.0 + 1e-6) - f(1.0 - 1e-6)) / 2e-6, rtol=1e-8)


def test_bessel_order_is_not_differentiated():
    sp = pytest.importorskip("scipy.special")
    with pytest.raises(NotDifferentiableError, match=r"scipy\.special\.iv .*argument 0"):
        cr.grad(lambda v: sp.iv(v, 2.0))(1.0)
