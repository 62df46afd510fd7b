"""Ordinary NumPy idioms under every transform: ODE right-hand sides written the usual ways, and the
errors for what NumPy gives chainrule no way to see."""

import math

import numpy as np
import pytest

import chainrule as cr

A, B, C, D = 1.5, 1.0, 3.0, 1.0
Y = np.array([1.2, 0.7])


def rhs_array(y):
    x, z = y
    return np.array([A * x - B * x * z, C * x * z - D * z])


def rhs_filled(y):
    dydt = np.zeros_like(y)
    dydt[0] = A * y[0] - B * y[0] * y[1]
    dydt[1] = C * y[0] * y[1] - D * y[1]
    return dydt


def rhs_slices(y):
    dydt = np.empty_like(y)
    dydt[:] = y * np.array([A, -D])
    dydt[0] -= B * y[0] * y[1]
    dydt[1:] += C * y[:1] * y[1:]
    return dydt


def hand_jacobian(y):
    x, z = y
    return np.array([[A - B * z, -B * x], [C * z, C * x - D]])


def hand_hessian_of_sum_of_squares(y):
    """d^2/dy^2 of |rhs(y)|^2 = 2 (J^T J + sum_i f_i H_i), with H_i the Hessians of the components."""
    x, z = y
    f = rhs_array(y)
    J = hand_jacobian(y)
    H0 = np.array([[0.0, -B], [-B, 0.0]])
    H1 = np.array([[0.0, C], [C, 0.0]])
    return 2 * (J.T @ J + f[0] * H0 + f[1] * H1)


