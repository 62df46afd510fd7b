"""Products and linear algebra.

``matmul`` is bilinear: the JVP in one argument is the product with the
tangent in its place, and the VJP is the product with the other factor
transposed, summed over broadcast stack axes.  1-D operands are promoted to
matrices (a row for the left, a column for the right) and the promoted axis
is dropped again, exactly as NumPy does, so the rules treat one case.

The other products are compositions: ``dot``, ``inner``, ``tensordot`` move
the summed axes together and call ``matmul`` on reshaped operands; ``outer``,
``kron`` and ``cross`` are broadcasting products of reshaped or indexed
pieces; ``matrix_power`` and ``multi_dot`` are chains of ``matmul``.
``einsum`` is one primitive: its subscripts are made explicit once (the
ellipsis replaced by letters, the implicit output written out), the JVP is
the same einsum with the tangent in place of operand i, and the VJP of
operand i is an einsum of the adjoint with the other operands that produces
operand i's subscripts -- an identity factor restores a repeated index (a
diagonal) and a vector of ones restores an index summed in operand i only.

The factorisations (``inv``, ``solve``, ``det``, ``slogdet``, ``cholesky``,
``eigh``, ``svd``, ``qr``, ``pinv``) are primitives whose rules are written
with ``matmul`` and ``solve``, so they are differentiable again.  ``det`` is a
polynomial: its derivative is the adjugate, computed through the SVD without
division, so it is exact at singular matrices too (first and second order;
higher orders differentiate the SVD, whose rules warn at repeated singular
values).  The others' derivatives blow up where the factorisation is not unique or the matrix is
singular; a frontend measures the distance to that limit on the primal and
emits :class:`chainrule.errors.NearlyDegenerateWarning` when it is below
``DEGENERACY_TOL`` = sqrt(machine epsilon): past it the derivative may have
lost more than half of its digits (or does not exist), above it the rules are
accurate (tests/test_linalg_limits.py checks both sides).  ``eigh`` and
``svd`` assume distinct eigenvalues and singular values; ``eigvalsh`` and
``svd(compute_uv=False)`` are primitives of their own, whose first derivative
needs no eigenvector terms and so stays exact for symmetric functions of the
values even where they repeat.  ``lstsq`` is ``pinv(a) @ b``.  ``eig`` and
``eigvals`` (general square matrices, real or complex) assume distinct
eigenvalues too; their eigenvectors' phase is a gauge (see the eig section).

Complex matrices follow the bilinear pairing (no conjugation inside a VJP, as
for every rule): the holomorphic functions (``inv``, ``solve``, ``det``,
``eig``'s eigenvalues) keep the plain transposes of their real rules; the
others (``cholesky`` of a Hermitian matrix, ``svd``, ``qr``, ``pinv``, the
eigenvectors, ``slogdet``'s sign) conjugate where their derivatives do.
"""

import os
import string
import sys
import warnings
from collections import Counter, namedtuple

import numpy as np

from ..core import Primitive, Tracer, array_operand, bind, concrete_value, plain_value, primitive_of, register_function
from ..errors import NearlyDegenerateWarning, NotDifferentiableError
from ._broadcast import dtype_of, insert_axes, ndim_of, shape_of, sum_to
from ._declare import complex_safe, rule, variadic
from .indexing import gather


def _result_type(example, name, fields):
    """The type NumPy returns its results in: a named tuple (NumPy >= 2.0), or the same one made here
    (NumPy 1.x returns plain tuples), so that ``.logabsdet``, ``.eigenvectors``... work on both."""
    kind = type(example)
    return kind if hasattr(kind, "_fields") else namedtuple(name, fields)


matmul_p = primitive_of(np.matmul)


def _promoted(shape_a, shape_b):
    """Matrix shapes of the two operands as NumPy promotes 1-D ones."""
    a2 = (1,) + shape_a if len(shape_a) == 1 else shape_a
    b2 = shape_b + (1,) if len(shape_b) == 1 else shape_b
    return a2, b2


def _out2(a2, b2):
    """The promoted output shape: broadcast stack + (n, q)."""
    return np.broadcast_shapes(a2[:-2], b2[:-2]) + (a2[-2], b2[-1])


def _mT(x):
    return np.swapaxes(x, -1, -2)


def _cj(x):
    """conj(x) for a complex value, x itself for a real one."""
    return np.conjugate(x) if dtype_of(x).kind == "c" else x


def _H(x):
    """The conjugate transpose of a (stack of) matrices; the transpose for real ones."""
    return _cj(_mT(x))


def _re(x):
    return np.real(x) if dtype_of(x).kind == "c" else x


def _with_batch(t, b, shape, stack_ndim):
    """Reshape a batched value to ``shape`` (promoted) with 1s so its stack axes align with the output's."""
    t = np.reshape(t, shape_of(t)[:b] + shape)
    return insert_axes(t, b, stack_ndim - (len(shape) - 2))


def _jvp_a(t, out, a, b):
    sa, sb = shape_of(a), shape_of(b)
    a2, b2 = _promoted(sa, sb)
    o2 = _out2(a2, b2)
    nb = ndim_of(t) - len(sa)
    r = np.matmul(_with_batch(t, nb, a2, len(o2) - 2), np.reshape(b, b2))
    return np.reshape(r, shape_of(t)[:nb] + shape_of(out))


def _jvp_b(t, out, a, b):
    sa, sb = shape_of(a), shape_of(b)
    a2, b2 = _promoted(sa, sb)
    o2 = _out2(a2, b2)
    nb = ndim_of(t) - len(sb)
    r = np.matmul(np.reshape(a, a2), _with_batch(t, nb, b2, len(o2) - 2))
    return np.reshape(r, shape_of(t)[:nb] + shape_of(out))


def _vjp_a(g, out, a, b):
    sa, sb = shape_of(a), shape_of(b)
    a2, b2 = _promoted(sa, sb)
    nb = ndim_of(g) - ndim_of(out)
    g2 = np.reshape(g, shape_of(g)[:nb] + _out2(a2, b2))
    r = np.matmul(g2, _mT(np.reshape(b, b2)))
    return np.reshape(sum_to(r, nb, a2), shape_of(g)[:nb] + sa)


def _vjp_b(g, out, a, b):
    sa, sb = shape_of(a), shape_of(b)
    a2, b2 = _promoted(sa, sb)
    nb = ndim_of(g) - ndim_of(out)
    g2 = np.reshape(g, shape_of(g)[:nb] + _out2(a2, b2))
    r = np.matmul(_mT(np.reshape(a, a2)), g2)
    return np.reshape(sum_to(r, nb, b2), shape_of(g)[:nb] + sb)


# Matrix-vector and vector-matrix products (and 2-D @ 2-D with a batch of directions) get their own
# paths: the promoted forms above would turn a batch of k directions into k small stacked products,
# where one matrix product over the whole batch does the same work in one BLAS call.
def _fast_case(sa, sb):
    return len(sa) <= 2 and len(sb) <= 2


def _rows(t, width):
    """``t`` as a matrix of rows of length ``width`` (every leading axis folded into the rows)."""
    return np.reshape(t, (-1, width))


def _jvp_a_fast(t, out, a, b):
    sa, sb = shape_of(a), shape_of(b)
    if not _fast_case(sa, sb):
        return _jvp_a(t, out, a, b)
    batch = shape_of(t)[:ndim_of(t) - len(sa)]
    if len(sa) == 1:                                        # (p,) @ b: t (*B, p) @ b
        return np.reshape(_rows(t, sa[0]) @ b, batch + shape_of(out))
    return np.reshape(_rows(t, sa[1]) @ b, batch + shape_of(out))      # (n, p) @ b: rows of t times b


