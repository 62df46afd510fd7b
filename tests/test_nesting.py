"""Nested transforms: levels keep perturbations apart; derivatives of derivatives."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.testing import check_grads


def inner_fwd(x):
    return cr.jvp(lambda y: x + y, (1.0,), (1.0,))[1]


def inner_rev(x):
    return cr.grad(lambda y: x + y)(1.0)


@pytest.mark.parametrize("inner", [inner_fwd, inner_rev], ids=["inner-fwd", "inner-rev"])
@pytest.mark.parametrize("outer", ["fwd", "rev"])
def test_perturbation_confusion(outer, inner):
    # d/dx [x * d/dy (x + y)] at y = 1 is 1; confusing the two perturbations gives 2.
    g = lambda x: x * inner(x)                                  # noqa: E731
    if outer == "fwd":
        d = cr.jvp(g, (3.0,), (1.0,))[1]
    else:
        d = cr.grad(g)(3.0)
    assert d == 1.0


def test_closure_over_outer_tracer():
    # d/dx of grad_y (x * y^2) at y = 3 -> d/dx (2 x y) = 2 y = 6
    g = lambda x: cr.grad(lambda y: x * y ** 2)(3.0)           # noqa: E731
    assert cr.grad(g)(2.0) == 6.0
    assert cr.jvp(g, (2.0,), (1.0,))[1] == 6.0


@pytest.mark.parametrize("outer", [cr.jacfwd, cr.jacrev])
@pytest.mark.parametrize("inner", [cr.jacfwd, cr.jacrev])
def test_all_four_hessians_agree(outer, inner):
    f = lambda x: np.sum(np.tanh(x) * x[::-1] ** 2) + x[0] * x[2]   # noqa: E731
    x = np.array([0.3, -0.7, 1.1])
    h = outer(inner(f))(x)
    reference = cr.hessian(f)(x)
    assert np.allclose(h, reference, rtol=1e-12, atol=1e-12)
    assert np.allclose(h, h.T, rtol=1e-12, atol=1e-12)


def test_third_order():
    # d^3/dx^3 sin(x) = -cos(x)
    d3 = cr.grad(cr.grad(cr.grad(np.sin)))(0.4)
    assert abs(d3 + np.cos(0.4)) < 1e-14
    check_grads(lambda x: np.sum(np.exp(np.sin(x)) * x), (np.array([0.1, 0.5]),), order=3)


def test_leaked_tracer_is_reported():
    leaked = []
    cr.grad(lambda x: leaked.append(x) or x * 2.0)(1.0)
    with pytest.raises(cr.LeakedTracerError, match="already returned"):
        np.sin(leaked[0])
