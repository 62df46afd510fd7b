"""The core: primitives and their registry, levels, the Tracer base and ``bind``.

Everything the engines and the rules share lives here; the engines
(:mod:`chainrule.forward`, :mod:`chainrule.reverse`) and the rule modules
never import each other and meet only through these objects.
"""

from .level import Level, active_levels, any_active
from .primitive import (EMPTY, FUNCTIONS, PRIMITIVES, UFUNCS, Meta, Primitive, meta, is_complex, primitive_of, quietly,
                        refuse_complex,
                        register_function)
from .scatter import add_at, index_sum, vector_gather_sum
from .tracer import (ASSEMBLE, SETITEM, SPARSE_MATMUL, UNSTACK, Tracer, array_operand, bind, call_plain,
                     canonical_operand, concrete_value, is_sparse_matrix, mark_view, plain_value, promote)

__all__ = ["Level", "active_levels", "any_active", "EMPTY", "FUNCTIONS", "PRIMITIVES", "UFUNCS", "Meta", "meta", "is_complex",
           "refuse_complex",
           "Primitive", "primitive_of", "register_function", "Tracer", "bind", "canonical_operand",
           "plain_value", "concrete_value", "call_plain", "array_operand", "quietly", "promote", "mark_view",
           "is_sparse_matrix", "add_at", "index_sum", "vector_gather_sum", "ASSEMBLE", "SETITEM", "SPARSE_MATMUL", "UNSTACK"]
