"""Array methods on traced values, building arrays from traced scalars, and shape functions that
must compute exactly NumPy's values (the derivative is only right if the function is)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.testing import check_grads

X = np.random.default_rng(3).uniform(0.5, 2.0, size=(3, 4))

# -- every listed array method works on tracers and agrees with finite differences of the ndarray method --
METHODS = {
    "sum": lambda x: x.sum(axis=0),
    "mean": lambda x: x.mean(1, keepdims=True),
    "prod": lambda x: x.prod(axis=1),
    "max": lambda x: x.max(axis=0),
    "min": lambda x: x.min(),
    "std": lambda x: x.std(axis=1),
    "var": lambda x: x.var(ddof=1),
    "reshape": lambda x: x.reshape(2, 6) * x.reshape((6, 2)).T,
    "transpose": lambda x: x.transpose() @ x.transpose((0, 1)),
    "dot": lambda x: x.dot(x.T),
    "flatten": lambda x: x.flatten() ** 2,
    "ravel": lambda x: x.ravel() ** 2,
    "squeeze": lambda x: x[:, None, :1].squeeze() * x[None, 1].squeeze(axis=0)[:3],
    "clip": lambda x: x.clip(0.7, 1.8),
    "cumsum": lambda x: x.cumsum(axis=1),
    "astype float32/float64": lambda x: x.astype(np.float32).astype(np.float64) * x.astype("float64"),
    "copy": lambda x: x.copy() * x,
    "T": lambda x: x.T ** 2,
    "mT": lambda x: np.stack([x, x])[..., :2].mT ** 2,
    "diagonal / trace": lambda x: x.diagonal(1) * x.trace(),
    "swapaxes": lambda x: x.swapaxes(0, 1) ** 2,
    "repeat / take": lambda x: x.repeat(2, axis=1) * x.take([0, 0, 1, 1, 2, 2, 3, 3], axis=1),
    "conj": lambda x: x.conj() * x.conjugate(),
}


@pytest.mark.parametrize("name", METHODS)
def test_array_method(name):
    if name == "mT" and not hasattr(np.ndarray, "mT"):
        pytest.skip("ndarray.mT is new in NumPy 2.0: the plain-NumPy reference cannot run here")
    f = METHODS[name]
    kw = {"eps": 1e-3, "atol": 1e-4} if "float32" in name else {}     # float32 rounding limits finite differences
    check_grads(f, (X,), order=1, **kw)
    np.testing.assert_array_equal(cr.jvp(f, (X,), (np.ones_like(X),))[0], f(X))


def test_sort_method_is_in_place_and_refused():
    with pytest.raises(cr.InPlaceError, match=r"np\.sort"):
        cr.grad(lambda x: x.sort())(X[0])
    assert np.array_equal(cr.jvp(lambda x: x.argsort(), (X[0],), (X[0],))[0], np.argsort(X[0]))


# -- building arrays from traced scalars ------------------------------------------------------------------------
def test_stack_of_traced_scalars_builds_a_traced_array():
    f = lambda x: np.stack([x[0] * x[1], np.sin(x[2]), 2.0])     # noqa: E731
    x = np.array([0.3, -1.2, 0.8])
    jac = np.asarray(cr.jacfwd(f)(x))
    want = np.array([[x[1], x[0], 0.0], [0.0, 0.0, np.cos(x[2])], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(jac, want, atol=1e-15)
    np.testing.assert_allclose(np.asarray(cr.jacrev(f)(x)), want, atol=1e-15)


def test_np_array_of_traced_scalars_builds_a_traced_array():
    """np.array([t1, t2]) does not dispatch; the elements' __array__ makes an object array, promoted back."""
    f = lambda x: np.array([x[0] * x[1], 1.0, np.sin(x[2])])     # noqa: E731
    x = np.array([0.3, -1.2, 0.8])
    want = np.array([[x[1], x[0], 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, np.cos(x[2])]])
    np.testing.assert_allclose(cr.jacfwd(f)(x), want, atol=1e-15)
    np.testing.assert_allclose(cr.jacrev(f)(x), want, atol=1e-15)


