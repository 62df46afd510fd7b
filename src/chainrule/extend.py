"""Public facade for users who add derivative rules of their own.

>>> import numpy as np
>>> from chainrule import extend
>>> softplus_p = extend.Primitive("softplus", lambda x: np.logaddexp(0.0, x))
>>> _ = extend.elementwise(softplus_p, lambda x: 1 / (1 + np.exp(-x)))
>>> def softplus(x):
...     return extend.bind(softplus_p, (x,))
>>> import chainrule as cr
>>> round(float(cr.grad(softplus)(0.0)), 6)
0.5
"""

from .core import Primitive, bind, primitive_of, register_function
from .rules._declare import elementwise, linear, nondifferentiable, rule, variadic

__all__ = ["Primitive", "bind", "primitive_of", "register_function",
           "elementwise", "linear", "nondifferentiable", "rule", "variadic"]
