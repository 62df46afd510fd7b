"""No silent wrong answers (issue 9, item 5): each case once returned a wrong number without a word.

Every test checks a value against an independent oracle -- central finite
differences, the other mode, NumPy's or SciPy's own result, or a formula
written out here -- or checks that the call is refused with a message that
says what to do.
"""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.reverse import vjp_flat
from chainrule.testing import check_grads

sp = pytest.importorskip("scipy.special")


def fd_grad(f, x, eps=1e-6):
    """Central finite differences of scalar ``f`` at array ``x``."""
    x = np.asarray(x, dtype=float)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return g


# -- repeated argnums: the same derivative twice, as JAX ---------------------------------------------
def f_xy(x, y):
    return x * y ** 2 + np.sin(y)


@pytest.mark.parametrize("argnums", [(1, 1), (1, -1), (0, 1, 0)])
def test_repeated_argnums_repeat_the_derivative(argnums):
    x, y = 2.0, 3.0
    dy = 2 * x * y + np.cos(y)
    partial = {0: y ** 2, 1: dy}
    want = tuple(partial[a % 2] for a in argnums)
    np.testing.assert_allclose(cr.grad(f_xy, argnums=argnums)(x, y), want, rtol=1e-14)
    value, g = cr.value_and_grad(f_xy, argnums=argnums)(x, y)
    np.testing.assert_allclose(g, want, rtol=1e-14)
    assert value == f_xy(x, y)
    for jac in (cr.jacfwd, cr.jacrev, cr.jacobian):
        np.testing.assert_allclose([np.asarray(j) for j in jac(f_xy, argnums=argnums)(x, y)], want, rtol=1e-14)
    second = {(0, 0): 0.0, (0, 1): 2 * y, (1, 0): 2 * y, (1, 1): 2 * x - np.sin(y)}
    h = cr.hessian(f_xy, argnums=argnums)(x, y)
    want_h = [[second[a % 2, b % 2] for b in argnums] for a in argnums]
    np.testing.assert_allclose(np.array(h, dtype=float), want_h, rtol=1e-14, atol=1e-14)


def test_repeated_argnums_give_separate_arrays():
    x = np.array([1.0, 2.0])
    g1, g2 = cr.grad(lambda x: np.sum(x ** 2), argnums=(0, 0))(x)
    np.testing.assert_allclose(g1, 2 * x)
    np.testing.assert_allclose(g2, 2 * x)
    g1 *= 0.0                                            # the caller owns each one
    np.testing.assert_allclose(g2, 2 * x)


def test_repeated_argnums_of_a_pytree_argument():
    p = {"a": np.array([1.0, 2.0]), "b": 3.0}
    f = lambda p, s: s * np.sum(p["a"] ** 2) * p["b"]          # noqa: E731
    g = cr.grad(f, argnums=(0, 0, 1))(p, 2.0)
    for tree in g[:2]:
        np.testing.assert_allclose(tree["a"], 2 * 2.0 * p["a"] * 3.0)
        np.testing.assert_allclose(tree["b"], 2.0 * 5.0)
    np.testing.assert_allclose(g[2], 5.0 * 3.0)


# -- np.matrix: * is a matrix product there ----------------------------------------------------------
@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_np_matrix_input_is_refused():
    m = np.matrix([[1.0, 2.0], [3.0, 4.0]])
    for transform in (cr.grad, cr.jacfwd, cr.jacrev):
        with pytest.raises(cr.InputDtypeError, match=r"argument 0 of <lambda> is an np\.matrix.*np\.asarray"):
            transform(lambda a: np.sum(a * a))(m)
        # a fixed np.matrix argument would meet a traced ndarray in x * m: elementwise, not NumPy's product
        with pytest.raises(cr.InputDtypeError, match=r"argument 1 of <lambda> is an np\.matrix.*@"):
            transform(lambda x, m: np.sum(x * m))(np.eye(2), m)


