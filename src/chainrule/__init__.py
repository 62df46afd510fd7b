"""chainrule: exact derivatives of plain NumPy code, in forward and in reverse mode.

>>> import numpy as np
>>> import chainrule as cr
>>> f = lambda x, y: x * y + np.sin(x)
>>> [round(float(g), 6) for g in cr.grad(f, argnums=(0, 1))(2.0, 3.0)]
[2.583853, 2.0]
"""

from . import rules as _rules  # noqa: F401  (registers the derivative rules)
from ._version import __version__
from .errors import (ArgnumsError, ChainruleError, InPlaceError, InputDtypeError, LeakedTracerError, LevelOrderError,
                     NearlyDegenerateWarning, NonScalarOutputError, NotDifferentiableError,
                     OutputDtypeError, ShapeMismatchError, TracerConversionError)
from .sparse.transforms import (SparseDecision, hessian_sparsity, jacobian_sparsity, sparse_hessian,
                                sparse_jacobian, sparse_triplets)
from .jit import Jitted, jit
from .tools.advise import Advice, advise
from .tools.sparsity import spy
from .tools.explain import Explanation, explain
from .transforms import (Decision, checkpoint, choose_mode, clear_caches, custom_jvp, custom_vjp, grad, hessian,
                         hvp, jacfwd, jacobian, jacrev, jvp, loop, value_and_grad, vjp)

__all__ = [
    # derivatives
    "grad", "value_and_grad", "jvp", "vjp", "jacfwd", "jacrev", "jacobian", "hessian", "hvp",
    # sparse Jacobians and Hessians (scipy.sparse results: the `sparse` extra)
    "sparse_jacobian", "sparse_hessian", "jacobian_sparsity", "hessian_sparsity", "SparseDecision",
    "sparse_triplets", "spy",
    # when to use which
    "choose_mode", "Decision", "clear_caches", "explain", "Explanation", "advise", "Advice",
    # memory and custom rules
    "checkpoint", "loop", "custom_jvp", "custom_vjp",
    # staging
    "jit", "Jitted",
    # errors and warnings
    "ChainruleError", "NotDifferentiableError", "TracerConversionError", "InPlaceError",
    "LeakedTracerError", "LevelOrderError", "InputDtypeError", "OutputDtypeError", "NonScalarOutputError",
    "ShapeMismatchError", "ArgnumsError", "NearlyDegenerateWarning",
]
