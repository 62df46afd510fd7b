"""NumPy 2's array-API names: vecdot, matvec, vecmat, matrix_transpose, unstack, astype, numpy.linalg.*.

Each is registered only when the installed NumPy has it (``vecdot`` and the
``numpy.linalg`` additions arrived in 2.0, ``matvec``/``vecmat`` in 2.2), so
chainrule imports and runs unchanged on NumPy 1.24-1.26.

``vecdot``, ``matvec`` and ``vecmat`` are generalised ufuncs, which reach a
tracer through ``__array_ufunc__``; each is a primitive whose rules are
products and sums, so they have derivatives of their own.  Their tangents
carry leading batch axes, which must not meet the operands' loop axes:
:func:`_lift` inserts axes of length 1 after the batch axes so that the loop
axes line up on the right.  The rest are compositions of registered
functions.  ``vecdot`` and ``vecmat`` conjugate their (first) vector argument,
and their rules carry that conjugation, so complex values are differentiated
under the bilinear convention.
"""

import numpy as np

from ..core import FUNCTIONS, primitive_of, register_function
from ..errors import NotDifferentiableError
from ._broadcast import dtype_of, insert_axes, ndim_of, shape_of, sum_to
from ._declare import real_for, rule
from .reductions import normalize_axis


def _lift(t, x, loop):
    """A tangent of ``x`` (batch + x.shape, ``core`` trailing axes) with its loop axes padded to ``loop``."""
    b = ndim_of(t) - ndim_of(x)
    return insert_axes(t, b, loop - ndim_of(x))


def _fit(c, b, x):
    """An adjoint contribution (b batch axes, then a shape ``x`` broadcasts to) summed to batch + x.shape."""
    return sum_to(c, b, shape_of(x))


def _batch(g, out):
    return ndim_of(g) - ndim_of(out)


def _cj(v):
    """conj(v) for a complex value; a real one as it is (no operation on the real path)."""
    return np.conjugate(v) if dtype_of(v).kind == "c" else v


# vecdot and vecmat conjugate their first (vector) argument: the rules below carry that conj(); under
# the bilinear pairing the adjoint of dx -> sum conj(dx) y is g -> conj(g y) (Re(conj(a) b) = Re(a conj(b))).
# A real argument that meets a complex one gets the real part of its adjoint (real_for).
_vecdot_ufunc = getattr(np, "vecdot", None)
if isinstance(_vecdot_ufunc, np.ufunc):
    # out[...] = sum_i conj(x[..., i]) y[..., i]
    def _vecdot_jvp_x(t, out, x, y):
        return np.sum(_cj(_lift(t, x, ndim_of(out) + 1)) * y, axis=-1)

    def _vecdot_jvp_y(t, out, x, y):
        return np.sum(_cj(x) * _lift(t, y, ndim_of(out) + 1), axis=-1)

    rule(primitive_of(_vecdot_ufunc),
         (_vecdot_jvp_x, _vecdot_jvp_y),
         (lambda g, out, x, y: real_for(_fit(_cj(np.expand_dims(g, -1) * y), _batch(g, out), x), x),
          lambda g, out, x, y: real_for(_fit(np.expand_dims(g, -1) * _cj(x), _batch(g, out), y), y)),
         needs=(("y",), ("x",)), complex_ok=True)

_matvec_ufunc = getattr(np, "matvec", None)
if isinstance(_matvec_ufunc, np.ufunc):
    # out[..., i] = sum_j a[..., i, j] v[..., j]  (no conjugation)
    def _col(v):
        return np.expand_dims(v, -1)

    def _row(v):
        return np.expand_dims(v, -2)

    rule(primitive_of(_matvec_ufunc),
         (lambda t, out, a, v: (_lift(t, a, ndim_of(out) + 1) @ _col(v))[..., 0],
          lambda t, out, a, v: (a @ _col(_lift(t, v, ndim_of(out))))[..., 0]),
         (lambda g, out, a, v: real_for(_fit(_col(g) * _row(v), _batch(g, out), a), a),
          lambda g, out, a, v: real_for(_fit((_row(g) @ a)[..., 0, :], _batch(g, out), v), v)),
         needs=(("y",), ("x",)), complex_ok=True)

    # out[..., j] = sum_i conj(v[..., i]) a[..., i, j]
    rule(primitive_of(np.vecmat),
         (lambda t, out, v, a: (_row(_cj(_lift(t, v, ndim_of(out)))) @ a)[..., 0, :],
          lambda t, out, v, a: (_row(_cj(v)) @ _lift(t, a, ndim_of(out) + 1))[..., 0, :]),
         (lambda g, out, v, a: real_for(_fit(_cj((a @ _col(g))[..., 0]), _batch(g, out), v), v),
          lambda g, out, v, a: real_for(_fit(_col(_cj(v)) * _row(g), _batch(g, out), a), a)),
         needs=(("y",), ("x",)), complex_ok=True)


