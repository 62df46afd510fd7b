"""Checkpointing: trade recomputation for memory in reverse mode.

Reverse mode keeps, for every operation, the values its adjoint rule will
read.  ``checkpoint(f)`` turns a whole call of ``f`` into one entry of the
tape that keeps only the call's inputs.  When the backward sweep reaches the
entry, it runs ``f`` again under a fresh reverse trace, pulls the adjoint
through that short tape and drops it.  The intermediates of ``f`` therefore
live only while that one call is being reversed.

The call is a primitive, ``checkpoint_p``, whose parameter is the call
itself (the function on flat lists of leaves):

* its implementation runs ``f`` on plain values;
* its VJP re-traces ``f`` with :func:`~chainrule.reverse.vjp_flat`;
* its JVP pushes a tangent through ``f`` with
  :func:`~chainrule.forward.jvp_flat`, itself checkpointed when a reverse
  level sits below, so reverse-over-forward keeps only inputs as well.

Because it is a primitive, every level of a nested transform sees it and
handles it with its own rule: under ``hessian`` (forward over reverse) the
VJP rule receives forward tracers and the re-trace nests like any other
computation.  With no reverse level involved, ``checkpoint`` simply calls
``f``: forward mode keeps nothing anyway.

A checkpointed function must receive the values it is differentiated with
respect to as arguments.  A traced value it reads from a closure would be
recorded as an ordinary computation, so that case is an error that says so.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

import numpy as np

from ..core import Primitive, Tracer, bind
from ..errors import TracerConversionError
from ..forward import jvp_flat
from ..pytree import flatten, unflatten
from ..reverse import ReverseTracer, vjp_flat
from .adapter import dtype_of, zeros

__all__ = ["checkpoint", "checkpoint_p", "call_checkpointed"]


# -- helpers shared with loop and the custom rules -------------------------------------------

def levels_below(values):
    """The levels of every tracer in the primal chains of ``values`` (outermost first)."""
    seen = {}
    for v in values:
        while isinstance(v, Tracer):
            seen[id(v._level)] = v._level
            v = v.primal
    return sorted(seen.values(), key=lambda lv: lv.depth)


def under_reverse(values):
    """True if a reverse-mode tracer occurs in the primal chain of any of ``values``."""
    for v in values:
        while isinstance(v, Tracer):
            if isinstance(v, ReverseTracer):
                return True
            v = v.primal
    return False


def batch_of(t, like):
    """The leading batch axes of tangent or adjoint ``t`` of a value shaped like ``like``."""
    shape = tuple(np.shape(t))
    return shape[: len(shape) - len(np.shape(like))]


def closure_error(what, where):
    return TracerConversionError(
        f"{what} reads a value being differentiated that is not {where} (a traced value held in a "
        f"closure, a global or an object attribute). chainrule would record it as an ordinary "
        f"computation and lose the memory saving, or worse. Pass that value in as {where}.")


def check_outputs(outs, what):
    """Results of a function bound as one primitive must be floating-point values, each a tracer-to-be."""
    for k, o in enumerate(outs):
        if dtype_of(o).kind not in "fc":
            raise TypeError(f"{what} returned {type(o).__name__} of dtype {dtype_of(o)} as result leaf {k}; "
                            "only floating-point results can carry derivatives. Return integer or boolean "
                            "values from a function that is not checkpointed or custom.")


def check_closure(outs, outer_depth, what, where):
    """Outputs may hold tracers only of levels outside every level the call is bound at."""
    for o in outs:
        while isinstance(o, Tracer):
            if o._level.depth >= outer_depth and not o._staged:     # chainrule.jit stages what it runs
                raise closure_error(what, where)
            o = o.primal


class CallRecord:
    """One call of a function the engines treat as a single primitive.

    ``fun`` maps a flat list of values to a flat list of values; ``depth`` is
    the depth of the outermost level among the arguments (tracers of deeper
    levels must not come out of ``fun`` through a closure).  ``cache`` holds
    the adjoints of all arguments between the per-argument VJP calls of the
    engine, which asks for them one argument at a time.  It is kept per
    thread: one pullback may be swept by several threads at once, and each
    sweep asks for its own adjoints from its own thread.
    """

    __slots__ = ("fun", "depth", "cache", "extra")

    def __init__(self, fun, args, extra=None):
        self.fun = fun
        lv = levels_below(args)
        self.depth = lv[0].depth if lv else float("inf")
        self.cache = {}                     # thread id -> (g, vals, adjoints not yet handed out)
        self.extra = extra

    def adjoint(self, j, g, vals, pull):
        """The adjoint of argument ``j``; ``pull(g, vals)`` computes all of them at once."""
        me = threading.get_ident()
        c = self.cache.get(me)
        if c is None or c[0] is not g or c[1] is not vals or c[2][j] is None:
            c = self.cache[me] = (g, vals, list(pull(g, vals)))
        adjoints = c[2]
        a = adjoints[j]
        adjoints[j] = None
        if all(x is None for x in adjoints):
            del self.cache[me]
        return a


def fill(adjoints, like, batch):
    return [zeros(batch, x) if a is None else a for a, x in zip(adjoints, like)]


# -- the primitive ---------------------------------------------------------------------------

def _impl(*args, call):
    outs = call.fun(list(args))
    check_closure(outs, call.depth, "a checkpointed function", "one of its arguments")
    check_outputs(outs, "a checkpointed function")
    return tuple(outs)


def _pull(call):
    def pull(g, vals):
        primals = list(vals[1:])
        _, pullback = vjp_flat(call.fun, primals)
        adjoints = pullback(list(g), consume=True)
        return fill(adjoints, primals, batch_of(g[0], vals[0][0]))
    return pull


def _vjp(j, g, vals, params):
    call = params["call"]
    return call.adjoint(j, g, vals, _pull(call))


def _jvp(i, t, vals, params):
    call = params["call"]
    primals = list(vals[1:])
    n = len(primals)
    batch = batch_of(t, primals[i])

    def tangent_fun(xs):
        tangents = [None] * n
        tangents[i] = xs[n]
        outs, t_outs = jvp_flat(call.fun, xs[:n], tangents)
        return fill(t_outs, outs, batch)

    return tuple(call_checkpointed(tangent_fun, primals + [t]))


def _jvp_all(tangents, vals, params):
    """All the arguments' tangents pushed through ``fun`` in one checkpointed forward sweep."""
    call = params["call"]
    primals = list(vals[1:])
    n = len(primals)
    live = [i for i, t in enumerate(tangents) if t is not None]
    batch = batch_of(tangents[live[0]], primals[live[0]])

    def tangent_fun(xs):
        ts = [None] * n
        for j, i in enumerate(live):
            ts[i] = xs[n + j]
        outs, t_outs = jvp_flat(call.fun, xs[:n], ts)
        return fill(t_outs, outs, batch)

    return tuple(call_checkpointed(tangent_fun, primals + [tangents[i] for i in live]))


