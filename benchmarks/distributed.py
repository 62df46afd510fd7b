"""Jacobians fanned out over Dask: serial against a LocalCluster of 2 single-threaded worker processes.

The workload: an RK4-integrated reaction network of ``SPECIES`` = 20 species and
``REACTIONS`` = 200 reactions (one rate constant each: the 200 parameters),
``STEPS`` = 2000 time steps.  Reaction j turns species ``SRC[j]`` into
``DST[j]`` at rate ``k_j * y[SRC[j]] * (1 + y[CAT[j]]) / (1 + y[SRC[j]])``.

* forward: ``jacfwd`` of the final state (20) with respect to the 200 rate constants;
* reverse: ``jacrev`` of the states at 10 output times (200 outputs) with respect to them.

Each is timed serially and with ``executor=client``, the two alternated (median of ``--repeat``
calls of each, after a serial call and a first distributed call, which probes and caches the sweep
cost: its time is reported apart), and checked equal to the serial result (to rounding: NumPy's matrix products may
take another BLAS kernel at another batch width, so the last bits may differ).  Each task's
compute time in its worker comes from Dask's task stream; the overhead is the time of a
distributed call less the slowest task's compute (sending, scheduling, the results back,
assembling); every task's compute is printed as well (reverse mode cuts the tape into segments
where only the state is live, ``chainrule.transforms.segments``, or else splits its rows by cost,
``fanout.split_by_cost``).  The tasks' sweeps are also timed in this process, for comparison (the
slowest is shown).

The cluster runs with Dask's background monitoring slowed (:data:`QUIET`): by default each
worker samples its running task's stack every 10 ms for the dashboard's profile, checks its event
loop every 20 ms and its memory every 100 ms, which cost a busy worker here about 15% more CPU
than the task's own thread used, and the scheduler and nannies in this process about 7% of a core
more, on a machine whose 2 cores the 2 workers need.  ``--dask-defaults`` keeps Dask's defaults.

Then the small workloads of the speed suite (``benchmarks/workloads.py``) that
take ``executor=``: each called without and with ``executor=client``, alternated,
the minimum wall and CPU time (this thread's: the scheduler's and the client's threads
live in this process too) per call of each over ``SMALL_ROUNDS`` rounds of samples of
about 20 ms, after a first call (which probes, timed apart).  The worth-it rule should
keep them local at the same speed.  Run: ``python -m benchmarks.distributed [--quick]
[--repeat N] [--small-only] [--dask-defaults] [--always-distribute]``.
"""

import argparse
import os
import statistics
import sys
import time

# one BLAS thread in this process too, set before NumPy loads (imported for that alone): a serial call on
# 2 BLAS threads burned both cores and was slower on these small products (11.0 s against 7.6 s, 20.6 CPU s)
from . import _harness  # noqa: I001
import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule.transforms import fanout  # noqa: E402

del _harness

SPECIES, REACTIONS, STEPS, OUT_TIMES = 20, 200, 2000, 10
_rng = np.random.default_rng(14)
SRC = _rng.integers(0, SPECIES, REACTIONS)
DST = (SRC + 1 + _rng.integers(0, SPECIES - 1, REACTIONS)) % SPECIES
CAT = _rng.integers(0, SPECIES, REACTIONS)
STOICH = np.zeros((SPECIES, REACTIONS))
STOICH[SRC, np.arange(REACTIONS)] -= 1.0
STOICH[DST, np.arange(REACTIONS)] += 1.0
K0 = _rng.uniform(0.05, 0.5, REACTIONS)
Y0 = _rng.uniform(0.5, 1.5, SPECIES)
DT = 0.01


def rhs(y, k):
    flux = k * y[SRC] * (1.0 + y[CAT]) / (1.0 + y[SRC])
    return STOICH @ flux


def trajectory(k, steps=STEPS, every=None):
    y, outs = Y0, []
    every = every or steps
    for i in range(steps):
        a = rhs(y, k)
        b = rhs(y + 0.5 * DT * a, k)
        c = rhs(y + 0.5 * DT * b, k)
        d = rhs(y + DT * c, k)
        y = y + DT / 6.0 * (a + 2.0 * b + 2.0 * c + d)
        if (i + 1) % every == 0:
            outs.append(y)
    return outs


