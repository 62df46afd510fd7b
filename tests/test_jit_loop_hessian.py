"""chainrule.jit of forward over reverse (hessian, hvp, jacfwd of grad) through ``cr.loop``: the loop's
backward sweep is bound as a primitive whose JVP is again a sweep, so the staged program loops over the
step's JVP and the pullback's JVP, each staged once, instead of unrolling every step.

Oracles: eager chainrule (to rounding) and central differences of the eager gradient.
"""

import numpy as np
import pytest

import chainrule as cr

from .test_jit import _structured, assert_same


def _f(steps, checkpoints):
    def f(x, k):
        def step(c, i):
            s, p = c
            return (s + k * np.sin(s) * p + 0.001 * i * np.cos(s), p)    # k: read from the closure
        return np.sum(cr.loop(step, (x, x ** 2), steps, checkpoints=checkpoints)[0] ** 2)
    return f


def _transforms(f):
    return {"hessian": cr.hessian(f),
            "hvp": lambda x, k: cr.hvp(lambda y: f(y, k), x, np.cos(3 * x)),
            "jacfwd(grad)": cr.jacfwd(cr.grad(f))}


def _fd_of_grad(f, x, k, v=None):
    """Central differences of the eager gradient: the Hessian's columns, or its product with ``v``."""
    g = cr.grad(f)
    h = 1e-5
    if v is not None:
        return (g(x + h * v, k) - g(x - h * v, k)) / (2 * h)
    return np.stack([(g(x + h * e, k) - g(x - h * e, k)) / (2 * h) for e in np.eye(x.size)], axis=-1)


@pytest.mark.parametrize("checkpoints", [None, 3, "all"])
def test_forward_over_reverse_of_a_loop_gives_the_eager_and_finite_difference_results(checkpoints):
    f = _f(40, checkpoints)
    x = np.linspace(0.1, 1.0, 4)
    for name, t in _transforms(f).items():
        j = cr.jit(t)
        for d in (0.0, 0.1, -0.2):                          # first and later calls
            y, k = x + d, 0.01 + abs(d) / 10
            got = j(y, k)
            assert_same(got, t(y, k))
            fd = _fd_of_grad(f, y, k, np.cos(3 * y) if name == "hvp" else None)
            np.testing.assert_allclose(got, fd, rtol=1e-7, atol=1e-8)
        assert j.trace_count == 1
        x32 = x.astype(np.float32)
        got = j(x32, 0.01)
        assert got.dtype == np.float32
        assert_same(got, t(x32, 0.01), rtol=1e-5, atol=1e-6)
        if checkpoints != "all":                            # "all" records every step, as written
            assert [e.name for e in _structured(j, x, 0.01) if "backward sweep" in e.name]


def test_forward_over_reverse_of_a_loop_is_staged_once_whatever_the_step_count():
    x = np.linspace(0.1, 1.0, 4)
    for checkpoints in (None, 3):
        for name in ("hessian", "hvp", "jacfwd(grad)"):
            lines = []
            for steps in (50, 200):
                j = cr.jit(_transforms(_f(steps, checkpoints))[name])
                assert_same(j(x, 0.01), _transforms(_f(steps, checkpoints))[name](x, 0.01))
                lines.append(len(j.source(x, 0.01).splitlines()))
            assert lines[0] == lines[1] < 400, (checkpoints, name, lines)


def test_third_order_through_a_loop_is_staged_structured():
    f = _f(30, 4)
    t = cr.jacfwd(cr.hessian(f))
    j = cr.jit(t)
    x = np.linspace(0.1, 1.0, 3)
    for d in (0.0, 0.3):
        assert_same(j(x + d, 0.02), t(x + d, 0.02))
    h = 1e-5
    fd = np.stack([(cr.hessian(f)(x + h * e, 0.02) - cr.hessian(f)(x - h * e, 0.02)) / (2 * h)
                   for e in np.eye(3)], axis=-1)
    np.testing.assert_allclose(j(x, 0.02), fd, rtol=1e-6, atol=1e-7)
    assert j.trace_count == 1 and _structured(j, x, 0.02)
    assert len(j.source(x, 0.02).splitlines()) < 1500          # unrolled it is ~8000


def test_hessian_of_a_loop_with_a_branching_step_keeps_each_path():
    def step(s):
        if np.sum(s) > 0:                                    # a guard inside the step
            return s - 0.3 * np.tanh(s)
        return s + 0.5

    f = lambda x: np.sum(cr.loop(step, x, 40, checkpoints=5) ** 3)   # noqa: E731
    for t in (cr.hessian(f), lambda x: cr.hvp(f, x, np.ones(3))):
        j = cr.jit(t)
        for x in (np.full(3, -2.0), np.full(3, 2.0), np.array([-7.0, 1.0, 2.0])):   # both branches in one call
            assert_same(j(x), t(x))
        assert j.trace_count == 1
        sweeps = [e for e in _structured(j, np.full(3, -2.0)) if "backward sweep" in e.name]
        assert sweeps and all(len(sub.paths) == 2 for e in sweeps for sub in e.fn.subs)


def test_hessian_of_a_loop_whose_step_cannot_be_staged_alone_is_staged_inline():
    f = lambda x: np.sum(cr.loop(lambda s, i: s + s * np.sin(s) * float(i + 1) / 10, x, 12) ** 2)   # noqa: E731
    x = np.linspace(0.5, 1.5, 3)
    for t in (cr.hessian(f), lambda x: cr.hvp(f, x, np.ones(3))):
        j = cr.jit(t)
        for y in (x, 2 * x):
            assert_same(j(y), t(y))
        assert j.trace_count == 1 and not _structured(j, x)          # float(i): one path per step


def test_hessian_of_a_loop_over_a_dict_state_with_two_arguments():
    def f(x, y):
        state = cr.loop(lambda c: {"a": c["a"] + 0.1 * np.tanh(c["b"]), "b": c["b"] * np.cos(0.1 * c["a"])},
                        {"a": x, "b": y}, 30, checkpoints=4)
        return np.sum(state["a"] * state["b"])

    t = cr.hessian(f, argnums=(0, 1))
    j = cr.jit(t)
    x = np.linspace(0.5, 1.5, 3)
    for d in (0.0, 0.4):
        assert_same(j(x + d, np.cos(x)), t(x + d, np.cos(x)))
    jf = cr.jacfwd(cr.jacfwd(f, argnums=(0, 1)), argnums=(0, 1))      # forward over forward, eager
    assert_same(j(x, np.cos(x)), jf(x, np.cos(x)), rtol=1e-10, atol=1e-12)
    assert j.trace_count == 1 and _structured(j, x, np.cos(x))