def _jvp_b_fast(t, out, a, b):
    sa, sb = shape_of(a), shape_of(b)
    if not _fast_case(sa, sb) or (len(sb) == 2 and ndim_of(t) > 2):
        return _jvp_b(t, out, a, b)
    batch = shape_of(t)[:ndim_of(t) - len(sb)]
    if len(sb) == 1:                                        # a @ (p,): t (*B, p) @ a^T
        return np.reshape(_rows(t, sb[0]) @ _mT(a) if len(sa) == 2 else _rows(t, sb[0]) @ a,
                          batch + shape_of(out))
    return a @ t                                            # unbatched 2-D


def _vjp_a_fast(g, out, a, b):
    sa, sb = shape_of(a), shape_of(b)
    if not _fast_case(sa, sb):
        return _vjp_a(g, out, a, b)
    nb = ndim_of(g) - ndim_of(out)
    batch = shape_of(g)[:nb]
    if len(sb) == 1:                                        # out = a @ b with b a vector: g (x) b
        return g[..., None] * b
    return np.reshape(_rows(g, sb[1]) @ _mT(b), batch + sa)          # (*B, [n,] q) @ b^T


def _vjp_b_fast(g, out, a, b):
    sa, sb = shape_of(a), shape_of(b)
    if not _fast_case(sa, sb) or (len(sa) == 2 and len(sb) == 2 and ndim_of(g) > 2):
        return _vjp_b(g, out, a, b)
    nb = ndim_of(g) - ndim_of(out)
    batch = shape_of(g)[:nb]
    if len(sa) == 1:                                        # a vector: a (x) g
        return np.reshape(a, (sa[0], 1)) * g[..., None, :] if len(sb) == 2 else g[..., None] * a
    if len(sb) == 1:
        if type(g) is np.ndarray:                           # plain: the methods, not NumPy's dispatch
            return (g.reshape(-1, sa[0]) @ a).reshape(batch + sb)
        return np.reshape(_rows(g, sa[0]) @ a, batch + sb)  # (*B, n) @ a -> (*B, p)
    return _mT(a) @ g                                       # unbatched 2-D


rule(matmul_p, (_jvp_a_fast, _jvp_b_fast), (_vjp_a_fast, _vjp_b_fast), needs=(("y",), ("x",)))


def _dot(a, b, out=None):
    if out is not None:
        from ..errors import InPlaceError
        raise InPlaceError("numpy.dot(..., out=...) writes in place; use the returned value.")
    na, nb = ndim_of(a), ndim_of(b)
    if na == 0 or nb == 0:
        return np.multiply(a, b)
    if na <= 2 and nb <= 2:
        return np.matmul(a, b)
    return _tensordot(a, b, axes=([na - 1], [max(nb - 2, 0)]))


register_function(np.dot, _dot)


# == helpers ===================================================================================





def _diag_part(m):
    r = np.arange(shape_of(m)[-1])
    return gather(m, (Ellipsis, r, r), unique=True)


def _diag_embed(v):
    n = shape_of(v)[-1]
    return v[..., None] * np.eye(n, dtype=dtype_of(v))


def _trace2(m):
    return np.sum(_diag_part(m), axis=-1)


def _strict_lower(n, dtype):
    return np.tril(np.ones((n, n), dtype=dtype), -1)


def _no_out(name, out):
    if out is not None:
        from ..errors import InPlaceError
        raise InPlaceError(f"{name}(..., out=...) writes in place; use the returned value.")


DEGENERACY_TOL = float(np.sqrt(np.finfo(np.float64).eps))
"""Relative distance to a degenerate point (a repeated eigenvalue or singular value, a singular
matrix) below which a derivative is reported as unreliable with NearlyDegenerateWarning
(for float64; float32 uses sqrt of its own epsilon, 3.5e-4)."""


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _caller_level():
    """The warnings stacklevel of the first frame outside chainrule: the user's call."""
    level, frame = 1, sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    return level


def _warn_if_degenerate(dtype, name, distance, what):
    """Warn when ``distance`` (relative, 0 = degenerate) is below sqrt(eps of ``dtype``) anywhere in a stack."""
    dtype = np.finfo(np.result_type(dtype, np.float32)).dtype   # complex64 -> float32; integers -> float64
    tol = DEGENERACY_TOL if dtype == np.float64 else float(np.sqrt(np.finfo(dtype).eps))
    d = float(np.min(distance)) if np.size(distance) else np.inf
    if not d >= tol:                        # also catches nan
        warnings.warn(
            f"{name}: the derivative is taken at a point with {what} (relative distance {d:.2g} < "
            f"{tol:.2g}); it may be inaccurate or not exist there.", NearlyDegenerateWarning,
            stacklevel=_caller_level())


