"""Rows of the case table for building and rearranging arrays, NumPy 2's array-API names and the
modified Bessel functions (see tests/cases.py).

Most rows are compositions (chainrule.rules.construction, chainrule.rules.array_api); each names the
primitives it runs through.  Rows whose functions exist only in newer NumPy (vecdot, matvec, ...)
are added only when the installed NumPy has them, as the rules are.  ``ROWS`` lists this file's rows:
tests/test_construction.py checks that each computes exactly NumPy's value.
"""

import inspect

import numpy as np

from .cases import CASES, case

_FIRST = len(CASES)
GET = ["getitem", "index_add"]
LIN = ["numpy.subtract", "numpy.divide", "numpy.multiply", "numpy.add", "numpy.concatenate", "getitem"]

# -- linspace and logspace: traced endpoints -----------------------------------------------------------
case("linspace of scalars", lambda a, b: np.linspace(a, b, 7), (), (), covers=LIN)
case("linspace of arrays, axis=1, no endpoint", lambda a, b: np.linspace(a, b, 4, endpoint=False, axis=1) ** 2,
     (2, 3), (3,), covers=LIN)
case("linspace axis=-1 with retstep", lambda a, b: np.linspace(a, b, 5, axis=-1, retstep=True)[0]
     * np.linspace(a, b, 5, retstep=True)[1][:, None], (3,), (3,), covers=LIN)
case("linspace from a constant start", lambda b: np.linspace(1.0, b, 3) * np.linspace(b, 0.5, 3, endpoint=False),
     (2,), covers=LIN)
case("linspace of one and of two samples", lambda a, b: np.linspace(a, b, 1) + np.linspace(a, b, 2)[1]
     + np.linspace(a, b, 1, endpoint=False), (), (), covers=LIN)
case("logspace", lambda a, b: np.logspace(a, b, 4, base=2.0), (2,), (2,), covers=LIN + ["numpy.power"],
     domain=(-1, 1))
case("logspace with a traced array base", lambda a, b: np.logspace(a, b, 3, base=np.abs(b) + 1.0, axis=-1),
     (2,), (2,), covers=LIN + ["numpy.power", "numpy.absolute"], domain=(-1, 1),
     skip=None if np.lib.NumpyVersion(np.__version__) >= "1.25.0" else "an array base= is new in NumPy 1.25")
case("geomspace", lambda a, b: np.geomspace(a, b, 5) * np.geomspace(b, a, 5, endpoint=False), (2,), (2,),
     covers=LIN + ["numpy.power", "numpy.log10"], domain=(0.5, 2))
case("geomspace of negative endpoints, axis=1", lambda a, b: np.geomspace(-a, -b, 3, axis=1), (2, 2), (2, 2),
     covers=LIN + ["numpy.power", "numpy.log10"], domain=(0.5, 2))

# -- meshgrid ------------------------------------------------------------------------------------------
case("meshgrid xy", lambda x, y: np.meshgrid(x, y)[0] * np.meshgrid(x, y)[1] ** 2, (3,), (4,),
     covers=["numpy.reshape", "numpy.broadcast_to"])
case("meshgrid ij of three, sparse", lambda x, y: sum(np.meshgrid(x, y, x[:2], indexing="ij", sparse=True)),
     (3,), (2,), covers=["numpy.reshape", "numpy.add"])
case("meshgrid of a matrix (raveled), copy=False", lambda x, y: np.meshgrid(y, x, copy=False)[1] * y,
     (2, 2), (3,), covers=["numpy.reshape", "numpy.broadcast_to"])

# -- block, append, insert, delete ------------------------------------------------------------------------
case("block 2x2", lambda x, y: np.block([[x, y[:, :1]], [np.ones((1, 3)), 2.0]]) ** 2, (2, 3), (2, 3), covers=GET)
case("block of vectors and a 3-D leaf", lambda x, y: np.block([[[x, y]], [[y, x]]]) * np.block([x, 1.0, y]).sum(),
     (2,), (2,), covers=GET + ["numpy.concatenate"])
case("append flattened", lambda x, y: np.append(x, y) ** 2, (2, 3), (4,), covers=["numpy.concatenate", "numpy.reshape"])
case("append along an axis", lambda x, y: np.append(x, y[None], axis=0) * np.append(1.0, y)[:3], (2, 3), (3,),
     covers=["numpy.concatenate"])
case("insert a column (values broadcast)", lambda x, y: np.insert(x, 1, y[0], axis=1) ** 2, (2, 3), (3,),
     covers=GET + ["numpy.concatenate"])
case("insert at several positions, flattened", lambda x, y: np.insert(x, [1, 1, 4], y) ** 2, (2, 2), (3,),
     covers=GET + ["numpy.concatenate"])
case("insert a row by a slice", lambda x, y: np.insert(x, slice(0, 2), y, axis=0), (2, 3), (3,),
     covers=GET + ["numpy.concatenate"])
