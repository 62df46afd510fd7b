"""Every complex-safe rule at complex points (the table in tests/cases_complex.py), by independent oracles.

* forward mode against central finite differences, in the real and in the imaginary direction of each
  argument separately (a non-holomorphic rule can be right in one and wrong in the other);
* reverse mode against forward mode by the bilinear identity Re<v, J u> == Re<J^T v, u>, again for real
  and imaginary u;
* second order: ``hessian`` of the real-valued h = sum(|f|^2) + Re(sum(c f)) against central differences
  of ``grad(h)`` in both directions of each argument, and ``hvp`` against the same;
* batched against single directions: the forward Jacobian over real and imaginary directions (in
  chunks) against one ``jvp`` each, ``jacrev`` of Re f and Im f against one pullback each.

The complex conventions themselves (the bilinear pairing, ``grad(|z|^2) == 2 conj(z)``) are in
tests/test_complex.py.
"""

import warnings

from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.core import primitive_of
from chainrule.errors import NotDifferentiableError
from chainrule.rules import BUILTIN
from chainrule.transforms.derivatives import _forward_jacobian

from .cases_complex import COMPLEX_CASES

EPS = 1e-6
FD_TOL = 2e-6           # relative to max(1, |derivative|): central differences at step 1e-6 resolve ~1e-9
ID_TOL = 1e-10


def _ids(c):
    return c.name


def _parts(c, i):
    return ("real", "imag") if c.kinds[i] == "c" else ("real",)


def _direction(args, i, part, rng):
    """Tangents: a random real (or purely imaginary) direction in argument i, zero elsewhere."""
    out = []
    for k, a in enumerate(args):
        if k != i:
            out.append(np.zeros_like(a))
            continue
        r = rng.standard_normal(np.shape(a))
        d = r if part == "real" else 1j * r
        out.append(np.asarray(d).astype(np.result_type(a))[()])
    return tuple(out)


def _shift(args, tangents, h):
    return tuple(a + h * t for a, t in zip(args, tangents))


def _central(fn, args, tangents):
    plus, minus = fn(*_shift(args, tangents, EPS)), fn(*_shift(args, tangents, -EPS))
    if isinstance(plus, tuple):
        return tuple((np.asarray(p) - np.asarray(m)) / (2 * EPS) for p, m in zip(plus, minus))
    return (np.asarray(plus) - np.asarray(minus)) / (2 * EPS)


def _close(got, want, tol, what):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    scale = max(1.0, float(np.max(np.abs(want), initial=0.0)))
    err = float(np.max(np.abs(got - want), initial=0.0))
    assert err <= tol * scale, f"{what}: differs by {err:.3g} (tolerance {tol * scale:.3g})"


@pytest.mark.parametrize("c", COMPLEX_CASES, ids=_ids)
def test_forward_against_central_differences_in_the_real_and_imaginary_directions(c):
    args = c.args()
    rng = np.random.default_rng(1)
    for i in range(len(args)):
        for part in _parts(c, i):
            u = _direction(args, i, part, rng)
            with warnings.catch_warnings():
                warnings.simplefilter("error")            # no ComplexWarning: nothing complex is cast to real
                _, t = cr.jvp(c.fn, args, u)
            _close(t, _central(c.fn, args, u), FD_TOL, f"jvp in the {part} direction of argument {i}")


def _pairing(a, b):
    return float(np.real(np.sum(np.asarray(a, dtype=complex) * np.asarray(b, dtype=complex))))


def _random_like(out, rng):
    r = rng.standard_normal(np.shape(out))
    if np.iscomplexobj(out):
        r = r + 1j * rng.standard_normal(np.shape(out))
    return np.asarray(r).astype(np.result_type(out))[()]


