"""Shape functions: reshape, transpose, broadcast_to, concatenate, casts -- and everything built from them.

The primitives here are linear, so each JVP applies the function to the
tangent (shifted past the tangent's batch axes) and each VJP applies its
adjoint; no values are kept.

The rest of NumPy's shape vocabulary is composed from these and from the
gather ``x[index]`` and its adjoint, the scatter-add ``index_add``
(:mod:`chainrule.rules.indexing`), so it needs no rules of its own and its
derivatives of every order follow: ``squeeze``/``expand_dims``/``atleast_*``
reshape; ``stack`` is ``expand_dims`` + ``concatenate``; ``split`` and ``flip``
are slices; ``tile`` and ``repeat`` broadcast an inserted axis; ``roll`` joins
two slices; ``pad`` scatters into zeros (constant mode) or gathers by the index
map that ``np.pad`` itself gives for ``arange`` (edge, reflect, symmetric,
wrap); ``sort`` and ``partition`` gather by the permutation of the primal.
"""

import weakref

import numpy as np

from ..core import Meta, Primitive, Tracer, array_operand, bind, plain_value, register_function
from ..errors import NotDifferentiableError
from ._broadcast import batch_to_back, batch_to_front, broadcast, dtype_of, fit_adjoint, fit_tangent, ndim_of, shape_of, zero_as_none
from ._declare import complex_safe, linear, rule, variadic
from .indexing import gather, index_add_p
from .reductions import normalize_axis

# -- reshape -----------------------------------------------------------------------------
reshape_p = Primitive("numpy.reshape", lambda x, *, shape: np.reshape(x, shape))


def _batch(t, x):
    s = shape_of(t)
    return s[: len(s) - ndim_of(x)]


linear(reshape_p,
       lambda t, out, x, *, shape: bind(reshape_p, (t,), {"shape": _batch(t, x) + shape}),
       lambda g, out, x, *, shape: bind(reshape_p, (g,), {"shape": _batch(g, out) + shape_of(x)}))


def _reshape(a, shape=None, order="C", *, newshape=None, copy=None):
    if shape is None:
        shape = newshape
    if order != "C":
        raise NotDifferentiableError("numpy.reshape", f"order={order!r}; only order='C' is supported")
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in shape)
    full = np.empty(shape_of(a), dtype=bool).reshape(shape).shape     # resolves -1, checks the size
    if full == shape_of(a):
        return a
    return bind(reshape_p, (a,), {"shape": full})


def _ravel(a, order="C"):
    return _reshape(a, (-1,), order)


register_function(np.reshape, _reshape)
register_function(np.ravel, _ravel)

# -- transpose ---------------------------------------------------------------------------
transpose_p = Primitive("numpy.transpose", lambda x, *, axes: np.transpose(x, axes))


def _shifted(axes, b):
    return tuple(range(b)) + tuple(a + b for a in axes)


def _inverse(axes):
    inv = [0] * len(axes)
    for i, a in enumerate(axes):
        inv[a] = i
    return tuple(inv)


linear(transpose_p,
       lambda t, out, x, *, axes: bind(transpose_p, (t,), {"axes": _shifted(axes, ndim_of(t) - len(axes))}),
       lambda g, out, x, *, axes: bind(transpose_p, (g,),
                                       {"axes": _shifted(_inverse(axes), ndim_of(g) - len(axes))}))


def _transpose(a, axes=None):
    n = ndim_of(a)
    if axes is None:
        axes = tuple(range(n - 1, -1, -1))
    else:
        axes = tuple(int(ax) % n if n else int(ax) for ax in axes)
        if sorted(axes) != list(range(n)):
            raise ValueError(f"axes {axes} are not a permutation of the {n} axes")
    if axes == tuple(range(n)):
        return a
    return bind(transpose_p, (a,), {"axes": axes})


def _swapaxes(a, axis1, axis2):
    n = ndim_of(a)
    axes = list(range(n))
    i, j = normalize_axis(axis1, n)[0], normalize_axis(axis2, n)[0]
    axes[i], axes[j] = axes[j], axes[i]
    return _transpose(a, axes)


