"""Shape helpers shared by the rules: fitting tangents and adjoints to shapes.

Tangents and adjoints may carry leading batch axes (``b`` of them, see
:mod:`chainrule.forward`).  Rules never ask for ``b`` directly; they compute
it as ``ndim(t) - ndim(x)``.  Everything here is written with NumPy
functions that chainrule itself differentiates, so that rules built on these
helpers have derivatives of their own (higher order needs no extra code).
"""

from math import isfinite as _isfinite

import numpy as np

from ..core import Tracer as _TRACERS
from ..core import call_plain

__all__ = ["zero_as_none", "seeded", "seeded_all", "add_into", "into", "broadcast", "shape_of", "dtype_of", "ndim_of", "fit_tangent", "fit_adjoint", "sum_to", "insert_axes",
           "batch_to_back", "batch_to_front"]


def shape_of(x):
    """``x.shape``, and ``()`` for Python scalars."""
    return getattr(x, "shape", ())


def dtype_of(x):
    """``x.dtype``, and NumPy's dtype for Python scalars."""
    d = getattr(x, "dtype", None)
    return d if d is not None else np.result_type(x)


def ndim_of(x):
    return len(getattr(x, "shape", ()))


def insert_axes(t, at, count):
    """Insert ``count`` axes of length 1 before axis ``at``."""
    if count == 0:
        return t
    s = shape_of(t)
    return np.reshape(t, s[:at] + (1,) * count + s[at:])


def fit_tangent(t, x, out):
    """Turn a tangent of ``x`` (batch + x.shape) into one of ``out`` (batch + out.shape) by broadcasting."""
    xs = shape_of(x)
    os = shape_of(out)
    if xs == os:
        return t
    ts = shape_of(t)
    b = len(ts) - len(xs)
    t = insert_axes(t, b, len(os) - len(xs))
    return broadcast(t, ts[:b] + os)


_SMALL = 1 << 16


def broadcast(t, shape):
    """``np.broadcast_to(t, shape)``; a small plain array is copied instead, which is 6x quicker."""
    if type(t) is np.ndarray or isinstance(t, np.generic):
        n = 1
        for d in shape:
            n *= d
        if n <= _SMALL:
            out = np.empty(shape, dtype=t.dtype)
            out[...] = t
            return out
    return np.broadcast_to(t, shape)


def sum_to(c, b, shape):
    """Sum ``c`` (b batch axes, then a shape ``shape`` broadcasts to) down to batch + ``shape``."""
    cs = shape_of(c)
    body = cs[b:]
    if body == shape:
        return c
    lead = len(body) - len(shape)
    axes = tuple(range(b, b + lead)) + tuple(
        b + lead + i for i, d in enumerate(shape) if d == 1 and body[lead + i] != 1)
    if axes:
        c = np.sum(c, axis=axes)
    return np.reshape(c, cs[:b] + tuple(shape))


def fit_adjoint(c, x, out):
    """Sum an adjoint contribution of ``out``'s shape over the axes along which ``x`` was broadcast."""
    xs = shape_of(x)
    os = shape_of(out)
    if xs == os:
        return c
    return sum_to(c, len(shape_of(c)) - len(os), xs)


def batch_to_back(t, b):
    """Move the first ``b`` axes of ``t`` to the end (of a plain matrix, one axis: its transpose, a view)."""
    if b == 0:
        return t
    if b == 1 and type(t) is np.ndarray and t.ndim == 2:
        return t.T
    n = ndim_of(t)
    return np.transpose(t, tuple(range(b, n)) + tuple(range(b)))


def batch_to_front(t, b):
    """Move the last ``b`` axes of ``t`` to the front (of a plain matrix, one axis: its transpose, a view)."""
    if b == 0:
        return t
    if b == 1 and type(t) is np.ndarray and t.ndim == 2:
        return t.T
    n = ndim_of(t)
    return np.transpose(t, tuple(range(n - b, n)) + tuple(range(n - b)))


