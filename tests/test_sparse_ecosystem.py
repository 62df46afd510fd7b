"""The sparse transforms where users put them: solve_ivp's jac=, minimize's hess=, Ipopt's triplets,
choose_mode(sparse=True), and the examples."""

import json
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import minimize

import chainrule as cr

from . import sparse_problems as P

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_solve_ivp_takes_sparse_jacobian_as_written():
    N = 6

    def rhs(t, y):
        return P.brusselator(y, N=N, alpha=0.1)
    xs = np.linspace(0, 1, N, endpoint=False)
    y0 = np.concatenate([22 * xs * (1 - xs) ** 1.5 + np.zeros((N, 1)), 27 * xs[:, None] * (1 - xs[:, None]) ** 1.5
                         + np.zeros(N)]).ravel()
    hand = lambda t, y: P.brusselator_jacobian(y, N=N, alpha=0.1)          # noqa: E731
    ours = solve_ivp(rhs, (0, 0.5), y0, method="BDF", rtol=1e-8, atol=1e-10, jac=cr.sparse_jacobian(rhs, argnums=1))
    ref = solve_ivp(rhs, (0, 0.5), y0, method="BDF", rtol=1e-8, atol=1e-10, jac=hand)
    assert ours.success and ours.njev >= 1
    np.testing.assert_allclose(ours.y[:, -1], ref.y[:, -1], rtol=1e-10, atol=1e-12)
    assert ours.nfev == ref.nfev                           # the same Jacobians: the same steps


def test_minimize_trust_constr_with_sparse_hessian():
    f = P.chained_rosenbrock
    res = minimize(f, np.zeros(30), method="trust-constr", jac=cr.grad(f), hess=cr.sparse_hessian(f),
                   options={"gtol": 1e-10, "xtol": 1e-14, "maxiter": 1000})
    assert np.max(np.abs(res.x - 1.0)) < 1e-6


def test_triplets_follow_the_values_order_and_keep_the_lower_triangle():
    x = np.random.default_rng(0).uniform(0.5, 1.5, 12)
    hess = cr.sparse_hessian(P.arwhead)
    rows, cols, _ = cr.sparse_triplets(hess(x), lower=True)
    assert np.all(cols <= rows)
    dense = cr.hessian(P.arwhead)(x + 0.25)
    _, _, values = cr.sparse_triplets(hess(x + 0.25), lower=True)
    np.testing.assert_allclose(values, dense[rows, cols], rtol=1e-12)
    assert len(rows) == np.count_nonzero(np.tril(cr.hessian_sparsity(P.arwhead, x).toarray()))
    jrows, jcols, jvalues = cr.sparse_triplets(cr.sparse_jacobian(P.banded)(x))
    np.testing.assert_allclose(jvalues, cr.jacfwd(P.banded)(x)[jrows, jcols], rtol=1e-12)


def test_choose_mode_sparse_reports_the_colours():
    d = cr.choose_mode(P.arrowhead, np.linspace(0.5, 1.5, 300), sparse=True)
    assert isinstance(d, cr.SparseDecision)
    assert d.mode == "bidirectional" and d.sweeps <= 4
    assert d.colours["forward"] == 300 and d.nonzeros == 3 * 300 - 2
    assert "bidirectional" in str(d) and "nonzeros" in str(d)


def test_sparse_hessian_follows_branches():
    def f(x):
        if np.sum(x) > 0:
            return np.sum(x[1:] * x[:-1] ** 2)
        return np.sum(np.sin(x) * x[::-1])

    hess = cr.sparse_hessian(f)
    for x in (np.linspace(0.1, 1, 6), -np.linspace(0.1, 1, 6), np.linspace(0.2, 1, 6)):
        np.testing.assert_allclose(hess(x).toarray(), cr.hessian(f)(x), rtol=1e-12, atol=1e-14)


def run_example(name, *args):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, str(ROOT / "examples" / name), *args], capture_output=True, text=True,
                       env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_brusselator_example_matches_the_hand_written_jacobian():
    out = run_example("brusselator_solve_ivp.py", "--N", "6", "--t-end", "0.1")
    assert "chosen: " in out
    assert float(re.search(r"at t=0: max difference ([0-9.e+-]+)", out).group(1)) < 1e-10
    assert float(re.search(r"sparse_jacobian vs hand-written: max difference ([0-9.e+-]+)", out).group(1)) < 1e-8


def test_optimize_example_reaches_the_minimum():
    out = run_example("sparse_optimize.py", "--n", "10")
    assert "star          3 sweeps" in out
    assert float(re.search(r"trust-constr: .* max \|x - 1\| = ([0-9.e+-]+)", out).group(1)) < 1e-6


def test_spy_draws_each_nonzero_in_its_sweep_colour():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    x = np.linspace(0.5, 1.5, 40)
    ax = cr.spy(P.arrowhead, x)
    assert "bidirectional" in ax.get_title()
    points = sum(len(c.get_offsets()) for c in ax.collections)
    assert points == 3 * 40 - 2
    pattern, direction, colour = cr.sparse_jacobian(P.arrowhead).groups_for(x)
    assert set(direction) == {"forward", "reverse"}
    # every nonzero read from a forward sweep is alone in its row among its colour's columns
    coo = pattern.tocoo()
    fwd = direction == "forward"
    keys = coo.row[fwd] * 1000 + colour[fwd]
    assert len(np.unique(keys)) == len(keys)


def test_the_core_imports_without_scipy_and_sparse_results_say_what_to_install():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'scipy' or name.startswith('scipy.'):\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import numpy as np, chainrule as cr\n"
        "print(cr.jacobian(lambda x: x * 2)(np.ones(2)).tolist())\n"
        "try:\n"
        "    cr.sparse_jacobian(lambda x: x * 2)(np.ones(3))\n"
        "except ImportError as e:\n"
        "    print(e)\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "[[2.0, 0.0], [0.0, 2.0]]" in r.stdout and "chainrule[sparse]" in r.stdout


def test_command_line_reports_the_pattern_and_draws_it(tmp_path, capsys):
    from chainrule.tools.cli import main
    assert main(["sparse", "x[1:] * x[:-1]", "--at", "x=[1,2,3,4,5]", "--mode", "forward"]) == 0
    out = capsys.readouterr().out
    assert "sparse Jacobian 4 x 5: 8 nonzeros" in out and "forward       2 sweeps" in out
    assert main(["sparse", "sum(x[1:] * x[:-1] ** 2)", "--at", "x=[1,2,3,4]", "--hessian", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)             # x1 x0^2 + x2 x1^2 + x3 x2^2: no H[3, 3]
    assert data["mode"] == "star" and data["nonzeros"] == 9 and data["colours"]["star"] == 3
    pytest.importorskip("matplotlib")
    picture = tmp_path / "pattern.png"
    assert main(["sparse", "x[1:] * x[0] + x[:-1]", "--at", "x=[1,2,3,4,5]", "--spy", str(picture)]) == 0
    assert picture.stat().st_size > 1000
