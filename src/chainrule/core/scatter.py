"""Scatter-add: ``np.add.at(z, index, g)``, computed with ``np.bincount``.

The adjoint of a gather ``x[index]`` with repeated positions adds the adjoint
of every picked element into its source position.  NumPy's own ``np.add.at``
does that one element at a time: with a batched adjoint (``jacrev`` pulls k
rows at once) it costs ~3 us per 1000 elements with NumPy 2 and ~15 us with
NumPy 1.24, and it dominated reverse-mode Jacobians of code that gathers
(``y[SRC]`` in a reaction network: 60% of the whole ``jacrev``).

Here the index is first turned into the flat position of each picked element
(the gather applied to ``arange``, which also resolves negative indices,
slices, ``None`` and broadcasting of several index arrays exactly as NumPy
does), and the sums per position come from ``np.bincount`` with the adjoint as
weights, all trailing (batch) elements in one call.  Only the summation order
differs from ``np.add.at`` (sums of float32 and float16 values are even taken
in float64, then rounded once); duplicates are summed, NaN and infinity stay at
their position.  When few positions of a large array are touched, the sums are
taken over the distinct positions only (``np.unique``), so the cost follows
the index, not the array.  Anything else (integer or ``longdouble`` values, an
index that is not the canonical tuple of the rules) goes to ``np.add.at``.
A batch of adjoints of ``x[idx]`` on a vector (``jacrev`` through a gather
with an index nobody can change, such as the read-only copy the gather rule
keeps) is summed by a product with a cached one-hot selection matrix instead,
when that matrix is small: 2.5-3.5x faster than bincount at 4-100 rows, and
left to bincount whenever the adjoints are not finite everywhere.
The core holds this because both the rules (the ``index_add`` primitive) and
the staged programs of :mod:`chainrule.jit` (which add into existing buffers) use it.
"""

from math import isfinite

import numpy as np

__all__ = ["add_at", "index_sum", "vector_gather_sum"]

# more distinct positions than this many times the picked elements: sum over the distinct ones only
_SPARSE_RATIO = 8


def _fast_kind(dtype):
    return (dtype.kind == "f" and dtype.itemsize <= 8) or (dtype.kind == "c" and dtype.itemsize <= 16)


def _positions(index, shape):
    """The flat position in ``shape`` (C order) of each element of ``x[index]`` for an ``x`` of that shape,
    or None when ``index`` is not a tuple of ints, slices, None and integer arrays naming those axes."""
    if type(index) is not tuple:
        return None
    lead = 0
    for k in index:
        if k is None:
            continue
        t = type(k)
        if t is not slice and t is not int and not (t is np.ndarray and k.dtype.kind in "iu"):
            return None
        lead += 1
    if lead != len(shape):
        return None
    size = 1
    for d in shape:
        size *= d
    return np.arange(size).reshape(shape)[index]


def _bincount(flat, w, bins):
    """Sums of ``w`` per bin, in w's dtype (a complex ``w``: its real and imaginary parts apart)."""
    if w.dtype.kind == "c":
        out = np.empty(bins, dtype=w.dtype)
        out.real = np.bincount(flat, w.real, minlength=bins)
        out.imag = np.bincount(flat, w.imag, minlength=bins)
        return out
    s = np.bincount(flat, w, minlength=bins)
    return s if s.dtype == w.dtype else s.astype(w.dtype)


def _flat_index(pos, trail, order):
    """``pos * T + t`` for every element of an array of shape ``pos.shape + trail`` (T its trailing size),
    laid out in memory ``order`` so that ``ravel(order)`` is a view that matches the weights'."""
    t = 1
    for d in trail:
        t *= d
    flat = np.empty(pos.shape + trail, dtype=np.intp, order=order)
    np.add(pos.reshape(pos.shape + (1,) * len(trail)) * t, np.arange(t).reshape(trail), out=flat)
    return flat.ravel(order)


def _dense(pos, g, trail, bins):
    """Sums of ``g`` (shape ``pos.shape + trail``) at each of ``bins`` positions: shape (bins * T,)."""
    order = "F" if g.flags.f_contiguous and not g.flags.c_contiguous else "C"   # ravel: a view either way
    t = 1
    for d in trail:
        t *= d
    return _bincount(_flat_index(pos, trail, order), g.ravel(order), bins * t)


