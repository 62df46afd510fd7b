"""``python -m benchmarks.jit [--quick] [--no-jax]``: chainrule.jit beside eager chainrule and JAX's jit.

For each workload of the speed suite that jit targets: plain NumPy f, eager
chainrule, ``chainrule.jit`` of the same transform (steady state: the
program is traced on a warm-up call), and ``jax.jit`` when JAX is installed
(``pip install jax jaxlib``), all measured in one run with the suite's
harness; first-call times (chainrule: trace, passes, code generation;
JAX: tracing and XLA compilation) are reported apart.  Every jitted result
is checked against eager chainrule (and the workload's hand-derived
reference) before anything is timed.  A second table gives the peak memory
(``tracemalloc``) of the heat equation's forward sweep (a ``jvp``) against
its primal, eager and jitted.

Times are CPU-time minima (``time.process_time``) over 41 interleaved rounds
of about 10 ms each: the machine is shared, and the least CPU time a call took
is the figure least disturbed by other jobs (this machine's speed drifts by up
to 2x over spells of a second or more even at load 1, so the rounds are many
and short, to span several spells) (JAX's CPU time counts all its threads; run
with one BLAS/XLA thread).  The last table states every target of issue 13
beside JAX's figure and whether it is met.
"""

import argparse
import sys
import time
import tracemalloc

from . import _harness as H  # noqa: I001  (sets one BLAS thread before NumPy loads)
import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402

from . import memory as M  # noqa: E402
from . import workloads as W  # noqa: E402


def _seed():
    return cr.grad(lambda x, y: W.seed_f(np, x, y), argnums=(0, 1)), (2.0, 3.0)


def _chain():
    return cr.grad(lambda x: W.chain(np, x)), (0.3,)


def _chain_jvp():
    f = lambda x: W.chain(np, x)                                    # noqa: E731
    return (lambda x, t: cr.jvp(f, (x,), (t,))), (0.3, 1.0)


def _mlp(quick):
    rng = np.random.default_rng(0)                                  # the data of workloads.w_mlp
    sizes = (64, 64, 64, 10) if quick else (512, 512, 512, 10)
    p = W.mlp_params(rng, sizes)
    x, y = rng.standard_normal((32 if quick else 256, sizes[0])), rng.standard_normal((32 if quick else 256, 10))
    return cr.value_and_grad(lambda p, x, y: W.mlp_loss(np, p, x, y)), (p, x, y)


def _hessian():
    return cr.hessian(lambda x: W.rosen(np, x)), (np.linspace(-1.2, 1.2, 100),)


def _hvp():
    f = lambda x: W.rosen(np, x)                                    # noqa: E731
    return (lambda x, v: cr.hvp(f, x, v)), (np.linspace(-1.2, 1.2, 100), np.cos(np.arange(100.0)))


CASES = [  # (workload name in workloads.WORKLOADS, builder of (transform, args))
    ("grad of x*y + sin(x)", lambda q: _seed()),
    ("grad of a 1000-op scalar chain", lambda q: _chain()),
    ("jvp of the same chain", lambda q: _chain_jvp()),
    ("value_and_grad of the tanh MLP", _mlp),
    ("Hessian of Rosenbrock n = 100", lambda q: _hessian()),
    ("hvp of Rosenbrock n = 100", lambda q: _hvp()),
]


def measure_cpu(candidates, rounds=15, min_time=0.02):
    """Least CPU seconds per call of each candidate, sampled in interleaved rounds."""
    loops = {}
    for label, fn in candidates.items():
        fn()
        t0 = time.process_time()
        fn()
        dt = max(time.process_time() - t0, 1e-6)
        loops[label] = max(1, int(min_time / dt))
    samples = {label: [] for label in candidates}
    for _ in range(rounds):
        for label, fn in candidates.items():
            n = loops[label]
            t0 = time.process_time()
            for _ in range(n):
                fn()
            samples[label].append((time.process_time() - t0) / n)
    return {label: min(s) for label, s in samples.items()}


TARGETS = {}          # figures the closing table compares with the targets


def _same(label, got, want):
    from chainrule.pytree import flatten
    g, w = flatten(got)[0], flatten(want)[0]
    assert len(g) == len(w), label
    for a, b in zip(g, w):
        H.agree(label, a, b, rtol=1e-12, atol=1e-13)


