"""Property-based tests: random programs built from the registry, checked by the independent oracles.

Hypothesis draws a program -- 1 to 3 inputs of broadcast-compatible shapes and
3 to 12 operations, each applied to earlier values -- and a seed for the
input values.  Every intermediate value is an output, so each operation's
derivative is checked: forward mode against central finite differences and
reverse mode against forward mode by the dot-product identity
(chainrule.testing.check_grads).

Each operation keeps its arguments inside the function's domain with a
smooth map where it needs one (``log(1 + a*a)``, ``arcsin(0.9 tanh a)``) and
keeps values bounded, so that finite differences stay accurate.  Kinks and
ties (``abs``, ``maximum``, ``clip``) are included: random inputs avoid them
except where they coincide exactly (``a - a``), where the chosen conventions
agree with the finite differences.  Piecewise-constant functions are left
out, because finite differences across their jumps are meaningless.

The default profile runs 25 programs (tests/conftest.py); ``make test-all``
runs the ``long`` profile.
"""

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from chainrule.testing import check_grads


def unary(f):
    return lambda a, b, k: f(a)


def binary(f):
    return lambda a, b, k: f(a, b)


def _axis(a, k, allow_none=True):
    n = np.ndim(a)
    choices = ([None] if allow_none or n == 0 else []) + list(range(n))
    return choices[k % len(choices)]


def reduction(f):
    return lambda a, b, k: f(a, axis=_axis(a, k), keepdims=True)


def scan(f):
    def op(a, b, k):
        if np.ndim(a) == 0:
            return f(a)
        return f(a, axis=_axis(a, k, allow_none=False))
    return op


