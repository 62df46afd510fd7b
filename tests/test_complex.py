"""Complex values: the safety gate, complex inputs, the bilinear pairing, and the complex-safe rules.

Convention (JAX's): tangents and adjoints of complex values are complex, and the VJP is the transpose
under the bilinear pairing <a, b> = Re(sum(a * b)) -- no conjugation inside the rules.  So the
reverse-vs-forward identity tested here is Re<v, J u> == Re<J^T v, u>, for u in the real and in the
imaginary direction of each input.
"""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import NotDifferentiableError

RNG = np.random.default_rng(11)


def _hermitian(n):
    a = RNG.normal(size=(n, n)) + 1j * RNG.normal(size=(n, n))
    return a + a.conj().T


def _fd(f, x, h=1e-6):
    return (f(x + h) - f(x - h)) / (2 * h)


# -- 1. the safety gate --------------------------------------------------------------------------

H4 = _hermitian(4)


def _eigh_example(t):
    return np.linalg.eigh(H4 + t * np.diag(np.arange(4.0)))[0][0]


@pytest.mark.parametrize("transform", [cr.grad, cr.jacfwd, cr.jacrev, cr.jacobian])
def test_the_eigh_example_is_right(transform):
    # the example: a real function of a real t through a complex Hermitian matrix
    want = _fd(_eigh_example, 0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                    # no ComplexWarning: nothing is cast
        got = transform(_eigh_example)(0.3)
    assert np.isrealobj(got)
    assert abs(got - want) < 1e-6 * max(1.0, abs(want))


@pytest.mark.parametrize("transform", [cr.grad, cr.jacfwd, cr.jacrev])
def test_a_rule_not_known_to_be_complex_safe_refuses_instead_of_answering(transform):
    b = np.arange(1.0, 5.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(NotDifferentiableError, match=r"numpy\.maximum.*complex"):
            transform(lambda t: np.real(np.maximum(np.linalg.solve(H4 + t * np.eye(4), b), 0.1)[0]))(0.3)


def test_hermitian_eigenvalues_and_phase_invariant_eigenvector_functions():
    from chainrule.testing import check_grads
    check_grads(lambda a: np.linalg.eigvalsh(a), (H4,), order=2)
    check_grads(lambda a: np.linalg.eigh(a)[0], (H4,), order=2)
    check_grads(lambda a: np.abs(np.linalg.eigh(a, UPLO="U")[1]) ** 2, (H4,), order=1)


def test_a_rule_that_is_not_complex_safe_refuses_complex_values():
    z0 = 1.0 + 2.0j
    with pytest.raises(NotDifferentiableError, match="complex"):
        cr.grad(lambda x: np.maximum(x * z0, 1.0).real)(0.5)
    from chainrule import extend
    sinc_p = extend.elementwise(extend.Primitive("sinc with a rule for real values", np.sinc),   # no complex_ok
                                lambda out, x: (np.cos(np.pi * x) - out) / x)
    with pytest.raises(NotDifferentiableError, match="complex arguments"):
        cr.jacfwd(lambda x: extend.bind(sinc_p, (x * z0,)).real)(np.ones(3))


def test_real_function_through_complex_multiply_is_right_in_both_modes():
    # f(x) = Re((2 + i) exp(i x)) = 2 cos x - sin x: a real function with complex intermediates
    f = lambda x: np.real(np.exp(1j * x) * (2 + 1j))      # noqa: E731
    x = 0.7
    want = -2 * np.sin(x) - np.cos(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for d in (cr.grad(f)(x), cr.jacfwd(f)(x), cr.jacrev(f)(x)):
            assert np.isrealobj(d)
            assert abs(d - want) < 1e-12
    assert abs(_fd(f, x) - want) < 1e-7


# -- 2. complex inputs, the bilinear pairing, holomorphic=True -----------------------------------------------------

Z = np.array([1.0 + 2.0j, -0.5 + 0.3j, 0.7 - 1.1j])


def _directional_fd(f, z, u, h=1e-6):
    return (f(z + h * u) - f(z - h * u)) / (2 * h)


def test_grad_of_abs_squared_is_twice_the_conjugate():
    g = cr.grad(lambda z: np.sum(np.abs(z) ** 2))(Z)
    np.testing.assert_allclose(g, 2 * np.conj(Z), rtol=1e-14)
    # the convention stated: Re(sum(g * u)) is the directional derivative, for real and imaginary u
    f = lambda z: np.sum(np.abs(z) ** 2)                  # noqa: E731
    for u in (np.eye(3)[1], 1j * np.eye(3)[2]):
        assert abs(np.real(np.sum(g * u)) - _directional_fd(f, Z, u)) < 1e-7


def test_holomorphic_grad_is_the_complex_derivative():
    z = 0.3 + 0.4j
    assert abs(cr.grad(np.sin, holomorphic=True)(z) - np.cos(z)) < 1e-14
    with pytest.raises(cr.OutputDtypeError, match="holomorphic=True"):
        cr.grad(np.sin)(z)
    with pytest.raises(cr.InputDtypeError, match="holomorphic=True"):
        cr.jacfwd(np.abs)(Z)
    with pytest.raises(cr.OutputDtypeError, match="holomorphic=True"):
        cr.jacrev(np.exp)(Z)


@pytest.mark.parametrize("transform", [cr.jacfwd, cr.jacrev, cr.jacobian])
def test_holomorphic_jacobian_satisfies_cauchy_riemann(transform):
    f = lambda z: np.exp(z) * np.sin(z[::-1]) + z ** 2        # noqa: E731
    jac = transform(f, holomorphic=True)(Z)
    # f = u + i v on z = x + i y: du/dx = dv/dy and du/dy = -dv/dx, each column by central differences
    h = 1e-6
    for k in range(3):
        e = np.eye(3)[k]
        dx = (f(Z + h * e) - f(Z - h * e)) / (2 * h)
        dy = (f(Z + 1j * h * e) - f(Z - 1j * h * e)) / (2 * h)
        np.testing.assert_allclose(dx.real, dy.imag, atol=1e-7)
        np.testing.assert_allclose(dy.real, -dx.imag, atol=1e-7)
        np.testing.assert_allclose(jac[:, k], dx, atol=1e-7)


def test_real_function_of_complex_input_jacrev_and_jacobian_agree_with_finite_differences():
    f = lambda z: np.abs(z) * np.angle(z) + np.real(z * z) - np.imag(np.conj(z) ** 3)   # noqa: E731
    jr = cr.jacrev(f)(Z)
    ja = cr.jacobian(f)(Z)
    for k in range(3):
        for u in (np.eye(3)[k], 1j * np.eye(3)[k]):
            np.testing.assert_allclose(np.real(jr @ u), _directional_fd(f, Z, u), atol=1e-6)
    np.testing.assert_allclose(ja, jr, rtol=1e-14)


def test_complex64_stays_single_precision():
    z = Z.astype(np.complex64)
    assert cr.grad(lambda z: np.sum(np.abs(z) ** 2))(z).dtype == np.complex64
    assert cr.jacfwd(np.sin, holomorphic=True)(z).dtype == np.complex64
    gz, gx = cr.grad(lambda z, x: np.sum(np.abs(z * x) ** 2), argnums=(0, 1))(z, np.float32(2.0))
    assert gz.dtype == np.complex64 and gx.dtype == np.float32


def test_jvp_and_vjp_of_complex_values_satisfy_the_bilinear_identity():
    rng = np.random.default_rng(3)

    def f(z):
        return np.exp(z) / (1 + z * z) + np.conj(z) * np.sqrt(z) + np.abs(z) * np.log(z)
    u = rng.normal(size=3) + 1j * rng.normal(size=3)
    v = rng.normal(size=3) + 1j * rng.normal(size=3)
    out, ju = cr.jvp(f, (Z,), (u,))
    np.testing.assert_allclose(ju, _directional_fd(f, Z, u), rtol=1e-6, atol=1e-7)
    _, pullback = cr.vjp(f, Z)
    (jtv,) = pullback(v)
    assert abs(np.real(np.sum(v * ju)) - np.real(np.sum(jtv * u))) < 1e-10


# -- second order over complex inputs: hessian and hvp ------------------------------------------------------------

def test_hessian_of_abs_squared_by_hand():
    # grad(|z|^2) = 2 conj(z): d/dRe z = 2, d/dIm z = -2i, for each entry on the diagonal
    H = cr.hessian(lambda z: np.sum(np.abs(z) ** 2))(Z)
    assert H.shape == (3, 3, 2)
    np.testing.assert_allclose(H[..., 0], 2 * np.eye(3), atol=1e-14)
    np.testing.assert_allclose(H[..., 1], -2j * np.eye(3), atol=1e-14)


def test_hessian_over_complex_inputs_is_the_real_hessian_of_the_real_and_imaginary_parts():
    # f(z) real; g(x, y) = f(x + iy) is the same function of real inputs, whose Hessian goes the real way.
    # With grad = f_x - i f_y, the blocks are H[..., 0] = f_xx - i f_yx and H[..., 1] = f_xy - i f_yy.
    W = np.array([[1.0, 0.5j, 0.0], [0.2, -1.0, 0.3 + 0.1j], [0.0, 0.4j, 2.0]])

    def f(z):
        return np.sum(np.abs(W @ np.sin(z)) ** 2) + np.real(np.prod(z)) * np.var(z)
    H = cr.hessian(f)(Z)
    real = cr.hessian(lambda x, y: f(x + 1j * y), argnums=(0, 1))(Z.real, Z.imag)
    np.testing.assert_allclose(H[..., 0].real, real[0][0], atol=1e-12)
    np.testing.assert_allclose(-H[..., 0].imag, real[1][0], atol=1e-12)
    np.testing.assert_allclose(H[..., 1].real, real[0][1], atol=1e-12)
    np.testing.assert_allclose(-H[..., 1].imag, real[1][1], atol=1e-12)
    v = np.array([0.3 - 0.2j, 1.0j, -0.5])
    np.testing.assert_allclose(cr.hvp(f, Z, v), H[..., 0] @ v.real + H[..., 1] @ v.imag, atol=1e-12)


def test_hessian_of_mixed_real_and_complex_arguments_and_a_scalar():
    f = lambda z, x: np.abs(z) ** 2 * x + np.real(z ** 3) * x ** 2     # noqa: E731
    z, x = 0.4 - 0.9j, 1.3
    (hzz, hzx), (hxz, hxx) = cr.hessian(f, argnums=(0, 1))(z, x)
    g = cr.grad(f, argnums=(0, 1))
    h = 1e-6
    for k, d in enumerate((1.0, 1j)):                      # the real and the imaginary direction of z
        fd = [(a - b) / (2 * h) for a, b in zip(g(z + h * d, x), g(z - h * d, x))]
        np.testing.assert_allclose([hzz[k], hxz[k]], fd, atol=1e-7)
    fd = [(a - b) / (2 * h) for a, b in zip(g(z, x + h), g(z, x - h))]
    np.testing.assert_allclose([hzx, hxx], fd, atol=1e-7)
    assert np.isrealobj(hxz) and np.isrealobj(hxx) and np.iscomplexobj(hzx)


def test_holomorphic_hessian_is_the_complex_second_derivative():
    H = cr.hessian(lambda z: np.sum(np.sin(z) * z[0]), holomorphic=True)(Z)
    want = np.diag(-np.sin(Z) * Z[0])
    want[0, :] += np.cos(Z)
    want[:, 0] += np.cos(Z)
    np.testing.assert_allclose(H, want, atol=1e-13)
    with pytest.raises(cr.OutputDtypeError, match="holomorphic=True"):
        cr.hessian(lambda z: np.sum(np.sin(z)))(Z)          # a complex output without holomorphic=True


def test_check_grads_at_second_order_over_complex_reductions():
    from chainrule.testing import check_grads
    check_grads(lambda z: np.var(z, axis=0) * np.prod(z, axis=1)[:, None] + np.cumprod(z, axis=0), (A3,), order=2)


A3 = np.array([[0.6 + 0.8j, -0.4 + 1.2j], [0.9 + 0.2j, 0.5 - 0.7j], [1.1 - 0.3j, -1.3 + 0.4j]])


# -- 3. every complex-safe rule at complex points: the table in tests/cases_complex.py, run by
# tests/test_complex_points.py (forward against differences in both directions, the bilinear identity,
# second order through hessian, batched against single directions) ---------------------------------------------

def test_check_grads_moves_complex_inputs_in_complex_directions_and_catches_a_wrong_rule():
    from chainrule.core import primitive_of
    from chainrule.testing import check_grads
    check_grads(lambda z: np.exp(z) * np.conj(z) + np.abs(z), (Z,), order=2)
    check_grads(lambda z, x: np.sin(z) * x, (Z, np.array([0.3, 0.4, -0.2])), order=2)
    prim = primitive_of(np.conjugate)
    right = prim.vjps
    prim.vjps = (lambda g, vals, params: g,)              # the adjoint without its conjugation: wrong
    try:
        with pytest.raises(AssertionError, match="reverse-mode"):
            check_grads(lambda z: np.conj(z) * 2, (Z,), order=1)
    finally:
        prim.vjps = right


# -- 4. np.fft -------------------------------------------------------------------------------------------------------
SIG = RNG.normal(size=(3, 6))
SPEC = RNG.normal(size=(3, 6)) + 1j * RNG.normal(size=(3, 6))
NORMS = [None, "backward", "ortho", "forward"]


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("n", [4, 5, 6, 9, 12])          # even and odd, shorter and longer than the 6 samples
def test_one_dimensional_transforms_at_every_length_and_norm(n, norm):
    from chainrule.testing import check_grads
    check_grads(lambda x: np.fft.rfft(x, n=n, norm=norm), (SIG,), order=1)
    check_grads(lambda z: np.fft.irfft(z, n=n, norm=norm), (SPEC,), order=1)
    check_grads(lambda z: np.fft.fft(z, n=n, axis=0, norm=norm), (SPEC,), order=1)
    check_grads(lambda z: np.fft.ifft(z, n=n, norm=norm), (SPEC,), order=1)
    check_grads(lambda z: np.fft.hfft(z, n=n, norm=norm), (SPEC,), order=1)
    check_grads(lambda x: np.fft.ihfft(x, n=n, norm=norm), (SIG,), order=1)


@pytest.mark.parametrize("norm", NORMS)
def test_multidimensional_transforms_to_second_order(norm):
    from chainrule.testing import check_grads
    check_grads(lambda z: np.fft.fftn(z, s=(4, 3), axes=(0, 1), norm=norm), (SPEC,), order=2)
    check_grads(lambda z: np.fft.ifft2(z, s=(2, 7), norm=norm), (SPEC,), order=2)
    check_grads(lambda x: np.fft.rfftn(x, s=(2, 7), axes=(0, 1), norm=norm), (SIG,), order=2)
    check_grads(lambda x: np.fft.rfft2(x, norm=norm), (SIG,), order=2)
    check_grads(lambda z: np.fft.irfftn(z, s=(4, 5), axes=(0, 1), norm=norm), (SPEC,), order=2)
    check_grads(lambda z: np.fft.irfft2(z, norm=norm), (SPEC,), order=2)
    check_grads(lambda z: np.fft.ifftshift(np.fft.fftshift(z, axes=1) * np.arange(6.0), axes=0), (SPEC,), order=1)


@pytest.mark.parametrize("n", [4, 5, 7, 8])
def test_round_trips_have_identity_jacobians(n):
    x = RNG.normal(size=n)
    for transform in (cr.jacfwd, cr.jacrev):
        np.testing.assert_allclose(transform(lambda x: np.fft.irfft(np.fft.rfft(x), n))(x), np.eye(n), atol=1e-12)
        np.testing.assert_allclose(transform(lambda x: np.real(np.fft.ifft(np.fft.fft(x))))(x), np.eye(n), atol=1e-12)
    z = x + 1j * RNG.normal(size=n)
    np.testing.assert_allclose(cr.jacfwd(lambda z: np.fft.ifft(np.fft.fft(z)), holomorphic=True)(z), np.eye(n),
                               atol=1e-12)


def test_parseval_gradient_and_a_spectral_loss_in_both_modes():
    x = RNG.normal(size=9)
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(np.abs(np.fft.fft(x)) ** 2))(x), 2 * 9 * x, rtol=1e-12)
    w = np.linspace(0.5, 2.0, 6)

    def loss(x):
        return np.sum(w * np.abs(np.fft.rfft(x, n=10)) ** 2)
    h = 1e-6
    fd = np.array([(loss(x + h * e) - loss(x - h * e)) / (2 * h) for e in np.eye(9)])
    np.testing.assert_allclose(cr.grad(loss)(x), fd, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(cr.jacfwd(loss)(x), fd, rtol=1e-6, atol=1e-6)


def test_rfft_of_a_complex_array_is_refused():
    with pytest.raises(NotDifferentiableError, match="rfft"):
        cr.grad(lambda x: np.sum(np.abs(np.fft.rfft(x * (1 + 1j)))))(SIG[0])


def test_jacobians_that_cannot_hold_complex_values_refuse_them():
    f = lambda x: np.sum(x * x) * (1 + 2j) + x[:2]          # noqa: E731  (real input, complex output)
    x = np.linspace(0.1, 1.0, 50)
    np.testing.assert_allclose(cr.jacobian(f, mode="forward")(x), cr.jacfwd(f)(x))
    assert cr.jacfwd(f)(x)[0, 0] == 2 * x[0] * (1 + 2j) + 1
    with pytest.raises(cr.OutputDtypeError, match="holomorphic=True"):
        cr.jacobian(f)(x)                                   # reverse mode (m = 2 < n = 50): real seeds only
    with pytest.raises(cr.InputDtypeError, match="sparse"):
        cr.sparse_jacobian(lambda z: np.abs(z) ** 2)(Z)
