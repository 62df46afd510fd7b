"""Sparsity rules: which input elements each output element of a primitive depends on.

A sparsity rule is ``pattern(out, *args, **params)`` on plain values and
returns one entry per argument (the format is described on
:class:`chainrule.core.Primitive`): ``None``, ``True`` (element to element),
a gather map (the flat index of the one input element each output element
reads, ``-1`` for none) or a pair ``(out_index, in_index)`` of flat indices.
The rules are structural: they look at shapes and static parameters, never
at values, so a pattern holds at every point.

Most rules need no hand-written index arithmetic.  An elementwise function
reads the broadcast element of each argument that has a partial derivative;
a function that only moves elements (``reshape``, ``transpose``, indexing,
``concatenate``) is run on an array of element numbers, which gives the
gather map directly.  The sparsity level (:mod:`chainrule.sparse.level`)
treats a primitive without a rule as dense in its arguments.
"""

import numpy as np

__all__ = ["elementwise_pattern", "moving_pattern", "moving_variadic_pattern", "reduction_pattern",
           "matmul_pattern", "scatter_pattern", "same_pattern", "update_pattern"]


def _size(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def _numbers(shape, start=0):
    """Flat element numbers of an array of ``shape`` (int64)."""
    return np.arange(start, start + _size(shape), dtype=np.int64).reshape(shape)


def broadcast_index(shape, out_shape):
    """The flat index into an array of ``shape`` of each element of its broadcast to ``out_shape``."""
    return np.broadcast_to(_numbers(shape), out_shape).ravel()


def elementwise_pattern(active):
    """The rule of an elementwise function whose argument ``i`` matters when ``active[i]``."""
    active = tuple(bool(a) for a in active)

    def pattern(out, *args, **params):
        shape = np.shape(out)
        res = []
        for a, on in zip(args, active):
            s = np.shape(a)
            res.append(None if not on else True if s == shape else broadcast_index(s, shape))
        return tuple(res)
    return pattern


def same_pattern(out, x, **params):
    """The rule of a function that keeps every element where it is (``astype``)."""
    return (True,)


def moving_pattern(impl):
    """The rule of a linear function that only moves elements: ``impl`` run on element numbers.

    Element numbers start at 1 so that a 0 the function inserts reads as "no element".  The rule
    is marked ``moving`` (every output element is one argument element or none).
    """
    def pattern(out, x, **params):
        moved = np.asarray(impl(_numbers(np.shape(x), 1), **params))
        return (moved.ravel().astype(np.int64) - 1,)
    pattern.moving = True
    return pattern


def moving_variadic_pattern(impl):
    """:func:`moving_pattern` for a variadic function (``concatenate``): one gather map per argument."""
    def pattern(out, *xs, **params):
        sizes = [_size(np.shape(x)) for x in xs]
        starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        moved = np.asarray(impl(*[_numbers(np.shape(x), 1 + s) for x, s in zip(xs, starts)], **params))
        g = moved.ravel().astype(np.int64) - 1
        return tuple(np.where((g >= a) & (g < b), g - a, -1) for a, b in zip(starts[:-1], starts[1:]))
    pattern.moving = True
    return pattern


def reduction_pattern(out, x, *, axis, keepdims=False, **params):
    """A reduction over ``axis``: each output element depends on every element of its slice."""
    s = np.shape(x)
    kept = tuple(1 if i in axis else d for i, d in enumerate(s))
    return ((broadcast_index(kept, s), np.arange(_size(s), dtype=np.int64)),)


def scatter_pattern(out, g, *, index, shape, out_ndim, **params):
    """``index_add``: element ``k`` of ``g`` lands on the output element ``index`` sends it to."""
    full = tuple(shape) + tuple(np.shape(g)[out_ndim:])
    dst = _numbers(full)[index]
    return ((dst.ravel(), np.arange(dst.size, dtype=np.int64)),)


def matmul_pattern(out, x, y):
    """``x @ y``: ``out[..., i, k]`` depends on row ``i`` of ``x`` and column ``k`` of ``y``."""
    xi, yi = _numbers(np.shape(x)), _numbers(np.shape(y))
    if xi.ndim == 1:
        xi = xi[None, :]
    if yi.ndim == 1:
        yi = yi[:, None]
    (rows, inner), cols = xi.shape[-2:], yi.shape[-1]
    batch = np.broadcast_shapes(xi.shape[:-2], yi.shape[:-2])
    full = batch + (rows, cols, inner)
    dst = np.broadcast_to(_numbers(batch + (rows, cols))[..., None], full).ravel()
    src_x = np.broadcast_to(np.broadcast_to(xi, batch + (rows, inner))[..., :, None, :], full).ravel()
    src_y = np.broadcast_to(np.swapaxes(np.broadcast_to(yi, batch + (inner, cols)), -1, -2)[..., None, :, :],
                            full).ravel()
    return (dst, src_x), (dst, src_y)


def update_pattern(out, x, v, *, index, **params):
    """``x`` with ``v`` written at ``index``: a written element reads the element of ``v`` NumPy's own
    assignment leaves there (the last, where an index repeats), every other one its element of ``x``."""
    shape = np.shape(x)
    from_x = _numbers(shape).copy()
    from_x[index] = -1
    from_v = np.full(shape, -1, dtype=np.int64)
    from_v[index] = _numbers(np.shape(v))
    return from_x.ravel(), from_v.ravel()


# Rules that only move elements (each output element is one element of one argument, or none) say so:
# a reverse Jacobian's rows follow them to where their elements were computed (transforms.fanout)
same_pattern.moving = update_pattern.moving = True