checkpoint_p = Primitive("chainrule.checkpoint", _impl, arity=None)
checkpoint_p.set_rules(_jvp, _vjp, frozenset({"args"}), multiple_results=True, complex_ok=True)
checkpoint_p.set_joint(_jvp_all)            # one sweep of fun for every tangent, not one per argument


def call_checkpointed(fun, args, what=None):
    """``fun(args)`` (flat lists) as one checkpointed call when a reverse level sees it, else directly.

    With ``what`` (the user-facing name), a direct call whose results carry a
    reverse-mode tracer read from a closure is an error: the caller asked for
    checkpointing and would silently not get it.
    """
    if not under_reverse(args):
        outs = fun(list(args))
        if what is not None and under_reverse(outs):
            raise closure_error(what, "one of its arguments")
        return outs
    return list(bind(checkpoint_p, tuple(args), {"call": CallRecord(fun, args)}))


def checkpoint(fun: Callable) -> Callable:
    """Make reverse mode keep only the inputs of ``fun`` and recompute the rest when needed.

    ``checkpoint(fun)`` (or ``@checkpoint``) returns a function with the same
    signature and results.  Under reverse mode (``grad``, ``vjp``,
    ``jacrev``, ``hessian``) a call keeps its traced arguments on the tape
    instead of every intermediate of ``fun``; the backward sweep runs ``fun``
    again under a fresh reverse trace to pull the adjoint through it.
    Under forward mode, or with no transform, it just calls ``fun``.

    Arguments and results may be pytrees.  Values that ``fun`` is
    differentiated with respect to must be passed as arguments, not read
    from a closure (that is an error).  Cost: one extra evaluation of ``fun``
    per call in the backward sweep; memory: the arguments, instead of all of
    ``fun``'s intermediates.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> @checkpoint
    ... def block(x):
    ...     return np.tanh(np.sin(x) * x)
    >>> x = np.array([0.5, 1.0])
    >>> bool(np.allclose(cr.grad(lambda x: np.sum(block(block(x))))(x),
    ...                  cr.grad(lambda x: np.sum(np.tanh(np.sin(np.tanh(np.sin(x) * x)) *
    ...                                               np.tanh(np.sin(x) * x))))(x)))
    True
    """
    @functools.wraps(fun)
    def checkpointed(*args, **kwargs):
        leaves, tree = flatten((args, kwargs))
        pos = [k for k, x in enumerate(leaves) if isinstance(x, Tracer)]
        what = f"checkpointed function {getattr(fun, '__name__', fun)!r}"
        if not pos:
            out = fun(*args, **kwargs)
            if under_reverse(flatten(out)[0]):
                raise closure_error(what, "one of its arguments")
            return out
        static = [None if isinstance(x, Tracer) else x for x in leaves]
        out_tree = []

        def flat(dyn):
            full = list(static)
            for k, v in zip(pos, dyn):
                full[k] = v
            a, kw = unflatten(tree, full)
            out_leaves, td = flatten(fun(*a, **kw))
            if not out_tree:
                out_tree.append(td)
            elif td != out_tree[0]:
                raise ValueError(f"checkpointed function {getattr(fun, '__name__', fun)!r} returned "
                                 f"{td!r} when run again, but {out_tree[0]!r} the first time; it must "
                                 "be deterministic")
            return out_leaves

        outs = call_checkpointed(flat, [leaves[k] for k in pos], what)
        return unflatten(out_tree[0], outs)

    return checkpointed
