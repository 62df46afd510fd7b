"""Writes into traced arrays: ``x[i] = v``, ``y[1:] += x``, ``np.add.at``, buffers from ``np.zeros_like``.

NumPy code fills arrays in place::

    dydt = np.zeros_like(y)
    dydt[0] = y[1]
    dydt[1:] += -k * y[:-1]

A write is the functional update ``index_update(x, v)`` -- ``x`` with ``v``
written at ``index``, NumPy's own result -- which the written tracer then
*becomes* (:meth:`chainrule.core.Tracer._write`), so every name of the array
sees the new value as in NumPy.  ``index_update`` is linear in ``(x, v)``:
the adjoint of ``x`` is the adjoint with the written positions zeroed, that
of ``v`` the adjoint read at ``index`` and summed over broadcasting.  Where an
integer index repeats a position, NumPy keeps the *last* value written
there; the rule reads the same winners off NumPy, so repeated indices are
exact too.

Views follow NumPy: a tracer made by basic indexing (``x[1:]``, ``A[i]``) or
by a function that returns a view (``reshape``, ``transpose``, ``ravel``, ...
whenever NumPy's own result shares memory) remembers its base; writing into
it writes into the base, and writing into a base refreshes its live views.
``diagonal`` and ``broadcast_to`` give read-only views, as in NumPy.

A traced value written into a plain array (``y = np.zeros(n); y[0] = x``)
cannot be seen by chainrule -- NumPy converts it with ``float()`` -- and
raises :class:`~chainrule.TracerConversionError` naming that pattern and the
fix, ``np.zeros_like(x)``.
"""

import numpy as np

from ..core import FUNCTIONS, SETITEM, Primitive, Tracer, bind, canonical_operand, concrete_value, mark_view, \
    plain_value, register_function
from ..errors import InPlaceError, NotDifferentiableError
from ._broadcast import batch_to_back, batch_to_front, dtype_of, ndim_of, shape_of, sum_to, zero_as_none
from ._declare import linear, rule
from .indexing import canonical_index, index_add_p

__all__ = ["index_update", "index_update_p", "zeros_like_p"]


# -- index_update: x with v written at index ---------------------------------------------------


def _impl_update(x, v, *, index, winners):
    out = np.array(x, copy=True)
    out[index] = v
    return out


index_update_p = Primitive("index_update", _impl_update, arity=2)


def _zero(like):
    return np.zeros((), dtype=dtype_of(like))[()]


def _zero_written(t, out, x, v, *, index, winners):
    """The tangent (or adjoint) of x with the written positions zeroed: its JVP and its VJP alike."""
    b = ndim_of(t) - ndim_of(x)
    params = {"index": index, "winners": winners}
    return batch_to_front(bind(index_update_p, (batch_to_back(t, b), _zero(t)), params), b)


def _update_jvp_v(t, out, x, v, *, index, winners):
    b = ndim_of(t) - ndim_of(v)
    batch = shape_of(t)[:b]
    zeros = np.zeros(shape_of(x) + batch, dtype=dtype_of(out))
    params = {"index": index, "winners": winners}
    return batch_to_front(bind(index_update_p, (zeros, batch_to_back(t, b)), params), b)


def _update_jvp_all(tangents, vals, params):
    tx, tv = tangents
    out, x, v = vals
    b = ndim_of(tx) - ndim_of(x)
    bv = ndim_of(tv) - ndim_of(v)
    return batch_to_front(bind(index_update_p, (batch_to_back(tx, b), batch_to_back(tv, bv)), params), b)


