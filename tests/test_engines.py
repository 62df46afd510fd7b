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
