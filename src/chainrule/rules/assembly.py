"""Arrays built from traced values: ``np.array([a, b])``, ``np.asarray(x)``, ``x.tolist()``.

NumPy builds ``np.array([t1, 2.0, t3])`` without asking anyone: it calls each
element's ``__array__``, and a tracer answers with an object array holding
itself (see :mod:`chainrule.core.tracer`).  What comes back is an object array
of tracers and numbers.  Two primitives turn such arrays into traced arrays
and back:

* ``pack(*elements)`` stacks same-shaped elements along a new *last* axis.
  For the primal the elements are scalars; for their tangents and adjoints
  they carry the batch axes, which therefore stay in front.  Its JVP is
  ``pack`` of the tangents and its adjoint for element ``i`` is ``g[..., i]``,
  so every order follows.
* ``unstack(x)`` is its inverse: the elements of ``x`` in C order, one result
  each (an n-d tracer's ``__array__`` uses it, as do ``iter`` and ``tolist``).

:func:`assemble` is what :func:`chainrule.core.promote` calls: one ``pack`` and
one reshape, with the dtype NumPy itself gives the plain values.

Limits: a traced value is always an *object* array to NumPy between the
moment it is built and the moment chainrule sees it again, so NumPy code run
on it in between goes element by element through the tracers (correct, but
slow for large arrays), and NumPy functions without object support (LAPACK,
FFT) reject it.  ``np.array(..., dtype=float)`` of traced values cannot work
(NumPy asks for plain floats) and raises, naming the fix.
"""

import numpy as np

from ..core import ASSEMBLE, UNSTACK, Primitive, Tracer, bind, concrete_value, register_function
from ._broadcast import dtype_of, ndim_of, shape_of, zero_as_none
from ._declare import complex_safe, rule, variadic

__all__ = ["assemble", "unstack", "pack_p", "unstack_p"]


def _impl_pack(*elems):
    return np.stack(elems, axis=-1)


pack_p = Primitive("pack", _impl_pack, arity=None)


def _pack_jvp_all(tangents, out, *elems):
    known = next(t for t in tangents if t is not None)
    batch = shape_of(known)[: ndim_of(known) - ndim_of(elems[0])]
    zero = None
    pieces = []
    for t, e in zip(tangents, elems):
        if t is None:
            if zero is None:
                zero = np.zeros(batch + shape_of(e), dtype=dtype_of(out))
            t = zero
        pieces.append(t)
    return bind(pack_p, tuple(pieces))


def _pack_jvp(i, t, out, *elems):
    return _pack_jvp_all([t if j == i else None for j in range(len(elems))], out, *elems)


def _pack_vjp(i, g, out, *elems):
    return zero_as_none(g[..., i])          # an element no row reads: the sweep skips what only it leads to


variadic(pack_p, _pack_jvp, _pack_vjp, needs=(), jvp_all=_pack_jvp_all)
complex_safe(pack_p, mixed=True)          # np.array([x, z]): a real element's adjoint is the real part


def _impl_unstack(x, *, ndim):
    shape = np.shape(x)
    lead = shape[: len(shape) - ndim]
    flat = np.reshape(x, lead + (-1,))
    if not lead:
        return tuple(flat)
    return tuple(np.moveaxis(flat, -1, 0))


unstack_p = Primitive("unstack", _impl_unstack)


def _unstack_jvp(t, out, x, *, ndim):
    # the elements of t (batch + x.shape) along x's last ``ndim`` axes: flatten those, split the last
    s = shape_of(t)
    return bind(unstack_p, (np.reshape(t, s[:len(s) - ndim] + (-1,)),), {"ndim": 1})


def _unstack_vjp(g, out, x, *, ndim):
    packed = bind(pack_p, tuple(g))                      # batch + lead + (n,)
    xs = shape_of(x)
    return np.reshape(packed, shape_of(packed)[:-1] + xs[len(xs) - ndim:])


rule(unstack_p, (_unstack_jvp,), (_unstack_vjp,), needs=((),), multiple_results=True, complex_ok=True)


