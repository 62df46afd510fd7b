"""Rows of a reverse Jacobian that read early states of a trajectory cost only the steps before them.

The joins and writes that only move values into the outputs (``np.concatenate``, ``np.stack``,
``np.array([...])``, a buffer filled by ``Y[j] = y``, a list of outputs) hand the zeros of rows that
do not read a piece on as nothing, so the backward sweep of those rows never visits the later steps;
:func:`chainrule.transforms.fanout.output_reach` says how far along the tape each row reaches, and the
fan-out splits rows into tasks of equal cost by it.
"""

import concurrent.futures as cf
import itertools

import numpy as np
import pytest

import chainrule as cr
from chainrule.reverse import vjp_flat
from chainrule.transforms import fanout
from chainrule.transforms.adapter import FlatFun

VISITS = [0]                                # backward steps through ``mark``: one per time step a sweep visits


@cr.custom_vjp
def mark(y):
    return y


def _mark_bwd(res, g):
    VISITS[0] += 1
    return (g,)


mark.defvjp(lambda y: (y, ()), _mark_bwd)

STEPS, OUT_AT = 8, (2, 5, 8)
Y0 = np.array([1.0, 0.5, -0.3])
K = np.array([0.7, -0.4, 1.3])


def _buffer(states):
    Y = np.zeros_like(states[0], shape=(len(states), Y0.size))     # a buffer writes into traced values
    for j, s in enumerate(states):
        Y[j] = s
    return Y


JOINS = {"concatenate": np.concatenate, "stack": np.stack, "array": np.array, "buffer": _buffer, "list": list}


def trajectory(k, join="concatenate", marked=True):
    """The states after steps 2, 5 and 8 of a small nonlinear recurrence, joined by ``join``."""
    y, states = Y0, []
    for i in range(STEPS):
        y = y + 0.1 * np.sin(k * y) * np.roll(y, 1)
        if marked:
            y = mark(y)
        if i + 1 in OUT_AT:
            states.append(y)
    return JOINS[join](states)


def _flat_rows(out):
    return np.concatenate([np.ravel(o) for o in (out if isinstance(out, list) else [out])])