case("insert traced values into a constant", lambda y: np.insert(np.arange(4.0), 2, y) * y.sum(), (2,),
     covers=GET + ["numpy.concatenate"])
case("delete", lambda x: np.delete(x, [0, 2], axis=1) * np.delete(x, 5)[:2].sum()
     + np.delete(x, np.array([True, False, False, True, False, False]))[:2].sum(), (2, 3), covers=GET)
case("delete by a slice", lambda x: np.sin(np.delete(x, slice(None, None, 2), axis=0)), (5, 2), covers=GET)

# -- constant-result functions inside a differentiated function ------------------------------------------
case("argmax / argmin / searchsorted index", lambda x: x.ravel()[np.argmax(x)] * x[np.argmin(x, axis=0), 0]
     + np.sort(x, axis=None)[np.searchsorted(np.sort(x, axis=None), 0.3)], (3, 4), covers=GET)
case("ix_", lambda x: x[np.ix_([0, 2], [1, 1, 3])] ** 2, (3, 4), covers=GET)
case("unique values", lambda x: np.unique(np.concatenate([x, x[:2]])) ** 2, (4,),
     covers=GET + ["numpy.concatenate"])
case("unique rows with counts", lambda x: np.unique(np.concatenate([x, x[:1]]), axis=0, return_counts=True)[0]
     * np.unique(x, return_index=True, return_inverse=True)[0][:2].sum(), (3, 2), covers=GET)
# set operations select values: each result follows the input element(s) it was read from
_C = np.array([7.0, -5.0, 9.0])
case("intersect1d of two traced arrays sharing values (each followed by 1/2)",
     lambda x: np.intersect1d(x, np.concatenate([x[3:0:-2] * 1.0, _C])) ** 2, (5,), covers=GET + ["numpy.multiply"])
case("intersect1d with a constant, return_indices", lambda x: np.intersect1d(np.concatenate([x, _C]), _C[:2],
                                                                             return_indices=True)[0] * x[0], (3,),
     covers=GET)
case("union1d", lambda x, y: np.union1d(np.concatenate([x, x[:1]]), y) ** 2, (2, 2), (3,), covers=GET)
case("setdiff1d and setxor1d", lambda x, y: np.concatenate([np.setdiff1d(np.concatenate([x, y[:2]]), y) ** 2,
                                                            np.setxor1d(np.concatenate([x, y[1:]]), y)]),
     (4,), (3,), covers=GET)
if hasattr(np, "unique_all"):                               # NumPy >= 2.0
    case("unique_values / counts / inverse / all", lambda x: np.unique_values(np.concatenate([x, x[:2]])) ** 2
         + np.unique_counts(x).values * np.unique_inverse(x[::-1]).values + np.unique_all(x).values.sum(), (4,),
         covers=GET + ["numpy.concatenate"])

# -- rearranging ---------------------------------------------------------------------------------------------
case("rollaxis", lambda x: np.rollaxis(x, 2) * 2.0 + np.rollaxis(x, 0, 3).sum(axis=(0, 1))[:, None, None],
     (2, 3, 2), covers=["numpy.transpose"])
case("hsplit / vsplit / dsplit", lambda x: np.hsplit(x, 2)[1] * np.vsplit(x, [1])[1][:, :1].sum()
     + np.dsplit(x, 2)[1][:, :2] ** 2, (2, 4, 2), covers=GET)
case("hsplit of a vector", lambda x: np.hsplit(x, 2)[0] * np.hsplit(x, [1, 3])[1][:2], (4,), covers=GET)
case("select", lambda x: np.select([x > 0.5, x < -0.5], [x ** 2, np.sin(x)], default=x[0]), (3, 4),
     covers=["numpy.where"])
case("select with a constant default", lambda x: np.select([x > 0, x < -1], [x, x ** 3]), (5,),
     covers=["numpy.where"])

# -- real and imaginary parts of real values ------------------------------------------------------------------
case("real / imag / conj / real_if_close of real values",
     lambda x: np.real(x) * 2.0 + np.imag(x) + np.conj(x) * np.conjugate(x) + np.real_if_close(x), (2, 3),
     covers=["numpy.conjugate"])

# -- NumPy 2's array-API names -----------------------------------------------------------------------------------
if isinstance(getattr(np, "vecdot", None), np.ufunc):
    for sx, sy in [((3,), (3,)), ((2, 3), (3,)), ((3,), (2, 3)), ((2, 1, 3), (4, 3))]:
        case(f"vecdot{sx}{sy}", np.vecdot, sx, sy, covers=["numpy.vecdot"])
    case("vecdot: batched second operand", lambda y, x: np.vecdot(x, y), (4, 3), (2, 1, 3), covers=["numpy.vecdot"])
    case("linalg.vecdot along axis 0", lambda x, y: np.linalg.vecdot(x, y, axis=0), (3, 2), (3, 1),
         covers=["numpy.vecdot", "numpy.transpose"])
