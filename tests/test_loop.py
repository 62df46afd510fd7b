"""loop: binomial checkpointing gives the plain gradient with the fewest recomputations and at most c snapshots."""

import functools
import math
import weakref

import numpy as np
import pytest

import chainrule as cr
from chainrule.testing import check_grads
from chainrule.transforms.loop import revolve_cost, revolve_schedule

from .heat import R, heat_step, x0  # noqa: F401


@functools.lru_cache(maxsize=None)
def fewest_advances(steps, snapshots):
    """Brute force over every split point: the least plain evaluations that reverse ``steps`` steps."""
    if steps <= 1:
        return 0
    if snapshots == 1:
        return steps * (steps - 1) // 2
    return min(m + fewest_advances(steps - m, snapshots - 1) + fewest_advances(m, snapshots)
               for m in range(1, steps))


def replay(steps, snapshots):
    """Follow a schedule on positions only: (advances, peak snapshots, order of reversed steps)."""
    stored, work, advances, peak, reversed_ = set(), None, 0, 0, []
    for kind, i, j in revolve_schedule(steps, snapshots):
        if kind == "store":
            assert work == i or (i == 0 and work is None)
            stored.add(i)
        elif kind == "restore":
            assert i in stored
            work = i
        elif kind == "advance":
            assert work == i < j
            advances += j - i
            work = j
        elif kind == "reverse":
            assert work == i
            reversed_.append(i)
            work = None
        else:
            stored.remove(i)
        peak = max(peak, len(stored))
    assert not stored
    return advances, peak, reversed_


@pytest.mark.parametrize("snapshots", [1, 2, 3, 4, 6])
def test_schedule_is_optimal_and_within_its_snapshots(snapshots):
    for steps in range(1, 41):
        advances, peak, order = replay(steps, snapshots)
        assert order == list(range(steps - 1, -1, -1))
        assert peak <= snapshots
        assert advances == fewest_advances(steps, snapshots) == revolve_cost(steps, snapshots)


def test_revolve_cost_is_the_binomial_formula():
    # t(l, s) = r l - C(s + r, s + 1) with r the least such that C(s + r, s) >= l
    for s in range(1, 8):
        for steps in range(2, 300):
            r = next(r for r in range(steps) if math.comb(s + r, s) >= steps)
            assert revolve_cost(steps, s) == r * steps - math.comb(s + r, s + 1)


def loss_plain(x, steps):
    for _ in range(steps):
        x = heat_step(x)
    return np.sum(x ** 2)


@pytest.mark.parametrize("steps", [1, 2, 7, 100])
def test_every_number_of_snapshots_gives_the_plain_gradient(steps):
    want = cr.grad(loss_plain)(x0(), steps)
    assert np.max(np.abs(want)) > 1e-3
    for c in [1, 2, 3, math.isqrt(steps), None, "all"]:
        if c == 0:
            continue
        got = cr.grad(lambda x: np.sum(cr.loop(heat_step, x, steps, checkpoints=c) ** 2))(x0())
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14, err_msg=f"checkpoints={c}")


class Counted:
    """A step that counts its calls and, for plain outputs, how many of them are alive at once."""

    def __init__(self):
        self.calls = 0
        self.outputs = []
        self.peak_alive = 0

    def __call__(self, x):
        self.calls += 1
        alive = sum(1 for r in self.outputs if r() is not None)
        self.peak_alive = max(self.peak_alive, alive)
        y = heat_step(x)
        if type(y) is np.ndarray:
            self.outputs.append(weakref.ref(y))
        return y


@pytest.mark.parametrize("steps,snapshots", [(1, 1), (2, 1), (5, 1), (5, 2), (10, 2), (10, 3), (20, 3),
                                             (30, 4), (16, 16), (40, 5)])
def test_step_evaluations_are_the_binomial_optimum(steps, snapshots):
    step = Counted()
    cr.grad(lambda x: np.sum(cr.loop(step, x, steps, checkpoints=snapshots) ** 2))(x0())
    # the primal pass, one taped evaluation per step, and the fewest plain re-evaluations
    assert step.calls == 2 * steps + fewest_advances(steps, snapshots)
    # the states alive while a step runs: the stored snapshots (the input is one of them and is
    # not counted here) and the working state
    assert step.peak_alive <= snapshots


def test_the_liveness_count_sees_stored_states():
    # test the tester: a loop that keeps every state shows them all alive
    step, states = Counted(), [x0()]
    for _ in range(10):
        states.append(step(states[-1]))
    assert step.peak_alive == 9


def test_pytree_state_index_and_a_parameter_carried_in_the_state():
    def step(state, i):
        x, k = state["x"], state["k"]
        return {"x": x + 0.05 * k * np.cos(x) * (1.0 + 0.1 * i), "k": k}

    def loss(k, x, c):
        return np.sum(cr.loop(step, {"x": x, "k": k}, 25, checkpoints=c)["x"] ** 2)

    def plain(k, x):
        for i in range(25):
            x = x + 0.05 * k * np.cos(x) * (1.0 + 0.1 * i)
        return np.sum(x ** 2)

    want = cr.grad(plain, argnums=(0, 1))(1.3, x0())
    for c in [1, 3, "all"]:
        got = cr.grad(loss, argnums=(0, 1))(1.3, x0(), c)
        assert got[0] == pytest.approx(want[0], rel=1e-12)
        np.testing.assert_allclose(got[1], want[1], rtol=1e-12)
    check_grads(lambda k, x: loss(k, x, 2), (1.3, x0()), order=2)