# -- compositions ------------------------------------------------------------------------------------------


def _matrix_transpose(x):
    if ndim_of(x) < 2:
        raise ValueError("Input array must be at least 2-dimensional")
    return np.swapaxes(x, -1, -2)


def _unstack(x, *, axis=0):
    return tuple(np.moveaxis(x, axis, 0))


def _astype(x, dtype, /, *, copy=True, device=None):
    return FUNCTIONS["astype"](x, dtype)


def _vecdot(x1, x2, *, axis=-1):
    return np.vecdot(np.moveaxis(x1, axis, -1), np.moveaxis(x2, axis, -1))


def _vector_norm(x, *, axis=None, keepdims=False, ord=2):
    # as numpy.linalg.vector_norm: the reduced axes are joined into one, then linalg.norm along it
    shape = shape_of(x)
    if axis is None:
        y, along = np.ravel(x), 0
    elif isinstance(axis, tuple):
        axes = tuple(int(a) % len(shape) for a in axis)
        rest = tuple(i for i in range(len(shape)) if i not in axes)
        y = np.reshape(np.transpose(x, axis + rest),
                       (int(np.prod([shape[i] for i in axes], dtype=int)),) + tuple(shape[i] for i in rest))
        along = 0
    else:
        y, along = x, axis
    r = np.linalg.norm(y, axis=along, ord=ord)
    if keepdims:
        kept = normalize_axis(axis, len(shape))
        r = np.reshape(r, tuple(1 if i in kept else d for i, d in enumerate(shape)))
    return r


def _matrix_norm(x, *, keepdims=False, ord="fro"):
    return np.linalg.norm(x, axis=(-2, -1), keepdims=keepdims, ord=ord)


def _outer(x1, x2):
    if ndim_of(x1) != 1 or ndim_of(x2) != 1:
        raise ValueError(f"Input arrays must be one-dimensional, but they are {ndim_of(x1)}-dimensional and "
                         f"{ndim_of(x2)}-dimensional.")
    return np.outer(x1, x2)


def _cross(x1, x2, *, axis=-1):
    if shape_of(x1)[axis] != 3 or shape_of(x2)[axis] != 3:
        raise ValueError("Both input arrays must be (arrays of) 3-dimensional vectors, but they are "
                         f"{shape_of(x1)[axis]} and {shape_of(x2)[axis]} dimensional instead.")
    return np.cross(x1, x2, axis=axis)


def _trace(x, *, offset=0, dtype=None):
    if dtype is not None and not np.issubdtype(dtype, np.floating):
        raise NotDifferentiableError("numpy.linalg.trace", f"dtype={np.dtype(dtype)}; keep a float dtype")
    return np.trace(x, offset=offset, axis1=-2, axis2=-1, dtype=dtype)


_NUMPY = (("matrix_transpose", _matrix_transpose), ("unstack", _unstack), ("astype", _astype))
_LINALG = (("matrix_transpose", _matrix_transpose), ("vecdot", _vecdot), ("vector_norm", _vector_norm),
           ("matrix_norm", _matrix_norm), ("outer", _outer), ("cross", _cross), ("trace", _trace),
           ("matmul", lambda x1, x2, /: np.matmul(x1, x2)),
           ("tensordot", lambda x1, x2, /, *, axes=2: np.tensordot(x1, x2, axes=axes)),
           ("diagonal", lambda x, /, *, offset=0: np.diagonal(x, offset, -2, -1)))
for _space, _table in ((np, _NUMPY), (np.linalg, _LINALG)):
    for _name, _frontend in _table:
        _fn = getattr(_space, _name, None)
        if _fn is not None and not isinstance(_fn, np.ufunc):
            register_function(_fn, _frontend)