# -- eigh/eigvalsh: the primal under a transform is NumPy's own ------------------------------------
@pytest.mark.parametrize("uplo", ["L", "U", "u"])
def test_eigh_primal_is_numpys_for_either_triangle(uplo):
    rng = np.random.default_rng(3)
    for _ in range(5):
        a = rng.standard_normal((4, 4))                        # not symmetric: one triangle is read
        w, v = np.linalg.eigh(a, uplo)
        for out in (cr.jvp(lambda a: tuple(np.linalg.eigh(a, uplo)), (a,), (a,))[0],
                    cr.vjp(lambda a: tuple(np.linalg.eigh(a, UPLO=uplo)), a)[0]):
            np.testing.assert_array_equal(out[0], w)
            np.testing.assert_array_equal(out[1], v)
        np.testing.assert_array_equal(cr.vjp(lambda a: np.linalg.eigvalsh(a, uplo), a)[0],
                                      np.linalg.eigvalsh(a, uplo))


def test_eigh_upper_triangle_derivative():
    """With UPLO='U' only the upper triangle is read: the lower one gets derivative 0, FD agree."""
    a = np.array([[2.0, 0.3, -0.1], [0.5, 3.0, 0.2], [0.1, 0.4, 4.0]])
    f = lambda a: np.sum(np.linalg.eigh(a, "U")[0] ** 3)                 # noqa: E731
    g = cr.grad(f)(a)
    np.testing.assert_allclose(g, fd_grad(f, a), rtol=1e-7, atol=1e-8)
    assert np.all(np.tril(g, -1) == 0)
    check_grads(lambda a: np.linalg.eigvalsh(a, "U"), (a,), order=2)


@pytest.mark.parametrize("call", [
    lambda x: np.linalg.svd(x, False),
    lambda x: np.linalg.svd(x, False, False),
    lambda x: np.linalg.qr(x, "r"),
    lambda x: np.linalg.pinv(x, 1e-3),
    lambda x: np.linalg.norm(x, 2, 0),
    lambda x: np.linalg.norm(x, "fro", (0, 1), True),
    lambda x: np.linalg.norm(x, np.inf, 1),
    lambda x: np.trace(x[:3], 1, 1, 0),
    lambda x: np.linalg.lstsq(x, np.arange(5.0), None),
    lambda x: np.linalg.lstsq(x[:3], np.ones((3, 2)), 1e-3),
    lambda x: np.linalg.matrix_power(x[:3], 3),
    lambda x: np.linalg.matrix_power(x[:3], -5),
    lambda x: np.einsum("ij,jk", x, x.T),
    lambda x: np.einsum("ij,jk,kl", x, x.T, x, optimize=True),
], ids=["svd", "svd values", "qr r", "pinv rcond", "norm 2 axis", "norm fro keepdims", "norm inf", "trace",
        "lstsq", "lstsq rcond", "matrix_power 3", "matrix_power -5", "einsum", "einsum optimize"])
def test_linalg_primal_is_numpys_to_the_last_bit(call):
    x = np.random.default_rng(1).standard_normal((5, 3))
    want = call(x)
    want = want if isinstance(want, tuple) else (want,)
    for got in (cr.jvp(call, (x,), (x,))[0], cr.vjp(call, x)[0]):
        got = got if isinstance(got, tuple) else (got,)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)


# -- a plain tuple may stand for a named tuple cotangent -------------------------------------------
def test_tuple_cotangent_for_a_namedtuple_output():
    a = np.array([[2.0, 0.3], [0.3, 1.0]])
    out, pullback = cr.vjp(np.linalg.eigh, a)
    ct = (np.array([1.0, 2.0]), np.eye(2))
    want = pullback(type(out)(*ct))[0]
    for given in (ct, list(ct)):
        np.testing.assert_array_equal(pullback(given)[0], want)
    f = lambda a: np.sum(np.linalg.eigh(a)[0] * [1.0, 2.0]) + np.trace(np.linalg.eigh(a)[1])     # noqa: E731
    np.testing.assert_allclose(want, cr.grad(f)(a), rtol=1e-12)
    with pytest.raises(cr.ShapeMismatchError, match=r"tuple of 3 where a EighResult of 2 is expected"):
        pullback(ct + (np.ones(2),))
    with pytest.raises(cr.ShapeMismatchError, match=r"at \[1\] it is a tuple of 2 where a leaf"):
        pullback((ct[0], (ct[1], ct[1])))


