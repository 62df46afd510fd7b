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


# -- check_batching with complex values: random complex directions and adjoints -------------------------------
Z = (np.array([0.3 + 1.0j, -1.2 + 0.5j, 2.0 - 0.7j]),)


def _first_only(t, x):
    """A rule bug that shows only when directions are batched: every direction gets the first one's value."""
    return t if np.ndim(t) == np.ndim(x) else np.broadcast_to(t[:1], np.shape(t))


def _complex_exp(name, fwd_batch_bug=False, rev_batch_bug=False):
    prim = extend.Primitive(name, np.exp)
    extend.rule(prim, [lambda t, out, x: out * (_first_only(t, x) if fwd_batch_bug else t)],
                [lambda g, out, x: (_first_only(g, x) if rev_batch_bug else g) * out], complex_ok=True)
    return lambda x: extend.bind(prim, (x,))


def test_check_batching_accepts_right_rules_on_complex_values():
    from chainrule.testing import check_batching
    exp_right = _complex_exp("exp_right")
    check_grads(exp_right, Z, order=2)
    check_batching(lambda z: exp_right(z) * np.abs(z) + np.conj(z), Z)      # complex in, complex out
    check_batching(lambda z: np.abs(exp_right(z)), Z)                      # complex in, real out
    check_batching(lambda x: exp_right(1j * x), (np.real(Z[0]),))           # real in, complex out
    check_batching(lambda z: exp_right(z * z), (np.complex64(0.5 - 0.2j),))    # a complex64 scalar


@pytest.mark.parametrize("bug", ["fwd", "rev"])
def test_check_batching_rejects_a_rule_wrong_only_for_batched_complex_directions(bug):
    from chainrule.testing import check_batching
    f = _complex_exp(f"exp_batch_bug_{bug}", fwd_batch_bug=bug == "fwd", rev_batch_bug=bug == "rev")
    check_grads(f, Z, order=1)                             # one direction at a time it is right ...
    with pytest.raises(AssertionError, match="batched complex"):
        check_batching(f, Z)                               # ... pushed as a batch it is not
