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
        with pytest.raises(NotDifferentiableError, match=r"numpy\.linalg\.solve.*complex arguments"):
            transform(lambda t: np.real(np.linalg.solve(H4 + t * np.eye(4), b)[0]))(0.3)


def test_hermitian_eigenvalues_and_phase_invariant_eigenvector_functions():
    from chainrule.testing import check_grads
    check_grads(lambda a: np.linalg.eigvalsh(a), (H4,), order=2)
    check_grads(lambda a: np.linalg.eigh(a)[0], (H4,), order=2)
    check_grads(lambda a: np.abs(np.linalg.eigh(a, UPLO="U")[1]) ** 2, (H4,), order=1)


def test_a_rule_that_is_not_complex_safe_refuses_complex_values():
    z0 = 1.0 + 2.0j
    with pytest.raises(NotDifferentiableError, match="complex"):
        cr.grad(lambda x: np.maximum(x * z0, 1.0).real)(0.5)
    with pytest.raises(NotDifferentiableError, match="complex arguments"):
        cr.jacfwd(lambda x: np.sinc(x * z0).real)(np.ones(3))


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


# -- 3. every complex-safe rule at complex points ------------------------------------------------------------------
# forward against central differences in the real and the imaginary direction of every input element,
# reverse against forward through Re<v, J u> == Re<J^T v, u>; points away from branch cuts and zeros.
A = np.array([[0.6 + 0.8j, -0.4 + 1.2j, 1.1 - 0.3j], [0.9 + 0.2j, 0.5 - 0.7j, -1.3 + 0.4j]])
B = np.array([[1.2 - 0.4j, 0.3 + 0.9j, -0.8 - 0.6j], [0.4 + 0.5j, 1.4 + 0.1j, 0.7 + 1.0j]])
SQ = np.array([[1.0 + 0.5j, 0.3 - 0.2j, -0.4j], [0.2 + 0.1j, 1.5 - 0.3j, 0.6], [-0.3 + 0.7j, 0.1j, 0.9 + 0.2j]])
COMPLEX_CASES = [
    ("add", np.add, (A, B)), ("subtract", np.subtract, (A, B)), ("multiply", np.multiply, (A, B)),
    ("divide", np.divide, (A, B)), ("power", np.power, (A, B)), ("power, real exponent", lambda z: z ** 2.5, (A,)),
    ("float_power", np.float_power, (A, B)),
    ("negative", np.negative, (A,)), ("positive", np.positive, (A,)), ("reciprocal", np.reciprocal, (A,)),
    ("square", np.square, (A,)), ("sqrt", np.sqrt, (A,)), ("exp", np.exp, (A,)), ("exp2", np.exp2, (A,)),
    ("expm1", np.expm1, (A,)), ("log", np.log, (A,)), ("log2", np.log2, (A,)), ("log10", np.log10, (A,)),
    ("log1p", np.log1p, (A,)), ("sin", np.sin, (A,)), ("cos", np.cos, (A,)), ("tan", np.tan, (A,)),
    ("sinh", np.sinh, (A,)), ("cosh", np.cosh, (A,)), ("tanh", np.tanh, (A,)),
    ("arcsin", np.arcsin, (A,)), ("arccos", np.arccos, (A,)), ("arctan", np.arctan, (A,)),
    ("arcsinh", np.arcsinh, (A,)), ("arctanh", np.arctanh, (A,)),
    ("real", np.real, (A,)), ("imag", np.imag, (A,)), ("conj", np.conj, (A,)), ("abs", np.abs, (A,)),
    ("angle", np.angle, (A,)), ("angle deg", lambda z: np.angle(z, deg=True), (A,)),
    ("real_if_close", lambda z: np.real_if_close(z * 1e-20 + np.real(z)), (A,)),
    ("where", lambda a, b: np.where(np.real(a) > 0.55, a, b), (A, B)),
    ("sum", lambda z: np.sum(z, axis=0), (A,)), ("mean", lambda z: np.mean(z, axis=1), (A,)),
    ("reshape / transpose", lambda z: np.transpose(np.reshape(z, (3, 2))), (A,)),
    ("getitem", lambda z: z[1, ::-1] * z[[0, 0, 1], [2, 1, 0]], (A,)),
    ("concatenate", lambda a, b: np.concatenate([a, b, np.real(a)], axis=1), (A, B)),
    ("broadcast", lambda a, b: a[:, None, :] * b[None, :, :], (A, B)),
    ("matmul", lambda a, s: a @ s, (A, SQ)), ("matvec", lambda s, a: s @ a[0], (SQ, A)),
    ("dot", np.dot, (A, SQ)), ("vdot", np.vdot, (A, B)), ("inner", np.inner, (A, B)),
    ("outer", np.outer, (A[0], B[1])), ("einsum", lambda a, b: np.einsum("ij,kj->ik", a, b), (A, B)),
    ("tensordot", lambda a, b: np.tensordot(a, b, axes=([1], [1])), (A, B)),
    ("mixed real and complex", lambda a, b: np.real(a) @ SQ + np.imag(b) * a, (A, B)),
]


def _check_at_complex_point(f, args, h=1e-6, tol=1e-6):
    rng = np.random.default_rng(5)
    outs = f(*args)
    v = rng.normal(size=np.shape(outs)) + (1j * rng.normal(size=np.shape(outs)) if np.iscomplexobj(outs) else 0)
    _, pullback = cr.vjp(f, *args)
    adjoints = pullback(v)
    for i, x in enumerate(args):
        for k in range(x.size):
            for step in (1.0, 1j):                         # the real and the imaginary direction
                u = np.zeros(x.shape, dtype=complex)
                u.flat[k] = step
                tangents = tuple(u if j == i else np.zeros_like(a) for j, a in enumerate(args))
                _, ju = cr.jvp(f, args, tangents)
                plus = f(*[a + h * u if j == i else a for j, a in enumerate(args)])
                minus = f(*[a - h * u if j == i else a for j, a in enumerate(args)])
                np.testing.assert_allclose(ju, (plus - minus) / (2 * h), rtol=tol, atol=tol)
                # reverse against forward: Re<v, J u> == Re<J^T v, u>
                assert abs(np.real(np.sum(v * ju)) - np.real(np.sum(adjoints[i] * u))) < 1e-9


@pytest.mark.parametrize("name, f, args", COMPLEX_CASES, ids=[c[0] for c in COMPLEX_CASES])
def test_complex_safe_rules_at_complex_points(name, f, args):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _check_at_complex_point(f, args)


@pytest.mark.parametrize("name, f, args", COMPLEX_CASES[:12], ids=[c[0] for c in COMPLEX_CASES[:12]])
def test_second_order_of_a_real_function_of_complex_values(name, f, args):
    # order two: the derivative of the (conjugate) gradient, by forward over reverse, against differences of it
    def loss(*a):
        return np.sum(np.abs(f(*a)) ** 2)
    g = cr.grad(loss, argnums=tuple(range(len(args))))
    u = np.ones(args[0].shape) * (0.3 - 0.7j)
    tangents = (u,) + tuple(np.zeros_like(a) for a in args[1:])
    _, hu = cr.jvp(lambda *a: g(*a), args, tangents)
    h = 1e-5
    plus = g(*((args[0] + h * u,) + args[1:]))
    minus = g(*((args[0] - h * u,) + args[1:]))
    for a, b, c in zip(hu, plus, minus):
        np.testing.assert_allclose(a, (b - c) / (2 * h), rtol=1e-5, atol=1e-5)


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
