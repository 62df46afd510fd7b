"""Rows of the case table for products and linear algebra (see tests/cases.py)."""

import numpy as np  # noqa: F401

from .cases import case  # noqa: F401
