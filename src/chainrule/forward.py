"""Forward mode: tangents travel with the primal values, from inputs to outputs.

A :class:`ForwardTracer` holds a primal and its tangent.  The tangent may
carry one leading *batch axis* of k directions (shape ``(k, *primal.shape)``),
so that a full Jacobian of f: R^n -> R^m is one vectorised sweep over the n
basis directions instead of n Python-level passes: NumPy does the k-fold work
inside each operation.  Whether there is a batch axis is decided by the seed;
rules see it as ``t.ndim - x.ndim`` leading axes and stay agnostic of k.

A tangent known to be zero is never materialised: constants are simply not
tracers, and a rule is only called for arguments that carry a tangent.
Nothing is kept once an operation has returned, so memory stays at the
primal's plus one tangent per live value.
"""

import numpy as np

from .core import EMPTY, Level, Tracer, bind, promote, quietly
from .errors import NotDifferentiableError

__all__ = ["ForwardTracer", "ForwardLevel", "jvp_flat", "split_outputs"]


class ForwardTracer(Tracer):
    """A primal value with its tangent (``tangent.shape == batch + primal.shape``)."""

    __slots__ = ("tangent",)

    def __init__(self, level, primal, tangent):
        self._level = level
        self.primal = primal
        self.tangent = tangent


class ForwardLevel(Level):
    """One forward-mode transform; ``process`` is its rule for every primitive."""

    __slots__ = ()

    def process_unary(self, prim, a):
        if self.nested or not prim.fast:
            return self.process(prim, (a,), EMPTY)
        x = a.primal
        out = prim.impl(x)
        rule = prim.jvps[0]
        if rule is None:
            raise NotDifferentiableError(prim.name, "with respect to argument 0")
        try:
            return ForwardTracer(self, out, rule(a.tangent, (out, x), EMPTY))
        except FloatingPointError:
            return ForwardTracer(self, out, quietly(rule, a.tangent, (out, x), EMPTY))

    def process(self, prim, args, params):
        if len(args) == 2 and prim.fast:                    # unrolled: the bulk of all operations
            a, b = args
            if type(a) is ForwardTracer and a._level is self:
                x, ta = a.primal, a.tangent
            else:
                x, ta = a, None
            if type(b) is ForwardTracer and b._level is self:
                y, tb = b.primal, b.tangent
            else:
                y, tb = b, None
            if self.nested:
                out = bind(prim, (x, y), params)
            elif params is EMPTY:
                out = prim.impl(x, y)
            else:
                out = prim.impl(x, y, **params)
            vals = (out, x, y)
            try:
                if prim.jvp_all is not None and ta is not None and tb is not None:   # pays off with two tangents
                    return ForwardTracer(self, out, prim.jvp_all((ta, tb), vals, params))
                jvps = prim.jvps
                t_out = None
                if ta is not None:
                    if jvps[0] is None:
                        raise NotDifferentiableError(prim.name, "with respect to argument 0")
                    t_out = jvps[0](ta, vals, params)
                if tb is not None:
                    if jvps[1] is None:
                        raise NotDifferentiableError(prim.name, "with respect to argument 1")
                    c = jvps[1](tb, vals, params)
                    t_out = c if t_out is None else t_out + c
                return ForwardTracer(self, out, t_out)
            except FloatingPointError:
                return ForwardTracer(self, out, quietly(self._tangent, prim, [ta, tb], vals, params))
        primals = []
        tangents = []
        for a in args:
            if type(a) is ForwardTracer and a._level is self:
                primals.append(a.primal)
                tangents.append(a.tangent)
            else:
                primals.append(a)
                tangents.append(None)
        if self.nested:
            out = bind(prim, primals, params)
        elif params is EMPTY:
            out = prim.impl(*primals)
        else:
            out = prim.impl(*primals, **params)
        if not prim.fast:
            return self._process_rare(prim, primals, tangents, out, params)
        vals = (out, *primals)
        try:
            return ForwardTracer(self, out, self._tangent(prim, tangents, vals, params))
        except FloatingPointError:
            return ForwardTracer(self, out, quietly(self._tangent, prim, tangents, vals, params))

    @staticmethod
    def _tangent(prim, tangents, vals, params):
        """The output tangent of a fast primitive: the sum of its rules over the arguments with tangents."""
        if prim.jvp_all is not None:
            return prim.jvp_all(tangents, vals, params)
        jvps = prim.jvps
        t_out = None
        i = 0
        for t in tangents:
            if t is not None:
                rule = jvps[i]
                if rule is None:
                    raise NotDifferentiableError(prim.name, f"with respect to argument {i}")
                c = rule(t, vals, params)
                t_out = c if t_out is None else t_out + c
            i += 1
        return t_out

    def _process_rare(self, prim, primals, tangents, out, params):
        """Non-differentiable, variadic and multiple-result primitives."""
        if not prim.differentiable:
            return out
        if prim.jvps is None:
            raise NotDifferentiableError(prim.name)
        try:
            return self._rare_tangents(prim, primals, tangents, out, params)
        except FloatingPointError:
            return quietly(self._rare_tangents, prim, primals, tangents, out, params)

    def _rare_tangents(self, prim, primals, tangents, out, params):
        jvps = prim.jvps
        vals = (out, *primals)
        t_out = None
        variadic = prim.arity is None
        if prim.jvp_all is not None:                        # one rule for all the tangents at once
            t_out = prim.jvp_all(tangents, vals, params)
            tangents = ()
        for i, t in enumerate(tangents):
            if t is None:
                continue
            if variadic:
                c = jvps(i, t, vals, params)
            else:
                rule = jvps[i]
                if rule is None:
                    raise NotDifferentiableError(prim.name, f"with respect to argument {i}")
                c = rule(t, vals, params)
            if t_out is None:
                t_out = c
            elif prim.multiple_results:
                t_out = tuple(a + b for a, b in zip(t_out, c))
            else:
                t_out = t_out + c
        if prim.multiple_results:
            return tuple(ForwardTracer(self, o, t) for o, t in zip(out, t_out))
        return ForwardTracer(self, out, t_out)


def jvp_flat(fun, primals, tangents):
    """Run ``fun`` (a list of values -> a list of values) with tangents attached.

    Returns ``(out_primals, out_tangents)``; an output that does not depend on
    the inputs has tangent ``None`` (a symbolic zero), for the caller to
    instantiate with the shape it needs.
    """
    with ForwardLevel() as level:
        inputs = [p if t is None else ForwardTracer(level, p, t) for p, t in zip(primals, tangents)]
        return split_outputs(level, fun(inputs))


def split_outputs(level, outs):
    """``(out_primals, out_tangents)`` of the values ``outs`` a function returned inside ``level``."""
    out_primals, out_tangents = [], []
    for o in outs:
        if type(o) is np.ndarray and o.dtype.kind == "O":      # np.array([t1, t2]) returned as it is
            o = promote(o)
        if isinstance(o, ForwardTracer) and o._level is level:
            out_primals.append(o.primal)
            out_tangents.append(o.tangent)
        else:
            out_primals.append(o)
            out_tangents.append(None)
    return out_primals, out_tangents
