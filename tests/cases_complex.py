"""The table of complex points: every primitive whose rules accept complex arguments has a row.

A row is a small NumPy function, the kind of each argument ("c" complex, "r" real), their shapes and
the box their real and imaginary parts are drawn from, chosen away from branch cuts (sqrt, log,
arcsin, ... use NumPy's principal branch, and a finite difference across a cut measures the jump).
tests/test_complex_points.py runs each row through the oracles; tests/test_complex.py keeps the
hand-picked examples (every norm and length of the FFTs, the issue's eigh example).
"""

from dataclasses import dataclass

import numpy as np


@dataclass
class ComplexCase:
    name: str
    fn: object
    kinds: str                   # one letter per argument: "c" complex, "r" real
    shapes: tuple
    covers: tuple
    re: tuple = (-1.5, 1.5)      # the box the real parts are drawn from
    im: tuple = (-1.5, 1.5)      # ... and the imaginary parts
    slow: bool = False           # second order of a costly row: only with --runslow

    def args(self, seed=0, dtype=np.complex128):
        rng = np.random.default_rng(seed)
        real = np.finfo(dtype).dtype
        out = []
        for kind, s in zip(self.kinds, self.shapes):
            x = rng.uniform(*self.re, size=s)
            if kind == "c":
                x = (x + 1j * rng.uniform(*self.im, size=s)).astype(dtype)
            else:
                x = x.astype(real)
            out.append(x[()] if s == () else x)
        return tuple(out)


COMPLEX_CASES = []


def case(name, fn, kinds, *shapes, covers, **kw):
    COMPLEX_CASES.append(ComplexCase(name, fn, kinds, shapes, tuple(covers), **kw))


def _hermitian(z):
    m = np.reshape(z, (3, 3))
    return m + np.conj(m.T) + 4 * np.eye(3)


# -- holomorphic elementwise functions: the complex derivative -----------------------------------------------
ANYWHERE = [np.exp, np.sin, np.cos, np.sinh, np.cosh, np.tanh, np.negative, np.positive, np.square, np.expm1,
            np.exp2]
for fn in ANYWHERE:
    case(fn.__name__, fn, "c", (2, 3), covers=[f"numpy.{fn.__name__}"], re=(-1.2, 1.2), im=(-1.2, 1.2))
case("tan", np.tan, "c", (4,), covers=["numpy.tan"], re=(-1.0, 1.0), im=(-1.0, 1.0))
case("reciprocal", np.reciprocal, "c", (4,), covers=["numpy.reciprocal"], re=(0.5, 1.5))
# principal branches: the cut of sqrt and log is the negative real axis; keep Re z > 0
for fn in (np.sqrt, np.log, np.log2, np.log10):
    case(f"{fn.__name__} (principal branch)", fn, "c", (2, 3), covers=[f"numpy.{fn.__name__}"], re=(0.2, 2.0))
case("log1p (principal branch)", np.log1p, "c", (4,), covers=["numpy.log1p"], re=(-0.5, 1.5))
case("sqrt and log in the left half-plane, off the cut", lambda z: np.sqrt(z) * np.log(z), "c", (4,),
     covers=["numpy.sqrt", "numpy.log"], re=(-2.0, -0.2), im=(0.3, 1.5))
# arcsin, arccos, arctanh: cuts on the real axis beyond +-1; arctan, arcsinh: on the imaginary axis beyond +-i
for fn in (np.arcsin, np.arccos, np.arctanh):
    case(f"{fn.__name__} (principal branch)", fn, "c", (4,), covers=[f"numpy.{fn.__name__}"], im=(0.2, 1.2))
for fn in (np.arctan, np.arcsinh):
    case(f"{fn.__name__} (principal branch)", fn, "c", (4,), covers=[f"numpy.{fn.__name__}"], re=(0.2, 1.2))
# arccosh: cut (-inf, 1]; 1/sqrt(z^2 - 1) would change sign across the imaginary axis, so both half-planes
case("arccosh (principal branch, both half-planes)", np.arccosh, "c", (6,), covers=["numpy.arccosh"],
     re=(-2.0, 2.0), im=(0.2, 1.5))

