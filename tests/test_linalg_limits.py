"""Linear-algebra rules at well-conditioned points and close to their limits.

Each rule's derivative blows up at a limit: a singular matrix (inv, solve, det, slogdet,
cholesky, qr, pinv, solve_triangular) or repeated eigenvalues / singular values (eigh, svd).
For each, a family of 2 x 2 points is parametrised by its distance ``delta`` to the limit and
the rule is checked three ways:

* far (delta = 1) and close but above the threshold (delta = 1e-5): no warning, and forward and
  reverse Jacobians equal those of a closed-form 2 x 2 formula written with elementwise NumPy
  only -- an oracle independent of the factorisation rules that stays exact where finite
  differences would need a step far below delta;
* past the threshold (delta = 1e-10) and on the limit itself (delta = 0): the call warns
  with NearlyDegenerateWarning, in both modes -- a derivative there is never silently wrong.

The threshold is DEGENERACY_TOL = sqrt(eps) ~ 1.5e-8 (chainrule.rules.linalg).
"""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import NearlyDegenerateWarning
from chainrule.rules.linalg import DEGENERACY_TOL
from chainrule.testing import check_grads

ABOVE, BELOW = 1e-5, 1e-10
assert BELOW < DEGENERACY_TOL < ABOVE


def m2(a, b, c, d):
    """[[a, b], [c, d]] from traced or plain scalars."""
    return np.stack([np.stack([a, b]), np.stack([c, d])])


# -- closed-form 2 x 2 oracles (elementwise operations and stack only) ----------------------------------
def inv2(x):
    a, b, c, d = x[0, 0], x[0, 1], x[1, 0], x[1, 1]
    det = a * d - b * c
    return m2(d / det, -b / det, -c / det, a / det)


def det2(x):
    return x[0, 0] * x[1, 1] - x[0, 1] * x[1, 0]


def eig2_features(s):
    """Ascending eigenvalues and sign-invariant eigenvector features of the symmetric [[a, b], [b, c]]."""
    a, b, c = s[0, 0], s[0, 1], s[1, 1]
    h = (a - c) / 2
    r = np.sqrt(h * h + b * b)
    m = (a + c) / 2
    cos2 = h / r                     # cos(2 theta) of the eigenvector of the larger eigenvalue
    sin2 = b / r
    big = np.stack([(1 + cos2) / 2, (1 - cos2) / 2, sin2 / 2])       # v0^2, v1^2, v0 v1
    small = np.stack([(1 - cos2) / 2, (1 + cos2) / 2, -sin2 / 2])
    return np.concatenate([np.stack([m - r, m + r]), small, big])


def eigh_features(s):
    w, v = np.linalg.eigh(s)
    cols = [np.stack([v[0, j] * v[0, j], v[1, j] * v[1, j], v[0, j] * v[1, j]]) for j in range(2)]
    return np.concatenate([w] + cols)


def svals2(x):
    a, b, c, d = x[0, 0], x[0, 1], x[1, 0], x[1, 1]
    p = np.sqrt((a + d) ** 2 + (c - b) ** 2)
    q = np.sqrt((a - d) ** 2 + (b + c) ** 2)
    return np.stack([(p + q) / 2, (p - q) / 2])


def svd_features(x):
    u, s, vh = np.linalg.svd(x)
    cols = [np.stack([u[0, j] * u[0, j], u[1, j] * u[1, j], u[0, j] * u[1, j]]) for j in (1, 0)]
    return np.concatenate([s[::-1] ** 2] + cols)         # ascending, like the eigenpairs of x x^T


def svd_oracle(x):
    return eig2_features(x @ x.T)                  # x x^T = U S^2 U^T


def chol2(s):
    a, b, c = s[0, 0], s[1, 0], s[1, 1]
    la = np.sqrt(a)
    return m2(la, 0.0 * a, b / la, np.sqrt(c - b * b / a))


def qr_features(q, r):
    """Invariant under the signs LAPACK picks: q_j r_jj and the products of each row of r with its pivot."""
    return np.concatenate([q[:, 1] * r[1, 1], np.stack([r[0, 0] ** 2, r[0, 0] * r[0, 1], r[1, 1] ** 2])])


