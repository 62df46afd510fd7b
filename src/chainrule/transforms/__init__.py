"""The public transforms, written once on flat lists, with one pytree/argnums adapter."""

from .checkpoint import checkpoint
from .custom import custom_jvp, custom_vjp
from .derivatives import grad, hessian, hvp, jacfwd, jacrev, jvp, value_and_grad, vjp
from .jacobian import choose_mode, clear_caches, jacobian
from .loop import loop
from .mode import Decision

__all__ = ["grad", "hessian", "hvp", "jacfwd", "jacrev", "jvp", "value_and_grad", "vjp",
           "jacobian", "choose_mode", "clear_caches", "Decision", "checkpoint", "loop", "custom_jvp", "custom_vjp"]
