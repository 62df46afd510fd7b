"""Sparse Jacobians and Hessians: chainrule against SciPy's finite differences given the pattern.

Problems (n = number of inputs):

* Jacobians: the 2-D Brusselator right-hand side, N = 32 and 64 (n = 2048, 8192);
  a 1-D reaction-diffusion right-hand side, n = 10^4; the arrowhead (one dense row,
  one dense column, the diagonal), n = 10^4.
* Hessians: the chained Rosenbrock function, n = 10^4; a minimal-surface energy
  on 100 x 100; ARWHEAD, n = 10^4.

For each: chainrule's colours per mode, its cold time (a fresh ``sparse_jacobian``
or ``sparse_hessian``: detection, colouring and the first evaluation) and warm time
(median of later calls); SciPy's ``approx_derivative`` with the exact pattern given
(2-point differences, its own column grouping; for Hessians, differences of the
hand-written gradient) cold (grouping + first call) and warm; and each one's error
against the derivative written by hand.  Then ``solve_ivp`` on the Brusselator
(BDF, N = 32 and 64; Radau, N = 32; rtol 1e-6, atol 1e-8; t in [0, 1.5]; best of
3 interleaved runs): wall time with setup,
right-hand side and Jacobian evaluations, with no ``jac`` (N = 32 only, ``--full``),
with ``jac_sparsity``, with ``sparse_jacobian`` and with the hand-written Jacobian.

asdex, sparsejac and CasADi are not installed here and not compared.

Run: ``python -m benchmarks.sparse [--quick] [--full]``.
"""

from . import _harness as H
import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402  (after the harness sets the thread limits)
import scipy.sparse as sp  # noqa: E402
from scipy.integrate import solve_ivp  # noqa: E402
from scipy.optimize._numdiff import approx_derivative, group_columns  # noqa: E402

import chainrule as cr  # noqa: E402


# -- problems, each with its hand-written exact derivative -------------------------------------------
def brusselator(N, alpha=10.0, A=3.4, B=1.0):
    c = alpha * (N - 1) ** 2

    def lap(z):
        return np.roll(z, 1, 0) + np.roll(z, -1, 0) + np.roll(z, 1, 1) + np.roll(z, -1, 1) - 4.0 * z

    def f(y):
        u, v = y[: N * N].reshape(N, N), y[N * N:].reshape(N, N)
        uuv = u * u * v
        return np.concatenate([(B + uuv - (A + 1.0) * u + c * lap(u)).ravel(),
                               (A * u - uuv + c * lap(v)).ravel()])

    one = sp.diags([1.0, 1.0, -2.0, 1.0, 1.0], [-(N - 1), -1, 0, 1, N - 1], shape=(N, N))
    L = (sp.kron(sp.identity(N), one) + sp.kron(one, sp.identity(N))).tocsr()

    def jac(y):
        u, v = y[: N * N], y[N * N:]
        return sp.bmat([[sp.diags(2 * u * v - (A + 1.0)) + c * L, sp.diags(u * u)],
                        [sp.diags(A - 2 * u * v), sp.diags(-u * u) + c * L]]).tocsr()

    x = np.random.default_rng(N).uniform(0.5, 1.5, 2 * N * N)
    return f, jac, x


def reaction_diffusion(n, D=0.5):
    """u_t = D u_xx + u (1 - u) on a line with u = 0 beyond both ends: a tridiagonal Jacobian."""
    def f(u):
        padded = np.concatenate([np.zeros(1), u, np.zeros(1)])
        return D * (padded[:-2] - 2.0 * u + padded[2:]) + u * (1.0 - u)

    def jac(u):
        return sp.diags([np.full(n - 1, D), -2.0 * D + 1.0 - 2.0 * u, np.full(n - 1, D)], [-1, 0, 1]).tocsr()
    return f, jac, np.random.default_rng(1).uniform(0, 1, n)


def arrowhead(n):
    def f(x):
        return np.concatenate([np.sum(x ** 2)[None], x[1:] * x[0] + np.sin(x[1:])])

    def jac(x):
        J = sp.lil_matrix((n, n))
        J[0, :] = 2 * x
        J[1:, 0] = x[1:, None]
        J.setdiag(np.concatenate([[2 * x[0]], x[0] + np.cos(x[1:])]))
        return J.tocsr()
    return f, jac, np.random.default_rng(2).uniform(0.5, 1.5, n)


def rosenbrock(n):
    def f(x):
        return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    def grad(x):
        g = np.zeros_like(x)
        r = x[1:] - x[:-1] ** 2
        g[:-1] += -400.0 * x[:-1] * r - 2.0 * (1.0 - x[:-1])
        g[1:] += 200.0 * r
        return g

    def hess(x):
        d = np.zeros(n)
        d[:-1] += 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
        d[1:] += 200.0
        off = -400.0 * x[:-1]
        return sp.diags([off, d, off], [-1, 0, 1]).tocsr()
    return f, grad, hess, np.random.default_rng(3).uniform(-1, 1, n)