def final_state(k, steps=STEPS):
    return trajectory(k, steps)[-1]


def sampled_states(k, steps=STEPS):
    return np.concatenate(trajectory(k, steps, every=steps // OUT_TIMES))


def _time(fn, repeat):
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), out


def _alternated(serial, distributed, repeat, client):
    """``serial()`` and ``distributed()`` alternated ``repeat`` times, so that a slow spell of the machine slows
    both: the medians of their wall times and of their CPU seconds per call -- the serial call's (this
    process's), and of a distributed call, this process's and the busiest worker's -- and the last result."""
    got = {"serial": [], "serial cpu": [], "distributed": [], "client cpu": [], "worker cpu": []}
    out = None
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        serial()
        got["serial"].append(time.perf_counter() - t0)
        got["serial cpu"].append(time.process_time() - c0)
        before = client.run(time.process_time)
        c0, t0 = time.process_time(), time.perf_counter()
        out = distributed()
        got["distributed"].append(time.perf_counter() - t0)
        got["client cpu"].append(time.process_time() - c0)
        after = client.run(time.process_time)
        got["worker cpu"].append(max((after[w] - before[w] for w in after), default=0.0))
    return {k: statistics.median(v) for k, v in got.items()}, out


def _segment_tasks(fun, args, cuts, total):
    """The tasks of a reverse Jacobian cut along the tape at ``cuts`` (the last call's plan), as calls to
    time here: each records ``fun`` and sweeps its segment, as in a worker."""
    from chainrule.transforms import segments

    plan = next(p for p in fanout._PLANS.values() if p and p.sources.size == total)
    specs = segments.segment_specs(plan, segments.split_rows(plan, np.arange(total), list(cuts)), cuts)
    return [lambda spec=spec: segments.segment_task(fun, args, {}, 0, False, *spec, plan.fingerprint, 1 << 20)
            for spec in specs]


SMALL_ROUNDS = 60

# Dask's monitoring, slowed (see the module's docstring): the dashboard's statistical profile off, the event
# loop's health checked every second, the memory every second, the system every 5 s
QUIET = {"distributed.worker.profile.enabled": False, "distributed.admin.tick.interval": "1s",
         "distributed.worker.memory.monitor-interval": "1s", "distributed.admin.system-monitor.interval": "5s"}


def _computes(stream):
    """Seconds each task of a task stream spent computing in its worker."""
    return [sum(s["stop"] - s["start"] for s in t["startstops"] if s["action"] == "compute") for t in stream]


def small_workloads(client, rounds=SMALL_ROUNDS):
    """Rows: name, plain s, with executor s, their CPU s, first call with executor s, plain first s, distributed."""
    from .workloads import layers, rosen

    rng = np.random.default_rng(0)
    cases = [("Hessian of Rosenbrock n = 100", cr.hessian, lambda x: rosen(np, x), np.linspace(-1.2, 1.2, 100))]
    for n, m, transform, label in ((4, 2000, cr.jacfwd, "jacfwd"), (2000, 4, cr.jacrev, "jacrev"),
                                   (200, 200, cr.jacobian, "auto jacobian"),
                                   (1000, 1000, cr.jacobian, "auto jacobian")):
        W1, W2 = rng.standard_normal((64, n)) / np.sqrt(n), rng.standard_normal((m, 64)) / 8.0
        cases.append((f"{label} {n} -> {m}", transform, lambda x, W1=W1, W2=W2: layers(np, x, W1, W2),
                      rng.standard_normal(n)))
    rows = []
    for name, transform, f, x in cases:
        cr.clear_caches()
        plain, fanned = transform(f), transform(f, executor=client)
        t0 = time.perf_counter()
        ref = plain(x)
        t1 = time.perf_counter()
        first = fanned(x)
        t2 = time.perf_counter()
        # equal to rounding: the first call's probe sweeps take other BLAS kernels at other batch widths
        np.testing.assert_allclose(first, ref, rtol=1e-12, atol=1e-12 * np.max(np.abs(ref)), err_msg=name)
        best = {"plain": np.inf, "fanned": np.inf, "plain cpu": np.inf, "fanned cpu": np.inf}
        distributed = False
        t = time.perf_counter()
        plain(x)
        loops = max(1, int(0.02 / max(time.perf_counter() - t, 1e-6)))      # samples of about 20 ms each
        for _ in range(rounds):
            for label, fn in (("plain", plain), ("fanned", fanned)):
                t, c = time.perf_counter(), time.thread_time()
                for _ in range(loops):
                    fn(x)
                best[label] = min(best[label], (time.perf_counter() - t) / loops)
                best[label + " cpu"] = min(best[label + " cpu"], (time.thread_time() - c) / loops)
                distributed |= label == "fanned" and fanout.last().distributed
        rows.append((name, best["plain"], best["fanned"], best["plain cpu"], best["fanned cpu"], t2 - t1, t1 - t0,
                     distributed))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks.distributed", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="200 steps instead of 2000")
    ap.add_argument("--repeat", type=int, default=3, help="timed calls of each (the median is reported)")
    ap.add_argument("--small-only", action="store_true", help="only the small workloads of the speed suite")
    ap.add_argument("--dask-defaults", action="store_true", help="keep Dask's background monitoring as it is")
    ap.add_argument("--always-distribute", action="store_true",
                    help="bypass the worth-it rule for the two large Jacobians (as the tests do), so that the "
                         "distributed path is timed even when other load on the machine made a first "
                         "distributed call look not worth it")
    a = ap.parse_args(argv)
    import dask
    from distributed import Client, LocalCluster, get_task_stream

    # Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536 in its workers, which fixes glibc's mmap threshold at
    # 128 KiB: every tangent array above that becomes an mmap and its page faults (3x slower sweeps here)
    dask.config.set({"distributed.nanny.pre-spawn-environ": {"OMP_NUM_THREADS": 1, "MKL_NUM_THREADS": 1,
                                                             "OPENBLAS_NUM_THREADS": 1}})
    if not a.dask_defaults:
        dask.config.set(QUIET)

    steps = 200 if a.quick else STEPS
    worth = fanout._worth
    rows = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=50) as cluster, Client(cluster) as client:
        client.wait_for_workers(2)
        for name, transform, fun, outs in (("forward (jacfwd), 20 x 200", cr.jacfwd, final_state, SPECIES),
                                           ("reverse (jacrev), 200 x 200", cr.jacrev, sampled_states,
                                            SPECIES * OUT_TIMES))[:0 if a.small_only else 2]:
            ref = transform(fun)(K0, steps)
            if a.always_distribute:
                fanout._worth = lambda serial_s, parallel_s: True
            fanned = transform(fun, executor=client)
            t0 = time.perf_counter()
            first = fanned(K0, steps)
            first_s = time.perf_counter() - t0
            with get_task_stream(client) as stream:
                m, jac = _alternated(lambda: transform(fun)(K0, steps), lambda: fanned(K0, steps), a.repeat, client)
            serial_s, serial_cpu, dist_s = m["serial"], m["serial cpu"], m["distributed"]
            client_cpu, worker_cpu = m["client cpu"], m["worker cpu"]
            computes = _computes(stream.data)
            # equal to rounding: NumPy's matrix products may take another BLAS kernel at another batch width
            diff = max(float(np.max(np.abs(x - ref))) for x in (first, jac)) / float(np.max(np.abs(ref)))
            assert diff < 1e-12, f"distributed != serial: relative difference {diff:.2g}"
            last = fanout.last()
            # the tasks' own work, timed in this process: the same sweeps the workers run (the slowest is shown)
            mode = "forward" if transform is cr.jacfwd else "reverse"
            total = REACTIONS if mode == "forward" else outs
            half = -(-total // 2)
            task_s = task_cpu = 0.0
            # (stayed local: 2 halves)
            for start, count in () if last.cuts else last.spans or ((0, half), (half, total - half)):
                c0 = time.thread_time()
                t, _ = _time(lambda: fanout.sweep_task(fun, (K0, steps), {}, 0, False, mode, start, count, total), 1)
                task_s, task_cpu = max(task_s, t), max(task_cpu, time.thread_time() - c0)
            for task in _segment_tasks(fun, (K0, steps), last.cuts, total) if last.cuts else ():
                c0 = time.thread_time()
                t, _ = _time(task, 1)
                task_s, task_cpu = max(task_s, t), max(task_cpu, time.thread_time() - c0)
            # the slowest task's compute in its worker, per call (a median call's, with --repeat)
            per_call = [max(computes[i:i + last.tasks]) for i in range(0, len(computes), max(last.tasks, 1))]
            worker_s = statistics.median(per_call) if per_call else float("nan")
            overhead = dist_s - worker_s
            # CPU time, robust to other load on the machine: the serial call's against the critical path
            # of the distributed one (the busiest worker, plus this process's own sending and assembling)
            cpu_speedup = serial_cpu / (worker_cpu + client_cpu)
            fanout._worth = worth
            print(f"{name}: each task's compute in its worker, s: {[round(c, 3) for c in computes]}", flush=True)
            rows.append((name, serial_s, first_s, dist_s, serial_s / dist_s, last.tasks, (worker_s, task_s), overhead,
                         (serial_cpu, worker_cpu, client_cpu, cpu_speedup, task_cpu),
                         f"{last.reason} Largest difference from serial: {diff:.2g} of the largest entry."))
        small = small_workloads(client, 3 if a.quick else SMALL_ROUNDS)
    print(f"RK4 reaction network: {SPECIES} species, {REACTIONS} parameters, {steps} steps; "
          f"LocalCluster of 2 single-threaded worker processes "
          f"({'Dask defaults' if a.dask_defaults else 'monitoring slowed: QUIET'}"
          f"{'; worth-it rule bypassed' if a.always_distribute else ''}); median of {a.repeat}; "
          f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, NumPy {np.__version__}; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end")
    print("| Jacobian | serial s | first call s | distributed s | speedup | tasks | slowest task in its worker s "
          "| slowest task here s | overhead s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, s, f, d, sp, t, (ws, ts), ov, _, _ in rows:
        print(f"| {name} | {s:.3g} | {f:.3g} | {d:.3g} | {sp:.2f}x | {t} | {ws:.3g} | {ts:.3g} | {ov:.3g} |")
    print("\nCPU seconds (robust to other load): the serial call, the busiest worker's and this process's "
          "during a distributed call, serial / (busiest worker + this process), and the slowest task's sweep "
          "here (this thread's CPU):")
    print("| Jacobian | serial CPU s | busiest worker CPU s | client CPU s | CPU speedup | slowest task here CPU s |")
    print("|---|---|---|---|---|---|")
    for name, *_, (sc, wc, cc, csp, tc), _ in rows:
        print(f"| {name} | {sc:.3g} | {wc:.3g} | {cc:.3g} | {csp:.2f}x | {tc:.3g} |")
    for name, *_, why in rows:
        print(f"{name}: {why}")
    print(f"\nSmall workloads of the speed suite, without and with executor=client (minima per call over "
          f"{SMALL_ROUNDS} alternated samples of about 20 ms after a first call; CPU: this thread's, without the "
          "scheduler's and client's threads in this process):")
    print("| workload | without ms | with executor ms | ratio | without CPU ms | with CPU ms | CPU ratio "
          "| first call without ms | first call with ms | ran |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, plain, fanned, plain_cpu, fanned_cpu, first, first_plain, distributed in small:
        print(f"| {name} | {plain * 1e3:.3g} | {fanned * 1e3:.3g} | {fanned / plain:.2f} | {plain_cpu * 1e3:.3g} "
              f"| {fanned_cpu * 1e3:.3g} | {fanned_cpu / plain_cpu:.2f} | {first_plain * 1e3:.3g} "
              f"| {first * 1e3:.3g} | {'distributed' if distributed else 'locally'} |")


if __name__ == "__main__":
    main()
