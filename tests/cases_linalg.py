"""Rows of the case table for products and linear algebra (see tests/cases.py).

Inputs are uniform in (-2, 2); matrices are built from them to be well conditioned (a shift by a
multiple of the identity, or x x^T + c I for the symmetric positive definite ones), with distinct
eigenvalues and singular values.  Functions of eigenvectors and singular vectors are invariant
under their sign (the product of a column with its first entry, u v^T), which is as far as they
are defined.  tests/test_linalg_limits.py checks the same rules close to their limits.
"""

import numpy as np

from .cases import NUMPY2, case, numpy2


def _cat(*xs):
    return np.concatenate([np.ravel(x) for x in xs])


def _mT(x):
    return np.swapaxes(x, -1, -2)


def _spd(x):
    return x @ _mT(x) + 3.0 * np.eye(x.shape[-1])


def _shift(x):
    return x + 4.0 * np.eye(x.shape[-1])


MM = ["numpy.matmul"]

# -- products -------------------------------------------------------------------------------------------
case("dot N-D x 2-D", lambda a, b: np.dot(a, b), (2, 3, 4), (4, 2), covers=MM + ["numpy.reshape"])
case("dot N-D x N-D", lambda a, b: np.dot(a, b), (2, 3), (2, 3, 2), covers=MM + ["numpy.transpose"])
case("dot N-D x 1-D", lambda a, b: np.dot(a, b), (2, 3, 4), (4,), covers=MM)
case("vdot", lambda a, b: np.vdot(a, b), (2, 3), (3, 2), covers=MM + ["numpy.reshape"])
case("inner", lambda a, b: np.inner(a, b) + np.inner(a[0, 0], b[0]).sum(), (2, 3), (4, 3), covers=MM)
case("outer", lambda a, b: np.outer(a, b), (2, 2), (3,), covers=["numpy.multiply"])
case("tensordot int", lambda a, b: np.tensordot(a, b, 2), (2, 3, 4), (3, 4, 2), covers=MM)
case("tensordot axes", lambda a, b: np.tensordot(a, b, axes=([0, 2], [2, 0])), (2, 3, 4), (4, 3, 2), covers=MM)
case("kron", lambda a, b: np.kron(a, b), (2, 3), (3, 2), covers=["numpy.multiply", "numpy.reshape"])
case("kron of different ndim", lambda a, b: np.kron(a, b), (2,), (2, 2, 3), covers=["numpy.multiply"])
case("cross", lambda a, b: np.cross(a, b), (4, 3), (3,), covers=["getitem", "numpy.concatenate"])
case("cross along axis 0", lambda a, b: np.cross(a, b, axis=0), (3, 2), (3, 2), covers=["getitem"])
case("matrix_power", lambda a: np.linalg.matrix_power(a, 5) + np.linalg.matrix_power(a, 1), (3, 3), covers=MM)
case("matrix_power negative", lambda a: np.linalg.matrix_power(_shift(a), -3), (2, 3, 3),
     covers=MM + ["numpy.linalg.inv"])
case("multi_dot", lambda a, b, c: np.linalg.multi_dot([a, b, c, a[0]]), (2, 5), (5, 3), (3, 5), covers=MM)
case("multi_dot of two, 1-D first", lambda a, b: np.linalg.multi_dot([a, b]), (3,), (3, 4), covers=MM)

# -- einsum -----------------------------------------------------------------------------------------------
EIN = ["numpy.einsum"]
case("einsum matmul", lambda a, b: np.einsum("ij,jk->ik", a, b), (2, 3), (3, 4), covers=EIN)
case("einsum trace (implicit)", lambda a: np.einsum("ii", a), (3, 3), covers=EIN)
case("einsum diagonal", lambda a: np.einsum("ii->i", a) ** 2, (3, 3), covers=EIN)
case("einsum repeated index with a free one", lambda a, b: np.einsum("iij,ik->jk", a, b), (3, 3, 2), (3, 4),
     covers=EIN)
