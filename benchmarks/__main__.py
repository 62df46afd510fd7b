"""``python -m benchmarks [--quick] [--only NAME] [--memory]``: the benchmarks, all libraries in one run.

1. The speed suite (``workloads.py``): each workload's time per library (plain NumPy,
   chainrule, autograd, PyTorch eager and torch.func, JAX eager and jit in steady state),
   chainrule's ratio to the best eager peer, and JAX's compile times apart.
2. ``jacobian_modes.py``: forward, reverse and auto full Jacobians across shapes.
3. ``complex.py``: a spectral loss through ``np.fft.rfft`` and a Jacobian through ``np.linalg.eig``.
4. ``memory.py`` (with ``--memory``; several minutes): checkpointing against plain reverse.

``--quick`` (``make bench-quick``, under a minute) runs the speed suite alone with fewer samples.
"""

import argparse
import sys

from . import _harness as H  # noqa: I001  (sets one BLAS thread before NumPy loads)

COLUMNS = ["numpy f", "chainrule", "autograd", "torch eager", "torch.func", "jax eager", "jax jit"]
EAGER_PEERS = ["autograd", "torch eager", "torch.func", "jax eager"]


def _column(label):
    for c in sorted(COLUMNS, key=len, reverse=True):
        if label == c or label.startswith(c + " "):
            return c
    return None


def run(quick=False, only=None, peers=None, out=sys.stdout):
    from .workloads import WORKLOADS
    peers = H.load_peers() if peers is None else peers
    print(f"Machine: {H.machine()}; one BLAS thread; peers: {', '.join(sorted(peers)) or 'none installed'}"
          f"{' (quick run)' if quick else ''}\n", file=out)
    rows, modes = [], []
    results = {}
    for name, unit, scale, build in WORKLOADS:
        if only and only not in name:
            continue
        if quick and "jax" in peers and ("chain" in name):
            use = {k: v for k, v in peers.items() if k != "jax"} | {"jax": peers["jax"]}
        else:
            use = peers
        print(f"  measuring: {name} ...", file=sys.stderr, flush=True)
        cands, f = build(use, quick)
        if quick:
            cands = {k: v for k, v in cands.items() if not (k.startswith("jax eager") and "chain" in name)}
        t = H.measure({"numpy f": f, **cands}, rounds=5 if quick else 11, min_time=0.01 if quick else 0.03)
        best = {}
        for label, secs in t.items():
            col = _column(label)
            if col is not None:
                best[col] = min(best.get(col, float("inf")), secs)
        results[name] = (t, best)
        def fmt(col):
            if col not in best:
                return "-"
            return f"{best[col] / best['numpy f']:.2f}" if scale is None else f"{best[col] * scale:.3g}"
        eager = [best[c] for c in EAGER_PEERS if c in best]
        vs = f"{min(eager) / best['chainrule']:.2f}x" if eager else "-"
        rows.append([name, unit] + [fmt(c) for c in COLUMNS] + [vs])
        if any(k.startswith("chainrule ") for k in t):
            modes.append(f"{name}: " + ", ".join(f"{k.split(' ', 1)[1]} {t[k] * (scale or 1e3):.3g} {unit}"
                                                  for k in t if k.startswith("chainrule ")))
    print(H.table(["workload", "unit"] + COLUMNS + ["best eager peer / chainrule"], rows), file=out)
    if modes:
        print("\nchainrule by mode (the chainrule column is the best of these):", file=out)
        for line in modes:
            print(f"- {line}", file=out)
    if H.COMPILE_TIMES:
        print("\nJAX jit compile time (first call), s: " + ", ".join(
            f"{k} {v:.2f}" for k, v in H.COMPILE_TIMES.items()), file=out)
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer samples, smaller MLP, no JAX eager chain (< 1 min)")
    ap.add_argument("--only", help="run the speed workloads whose name contains this text, nothing else")
    ap.add_argument("--memory", action="store_true", help="also run the memory benchmark (several minutes)")
    args = ap.parse_args(argv)
    run(quick=args.quick, only=args.only)
    if args.quick or args.only:
        return 0
    from . import jacobian_modes
    print()
    jacobian_modes.main()
    from . import complex as complex_values
    print()
    complex_values.main([])
    if args.memory:
        from . import memory
        print()
        memory.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
