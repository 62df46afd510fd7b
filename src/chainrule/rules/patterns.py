"""The sparsity rules of the linear, reducing and product primitives, in one table.

Elementwise functions get theirs from :func:`~chainrule.rules._declare.elementwise`;
the primitives below were declared with ``linear``/``rule``/``variadic`` and take
theirs here (see :mod:`chainrule.rules._pattern` for what a rule returns).
A primitive that is in neither place is dense in its arguments.
"""

from ._pattern import (elementwise_pattern, matmul_pattern, moving_pattern, moving_variadic_pattern,
                       reduction_pattern, same_pattern, scatter_pattern, update_pattern)
from .elementwise import where_p
from .indexing import getitem_p, index_add_p
from .linalg import matmul_p
from .reductions import max_p, min_p, prod_p, sum_p
from .shape import astype_p, broadcast_to_p, concatenate_p, reshape_p, transpose_p
from .assembly import pack_p
from .updates import index_update_p, zeros_like_p

for _prim in (reshape_p, transpose_p, broadcast_to_p, getitem_p):
    _prim.pattern = moving_pattern(_prim.impl)
concatenate_p.pattern = moving_variadic_pattern(concatenate_p.impl)
astype_p.pattern = same_pattern
index_add_p.pattern = scatter_pattern
for _prim in (sum_p, max_p, min_p, prod_p):
    _prim.pattern = reduction_pattern
matmul_p.pattern = matmul_pattern
# np.where(c, x, y): both branches, at every point (the condition is a constant; where is no control flow)
where_p.pattern = elementwise_pattern((False, True, True))
# np.array([a, b]) of traced values, and the writes y[i] = v into buffers made by np.zeros_like
pack_p.pattern = moving_variadic_pattern(pack_p.impl)
zeros_like_p.pattern = lambda out, x, **params: (None,)
index_update_p.pattern = update_pattern