def _update_vjp_v(g, out, x, v, *, index, winners):
    b = ndim_of(g) - ndim_of(out)
    picked = batch_to_back(g, b)[index]                          # index's shape + batch
    if winners is not None:                                      # repeated positions: the last write counts
        picked = picked * winners.reshape(winners.shape + (1,) * b)
    picked = batch_to_front(picked, b)
    vs = shape_of(v)
    ps = shape_of(picked)[b:]
    if len(vs) > len(ps):                                        # v had extra leading axes of length 1
        picked = np.reshape(picked, shape_of(picked)[:b] + (1,) * (len(vs) - len(ps)) + ps)
    c = sum_to(picked, b, vs)
    if dtype_of(c) != dtype_of(v) and dtype_of(v).kind == "f":
        # a real v written into a complex x: under the bilinear pairing the transpose of that
        # inclusion is the real part (not a cast that drops the imaginary part with a warning)
        c = (np.real(c) if dtype_of(c).kind == "c" else c).astype(dtype_of(v))
    return zero_as_none(c)      # no row reads this write: the sweep skips what only v leads back to


# linear in (x, v), so right for complex values; a complex v into a real x is refused by the frontend
rule(index_update_p, (_zero_written, _update_jvp_v), (_zero_written, _update_vjp_v), needs=((), ()),
     complex_ok=True)
index_update_p.set_joint(_update_jvp_all)


def _winners(index, shape):
    """Which entries of ``x[index]`` NumPy's assignment keeps (``None``: all; no position repeats)."""
    for k in index:
        if type(k) is np.ndarray:
            break
    else:
        return None
    probe = np.full(shape, -1, dtype=np.intp)
    order = np.arange(probe[index].size).reshape(probe[index].shape)
    probe[index] = order
    keep = probe[index] == order
    return None if keep.all() else keep


def index_update(x, key, value):
    """``x`` with ``value`` written at ``key`` (NumPy's ``x[key] = value``), as a new value."""
    shape = shape_of(x)
    index = canonical_index(key, shape)
    value = canonical_operand(value)
    if dtype_of(value).kind == "c" and dtype_of(x).kind != "c":
        raise TypeError("a complex value written into a real array would lose its imaginary part; "
                        "chainrule refuses (NumPy only warns)")
    return bind(index_update_p, (x, value), {"index": index, "winners": _winners(index, shape)})


register_function(SETITEM, index_update)


# -- views: NumPy's write-through semantics -------------------------------------------------------


def _shares_memory(out, x):
    return np.may_share_memory(concrete_value(out), concrete_value(x))


def _viewing(fn, inverse):
    """Wrap the frontend ``fn`` of a function that returns a view in NumPy (when it can)."""
    def frontend(a, *args, **kwargs):
        out = fn(a, *args, **kwargs)
        if isinstance(a, Tracer) and isinstance(out, Tracer) and (inverse is None or _shares_memory(out, a)):
            write = None if inverse is None else (lambda b, v: b._write(inverse(v, b, *args, **kwargs), skip=v))
            mark_view(out, a, lambda b: fn(b, *args, **kwargs), write)
        return out
    frontend.__wrapped__ = fn
    return frontend


def _reshape_back(v, b, *args, **kwargs):
    return np.reshape(v, shape_of(b))


def _transpose_back(v, b, axes=None):
    if axes is None:
        return np.transpose(v)
    return np.transpose(v, tuple(np.argsort([a % ndim_of(b) for a in axes])))


def _swap_back(v, b, axis1, axis2):
    return np.swapaxes(v, axis1, axis2)


def _move_back(v, b, source, destination):
    return np.moveaxis(v, destination, source)


for _fn, _inverse in [(np.reshape, _reshape_back), (np.ravel, _reshape_back), (np.squeeze, _reshape_back),
                      (np.expand_dims, _reshape_back), (np.atleast_1d, _reshape_back),
                      (np.atleast_2d, _reshape_back), (np.transpose, _transpose_back),
                      (np.swapaxes, _swap_back), (np.moveaxis, _move_back),
                      (np.diagonal, None), (np.broadcast_to, None)]:
    if _fn in FUNCTIONS:
        register_function(_fn, _viewing(FUNCTIONS[_fn], _inverse))


# -- buffers: zeros_like and friends return something to write into ----------------------------------


def _impl_zeros_like(x, *, dtype, shape):
    return np.zeros(shape, dtype=dtype)


