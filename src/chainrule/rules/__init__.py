"""The derivative rules of NumPy functions, one module per family.

Importing this package registers every rule; each module declares its
functions with the helpers of :mod:`chainrule.rules._declare`.
"""

from . import elementwise, indexing, linalg, reductions, shape  # noqa: F401  (registration)