# arithmetic, complex with complex and with real, broadcast both ways
for fn in (np.add, np.subtract, np.multiply, np.true_divide):
    case(f"{fn.__name__} complex-complex", fn, "cc", (2, 3), (3,), covers=[f"numpy.{fn.__name__}"], re=(0.3, 1.5))
    case(f"{fn.__name__} real-complex", fn, "rc", (2, 1), (3,), covers=[f"numpy.{fn.__name__}"], re=(0.3, 1.5))
case("power: complex base, complex exponent", np.power, "cc", (3,), (3,), covers=["numpy.power"],
     re=(0.3, 1.5), im=(-1.0, 1.0))
case("power: real base, complex exponent", np.power, "rc", (3,), (3,), covers=["numpy.power"], re=(0.3, 1.5))
case("power: negative real base, complex exponent", lambda x, z: np.power(-x, z), "rc", (3,), (3,),
     covers=["numpy.power"], re=(0.3, 1.5))
case("power: complex base, real exponent", np.power, "cr", (3,), (3,), covers=["numpy.power"], re=(0.3, 1.5))
case("power: integer exponent anywhere", lambda z: z ** 3 + z ** 2, "c", (4,), covers=["numpy.power", "numpy.square"])
case("float_power", lambda z, w: np.float_power(z, w) + np.float_power(z, 2.5), "cc", (3,), (3,),
     covers=["numpy.float_power"], re=(0.3, 1.5), im=(-1.0, 1.0))

# -- non-holomorphic: real-linear and |z| ----------------------------------------------------------------------
case("real / imag / conj", lambda z: np.real(z) * 2 - np.imag(z) * 3 + np.conj(z) * (1 + 2j), "c", (2, 3),
     covers=["numpy.real", "numpy.imag", "numpy.conjugate"])
case("angle in degrees", lambda z: np.angle(z, deg=True), "c", (4,), covers=["numpy.real", "numpy.imag"],
     re=(0.2, 1.5))
case("abs / angle away from 0", lambda z: np.abs(z) + np.angle(z) * np.abs(z * z), "c", (5,),
     covers=["numpy.absolute", "numpy.real", "numpy.imag"], re=(0.2, 1.5))
if np.lib.NumpyVersion(np.__version__) >= "2.0.0":              # sign(z) = z / |z|; NumPy 1.x: sign(Re z), constant
    case("sign (z / |z|) away from 0", lambda z: np.sign(z) * np.abs(z) ** 2 + np.sign(z * z), "c", (5,),
         covers=["numpy.sign (complex)", "numpy.absolute"])
case("real_if_close (a real-valued result through complex values)",
     lambda x, z: np.real_if_close(np.exp(1j * x) * np.exp(-1j * x)) * x + np.real_if_close(z * 2),
     "rc", (3,), (3,), covers=["numpy.real", "numpy.exp", "numpy.multiply"])
case("where", lambda z, w: np.where(np.real(z) > 0, z * w, np.sin(w)), "cc", (2, 3), (3,), covers=["numpy.where"])
case("comparisons are constants", lambda z: z * (np.real(z) > 0) + z * (z == z), "c", (5,),
     covers=["numpy.multiply"])

# -- reductions and scans -------------------------------------------------------------------------------------
for axis in (None, 0, (0, 2)):
    case(f"sum axis={axis}", lambda z, a=axis: np.sum(z, axis=a), "c", (2, 3, 2), covers=["numpy.sum"])
    case(f"mean axis={axis}", lambda z, a=axis: np.mean(z * z, axis=a), "c", (2, 3, 2), covers=["numpy.sum"])
case("sum where= initial=", lambda z: np.sum(z, axis=1, where=np.array([True, False, True]), initial=1j), "c",
     (2, 3), covers=["numpy.sum(where=, initial=)"])
case("average with complex weights", lambda z, w: np.average(z, axis=1, weights=w), "cc", (2, 3), (3,),
     covers=["numpy.sum", "numpy.divide"], re=(0.5, 1.5))
for axis in (None, 0, 1):
    case(f"prod axis={axis}", lambda z, a=axis: np.prod(z, axis=a), "c", (3, 4), covers=["numpy.prod"])
case("prod with a zero and with two zeros",
     lambda z: np.prod(z * np.array([1, 0, 1, 1])) + np.prod(z * np.array([0, 1, 0, 1])), "c", (4,),
     covers=["numpy.prod"])