zeros_like_p = Primitive("zeros_like", _impl_zeros_like)


def _zeros_jvp(t, out, x, *, dtype, shape):
    return np.zeros(shape_of(t)[: ndim_of(t) - ndim_of(x)] + tuple(shape), dtype=dtype)


def _zeros_vjp(g, out, x, *, dtype, shape):
    return np.zeros(shape_of(g)[: ndim_of(g) - ndim_of(out)] + shape_of(x), dtype=dtype_of(x))


linear(zeros_like_p, _zeros_jvp, _zeros_vjp, complex_ok=True)


def _buffer(a, dtype, shape):
    """Zeros at ``a``'s level (a traced array that writes can go into) or plain zeros for non-floats."""
    dtype = dtype_of(a) if dtype is None else np.dtype(dtype)
    shape = shape_of(a) if shape is None else ((int(shape),) if np.ndim(shape) == 0 else tuple(shape))
    if not isinstance(a, Tracer) or dtype.kind not in "fc":
        return np.zeros(shape, dtype=dtype)
    return bind(zeros_like_p, (a,), {"dtype": dtype, "shape": shape})


def _zeros_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None):
    return _buffer(a, dtype, shape)


def _ones_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None):
    z = _buffer(a, dtype, shape)
    return z + 1 if isinstance(z, Tracer) else np.ones_like(z)


def _full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, *, device=None):
    z = _buffer(a, dtype, shape)
    if not isinstance(z, Tracer):
        if isinstance(fill_value, Tracer):
            raise InPlaceError("np.full_like with a traced fill value and a non-float dtype would drop "
                               "its derivative; use a float dtype")
        return np.full_like(z, fill_value)
    z[...] = fill_value
    return z


register_function(np.zeros_like, _zeros_like)
register_function(np.empty_like, _zeros_like)          # zeros: never uninitialised memory under a trace
register_function(np.ones_like, _ones_like)
register_function(np.full_like, _full_like)


# -- the other in-place writers: ufunc.at, copyto, put_along_axis, fill_diagonal, put -----------------


def _plain_target(name, fix="np.zeros_like(x)"):
    return InPlaceError(
        f"{name} writes traced values into a plain NumPy array, which chainrule cannot see. Make the "
        f"array from a traced value ({fix}) so that the write is differentiated, or build the result "
        "with np.where / np.stack.")


def _target(name, a):
    if not isinstance(a, Tracer):
        raise _plain_target(name)
    return a


def _ufunc_at(ufunc):
    name = f"numpy.{ufunc.__name__}.at"

    def at(a, indices, b=None):
        a = _target(name, a)
        if b is None:
            raise NotDifferentiableError(name, "unary ufunc.at is not supported; write a[i] = f(a[i])")
        index = canonical_index(indices, shape_of(a))
        picked_shape = np.empty(shape_of(a), dtype=np.bool_)[index].shape
        if ufunc in (np.add, np.subtract):                       # repeated positions accumulate
            b = canonical_operand(b)
            b = np.broadcast_to(b, picked_shape) if shape_of(b) != picked_shape else b
            if ufunc is np.subtract:
                b = -b
            delta = bind(index_add_p, (b,), {"index": index, "shape": shape_of(a),
                                             "out_ndim": len(picked_shape), "basic": False})
            new = a + delta
            a._write(new.astype(dtype_of(a)) if dtype_of(new) != dtype_of(a) else new)
            return None
        if _winners(index, shape_of(a)) is not None:
            raise NotDifferentiableError(name, "with repeated indices (only add.at and subtract.at "
                                               "accumulate them here); make the indices unique")
        a[index] = ufunc(a[index], b)
        return None
    return at


for _u in (np.add, np.subtract, np.multiply, np.divide, np.maximum, np.minimum, np.power):
    register_function((_u, "at"), _ufunc_at(_u))


def _copyto(dst, src, casting="same_kind", where=True):
    dst = _target("np.copyto", dst)
    src = canonical_operand(src)
    if where is True:
        dst[...] = src
    else:
        dst._write(np.where(where, src, dst))