if isinstance(getattr(np, "matvec", None), np.ufunc):
    for sa, sv in [((2, 3), (3,)), ((4, 2, 3), (3,)), ((2, 3), (4, 3)), ((1, 2, 3), (5, 1, 3))]:
        case(f"matvec{sa}{sv}", np.matvec, sa, sv, covers=["numpy.matvec"])
        case(f"vecmat{sv[:-1] + sa[-2:-1]}{sa}", np.vecmat, sv[:-1] + sa[-2:-1], sa, covers=["numpy.vecmat"])
    case("matvec / vecmat: batched second operand", lambda v, a: np.matvec(a, v) * np.vecmat(v[..., :2], a)[..., :1],
         (4, 3), (2, 3), covers=["numpy.matvec", "numpy.vecmat"])
if hasattr(np, "matrix_transpose"):                        # NumPy >= 2.0
    case("matrix_transpose", lambda x: np.matrix_transpose(x) * x, (2, 3, 3), covers=["numpy.transpose"])
if hasattr(np, "unstack"):                                  # NumPy >= 2.1
    case("unstack / astype", lambda x: np.unstack(x, axis=1)[1][..., None] * np.astype(x, np.float64)
         + np.astype(x, np.float32).astype(np.float64), (2, 3, 3), covers=["numpy.transpose", "astype"] + GET,
         eps=1e-2, atol=1e-4)          # float32 rounding limits what finite differences can resolve
if hasattr(np.linalg, "vector_norm"):
    case("linalg.vector_norm", lambda x: np.linalg.vector_norm(x) + np.linalg.vector_norm(x, axis=(0, 2), keepdims=True)
         + np.linalg.vector_norm(x, axis=1, ord=3)[:, None], (2, 3, 2), covers=["root", "numpy.sum"])
    case("linalg.matrix_norm", lambda x: np.linalg.matrix_norm(x) + np.linalg.matrix_norm(x, ord=np.inf)
         + np.linalg.matrix_norm(x, ord="nuc", keepdims=True)[..., 0], (2, 3, 4), covers=["root", "numpy.max"])
    case("linalg.matmul / outer / trace / cross / diagonal / tensordot / matrix_transpose",
         lambda x, y: np.linalg.outer(y, y) @ np.linalg.matmul(np.linalg.matrix_transpose(x), x)
         + np.linalg.trace(x[:, :3]) + np.linalg.cross(x[:, :3], y[:3]).sum() + np.linalg.diagonal(x).sum()
         + np.linalg.tensordot(x, x, axes=2), (3, 4), (4,), covers=["numpy.matmul", "numpy.multiply"] + GET)

# -- modified Bessel functions ----------------------------------------------------------------------------------
case("numpy.i0", np.i0, (5,), covers=["numpy.i0", "bessel_i"], order=3, domain=(-4, 4))
case("numpy.i0 of large arguments (asymptotic branch)", lambda x: np.i0(x) * np.exp(-x), (3,),
     covers=["numpy.i0", "bessel_i"], domain=(30, 60))
try:
    import scipy.special as sp
except ImportError:                                         # pragma: no cover - scipy is a test extra
    sp = None
if sp is not None:
    for fn in (sp.i0, sp.i1, sp.i0e, sp.i1e):
        case(f"scipy.special.{fn.__name__}", fn, (2, 3), covers=[f"scipy.special.{fn.__name__}"], order=3,
             domain=(-4, 4))
    case("scipy.special.iv and ive of real order", lambda x: sp.iv(2.5, x) + sp.ive(-0.5, x) * sp.iv(0, x),
         (4,), covers=["scipy.special.iv", "scipy.special.ive"], domain=(0.2, 4))
    case("scipy.special.i1 and i1e near 0", lambda x: sp.i1(x) * sp.i1e(x) + sp.i0e(x + 1.0), (3,),
         covers=["scipy.special.i1", "scipy.special.i1e", "scipy.special.i0e"], domain=(-1e-3, 1e-3))

ROWS = CASES[_FIRST:]

# -- window functions: constants of an integer length M (NumPy does not dispatch them; it runs its own code)
case("window functions of a plain length inside a differentiated function",
     lambda x: x * (np.hanning(5) + np.hamming(5) + np.blackman(5) + np.bartlett(5) + np.kaiser(5, 3.0)), (5,),
     covers=["numpy.multiply"])
case("kaiser with a traced beta (through np.i0)", lambda b: np.kaiser(6, b) * np.kaiser(7, 2.0 * b)[2], (),
     covers=["numpy.i0"], domain=(0.5, 6),
     skip="this NumPy's kaiser calls float(beta), which refuses a traced beta"
     if "float(beta)" in inspect.getsource(np.kaiser) else None)
case("sort_complex of real values (complex128 out)", lambda x: np.real(np.sort_complex(x)) * x[0, 0], (2, 3),
     covers=["numpy.real", "getitem"])
