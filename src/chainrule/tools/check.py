"""Checking derivatives against independent oracles.

* Forward mode against central finite differences:
  J u ~ (f(x + eps u) - f(x - eps u)) / (2 eps) for a random direction u.
* Reverse mode against forward mode by the dot-product identity
  <v, J u> = <J^T v, u> for random u and v: both sides are exact, so they
  agree to rounding.
* Order k: the same checks applied to the derivative functions
  x -> J(x) u (forward) and x -> J(x)^T v (reverse), recursively.
* Batching: a Jacobian pushed as one batch of k directions against k single
  sweeps.

Directions come from a seeded generator, so a failure reproduces.
"""

import numpy as np

from ..errors import NotDifferentiableError
from ..pytree import flatten, unflatten
from ..transforms import jacfwd, jacrev, jvp, vjp

__all__ = ["check_grads", "check_batching"]

_TOL = {  # dtype -> (finite-difference step, finite-difference tolerance, identity tolerance)
    np.dtype(np.float64): (1e-5, 1e-6, 1e-10),
    np.dtype(np.float32): (1e-2, 3e-2, 1e-4),
}


def _dtype(leaves):
    kinds = [np.result_type(x) for x in leaves]
    single = (np.float32, np.complex64)
    return np.dtype(np.float32) if kinds and all(k in single for k in kinds) else np.dtype(np.float64)


def _random_like(tree, rng):
    leaves, td = flatten(tree)
    return unflatten(td, [_random_leaf(x, rng) for x in leaves])


def _random_leaf(x, rng):
    dt = np.result_type(x)
    if dt.kind == "c":                          # a complex direction: real and imaginary parts both move
        r = rng.standard_normal((2,) + np.shape(x))
        return (r[0] + 1j * r[1]).astype(dt) if np.ndim(x) else dt.type(r[0] + 1j * r[1])
    if np.ndim(x) == 0:
        return dt.type(rng.standard_normal())
    return rng.standard_normal(np.shape(x)).astype(dt)


def _axpy(a, u, x):
    return unflatten(flatten(x)[1], [xi + a * ui for xi, ui in zip(flatten(x)[0], flatten(u)[0])])


def _inner(a, b):
    """Re(sum(a * b)): the bilinear pairing of adjoints with tangents (the dot product for real values)."""
    la, lb = flatten(a)[0], flatten(b)[0]
    return float(sum(np.real(np.sum(np.asarray(x, dtype=_wide(x)) * np.asarray(y, dtype=_wide(y))))
                     for x, y in zip(la, lb)))


def _wide(x):
    return np.complex128 if np.iscomplexobj(x) else np.float64


def _name(f):
    return getattr(f, "__name__", repr(f))


def _compare(what, f, got, want, tol):
    g_leaves, w_leaves = flatten(got)[0], flatten(want)[0]
    if len(g_leaves) != len(w_leaves):
        raise AssertionError(f"{what} of {_name(f)}: {len(g_leaves)} leaves, expected {len(w_leaves)}")
    for i, (g, w) in enumerate(zip(g_leaves, w_leaves)):
        g = np.asarray(g, dtype=_wide(g) if not np.iscomplexobj(w) else np.complex128)
        w = np.asarray(w, dtype=_wide(w) if not np.iscomplexobj(g) else np.complex128)
        if g.shape != w.shape:
            raise AssertionError(f"{what} of {_name(f)}: leaf {i} has shape {g.shape}, expected {w.shape}")
        scale = max(1.0, float(np.max(np.abs(w), initial=0.0)))
        err = float(np.max(np.abs(g - w), initial=0.0))
        if not err <= tol * scale:                     # also fails on nan
            raise AssertionError(
                f"{what} of {_name(f)} is wrong: leaf {i} differs by {err:.3g} (tolerance "
                f"{tol * scale:.3g}).\n  derivative: {g.ravel()[:6]}\n  expected:   {w.ravel()[:6]}")


