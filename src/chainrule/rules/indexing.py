"""Indexing: ``x[index]`` and its adjoint, a scatter-add.

The index is canonicalised once, at the call: a tuple of ints, slices,
``None`` and integer arrays, with the ellipsis expanded and boolean masks
replaced by their ``nonzero()`` integer arrays.  Because the canonical index
names every axis of ``x`` explicitly, extra axes *after* them are left alone;
the rules therefore move batch axes to the back, index, and move them to the
front again.  That sidesteps NumPy's rule that separated advanced indices put
their axes first, which would otherwise displace a leading batch axis.

The adjoint of ``x[index]`` is ``index_add``: zeros of ``x``'s shape with the
adjoint added at ``index`` (repeated integer indices accumulate).  The two are
each other's transposes, so derivatives of any order follow.  When no
position repeats (basic indices, or a gather that the caller knows to be a
permutation or a diagonal: ``gather(..., unique=True)``) the scatter is a plain
assignment; else it is ``np.add.at``'s result computed with ``np.bincount``
(:mod:`chainrule.core.scatter`: ``np.add.at`` itself is slow, 5-30x here).
"""

import operator
import weakref

import numpy as np

from ..core import (FUNCTIONS, SETITEM, Primitive, Tracer, bind, index_sum, mark_view, plain_value, register_function,
                    vector_gather_sum)
from ..errors import TracerConversionError
from ._broadcast import batch_to_back, batch_to_front, ndim_of, shape_of
from ._declare import linear


_INDEX_COPIES = {}          # id(caller's index array) -> (weak reference to it, its read-only copy, its bytes)


def _unchanging(a):
    """The caller's integer index array ``a``, or a read-only copy of it if it may still change.

    The tape keeps the index of a gather for the backward sweep: a buffer of indices refilled after
    ``x[idx]`` must not change which elements that sweep scatters to.  One copy serves while the
    array keeps the same bits (``y[SRC]`` in every step of a loop)."""
    if not a.flags.writeable and not getattr(getattr(a.base, "flags", None), "writeable", False):
        return a
    bits = a.tobytes()
    seen = _INDEX_COPIES.get(id(a))
    if seen is not None and seen[0]() is a and seen[2] == bits:
        return seen[1]
    c = np.frombuffer(bits, dtype=a.dtype).reshape(a.shape)
    if a.nbytes <= 1 << 20:
        if len(_INDEX_COPIES) >= 64:
            _INDEX_COPIES.clear()
        _INDEX_COPIES[id(a)] = (weakref.ref(a), c, bits)
    return c


def canonical_index(index, shape):
    """A tuple that indexes the first ``len(shape)`` axes explicitly (see the module doc)."""
    kind = type(index)
    if (kind is slice or kind is int) and shape:                  # x[1:], x[::2], x[3]: the common cases
        return (index,) + (slice(None),) * (len(shape) - 1)
    if kind is np.ndarray and shape and index.dtype.kind in "iu":    # x[idx]: a gather along the first axis
        return (_unchanging(index),) + (slice(None),) * (len(shape) - 1)
    if not isinstance(index, tuple):
        index = (index,)
    items = []
    for k in index:
        if isinstance(k, Tracer) and k._staged:           # chainrule.jit: the index decides shapes,
            k = plain_value(k)                              # so the program checks it on every call
        if isinstance(k, Tracer):
            raise TracerConversionError(
                "indexing with a traced value: indices must be integers, slices or masks that do not "
                "depend on the differentiated inputs (a boolean mask such as x > 0 is fine).")
        if k is None or k is Ellipsis or isinstance(k, slice):
            items.append(k)
        elif isinstance(k, (int, np.integer)):
            items.append(int(k))
        else:
            a = np.asarray(k)
            if a.dtype == bool:
                if a.ndim == 0:
                    raise IndexError("a scalar boolean index is not supported under differentiation")
                items.extend(a.nonzero())
            elif a.dtype.kind in "iu":
                items.append(_unchanging(a) if a is k else a)
            else:
                raise IndexError(f"arrays used as indices must be of integer or boolean type, not {a.dtype}")
    used = sum(1 for k in items if k is not None and k is not Ellipsis)
    if used > len(shape):
        raise IndexError(f"too many indices for array: array is {len(shape)}-dimensional, "
                         f"but {used} were indexed")
    if Ellipsis in [k for k in items if not isinstance(k, np.ndarray)]:
        at = next(i for i, k in enumerate(items) if k is Ellipsis and not isinstance(k, np.ndarray))
        items[at:at + 1] = [slice(None)] * (len(shape) - used)
    else:
        items.extend([slice(None)] * (len(shape) - used))
    return tuple(items)