# -- kept constants: a buffer refilled between uses, inputs changed after vjp ------------------------
def scratch(x):
    w = np.empty(3)
    acc = 0.0
    for k in range(3):
        w[:] = k + 1                                          # refilled in place between uses
        acc = acc + np.sum(x * w)
    return acc


def test_scratch_buffer_refilled_between_uses():
    x = np.array([1.0, 2.0, 3.0])
    want = np.full(3, 1.0 + 2.0 + 3.0)
    np.testing.assert_allclose(fd_grad(scratch, x), want, rtol=1e-8)
    np.testing.assert_allclose(cr.grad(scratch)(x), want, rtol=1e-14)
    np.testing.assert_allclose(cr.jacrev(scratch)(x), cr.jacfwd(scratch)(x), rtol=1e-14)


def test_scratch_buffer_read_through_a_broadcast_view():
    def f(x):
        w = np.zeros(1)
        acc = 0.0
        for k in range(2):
            w[0] = k + 2.0
            acc = acc + np.sum(x * np.broadcast_to(w, (3,)))  # a read-only view of the buffer
        return acc
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(cr.grad(f)(x), np.full(3, 5.0), rtol=1e-14)


def test_pullback_unchanged_when_inputs_constants_and_outputs_change_later():
    x = np.array([1.0, 2.0, 3.0])
    c = np.array([0.5, -1.0, 2.0])
    want = 2 * x * c
    out, pullback = cr.vjp(lambda x: x * x * c, x)
    x[:] = 100.0                                              # the caller reuses its arrays
    c[:] = 7.0
    out[:] = -1.0
    np.testing.assert_allclose(pullback(np.ones(3))[0], want, rtol=1e-14)
    e, pullback = cr.vjp(np.exp, np.array([0.0, 1.0]))         # exp's rule keeps its output
    e *= 0
    np.testing.assert_allclose(pullback(np.ones(2))[0], np.exp([0.0, 1.0]), rtol=1e-14)


def test_large_buffers_refilled_or_reused():
    """Past a few elements an unchanged constant shares one copy on the tape (a linear loop's matrix is
    kept once, not per step); a changed one -- even only a sign of zero, or NaN where there was NaN --
    is compared bit for bit."""
    n = 100
    a = np.random.default_rng(0).standard_normal((n, n)) / n
    x = np.linspace(0.0, 1.0, n)

    def loop(x, buf):
        acc = 0.0
        for k in range(4):
            buf[:] = a * (k + 1)                              # refilled: new values each step
            acc = acc + np.sum(buf @ x)
        return acc
    want = sum((k + 1) * a.sum(axis=0) for k in range(4))
    np.testing.assert_allclose(cr.grad(loop)(x, np.empty((n, n))), want, rtol=1e-12)

    def steps(x):
        for _ in range(5):
            x = a @ x                                         # a: one constant, unchanged
        return x
    _, pullback = vjp_flat(lambda xs: [steps(xs[0])], [x])
    kept = {id(v) for entry in pullback.tape if entry is not None for v in entry[2] if isinstance(v, np.ndarray)}
    assert len(kept) == 1                                     # one copy of a, none of the states
    np.testing.assert_allclose(pullback([np.ones(n)])[0], np.linalg.matrix_power(a, 5).T @ np.ones(n),
                               rtol=1e-12)

    # "unchanged" means the same bits: NaN still NaN counts, -0.0 for +0.0 does not; a transpose (a new
    # view each time) of an unchanged matrix shares one copy too
    def uses(x, buf, fills):
        acc = 0.0
        for fill in fills:
            buf[:] = fill                                     # refilled: with the same bits or not
            acc = acc + np.sum(buf @ x) + np.sum(x @ buf.T)
        return acc
    buf = np.empty((n, 2))
    for fills, copies in (((np.nan, np.nan, np.nan), 2), ((0.0, -0.0, 0.0), 6), ((1.0, 2.0, 1.0), 6),
                          ((3.0, 3.0, -1.0), 4)):
        _, pullback = vjp_flat(lambda xs: [uses(xs[0], buf, fills)], [np.ones(2)])
        kept = {id(v) for entry in pullback.tape if entry is not None for v in entry[2]
                if isinstance(v, np.ndarray) and v.size == 2 * n}
        assert len(kept) == copies, fills
        buf[:] = 5.0                                          # after recording: the tape kept its own copies
        np.testing.assert_allclose(pullback([1.0])[0], np.full(2, 2 * n * sum(fills)), rtol=1e-14)
        np.testing.assert_allclose(cr.grad(uses)(np.ones(2), buf, fills), np.full(2, 2 * n * sum(fills)),
                                   rtol=1e-14)