def _check_fwd(f, args, rng, eps, tol):
    u = _random_like(args, rng)
    try:
        _, t = jvp(f, args, u)
    except NotDifferentiableError as err:
        raise NotDifferentiableError(
            getattr(err, "function", _name(f)), "forward mode is refused, so modes=('fwd', ...) cannot be "
            "checked; check_grads(f, args, modes=('rev',)) checks reverse mode against finite differences") from err
    fd = _finite_difference(f, args, u, eps)
    _compare("the forward-mode derivative (JVP)", f, t, fd, tol)


def _finite_difference(f, args, u, eps):
    plus = f(*_axpy(eps, u, args))
    minus = f(*_axpy(-eps, u, args))
    return unflatten(flatten(plus)[1], [(p - m) / (2 * eps) for p, m in zip(flatten(plus)[0], flatten(minus)[0])])


def _check_rev(f, args, rng, tol, eps, fd_tol):
    """<v, J u> (forward mode) = <J^T v, u> (reverse mode); J u by finite differences where forward mode
    is refused (a ``custom_vjp`` function has no JVP), with the finite-difference tolerance."""
    u = _random_like(args, rng)
    try:
        out, t = jvp(f, args, u)
        how = "<v, J u>"
    except NotDifferentiableError:
        t = _finite_difference(f, args, u, eps)
        out, tol = t, fd_tol
        how = "<v, J u> by finite differences"
    v = _random_like(out, rng)
    _, pullback = vjp(f, *args)
    w = pullback(v)
    lhs, rhs = _inner(v, t), _inner(w, u)
    scale = max(1.0, abs(lhs), abs(rhs))
    if not abs(lhs - rhs) <= tol * scale:
        raise AssertionError(
            f"the reverse-mode derivative (VJP) of {_name(f)} is wrong: {how} = {lhs!r} but "
            f"<J^T v, u> = {rhs!r} (difference {abs(lhs - rhs):.3g}, tolerance {tol * scale:.3g})")


def check_grads(f, args, order=2, modes=("fwd", "rev"), eps=None, atol=None, rng=None):
    """Check the derivatives of ``f`` at ``args`` up to ``order``; raise AssertionError if wrong.

    ``args`` is the tuple of positional arguments (pytrees of float or complex arrays; complex
    ones are moved in random complex directions, and reverse mode is checked through the
    bilinear pairing Re<v, J u> = Re<J^T v, u>).
    ``modes`` picks forward ("fwd": against finite differences) and reverse
    ("rev": against forward by the dot-product identity, or against finite
    differences where forward mode is refused, as for a ``custom_vjp`` function).  ``eps`` is the
    finite-difference step and ``atol`` the tolerance relative to the size of
    the derivative; both default by dtype (float64: 1e-5 and 1e-6).

    >>> import numpy as np
    >>> check_grads(lambda x: np.sin(x) * x, (np.array([0.5, 1.5]),), order=2)
    """
    args = tuple(args)
    rng = np.random.default_rng(0) if rng is None else rng
    d_eps, d_tol, id_tol = _TOL[_dtype(flatten(args)[0])]
    eps = d_eps if eps is None else eps
    tol = d_tol if atol is None else atol
    if "fwd" in modes:
        _check_fwd(f, args, rng, eps, tol)
    if "rev" in modes:
        _check_rev(f, args, rng, id_tol if atol is None else atol, eps, tol)
    if order > 1:
        if "fwd" in modes:
            u = _random_like(args, rng)

            def f_jvp(*a):
                return jvp(f, a, u)[1]
            f_jvp.__name__ = f"jvp({_name(f)})"
            check_grads(f_jvp, args, order - 1, modes, eps, atol, rng)
        if "rev" in modes:
            v = _random_like(f(*args), rng)

            def f_vjp(*a):
                return vjp(f, *a)[1](v)
            f_vjp.__name__ = f"vjp({_name(f)})"
            check_grads(f_vjp, args, order - 1, modes, eps, atol, rng)


