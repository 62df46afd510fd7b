"""Every registered primitive, checked by the independent oracles (see chainrule.tools.check)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.rules import BUILTIN
from chainrule.testing import check_batching, check_grads

from .cases import CASES, case_id, covered_names


def test_every_registered_primitive_has_a_case():
    declared = {p.name for p in BUILTIN}
    missing = sorted(declared - covered_names())
    assert not missing, f"primitives with no row in tests/cases.py: {missing}"


def test_cases_name_real_primitives():
    names = {p.name for p in BUILTIN}
    unknown = sorted(covered_names() - names)
    assert not unknown, f"cases cover primitives that are not registered: {unknown}"


@pytest.mark.parametrize("c", CASES, ids=case_id)
def test_first_and_second_order(c):
    if c.skip:
        pytest.skip(c.skip)
    check_grads(c.fn, c.args(), order=c.order, modes=("fwd", "rev"), eps=c.eps, atol=c.atol)


@pytest.mark.parametrize("c", [c for c in CASES if c.batching], ids=case_id)
def test_batched_directions_equal_single_ones(c):
    if c.skip:
        pytest.skip(c.skip)
    check_batching(c.fn, c.args(seed=1), atol=c.atol)


@pytest.mark.parametrize("c", CASES[::3], ids=case_id)
def test_float32_in_float32_out(c):
    if c.skip:
        pytest.skip(c.skip)
    args64 = c.args(seed=2)
    args32 = c.args(seed=2, dtype=np.float32)
    f0 = lambda x, *rest: np.sum(c.fn(x, *rest))          # noqa: E731
    g64 = cr.grad(f0)(*args64)
    g32 = cr.grad(f0)(*args32)
    assert np.result_type(g32) == np.float32
    assert np.allclose(g32, g64, rtol=2e-3, atol=2e-3)