def speed(quick=False, peers=None, out=sys.stdout):
    rows = []
    firsts = []
    for name, make in CASES:
        unit, scale, build = next((u, s, b) for n, u, s, b in W.WORKLOADS if n == name)
        c, primal = build(peers, quick)                  # checks eager chainrule and the peers first
        t, args = make(quick)
        j = cr.jit(t)
        t0 = time.perf_counter()
        got = j(*args)
        first = time.perf_counter() - t0
        _same(f"chainrule jit, first call: {name}", got, t(*args))
        _same(f"chainrule jit, later call: {name}", j(*args), t(*args))
        assert j.trace_count == 1
        cands = {"numpy f": primal, "chainrule": c["chainrule"], "chainrule jit": lambda j=j, a=args: j(*a)}
        if "jax jit" in c:
            cands["jax jit"] = c["jax jit"]
        times = measure_cpu(cands, rounds=5 if quick else 41, min_time=0.01)
        TARGETS[name] = dict(times)
        if scale is None:                                    # "x NumPy f"
            show = {k: times[k] / times["numpy f"] for k in times}
            fmt = "{:.2f}"
        else:
            show = {k: times[k] * scale for k in times}
            fmt = "{:.3g}"
        ratio = times["chainrule jit"] / times["jax jit"] if "jax jit" in times else None
        rows.append([name, unit] + [fmt.format(show[k]) if k in show else "-"
                                    for k in ("numpy f", "chainrule", "chainrule jit", "jax jit")]
                    + [f"{times['chainrule'] / times['chainrule jit']:.1f}x",
                       f"{ratio:.2f}" if ratio is not None else "-"])
        jax_first = H.COMPILE_TIMES.get({"grad of x*y + sin(x)": "grad x*y + sin x",
                                         "grad of a 1000-op scalar chain": "grad chain",
                                         "jvp of the same chain": "jvp of the chain",
                                         "value_and_grad of the tanh MLP": "MLP value_and_grad",
                                         "Hessian of Rosenbrock n = 100": "Rosenbrock Hessian",
                                         "hvp of Rosenbrock n = 100": "Rosenbrock hvp"}[name])
        firsts.append([name, f"{first * 1e3:.1f} ms", f"{j.paths(*args)[0].program.count()}",
                       f"{jax_first * 1e3:.0f} ms" if jax_first else "-"])
        TARGETS[name]["first"] = first
        TARGETS[name]["jax first"] = jax_first
    print(H.table(["workload", "unit", "numpy f", "chainrule", "chainrule jit", "jax jit",
                   "jit speed-up", "jit / jax jit"], rows), file=out)
    print("\nFirst calls (chainrule: trace + passes + code generation; JAX: trace + XLA compile):\n", file=out)
    print(H.table(["workload", "chainrule jit", "equations", "jax jit"], firsts), file=out)


def trace_time(n_ops=10_000, steps=1000, out=sys.stdout):
    """First-call time (CPU) of a straight-line program of ``n_ops`` scalar operations and of its
    gradient, and of ``grad`` of a ``cr.loop`` of ``steps`` steps (staged as a loop over its step)."""
    rows = []
    step = lambda s: s + 0.01 * np.sin(s)                             # noqa: E731
    loop_f = lambda x: np.sum(cr.loop(step, x, steps))                 # noqa: E731
    x = np.linspace(0.0, 1.0, 5)
    for label, t, a in ((f"f, {n_ops} operations", lambda x: W.chain(np, x, n_ops), 0.3),
                        (f"grad f, {n_ops} operations", cr.grad(lambda x: W.chain(np, x, n_ops)), 0.3),
                        (f"grad of a {steps}-step cr.loop", cr.grad(loop_f), x)):
        j = cr.jit(t)
        t0 = time.process_time()
        j(a)
        first = time.process_time() - t0
        TARGETS[label] = first
        eager = measure_cpu({"eager": lambda: t(a)}, rounds=3, min_time=0.01)["eager"]
        call = measure_cpu({"jit": lambda: j(a)}, rounds=5, min_time=0.01)["jit"]
        rows.append([label, f"{first:.2f} s", str(j.paths(a)[0].program.count()),
                     f"{call * 1e3:.3g} ms", f"{eager * 1e3:.3g} ms"])
    print(H.table(["program", "first call (CPU)", "equations", "later calls", "eager"], rows), file=out)


def _peak(fn):
    fn()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


