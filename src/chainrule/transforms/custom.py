"""User-supplied derivative rules: ``custom_jvp`` and ``custom_vjp``.

For a function chainrule cannot or should not differentiate through (an
iterative solver, a numerically stable formula, a call into compiled code),
the user gives the derivative and chainrule uses it instead of tracing.

* ``custom_jvp``: a JVP rule ``(primals, tangents) -> (out, out_tangent)``.
  The call is a primitive whose JVP is the user's rule.  Its VJP is derived
  by transposition: the rule is linear in the tangents, so running it on a
  reverse-traced tangent (the primals held fixed) and pulling the adjoint
  back through that short tape gives ``J^T g``.  Because the rule is written
  with NumPy functions, and outer levels see its primal computations, every
  order and both modes work.
* ``custom_vjp``: a forward function ``fwd(*args) -> (out, residuals)`` and a
  backward function ``bwd(residuals, g) -> input adjoints``.  Under reverse
  mode ``fwd`` runs one level below the reverse level (so outer transforms
  differentiate it and its residuals carry their derivatives) and one tape
  entry keeps the residuals.  Forward mode has no use for a VJP: it is an
  error that points to ``custom_jvp``.

Rules see tangents and adjoints with the shapes of the values they belong to:
when ``jacfwd`` or ``jacrev`` push several directions at once, the rule is
called once per direction.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from ..core import Meta, Primitive, Tracer, bind
from ..errors import ChainruleError, NotDifferentiableError, ShapeMismatchError
from ..pytree import flatten, unflatten
from ..reverse import ReverseLevel, record, vjp_flat
from .adapter import dtype_of, shape_of
from .checkpoint import CallRecord, batch_of, check_closure, check_outputs, fill, zeros

__all__ = ["custom_jvp", "custom_vjp"]


def _name(f):
    return getattr(f, "__name__", None) or type(f).__name__


def _numeric(x):
    return isinstance(x, (Tracer, np.ndarray, float, int, complex, np.number)) and not isinstance(x, bool)


def _like(x):
    """What a rule needs to know of a value it does not read: shape and dtype (None if not numeric)."""
    return Meta(tuple(shape_of(x)), dtype_of(x)) if _numeric(x) else None


def _tangent_zero(x, batch=()):
    return zeros(batch, x) if _numeric(x) else None


def _per_direction(fn, batch, like_in, *directions):
    """Call ``fn`` on each of the ``batch`` directions of ``directions`` and stack the results.

    ``fn(*one_direction) -> list of leaves`` shaped like ``like_in``; the
    results get the batch axes back in front.
    """
    if not batch:
        return fn(*directions)
    k = int(np.prod(batch, dtype=np.int64))
    flat = [None if d is None else np.reshape(d, (k,) + tuple(np.shape(d))[len(batch):]) for d in directions]
    results = [fn(*[None if d is None else d[b] for d in flat]) for b in range(k)]
    return [np.reshape(np.stack(col), tuple(batch) + tuple(shape_of(x)))
            for col, x in zip(zip(*results), like_in)]


def _conform(what, f, leaves, tree, like, like_tree):
    """Check a rule's result against the structure and shapes it must have; zeros for ``None``."""
    if tree != like_tree:
        raise ShapeMismatchError(f"{what} of {_name(f)} has structure {tree!r}, but it must match "
                                 f"{like_tree!r}")
    out = []
    for k, (v, x) in enumerate(zip(leaves, like)):
        if v is None:
            out.append(zeros((), x))
            continue
        if tuple(np.shape(v)) != tuple(shape_of(x)):
            if np.ndim(v) == 0:
                v = v + zeros((), x)
            else:
                raise ShapeMismatchError(f"{what} of {_name(f)}: leaf {k} has shape {np.shape(v)}, but "
                                         f"the value it belongs to has shape {shape_of(x)}")
        out.append(v)
    return out


# -- custom_jvp ----------------------------------------------------------------------------------

class _JVPCall:
    """One call of a custom_jvp function: its static leaves and where the traced ones go."""

    __slots__ = ("owner", "static", "tree", "pos", "out_tree")

    def __init__(self, owner, leaves, tree, pos):
        self.owner = owner
        traced = set(pos)
        self.static = [None if k in traced else x for k, x in enumerate(leaves)]
        self.tree = tree
        self.pos = pos
        self.out_tree = None

    def args(self, dyn):
        full = list(self.static)
        for k, v in zip(self.pos, dyn):
            full[k] = v
        return full

    def primal(self, dyn):
        out_leaves, self.out_tree = flatten(self.owner.fun(*unflatten(self.tree, self.args(dyn))))
        return out_leaves

    def tangent(self, dyn, dyn_tangents):
        """The user's rule at primals ``dyn`` for tangents ``dyn_tangents`` (one direction)."""
        primals = self.args(dyn)
        tangents = [_tangent_zero(x) for x in primals]
        for k, t in zip(self.pos, dyn_tangents):
            tangents[k] = t
        result = self.owner.jvp_rule(unflatten(self.tree, primals), unflatten(self.tree, tangents))
        if not (isinstance(result, tuple) and len(result) == 2):
            raise TypeError(f"the JVP rule of {_name(self.owner.fun)} must return a pair "
                            f"(primal_out, tangent_out); it returned {type(result).__name__}")
        out_leaves, out_tree = flatten(result[0])
        t_leaves, t_tree = flatten(result[1])
        if self.out_tree is None:
            self.out_tree = out_tree
        return _conform("the tangent returned by the JVP rule", self.owner.fun, t_leaves, t_tree,
                        out_leaves, self.out_tree)


