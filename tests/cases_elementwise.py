"""Rows of the case table for elementwise functions, reductions and SciPy special functions (see tests/cases.py)."""

import numpy as np  # noqa: F401

from .cases import case  # noqa: F401
