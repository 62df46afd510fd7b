"""checkpoint: the same derivatives as without it, at every order and nesting, with only inputs on the tape."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.reverse import tape_nbytes, vjp_flat
from chainrule.testing import check_grads

from .heat import R, heat_step, x0  # noqa: F401


def run(step, x, steps):
    for _ in range(steps):
        x = step(x)
    return x


@pytest.mark.parametrize("steps", [1, 2, 7, 100])
def test_checkpoint_per_step_gives_the_plain_gradient(steps):
    loss = lambda x: np.sum(run(heat_step, x, steps) ** 2)                     # noqa: E731
    loss_ckpt = lambda x: np.sum(run(cr.checkpoint(heat_step), x, steps) ** 2)  # noqa: E731
    want = cr.grad(loss)(x0())
    got = cr.grad(loss_ckpt)(x0())
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    assert np.max(np.abs(want)) > 1e-3                      # the comparison is not between zeros


def test_check_grads_order_two_and_nesting():
    inner = cr.checkpoint(heat_step)
    outer = cr.checkpoint(lambda x: inner(inner(x)) * np.tanh(x))
    check_grads(lambda x: np.sum(inner(x) ** 3), (x0(),), order=2)
    check_grads(lambda x: outer(outer(x)), (x0(5),), order=2)
    plain = lambda x: np.sum(heat_step(heat_step(x)) * np.tanh(x))            # noqa: E731
    ckpt = lambda x: np.sum(outer(x))                                          # noqa: E731
    np.testing.assert_allclose(cr.hessian(ckpt)(x0()), cr.hessian(plain)(x0()), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(cr.jacrev(cr.grad(ckpt))(x0()), cr.hessian(plain)(x0()), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(cr.jacrev(outer)(x0()), cr.jacfwd(outer)(x0()), rtol=1e-12, atol=1e-14)


def test_grad_of_grad_and_reverse_over_forward():
    f = cr.checkpoint(lambda x: np.sin(x) * x ** 2)
    # d2/dx2 (x^2 sin x) = 2 sin x + 4 x cos x - x^2 sin x
    x = 0.7
    want = 2 * np.sin(x) + 4 * x * np.cos(x) - x ** 2 * np.sin(x)
    assert abs(cr.grad(cr.grad(f))(x) - want) < 1e-13
    assert abs(cr.grad(lambda x: cr.jvp(f, (x,), (1.0,))[1])(x) - want) < 1e-13


def test_pytrees_keyword_arguments_and_constants():
    @cr.checkpoint
    def f(p, x, scale=1.0):
        return {"y": np.tanh(p["w"] * x + p["b"]) * scale, "z": (p["w"] ** 2, 3.0)}

    def loss(p, x):
        out = f(p, x, scale=2.0)
        return np.sum(out["y"]) + out["z"][0] * out["z"][1]

    def plain(p, x):
        return np.sum(np.tanh(p["w"] * x + p["b"]) * 2.0) + p["w"] ** 2 * 3.0

    p, x = {"w": 0.8, "b": np.array([0.1, -0.2])}, np.array([1.0, 2.0])
    got, want = cr.grad(loss, argnums=(0, 1))(p, x), cr.grad(plain, argnums=(0, 1))(p, x)
    assert got[0]["w"] == pytest.approx(want[0]["w"], rel=1e-13)
    np.testing.assert_allclose(got[0]["b"], want[0]["b"], rtol=1e-13)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-13)


def test_reverse_runs_the_function_twice_and_forward_once():
    calls = []

    @cr.checkpoint
    def f(x):
        calls.append(1)
        return np.exp(np.sin(x))

    x = np.array([0.2, 0.4])
    cr.grad(lambda x: np.sum(f(x)))(x)
    assert len(calls) == 2                                   # the primal, then the re-trace in the sweep
    del calls[:]
    cr.jvp(f, (x,), (x,))
    assert len(calls) == 1                                   # forward mode: no primitive, just f
    del calls[:]
    f(x)
    assert len(calls) == 1


def test_the_tape_keeps_only_the_inputs_of_a_checkpointed_call():
    x = np.linspace(0.1, 1.0, 1000)

    def block(x):
        for _ in range(10):
            x = np.sin(x) * np.exp(-x) + x
        return x

    _, plain = vjp_flat(lambda xs: [np.sum(block(xs[0]))], [x])
    _, ckpt = vjp_flat(lambda xs: [np.sum(cr.checkpoint(block)(xs[0]))], [x])
    assert x.nbytes <= tape_nbytes(ckpt.tape) <= x.nbytes + 16      # the input, and np.sum's scalar
    assert tape_nbytes(plain.tape) >= 10 * x.nbytes
    np.testing.assert_allclose(ckpt([1.0])[0], plain([1.0])[0], rtol=1e-13)


def test_a_traced_value_read_from_a_closure_is_an_error():
    def loss(w):
        return np.sum(cr.checkpoint(lambda x: x * w)(x0() * w))

    with pytest.raises(cr.TracerConversionError, match="not one of its arguments"):
        cr.grad(loss)(2.0)
    with pytest.raises(cr.TracerConversionError, match="Pass that value in as one of its arguments"):
        cr.grad(lambda w: np.sum(cr.checkpoint(lambda x: x * w)(x0())))(2.0)
    assert cr.jvp(loss, (2.0,), (1.0,))[1] == pytest.approx(4.0 * np.sum(x0()))   # forward: a plain call


def test_closure_over_an_outer_level_is_fine():
    # d/dx of grad_y (x * y^2) at y = 3 -> 2 y = 6: x belongs to the outer transform
    g = lambda x: cr.grad(cr.checkpoint(lambda y: x * y ** 2))(3.0)             # noqa: E731
    assert cr.grad(g)(2.0) == pytest.approx(6.0, rel=1e-14)
    assert cr.jvp(g, (2.0,), (1.0,))[1] == pytest.approx(6.0, rel=1e-14)


def test_integer_results_are_an_error():
    f = cr.checkpoint(lambda x: (np.sin(x), 3))
    with pytest.raises(TypeError, match="result leaf 1"):
        cr.grad(lambda x: f(x)[0])(0.5)


def test_jvp_of_a_checkpoint_runs_the_function_once_for_all_arguments():
    calls = [0]

    def block(a, b, c, d):
        calls[0] += 1
        return np.sin(a) * b + c * np.cos(d)

    x = np.array([0.3, 0.5, -0.2, 0.9])
    f = lambda x: np.sum(cr.checkpoint(block)(x[0], x[1], x[2], x[3]) ** 2)     # noqa: E731
    h = cr.hessian(f)(x)
    # one primal run, one recomputation in the backward sweep, one forward sweep for all four tangents
    assert calls[0] == 3
    assert np.allclose(h, cr.hessian(lambda x: np.sum(block(x[0], x[1], x[2], x[3]) ** 2))(x), atol=1e-12)