@pytest.mark.parametrize("rhs", [rhs_array, rhs_filled, rhs_slices])
@pytest.mark.parametrize("jac", [cr.jacfwd, cr.jacrev, cr.jacobian])
def test_ode_right_hand_sides_give_the_hand_derived_jacobian(rhs, jac):
    np.testing.assert_allclose(rhs(Y), rhs_array(Y), rtol=1e-15)
    np.testing.assert_allclose(jac(rhs)(Y), hand_jacobian(Y), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("rhs", [rhs_array, rhs_filled, rhs_slices])
def test_ode_right_hand_sides_to_second_order(rhs):
    loss = lambda y: np.sum(rhs(y) ** 2)                              # noqa: E731
    want = hand_hessian_of_sum_of_squares(Y)
    np.testing.assert_allclose(cr.hessian(loss)(Y), want, rtol=1e-13)
    np.testing.assert_allclose(cr.jacrev(cr.jacfwd(rhs))(Y)[0], [[0.0, -B], [-B, 0.0]], atol=1e-15)
    np.testing.assert_allclose(cr.jacfwd(cr.jacrev(rhs))(Y)[1], [[0.0, C], [C, 0.0]], atol=1e-15)


def test_float32_stays_float32():
    y = Y.astype(np.float32)
    for rhs in (rhs_array, rhs_filled, rhs_slices):
        assert cr.jacfwd(rhs)(y).dtype == np.float32
        assert cr.jacrev(rhs)(y).dtype == np.float32


def test_aliases_see_writes_and_scalars_stay_immutable():
    def f(x):
        y = x * 1.0
        alias = y
        alias += 1.0                 # an array: y changes too, as in NumPy
        s = np.sum(x)
        t = s
        t += 1.0                     # a scalar: s does not change, as in NumPy
        return y * s
    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(f(x), (x + 1.0) * np.sum(x))
    want = np.diag(np.full(3, np.sum(x))) + np.outer(x + 1.0, np.ones(3))
    np.testing.assert_allclose(cr.jacfwd(f)(x), want, rtol=1e-14)
    np.testing.assert_allclose(cr.jacrev(f)(x), want, rtol=1e-14)


def test_views_follow_numpy():
    def f(x):
        y = np.zeros_like(x)
        v = y[1:3]
        y[1] = x[0]                  # v sees this
        v[1] = x[1] ** 2             # y sees this
        w = y.T                      # 1-D transpose: a view
        w[0] = np.sin(x[2])
        return np.concatenate([y, v])
    x = np.array([0.3, 0.8, -0.4])
    out = f(x)
    np.testing.assert_allclose(out, [np.sin(x[2]), x[0], x[1] ** 2, x[0], x[1] ** 2])
    want = np.array([[0, 0, np.cos(x[2])], [1, 0, 0], [0, 2 * x[1], 0], [1, 0, 0], [0, 2 * x[1], 0]])
    np.testing.assert_allclose(cr.jacfwd(f)(x), want, atol=1e-15)
    np.testing.assert_allclose(cr.jacrev(f)(x), want, atol=1e-15)


def test_read_only_views_refuse_writes():
    def f(x):
        d = np.diagonal(x)
        d[0] = 1.0
        return d
    with pytest.raises(cr.InPlaceError, match="read-only view"):
        cr.jacfwd(f)(np.eye(2))


def test_a_write_from_an_inner_transform_into_an_outer_array_is_an_error():
    def outer(a):
        buf = np.zeros_like(a)
        def inner(b):
            buf[0] = b * a[0]        # depends on the inner variable b
            return np.sum(buf)
        return cr.grad(inner)(2.0)
    with pytest.raises(cr.InPlaceError, match="inner transform"):
        cr.grad(outer)(np.ones(2))


def test_writes_of_traced_values_into_plain_arrays_name_the_fix():
    def add_at(x):
        y = np.zeros(3)
        np.add.at(y, [0, 0], x[:2])
        return y
    with pytest.raises(cr.InPlaceError, match=r"np\.zeros_like"):
        cr.jacfwd(add_at)(np.ones(3))
    with pytest.raises(cr.TracerConversionError, match=r"dtype="):
        cr.jacfwd(lambda x: np.array([x[0], x[1]], dtype=float))(np.ones(2))


@pytest.mark.parametrize("call, phrase", [
    (lambda x: math.sin(x), r"np\.sin"),
    (lambda x: round(x), r"np\.round"),
    (lambda x: int(x), r"np\.floor"),
    (lambda x: range(x), "index"),
])
def test_conversions_name_what_happened(call, phrase):
    with pytest.raises(cr.TracerConversionError, match=phrase):
        cr.grad(call)(2.0)


def test_item_tolist_divmod_and_round_with_digits_keep_the_derivative():
    x = np.array([1.5, -2.0, 3.25])
    f = lambda x: x.item(2) * np.sum(x.tolist()) + divmod(x[0], 0.7)[1] + round(x[1], 1)   # noqa: E731
    g = cr.grad(f)(x)
    np.testing.assert_allclose(g, [x[2] + 1.0, x[2], x[2] + np.sum(x)], rtol=1e-15)
    assert cr.grad(lambda s: np.reshape(s, (1,)).item())(3.0) == 1.0


def test_ufunc_out_into_a_traced_buffer():
    def f(x):
        y = np.zeros_like(x)
        np.multiply(x, x, out=y)
        return y
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(cr.jacrev(f)(x), np.diag(2 * x))


@pytest.mark.parametrize("rhs", [rhs_array, rhs_filled, rhs_slices])
def test_explain_traces_built_and_written_arrays(rhs):
    """Each row shows the value it had when it was computed, and the sweeps give the Jacobian's
    first column (forward, seed e_0) and its first row (reverse, seed e_0)."""
    e = cr.explain(rhs, Y)
    first = e.steps[1]
    np.testing.assert_allclose(e.steps[0].tangent, [1.0, 0.0])
    y_step = e.steps[0]
    np.testing.assert_allclose(y_step.adjoint, hand_jacobian(Y)[0], rtol=1e-14)
    out = [s for s in e.steps if s.output is not None]
    assert len(out) == 1
    np.testing.assert_allclose(out[0].primal, rhs_array(Y), rtol=1e-15)
    np.testing.assert_allclose(out[0].tangent, hand_jacobian(Y)[:, 0], rtol=1e-14)
    if rhs is rhs_filled:
        assert first.op.endswith("zeros_like") and np.all(first.primal == 0)
    assert len(e.steps) < 20                     # no redundant writes from y[1:] += v


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_a_matrix_from_a_closure_is_refused():
    M = np.matrix([[1.0, 2.0], [3.0, 4.0]])
    for f in (lambda x: x * M, lambda x: M * x, lambda x: np.sum(np.multiply(x, M))):
        with pytest.raises(cr.InputDtypeError, match="np.matrix"):
            cr.jacfwd(f)(np.ones((2, 2)))


def test_sparsity_of_built_and_written_arrays():
    """The pattern of np.array([...]) and of writes into np.zeros_like buffers is the true one."""
    pytest.importorskip("scipy.sparse")

    def stencil(y):
        d = np.zeros_like(y)
        d[1:-1] = y[:-2] - 2 * y[1:-1] + y[2:] + y[1:-1] ** 2
        d[0] = y[1] - y[0]
        d[-1] = y[-2] - y[-1]
        return d

    def repeated(x, v):
        y = np.zeros_like(v, shape=x.shape) + x       # a traced buffer: x itself is not differentiated
        y[[0, 2, 0]] = v                       # x[0] gets v[2], the last write
        return y * 2.0

    n = 8
    want = np.eye(n, dtype=bool) | np.eye(n, k=1, dtype=bool) | np.eye(n, k=-1, dtype=bool)
    np.testing.assert_array_equal(cr.jacobian_sparsity(stencil, np.linspace(0, 1, n)).toarray(), want)
    np.testing.assert_array_equal(cr.jacobian_sparsity(rhs_array, Y).toarray(), [[1, 1], [1, 1]])
    x, v = np.ones(4), np.array([1.0, 2.0, 3.0])
    pv = cr.jacobian_sparsity(repeated, x, v, argnums=1).toarray()
    np.testing.assert_array_equal(pv, [[0, 0, 1], [0, 0, 0], [0, 1, 0], [0, 0, 0]])
    J = cr.sparse_jacobian(stencil)(np.linspace(0, 1, n)).toarray()
    np.testing.assert_allclose(J, cr.jacfwd(stencil)(np.linspace(0, 1, n)), rtol=1e-15)