case("einsum implicit output order", lambda a, b: np.einsum("kj,ji", a, b), (2, 3), (3, 4), covers=EIN)
case("einsum summed in one operand only", lambda a, b: np.einsum("ij,k->i", a, b), (2, 3), (4,), covers=EIN)
case("einsum ellipsis with broadcasting", lambda a, b: np.einsum("...ij,...jk->...ik", a, b), (2, 1, 2, 3),
     (4, 3, 2), covers=EIN + ["numpy.broadcast_to"])
case("einsum three operands", lambda a, b, c: np.einsum("ij,jk,kl->li", a, b, c), (2, 3), (3, 4), (4, 2),
     covers=EIN)
case("einsum outer and elementwise", lambda a, b: np.einsum("i,i,j->ij", a, a, b), (3,), (2,), covers=EIN)
case("einsum interleaved form", lambda a, b: np.einsum(a, [0, 1], b, [1, 2], [2, 0]), (2, 3), (3, 2),
     covers=EIN)

# check_batching pushes directions through the first argument: these rows put the other operand first
case("einsum: batched second operand with a diagonal", lambda b, a: np.einsum("ij,jjk->ik", a, b), (3, 3, 2),
     (2, 3), covers=EIN)
case("tensordot: batched second operand", lambda b, a: np.tensordot(a, b, axes=([1], [0])), (3, 2), (2, 3),
     covers=MM)
case("kron / cross: batched second operand", lambda b, a: np.kron(a, b)[:3, :3] * np.cross(a, b),
     (3, 3), (3, 3), covers=["numpy.multiply", "getitem"])

# -- inverses and determinants ---------------------------------------------------------------------------------
case("inv", lambda a: np.linalg.inv(_shift(a)), (3, 3), covers=["numpy.linalg.inv"])
case("inv of a stack", lambda a: np.linalg.inv(_shift(a)), (2, 3, 3), covers=["numpy.linalg.inv"])
case("solve matrix", lambda a, b: np.linalg.solve(_shift(a), b), (3, 3), (3, 2), covers=["numpy.linalg.solve"])
case("solve vector", lambda a, b: np.linalg.solve(_shift(a), b), (3, 3), (3,), covers=["numpy.linalg.solve"])
case("solve broadcast stacks", lambda b, a: np.linalg.solve(_shift(a), b), (2, 3, 2), (3, 3),
     covers=["numpy.linalg.solve"])
case("solve stacked a", lambda a, b: np.linalg.solve(_shift(a), b), (2, 3, 3), (3, 1),
     covers=["numpy.linalg.solve"],
     skip=None if NUMPY2 else "NumPy 1.x reads b of shape (3, 1) beside a stack of 3x3 matrices as a stack of "
                              "vectors (of length 1) and refuses it")
case("solve: b a stack of vectors (NumPy 1.x)", lambda a, b: np.linalg.solve(_shift(a), b), (2, 3, 3), (2, 3),
     covers=["numpy.linalg.solve"],
     skip="NumPy 2 reads b of shape (2, 3) as one 2x3 matrix and refuses it" if NUMPY2 else None)
case("det", lambda a: np.linalg.det(a), (3, 3), covers=["numpy.linalg.det", "numpy.linalg.det (adjugate)"],
     domain=(0.5, 2))
case("det of a stack", lambda a: np.linalg.det(_shift(a)), (2, 3, 3), covers=["numpy.linalg.det"])
case("slogdet", lambda a: np.linalg.slogdet(_shift(a)).logabsdet * np.linalg.slogdet(a).sign, (2, 3, 3),
     covers=["numpy.linalg.slogdet"], skip=numpy2("the named result of np.linalg.slogdet"))
case("slogdet by position", lambda a: np.linalg.slogdet(_shift(a))[1] * np.linalg.slogdet(a)[0], (3, 3),
     covers=["numpy.linalg.slogdet"])

# -- factorisations ----------------------------------------------------------------------------------------
case("cholesky", lambda a: np.linalg.cholesky(_spd(a)), (3, 3), covers=["numpy.linalg.cholesky"])
case("cholesky reads the lower triangle", lambda a: np.linalg.cholesky(a + 6.0 * np.eye(3)), (3, 3),
     covers=["numpy.linalg.cholesky", "numpy.where"])
case("cholesky upper, stacked", lambda a: np.linalg.cholesky(_spd(a), upper=True), (2, 3, 3),
     covers=["numpy.linalg.cholesky"], skip=numpy2("np.linalg.cholesky(upper=)"))


