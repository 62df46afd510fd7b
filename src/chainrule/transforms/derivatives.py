"""The public transforms: jvp, vjp, grad, value_and_grad, jacfwd, jacrev, hessian, hvp.

Each is a short composition of the two flat engines
(:func:`chainrule.forward.jvp_flat`, :func:`chainrule.reverse.vjp_flat`)
and the adapter (:class:`~chainrule.transforms.adapter.FlatFun`): ``grad`` is
``vjp`` with a seed of 1; ``jacfwd`` is one batched ``jvp`` over the basis of
the input space; ``jacrev`` is one batched pullback over the basis of the
output space; ``hessian`` is ``jacfwd(jacrev(f))``; ``hvp`` is
``jvp(grad(f))``.  Names, arguments and output layouts follow JAX.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..core import Tracer
from ..errors import NonScalarOutputError, OutputDtypeError, ShapeMismatchError
from ..forward import jvp_flat
from ..reverse import may_change, vjp_flat
from ..pytree import flatten
from .adapter import FlatFun, check_holomorphic, dtype_of, match_structure, shape_of, strip, zeros
from .mode import directions_per_sweep, guess_bytes_per_direction, sweep_bytes_per_direction

__all__ = ["jvp", "vjp", "grad", "value_and_grad", "jacfwd", "jacrev", "hessian", "hvp"]


def _zeros(batch, like):
    z = zeros(batch, like)
    return z if z.shape else z.dtype.type(0)                    # a scalar zero for a scalar, like a gradient


def _caller_memory(*trees):
    """The ids of the caller's arrays in ``trees`` and of the arrays owning their memory."""
    ids = set()
    for tree in trees:
        for a in flatten(tree)[0]:
            if isinstance(a, np.ndarray):
                ids.add(id(a))
                if a.base is not None:
                    ids.add(id(a.base))
    return ids


def _owned(a, caller=()):
    """``a``, or a copy when the caller could not own it.

    A result must be a fresh, writable array: not a read-only view (the adjoint of a sum is a
    zero-stride broadcast), and not the caller's own input, tangent or cotangent or a view of one
    (``caller``: their ids, from :func:`_caller_memory`).  Only those are copied.
    """
    if type(a) is np.ndarray and (not a.flags.writeable or id(a) in caller
                                  or a.base is not None and id(a.base) in caller):
        return a.copy()
    return a


def _finish(adjoint, x, batch=()):
    """An input's adjoint: zeros where nothing reached it, in the input's dtype, writable and fresh."""
    if adjoint is None:
        return _zeros(batch, x)
    if type(adjoint) is np.float64 and type(x) is np.float64:       # the scalar case, quickly
        return adjoint
    dt = dtype_of(x)
    if type(adjoint) is np.ndarray and not adjoint.flags.writeable:
        adjoint = adjoint.astype(dt)                                # e.g. the broadcast adjoint of a sum
    if getattr(adjoint, "dtype", None) is dt and (batch or not isinstance(adjoint, np.ndarray)):
        return adjoint
    if dtype_of(adjoint) != dt:
        if dtype_of(adjoint).kind == "c" and dt.kind != "c":      # never drop an imaginary part silently
            raise OutputDtypeError(
                f"the derivative for a real input of dtype {dt} came out complex: a rule returned a complex "
                "adjoint for a real argument (a bug in that rule; please report it with the function)")
        adjoint = adjoint.astype(dt) if isinstance(adjoint, Tracer) else np.asarray(adjoint, dtype=dt)
    if batch == () and shape_of(adjoint) == () and not isinstance(adjoint, Tracer):
        adjoint = dt.type(adjoint)
    return adjoint


_ONE = {np.dtype(np.float64): np.float64(1.0), np.dtype(np.float32): np.float32(1.0)}


def _bind_kwargs(fun, kwargs):
    return functools.partial(fun, **kwargs) if kwargs else fun