@pytest.mark.parametrize("c", COMPLEX_CASES, ids=_ids)
def test_reverse_against_forward_by_the_bilinear_identity(c):
    args = c.args(seed=2)
    rng = np.random.default_rng(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, pullback = cr.vjp(c.fn, *args)
    for i in range(len(args)):
        for part in _parts(c, i):
            u = _direction(args, i, part, rng)
            v = _random_like(out, rng)
            _, t = cr.jvp(c.fn, args, u)
            w = pullback(v)
            if c.kinds[i] == "r":
                assert np.isrealobj(w[i]), f"the adjoint of real argument {i} is complex"
            lhs, rhs = _pairing(v, t), _pairing(w[i], u[i])
            assert abs(lhs - rhs) <= ID_TOL * max(1.0, abs(lhs)), \
                f"{part} direction of argument {i}: Re<v, J u> = {lhs!r}, Re<J^T v, u> = {rhs!r}"


def _real_valued(c, args):
    """h = sum(|f|^2) + Re(sum(w f)): real, non-holomorphic in f, so it mixes z and conj(z) at second order."""
    w = _random_like(c.fn(*args), np.random.default_rng(4))

    def h(*a):
        f = c.fn(*a)
        return np.sum(np.abs(f) ** 2) + np.real(np.sum(w * f))
    return h


def _contract(block, d, kind):
    """The Hessian block over argument j applied to the direction d of that argument."""
    nd = np.ndim(d)
    if kind == "r":
        return np.tensordot(block, np.real(d), axes=nd) if nd else block * np.real(d)
    re, im = block[..., 0], block[..., 1]
    if nd == 0:
        return re * np.real(d) + im * np.imag(d)
    return np.tensordot(re, np.real(d), axes=nd) + np.tensordot(im, np.imag(d), axes=nd)


def _second_order(c):
    if c.slow:
        pytest.skip("second order of this row runs with the slow tests (tests/test_complex_points.py::"
                    "test_second_order_of_the_slow_rows)")
    _check_second_order(c)


def _check_second_order(c):
    args = c.args(seed=5)
    n = len(args)
    h = _real_valued(c, args)
    nums = tuple(range(n))
    hess = cr.hessian(h, argnums=nums)(*args)
    g = cr.grad(h, argnums=nums)
    rng = np.random.default_rng(6)
    for j in range(n):
        for part in _parts(c, j):
            d = _direction(args, j, part, rng)
            fd = _central(g, args, d)
            for i in range(n):
                _close(_contract(hess[i][j], d[j], c.kinds[j]), fd[i],
                       FD_TOL, f"hessian block ({i}, {j}) in the {part} direction")
            if n == 1:
                _close(cr.hvp(h, args[0], d[0]), fd[0], FD_TOL, f"hvp in the {part} direction")


@pytest.mark.parametrize("c", COMPLEX_CASES, ids=_ids)
def test_second_order_through_the_hessian_of_a_real_valued_function(c):
    _second_order(c)


@pytest.mark.slow
@pytest.mark.parametrize("c", [c for c in COMPLEX_CASES if c.slow], ids=_ids)
def test_second_order_of_the_slow_rows(c):
    _check_second_order(c)


@pytest.mark.parametrize("c", COMPLEX_CASES, ids=_ids)
def test_batched_directions_equal_single_ones(c):
    args = c.args(seed=7)
    x, rest = args[0], args[1:]
    f = lambda x: c.fn(x, *rest)          # noqa: E731
    out = np.asarray(f(x))
    xs = np.shape(x)
    n = int(np.prod(xs, dtype=np.int64))
    # forward: real and imaginary directions of every entry in sweeps of 3 directions
    jac = np.asarray(_forward_jacobian(f, 0, False, 3, False, True)(x))
    units = (1.0, 1j) if c.kinds[0] == "c" else (1.0,)
    for k in range(n):
        for p, unit in enumerate(units):
            e = np.zeros(n, dtype=np.result_type(x))
            e[k] = unit
            _, t = cr.jvp(f, (x,), (e.reshape(xs)[()],))
            col = jac.reshape(out.shape + (n, len(units)))[..., k, p] if c.kinds[0] == "c" else \
                jac.reshape(out.shape + (n,))[..., k]
            _close(col, t, ID_TOL, f"batched forward column {k} ({'real' if p == 0 else 'imaginary'} direction)")
    # reverse: jacrev of the real and imaginary parts (m adjoints, 2 per sweep) against one pullback each
    _, pullback = cr.vjp(f, x)
    m = out.size
    parts = [(np.real, 1.0), (np.imag, -1j)] if np.iscomplexobj(out) else [(lambda o: o, 1.0)]
    for part, seed in parts:
        rows = np.asarray(cr.jacrev(lambda x: part(f(x)), chunk_size=2)(x)).reshape((m,) + xs)
        for k in range(m):
            v = np.zeros(m, dtype=out.dtype)
            v[k] = seed
            _close(rows[k], pullback(v.reshape(out.shape)[()])[0], ID_TOL, f"batched reverse row {k}")


@pytest.mark.parametrize("c", COMPLEX_CASES[::4], ids=_ids)
def test_complex64_in_complex64_out(c):
    args64, args32 = c.args(seed=8), c.args(seed=8, dtype=np.complex64)
    h = lambda *a: np.sum(np.abs(c.fn(*a)) ** 2)      # noqa: E731
    nums = tuple(range(len(args32)))
    g32, g64 = cr.grad(h, argnums=nums)(*args32), cr.grad(h, argnums=nums)(*args64)
    for k, (a, g) in enumerate(zip(args32, g32)):
        assert np.result_type(g) == np.result_type(a), f"argument {k}: {np.result_type(a)} in, {np.result_type(g)} out"
        _close(g, g64[k], 3e-3, f"complex64 gradient of argument {k}")


# Complex-safe primitives whose tests at complex points live in a file of their own (each runs both
# directions of every input, the bilinear identity and batched directions there).
TESTED_ELSEWHERE = {
    "tests/test_complex_linalg.py": ["numpy.linalg.cholesky", "numpy.linalg.det", "numpy.linalg.det (adjugate)",
                                     "numpy.linalg.eig", "numpy.linalg.eigvals", "numpy.linalg.inv",
                                     "numpy.linalg.pinv", "numpy.linalg.qr", "numpy.linalg.slogdet",
                                     "numpy.linalg.solve", "numpy.linalg.svd", "numpy.linalg.svd(compute_uv=False)",
                                     "numpy value (rounding)"],     # the identity lstsq's primal goes through
    "tests/test_sparse_matmul.py": ["scipy.sparse.matmul"],
}


def test_every_complex_safe_primitive_has_a_row_at_complex_points():
    safe = {p.name for p in BUILTIN if p.complex_ok}
    covered = {name for c in COMPLEX_CASES for name in c.covers}
    root = Path(__file__).resolve().parent.parent
    for path, names in TESTED_ELSEWHERE.items():
        text = (root / path).read_text()
        for name in names:
            short = {"numpy value (rounding)": "lstsq", "scipy.sparse.matmul": "def test_complex_matrix_and_real_input_bilinear"}.get(
                name, name.split(" ")[0].split("(")[0].rsplit(".", 1)[-1])
            assert short in text, f"{path} does not mention {short!r} ({name})"
        covered |= set(names)
    missing = sorted(safe - covered)
    assert not missing, f"complex-safe primitives with no row in tests/cases_complex.py: {missing}"
    unknown = sorted(covered - {p.name for p in BUILTIN})
    assert not unknown, f"rows of tests/cases_complex.py cover primitives that are not registered: {unknown}"


# -- what has no complex derivative keeps refusing, with an error that says so ----------------------------------
Z = np.array([1.0 + 2.0j, -0.5 + 0.3j, 0.7 - 1.1j])


@pytest.mark.parametrize("fn", [lambda z: np.maximum(z, 0.5), lambda z: np.minimum(z, z * 2),
                                lambda z: np.clip(z, 0, 1), lambda z: np.max(z), lambda z: np.min(z, axis=0),
                                lambda z: np.ptp(z), lambda z: np.median(z), lambda z: np.fmax(z, 1.0)])
def test_functions_without_a_complex_derivative_refuse_complex_values(fn):
    with pytest.raises(NotDifferentiableError, match="complex"):
        cr.jacrev(lambda z: np.real(fn(z)))(Z)
    with pytest.raises(NotDifferentiableError, match="complex"):
        cr.jvp(fn, (Z,), (Z,))


def test_floor_of_a_complex_value_is_refused_by_numpy_itself():
    with pytest.raises(TypeError, match="floor"):
        cr.jvp(np.floor, (Z,), (Z,))


def test_comparisons_of_complex_values_are_constants():
    # NumPy orders complex numbers lexicographically; the boolean result has no derivative, so the
    # product below has the derivative of z times the mask, whatever the order
    f = lambda z: z * (z > 0) + z * (z == Z[0])          # noqa: E731
    mask = (Z > 0).astype(float) + (Z == Z[0])
    np.testing.assert_allclose(cr.jvp(f, (Z,), (1j * np.ones(3),))[1], 1j * mask)


def test_sign_of_a_complex_value():
    if np.lib.NumpyVersion(np.__version__) >= "2.0.0":
        # NumPy 2: sign(z) = z / |z|, differentiated like z / np.abs(z); a turn of the phase of z turns it
        # as much, a stretch of z does not move it
        rng = np.random.default_rng(9)
        u = rng.standard_normal(3) + 1j * rng.standard_normal(3)
        pairs = [(np.sign, lambda z: z / np.abs(z)),            # the same function through abs's rule
                 (lambda z: np.sign(z) * z, lambda z: z / np.abs(z) * z)]
        for f, same in pairs:
            np.testing.assert_allclose(cr.jvp(f, (Z,), (u,))[1], cr.jvp(same, (Z,), (u,))[1], rtol=1e-12)
            np.testing.assert_allclose(cr.vjp(f, Z)[1](u)[0], cr.vjp(same, Z)[1](u)[0], rtol=1e-12)
        np.testing.assert_allclose(cr.jvp(np.sign, (Z,), (1j * Z,))[1], 1j * Z / np.abs(Z), rtol=1e-12)
        np.testing.assert_allclose(cr.jvp(np.sign, (Z,), (Z,))[1], 0, atol=1e-15)
        # at 0 the derivative is 0, as abs'(0); the real sign stays a constant
        z0 = np.array([0j, 1 + 1j])
        assert cr.jvp(np.sign, (z0,), (np.array([1 + 2j, 0]),))[1][0] == 0
        assert cr.vjp(np.sign, z0)[1](np.array([1 + 2j, 0]))[0][0] == 0
    else:
        # NumPy 1.x: sign(z) = sign(Re z), piecewise constant: a constant, as for real values
        np.testing.assert_allclose(cr.jvp(lambda z: np.sign(z) * z, (Z,), (Z,))[1], np.sign(Z) * Z)
    assert primitive_of(np.sign).differentiable is False
    np.testing.assert_allclose(cr.grad(lambda x: np.sum(np.sign(x) * x))(np.array([-2.0, 0.0, 3.0])), [-1, 0, 1])
