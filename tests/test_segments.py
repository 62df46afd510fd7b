"""A reverse Jacobian split along the tape (transforms/segments.py): the pieces chained at the cuts are the
Jacobian, whatever the cuts, the joins, the dtypes and the pytrees; tapes that differ are never chained."""

import concurrent.futures as cf
import itertools

import numpy as np
import pytest

import chainrule as cr
from chainrule.reverse import vjp_flat
from chainrule.transforms import fanout
from chainrule.transforms import segments as S
from chainrule.transforms.adapter import FlatFun



def _buffer(states):
    Y = np.zeros_like(states[0], shape=(len(states), states[0].size))     # writes into a traced buffer
    for j, s in enumerate(states):
        Y[j] = s
    return Y


JOINS = {"concatenate": np.concatenate, "stack": np.stack, "array": np.array, "buffer": _buffer, "list": list}

Y0 = np.array([1.0, 0.5, -0.3, 0.8])
K = np.array([0.7, -0.4, 1.3, 0.2, -0.9])
M = np.random.default_rng(3).standard_normal((4, 5)) / 3


def walk(k, steps=10, every=2, join="concatenate", y0=Y0):
    """A nonlinear recurrence of a 4-state driven by the 5 parameters ``k`` at every step, its states
    at every ``every`` steps joined by ``join``."""
    y, states = y0, []
    for i in range(steps):
        y = y + 0.1 * np.tanh(M.astype(k.dtype) @ k * y) * np.roll(y, 1) + 0.05 * np.sin(k[:4] * y)
        if (i + 1) % every == 0:
            states.append(y)
    return JOINS[join](states)


def _plan(f, x):
    flat = FlatFun(f, (x,), 0, False)
    outs, pullback = vjp_flat(flat, flat.in_leaves)
    return flat, outs, pullback, S.tape_plan(pullback.tape, len(flat.in_leaves), pullback.out_nodes, outs)


def _chained(f, x, plan, cuts, chunk=1000):
    """The Jacobian from the segments' tasks run here at ``cuts``, rows in output order."""
    flat = FlatFun(f, (x,), 0, False)
    m = plan.sources.size
    rows = np.arange(m)
    seg_rows = S.split_rows(plan, rows, cuts)
    parts = []
    for spec in S.segment_specs(plan, seg_rows, cuts):
        d_in, d_live, *_ = S.segment_task(f, (x,), {}, 0, False, *spec, plan.fingerprint, chunk)
        parts.append((d_in, d_live))
    (jac,) = S.chain(parts, seg_rows, flat.in_leaves, 0, m)
    return jac


def test_the_live_values_between_two_steps_are_the_state():
    _, _, _, plan = _plan(walk, K)
    inner = plan.live[plan.n_in + 1:plan.sources.max()]       # (after the last state: only the outputs' join)
    assert np.isfinite(inner).any()
    assert inner[np.isfinite(inner)].min() == Y0.size        # between two steps only the state crosses
    cuts, seconds = S.plan_cuts(plan, np.arange(plan.sources.size), 2, 1.0, 1.0, 0.1)
    assert cuts is not None and plan.live[cuts[0]] == Y0.size
    single = 1.0 + (plan.sources.max() + 1) / plan.n * (1.0 + 0.1 * plan.sources.size)
    assert seconds < single                                  # two segments beat one sweep of every row


@pytest.mark.parametrize("join", ["concatenate", "stack", "array", "buffer"])
def test_every_cut_chains_to_the_serial_jacobian(join):
    """Any valid cut, between steps or inside one (where more is live), gives the Jacobian of both modes."""
    def f(k):
        return walk(k, join=join)
    serial = cr.jacrev(f)(K)
    assert np.allclose(serial, cr.jacfwd(f)(K), rtol=1e-12, atol=1e-14)
    _, _, _, plan = _plan(f, K)
    valid = np.nonzero(np.isfinite(plan.live[:plan.n]))[0]
    assert valid.size > 20
    picks = valid[np.linspace(0, valid.size - 1, 12).astype(int)]
    for k in picks:
        jac = _chained(f, K, plan, [int(k)])
        np.testing.assert_allclose(jac.reshape(serial.shape), serial, rtol=1e-12, atol=1e-14,
                                   err_msg=f"cut at {k} of {plan.n} ({plan.live[k]} live)")


