"""Whole programs: a tanh MLP with dict parameters; a long chain of scalar operations."""

import numpy as np

import chainrule as cr
from chainrule.testing import check_grads


def init_mlp(rng, sizes):
    return {f"layer{i}": {"W": rng.standard_normal((m, n)) / np.sqrt(m), "b": 0.1 * rng.standard_normal(n)}
            for i, (m, n) in enumerate(zip(sizes[:-1], sizes[1:]))}


def mlp_loss(params, x, y):
    h = x
    for i in range(len(params)):
        layer = params[f"layer{i}"]
        h = h @ layer["W"] + layer["b"]
        if i < len(params) - 1:
            h = np.tanh(h)
    return np.mean((h - y) ** 2)


def test_mlp_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    params = init_mlp(rng, [4, 8, 8, 3])
    x, y = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    g = cr.grad(mlp_loss)(params, x, y)
    assert set(g) == set(params) and g["layer1"]["W"].shape == (8, 8)
    # every entry of one weight matrix against central differences
    eps = 1e-6
    W = params["layer1"]["W"]
    fd = np.zeros_like(W)
    for idx in np.ndindex(W.shape):
        for sign in (1, -1):
            p = {k: {kk: vv.copy() for kk, vv in v.items()} for k, v in params.items()}
            p["layer1"]["W"][idx] += sign * eps
            fd[idx] += sign * mlp_loss(p, x, y) / (2 * eps)
    assert np.allclose(g["layer1"]["W"], fd, rtol=1e-6, atol=1e-8)
    check_grads(lambda p: mlp_loss(p, x, y), (params,), order=2)


def test_reverse_mode_over_a_chain_of_1e5_operations():
    a = 1.0 + 1e-5

    def chain(x):
        for _ in range(100_000):
            x = x * a
        return x

    value, g = cr.value_and_grad(chain)(2.0)
    assert abs(g - a ** 100_000) < 1e-9
    assert abs(value - 2.0 * a ** 100_000) < 1e-9


def test_mixed_chain_forward_equals_reverse():
    def chain(x):
        for i in range(2000):
            x = np.sin(x) * 0.9 + 0.1 * np.tanh(x + i * 1e-3)
        return x

    assert abs(cr.grad(chain)(0.7) - cr.jvp(chain, (0.7,), (1.0,))[1]) < 1e-13


def test_linear_loop_keeps_no_states_on_the_tape():
    A = np.eye(50) * 0.99
    seen = []

    def loop(x):
        for _ in range(20):
            x = A @ x + 0.5 * x
        return np.sum(x)

    from chainrule.reverse import vjp_flat
    _, pullback = vjp_flat(lambda xs: [loop(xs[0])], [np.ones(50)])
    for entry in pullback.tape:
        if entry is not None:
            seen.extend(v for v in entry[2] if isinstance(v, np.ndarray) and v.shape == (50,))
    assert seen == []             # matmul keeps A only; the scalings keep nothing


def test_tape_keeps_what_the_rules_need():
    from chainrule.reverse import tape_nbytes, vjp_flat
    x = np.ones(1000)
    _, pb = vjp_flat(lambda xs: [np.sum(np.sin(xs[0]) * 2.0)], [x])
    assert 8000 <= tape_nbytes(pb.tape) <= 8100   # sin keeps x; the scaling and the sum keep no arrays
    _, pb = vjp_flat(lambda xs: [np.sum(np.tanh(xs[0]) * xs[0])], [x])
    assert 16000 <= tape_nbytes(pb.tape) <= 16100  # tanh keeps its output; the product both factors


def test_in_place_accumulation_leaves_user_arrays_alone():
    # x feeds many terms: its adjoint is summed from many contributions, some of which are
    # views of constants (broadcasts) or the seed itself; none may be modified.
    w = np.arange(1.0, 4.0)
    w_copy = w.copy()
    f = lambda x: np.sum(x * w) + np.sum(x) + np.sum(x * x) + np.sum(np.broadcast_to(x, (2, 3)))  # noqa: E731
    x = np.array([0.5, -1.0, 2.0])
    g = cr.grad(f)(x)
    assert np.allclose(g, w + 1 + 2 * x + 2)
    assert np.array_equal(w, w_copy)
    g2 = cr.grad(f)(x)
    assert np.array_equal(g, g2)
