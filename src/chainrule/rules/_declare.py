"""Declaration helpers: how a rule module says what the derivative of a function is.

* ``elementwise(np.sin, lambda x: np.cos(x))`` -- give the local partial
  derivative of the output with respect to each argument, once; both the JVP
  (partial times tangent) and the VJP (adjoint times partial, summed over
  broadcast axes) are generated from it.  A partial's parameter names say what
  it reads: ``out`` and the argument names (``x, y, z`` by default), so the
  reverse engine keeps exactly those values.  A number is a constant partial
  (``np.add`` is ``1, 1``); ``None`` marks an argument without a derivative.
* ``linear(prim, jvp, vjp)`` -- a function linear in its traced argument; its
  VJP needs no saved values.
* ``rule(prim, jvps, vjps, needs)`` -- the general form, one JVP and one VJP
  per argument, each ``f(t, out, *args, **params)``.
* ``nondifferentiable(np.floor, ...)`` -- the output is a constant on purpose.
* ``complex_safe(np.sin, ...)`` -- the declared rules are right for complex
  arguments under the bilinear pairing (no conjugation inside the rules).
  Without it a rule refuses complex values (see
  :func:`chainrule.core.refuse_complex`); every helper also takes
  ``complex_ok=True``.

Every helper writes into the :class:`~chainrule.core.Primitive`; engines
reach rules only through it.
"""

from math import isfinite as _isfinite

import numpy as np

from ..core import Primitive, primitive_of
from ._broadcast import dtype_of, fit_adjoint, fit_tangent, seeded, seeded_all
from ._pattern import elementwise_pattern

__all__ = ["elementwise", "linear", "rule", "nondifferentiable", "as_primitive", "complex_safe", "real_for"]


def as_primitive(target):
    if isinstance(target, Primitive):
        return target
    if isinstance(target, np.ufunc):
        return primitive_of(target)
    raise TypeError(f"expected a Primitive or a numpy ufunc, got {target!r}")


def complex_safe(*targets, mixed=False):
    """Mark declared primitives as right for complex arguments (their rules lose the complex guard).

    ``mixed=True``: the primitive takes several arguments, a real one may meet a complex one
    (``W @ z``), and its VJP rules do not take care of that themselves; each is then followed by
    :func:`real_for` (the elementwise helper's rules already are).
    """
    for target in targets:
        prim = as_primitive(target)
        prim.mark_complex_ok()
        if not mixed:
            continue
        if callable(prim.vjps):                             # variadic: one rule, the index first
            vjp = prim.vjps
            prim.vjps = lambda i, g, vals, params: real_for(vjp(i, g, vals, params), vals[i + 1])
        else:
            prim.vjps = tuple(None if r is None else _projected(r, i + 1) for i, r in enumerate(prim.vjps))


def _projected(rule, a):
    return lambda g, vals, params: real_for(rule(g, vals, params), vals[a])


_F64 = np.float64
_ND = np.ndarray


def real_for(c, x):
    """The adjoint ``c`` of ``x``, real when ``x`` is real.

    Under the bilinear pairing the transpose of the inclusion of the reals in the complex numbers is
    the real part: a real input that met a complex value (``t * H``) gets ``Re(c)``, mathematically,
    not by a cast.
    """
    if type(c) is np.float64:                       # scalar real code: the hot path
        return c
    d = getattr(c, "dtype", None)
    if d is not None and d.kind == "c" and dtype_of(x).kind != "c":
        return np.real(c)
    return c


def _positions(fn, argnames):
    code = fn.__code__
    names = code.co_varnames[: code.co_argcount]
    pos = []
    for n in names:
        if n == "out":
            pos.append(0)
        elif n in argnames:
            pos.append(1 + argnames.index(n))
        else:
            raise TypeError(f"parameter {n!r} of a partial derivative must be 'out' or one of {argnames}")
    return tuple(pos)


def _reader(fn, pos):
    """``vals -> fn(selected vals)`` without building an argument list per call."""
    if len(pos) == 0:
        return lambda vals: fn()
    if len(pos) == 1:
        (k,) = pos
        return lambda vals: fn(vals[k])
    if len(pos) == 2:
        k, m = pos
        return lambda vals: fn(vals[k], vals[m])
    return lambda vals: fn(*[vals[k] for k in pos])


