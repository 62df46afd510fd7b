"""The public transforms, written once on flat lists, with one pytree/argnums adapter."""

from .derivatives import grad, hessian, hvp, jacfwd, jacrev, jvp, value_and_grad, vjp
from .jacobian import choose_mode, jacobian
from .mode import Decision

__all__ = ["grad", "hessian", "hvp", "jacfwd", "jacrev", "jvp", "value_and_grad", "vjp"]
__all__ += ["jacobian", "choose_mode", "Decision"]
from .checkpoint import checkpoint  # noqa: E402
from .custom import custom_jvp, custom_vjp  # noqa: E402
from .loop import loop  # noqa: E402
__all__ += ["checkpoint", "loop", "custom_jvp", "custom_vjp"]
