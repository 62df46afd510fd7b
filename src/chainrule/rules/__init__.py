"""The derivative rules of NumPy functions, one module per family.

Importing this package registers every rule; each module declares its
functions with the helpers of :mod:`chainrule.rules._declare`.
"""

from . import assembly, elementwise, indexing, linalg, reductions, shape, updates  # noqa: F401  (registration)
from . import array_api, construction  # noqa: F401,E402  (compositions of the primitives above)
try:  # noqa: E402  SciPy's linear algebra, only when SciPy is installed
    from . import scipy_linalg  # noqa: F401
except ImportError:
    pass
from . import special  # noqa: E402,F401  (SciPy's special functions: registers nothing without SciPy)
from . import fft  # noqa: E402,F401  (np.fft)
from . import sparse_products  # noqa: E402,F401  (constant scipy.sparse matrices times traced arrays)
from . import statistics, signal  # noqa: E402,F401  (after the others: signal gives every binary ufunc .outer)
from . import numpy_python  # noqa: E402,F401  (NumPy's own Python functions, run on traced values)
from . import patterns  # noqa: E402,F401  (sparsity rules of the primitives declared above)

from ..core import PRIMITIVES as _ALL

BUILTIN = tuple(p for p in _ALL if p.declared)
"""The primitives chainrule itself declares (user extensions come later and are not in it)."""
