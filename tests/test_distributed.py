"""Jacobians fanned out over executors (issue 14): equal to the serial ones, faults, bad input, the serial fallback.

Every call runs under a timeout (:func:`within`): a test fails instead of hanging.
The Dask tests need ``distributed`` and start a LocalCluster of 2 worker processes once.
"""

import concurrent.futures as cf
import functools
import os
import threading

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import UnpicklableFunctionError, WorkerLostError
from chainrule.transforms import fanout

TIMEOUT = 60


def within(fn, seconds=TIMEOUT):
    """``fn()`` in a daemon thread, failing the test after ``seconds`` instead of hanging."""
    box = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as e:          # noqa: BLE001 - handed to the test
            box["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    if t.is_alive():
        pytest.fail(f"no result within {seconds} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


# -- functions the workers run: module level, so that a process pool can pickle them ---------------------
def f_tree(p, c):
    """A pytree in ({"a": (3,), "b": (2, 2)}, (2,)) -> a pytree out (a tuple of a (4,) array and a dict)."""
    a, b = p["a"], p["b"]
    u = np.sin(a[:2] * b[0]) + c * np.cos(b[1])
    v = np.exp(0.3 * a) * np.sum(b) + a[::-1] * c[0]
    return (np.concatenate([u, u * c[1]]), {"s": np.sum(v * v), "v": v})


def scalar(p, c):
    return np.sum(f_tree(p, c)[1]["v"] ** 2) + np.sum(np.tanh(f_tree(p, c)[0]))


def boom(x):
    raise ValueError("boom from inside f")


def trajectory(k):
    """The states of a nonlinear 4-state recurrence driven by ``k`` (5,) at every third of 30 steps."""
    y, states = np.array([1.0, 0.5, -0.3, 0.8]), []
    for i in range(30):
        y = y + 0.1 * np.tanh(k[:4] * y) * np.roll(y, 1) + 0.05 * np.sin(k[4] * y)
        if (i + 1) % 3 == 0:
            states.append(y)
    return np.concatenate(states)


def trajectory_dies_once(armed, died, parent, k):
    """:func:`trajectory`; once ``armed`` exists, the first call in a worker kills its process."""
    if os.getpid() != parent and os.path.exists(armed) and not os.path.exists(died):
        open(died, "w").close()
        os._exit(1)
    return trajectory(k)


def check_segments(executor):
    """A reverse Jacobian cut along the tape in other processes: their tapes match the planned one (the
    fingerprint is the same in every process), and the chained pieces are the serial Jacobian."""
    k = np.array([0.7, -0.4, 1.3, 0.2, -0.9])
    serial = cr.jacrev(trajectory)(k)
    fanned = cr.jacrev(trajectory, executor=executor)
    first = within(lambda: fanned(k))
    key = next(iter(fanout._COSTS))
    total, _, _, _, per_b, result_b, reach = fanout._COSTS[key]
    fanout._COSTS[key] = (total, 1.0, 0.5, 2.0, per_b, result_b, reach)    # prices at which cutting pays
    again = within(lambda: fanned(k))
    assert fanout.last().cuts and "segments of the tape" in fanout.last().reason, fanout.last().reason
    for got in (first, again):
        np.testing.assert_allclose(got, serial, rtol=1e-12, atol=1e-14)


def dies_once(marker, parent, x):
    """In a worker (not the test process) the first call kills its process; later calls compute."""
    if os.getpid() != parent and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return np.sin(x) * np.sum(x ** 2)


def always_dies(parent, x):
    if os.getpid() != parent:
        os._exit(1)
    return np.sin(x)


def logs_to(fh, x):
    """A function holding an open file (as a logger might): a process pool cannot send it."""
    return np.sin(x)


def cheap(x):
    return x * 2.0


def f_sparse(p, c):
    """A sparse Jacobian over pytrees: ({"a": (8,), "b": (8,)}, (2,)) -> ({"u": (7,), "v": (8,)}, a dense scalar)."""
    a, b = p["a"], p["b"]
    return {"u": a[1:] * np.cos(a[:-1]), "v": np.exp(0.2 * b) * a + c[1]}, np.sum(a * b) * c[0] + c[1] ** 2


def s_sparse(p, c):
    """A scalar with a sparse Hessian over the pytree ({"a": (8,), "b": (8,)}, (2,))."""
    a, b = p["a"], p["b"]
    return np.sum(a[1:] * a[:-1] ** 2) + np.sum(np.sin(b) * a) + c[0] * np.sum(b ** 2) + np.cos(c[1]) * a[0]


def real_of_complex(z, w):
    """Real outputs of complex and real inputs: jacrev's complex case (JAX's convention)."""
    return np.real(z * np.conj(z)) * w[0] + np.imag(z ** 2) * w[1] + np.abs(z[::-1]) * w[1]


def complex_of_real(x):
    """Complex outputs of a real input: jacfwd's complex case."""
    return np.exp(1j * x) * x[::-1]


def holo(z):
    return np.sin(z) * z[::-1] + z ** 2


P = {"a": np.array([0.3, -0.7, 1.1]), "b": np.array([[0.5, 1.5], [-0.2, 0.9]])}
C = np.array([0.4, -1.2])


@pytest.fixture
def forced(monkeypatch):
    """Distribute even what is too cheap to be worth it (the workloads here are small)."""
    monkeypatch.setattr(fanout, "_worth", lambda serial_s, parallel_s: True)
    fanout.forget()


@pytest.fixture(scope="module")
def pool():
    with cf.ProcessPoolExecutor(max_workers=2) as ex:
        yield ex


def leaves(tree):
    return cr.pytree.flatten(tree)[0]


def assert_identical(a, b):
    la, lb = leaves(a), leaves(b)
    assert cr.pytree.flatten(a)[1] == cr.pytree.flatten(b)[1]
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        assert np.shape(x) == np.shape(y) and np.array_equal(x, y)


def central_difference_column(fun, p, c, leaf, index, h=1e-6):
    """d fun / d p[leaf][index] by central differences, as a flat vector over fun's output leaves."""
    hi = {k: v.copy() for k, v in p.items()}
    lo = {k: v.copy() for k, v in p.items()}
    hi[leaf][index] += h
    lo[leaf][index] -= h
    return np.concatenate([np.ravel((x - y) / (2 * h)) for x, y in zip(leaves(fun(hi, c)), leaves(fun(lo, c)))])


def check_transforms(executor):
    """jacfwd, jacrev, auto jacobian and hessian over ``executor`` equal the serial results exactly."""
    for transform in (cr.jacfwd, cr.jacrev):
        serial = transform(f_tree, argnums=(0, 1))(P, C)
        fanned = within(lambda: transform(f_tree, argnums=(0, 1), executor=executor)(P, C))
        assert fanout.last().distributed and fanout.last().tasks == 2
        assert_identical(fanned, serial)
    # the mathematics: forward against reverse, and a column against central differences
    fwd = cr.jacfwd(f_tree, executor=executor)(P, C)
    rev = cr.jacrev(f_tree, executor=executor)(P, C)
    for x, y in zip(leaves(fwd), leaves(rev)):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)
    column = np.concatenate([np.ravel(fwd[0]["b"][..., 1, 0]), np.ravel(fwd[1]["s"]["b"][1, 0]),
                             np.ravel(fwd[1]["v"]["b"][..., 1, 0])])
    np.testing.assert_allclose(column, central_difference_column(f_tree, P, C, "b", (1, 0)), rtol=1e-6, atol=1e-8)
    cr.clear_caches()
    auto = within(lambda: cr.jacobian(f_tree, executor=executor)(P, C))
    assert_identical(auto, cr.jacfwd(f_tree)(P, C))
    hess = within(lambda: cr.hessian(scalar, executor=executor)(P, C))
    assert fanout.last().distributed
    assert_identical(hess, cr.hessian(scalar)(P, C))


def test_process_pool_equals_serial(forced, pool):
    check_transforms(pool)


def test_segments_on_a_process_pool(forced, pool):
    check_segments(pool)


@pytest.mark.parametrize("transform", [cr.jacrev, cr.jacfwd, cr.jacobian])
def test_mixed_precision_keeps_the_serial_dtype(forced, transform):
    """A float32 input of a float64 function (and the other way round): the fanned Jacobian has the serial
    transform's dtype (jacrev: the input's, jacfwd: the output's, jacobian: both together), not another."""
    M = np.linspace(0.5, 1.5, 144).reshape(12, 12) / 12
    cases = [(lambda x: M @ np.sin(x), np.linspace(0.1, 0.9, 12, dtype=np.float32)),
             (lambda x: (M @ np.sin(x) * 2).astype(np.float32), np.linspace(0.1, 0.9, 12))]
    with cf.ThreadPoolExecutor(max_workers=2) as ex:
        for f, x in cases:
            serial = transform(f)(x)
            fanout.forget()
            for _ in range(2):                          # the first call (probes) and one on cached prices
                got = within(lambda: transform(f, executor=ex)(x))
                assert fanout.last().distributed
                assert got.dtype == serial.dtype
                np.testing.assert_allclose(got, serial, rtol=1e-6)


def test_thread_pool_equals_serial(forced):
    with cf.ThreadPoolExecutor(max_workers=2) as ex:
        check_transforms(ex)


def test_has_aux_and_chunk_size(forced, pool):
    def with_aux(x):
        return np.sin(x) * x[0], {"note": np.sum(x)}
    x = np.linspace(-1.0, 1.0, 9)
    with cf.ThreadPoolExecutor(max_workers=3) as ex:
        jac, aux = within(lambda: cr.jacfwd(with_aux, has_aux=True, chunk_size=2, executor=ex)(x))
    ref, ref_aux = cr.jacfwd(with_aux, has_aux=True)(x)
    assert np.array_equal(jac, ref) and aux["note"] == ref_aux["note"]
    assert fanout.last().tasks == 3


def test_worker_killed_process_pool(forced, tmp_path):
    """A worker process dies mid-Jacobian: the pool breaks, the chunk is resubmitted once, nothing is missing."""
    f = functools.partial(dies_once, str(tmp_path / "died"), os.getpid())
    x = np.linspace(0.1, 1.0, 12)
    with cf.ProcessPoolExecutor(max_workers=2) as ex:
        jac = within(lambda: cr.jacfwd(f, executor=ex)(x))
    assert (tmp_path / "died").exists()                  # a worker really died
    assert np.array_equal(jac, cr.jacfwd(f)(x))
    np.testing.assert_allclose(jac, cr.jacrev(f)(x), rtol=1e-12, atol=1e-12)


def test_worker_killed_during_a_cut_along_the_tape(forced, tmp_path):
    """A worker dies while sweeping one segment of the tape: the task is resubmitted once (on a fresh pool),
    and the chained Jacobian is complete and equal to the serial one."""
    armed, died = tmp_path / "armed", tmp_path / "died"
    f = functools.partial(trajectory_dies_once, str(armed), str(died), os.getpid())
    k = np.array([0.7, -0.4, 1.3, 0.2, -0.9])
    serial = cr.jacrev(f)(k)
    with cf.ProcessPoolExecutor(max_workers=2) as ex:
        fanned = cr.jacrev(f, executor=ex)
        within(lambda: fanned(k))
        key = next(iter(fanout._COSTS))
        total, _, _, _, per_b, result_b, reach = fanout._COSTS[key]
        fanout._COSTS[key] = (total, 1.0, 0.5, 2.0, per_b, result_b, reach)    # prices at which cutting pays
        armed.touch()
        jac = within(lambda: fanned(k))
    assert died.exists() and fanout.last().cuts
    np.testing.assert_allclose(jac, serial, rtol=1e-12, atol=1e-14)


def test_worker_lost_twice_is_an_error(forced):
    """A chunk whose worker dies again when resubmitted: WorkerLostError, no partial Jacobian."""
    f = functools.partial(always_dies, os.getpid())
    with cf.ProcessPoolExecutor(max_workers=2) as ex:
        with pytest.raises(WorkerLostError, match="lost twice"):
            within(lambda: cr.jacfwd(f, executor=ex)(np.linspace(0.1, 1.0, 12)))


def test_exception_in_f_reaches_caller(forced, pool):
    with pytest.raises(ValueError, match="boom from inside f"):
        within(lambda: cr.jacrev(boom, executor=pool)(np.ones(3)))


def test_unpicklable_function(forced, pool):
    with pytest.raises(UnpicklableFunctionError, match=r"(?s)lambda.*cannot be pickled.*dask.distributed Client"):
        within(lambda: cr.jacfwd(lambda x: x * 2.0, executor=pool)(np.ones(12)))
    with open(__file__) as fh:                           # a captured open file
        f = functools.partial(logs_to, fh)
        with pytest.raises(TypeError, match=r"(?s)partial\(logs_to, ...\) cannot be pickled.*TextIOWrapper"):
            within(lambda: cr.jacfwd(f, executor=pool)(np.ones(12)))


class NoWorkers(cf.Executor):
    _max_workers = 0

    def submit(self, fn, /, *args, **kwargs):
        raise AssertionError("nothing may be submitted")


def test_zero_workers(forced):
    with pytest.raises(ValueError, match="no workers"):
        within(lambda: cr.jacrev(cheap, executor=NoWorkers())(np.ones(12)))
    jac = cr.sparse_jacobian(lambda x: x[2:] * x[1:-1] * x[:-2], mode="forward", executor=NoWorkers())
    jac(np.ones(6))                                      # the first call is local
    with pytest.raises(ValueError, match="no workers"):
        within(lambda: jac(np.ones(6)))


def test_too_little_work_does_not_ask_the_executor():
    """Work of microseconds is not worth sending: the executor is not even asked how many workers it has."""
    fanout.forget()
    x = np.linspace(0.0, 1.0, 30)
    for transform in (cr.jacfwd, cr.jacrev):
        for _ in range(2):                               # with the probe, then with the cached prices
            jac = within(lambda: transform(cheap, executor=NoWorkers())(x))
            assert np.array_equal(jac, transform(cheap)(x))
            assert fanout.last().workers is None and "too little to send" in fanout.last().reason


def test_serial_fallback_for_cheap_sweeps(pool):
    """Sweeps of microseconds stay local even with an executor, and the Fanout says why."""
    fanout.forget()
    x = np.linspace(0.0, 1.0, 30)
    for transform in (cr.jacfwd, cr.jacrev):
        jac = within(lambda: transform(cheap, executor=pool)(x))
        assert np.array_equal(jac, transform(cheap)(x))
        last = fanout.last()
        assert not last.distributed and last.tasks == 0
        assert last.reason.startswith("serial: ") and "would take about" in last.reason


def test_a_call_on_cached_prices_counts_the_recording_it_would_redo_here():
    """The first call records f here and sweeps the rest on that tape; a later call has no tape, so computing
    it here records f again: the serial estimate weighed against the tasks includes that recording (it did
    not, and a reverse Jacobian that paid off distributed was judged not worth sending after its first call)."""
    x = np.linspace(0.1, 1.0, 30)
    for transform, mode, recording in ((cr.jacrev, "reverse", 2.0), (cr.jacfwd, "forward", 0.0)):
        fanout.forget()
        key = (fanout.decision_key(cheap, (x,), {}, 0, False), mode, False)
        fixed, per_dir = 0.5, 0.001                      # prices as a probe would have cached them
        fanout._COSTS[key] = (30, fixed, per_dir, recording + fixed, 8 * 30, 8 * 30, None)
        jac = within(lambda: transform(cheap, executor=NoWorkers())(x))
        assert np.array_equal(jac, transform(cheap)(x))
        last = fanout.last()
        assert not last.distributed
        assert last.serial_seconds == pytest.approx(fixed + 30 * per_dir + recording, rel=1e-12)
    fanout.forget()


def test_a_distributed_call_is_weighed_against_its_tasks_work_too():
    """The first call's narrow probes may underprice a wide sweep (its large temporaries' page faults): a
    later call weighs the last distributed time against the larger of that estimate and the work the tasks
    did (their CPU time, less the fresh evaluations a serial call would not make), so a distribution that
    paid off is not abandoned on an estimate that was too low; without that work, the estimate decides."""
    x = np.linspace(0.1, 1.0, 30)
    key = (fanout.decision_key(cheap, (x,), {}, 0, False), "forward", False)
    fixed, per_dir = 0.01, 0.004                       # probes' prices: 0.13 s for the 30 columns here
    estimate = fixed + 30 * per_dir
    with cf.ThreadPoolExecutor(max_workers=2) as ex:
        for work, distributed in ((None, False), (1.0, True), (0.1, False)):
            fanout.forget()
            fanout._COSTS[key] = (30, fixed, per_dir, fixed, 8 * 30, 8 * 30, None)
            fanout._SEEN[key] = 0.9 * estimate         # the last distributed call: not clearly under the estimate
            if work is not None:
                fanout._WORK[key] = work               # ... but clearly under what its tasks' work took
            jac = within(lambda: cr.jacfwd(cheap, executor=ex)(x))
            assert np.array_equal(jac, cr.jacfwd(cheap)(x))
            last = fanout.last()
            assert last.distributed is distributed, (work, last.reason)
            if not distributed:
                assert "the last distributed call at these shapes took" in last.reason
            else:                                      # and this call's tasks measured their own work
                assert 0.0 <= fanout._WORK[key] < 1.0
    fanout.forget()


class Counting:
    """``cheap`` and how often it was evaluated (its recorded or traced evaluations too)."""

    def __init__(self):
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        return np.sin(x) * x[::-1]


def test_settled_serial_calls_cost_the_serial_call():
    """Once a call stays local for good, later calls evaluate f exactly as often as the plain transform does,
    and the executor is never asked; the derivatives are the serial ones and match the other mode."""
    fanout.forget()
    x = np.linspace(0.1, 1.0, 30)
    for transform, other in ((cr.jacfwd, cr.jacrev), (cr.jacrev, cr.jacfwd)):
        f = Counting()
        fanned = transform(f, executor=NoWorkers())
        first = within(lambda: fanned(x))                 # the probe: more evaluations than a plain call
        within(lambda: fanned(x))                         # the serial price measured: settled from here on
        settled = fanout.last()
        assert "too little to send" in settled.reason and settled.workers is None
        before = f.calls
        jac = within(lambda: fanned(x))
        fanned_calls = f.calls - before
        before = f.calls
        plain = transform(f)(x)
        assert fanned_calls == f.calls - before == 1
        assert fanout.last() is settled
        assert np.array_equal(jac, plain) and np.array_equal(first, plain)
        np.testing.assert_allclose(jac, other(f)(x), rtol=1e-13, atol=1e-13)
        h = 1e-6
        column = (f(x + h * np.eye(30)[4]) - f(x - h * np.eye(30)[4])) / (2 * h)
        np.testing.assert_allclose(jac[:, 4], column, rtol=1e-6, atol=1e-8)
    fanout.forget()                                       # forgetting unsettles: the next call probes again
    before = f.calls
    assert np.array_equal(within(lambda: fanned(x)), plain)
    assert f.calls > before and fanout.last() is not settled


def test_settled_auto_calls_skip_the_fan_out(monkeypatch):
    """``jacobian(mode="auto", executor=...)`` remembers a call that stays local for good, as jacfwd and jacrev
    do: later calls at those shapes do not enter the fan-out at all, and give the plain call's Jacobian."""
    fanout.forget()
    cr.clear_caches()
    x = np.linspace(0.1, 1.0, 30)
    f = Counting()
    fanned = cr.jacobian(f, executor=NoWorkers())
    for _ in range(3):                                  # decide, probe, measure the serial price: settled
        jac = within(lambda: fanned(x))
    settled = fanout.last()
    assert "too little to send" in settled.reason
    entered = []
    real = fanout.fan_out
    monkeypatch.setattr(fanout, "fan_out", lambda *a, **k: entered.append(1) or real(*a, **k))
    before = f.calls
    again = within(lambda: fanned(x))
    assert not entered and fanout.last() is settled and f.calls - before == 1
    assert np.array_equal(again, jac) and np.array_equal(jac, cr.jacobian(f)(x))
    np.testing.assert_allclose(jac, cr.jacrev(f)(x), rtol=1e-13, atol=1e-13)
    fanout.forget()                                     # forgetting unsettles: the fan-out is entered again
    within(lambda: fanned(x))
    assert entered


class FakeDask:
    """What the fan-out sees of a Dask client: ``nthreads()`` (a scheduler round trip, counted) and ``scheduler``."""

    scheduler = None

    def __init__(self, per_worker):
        self.per_worker, self.asked = per_worker, 0

    def nthreads(self):
        self.asked += 1
        return {f"tcp://w{i}": t for i, t in enumerate(self.per_worker)}

    def wait_for_workers(self, n, timeout=None):
        raise TimeoutError


def test_dask_worker_count_reused_briefly(monkeypatch):
    """A Dask cluster's thread count is asked once per WORKERS_FRESH seconds, never cached when there are none."""
    busy = FakeDask([1, 1])
    assert fanout.workers(busy) == 2 and fanout.workers(busy) == 2 and busy.asked == 1
    monkeypatch.setattr(fanout, "WORKERS_FRESH", 0.0)
    assert fanout.workers(busy) == 2 and busy.asked == 2
    monkeypatch.undo()
    empty = FakeDask([])
    for _ in range(2):
        with pytest.raises(ValueError, match="no workers"):
            fanout.some_workers(empty, "jacrev")
    assert empty.asked == 4                              # twice per call (before and after waiting), every call


def test_hessian_inner_jacrev_pickles_after_use():
    """The Hessian's inner ``jacrev`` is built once and reused, yet the callable still pickles for a worker."""
    import pickle
    inner = fanout.JacrevOf(scalar, (0, 1), False)
    here = inner(P, C)
    there = pickle.loads(pickle.dumps(inner))(P, C)
    for a, b in zip(leaves(here), leaves(there)):
        assert np.array_equal(a, b)
    for a, b in zip(leaves(here), leaves(cr.jacrev(scalar, argnums=(0, 1))(P, C))):
        assert np.array_equal(a, b)


# -- sparse Jacobians and Hessians: the colour groups fanned out -------------------------------------------
PS = {"a": np.linspace(0.2, 1.6, 8), "b": np.linspace(-0.9, 0.8, 8)}
CS = np.array([0.7, -0.4])


def flat_in(fun):
    """``fun`` as a function of the flat vector of its differentiated leaves (sparse_jacobian's columns)."""
    _, tree = cr.pytree.flatten((PS, CS))
    sizes = [x.size for x in leaves((PS, CS))]

    def g(z):
        parts = np.split(z, np.cumsum(sizes)[:-1])
        p, c = cr.pytree.unflatten(tree, [np.reshape(v, np.shape(x)) for v, x in zip(parts, leaves((PS, CS)))])
        return np.concatenate([np.ravel(o) for o in leaves(fun(p, c))])
    return g, np.concatenate([np.ravel(x) for x in leaves((PS, CS))])


def check_sparse(executor):
    """sparse_jacobian in every mode and sparse_hessian over ``executor`` equal the serial results exactly."""
    g, z = flat_in(f_sparse)
    dense = cr.jacrev(g)(z)
    column = (g(z + 1e-6 * np.eye(len(z))[3]) - g(z - 1e-6 * np.eye(len(z))[3])) / 2e-6
    for mode in ("forward", "reverse", "bidirectional", "auto"):
        fanned = cr.sparse_jacobian(f_sparse, argnums=(0, 1), mode=mode, executor=executor)
        first = within(lambda: fanned(PS, CS))              # local and timed: the pattern, the colours
        assert not fanout.last().distributed and fanout.last().reason.startswith("serial: the first call")
        chosen = fanned.decision_for(PS, CS).mode           # auto mode measures: serially too, the same mode
        serial = cr.sparse_jacobian(f_sparse, argnums=(0, 1), mode=chosen)(PS, CS)
        for _ in range(2):                                  # then a probe colour here and the rest as tasks; tasks only
            jac = within(lambda: fanned(PS, CS))
            assert fanout.last().distributed and fanout.last().tasks == 2, fanout.last()
            assert (jac != serial).nnz == 0 and np.array_equal(jac.indptr, serial.indptr)
        assert (first != serial).nnz == 0
        np.testing.assert_allclose(jac.toarray(), dense, rtol=1e-13, atol=1e-13)      # the other mode, dense
        np.testing.assert_allclose(jac.toarray()[:, 3], column, rtol=1e-6, atol=1e-8)   # central differences
    g, z = flat_in(s_sparse)
    hs = lambda z: g(z)[0]                                  # noqa: E731 - the scalar, of the flat vector
    serial = cr.sparse_hessian(s_sparse, argnums=(0, 1))(PS, CS)
    fanned = cr.sparse_hessian(s_sparse, argnums=(0, 1), executor=executor)
    for _ in range(3):
        hess = within(lambda: fanned(PS, CS))
        assert (hess != serial).nnz == 0
    assert fanout.last().distributed and fanout.last().mode == "star"
    np.testing.assert_allclose(hess.toarray(), cr.hessian(hs)(z), rtol=1e-12, atol=1e-12)
    gradient = cr.grad(hs)
    np.testing.assert_allclose(hess.toarray()[:, 5], (gradient(z + 1e-6 * np.eye(len(z))[5])
                                                      - gradient(z - 1e-6 * np.eye(len(z))[5])) / 2e-6,
                               rtol=1e-6, atol=1e-7)


def test_sparse_process_pool_equals_serial(forced, pool):
    pytest.importorskip("scipy")
    check_sparse(pool)


def test_sparse_serial_fallback_and_errors(pool):
    """Cheap colour groups stay local (and say so); f's exception and an unpicklable f are reported clearly."""
    pytest.importorskip("scipy")
    fanout.forget()
    jac = cr.sparse_jacobian(f_sparse, argnums=(0, 1), mode="forward", executor=pool)
    for _ in range(3):
        result = within(lambda: jac(PS, CS))
        assert not fanout.last().distributed and fanout.last().tasks == 0
    assert "would take about" in fanout.last().reason
    assert (result != cr.sparse_jacobian(f_sparse, argnums=(0, 1), mode="forward")(PS, CS)).nnz == 0


def test_sparse_errors(forced, pool):
    pytest.importorskip("scipy")
    jac = cr.sparse_jacobian(lambda x: x[2:] * x[1:-1] * x[:-2], mode="forward", executor=pool)   # 3 colours
    jac(np.ones(6))                                       # the first call is local: a lambda is fine there
    with pytest.raises(UnpicklableFunctionError, match=r"(?s)lambda.*cannot be pickled"):
        within(lambda: jac(np.ones(6)))

    with cf.ThreadPoolExecutor(2) as ex:                  # nothing pickled: the exception travels as itself
        jac = cr.sparse_jacobian(functools.partial(boom_after_first, [0]), mode="forward", executor=ex)
        jac(np.ones(6))
        with pytest.raises(ValueError, match="boom from inside f"):
            within(lambda: jac(np.ones(6)))


def boom_after_first(calls, x):
    calls[0] += 1
    if calls[0] > 3:                                      # the pattern, the first evaluation and the probe pass
        raise ValueError("boom from inside f")
    return x[2:] * x[1:-1] * x[:-2]


# -- Dask ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=50) as cluster, distributed.Client(cluster) as c:
        c.wait_for_workers(2, timeout=30)
        yield c


def test_dask_equals_serial(forced, client):
    check_transforms(client)


def test_dask_segments(forced, client):
    check_segments(client)


def test_dask_worker_killed(forced, client, tmp_path):
    """A Dask worker process dies mid-Jacobian: Dask reschedules its task; the result is complete."""
    f = functools.partial(dies_once, str(tmp_path / "died"), os.getpid())
    x = np.linspace(0.1, 1.0, 12)
    jac = within(lambda: cr.jacrev(f, executor=client)(x))
    assert (tmp_path / "died").exists()
    assert np.array_equal(jac, cr.jacrev(f)(x))
    client.wait_for_workers(2, timeout=30)               # the nanny restarts it for the next test


def test_dask_sparse_equals_serial(forced, client):
    pytest.importorskip("scipy")
    check_sparse(client)


def test_dask_exception_in_f(forced, client):
    with pytest.raises(ValueError, match="boom from inside f"):
        within(lambda: cr.jacfwd(boom, executor=client)(np.ones(3)))


def test_dask_lambda_is_fine(forced, client):
    """Dask sends with cloudpickle: a lambda works there."""
    jac = within(lambda: cr.jacfwd(lambda x: np.sin(x) * x, executor=client)(np.linspace(0, 1, 5)))
    np.testing.assert_allclose(jac, np.diag(np.cos(np.linspace(0, 1, 5)) * np.linspace(0, 1, 5)
                                            + np.sin(np.linspace(0, 1, 5))), rtol=1e-13)


# -- complex values: jacfwd's and jacrev's rules, with the same numbers as serially ------------------------
Z = np.linspace(-1.2, 1.5, 12) + 1j * np.cos(np.arange(12.0))       # 12 directions: the probe takes 5
W = np.array([0.7, -1.3])
XR = np.linspace(-1.0, 1.0, 12)


def check_complex(executor):
    h = 1e-6
    e = np.eye(len(Z))
    # a real function of complex inputs (reverse): d/dx - i d/dy, as grad(abs(z) ** 2) == 2 conj(z)
    serial = cr.jacrev(real_of_complex, argnums=(0, 1))(Z, W)
    fanned = within(lambda: cr.jacrev(real_of_complex, argnums=(0, 1), executor=executor)(Z, W))
    assert fanout.last().distributed
    assert_identical(fanned, serial)
    for j in range(len(Z)):
        d_re = (real_of_complex(Z + h * e[j], W) - real_of_complex(Z - h * e[j], W)) / (2 * h)
        d_im = (real_of_complex(Z + 1j * h * e[j], W) - real_of_complex(Z - 1j * h * e[j], W)) / (2 * h)
        np.testing.assert_allclose(fanned[0][:, j], d_re - 1j * d_im, rtol=1e-6, atol=1e-8)
    auto = within(lambda: cr.jacobian(real_of_complex, argnums=(0, 1), executor=executor)(Z, W))
    assert fanout.last().distributed
    assert_identical(auto, serial)
    # complex outputs of a real input (forward)
    serial = cr.jacfwd(complex_of_real)(XR)
    fanned = within(lambda: cr.jacfwd(complex_of_real, executor=executor)(XR))
    assert fanout.last().distributed and fanned.dtype == np.complex128
    assert_identical(fanned, serial)
    fd = np.stack([(complex_of_real(XR + h * r) - complex_of_real(XR - h * r)) / (2 * h) for r in np.eye(len(XR))], 1)
    np.testing.assert_allclose(fanned, fd, rtol=1e-6, atol=1e-8)
    # a holomorphic function, both modes: the complex derivative
    fwd = within(lambda: cr.jacfwd(holo, holomorphic=True, executor=executor)(Z))
    assert fanout.last().distributed
    rev = within(lambda: cr.jacrev(holo, holomorphic=True, executor=executor)(Z))
    assert fanout.last().distributed
    assert_identical(fwd, cr.jacfwd(holo, holomorphic=True)(Z))
    assert_identical(rev, cr.jacrev(holo, holomorphic=True)(Z))
    np.testing.assert_allclose(fwd, rev, rtol=1e-13, atol=1e-13)
    fd = np.stack([(holo(Z + h * r) - holo(Z - h * r)) / (2 * h) for r in e], 1)
    np.testing.assert_allclose(fwd, fd, rtol=1e-6, atol=1e-8)
    # what cannot be held is refused as serially, before anything is sent
    with pytest.raises(cr.errors.InputDtypeError, match="holomorphic=True"):
        cr.jacfwd(real_of_complex, executor=executor)(Z, W)
    with pytest.raises(cr.errors.OutputDtypeError, match="holomorphic=True"):
        cr.jacrev(complex_of_real, executor=executor)(XR)
    with pytest.raises(cr.errors.InputDtypeError, match="needs complex"):
        cr.jacfwd(holo, holomorphic=True, executor=executor)(XR)
    with pytest.raises(NotImplementedError, match=r"hessian\(\.\.\., executor=\.\.\.\) of <lambda> over complex"):
        cr.hessian(lambda z: np.sum(real_of_complex(z, W)), executor=executor)(Z)


def test_complex_process_pool(forced, pool):
    check_complex(pool)


def test_complex_dask(forced, client):
    check_complex(client)
