"""Sparse Jacobians: detection against hand-written patterns, values against the dense modes and
finite differences, in every mode, at several points."""

import numpy as np
import pytest

import chainrule as cr

from . import sparse_problems as P

MODES = ("forward", "reverse", "bidirectional", "auto")

# (name, function, n, true pattern as (row, col) pairs)
_GATHER = P.RandomGather(40, 30, seed=3)
PROBLEMS = [
    ("banded", P.banded, 17, P.banded_pattern(17)),
    ("block", P.block, 16, P.block_pattern(16)),
    ("arrowhead", P.arrowhead, 12, P.arrowhead_pattern(12)),
    ("brusselator", P.brusselator, 128, P.brusselator_pattern(8)),
    ("random_gather", _GATHER, 40, _GATHER.pattern()),
]
IDS = [p[0] for p in PROBLEMS]


def points(n, count=3):
    rng = np.random.default_rng(n)
    return [rng.uniform(-1.5, 1.5, n) for _ in range(count)]


def central_differences(f, x, eps=1e-6):
    cols = []
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = eps
        cols.append((f(x + e) - f(x - e)) / (2 * eps))
    return np.stack(cols, axis=1)


@pytest.mark.parametrize("name,f,n,true", PROBLEMS, ids=IDS)
def test_detected_pattern_is_the_true_pattern(name, f, n, true):
    found = cr.jacobian_sparsity(f, points(n, 1)[0])
    assert found.dtype == bool
    assert P.as_pairs(found) == true
    assert not found.value_dependent


@pytest.mark.parametrize("name,f,n,true", PROBLEMS, ids=IDS)
def test_pattern_covers_every_numerical_nonzero(name, f, n, true):
    pattern = cr.jacobian_sparsity(f, points(n, 1)[0]).toarray()
    for x in points(n):
        dense = cr.jacfwd(f)(x)
        assert np.all(pattern[dense != 0])


