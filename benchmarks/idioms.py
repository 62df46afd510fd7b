"""What the NumPy idioms cost: arrays built with ``np.array([...])`` against ``np.stack``, and buffers
filled by index against a functional expression (issue 9).

* An ODE right-hand side (Lotka-Volterra, 2 states) written three ways -- ``np.array`` of
  expressions, ``np.stack`` of the same, ``np.zeros_like`` filled by index -- under ``jacfwd`` and
  ``jacrev``, and the plain NumPy call.
* ``np.array`` of 64 traced scalars against ``np.stack`` of them (the per-element cost).

``python -m benchmarks.idioms [--quick]``.
"""

import sys

from . import _harness as H  # noqa: I001  (one BLAS thread before NumPy loads)

import numpy as np

import chainrule as cr

A, B, C, D = 1.5, 1.0, 3.0, 1.0


def rhs_array(y):
    x, z = y[0], y[1]
    return np.array([A * x - B * x * z, C * x * z - D * z])


def rhs_stack(y):
    x, z = y[0], y[1]
    return np.stack([A * x - B * x * z, C * x * z - D * z])


def rhs_filled(y):
    dydt = np.zeros_like(y)
    dydt[0] = A * y[0] - B * y[0] * y[1]
    dydt[1] = C * y[0] * y[1] - D * y[1]
    return dydt


def many_array(x):
    return np.array([x[i] * x[i + 1] for i in range(len(x) - 1)])


def many_stack(x):
    return np.stack([x[i] * x[i + 1] for i in range(len(x) - 1)])


def main(quick=False):
    rounds = 5 if quick else 11
    y = np.array([1.2, 0.7])
    print(f"## NumPy idioms ({H.machine()})\n")
    rows = []
    for mode, jac in (("jacfwd", cr.jacfwd), ("jacrev", cr.jacrev)):
        cands = {f"{name} {mode}": (lambda f=f: jac(f)(y))
                 for name, f in (("np.array", rhs_array), ("np.stack", rhs_stack), ("zeros_like filled", rhs_filled))}
        t = H.measure({"numpy f (np.array)": lambda: rhs_array(y), **cands}, rounds=rounds)
        base = t[f"np.stack {mode}"]
        rows += [[label, f"{secs * 1e6:.1f}", f"{secs / base:.2f}"] for label, secs in t.items()
                 if not (mode == "jacrev" and label.startswith("numpy"))]
    print("Lotka-Volterra right-hand side (2 states), full Jacobian:\n")
    print(H.table(["what", "us per call", "x np.stack, same mode"], rows))
    x = np.linspace(0.1, 1.0, 65)
    rows = []
    for mode, jac in (("jacfwd", cr.jacfwd), ("jacrev", cr.jacrev)):
        t = H.measure({f"np.array {mode}": lambda: jac(many_array)(x),
                       f"np.stack {mode}": lambda: jac(many_stack)(x)}, rounds=rounds)
        base = t[f"np.stack {mode}"]
        rows += [[label, f"{secs * 1e3:.2f}", f"{secs / base:.2f}"] for label, secs in t.items()]
    print("\n64 traced products joined into one array (n = 65 inputs), full Jacobian:\n")
    print(H.table(["what", "ms per call", "x np.stack, same mode"], rows))


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
