"""Newton-type optimisation with exact sparse Hessians: SciPy's trust-constr, and cyipopt's structure.

``scipy.optimize.minimize(f, x0, method="trust-constr", jac=cr.grad(f),
hess=cr.sparse_hessian(f))`` works as written: the Hessian of the chained
Rosenbrock function in n variables is tridiagonal, a star colouring needs 3
colours, so each Hessian is one batched sweep of 3 Hessian-vector products
(forward over reverse), returned as a sparse matrix that trust-constr's
conjugate-gradient steps use directly.

Ipopt (through cyipopt) wants coordinates: ``cr.sparse_triplets(H, lower=True)``
gives the lower triangle's rows and columns once (``hessianstructure``) and
the values of each call in the same order (``hessian``).  That part runs only
where cyipopt is installed; otherwise the script prints the structure it would pass.

    python examples/sparse_optimize.py [--n 200]
"""

import argparse
import time

import numpy as np
from scipy.optimize import minimize

import chainrule as cr


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    args = ap.parse_args(argv)
    x0 = np.zeros(args.n)

    hess = cr.sparse_hessian(rosenbrock)
    print(hess.decision_for(x0))
    t0 = time.perf_counter()
    res = minimize(rosenbrock, x0, method="trust-constr", jac=cr.grad(rosenbrock), hess=hess,
                   options={"gtol": 1e-10, "xtol": 1e-14, "maxiter": 2000})
    print(f"trust-constr: {time.perf_counter() - t0:.2f} s, {res.nit} iterations, "
          f"max |x - 1| = {np.max(np.abs(res.x - 1.0)):.1e}")

    rows, cols, values = cr.sparse_triplets(hess(x0), lower=True)
    print(f"Ipopt's hessianstructure: {len(rows)} entries of the lower triangle, the first "
          f"{list(zip(rows[:3].tolist(), cols[:3].tolist()))}")
    try:
        import cyipopt
    except ImportError:
        print("cyipopt is not installed: skipping the Ipopt solve")
        return

    class Problem:
        def objective(self, x):
            return rosenbrock(x)

        def gradient(self, x):
            return cr.grad(rosenbrock)(x)

        def hessianstructure(self):
            return rows, cols

        def hessian(self, x, lagrange, obj_factor):
            return obj_factor * cr.sparse_triplets(hess(x), lower=True)[2]

    nlp = cyipopt.Problem(n=args.n, m=0, problem_obj=Problem())
    x, info = nlp.solve(x0)
    print(f"Ipopt: max |x - 1| = {np.max(np.abs(x - 1.0)):.1e} ({info['status_msg']!r})")


if __name__ == "__main__":
    main()
