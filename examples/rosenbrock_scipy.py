"""SciPy's optimisers with exact derivatives: Rosenbrock by BFGS (value_and_grad) and Newton-CG (hvp).

``scipy.optimize.minimize(fun, x0, jac=True)`` wants the value and the
gradient from one call: that is ``value_and_grad``.  Newton-CG also wants
Hessian-vector products: ``hvp`` (forward over reverse) gives them without
forming the Hessian.  The gradient of a function R^n -> R is reverse mode's
case once n is large; for a function as small as Rosenbrock in 20
variables, one batched forward sweep of 20 directions can cost less than
recording a tape, and auto mode says so.  The script prints what
``jacobian(mode="auto")`` would choose and why (try --n 200).

    python examples/rosenbrock_scipy.py [--n 20]
"""

import argparse

import numpy as np
from scipy.optimize import minimize

import chainrule as cr


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20)
    args = ap.parse_args(argv)
    x0 = np.full(args.n, -1.0)
    x0[::2] = -1.2

    decision = cr.choose_mode(rosenbrock, x0)
    print(f"rosenbrock: R^{decision.n} -> R^{decision.m}; auto mode chooses {decision.mode}.")
    print(f"  why: {decision.reason}")

    value_and_grad = cr.value_and_grad(rosenbrock)
    bfgs = minimize(lambda x: value_and_grad(x), x0, jac=True, method="BFGS", options={"gtol": 1e-8})
    newton = minimize(rosenbrock, x0, jac=cr.grad(rosenbrock), method="Newton-CG",
                      hessp=lambda x, p: cr.hvp(rosenbrock, x, p), options={"xtol": 1e-10})
    for name, res in (("BFGS (value_and_grad)", bfgs), ("Newton-CG (hvp)", newton)):
        print(f"{name:22s} f = {res.fun:.3e}  after {res.nit} iterations, "
              f"max |x - 1| = {np.max(np.abs(res.x - 1)):.1e}")
    return bfgs, newton


if __name__ == "__main__":
    main()
