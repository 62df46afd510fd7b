"""Auto mode's guarded forward sweep (transforms/guarded.py): from RECORD_FIRST inputs on, the first call
sweeps all n directions forward under a guard that gives up at array code.

Scalar code: the sweep runs to its end, is the first call's Jacobian, and the second call times reverse
mode against it.  Array code: the guard refuses the first costly operation before it runs, nothing is
kept, and the first call decides as it would without the guard.  Every Jacobian is checked against the
other mode and central differences.
"""

import importlib

import numpy as np
import pytest

import chainrule as cr
from chainrule.core import active_levels
from chainrule.transforms.guarded import GuardedForwardLevel, GuardTripped, guarded_jvp_flat

from .test_mode import scalar_misfit, scalar_positions

J = importlib.import_module("chainrule.transforms.jacobian")       # the module, not the function
N = 300                                                             # >= RECORD_FIRST
assert N >= J.RECORD_FIRST


misfit = scalar_misfit        # scalar code, R^n -> R (tests/test_mode.py)
positions = scalar_positions  # scalar code, R^n -> R^n, near the diagonal (tests/test_mode.py)


RNG = np.random.default_rng(11)
W4 = RNG.standard_normal((4, N)) / np.sqrt(N)
WN = RNG.standard_normal((N, N)) / np.sqrt(N)


def narrow(x):
    """Array code, R^300 -> R^4."""
    return np.tanh(W4 @ np.sin(x))


def square(x):
    """Array code, R^300 -> R^300: a product and a tanh."""
    return np.tanh(WN @ x) * x


def scalar_then_array(x):
    """Forty scalar operations, then array code, R^300 -> R^4."""
    s = 0.0
    for i in range(10):
        s = s + x[i] * x[i + 1]
    y = x
    for _ in range(10):
        y = 0.5 * y + 0.1 * np.sin(y) * s
    return W4 @ y


def central(f, x, cols, h=1e-6):
    """Columns ``cols`` of the Jacobian of f at x, by central differences (float64)."""
    x = np.asarray(x, dtype=np.float64)
    e = np.eye(x.size)[cols]
    return np.stack([(np.asarray(f(x + h * d)) - np.asarray(f(x - h * d))) / (2 * h) for d in e], axis=-1)


class Counted:
    """f, counting the evaluations that start (a sweep cut short counts too)."""

    def __init__(self, f):
        self.f, self.count = f, 0

    def __call__(self, x):
        self.count += 1
        return self.f(x)


U = 0.1 * np.sin(np.arange(float(N)))


@pytest.mark.parametrize("f, m", [(misfit, 1), (positions, N)])
def test_scalar_code_first_call_is_one_guarded_forward_sweep(f, m):
    cr.clear_caches()
    counted = Counted(f)
    jac = cr.jacobian(counted)
    got = jac(U)
    # a recording, stopped before its first operation (one a guarded sweep lets run: not array code), and
    # the guarded sweep
    assert counted.count == 2
    want = cr.jacrev(f)(U)
    assert got.shape == want.shape == ((N,) if m == 1 else (N, N))
    assert np.allclose(got, want, rtol=1e-12, atol=1e-14)
    cols = [0, 150, 299]
    fd = central(f, U, cols)
    assert np.allclose(got[..., cols], fd, rtol=1e-6, atol=1e-9)
    d = jac.decision_for(U)
    assert (d.mode, d.n, d.m) == ("forward", N, m) and d.measured and d.verify
    assert d.forward.seconds > 0 and np.isnan(d.reverse.seconds)
    assert d.reason.startswith("forward: a guarded forward sweep of all n = 300 directions completed")
    assert "scalar code" in d.reason and "the next call times reverse mode" in d.reason