@pytest.mark.parametrize("join", ["concatenate", "stack", "array", "buffer"])
def test_a_cotangent_on_an_early_output_visits_only_the_steps_before_it(join):
    out, pullback = cr.vjp(lambda k: trajectory(k, join), K)
    for j, steps in enumerate(OUT_AT):
        g = np.zeros_like(out)
        g.reshape(len(OUT_AT), -1)[j] = np.array([1.0, -2.0, 0.5])
        VISITS[0] = 0
        (adj,) = pullback(g)
        assert VISITS[0] == steps
        # the adjoint itself: against the forward Jacobian of the unmarked function
        jac = cr.jacfwd(lambda k: trajectory(k, join, marked=False))(K).reshape(-1, K.size)
        np.testing.assert_allclose(adj, np.ravel(g) @ jac, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("join", list(JOINS))
def test_jacrev_by_chunks_of_one_output_each_visits_each_prefix_once(join):
    VISITS[0] = 0
    jac = cr.jacrev(lambda k: trajectory(k, join), chunk_size=Y0.size)(K)
    # mark's bwd runs once per row of a batch: 3 rows x (2 + 5 + 8) steps, not 3 sweeps of all 8
    assert VISITS[0] == Y0.size * sum(OUT_AT)
    rows = np.concatenate([np.reshape(x, (-1, K.size)) for x in (jac if join == "list" else [jac])])
    fwd = cr.jacfwd(lambda k: trajectory(k, join, marked=False))(K)
    np.testing.assert_allclose(rows, np.concatenate([np.reshape(x, (-1, K.size)) for x in
                                                     (fwd if join == "list" else [fwd])]), rtol=1e-12, atol=1e-14)
    h = 1e-6
    for i in range(K.size):
        e = np.zeros(K.size)
        e[i] = h
        fd = (_flat_rows(trajectory(K + e, join, False)) - _flat_rows(trajectory(K - e, join, False))) / (2 * h)
        np.testing.assert_allclose(rows[:, i], fd, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("join", list(JOINS))
def test_output_reach_orders_the_rows_by_the_step_they_read(join):
    flat = FlatFun(lambda k: trajectory(k, join, marked=False), (K,), 0, False)
    outs, pullback = vjp_flat(flat, flat.in_leaves)
    reach = fanout.output_reach(pullback.tape, pullback.out_nodes, outs)
    per_output = reach.reshape(len(OUT_AT), -1)
    assert np.all(per_output == per_output[:, :1])                  # the rows of one output reach alike
    levels = per_output[:, 0]
    assert 0 < levels[0] < levels[1] < levels[2] <= 1.0
    # ... in proportion to the steps (each step records the same entries)
    np.testing.assert_allclose(levels[:2] / levels[2], np.array(OUT_AT[:2]) / OUT_AT[2], rtol=0.1)


def test_output_reach_of_a_row_computed_at_the_end_is_the_whole_tape():
    flat = FlatFun(lambda k: np.concatenate([k * 2.0, np.array([3.0]), np.sum(k) * k]), (K,), 0, False)
    outs, pullback = vjp_flat(flat, flat.in_leaves)
    reach = fanout.output_reach(pullback.tape, pullback.out_nodes, outs)
    assert reach[3] == 0.0                                          # a constant: no work at all
    assert reach[:3].max() < reach[4:].min() <= 1.0


def _best_max(count, tasks, cost):
    """The smallest largest cost over every split of ``count`` into at most ``tasks`` contiguous spans."""
    best = cost(0, count)
    for k in range(1, tasks):
        for cuts in itertools.combinations(range(1, count), k):
            ends = (0,) + cuts + (count,)
            best = min(best, max(cost(a, b) for a, b in zip(ends, ends[1:])))
    return best


def test_split_by_cost_finds_the_balanced_split():
    rng = np.random.default_rng(5)
    for _ in range(40):
        count, tasks = int(rng.integers(2, 14)), int(rng.integers(2, 4))
        reach = np.sort(rng.uniform(0.05, 1.0, count))
        record, fixed, per = rng.uniform(0, 2), rng.uniform(0, 2), rng.uniform(0.01, 0.5)

        def cost(a, b):
            return record + reach[a:b].max() * (fixed + (b - a) * per)
        spans = fanout.split_by_cost(0, count, tasks, cost)
        assert spans[0][0] == 0 and sum(c for _, c in spans) == count and len(spans) <= tasks
        assert all(a + c == b for (a, c), (b, _) in zip(spans, spans[1:])) and all(c > 0 for _, c in spans)
        assert max(cost(a, a + c) for a, c in spans) == pytest.approx(_best_max(count, tasks, cost), rel=1e-6)
    # equal costs per direction: equal spans (within one), from any start
    assert fanout.split_by_cost(5, 9, 3, lambda a, b: b - a) == [(5, 3), (8, 3), (11, 3)]


def test_fanned_out_rows_are_split_by_their_reach(monkeypatch):
    """Earlier outputs' rows reach less of the tape, so the task holding them takes more rows; the
    Jacobian is the serial one either way (first call, with its probes, and a call on cached prices).
    (Split by rows: the split along the tape, which wins here, is tested in test_segments.py.)"""
    monkeypatch.setattr(fanout, "_worth", lambda serial_s, parallel_s: True)
    monkeypatch.setattr(fanout, "_segments", lambda *a, **kw: None)
    fanout.forget()

    def f(k):
        return trajectory(k, "stack", marked=False)
    seen = []
    real_gather = fanout.gather
    monkeypatch.setattr(fanout, "gather", lambda ex, spans, *a, **kw: seen.append(spans) or real_gather(ex, spans, *a, **kw))
    serial = cr.jacrev(f)(K)
    with cf.ThreadPoolExecutor(max_workers=2) as ex:
        fanned = cr.jacrev(f, executor=ex)
        first = fanned(K)
        key = next(iter(fanout._COSTS))
        total, _, _, _, per_b, result_b, reach = fanout._COSTS[key]
        assert reach is not None and reach[0] < reach[-1]
        # prices that make the balance plain: 1 s to record, 1 s a sweep of the whole tape, 0.5 s a row
        fanout._COSTS[key] = (total, 1.0, 0.5, 2.0, per_b, result_b, reach)
        again = fanned(K)
    assert fanout.last().distributed and "rows split" in fanout.last().reason
    np.testing.assert_allclose(first, serial, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(again, serial, rtol=1e-13, atol=1e-15)
    spans = seen[-1]
    assert fanout.last().spans == tuple(spans)
    assert [a for a, _ in spans] == [0, spans[0][1]] and sum(c for _, c in spans) == total
    assert spans[0][1] > spans[1][1]                # the early rows: more of them in one task
    fanout.forget()


def test_split_by_cost_on_many_directions_is_within_one_candidate_step_of_the_best():
    count, step = 1000, 4                                    # 256 candidates: ends every 4 directions
    reach = np.repeat(np.linspace(0.1, 1.0, 10), 100)

    def cost(a, b):
        return 0.5 + reach[a:b].max() * (1.0 + (b - a) * 0.02)
    spans = fanout.split_by_cost(0, count, 2, cost)
    assert len(spans) == 2 and spans[0] == (0, spans[1][0]) and sum(c for _, c in spans) == count
    best = min(max(cost(0, e), cost(e, count)) for e in range(1, count))
    got = max(cost(a, a + c) for a, c in spans)
    assert best <= got <= best + step * 0.02 + 1e-9
    assert got < max(cost(0, 500), cost(500, count))       # and better than equal halves


def test_a_fanned_call_that_stays_local_keeps_the_rows_in_order():
    """The probes take the last rows (they reach furthest); a call that stays here puts them back last."""
    fanout.forget()

    def f(k):
        return trajectory(k, "list", marked=False)
    serial = cr.jacrev(f)(K)
    fanned = cr.jacrev(f, executor=cf.ThreadPoolExecutor(max_workers=2))(K)     # far too cheap to send
    assert not fanout.last().distributed
    for a, b in zip(fanned, serial):
        assert np.array_equal(a, b)
    fanout.forget()


def test_empty_outputs_and_rows_that_all_reach_alike(monkeypatch):
    monkeypatch.setattr(fanout, "_worth", lambda serial_s, parallel_s: True)
    fanout.forget()
    with cf.ThreadPoolExecutor(max_workers=2) as ex:
        jac = cr.jacrev(lambda x: x[:0] * 2.0, executor=ex)(K)
        assert jac.shape == (0, 3)

        def with_aux(k):                                    # the aux is computed after the output
            out = np.tanh(k) * k[::-1]
            return out, np.sum(np.sin(out) ** 2)
        got, aux = cr.jacrev(with_aux, has_aux=True, executor=ex)(K)
        want, aux_want = cr.jacrev(with_aux, has_aux=True)(K)
        assert np.array_equal(got, want) and aux == aux_want
        np.testing.assert_allclose(got, cr.jacfwd(lambda k: with_aux(k)[0])(K), rtol=1e-13)
    # every row reaches as far (less than the whole tape): no balancing, and prices not scaled up
    (cost,) = [c for k, c in fanout._COSTS.items() if k[1] == "reverse" and c[0] == 3]
    assert cost[-1] is None
    fanout.forget()


def test_output_reach_of_a_long_stack_moves_each_element_once():
    """A join of k pieces costs one pass of its size (not k maps of it, as its sparsity rule builds)."""
    import tracemalloc

    def f(x):
        y, states = x, []
        for _ in range(300):
            y = np.sin(y)
            states.append(y)
        return np.stack(states)
    flat = FlatFun(f, (np.linspace(0.0, 1.0, 2000),), 0, False)
    outs, pullback = vjp_flat(flat, flat.in_leaves)
    tracemalloc.start()
    reach = fanout.output_reach(pullback.tape, pullback.out_nodes, outs)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 40e6                              # the reach itself is 600 000 x 8 bytes = 4.8 MB
    steps = reach.reshape(300, 2000)
    assert np.all(steps == steps[:, :1]) and np.all(np.diff(steps[:, 0]) > 0)


def test_sweep_share_prices_a_probe_of_early_rows_as_a_sweep_of_all():
    from chainrule.transforms.reach import sweep_share
    reach = np.array([0.1] * 20 + [0.5] * 20 + [1.0] * 20)
    assert sweep_share(reach, 0, 20) == pytest.approx(10.0)
    assert sweep_share(reach, 10, 20) == pytest.approx(2.0)       # rows reaching half the tape
    assert sweep_share(reach, 40, 20) == sweep_share(reach, 0, 60) == 1.0
    assert sweep_share(None, 0, 5) == sweep_share(np.zeros(0), 0, 5) == 1.0
    assert sweep_share(np.array([0.0, 0.0, 1.0]), 0, 2) == 1.0    # rows that do no work: not priced up


def test_the_split_is_refitted_to_what_the_last_tasks_took():
    """Two tasks' times (less the recording each paid) give a sweep's fixed and per-row prices exactly;
    tasks of one reach cannot tell them apart, and leave the prices as they were."""
    fanout.forget()
    reach = np.repeat(np.linspace(0.1, 1.0, 10), 20)
    spans, record, fixed, per_row = [(0, 120), (120, 80)], 0.6, 0.9, 0.021
    took = [record + reach[a:a + c].max() * (fixed + c * per_row) for a, c in spans]
    fanout._fit_split("k", spans, took, reach, record)
    np.testing.assert_allclose(fanout._SPLIT["k"], (fixed, per_row), rtol=1e-9)
    # balanced by those prices, the tasks would take alike (within one row's price)
    new = fanout.split_by_cost(0, 200, 2, lambda a, b: record + reach[a:b].max() * (fixed + (b - a) * per_row))
    times = [record + reach[a:a + c].max() * (fixed + c * per_row) for a, c in new]
    assert abs(times[0] - times[1]) < max(times) * 0.05 and max(times) < max(took)
    slower = [record + reach[a:a + c].max() * (3 * fixed + c * 3 * per_row) for a, c in spans]
    fanout._fit_split("k", spans, slower, reach, record)              # a call 3x slower: half way there
    np.testing.assert_allclose(fanout._SPLIT["k"], (2 * fixed, 2 * per_row), rtol=1e-9)
    # a fit far from the probes' balance of fixed and per-row prices (a factor 10 here) is not kept
    fanout._fit_split("wild", spans, took, reach, record, probed_ratio=10 * fixed / per_row)
    assert "wild" not in fanout._SPLIT
    fanout._fit_split("near", spans, took, reach, record, probed_ratio=2 * fixed / per_row)
    np.testing.assert_allclose(fanout._SPLIT["near"], (fixed, per_row), rtol=1e-9)
    fanout._fit_split("flat", [(0, 100), (100, 100)], [2.0, 2.0], np.ones(200), 0.5)
    assert "flat" not in fanout._SPLIT
    fanout.forget()
    assert not fanout._SPLIT
