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


def test_a_long_tape_gives_the_garbage_collector_little_to_walk():
    """Each full collection walks every tracked object: a tape of scalar code holds entries that Python
    untracks (ints, floats and tuples of them only), and array code holds one shared Meta per shape."""
    import gc

    from chainrule.reverse import vjp_flat

    def f(xs):
        x, w = xs
        for k in range(300):
            x = x * 0.99 + np.sin(x) / 50 - k * 1e-5
            w = (w * 0.5 + np.tanh(w)) * (x + 0.3)
        return [x + np.sum(w)]
    _, pullback = vjp_flat(f, [np.float64(0.3), np.linspace(0.0, 1.0, 50)])
    gc.collect()
    gc.collect()                                            # (one may leave an entry examined before its parts)
    entries = [e for e in pullback.tape if e is not None]
    scalar = [e for e in entries if isinstance(e[2], tuple) and all(type(v) is np.float64 or type(v) is float
                                                                    for v in e[2])]
    assert len(scalar) >= 1000 and sum(gc.is_tracked(e) for e in scalar) <= 2
    metas = {id(v) for e in entries if isinstance(e[2], tuple) for v in e[2] if type(v).__name__ == "Meta"}
    assert len(metas) <= 3                                  # shapes (50,) and () (and the sum's input)
    g = pullback([1.0])
    x0, w0 = np.float64(0.3), np.linspace(0.0, 1.0, 50)
    want = cr.jacfwd(lambda x, w: f([x, w])[0], argnums=(0, 1))(x0, w0)
    np.testing.assert_allclose(g[0], want[0], rtol=1e-12)
    np.testing.assert_allclose(g[1], want[1], rtol=1e-12)
