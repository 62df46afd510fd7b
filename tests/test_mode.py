"""The cost model (transforms/mode.py) and jacobian with automatic mode choice.

Choices are asserted through the model's estimates and on shapes where the
two modes differ by a wide margin; measured timings live in
benchmarks/jacobian_modes.py, never here.
"""

import math
import threading

import numpy as np
import pytest

import chainrule as cr
from chainrule.transforms.mode import (TapeStats, available_memory, decide, directions_per_sweep,
                                       fit_sweep, parse_bytes)

RNG = np.random.default_rng(7)


def tanh_layers(n, m, hidden=64, seed=0):
    rng = np.random.default_rng(seed)
    w1 = rng.standard_normal((hidden, n)) / np.sqrt(n)
    w2 = rng.standard_normal((m, hidden)) / np.sqrt(hidden)
    return lambda x: np.tanh(w2 @ np.tanh(w1 @ x))


def stats(n, m, operations=10, tape_bytes=1000, largest=800):
    return TapeStats(n, m, operations, tape_bytes, largest, 8 * n, 8 * m)


@pytest.mark.parametrize("n, m, mode", [(4, 2000, "forward"), (2000, 4, "reverse"), (20, 2000, "forward")])
def test_lopsided_shapes_decide_without_timing(n, m, mode):
    cr.clear_caches()
    d = cr.choose_mode(tanh_layers(n, m), RNG.standard_normal(n))
    assert (d.mode, d.n, d.m) == (mode, n, m)
    assert d.reason.startswith(mode) and d.reason.endswith(".")
    assert not d.measured and "nothing timed" in d.reason
    assert math.isnan(d.forward.seconds) and math.isnan(d.ratio)
    assert d.forward.directions == n and d.reverse.directions == m


def test_a_shape_reason_written_when_read_is_the_same_everywhere():
    import pickle
    cr.clear_caches()
    d = cr.choose_mode(tanh_layers(2000, 4), RNG.standard_normal(2000))       # reason written lazily
    copy = pickle.loads(pickle.dumps(d))                                      # a pickle holds the text
    assert copy.reason == d.reason == d.to_dict()["reason"] and "2000" in d.reason and "500 times" in d.reason
    assert "_lazy" not in vars(copy) and (copy.mode, copy.n, copy.m) == ("reverse", 2000, 4)
    for cost in ("forward", "reverse"):                                       # the other mode's cost, written when read
        a, b = getattr(copy, cost), getattr(d, cost)
        assert (a.directions, a.sweeps, a.bytes, a.fits) == (b.directions, b.sweeps, b.bytes, b.fits)
        assert math.isnan(a.seconds) and math.isnan(b.seconds)
    assert (d.forward.directions, d.reverse.directions) == (2000, 4)
    with pytest.raises(AttributeError):
        d.no_such_field


