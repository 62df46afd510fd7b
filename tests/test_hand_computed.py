"""Hand-computed numbers, checked with no helper of chainrule's test machinery."""

import math

import numpy as np

import chainrule as cr
from chainrule.tools.trace import evaluation_trace

X, Y = 2.0, 3.0
F = 6.0 + math.sin(2.0)
DFDX = 3.0 + math.cos(2.0)          # 2.5838531634528574
DFDY = 2.0


def f(x, y):
    return x * y + np.sin(x)


def test_exact_constant():
    assert abs(DFDX - 2.5838531634528574) < 1e-16


def test_forward_mode():
    out, dx = cr.jvp(f, (X, Y), (1.0, 0.0))
    assert abs(out - F) <= 1e-14
    assert abs(dx - DFDX) <= 1e-14
    _, dy = cr.jvp(f, (X, Y), (0.0, 1.0))
    assert abs(dy - DFDY) <= 1e-14


def test_reverse_mode():
    out, pullback = cr.vjp(f, X, Y)
    gx, gy = pullback(1.0)
    assert abs(out - F) <= 1e-14
    assert abs(gx - DFDX) <= 1e-14 and abs(gy - DFDY) <= 1e-14


def test_grad_and_value_and_grad():
    gx, gy = cr.grad(f, argnums=(0, 1))(X, Y)
    assert abs(gx - DFDX) <= 1e-14 and abs(gy - DFDY) <= 1e-14
    v, g = cr.value_and_grad(f)(X, Y)
    assert abs(v - F) <= 1e-14 and abs(g - DFDX) <= 1e-14


def test_intermediate_values_of_the_trace():
    rows = evaluation_trace(f, [X, Y], tangents=[1.0, 0.0], adjoint=1.0)
    v1, v2, v3 = rows[2:]
    assert (v1.op, v1.operands) == ("multiply", ("x0", "x1"))
    assert v1.primal == 6.0 and v1.tangent == 3.0
    assert v2.op == "sin" and abs(v2.primal - math.sin(2.0)) <= 1e-15
    assert abs(v2.tangent - math.cos(2.0)) <= 1e-15
    assert abs(v3.tangent - DFDX) <= 1e-14
    assert abs(rows[0].adjoint - DFDX) <= 1e-14 and rows[1].adjoint == 2.0


def test_jacobians_of_a_linear_map():
    a = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    for jac in (cr.jacfwd, cr.jacrev):
        assert np.array_equal(jac(lambda x: a @ x)(np.ones(3)), a)


def test_hessian_of_a_cubic():
    # f = x0^3 + x0 x1^2: H = [[6 x0, 2 x1], [2 x1, 2 x0]]
    h = cr.hessian(lambda x: x[0] ** 3 + x[0] * x[1] ** 2)(np.array([1.5, -2.0]))
    assert np.allclose(h, [[9.0, -4.0], [-4.0, 3.0]], rtol=0, atol=1e-13)
    v = np.array([1.0, 2.0])
    assert np.allclose(cr.hvp(lambda x: x[0] ** 3 + x[0] * x[1] ** 2, np.array([1.5, -2.0]), v),
                       [1.0, 2.0], atol=1e-13)
