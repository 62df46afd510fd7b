"""SciPy's linear algebra: ``solve_triangular``, ``cho_solve`` and ``expm`` (only when SciPy is installed).

SciPy functions do not dispatch through NumPy's protocols: they call
``np.asarray`` on their arguments, which raises ``TracerConversionError`` for
a traced value, so ``scipy.linalg.expm(x)`` cannot be intercepted.  This
module provides equivalents with SciPy's signatures that accept traced values
(and call SciPy directly on plain ones)::

    from chainrule.rules.scipy_linalg import cho_solve, expm, solve_triangular

``solve_triangular`` is one primitive; it reads one triangle of ``a`` (and
not its diagonal with ``unit_diagonal``), so the derivative with respect to
the other entries is zero, as for the function SciPy computes.  Right-hand
sides with batch axes are solved as extra columns.  ``cho_solve`` is two
triangular solves.  ``expm``'s JVP is the Frechet derivative
L(A, E) = expm([[A, E], [0, A]])[:n, n:], and its VJP is L(A^T, G): both are
``expm`` again, so every order is available.

Complex matrices follow the bilinear convention (no conjugation inside the rules): the rules are the
real formulas with transposes, never conjugate transposes.  ``trans="C"`` (a^H x = b) is not
holomorphic in ``a``; it is solved as ``a' = conj(a)`` with ``trans="T"``, so the conjugation is a
traced ``np.conjugate`` before the primitive.  ``cho_solve`` uses SciPy's factorisation
A = L L^H (A = U^H U), hence ``trans="C"`` in its second solve.
"""

import numpy as np
import scipy.linalg as sla

from ..core import Primitive, Tracer, bind, concrete_value
from ._broadcast import batch_to_back, batch_to_front, dtype_of, ndim_of, shape_of
from ._declare import rule
from .linalg import _inverse_condition, _warn_if_degenerate

__all__ = ["solve_triangular", "cho_solve", "expm"]


def _mT(x):
    return np.swapaxes(x, -1, -2)


def _traced(*xs):
    return any(isinstance(x, Tracer) for x in xs)


# -- solve_triangular ------------------------------------------------------------------------------
def _impl_solve_triangular(a, b, *, lower, trans, unit_diagonal):
    return sla.solve_triangular(a, b, trans=trans, lower=lower, unit_diagonal=unit_diagonal)


solve_triangular_p = Primitive("scipy.linalg.solve_triangular", _impl_solve_triangular, arity=2)


def _mask(n, lower, unit_diagonal, dtype):
    """Which entries of ``a`` the solve reads (as 0/1 of ``dtype``)."""
    k = -1 if unit_diagonal else 0
    ones = np.ones((n, n), dtype=dtype)
    return np.tril(ones, k) if lower else np.triu(ones, -k)


def _solve_columns(a, rhs, nb, params):
    """Solve with a right-hand side ``batch + (n, k)``: the batch axes become extra columns."""
    if nb == 0:
        return bind(solve_triangular_p, (a, rhs), params)
    s = shape_of(rhs)
    moved = batch_to_back(rhs, nb)                                   # (n, k, *batch)
    x = bind(solve_triangular_p, (a, np.reshape(moved, (s[nb], -1))), params)
    return batch_to_front(np.reshape(x, s[nb:] + s[:nb]), nb)


def _flip(params):
    return {**params, "trans": 1 - params["trans"]}


def _st_jvp_a(t, out, a, b, **params):
    nb = ndim_of(t) - ndim_of(a)
    dt = t * _mask(shape_of(a)[-1], params["lower"], params["unit_diagonal"], dtype_of(t))
    rhs = (_mT(dt) if params["trans"] else dt) @ out
    return -_solve_columns(a, rhs, nb, params)


def _st_jvp_b(t, out, a, b, **params):
    return _solve_columns(a, t, ndim_of(t) - ndim_of(b), params)


def _st_vjp_b(g, out, a, b, **params):
    return _solve_columns(a, g, ndim_of(g) - ndim_of(out), _flip(params))


def _st_vjp_a(g, out, a, b, **params):
    b_bar = _st_vjp_b(g, out, a, b, **params)
    outer = out @ _mT(b_bar) if params["trans"] else b_bar @ _mT(out)
    return -outer * _mask(shape_of(a)[-1], params["lower"], params["unit_diagonal"], dtype_of(g))


