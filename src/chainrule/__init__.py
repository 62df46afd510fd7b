"""chainrule: exact derivatives of plain NumPy code, in forward and in reverse mode.

>>> import numpy as np
>>> import chainrule as cr
>>> f = lambda x, y: x * y + np.sin(x)
>>> [round(float(g), 6) for g in cr.grad(f, argnums=(0, 1))(2.0, 3.0)]
[2.583853, 2.0]
"""

from . import rules as _rules  # noqa: F401  (registers the derivative rules)
from .errors import (ArgnumsError, ChainruleError, InPlaceError, InputDtypeError, LeakedTracerError,
                     NearlyDegenerateWarning, NonScalarOutputError, NotDifferentiableError,
                     OutputDtypeError, ShapeMismatchError, TracerConversionError)
from .transforms import grad, hessian, hvp, jacfwd, jacrev, jvp, value_and_grad, vjp
from .transforms import Decision, choose_mode, jacobian
from .tools.explain import Explanation, explain
from .tools.advise import Advice, advise

__version__ = "0.1.0"

__all__ = [
    "grad", "value_and_grad", "jvp", "vjp", "jacfwd", "jacrev", "hessian", "hvp",
    "ChainruleError", "NotDifferentiableError", "TracerConversionError", "InPlaceError",
    "LeakedTracerError", "InputDtypeError", "NonScalarOutputError", "ShapeMismatchError",
    "ArgnumsError", "OutputDtypeError", "NearlyDegenerateWarning",
]
__all__ += ["jacobian", "choose_mode", "Decision", "explain", "Explanation", "advise", "Advice"]

from .transforms import checkpoint, custom_jvp, custom_vjp, loop  # noqa: E402
__all__ += ["checkpoint", "loop", "custom_jvp", "custom_vjp"]
