"""Testing the tester: check_grads must reject wrong rules, at first and at second order."""

import numpy as np
import pytest

from chainrule import extend
from chainrule.testing import check_grads

X = (np.array([0.3, -1.2, 2.0]),)


def make(name, impl, partial):
    prim = extend.Primitive(name, impl)
    extend.elementwise(prim, partial)
    return lambda x: extend.bind(prim, (x,))


# cos_wrong has the right value but the wrong derivative (+sin instead of -sin)
cos_wrong = make("cos_wrong", np.cos, lambda x: np.sin(x))
sin_good_first_order = make("sin_good_first", np.sin, lambda x: cos_wrong(x))
sin_wrong_first_order = make("sin_wrong_first", np.sin, lambda x: 1.01 * np.cos(x))
sin_right = make("sin_right", np.sin, lambda x: np.cos(x))


def test_accepts_a_right_rule():
    check_grads(sin_right, X, order=3)


@pytest.mark.parametrize("mode", ["fwd", "rev"])
def test_rejects_a_wrong_rule_at_order_one(mode):
    modes = ("fwd",) if mode == "fwd" else ("rev",)
    if mode == "rev":
        # reverse is checked against forward; make only the reverse rule wrong
        prim = extend.Primitive("sin_wrong_vjp", np.sin)
        extend.rule(prim, [lambda t, out, x: np.cos(x) * t], [lambda g, out, x: g * np.cos(x) * 1.01])
        f = lambda x: extend.bind(prim, (x,))            # noqa: E731
    else:
        f = sin_wrong_first_order
    with pytest.raises(AssertionError, match="wrong"):
        check_grads(f, X, order=1, modes=modes)


def test_rejects_a_rule_wrong_only_at_order_two():
    check_grads(sin_good_first_order, X, order=1)          # first order is right ...
    with pytest.raises(AssertionError, match="wrong"):
        check_grads(sin_good_first_order, X, order=2)      # ... the second is not


def test_rejects_nan():
    nan_rule = make("nan_rule", np.sin, lambda x: np.cos(x) * np.nan)
    with pytest.raises(AssertionError):
        check_grads(nan_rule, X, order=1)