def test_index_buffer_refilled_between_uses_and_after_recording():
    """The tape keeps a gather's index for its adjoint: refilling the caller's index array afterwards
    (within the function, or after vjp returned) must not move where the adjoint lands."""
    w = np.array([1.0, 2.0, 3.0])
    for spell in (lambda i: i, lambda i: (i,), lambda i: (Ellipsis, i), lambda i: i.reshape(3, 1)):
        idx = np.array([0, 0, 1])

        def f(x):
            y = np.sum(x[spell(idx)].ravel() * w)
            idx[:] = [2, 2, 2]                                # refilled in place
            y = y + np.sum(np.take(x, idx) * w)
            idx[:] = [0, 0, 1]
            return y
        x = np.arange(3.0)
        want = np.array([1.0 + 2.0, 3.0, 6.0])
        np.testing.assert_allclose(cr.grad(f)(x), want, rtol=1e-14)
        np.testing.assert_allclose(cr.jacfwd(f)(x), want, rtol=1e-14)
        np.testing.assert_allclose(fd_grad(f, x), want, rtol=1e-8)
        _, pullback = cr.vjp(lambda x: x[spell(idx)].ravel() * w, x)
        idx[:] = [2, 1, 2]                                    # after recording
        np.testing.assert_allclose(pullback(np.ones(3))[0], [3.0, 3.0, 0.0], rtol=1e-14)


def test_read_only_constants_are_not_copied():
    """Only what may change is copied: an array nobody can write keeps its identity on the tape."""
    c = np.array([0.5, -1.0, 2.0])
    c.flags.writeable = False
    w = np.array([0.5, -1.0, 2.0])
    _, pullback = vjp_flat(lambda xs: [xs[0] * c + xs[0] * w], [np.ones(3)])
    kept = [v for entry in pullback.tape if entry is not None for v in entry[2] if isinstance(v, np.ndarray)]
    assert any(v is c for v in kept) and not any(v is w for v in kept)
    np.testing.assert_allclose(pullback([np.ones(3)])[0], c + w)


# -- complex tangents and cotangents for real values ---------------------------------------------------
def test_complex_tangent_or_cotangent_for_a_real_value_is_refused():
    with pytest.raises(cr.ShapeMismatchError, match=r"tangents: leaf 1 is complex.*imaginary part"):
        cr.jvp(lambda x, y: x * y, (1.0, np.ones(2)), (1.0, np.ones(2) * 1j))
    _, pullback = cr.vjp(np.sin, np.ones(2))
    with pytest.raises(cr.ShapeMismatchError, match=r"cotangent passed to vjp_fn: leaf 0 is complex"):
        pullback(np.array([1.0 + 2.0j, 0.0]))
    with pytest.raises(cr.ShapeMismatchError, match="complex"):
        cr.vjp(np.sin, 1.0)[1](1j)


# -- scipy.special.logsumexp with weights --------------------------------------------------------------
LSE = sp.logsumexp.__wrapped__                               # SciPy's own function