def _moveaxis(a, source, destination):
    n = ndim_of(a)
    src = [int(s) % n for s in np.atleast_1d(source)]
    dst = [int(d) % n for d in np.atleast_1d(destination)]
    order = [i for i in range(n) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return _transpose(a, order)


register_function(np.transpose, _transpose)
register_function(np.swapaxes, _swapaxes)
register_function(np.moveaxis, _moveaxis)

# -- broadcast_to ------------------------------------------------------------------------
broadcast_to_p = Primitive("numpy.broadcast_to", lambda x, *, shape: broadcast(x, shape))
linear(broadcast_to_p,
       lambda t, out, x, *, shape: fit_tangent(t, x, out),
       lambda g, out, x, *, shape: fit_adjoint(g, x, out))


def _broadcast_to(array, shape, subok=False):
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in shape)
    if shape == shape_of(array):
        return array
    np.broadcast_shapes(shape_of(array), shape)                    # raises NumPy's error on mismatch
    return bind(broadcast_to_p, (array,), {"shape": shape})


register_function(np.broadcast_to, _broadcast_to)

# -- concatenate (variadic) --------------------------------------------------------------
concatenate_p = Primitive("numpy.concatenate", lambda *xs, axis: np.concatenate(xs, axis=axis), arity=None)


_LAST_OFFSETS = [None]      # (a concatenation's output or a weak reference to it, its pieces' offsets, count)


def _offset(i, out, xs, axis):
    """Where piece ``i`` starts along ``axis``.  The rules are called once per piece of the same node,
    so the offsets of the last output seen are kept: O(pieces) per node, not O(pieces^2).  (The reverse
    engine gives each concatenation's output a Meta of its own, never a shared one, for this.)"""
    last = _LAST_OFFSETS[0]
    if last is not None and last[2] == len(xs) and (last[0] if type(last[0]) is Meta else last[0]()) is out:
        return last[1][i]
    offsets = [0]
    for x in xs:
        offsets.append(offsets[-1] + shape_of(x)[axis])
    try:                        # the tape keeps a Meta (shape and dtype, small) in place of the output
        _LAST_OFFSETS[0] = (out if type(out) is Meta else weakref.ref(out), offsets, len(xs))
    except TypeError:           # an output that takes no weak reference (a Python scalar): not kept
        pass
    return offsets[i]


def _concat_jvp(i, t, out, *xs, axis):
    """The tangent of piece i, scattered into zeros of the output's shape (one scatter per traced piece)."""
    b = ndim_of(t) - ndim_of(xs[i])
    start = _offset(i, out, xs, axis)
    index = (slice(None),) * axis + (slice(start, start + shape_of(xs[i])[axis]),)
    index += (slice(None),) * (ndim_of(out) - len(index))
    params = {"index": index, "shape": shape_of(out), "out_ndim": ndim_of(out), "basic": True}
    return batch_to_front(bind(index_add_p, (batch_to_back(t, b),), params), b)


def _concat_vjp(i, g, out, *xs, axis):
    b = ndim_of(g) - ndim_of(out)
    start = _offset(i, out, xs, axis)
    index = (slice(None),) * (b + axis) + (slice(start, start + shape_of(xs[i])[axis]),)
    return zero_as_none(g[index])           # a piece no row reads: the sweep skips what only it leads to


def _concat_jvp_all(tangents, out, *xs, axis):
    """All pieces' tangents concatenated at once, zeros for constant pieces: O(output), not O(k output)."""
    k = next(i for i, t in enumerate(tangents) if t is not None)
    known = tangents[k]
    b = ndim_of(known) - ndim_of(xs[k])
    batch = shape_of(known)[:b]
    pieces = [np.zeros(batch + shape_of(x), dtype=dtype_of(known)) if t is None else t
              for t, x in zip(tangents, xs)]
    return bind(concatenate_p, tuple(pieces), {"axis": axis + b})


variadic(concatenate_p, _concat_jvp, _concat_vjp, needs=(), jvp_all=_concat_jvp_all)


def _concatenate(arrays, axis=0, out=None, dtype=None, casting=None):
    if out is not None:
        from ..errors import InPlaceError
        raise InPlaceError("numpy.concatenate(..., out=...) writes in place; use the returned value.")
    arrays = tuple(arrays)
    if axis is None:
        arrays = tuple(_ravel(a) for a in arrays)
        axis = 0
    axis = normalize_axis(axis, ndim_of(arrays[0]))[0]
    arrays = tuple(map(array_operand, arrays))
    if casting not in (None, "same_kind"):
        raise NotDifferentiableError("numpy.concatenate", f"casting={casting!r} is not supported")
    joined = bind(concatenate_p, arrays, {"axis": axis})
    return joined if dtype is None else joined.astype(dtype)       # a float cast (others raise)