def jvp(fun: Callable, primals: Sequence, tangents: Sequence, has_aux: bool = False) -> tuple:
    """Forward mode: the value of ``fun(*primals)`` and its derivative in direction ``tangents``.

    ``primals`` and ``tangents`` are tuples with one entry per argument of
    ``fun``, each a pytree; a tangent has the structure, shapes and dtypes of
    its primal.  Returns ``(out, out_tangent)`` (and ``aux`` with
    ``has_aux``), where ``out_tangent`` has the structure of ``out``.
    Cost: one forward sweep, about 2-3 evaluations of ``fun``; nothing is kept.

    >>> import numpy as np
    >>> out, t = jvp(lambda x, y: x * y + np.sin(x), (2.0, 3.0), (1.0, 0.0))
    >>> round(float(t), 12)
    2.583853163453
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp(fun, primals, tangents): primals and tangents must be tuples "
                        "with one entry per argument of fun, e.g. jvp(f, (x,), (v,))")
    flat = FlatFun(fun, tuple(primals), tuple(range(len(primals))), has_aux)
    t_leaves = match_structure("tangents", tuple(tangents), flat.in_tree, flat.in_leaves)
    outs, touts = jvp_flat(flat, flat.in_leaves, t_leaves)
    caller = _caller_memory(primals, tangents)
    outs = [_owned(o, caller) for o in outs]
    touts = [_zeros((), o) if t is None else _owned(t, caller) for o, t in zip(outs, touts)]
    result = (flat.outputs(outs), flat.outputs(touts))
    return result + (strip(flat.aux),) if has_aux else result


def vjp(fun: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """Reverse mode: the value of ``fun(*primals)`` and a function pulling adjoints back.

    Returns ``(out, vjp_fn)`` (and ``aux`` with ``has_aux``).  ``vjp_fn(ct)``
    takes an adjoint ``ct`` with the structure and shapes of ``out`` and
    returns a tuple with one adjoint per primal, ``ct^T J``.  It may be called
    many times; the recorded tape lives as long as ``vjp_fn``.
    Cost: one forward sweep that records a tape, one backward sweep per call.

    >>> import numpy as np
    >>> out, vjp_fn = vjp(lambda x, y: x * y + np.sin(x), 2.0, 3.0)
    >>> [round(float(v), 12) for v in vjp_fn(1.0)]
    [2.583853163453, 2.0]
    """
    flat = FlatFun(fun, primals, tuple(range(len(primals))), has_aux)
    # vjp_fn may be called after the caller changed an input in place: the tape keeps copies
    # (grad and jacrev sweep before they return, and need none)
    leaves = [x.copy() if type(x) is np.ndarray and may_change(x) else x for x in flat.in_leaves]
    outs, pullback = vjp_flat(flat, leaves)

    def vjp_fn(cotangent):
        cts = match_structure("the cotangent passed to vjp_fn", cotangent, flat.out_tree, outs)
        adjoints = pullback(cts)
        # an adjoint may be the caller's own cotangent array (f(x) = x) or a view of it: never hand it back
        caller = _caller_memory(cts)
        return tuple(flat.inputs([_finish(_owned(a, caller), x) for a, x in zip(adjoints, flat.in_leaves)]))

    # the tape may keep an output (exp keeps its result): the caller gets a copy to do with as it likes
    result = (flat.outputs([o.copy() if type(o) is np.ndarray else o for o in outs]), vjp_fn)
    return result + (strip(flat.aux),) if has_aux else result


def value_and_grad(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
                   holomorphic: bool = False) -> Callable:
    """Like :func:`grad`, but the new function returns ``(value, gradient)``.

    With ``has_aux`` it returns ``((value, aux), gradient)``, as JAX does.
    Cost: that of :func:`grad` (the value comes from the recorded forward sweep).

    >>> import numpy as np
    >>> v, g = value_and_grad(lambda x: np.sum(x ** 2))(np.array([1.0, 2.0]))
    >>> float(v), g.tolist()
    (5.0, [2.0, 4.0])
    """
    @functools.wraps(fun)
    def value_and_grad_fun(*args, **kwargs):
        value, grads, aux = _value_and_grad(fun, args, kwargs, argnums, has_aux, holomorphic)
        return ((value, aux) if has_aux else value), grads

    return value_and_grad_fun


def _value_and_grad(fun, args, kwargs, argnums, has_aux, holomorphic=False):
    """``(value, gradient, aux)``: one recorded sweep and one consuming backward sweep."""
    flat = FlatFun(_bind_kwargs(fun, kwargs), args, argnums, has_aux)
    outs, pullback = vjp_flat(flat, flat.in_leaves)
    dt = dtype_of(outs[0]) if len(outs) == 1 else None
    if holomorphic or dt is not None and dt.kind == "c":
        if not holomorphic:
            raise OutputDtypeError(
                f"grad of {getattr(fun, '__name__', 'the function')}: the output is complex ({dt}). For a "
                "holomorphic function pass holomorphic=True (the result is the complex derivative f'(z)); "
                "for a real-valued loss return a real number (np.real(z), np.abs(z) ** 2).")
        check_holomorphic("grad", fun, flat.in_leaves, outs, True)
    if dt is None or dt.kind not in "fc" or shape_of(outs[0]) != ():
        what = (f"{len(outs)} outputs" if len(outs) != 1 else
                f"an output of shape {shape_of(outs[0])} and dtype {dtype_of(outs[0])}")
        raise NonScalarOutputError(
            f"grad requires {getattr(fun, '__name__', 'the function')} to return one real scalar, "
            f"but it returned {what}. Use jacobian/jacrev/jacfwd for the full Jacobian, vjp with "
            "your own adjoint, or reduce the output (e.g. np.sum) first.")
    adjoints = pullback([_ONE.get(dt) or dt.type(1)], consume=True)
    grads = flat.inputs([_finish(a, x) for a, x in zip(adjoints, flat.in_leaves)])
    if type(outs[0]) is np.ndarray:                                # a 0-d array may be an input itself
        outs = [_owned(outs[0], _caller_memory(args))]
    return flat.outputs(outs), grads, (strip(flat.aux) if has_aux else None)


def grad(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
         holomorphic: bool = False) -> Callable:
    """The gradient of a scalar function, by reverse mode.

    ``argnums`` (an int or a tuple of ints) says which positional arguments to
    differentiate; the gradient has the structure of that argument (a tuple of
    them for a tuple ``argnums``; a repeated entry gets the same derivative
    again, as in JAX).  ``fun`` must return a real scalar, or a complex one
    with ``holomorphic=True`` (then the result is the complex derivative).
    For complex inputs of a real-valued ``fun`` the gradient is JAX's: under
    the bilinear pairing, the conjugate of the steepest-ascent direction
    (``grad(lambda z: abs(z) ** 2)(z) == 2 * conj(z)``).  The gradient is a
    fresh array the caller may write to.
    Cost: one recorded forward sweep and one backward sweep, whatever the
    number of inputs.

    >>> import numpy as np
    >>> f = lambda x, y: x * y + np.sin(x)
    >>> [round(float(g), 12) for g in grad(f, argnums=(0, 1))(2.0, 3.0)]
    [2.583853163453, 2.0]
    """
    @functools.wraps(fun)
    def grad_fun(*args, **kwargs):
        _, g, aux = _value_and_grad(fun, args, kwargs, argnums, has_aux, holomorphic)
        return (g, aux) if has_aux else g

    return grad_fun


def _basis_chunk(start, count, total):
    e = np.zeros((count, total))
    e[np.arange(count), start + np.arange(count)] = 1.0
    return e


def _split(chunk, leaves, widths=None):
    """Columns of a (k, total) basis chunk as one (k, *leaf.shape) direction per leaf.

    ``widths[i] == 2``: leaf ``i`` is complex and moves in its real and its imaginary direction, two
    interleaved columns per entry (1 and 1j).
    """
    out, off = [], 0
    k = chunk.shape[0]
    for i, x in enumerate(leaves):
        size = int(np.prod(shape_of(x), dtype=np.int64))
        if widths is not None and widths[i] == 2:
            pair = chunk[:, off:off + 2 * size].reshape(k, size, 2)
            out.append((pair[..., 0] + 1j * pair[..., 1]).reshape((k,) + shape_of(x)).astype(dtype_of(x)))
            off += 2 * size
            continue
        out.append(chunk[:, off:off + size].reshape((k,) + shape_of(x)).astype(dtype_of(x), copy=False))
        off += size
    return out


def _row_seeds(start, count, total, outs):
    """The seeds of rows ``start .. start+count`` of a reverse Jacobian: one ``(count, *shape)`` adjoint per
    output leaf, ``None`` (no adjoint, rather than zeros) for the leaves outside those rows, so that the
    backward sweep never visits work only they depend on (the states of a trajectory after the last one
    these rows read)."""
    seeds = _split(_basis_chunk(start, count, total), outs)
    if len(outs) > 1:
        off = 0
        for i, x in enumerate(outs):
            size = int(np.prod(shape_of(x), dtype=np.int64))
            if not (off < start + count and start < off + size):
                seeds[i] = None
            off += size
    return seeds


def pull_span(flat, outs, pullback, start, k, pieces, stop, consume_last=True, m=None):
    """Rows ``start .. stop`` of the Jacobian, ``k`` adjoints per backward sweep, appended to ``pieces``.

    The seeds take the outputs' dtypes (complex ones for a holomorphic function): the caller has
    made the complex-value checks on the function's inputs and outputs.  ``m``: the outputs' total
    size, if the caller knows it.
    """
    if m is None:
        m = sum(_sizes(outs))
    starts = range(start, stop, k)
    for s in starts:
        count = min(k, stop - s)
        adjoints = pullback(_row_seeds(s, count, m, outs), consume=consume_last and s == starts[-1])
        for p, a, x in zip(pieces, adjoints, flat.in_leaves):
            p.append(_finish(a, x, (count,)))
    return pieces


def _concat(parts):
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)


def _sizes(leaves):
    return [int(np.prod(shape_of(x), dtype=np.int64)) for x in leaves]


def jacfwd(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
           chunk_size: int | None = None, holomorphic: bool = False,
           executor: Any = None) -> Callable:
    """The Jacobian by forward mode: one batched sweep over the n input directions.

    For ``fun: R^n -> R^m`` the Jacobian of output leaf ``o`` with respect to
    input leaf ``x`` has shape ``o.shape + x.shape``; pytrees nest as in JAX
    (the output structure, each leaf replaced by the input structure).  The
    n basis directions travel together as one leading batch axis, ``chunk_size``
    at a time (default: a memory-bounded chunk).
    Cost: about n directions' worth of arithmetic in ceil(n / chunk) sweeps;
    no tape.  Prefer it when n is small compared with m.  ``executor``: a
    ``concurrent.futures`` executor or a ``dask.distributed.Client`` to sweep
    the directions on, in chunks (see :mod:`chainrule.transforms.fanout`).

    >>> import numpy as np
    >>> jacfwd(lambda x: np.sin(x) * 2.0)(np.zeros(2)).tolist()
    [[2.0, 0.0], [0.0, 2.0]]
    """
    if executor is not None:
        return _fanned(fun, argnums, has_aux, chunk_size, executor, "forward", jacfwd, holomorphic)
    return _forward_jacobian(fun, argnums, has_aux, chunk_size, holomorphic, False)


def _forward_jacobian(fun, argnums, has_aux, chunk_size, holomorphic, split):
    """``jacfwd``; with ``split``, complex inputs move in their real and imaginary directions.

    A block over a complex input leaf ``x`` then has shape ``o.shape + x.shape + (2,)``: ``[..., 0]``
    is the derivative along the real direction of each entry, ``[..., 1]`` along the imaginary one
    (the derivative of a non-holomorphic function is real-linear, not complex-linear: it takes both).
    """
    @functools.wraps(fun)
    def jac_fun(*args, **kwargs):
        flat = FlatFun(_bind_kwargs(fun, kwargs), args, argnums, has_aux)
        leaves = flat.in_leaves
        if not split:
            check_holomorphic("jacfwd", fun, leaves, None, holomorphic)
        sizes = _sizes(leaves)
        widths = [2 if split and dtype_of(x).kind == "c" else 1 for x in leaves]
        n = sum(s * w for s, w in zip(sizes, widths))
        k = directions_per_sweep(n, chunk_size, guess_bytes_per_direction(leaves))
        pieces, outs = None, None
        for start in range(0, max(n, 1), k):
            count = min(k, n - start)
            outs, touts = jvp_flat(flat, leaves, _split(_basis_chunk(start, count, n), leaves, widths))
            touts = [_zeros((count,), o) if t is None else _owned(t) for o, t in zip(outs, touts)]
            pieces = [[t] for t in touts] if pieces is None else [p + [t] for p, t in zip(pieces, touts)]
        if holomorphic:
            check_holomorphic("jacfwd", fun, leaves, outs, True)
        blocks = []
        for o, parts in zip(outs, pieces):
            full = _concat(parts)                              # (n, *o.shape)
            row, off = [], 0
            for x, size, w in zip(leaves, sizes, widths):
                b = full[off:off + w * size]
                if w == 2:                                     # (size, 2, *o.shape) -> o.shape + x.shape + (2,)
                    b = np.moveaxis(np.reshape(b, (size, 2) + shape_of(o)), (0, 1), (-2, -1))
                    row.append(np.reshape(b, shape_of(o) + shape_of(x) + (2,)))
                else:
                    row.append(np.reshape(np.moveaxis(b, 0, -1), shape_of(o) + shape_of(x)))
                off += w * size
            blocks.append(flat.inputs(row))
        jac = flat.outputs(blocks)
        return (jac, strip(flat.aux)) if has_aux else jac

    return jac_fun


def jacrev(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
           chunk_size: int | None = None, holomorphic: bool = False,
           executor: Any = None) -> Callable:
    """The Jacobian by reverse mode: one recorded sweep, then batched pullbacks over the m outputs.

    Same layout as :func:`jacfwd`.  The m basis adjoints travel together as
    one leading batch axis, ``chunk_size`` at a time; ``executor`` as in :func:`jacfwd`.
    Cost: one forward sweep that keeps a tape, and about m directions' worth
    of backward arithmetic.  Prefer it when m is small compared with n.

    >>> import numpy as np
    >>> jacrev(lambda x: np.sin(x) * 2.0)(np.zeros(2)).tolist()
    [[2.0, 0.0], [0.0, 2.0]]
    """
    if executor is not None:
        return _fanned(fun, argnums, has_aux, chunk_size, executor, "reverse", jacrev, holomorphic)

    @functools.wraps(fun)
    def jac_fun(*args, **kwargs):
        flat = FlatFun(_bind_kwargs(fun, kwargs), args, argnums, has_aux)
        leaves = flat.in_leaves
        outs, pullback = vjp_flat(flat, leaves)
        check_holomorphic("jacrev", fun, leaves, outs, holomorphic)
        out_sizes = _sizes(outs)
        m = sum(out_sizes)
        k = directions_per_sweep(m, chunk_size, lambda: sweep_bytes_per_direction(pullback.tape, leaves, outs))
        pieces = pull_span(flat, outs, pullback, 0, k, [[] for _ in leaves], m, m=m)
        fulls = [_concat(p) if p else _zeros((0,), x) for p, x in zip(pieces, leaves)]   # (m, *x.shape) per leaf
        blocks, off = [], 0
        for o, size in zip(outs, out_sizes):
            blocks.append(flat.inputs([np.reshape(f[off:off + size], shape_of(o) + shape_of(x))
                                       for f, x in zip(fulls, leaves)]))
            off += size
        jac = flat.outputs(blocks)
        return (jac, strip(flat.aux)) if has_aux else jac

    return jac_fun


def hessian(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
            executor: Any = None, holomorphic: bool = False) -> Callable:
    """The Hessian of a scalar function: ``jacfwd(jacrev(fun))``, forward over reverse.

    For an input of shape s the Hessian has shape ``s + s``.
    Cost: one recorded sweep plus a backward sweep, pushed forward along n
    directions at once; with ``executor``, those n directions are fanned out
    as in :func:`jacfwd`, each task recording ``fun`` itself.

    Complex inputs of a real-valued ``fun``: the Hessian is the derivative of
    ``grad(fun)`` (JAX's gradient, ``df/dx - i df/dy``), which is real-linear
    but not complex-linear in the direction, so each complex entry is moved in
    its real and in its imaginary direction and the block over a complex input
    of shape s has shape ``out.shape + s + s + (2,)``: ``H[..., 0]`` is
    ``d grad / d Re(z)`` and ``H[..., 1]`` is ``d grad / d Im(z)``, so that
    ``hvp(fun, z, v) == H[..., 0] @ Re(v) + H[..., 1] @ Im(v)`` (2n directions).
    ``holomorphic=True``: ``fun`` is complex-valued and holomorphic and the
    result is its complex second derivative, shape ``s + s``.

    >>> import numpy as np
    >>> hessian(lambda x: np.sum(x ** 3))(np.array([1.0, 2.0])).tolist()
    [[6.0, 0.0], [0.0, 12.0]]
    >>> hessian(lambda z: np.abs(z) ** 2)(1 + 2j).tolist()    # d(2 conj z)/dx = 2, d(2 conj z)/dy = -2i
    [(2+0j), -2j]
    """
    if executor is not None:
        if holomorphic:
            raise NotImplementedError("hessian(..., holomorphic=True, executor=...) is not supported yet; "
                                      "leave out executor=")
        from .fanout import JacrevOf
        return jacfwd(JacrevOf(fun, argnums, has_aux), argnums, has_aux, executor=executor)
    if holomorphic:
        return jacfwd(jacrev(fun, argnums, has_aux, holomorphic=True), argnums, has_aux, holomorphic=True)
    return _forward_jacobian(jacrev(fun, argnums, has_aux), argnums, has_aux, None, False, True)


def _fanned(fun, argnums, has_aux, chunk_size, executor, mode, transform, holomorphic):
    """``transform(fun)`` with its directions fanned out over ``executor`` (:mod:`.fanout`)."""
    from .fanout import fanned                         # it builds on this module

    return fanned(fun, argnums, has_aux, chunk_size, executor, mode, transform, holomorphic)


def hvp(fun: Callable, x: Any, v: Any, argnums: int | Sequence[int] | None = None, batched: bool = False) -> Any:
    """The Hessian of scalar ``fun`` at ``x`` times ``v``, without forming the Hessian.

    ``fun`` takes one argument (a pytree); ``v`` has the structure of ``x``.
    For complex ``x`` (and real-valued ``fun``) it is the derivative of
    ``grad(fun)`` in the direction ``v`` (complex): the second derivative is
    ``Re(sum(u * hvp(fun, x, v)))`` for directions ``u`` and ``v``.
    With ``argnums`` (an int or a tuple), ``x`` is the
    tuple of all of ``fun``'s arguments and ``v`` the direction of the
    arguments ``argnums`` names (for a tuple: one entry per name); the result
    has the structure of ``v``: for each named argument ``i``,
    ``sum_j H_ij v_j`` over the named arguments ``j``.  ``batched=True``: each
    leaf of ``v`` has a leading axis of ``k`` directions, and the result too
    (``k`` products in one batched sweep, as a Hessian column block).
    Forward over reverse: one ``jvp`` of ``grad(fun)``, about the cost of
    4-5 evaluations of ``fun`` (per direction, less when batched).

    >>> import numpy as np
    >>> hvp(lambda x: np.sum(x ** 3), np.array([1.0, 2.0]), np.array([1.0, 1.0])).tolist()
    [6.0, 12.0]
    >>> hvp(lambda x: np.sum(x ** 3), np.array([1.0, 2.0]), np.eye(2), batched=True).tolist()
    [[6.0, 0.0], [0.0, 12.0]]
    >>> [float(h) for h in hvp(lambda x, y: x * x * y, (2.0, 3.0), (1.0, 0.0), argnums=(0, 1))]
    [6.0, 4.0]
    """
    if argnums is None and not batched:
        return jvp(grad(fun), (x,), (v,))[1]
    if argnums is None:
        args, argnums = (x,), 0
    elif isinstance(x, (tuple, list)):
        args = tuple(x)
    else:
        raise TypeError("hvp(fun, x, v, argnums=...): x must be the tuple of all of fun's arguments, "
                        "e.g. hvp(f, (x, y), (vx, vy), argnums=(0, 1))")
    flat = FlatFun(grad(fun, argnums), args, argnums)
    if batched:
        t_leaves, k = _directions(v, flat)
    else:
        t_leaves = match_structure("v", v, flat.in_tree, flat.in_leaves)
    outs, touts = jvp_flat(flat, flat.in_leaves, t_leaves)
    batch, caller = ((k,) if batched else ()), _caller_memory(args, v)
    return flat.outputs([_zeros(batch, o) if t is None else _owned(t, caller) for o, t in zip(outs, touts)])


def _directions(v, flat):
    """The leaves of a batch of directions (each ``(k, *leaf.shape)``) and ``k``."""
    leaves, td = flatten(v)
    if td != flat.in_tree or not leaves:
        raise ShapeMismatchError(f"v has structure {td!r}, but it must match {flat.in_tree!r} (with a leading "
                                 "axis of directions on every leaf)")
    k = np.shape(leaves[0])[0] if np.ndim(leaves[0]) else None
    out = []
    for i, (g, e) in enumerate(zip(leaves, flat.in_leaves)):
        if k is None or np.shape(g) != (k,) + shape_of(e):
            raise ShapeMismatchError(f"v (batched): leaf {i} has shape {np.shape(g)}, but it must be "
                                     f"(k,) + {shape_of(e)}, k directions of the value's shape, with one k "
                                     "for all leaves")
        out.append(np.asarray(g, dtype=dtype_of(e)) if dtype_of(e).kind == "f" else g)
    return out, k