OPS = {
    # unary, with smooth maps into their domains
    "sin": unary(np.sin), "cos": unary(np.cos), "tanh": unary(np.tanh), "arctan": unary(np.arctan),
    "arcsinh": unary(np.arcsinh), "negative": unary(np.negative), "positive": unary(np.positive),
    "square": unary(lambda a: np.square(np.sin(a))),
    "exp": unary(lambda a: np.exp(np.tanh(a))), "exp2": unary(lambda a: np.exp2(np.sin(a))),
    "expm1": unary(lambda a: np.expm1(np.cos(a))), "log": unary(lambda a: np.log(1.0 + a * a)),
    "log2": unary(lambda a: np.log2(2.0 + np.sin(a))), "log10": unary(lambda a: np.log10(1.5 + np.cos(a))),
    "log1p": unary(lambda a: np.log1p(a * a)), "sqrt": unary(lambda a: np.sqrt(1.0 + a * a)),
    "cbrt": unary(lambda a: np.cbrt(2.0 + np.sin(a))), "reciprocal": unary(lambda a: np.reciprocal(1.5 + np.cos(a))),
    "arcsin": unary(lambda a: np.arcsin(0.9 * np.tanh(a))), "arccos": unary(lambda a: np.arccos(0.9 * np.sin(a))),
    "arctanh": unary(lambda a: np.arctanh(0.9 * np.tanh(a))), "arccosh": unary(lambda a: np.arccosh(1.5 + a * a)),
    "sinh": unary(lambda a: np.sinh(np.tanh(a))), "cosh": unary(lambda a: np.cosh(np.sin(a))),
    "tan": unary(lambda a: np.tan(np.tanh(a))), "absolute": unary(np.abs), "fabs": unary(np.fabs),
    "deg2rad": unary(np.deg2rad), "radians": unary(np.radians),
    "rad2deg": unary(lambda a: np.rad2deg(np.tanh(a)) / 60.0), "degrees": unary(lambda a: np.degrees(np.sin(a)) / 60.0),
    "clip": unary(lambda a: np.clip(a, -0.5, 0.7)), "sinc": unary(np.sinc), "conjugate": unary(np.conjugate),
    # binary, broadcasting
    "add": binary(np.add), "subtract": binary(np.subtract), "multiply": binary(lambda a, b: a * np.tanh(b)),
    "divide": binary(lambda a, b: a / (1.5 + b * b)),
    "power": binary(lambda a, b: np.power(1.2 + a * a, np.tanh(b))),
    "float_power": binary(lambda a, b: np.float_power(1.1 + np.square(np.sin(a)), np.cos(b))),
    "maximum": binary(np.maximum), "minimum": binary(np.minimum), "fmax": binary(np.fmax), "fmin": binary(np.fmin),
    "hypot": binary(np.hypot), "arctan2": binary(np.arctan2), "logaddexp": binary(np.logaddexp),
    "logaddexp2": binary(np.logaddexp2), "where": binary(lambda a, b: np.where(a > b, a, b)),
    "clip between": binary(lambda a, b: np.clip(a, b - 1.0, b + 1.0)),
    # reductions (keepdims, so shapes stay broadcast-compatible) and scans
    "sum": reduction(np.sum), "mean": reduction(np.mean), "prod": reduction(np.prod),
    "max": reduction(np.max), "min": reduction(np.min), "ptp": reduction(np.ptp), "median": reduction(np.median), "std": reduction(np.std), "var": reduction(np.var),
    "norm": lambda a, b, k: (np.linalg.norm(a, ord=(None, 1, np.inf, 3)[k % 4], axis=_axis(a, k // 4, False),
                                            keepdims=True) if np.ndim(a) else np.abs(a)),
    "cumsum": scan(np.cumsum), "cumprod": scan(lambda a, axis=None: np.cumprod(np.cos(a), axis=axis)),
}

try:
    import scipy.special as sp
except ImportError:                                         # pragma: no cover - scipy is a test extra
    sp = None
else:
    OPS.update({
        "expit": unary(sp.expit), "erf": unary(sp.erf), "erfc": unary(sp.erfc),
        "logit": unary(lambda a: sp.logit(0.5 + 0.45 * np.tanh(a))),
        "gammaln": unary(lambda a: sp.gammaln(1.5 + a * a)), "digamma": unary(lambda a: sp.digamma(1.5 + a * a)),
        "xlogy": binary(lambda a, b: sp.xlogy(a, 1.0 + b * b)), "xlog1py": binary(lambda a, b: sp.xlog1py(a, b * b)),
        "gamma": unary(lambda a: sp.gamma(1.5 + np.sin(a))), "log_expit": unary(sp.log_expit),
        "ndtr": unary(sp.ndtr), "log_ndtr": unary(sp.log_ndtr), "ndtri": unary(lambda a: sp.ndtri(0.5 + 0.4 * np.tanh(a))),
        "erfinv": unary(lambda a: sp.erfinv(0.8 * np.tanh(a))), "erfcinv": unary(lambda a: sp.erfcinv(1 + 0.8 * np.sin(a))),
        "entr": unary(lambda a: sp.entr(0.5 + np.tanh(a) ** 2)),
        "betaln": binary(lambda a, b: sp.betaln(0.5 + a * a, 0.5 + b * b)),
        "beta": binary(lambda a, b: sp.beta(0.5 + np.sin(a) ** 2, 0.5 + np.cos(b) ** 2)),
        "rel_entr": binary(lambda a, b: sp.rel_entr(0.5 + np.tanh(a) ** 2, 0.5 + np.tanh(b) ** 2)),
        "kl_div": binary(lambda a, b: sp.kl_div(0.5 + np.tanh(a) ** 2, 0.5 + np.tanh(b) ** 2)),
        "logsumexp": lambda a, b, k: sp.logsumexp(a, axis=_axis(a, k), keepdims=True),
        "softmax": lambda a, b, k: sp.softmax(a, axis=_axis(a, k)),
        "i0": unary(lambda a: sp.i0(3.0 * np.tanh(a))), "i1": unary(lambda a: sp.i1(3.0 * np.tanh(a))),
        "i0e": unary(sp.i0e), "i1e": unary(sp.i1e),                 # bounded by 1: safe to chain
        "iv": unary(lambda a: sp.iv(1.5, 1.0 + np.sin(a) ** 2)), "ive": unary(lambda a: sp.ive(0.5, 1.0 + a * a)),
    })

NAMES = sorted(OPS)

# Differentiable ufuncs of the registry that random programs leave out, and why.
LEFT_OUT = {
    "numpy.remainder": "jumps at multiples of y, where finite differences are meaningless",
    "numpy.fmod": "jumps, as remainder",
    "numpy.copysign": "jumps where y changes sign",
    "numpy.heaviside": "jumps at 0",
    "numpy.nextafter": "x moved by one float: the identity to random programs; tests/cases_elementwise.py checks it",
    "numpy.matmul": "not elementwise: tests/cases_linalg.py",
    "numpy.vecdot": "not elementwise: tests/cases_construction.py",
    "numpy.matvec": "not elementwise: tests/cases_construction.py",
    "numpy.vecmat": "not elementwise: tests/cases_construction.py",
}
BASES = [(), (3,), (2, 3), (2, 1, 3)]


def subshapes(base):
    """Shapes that broadcast to ``base``: trailing axes of it, each kept or set to 1."""
    out = set()
    for lead in range(len(base) + 1):
        tail = base[lead:]
        for mask in range(1 << len(tail)):
            out.add(tuple(1 if mask >> i & 1 else d for i, d in enumerate(tail)))
    return sorted(out)


@st.composite
def programs(draw):
    base = draw(st.sampled_from(BASES))
    shapes = draw(st.lists(st.sampled_from(subshapes(base)), min_size=1, max_size=3))
    index = st.integers(0, 1 << 16)
    steps = draw(st.lists(st.tuples(st.sampled_from(NAMES), index, index, index), min_size=3, max_size=12))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    return shapes, steps, seed


def build(shapes, steps):
    """The program as a function of its inputs, returning every value it computes."""
    def program(*inputs):
        values = list(inputs)
        for name, i, j, k in steps:
            # operands favour recent values, so programs are deep rather than wide
            a = values[-1 - i % min(len(values), 3)]
            b = values[j % len(values)]
            values.append(OPS[name](a, b, k))
        return tuple(values[len(inputs):])
    program.__name__ = " -> ".join(s[0] for s in steps)
    return program


def inputs(shapes, seed):
    rng = np.random.default_rng(seed)
    return tuple(np.float64(rng.uniform(-2, 2)) if s == () else rng.uniform(-2, 2, size=s) for s in shapes)


def test_programs_draw_every_differentiable_ufunc_of_the_registry():
    from chainrule.core import UFUNCS
    from chainrule.rules import BUILTIN
    ufuncs = set(map(id, UFUNCS.values()))
    declared = {p.name for p in BUILTIN if id(p) in ufuncs and p.differentiable}
    drawn = {f"{prefix}.{name}" for name in OPS for prefix in ("numpy", "scipy.special")}
    missing = sorted(declared - drawn - set(LEFT_OUT))
    assert not missing, f"add these to OPS in tests/test_properties.py (or to LEFT_OUT, with a reason): {missing}"


@given(programs())
def test_random_programs_forward_reverse_and_finite_differences_agree(prog):
    shapes, steps, seed = prog
    check_grads(build(shapes, steps), inputs(shapes, seed), order=1)


@given(programs())
# a value read by four operations, whose adjoint contributions are plain arrays and tracers in turn
@example(([(1,)], [("absolute", 0, 0, 0), ("absolute", 0, 0, 0), ("arccos", 1, 0, 0), ("absolute", 2, 0, 0)], 0))
def test_random_programs_second_order(prog):
    shapes, steps, seed = prog
    check_grads(build(shapes, steps[:5]), inputs(shapes, seed), order=2)
