"""Elementwise functions: one local partial derivative per argument.

Broadcasting is handled by the generated rules (tangents are broadcast to the
output's shape; adjoints are summed back over the broadcast axes), so each
declaration is just the calculus.
"""

import numpy as np

from ..core import Primitive, Tracer, bind, canonical_operand, register_function
from ._declare import elementwise, nondifferentiable


def _safe_log(x):
    """log(x) where x > 0, and log(1) = 0 elsewhere (used where the factor beside it is 0)."""
    return np.log(np.where(x > 0, x, 1.0))


def _power_base(x, y):
    return y * x ** (y - 1)


def _power_exponent(out, x):
    # d(x**y)/dy = x**y log x for x > 0; taken as 0 at x == 0 (the limit for y > 0);
    # undefined (nan) for x < 0, where x**y is real only at integer y.
    return np.where(x < 0, np.nan, out * _safe_log(x))


elementwise(np.add, 1, 1)
elementwise(np.subtract, 1, -1)
elementwise(np.multiply, lambda y: y, lambda x: x)
elementwise(np.true_divide, lambda y: 1 / y, lambda out, y: -out / y)
elementwise(np.power, _power_base, _power_exponent,
            convention="d/dy x**y is 0 at x == 0 and nan for x < 0")
elementwise(np.remainder, 1, lambda x, y: -np.floor_divide(x, y),
            convention="at a jump of x % y the one-sided derivative of the continuous piece is used")
elementwise(np.negative, -1)
elementwise(np.positive, 1)
elementwise(np.absolute, lambda x: np.sign(x), convention="abs'(0) = 0")
elementwise(np.sin, lambda x: np.cos(x))
elementwise(np.cos, lambda x: -np.sin(x))
elementwise(np.tan, lambda out: 1 + out * out)
elementwise(np.exp, lambda out: out)
elementwise(np.log, lambda x: 1 / x)
elementwise(np.sqrt, lambda out: 0.5 / out)
elementwise(np.tanh, lambda out: 1 - out * out)

nondifferentiable(np.sign, convention="sign'(x) = 0 everywhere, including at 0")
nondifferentiable(np.floor, np.ceil, np.floor_divide)
nondifferentiable(np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
                  convention="comparisons are boolean: no derivative")


# -- np.where(condition, x, y) ------------------------------------------------------------
where_p = Primitive("numpy.where", np.where, arity=3)
elementwise(where_p, None, lambda c: c, lambda c: ~c, argnames=("c", "x", "y"))


def _where(condition, x=None, y=None):
    if x is None and y is None:                         # np.where(c) is np.nonzero(c): indices, no derivative
        return np.nonzero(condition)
    c = condition
    while isinstance(c, Tracer):                        # the condition selects; it carries no derivative
        c = c.primal
    return bind(where_p, (np.asarray(c, dtype=bool), canonical_operand(x), canonical_operand(y)))


register_function(np.where, _where)
