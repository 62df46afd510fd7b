"""Products and linear algebra: matmul (and dot on 1-D/2-D operands).

``matmul`` is bilinear: the JVP in one argument is the product with the
tangent in its place, and the VJP is the product with the other factor
transposed, summed over broadcast stack axes.  1-D operands are promoted to
matrices (a row for the left, a column for the right) and the promoted axis
is dropped again, exactly as NumPy does, so the rules treat one case.
"""

import numpy as np

from ..core import bind, primitive_of, register_function
from ..errors import NotDifferentiableError
from ._broadcast import insert_axes, ndim_of, shape_of, sum_to
from ._declare import rule

matmul_p = primitive_of(np.matmul)


def _promoted(shape_a, shape_b):
    """Matrix shapes of the two operands as NumPy promotes 1-D ones."""
    a2 = (1,) + shape_a if len(shape_a) == 1 else shape_a
    b2 = shape_b + (1,) if len(shape_b) == 1 else shape_b
    return a2, b2


def _out2(a2, b2):
    """The promoted output shape: broadcast stack + (n, q)."""
    return np.broadcast_shapes(a2[:-2], b2[:-2]) + (a2[-2], b2[-1])


def _mT(x):
    return np.swapaxes(x, -1, -2)


def _with_batch(t, b, shape, stack_ndim):
    """Reshape a batched value to ``shape`` (promoted) with 1s so its stack axes align with the output's."""
    t = np.reshape(t, shape_of(t)[:b] + shape)
    return insert_axes(t, b, stack_ndim - (len(shape) - 2))


def _jvp_a(t, out, a, b):
    sa, sb = shape_of(a), shape_of(b)
    a2, b2 = _promoted(sa, sb)
    o2 = _out2(a2, b2)
    nb = ndim_of(t) - len(sa)
    r = np.matmul(_with_batch(t, nb, a2, len(o2) - 2), np.reshape(b, b2))
    return np.reshape(r, shape_of(t)[:nb] + shape_of(out))


def _jvp_b(t, out, a, b):
    sa, sb = shape_of(a), shape_of(b)
    a2, b2 = _promoted(sa, sb)
    o2 = _out2(a2, b2)
    nb = ndim_of(t) - len(sb)
    r = np.matmul(np.reshape(a, a2), _with_batch(t, nb, b2, len(o2) - 2))
    return np.reshape(r, shape_of(t)[:nb] + shape_of(out))


def _vjp_a(g, out, a, b):
    sa, sb = shape_of(a), shape_of(b)
    a2, b2 = _promoted(sa, sb)
    nb = ndim_of(g) - ndim_of(out)
    g2 = np.reshape(g, shape_of(g)[:nb] + _out2(a2, b2))
    r = np.matmul(g2, _mT(np.reshape(b, b2)))
    return np.reshape(sum_to(r, nb, a2), shape_of(g)[:nb] + sa)


def _vjp_b(g, out, a, b):
    sa, sb = shape_of(a), shape_of(b)
    a2, b2 = _promoted(sa, sb)
    nb = ndim_of(g) - ndim_of(out)
    g2 = np.reshape(g, shape_of(g)[:nb] + _out2(a2, b2))
    r = np.matmul(_mT(np.reshape(a, a2)), g2)
    return np.reshape(sum_to(r, nb, b2), shape_of(g)[:nb] + sb)


rule(matmul_p, (_jvp_a, _jvp_b), (_vjp_a, _vjp_b), needs=(("y",), ("x",)))


def _dot(a, b, out=None):
    if out is not None:
        from ..errors import InPlaceError
        raise InPlaceError("numpy.dot(..., out=...) writes in place; use the returned value.")
    na, nb = ndim_of(a), ndim_of(b)
    if na == 0 or nb == 0:
        return np.multiply(a, b)
    if na <= 2 and nb <= 2:
        return np.matmul(a, b)
    raise NotDifferentiableError("numpy.dot", "of arrays with more than 2 dimensions; use np.tensordot "
                                 "or np.einsum, or np.matmul for stacks of matrices")


register_function(np.dot, _dot)