def _impl_getitem(x, *, index, unique):
    return x[index]


def _impl_index_add(g, *, index, shape, out_ndim, basic):
    """zeros(shape + trailing axes of g) with g added at ``index`` (``out_ndim``: ndim of x[index]).

    ``basic``: no position of ``index`` repeats, so a plain assignment suffices (else a scatter-add,
    :func:`chainrule.core.index_sum`: ``np.add.at``'s sums, computed with ``np.bincount``).
    """
    if not basic:
        return index_sum(g, index, shape, out_ndim, np.result_type(g))
    z = np.zeros(tuple(shape) + np.shape(g)[out_ndim:], dtype=np.result_type(g))
    z[index] = g
    return z


getitem_p = Primitive("getitem", _impl_getitem)
index_add_p = Primitive("index_add", _impl_index_add)


def _getitem_jvp(t, out, x, *, index, unique):
    b = ndim_of(t) - ndim_of(x)
    if type(t) is np.ndarray:                   # plain tangents: no level to bind through
        return batch_to_front(_impl_getitem(batch_to_back(t, b), index=index, unique=unique), b)
    return batch_to_front(bind(getitem_p, (batch_to_back(t, b),), {"index": index, "unique": unique}), b)


def _getitem_vjp(g, out, x, *, index, unique):
    b = ndim_of(g) - ndim_of(out)
    if type(g) is np.ndarray:                   # plain adjoints (the backward sweep's common case)
        if b == 1 and not unique and len(index) == 1 and ndim_of(x) == 1:      # jacrev through y[idx]
            c = vector_gather_sum(g, index[0], shape_of(x)[0])
            if c is not None:
                return c
        c = _impl_index_add(batch_to_back(g, b), index=index, shape=shape_of(x), out_ndim=ndim_of(out), basic=unique)
        return batch_to_front(c, b)
    params = {"index": index, "shape": shape_of(x), "out_ndim": ndim_of(out), "basic": unique}
    return batch_to_front(bind(index_add_p, (batch_to_back(g, b),), params), b)


def _index_add_jvp(t, out, g, *, index, shape, out_ndim, basic):
    b = ndim_of(t) - ndim_of(g)
    return batch_to_front(bind(index_add_p, (batch_to_back(t, b),),
                               {"index": index, "shape": shape, "out_ndim": out_ndim, "basic": basic}), b)


def _index_add_vjp(c, out, g, *, index, shape, out_ndim, basic):
    b = ndim_of(c) - ndim_of(out)
    return batch_to_front(bind(getitem_p, (batch_to_back(c, b),), {"index": index, "unique": basic}), b)


linear(getitem_p, _getitem_jvp, _getitem_vjp, complex_ok=True)          # linear: right for complex values
linear(index_add_p, _index_add_jvp, _index_add_vjp, complex_ok=True)


def _is_basic(index):
    for k in index:
        if type(k) is np.ndarray:
            return False
    return True


def gather(x, index, unique=False):
    """``x[index]``; ``unique`` promises that no position repeats (a permutation), so the adjoint assigns
    instead of accumulating with ``np.add.at``.  Basic indices (no arrays) never repeat."""
    index = canonical_index(index, shape_of(x))
    return bind(getitem_p, (x,), {"index": index, "unique": unique or _is_basic(index)})


def _getitem(x, key):
    if type(key) is np.ndarray and key.dtype.kind in "iu" and shape_of(x):
        # x[idx], a gather along the first axis (y[SRC] in a loop): the common case, never a view
        index = (_unchanging(key),) + (slice(None),) * (ndim_of(x) - 1)
        return bind(getitem_p, (x,), {"index": index, "unique": False})
    index = canonical_index(key, shape_of(x))
    basic = _is_basic(index)
    params = {"index": index, "unique": basic}
    out = bind(getitem_p, (x,), params)
    if basic and isinstance(out, Tracer) and ndim_of(out):      # NumPy returns a view: remember its base
        mark_view(out, x, lambda b: bind(getitem_p, (b,), params),
                  lambda b, v: b._write(FUNCTIONS[SETITEM](b, index, v), skip=v), key)
    return out


register_function(operator.getitem, _getitem)