def test_numerical_zeros_stay_in_the_pattern():
    f = lambda x: np.concatenate([x * 0.0, x[:1] * x[1:]])        # noqa: E731
    x = np.array([0.0, 2.0, 3.0])                                  # d/dx1 of x0 * x1 is x0 = 0 here
    pairs = P.as_pairs(cr.jacobian_sparsity(f, x))
    assert pairs == [(0, 0), (1, 1), (2, 2), (3, 0), (3, 1), (4, 0), (4, 2)]
    J = cr.sparse_jacobian(f, mode="forward")(x)
    assert J.nnz == 7 and J[3, 1] == 0.0 and J[3, 0] == 2.0        # stored, structurally, as zero


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name,f,n,true", PROBLEMS, ids=IDS)
def test_sparse_jacobian_equals_the_dense_modes(name, f, n, true, mode):
    jac = cr.sparse_jacobian(f, mode=mode)
    structure = None
    for x in points(n):
        J = jac(x)
        assert J.shape == (len(f(x)), n)
        np.testing.assert_allclose(J.toarray(), cr.jacfwd(f)(x), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(J.toarray(), cr.jacrev(f)(x), rtol=1e-12, atol=1e-12)
        if structure is None:
            structure = (J.indptr.copy(), J.indices.copy())
        assert np.array_equal(J.indptr, structure[0]) and np.array_equal(J.indices, structure[1])


@pytest.mark.parametrize("mode", MODES[:3])
def test_brusselator_against_the_hand_written_jacobian_and_finite_differences(mode):
    x = points(128, 1)[0] + 2.0
    J = cr.sparse_jacobian(P.brusselator, mode=mode)(x).toarray()
    np.testing.assert_allclose(J, P.brusselator_jacobian(x), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(J, central_differences(P.brusselator, x), rtol=1e-6, atol=1e-4)


def test_random_gather_against_finite_differences():
    x = points(40, 1)[0]
    J = cr.sparse_jacobian(_GATHER, mode="reverse")(x).toarray()
    np.testing.assert_allclose(J, central_differences(_GATHER, x), rtol=1e-6, atol=1e-8)


def test_colours_are_far_fewer_than_directions():
    x = points(128, 1)[0]
    jac = cr.sparse_jacobian(P.brusselator, mode="forward")
    decision = jac.decision_for(x)
    assert decision.colours["forward"] <= 12                      # the 5-point stencil plus coupling: 6 + ...
    assert decision.nonzeros == len(P.brusselator_pattern(8))


def test_a_given_pattern_skips_detection():
    x = points(17, 1)[0]
    pattern = np.zeros((15, 17), dtype=bool)
    for i, j in P.banded_pattern(17):
        pattern[i, j] = True
    calls = []

    def f(x):
        calls.append(type(x).__name__)
        return P.banded(x)
    J = cr.sparse_jacobian(f, mode="forward", sparsity=pattern)(x)
    assert "PatternTracer" not in calls
    np.testing.assert_allclose(J.toarray(), cr.jacfwd(P.banded)(x), rtol=1e-12)


def test_float32_in_gives_float32_out():
    x = points(17, 1)[0].astype(np.float32)
    for mode in MODES[:3]:
        J = cr.sparse_jacobian(P.banded, mode=mode)(x)
        assert J.dtype == np.float32
        np.testing.assert_allclose(J.toarray(), cr.jacfwd(P.banded)(x), rtol=1e-6)


def test_pytrees_and_argnums():
    def f(a, p):
        return {"u": p["w"] * a[1:], "v": np.sin(p["b"]) + a[0]}
    a = np.array([0.5, 1.0, 2.0])
    p = {"w": np.array([3.0, 4.0]), "b": np.array([0.1])}
    J = cr.sparse_jacobian(f, argnums=1, mode="reverse")(a, p).toarray()
    # columns: b (1) then w (2), dict keys sorted; rows: u (2) then v (1)
    dense = cr.jacfwd(lambda b, w: np.concatenate([w * a[1:], np.sin(b) + a[0]]), argnums=(0, 1))(
        p["b"], p["w"])
    np.testing.assert_allclose(J, np.concatenate(dense, axis=1), rtol=1e-12)


def test_control_flow_gives_the_right_jacobian_on_both_sides():
    def f(x):
        if np.sum(x) > 0:
            return x[1:] * x[:-1]
        return np.sin(x[1:]) + x[0]

    jac = cr.sparse_jacobian(f, mode="forward")
    assert cr.jacobian_sparsity(f, np.ones(5)).value_dependent
    for x in (np.ones(5), -np.ones(5), np.linspace(0.1, 1, 5), -np.linspace(0.1, 1, 5)):
        np.testing.assert_allclose(jac(x).toarray(), cr.jacfwd(f)(x), rtol=1e-12)


def test_where_takes_both_branches_without_value_dependence():
    f = lambda x: np.where(x > 0, x ** 2, np.sin(x[::-1]))        # noqa: E731
    x = np.array([1.0, 2.0, 3.0])                                 # only the first branch taken here
    pairs = P.as_pairs(cr.jacobian_sparsity(f, x))
    assert pairs == sorted({(i, i) for i in range(3)} | {(i, 2 - i) for i in range(3)})
    jac = cr.sparse_jacobian(f, mode="reverse")
    for y in (x, -x, np.array([1.0, -2.0, 0.5])):
        np.testing.assert_allclose(jac(y).toarray(), cr.jacfwd(f)(y), rtol=1e-12)


def test_primitives_without_a_rule_count_as_dense():
    f = lambda x: np.concatenate([np.linalg.inv(x[:4].reshape(2, 2)).ravel(), x[4:] ** 2])   # noqa: E731
    pattern = cr.jacobian_sparsity(f, np.arange(1.0, 7.0)).toarray()
    assert pattern[:4, :4].all() and not pattern[:4, 4:].any()
    assert (pattern[4:, 4:] == np.eye(2, dtype=bool)).all() and not pattern[4:, :4].any()


def test_matmul_with_a_constant_matrix_and_reductions():
    W = np.arange(12.0).reshape(3, 4)
    f = lambda x: np.concatenate([W @ x[:4], np.max(x[4:].reshape(2, 2), axis=0), (x[4:6] @ x[6:8])[None]])  # noqa
    x = np.arange(1.0, 9.0)
    pattern = cr.jacobian_sparsity(f, x).toarray()
    expected = np.zeros((6, 8), dtype=bool)
    expected[:3, :4] = True                       # W @ x: structurally dense (a zero entry still couples)
    expected[3, [4, 6]] = expected[4, [5, 7]] = True
    expected[5, 4:8] = True
    assert (pattern == expected).all()
    for mode in MODES[:3]:
        np.testing.assert_allclose(cr.sparse_jacobian(f, mode=mode)(x).toarray(), cr.jacrev(f)(x), rtol=1e-12)


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="mode="):
        cr.sparse_jacobian(P.banded, mode="sideways")


def test_arrowhead_auto_mode_goes_bidirectional_in_few_sweeps():
    n = 10_000
    x = np.random.default_rng(0).uniform(0.5, 1.5, n)
    jac = cr.sparse_jacobian(P.arrowhead)
    J = jac(x)
    decision = jac.decision_for(x)
    assert decision.mode == "bidirectional"
    assert decision.sweeps <= 4
    assert decision.colours["forward"] == n and decision.colours["reverse"] == n
    # spot-check against the derivative written by hand
    assert J[0, 5] == pytest.approx(2 * x[5]) and J[7, 0] == pytest.approx(x[7])
    assert J[7, 7] == pytest.approx(x[0] + np.cos(x[7]))
    assert J.nnz == 3 * n - 2


@pytest.mark.parametrize("mode", MODES[:2])
def test_a_small_memory_budget_splits_the_colours_over_several_sweeps(mode):
    x = np.linspace(0.5, 1.5, 300)
    calls = []

    def f(x):
        calls.append(1)
        return P.arrowhead(x)
    J = cr.sparse_jacobian(f, mode=mode, memory_budget="64kB")(x)
    np.testing.assert_allclose(J.toarray(), cr.jacfwd(P.arrowhead)(x), rtol=1e-12)
    # forward: detection, then more than one sweep; reverse: detection, one tape, several pullbacks
    assert len(calls) > 3 if mode == "forward" else len(calls) == 2


def test_structure_chosen_by_values_is_checked_at_every_call():
    # np.sort gathers by np.argsort of the values: the pattern found at one point is that point's
    f = lambda x: np.sort(x)[:3] * x[::-1][:3]                    # noqa: E731
    x = np.array([3.0, 1.0, 2.0, 5.0, 4.0])
    assert cr.jacobian_sparsity(f, x).value_dependent
    jac = cr.sparse_jacobian(f, mode="forward")
    for y in (x, x[::-1].copy(), np.array([0.5, 4.0, 3.0, 2.0, 1.0])):
        np.testing.assert_allclose(jac(y).toarray(), cr.jacfwd(f)(y), rtol=1e-12)


def test_an_argsort_index_is_checked_at_every_call():
    f = lambda x: x * x[np.argsort(x)[-1]]                       # noqa: E731
    jac = cr.sparse_jacobian(f, mode="reverse")
    for y in (np.array([1.0, 3.0, 2.0]), np.array([4.0, 3.0, 2.0]), np.array([1.0, 0.0, 2.0])):
        np.testing.assert_allclose(jac(y).toarray(), cr.jacfwd(f)(y), rtol=1e-12)


# Functions across the families: the detected pattern must cover every numerical nonzero
# (never an under-estimate), whatever rule or dense fallback each primitive takes.
A4 = np.arange(1.0, 17.0).reshape(4, 4) / 10
FAMILIES = {
    "pad_diff": lambda x: np.diff(np.pad(x, 2, mode="reflect")) ** 2,
    "cumsum_cumprod": lambda x: np.cumsum(x) * np.cumprod(x[::-1]),
    "mean_var_std": lambda x: np.concatenate([x - np.mean(x), np.stack([np.var(x), np.std(x[:8])])]),
    "einsum_outer": lambda x: np.einsum("i,j->ij", x[:4], x[4:8]).ravel(),
    "solve": lambda x: np.linalg.solve(A4 + np.diag(x[:4]), x[4:8]),
    "stack_tile_repeat": lambda x: np.stack([np.tile(x[:3], 2), np.repeat(x[3:6], 2)]).ravel() ** 3,
    "transpose_matmul": lambda x: (x[:12].reshape(3, 4).T @ x[:12].reshape(3, 4)).ravel(),
    "max_min_axis": lambda x: np.concatenate([np.max(x[:12].reshape(3, 4), axis=1),
                                              np.min(x[:12].reshape(3, 4), axis=0)]),
    "clip_abs_where": lambda x: np.clip(x, -0.5, 0.5) + np.abs(x[::-1]) * np.where(x > 0, x, 0.0),
    "fancy_index": lambda x: x[[0, 0, 5, 9, 2]] * x[np.array([[1, 2], [3, 4]])].sum(axis=1).repeat(3)[:5],
    "linalg_norm": lambda x: np.linalg.norm(x[:6]) * x[6:],
    "sort": lambda x: np.sort(x) * x,
    "flip_roll": lambda x: np.roll(np.flip(x), 3) * x ** 2,
    "broadcast": lambda x: (x[:4, None] * x[None, 4:8]).ravel() + np.exp(x[8:9]),
}


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_patterns_cover_the_jacobian_across_families(name):
    f = FAMILIES[name]
    rng = np.random.default_rng(7)
    for _ in range(3):
        x = rng.uniform(-1.0, 1.0, 12)
        pattern = cr.jacobian_sparsity(f, x).toarray()
        dense = cr.jacfwd(f)(x)
        assert pattern.shape == dense.shape
        assert np.all(pattern[dense != 0]), "a nonzero derivative outside the detected pattern"
        np.testing.assert_allclose(cr.sparse_jacobian(f, mode="forward")(x).toarray(), dense, rtol=1e-12,
                                   atol=1e-14)
