"""Colourings: each colour group is structurally orthogonal (columns, rows), star colourings have no
two-coloured path on four vertices, and the counts match what the problems' structure allows."""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from chainrule.sparse.colouring import ORDERS, colour_bidirectional, colour_columns, colour_rows, colour_star

from . import sparse_problems as P


def csr(pairs, shape):
    rows, cols = zip(*pairs)
    m = sp.csr_matrix((np.ones(len(rows), dtype=bool), (rows, cols)), shape=shape)
    m.sum_duplicates()
    m.sort_indices()
    return m


def random_pattern(m, n, density, seed):
    rng = np.random.default_rng(seed)
    dense = rng.random((m, n)) < density
    dense[rng.integers(0, m), :] |= rng.random(n) < 0.5          # a denser row now and then
    return sp.csr_matrix(dense)


PATTERNS = [
    ("banded", csr(P.banded_pattern(30), (28, 30))),
    ("block", csr(P.block_pattern(24), (24, 24))),
    ("arrowhead", csr(P.arrowhead_pattern(25), (25, 25))),
    ("brusselator", csr(P.brusselator_pattern(6), (72, 72))),
] + [(f"random{s}", random_pattern(20 + s, 25, 0.12, s)) for s in range(4)]
IDS = [p[0] for p in PATTERNS]


def assert_columns_orthogonal(pattern, colours):
    dense = pattern.toarray()
    for c in range(colours.max() + 1):
        group = np.flatnonzero(colours == c)
        assert dense[:, group].sum(axis=1).max(initial=0) <= 1, f"colour {c} has two columns in one row"
    assert np.all(colours[dense.any(axis=0)] >= 0), "a nonempty column has no colour"


@pytest.mark.parametrize("name,pattern", PATTERNS, ids=IDS)
def test_column_and_row_colourings_are_structurally_orthogonal(name, pattern):
    c = colour_columns(pattern.indptr, pattern.indices, pattern.shape)
    assert_columns_orthogonal(pattern, c.colours)
    assert c.count == c.colours.max() + 1 == min(v for v in c.tried.values() if isinstance(v, int))
    for v in c.tried.values():                         # an order is given up once it cannot win
        assert (v if isinstance(v, int) else int(v.removeprefix(">= "))) >= c.count
    r = colour_rows(pattern.indptr, pattern.indices, pattern.shape)
    assert_columns_orthogonal(pattern.T.tocsr(), r.colours)
    # a lower bound any valid colouring obeys: a row with k nonzeros needs k colours
    assert c.count >= np.diff(pattern.indptr).max()


def graph_of(pattern):
    """Neighbour sets of a symmetric pattern, without self loops."""
    dense = pattern.toarray()
    return [set(np.flatnonzero(dense[i])) - {i} for i in range(dense.shape[0])]


def assert_star(nbrs, colours):
    for v, ws in enumerate(nbrs):
        for w in ws:
            assert colours[v] != colours[w], f"neighbours {v}, {w} share colour {colours[v]}"
    # every path a-b-c-d on four distinct vertices uses at least three colours
    for b, c in itertools.permutations(range(len(nbrs)), 2):
        if c not in nbrs[b]:
            continue
        for a in nbrs[b] - {c}:
            for d in nbrs[c] - {a, b}:
                assert len({colours[a], colours[b], colours[c], colours[d]}) >= 3, (a, b, c, d)


def symmetric(pattern):
    s = (pattern + pattern.T).astype(bool).tocsr()
    s.sort_indices()
    return s


SYMMETRIC = [(name, symmetric(p)) for name, p in PATTERNS if p.shape[0] == p.shape[1]] + [
    ("arwhead", csr(P.arwhead_pattern(20), (20, 20))),
    ("random_sym", symmetric(random_pattern(30, 30, 0.08, 11))),
]


@pytest.mark.parametrize("name,pattern", SYMMETRIC, ids=[s[0] for s in SYMMETRIC])
def test_star_colourings_have_no_two_coloured_path_on_four_vertices(name, pattern):
    c = colour_star(pattern.indptr, pattern.indices, pattern.shape[0])
    assert_star(graph_of(pattern), c.colours)


@pytest.mark.parametrize("name,pattern", PATTERNS, ids=IDS)
def test_star_bicolourings_are_star_colourings_of_the_bipartite_graph(name, pattern):
    m, n = pattern.shape
    c = colour_bidirectional(pattern.indptr, pattern.indices, pattern.shape)
    dense = pattern.toarray()
    nbrs = [set(m + np.flatnonzero(dense[i])) for i in range(m)] + [set(np.flatnonzero(dense[:, j]))
                                                                    for j in range(n)]
    assert_star(nbrs, c.colours)
    assert np.all((c.colours >= 0) == np.array([bool(s) for s in nbrs]))   # isolated vertices: no colour


def test_colour_counts_of_the_classic_structures():
    band = csr(P.banded_pattern(200), (198, 200))
    assert colour_columns(band.indptr, band.indices, band.shape).count == 3
    arrow = csr(P.arrowhead_pattern(200), (200, 200))
    assert colour_columns(arrow.indptr, arrow.indices, arrow.shape).count == 200
    arw = csr(P.arwhead_pattern(200), (200, 200))
    assert colour_star(arw.indptr, arw.indices, 200).count == 2
    tri = csr(sorted({(i, j) for i in range(200) for j in (i - 1, i, i + 1) if 0 <= j < 200}), (200, 200))
    assert colour_star(tri.indptr, tri.indices, 200).count == 3
    bi = colour_bidirectional(arrow.indptr, arrow.indices, arrow.shape)
    assert bi.count <= 4


def test_colourings_are_deterministic_and_report_the_orders_tried():
    pattern = PATTERNS[3][1]
    a = colour_columns(pattern.indptr, pattern.indices, pattern.shape)
    b = colour_columns(pattern.indptr, pattern.indices, pattern.shape)
    assert np.array_equal(a.colours, b.colours)
    assert set(a.tried) == set(ORDERS) and a.order in ORDERS
    only = colour_columns(pattern.indptr, pattern.indices, pattern.shape, orders=("natural",))
    assert set(only.tried) == {"natural"}