def test_three_segments_and_narrow_chunks_chain_to_the_serial_jacobian():
    serial = cr.jacrev(walk)(K)
    _, _, _, plan = _plan(walk, K)
    valid = np.nonzero(np.isfinite(plan.live[:plan.n]))[0]
    rng = np.random.default_rng(0)
    for _ in range(6):
        a, b = sorted(rng.choice(valid, 2, replace=False).tolist())
        for chunk in (3, 1000):
            jac = _chained(walk, K, plan, [a, b], chunk)
            np.testing.assert_allclose(jac, serial, rtol=1e-12, atol=1e-14, err_msg=f"cuts {a}, {b}, chunk {chunk}")


def test_the_chained_jacobian_matches_central_differences():
    _, _, _, plan = _plan(walk, K)
    cuts, _ = S.plan_cuts(plan, np.arange(plan.sources.size), 3, 1.0, 1.0, 0.1)
    jac = _chained(walk, K, plan, cuts)
    h = 1e-6
    fd = np.stack([(walk(K + h * e) - walk(K - h * e)) / (2 * h) for e in np.eye(K.size)], axis=1)
    np.testing.assert_allclose(jac, fd, rtol=1e-6, atol=1e-8)


def test_a_long_lived_intermediate_is_live_at_every_cut():
    """exp(log k) computed once and read at every step crosses every cut: its derivative is chained too."""
    def f(logk):
        return walk(np.exp(logk))
    serial = cr.jacrev(f)(K)
    _, _, _, plan = _plan(f, K)
    inner = plan.live[plan.n_in + 1:plan.sources.max()]
    assert (inner[np.isfinite(inner)] >= K.size).all()         # (the first step reads the constant y0)
    assert np.isfinite(inner).any()
    for cuts in ([plan.n // 3], [plan.n // 4, plan.n // 2]):
        cuts = [c + int(not np.isfinite(plan.live[c])) for c in cuts]
        np.testing.assert_allclose(_chained(f, K, plan, cuts), serial, rtol=1e-12, atol=1e-14)


def test_no_cut_falls_where_a_complex_value_is_live():
    def f(k):
        y, states = Y0, []
        for i in range(6):
            z = np.fft.rfft(y * k[:4])
            y = y + 0.1 * np.fft.irfft(z * z, n=4)
            states.append(y)
        return np.concatenate(states)
    serial = cr.jacrev(f)(K)
    flat, outs, pullback, plan = _plan(f, K)
    assert np.isinf(plan.live[:plan.n]).sum() > plan.n // 4      # inside each step: a complex spectrum is live
    valid = np.nonzero(np.isfinite(plan.live[:plan.n]))[0]
    for k in valid[np.linspace(0, valid.size - 1, 6).astype(int)]:
        np.testing.assert_allclose(_chained(f, K, plan, [int(k)]), serial, rtol=1e-12, atol=1e-14)


def test_a_stopped_sweep_that_leaves_an_unplanned_adjoint_raises():
    _, _, _, plan = _plan(walk, K)
    cut = S.plan_cuts(plan, np.arange(plan.sources.size), 2, 1.0, 1.0, 0.1)[0][0]
    live = S.live_at(plan, cut)
    rows = S.split_rows(plan, np.arange(plan.sources.size), [cut])[1]
    with pytest.raises(S.TapeMismatch, match="did not count as live"):
        S.segment_task(walk, (K,), {}, 0, False, rows, cut, live[1:], [], plan.fingerprint, 100)
    with pytest.raises(S.TapeMismatch, match="another tape"):
        S.segment_task(walk, (K,), {}, 0, False, rows, cut, live, [], "not this tape", 100)


def _fanned(f, x, workers=2, **kw):
    """A first call (probes) and a second at plain prices (1 s to record, 1 s a sweep of the whole tape,
    0.5 s a row), on a thread pool; both results and the second call's Fanout."""
    fanout.forget()
    with cf.ThreadPoolExecutor(max_workers=workers) as ex:
        fanned = cr.jacrev(f, executor=ex, **kw)
        first = fanned(x)
        key = next(iter(fanout._COSTS))
        total, _, _, _, per_b, result_b, reach = fanout._COSTS[key]
        fanout._COSTS[key] = (total, 1.0, 0.5, 2.0, per_b, result_b, reach)
        again = fanned(x)
    return first, again, fanout.last()


@pytest.mark.parametrize("join", sorted(JOINS))
def test_fanned_out_along_the_tape_equals_the_serial_jacobian(monkeypatch, join):
    monkeypatch.setattr(fanout, "_worth", lambda serial_s, parallel_s: True)

    def f(k):
        return walk(k, steps=24, join=join)
    serial = cr.jacrev(f)(K)
    first, again, last = _fanned(f, K)
    assert last.distributed and last.cuts and "segments of the tape" in last.reason
    for got in (first, again):
        for a, b in zip(got if isinstance(got, list) else [got], serial if isinstance(serial, list) else [serial]):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    fanout.forget()


def test_three_workers_cut_twice(monkeypatch):
    monkeypatch.setattr(fanout, "_worth", lambda serial_s, parallel_s: True)

    def f(k):
        return walk(k, steps=30, every=3)
    first, again, last = _fanned(f, K, workers=3)
    assert len(last.cuts) == 2 and last.tasks == 3
    np.testing.assert_allclose(again, cr.jacrev(f)(K), rtol=1e-12, atol=1e-14)
    fanout.forget()


def test_pytrees_aux_and_float32(monkeypatch):
    monkeypatch.setattr(fanout, "_worth", lambda serial_s, parallel_s: True)

    def f(p):
        out = walk(p["k"], steps=24, y0=p["y0"])
        return {"states": out, "last": out[-4:] * 2}, out.sum()
    p = {"k": K, "y0": Y0}
    serial, aux = cr.jacrev(f, has_aux=True)(p)
    _, (again, aux2), last = _fanned(f, p, has_aux=True)
    assert last.cuts and np.allclose(aux2, aux)
    for name in serial:
        for leaf in p:
            np.testing.assert_allclose(again[name][leaf], serial[name][leaf], rtol=1e-12, atol=1e-14)
    p32 = {name: v.astype(np.float32) for name, v in p.items()}
    _, (j32, _), last = _fanned(f, p32, has_aux=True)
    assert last.cuts
    for name in serial:
        for leaf in p:
            assert j32[name][leaf].dtype == np.float32
            np.testing.assert_allclose(j32[name][leaf], serial[name][leaf], rtol=2e-4, atol=2e-5)
    fanout.forget()


def test_a_function_whose_tape_changes_is_not_chained(monkeypatch):
    """The same derivative through another path each call: the workers' tapes differ from the planned one,
    so the pieces are not chained; the call is computed here, and later calls split by rows."""
    monkeypatch.setattr(fanout, "_worth", lambda serial_s, parallel_s: True)
    calls = itertools.count()

    def f(k):
        if next(calls) % 2:
            k = k * 1.0                     # one more entry on the tape, the same values
        return walk(k, steps=24)
    serial = cr.jacrev(f)(K)
    first, again, last = _fanned(f, K)
    np.testing.assert_allclose(first, serial, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(again, serial, rtol=1e-12, atol=1e-14)
    reasons = [last.reason]
    with cf.ThreadPoolExecutor(max_workers=2) as ex:
        fanned = cr.jacrev(f, executor=ex)
        for _ in range(2):
            np.testing.assert_allclose(fanned(K), serial, rtol=1e-12, atol=1e-14)
            reasons.append(fanout.last().reason)
    assert any("could not be chained" in r for r in reasons), reasons
    assert not fanout.last().cuts
    fanout.forget()


def test_evaluations_that_differ_are_not_chained(monkeypatch):
    """A function whose values depend on more than its arguments (a call counter here) records the same
    tape in each task but other values: the tasks' outputs differ, so the pieces are not chained (each
    of them is right only for its own evaluation); the rows are split instead."""
    monkeypatch.setattr(fanout, "_worth", lambda serial_s, parallel_s: True)
    calls = itertools.count()

    def f(k):
        return walk(k * (1.0 + next(calls) % 2), steps=24)
    _fanned(f, K)
    last = fanout.last()
    assert last.distributed and not last.cuts and last.spans
    assert "could not be chained" in last.reason and "different outputs" in last.reason
    fanout.forget()


def test_cuts_are_planned_once_per_prices(monkeypatch):
    monkeypatch.setattr(fanout, "_worth", lambda serial_s, parallel_s: True)
    planned = []
    real = fanout.plan_cuts
    monkeypatch.setattr(fanout, "plan_cuts", lambda *a: planned.append(a) or real(*a))

    def f(k):
        return walk(k, steps=24)
    _, again, last = _fanned(f, K)
    with cf.ThreadPoolExecutor(max_workers=2) as ex:
        fanned = cr.jacrev(f, executor=ex)
        for _ in range(2):
            np.testing.assert_allclose(fanned(K), again, rtol=1e-13, atol=1e-15)
            assert fanout.last().cuts == last.cuts
    assert len(planned) == 2                      # the first call's prices, then the plain ones set in _fanned
    fanout.forget()


def test_what_no_output_depends_on_neither_is_live_nor_costs(monkeypatch):
    """Auxiliary data read from every state at the end (has_aux) keeps no state live across a cut, and
    the work it took is not priced: the cut balances the work the sweeps do."""
    def f(k):
        y, states, energy = Y0, [], []
        for i in range(24):
            y = y + 0.1 * np.tanh(M @ k * y) * np.roll(y, 1)
            energy.append(np.sum(y * y) * np.exp(-0.1 * i) + np.cos(y).sum())    # for the aux alone
            if (i + 1) % 2 == 0:
                states.append(y)
        return np.concatenate(states), np.stack(energy).sum() + np.stack(states).sum()
    flat = FlatFun(f, (K,), 0, True)
    outs, pullback = vjp_flat(flat, flat.in_leaves)
    plan = S.tape_plan(pullback.tape, 1, pullback.out_nodes, outs)
    inner = plan.live[plan.n_in + 1:plan.sources.max()]
    assert inner[np.isfinite(inner)].min() == Y0.size
    assert plan.work[plan.n] < 0.8 * plan.n                  # the aux's entries are not work for a sweep
    monkeypatch.setattr(fanout, "_worth", lambda serial_s, parallel_s: True)
    serial, aux = cr.jacrev(f, has_aux=True)(K)
    _, (again, aux2), last = _fanned(f, K, has_aux=True)
    assert last.cuts and np.allclose(aux2, aux)
    np.testing.assert_allclose(again, serial, rtol=1e-12, atol=1e-14)
    fanout.forget()


def test_a_float32_input_of_a_float64_function_keeps_jacrevs_dtype(monkeypatch):
    monkeypatch.setattr(fanout, "_worth", lambda serial_s, parallel_s: True)

    def f(k):
        return walk(k.astype(np.float64), steps=24)     # float64 from the first step on
    k32 = K.astype(np.float32)
    serial = cr.jacrev(f)(k32)
    _, again, last = _fanned(f, k32)
    assert last.cuts and serial.dtype == again.dtype == np.float32
    np.testing.assert_allclose(again, serial, rtol=1e-6, atol=1e-7)
    fanout.forget()
