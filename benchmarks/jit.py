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
        times = H.measure(cands, rounds=5 if quick else 15, min_time=0.01 if quick else 0.02)
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
    print(H.table(["workload", "unit", "numpy f", "chainrule", "chainrule jit", "jax jit",
                   "jit speed-up", "jit / jax jit"], rows), file=out)
    print("\nFirst calls (chainrule: trace + passes + code generation; JAX: trace + XLA compile):\n", file=out)
    print(H.table(["workload", "chainrule jit", "equations", "jax jit"], firsts), file=out)


def trace_time(n_ops=10_000, out=sys.stdout):
    """First-call time of a straight-line program of ``n_ops`` scalar operations, and of its gradient."""
    rows = []
    for label, t in (("f", lambda x: W.chain(np, x, n_ops)), ("grad f", cr.grad(lambda x: W.chain(np, x, n_ops)))):
        j = cr.jit(t)
        t0 = time.perf_counter()
        j(0.3)
        rows.append([f"{label}, {n_ops} operations", f"{(time.perf_counter() - t0):.2f} s",
                     str(j.paths(0.3)[0].program.count())])
    print(H.table(["program", "first call", "equations"], rows), file=out)


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


if __name__ == "__main__":
    main()