rule(solve_triangular_p, (_st_jvp_a, _st_jvp_b), (_st_vjp_a, _st_vjp_b), needs=(("out", "x"), ("x",)),
     complex_ok=True,                   # one dtype for a and b (the frontend casts), trans 0 or 1 only
     convention="only the triangle that SciPy reads has a derivative; the other entries get 0")

_TRANS = {0: 0, 1: 1, 2: 2, "N": 0, "T": 1, "C": 2}


def solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False, check_finite=True):
    """scipy.linalg.solve_triangular for traced (and plain) values; real or complex a of shape (n, n).

    >>> import numpy as np, chainrule as cr
    >>> a = np.array([[2.0, 0.0], [1.0, 4.0]])
    >>> float(cr.grad(lambda b: solve_triangular(a, b, lower=True)[1])(np.array([1.0, 1.0]))[0])
    -0.125
    """
    if not _traced(a, b):
        return sla.solve_triangular(a, b, trans=trans, lower=lower, unit_diagonal=unit_diagonal,
                                    overwrite_b=overwrite_b, check_finite=check_finite)
    a = a if isinstance(a, Tracer) else np.asarray(a)
    b = b if isinstance(b, Tracer) else np.asarray(b)
    if ndim_of(a) != 2 or shape_of(a)[0] != shape_of(a)[1]:
        raise ValueError("expected square matrix")
    dt = np.result_type(dtype_of(a), dtype_of(b))
    a, b = (x if dtype_of(x) == dt else x.astype(dt) for x in (a, b))
    trans = _TRANS[trans]
    if trans == 2:                                  # a^H x = b: conj(a)^T x = b (a traced conjugation)
        a, trans = (np.conjugate(a) if dt.kind == "c" else a), 1
    params = {"lower": bool(lower), "trans": trans, "unit_diagonal": bool(unit_diagonal)}
    tri = concrete_value(a) * _mask(shape_of(a)[0], params["lower"], params["unit_diagonal"], np.float64)
    if unit_diagonal:
        tri = tri + np.eye(shape_of(a)[0])
    _warn_if_degenerate(dtype_of(a), "scipy.linalg.solve_triangular", _inverse_condition(tri),
                        "a nearly singular matrix")
    if ndim_of(b) == 1:
        return bind(solve_triangular_p, (a, np.reshape(b, (-1, 1))), params)[:, 0]
    return bind(solve_triangular_p, (a, b), params)


def cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True):
    """scipy.linalg.cho_solve for traced (and plain) values: two triangular solves."""
    c, lower = c_and_lower
    if not _traced(c, b):
        return sla.cho_solve((c, lower), b, overwrite_b=overwrite_b, check_finite=check_finite)
    if lower:                                       # A = L L^H
        return solve_triangular(c, solve_triangular(c, b, lower=True), lower=True, trans="C")
    return solve_triangular(c, solve_triangular(c, b, lower=False, trans="C"), lower=False)   # A = U^H U


# -- expm --------------------------------------------------------------------------------------------
expm_p = Primitive("scipy.linalg.expm", sla.expm)


def _frechet(a, e):
    """L(a, e) = d/ds expm(a + s e) at s = 0, for e with extra leading axes (batched directions)."""
    n = shape_of(a)[-1]
    a_b = np.broadcast_to(a, shape_of(e))
    top = np.concatenate([a_b, e], axis=-1)
    bottom = np.concatenate([np.zeros(shape_of(e), dtype=dtype_of(e)), a_b], axis=-1)
    block = bind(expm_p, (np.concatenate([top, bottom], axis=-2),))
    return block[..., :n, n:]


# holomorphic: under the bilinear pairing the transpose of E -> L(A, E) is G -> L(A^T, G), no conjugation
rule(expm_p, (lambda t, out, x: _frechet(x, t),), (lambda g, out, x: _frechet(_mT(x), g),), needs=(("x",),),
     complex_ok=True)


def expm(A):
    """scipy.linalg.expm for traced (and plain) values, including stacks (..., n, n)."""
    if not _traced(A):
        return sla.expm(A)
    return bind(expm_p, (A,))