def test_near_the_diagonal_the_probe_measures_both_modes(monkeypatch):
    import importlib
    J = importlib.import_module("chainrule.transforms.jacobian")     # the module, not the function
    monkeypatch.setattr(J, "PROBE_SHARE", 1e9)     # whatever the probe costs on this machine
    cr.clear_caches()
    f, x = tanh_layers(200, 300), RNG.standard_normal(200)
    d = cr.choose_mode(f, x)
    assert d.measured and (d.n, d.m) == (200, 300)
    assert d.forward.seconds > 0 and d.reverse.seconds > 0 and d.ratio > 0
    cr.clear_caches()
    assert np.allclose(cr.jacobian(f)(x), cr.jacrev(f)(x), rtol=1e-12, atol=1e-14)     # probes kept in the answer
    monkeypatch.setattr(J, "PROBE_SHARE", 0.0)      # no probe is cheap enough: the mode with fewer directions
    for n, m, mode in ((200, 300, "forward"), (300, 200, "reverse")):
        cr.clear_caches()
        f, x = tanh_layers(n, m), RNG.standard_normal(n)
        d = cr.choose_mode(f, x)
        assert d.mode == mode and not d.measured and "near the diagonal" in d.reason
        cr.clear_caches()
        assert np.allclose(cr.jacobian(f)(x), cr.jacfwd(f)(x), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("budget, evaluations", [(None, 3), ("2MB", 4)])
def test_many_inputs_near_the_diagonal_record_first_and_keep_the_tape_for_the_probe(monkeypatch, budget, evaluations):
    """n = 300 >= RECORD_FIRST, m = 400, array code: the recording (a guarded forward sweep would give up at
    the first matmul, so none runs) tells m, a plain evaluation prices the probe, the
    forward sweep is the Jacobian, and reverse's probe pulls through the first recording when its tape is at
    most 1/16 of the budget (3 evaluations of f), else records again (at least 4: with 2 MB the 300 x 300
    seed does not fit one sweep, so no guarded sweep; the tape of 150 kB is more than 1/16 of 2 MB, which
    also splits the forward sweeps, and how many follow depends on the timed choice)."""
    import importlib
    J = importlib.import_module("chainrule.transforms.jacobian")
    monkeypatch.setattr(J, "PROBE_SHARE", 1e9)     # the probe runs, whatever it costs on this machine
    inner, calls = tanh_layers(300, 400), []

    def f(x):
        calls.append(1)
        return inner(x)
    x = RNG.standard_normal(300)
    cr.clear_caches()
    got = cr.jacobian(f, memory_budget=budget)(x)
    assert len(calls) == evaluations if budget is None else len(calls) >= evaluations
    d = cr.choose_mode(f, x, memory_budget=budget)
    assert d.measured and (d.n, d.m) == (300, 400) and d.reverse.seconds > 0 and d.forward.seconds > 0
    assert np.allclose(got, cr.jacrev(inner)(x), rtol=1e-12, atol=1e-14)
    h, cols = 1e-6, [0, 151, 299]
    fd = np.stack([(inner(x + h * e) - inner(x - h * e)) / (2 * h) for e in np.eye(300)[cols]], axis=1)
    assert np.allclose(got[:, cols], fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("n, m", [(200, 200), (1000, 1000)])
def test_the_choice_is_the_cheaper_estimate_or_within_ten_percent(n, m):
    cr.clear_caches()
    d = cr.choose_mode(tanh_layers(n, m), RNG.standard_normal(n))
    if d.measured:
        other = d.reverse if d.mode == "forward" else d.forward
        assert d.chosen.seconds <= 1.1 * other.seconds
    assert d.forward.directions == n and d.reverse.directions == m
    for c in (d.forward, d.reverse):
        assert c.sweeps == -(-c.directions // c.directions_per_sweep)


def test_the_measured_ratio_decides_between_equal_shapes():
    s = stats(100, 100)
    # (fixed, per direction) seconds of a sweep: reverse directions three times the price of forward ones
    cheap_forward = decide(s, t_record=1e-4, forward=(1e-4, 1e-4), reverse=(1e-4, 3e-4))
    cheap_reverse = decide(s, t_record=1e-4, forward=(1e-4, 3e-4), reverse=(1e-4, 1e-4))
    assert cheap_forward.mode == "forward" and cheap_forward.ratio == pytest.approx(3.0)
    assert cheap_reverse.mode == "reverse" and cheap_reverse.ratio == pytest.approx(1 / 3)
    # n = 64 against m = 1, but a forward sweep costs the same for 1 or 64 directions here
    flat = decide(stats(64, 1), t_record=1e-4, forward=(1.5e-4, 0.0), reverse=(1e-4, 0.0))
    assert flat.mode == "forward" and flat.forward.seconds < flat.reverse.seconds


def test_fit_sweep_separates_fixed_and_per_direction_costs():
    assert fit_sweep(3e-3, 10e-3, 8) == pytest.approx((2e-3, 1e-3))
    assert fit_sweep(3e-3) == (3e-3, 0.0)
    assert fit_sweep(3e-3, 2e-3, 8) == (3e-3, 0.0)                 # noise: never a negative price
    assert fit_sweep(3e-3, 5e-3, 1) == (4e-3, 0.0)


def test_a_tie_goes_to_the_mode_with_fewer_directions():
    # one direction costs 1e-4 s in both modes; the sweeps themselves are nearly free
    near = decide(stats(11, 10), 1e-6, (1e-6, 1e-4), (1e-6, 1e-4))
    assert near.mode == "reverse" and near.forward.seconds > near.reverse.seconds
    tie = decide(stats(10, 11), 1e-6, (1e-6, 1e-4), (1e-6, 1e-4))
    assert tie.mode == "forward" and tie.forward.seconds < tie.reverse.seconds
    # within 10% but the slower one has fewer directions: still the fewer directions
    slow = decide(stats(10, 11), 1e-6, (1e-6, 1.05e-4), (1e-6, 0.9e-4))
    assert slow.mode == "forward" and slow.forward.seconds > slow.reverse.seconds and "within 10%" in slow.reason
    # equal shapes: no mode has fewer directions, so the lower estimate, however close
    square = decide(stats(10, 10), 1e-6, (1e-6, 1.05e-4), (1e-6, 1e-4))
    assert square.mode == "reverse" and "within 10%" not in square.reason


def test_a_tape_larger_than_the_budget_forces_forward():
    s = stats(10_000, 10, tape_bytes=10 ** 9)
    d = decide(s, 1e-3, (1e-3, 1e-4), (1e-3, 1e-4), memory_budget=10 ** 8)
    assert d.mode == "forward" and not d.reverse.fits and d.forward.fits
    assert "memory budget" in d.reason
    assert decide(s, 1e-3, (1e-3, 1e-4), (1e-3, 1e-4), memory_budget=10 ** 10).mode == "reverse"


def test_chunks_come_from_the_memory_budget():
    # a 10^4 x 10^4 Jacobian: one direction of every intermediate costs ~ 3 * 80 kB
    per_direction = 3 * 8 * 10_000
    k = directions_per_sweep(10_000, bytes_per_direction=per_direction, memory_budget=2 ** 26)
    assert 1 <= k < 10_000 and k * per_direction <= 2 ** 26 < (k + 1) * per_direction
    assert directions_per_sweep(10_000, bytes_per_direction=10 ** 9, memory_budget=10 ** 6) == 1
    assert directions_per_sweep(5, chunk_size=3) == 3
    d = decide(stats(10_000, 10_000, largest=80_000), 1e-3, (1e-3, 1e-4), (1e-3, 1e-4), memory_budget=2 ** 26)
    assert d.forward.directions_per_sweep < 10_000 and d.forward.sweeps > 1
    assert d.forward.bytes - 8 * 10 ** 8 <= 2 ** 26


def test_budget_parsing_and_errors():
    assert parse_bytes("512MB") == 512 * 2 ** 20 and parse_bytes("2 GB") == 2 * 2 ** 30
    assert parse_bytes(None) == available_memory() // 4 > 0
    with pytest.raises(ValueError, match="not a size"):
        parse_bytes("lots")
    with pytest.raises(ValueError, match="positive"):
        parse_bytes(0)
    with pytest.raises(ValueError, match="chunk_size"):
        directions_per_sweep(4, chunk_size=0)
    with pytest.raises(ValueError, match="'auto', 'forward', 'reverse'"):
        cr.jacobian(np.sin, mode="fwd")


@pytest.mark.parametrize("n, m", [(3, 40), (40, 3), (9, 9), (1, 1)])
def test_forced_modes_equal_jacfwd_and_jacrev_and_auto_agrees(n, m):
    f, x = tanh_layers(n, m, hidden=7), RNG.standard_normal(n)
    fwd, rev = cr.jacfwd(f)(x), cr.jacrev(f)(x)
    assert np.array_equal(cr.jacobian(f, mode="forward")(x), fwd)
    assert np.array_equal(cr.jacobian(f, mode="reverse")(x), rev)
    auto = cr.jacobian(f)
    for _ in range(2):                              # first call measures, second reuses the decision
        got = auto(x)
        assert got.shape == (m, n) and np.allclose(got, fwd, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("mode", ["auto", "forward", "reverse"])
def test_a_small_budget_gives_several_sweeps_and_the_same_jacobian(mode):
    f, x = tanh_layers(30, 50, hidden=20), RNG.standard_normal(30)
    want = cr.jacfwd(f)(x)
    budget = 20 * 3 * 8 * 50                        # room for about 20 directions
    assert np.allclose(cr.jacobian(f, mode=mode, memory_budget=budget)(x), want, rtol=1e-12, atol=1e-14)
    d = cr.choose_mode(f, x, memory_budget=budget)
    assert 1 < d.chosen.sweeps and d.chosen.directions_per_sweep < min(30, 50)


def test_pytrees_argnums_and_aux():
    def f(p, scale):
        return {"a": np.sin(p["w"]) * scale, "b": np.sum(p["v"] ** 2)}, "aux"
    p = {"w": RNG.standard_normal((2, 3)), "v": RNG.standard_normal(4)}
    got, aux = cr.jacobian(f, has_aux=True)(p, 2.0)
    want, _ = cr.jacrev(f, has_aux=True)(p, 2.0)
    assert aux == "aux"
    assert got["a"]["w"].shape == (2, 3, 2, 3) and got["b"]["v"].shape == (4,)
    for o in ("a", "b"):
        for i in ("w", "v"):
            assert np.allclose(got[o][i], want[o][i], atol=1e-14)
    both = cr.jacobian(lambda x, y: x * y, argnums=(0, 1))(np.ones(2), np.arange(2.0))
    assert np.allclose(both[0], np.diag([0.0, 1.0])) and np.allclose(both[1], np.eye(2))


# n = 4: one forward sweep of all 4 directions is the Jacobian.  n = 2000 (>= RECORD_FIRST): the tape, whose
# first operation a guarded forward sweep would refuse (array code: so none runs), which tells m and which
# the reverse Jacobian pulls its 4 rows through, with no plain evaluation: one evaluation in all.  n = 40:
# the plain evaluation, then the forward sweep.
@pytest.mark.parametrize("n, m, evaluations", [(4, 2000, 1), (2000, 4, 1), (40, 2000, 2)])
def test_auto_reuses_its_first_evaluation(n, m, evaluations):
    """The first call evaluates f no more than the chosen mode would, plus at most one plain evaluation
    (from RECORD_FIRST inputs on, array code: the recording alone, no guarded forward sweep)."""
    cr.clear_caches()
    inner, calls = tanh_layers(n, m, hidden=8), []

    def f(x):
        calls.append(1)
        return inner(x)
    x = RNG.standard_normal(n)
    jac = cr.jacobian(f)
    assert jac.decision_for(x) is None
    got = jac(x)
    assert len(calls) == evaluations
    assert np.allclose(got, cr.jacfwd(inner)(x), rtol=1e-12, atol=1e-14)
    assert jac.decision_for(x).mode == ("forward" if n < m else "reverse")
    calls.clear()
    jac(x)
    assert len(calls) == 1                          # later calls: the chosen mode alone, in one sweep


def test_a_jacobian_made_inside_a_loop_decides_once():
    """The decision cache is the process's: a new jacobian object per call still finds the decision."""
    cr.clear_caches()
    inner, calls = tanh_layers(300, 200, hidden=8), Counter()
    x = RNG.standard_normal(300)
    want = cr.jacrev(inner)(x)
    scale = 2.0

    def make():
        return lambda x: calls(inner(x) * scale)    # a new function object at every call, the same code

    for i in range(100):
        calls.count = 0
        got = cr.jacobian(make())(x)
        if i == 0:
            assert calls.count >= 2                 # the plain evaluation and probes
        else:
            assert calls.count == 1                 # the chosen mode's one sweep, no probe
        assert np.allclose(got, 2.0 * want, rtol=1e-12, atol=1e-13)
    calls.count = 0
    assert cr.choose_mode(make(), x).n == 300
    assert calls.count == 0                          # choose_mode shares the cache


def scalar_misfit(u):
    """Scalar code (one entry per operation), R^n -> R: a forced, damped recurrence and its squared misfit."""
    x, v, total = 1.0, 0.0, 0.0
    for i in range(u.shape[0]):
        x, v = x + 0.05 * v, v + 0.05 * (u[i] - 0.3 * v - 2.0 * x)
        total = total + (x - 0.5) ** 2
    return total


def test_scalar_code_with_one_output_goes_forward_after_a_first_call_in_reverse():
    """1 output, 300 inputs: the shapes say reverse, but scalar code sweeps 300 tangent directions for about
    the price of one.  The function starts with an array operation on all its inputs, where the guarded
    forward sweep gives up: the first call records, finishes through its tape and predicts forward, the second
    call times its forward sweep against the first call's reverse mode and keeps the faster, later calls
    follow it."""
    cr.clear_caches()
    u = 0.1 * np.sin(np.arange(300.0))
    calls = Counter()
    f = lambda u: calls(scalar_misfit(1.0 * u))     # noqa: E731
    jac = cr.jacobian(f)
    first = jac(u)
    assert calls.count == 1                          # the recording (the guarded sweep, cut short at 1.0 * u, never
    # reached the end of f; 300 >= RECORD_FIRST inputs: no plain evaluation)
    d = jac.decision_for(u)
    assert d.mode == "forward" and not d.measured and d.verify
    assert "scalar code" in d.reason and "finished in reverse" in d.reason and "timed" in d.reason
    assert "aborted at numpy.multiply on a (300,) value (operation 1)" in d.reason
    assert d.operations >= 1000 and d.reverse.seconds > 0 and d.forward.seconds > 0
    calls.count = 0
    second = jac(u)
    assert calls.count == 1                          # one forward sweep of all 300 directions, timed
    d2 = jac.decision_for(u)
    assert d2.measured and not d2.verify and d2.reason.startswith(d2.mode + ": timed")
    assert d2.reverse.seconds == d.reverse.seconds   # the first call's reverse mode, against the forward sweep now
    assert d2.mode == ("forward" if d2.forward.seconds <= d2.reverse.seconds else "reverse")
    calls.count = 0
    later = jac(u)
    assert calls.count == 1 and jac.decision_for(u) is d2    # settled: no more timing
    grad = cr.grad(scalar_misfit)(u)
    for got in (first, second, later):
        assert got.shape == (300,) and np.allclose(got, grad, rtol=1e-12, atol=1e-14)
    h, e = 1e-6, np.eye(300)[[0, 150, 299]]
    fd = [(scalar_misfit(u + h * d_) - scalar_misfit(u - h * d_)) / (2 * h) for d_ in e]
    assert np.allclose(second[[0, 150, 299]], fd, rtol=1e-6, atol=1e-9)
    # the same recurrence on a short input is too few operations to tell: the shapes decide
    cr.clear_caches()
    assert cr.choose_mode(scalar_misfit, u[:40]).mode == "reverse"


def test_a_predicted_forward_mode_that_times_slower_goes_back_to_reverse(monkeypatch):
    """The second call's forward sweep, timed slower than the first call's reverse mode: reverse from then on."""
    import importlib
    J = importlib.import_module("chainrule.transforms.jacobian")
    cr.clear_caches()
    u = 0.1 * np.cos(np.arange(300.0))
    calls = Counter()
    jac = cr.jacobian(lambda u: calls(scalar_misfit(1.0 * u)))      # array code first: the guarded sweep gives up
    jac(u)
    d = jac.decision_for(u)
    assert d.mode == "forward" and d.verify
    clock = iter([0.0, 1e9])                         # the forward sweep "takes" 10^9 s
    monkeypatch.setattr(J, "_clock", lambda: next(clock))
    second = jac(u)
    monkeypatch.undo()
    d2 = jac.decision_for(u)
    assert d2.mode == "reverse" and d2.measured and not d2.verify and d2.forward.seconds == 1e9
    assert d2.reason.startswith("reverse: timed")
    calls.count = 0
    third = jac(u)
    assert calls.count == 1 and jac.decision_for(u) is d2       # the recording, then its backward sweep
    grad = cr.grad(scalar_misfit)(u)
    for got in (second, third):
        assert np.allclose(got, grad, rtol=1e-12, atol=1e-14)
    assert np.allclose(third, cr.jacfwd(scalar_misfit)(u), rtol=1e-12, atol=1e-14)



def scalar_positions(u):
    """Scalar code, R^n -> R^n: the positions of the forced, damped recurrence of :func:`scalar_misfit`."""
    x, v, xs = 1.0, 0.0, []
    for i in range(u.shape[0]):
        x, v = x + 0.05 * v, v + 0.05 * (u[i] - 0.3 * v - 2.0 * x)
        xs.append(x * x)
    return np.stack(xs)


def test_near_the_diagonal_scalar_code_finishes_through_its_first_recording():
    """n = m = 300 >= RECORD_FIRST, an array operation first (the guarded forward sweep gives up there): the
    recording that told m is scalar code, where a sweep costs about a recording whatever its directions: the
    first call pulls its rows through that tape (f recorded once, no plain evaluation, no probe), and later
    calls go forward, predicted, then timed by the second call."""
    cr.clear_caches()
    u = 0.1 * np.sin(np.arange(300.0))
    calls = Counter()
    jac = cr.jacobian(lambda u: calls(scalar_positions(1.0 * u)))
    first = jac(u)
    assert calls.count == 1                          # the recording (the guarded sweep stopped at 1.0 * u)
    d = jac.decision_for(u)
    assert (d.n, d.m) == (300, 300) and d.mode == "forward" and d.verify and "scalar code" in d.reason
    calls.count = 0
    second = jac(u)
    assert calls.count == 1 and jac.decision_for(u).measured
    want = cr.jacrev(scalar_positions)(u)
    assert np.allclose(first, want, rtol=1e-12, atol=1e-14) and np.allclose(second, want, rtol=1e-12, atol=1e-14)
    h, cols = 1e-6, [0, 150, 299]
    fd = np.stack([(scalar_positions(u + h * e) - scalar_positions(u - h * e)) / (2 * h)
                   for e in np.eye(300)[cols]], axis=1)
    assert np.allclose(first[:, cols], fd, rtol=1e-6, atol=1e-9)

class Counter:
    """Counts evaluations of the functions that call it (a closure may capture it without defeating the cache)."""

    def __init__(self):
        self.count = 0

    def __call__(self, value):
        self.count += 1
        return value


def test_closures_over_arrays_are_keyed_by_identity():
    cr.clear_caches()
    w = RNG.standard_normal((3, 40))
    calls = []

    def make(w):
        return lambda x: (calls.append(1), np.tanh(w @ x))[1]
    x = RNG.standard_normal(40)
    f = make(w)
    j1 = cr.jacobian(f)(x)
    calls.clear()
    j2 = cr.jacobian(f)(x)                           # the same function object: cached
    assert len(calls) == 1 and np.allclose(j1, j2)
    from chainrule.transforms.mode import DECISIONS
    before = len(DECISIONS)
    g = make(2 * w)
    assert cr.jacobian(g).decision_for(x) is None    # same code, another array: not the same decision
    assert np.allclose(cr.jacobian(g)(x), cr.jacfwd(g)(x), rtol=1e-12, atol=1e-14)
    assert len(DECISIONS) == before + 1              # decided anew


def test_the_cache_is_bounded_and_clearable():
    from chainrule.transforms.jacobian import decision_key
    from chainrule.transforms.mode import CACHE_SIZE, DECISIONS
    cr.clear_caches()
    f = lambda c, x: np.sin(x) * c                  # noqa: E731
    d = cr.choose_mode(f, np.float64(2.0), np.ones((1, 0)))
    for k in range(1, 600):                         # through choose_mode: more shapes than the cache holds
        cr.choose_mode(f, np.float64(2.0), np.ones((k, 0)))
        assert len(DECISIONS) <= CACHE_SIZE
    for k in range(600, 10_001):                    # 10^4 shapes in all; the keys choose_mode would use
        DECISIONS.put(decision_key(f, (np.float64(2.0), np.ones((k, 0))), {}, 0), d)
        assert len(DECISIONS) <= CACHE_SIZE
    assert len(DECISIONS) == CACHE_SIZE
    key = decision_key(f, (np.float64(2.0), np.ones((10_000, 0))), {}, 0)
    assert DECISIONS.get(key) is d                  # the most recent ones stay
    assert DECISIONS.get(decision_key(f, (np.float64(2.0), np.ones((1, 0))), {}, 0)) is None
    cr.clear_caches()
    assert len(DECISIONS) == 0


def test_the_cache_is_safe_across_threads():
    cr.clear_caches()
    f, errors = tanh_layers(12, 30, hidden=4), []
    want = cr.jacfwd(f)(np.ones(12))

    def work(seed):
        try:
            rng = np.random.default_rng(seed)
            for _ in range(20):
                n = int(rng.integers(9, 14))
                x = np.ones(n)
                g = tanh_layers(n, 30, hidden=4)
                assert np.allclose(cr.jacobian(g)(x), cr.jacfwd(g)(x), rtol=1e-12, atol=1e-14)
                cr.clear_caches() if rng.random() < 0.1 else None
            assert np.allclose(cr.jacobian(f)(np.ones(12)), want, rtol=1e-12, atol=1e-14)
        except Exception as err:                    # reported to the main thread
            errors.append(err)
    threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


@pytest.mark.slow
@pytest.mark.parametrize("n, m", [(4, 2000), (2000, 4), (200, 200), (1000, 1000)])
def test_auto_chooses_the_faster_mode_or_one_within_ten_percent(n, m):
    """Timed (slow): the median of interleaved runs of both forced modes against auto's choice."""
    import statistics
    import time
    f, x = tanh_layers(n, m), RNG.standard_normal(n)
    cr.clear_caches()
    mode = cr.choose_mode(f, x).mode
    runs = {"forward": cr.jacfwd(f), "reverse": cr.jacrev(f)}
    times = {k: [] for k in runs}
    for _ in range(7):
        for k, fn in runs.items():
            t0 = time.perf_counter()
            fn(x)
            times[k].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    assert med[mode] <= 1.1 * min(med.values()), (mode, med)


@pytest.mark.slow
@pytest.mark.parametrize("problem", ["sensitivities", "transpose"])
def test_auto_chooses_the_faster_mode_on_the_rk4_simulation(problem):
    """Timed (slow): the RK4 oscillator of benchmarks/simulation.py, 1000 steps: 4 parameters -> the
    2000-entry trajectory, and its transpose, 1000 forcing values -> a scalar misfit (scalar code)."""
    import statistics
    import time
    from benchmarks import simulation as S
    f, x = (S.trajectory, S.PARAMS) if problem == "sensitivities" else (S.loss, S.forcing())
    cr.clear_caches()
    auto = cr.jacobian(f)
    first = auto(x)
    mode = auto.decision_for(x).mode
    runs = {"forward": cr.jacfwd(f), "reverse": cr.jacrev(f)}
    times = {k: [] for k in runs}
    for _ in range(3):
        for k, fn in runs.items():
            t0 = time.process_time()
            fn(x)
            times[k].append(time.process_time() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    assert med[mode] <= 1.1 * min(med.values()), (mode, med)
    want = runs["reverse"](x)
    assert np.allclose(first, want, rtol=1e-10, atol=1e-13) and np.allclose(auto(x), want, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("n, f", [(40, lambda x: x[:0]), (0, lambda x: np.sum(x) * np.ones(3)),
                                  (12, lambda x: np.sin(x[:6]) * x[6:])])
def test_empty_and_float32_jacobians_match_jacfwd(n, f):
    for dtype in (np.float64, np.float32):
        cr.clear_caches()
        x = np.linspace(0.1, 1.0, n).astype(dtype)
        want = cr.jacfwd(f)(x)
        for _ in range(2):                          # the first call and a decided one
            got = cr.jacobian(f)(x)
            assert got.shape == want.shape and got.dtype == want.dtype
            assert np.allclose(got, want, rtol=1e-6, atol=1e-7)


def test_a_function_whose_captures_change_is_keyed_anew():
    from chainrule.transforms.jacobian import decision_key
    scale, x = 2.0, np.ones(3)
    f = lambda x: x * scale                          # noqa: E731
    first = decision_key(f, (x,), {}, 0)
    assert decision_key(f, (x,), {}, 0) == first     # remembered per function object
    scale = 3.0                                      # noqa: F841  (the closure sees the new value)
    assert decision_key(f, (x,), {}, 0) != first
    assert decision_key(f, (x,), {}, 0) != decision_key(f, (x,), {}, (0,), memory_budget="1MB")


@pytest.mark.parametrize("n, m", [(3, 200), (200, 3)])
def test_auto_jacobian_dtype_does_not_depend_on_the_mode_chosen(n, m):
    # float32 in, float64 out: a forward sweep carries the output's precision, a backward sweep the
    # input's; auto mode (forward for n << m, reverse for m << n) gives the promoted dtype either way
    w = np.linspace(0.5, 1.5, n * m).reshape(m, n)            # float64 constant
    f = lambda x: w @ np.sin(x)                               # noqa: E731
    x = np.linspace(-1, 1, n).astype(np.float32)
    cr.clear_caches()
    j = cr.jacobian(f)(x)
    assert j.dtype == np.float64
    want = w * np.cos(x.astype(np.float64))
    np.testing.assert_allclose(j, want, rtol=1e-6)
    assert cr.jacobian(lambda x: 2 * np.sin(x))(x).dtype == np.float32


@pytest.mark.parametrize("n, m, budget", [(2000, 4, None), (2000, 40, "300kB"), (8, 2000, "200kB"),
                                          (40, 2000, "400kB"), (300, 400, "2MB")])
def test_a_decisions_costs_written_when_read_are_the_memory_model(n, m, budget):
    """Both modes' costs of a decision taken without timing are written when first read: they equal the
    memory model's (directions per sweep within the budget, sweeps, bytes, fits), and the Jacobian, whose
    sweeps read them when there are more than FEW_DIRECTIONS (chunked here by a small budget), is right."""
    from chainrule.transforms.mode import FEW_DIRECTIONS, decide_without_timing, parse_bytes
    f = tanh_layers(n, m)
    x = RNG.standard_normal(n)
    cr.clear_caches()
    got = cr.jacobian(f, memory_budget=budget)(x)
    d = cr.choose_mode(f, x, memory_budget=budget)
    assert np.allclose(got, cr.jacrev(f)(x), rtol=1e-12, atol=1e-14)
    assert np.allclose(got, cr.jacfwd(f)(x), rtol=1e-12, atol=1e-14)
    # a decision built now, its costs read at once, against the one above read only now
    st = stats(n, m, operations=d.operations, tape_bytes=d.tape_bytes)
    eager = decide_without_timing(d.mode, n, m, "why", budget, stats=st)
    lazy = decide_without_timing(d.mode, n, m, "why", budget, stats=st)
    per_b, limit = st.bytes_per_direction, parse_bytes(budget)
    for mode, dirs, fixed in (("forward", n, 0), ("reverse", m, st.tape_bytes)):
        cost = getattr(eager, mode)
        k = directions_per_sweep(max(dirs, 1), bytes_per_direction=per_b, memory_budget=max(limit - fixed, 1))
        assert (cost.directions, cost.directions_per_sweep, cost.sweeps) == (dirs, k, math.ceil(dirs / k))
        assert cost.bytes == fixed + k * per_b + 8 * n * m and cost.fits == (fixed + per_b <= limit)
        assert math.isnan(cost.seconds)
    assert "forward" not in lazy.__dict__ and "reverse" not in lazy.__dict__
    assert repr(lazy) == repr(eager) and "forward" in lazy.__dict__ and "reverse" in lazy.__dict__
    if budget is not None and d.chosen.directions > FEW_DIRECTIONS:     # the small budgets chunk the sweeps
        assert d.chosen.directions_per_sweep < d.chosen.directions
