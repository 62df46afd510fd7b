"""Constant scipy.sparse matrices times traced arrays (A @ x, A.dot(x), x @ A): derivatives in both modes
against finite differences and against the same function with the dense matrix, the pattern against the
matrix's structure, sparse Jacobians and Hessians through it, and the errors of what is not supported."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import InputDtypeError, TracerConversionError

sp = pytest.importorskip("scipy.sparse")


def _matrix(m, n, seed, fmt="csr"):
    """A random sparse matrix with one explicitly stored zero (structural, numerically 0)."""
    A = sp.random(m, n, density=0.3, format="coo", random_state=seed)
    rows = np.concatenate([[0], A.row])
    cols = np.concatenate([[n - 1], A.col])
    data = np.concatenate([[0.0], A.data + 0.5])
    keep = np.unique(rows * n + cols, return_index=True)[1]        # the first of a duplicate: the zero
    return sp.coo_matrix((data[keep], (rows[keep], cols[keep])), shape=(m, n)).asformat(fmt)


A = _matrix(6, 5, 0)
B = _matrix(5, 6, 1, "csc")
D_A, D_B = A.toarray(), B.toarray()
P = 3

# (name, f with sparse matrices, the same with dense ones, input shape)
CASES = [
    ("A @ x", lambda x: np.sin(A @ x), lambda x: np.sin(D_A @ x), (5,)),
    ("A.dot(x)", lambda x: A.dot(x) ** 2, lambda x: (D_A @ x) ** 2, (5,)),
    ("x @ A", lambda x: np.cos(x @ A), lambda x: np.cos(x @ D_A), (6,)),
    ("csr_array @ x", lambda x: sp.csr_array(A) @ np.exp(x), lambda x: D_A @ np.exp(x), (5,)),
    ("x @ coo_array", lambda x: x ** 3 @ sp.coo_array(B), lambda x: x ** 3 @ D_B, (5,)),
    ("A @ X (2-d)", lambda X: np.tanh(A @ X) * X[:1], lambda X: np.tanh(D_A @ X) * X[:1], (5, P)),
    ("X @ B (2-d)", lambda X: (X @ B) ** 2, lambda X: (X @ D_B) ** 2, (P, 5)),
    ("B @ (A @ x)^2", lambda x: B @ (A @ x) ** 2, lambda x: D_B @ (D_A @ x) ** 2, (5,)),
]
IDS = [c[0] for c in CASES]


def _point(shape, seed=0):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, shape)


def _central(f, x, eps=1e-6):
    cols = []
    for j in range(x.size):
        e = np.zeros(x.size)
        e[j] = eps
        e = e.reshape(x.shape)
        cols.append(np.ravel(f(x + e) - f(x - e)) / (2 * eps))
    return np.stack(cols, axis=1)


@pytest.mark.parametrize("name,f,dense,shape", CASES, ids=IDS)
def test_both_modes_against_finite_differences_and_the_dense_matrix(name, f, dense, shape):
    x = _point(shape)
    np.testing.assert_allclose(f(x), dense(x), rtol=1e-13, atol=1e-13)
    fwd, rev = cr.jacfwd(f)(x), cr.jacrev(f)(x)
    np.testing.assert_allclose(fwd, rev, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(fwd, cr.jacfwd(dense)(x), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(fwd.reshape(-1, x.size), _central(f, x), rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("name,f,dense,shape", CASES, ids=IDS)
def test_hessian_through_the_product(name, f, dense, shape):
    x = _point(shape, 1)
    g, g_dense = (lambda x: np.sum(f(x) ** 3)), (lambda x: np.sum(dense(x) ** 3))
    H = cr.hessian(g)(x).reshape(x.size, x.size)
    np.testing.assert_allclose(H, cr.hessian(g_dense)(x).reshape(x.size, x.size), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(H, _central(lambda y: cr.grad(g)(y), x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(cr.sparse_hessian(g)(x).toarray(), H, rtol=1e-10, atol=1e-10)


def test_the_pattern_is_the_matrix_structure_with_its_stored_zero():
    J = cr.jacobian_sparsity(lambda x: A @ x, _point(5))
    structure = A.tocsr()
    assert structure[0, 4] == 0                         # stored, numerically zero
    expected = sp.csr_matrix((np.ones(structure.nnz, bool), structure.indices, structure.indptr), A.shape)
    assert J.shape == A.shape and (J != expected).nnz == 0
    assert J[0, 4]                                      # the explicitly stored zero stays in the pattern
    # a 2-d operand: out[i, c] depends on X[j, c] for each stored A[i, j], column c only
    J2 = cr.jacobian_sparsity(lambda X: A @ X, _point((5, P))).toarray().reshape(6, P, 5, P)
    for c in range(P):
        for d in range(P):
            assert (J2[:, c, :, d] == (expected.toarray() if c == d else False)).all()
    # the transposed product reads the transposed structure
    JT = cr.jacobian_sparsity(lambda x: x @ A, _point(6))
    assert (JT != expected.T).nnz == 0


@pytest.mark.parametrize("mode", ["forward", "reverse", "bidirectional", "auto"])
def test_sparse_jacobian_through_the_product_in_every_mode(mode):
    f = lambda x: np.sin(B @ (A @ x) ** 2) + x[0] * x                # noqa: E731
    jac = cr.sparse_jacobian(f, mode=mode)
    for seed in range(3):
        x = _point(5, seed)
        J = jac(x)
        np.testing.assert_allclose(J.toarray(), cr.jacfwd(f)(x), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(J.toarray(), _central(f, x), rtol=1e-6, atol=1e-7)


def test_laplacian_matrix_gives_the_stencil_pattern_and_three_colours():
    n = 50
    L = sp.diags([np.ones(n - 1), -2 * np.ones(n), np.ones(n - 1)], [-1, 0, 1], format="csr")
    f = lambda u: L @ u + u ** 2                                     # noqa: E731
    u = _point(n)
    jac = cr.sparse_jacobian(f, mode="forward")
    np.testing.assert_allclose(jac(u).toarray(), L.toarray() + np.diag(2 * u), rtol=1e-14, atol=1e-14)
    assert jac.decision_for(u).colours["forward"] == 3


def test_complex_matrix_and_real_input_bilinear():
    C = (A + 1j * _matrix(6, 5, 7)).tocsr()
    f = lambda x: np.sum(np.abs(C @ x) ** 2)                         # noqa: E731
    x = _point(5)
    g = cr.grad(f)(x)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, _central(lambda y: np.atleast_1d(f(y)), x)[0], rtol=1e-7, atol=1e-8)
    Cd = C.toarray()
    np.testing.assert_allclose(g, 2 * np.real(Cd.T @ np.conj(Cd @ x)), rtol=1e-12)
    # complex input: forward and reverse agree through the dot-product identity <v, J u> = <J^T v, u>
    z = x + 1j * _point(5, 3)
    u, v = _point(5, 4) + 1j * _point(5, 5), _point(6, 6) + 1j * _point(6, 7)
    _, Ju = cr.jvp(lambda z: C @ z, (z,), (u,))
    _, pullback = cr.vjp(lambda z: C @ z, z)
    np.testing.assert_allclose(np.sum(v * Ju), np.sum(pullback(v)[0] * u), rtol=1e-12)


def test_float32_stays_float32():
    A32 = A.astype(np.float32)
    x = _point(5).astype(np.float32)
    J = cr.jacrev(lambda x: A32 @ x)(x)
    assert J.dtype == np.float32
    np.testing.assert_allclose(J, D_A.astype(np.float32), rtol=1e-6)


def test_what_is_not_a_matrix_product_is_refused_clearly():
    x = _point(5)
    with pytest.raises(InputDtypeError, match="toarray"):
        cr.jacfwd(lambda x: np.matmul(A, x))(x)      # NumPy's functions do not take scipy.sparse operands
    with pytest.raises(InputDtypeError, match="write A @ x"):
        cr.jacfwd(lambda x: A * x)(x)                     # a scipy.sparse *matrix*'s * is a matrix product
    # SciPy's other operations never return a number computed from a tracer: SciPy >= 1.11 asks the
    # tracer for its array and gets chainrule's error; SciPy 1.10 fails on its own before that
    with pytest.raises((TracerConversionError, AttributeError)) as info:
        cr.jacfwd(lambda x: sp.csr_array(A[:1]).multiply(x))(x)
    if info.type is TracerConversionError:
        assert "toarray" in str(info.value)
    with pytest.raises(InputDtypeError, match="toarray"):
        cr.jacfwd(lambda x: x + sp.csr_array(np.ones((1, 5))))(x)
    with pytest.raises(ValueError, match="dimension mismatch"):
        cr.jacfwd(lambda x: A @ x[:4])(x)
    with pytest.raises(ValueError, match="1-d and 2-d"):
        cr.jacfwd(lambda x: A @ x.reshape(5, 1, 1))(x)


def test_staged_by_jit_at_two_points():
    g = lambda x: np.sum(np.sin(A @ x) * (x @ B))                   # noqa: E731
    staged = cr.jit(cr.grad(g))
    for seed in range(2):
        x = _point(5, seed)
        np.testing.assert_allclose(staged(x), cr.grad(g)(x), rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(staged(x), _central(lambda y: np.atleast_1d(g(y)), x)[0], rtol=1e-7, atol=1e-8)