@pytest.mark.parametrize("reverse_seconds, mode", [(0.5, "reverse"), (2.0, "forward")])
@pytest.mark.parametrize("f", [misfit, positions])
def test_the_second_call_times_reverse_mode_and_keeps_the_faster(monkeypatch, f, reverse_seconds, mode):
    cr.clear_caches()
    counted = Counted(f)
    jac = cr.jacobian(counted)
    monkeypatch.setattr(J, "_clock", iter([0.0, 1.0]).__next__)          # the guarded forward sweep: 1 s
    first = jac(U)
    assert jac.decision_for(U).forward.seconds == 1.0
    monkeypatch.setattr(J, "_clock", iter([0.0, reverse_seconds]).__next__)    # recording and backward sweep
    counted.count = 0
    second = jac(U)
    monkeypatch.undo()
    assert counted.count == 1                               # one recording
    d = jac.decision_for(U)
    assert d.mode == mode and d.measured and not d.verify
    assert (d.forward.seconds, d.reverse.seconds) == (1.0, reverse_seconds)
    assert d.reason.startswith(mode + ": timed") and "guarded forward sweep" in d.reason
    counted.count = 0
    third = jac(U)
    assert counted.count == 1 and jac.decision_for(U) is d  # settled: no more timing
    want = cr.jacfwd(f)(U)
    for got in (first, second, third):
        assert np.allclose(got, want, rtol=1e-12, atol=1e-14)


def test_many_outputs_make_the_guarded_forward_sweep_final():
    """m >= SHAPE_RATIO * n: forward for good, nothing left to verify."""
    cr.clear_caches()
    scale = np.arange(1.0, J.SHAPE_RATIO * N + 1.0)

    def wide(u):
        return misfit(u) * scale
    counted = Counted(wide)
    jac = cr.jacobian(counted)
    got = jac(U)
    d = jac.decision_for(U)
    assert counted.count == 2 and (d.mode, d.m) == ("forward", scale.size) and d.measured and not d.verify
    assert "forward for good" in d.reason
    assert np.allclose(got, scale[:, None] * cr.grad(misfit)(U), rtol=1e-12, atol=1e-12)
    counted.count = 0
    jac(U)
    assert counted.count == 1 and jac.decision_for(U) is d


@pytest.mark.parametrize("f, where, mode", [(narrow, "numpy.sin on a (300,) value (operation 1)", "reverse"),
                                            (square, "numpy.matmul on a (300,) value (operation 1)", None),
                                            (scalar_then_array, "numpy.", "reverse")])
def test_array_code_aborts_the_guarded_sweep_and_decides_as_before(monkeypatch, f, where, mode):
    x = np.linspace(-1.0, 1.0, N)
    cr.clear_caches()
    monkeypatch.setattr(J._AutoJacobian, "_guarded_forward", lambda self: None)    # without the guard
    before = cr.choose_mode(f, x)
    monkeypatch.undo()
    cr.clear_caches()
    counted = Counted(f)
    jac = cr.jacobian(counted)
    got = jac(x)
    assert active_levels() == []
    d = jac.decision_for(x)
    assert "A guarded forward sweep of all 300 directions aborted at " + where in d.reason
    assert "array code, recorded instead." in d.reason
    assert d.mode == (mode or before.mode) or before.measured     # the probes' timings may differ between runs
    if mode is not None:
        assert d.mode == before.mode == mode
    want = cr.jacrev(f)(x)
    assert np.allclose(got, want, rtol=1e-12, atol=1e-14)
    assert np.allclose(got, cr.jacfwd(f)(x), rtol=1e-12, atol=1e-14)
    cols = [0, 5, 299]
    assert np.allclose(got[:, cols], central(f, x, cols), rtol=1e-6, atol=1e-8)


def test_the_scalar_prefix_counts_before_the_array_code():
    """The guard gives up after the forty scalar operations, at the array code's first few operations."""
    x = np.linspace(-1.0, 1.0, N)
    level = GuardedForwardLevel(N)
    with pytest.raises(GuardTripped) as trip:
        guarded_jvp_flat(level, lambda xs: [scalar_then_array(xs[0])], [x], lambda: [np.eye(N)])
    assert trip.value is level.tripped and 40 < trip.value.operations <= 46
    assert active_levels() == []


