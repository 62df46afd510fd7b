"""chainrule.jit keeps identity seeds as diagonals (src/chainrule/jit/diagonals.py).

Every jitted result is checked against eager chainrule (equal values, nan where nan: the pass computes
the same numbers on the diagonals), against central differences, and against the other mode; the
programs are checked for what the pass promises (one dense allocation where the structure holds, the
program left as it was where it does not).
"""

import sys
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.jit.diagonals import banded, banded_nd, const_band, keep_diagonals
from chainrule.jit.passes import eliminate_common, eliminate_dead, simplify

from .cases import CASES, case_id
from .test_jit import _check_case

DIAGONALS = sys.modules["chainrule.jit.diagonals"]


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def same(got, want):
    """Equal values (zeros of either sign), nan where nan, and the same dtype and shape."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(got, want, equal_nan=True), np.max(np.abs(got - want))


def fd_jacobian(f, x, eps=1e-6):
    cols = [(np.asarray(f(x + eps * e)) - np.asarray(f(x - eps * e))) / (2 * eps) for e in np.eye(x.size)]
    return np.moveaxis(np.array(cols), 0, -1)


def names(j, *args):
    return [e.name for p in j.paths(*args) for e in p.program.eqns]


def big_values(j, *args, size):
    """The equations that compute an array of at least ``size`` entries."""
    return [e.name for p in j.paths(*args) for e in p.program.eqns
            if any(int(np.prod(o.shape)) >= size for o in e.outs)]


@pytest.mark.parametrize("n", [3, 10, 100])
def test_rosenbrock_hessian_is_a_few_vectors_and_one_dense_write(n):
    x = np.linspace(-1.2, 1.2, n)
    h = cr.jit(cr.hessian(rosen))
    for y in (x, 2 * x, x[::-1].copy()):
        same(h(y), cr.hessian(rosen)(y))
        np.testing.assert_allclose(h(y), cr.jacrev(cr.jacfwd(rosen))(y), rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(h(x), fd_jacobian(cr.grad(rosen), x), rtol=1e-6, atol=1e-4)
    if n < 10:
        return                                                       # (seeds this small stay dense)
    assert big_values(h, x, size=n * (n - 1)) == ["banded"]          # the one (n, n) array
    src = h.source(x)
    assert "banded(" in src and "the diagonals -1, 0, +1 of axes (1, 0) written into zeros" in src
    assert "# numpy.multiply: diagonal +1" in src


def test_float32_stays_float32():
    x = np.linspace(-1.2, 1.2, 40).astype(np.float32)
    g = lambda x: x[1:] * x[:-1] - x[1:] ** 3                                 # noqa: E731
    for t in (cr.hessian(rosen), cr.jacfwd(g), cr.jacrev(g)):
        got = cr.jit(t)(x)
        assert got.dtype == np.float32
        same(got, t(x))
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(cr.jit(cr.jacfwd(g))(x), fd_jacobian(g, x64), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(cr.jit(cr.hessian(rosen))(x), cr.hessian(rosen)(x64), rtol=1e-4, atol=1e-2)
    assert "banded" in names(cr.jit(cr.hessian(rosen)), x)


@pytest.mark.parametrize("shift", [1, 2, 3])
def test_offsets_of_both_signs_and_the_other_mode(shift):
    def f(x):           # a band of width 2 * shift + 1 in the Hessian; the Jacobian of g has offsets 0, +shift
        return np.sum(np.sin(x[shift:] * x[:-shift])) + np.sum(np.exp(x) * 0.5)

    def g(x):
        return x[shift:] ** 3 * x[:-shift] - 2.0 * x[shift:]

    x = np.linspace(-0.8, 1.1, 17)
    for t, other in ((cr.hessian(f), cr.jacrev(cr.jacfwd(f))), (cr.jacfwd(g), cr.jacrev(g)),
                     (cr.jacrev(g), cr.jacfwd(g))):
        j = cr.jit(t)
        same(j(x), t(x))
        same(j(-x), t(-x))
        np.testing.assert_allclose(j(x), other(x), rtol=1e-12, atol=1e-12)
        assert "banded" in names(j, x)
    np.testing.assert_allclose(cr.jit(cr.hessian(f))(x), fd_jacobian(cr.grad(f), x), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(cr.jit(cr.jacfwd(g))(x), fd_jacobian(g, x), rtol=1e-6, atol=1e-7)
    h = cr.jit(cr.hessian(f))(x)
    assert np.all(np.triu(h, shift + 1) == 0) and np.any(np.diag(h, shift) != 0) and np.any(np.diag(h, -shift) != 0)


def test_materialised_in_the_middle_where_an_operation_mixes_the_diagonals():
    w = np.cos(np.arange(12.0 * 5)).reshape(12, 5)

    def f(x):           # the Jacobian of g is banded; its product with w reads it dense
        return np.sum(np.tanh(cr.jacfwd(lambda y: y[1:] ** 2 * y[:-1])(x) @ w))

    x = np.linspace(-1.0, 0.9, 12)
    for t in (f, cr.grad(f)):
        j = cr.jit(t)
        same(j(x), t(x))
        same(j(x * 0.5), t(x * 0.5))
    np.testing.assert_allclose(cr.jit(cr.grad(f))(x), fd_jacobian(f, x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(cr.jit(cr.grad(f))(x), cr.jacfwd(f)(x), rtol=1e-12, atol=1e-12)
    assert "banded" in names(cr.jit(f), x)


def test_read_dense_and_kept_banded_at_once():
    def f(x):
        j = cr.jacfwd(lambda y: y[1:] ** 2 - y[:-1])(x)
        return j * 3.0, np.sum(j, axis=1), (2.0 * j).T

    x = np.linspace(-1.0, 2.0, 9)
    jf = cr.jit(f)
    for y in (x, -x):
        for a, b in zip(jf(y), f(y)):
            same(a, b)
    np.testing.assert_allclose(jf(x)[0], 3.0 * fd_jacobian(lambda y: y[1:] ** 2 - y[:-1], x), rtol=1e-6, atol=1e-7)


def test_batch_axis_in_another_position_and_other_axes_longer_than_one():
    w = np.array([[1.0, -2.0, 0.5]])

    def f(x):           # tangents (n, n - 1, 3): a band on axes (0, 1) broadcast along the last axis
        return (x[1:] ** 2)[:, None] * w + (x[:-1] ** 3)[:, None] * w[:, ::-1]

    def g(x):           # the Jacobian transposed inside the program: the batch axis last
        return cr.jacfwd(lambda y: y[2:] ** 2 * y[:-2])(x).T * np.arange(1.0, 11.0)

    x = np.linspace(-0.7, 1.3, 12)
    for t, other in ((cr.jacfwd(f), cr.jacrev(f)), (cr.jacrev(f), cr.jacfwd(f))):
        j = cr.jit(t)
        same(j(x), t(x))
        np.testing.assert_allclose(j(x), other(x), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(cr.jit(cr.jacfwd(f))(x), fd_jacobian(f, x), rtol=1e-6, atol=1e-7)
    assert "banded_nd" in names(cr.jit(cr.jacfwd(f)), x)
    jg = cr.jit(g)
    same(jg(x), g(x))
    assert "banded" in names(jg, x)
    np.testing.assert_allclose(jg(x), (fd_jacobian(lambda y: y[2:] ** 2 * y[:-2], x).T * np.arange(1.0, 11.0)),
                               rtol=1e-6, atol=1e-7)


def test_zero_seed_convention_and_values_that_are_not_finite():
    def f(x):
        return np.where(x > 0, np.sqrt(np.abs(x)), 0.0)

    def s(x):
        return np.sum(np.sqrt(x[1:] * x[:-1]))

    pts = (np.array([0.0, 1.0, 0.0, 2.5, 4.0, 0.25, 1.0, 9.0]), np.array([1.0, 2.0, 3.0, 4.0, 0.5, 0.1, 7.0, 8.0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for x in pts:
            for t in (cr.jacfwd(f), cr.jacrev(f), cr.hessian(s), cr.jacfwd(np.sin), cr.jacfwd(np.log)):
                got, want = cr.jit(t)(x), t(x)
                assert np.array_equal(np.isfinite(got), np.isfinite(want))
                same(got, want)
        x = np.array([1.0, np.inf, 2.0, 0.5, 3.0, 1.5, 0.0, -1.0])
        for t in (cr.jacfwd(np.sin), cr.jacfwd(lambda y: y[1:] * np.cos(y[:-1])), cr.hessian(s)):
            same(cr.jit(t)(x), t(x))                 # nan where eager has nan (whole columns for sin(inf))
    y = pts[1]
    np.testing.assert_allclose(cr.jit(cr.hessian(s))(y), fd_jacobian(cr.grad(s), y), rtol=1e-5, atol=1e-5)


def test_a_product_with_a_traced_value_read_dense_keeps_the_dense_equations():
    # sin's derivative needs no zero-seed check, so cos(x) * I is read dense as it is: the dense
    # product (0 * cos(inf) is nan off the diagonal, as eagerly) -- nothing banded is left
    j = cr.jit(cr.jacfwd(np.sin))
    x = np.linspace(0.0, 1.0, 40)
    same(j(x), cr.jacfwd(np.sin)(x))
    assert "banded" not in names(j, x)


def test_long_chains_of_products_read_dense_in_the_programs_order():
    def deep(x):        # 1500 products with traced values, all read dense at the end
        for _ in range(1500):
            x = np.sin(x) * 1.0001
        return x

    def shared(x):      # b reads a, the result reads both: a must come first
        a = np.sin(x) * x
        b = np.cos(a) + a
        return b * a

    x = np.linspace(0.0, 1.0, 40)
    for f in (deep, shared):
        j = cr.jit(cr.jacfwd(f))
        same(j(x), cr.jacfwd(f)(x))
        same(j(x + 0.5), cr.jacfwd(f)(x + 0.5))
    np.testing.assert_allclose(cr.jit(cr.jacfwd(shared))(x), fd_jacobian(shared, x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(cr.jit(cr.jacfwd(shared))(x), cr.jacrev(shared)(x), rtol=1e-13, atol=1e-14)


def test_functions_that_are_not_banded_are_left_as_they_are():
    def dense(x):
        return np.sum(x) ** 2 + np.sum(np.sin(np.outer(x, x)))

    x = np.linspace(-1.0, 1.0, 10)
    for t in (cr.hessian(dense), cr.jacfwd(lambda y: np.cumsum(y) * y), cr.jacfwd(lambda y: np.sin(y).reshape(2, 5))):
        j = cr.jit(t)
        same(j(x), t(x))
        p = j.paths(x)[0].traced_program
        p = eliminate_dead(eliminate_common(simplify(p)))
        assert "banded" not in names(j, x)
        q = eliminate_dead(keep_diagonals(p))       # (values it kept banded are read dense: as they were)
        assert [(e.fn, e.ins, e.outs) for e in q.eqns] == [(e.fn, e.ins, e.outs) for e in p.eqns]


def test_constants_recognised_as_bands():
    eye = np.eye(8)
    b = const_band(eye[:, 1:])
    assert (b.p, b.q, sorted(b.diags)) == (0, 1, [1])
    b = const_band(np.eye(8)[:, None, :] * np.array([1.0, 2.0, 3.0])[None, :, None])
    assert (b.p, b.q, sorted(b.diags)) == (0, 2, [0])
    assert _shape_of(b.diags[0][2]) == (3, 8)                       # varies along the middle axis only
    t = np.eye(8, k=-2) + 3 * np.eye(8) - np.eye(8, k=1)
    assert sorted(const_band(t).diags) == [-1, 0, 2]
    rng = np.random.default_rng(0)
    assert const_band(rng.standard_normal((8, 8))) is None
    assert const_band(np.zeros((8, 8))) is None
    assert const_band(np.eye(3)) is None                            # too small to pay
    assert const_band(np.eye(8, dtype=int)) is None


def _shape_of(c):
    return np.shape(c.value)


def test_the_writers_against_index_arithmetic():
    rng = np.random.default_rng(1)
    d0, d1 = rng.standard_normal(6), rng.standard_normal(5)
    z = banded(d0, d1, 7.0, shape=(6, 6), dtype=np.dtype(np.float64),
               writes=((0, 36, 7, 0, 6), (1, 30, 7, 0, 5), (6, 36, 7, None, None)))
    want = np.diag(d0) + np.diag(d1, 1)
    want[np.arange(1, 6), np.arange(5)] = 7.0
    assert np.array_equal(z, want)
    d = rng.standard_normal((1, 5, 3))                      # axes (p, q, other) = (0, 1, 2), offset -1
    z = banded_nd(d, shape=(4, 5, 3), dtype=np.dtype(np.float64), p=0, q=1, writes=((-1, 1, 5, 1, 3),))
    want = np.zeros((4, 5, 3))
    for j in range(1, 5):
        want[j - 1, j] = d[0, j]
    assert np.array_equal(z, want)


# The case table's shapes are small: with every seed of 4 entries or more treated as banded, its
# jacfwd/jacrev/jacobian/hessian/hvp run through the pass on most rules (about a third of them keep a
# banded value to the end), each checked against eager chainrule, first and later calls.
@pytest.mark.parametrize("c", CASES[::12], ids=case_id)
def test_case_table_with_small_seeds_banded(c, monkeypatch):
    monkeypatch.setattr(DIAGONALS, "MIN_SIZE", 4)
    _check_case(c)
    _check_case(c, np.float32)


@pytest.mark.slow
@pytest.mark.parametrize("c", [c for c in CASES if c not in CASES[::12]], ids=case_id)
def test_case_table_with_small_seeds_banded_all(c, monkeypatch):
    monkeypatch.setattr(DIAGONALS, "MIN_SIZE", 4)
    _check_case(c)