def _plan(z_shape, z_dtype, index, g):
    """(positions, number of positions, trailing shape, g broadcast) when the fast path applies, else None."""
    if (type(g) is not np.ndarray or not _fast_kind(z_dtype) or not _fast_kind(g.dtype)
            or (z_dtype.kind == "f" and g.dtype.kind == "c") or type(index) is not tuple):
        return None
    lead = sum(1 for k in index if k is not None)
    pos = _positions(index, z_shape[:lead])
    if pos is None:
        return None
    trail = tuple(z_shape[lead:])
    if g.shape != pos.shape + trail:
        g = np.broadcast_to(g, pos.shape + trail)
    size = 1
    for d in z_shape[:lead]:
        size *= d
    return pos, size, trail, g


def add_at(z, index, g):
    """``np.add.at(z, index, g)``: ``g`` added into ``z`` at ``index`` in place, repeated positions summed.

    >>> z = np.zeros(3)
    >>> add_at(z, (np.array([0, 2, 0, -1]),), np.array([1.0, 2.0, 3.0, 4.0]))
    >>> z
    array([4., 0., 6.])
    """
    plan = _plan(z.shape, z.dtype, index, g) if type(z) is np.ndarray and z.flags.c_contiguous else None
    if plan is None:
        np.add.at(z, index, g)
        return
    pos, size, trail, g = plan
    if z.size == 0 or g.size == 0:
        return
    flat_z = z.reshape(size, z.size // size)            # a view: z is C-contiguous
    if size <= _SPARSE_RATIO * pos.size:
        flat_z += _dense(pos, g, trail, size).reshape(flat_z.shape)
        return
    rows, inverse = np.unique(pos.ravel(), return_inverse=True)
    flat_z[rows] += _dense(inverse.reshape(pos.shape), g, trail, rows.size).reshape(rows.size, -1)


# a one-hot selection matrix (targets x picks) with at most this many entries replaces bincount
_ONEHOT_ENTRIES = 1 << 16
_onehots = {}                       # id(index array) -> (the array, target length, its selection matrix, its bytes)
_ONEHOTS_KEPT = 64
# up to this many adjoint entries their finiteness is tested before the product (no errstate needed);
# past it, the smaller product is tested after, with floating-point flags ignored while it is computed
_PRECHECKED = 4096


def _immutable(k):
    """Whether nobody can change ``k``'s values: read-only, and so is what it views."""
    if k.flags.writeable:
        return False
    base = k.base
    return base is None or type(base) is bytes or not getattr(getattr(base, "flags", None), "writeable", True)


def _frozen(k):
    """Whether ``k``'s memory is a ``bytes`` object behind read-only arrays (the copies the gather rule
    keeps): then not even its owner can make it writable again, and its bytes never need a look."""
    while not k.flags.writeable:
        base = k.base
        if type(base) is bytes:
            return True
        if type(base) is not np.ndarray:
            return False
        k = base
    return False


def _onehot_sum(g, k, n):
    """``S @ g`` with ``S[k[j] mod n, j] = 1``: the sums of the rows of ``g`` (picks x batch, float64)
    at the positions ``k`` picked from a length-``n`` vector, or None where that is not exact.

    A matrix product touches every entry of ``S``: ``0 * inf`` would spread nan to other positions,
    so a ``g`` that is not finite everywhere is left to the caller's bincount.  A small ``g`` is tested
    before the product by one BLAS pass, ``<g, g>``, finite iff every entry is (bar overflow, which only
    sends it to bincount too); a finite ``g`` of entries below 1e154 gives a finite product, so no
    floating-point flag is raised.  A large one is tested after, on the smaller product (not finite
    iff ``g`` is not, bar overflow), with the flags ignored while it is computed.  ``S`` is kept for index arrays nobody can change (the read-only copies the gather rule
    keeps), so a loop pays for it once; for one whose owner could still make it writable and refill
    it, only while its bytes are unchanged.
    """
    if not _immutable(k):
        return None
    if g.size <= _PRECHECKED:
        v = g.T if g.flags.f_contiguous else g      # C-contiguous for vdot where a view allows it
        if not isfinite(np.vdot(v, v)):
            return None
    hit = _onehots.get(id(k))
    if hit is None or hit[0] is not k or hit[1] != n or (hit[3] is not None and hit[3] != k.tobytes()):
        S = np.zeros((n, k.size))
        S[np.arange(n)[k], np.arange(k.size)] = 1.0
        S.flags.writeable = False
        if len(_onehots) >= _ONEHOTS_KEPT:
            _onehots.clear()
        _onehots[id(k)] = hit = (k, n, S, None if _frozen(k) else k.tobytes())
    if g.size <= _PRECHECKED:
        return hit[2] @ g
    with np.errstate(all="ignore"):                 # inf * 0 in other rows: discarded below
        out = hit[2] @ g
    return out if isfinite(np.vdot(out, out)) else None


def vector_gather_sum(g, k, n):
    """The adjoints of a vector of length ``n`` from those of its gather ``x[k]``, batch first: ``g`` of shape
    ``(B, k.size)``, float64, gives ``(B, n)`` (a transposed view), or None where no cached one-hot product applies
    (the caller then takes :func:`index_sum`, which would come to the same product by a longer way).

    >>> k = np.array([0, 2, 0]); k.flags.writeable = False
    >>> vector_gather_sum(np.array([[1.0, 2.0, 3.0]]), k, 3)
    array([[4., 0., 2.]])
    """
    if (type(k) is not np.ndarray or k.ndim != 1 or k.dtype.kind not in "iu" or g.ndim != 2
            or g.dtype != np.float64 or g.shape[1] != k.size or not 0 < n * k.size <= _ONEHOT_ENTRIES):
        return None
    s = _onehot_sum(g.T, k, n)
    return None if s is None else s.T


def index_sum(g, index, shape, out_ndim, dtype):
    """Zeros of ``shape`` + the trailing axes of ``g`` (those after its first ``out_ndim``, the shape of
    ``x[index]`` for an ``x`` of ``shape``), of ``dtype``, with ``g`` added at ``index``: ``np.add.at``
    into new zeros.

    >>> index_sum(np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]), (np.array([0, 2, 0]),), (3,), 1, np.float64)
    array([[4., 4.],
           [0., 0.],
           [2., 2.]])
    """
    dtype = np.dtype(dtype)
    if (type(index) is tuple and len(index) == 1 and len(shape) == 1 and type(g) is np.ndarray and g.ndim == 1
            and dtype.kind == "f" and g.dtype.kind == "f" and dtype.itemsize <= 8):
        k = index[0]                                    # x[idx] of a vector, one adjoint: the common case
        if type(k) is np.ndarray and k.dtype.kind in "iu" and k.ndim == 1 and 0 < shape[0] <= _SPARSE_RATIO * k.size:
            s = np.bincount(np.arange(shape[0])[k], g, minlength=shape[0])   # the gather resolves negatives
            return s if s.dtype == dtype else s.astype(dtype)
    if (type(index) is tuple and len(index) == 1 and len(shape) == 1 and type(g) is np.ndarray and g.ndim == 2
            and g.dtype == np.float64 and dtype == np.float64):
        k = index[0]                                    # x[idx] of a vector, a batch of adjoints (jacrev)
        if (type(k) is np.ndarray and k.dtype.kind in "iu" and k.ndim == 1 and g.shape[0] == k.size
                and 0 < shape[0] * k.size <= _ONEHOT_ENTRIES):
            s = _onehot_sum(g, k, shape[0])
            if s is not None:
                return s
    full = tuple(shape) + np.shape(g)[out_ndim:]
    plan = _plan(full, dtype, index, g)
    if plan is not None:
        pos, size, trail, g = plan
        if size <= _SPARSE_RATIO * pos.size and size and g.size:
            return _dense(pos, g, trail, size).astype(dtype, copy=False).reshape(full)
    z = np.zeros(full, dtype=dtype)
    add_at(z, index, g)
    return z