def test_forward_mode_is_a_plain_loop():
    step = Counted()
    x, v = x0(), np.cos(x0())
    _, t = cr.jvp(lambda x: cr.loop(step, x, 30, checkpoints=2), (x,), (v,))
    assert step.calls == 30
    _, want = cr.jvp(lambda x: cr.loop(heat_step, x, 30, checkpoints="all"), (x,), (v,))
    np.testing.assert_allclose(t, want, rtol=1e-14)
    assert np.allclose(cr.loop(heat_step, x, 3), heat_step(heat_step(heat_step(x))))


@pytest.mark.parametrize("steps", [1, 7])
def test_second_order_and_batched_adjoints(steps):
    f = lambda x: np.sum(cr.loop(heat_step, x, steps, checkpoints=2) ** 3)            # noqa: E731
    g = lambda x: np.sum(cr.loop(heat_step, x, steps, checkpoints="all") ** 3)        # noqa: E731
    h = cr.hessian(g)(x0())
    np.testing.assert_allclose(cr.hessian(f)(x0()), h, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(cr.jacrev(cr.grad(f))(x0()), h, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(cr.grad(f)(x)))(x0()), h.sum(0), rtol=1e-11)
    m = lambda x: cr.loop(heat_step, x, steps, checkpoints=2)                        # noqa: E731
    np.testing.assert_allclose(cr.jacrev(m)(x0()), cr.jacfwd(m)(x0()), rtol=1e-12, atol=1e-14)
    check_grads(f, (x0(),), order=2)


def test_zero_steps_and_errors():
    x = x0()
    assert cr.loop(heat_step, x, 0) is x
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(cr.loop(heat_step, x, 0) ** 2))(x), 2 * x)
    with pytest.raises(cr.TracerConversionError, match="part of the state"):
        cr.grad(lambda k: np.sum(cr.loop(lambda s: s * k, x * k, 3)))(2.0)
    with pytest.raises(cr.TracerConversionError, match="part of the state"):
        cr.grad(lambda k: np.sum(cr.loop(lambda s: s * k, x, 3)))(2.0)
    with pytest.raises(TypeError, match="step index"):
        cr.loop(lambda s: s, (x, 3), 2)
    with pytest.raises(ValueError, match="checkpoints"):
        cr.loop(heat_step, x, 2, checkpoints=0)
    with pytest.raises(ValueError, match="steps"):
        cr.loop(heat_step, x, -1)
    with pytest.raises(cr.ShapeMismatchError, match="structure"):
        cr.loop(lambda s: (s, s), x, 2)


def test_compositions_with_checkpoint_custom_rules_and_reverse_over_forward():
    @cr.custom_jvp
    def softplus(x):
        return np.log1p(np.exp(x))

    @softplus.defjvp
    def _(primals, tangents):
        return softplus(primals[0]), tangents[0] / (1.0 + np.exp(-primals[0]))

    def ref_step(s):
        return heat_step(s) * 0.9 + 0.1 * np.log1p(np.exp(s))

    def step(s):
        return cr.checkpoint(heat_step)(s) * 0.9 + 0.1 * softplus(s)

    ref = lambda x: np.sum(cr.loop(ref_step, x, 9, checkpoints="all") ** 2)            # noqa: E731
    in_loop = lambda x: np.sum(cr.loop(step, x, 9, checkpoints=2) ** 2)                 # noqa: E731
    around = lambda x: np.sum(cr.checkpoint(lambda y: cr.loop(step, y, 9, checkpoints=3))(x) ** 2)  # noqa: E731
    for f in (in_loop, around):
        np.testing.assert_allclose(cr.grad(f)(x0()), cr.grad(ref)(x0()), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(cr.hessian(f)(x0()), cr.hessian(ref)(x0()), rtol=1e-11, atol=1e-13)
    v = np.cos(x0())
    d = lambda f: (lambda x: cr.jvp(f, (x,), (v,))[1])                                  # noqa: E731
    np.testing.assert_allclose(cr.grad(d(in_loop))(x0()), cr.grad(d(ref))(x0()), rtol=1e-12, atol=1e-14)


def test_the_tape_holds_the_initial_state_only():
    from chainrule.reverse import tape_nbytes, vjp_flat
    x = np.linspace(0.0, 1.0, 1000)
    _, pullback = vjp_flat(lambda xs: [np.sum(cr.loop(heat_step, xs[0], 50, checkpoints=3) ** 2)], [x])
    # the loop keeps its input; x ** 2 keeps the final state
    assert tape_nbytes(pullback.tape) <= 2 * x.nbytes + 16