def test_a_function_that_catches_exceptions_cannot_swallow_the_abort():
    def stubborn(x):
        try:
            y = np.sin(x)
        except Exception:                                   # noqa: BLE001 - the point of the test
            y = np.zeros_like(x)
        return W4 @ y
    x = np.linspace(-1.0, 1.0, N)
    cr.clear_caches()
    got = cr.jacobian(stubborn)(x)
    assert np.allclose(got, W4 * np.cos(x), rtol=1e-12, atol=1e-14)
    assert "aborted at numpy.sin" in cr.choose_mode(stubborn, x).reason


def test_an_abort_leaves_no_level_behind():
    x = np.linspace(-1.0, 1.0, N)
    cr.clear_caches()
    cr.jacobian(narrow)(x)
    assert active_levels() == []
    g = cr.grad(lambda x: np.sum(narrow(x) ** 2))(x)          # another transform afterwards
    assert np.allclose(g, 2 * (narrow(x) * (1 - narrow(x) ** 2)) @ (W4 * np.cos(x)), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("f", [narrow, scalar_then_array, misfit])
def test_auto_jacobian_inside_grad_and_jvp(f):
    """Nested: the guarded sweep (finishing or aborted) under an outer reverse or forward level."""
    x = np.linspace(-0.5, 0.5, N)
    c = np.cos(np.arange(4.0 if f is not misfit else 1.0)).reshape((-1, 1)) if f is not misfit else 1.0

    def outer(jacobian):
        return lambda x: np.sum(c * jacobian(f)(x) * x)
    cr.clear_caches()
    got = cr.grad(outer(cr.jacobian))(x)
    assert active_levels() == []
    want = cr.grad(outer(cr.jacrev))(x)
    assert np.allclose(got, want, rtol=1e-10, atol=1e-12)
    assert np.allclose(got, cr.grad(outer(cr.jacfwd))(x), rtol=1e-10, atol=1e-12)
    v = np.sin(np.arange(float(N)))
    cr.clear_caches()
    y, t = cr.jvp(cr.jacobian(f), (x,), (v,))
    y2, t2 = cr.jvp(cr.jacrev(f), (x,), (v,))
    assert np.allclose(y, y2, rtol=1e-12, atol=1e-14) and np.allclose(t, t2, rtol=1e-10, atol=1e-12)
    h = 1e-6
    fd = (cr.jacrev(f)(x + h * v) - cr.jacrev(f)(x - h * v)) / (2 * h)
    assert np.allclose(t, fd, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("f", [misfit, positions, narrow, lambda u: np.stack([u[i] * u[i + 1] for i in range(N - 1)])])
def test_float32_inputs(f):
    u = (0.1 * np.sin(np.arange(float(N)))).astype(np.float32)
    cr.clear_caches()
    got = cr.jacobian(f)(u)
    assert got.dtype == np.result_type(np.asarray(f(u)).dtype, np.float32)     # float32 unless f promotes
    want = cr.jacfwd(f)(u)
    assert np.allclose(got, want, rtol=1e-5, atol=1e-6) and np.allclose(got, cr.jacrev(f)(u), rtol=1e-5, atol=1e-6)
    assert np.allclose(got, cr.jacrev(f)(u.astype(np.float64)), rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("f", [lambda u: sum(u[i] * u[i + 1] for i in range(N - 1)), narrow])
def test_explain_reports_the_decision_jacobian_takes(f):
    """Few scalar operations (the shapes alone would say reverse) or array code: explain asks the first call."""
    x = np.linspace(-1.0, 1.0, N)
    cr.clear_caches()
    e = cr.explain(f, x, max_rows=4)
    jac = cr.jacobian(f)
    assert jac.decision_for(x) is e.decision
    assert ("guarded forward sweep of all n = 300 directions completed" in e.decision.reason) == (f is not narrow)
    assert "Recommendation: " + e.decision.reason in str(e)
    assert np.allclose(jac(x), cr.jacrev(f)(x), rtol=1e-12, atol=1e-14)


def test_a_function_forward_mode_cannot_differentiate_goes_reverse():
    """A custom_vjp has no JVP: the guarded sweep fails, and the first call records as it would without it."""
    @cr.custom_vjp
    def soft(x):
        return np.sin(x)

    soft.defvjp(lambda x: (np.sin(x), np.cos(x)), lambda c, g: (g * c,))
    f = lambda x: W4 @ soft(x)                                # noqa: E731
    x = np.linspace(-1.0, 1.0, N)
    cr.clear_caches()
    with pytest.raises(cr.NotDifferentiableError):
        cr.jacfwd(f)(x)
    got = cr.jacobian(f)(x)
    assert active_levels() == []
    assert np.allclose(got, W4 * np.cos(x), rtol=1e-12, atol=1e-14)
    assert np.allclose(got, cr.jacrev(f)(x), rtol=1e-12, atol=1e-14)
    d = cr.choose_mode(f, x)
    assert d.mode == "reverse" and "guarded forward sweep of all 300 directions failed (NotDifferentiableError)" in d.reason


def test_progress_reports_the_guarded_sweep(monkeypatch, capsys):
    from chainrule.transforms import progress as P
    monkeypatch.setattr(P, "DELAY", 0.0)
    monkeypatch.setattr(P, "_tqdm_bar", lambda *a: None)
    cr.clear_caches()
    got = cr.jacobian(misfit, progress=True)(U)
    assert "jacobian (forward): 300/300" in capsys.readouterr().err
    assert np.allclose(got, cr.grad(misfit)(U), rtol=1e-12, atol=1e-14)


def _view_first(x):
    """A view first (the guard lets it run, then refuses its 100-entry result), then array code."""
    return W4[:, :100] @ np.sin(x[:100])


def _scalar_first_op(x):
    """The first operation on the inputs is a fast unary one on the whole array (process_unary)."""
    return np.tanh(W4 @ np.exp(-x * x))


# evaluations of the first call: 1, the recording (the guard would refuse the first operation); 2, a recording
# stopped before its first operation and the guarded sweep, which ran to its end (scalar code); 3, those two,
# the guarded sweep refusing a later operation, and the recording
@pytest.mark.parametrize("f, evaluations", [(narrow, 1), (lambda x: np.sum(np.sin(x)), 1), (_view_first, 3),
                                            (_scalar_first_op, 1), (misfit, 2), (scalar_then_array, 3),
                                            (lambda x: np.exp(x)[:4], 1)])
def test_recording_first_when_the_guard_would_refuse_decides_as_the_guarded_sweep(monkeypatch, f, evaluations):
    """The first call records at once when the guard would refuse f's first operation; the decision is the one
    that running the guarded sweep first gives (a recording stopped before its first operation otherwise)."""
    x = np.linspace(-1.0, 1.0, N)
    cr.clear_caches()
    counted = Counted(f)
    got = cr.jacobian(counted)(x)
    fast = cr.choose_mode(counted, x)
    first = counted.count
    cr.clear_caches()
    monkeypatch.setattr(J._AutoJacobian, "_record_if_refused", lambda self, n: False)    # the guarded sweep first
    slow = cr.choose_mode(counted, x)
    assert active_levels() == []
    assert (fast.mode, fast.n, fast.m, fast.measured, fast.verify) == (slow.mode, slow.n, slow.m, slow.measured,
                                                                         slow.verify)
    if not fast.measured:                               # decided from the shapes: the reasons read the same
        assert fast.reason == slow.reason
        assert (fast.operations, fast.tape_bytes, fast.chosen.directions_per_sweep) == (
            slow.operations, slow.tape_bytes, slow.chosen.directions_per_sweep)
    assert first == evaluations
    assert np.allclose(got, cr.jacrev(f)(x), rtol=1e-12, atol=1e-14)
    assert np.allclose(got, cr.jacfwd(f)(x), rtol=1e-12, atol=1e-14)
    cols = [0, 150, 299]
    assert np.allclose(got[..., cols], central(f, x, cols), rtol=1e-6, atol=1e-8)
