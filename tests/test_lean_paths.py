"""The lean paths of reverse mode on small-array code (a reaction network's ``k * y[src] / (1 + y[src])``,
``stoich @ flux``): gathers recorded and pulled back without the general index walk, batched gather
adjoints by a cached one-hot product, two-input ufunc calls on one tracer, elementwise adjoints of real
finite arrays.  Each is checked against central differences and the other mode, together with the cases
that must leave the lean path: an index refilled between two uses, negative indices, float32,
non-finite partials under a zero seed, several batch axes, and nesting under forward mode."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.core import scatter, vector_gather_sum

_rng = np.random.default_rng(41)
N, M = 6, 40
SRC = _rng.integers(0, N, M)                   # writable module constants, as user code has them
CAT = _rng.integers(-N, N, M)                  # negative indices too
STOICH = _rng.standard_normal((N, M))


def _network(k, y0=None):
    y = np.linspace(0.5, 1.5, N).astype(k.dtype) if y0 is None else y0
    for _ in range(3):
        flux = k * y[SRC] * (1.0 + y[CAT]) / (1.0 + y[SRC])
        y = y + 0.05 * (STOICH.astype(k.dtype) @ flux)
    return y


def _fd_jacobian(f, x, h):
    cols = []
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = h
        e = e.reshape(x.shape).astype(x.dtype)
        cols.append(((np.asarray(f(x + e), dtype=np.float64) - np.asarray(f(x - e), dtype=np.float64))
                     / (2 * h)).ravel())
    return np.stack(cols, axis=-1)


def _check(f, x, rtol_fd=1e-6, atol_fd=1e-8, h=1e-6):
    jr, jf = cr.jacrev(f)(x), cr.jacfwd(f)(x)
    assert jr.dtype == jf.dtype == np.asarray(f(x)).dtype
    np.testing.assert_allclose(jr, jf, rtol=1e-10 if x.dtype == np.float64 else 1e-5,
                               atol=1e-12 if x.dtype == np.float64 else 1e-6)
    fd = _fd_jacobian(f, x, h)
    np.testing.assert_allclose(np.asarray(jr, dtype=np.float64).reshape(fd.shape), fd, rtol=rtol_fd, atol=atol_fd)
    return jr


def test_network_jacobian_against_forward_mode_and_finite_differences():
    k = _rng.uniform(0.1, 0.5, M)
    jr = _check(_network, k)
    # one output row at a time (one adjoint, no batch axis) gives the same rows as the batched sweep
    for i in range(N):
        np.testing.assert_allclose(cr.grad(lambda k: _network(k)[i])(k), jr[i], rtol=1e-12, atol=1e-14)


def test_network_jacobian_in_float32_stays_float32():
    k = _rng.uniform(0.1, 0.5, M).astype(np.float32)
    jr = _check(_network, k, rtol_fd=2e-2, atol_fd=2e-3, h=1e-2)
    assert jr.dtype == np.float32


def test_gradient_with_respect_to_the_gathered_state():
    """Here the gathered vector itself is the input: one adjoint and a batch of them pull through x[idx]."""
    k = _rng.uniform(0.1, 0.5, M)
    y0 = _rng.uniform(0.5, 1.5, N)
    f = lambda y: _network(k, y)
    _check(f, y0)
    g = cr.grad(lambda y: np.sum(np.sin(_network(k, y))))(y0)
    np.testing.assert_allclose(g, _fd_jacobian(lambda y: np.sum(np.sin(_network(k, y))), y0, 1e-6).ravel(),
                               rtol=1e-6, atol=1e-8)


def test_index_refilled_between_two_uses_keeps_each_use_its_own_positions():
    """A writable index array refilled inside the function: each gather pulls back to the positions it
    read at its call, both within one recording and across calls that reuse kept selection matrices."""
    idx = np.array([0, 2, 2, 5, -1])

    def f(x):
        a = x[idx]
        idx[:] = [1, 1, 3, -2, 0]
        b = x[idx]
        idx[:] = [0, 2, 2, 5, -1]
        return np.concatenate([a * b, 2.0 * a, b / (1.0 + a * a)])

    x = _rng.uniform(0.5, 1.5, N)
    for _ in range(2):                                     # the second call meets the kept matrices
        _check(f, x)
    a, b = x[[0, 2, 2, 5, -1]], x[[1, 1, 3, -2, 0]]
    want = np.concatenate([a * b, 2.0 * a, b / (1.0 + a * a)])
    np.testing.assert_allclose(f(x), want)


def test_index_refilled_between_two_calls():
    idx = np.array([3, 3, 0, -1])
    f = lambda x: np.tanh(x[idx]) * x[idx]
    x = _rng.uniform(-1.0, 1.0, N)
    first = _check(f, x)
    idx[:] = [1, 2, 2, 4]
    second = _check(f, x)
    assert not np.allclose(first, second)


def test_several_batch_axes_and_matrices_leave_the_vector_path():
    """jacrev of a matrix-valued function pulls adjoints with two batch axes; gathers of rows of a matrix
    and along a second axis take the general path."""
    rows = np.array([2, 0, 2, -1])
    cols = np.array([1, 1, 0])

    def f(x):
        A = x.reshape(3, 4)
        return A[rows % 3][:, cols] * A[:, cols][rows % 3] + A[rows % 3, 1:]

    x = _rng.uniform(-1.0, 1.0, 12)
    jr = cr.jacrev(f)(x)
    assert jr.shape == (4, 3, 12)
    np.testing.assert_allclose(jr, cr.jacfwd(f)(x), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(jr.reshape(-1, 12), _fd_jacobian(f, x, 1e-6), rtol=1e-6, atol=1e-8)


def test_nested_under_forward_mode():
    """Hessians are forward over reverse: the adjoints are forward tracers, never the plain-array paths."""
    k0 = _rng.uniform(0.1, 0.5, M)
    f = lambda k: np.sum(_network(k) ** 2)
    H = cr.hessian(f)(k0)
    np.testing.assert_allclose(H, H.T, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(H, cr.jacrev(cr.jacfwd(f))(k0), rtol=1e-9, atol=1e-12)
    fd = _fd_jacobian(cr.grad(f), k0, 1e-5)
    np.testing.assert_allclose(H, fd, rtol=1e-5, atol=1e-7)


def test_staged_gradient_matches_the_eager_one():
    k0 = _rng.uniform(0.1, 0.5, M)
    f = lambda k: np.sum(_network(k) ** 2)
    staged = cr.jit(cr.grad(f))
    for k in (k0, 1.5 * k0):
        np.testing.assert_allclose(staged(k), cr.grad(f)(k), rtol=1e-12, atol=1e-14)


def test_zero_seed_convention_holds_with_batched_adjoints():
    """An infinite partial met by a zero adjoint contributes zero, also along the lean elementwise path
    (whose finiteness test must send such products to the exact path), and in every row of a batch."""
    def f(x):
        y = np.where(x > 0, x, 1.0)
        safe = x / np.where(x > 0, y, 0.0)                 # x / 0 in the branch not taken
        return np.where(x > 0, safe * x[::-1], x)

    x = np.array([0.5, -1.0, 2.0, -0.5, 1.5])
    with np.errstate(all="ignore"):
        jr = cr.jacrev(f)(x)
        jf = cr.jacfwd(f)(x)
        assert np.isfinite(jr).all()
        np.testing.assert_allclose(jr, jf, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(jr, _fd_jacobian(f, x, 1e-7), rtol=1e-6, atol=1e-8)


def test_two_input_ufunc_calls_on_one_tracer():
    """np.multiply(c, x), A @ x, np.matmul(x, B), np.add(x, x): as the operators, either side, constant
    or traced, and a constant of another dtype or a list."""
    A = _rng.standard_normal((3, N))
    B = _rng.standard_normal((N, 2)).astype(np.float32)

    def f(x):
        return np.concatenate([np.multiply(2.5, x), np.multiply(x, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]), A @ x,
                               np.matmul(x, B), np.add(x, x), np.subtract(np.ones(N), x * x),
                               np.divide(x, np.arange(1.0, N + 1))])

    _check(f, _rng.uniform(-1.0, 1.0, N))


def test_vector_gather_sum_against_np_add_at():
    """The one-hot sums, batch first, for a frozen index copy (never re-read), a read-only index whose owner
    refills it (re-read), negative indices, and adjoints that are not finite (left to the caller)."""
    frozen = np.frombuffer(np.array([0, -1, 3, 3, 5], dtype=np.intp).tobytes(), dtype=np.intp)
    g = _rng.standard_normal((3, 5))
    want = np.zeros((3, N))
    np.add.at(want.T, (frozen,), g.T)
    for _ in range(2):
        np.testing.assert_allclose(vector_gather_sum(g, frozen, N), want, rtol=1e-15, atol=0)
    assert scatter._onehots[id(frozen)][3] is None                # its bytes are never compared again
    kept = np.array([0, -1, 3, 3, 5])
    kept.flags.writeable = False
    np.testing.assert_allclose(vector_gather_sum(g, kept, N), want, rtol=1e-15, atol=0)
    kept.flags.writeable = True
    kept[:] = [1, 1, 1, 1, 1]
    kept.flags.writeable = False
    np.testing.assert_allclose(vector_gather_sum(g, kept, N), np.eye(N)[1] * g.sum(axis=1)[:, None],
                               rtol=1e-15, atol=1e-15)
    writable = np.array([0, 1, 2, 3, 4])
    assert vector_gather_sum(g, writable, N) is None              # may change: never a kept matrix
    bad = g.copy()
    bad[1, 2] = np.inf
    assert vector_gather_sum(bad, frozen, N) is None              # 0 * inf would spread nan
    assert vector_gather_sum(g.astype(np.float32), frozen, N) is None


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gather_dtypes_through_jacrev(dtype):
    idx = np.array([4, -2, 0, 0, 1])
    f = lambda x: x[idx] * x[idx][::-1] + x[idx]
    x = _rng.uniform(0.5, 1.5, N).astype(dtype)
    jr = cr.jacrev(f)(x)
    assert jr.dtype == dtype
    np.testing.assert_allclose(jr, cr.jacfwd(f)(x), rtol=1e-6, atol=1e-6)
    tol = 1e-6 if dtype == np.float64 else 2e-2
    np.testing.assert_allclose(jr, _fd_jacobian(f, x, 1e-6 if dtype == np.float64 else 1e-2), rtol=tol, atol=tol)


def test_vector_gather_sum_of_large_batches_checks_after_the_product_and_warns_nothing():
    """Past a few thousand adjoint entries finiteness is tested on the product: the same answers, and an
    infinity still goes to the caller's exact path without a floating-point warning or error."""
    import warnings
    idx = np.frombuffer(_rng.integers(-N, N, 60).tobytes(), dtype=np.int64)
    for rows in (2, 100):                                  # 120 and 6000 entries: before and after
        g = _rng.standard_normal((rows, 60))
        want = np.zeros((rows, N))
        np.add.at(want.T, (idx,), g.T)
        np.testing.assert_allclose(vector_gather_sum(g, idx, N), want, rtol=1e-14, atol=1e-14)
        g[rows // 2, 7] = np.inf
        with np.errstate(all="raise"), warnings.catch_warnings():
            warnings.simplefilter("error")
            assert vector_gather_sum(g, idx, N) is None


_PRODUCTS = {"np.multiply(arr, x)": lambda arr, x: np.multiply(arr, x),
             "np.multiply(x, arr)": lambda arr, x: np.multiply(x, arr),
             "x * arr": lambda arr, x: x * arr, "arr * x": lambda arr, x: arr * x}


@pytest.mark.parametrize("product", sorted(_PRODUCTS))
@pytest.mark.parametrize("outer", [cr.jacfwd, cr.jacrev])
def test_product_with_an_array_of_inner_tracers_goes_to_the_inner_level(outer, product):
    """x * np.array([t1, t2]): the array holds values of the inner transform, x is the outer one's; the
    product must be taken by the inner level (the array is not a constant of the outer one).  Before,
    ``x * arr`` recorded the promoted array as a constant of the outer level: a zero Jacobian."""
    c = np.array([0.3, 0.7])

    def g(x):
        def inner(y):
            arr = np.array([y[0] * y[1], np.sin(y[1])])       # an object array of inner tracers
            return np.sum(_PRODUCTS[product](arr, x))
        return cr.grad(inner)(c + x)

    def exact(x):
        y = c + x
        return np.array([x[0] * y[1], x[0] * y[0] + x[1] * np.cos(y[1])])

    x = np.array([0.4, -0.9])
    np.testing.assert_allclose(g(x), exact(x), rtol=1e-14)
    J = outer(g)(x)
    np.testing.assert_allclose(J, _fd_jacobian(exact, x, 1e-6), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(J, (cr.jacrev if outer is cr.jacfwd else cr.jacfwd)(g)(x), rtol=1e-12, atol=1e-14)