def unstack(x):
    """The elements of traced ``x`` in C order, as scalar tracers (a tuple)."""
    if not shape_of(x):
        return (x,)
    return bind(unstack_p, (x,), {"ndim": ndim_of(x)})


def assemble(elems, shape):
    """One traced array of ``shape`` from its elements in C order (tracers and plain numbers)."""
    plain = [concrete_value(e) for e in elems]          # for the dtype only
    try:
        probe = np.array(plain)                         # NumPy's own dtype for these values
    except (ValueError, TypeError):
        probe = None
    if probe is None or probe.shape != (len(elems),):
        raise ValueError(
            "an object array that holds traced values must hold scalars only (np.array([a, b]) of "
            "traced scalars, or of equal-shaped traced arrays); use np.stack or np.concatenate to "
            "join arrays")
    dtype = probe.dtype
    if dtype.kind not in "fiubc":
        from ..errors import NotDifferentiableError
        raise NotDifferentiableError(f"an array of {dtype} built from traced values",
                                     "chainrule differentiates floating-point and complex values")
    if not elems:
        return np.zeros(shape, dtype=dtype)
    out = _join_runs(elems)
    if dtype_of(out) != dtype:
        out = out.astype(dtype)
    return np.reshape(out, shape) if tuple(shape) != (len(elems),) else out


def _runs(elems):
    """Split ``elems`` into runs: ``(src, i, j)`` for elements i..j-1 of tracer ``src``, in order, as
    its ``__array__`` made them (and ``src`` not written since), else ``(None, k, l)`` for others."""
    runs = []
    k = 0
    n = len(elems)
    while k < n:
        o = getattr(elems[k], "_origin", None)
        if o is not None and o[0].primal is o[2]:
            src, i, _ = o
            j = k + 1
            while j < n:
                p = getattr(elems[j], "_origin", None)
                if p is None or p[0] is not src or p[1] != i + (j - k):
                    break
                j += 1
            runs.append((src, i, i + j - k))
            k = j
        else:
            j = k + 1
            while j < n and getattr(elems[j], "_origin", None) is None:
                j += 1
            runs.append((None, k, j))
            k = j
    return runs


def _join_runs(elems):
    """One 1-D array of ``elems``: whole runs of a traced array are taken as they are (O(1) operations
    whatever their length), other elements are packed."""
    runs = _runs(elems)
    if len(runs) == 1 and runs[0][0] is None:
        return bind(pack_p, tuple(elems))
    pieces = []
    for src, i, j in runs:
        if src is None:
            pieces.append(bind(pack_p, tuple(elems[i:j])))
        else:
            flat = np.ravel(src)
            pieces.append(flat if (i, j) == (0, shape_of(flat)[0]) else flat[i:j])
    return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)


register_function(ASSEMBLE, assemble)
register_function(UNSTACK, unstack)


# -- np.array(..., like=x) and np.asarray(..., like=x) dispatch here --------------------------------


def _nested(obj):
    if isinstance(obj, (list, tuple)):
        return np.stack([_nested(o) for o in obj])
    return obj if isinstance(obj, Tracer) else np.asarray(obj)


def _array(object, dtype=None, *, copy=True, order="K", subok=False, ndmin=0, like=None):
    x = _nested(object)
    if type(x) is np.ndarray and x.dtype.kind == "O":
        from ..core import promote
        x = promote(x)
    if dtype is not None:
        x = x.astype(dtype) if isinstance(x, Tracer) else np.asarray(x, dtype=dtype)
    elif isinstance(x, Tracer) and copy:
        x = +x                                           # a new array, as NumPy's copy
    if ndim_of(x) < ndmin:
        x = np.reshape(x, (1,) * (ndmin - ndim_of(x)) + shape_of(x))
    return x


register_function(np.array, _array)
register_function(np.asarray, lambda a, dtype=None, order=None, *, device=None, copy=None, like=None:
                  _array(a, dtype, copy=False))
register_function(np.asanyarray, lambda a, dtype=None, order=None, *, device=None, copy=None, like=None:
                  _array(a, dtype, copy=False))
