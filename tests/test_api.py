"""The public API: JAX's names, shapes and pytree conventions."""

import numpy as np
import pytest

import chainrule as cr


def test_jacobian_shape_is_out_shape_plus_in_shape():
    f = lambda x: np.tanh(x[:, :, None] * np.ones(4))        # noqa: E731  (2,3) -> (2,3,4)
    x = np.random.default_rng(0).standard_normal((2, 3))
    for jac in (cr.jacfwd, cr.jacrev):
        assert jac(f)(x).shape == (2, 3, 4, 2, 3)
    assert np.allclose(cr.jacfwd(f)(x), cr.jacrev(f)(x), atol=1e-14)


def test_pytree_inputs_and_outputs():
    def f(p, scale):
        return {"sum": np.sum(p["a"] * p["b"][0]) * scale, "vec": p["a"] * 2.0}
    p = {"a": np.array([1.0, 2.0]), "b": [np.array(3.0), 4.0]}
    jf = cr.jacfwd(f)(p, 1.5)
    jr = cr.jacrev(f)(p, 1.5)
    assert np.allclose(jf["sum"]["a"], [4.5, 4.5]) and jf["vec"]["a"].shape == (2, 2)
    assert jf["sum"]["b"][1] == 0.0 and jf["vec"]["b"][0].shape == (2,)
    for key in ("sum", "vec"):
        for path in (lambda t: t["a"], lambda t: t["b"][0], lambda t: t["b"][1]):
            assert np.allclose(path(jf[key]), path(jr[key]))


def test_argnums_tuple_and_has_aux():
    def f(x, y, z):
        return x * y * z, {"y": y}
    (v, aux), g = cr.value_and_grad(f, argnums=(0, 2), has_aux=True)(2.0, 3.0, 4.0)
    assert v == 24.0 and aux == {"y": 3.0} and g == (12.0, 6.0)
    g2, aux2 = cr.grad(f, has_aux=True)(2.0, 3.0, 4.0)
    assert g2 == 12.0 and aux2["y"] == 3.0


def test_aux_holds_plain_values_not_tracers():
    _, aux = cr.grad(lambda x: (x * 2.0, np.sin(x)), has_aux=True)(1.0)
    assert type(aux) in (float, np.float64) and aux == np.sin(1.0)


def test_jvp_with_has_aux_and_pytrees():
    out, t, aux = cr.jvp(lambda d: (d["x"] ** 2, d["x"]), ({"x": 3.0},), ({"x": 1.0},), has_aux=True)
    assert (out, t, aux) == (9.0, 6.0, 3.0)


def test_vjp_pullback_can_be_called_twice():
    _, pullback = cr.vjp(lambda x: x ** 2, np.array([1.0, 2.0]))
    a = pullback(np.ones(2))[0]
    b = pullback(np.array([1.0, 0.0]))[0]
    assert np.array_equal(a, [2.0, 4.0]) and np.array_equal(b, [2.0, 0.0])


def test_zero_derivatives_are_instantiated():
    assert cr.grad(lambda x, y: x * 2.0, argnums=1)(1.0, 2.0) == 0.0
    out, t = cr.jvp(lambda x: np.ones(3), (1.0,), (1.0,))
    assert np.array_equal(t, np.zeros(3))
    assert np.array_equal(cr.jacrev(lambda x: np.ones(2) * 3.0)(np.ones(3)), np.zeros((2, 3)))


def test_float32_stays_float32():
    x = np.array([0.5, 1.5], dtype=np.float32)
    f = lambda x: np.sum(np.tanh(x) * x * 2.0)                 # noqa: E731
    assert cr.grad(f)(x).dtype == np.float32
    assert cr.jacfwd(np.tanh)(x).dtype == np.float32
    assert cr.jacrev(np.tanh)(x).dtype == np.float32
    assert cr.jvp(np.tanh, (x,), (np.ones(2, np.float32),))[1].dtype == np.float32
    assert cr.hessian(f)(x).dtype == np.float32


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, None])
def test_chunked_jacobians_equal_unchunked(chunk):
    W = np.random.default_rng(1).standard_normal((5, 7))
    f = lambda x: np.tanh(W @ x)                                # noqa: E731
    x = np.linspace(-1, 1, 7)
    ref = (1 - np.tanh(W @ x) ** 2)[:, None] * W
    assert np.allclose(cr.jacfwd(f, chunk_size=chunk)(x), ref, atol=1e-14)
    assert np.allclose(cr.jacrev(f, chunk_size=chunk)(x), ref, atol=1e-14)


def test_keyword_arguments_pass_through():
    f = lambda x, *, power: x ** power                          # noqa: E731
    assert cr.grad(f)(3.0, power=2.0) == 6.0


def test_hvp_of_pytree():
    f = lambda p: np.sum(p["a"] ** 2 * p["b"])                 # noqa: E731
    p = {"a": np.array([1.0, 2.0]), "b": np.array([3.0, 4.0])}
    v = {"a": np.array([1.0, 0.0]), "b": np.array([0.0, 1.0])}
    hv = cr.hvp(f, p, v)
    # d/da = 2 a b, d/db = a^2; H v: a-part = 2 b va + 2 a vb, b-part = 2 a va
    assert np.allclose(hv["a"], [6.0, 4.0]) and np.allclose(hv["b"], [2.0, 0.0])
