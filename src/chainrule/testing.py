"""Public helpers for testing derivatives, for users who write their own rules.

>>> import numpy as np
>>> from chainrule.testing import check_grads
>>> check_grads(np.tanh, (np.array([0.1, -0.4]),), order=2)
"""

from .tools.check import check_batching, check_grads

__all__ = ["check_grads", "check_batching"]