def qr2_features(x):
    a1, a2 = x[:, 0], x[:, 1]
    n1 = np.sum(a1 * a1)
    proj = np.sum(a1 * a2) / n1
    q2r22 = a2 - proj * a1
    return np.concatenate([q2r22, np.stack([n1, np.sum(a1 * a2), np.sum(q2r22 * q2r22)])])


# -- points at distance delta from each limit ----------------------------------------------------------------
ROT = np.array([[0.8, -0.6], [0.6, 0.8]])


def near_singular(delta):
    return ROT @ np.diag([1.5, delta]) @ ROT.T @ np.array([[1.0, 0.3], [0.0, 1.0]])


def near_repeated_eigenvalues(delta):
    return ROT @ np.diag([1.2, 1.2 + delta]) @ ROT.T


def near_repeated_singular_values(delta):
    return ROT @ np.diag([1.2, 1.2 + delta]) @ np.array([[0.6, 0.8], [-0.8, 0.6]])


def near_singular_spd(delta):
    return ROT @ np.diag([2.0, delta]) @ ROT.T


def _sym(x):
    return (x + x.T) / 2


def _scipy():
    return pytest.importorskip("scipy.linalg") and __import__("chainrule.rules.scipy_linalg",
                                                                fromlist=["solve_triangular"])


RHS = np.array([0.7, -0.4])
LIMITS = {  # name: (function, oracle, point at distance delta)
    "inv": (np.linalg.inv, inv2, near_singular),
    "solve": (lambda x: np.linalg.solve(x, RHS), lambda x: inv2(x) @ RHS, near_singular),
    "det": (np.linalg.det, det2, near_singular),
    "slogdet": (lambda x: np.linalg.slogdet(x)[1], lambda x: np.log(np.abs(det2(x))), near_singular),
    "pinv": (np.linalg.pinv, inv2, near_singular),
    "lstsq": (lambda x: np.linalg.lstsq(x, RHS)[0], lambda x: inv2(x) @ RHS, near_singular),
    "qr": (lambda x: qr_features(*np.linalg.qr(x)), qr2_features, near_singular),
    "cholesky": (lambda x: np.linalg.cholesky(_sym(x)), lambda x: chol2(_sym(x)), near_singular_spd),
    "eigh": (lambda x: eigh_features(_sym(x)), lambda x: eig2_features(_sym(x)), near_repeated_eigenvalues),
    "svd": (svd_features, svd_oracle, near_repeated_singular_values),
    "svd(compute_uv=False)": (lambda x: np.linalg.svd(x, compute_uv=False), svals2, near_singular),
    "solve_triangular": (lambda x: _scipy().solve_triangular(x, RHS, lower=True),
                         lambda x: np.stack([RHS[0] / x[0, 0], (RHS[1] - x[1, 0] * RHS[0] / x[0, 0]) / x[1, 1]]),
                         lambda d: np.array([[1.3, 5.0], [0.4, d]])),
}


def jacobians(f, x):
    return np.asarray(cr.jacfwd(f)(x)), np.asarray(cr.jacrev(f)(x))


@pytest.mark.parametrize("name", LIMITS)
@pytest.mark.parametrize("delta", [1.0, ABOVE])
def test_accurate_above_the_threshold(name, delta):
    f, oracle, point = LIMITS[name]
    x = point(delta)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NearlyDegenerateWarning)
        np.testing.assert_allclose(f(x), oracle(x), rtol=1e-9, atol=1e-12)     # the same function
        want = np.asarray(cr.jacfwd(oracle)(x))
        scale = np.max(np.abs(want))
        for got in jacobians(f, x):
            assert np.max(np.abs(got - want)) <= 1e-7 * scale, (name, delta)
        if delta == 1.0:
            check_grads(f, (x,), order=2)


RANK_FIXED = ("pinv", "lstsq")      # at delta = 0 the cutoff drops the singular value: see the convention test
EXACT_AT_THE_LIMIT = ("det",)      # a polynomial: its derivative, the adjugate, exists at singular matrices


