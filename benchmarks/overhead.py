"""Per-operation overhead on scalar code, and gradient cost on an MLP (issue 2's benchmark).

* ``grad`` and ``jvp`` of a chain of 1000 scalar operations: microseconds
  per operation, beside plain NumPy and, when installed, autograd and PyTorch.
* ``value_and_grad`` of a 3-layer tanh MLP (batch 256, 512-512-512-10,
  float64) divided by the time of the loss alone in plain NumPy.

``python -m benchmarks.overhead``; the full suite is ``python -m benchmarks``.
"""

import sys

from . import _harness as H
from .workloads import N_OPS, w_chain_grad, w_chain_jvp, w_mlp


def main(quick=False):
    peers = H.load_peers(("autograd", "torch"))
    print(f"## Overhead ({H.machine()}; peers: {', '.join(peers) or 'none installed'})\n")
    rows = []
    for what, build in (("grad", w_chain_grad), ("jvp", w_chain_jvp)):
        cands, f = build(peers, quick)
        t = H.measure({"numpy f": f, **cands}, rounds=5 if quick else 9)
        rows += [[f"{label} {what}" if label != "numpy f" else label, f"{secs / N_OPS * 1e6:.2f}",
                  f"{secs / t['numpy f']:.1f}"] for label, secs in t.items()
                 if not (what == "jvp" and label == "numpy f")]
    print(f"Scalar chain of {N_OPS} operations (sin, *, +, tanh):\n")
    print(H.table(["what", "us per operation", "x numpy f"], rows))
    cands, f = w_mlp(peers, quick)
    t = H.measure({"numpy f": f, **cands}, rounds=5 if quick else 9, min_time=0.05)
    print("\n3-layer tanh MLP, batch 256, 512-512-512-10, float64, value_and_grad:\n")
    print(H.table(["what", "ms per call", "x numpy f"],
                  [[label, f"{secs * 1e3:.2f}", f"{secs / t['numpy f']:.2f}"] for label, secs in t.items()]))


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
