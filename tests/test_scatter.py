"""The scatter-add behind every gather's adjoint (chainrule.core.scatter): against ``np.add.at`` itself,
then through the engines against finite differences and the other mode."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.core import add_at, index_sum

_rng = np.random.default_rng(7)

# (shape of the target's indexed axes, index in the rules' canonical form, trailing (batch) axes)
INDEXES = [
    ("duplicates and negatives", (20,), (_rng.integers(-20, 20, 200),), ()),
    ("batched", (20,), (_rng.integers(-20, 20, 200),), (9,)),
    ("two trailing axes", (6,), (_rng.integers(0, 6, 30),), (2, 3)),
    ("few of many (distinct rows)", (500,), (np.array([7, -3, 7, 499, 0]),), (4,)),
    ("few of many, no batch", (500,), (np.array([7, -3, 7, 499, 0]),), ()),
    ("2-D index array", (5, 6), (_rng.integers(-5, 5, (3, 4)), slice(None)), (2,)),
    ("along a non-first axis", (5, 6), (slice(1, 4), _rng.integers(-6, 6, (3, 4))), ()),
    ("two index arrays", (5, 6), (_rng.integers(0, 5, 17), _rng.integers(0, 6, 17)), (2, 3)),
    ("broadcast index arrays", (5, 6), (_rng.integers(0, 5, (3, 1)), _rng.integers(0, 6, (1, 4))), (2,)),
    ("separated arrays, int, slice", (5, 6, 4), (_rng.integers(0, 5, 9), 1, _rng.integers(0, 4, 9)), (2,)),
    ("None, reversed slice", (5, 6, 4), (None, _rng.integers(0, 5, 9), slice(None, None, -1), None,
                                         _rng.integers(0, 4, 9)), ()),
    ("empty index", (4,), (np.array([], dtype=np.intp),), (3,)),
    ("empty target", (0,), (np.array([], dtype=np.intp),), ()),
]
DTYPES = [np.float64, np.float32, np.complex128, np.complex64]


def _tol(dtype):
    return 1e-5 if np.dtype(dtype) in (np.dtype(np.float32), np.dtype(np.complex64)) else 1e-12


def _adjoint(shape, dtype, order):
    g = _rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        g = g + 1j * _rng.standard_normal(shape)
    g = g.astype(dtype)
    return np.asfortranarray(g) if order == "F" else g


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name, shape, index, trail", INDEXES, ids=[c[0] for c in INDEXES])
def test_scatter_add_sums_what_np_add_at_sums(name, shape, index, trail, dtype, order):
    picked = np.empty(shape)[index].shape
    g = _adjoint(picked + trail, dtype, order)
    want = np.zeros(shape + trail, dtype)
    np.add.at(want, index, g)
    got = index_sum(g, index, shape, len(picked), dtype)
    assert got.dtype == np.dtype(dtype) and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=_tol(dtype), atol=_tol(dtype))
    z = _adjoint(shape + trail, dtype, "C")              # into an array that holds values already
    want = z.copy()
    np.add.at(want, index, g)
    add_at(z, index, g)
    np.testing.assert_allclose(z, want, rtol=_tol(dtype), atol=_tol(dtype))


def test_scatter_add_keeps_nan_and_infinity_at_their_position():
    index = (np.array([0, 1, 2, 0, 1]),)
    g = np.array([1.0, np.nan, np.inf, 2.0, 3.0])
    for batch in ((), (3,)):
        gb = g.reshape((5,) + (1,) * len(batch)) * np.ones(batch)
        got = index_sum(gb, index, (4,), 1, np.float64)
        want = np.zeros((4,) + batch)
        np.add.at(want, index, gb)
        np.testing.assert_array_equal(got, want)                # [3, nan, inf, 0] per column


def test_scatter_add_broadcasts_its_values_and_falls_back_for_other_dtypes():
    z = np.zeros((4, 3))
    add_at(z, (np.array([1, 1, 3]),), np.array([1.0, 2.0, 3.0]))     # values broadcast along the last axis
    want = np.zeros((4, 3))
    np.add.at(want, (np.array([1, 1, 3]),), np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(z, want)
    zi = np.zeros(4, dtype=np.int64)                                  # integers: np.add.at itself
    add_at(zi, (np.array([1, 1, 3]),), np.array([2**60, 2**60, 1]))
    assert zi.tolist() == [0, 2**61, 0, 1]
    zs = np.zeros((4, 3))[:, ::2]                                     # a strided target: np.add.at too
    add_at(zs, (np.array([0, 0]),), np.ones((2, 2)))
    assert zs.tolist() == [[2.0, 2.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]


# -- through the engines: every gather's adjoint is this scatter-add -----------------------------

SRC = np.array([3, 0, 3, 1, -1, 3, 2])
M = np.array([[0, 2], [2, 2], [-1, 0]])


def _gathers(x):
    """Gathers with repeated, negative and 2-D indices, along several axes, through several spellings."""
    v = x.ravel()
    return np.concatenate([
        (v[SRC] * v[SRC]).ravel(),
        np.sin(x[M, 1:]).ravel(),                     # a 2-D index array along the first axis
        x[:, SRC[:5] % 3].ravel() ** 2,               # along the second axis
        np.take(v, SRC[::-1]) * 2.0,
        np.take_along_axis(x, np.array([[2, 2, 0], [1, 1, 1], [0, 2, 2], [0, 0, 0]]), axis=1).ravel(),
        x[SRC % 4, M[0, 0] + 1][None, :].ravel(),     # two index arrays
    ])


def _fd_jacobian(f, x, h):
    cols = []
    for e in np.eye(x.size):
        e = e.reshape(x.shape).astype(x.dtype)
        cols.append((f(x + h * e) - f(x - h * e)) / (2 * h))
    return np.stack(cols, axis=-1).reshape(np.shape(f(x)) + x.shape)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gather_adjoints_against_finite_differences_and_forward_mode(dtype):
    x = np.linspace(-1.1, 1.3, 12).reshape(4, 3).astype(dtype)
    rev = cr.jacrev(_gathers)(x)                               # one batched sweep: all rows at once
    fwd = cr.jacfwd(_gathers)(x)
    assert rev.dtype == np.dtype(dtype) and fwd.dtype == np.dtype(dtype)
    tol = _tol(dtype)
    np.testing.assert_allclose(rev, fwd, rtol=tol, atol=tol)
    fd = _fd_jacobian(_gathers, x.astype(np.float64), 1e-6)
    np.testing.assert_allclose(rev, fd, rtol=1e-6 if dtype == np.float64 else 1e-4, atol=1e-6 if dtype == np.float64 else 1e-4)
    out, pullback = cr.vjp(_gathers, x)                        # single rows against the batched sweep
    for k in (0, 5, out.size - 1):
        seed = np.zeros_like(out)
        seed[k] = 1
        np.testing.assert_allclose(pullback(seed)[0], rev[k], rtol=tol, atol=tol)


def test_complex_gather_adjoint_against_forward_mode():
    def f(z):
        return z[SRC] * z[SRC[::-1]] + 2j * np.take(z, np.append(M.ravel(), 1))

    z = np.linspace(-1, 1, 4) + 1j * np.linspace(0.5, -0.3, 4)
    fwd = cr.jacfwd(f, holomorphic=True)(z)
    rev = cr.jacrev(f, holomorphic=True)(z)
    np.testing.assert_allclose(rev, fwd, rtol=1e-12, atol=1e-12)
    h = 1e-6
    fd = np.stack([(f(z + h * e) - f(z - h * e)) / (2 * h) for e in np.eye(4)], axis=-1)
    np.testing.assert_allclose(rev, fd, rtol=1e-7, atol=1e-7)


def test_add_at_rule_and_its_staged_adjoint():
    def f(x):
        y = np.zeros_like(x, shape=(5, 3))
        np.add.at(y, (SRC % 5,), x[SRC % 4])          # a scatter-add whose adjoint is a gather, and back
        return np.sum(np.tanh(y) * y[SRC % 5].sum(axis=0))

    x = np.linspace(-0.7, 0.9, 12).reshape(4, 3)
    g = cr.grad(f)(x)
    np.testing.assert_allclose(g, cr.jacfwd(f)(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g, _fd_jacobian(f, x, 1e-6), rtol=1e-6, atol=1e-7)
    staged = cr.jit(cr.grad(f))
    for y in (x, -x):
        np.testing.assert_allclose(staged(y), cr.grad(f)(y), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cr.hessian(f)(x).reshape(12, 12), cr.jacrev(cr.jacfwd(f))(x).reshape(12, 12),
                               rtol=1e-10, atol=1e-10)


def _read_only(a):
    a = np.array(a)
    a.flags.writeable = False
    return a


def test_batched_gather_adjoint_by_selection_matrix_sums_what_np_add_at_sums():
    """A batch of adjoints of ``x[idx]`` on a vector, with an index nobody can change, is summed by a
    cached one-hot product: the sums of np.add.at, at first and at later calls."""
    from chainrule.core import scatter
    idx = _read_only(_rng.integers(-20, 20, 200))                 # duplicates and negatives
    for batch in (1, 4, 100):
        g = _rng.standard_normal((200, batch))
        want = np.zeros((20, batch))
        np.add.at(want, (idx,), g)
        for _ in range(2):
            got = index_sum(g, (idx,), (20,), 1, np.float64)
            assert got.shape == want.shape and got.dtype == np.float64
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert scatter._onehots[id(idx)][0] is idx


def test_selection_matrix_leaves_infinities_to_bincount_and_warns_nothing():
    """0 * inf would spread nan into other positions of a product: such a batch is summed by bincount."""
    idx = _read_only(_rng.integers(0, 20, 200))
    g = _rng.standard_normal((200, 5))
    g[3, 1], g[17, 4] = np.inf, np.nan
    want = np.zeros((20, 5))
    np.add.at(want, (idx,), g)
    with np.errstate(all="raise"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = index_sum(g, (idx,), (20,), 1, np.float64)
    np.testing.assert_array_equal(got, want)                      # nan and inf where np.add.at has them


def test_a_writable_index_is_never_summed_through_a_kept_matrix():
    """An index array the caller can refill must not reuse a selection matrix built from old values."""
    from chainrule.core import scatter
    idx = np.array([0, 1, 1, 3])
    g = np.ones((4, 2))
    first = index_sum(g, (idx,), (4,), 1, np.float64)
    idx[:] = [2, 2, 2, 0]
    second = index_sum(g, (idx,), (4,), 1, np.float64)
    np.testing.assert_array_equal(first, [[1, 1], [2, 2], [0, 0], [1, 1]])
    np.testing.assert_array_equal(second, [[1, 1], [0, 0], [3, 3], [0, 0]])
    assert id(idx) not in scatter._onehots
    kept = _read_only([0, 1, 1, 3])                              # read-only, yet its owner can refill it
    index_sum(g, (kept,), (4,), 1, np.float64)
    kept.flags.writeable = True
    kept[:] = [2, 2, 2, 0]
    kept.flags.writeable = False
    np.testing.assert_array_equal(index_sum(g, (kept,), (4,), 1, np.float64), second)