def check_batching(f, args, atol=None):
    """Check that Jacobians pushed as one batch equal the same directions pushed one at a time.

    Compares ``jacfwd`` (n directions in one sweep) with n single ``jvp`` calls
    and ``jacrev`` (m adjoints in one sweep) with m single ``vjp`` calls, for
    ``f`` of the first argument.  Where the argument or the result is complex,
    random complex directions (and adjoints) are pushed instead: k of them in one
    sweep against one ``jvp`` (``vjp``) each, under the bilinear pairing.

    >>> import numpy as np
    >>> check_batching(lambda z: np.abs(z) ** 2 * np.exp(1j * z), (np.array([1 + 2j, 0.5 - 1j]),))
    """
    args = tuple(args)
    x, rest = args[0], args[1:]
    g = lambda x: f(x, *rest)           # noqa: E731
    tol = _TOL[_dtype([x])][2] if atol is None else atol
    xs = np.shape(x)
    dt = np.result_type(x)
    n = int(np.prod(xs, dtype=np.int64))
    out = np.asarray(g(x))
    m = out.size
    if dt.kind == "c" or out.dtype.kind == "c":
        _check_complex_batching(g, x, out, tol)
        return
    jf, jr = np.asarray(jacfwd(g)(x)), np.asarray(jacrev(g)(x))
    cols = [np.asarray(jvp(g, (x,), (np.eye(n, dtype=dt)[j].reshape(xs),))[1]) for j in range(n)]
    _, pullback = vjp(g, x)
    rows = [np.asarray(pullback(np.eye(m, dtype=out.dtype)[i].reshape(out.shape))[0]) for i in range(m)]
    single_f = np.stack(cols, axis=-1).reshape(out.shape + xs)
    single_r = np.stack(rows, axis=0).reshape(out.shape + xs)
    _compare("jacfwd (batched) against single jvp", g, jf, single_f, tol)
    _compare("jacrev (batched) against single vjp", g, jr, single_r, tol)


def _check_complex_batching(g, x, out, tol, k=4):
    """Batched against single sweeps along k random complex directions (adjoints), for complex x or g(x).

    Forward: s -> g(x + sum_i s_i U_i) over a real s has Jacobian columns J U_i, pushed by ``jacfwd`` as
    k directions in one sweep.  Reverse: x -> Re(<V_i, g(x)>) has gradients J^T V_i (the adjoint of a
    real part under the bilinear pairing is the inclusion), pulled by ``jacrev`` as k adjoints at once.
    """
    rng = np.random.default_rng(0)
    dt = np.result_type(x)
    real = np.finfo(dt).dtype if dt.kind == "c" else dt
    us = [_random_leaf(x, rng) for _ in range(k)]
    vs = [_random_leaf(out, rng) for _ in range(k)]
    stack_u = np.stack([np.asarray(u) for u in us])                  # (k,) + x.shape

    def along(s):
        return g(x + np.tensordot(s, stack_u, axes=1))
    jf = np.asarray(jacfwd(along)(np.zeros(k, dtype=real)))          # out.shape + (k,)
    single_f = np.stack([np.asarray(jvp(g, (x,), (u,))[1]) for u in us], axis=-1)
    _compare("jacfwd (batched complex directions) against single jvp", g, jf, single_f, tol)
    stack_v = np.stack([np.asarray(v) for v in vs]).reshape(k, -1)   # (k, m)

    def paired(z):
        return np.real(np.matmul(stack_v, np.reshape(g(z), (-1,))))
    jr = np.asarray(jacrev(paired)(x))                                 # (k,) + x.shape
    _, pullback = vjp(g, x)
    single_r = np.stack([np.asarray(pullback(v)[0]) for v in vs])
    _compare("jacrev (batched complex adjoints) against single vjp", g, jr, single_r, tol)