case("prod where= initial=", lambda z: np.prod(z, axis=0, where=np.array([[True], [False], [True]]), initial=2 - 1j),
     "c", (3, 2), covers=["numpy.prod(where=, initial=)"])
case("nanprod", lambda z: np.nanprod(z, axis=1), "c", (2, 3), covers=["numpy.prod"])
for axis in (None, 0, -1):
    case(f"cumsum axis={axis}", lambda z, a=axis: np.cumsum(z, axis=a), "c", (3, 4), covers=["numpy.cumsum"])
    case(f"cumprod axis={axis}", lambda z, a=axis: np.cumprod(z, axis=a), "c", (3, 4), covers=["numpy.cumprod"])
case("cumprod through a zero", lambda z: np.cumprod(z * np.array([1, 1, 0, 1, 1])), "c", (5,),
     covers=["numpy.cumprod"])
case("add.accumulate / multiply.reduce", lambda z: np.add.accumulate(z) * np.multiply.reduce(z), "c", (4,),
     covers=["numpy.cumsum", "numpy.prod"])
case("var / std (real: the mean of |z - mean|^2)",
     lambda z: np.var(z, axis=0) + np.std(z, axis=1, ddof=1)[:1] + np.var(z), "c", (3, 4),
     covers=["numpy.sum", "numpy.real", "numpy.imag", "numpy.square", "root"])
case("var where=", lambda z: np.var(z, axis=1, where=np.array([True, True, False, True])), "c", (2, 4),
     covers=["numpy.sum(where=, initial=)"])
if np.lib.NumpyVersion(np.__version__) >= "2.0.0":              # var(mean=) is new in NumPy 2.0
    case("var mean=", lambda z: np.var(z, axis=1, mean=np.mean(z, axis=1, keepdims=True) + 0.5j), "c", (2, 4),
         covers=["numpy.sum"])
case("nanvar / nanstd", lambda z: np.nanvar(z, axis=0) + np.nanstd(z), "c", (3, 2), covers=["numpy.sum", "root"])
case("diff / trace", lambda z: np.diff(z, axis=0).ravel()[:3] * np.trace(z), "c", (3, 3), covers=["getitem"])

# -- shapes and indexing --------------------------------------------------------------------------------------
case("reshape / transpose / broadcast_to", lambda z: np.broadcast_to(np.reshape(z, (3, 2)).T, (2, 2, 3)), "c",
     (6,), covers=["numpy.reshape", "numpy.transpose", "numpy.broadcast_to"])
case("concatenate complex and real", lambda z, x: np.concatenate([z, x, z * x]), "cr", (3,), (3,),
     covers=["numpy.concatenate"])
case("indexing: slices, integers, masks, repeats",
     lambda z: z[1:, ::2].ravel()[:3] * z[np.array([0, 0, 1]), 1] + z[np.real(z) > 0].sum(), "c", (3, 3),
     covers=["getitem", "index_add"])
case("roll", lambda z: np.roll(z, 1) * z, "c", (4,), covers=["getitem", "numpy.concatenate"])



def _ode_rhs(z, x):
    """A right-hand side written into a buffer, the usual way: complex writes and a real one."""
    d = np.zeros_like(z)
    d[0] = 1j * z[1] * x[0]
    d[1:] = z[:-1] * z[1:]
    d[2] += x[1]
    return d


case("writes into a complex buffer (np.zeros_like), a real value written in too", _ode_rhs, "cr", (4,), (2,),
     covers=["zeros_like", "index_update"])
case("np.array of complex and real traced scalars, and unpacking",
     lambda z, x: np.array([x[0], z[1] * x[1], 2.0]) * sum(z[:3]), "cr", (3,), (2,), covers=["pack", "unstack"])
case("astype: a real value cast to complex", lambda x: x.astype(np.complex128) * (1 - 2j) + np.exp(1j * x), "r", (4,),
     covers=["astype"])
case("pad: linear modes", lambda z: np.pad(z, (1, 2), mode="reflect") * np.pad(z, (2, 1), mode="edge")
     + np.pad(z, (3, 0), mode="wrap") + np.pad(z, (0, 3), constant_values=1j), "c", (4,),
     covers=["numpy.pad(linear modes)"])