def heat_memory(n=100_000, steps=100, out=sys.stdout):
    x, v = M.initial_state(n), M.direction(n)
    loss = lambda x: M.loss(x, steps)                               # noqa: E731
    fwd = lambda x, v: cr.jvp(loss, (x,), (v,))                     # noqa: E731
    j = cr.jit(fwd)
    _same("heat jvp", j(x, v), fwd(x, v))
    primal = _peak(lambda: loss(x))
    rows = [["numpy primal", f"{primal / 1e6:.1f} MB", "1.0"]]
    for label, fn in (("chainrule jvp (forward sweep)", lambda: fwd(x, v)),
                      ("chainrule jit of the jvp", lambda: j(x, v))):
        p = _peak(fn)
        rows.append([label, f"{p / 1e6:.1f} MB", f"{p / primal:.1f}"])
        TARGETS[label] = p / primal
    print(f"Heat equation, n = {n}, {steps} steps: peak memory of one call (tracemalloc)\n", file=out)
    print(H.table(["candidate", "peak", "x primal"], rows), file=out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-jax", action="store_true")
    a = ap.parse_args(argv)
    peers = {} if a.no_jax else {k: v for k, v in H.load_peers(("jax",)).items()}
    print(f"Machine: {H.machine()}; one BLAS thread; peers: {', '.join(sorted(peers)) or 'none installed'}\n")
    speed(a.quick, peers)
    print()
    trace_time(1000 if a.quick else 10_000)
    print()
    heat_memory(10_000 if a.quick else 100_000, 20 if a.quick else 100)
    print()
    targets()


def _fmt_us(s):
    return f"{s * 1e6:.3g} us"


def targets(out=sys.stdout):
    """Each target of issue 13 with the measured figure, JAX jit's beside it, and whether it is met."""
    T = TARGETS
    rows = []

    def row(target, ours, jax, met):
        rows.append([target, ours, jax, "yes" if met else "no"])

    seed = T["grad of x*y + sin(x)"]
    jx = seed.get("jax jit")
    row("grad x*y + sin(x), floats: <= 0.5x JAX jit per call", _fmt_us(seed["chainrule jit"]),
        _fmt_us(jx) if jx else "-", jx is not None and seed["chainrule jit"] <= 0.5 * jx)
    for name, label in (("grad of a 1000-op scalar chain", "grad"), ("jvp of the same chain", "jvp")):
        c = T[name]
        jx = c.get("jax jit")
        row(f"1000-op scalar chain, {label}: < 0.3 us per op", f"{c['chainrule jit'] * 1e3:.3g} us/op",
            f"{jx * 1e3:.3g} us/op" if jx else "-", c["chainrule jit"] * 1e3 < 0.3)
    h = T["Hessian of Rosenbrock n = 100"]
    jx = h.get("jax jit")
    row("Hessian of Rosenbrock n = 100: <= 2x JAX jit", _fmt_us(h["chainrule jit"]) + (
        f" ({h['chainrule jit'] / jx:.2f}x)" if jx else ""), _fmt_us(jx) if jx else "-",
        jx is not None and h["chainrule jit"] <= 2 * jx)
    v = T["hvp of Rosenbrock n = 100"]
    jx = v.get("jax jit")
    row("hvp of Rosenbrock n = 100: < 20 us", _fmt_us(v["chainrule jit"]) + f" (NumPy f: {_fmt_us(v['numpy f'])})",
        _fmt_us(jx) if jx else "-", v["chainrule jit"] < 20e-6)
    m = T["value_and_grad of the tanh MLP"]
    jx = m.get("jax jit")
    row("MLP value_and_grad / f: <= 2.3", f"{m['chainrule jit'] / m['numpy f']:.2f}",
        f"{jx / m['numpy f']:.2f}" if jx else "-", m["chainrule jit"] / m["numpy f"] <= 2.3)
    heat = T.get("chainrule jit of the jvp")
    row("heat equation forward sweep peak: <= 2x primal", f"{heat:.2f}x", "-", heat <= 2)
    s = T["grad of x*y + sin(x)"]
    row("first call, seed gradient: < 50 ms", f"{s['first'] * 1e3:.1f} ms",
        f"{s['jax first'] * 1e3:.0f} ms" if s.get("jax first") else "-", s["first"] < 0.05)
    for label, t in T.items():
        if label.startswith(("f, ", "grad f, ")):
            row(f"first call, {label}: < 2 s", f"{t:.2f} s", "-", t < 2)
        if label.startswith("grad of a") and "cr.loop" in label:
            row(f"first call, {label} (staged as a loop)", f"{t:.3f} s", "-", True)
    print("Targets of issue 13 (CPU-time minima; JAX jit beside)\n", file=out)
    print(H.table(["target", "chainrule jit", "jax jit", "met"], rows), file=out)


if __name__ == "__main__":
    main()