def _relative_gap(v):
    """min |v_i - v_j| (i != j) over max |v|, along the last axis; inf for one value."""
    v = np.asarray(v)
    v = v.astype(np.complex128 if v.dtype.kind == "c" else np.float64)
    n = v.shape[-1]
    if n < 2:
        return np.full(v.shape[:-1], np.inf)
    d = np.abs(v[..., :, None] - v[..., None, :]) + np.where(np.eye(n, dtype=bool), np.inf, 0.0)
    scale = np.max(np.abs(v), axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(scale > 0, np.min(d, axis=(-2, -1)) / np.where(scale > 0, scale, 1.0), 0.0)


def _inverse_condition(a):
    """1 / cond_2(a) for a stack of square matrices (0 for a singular one)."""
    a = np.asarray(a)
    s = np.linalg.svd(a.astype(np.complex128 if a.dtype.kind == "c" else np.float64), compute_uv=False)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(s[..., 0] > 0, s[..., -1] / np.where(s[..., 0] > 0, s[..., 0], 1.0), 0.0)


def _check_square(name, a):
    s = shape_of(a)
    if len(s) < 2 or s[-1] != s[-2]:
        raise np.linalg.LinAlgError(f"{name}: last 2 dimensions of the array must be square")


# == products built from matmul ================================================================

def _tensordot(a, b, axes=2):
    a, b = array_operand(a), array_operand(b)
    sa, sb = shape_of(a), shape_of(b)
    if isinstance(axes, (int, np.integer)):
        ax_a, ax_b = list(range(len(sa) - int(axes), len(sa))), list(range(int(axes)))
    else:
        ax_a, ax_b = axes
        ax_a = [int(i) % len(sa) for i in np.atleast_1d(ax_a)]
        ax_b = [int(i) % len(sb) for i in np.atleast_1d(ax_b)]
    if [sa[i] for i in ax_a] != [sb[j] for j in ax_b]:
        raise ValueError("shape-mismatch for sum")
    free_a = [i for i in range(len(sa)) if i not in ax_a]
    free_b = [j for j in range(len(sb)) if j not in ax_b]
    k = int(np.prod([sa[i] for i in ax_a], dtype=np.int64))
    a2 = np.reshape(np.transpose(a, free_a + ax_a), (-1, k))
    b2 = np.reshape(np.transpose(b, ax_b + free_b), (k, -1))
    return np.reshape(np.matmul(a2, b2), tuple(sa[i] for i in free_a) + tuple(sb[j] for j in free_b))


def _inner(a, b):
    a, b = array_operand(a), array_operand(b)
    if ndim_of(a) == 0 or ndim_of(b) == 0:
        return np.multiply(a, b)
    return _tensordot(a, b, axes=([-1], [-1]))


def _outer(a, b, out=None):
    _no_out("numpy.outer", out)
    return np.reshape(array_operand(a), (-1, 1)) * np.reshape(array_operand(b), (1, -1))


def _vdot(a, b):
    a = array_operand(a)
    if dtype_of(a).kind == "c":                             # NumPy's vdot conjugates its first argument
        a = np.conjugate(a)
    return np.matmul(np.ravel(a), np.ravel(array_operand(b)))


def _kron(a, b):
    a, b = array_operand(a), array_operand(b)
    nd = max(ndim_of(a), ndim_of(b))
    sa = (1,) * (nd - ndim_of(a)) + shape_of(a)
    sb = (1,) * (nd - ndim_of(b)) + shape_of(b)
    x = np.reshape(a, sum(((n, 1) for n in sa), ()))
    y = np.reshape(b, sum(((1, n) for n in sb), ()))
    return np.reshape(x * y, tuple(p * q for p, q in zip(sa, sb)))


def _cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    if axis is not None:
        axisa = axisb = axisc = axis
    a = np.moveaxis(array_operand(a), axisa, -1)
    b = np.moveaxis(array_operand(b), axisb, -1)
    na, nb = shape_of(a)[-1], shape_of(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError("incompatible dimensions for cross product (dimension must be 2 or 3)")
    if na == nb == 2:
        return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    a0, a1 = a[..., 0], a[..., 1]
    b0, b1 = b[..., 0], b[..., 1]
    a2 = a[..., 2] if na == 3 else None
    b2 = b[..., 2] if nb == 3 else None
    c0 = (a1 * b2 if b2 is not None else 0.0) - (a2 * b1 if a2 is not None else 0.0)
    c1 = (a2 * b0 if a2 is not None else 0.0) - (a0 * b2 if b2 is not None else 0.0)
    c2 = a0 * b1 - a1 * b0
    shape = np.broadcast_shapes(shape_of(c0), shape_of(c1), shape_of(c2))
    c = np.stack([np.broadcast_to(c0, shape), np.broadcast_to(c1, shape), np.broadcast_to(c2, shape)],
                 axis=-1)
    return np.moveaxis(c, -1, axisc)


def _matrix_power(a, n):
    a = array_operand(a)
    _check_square("numpy.linalg.matrix_power", a)
    n = int(n)
    if n == 0:
        return np.broadcast_to(np.eye(shape_of(a)[-1], dtype=dtype_of(a)), shape_of(a)).copy()
    if n < 0:
        a, n = np.linalg.inv(a), -n
    if n == 3:                                  # NumPy's order of the products, so its rounding too
        return np.matmul(np.matmul(a, a), a)
    result, power = None, a
    while n:                                    # binary powering: O(log n) products
        if n & 1:
            result = power if result is None else np.matmul(result, power)
        n >>= 1
        if n:
            power = np.matmul(power, power)
    return result


def _chain_order(dims):
    """Cheapest parenthesisation of a matrix chain with shapes dims[i] x dims[i+1] (split table)."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = np.inf
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


def _multi_dot(arrays, *, out=None):
    _no_out("numpy.linalg.multi_dot", out)
    arrays = [array_operand(a) for a in arrays]
    if len(arrays) < 2:
        raise ValueError("Expecting at least two arrays.")
    first_1d, last_1d = ndim_of(arrays[0]) == 1, ndim_of(arrays[-1]) == 1
    if first_1d:
        arrays[0] = np.reshape(arrays[0], (1, -1))
    if last_1d:
        arrays[-1] = np.reshape(arrays[-1], (-1, 1))
    dims = [shape_of(a)[0] for a in arrays] + [shape_of(arrays[-1])[1]]
    split = _chain_order(dims)

    def product(i, j):
        if i == j:
            return arrays[i]
        k = split[i][j]
        return np.matmul(product(i, k), product(k + 1, j))
    r = product(0, len(arrays) - 1)
    if first_1d or last_1d:
        r = np.reshape(r, tuple(d for d, drop in zip(shape_of(r), (first_1d, last_1d)) if not drop))
    return r


register_function(np.tensordot, _tensordot)
register_function(np.inner, _inner)
register_function(np.outer, _outer)
register_function(np.vdot, _vdot)
register_function(np.kron, _kron)
register_function(np.cross, _cross)
register_function(np.linalg.matrix_power, _matrix_power)
register_function(np.linalg.multi_dot, _multi_dot)

# == einsum ====================================================================================
_LETTERS = string.ascii_letters


def _einsum_impl(*operands, subscripts, optimize=True):
    # the user's own call keeps the user's optimize (NumPy's primal, to the last bit); the rules' einsums
    # contract with optimize=True (BLAS where it applies)
    return np.einsum(subscripts, *operands, optimize=optimize and len(operands) > 1)


einsum_p = Primitive("numpy.einsum", _einsum_impl, arity=None)


def _split_subscripts(subscripts):
    ins, out = subscripts.split("->")
    return ins.split(","), out


def _fresh(used, count):
    free = [c for c in _LETTERS if c not in used]
    if len(free) < count:
        raise ValueError("numpy.einsum: too many distinct indices to differentiate (52 letters at most)")
    return "".join(free[:count])


def _einsum_jvp(i, t, out, *ops, subscripts, optimize=True):
    ins, rhs = _split_subscripts(subscripts)
    batch = _fresh(subscripts, ndim_of(t) - ndim_of(ops[i]))
    ins = list(ins)
    ins[i] = batch + ins[i]
    args = list(ops)
    args[i] = t
    return bind(einsum_p, tuple(args), {"subscripts": ",".join(ins) + "->" + batch + rhs})


def _einsum_vjp(i, g, out, *ops, subscripts, optimize=True):
    ins, rhs = _split_subscripts(subscripts)
    target = ins[i]
    shape = shape_of(ops[i])
    used = set(subscripts)
    batch = _fresh(used, ndim_of(g) - ndim_of(out))
    used |= set(batch)
    terms = [batch + rhs] + [s for j, s in enumerate(ins) if j != i]
    args = [g] + [o for j, o in enumerate(ops) if j != i]
    result, seen = "", set()
    for c, n in zip(target, shape):
        if c in seen:                       # a repeated index: a diagonal, restored by an identity factor
            d = _fresh(used, 1)
            used.add(d)
            terms.append(c + d)
            args.append(np.eye(n, dtype=dtype_of(g)))
            result += d
        else:
            seen.add(c)
            result += c
    present = set("".join(terms))
    for c, n in zip(target, shape):
        if c not in present:                # summed in operand i only: broadcast back by a vector of ones
            terms.append(c)
            args.append(np.ones(n, dtype=dtype_of(g)))
            present.add(c)
    return bind(einsum_p, tuple(args), {"subscripts": ",".join(terms) + "->" + batch + result})


variadic(einsum_p, _einsum_jvp, _einsum_vjp, needs=("args",))


def _sublist_to_letters(sub):
    return "".join("..." if s is Ellipsis else _LETTERS[int(s)] for s in sub)


def canonical_einsum(subscripts, shapes):
    """Explicit subscripts (no ellipsis, output written out) for operands of the given shapes."""
    subscripts = subscripts.replace(" ", "")
    lhs, explicit, rhs = subscripts.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: {len(terms)} operand subscripts for {len(shapes)} operands")
    letters = set(c for c in subscripts if c.isalpha())
    ell = max([len(s) - (len(t) - 3) for t, s in zip(terms, shapes) if "..." in t] + [0])
    ell_letters = _fresh(letters, ell)
    canon = []
    for t, s in zip(terms, shapes):
        if "..." in t:
            k = len(s) - (len(t) - 3)
            t = t.replace("...", ell_letters[ell - k:] if k else "")
        if len(t) != len(s):
            raise ValueError(f"einsum: subscripts {t!r} do not match an operand of shape {s}")
        canon.append(t)
    if explicit:
        rhs = rhs.replace("...", ell_letters)
    else:
        counts = Counter("".join(t.replace("...", "") for t in terms))
        rhs = ell_letters + "".join(sorted(c for c, k in counts.items() if k == 1))
    return ",".join(canon) + "->" + rhs


def _einsum(*operands, out=None, optimize=False, **kwargs):
    _no_out("numpy.einsum", out)
    if kwargs.get("dtype") is not None or kwargs.get("casting", "safe") != "safe":
        raise NotDifferentiableError("numpy.einsum", "dtype= and casting= are not supported")
    if isinstance(operands[0], str):
        subscripts, ops = operands[0], list(operands[1:])
    else:                                   # interleaved form: op, sublist, op, sublist, ..., [out sublist]
        pairs = len(operands) // 2
        ops = list(operands[0:2 * pairs:2])
        subscripts = ",".join(_sublist_to_letters(s) for s in operands[1:2 * pairs:2])
        if len(operands) % 2:
            subscripts += "->" + _sublist_to_letters(operands[-1])
    ops = [array_operand(o) for o in ops]
    canon = canonical_einsum(subscripts, [shape_of(o) for o in ops])
    ins, rhs = _split_subscripts(canon)
    sizes = {}
    for t, o in zip(ins, ops):
        for c, n in zip(t, shape_of(o)):
            if n != 1:
                if sizes.setdefault(c, n) != n:
                    raise ValueError(f"einsum: index {c!r} has sizes {sizes[c]} and {n}")
    ops = [np.broadcast_to(o, tuple(sizes.get(c, 1) if n == 1 else n for c, n in zip(t, shape_of(o))))
           for t, o in zip(ins, ops)]      # size-1 broadcasting made explicit, so the rules never see it
    optimize = optimize if isinstance(optimize, (bool, str)) else True          # an explicit path: NumPy's own
    return bind(einsum_p, tuple(ops), {"subscripts": canon, "optimize": optimize})


register_function(np.einsum, _einsum)

# == factorisations and inverses ================================================================

# -- inv -------------------------------------------------------------------------------------------
inv_p = Primitive("numpy.linalg.inv", np.linalg.inv)
rule(inv_p, (lambda t, out, x: -(out @ t @ out),),
     (lambda g, out, x: -(_mT(out) @ g @ _mT(out)),), needs=(("out",),))


def _inv(a):
    a = array_operand(a)
    _check_square("numpy.linalg.inv", a)
    out = bind(inv_p, (a,))
    norm1 = lambda m: np.max(np.sum(np.abs(m), axis=-2), axis=-1)      # noqa: E731
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        rcond = 1.0 / (norm1(concrete_value(a)) * norm1(concrete_value(out)))           # 1 / cond_1: no second factorisation
    _warn_if_degenerate(dtype_of(a), "numpy.linalg.inv", np.nan_to_num(rcond, nan=0.0), "a nearly singular matrix")
    return out


register_function(np.linalg.inv, _inv)

# -- solve (b always a stack of matrices; a vector b becomes a column in the frontend) ------------
solve_p = Primitive("numpy.linalg.solve", np.linalg.solve, arity=2)


def _solve_vjp_b(g, out, a, b):
    nb = ndim_of(g) - ndim_of(out)
    return sum_to(np.linalg.solve(_mT(a), g), nb, shape_of(b))


def _solve_vjp_a(g, out, a, b):
    nb = ndim_of(g) - ndim_of(out)
    return sum_to(-(np.linalg.solve(_mT(a), g) @ _mT(out)), nb, shape_of(a))


def _stacked_like(t, x, out):
    """A tangent of ``x`` with axes of length 1 after its batch axes, so its stack aligns with ``out``'s."""
    return insert_axes(t, ndim_of(t) - ndim_of(x), ndim_of(out) - ndim_of(x))


rule(solve_p,
     (lambda t, out, a, b: -np.linalg.solve(a, _stacked_like(t, a, out) @ out),
      lambda t, out, a, b: np.linalg.solve(a, _stacked_like(t, b, out))),
     (_solve_vjp_a, _solve_vjp_b), needs=(("out", "x"), ("x",)))


# NumPy 1.x reads a b of one dimension less than a as a stack of vectors; NumPy 2 only a 1-D b.
_VECTOR_STACKS = np.lib.NumpyVersion(np.__version__) < "2.0.0"


def _solve(a, b):
    a, b = array_operand(a), array_operand(b)
    _check_square("numpy.linalg.solve", a)
    _warn_if_degenerate(dtype_of(a), "numpy.linalg.solve", _inverse_condition(concrete_value(a)),
                        "a nearly singular matrix")
    if ndim_of(b) == 1 or (_VECTOR_STACKS and ndim_of(b) == ndim_of(a) - 1):
        return bind(solve_p, (a, np.expand_dims(b, -1)))[..., 0]
    return bind(solve_p, (a, b))


register_function(np.linalg.solve, _solve)

# -- det and slogdet ---------------------------------------------------------------------------------
# det is a polynomial, d det(A) = tr(adj(A) dA), and the adjugate adj(A) (= det(A) inv(A) where A is
# invertible) exists everywhere: through the SVD A = U S Vh it is c Vh^T adj(S) U^T with c = det(U) det(Vh)
# = +-1 and adj(S) = diag(prod_{k != i} s_k), products without division, so exact at singular A too.
# Its derivative has the same form: adj(S + e B) = adj(S) + e (diag(P diag(B)) - P * B) + O(e^2), with
# P[i, j] = prod_{k not in (i, j)} s_k (0 on the diagonal); the VJP is the same map transposed.

def _products_without(s):
    """``(p1, p2)``: p1[..., i] = prod of s without s_i; p2[..., i, j] = without s_i and s_j (0 if i == j)."""
    n = shape_of(s)[-1]
    one = np.ones(shape_of(s)[:-1] + (1,), dtype=dtype_of(s))
    before = np.cumprod(np.concatenate([one, s[..., :-1]], axis=-1), axis=-1)              # prod s[:i]
    after = np.flip(np.cumprod(np.concatenate([one, np.flip(s[..., 1:], -1)], axis=-1), axis=-1), -1)  # s[i+1:]
    k = np.arange(n)
    later = k[None, :] > k[:, None]
    between = np.cumprod(np.where(later, s[..., None, :], 1.0), axis=-1)      # [i, j]: prod s[i+1 : j+1]
    between = np.concatenate([np.ones(shape_of(between)[:-1] + (1,), dtype=dtype_of(s)), between[..., :-1]], -1)
    upper = np.where(later, before[..., :, None] * between * after[..., None, :], 0.0)     # i < j
    return before * after, upper + _mT(upper)


def _svd_sign(u, vh):
    """det(U) det(Vh), +-1 and locally constant: read off the plain values."""
    return np.linalg.det(plain_value(u)) * np.linalg.det(plain_value(vh))


# For complex A the same holds with conjugate transposes (adj(U) = det(U) U^H for unitary U), and
# c = det(U) det(Vh) is a phase, the phase of det(A) where A is invertible: constant only for real A.
# So the third derivative of a complex determinant (which would differentiate c) is refused.

def _adjugate_impl(x):
    u, s, vh = np.linalg.svd(x)
    p1, _ = _products_without(s)
    return _svd_sign(u, vh)[..., None, None] * (_H(vh) * p1[..., None, :]) @ _H(u)


def _adjugate_map(m, x, transpose):
    """The derivative of adj at ``x`` applied to ``m`` (``transpose``: its adjoint under the bilinear pairing)."""
    if dtype_of(x).kind == "c" and isinstance(x, Tracer):
        raise NotDifferentiableError("numpy.linalg.det", "to third order for a complex matrix (the phase of "
                                     "det(U) det(Vh) in its adjugate is held constant, right for real matrices "
                                     "only); use np.linalg.slogdet, or at most second derivatives")
    u, s, vh = np.linalg.svd(x)
    _, p2 = _products_without(s)
    c = _svd_sign(u, vh)[..., None, None]
    uc, vhc = _cj(u), _cj(vh)
    b = vhc @ m @ uc if transpose else _H(u) @ m @ _H(vh)
    d = c * (_diag_embed(np.sum(p2 * _diag_part(b)[..., None, :], axis=-1)) - p2 * b)
    return uc @ d @ vhc if transpose else _H(vh) @ d @ _H(u)


adjugate_p = Primitive("numpy.linalg.det (adjugate)", _adjugate_impl)
rule(adjugate_p, (lambda t, out, x: _adjugate_map(t, x, False),),
     (lambda g, out, x: _adjugate_map(g, x, True),), needs=(("x",),))

det_p = Primitive("numpy.linalg.det", np.linalg.det)
rule(det_p, (lambda t, out, x: np.sum(_mT(bind(adjugate_p, (x,))) * t, axis=(-2, -1)),),
     (lambda g, out, x: g[..., None, None] * _mT(bind(adjugate_p, (x,))),), needs=(("x",),))

slogdet_p = Primitive("numpy.linalg.slogdet", lambda x: tuple(np.linalg.slogdet(x)))


def _slogdet_jvp(t, out, x):
    sign, _ = out
    tr = _trace2(np.linalg.solve(x, t))                         # d log det = tr(A^-1 dA)
    if dtype_of(x).kind == "c":                                 # sign = e^(i arg det): d sign = i Im(tr) sign
        return sign * (1j * np.imag(tr)), np.real(tr)
    batch = shape_of(t)[:ndim_of(t) - ndim_of(x)]
    return np.zeros(batch + shape_of(sign), dtype=dtype_of(t)), tr


def _slogdet_vjp(g, out, x):
    sign_bar, log_bar = g
    if dtype_of(x).kind == "c":                                 # the transpose of (i Im(tr) sign, Re(tr))
        log_bar = _re(log_bar) + 1j * np.imag(sign_bar * out[0])
    return log_bar[..., None, None] * _mT(np.linalg.inv(x))


# Convention: for real matrices the sign is piecewise constant (derivative 0); log|det| has derivative
# inv(x)^T.  For complex ones the sign is the phase of det, e^(i arg det), and has a derivative.
rule(slogdet_p, (_slogdet_jvp,), (_slogdet_vjp,), needs=(("out", "x"),), multiple_results=True,
     convention="sign(det) of a real matrix is piecewise constant: derivative 0")

_SlogdetResult = _result_type(np.linalg.slogdet(np.eye(1)), "SlogdetResult", "sign logabsdet")


def _det(a):
    a = array_operand(a)
    _check_square("numpy.linalg.det", a)
    return bind(det_p, (a,))


def _slogdet(a):
    a = array_operand(a)
    _check_square("numpy.linalg.slogdet", a)
    _warn_if_degenerate(dtype_of(a), "numpy.linalg.slogdet", _inverse_condition(concrete_value(a)),
                        "a nearly singular matrix")
    return _SlogdetResult(*bind(slogdet_p, (a,)))


register_function(np.linalg.det, _det)
register_function(np.linalg.slogdet, _slogdet)


# -- symmetric input: the function NumPy computes reads one triangle ---------------------------------
# Convention: eigh and cholesky read only the lower (UPLO='L', upper=False) or the upper triangle, as
# NumPy's LAPACK calls do; the derivative is that of this function, so the entries of the other
# triangle get zero and finite differences in any direction agree with it.

def _symmetric_from(a, lower):
    n = shape_of(a)[-1]
    if dtype_of(a).kind == "c":
        # Hermitian from one triangle; LAPACK reads only the real part of the diagonal
        strict = np.tril(np.ones((n, n), dtype=bool), -1) if lower else np.triu(np.ones((n, n), dtype=bool), 1)
        t = np.where(strict, a, 0)
        return t + np.conjugate(_mT(t)) + _diag_embed(np.real(_diag_part(a)))
    keep = np.tril(np.ones((n, n), dtype=bool)) if lower else np.triu(np.ones((n, n), dtype=bool))
    return np.where(keep, a, _mT(a))


# -- cholesky ----------------------------------------------------------------------------------------
cholesky_p = Primitive("numpy.linalg.cholesky", np.linalg.cholesky)


def _phi_mask(n, dtype):
    return _strict_lower(n, dtype) + 0.5 * np.eye(n, dtype=dtype)


# A = L L^H (L L^T for real A): L^-1 dA L^-H = L^-1 dL + (L^-1 dL)^H with L^-1 dL lower triangular (and a
# real diagonal: LAPACK's L has a real positive one), so dL = L Phi(L^-1 dA L^-H).  That formula is
# complex-linear in dA (the frontend makes dA Hermitian); the VJP is its transpose under the bilinear
# pairing: L^-T Phi(L^T G) conj(L)^-1.
def _cholesky_jvp(t, out, x):
    n = shape_of(x)[-1]
    y = np.linalg.solve(out, t)                                 # L^-1 dA
    z = _H(np.linalg.solve(out, _H(y)))                         # L^-1 dA L^-H
    return out @ (z * _phi_mask(n, _re(out).dtype))


def _cholesky_vjp(g, out, x):
    n = shape_of(out)[-1]
    p = (_mT(out) @ g) * _phi_mask(n, _re(out).dtype)
    z = np.linalg.solve(_mT(out), p)                            # L^-T P
    return _mT(np.linalg.solve(_H(out), _mT(z)))                # L^-T P conj(L)^-1


rule(cholesky_p, (_cholesky_jvp,), (_cholesky_vjp,), needs=(("out",),),
     convention="reads one triangle (lower; upper with upper=True): the other entries get derivative 0")


def _cholesky(a, /, *, upper=False):
    a = array_operand(a)
    _check_square("numpy.linalg.cholesky", a)
    out = bind(cholesky_p, (_symmetric_from(a, lower=not upper),))
    d = np.abs(np.diagonal(concrete_value(out), axis1=-2, axis2=-1))
    _warn_if_degenerate(dtype_of(a), "numpy.linalg.cholesky", (np.min(d, -1) / np.max(d, -1)) ** 2,
                        "a nearly singular matrix")
    return _H(out) if upper else out


register_function(np.linalg.cholesky, _cholesky)

# -- eigh --------------------------------------------------------------------------------------------
# UPLO is a parameter of the primitive: NumPy's LAPACK call for "U" differs from the one for "L" in its
# last bits (and in eigenvector signs), and the primal under a transform must be NumPy's own.
eigh_p = Primitive("numpy.linalg.eigh", lambda x, *, UPLO="L": tuple(np.linalg.eigh(x, UPLO=UPLO)))


def _gap_matrix(w):
    """F[i, j] = 1 / (w[j] - w[i]) off the diagonal, 0 on it."""
    n = shape_of(w)[-1]
    eye = np.eye(n, dtype=bool)
    d = w[..., None, :] - w[..., :, None]
    return np.where(eye, 0.0, 1.0 / np.where(eye, 1.0, d))


def _adjoint_of(v):
    """V^H (V^T for real V): the eigenvectors of a Hermitian matrix are unitary."""
    return np.conjugate(_mT(v)) if dtype_of(v).kind == "c" else _mT(v)


def _eigh_jvp(t, out, x, **params):
    w, v = out
    m = _adjoint_of(v) @ t @ v
    d = _diag_part(m)
    # Hermitian dA: diag(V^H dA V) is real; dV = V (F o M) fixes the phase gauge (diag(V^H dV) = 0)
    return (np.real(d) if dtype_of(d).kind == "c" else d), v @ (_gap_matrix(w) * m)


def _eigh_vjp(g, out, x, **params):
    # the transpose of the JVP under the bilinear pairing: conj(V) [diag(w_bar) + F o (V^T v_bar)] V^T
    w, v = out
    w_bar, v_bar = g
    inner = _diag_embed(w_bar) + _gap_matrix(w) * (_mT(v) @ v_bar)
    return (np.conjugate(v) if dtype_of(v).kind == "c" else v) @ inner @ _mT(v)


rule(eigh_p, (_eigh_jvp,), (_eigh_vjp,), needs=(("out",),), multiple_results=True,
     convention="reads one triangle (UPLO), the other gets derivative 0; eigenvalues assumed distinct "
                "(NearlyDegenerateWarning when nearly repeated)")
_EighResult = _result_type(np.linalg.eigh(np.eye(1)), "EighResult", "eigenvalues eigenvectors")


def _uplo(UPLO):
    UPLO = UPLO.upper() if isinstance(UPLO, str) else UPLO          # NumPy accepts 'l' and 'u' too
    if UPLO not in ("L", "U"):
        raise ValueError("UPLO argument must be 'L' or 'U'")
    return UPLO


def _eigh(a, UPLO="L"):
    a = array_operand(a)
    _check_square("numpy.linalg.eigh", a)
    UPLO = _uplo(UPLO)
    w, v = bind(eigh_p, (_symmetric_from(a, lower=UPLO == "L"),), {"UPLO": UPLO})
    _warn_if_degenerate(dtype_of(a), "numpy.linalg.eigh", _relative_gap(concrete_value(w)), "nearly repeated eigenvalues")
    return _EighResult(w, v)


eigvalsh_p = Primitive("numpy.linalg.eigvalsh", lambda x, *, UPLO="L": np.linalg.eigvalsh(x, UPLO=UPLO))


def _eigvalsh_jvp(t, out, x, *, UPLO):
    _, v = bind(eigh_p, (x,), {"UPLO": UPLO})
    d = _diag_part(_adjoint_of(v) @ t @ v)
    return np.real(d) if dtype_of(d).kind == "c" else d


def _eigvalsh_vjp(g, out, x, *, UPLO):
    _, v = bind(eigh_p, (x,), {"UPLO": UPLO})
    return ((np.conjugate(v) if dtype_of(v).kind == "c" else v) * g[..., None, :]) @ _mT(v)


# Convention: at a repeated eigenvalue the derivative is diag(V^T dA V) for the eigenvectors LAPACK
# returns -- one of the one-sided derivatives, and exact for symmetric functions such as the sum.
rule(eigvalsh_p, (_eigvalsh_jvp,), (_eigvalsh_vjp,), needs=(("x",),),
     convention="reads one triangle (UPLO); at repeated eigenvalues diag(V^T dA V) for LAPACK's V "
                "(exact for symmetric functions of the eigenvalues)")


def _eigvalsh(a, UPLO="L"):
    a = array_operand(a)
    _check_square("numpy.linalg.eigvalsh", a)
    UPLO = _uplo(UPLO)
    return bind(eigvalsh_p, (_symmetric_from(a, lower=UPLO == "L"),), {"UPLO": UPLO})

register_function(np.linalg.eigh, _eigh)
register_function(np.linalg.eigvalsh, _eigvalsh)

# -- eig and eigvals (general square matrices) ------------------------------------------------------------
# A V = V diag(w).  With C = V^-1 dA V: dw = diag(C), and dV = V (F o C) up to a multiple of each column:
# an eigenvector is defined up to a complex factor.  NumPy (LAPACK) scales each column to unit norm and
# picks its phase (for real A: a sign, or the conjugate pair's convention); the rule follows a smooth
# choice with the same norm and the phase fixed by Im (V^-1 dV)_kk = 0:
#     dV = V (F o C) - V diag(Re diag(V^H V (F o C)))
# (the second term keeps |v_k| = 1).  So derivatives of functions invariant under v_k -> e^(i t) v_k
# (|v|, v v^H, eigenvalues, a column divided by its first entry...) are exact; the derivative of v itself is
# that of this gauge, not of LAPACK's phase, which may jump.  The VJP is the transpose under the bilinear
# pairing; a real A (whose eigenvalues may be complex) gets the real part of it, as dA is real.
eig_p = Primitive("numpy.linalg.eig", lambda x: tuple(np.linalg.eig(x)))


def _eig_jvp(t, out, x):
    w, v = out
    c = np.linalg.inv(v) @ t @ v
    dv = v @ (_gap_matrix(w) * c)
    dv = dv - v * _re(np.sum(_cj(v) * dv, axis=-2))[..., None, :]
    return _diag_part(c), dv


def _eig_vjp(g, out, x):
    w, v = out
    w_bar, v_bar = g
    v_bar = v_bar - _cj(v) * _re(np.sum(v_bar * v, axis=-2))[..., None, :]
    inner = _diag_embed(w_bar) + _gap_matrix(w) * (_mT(v) @ v_bar)
    # V^-T (diag(w_bar) + F o V^T v_bar) V^T, with one inverse for every adjoint direction of a batch
    a_bar = _mT(np.linalg.inv(v)) @ inner @ _mT(v)
    return _re(a_bar) if dtype_of(x).kind != "c" else a_bar


rule(eig_p, (_eig_jvp,), (_eig_vjp,), needs=(("out",),), multiple_results=True, complex_ok=True,
     convention="eigenvalues assumed distinct (NearlyDegenerateWarning when nearly repeated); each "
                "eigenvector has unit norm, and its phase is a gauge: derivatives of phase-invariant "
                "functions of it are exact")
_EigResult = _result_type(np.linalg.eig(np.eye(1)), "EigResult", "eigenvalues eigenvectors")


def _eig(a):
    a = array_operand(a)
    _check_square("numpy.linalg.eig", a)
    w, v = bind(eig_p, (a,))
    _warn_if_degenerate(dtype_of(a), "numpy.linalg.eig", _relative_gap(concrete_value(w)),
                        "nearly repeated eigenvalues")
    return _EigResult(w, v)


eigvals_p = Primitive("numpy.linalg.eigvals", np.linalg.eigvals)


def _matched_eigenvectors(x, out):
    """The eigenvectors of x in the order of ``out`` (NumPy's eigvals: the same order as eig in practice,
    matched here so that it need not be)."""
    w, v = bind(eig_p, (x,))
    wv, ov = plain_value(w), plain_value(out)
    if np.array_equal(wv, ov):
        return v
    j = np.argmin(np.abs(wv[..., :, None] - ov[..., None, :]), axis=-2)      # out[i] is w[j[i]]
    perm = (np.arange(wv.shape[-1])[:, None] == j[..., None, :]).astype(_re(np.zeros(0, dtype_of(v))).dtype)
    return v @ perm


def _eigvals_jvp(t, out, x):
    v = _matched_eigenvectors(x, out)
    return _diag_part(np.linalg.inv(v) @ t @ v)


def _eigvals_vjp(g, out, x):
    v = _matched_eigenvectors(x, out)
    a_bar = (_mT(np.linalg.inv(v)) * g[..., None, :]) @ _mT(v)
    return _re(a_bar) if dtype_of(x).kind != "c" else a_bar


rule(eigvals_p, (_eigvals_jvp,), (_eigvals_vjp,), needs=(("out", "x"),), complex_ok=True,
     convention="eigenvalues assumed distinct (NearlyDegenerateWarning when nearly repeated)")


def _eigvals(a):
    a = array_operand(a)
    _check_square("numpy.linalg.eigvals", a)
    w = bind(eigvals_p, (a,))
    _warn_if_degenerate(dtype_of(a), "numpy.linalg.eigvals", _relative_gap(concrete_value(w)),
                        "nearly repeated eigenvalues")
    return w


register_function(np.linalg.eig, _eig)
register_function(np.linalg.eigvals, _eigvals)

# -- svd (thin) and singular values -------------------------------------------------------------------
svd_p = Primitive("numpy.linalg.svd", lambda x: tuple(np.linalg.svd(x, full_matrices=False)))


def _svd_gap_matrix(s):
    """F[i, j] = 1 / (s[j]^2 - s[i]^2) off the diagonal, 0 on it."""
    return _gap_matrix(s * s)


# A = U S V^H, dP = U^H dA V: dS = Re diag(dP); U^H dU = F o (dP S + S dP^H) and V^H dV = F o (S dP + dP^H S)
# off the diagonal.  For complex A the pair (U D, V D) with D a diagonal of phases is an SVD too: only
# diag(U^H dU) - diag(V^H dV) = i Im diag(dP) / S is determined; the rule picks diag(V^H dV) = 0, a gauge,
# so the derivatives of functions invariant under that phase (S, U diag(c) V^H, |U|, |V|) are right.
# The VJP is written with the Hermitian pairing (its textbook form) and conjugated: under the bilinear
# pairing an adjoint G is the Hermitian one conj(G).
def _svd_jvp(t, out, x):
    u, s, vh = out
    v = _H(vh)
    m, n = shape_of(x)[-2:]
    dp = _H(u) @ t @ v
    f = _svd_gap_matrix(s)
    dps = dp * s[..., None, :]
    sdp = s[..., :, None] * dp
    omega_u = f * (dps + _H(dps))
    if dtype_of(dp).kind == "c":
        omega_u = omega_u + _diag_embed(1j * np.imag(_diag_part(dp)) / s)
    du = u @ omega_u
    dv = v @ (f * (sdp + _H(sdp)))
    if m > n:
        du = du + (t @ v - u @ dp) / s[..., None, :]
    elif n > m:
        dv = dv + (_H(t) @ u - v @ _H(dp)) / s[..., None, :]
    return du, _re(_diag_part(dp)), _H(dv)


def _svd_vjp(g, out, x):
    u, s, vh = out
    v = _H(vh)
    u_bar, s_bar, vh_bar = g
    u_bar, s_bar, v_bar = _cj(u_bar), _re(s_bar), _mT(vh_bar)      # the Hermitian adjoints of U, S, V
    m, n = shape_of(x)[-2:]
    f = _svd_gap_matrix(s)
    ut_ubar = _H(u) @ u_bar
    vt_vbar = _H(v) @ v_bar
    j = f * ut_ubar
    k = f * vt_vbar
    p_bar = _diag_embed(s_bar) + (j + _H(j)) * s[..., None, :] + s[..., :, None] * (k + _H(k))
    if dtype_of(ut_ubar).kind == "c":
        p_bar = p_bar + _diag_embed(1j * np.imag(_diag_part(ut_ubar)) / s)
    a_bar = u @ p_bar @ vh
    if m > n:
        a_bar = a_bar + ((u_bar - u @ ut_ubar) / s[..., None, :]) @ vh
    elif n > m:
        a_bar = a_bar + u @ _H((v_bar - v @ vt_vbar) / s[..., None, :])
    return _cj(a_bar)


rule(svd_p, (_svd_jvp,), (_svd_vjp,), needs=(("out",),), multiple_results=True,
     convention="singular values assumed distinct and non-zero; NearlyDegenerateWarning otherwise")

svdvals_p = Primitive("numpy.linalg.svd(compute_uv=False)", lambda x: np.linalg.svd(x, compute_uv=False))


def _svdvals_jvp(t, out, x):
    u, _, vh = bind(svd_p, (x,))
    return _re(_diag_part(_H(u) @ t @ _H(vh)))


def _svdvals_vjp(g, out, x):
    u, _, vh = bind(svd_p, (x,))
    return (_cj(u) * _re(g)[..., None, :]) @ _cj(vh)


rule(svdvals_p, (_svdvals_jvp,), (_svdvals_vjp,), needs=(("x",),),
     convention="singular values assumed distinct and non-zero; NearlyDegenerateWarning otherwise")
_SVDResult = _result_type(np.linalg.svd(np.eye(1)), "SVDResult", "U S Vh")


def _svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    a = array_operand(a)
    if hermitian:
        raise NotDifferentiableError("numpy.linalg.svd", "hermitian=True; use hermitian=False or np.linalg.eigh")
    m, n = shape_of(a)[-2:]
    if compute_uv and full_matrices and m != n:
        raise NotDifferentiableError(
            "numpy.linalg.svd", "full_matrices=True on a non-square matrix (the added singular vectors are "
            "not unique); pass full_matrices=False")
    out = bind(svd_p, (a,)) if compute_uv else bind(svdvals_p, (a,))
    s = concrete_value(out[1] if compute_uv else out)
    smax = np.where(s[..., 0] > 0, s[..., 0], 1.0)
    distance = np.minimum(s[..., -1] / smax, _relative_gap(s)) if compute_uv else s[..., -1] / smax
    _warn_if_degenerate(dtype_of(a), "numpy.linalg.svd", distance, "nearly repeated or zero singular values")
    return _SVDResult(*out) if compute_uv else out


register_function(np.linalg.svd, _svd)
if hasattr(np.linalg, "svdvals"):                               # NumPy >= 2.0
    register_function(np.linalg.svdvals, lambda x: _svd(x, compute_uv=False))

# -- qr (reduced, m >= n) ------------------------------------------------------------------------------
qr_p = Primitive("numpy.linalg.qr", lambda x: tuple(np.linalg.qr(x)))


# C = Q^H dA R^-1 = Q^H dQ + dR R^-1: the anti-Hermitian Omega = Q^H dQ takes the strict lower part of C, and
# (LAPACK's R has a real diagonal, kept real) the imaginary part of its diagonal.  The VJP is written with
# the Hermitian pairing and conjugated, as for svd.
def _qr_jvp(t, out, x):
    q, r = out
    n = shape_of(x)[-1]
    xr = _mT(np.linalg.solve(_mT(r), _mT(t)))                  # dA R^-1
    c = _H(q) @ xr
    low = c * _strict_lower(n, _re(q).dtype)
    omega = low - _H(low)
    if dtype_of(c).kind == "c":
        omega = omega + _diag_embed(1j * np.imag(_diag_part(c)))
    return q @ (omega - c) + xr, (c - omega) @ r


def _qr_vjp(g, out, x):
    q, r = out
    q_bar, r_bar = g
    n = shape_of(x)[-1]
    m = _H(q) @ _cj(q_bar) - _cj(r_bar) @ _H(r)
    c_bar = (m - _H(m)) * _strict_lower(n, _re(q).dtype) - m
    if dtype_of(m).kind == "c":
        c_bar = c_bar + _diag_embed(1j * np.imag(_diag_part(m)))
    x_bar = q_bar + _cj(q @ c_bar)
    return _mT(np.linalg.solve(r, _mT(x_bar)))                  # X_bar R^-T


rule(qr_p, (_qr_jvp,), (_qr_vjp,), needs=(("out",),), multiple_results=True,
     convention="full column rank assumed; NearlyDegenerateWarning otherwise")
_QRResult = _result_type(np.linalg.qr(np.eye(1)), "QRResult", "Q R")


def _qr(a, mode="reduced"):
    a = array_operand(a)
    m, n = shape_of(a)[-2:]
    if mode not in ("reduced", "complete", "r") or m < n or (mode == "complete" and m != n):
        raise NotDifferentiableError(
            "numpy.linalg.qr", f"mode={mode!r} on a {m}x{n} matrix; differentiable: m >= n with mode "
            "'reduced' or 'r' (the extra columns of mode='complete' and the case m < n are not unique)")
    q, r = bind(qr_p, (a,))
    d = np.abs(np.diagonal(concrete_value(r), axis1=-2, axis2=-1))
    _warn_if_degenerate(dtype_of(a), "numpy.linalg.qr",
                        np.min(d, -1) / np.where(np.max(d, -1) > 0, np.max(d, -1), 1.0),
                        "a nearly rank-deficient matrix")
    return r if mode == "r" else _QRResult(q, r)


register_function(np.linalg.qr, _qr)

# -- pinv and lstsq --------------------------------------------------------------------------------------
pinv_p = Primitive("numpy.linalg.pinv", lambda x, *, rcond: np.linalg.pinv(x, rcond=rcond))


# d A^+ = -A^+ dA A^+ + A^+ A^+H dA^H (I - A A^+) + (I - A^+ A) dA^H A^+H A^+; the terms in dA^H are not
# complex-linear: their transpose under the bilinear pairing is the conjugate of the real formula's.
def _pinv_jvp(t, out, x, *, rcond):
    m, n = shape_of(x)[-2:]
    i_m = np.eye(m, dtype=dtype_of(out))
    i_n = np.eye(n, dtype=dtype_of(out))
    tt = _H(t)
    return (-(out @ t @ out) + out @ _H(out) @ tt @ (i_m - x @ out)
            + (i_n - out @ x) @ tt @ _H(out) @ out)


def _pinv_vjp(g, out, x, *, rcond):
    m, n = shape_of(x)[-2:]
    i_m = np.eye(m, dtype=dtype_of(out))
    i_n = np.eye(n, dtype=dtype_of(out))
    gt = _H(g)
    oc, xc = _cj(out), _cj(x)
    return (-(_mT(out) @ g @ _mT(out)) + (i_m - xc @ oc) @ gt @ oc @ _mT(out)
            + _mT(out) @ oc @ gt @ (i_n - oc @ xc))


# Convention: the rank is held fixed (singular values under the cutoff count as exact zeros).
rule(pinv_p, (_pinv_jvp,), (_pinv_vjp,), needs=(("out", "x"),),
     convention="rank held fixed: singular values under rcond * s_max are exact zeros")


def _effective_rcond(a, rcond, rtol):
    if rcond is None:
        if rtol is None:
            return max(shape_of(a)[-2:]) * np.finfo(dtype_of(a)).eps
        return rtol
    return rcond


def _pinv_checked(a, rcond, name):
    s = np.linalg.svd(concrete_value(a), compute_uv=False)
    smax = np.where(s[..., :1] > 0, s[..., :1], 1.0)
    kept = np.where(s > rcond * s[..., :1], s / smax, np.inf)
    _warn_if_degenerate(dtype_of(a), name, np.min(kept, axis=-1),
                        "a nearly singular kept part (ill-conditioned rank)")
    return bind(pinv_p, (a,), {"rcond": float(rcond)})


_NO_VALUE = object()


def _pinv(a, rcond=None, hermitian=False, *, rtol=_NO_VALUE):
    if hermitian:
        raise NotDifferentiableError("numpy.linalg.pinv", "hermitian=True (NumPy then reads one triangle "
                                     "only); pass hermitian=False, or symmetrise first: (a + a.T) / 2")
    a = array_operand(a)
    if rcond is None and rtol is _NO_VALUE:
        rcond = 1e-15                                              # NumPy's default
    return _pinv_checked(a, _effective_rcond(a, rcond, None if rtol is _NO_VALUE else rtol),
                         "numpy.linalg.pinv")


class _Value:
    """A plain array carried as a parameter (printed by its shape, not its entries)."""

    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    def __repr__(self):
        return f"<NumPy's value, shape {np.shape(self.array)}>"


# The identity on x whose primal is NumPy's own value for the same quantity (equal up to rounding):
# where chainrule computes a function through a differentiable composition (lstsq through pinv), the
# primal under a transform is still NumPy's, to the last bit, and the derivative the composition's.
numpy_value_p = Primitive("numpy value (rounding)", lambda x, *, value: value.array)
rule(numpy_value_p, (lambda t, out, x, *, value: t,), (lambda g, out, x, *, value: g,), needs=((),))


def _with_numpy_value(x, value):
    return bind(numpy_value_p, (x,), {"value": _Value(value)})


def _lstsq(a, b, rcond=None):
    a, b = array_operand(a), array_operand(b)
    m, n = shape_of(a)
    rc = _effective_rcond(a, rcond, None)
    x = _pinv_checked(a, rc, "numpy.linalg.lstsq") @ b
    x_np, residuals_np, rank, s_np = np.linalg.lstsq(plain_value(a), plain_value(b), rcond=rc)
    if rank == n and m > n:
        r = a @ x - b
        residuals = np.sum(np.real(r) ** 2 + np.imag(r) ** 2, axis=0) if dtype_of(r).kind == "c" else \
            np.sum(r * r, axis=0)
        if ndim_of(b) == 1:
            residuals = np.reshape(residuals, (1,))
        residuals = _with_numpy_value(residuals, residuals_np)
    else:
        residuals = np.zeros((0,), dtype=np.finfo(np.result_type(dtype_of(a), dtype_of(b))).dtype)
    return (_with_numpy_value(x, x_np), residuals, rank,
            _with_numpy_value(_svd(a, compute_uv=False), s_np))


_lstsq.convention = "rank held fixed: singular values under rcond * s_max are exact zeros"
register_function(np.linalg.pinv, _pinv)
register_function(np.linalg.lstsq, _lstsq)


# -- complex arguments ----------------------------------------------------------------------------
# Products are bilinear: their rules, written without conjugation, are right under the bilinear
# pairing; a real factor meeting a complex one gets the real part of its adjoint (mixed=True).
complex_safe(matmul_p, einsum_p, mixed=True)
# Hermitian eigenproblems: eigenvalues real, eigenvectors unitary with LAPACK's phase; derivatives of
# phase-invariant functions of them (|v| ** 2, v v^H) are right, the phase itself is a gauge
complex_safe(eigh_p, eigvalsh_p)
# Holomorphic (inv, solve, det): the rules' transposes are the bilinear ones unchanged (det's adjugate
# conjugates its unitary factors).  solve may mix a real and a complex operand.  slogdet (its complex sign),
# cholesky (Hermitian), svd, qr and pinv conjugate where their derivatives need it.
complex_safe(inv_p, det_p, adjugate_p, slogdet_p, cholesky_p, svd_p, svdvals_p, qr_p, pinv_p, numpy_value_p)
complex_safe(solve_p, mixed=True)


# -- compositions: cond, matrix_rank, tensorsolve, tensorinv ----------------------------------------
def _cond(x, p=None):
    if ndim_of(x) < 2:
        raise np.linalg.LinAlgError(f"{ndim_of(x)}-dimensional array given. Array must be at least two-dimensional")
    if p is None or p == 2 or p == -2:                   # as NumPy: a ratio of singular values
        s = np.linalg.svd(x, compute_uv=False)
        with np.errstate(all="ignore"):
            return s[..., -1] / s[..., 0] if p == -2 else s[..., 0] / s[..., -1]
    _check_square("numpy.linalg.cond", x)
    return np.linalg.norm(x, p, axis=(-2, -1)) * np.linalg.norm(np.linalg.inv(x), p, axis=(-2, -1))


_cond.convention = ("p = None, 2, -2: s_max / s_min (or its inverse) of the singular values; other p: "
                    "norm(x, p) * norm(inv(x), p), as NumPy defines it")


def _matrix_rank(A, *args, **kwargs):
    # an integer: constant in A (and in tol), computed by NumPy on the plain values
    return np.linalg.matrix_rank(plain_value(A), *map(plain_value, args),
                                 **{k: plain_value(v) for k, v in kwargs.items()})


_matrix_rank.convention = "an integer: derivative zero (constant)"


def _tensorsolve(a, b, axes=None):
    an = ndim_of(a)
    if axes is not None:
        order = list(range(an))
        for k in axes:
            order.remove(k)
            order.insert(an, k)
        a = np.transpose(a, order)
    oldshape = shape_of(a)[-(an - ndim_of(b)):]
    prod = int(np.prod(oldshape))
    if int(np.prod(shape_of(a))) != prod ** 2:
        raise np.linalg.LinAlgError("Input arrays must satisfy the requirement prod(a.shape[b.ndim:]) == "
                                    "prod(a.shape[:b.ndim])")
    return np.reshape(np.linalg.solve(np.reshape(a, (prod, prod)), np.ravel(b)), oldshape)


def _tensorinv(a, ind=2):
    if ind <= 0:
        raise ValueError("Invalid ind argument.")
    oldshape = shape_of(a)
    prod = int(np.prod(oldshape[ind:]))
    return np.reshape(np.linalg.inv(np.reshape(a, (prod, -1))), oldshape[ind:] + oldshape[:ind])


register_function(np.linalg.cond, _cond)
register_function(np.linalg.matrix_rank, _matrix_rank)
register_function(np.linalg.tensorsolve, _tensorsolve)
register_function(np.linalg.tensorinv, _tensorinv)