def lse_partials(a, b):
    """d/da and d/db of log|sum b e^a|, written out: b e^a / s and e^a / s."""
    s = np.sum(b * np.exp(a))
    return b * np.exp(a) / s, np.exp(a) / s


@pytest.mark.parametrize("b", [[1.0, -0.5, 2.0], [1.0, 0.0, 2.0], [-1.0, 0.2, -2.0]],
                         ids=["a negative weight", "a zero weight", "a negative sum"])
def test_weighted_logsumexp_value_and_derivative(b):
    a = np.array([1.0, 2.0, 3.0])
    b = np.array(b)
    da, db = lse_partials(a, b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)       # SciPy warns where its value is nan
        for sign_too in (False, True):
            def f(a, b):
                r = sp.logsumexp(a, b=b, return_sign=sign_too)
                return r[0] if sign_too else r
            want = LSE(a, b=b, return_sign=sign_too)
            value, grads = cr.value_and_grad(f, argnums=(0, 1))(a, b)
            np.testing.assert_array_equal(value, want[0] if sign_too else want)
            if np.isfinite(value):
                for g in (grads, cr.jacfwd(f, argnums=(0, 1))(a, b)):
                    np.testing.assert_allclose(g[0], da, rtol=1e-12)
                    np.testing.assert_allclose(g[1], db, rtol=1e-12)
            else:
                assert np.all(np.isnan(grads[0])) and np.all(np.isnan(grads[1]))
        out = cr.vjp(lambda a: sp.logsumexp(a, b=b, return_sign=True), a)[0]
        np.testing.assert_array_equal(out, LSE(a, b=b, return_sign=True))


def test_weighted_logsumexp_broadcast_axis_keepdims_second_order():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3))
    b = np.array([0.5, -0.2, 1.0])
    f = lambda a, b: sp.logsumexp(a, axis=1, b=b, return_sign=True)[0]          # noqa: E731
    np.testing.assert_array_equal(cr.vjp(f, a, b)[0], LSE(a, axis=1, b=b, return_sign=True)[0])
    check_grads(f, (a, b), order=2)
    check_grads(lambda a, b: sp.logsumexp(a, axis=0, b=b, keepdims=True), (a, np.abs(b)), order=2)
    check_grads(lambda a, b: sp.logsumexp(a, b=b), (a[0], np.abs(b) + np.ones((2, 3))), order=2)


# -- results are fresh, writable arrays the caller owns -------------------------------------------------
def owned(a, *others):
    return (isinstance(a, np.ndarray) and a.flags.writeable
            and not any(np.shares_memory(a, o) for o in others if isinstance(o, np.ndarray)))


def test_gradients_of_sums_are_writable():
    x = np.array([1.0, 2.0, 3.0])
    for f, want in ((np.sum, np.ones(3)), (np.mean, np.full(3, 1 / 3))):
        g = cr.grad(f)(x)
        assert owned(g, x)
        g *= 0.1
        np.testing.assert_allclose(g, 0.1 * want)
    g = cr.grad(lambda d: np.sum(d["a"]) + np.sum(d["b"]))({"a": x, "b": x})
    assert all(owned(v, x) for v in g.values())
    j = cr.jacrev(lambda x: np.sum(x) * np.ones(1))(x)
    assert owned(j, x)
    np.testing.assert_allclose(j, np.ones((1, 3)))
    j = cr.jacfwd(lambda x: np.broadcast_to(np.sum(x), (2,)))(x)
    assert owned(j, x)
    np.testing.assert_allclose(j, np.ones((2, 3)))


