"""Products with constant ``scipy.sparse`` matrices: ``A @ x``, ``A.dot(x)`` and ``x @ A``.

SciPy's own product would turn a traced ``x`` into a plain array; instead
the tracer's ``@`` (and SciPy's dispatch, which gives up on a tracer: see
:mod:`chainrule.core.tracer`) comes here.  One primitive does the work,
``A @ x`` with the constant matrix as a static parameter and ``x`` of shape
``(n,)`` or ``(n, p)``.  It is linear in ``x``: the JVP is ``A @ x_dot`` and
the VJP ``A^T @ g`` -- bilinear, so no conjugate for complex values -- both
the primitive itself, applied to the batch of directions folded into
columns, so they are differentiable again (Hessians through it need no more
rules).  ``x @ A`` is ``(A^T @ x^T)^T``.  The sparsity rule reads ``A``'s
structure: ``out[i, c]`` depends on ``x[j, c]`` for every stored ``A[i, j]``
(an explicitly stored zero included: patterns are structural).

SciPy is never imported here: a sparse matrix can only arrive from the
user's code, which imported it.
"""

import numpy as np

from ..core import SPARSE_MATMUL, Primitive, array_operand, bind, is_sparse_matrix, register_function
from ._broadcast import batch_to_back, batch_to_front, ndim_of, shape_of
from ._declare import linear, real_for

__all__ = ["sparse_matmul_p", "sparse_matmul"]


def _impl(x, *, matrix):
    return np.asarray(matrix @ x)


sparse_matmul_p = Primitive("scipy.sparse.matmul", _impl)


def _on_columns(t, x, matrix):
    """``matrix @`` each direction of ``t`` (batch axes first, then ``x``'s shape), in one product."""
    b = ndim_of(t) - ndim_of(x)
    if b == 0:
        return bind(sparse_matmul_p, (t,), {"matrix": matrix})
    batch = shape_of(t)[:b]
    cols = batch_to_back(t, b)                              # (n, [p,] *batch)
    body = shape_of(cols)[:ndim_of(x)]
    r = bind(sparse_matmul_p, (np.reshape(cols, (body[0], -1)),), {"matrix": matrix})
    return batch_to_front(np.reshape(r, (matrix.shape[0],) + body[1:] + batch), b)


def _jvp(t, out, x, *, matrix):
    return _on_columns(t, x, matrix)


def _vjp(g, out, x, *, matrix):
    return real_for(_on_columns(g, out, matrix.T), x)


def _pattern(out, x, *, matrix):
    coo = matrix.tocoo()
    rows, cols = coo.row.astype(np.int64), coo.col.astype(np.int64)
    p = shape_of(x)[1] if ndim_of(x) == 2 else 1
    k = np.arange(p, dtype=np.int64)
    return (((rows[:, None] * p + k).ravel(), (cols[:, None] * p + k).ravel()),)


linear(sparse_matmul_p, _jvp, _vjp, pattern=_pattern, complex_ok=True)


def _as_2d(a, column):
    """A sparse matrix as CSR; a 1-d sparse array as a row (``column``: a column) of one."""
    if a.ndim == 1:
        a = a.reshape((-1, 1) if column else (1, -1))
    return a.tocsr()


def sparse_matmul(a, b):
    """``a @ b`` where one of the two is a constant scipy.sparse matrix (or array) and the other traced.

    The traced operand may be 1-d or 2-d, as SciPy's own products take it;
    the result is a dense (traced) array of SciPy's shape.
    """
    left = is_sparse_matrix(a)
    matrix, x = (a, b) if left else (b, a)
    x = array_operand(x)
    nd, one_d = ndim_of(x), matrix.ndim == 1
    if nd not in (1, 2):
        raise ValueError(f"a product of a scipy.sparse matrix with a {nd}-d traced array: SciPy takes 1-d "
                         "and 2-d operands only")
    m = _as_2d(matrix, column=not left)
    inner = m.shape[1] if left else m.shape[0]
    k = shape_of(x)[0] if left else shape_of(x)[-1]
    if k != inner:
        shapes = (matrix.shape, shape_of(x)) if left else (shape_of(x), matrix.shape)
        raise ValueError(f"matmul: dimension mismatch, {shapes[0]} @ {shapes[1]}")
    if left:
        out = bind(sparse_matmul_p, (x,), {"matrix": m})
        return out[0] if one_d else out
    out = np.transpose(bind(sparse_matmul_p, (np.transpose(x),), {"matrix": m.T}))
    return out[..., 0] if one_d else out


register_function(SPARSE_MATMUL, sparse_matmul)
