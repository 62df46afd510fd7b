"""The table of test cases: every registered primitive appears in at least one row.

A row is a small NumPy function, the shapes and domain of its arguments, and
the primitives it exercises.  Shape groups cross each elementwise function
with broadcasting patterns; sizes are picked so that both branches of the
shape helpers run (equal shapes and broadcast shapes, 1-D and stacked).
"""

from dataclasses import dataclass

import numpy as np


@dataclass
class Case:
    name: str
    fn: object
    shapes: tuple
    covers: tuple
    domain: tuple = (-2.0, 2.0)
    order: int = 2
    batching: bool = True
    eps: float = None            # finite-difference step and tolerance, when the defaults cannot resolve
    atol: float = None
    skip: str = None             # why the case cannot run with the installed NumPy (None: it runs)

    def args(self, seed=0, dtype=np.float64):
        rng = np.random.default_rng(seed)
        lo, hi = self.domain
        out = []
        for s in self.shapes:
            v = rng.uniform(lo, hi, size=s)
            out.append(dtype(v) if s == () else v.astype(dtype))
        return tuple(out)


CASES = []
NUMPY2 = np.lib.NumpyVersion(np.__version__) >= "2.0.0"


def numpy2(what):
    """The skip reason of a case whose plain-NumPy reference needs ``what``, new in NumPy 2.0."""
    return None if NUMPY2 else f"{what} is new in NumPy 2.0; the plain-NumPy reference cannot run here"


def case(name, fn, *shapes, covers, **kw):
    CASES.append(Case(name, fn, shapes, tuple(covers), **kw))


UNARY_SHAPES = [(), (3,), (2, 3)]
BINARY_SHAPES = [((), ()), ((3,), (3,)), ((2, 3), (3,)), ((), (2, 3)), ((2, 1), (1, 3))]

UNARY = [  # (numpy function, domain)
    (np.sin, (-2, 2)), (np.cos, (-2, 2)), (np.tan, (-1.2, 1.2)), (np.exp, (-2, 2)),
    (np.log, (0.2, 3)), (np.sqrt, (0.2, 3)), (np.tanh, (-2, 2)), (np.negative, (-2, 2)),
    (np.positive, (-2, 2)), (np.absolute, (0.1, 2)),
]
for fn, dom in UNARY:
    for s in UNARY_SHAPES:
        case(f"{fn.__name__}{s}", fn, s, covers=[f"numpy.{fn.__name__}"], domain=dom)
case("abs(negative)", np.abs, (4,), covers=["numpy.absolute"], domain=(-2, -0.1))

BINARY = [(np.add, (-2, 2)), (np.subtract, (-2, 2)), (np.multiply, (-2, 2)),
          (np.true_divide, (0.5, 2)), (np.power, (0.5, 2)), (np.remainder, (1.1, 1.9))]
for fn, dom in BINARY:
    for sx, sy in BINARY_SHAPES:
        case(f"{fn.__name__}{sx}{sy}", fn, sx, sy, covers=[f"numpy.{fn.__name__}"], domain=dom)

case("power: negative base, integer exponent", lambda x: x ** 3, (4,), covers=["numpy.power"], domain=(-2, -0.5))
case("power: square of mixed signs", lambda x: np.power(x, 2), (5,), covers=["numpy.power"])
case("operators", lambda x, y: (x + 1.0) * y - x / (y + 3.0) + (-x) ** 2.0 + abs(y) % 1.7,
     (3,), (3,), covers=["numpy.add", "numpy.multiply", "numpy.subtract", "numpy.divide",
                         "numpy.negative", "numpy.power", "numpy.absolute", "numpy.remainder"],
     domain=(0.2, 1.0))
case("reflected operators", lambda x: 2.0 - x + 3.0 / x + 2.0 ** x + 4.0 * x, (3,),
     covers=["numpy.subtract", "numpy.divide", "numpy.power"], domain=(0.5, 2))

# piecewise-constant functions: their derivative is zero, the rest of the product carries it
for fn in (np.sign, np.floor, np.ceil):
    case(f"{fn.__name__} (constant)", lambda x, fn=fn: x * fn(x), (4,), covers=[f"numpy.{fn.__name__}"],
         domain=(-2.9, 2.9))