def _eigh_features(a, uplo="L"):
    w, v = np.linalg.eigh(a, UPLO=uplo)
    return _cat(w, v * v[..., :1, :])           # sign-invariant: each column times its first entry


case("eigh", lambda a: _eigh_features(a + _mT(a)), (3, 3), covers=["numpy.linalg.eigh"])
case("eigh reads one triangle (L and U)", lambda a: _cat(_eigh_features(a), _eigh_features(a, "U")), (3, 3),
     covers=["numpy.linalg.eigh"])
case("eigh of a stack", lambda a: _eigh_features(a + _mT(a)), (2, 3, 3), covers=["numpy.linalg.eigh"])
case("eigvalsh", lambda a: np.linalg.eigvalsh(a @ _mT(a)), (3, 3), covers=["numpy.linalg.eigvalsh"])
case("eigvalsh upper, stacked", lambda a: np.linalg.eigvalsh(a, UPLO="U"), (2, 3, 3),
     covers=["numpy.linalg.eigvalsh"])


def _eig_features(a):
    w, v = np.linalg.eig(a)
    # phase-invariant: the eigenvalues, |v|^2 and each column over its first entry (v_k / v_0k)
    return _cat(np.real(w), np.imag(w), np.abs(v) ** 2, np.real(v / v[..., :1, :]), np.imag(v / v[..., :1, :]))


_ROT = np.array([[0.0, 1.5, 0.0], [-1.5, 0.0, 0.0], [0.0, 0.0, 0.7]])
case("eig of a real non-symmetric matrix", _eig_features, (3, 3), covers=["numpy.linalg.eig"])
case("eig with a complex pair, stacked", lambda a: _eig_features(0.3 * a + _ROT), (2, 3, 3),
     covers=["numpy.linalg.eig"])
case("eigvals", lambda a: (lambda w: _cat(np.real(w), np.imag(w)))(np.linalg.eigvals(0.3 * a + _ROT)), (3, 3),
     covers=["numpy.linalg.eigvals"])