def test_jvp_and_vjp_never_hand_back_the_callers_arrays():
    y, t = np.array([1.0, 2.0]), np.array([0.5, 0.5])
    out, tout = cr.jvp(lambda z: z, (y,), (t,))
    assert owned(out, y, t) and owned(tout, y, t)
    np.testing.assert_array_equal(out, y)
    np.testing.assert_array_equal(tout, t)
    out, tout = cr.jvp(lambda z: z[:1], (y,), (t,))
    assert owned(out, y, t) and owned(tout, y, t)
    ct = np.arange(6.0)
    g = cr.vjp(lambda z: z.reshape(6), np.ones((2, 3)))[1](ct)[0]
    assert owned(g, ct)
    np.testing.assert_array_equal(g, ct.reshape(2, 3))


# -- check_grads of a custom_vjp function ----------------------------------------------------------------
def test_check_grads_checks_custom_vjp_reverse_mode_against_finite_differences():
    @cr.custom_vjp
    def f(x):
        return np.sin(x) * x
    f.defvjp(lambda x: (np.sin(x) * x, x), lambda x, g: (g * (np.cos(x) * x + np.sin(x)),))

    @cr.custom_vjp
    def wrong(x):
        return np.sin(x) * x
    wrong.defvjp(lambda x: (np.sin(x) * x, x), lambda x, g: (g * np.cos(x) * x,))

    x = np.array([0.3, 1.2])
    check_grads(f, (x,), order=2, modes=("rev",))
    with pytest.raises(AssertionError, match="by finite differences"):
        check_grads(wrong, (x,), order=1, modes=("rev",))
    with pytest.raises(cr.NotDifferentiableError, match=r"modes=\('rev',\)"):
        check_grads(f, (x,), order=1)


# -- det at singular matrices: the adjugate ------------------------------------------------------------
def adjugate(a):
    """Cofactors written out, no inverse: adj(a)[j, i] = (-1)^(i+j) det(a without row i and column j)."""
    n = a.shape[0]
    c = np.empty_like(a)
    for i in range(n):
        for j in range(n):
            minor = np.delete(np.delete(a, i, axis=0), j, axis=1)
            c[i, j] = (-1) ** (i + j) * (np.linalg.det(minor) if n > 1 else 1.0)
    return c.T


SINGULAR = {
    "rank 1 (2x2)": np.array([[1.0, 2.0], [2.0, 4.0]]),
    "rank 2 (3x3)": np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]),
    "rank 1 (3x3)": np.outer([1.0, -2.0, 0.5], [3.0, 1.0, 2.0]),
    "zero (3x3)": np.zeros((3, 3)),
}


@pytest.mark.parametrize("name", SINGULAR)
def test_det_derivative_at_singular_matrices_is_the_adjugate(name):
    a = SINGULAR[name]
    want = adjugate(a).T
    with warnings.catch_warnings():
        warnings.simplefilter("error")                        # exact there: nothing to warn about
        for got in (cr.grad(np.linalg.det)(a), cr.jacfwd(np.linalg.det)(a), cr.jacrev(np.linalg.det)(a)):
            np.testing.assert_allclose(got, want, atol=1e-12)
        np.testing.assert_allclose(cr.grad(np.linalg.det)(a), fd_grad(np.linalg.det, a), atol=1e-7)
        check_grads(np.linalg.det, (a,), order=2)


def test_det_second_order_at_a_singular_matrix():
    """The Hessian of det on 2x2 matrices is constant: d2 det / da_00 da_11 = 1, / da_01 da_10 = -1."""
    h = cr.hessian(np.linalg.det)(SINGULAR["rank 1 (2x2)"]).reshape(4, 4)
    want = np.array([[0, 0, 0, 1], [0, 0, -1, 0], [0, -1, 0, 0], [1, 0, 0, 0]], dtype=float)
    np.testing.assert_allclose(h, want, atol=1e-12)
    stack = np.stack([SINGULAR["rank 2 (3x3)"], np.eye(3)])
    np.testing.assert_allclose(cr.jacrev(lambda s: np.linalg.det(s))(stack)[1, 1], np.eye(3), atol=1e-12)
    np.testing.assert_allclose(cr.jacrev(lambda s: np.linalg.det(s))(stack)[0, 0],
                               adjugate(SINGULAR["rank 2 (3x3)"]).T, atol=1e-12)
