"""explain, advise and the command line report the sparsity pattern when asked (sparse=True, --sparse):
the numbers they print are checked against the pattern and colourings computed independently."""

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule.sparse.colouring import colour_columns, colour_rows
from chainrule.tools.cli import main

pytest.importorskip("scipy.sparse")


def tridiagonal_map(x):
    padded = np.concatenate([np.zeros(1), x, np.zeros(1)])
    return np.sin(padded[:-2]) + x ** 2 - 0.5 * padded[2:]


X = np.linspace(0.1, 1.0, 30)


def _expected():
    pattern = cr.jacobian_sparsity(tridiagonal_map, X)
    p = pattern.tocsr()
    indptr, indices = p.indptr.astype(np.int64), p.indices.astype(np.int64)
    return pattern, colour_columns(indptr, indices, p.shape).count, colour_rows(indptr, indices, p.shape).count


def test_explain_reports_the_pattern_and_the_colours():
    pattern, fwd, rev = _expected()
    assert pattern.nnz == 3 * 30 - 2
    e = cr.explain(tridiagonal_map, X, sparse=True)
    d = e.sparse
    assert (d.m, d.n, d.nonzeros) == (30, 30, pattern.nnz)
    assert d.density == pytest.approx(pattern.nnz / 900)
    assert d.colours["forward"] == fwd == 3 and d.colours["reverse"] == rev == 3
    assert d.mode in ("forward", "reverse")
    text = str(e)
    assert f"{pattern.nnz} nonzeros" in text and f"chosen: {d.mode}" in text
    data = json.loads(json.dumps(e.to_dict()))
    assert data["sparse"]["nonzeros"] == pattern.nnz and data["sparse"]["colours"]["forward"] == 3
    assert cr.explain(tridiagonal_map, X).sparse is None                 # only when asked


def test_advise_measures_the_sparse_jacobian_and_reports_its_plan():
    pattern, fwd, _ = _expected()
    a = cr.advise(tridiagonal_map, X, repeat=2, sparse=True)
    assert a.sparse.seconds > 0 and len(a.sparse.samples) == 2 and a.sparse.peak_bytes > 0
    assert a.sparse_decision.nonzeros == pattern.nnz and a.sparse_decision.colours["forward"] == fwd
    assert f"{pattern.nnz} nonzeros" in str(a) and "Sparse: sparse_jacobian" in str(a)
    assert json.loads(json.dumps(a.to_dict()))["sparse_decision"]["nonzeros"] == pattern.nnz
    assert cr.advise(tridiagonal_map, X, repeat=1).sparse is None


def test_advise_with_two_arguments_checks_the_sparse_layout():
    f = lambda x, y: np.sin(x[1:]) * y[:-1]                              # noqa: E731
    a = cr.advise(f, np.ones(6), np.linspace(0, 1, 6), argnums=(0, 1), repeat=1, sparse=True)
    assert (a.sparse_decision.m, a.sparse_decision.n, a.sparse_decision.nonzeros) == (5, 12, 10)


@pytest.mark.parametrize("command", ["explain", "advise"])
def test_command_line_sparse_flag(command, capsys):
    extra = ["--repeat", "1"] if command == "advise" else []
    assert main([command, "x[1:] * x[:-1] + sin(x[1:])", "--at", "x=[1,2,3,4,5]", "--sparse", *extra]) == 0
    out = capsys.readouterr().out
    assert "sparse Jacobian 4 x 5: 8 nonzeros (density 0.4)" in out
    assert main([command, "x[1:] * x[:-1]", "--at", "x=[1,2,3,4,5]", "--sparse", "--json", *extra]) == 0
    data = json.loads(capsys.readouterr().out)
    sparse = data["sparse"] if command == "explain" else data["sparse_decision"]
    assert sparse["nonzeros"] == 8 and sparse["colours"]["forward"] == 2
