"""Rows of the case table for shape functions, indexing and array methods (see tests/cases.py)."""

import numpy as np  # noqa: F401

from .cases import case  # noqa: F401
