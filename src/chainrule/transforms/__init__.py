"""The public transforms, written once on flat lists, with one pytree/argnums adapter."""

from .derivatives import grad, hessian, hvp, jacfwd, jacrev, jvp, value_and_grad, vjp
from .jacobian import choose_mode, jacobian
from .mode import Decision

__all__ = ["grad", "hessian", "hvp", "jacfwd", "jacrev", "jvp", "value_and_grad", "vjp"]
__all__ += ["jacobian", "choose_mode", "Decision"]