@pytest.mark.parametrize("name", LIMITS)
@pytest.mark.parametrize("delta", [BELOW, 0.0])
def test_warns_past_the_threshold(name, delta):
    if delta == 0.0 and name in RANK_FIXED:
        pytest.skip("rank-fixed convention, tested below")
    if name in EXACT_AT_THE_LIMIT:
        pytest.skip("exact at the limit, tested in test_wrong_answers.py")
    f, oracle, point = LIMITS[name]
    x = point(delta)
    for jac in (cr.jacfwd, cr.jacrev):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("ignore", RuntimeWarning)              # NumPy's own divide-by-zero
            warnings.simplefilter("always", NearlyDegenerateWarning)
            try:
                jac(f)(x)
                raised = False
            except np.linalg.LinAlgError:                                   # an error is fine too
                raised = True
        warned = [w for w in caught if issubclass(w.category, NearlyDegenerateWarning)
                  and "relative distance" in str(w.message)]
        assert warned or (raised and delta == 0.0), f"{name} at delta={delta}: no warning (nor error on the limit)"


@np.errstate(divide="ignore", invalid="ignore")          # on the limit the rule divides by 0 (after warning)
def test_the_warning_names_the_function_and_the_limit():
    with pytest.warns(NearlyDegenerateWarning, match=r"numpy\.linalg\.eigh.*repeated eigenvalues"):
        cr.jacfwd(lambda x: np.linalg.eigh(x)[1])(np.eye(2))
    with pytest.warns(NearlyDegenerateWarning, match=r"numpy\.linalg\.inv.*singular"):
        cr.jacrev(np.linalg.inv)(np.ones((2, 2)) + np.diag([1e-12, 0.0]))


def test_plain_calls_never_warn():
    """The check runs only while differentiating: NumPy code without tracers is untouched."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.linalg.eigh(np.eye(3))
        np.linalg.svd(np.zeros((2, 3)))


# -- conventions where no derivative exists -------------------------------------------------------------
def test_eigh_and_cholesky_read_the_lower_triangle():
    """The upper entries are not read by NumPy, so their derivative is exactly 0; the lower ones count twice."""
    x = np.array([[2.0, 0.3, -0.1], [0.5, 3.0, 0.2], [0.1, 0.4, 4.0]])
    for f in (lambda x: np.linalg.eigh(x)[0], np.linalg.cholesky):
        for jac in jacobians(f, x):
            assert np.all(jac[..., 0, 1] == 0) and np.all(jac[..., 0, 2] == 0) and np.all(jac[..., 1, 2] == 0)
    # sum of squared eigenvalues = |S|_F^2 of S = tril(x) + tril(x, -1)^T: 2 x_ii on the diagonal,
    # 4 x_ij below it (each lower entry appears twice in S), 0 above
    grad = cr.grad(lambda s: np.sum(np.linalg.eigh(s)[0] ** 2))(x)
    np.testing.assert_allclose(grad, np.tril(4 * x, -1) + np.diag(2 * np.diag(x)), atol=1e-12)


def test_eigenvalues_at_a_repeated_eigenvalue():
    """eigvalsh needs no eigenvector derivative: at A = diag(1, 1, 2) the gradient of a symmetric
    function of the eigenvalues exists and is exact (d trace = I, d |A|_F^2 = 2 A), without a warning;
    eigh's eigenvectors there have no derivative, and it warns."""
    a = np.diag([1.0, 1.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for jac in (cr.jacfwd, cr.jacrev):
            np.testing.assert_allclose(jac(lambda x: np.sum(np.linalg.eigvalsh(x)))(a), np.eye(3), atol=1e-15)
            np.testing.assert_allclose(jac(lambda x: np.sum(np.linalg.eigvalsh(x) ** 2))(a),
                                       np.tril(4 * a, -1) + np.diag(2 * np.diag(a)), atol=1e-14)
    with np.errstate(divide="ignore", invalid="ignore"), pytest.warns(NearlyDegenerateWarning):
        cr.jacfwd(lambda x: np.linalg.eigh(x)[1])(a)


def test_slogdet_sign_is_constant():
    x = np.array([[0.0, 1.0], [1.0, 0.5]])
    for jac in jacobians(lambda x: np.linalg.slogdet(x).sign, x):
        assert np.all(jac == 0)


def test_pinv_of_an_exactly_rank_deficient_matrix_holds_the_rank():
    """At rank 1 the derivative along rank-preserving directions exists: pinv(c A) = pinv(A) / c."""
    a = np.outer([1.0, 2.0, -1.0], [0.5, 1.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error", NearlyDegenerateWarning)    # the kept part is well conditioned
        _, t = cr.jvp(np.linalg.pinv, (a,), (a,))                     # d/dc pinv(c a) at c = 1
    np.testing.assert_allclose(t, -np.linalg.pinv(a), atol=1e-12)
