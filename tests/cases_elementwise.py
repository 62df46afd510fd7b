"""Rows of the case table for elementwise functions, reductions and SciPy special functions (see tests/cases.py).

Domains keep each function inside the set where it is differentiable (away
from kinks, ties and poles); the values chosen *at* those points are tested
separately in tests/test_conventions.py.
"""

import numpy as np

from .cases import BINARY_SHAPES, UNARY_SHAPES, case

# -- unary elementwise, each on the usual shapes ------------------------------------------------
UNARY = [  # (numpy function, domain)
    (np.reciprocal, (0.5, 2)), (np.square, (-2, 2)), (np.cbrt, (0.3, 2)), (np.exp2, (-2, 2)),
    (np.expm1, (-2, 2)), (np.log2, (0.2, 3)), (np.log10, (0.2, 3)), (np.log1p, (-0.7, 2)),
    (np.arcsin, (-0.8, 0.8)), (np.arccos, (-0.8, 0.8)), (np.arctan, (-2, 2)), (np.sinh, (-2, 2)),
    (np.cosh, (-2, 2)), (np.arcsinh, (-2, 2)), (np.arccosh, (1.2, 3)), (np.arctanh, (-0.8, 0.8)),
    (np.deg2rad, (-90, 90)), (np.radians, (-90, 90)), (np.rad2deg, (-2, 2)), (np.degrees, (-2, 2)),
    (np.fabs, (0.1, 2)),
]
for fn, dom in UNARY:
    for s in UNARY_SHAPES:
        case(f"{fn.__name__}{s}", fn, s, covers=[f"numpy.{fn.__name__}"], domain=dom)
case("cbrt of negatives", np.cbrt, (4,), covers=["numpy.cbrt"], domain=(-2, -0.3))
case("fabs of negatives", np.fabs, (4,), covers=["numpy.fabs"], domain=(-2, -0.1))
case("sin of cos of exp2 (composition, 2nd order)", lambda x: np.sin(np.cos(np.exp2(x))) * np.tanh(x),
     (2, 3), covers=["numpy.sin", "numpy.cos", "numpy.exp2", "numpy.tanh"])

# -- binary elementwise, each on the broadcasting patterns ----------------------------------------
BINARY = [(np.float_power, (0.5, 2)), (np.logaddexp, (-3, 3)), (np.logaddexp2, (-3, 3)),
          (np.arctan2, (0.2, 2)), (np.hypot, (-2, 2)), (np.maximum, (-2, 2)), (np.minimum, (-2, 2)),
          (np.fmax, (-2, 2)), (np.fmin, (-2, 2)), (np.fmod, (1.1, 1.9))]
for fn, dom in BINARY:
    for sx, sy in BINARY_SHAPES:
        case(f"{fn.__name__}{sx}{sy}", fn, sx, sy, covers=[f"numpy.{fn.__name__}"], domain=dom)

case("divide (alias of true_divide)", lambda x, y: np.divide(x, y) + np.true_divide(y, x), (2, 3), (3,),
     covers=["numpy.divide"], domain=(0.5, 2))
case("arctan2 in all quadrants", lambda x, y: np.arctan2(x, y), (8,), (8,), covers=["numpy.arctan2"],
     domain=(-2, 2))
case("copysign", lambda x, y: np.copysign(x, y) * y, (6,), (6,), covers=["numpy.copysign"], domain=(-2, 2))
case("power: traced exponent, positive base", lambda x, y: np.power(x, y), (2, 3), (2, 3),
     covers=["numpy.power"], domain=(0.3, 2))
case("power: negative base, integer array exponent", lambda x: np.power(x, np.array([1.0, 2.0, 3.0, -2.0])),
     (4,), covers=["numpy.power"], domain=(-2, -0.5))
case("float_power: negative base, integer exponent", lambda x: np.float_power(x, 3) + np.float_power(x, -1),
     (4,), covers=["numpy.float_power"], domain=(-2, -0.5))
case("power: constant base ** traced", lambda x: 3.0 ** x + np.float_power(0.5, x), (4,),
     covers=["numpy.power", "numpy.float_power"])
case("power: x ** 0 and x ** 1", lambda x: x ** 0 + x ** 1 + x ** 0.0 * x, (4,), covers=["numpy.power"])
case("logaddexp far apart (stable)", lambda x, y: np.logaddexp(x, y + 800.0), (3,), (3,),
     covers=["numpy.logaddexp"])

# -- clip, round, where ---------------------------------------------------------------------------
case("clip: constant bounds", lambda x: np.clip(x, -1.0, 1.2) * x, (3, 4), covers=["numpy.clip"],
     domain=(-2, 2))
case("clip: traced bounds, broadcast", lambda x, lo, hi: np.clip(x, lo - 1.0, hi + 1.0), (2, 3), (3,), (2, 1),
     covers=["numpy.clip"], domain=(-2, 2))
case("clip: a_min > a_max gives a_max", lambda x, lo, hi: np.clip(x, lo + 5.0, hi), (4,), (4,), (4,),
     covers=["numpy.clip"])
case("clip: one-sided, keyword and method forms", lambda x: np.clip(x, None, 0.5) + x.clip(min=-0.5)
     + np.clip(x, a_min=-1.0, a_max=None), (5,), covers=["numpy.clip"])
for fn in (np.rint, np.trunc):
    case(f"{fn.__name__} (constant)", lambda x, fn=fn: x * fn(x), (4,), covers=[f"numpy.{fn.__name__}"],
         domain=(-2.9, 2.9))
case("round / around (constant)", lambda x: x * np.round(x, 1) + np.around(x) * x ** 2 + x.round(), (4,),
     covers=["numpy.round"], domain=(-2.9, 2.9))
case("logical functions (constant)", lambda x, y: x * np.logical_and(x > 0, y > 0) + y * np.logical_or(x > 0, y < 0)
     + x * np.logical_not(x > 0) + y * np.logical_xor(x > 0, y > 0), (5,), (5,),
     covers=["numpy.logical_and", "numpy.logical_or", "numpy.logical_not", "numpy.logical_xor"])
case("isfinite / isnan / isinf / signbit (constant)",
     lambda x: x * np.isfinite(x) + x * np.isnan(x) + x * np.isinf(x) + x * np.signbit(x), (4,),
     covers=["numpy.isfinite", "numpy.isnan", "numpy.isinf", "numpy.signbit"])
case("where with scalars and broadcasting", lambda x: np.where(x > 0, x ** 2, 1.0) + np.where(x < 0.5, 0.0, x),
     (2, 3), covers=["numpy.where"])
