"""Sparse Hessians: the detected pattern against hand-written ones, values against the dense
hessian (forward over reverse) and finite differences of the gradient."""

import numpy as np
import pytest

import chainrule as cr

from . import sparse_problems as P


def tridiagonal(n):
    return sorted({(i, j) for i in range(n) for j in (i - 1, i, i + 1) if 0 <= j < n})


PROBLEMS = [
    ("rosenbrock", P.chained_rosenbrock, 12, tridiagonal(12)),
    ("arwhead", P.arwhead, 12, P.arwhead_pattern(12)),
    ("minimal_surface", P.minimal_surface, 36, None),
    ("quartic_gather", lambda x: np.sum(x[[0, 3, 5, 1]] ** 2 * x[[2, 2, 4, 1]] ** 2), 6,
     sorted({(0, 0), (0, 2), (2, 0), (3, 3), (3, 2), (2, 3), (2, 2), (5, 5), (5, 4), (4, 5), (4, 4),
             (1, 1)})),
]
IDS = [p[0] for p in PROBLEMS]


def points(n, count=3):
    rng = np.random.default_rng(100 + n)
    return [rng.uniform(0.2, 1.5, n) for _ in range(count)]


@pytest.mark.parametrize("name,f,n,true", PROBLEMS, ids=IDS)
def test_hessian_pattern_is_symmetric_and_covers_the_hessian(name, f, n, true):
    pattern = cr.hessian_sparsity(f, points(n, 1)[0])
    dense = pattern.toarray()
    assert (dense == dense.T).all()
    if true is not None:
        assert P.as_pairs(pattern) == true
    for x in points(n):
        assert np.all(dense[cr.hessian(f)(x) != 0])


@pytest.mark.parametrize("name,f,n,true", PROBLEMS, ids=IDS)
def test_sparse_hessian_equals_the_dense_hessian_and_finite_differences(name, f, n, true):
    hess = cr.sparse_hessian(f)
    g = cr.grad(f)
    for x in points(n):
        H = hess(x)
        assert H.shape == (n, n)
        np.testing.assert_allclose(H.toarray(), cr.hessian(f)(x), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(H.toarray(), H.toarray().T, rtol=0, atol=0)
        eps = 1e-6
        fd = np.stack([(g(x + eps * e) - g(x - eps * e)) / (2 * eps) for e in np.eye(n)], axis=1)
        np.testing.assert_allclose(H.toarray(), fd, rtol=1e-5, atol=1e-5)


def test_arwhead_needs_two_colours_at_n_10_000():
    n = 10_000
    x = np.random.default_rng(5).uniform(0.5, 1.5, n)
    H = cr.sparse_hessian(P.arwhead)(x)
    assert H.nnz == 3 * n - 2
    last = x[-1]
    i = 17
    assert H[i, i] == pytest.approx(12 * x[i] ** 2 + 4 * last ** 2)
    assert H[i, n - 1] == pytest.approx(8 * x[i] * last) == H[n - 1, i]


def test_float32_hessian():
    x = points(12, 1)[0].astype(np.float32)
    H = cr.sparse_hessian(P.chained_rosenbrock)(x)
    assert H.dtype == np.float32
    np.testing.assert_allclose(H.toarray(), cr.hessian(P.chained_rosenbrock)(x), rtol=1e-5)
