"""Linear algebra on complex matrices, and np.linalg.eig / eigvals.

Convention (JAX's, see tests/test_complex.py): the VJP is the transpose under the bilinear pairing
Re(sum(a * b)).  Every function here is checked at complex points: forward mode against central
differences in the real and in the imaginary direction of every input element, reverse mode against
forward mode by Re<v, J u> == Re<J^T v, u>.  Eigenvectors and singular vectors are defined up to a
phase per column (LAPACK picks one), so only phase-invariant functions of them are compared with
differences: |v|^2, a column over its first entry, u_k vh_k.
"""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import NearlyDegenerateWarning, NotDifferentiableError
from chainrule.testing import check_batching, check_grads

from .cases import NUMPY2

RNG = np.random.default_rng(20261129)


def _c(*shape):
    return RNG.normal(size=shape) + 1j * RNG.normal(size=shape)


def _cat(*xs):
    return np.concatenate([np.ravel(x) for x in xs])


def _H(x):
    return np.conj(np.swapaxes(x, -1, -2))


SQ = _c(3, 3) + 3.0 * np.eye(3)          # well conditioned, distinct eigenvalues
SQS = _c(2, 3, 3) + 3.0 * np.eye(3)      # a stack
TALL, WIDE, RHS = _c(4, 3), _c(2, 4), _c(3, 2)
REAL_NONSYM = RNG.normal(size=(4, 4))    # real, non-symmetric: a complex pair or real eigenvalues


def _eig_features(a):
    w, v = np.linalg.eig(a)
    return _cat(w, np.abs(v) ** 2, v / v[..., :1, :])       # invariant under v_k -> e^(i t) v_k


