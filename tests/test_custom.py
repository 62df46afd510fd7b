"""custom_jvp and custom_vjp: the user's rule is what both modes use, at every order it allows."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.testing import check_grads

# -- a rule that differs from the true derivative on purpose --------------------------------------


@cr.custom_jvp
def square_clipped(x):
    """x^2, whose derivative 2x is clipped to [-1, 1] by its rule."""
    return x ** 2


@square_clipped.defjvp
def _square_clipped_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return square_clipped(x), np.clip(2.0 * x, -1.0, 1.0) * t


@cr.custom_vjp
def clip_gradient(x):
    """The identity, whose adjoint is clipped to [-1, 1]."""
    return x


clip_gradient.defvjp(lambda x: (x, None), lambda _, g: (np.clip(g, -1.0, 1.0),))


def test_custom_jvp_rule_is_used_in_both_modes():
    x = np.array([-3.0, 0.2, 3.0])
    want = np.clip(2.0 * x, -1.0, 1.0)                     # not 2x
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(square_clipped(x)))(x), want, rtol=1e-15)
    np.testing.assert_allclose(cr.jvp(square_clipped, (x,), (np.ones(3),))[1], want, rtol=1e-15)
    np.testing.assert_allclose(cr.jacrev(square_clipped)(x), np.diag(want), rtol=1e-15)
    np.testing.assert_allclose(cr.jacfwd(square_clipped)(x), np.diag(want), rtol=1e-15)
    np.testing.assert_allclose(square_clipped(x), x ** 2)


def test_custom_vjp_rule_is_used_and_forward_mode_is_an_error():
    x = np.array([0.5, -2.0])
    g = cr.grad(lambda x: np.sum(3.0 * clip_gradient(x) + 0.25 * clip_gradient(x) ** 2))(x)
    np.testing.assert_allclose(g, [1.0 + 0.25, 1.0 - 1.0])     # clip(3) + clip(0.5 x), one by one
    np.testing.assert_allclose(cr.jacrev(lambda x: 5.0 * clip_gradient(x))(x), np.eye(2))
    with pytest.raises(cr.NotDifferentiableError, match="needs a JVP rule.*custom_jvp"):
        cr.jvp(clip_gradient, (x,), (x,))
    with pytest.raises(cr.NotDifferentiableError, match="custom_jvp"):
        cr.jacfwd(clip_gradient)(x)


# -- the implicit function theorem: derivatives of a fixed point ----------------------------------

W = np.array([[0.3, -0.2, 0.1], [0.1, 0.25, -0.15], [-0.2, 0.05, 0.3]])


def iterate_to_fixed_point(a):
    """z = tanh(W z + a) by fixed-point iteration; np.asarray makes it opaque to tracing."""
    a = np.asarray(a, dtype=float)
    z = np.zeros_like(a)
    for _ in range(500):
        z_new = np.tanh(W @ z + a)
        if np.max(np.abs(z_new - z)) < 1e-16:
            break
        z = z_new
    return z_new


@cr.custom_jvp
def fixed_point(a):
    return iterate_to_fixed_point(a)


@fixed_point.defjvp
def _fixed_point_jvp(primals, tangents):
    # z = tanh(W z + a)  =>  dz = D (W dz + da), D = 1 - z^2  =>  (I - D W) dz = D da
    (a,), (a_dot,) = primals, tangents
    z = fixed_point(a)
    d = 1.0 - z ** 2
    return z, np.linalg.solve(np.eye(3) - d[:, None] * W, d * a_dot)


@cr.custom_vjp
def fixed_point_vjp(a):
    return iterate_to_fixed_point(a)


def _fp_fwd(a):
    z = fixed_point_vjp(a)
    return z, z


def _fp_bwd(z, g):
    d = 1.0 - z ** 2
    return (d * np.linalg.solve((np.eye(3) - d[:, None] * W).T, g),)


fixed_point_vjp.defvjp(_fp_fwd, _fp_bwd)


def central_jacobian(f, a, eps=1e-6):
    cols = []
    for j in range(a.size):
        e = np.zeros_like(a)
        e[j] = eps
        cols.append((f(a + e) - f(a - e)) / (2 * eps))
    return np.stack(cols, axis=-1)


A = np.array([0.4, -0.3, 0.8])


@pytest.mark.parametrize("jac", [cr.jacfwd, cr.jacrev])
def test_implicit_function_jacobian_matches_finite_differences(jac):
    fd = central_jacobian(iterate_to_fixed_point, A)
    np.testing.assert_allclose(jac(fixed_point)(A), fd, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(cr.jacrev(fixed_point_vjp)(A), fd, rtol=1e-7, atol=1e-9)
    with pytest.raises(cr.TracerConversionError):             # the solver itself cannot be traced
        jac(iterate_to_fixed_point)(A)


def test_implicit_function_second_order():
    loss = lambda a: np.sum(fixed_point(a) ** 2)               # noqa: E731
    grad_fd = lambda a: central_jacobian(lambda b: np.array(loss(b)), a)   # noqa: E731
    np.testing.assert_allclose(cr.grad(loss)(A), grad_fd(A), rtol=1e-7, atol=1e-9)
    h_fd = central_jacobian(cr.grad(loss), A, eps=1e-5)
    np.testing.assert_allclose(cr.hessian(loss)(A), h_fd, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(cr.jacrev(cr.grad(loss))(A), h_fd, rtol=1e-6, atol=1e-8)
    # grad of grad through the custom_vjp: fwd and bwd are differentiated as ordinary code
    loss_v = lambda a: np.sum(fixed_point_vjp(a) ** 2)         # noqa: E731
    np.testing.assert_allclose(cr.jacrev(cr.grad(loss_v))(A), h_fd, rtol=1e-6, atol=1e-8)


def test_grad_of_grad_of_custom_jvp():
    @cr.custom_jvp
    def sin(x):
        return np.sin(np.asarray(x))

    @sin.defjvp
    def _(primals, tangents):
        return sin(primals[0]), np.cos(primals[0]) * tangents[0]

    x = 0.8
    assert cr.grad(cr.grad(sin))(x) == pytest.approx(-np.sin(x), rel=1e-14)
    assert cr.grad(cr.grad(cr.grad(sin)))(x) == pytest.approx(-np.cos(x), rel=1e-14)
    assert cr.jvp(cr.grad(sin), (x,), (1.0,))[1] == pytest.approx(-np.sin(x), rel=1e-14)
    check_grads(lambda x: sin(x) * x, (np.array([0.3, -1.1]),), order=3)


def test_pytrees_several_arguments_and_unbatched_tangents():
    seen = []

    @cr.custom_jvp
    def f(p, x):
        return {"y": p["w"] * np.asarray(x) + p["b"]}

    @f.defjvp
    def _(primals, tangents):
        (p, x), (pt, xt) = primals, tangents
        seen.append(np.shape(xt))
        return f(p, x), {"y": pt["w"] * x + p["w"] * xt + pt["b"]}

    p, x = {"w": 2.0, "b": np.array([0.5, 0.5])}, np.array([1.0, 3.0])
    j = cr.jacfwd(lambda x: f(p, x)["y"])(x)
    np.testing.assert_allclose(j, 2.0 * np.eye(2))
    assert seen and all(s == (2,) for s in seen)               # one direction at a time
    gp, gx = cr.grad(lambda p, x: np.sum(f(p, x)["y"] ** 2), argnums=(0, 1))(p, x)
    y = 2.0 * x + 0.5
    assert gp["w"] == pytest.approx(np.sum(2 * y * x))
    np.testing.assert_allclose(gp["b"], 2 * y)
    np.testing.assert_allclose(gx, 4 * y)


def test_custom_vjp_with_several_arguments_and_a_none_adjoint():
    @cr.custom_vjp
    def scale(x, k):
        return x * k

    scale.defvjp(lambda x, k: (x * k, (x, k)), lambda res, g: (g * res[1], None))
    x = np.array([1.0, 2.0])
    gx, gk = cr.grad(lambda x, k: np.sum(scale(x, k)), argnums=(0, 1))(x, 3.0)
    np.testing.assert_allclose(gx, [3.0, 3.0])
    assert gk == 0.0                                           # the rule says so: None is zero


def test_missing_or_malformed_rules_are_errors():
    @cr.custom_jvp
    def f(x):
        return x

    @cr.custom_vjp
    def g(x):
        return x

    with pytest.raises(TypeError, match="defjvp"):
        cr.grad(f)(1.0)
    with pytest.raises(TypeError, match="defvjp"):
        cr.grad(g)(1.0)
    f.defjvp(lambda p, t: f(*p))                               # not a pair
    with pytest.raises(TypeError, match="pair"):
        cr.jvp(f, (1.0,), (1.0,))
    g.defvjp(lambda x: (x, None), lambda r, ct: (ct, ct))      # two adjoints for one argument
    with pytest.raises(TypeError, match="one adjoint per positional argument"):
        cr.grad(g)(1.0)


def test_custom_vjp_reading_a_traced_closure_value_is_refused():
    def h(x, y):
        @cr.custom_vjp
        def f(x):
            return x * y
        f.defvjp(lambda x: (x * y, None), lambda res, g: (g * 3.0,))
        return f(x)
    with pytest.raises(cr.TracerConversionError, match="custom_vjp"):
        cr.grad(h, argnums=(0, 1))(2.0, 3.0)