def minimal_surface(N):
    def f(z):
        z = z.reshape(N, N)
        dx, dy = z[1:, :-1] - z[:-1, :-1], z[:-1, 1:] - z[:-1, :-1]
        return np.sum(np.sqrt(1.0 + dx ** 2 + dy ** 2))

    idx = np.arange(N * N).reshape(N, N)
    cells = np.stack([idx[:-1, :-1].ravel(), idx[1:, :-1].ravel(), idx[:-1, 1:].ravel()], axis=1)
    A = np.array([[-1.0, 1.0, 0.0], [-1.0, 0.0, 1.0]])         # (z0, z1, z2) -> (dx, dy)

    def local(z):
        dxy = z[cells] @ A.T
        s = np.sqrt(1.0 + np.sum(dxy ** 2, axis=1))
        return dxy, s

    def grad(z):
        dxy, s = local(z)
        g = np.zeros(N * N)
        np.add.at(g, cells, (dxy / s[:, None]) @ A)
        return g

    def hess(z):
        (dx, dy), s = local(z)[0].T, local(z)[1]
        s3 = s ** 3
        hg = np.stack([np.stack([(1 + dy ** 2) / s3, -dx * dy / s3], -1),
                       np.stack([-dx * dy / s3, (1 + dx ** 2) / s3], -1)], 1)   # (cells, 2, 2)
        blocks = A.T @ hg @ A                                                   # (cells, 3, 3)
        rows = np.repeat(cells, 3, axis=1).ravel()
        cols = np.tile(cells, (1, 3)).ravel()
        H = sp.coo_matrix((blocks.ravel(), (rows, cols)), shape=(N * N, N * N)).tocsr()
        H.sum_duplicates()
        return H
    return f, grad, hess, np.random.default_rng(4).uniform(-1, 1, N * N)


def arwhead(n):
    def f(x):
        return np.sum(-4.0 * x[:-1] + 3.0) + np.sum((x[:-1] ** 2 + x[-1] ** 2) ** 2)

    def grad(x):
        q = x[:-1] ** 2 + x[-1] ** 2
        return np.concatenate([4 * q * x[:-1] - 4.0, [np.sum(4 * q * x[-1])]])

    def hess(x):
        H = sp.lil_matrix((n, n))
        last = x[-1]
        H.setdiag(np.concatenate([12 * x[:-1] ** 2 + 4 * last ** 2, [np.sum(4 * x[:-1] ** 2 + 12 * last ** 2)]]))
        H[:-1, n - 1] = (8 * x[:-1] * last)[:, None]
        H[n - 1, :-1] = 8 * x[:-1] * last
        return H.tocsr()
    return f, grad, hess, np.random.default_rng(5).uniform(0.5, 1.5, n)


def jacobian_problems(quick):
    n = 2000 if quick else 10_000
    return [("Brusselator N=32", *brusselator(32)), ("Brusselator N=64", *brusselator(16 if quick else 64)),
            (f"1-D reaction-diffusion n={n}", *reaction_diffusion(n)), (f"arrowhead n={n}", *arrowhead(n))]


def hessian_problems(quick):
    n = 2000 if quick else 10_000
    side = 40 if quick else 100
    return [(f"chained Rosenbrock n={n}", *rosenbrock(n)), (f"minimal surface {side}x{side}", *minimal_surface(side)),
            (f"ARWHEAD n={n}", *arwhead(n))]


# -- measurement -----------------------------------------------------------------------------------
def _cold(make, x):
    t0 = time.perf_counter()
    fn = make()
    out = fn(x)
    return time.perf_counter() - t0, fn, out


def _error(got, want):
    d = (got - want).tocsr()
    return float(np.max(np.abs(d.data))) if d.nnz else 0.0


def _fd(fun, x, pattern):
    """SciPy's sparse finite differences, cold (its grouping) and the function for warm calls."""
    t0 = time.perf_counter()
    groups = group_columns(pattern)
    fd = lambda x: approx_derivative(fun, x, method="2-point", sparsity=(pattern, groups))   # noqa: E731
    out = fd(x)
    return time.perf_counter() - t0, fd, out, int(groups.max()) + 1


def _row(name, decision, cold, fn, x, exact, fun, fd_pattern, rounds):
    fd_cold, fd, fd_out, fd_groups = _fd(fun, x, fd_pattern)
    if fd_groups > 500:             # thousands of evaluations a call: a few samples say enough
        warm = H.measure({"chainrule": lambda: fn(x)}, rounds=rounds, min_time=0.02)
        warm.update(H.measure({"scipy fd": lambda: fd(x)}, rounds=3, min_time=0.0, warmup=0))
    else:
        warm = H.measure({"chainrule": lambda: fn(x), "scipy fd": lambda: fd(x)}, rounds=rounds, min_time=0.02)
    colours = ", ".join(f"{k} {v}" for k, v in decision.colours.items() if v is not None)
    return [name, colours, decision.mode, f"{cold * 1e3:.0f}", f"{warm['chainrule'] * 1e3:.2f}",
            f"{_error(fn(x), exact):.1e}", str(fd_groups), f"{fd_cold * 1e3:.0f}", f"{warm['scipy fd'] * 1e3:.2f}",
            f"{_error(sp.csr_matrix(fd_out), exact):.1e}", f"{warm['scipy fd'] / warm['chainrule']:.1f}x"]