def _put_along_axis(arr, indices, values, axis):
    from .shape import _along_axis_index
    arr = _target("np.put_along_axis", arr)
    indices = np.asarray(indices)
    if axis is None:
        flat = np.ravel(arr)
        flat[indices] = values
        return None
    axis = axis % ndim_of(arr)
    arr[_along_axis_index(indices, shape_of(arr), axis)] = values
    return None


def _flat_positions_write(arr, positions, values):
    """``arr.flat[positions] = values``, values repeated cyclically as NumPy's ``put`` does."""
    flat = +np.ravel(arr)                                       # a copy: not a view of arr
    vals = canonical_operand(values)
    size = int(np.size(concrete_value(vals)))
    if ndim_of(vals) and size != len(positions):
        vals = np.take(np.ravel(vals), np.arange(len(positions)) % max(size, 1))
    elif ndim_of(vals):
        vals = np.ravel(vals)
    flat[positions] = vals
    arr._write(np.reshape(flat, shape_of(arr)))


def _fill_diagonal(a, val, wrap=False):
    a = _target("np.fill_diagonal", a)
    shape = shape_of(a)
    if len(shape) < 2:
        raise ValueError("array must be at least 2-d")
    if len(shape) == 2:
        step = shape[1] + 1
        end = shape[1] * shape[1] if not wrap else shape[0] * shape[1]
    else:
        if len(set(shape)) != 1:
            raise ValueError("All dimensions of input must be of equal length")
        step = 1 + int(np.cumprod(shape[:-1]).sum())
        end = None
    positions = np.arange(0, int(np.prod(shape)) if end is None else min(end, int(np.prod(shape))), step)
    _flat_positions_write(a, positions, val)


def _put(a, ind, v, mode="raise"):
    a = _target("np.put", a)
    ind = np.asarray(ind).ravel()
    n = a.size
    if mode == "wrap":
        ind = ind % n
    elif mode == "clip":
        ind = np.clip(ind, 0, n - 1)
    elif ((ind < -n) | (ind >= n)).any():
        raise IndexError(f"index out of range for array of size {n}")
    _flat_positions_write(a, ind % n, v)


register_function(np.copyto, _copyto)
register_function(np.put_along_axis, _put_along_axis)
register_function(np.fill_diagonal, _fill_diagonal)
register_function(np.put, _put)


def _masked(name, a, mask, values):
    """``(target, flat positions where mask is set, values raveled, their size)`` for putmask/place."""
    a = _target(f"np.{name}", a)
    mask = np.asarray(plain_value(mask), dtype=bool)
    if mask.size != int(np.prod(shape_of(a))):
        raise ValueError(f"{name}: mask and data must be the same size")
    vals = np.ravel(canonical_operand(values))
    return a, np.flatnonzero(mask), vals, int(np.size(concrete_value(vals)))


def _putmask(a, mask, values):
    a, positions, vals, size = _masked("putmask", a, mask, values)
    if positions.size == 0:
        return None
    if size == 0:
        raise ValueError("putmask: values must not be empty where mask is set")
    # NumPy's putmask cycles values by flat position in a: a.flat[n] = values[n % len(values)]
    _flat_positions_write(a, positions, np.take(vals, positions % size) if size > 1 else vals)
    return None


def _place(arr, mask, vals):
    arr, positions, vals, size = _masked("place", arr, mask, vals)
    if positions.size == 0:
        return None
    if size == 0:
        raise ValueError("Cannot insert from an empty array!")
    # the k-th position set in mask takes vals[k % len(vals)]: the cycling of _flat_positions_write
    _flat_positions_write(arr, positions, vals)
    return None


_putmask.convention = "a.flat[n] = values[n % len(values)] where mask: linear in a and values"
_place.convention = "the k-th masked position takes vals[k % len(vals)]: linear in arr and vals"
register_function(np.putmask, _putmask)
register_function(np.place, _place)