def test_np_array_with_like_dispatches():
    f = lambda x: np.array([[x[0], 1.0], [x[1] ** 2, x[0]]], like=x)     # noqa: E731
    x = np.array([0.5, -2.0])
    check_grads(f, (x,), order=2)
    assert np.asarray(cr.jacfwd(f)(x)).shape == (2, 2, 2)


# -- compositions compute NumPy's values exactly ----------------------------------------------------------------
SAME_VALUES = {
    "pad reflect": lambda x: np.pad(x, ((2, 1), (3, 0)), mode="reflect"),
    "pad symmetric": lambda x: np.pad(x, 2, mode="symmetric"),
    "pad wrap": lambda x: np.pad(x, ((0, 4), (1, 1)), mode="wrap"),
    "pad edge": lambda x: np.pad(x, 1, mode="edge"),
    "pad constant pairs": lambda x: np.pad(x, ((1, 2), (2, 1)), constant_values=((1.0, 2.0), (3.0, 4.0))),
    "roll": lambda x: np.roll(x, -5),
    "roll axes": lambda x: np.roll(x, (2, 7), axis=(0, 1)),
    "rot90": lambda x: np.rot90(x, -1, axes=(1, 0)),
    "tile": lambda x: np.tile(x, (2, 1, 1)),
    "repeat": lambda x: np.repeat(x, [0, 3, 1], axis=0),
    "array_split": lambda x: np.concatenate(np.array_split(x, 3, axis=1)[::-1], axis=1),
    "take_along_axis": lambda x: np.take_along_axis(x, np.argsort(x, axis=0), axis=0),
    "sort": lambda x: np.sort(x, axis=None),
    "partition (whole arrangement, ties)":
        lambda x: np.partition(x, 2, axis=1) + np.partition(np.round(x), (1, 5), axis=None)[:4],
    "diag k": lambda x: np.diag(x[0], -2),
    "diagonal offset": lambda x: np.diagonal(x, -1),
    "triu": lambda x: np.triu(x, -1),
    "einsum implicit": lambda x: np.einsum("ji,jk", x, x),
    "kron": lambda x: np.kron(x[:2, :2], x),
    "cross": lambda x: np.cross(x[:, :3], x[:, 1:]),
    "multi_dot": lambda x: np.linalg.multi_dot([x[0], x.T, x, x.T]),
    "inner": lambda x: np.inner(x, x),
    "tensordot": lambda x: np.tensordot(x, x, axes=([0], [0])),
    "matrix_power": lambda x: np.linalg.matrix_power(x[:, :3], 3),
}


@pytest.mark.parametrize("name", SAME_VALUES)
def test_composition_computes_numpys_value(name):
    f = SAME_VALUES[name]
    out, _ = cr.jvp(f, (X,), (np.ones_like(X),))
    np.testing.assert_allclose(out, f(X), rtol=1e-13, atol=1e-14)
    assert np.shape(out) == np.shape(f(X))


def test_sort_ties_follow_the_stable_permutation():
    """Convention: at ties each output follows the input a stable argsort puts there."""
    x = np.array([2.0, 1.0, 1.0])
    jac = np.asarray(cr.jacfwd(np.sort)(x))
    np.testing.assert_array_equal(jac, np.eye(3)[[1, 2, 0]])
    np.testing.assert_array_equal(np.asarray(cr.jacrev(np.sort)(x)), jac)