def _elementwise_rules(i, partial, arity, argnames, finite=False):
    """(jvp, vjp, needs) of argument ``i`` from its local partial derivative."""
    guard = _unguarded if finite else seeded
    a = i + 1
    if partial is None:
        return None, None, frozenset()
    if not callable(partial):
        c = partial
        if arity == 1:
            if c == 1:
                return (lambda t, vals, params: t), (lambda g, vals, params: g), frozenset()
            return (lambda t, vals, params: c * t), (lambda g, vals, params: c * g), frozenset()
        if c == 1:
            def vjp_identity(g, vals, params):
                if type(g) is _F64:                 # a scalar adjoint: out, hence x, is a real scalar
                    return g
                x, out = vals[a], vals[0]
                if getattr(x, "shape", ()) == getattr(out, "shape", ()):     # no broadcast to undo
                    return g if type(g) is np.ndarray and g.dtype.kind == "f" else real_for(g, x)
                return real_for(fit_adjoint(g, x, out), x)
            return (lambda t, vals, params: fit_tangent(t, vals[a], vals[0])), vjp_identity, frozenset()
        return ((lambda t, vals, params: c * fit_tangent(t, vals[a], vals[0])),
                (lambda g, vals, params: real_for(fit_adjoint(c * g, vals[a], vals[0]), vals[a])), frozenset())
    pos = _positions(partial, argnames)
    # Products with a computed partial go through ``seeded``: a zero seed gives an exact zero even
    # where the partial is infinite (see rules._broadcast.seeded for the convention).
    if arity == 1 and len(pos) == 1:                    # the common case, without the reader's call
        (k,) = pos
        if finite:
            return ((lambda t, vals, params: partial(vals[k]) * t),
                    (lambda g, vals, params: g * partial(vals[k])), frozenset(pos))
        return ((lambda t, vals, params: seeded(partial(vals[k]) * t, t)),
                (lambda g, vals, params: seeded(g * partial(vals[k]), g)), frozenset(pos))
    d = _reader(partial, pos)
    if arity == 1:
        return ((lambda t, vals, params: guard(d(vals) * t, t)),
                (lambda g, vals, params: guard(g * d(vals), g)), frozenset(pos))
    k = pos[0] if len(pos) == 1 else None            # one value read: call the partial directly

    def jvp(t, vals, params):
        t = fit_tangent(t, vals[a], vals[0])
        return guard(t * d(vals), t)

    def vjp(g, vals, params):
        c = g * (d(vals) if k is None else partial(vals[k]))
        if type(c) is _ND and c.dtype.kind == "f" and (finite or _isfinite(np.vdot(c, c))):
            # real and finite, the common case of array code: the seed convention has nothing to
            # zero (seeded's own test, inlined) and a real adjoint nothing to project (real_for)
            x, out = vals[a], vals[0]
            return c if getattr(x, "shape", ()) == getattr(out, "shape", ()) else fit_adjoint(c, x, out)
        c = guard(c, g)
        if type(c) is _F64 and type(g) is _F64:     # scalars: no broadcast to undo, and c is real
            return c
        x, out = vals[a], vals[0]
        if getattr(x, "shape", ()) == getattr(out, "shape", ()):
            return c if type(c) is _F64 else real_for(c, x)       # real scalar code: no call
        return real_for(fit_adjoint(c, x, out), x)
    return jvp, vjp, frozenset(pos)


def _unguarded(c, s):
    return c