# -- products ------------------------------------------------------------------------------------------------
case("matmul complex @ complex", np.matmul, "cc", (2, 3), (3, 2), covers=["numpy.matmul"])
case("matmul real @ complex (mixed)", lambda a, z: a @ z + z.T @ a.T, "rc", (2, 3), (3, 2),
     covers=["numpy.matmul"])
case("matrix @ vector, broadcast product", lambda s, z: s @ z + (s[:, None, :] * z[None, :, None]).sum(axis=0)[0],
     "cc", (3, 3), (3,), covers=["numpy.matmul", "numpy.multiply"])
case("real and imaginary parts mixed into complex products", lambda z, w: np.real(z) @ w + np.imag(w[0]) * z, "cc",
     (2, 3), (3, 3), covers=["numpy.matmul", "numpy.real", "numpy.imag"])
case("dot / vdot (conjugates its first argument) / inner / outer",
     lambda z, w: np.dot(z, w) + np.vdot(z, w) + np.inner(z, w) * np.outer(z, w), "cc", (3,), (3,),
     covers=["numpy.matmul", "numpy.conjugate"])
case("einsum / tensordot", lambda z, w: np.einsum("ij,jk->ik", z, w) + np.tensordot(z, w, axes=1), "cc",
     (2, 3), (3, 2), covers=["numpy.einsum"])
case("kron", lambda z, x: np.kron(z, x), "cr", (2,), (3,), covers=["numpy.multiply", "numpy.reshape"])
case("sinc (entire), near 0 too", lambda z: np.sinc(z) + np.sinc(z * 1e-4) * z, "c", (2, 3), covers=["numpy.sinc"])

# -- convolve / correlate (NumPy's complex correlate conjugates its second argument) ---------------------------
for mode in ("full", "same", "valid"):
    case(f"convolve / correlate mode={mode}", lambda a, v, m=mode: np.convolve(a, v, mode=m)
         + np.correlate(a, v, mode=m)[::-1], "cc", (5,), (3,), covers=["numpy.convolve", "numpy.correlate"])
    case(f"correlate with the longer second argument, mode={mode}",
         lambda a, v, m=mode: np.correlate(a, v, mode=m) * np.convolve(v, a, mode=m), "cc", (2,), (4,),
         covers=["numpy.convolve", "numpy.correlate"])
case("convolve / correlate of complex with real", lambda z, x: np.correlate(x, z, "full") + np.correlate(z, x, "full")
     + np.convolve(x, z), "cr", (3,), (4,), covers=["numpy.convolve", "numpy.correlate"])

# -- the array-API products (NumPy >= 2.0 / 2.2): vecdot and vecmat conjugate their first argument -------------
if isinstance(getattr(np, "vecdot", None), np.ufunc):
    case("vecdot (conjugates x), broadcast", np.vecdot, "cc", (2, 3), (3,), covers=["numpy.vecdot"])
    case("vecdot: real x, complex y and the other way round", lambda x, z: np.vecdot(x, z) + np.vecdot(z, x)[0],
         "rc", (2, 3), (3,), covers=["numpy.vecdot"])
    case("linalg.vecdot along axis 0", lambda z, w: np.linalg.vecdot(z, w, axis=0), "cc", (3, 2), (3, 1),
         covers=["numpy.vecdot", "numpy.transpose"])
if isinstance(getattr(np, "matvec", None), np.ufunc):
    case("matvec (no conjugation) / vecmat (conjugates v)",
         lambda a, v: np.matvec(a, v) * np.vecmat(v[..., :2], a[..., :2, :])[..., :3], "cc", (2, 3, 3), (3,),
         covers=["numpy.matvec", "numpy.vecmat"])
    case("matvec / vecmat: real matrix, complex vector", lambda a, v: np.matvec(a, v) + np.vecmat(v, a), "rc",
         (3, 3), (2, 3), covers=["numpy.matvec", "numpy.vecmat"])
    case("matvec / vecmat: complex matrix, real vector", lambda a, x: np.matvec(a, x) + np.vecmat(x, a), "cr",
         (3, 3), (3,), covers=["numpy.matvec", "numpy.vecmat"])