# -- what is refused, and how ---------------------------------------------------------------------------------
@pytest.mark.parametrize("f, match", [
    (lambda x: np.pad(x, 1, mode=lambda v, w, i, k: None), "callable mode"),
    (lambda x: np.pad(x, 1, mode="linear_ramp", end_values=x[0, 0]), "end_values"),
    (lambda x: np.linalg.svd(x[:2]), "full_matrices=False"),
    (lambda x: np.linalg.qr(x[:2]), "m >= n"),
    (lambda x: np.linalg.svd(x @ x.T, hermitian=True), "hermitian"),
    (lambda x: np.einsum("ij->i", x, dtype=np.float32), "dtype"),
])
def test_refused_with_a_reason(f, match):
    with pytest.raises(cr.NotDifferentiableError, match=match):
        cr.jacfwd(f)(X)


def test_scipy_functions_are_not_intercepted_and_have_equivalents():
    sla = pytest.importorskip("scipy.linalg")
    from chainrule.rules.scipy_linalg import expm
    a = np.array([[0.1, 0.4], [-0.3, 0.2]])
    with pytest.raises((cr.TracerConversionError, ValueError)) as info:     # SciPy's own np.asarray
        cr.jacfwd(sla.expm)(a)
    assert isinstance(info.value, cr.TracerConversionError) or \
        isinstance(info.value.__cause__, cr.TracerConversionError)
    np.testing.assert_allclose(expm(a), sla.expm(a))                  # plain values go straight to SciPy
    # d/dt expm(t a) at t = 1 is a expm(a)
    _, t = cr.jvp(expm, (a,), (a,))
    np.testing.assert_allclose(t, a @ sla.expm(a), rtol=1e-12)


def test_shape_compositions_keep_nothing_on_the_tape():
    """Every piece is linear, so reverse mode keeps no array for the backward sweep."""
    from chainrule.reverse import tape_nbytes, vjp_flat
    def f(xs):
        a = np.roll(np.flip(np.pad(np.tile(xs[0], 2), 1, mode="reflect")), 2)[1:, ::2].T.ravel()[:12]
        return [a + np.stack(np.split(np.repeat(xs[0], 2, axis=0), 2)).sum(axis=0).ravel()]
    _, pullback = vjp_flat(f, [X])
    assert tape_nbytes(pullback.tape) == 0
    _, pullback = vjp_flat(lambda xs: [np.linalg.inv(xs[0])], [X[:, :3] + 3 * np.eye(3)])
    assert tape_nbytes(pullback.tape) == 9 * 8            # inv keeps its output only


# -- einsum: more subscript patterns, every operand batched in turn ----------------------------------------------
EINSUM = [
    ("ij,ij->", [(2, 3), (2, 3)]),
    ("i,i", [(4,), (4,)]),
    ("ijk->kji", [(2, 3, 4)]),
    ("ii,ij->j", [(3, 3), (3, 2)]),
    ("iji->j", [(2, 3, 2)]),
    ("iii->i", [(2, 2, 2)]),
    ("...i->...", [(2, 3, 4)]),
    ("i...,i->...", [(3, 2, 2), (3,)]),
    ("ab,bc,cd,da->", [(2, 3), (3, 2), (2, 4), (4, 2)]),
    ("Ab,bA->bA", [(2, 3), (3, 2)]),
]


@pytest.mark.parametrize("subscripts, shapes", EINSUM, ids=[e[0] for e in EINSUM])
def test_einsum_patterns(subscripts, shapes):
    from chainrule.testing import check_batching
    rng = np.random.default_rng(7)
    ops = [rng.uniform(-1, 1, s) for s in shapes]
    f = lambda *xs: np.einsum(subscripts, *xs)       # noqa: E731
    check_grads(f, ops, order=2)
    np.testing.assert_allclose(cr.jvp(f, tuple(ops), tuple(ops))[0], f(*ops), rtol=1e-14)
    for k in range(len(ops)):                         # check_batching batches its first argument
        rest = ops[:k] + ops[k + 1:]
        check_batching(lambda x, *r, k=k: f(*r[:k], x, *r[k:]), [ops[k], *rest])