def elementwise(target, *partials, argnames=("x", "y", "z"), convention=None, jvp_all=None, finite=False,
                complex_ok=False):
    """Declare an elementwise function by its local partial derivatives, one per argument.

    >>> elementwise(np.sin, lambda x: np.cos(x))              # doctest: +SKIP
    >>> elementwise(np.multiply, lambda y: y, lambda x: x)     # doctest: +SKIP

    ``jvp_all(tangents, out, *args)``, optional, computes the output tangent
    from all the arguments' tangents at once (each already broadcast to the
    output's shape, ``None`` for constants), where that needs fewer temporary
    arrays than one product per argument and a sum (``x / y``).  It must
    agree with the partials; the rule table checks both.

    ``finite=True`` promises that the partials are finite for every input,
    infinite ones included (``sin``, ``cos``, ``tanh``: bounded); the generated
    rules then skip the zero-seed check of
    :func:`chainrule.rules._broadcast.seeded`.  Not for ``x * y`` (its partial
    is the other input, which may be infinite in a ``where`` branch not taken)
    nor for functions that overflow (``exp``).
    """
    prim = as_primitive(target)
    arity = len(partials)
    names = tuple(argnames[:arity])
    rules = [_elementwise_rules(i, p, arity, names, finite) for i, p in enumerate(partials)]
    prim.set_rules(tuple(r[0] for r in rules), tuple(r[1] for r in rules), tuple(r[2] for r in rules),
                   complex_ok=complex_ok)
    prim.convention = convention
    # the sparsity rule comes with the declaration: each argument with a non-zero partial, broadcast
    prim.pattern = elementwise_pattern([p is not None and (callable(p) or p != 0) for p in partials])
    if jvp_all is not None:
        if any(p is None for p in partials):
            raise TypeError(f"{prim.name}: a joint JVP needs a partial for every argument (one is None)")

        def fitted(tangents, vals, params):
            out = vals[0]
            shape = getattr(out, "shape", ())
            fit = [t if t is None or getattr(x, "shape", ()) == shape else fit_tangent(t, x, out)
                   for t, x in zip(tangents, vals[1:])]
            return seeded_all(jvp_all(fit, *vals), fit)
        prim.set_joint(fitted)
    return prim


def _wrap(fn):
    if fn is None:
        return None
    return lambda t, vals, params: fn(t, *vals, **params)


_NAMES = ("out", "x", "y", "z", "w")


def rule(target, jvps, vjps, needs=None, convention=None, multiple_results=False, pattern=None, complex_ok=False):
    """Declare a primitive by one JVP and one VJP per argument (``None``: not differentiable there).

    Each rule is ``f(t, out, *args, **params)``.  ``needs[i]`` names what the VJP
    of argument ``i`` reads ("out", "x", "y", ...); by default everything.
    With ``multiple_results`` the primitive returns a tuple: ``out`` is that
    tuple, a JVP returns a tuple of tangents, and a VJP receives a tuple of
    adjoints (zeros filled in for outputs that received none).
    ``pattern`` is the sparsity rule (see :mod:`chainrule.rules._pattern`); without one the
    sparsity level treats the primitive as dense in its arguments.
    """
    prim = as_primitive(target)
    arity = len(jvps)
    if needs is None:
        needs = [frozenset(range(arity + 1))] * arity
    else:
        needs = [frozenset(_NAMES.index(n) for n in names) for names in needs]
    prim.set_rules(tuple(map(_wrap, jvps)), tuple(map(_wrap, vjps)), tuple(needs), multiple_results, complex_ok)
    prim.convention = convention
    prim.pattern = pattern
    return prim


def linear(target, jvp, vjp, pattern=None, complex_ok=False):
    """Declare a primitive linear in its single argument: the VJP keeps no values."""
    return rule(target, (jvp,), (vjp,), needs=((),), pattern=pattern, complex_ok=complex_ok)


def nondifferentiable(*targets, convention=None):
    """Declare functions whose outputs are constants (piecewise constant, integer or boolean)."""
    for target in targets:
        as_primitive(target).set_nondifferentiable(convention or "piecewise constant: the derivative is zero")


def variadic(target, jvp, vjp, needs=None, jvp_all=None, pattern=None, complex_ok=False):
    """Declare a primitive taking any number of array arguments (``np.concatenate``).

    ``jvp(i, t, out, *args, **params)`` and ``vjp(i, g, out, *args, **params)``
    receive the index ``i`` of the argument; ``needs`` names what the VJPs read
    ("out", "args"); by default everything.  ``jvp_all(tangents, out, *args,
    **params)``, if given, computes the output tangent from all the tangents
    at once (``None`` for constant arguments), where one call is cheaper than
    one per argument.
    """
    prim = as_primitive(target)
    prim.set_rules(lambda i, t, vals, params: jvp(i, t, *vals, **params),
                   lambda i, g, vals, params: vjp(i, g, *vals, **params),
                   frozenset(("out", "args") if needs is None else needs), complex_ok=complex_ok)
    if jvp_all is not None:
        prim.set_joint(lambda tangents, vals, params: jvp_all(tangents, *vals, **params))
    prim.pattern = pattern
    return prim