HEADER = ["problem", "colours (chainrule)", "mode", "cold ms", "warm ms", "error", "scipy groups",
          "scipy cold ms", "scipy warm ms", "scipy error", "scipy / chainrule warm"]


def derivatives_table(quick=False, out=sys.stdout):
    rounds = 5 if quick else 9
    rows = []
    # "cold" is a fresh function in a warm process: run the code paths once on a tiny problem first
    small = brusselator(4)
    cr.sparse_jacobian(small[0])(small[2])
    cr.sparse_hessian(rosenbrock(8)[0])(np.ones(8))
    for name, f, jac, x in jacobian_problems(quick):
        print(f"  measuring: {name} ...", file=sys.stderr, flush=True)
        exact = jac(x)
        cold, fn, got = _cold(lambda: cr.sparse_jacobian(f), x)
        if _error(got, exact) > 1e-9 * max(1.0, float(np.max(np.abs(exact.data)))):
            raise AssertionError(f"{name}: the sparse Jacobian disagrees with the hand-written one")
        rows.append(_row(name, fn.decision_for(x), cold, fn, x, exact, f, exact != 0, rounds))
    for name, f, grad, hess, x in hessian_problems(quick):
        print(f"  measuring: {name} ...", file=sys.stderr, flush=True)
        exact = hess(x)
        cold, fn, got = _cold(lambda: cr.sparse_hessian(f), x)
        if _error(got, exact) > 1e-8 * max(1.0, float(np.max(np.abs(exact.data)))):
            raise AssertionError(f"{name}: the sparse Hessian disagrees with the hand-written one")
        rows.append(_row(name, fn.decision_for(x), cold, fn, x, exact, grad, exact != 0, rounds))
    print(H.table(HEADER, rows), file=out)
    return rows


# -- solve_ivp on the Brusselator ------------------------------------------------------------------
def brusselator_ivp(N, alpha=0.1):
    f, jac, _ = brusselator(N, alpha=alpha)
    xs = np.linspace(0, 1, N, endpoint=False)
    X, Y = np.meshgrid(xs, xs, indexing="ij")
    y0 = np.concatenate([(22 * Y * (1 - Y) ** 1.5).ravel(), (27 * X * (1 - X) ** 1.5).ravel()])
    return (lambda t, y: f(y)), (lambda t, y: jac(y)), y0, (jac(y0) != 0)


def ivp_table(quick=False, full=False, repeats=None, out=sys.stdout):
    """Each solve ``repeats`` times, the variants interleaved; the fastest wall time counts."""
    cases = [("BDF", 32), ("BDF", 16 if quick else 64), ("Radau", 32)]
    repeats = (1 if quick else 3) if repeats is None else repeats
    rows = []
    for method, N in cases:
        rhs, hand, y0, pattern = brusselator_ivp(N)
        variants = [("jac_sparsity", lambda: {"jac_sparsity": pattern}),
                    ("sparse_jacobian", lambda: {"jac": cr.sparse_jacobian(rhs, argnums=1)}),
                    ("hand-written", lambda: {"jac": hand})]
        if full and N == 32 and method == "BDF":
            variants.insert(0, ("no jac", lambda: {}))
        best, sols = {}, {}
        for _ in range(repeats):
            for label, make in variants:
                print(f"  solving: {method} N={N} {label} ...", file=sys.stderr, flush=True)
                t0 = time.perf_counter()
                kw = make()                  # setup (sparse_jacobian's detection happens at its first call)
                sol = solve_ivp(rhs, (0.0, 1.5), y0, method=method, rtol=1e-6, atol=1e-8, **kw)
                secs = time.perf_counter() - t0
                if not sol.success:
                    raise AssertionError(f"solve_ivp {method} N={N} {label}: {sol.message}")
                best[label] = min(best.get(label, np.inf), secs)
                sols[label] = sol
        ref = sols["hand-written"].y[:, -1]
        for label, _ in variants:
            sol = sols[label]
            rows.append([f"{method} N={N}", label, f"{best[label]:.2f}",
                         f"{best[label] / best['hand-written']:.2f}", str(sol.nfev), str(sol.njev), str(sol.nlu),
                         f"{np.max(np.abs(sol.y[:, -1] - ref)):.1e}"])
    print(H.table(["problem", "jac", "wall s (best)", "/ hand-written", "rhs evals", "jac evals", "LU",
                   "end state vs hand-written"], rows), file=out)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks.sparse", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="smaller problems, fewer samples")
    ap.add_argument("--full", action="store_true", help="also solve_ivp without jac (BDF, N = 32: slow)")
    ap.add_argument("--skip-ivp", action="store_true", help="the derivative table only")
    ap.add_argument("--repeats", type=int, help="solve_ivp runs per variant (default 3, quick 1)")
    args = ap.parse_args(argv)
    print(f"Machine: {H.machine()}; one BLAS thread; SciPy {__import__('scipy').__version__}\n")
    derivatives_table(args.quick)
    if not args.skip_ivp:
        print()
        ivp_table(args.quick, args.full, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