case("floor_divide (constant)", lambda x: x * (x // 0.7), (4,), covers=["numpy.floor_divide"])
case("comparisons", lambda x, y: x * (x < y) + y * (x <= y) + x * (x > y) + y * (x >= y)
     + x * (x == y) + y * (x != y), (5,), (5,),
     covers=["numpy.less", "numpy.less_equal", "numpy.greater", "numpy.greater_equal",
             "numpy.equal", "numpy.not_equal"])
case("where", lambda x, y: np.where(x > 0, x * y, np.sin(y)), (2, 3), (3,), covers=["numpy.where"])

# reductions
for axis in (None, 0, 1, (0, 2), -1):
    case(f"sum axis={axis}", lambda x, a=axis: np.sum(x, axis=a), (2, 3, 4), covers=["numpy.sum"])
    case(f"mean axis={axis} keepdims", lambda x, a=axis: np.mean(x ** 2, axis=a, keepdims=True), (2, 3, 4),
         covers=["numpy.sum"])
case("sum method and add.reduce", lambda x: x.sum(axis=1)[:2] * np.add.reduce(x, axis=0), (3, 2),
     covers=["numpy.sum"])

# shapes
case("reshape", lambda x: np.reshape(x, (3, -1)) ** 2, (2, 6), covers=["numpy.reshape"])
case("reshape method / ravel", lambda x: x.reshape(4, 3).ravel() * x.flatten(), (2, 6), covers=["numpy.reshape"])
case("transpose .T", lambda x: x.T * np.arange(2.0), (2, 3), covers=["numpy.transpose"])
case("transpose axes", lambda x: np.transpose(x, (1, 2, 0)) ** 2, (2, 3, 4), covers=["numpy.transpose"])
case("swapaxes / moveaxis", lambda x: np.swapaxes(x, 0, 2) * np.moveaxis(x, 0, -1).transpose(1, 0, 2),
     (2, 3, 2), covers=["numpy.transpose"])
case("broadcast_to", lambda x: np.broadcast_to(x, (4, 2, 3)) ** 2, (2, 1), covers=["numpy.broadcast_to"])
case("concatenate", lambda x, y: np.concatenate([x, y ** 2, x], axis=1), (2, 3), (2, 2),
     covers=["numpy.concatenate"])
case("astype float32 and back", lambda x: x.astype(np.float32).astype(np.float64) * x, (3,), covers=["astype"],
     eps=1e-2, atol=1e-4)          # float32 rounding limits what finite differences can resolve
case("copy", lambda x: np.copy(x) * x.copy(), (3,), covers=["numpy.positive"])

# indexing
IDX3 = (2, 3, 4)
case("basic slice", lambda x: x[1:, ::2] ** 2, IDX3, covers=["getitem", "index_add"])
case("int, None, ellipsis", lambda x: x[0, None, ..., 1] * x[..., 2], IDX3, covers=["getitem", "index_add"])
case("negative int", lambda x: x[-1] * 3.0, (4,), covers=["getitem", "index_add"])
case("integer array with repeats", lambda x: x[np.array([0, 2, 2, 1])] ** 2, (3, 2),
     covers=["getitem", "index_add"])
case("separated advanced indices", lambda x: x[[0, 1], :, [3, 0]] ** 2, IDX3, covers=["getitem", "index_add"])
case("adjacent advanced indices", lambda x: x[:, [0, 2, 2], [1, 1, 3]] ** 2, IDX3, covers=["getitem", "index_add"])
case("boolean mask", lambda x: x[x > 0] ** 2, (3, 4), covers=["getitem", "index_add"])
case("mask on one axis", lambda x: np.sin(x[np.array([True, False, True])]), (3, 2),
     covers=["getitem", "index_add"])

# products
MATMUL_SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
                 ((2, 3), (5, 3, 4)), ((5, 1, 2, 3), (4, 3, 2)), ((4, 3), (2, 4, 3, 2))]
for sa, sb in MATMUL_SHAPES:
    case(f"matmul{sa}{sb}", np.matmul, sa, sb, covers=["numpy.matmul"])
case("@ operator", lambda a, b: a @ b @ a, (3, 3), (3, 3), covers=["numpy.matmul"])
case("dot", lambda a, b: np.dot(a, b) + a.dot(b) + np.dot(2.0, a)[0, 0], (2, 3), (3, 2),
     covers=["numpy.matmul", "numpy.multiply"])


# More rows live in one file per family, so that families can grow independently.
from . import (cases_arrays, cases_construction, cases_elementwise, cases_idioms, cases_linalg,  # noqa: E402,F401
               cases_signal, cases_fft)


def covered_names():
    return {name for c in CASES for name in c.covers}


def case_id(c):
    return c.name

