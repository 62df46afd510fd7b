"""Engine features that no NumPy rule of the first set exercises: several results per primitive."""

import numpy as np

import chainrule as cr
from chainrule import extend
from chainrule.testing import check_grads

sincos_p = extend.Primitive("sincos", lambda x: (np.sin(x), np.cos(x)))
extend.rule(sincos_p,
            [lambda t, out, x: (np.cos(x) * t, -np.sin(x) * t)],
            [lambda g, out, x: g[0] * np.cos(x) - g[1] * np.sin(x)],
            needs=[("x",)], multiple_results=True)


def sincos(x):
    return extend.bind(sincos_p, (x,))


def test_multiple_results_both_modes_and_order_two():
    x = np.array([0.3, 1.2])
    check_grads(lambda x: sincos(x)[0] * sincos(x)[1] ** 2, (x,), order=2)
    check_grads(lambda x: sincos(x)[1], (x,), order=2)          # one output unused: its adjoint is zero
    assert np.allclose(cr.jacrev(lambda x: sincos(x)[1])(x), np.diag(-np.sin(x)))
    assert np.allclose(cr.jacfwd(lambda x: sincos(x)[0])(x), np.diag(np.cos(x)))


def test_redeclaring_a_rule_replaces_its_joint_jvp():
    from chainrule.core import primitive_of
    prim = primitive_of(np.true_divide)
    saved = (prim.jvps, prim.vjps, prim.needs, prim.save_plans, prim.jvp_all, prim.fast)
    try:
        extend.elementwise(np.true_divide, lambda y: 1 / y, lambda out, y: 0 * out)   # a different rule
        y = np.array([2.0, 4.0])
        fwd = cr.jvp(lambda y: 1.0 / y, (y,), (np.ones(2),))[1]
        rev = cr.vjp(lambda y: 1.0 / y, y)[1](np.ones(2))[0]
        assert np.array_equal(fwd, rev) and np.array_equal(fwd, np.zeros(2))
    finally:
        prim.jvps, prim.vjps, prim.needs, prim.save_plans, prim.jvp_all, prim.fast = saved


def test_vjp_never_returns_the_callers_cotangent():
    ct = np.array([1.0, 2.0])
    (g,) = cr.vjp(lambda x: x, np.zeros(2))[1](ct)
    assert g is not ct and np.array_equal(g, ct)
    assert type(cr.grad(lambda x, y: x * 2.0, argnums=1)(1.0, 2.0)) is np.float64
