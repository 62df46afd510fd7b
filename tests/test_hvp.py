"""hvp with a batch of directions and with several arguments: against the dense Hessian (forward over
reverse), one direction at a time, and central differences of the gradient."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ShapeMismatchError


def f(x):
    return np.sum(np.sin(x[1:] * x[:-1])) + np.sum(x ** 4) / 4.0


def g(x, y, s):
    return np.sum(np.exp(x * y[:3]) * s) + np.sum(y ** 3) * x[0]


def _grad_differences(fn, x, v, eps=1e-6):
    return (cr.grad(fn)(x + eps * v) - cr.grad(fn)(x - eps * v)) / (2 * eps)


def test_batched_directions_equal_single_ones_and_the_dense_hessian():
    rng = np.random.default_rng(0)
    x, V = rng.uniform(-1, 1, 6), rng.uniform(-1, 1, (4, 6))
    HV = cr.hvp(f, x, V, batched=True)
    assert HV.shape == (4, 6)
    H = cr.hessian(f)(x)
    for k in range(4):
        np.testing.assert_allclose(HV[k], cr.hvp(f, x, V[k]), rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(HV[k], H @ V[k], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(HV[k], _grad_differences(f, x, V[k]), rtol=1e-6, atol=1e-7)
    identity = cr.hvp(f, x, np.eye(6), batched=True)
    np.testing.assert_allclose(identity, H, rtol=1e-12, atol=1e-12)          # H is symmetric


def test_several_arguments_give_the_blocks_of_the_hessian():
    rng = np.random.default_rng(1)
    x, y, s = rng.uniform(-1, 1, 3), rng.uniform(-1, 1, 4), 1.5
    vx, vy = rng.uniform(-1, 1, 3), rng.uniform(-1, 1, 4)
    hx, hy = cr.hvp(g, (x, y, s), (vx, vy), argnums=(0, 1))
    full = lambda z: g(z[:3], z[3:], s)                                       # noqa: E731
    z, w = np.concatenate([x, y]), np.concatenate([vx, vy])
    H = cr.hessian(full)(z)
    np.testing.assert_allclose(np.concatenate([hx, hy]), H @ w, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.concatenate([hx, hy]), _grad_differences(full, z, w), rtol=1e-6, atol=1e-7)
    # one argument named by an int: that argument's own Hessian block
    np.testing.assert_allclose(cr.hvp(g, (x, y, s), vy, argnums=1), H[3:, 3:] @ vy, rtol=1e-12, atol=1e-12)
    # batched and several arguments at once
    VX, VY = rng.uniform(-1, 1, (2, 3)), rng.uniform(-1, 1, (2, 4))
    bx, by = cr.hvp(g, (x, y, s), (VX, VY), argnums=(0, 1), batched=True)
    np.testing.assert_allclose(np.concatenate([bx, by], axis=1), (H @ np.concatenate([VX, VY], axis=1).T).T,
                               rtol=1e-12, atol=1e-12)


def test_pytree_argument_batched():
    p = {"a": np.array([0.5, -1.0]), "b": np.array(2.0)}
    fun = lambda p: np.sum(p["a"] ** 2 * p["b"] ** 3)                       # noqa: E731
    V = {"a": np.array([[1.0, 0.0], [0.0, 0.0]]), "b": np.array([0.0, 1.0])}
    out = cr.hvp(fun, p, V, batched=True)
    for k in range(2):
        single = cr.hvp(fun, p, {"a": V["a"][k], "b": V["b"][k]})
        np.testing.assert_allclose(out["a"][k], single["a"], rtol=1e-14)
        np.testing.assert_allclose(out["b"][k], single["b"], rtol=1e-14)
    assert out["b"].shape == (2,)


def test_the_result_is_not_the_callers_direction():
    V = np.eye(3)
    out = cr.hvp(lambda x: np.sum(x ** 2) / 2.0, np.ones(3), V, batched=True)
    np.testing.assert_array_equal(out, V)
    out[0, 0] = 5.0
    assert V[0, 0] == 1.0


def test_wrong_shapes_are_refused():
    with pytest.raises(ShapeMismatchError, match=r"\(k,\)"):
        cr.hvp(f, np.ones(4), np.ones(4), batched=True)
    with pytest.raises(ShapeMismatchError, match="one k"):
        cr.hvp(g, (np.ones(3), np.ones(4), 1.0), (np.ones((2, 3)), np.ones((3, 4))), argnums=(0, 1), batched=True)
    with pytest.raises(TypeError, match="tuple of all"):
        cr.hvp(g, np.ones(3), np.ones(3), argnums=0)