register_function(np.concatenate, _concatenate)

# -- casts between float dtypes ----------------------------------------------------------
def _impl_astype(x, *, dtype):
    # NumPy's scalars stay scalars (np.float64(1).astype(np.float32) is a np.float32), arrays arrays
    return x.astype(dtype) if isinstance(x, (np.ndarray, np.generic)) else np.asarray(x).astype(dtype)[()]


astype_p = Primitive("astype", _impl_astype)


def _astype_vjp(g, out, x, *, dtype):
    # real -> complex is an inclusion: its transpose under the bilinear pairing is the real part
    if dtype_of(g).kind == "c" and dtype_of(x).kind != "c":
        g = np.real(g)
    return bind(astype_p, (g,), {"dtype": dtype_of(x)})


linear(astype_p, lambda t, out, x, *, dtype: bind(astype_p, (t,), {"dtype": dtype}), _astype_vjp,
       complex_ok=True)


def _astype(x, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind not in "fc":
        raise NotDifferentiableError(
            f"astype({dtype})", "a cast to a non-float dtype has no derivative; cast the primal "
            "outside the differentiated function, or keep a float dtype")
    if dtype.kind == "f" and dtype_of(x).kind == "c":
        raise NotDifferentiableError(
            f"astype({dtype})", "of a complex value: the cast would drop the imaginary part (NumPy "
            "only warns); take np.real(x) (or np.abs(x)) explicitly")
    if dtype == dtype_of(x):
        return +x
    return bind(astype_p, (x,), {"dtype": dtype})


register_function("astype", _astype)
register_function(np.copy, lambda a, order="K", subok=False: +a)

# -- queries: no derivative involved ----------------------------------------------------------
register_function(np.shape, lambda a: a.shape)
register_function(np.ndim, lambda a: a.ndim)
register_function(np.size, lambda a, axis=None: a.size if axis is None else a.shape[axis])


# == compositions: every function below is exact in terms of the primitives above and in ==
# == chainrule.rules.indexing, so its derivatives of every order come from theirs.        ==






def _axis(axis, ndim):
    return normalize_axis(axis, ndim)[0]


def _take_index(index, axis):
    """A canonical-ready index that applies ``index`` along ``axis`` and leaves the others alone."""
    return (slice(None),) * axis + (index,)


def _squeeze(a, axis=None):
    s = shape_of(a)
    if axis is None:
        axes = tuple(i for i, d in enumerate(s) if d == 1)
    else:
        axes = normalize_axis(axis, len(s))
        for ax in axes:
            if s[ax] != 1:
                raise ValueError("cannot select an axis to squeeze out which has size not equal to one")
    return _reshape(a, tuple(d for i, d in enumerate(s) if i not in axes))


def _expand_dims(a, axis):
    s = shape_of(a)
    n = len(s) + (1 if isinstance(axis, (int, np.integer)) else len(axis))
    axes = normalize_axis(axis, n)
    it = iter(s)
    return _reshape(a, tuple(1 if i in axes else next(it) for i in range(n)))


def _atleast(nd, where):
    def atleast(*arys):
        res = []
        for a in arys:
            a = array_operand(a)
            s = shape_of(a)
            if len(s) < nd:
                s = where(s)
            res.append(_reshape(a, s) if s != shape_of(a) else a)
        return res[0] if len(res) == 1 else tuple(res)
    return atleast


register_function(np.squeeze, _squeeze)
register_function(np.expand_dims, _expand_dims)
register_function(np.atleast_1d, _atleast(1, lambda s: (1,)))
register_function(np.atleast_2d, _atleast(2, lambda s: (1,) * (2 - len(s)) + s))
register_function(np.atleast_3d, _atleast(3, lambda s: {0: (1, 1, 1), 1: (1,) + s + (1,),
                                                        2: s + (1,)}[len(s)]))

# -- joining: stack = expand_dims + concatenate --------------------------------------------


def _stack(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    arrays = [array_operand(a) for a in arrays]
    if not arrays:
        raise ValueError("need at least one array to stack")
    shapes = {shape_of(a) for a in arrays}
    if len(shapes) != 1:
        raise ValueError("all input arrays must have the same shape")
    axis = _axis(axis, ndim_of(arrays[0]) + 1)
    return _concatenate([_expand_dims(a, axis) for a in arrays], axis=axis, out=out, dtype=dtype,
                        casting=casting)


def _hstack(tup, dtype=None, casting="same_kind"):
    arrs = [_atleast(1, lambda s: (1,))(a) for a in tup]
    return _concatenate(arrs, axis=0 if ndim_of(arrs[0]) == 1 else 1, dtype=dtype, casting=casting)


def _vstack(tup, dtype=None, casting="same_kind"):
    return _concatenate([_atleast(2, lambda s: (1,) * (2 - len(s)) + s)(a) for a in tup], axis=0,
                        dtype=dtype, casting=casting)


def _dstack(tup):
    return _concatenate([np.atleast_3d(array_operand(a)) for a in tup], axis=2)


def _column_stack(tup):
    cols = []
    for a in tup:
        a = array_operand(a)
        cols.append(_reshape(a, (-1, 1)) if ndim_of(a) < 2 else a)
    return _concatenate(cols, axis=1)


register_function(np.stack, _stack)
register_function(np.hstack, _hstack)
register_function(np.vstack, _vstack)
register_function(np.dstack, _dstack)
register_function(np.column_stack, _column_stack)

# -- splitting: slices -------------------------------------------------------------------------


def _split_at(a, bounds, axis):
    return [a[_take_index(slice(lo, hi), axis)] for lo, hi in zip(bounds[:-1], bounds[1:])]


def _array_split(ary, indices_or_sections, axis=0):
    axis = _axis(axis, ndim_of(ary))
    n = shape_of(ary)[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0:
            raise ValueError("number sections must be larger than 0.")
        q, r = divmod(n, k)
        sizes = [q + 1] * r + [q] * (k - r)
        bounds = [0] + list(np.cumsum(sizes))
    else:
        bounds = [0] + [int(i) for i in indices_or_sections] + [n]
    return _split_at(ary, [int(b) for b in bounds], axis)


def _split(ary, indices_or_sections, axis=0):
    if isinstance(indices_or_sections, (int, np.integer)):
        n = shape_of(ary)[_axis(axis, ndim_of(ary))]
        if n % int(indices_or_sections):
            raise ValueError("array split does not result in an equal division")
    return _array_split(ary, indices_or_sections, axis)


register_function(np.split, _split)
register_function(np.array_split, _array_split)


def _directional_split(name, least, axis):
    """``hsplit``/``vsplit``/``dsplit``: ``split`` along ``axis(ndim)``, for arrays of ``least`` dimensions or more."""
    def split(ary, indices_or_sections):
        n = ndim_of(ary)
        if n < least:
            raise ValueError(f"{name} only works on arrays of {least} or more dimensions")
        return _split(ary, indices_or_sections, axis=axis(n))
    return split


register_function(np.hsplit, _directional_split("hsplit", 1, lambda n: 1 if n > 1 else 0))
register_function(np.vsplit, _directional_split("vsplit", 2, lambda n: 0))
register_function(np.dsplit, _directional_split("dsplit", 3, lambda n: 2))

# -- repetition: reshape + broadcast_to + reshape ------------------------------------------------


def _tile(A, reps):
    reps = (int(reps),) if isinstance(reps, (int, np.integer)) else tuple(int(r) for r in reps)
    s = shape_of(A)
    d = max(len(s), len(reps))
    s = (1,) * (d - len(s)) + s
    reps = (1,) * (d - len(reps)) + reps
    x = _reshape(A, sum(((1, n) for n in s), ()))
    x = _broadcast_to(x, sum(((r, n) for r, n in zip(reps, s)), ()))
    return _reshape(x, tuple(r * n for r, n in zip(reps, s)))


def _repeat(a, repeats, axis=None):
    if axis is None:
        a, axis = _ravel(a), 0
    axis = _axis(axis, ndim_of(a))
    s = shape_of(a)
    r = np.asarray(repeats)
    if r.ndim == 0:
        r = int(r)
        x = _expand_dims(a, axis + 1)
        x = _broadcast_to(x, s[:axis + 1] + (r,) + s[axis + 1:])
        return _reshape(x, s[:axis] + (s[axis] * r,) + s[axis + 1:])
    return a[_take_index(np.repeat(np.arange(s[axis]), r), axis)]


register_function(np.tile, _tile)
register_function(np.repeat, _repeat)

# -- flips and rolls: slices ----------------------------------------------------------------------


def _flip(m, axis=None):
    n = ndim_of(m)
    axes = normalize_axis(axis, n)
    return m[tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(n))]


def _roll(a, shift, axis=None):
    if axis is None:
        return _reshape(_roll(_ravel(a), shift, 0), shape_of(a))
    shifts = np.broadcast_arrays(np.atleast_1d(shift), np.atleast_1d(axis))
    total = {}
    for s, ax in zip(*shifts):
        ax = _axis(int(ax), ndim_of(a))
        total[ax] = total.get(ax, 0) + int(s)
    for ax, s in total.items():
        n = shape_of(a)[ax]
        s = s % n if n else 0
        if s:
            a = _concatenate([a[_take_index(slice(n - s, None), ax)], a[_take_index(slice(0, n - s), ax)]],
                             axis=ax)
    return a


def _rot90(m, k=1, axes=(0, 1)):
    k %= 4
    a0, a1 = axes
    if k == 0:
        return +m
    if k == 2:
        return _flip(_flip(m, a0), a1)
    perm = list(range(ndim_of(m)))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    return _transpose(_flip(m, a1), perm) if k == 1 else _flip(_transpose(m, perm), a1)


register_function(np.flip, _flip)
register_function(np.fliplr, lambda m: _flip(m, 1))
register_function(np.flipud, lambda m: _flip(m, 0))
register_function(np.roll, _roll)
register_function(np.rot90, _rot90)

# -- pad: constant = index_add into zeros (+ the constant border); copy modes = integer gathers ----
# mean, linear_ramp and reflect_type='odd' are linear (affine) maps along each axis in turn: a primitive whose
# primal is np.pad and whose rules multiply by the matrix of that map (np.pad of an identity matrix);
# maximum, minimum and median select entries: each axis in turn, the statistic of its end regions joined on.
_COPY_MODES = ("edge", "reflect", "symmetric", "wrap")
_LINEAR_MODES = ("mean", "linear_ramp")
_STAT_MODES = {"maximum": np.max, "minimum": np.min, "median": np.median}


def _pad_pairs(value, nd, default=None):
    """np.pad's per-axis (before, after) pairs of ``pad_width``, ``stat_length`` or ``end_values``."""
    if value is None:
        return ((default, default),) * nd
    a = np.broadcast_to(np.asarray(value, dtype=object), (nd, 2))
    return tuple(tuple(None if v is None else int(v) for v in a[i]) for i in range(nd))


def _pad_matrix(n, width, mode, options, dtype):
    """The matrix (n + before + after, n) of the linear part of padding one axis of length ``n``."""
    opts = dict(options)
    if "end_values" in opts:
        opts["end_values"] = 0                              # the affine map's linear part
    return np.pad(np.eye(n, dtype=np.float64), (width, (0, 0)), mode=mode, **opts).astype(dtype)


def _axis_options(options, ax, n, nd):
    opts = dict(options)
    if opts.get("stat_length") is not None:              # the pair of this axis; the other axis is not padded
        pair = tuple(n if v is None else v for v in _pad_pairs(opts["stat_length"], nd)[ax])
        opts["stat_length"] = (pair, (1, 1))
    return tuple(opts.items())


def _place(v, start, n):
    """``v`` (…, k) put at ``start`` of zeros (…, n) along the last axis."""
    lead, k = shape_of(v)[:-1], shape_of(v)[-1]
    parts = [np.zeros(lead + (start,), dtype=dtype_of(v))] if start else []
    parts.append(v)
    if n - start - k:
        parts.append(np.zeros(lead + (n - start - k,), dtype=dtype_of(v)))
    return _concatenate(parts, axis=-1) if len(parts) > 1 else v


def _pad_last_axis(t, n, width, mode, opts, transpose):
    """The linear part of padding the last axis (length ``n``) by ``width``, or its transpose.

    mean: each border is the mean of its end region; linear_ramp: the edge value times i/width;
    odd reflections: 2 edge - the mirrored entries (one reflection: width < n); anything else (a
    reflection longer than the axis) multiplies by the matrix of the map, np.pad of an identity.
    """
    b, a = width
    s = 1 if mode == "reflect" else 0
    if mode == "mean":
        kl, kr = (n if v is None else min(int(v), n) for v in opts.get("stat_length") or (None, None))
    elif mode in ("reflect", "symmetric") and (b > n - s or a > n - s):
        m = _pad_matrix(n, width, mode, tuple(opts.items()), dtype_of(t))
        return np.matmul(t, m if transpose else m.T)
    lead = shape_of(t)[:-1]
    u_left = np.arange(b, dtype=dtype_of(t)) / b if b else None
    u_right = (a - 1 - np.arange(a, dtype=dtype_of(t))) / a if a else None
    if not transpose:
        pieces = []
        for w, at_end in ((b, False), (a, True)):
            if not w:
                continue
            edge = t[..., -1:] if at_end else t[..., :1]
            if mode == "mean":
                k = kr if at_end else kl
                piece = _broadcast_to(np.mean(t[..., n - k:] if at_end else t[..., :k], axis=-1, keepdims=True),
                                      lead + (w,))
            elif mode == "linear_ramp":
                piece = edge * (u_right if at_end else u_left)
            else:
                mirrored = t[..., n - s - w:n - s] if at_end else t[..., s:s + w]
                piece = 2 * edge - mirrored[..., ::-1]
            pieces.append((piece, at_end))
        return _concatenate([p for p, e in pieces if not e] + [t] + [p for p, e in pieces if e], axis=-1)
    x_bar = t[..., b:b + n]
    for w, at_end in ((b, False), (a, True)):
        if not w:
            continue
        g = t[..., b + n:] if at_end else t[..., :b]
        if mode == "mean":
            k = kr if at_end else kl
            spread = _broadcast_to(np.sum(g, axis=-1, keepdims=True) / k, lead + (k,))
            x_bar = x_bar + _place(spread, n - k if at_end else 0, n)
        elif mode == "linear_ramp":
            x_bar = x_bar + _place(np.sum(g * (u_right if at_end else u_left), axis=-1, keepdims=True),
                                   n - 1 if at_end else 0, n)
        else:
            x_bar = (x_bar + _place(2 * np.sum(g, axis=-1, keepdims=True), n - 1 if at_end else 0, n)
                     - _place(g[..., ::-1], n - s - w if at_end else s, n))
    return x_bar


def _pad_apply(t, x, widths, mode, options, transpose):
    nd = ndim_of(x)
    opts = dict(options)
    lengths = _pad_pairs(opts.get("stat_length"), nd)
    for ax in (range(nd - 1, -1, -1) if transpose else range(nd)):
        if widths[ax] == (0, 0):
            continue
        axis_opts = dict(opts, stat_length=lengths[ax]) if mode == "mean" else opts
        moved = _moveaxis(t, ax - nd, -1)
        t = _moveaxis(_pad_last_axis(moved, shape_of(x)[ax], widths[ax], mode, axis_opts, transpose), -1, ax - nd)
    return t


pad_p = Primitive("numpy.pad(linear modes)",
                  lambda x, *, widths, mode, options: np.pad(x, widths, mode=mode, **dict(options)))
rule(pad_p,
     (lambda t, out, x, *, widths, mode, options: _pad_apply(t, x, widths, mode, options, False),),
     (lambda g, out, x, *, widths, mode, options: _pad_apply(g, x, widths, mode, options, True),),
     needs=(("x",),), complex_ok=True)          # linear in x: right for complex values


def _pad_stat(x, widths, fn, stat_length):
    """maximum / minimum / median padding: per axis, the statistic of each end region, broadcast and joined."""
    nd = ndim_of(x)
    lengths = _pad_pairs(stat_length, nd)
    for ax in range(nd):
        b, a = widths[ax]
        if not (b or a):
            continue
        n = shape_of(x)[ax]
        pieces = []
        for width, length, at_end in ((b, lengths[ax][0], False), (a, lengths[ax][1], True)):
            if not width:
                continue
            k = n if length is None else min(int(length), n)
            if k <= 0:
                raise ValueError("stat_length of 0 yields no value for padding")
            region = x[_take_index(slice(n - k, None) if at_end else slice(0, k), ax)]
            stat = fn(region, axis=ax, keepdims=True)
            shape = list(shape_of(x))
            shape[ax] = int(width)
            pieces.append((_broadcast_to(stat, tuple(shape)), at_end))
        x = _concatenate([p for p, end in pieces if not end] + [x] + [p for p, end in pieces if end], axis=ax)
    return x


def _has_tracer(v):
    if isinstance(v, Tracer):
        return True
    return isinstance(v, (list, tuple)) and any(_has_tracer(e) for e in v)


def _pad(array, pad_width, mode="constant", **kwargs):
    x = array_operand(array)
    s = shape_of(x)
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (len(s), 2))
    if callable(mode):
        raise NotDifferentiableError("numpy.pad", "with a callable mode: pad with np.concatenate of the "
                                     "traced pieces instead")
    if mode == "empty":                                     # NumPy leaves the border undefined: zeros here
        mode = "constant"
    if mode == "constant":
        cv = kwargs.pop("constant_values", 0)
        if kwargs:
            raise TypeError(f"unsupported keyword arguments for mode 'constant': {sorted(kwargs)}")
        if isinstance(cv, Tracer) or any(isinstance(c, Tracer) for c in np.ravel(np.asarray(cv, dtype=object))):
            raise NotDifferentiableError("numpy.pad", "with respect to constant_values")
        full = tuple(int(n + b + a) for n, (b, a) in zip(s, widths))
        index = tuple(slice(int(b), int(b) + n) for n, (b, _) in zip(s, widths))
        out = bind(index_add_p, (x,), {"index": index, "shape": full, "out_ndim": len(s), "basic": True})
        border = np.pad(np.zeros(s, dtype=dtype_of(x)), widths, mode="constant", constant_values=cv)
        return out + border if np.any(border) else out
    pairs = tuple((int(b), int(a)) for b, a in widths)
    if mode in _COPY_MODES and kwargs.get("reflect_type", "even") != "even":
        if mode not in ("reflect", "symmetric"):
            raise TypeError(f"unsupported keyword arguments for mode '{mode}': ['reflect_type']")
        return bind(pad_p, (x,), {"widths": pairs, "mode": mode, "options": (("reflect_type", "odd"),)})
    if mode in _COPY_MODES:
        for ax, (b, a) in enumerate(widths):
            if b or a:
                idx = np.pad(np.arange(s[ax]), (int(b), int(a)), mode=mode)   # where each output entry comes from
                x = x[_take_index(idx, ax)]
        return x
    if mode in _LINEAR_MODES:
        allowed = {"mean": ("stat_length",), "linear_ramp": ("end_values",)}[mode]
        if any(k not in allowed for k in kwargs):
            raise TypeError(f"unsupported keyword arguments for mode '{mode}': {sorted(kwargs)}")
        if _has_tracer(kwargs.get("end_values")):
            raise NotDifferentiableError("numpy.pad", "with respect to end_values")
        return bind(pad_p, (x,), {"widths": pairs, "mode": mode, "options": tuple(kwargs.items())})
    if mode in _STAT_MODES:
        if any(k != "stat_length" for k in kwargs):
            raise TypeError(f"unsupported keyword arguments for mode '{mode}': {sorted(kwargs)}")
        return _pad_stat(x, pairs, _STAT_MODES[mode], kwargs.get("stat_length"))
    raise ValueError(f"mode {mode!r} is not supported")


_pad.convention = ("'empty' pads with zeros (NumPy leaves the border undefined); maximum/minimum/median follow "
                   "np.max/np.min/np.median's conventions at ties")
register_function(np.pad, _pad)

# -- gathers: take, take_along_axis --------------------------------------------------------------


def _take(a, indices, axis=None, out=None, mode="raise"):
    if out is not None:
        from ..errors import InPlaceError
        raise InPlaceError("numpy.take(..., out=...) writes in place; use the returned value.")
    if axis is None:
        a, axis = _ravel(a), 0
    axis = _axis(axis, ndim_of(a))
    idx = np.asarray(indices)
    n = shape_of(a)[axis]
    if mode == "wrap":
        idx = idx % n
    elif mode == "clip":
        idx = np.clip(idx, 0, n - 1)
    return a[_take_index(int(idx) if idx.ndim == 0 else idx, axis)]


def _along_axis_index(indices, shape, axis):
    """The advanced index that picks ``indices`` along ``axis`` and keeps every other position."""
    nd = len(shape)
    index = []
    for d in range(nd):
        if d == axis:
            index.append(indices)
        else:
            index.append(np.arange(shape[d]).reshape((1,) * d + (-1,) + (1,) * (nd - d - 1)))
    return tuple(index)


def _take_along_axis(arr, indices, axis=-1, *, permutation=False):
    """``permutation`` (internal): ``indices`` permute each line, so no position repeats."""
    indices = np.asarray(indices)
    if axis is None:
        arr, axis = _ravel(arr), 0
    axis = _axis(axis, ndim_of(arr))
    if indices.ndim != ndim_of(arr):
        raise ValueError("`indices` and `arr` must have the same number of dimensions")
    return gather(arr, _along_axis_index(indices, shape_of(arr), axis), unique=permutation)


register_function(np.take, _take)
register_function(np.take_along_axis, _take_along_axis)

# -- sort and partition: gathers by the permutation of the primal -------------------------------
# Convention: at ties the permutation of a stable argsort decides which input each output follows.


def _sort(a, axis=-1, kind=None, order=None, *, stable=None):
    if order is not None:
        raise NotDifferentiableError("numpy.sort", "order= (structured arrays)")
    if axis is None:
        a, axis = _ravel(a), 0
    return _take_along_axis(a, np.argsort(plain_value(a), axis=axis, kind="stable"), axis, permutation=True)


def _partition(a, kth, axis=-1, kind="introselect", order=None):
    if order is not None:
        raise NotDifferentiableError("numpy.partition", "order= (structured arrays)")
    if axis is None:
        a, axis = _ravel(a), 0
    return _take_along_axis(a, np.argpartition(plain_value(a), kth, axis=axis), axis, permutation=True)


def _argsort(a, axis=-1, kind=None, order=None, *, stable=None):
    extra = {} if stable is None else {"stable": stable}             # NumPy < 2.0 has no stable=
    return np.argsort(plain_value(a), axis=axis, kind=kind, order=order, **extra)


def _argpartition(a, kth, axis=-1, kind="introselect", order=None):
    return np.argpartition(plain_value(a), kth, axis=axis, kind=kind, order=order)


_sort.convention = "at ties each output follows the input a stable argsort puts there"
_partition.convention = "at ties each output follows the input np.argpartition puts there"
_argsort.convention = _argpartition.convention = "integer result: computed on the primal, a constant"
register_function(np.sort, _sort)
register_function(np.partition, _partition)
register_function(np.argsort, _argsort)
register_function(np.argpartition, _argpartition)


def _sort_complex(a):
    out = _sort(a, axis=-1)                               # complex values sort by real part, then imaginary
    dt = np.sort_complex(np.zeros(1, dtype=dtype_of(a))).dtype
    return out if dtype_of(out) == dt else out.astype(dt)


_sort_complex.convention = "as np.sort: at ties each output follows the input a stable argsort puts there"
register_function(np.sort_complex, _sort_complex)

# -- diagonals and triangles ---------------------------------------------------------------------


def _diag_len(shape, offset):
    n, m = shape
    return max(0, min(n + min(offset, 0), m - max(offset, 0)))


def _diagonal(a, offset=0, axis1=0, axis2=1):
    n = ndim_of(a)
    i, j = _axis(axis1, n), _axis(axis2, n)
    if i == j:
        raise ValueError("axis1 and axis2 cannot be the same")
    x = _moveaxis(a, (i, j), (-2, -1))
    k = _diag_len(shape_of(x)[-2:], int(offset))
    r = np.arange(k)
    return gather(x, (Ellipsis, r + max(-offset, 0), r + max(offset, 0)), unique=True)


def _diag(v, k=0):
    k = int(k)
    nd = ndim_of(v)
    if nd == 2:
        return _diagonal(v, k)
    if nd != 1:
        raise ValueError("Input must be 1- or 2-d.")
    n = shape_of(v)[0]
    size = n + abs(k)
    r = np.arange(n)
    index = (r + max(-k, 0), r + max(k, 0))
    return bind(index_add_p, (v,), {"index": index, "shape": (size, size), "out_ndim": 1, "basic": True})


def _triangle(keep):
    def tri(m, k=0):
        s = shape_of(m)
        mask = keep(np.ones(s[-2:], dtype=bool), k)
        return np.where(mask, m, np.zeros((), dtype=dtype_of(m)))
    return tri


register_function(np.diagonal, _diagonal)
register_function(np.diag, _diag)
register_function(np.triu, _triangle(np.triu))
register_function(np.tril, _triangle(np.tril))



# -- complex arguments ----------------------------------------------------------------------------
# Linear rearrangements: the same rearrangement (or its inverse) of tangents and adjoints, right for
# complex values as written; concatenate may join real and complex pieces (mixed=True).
complex_safe(reshape_p, transpose_p, broadcast_to_p)
complex_safe(concatenate_p, mixed=True)