# -- np.fft ----------------------------------------------------------------------------------------------------
case("fft / ifft, padded and truncated", lambda z: np.fft.fft(z, n=6)[:, :3] * np.fft.ifft(z, n=3, norm="ortho"), "c",
     (2, 5), covers=["numpy.fft.fftn"])
case("fftn / ifftn", lambda z: np.fft.ifftn(np.fft.fftn(z) * z, axes=(0,)), "c", (3, 4), covers=["numpy.fft.fftn"])
case("rfft of a real signal (even and odd lengths)", lambda x: np.fft.rfft(x, n=6) * np.fft.rfft(x, n=7)[:4], "r",
     (2, 5), covers=["numpy.fft.rfft"])
case("irfft / hfft of a complex spectrum", lambda z: np.fft.irfft(z, n=5) + np.fft.hfft(z, n=5, norm="forward"),
     "c", (2, 3), covers=["numpy.fft.irfft"])
case("rfftn / irfftn", lambda x: np.fft.irfftn(np.fft.rfftn(x) * (1 + 0.5j), s=(3, 4), axes=(0, 1)), "r", (3, 4),
     covers=["numpy.fft.rfft", "numpy.fft.irfft", "numpy.fft.fftn"])

# -- Hermitian eigenproblems (eig and the rest of linalg: their own tests) --------------------------------------
case("eigvalsh of a Hermitian matrix", lambda z: np.linalg.eigvalsh(_hermitian(z)), "c", (9,),
     covers=["numpy.linalg.eigvalsh"])
case("eigh: eigenvalues and |v|^2 (phase invariant)",
     lambda z: np.linalg.eigh(_hermitian(z))[0][1] * np.abs(np.linalg.eigh(_hermitian(z))[1]) ** 2, "c", (9,),
     covers=["numpy.linalg.eigh"], slow=True)

# -- sort_complex: a permutation by (real, imaginary) ------------------------------------------------------------
case("sort_complex", lambda z: np.sort_complex(z) * z[0], "c", (2, 4), covers=["numpy.multiply"])
# -- SciPy's linear algebra (chainrule.rules.scipy_linalg) at complex matrices ----------------------------------
try:
    import scipy.linalg  # noqa: F401
except ImportError:                                         # pragma: no cover - scipy is a test extra
    pass
else:
    from chainrule.rules.scipy_linalg import cho_solve, expm, solve_triangular

    def _triangular(z, lower=True):
        m = np.reshape(z, (3, 3))
        return (np.tril(m) if lower else np.triu(m)) + 3 * np.eye(3)

    for trans in (0, "T", "C"):
        for lower in (True, False):
            case(f"solve_triangular trans={trans} lower={lower}",
                 lambda z, b, t=trans, lo=lower: solve_triangular(_triangular(z, lo), b, trans=t, lower=lo), "cc",
                 (9,), (3, 2), covers=["scipy.linalg.solve_triangular", "numpy.conjugate"])
    case("solve_triangular unit_diagonal, a vector right-hand side, real matrix with complex b",
         lambda x, b: solve_triangular(np.reshape(x, (3, 3)), b, lower=True, unit_diagonal=True, trans="C")
         + solve_triangular(np.reshape(x, (3, 3)) + 3 * np.eye(3), b), "rc", (9,), (3,),
         covers=["scipy.linalg.solve_triangular"])
    case("solve_triangular: a complex matrix, real b", lambda z, x: solve_triangular(_triangular(z), x, lower=True),
         "cr", (9,), (3,), covers=["scipy.linalg.solve_triangular"])
    for lower in (True, False):
        case(f"cho_solve of a Hermitian positive definite matrix, lower={lower}",
             lambda z, b, lo=lower: cho_solve((_triangular(z, lo) + 2 * np.eye(3), lo), b), "cc", (9,), (3,),
             covers=["scipy.linalg.solve_triangular"])
    case("expm of a complex matrix", lambda z: expm(np.reshape(z, (3, 3)) * 0.5), "c", (9,),
         covers=["scipy.linalg.expm"], slow=True)
    case("expm of a stack, real input through a complex generator", lambda x: expm(1j * np.reshape(x, (2, 2, 2))),
         "r", (8,), covers=["scipy.linalg.expm"])