def zero_as_none(c):
    """``c``, or ``None`` when it is a plain float or complex array of zeros: the exact zero of an adjoint
    that the backward sweep skips, with all the work only it leads back to.  The joins and writes use it
    for the pieces no row of a reverse Jacobian reads (a trajectory's later states, for rows that read
    an early one).

    >>> zero_as_none(np.zeros((2, 3))) is None, zero_as_none(np.ones(2))
    (True, array([1., 1.]))
    """
    if type(c) is np.ndarray and c.dtype.kind in "fc" and not c.any():
        return None
    return c


def seeded(c, s):
    """The chain-rule product ``c = s * d`` with an exact zero wherever the seed ``s`` (a tangent or an
    adjoint) is zero, even where the local derivative ``d`` is infinite or nan.

    Convention: a path that carries no perturbation contributes nothing, so 0 * inf counts as 0.
    This is what makes ``np.where(x > 0, np.sqrt(x), 0)`` differentiable at 0 in reverse mode (the
    branch not taken receives a zero adjoint, times sqrt's infinite derivative) and keeps the zero
    directions of a batched Jacobian zero.  The check costs one BLAS dot product, and a second
    pass only when a non-finite value is present.  Plain values only: under nesting the product is a tracer.
    """
    kind = type(c)
    if kind is np.float64:                                  # scalar code: the hot path
        return c if _isfinite(c) or s != 0 else np.float64(0)
    if kind is np.ndarray:
        # <c, c> is finite iff every entry is (bar overflow, which only sends us down the exact path);
        # one BLAS pass, the cheapest test there is
        if c.dtype.kind != "f" or _isfinite(np.vdot(c, c)):
            return c
        return np.where(s == 0, 0, c)
    if kind is np.float32 and not _isfinite(c) and s == 0:
        return np.float32(0)
    if isinstance(c, _TRACERS) and c._staged:               # chainrule.jit: the check runs on every call
        return call_plain(seeded, c, s)
    return c


def seeded_all(r, seeds):
    """:func:`seeded` for a result computed from several seeds: zero where all of them are zero."""
    if type(r) is np.ndarray and r.dtype.kind == "f" and not _isfinite(np.vdot(r, r)):
        quiet = None
        for s in seeds:
            if s is not None:
                z = s == 0
                quiet = z if quiet is None else quiet & z
        return r if quiet is None else np.where(quiet, 0, r)
    if (type(r) is np.float64 or type(r) is np.float32) and not _isfinite(r) \
            and all(s is None or s == 0 for s in seeds):
        return type(r)(0)
    if isinstance(r, _TRACERS) and r._staged:               # chainrule.jit: the check runs on every call
        return call_plain(_seeded_all_of, r, *[s for s in seeds if s is not None])
    return r


def _seeded_all_of(r, *seeds):
    return seeded_all(r, seeds)


# For chainrule.jit's passes: the result is the first argument whenever one seed has no zero.
seeded.passes_when_nonzero = _seeded_all_of.passes_when_nonzero = True


def add_into(r, u):
    """``r + u``, written into ``r`` when ``r`` is a plain array that the caller just made (a fresh
    temporary nobody else holds) and the sum has its shape and dtype."""
    return into(np.add, r, u, r)


def into(ufunc, a, b, fresh):
    """``ufunc(a, b)``, written into ``fresh`` (which is ``a`` or ``b``, a temporary the caller just
    made) when all are plain arrays and the result has ``fresh``'s shape and dtype; else a new value.
    Rules use it to keep forward mode's temporaries (and so its peak memory) down."""
    if (type(a) is np.ndarray or type(b) is np.ndarray) and type(fresh) is np.ndarray \
            and not isinstance(a, _TRACERS) and not isinstance(b, _TRACERS) \
            and np.result_type(a, b) == fresh.dtype and np.broadcast_shapes(np.shape(a), np.shape(b)) == fresh.shape:
        return ufunc(a, b, out=fresh)
    return ufunc(a, b)