def _jvp_impl(*dyn, call):
    info = call.extra
    outs = info.primal(list(dyn))
    check_closure(outs, call.depth, f"custom_jvp function {_name(info.owner.fun)!r}",
                  "one of its arguments")
    check_outputs(outs, f"custom_jvp function {_name(info.owner.fun)!r}")
    return tuple(outs)


def _jvp_jvp(i, t, vals, params):
    info = params["call"].extra
    dyn = list(vals[1:])
    outs = vals[0]
    batch = batch_of(t, dyn[i])

    def one(t_i):
        ts = [t_i if k == i else zeros((), x) for k, x in enumerate(dyn)]
        return info.tangent(dyn, ts)

    return tuple(_per_direction(one, batch, outs, t))


def _jvp_vjp(j, g, vals, params):
    call = params["call"]
    info = call.extra

    def pull(g, vals):
        dyn = list(vals[1:])
        _, pullback = vjp_flat(lambda ts: info.tangent(dyn, ts), [zeros((), x) for x in dyn])
        return fill(pullback(list(g), consume=True), dyn, batch_of(g[0], vals[0][0]))

    return call.adjoint(j, g, vals, pull)


custom_jvp_p = Primitive("chainrule.custom_jvp", _jvp_impl, arity=None)
custom_jvp_p.set_rules(_jvp_jvp, _jvp_vjp, frozenset({"args"}), multiple_results=True)


class custom_jvp:
    """A function with a JVP rule of your own, used by both modes and at every order.

    Decorate the function, then give the rule with ``f.defjvp``::

        @custom_jvp
        def f(x, y): ...

        @f.defjvp
        def f_jvp(primals, tangents):
            x, y = primals
            x_dot, y_dot = tangents
            return f(x, y), <the tangent of the output>

    ``primals`` and ``tangents`` are tuples with one entry per positional
    argument (pytrees of the arguments' structure; the tangent of an argument
    that is not differentiated is zeros).  The tangent output must be
    linear in ``tangents`` and have the output's structure and shapes.
    Reverse mode transposes the rule (it runs once more on a traced tangent),
    so write it with NumPy functions; it is then differentiable itself and
    ``grad(grad(f))`` works.  Without a transform, ``f`` is simply called.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> @custom_jvp
    ... def round_through(x):                 # rounds, but differentiates as the identity
    ...     return np.round(x)
    >>> @round_through.defjvp
    ... def _(primals, tangents):
    ...     return round_through(primals[0]), tangents[0]
    >>> float(cr.grad(lambda x: 3.0 * round_through(x))(0.7)), float(cr.jvp(round_through, (0.7,), (2.0,))[1])
    (3.0, 2.0)
    """

    def __init__(self, fun: Callable) -> None:
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.jvp_rule = None

    def defjvp(self, jvp_rule: Callable) -> Callable:
        """Set the rule ``jvp_rule(primals, tangents) -> (primal_out, tangent_out)``; returns it."""
        self.jvp_rule = jvp_rule
        return jvp_rule

    def __call__(self, *args):
        if self.jvp_rule is None:
            raise TypeError(f"custom_jvp function {_name(self.fun)} has no JVP rule yet; "
                            f"give one with {_name(self.fun)}.defjvp(rule)")
        leaves, tree = flatten(args)
        pos = [k for k, x in enumerate(leaves) if isinstance(x, Tracer)]
        if not pos:
            return self.fun(*args)
        dyn = [leaves[k] for k in pos]
        call = _JVPCall(self, leaves, tree, pos)
        outs = bind(custom_jvp_p, tuple(dyn), {"call": CallRecord(None, dyn, call)})
        return unflatten(call.out_tree, outs)


# -- custom_vjp ----------------------------------------------------------------------------------

def _vjp_vjp(j, g, vals, params):
    call = params["call"]
    info = call.extra
    owner = info.owner

    def pull(g, vals):
        outs, res_leaves = vals[0], vals[1:]
        residuals = unflatten(info.res_tree, res_leaves)
        batch = batch_of(g[0], outs[0])

        def one(*g_one):
            cts = owner.bwd(residuals, unflatten(info.out_tree, list(g_one)))
            if not isinstance(cts, (tuple, list)) or len(cts) != info.n_args:
                raise TypeError(f"the bwd rule of {_name(owner.fun)} must return a tuple with one adjoint "
                                f"per positional argument ({info.n_args}); it returned {cts!r:.80}")
            leaves = []
            for a, (like, td) in zip(cts, info.arg_trees):
                if a is None:
                    leaves.extend(None if x is None else zeros((), x) for x in like)
                    continue
                got, got_tree = flatten(a)
                leaves.extend(_conform("the adjoint returned by bwd", owner.fun, got, got_tree, like, td))
            return [leaves[k] for k in info.pos]

        return _per_direction(one, batch, info.dyn_like, *g)

    return call.adjoint(j, g, vals, pull)