def _svd_features(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return _cat(s, u[..., :, :1] * vh[..., :1, :], u * u, _mT(vh) * _mT(vh))     # sign-invariant


case("svd tall", _svd_features, (4, 3), covers=["numpy.linalg.svd"])
case("svd wide", _svd_features, (2, 4), covers=["numpy.linalg.svd"])
case("svd square stack", _svd_features, (2, 3, 3), covers=["numpy.linalg.svd"])
case("svd default (square) reconstructs", lambda a: (lambda u, s, vh: (u * s[None]) @ vh)(*np.linalg.svd(a)),
     (3, 3), covers=["numpy.linalg.svd"])
case("singular values only", lambda a: np.linalg.svd(a, compute_uv=False), (3, 4),
     covers=["numpy.linalg.svd(compute_uv=False)"])
case("qr", lambda a: _cat(*np.linalg.qr(a)), (4, 3), covers=["numpy.linalg.qr"])
case("qr square stack", lambda a: _cat(*np.linalg.qr(a)), (2, 3, 3), covers=["numpy.linalg.qr"])
case("qr mode r", lambda a: np.linalg.qr(a, mode="r"), (5, 2), covers=["numpy.linalg.qr"])
case("pinv wide", lambda a: np.linalg.pinv(a), (2, 4), covers=["numpy.linalg.pinv"])
case("pinv tall stack", lambda a: np.linalg.pinv(a), (2, 4, 3), covers=["numpy.linalg.pinv"])
case("pinv of a rank-1 matrix", lambda a, b: np.linalg.pinv(np.outer(a, b), rcond=1e-5), (3,), (2,),
     covers=["numpy.linalg.pinv"], domain=(0.5, 2))
case("lstsq", lambda a, b: _cat(*np.linalg.lstsq(a, b)[:2]), (5, 3), (5, 2),
     covers=["numpy.linalg.pinv", "numpy value (rounding)"])
case("lstsq singular values", lambda a, b: np.linalg.lstsq(a, b)[3] + np.linalg.lstsq(a, b)[0], (4, 3), (4,),
     covers=["numpy.linalg.svd(compute_uv=False)"])

# -- SciPy (optional) ------------------------------------------------------------------------------------
try:
    from chainrule.rules.scipy_linalg import cho_solve, expm, solve_triangular
except ImportError:                       # SciPy absent: its primitives are not registered either
    pass
else:
    ST = ["scipy.linalg.solve_triangular"]
    for lower in (True, False):
        for trans in (0, 1):
            case(f"solve_triangular lower={lower} trans={trans}",
                 lambda a, b, lo=lower, tr=trans: solve_triangular(_shift(a), b, lower=lo, trans=tr),
                 (3, 3), (3, 2), covers=ST)
    case("solve_triangular unit diagonal, vector", lambda a, b: solve_triangular(a, b, lower=True,
         unit_diagonal=True), (3, 3), (3,), covers=ST, domain=(-0.5, 0.5))
    case("solve_triangular, traced right-hand side only", lambda b, a: solve_triangular(_shift(a), b, trans="T"),
         (3, 2), (3, 3), covers=ST)
    case("cho_solve lower and upper", lambda a, b: cho_solve((np.linalg.cholesky(_spd(a)), True), b)
         + cho_solve((np.linalg.cholesky(_spd(a), upper=True), False), b), (3, 3), (3, 2),
         covers=ST + ["numpy.linalg.cholesky"], skip=numpy2("np.linalg.cholesky(upper=)"))
    case("expm", lambda a: expm(a), (3, 3), covers=["scipy.linalg.expm"], domain=(-1, 1))
    case("expm of a stack", lambda a: expm(a) * a, (2, 2, 2), covers=["scipy.linalg.expm"], domain=(-1, 1))

# -- constant scipy.sparse matrices times traced arrays (the primitive needs no SciPy; its inputs do) -------
try:
    import scipy.sparse as _sp
except ImportError:
    pass
else:
    _S = _sp.csr_matrix(np.array([[1.0, 0.0, -2.0], [0.0, 0.0, 0.5], [3.0, 1.5, 0.0], [0.0, -1.0, 0.0]]))
    SM = ["scipy.sparse.matmul"]
    case("sparse @ vector", lambda x: _S @ x, (3,), covers=SM)
    case("sparse.dot(matrix) squared", lambda x: _S.dot(x) ** 2, (3, 2), covers=SM)
    case("vector @ sparse", lambda x: np.sin(x @ _S), (4,), covers=SM)
    case("matrix @ sparse array", lambda x: (x @ _sp.csc_array(_S)) * x[:, :3], (2, 4), covers=SM)

# -- cond, matrix_rank, tensorsolve, tensorinv: compositions ------------------------------------------
for p in (None, 2, -2):
    case(f"cond p={p}, stacked", lambda a, p=p: np.linalg.cond(_shift(a), p), (2, 3, 3),
         covers=["numpy.linalg.svd(compute_uv=False)"])
case("cond of a non-square matrix (singular values)", lambda a: np.linalg.cond(a), (4, 2),
     covers=["numpy.linalg.svd(compute_uv=False)"])
for p in (1, -1, np.inf, -np.inf, "fro", "nuc"):
    case(f"cond p={p}", lambda a, p=p: np.linalg.cond(_shift(a), p), (3, 3), covers=["numpy.linalg.inv"])
case("matrix_rank is a constant factor", lambda a: a * np.linalg.matrix_rank(np.outer(a[0], a[1])), (2, 3),
     covers=["numpy.multiply"])
case("tensorsolve", lambda a, b: np.linalg.tensorsolve(a + 4.0 * np.eye(6).reshape(2, 3, 6), b), (2, 3, 6),
     (2, 3), covers=["numpy.linalg.solve", "numpy.reshape"])
case("tensorsolve with axes", lambda a, b: np.linalg.tensorsolve(a + 4.0 * np.eye(6).reshape(6, 2, 3)
                                                                 .transpose(1, 2, 0), b, axes=(0, 1)),
     (2, 3, 6), (6,), covers=["numpy.linalg.solve", "numpy.transpose"])
case("tensorinv", lambda a: np.linalg.tensorinv(a + 4.0 * np.eye(6).reshape(6, 2, 3), ind=1), (6, 2, 3),
     covers=["numpy.linalg.inv", "numpy.reshape"])
