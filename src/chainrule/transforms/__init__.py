"""The public transforms, written once on flat lists, with one pytree/argnums adapter."""

from .derivatives import grad, hessian, hvp, jacfwd, jacrev, jvp, value_and_grad, vjp

__all__ = ["grad", "hessian", "hvp", "jacfwd", "jacrev", "jvp", "value_and_grad", "vjp"]