def _svd_features(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return _cat(s, u[..., :, :1] * vh[..., :1, :], u[..., :, 1:2] * vh[..., 1:2, :], np.abs(u) ** 2,
                np.abs(vh) ** 2)


def _pd(a):
    return a @ _H(a) + np.eye(a.shape[-1], dtype=a.dtype)


CASES = [
    ("inv", np.linalg.inv, (SQ,)),
    ("inv of a stack", np.linalg.inv, (SQS,)),
    ("solve matrix", np.linalg.solve, (SQ, RHS)),
    ("solve vector", np.linalg.solve, (SQ, RHS[:, 0])),
    ("solve stacked", np.linalg.solve, (SQS, _c(2, 3, 2))),
    ("solve real a, complex b", lambda a, b: np.linalg.solve(np.real(a), b), (SQ, RHS)),
    ("solve complex a, real b", lambda a, b: np.linalg.solve(a, np.real(b)), (SQ, RHS)),
    ("det", np.linalg.det, (SQ,)),
    ("det of a stack", np.linalg.det, (SQS,)),
    ("slogdet (complex sign)", lambda a: _cat(*np.linalg.slogdet(a)), (SQS,)),
    ("cholesky", lambda a: np.linalg.cholesky(_pd(a)), (SQ,)),
    ("cholesky reads the lower triangle", lambda a: np.linalg.cholesky(a + 6.0 * np.eye(3)), (SQ,)),
    ("cholesky upper, stacked", lambda a: np.linalg.cholesky(_pd(a), upper=True), (SQS,)),
    ("svd tall", _svd_features, (TALL,)),
    ("svd wide", _svd_features, (WIDE,)),
    ("svd square stack", _svd_features, (SQS,)),
    ("svd full_matrices=True, square, reconstructs", lambda a: (lambda u, s, vh: (u * s[None]) @ vh)(
        *np.linalg.svd(a)), (SQ,)),
    ("singular values", lambda a: np.linalg.svd(a, compute_uv=False), (WIDE,)),
    ("qr", lambda a: _cat(*np.linalg.qr(a)), (TALL,)),
    ("qr square stack", lambda a: _cat(*np.linalg.qr(a)), (SQS,)),
    ("qr mode r", lambda a: np.linalg.qr(a, mode="r"), (TALL,)),
    ("pinv wide", np.linalg.pinv, (WIDE,)),
    ("pinv tall", np.linalg.pinv, (TALL,)),
    ("lstsq", lambda a, b: _cat(*np.linalg.lstsq(a, b, rcond=None)[:2]), (_c(5, 3), _c(5, 2))),
    ("lstsq singular values", lambda a, b: np.linalg.lstsq(a, b, rcond=None)[3], (_c(5, 3), _c(5, 2))),
    ("matrix_power, multi_dot", lambda a, b: np.linalg.multi_dot([np.linalg.matrix_power(a, -2), b, b.T]),
     (SQ, RHS)),
    ("eig", _eig_features, (SQ,)),
    ("eig of a stack", _eig_features, (SQS,)),
    ("eig of a real input", lambda a: _eig_features(np.real(a) + np.diag([0.0, 1.0, 2.0])), (SQ,)),
    ("eigvals", np.linalg.eigvals, (SQS,)),
] + [(f"matrix norm ord={o}", lambda a, o=o: np.linalg.norm(a, ord=o), (TALL,))
     for o in (None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf)] + [
    (f"vector norm ord={o}", lambda a, o=o: np.linalg.norm(a, ord=o, axis=-1), (TALL,))
    for o in (None, 0, 1, -1, 2, 3, 0.5, np.inf, -np.inf)] + [
    ("norm, axis=None, keepdims", lambda a: np.linalg.norm(a, keepdims=True), (SQS,)),
    ("norm over axes (0, 2) of a stack", lambda a: np.linalg.norm(a, ord="nuc", axis=(0, 2)), (SQS,)),
]


def _directional_fd(f, args, i, u, h):
    plus = f(*[a + h * u if j == i else a for j, a in enumerate(args)])
    minus = f(*[a - h * u if j == i else a for j, a in enumerate(args)])
    return (plus - minus) / (2 * h)


def _check_at_complex_point(f, args, h=1e-6, tol=1e-6):
    rng = np.random.default_rng(1)
    out = f(*args)
    v = rng.normal(size=np.shape(out)) + (1j * rng.normal(size=np.shape(out)) if np.iscomplexobj(out) else 0)
    _, pullback = cr.vjp(f, *args)
    adjoints = pullback(v)
    for i, x in enumerate(args):
        assert adjoints[i].dtype == x.dtype                   # a complex input gets a complex adjoint, a real one a real one
        for k in range(x.size):
            for step in (1.0, 1j):                          # the real and the imaginary direction of element k
                u = np.zeros(x.shape, dtype=complex)
                u.flat[k] = step
                tangents = tuple(u if j == i else np.zeros_like(a) for j, a in enumerate(args))
                _, ju = cr.jvp(f, args, tangents)
                np.testing.assert_allclose(ju, _directional_fd(f, args, i, u, h), rtol=tol, atol=tol)
                lhs, rhs = np.real(np.sum(v * ju)), np.real(np.sum(adjoints[i] * u))
                assert abs(lhs - rhs) < 1e-9 * max(1.0, abs(lhs)), (lhs, rhs)


@pytest.mark.parametrize("name, f, args", CASES, ids=[c[0] for c in CASES])
def test_complex_linear_algebra_at_complex_points(name, f, args):
    if "upper" in name and not NUMPY2:
        pytest.skip("np.linalg.cholesky(upper=) is new in NumPy 2.0")
    with warnings.catch_warnings():
        warnings.simplefilter("error")                      # no ComplexWarning, no degeneracy warning
        _check_at_complex_point(f, args)


SECOND_ORDER = ["inv", "solve matrix", "det", "slogdet (complex sign)", "cholesky", "svd tall", "svd wide",
                "qr", "pinv wide", "eig", "eigvals", "matrix norm ord=nuc", "vector norm ord=3"]


@pytest.mark.parametrize("name", SECOND_ORDER)
def test_second_order_at_complex_points(name):
    f, args = next((c[1], c[2]) for c in CASES if c[0] == name)
    check_grads(f, args, order=2)


# The table's functions on real and imaginary parts passed separately: real functions of real inputs, so
# that jacfwd / jacrev push all directions in one batch and check_batching compares them with one at a time.
@pytest.mark.parametrize("name", ["solve stacked", "slogdet (complex sign)", "cholesky", "svd tall", "qr",
                                  "pinv wide", "eig of a stack", "eigvals", "matrix norm ord=2"])
def test_batched_directions_equal_single_ones(name):
    f, args = next((c[1], c[2]) for c in CASES if c[0] == name)
    a, rest = args[0], args[1:]

    def split(re, im):
        out = f(re + 1j * im, *rest)
        return _cat(np.real(out), np.imag(out)) if out.dtype.kind == "c" else out
    check_batching(split, (np.real(a), np.imag(a)))


# -- eig --------------------------------------------------------------------------------------------------

def _fd(f, x, u, h=1e-6):
    return (f(x + h * u) - f(x - h * u)) / (2 * h)


def _directions(f, a):
    """Each unit direction of ``a`` (and i times it for a complex ``a``) with f's central difference along it."""
    steps = (1.0,) if not np.iscomplexobj(a) else (1.0, 1j)
    for k in range(a.size):
        for step in steps:
            u = np.zeros(a.shape, dtype=a.dtype)
            u.flat[k] = step
            yield u, _fd(f, a, u)


@pytest.mark.parametrize("a", [REAL_NONSYM, _c(4, 4)], ids=["real non-symmetric", "complex"])
def test_eigenvalue_derivatives_against_finite_differences(a):
    # a real function of the eigenvalues, in every direction of every element, in both modes
    weights = np.arange(1.0, 5.0)

    def f(a):
        w = np.linalg.eigvals(a)
        return np.sum(weights * (np.real(w) ** 2 + 3 * np.imag(w)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = cr.grad(f)(a)
        gf = cr.jacfwd(f)(a) if not np.iscomplexobj(a) else None
    assert g.dtype == a.dtype
    for u, want in _directions(f, a):
        assert abs(np.real(np.sum(g * u)) - want) < 1e-6 * max(1.0, abs(want))
        if gf is not None:
            assert abs(np.sum(gf * u) - want) < 1e-6 * max(1.0, abs(want))


def test_eigenvalues_are_holomorphic_and_their_jacobian_is_the_complex_derivative():
    a = _c(3, 3)
    for transform in (cr.jacfwd, cr.jacrev):
        jac = transform(np.linalg.eigvals, holomorphic=True)(a)
        for k in range(a.size):
            e = np.zeros(a.shape)
            e.flat[k] = 1.0
            dx, dy = _fd(np.linalg.eigvals, a, e), _fd(np.linalg.eigvals, a, 1j * e)
            np.testing.assert_allclose(dy, 1j * dx, atol=1e-6)          # Cauchy-Riemann
            np.testing.assert_allclose(jac.reshape(3, -1)[:, k], dx, atol=1e-6)
    # eig's eigenvalues are those of eigvals, with the same derivative
    np.testing.assert_allclose(cr.jacfwd(lambda a: np.linalg.eig(a)[0], holomorphic=True)(a), jac, atol=1e-10)


def test_first_order_eigenvalue_perturbation_by_hand():
    # the textbook formula with left eigenvectors: dw_k = (y_k^T dA x_k) / (y_k^T x_k), y_k^T = rows of V^-1
    a = _c(4, 4)
    w, v = np.linalg.eig(a)
    y = np.linalg.inv(v)
    da = _c(4, 4)
    want = np.array([y[k] @ da @ v[:, k] for k in range(4)])          # y_k^T x_k = 1 for rows of V^-1
    _, got = cr.jvp(np.linalg.eigvals, (a,), (da,))
    np.testing.assert_allclose(got, want, rtol=1e-10)


@pytest.mark.parametrize("a", [REAL_NONSYM, _c(4, 4)], ids=["real non-symmetric", "complex"])
def test_a_phase_invariant_function_of_the_eigenvectors(a):
    def f(a):
        w, v = np.linalg.eig(a)
        return np.sum(np.abs(v) ** 2 * np.arange(1.0, 5.0)[:, None] * np.real(w)) + np.sum(np.abs(v[0] / v[1]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = cr.grad(f)(a)
    for u, want in _directions(f, a):
        assert abs(np.real(np.sum(g * u)) - want) < 1e-6 * max(1.0, abs(want))
        _, t = cr.jvp(f, (a,), (u,))
        assert abs(t - want) < 1e-6 * max(1.0, abs(want))


def test_eigenvector_derivatives_keep_unit_norm_and_fix_the_phase():
    # the gauge: Re(v_k^H dv_k) = 0 (unit norm) and Im((V^-1 dV)_kk) = 0 (the phase)
    a, da = _c(4, 4), _c(4, 4)
    (w, v), (dw, dv) = cr.jvp(np.linalg.eig, (a,), (da,))
    np.testing.assert_allclose(np.real(np.sum(np.conj(v) * dv, axis=0)), 0, atol=1e-12)
    np.testing.assert_allclose(np.imag(np.diag(np.linalg.inv(v) @ dv)), 0, atol=1e-12)
    # and A V = V diag(w) holds to first order: dA V + A dV = dV diag(w) + V diag(dw)
    np.testing.assert_allclose(da @ v + a @ dv, dv * w + v * dw, atol=1e-10)


def test_real_input_gives_complex_outputs_and_real_derivatives():
    a = np.array([[0.3, 1.5, 0.2], [-1.5, 0.1, 0.4], [0.0, 0.3, 0.9]])           # a complex pair
    w = np.linalg.eigvals(a)
    assert np.iscomplexobj(w)
    f = lambda a: np.imag(np.linalg.eigvals(a)) @ np.array([1.0, 2.0, 3.0])     # noqa: E731
    fd = np.array([_fd(f, a, e) for e in np.eye(9).reshape(9, 3, 3)]).reshape(3, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                      # nothing cast from complex to real
        for jac in (cr.jacfwd(f)(a), cr.jacrev(f)(a), cr.grad(f)(a)):
            assert np.isrealobj(jac)
            np.testing.assert_allclose(jac, fd, atol=1e-7)


def test_nearly_repeated_eigenvalues_warn_like_eigh():
    a = np.array([[1.0, 1.0], [0.0, 1.0 + 1e-10]])
    with pytest.warns(NearlyDegenerateWarning, match="numpy.linalg.eig.*nearly repeated eigenvalues"):
        cr.grad(lambda a: np.real(np.linalg.eigvals(a)[0]))(a)
    with pytest.warns(NearlyDegenerateWarning, match="numpy.linalg.eig"):
        cr.jacfwd(lambda a: np.abs(np.linalg.eig(a)[1]))(a)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cr.grad(lambda a: np.real(np.linalg.eigvals(a)[0]))(a + np.diag([0.0, 0.1]))


def test_eig_of_a_non_square_matrix_is_refused_as_numpy_does():
    with pytest.raises(np.linalg.LinAlgError, match="square"):
        cr.grad(lambda a: np.real(np.linalg.eigvals(a)[0]))(np.ones((2, 3)))


def test_eig_results_have_numpy_names_and_values():
    a = _c(3, 3)
    (w, v), _ = cr.jvp(lambda a: tuple(np.linalg.eig(a)), (a,), (a,))
    w_np, v_np = np.linalg.eig(a)
    np.testing.assert_array_equal(w, w_np)
    np.testing.assert_array_equal(v, v_np)
    np.testing.assert_allclose(np.linalg.norm(v, axis=0), 1.0)
    if hasattr(np.linalg.eig(a), "eigenvectors"):
        out = cr.jvp(lambda a: np.linalg.eig(a).eigenvectors, (a,), (a,))[0]
        np.testing.assert_array_equal(out, v_np)


# -- dtypes -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["inv", "solve matrix", "det", "slogdet (complex sign)", "cholesky", "svd tall",
                                  "qr", "pinv wide", "eig", "eigvals", "matrix norm ord=nuc"])
def test_complex64_in_complex64_out(name):
    f, args = next((c[1], c[2]) for c in CASES if c[0] == name)

    def loss(*a):
        out = f(*a)
        return np.sum(np.real(out) ** 2 + np.imag(out))
    g128 = cr.grad(loss, argnums=tuple(range(len(args))))(*args)
    args64 = tuple(a.astype(np.complex64) for a in args)
    g64 = cr.grad(loss, argnums=tuple(range(len(args))))(*args64)
    for a, b in zip(g64, g128):
        assert a.dtype == np.complex64
        np.testing.assert_allclose(a, b, rtol=2e-3, atol=2e-3 * np.max(np.abs(b)))
    _, t = cr.jvp(f, args64, args64)
    assert all(np.asarray(x).dtype in (np.complex64, np.float32) for x in (t if isinstance(t, tuple) else (t,)))


def test_float32_through_eig_stays_single_precision():
    a = REAL_NONSYM.astype(np.float32)
    f = lambda a: np.sum(np.abs(np.linalg.eigvals(a)) ** 2)          # noqa: E731
    g = cr.grad(f)(a)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, cr.grad(f)(REAL_NONSYM), rtol=1e-3, atol=1e-3)


# -- real functions of real inputs through complex linear algebra ------------------------------------------------

H4 = _c(4, 4) + 4.0 * np.eye(4)
B4 = _c(4)


def _through_complex_solve(x):
    # real x -> a complex system -> a real number
    z = np.linalg.solve(H4 + np.diag(x) * (1 + 0.5j), B4 * x[0])
    return np.sum(np.abs(z) ** 2) + np.real(np.linalg.det(H4 + x[1] * np.eye(4))) * 1e-2


@pytest.mark.parametrize("transform", [cr.grad, cr.jacfwd, cr.jacrev, cr.jacobian])
def test_a_real_function_through_complex_solve(transform):
    x = np.array([0.3, -0.7, 1.1, 0.5])
    fd = np.array([_fd(_through_complex_solve, x, e) for e in np.eye(4)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")                      # no ComplexWarning: nothing is cast
        got = transform(_through_complex_solve)(x)
    assert np.isrealobj(got) and got.dtype == np.float64
    np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-7)


def test_real_functions_of_real_inputs_through_every_complex_factorisation():
    x = np.linspace(0.2, 1.3, 9).reshape(3, 3)
    phase = np.exp(1j * np.arange(9.0).reshape(3, 3))

    def f(x):
        z = x * phase + 2.0 * np.eye(3)
        u, s, vh = np.linalg.svd(z)
        q, r = np.linalg.qr(z)
        w, v = np.linalg.eig(z)
        sign, logdet = np.linalg.slogdet(z)
        return (np.sum(s) + np.sum(np.abs(u[:, :1] * vh[:1]) ** 2) + np.sum(np.abs(q[:, :1] * r[0, 0])) + np.real(sign)
                + logdet + np.linalg.norm(np.linalg.pinv(z), "nuc") + np.sum(np.abs(v) ** 4)
                + np.real(np.linalg.cholesky(z @ _H(z)).sum()) + np.linalg.norm(z, 2) + np.sum(np.imag(w)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_grads(f, (x,), order=2)
        g = cr.grad(f)(x)
    assert np.isrealobj(g)
    fd = np.array([_fd(f, x, e.reshape(3, 3)) for e in np.eye(9)]).reshape(3, 3)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-6)


def test_the_third_derivative_of_a_complex_determinant_is_refused():
    f = lambda a: np.linalg.det(a)                          # noqa: E731
    check_grads(f, (SQ,), order=2)
    third = cr.jacfwd(cr.jacfwd(cr.jacfwd(f, holomorphic=True), holomorphic=True), holomorphic=True)
    with pytest.raises(NotDifferentiableError, match="numpy.linalg.det.*third order"):
        third(SQ[:2, :2])
    x = np.real(SQ)                                         # real matrices: to any order
    check_grads(lambda a: cr.jacfwd(f)(a), (x,), order=2)


def test_the_eig_benchmark_checks_its_jacobian_before_timing():
    from benchmarks.complex_eig import eig_case
    t = eig_case(n=6, peers={}, quick=True)                 # no peers: chainrule against differences only
    assert set(t) == {"numpy f", "chainrule jacrev"} and all(s > 0 for s in t.values())


def test_hessian_of_a_real_function_through_eig_of_a_real_matrix():
    a = np.array([[0.3, 1.5, 0.2], [-1.5, 0.1, 0.4], [0.0, 0.3, 0.9]])           # a complex pair

    def f(a):
        w, v = np.linalg.eig(a)
        return np.sum(np.imag(w) ** 2) + np.sum(np.abs(v[0]) ** 2)
    hess = cr.hessian(f)(a).reshape(9, 9)
    g, h = cr.grad(f), 1e-5
    fd = np.array([(g(a + h * e) - g(a - h * e)) / (2 * h) for e in np.eye(9).reshape(9, 3, 3)]).reshape(9, 9)
    np.testing.assert_allclose(hess, fd.T, atol=1e-7)
    np.testing.assert_allclose(hess, hess.T, atol=1e-10)                    # symmetric, as a Hessian must be


def test_an_integer_matrix_beside_a_traced_complex_right_hand_side():
    a = np.array([[2, 1], [0, 3]])                          # a plain integer matrix: the frontends read its dtype
    b = np.array([1.0 + 0.5j, -0.3 + 2.0j])
    g = cr.grad(lambda b: np.sum(np.abs(np.linalg.solve(a, b)) ** 2))(b)
    x = np.linalg.solve(a, b)
    np.testing.assert_allclose(g, 2 * np.linalg.solve(a.T, np.conj(x)), rtol=1e-12)   # d|x|^2 = 2 Re(conj(x) dx)