def _vjp_impl(*args, call):
    raise RuntimeError("custom_vjp calls are recorded on the tape directly, never evaluated by bind")


custom_vjp_p = Primitive("chainrule.custom_vjp", _vjp_impl, arity=None)
custom_vjp_p.set_rules(None, _vjp_vjp, frozenset({"args"}), multiple_results=True)


class _VJPInfo:
    __slots__ = ("owner", "pos", "n_args", "arg_trees", "res_tree", "out_tree", "dyn_like")


class custom_vjp:
    """A function with a VJP rule of your own, for reverse mode.

    Decorate the function, then give a forward and a backward function with
    ``f.defvjp(fwd, bwd)``: ``fwd(*args) -> (out, residuals)`` computes the
    output and whatever the backward function needs (a pytree);
    ``bwd(residuals, g) -> tuple`` returns one adjoint per positional
    argument, each with that argument's structure (``None`` for zero).
    The tape keeps the residuals.  Without a transform, ``f`` is simply
    called.

    Forward mode (``jvp``, ``jacfwd``) needs a JVP, which a VJP rule does not
    give: that is an error; use :class:`custom_jvp` for it.  Under an outer
    transform (``grad(grad(f))``, ``hessian``) ``fwd`` and ``bwd`` are
    differentiated like ordinary code, so they must be written with NumPy
    functions for that.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> @custom_vjp
    ... def log1pexp(x):
    ...     return np.logaddexp(0.0, x)
    >>> def fwd(x):
    ...     return log1pexp(x), x
    >>> def bwd(x, g):
    ...     return (g / (1.0 + np.exp(-x)),)
    >>> log1pexp.defvjp(fwd, bwd)
    >>> float(cr.grad(log1pexp)(800.0))
    1.0
    """

    def __init__(self, fun: Callable) -> None:
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.fwd = None
        self.bwd = None

    def defvjp(self, fwd: Callable, bwd: Callable) -> None:
        """Set ``fwd(*args) -> (out, residuals)`` and ``bwd(residuals, g) -> tuple of adjoints``."""
        self.fwd = fwd
        self.bwd = bwd

    def __call__(self, *args):
        if self.fwd is None:
            raise TypeError(f"custom_vjp function {_name(self.fun)} has no VJP rule yet; "
                            f"give one with {_name(self.fun)}.defvjp(fwd, bwd)")
        leaves, tree = flatten(args)
        pos = [k for k, x in enumerate(leaves) if isinstance(x, Tracer)]
        if not pos:
            return self.fun(*args)
        level = max((leaves[k]._level for k in pos), key=lambda lv: lv.depth)
        if not isinstance(level, ReverseLevel):
            raise NotDifferentiableError(
                f"custom_vjp function {_name(self.fun)}",
                "forward mode (jvp, jacfwd) needs a JVP rule, and a custom_vjp gives only a VJP; "
                "decorate it with chainrule.custom_jvp instead, which serves both modes")
        down = [x.primal if isinstance(x, Tracer) and x._level is level else x for x in leaves]
        try:
            result = self.fwd(*unflatten(tree, down))
        except ChainruleError as e:
            if any(isinstance(x, Tracer) for x in down):
                raise type(e)(f"{e}\n(While running the fwd rule of custom_vjp function {_name(self.fun)} "
                              "under an outer transform, which differentiates fwd and bwd as ordinary "
                              "code. For derivatives of every order, give a custom_jvp rule.)") from e
            raise
        if not (isinstance(result, tuple) and len(result) == 2):
            raise TypeError(f"the fwd rule of {_name(self.fun)} must return a pair (output, residuals); "
                            f"it returned {type(result).__name__}")
        out, residuals = result
        out_leaves, out_tree = flatten(out)
        res_leaves, res_tree = flatten(residuals)
        # fwd ran one level down: a tracer of this level (or a deeper one) in its results was read
        # from a closure, and its derivative would be lost
        check_closure(list(out_leaves) + list(res_leaves), level.depth,
                      f"custom_vjp function {_name(self.fun)!r}", "one of its arguments")
        info = _VJPInfo()
        info.owner, info.pos, info.n_args = self, pos, len(args)
        info.arg_trees = [([_like(x) for x in lv], td) for lv, td in map(flatten, args)]
        info.res_tree, info.out_tree = res_tree, out_tree
        info.dyn_like = [_like(down[k]) for k in pos]
        dyn = [leaves[k] for k in pos]
        tracers = record(level, custom_vjp_p, dyn, tuple(out_leaves), tuple(res_leaves),
                         {"call": CallRecord(None, dyn, info)})
        return unflatten(out_tree, tracers)

