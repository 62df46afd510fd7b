"""Staging: trace a function once into a flat program, simplify it, and run generated NumPy code.

``jit(f)`` runs ``f`` under a :class:`~.staging.StagingLevel`, the outermost
level, so every primitive -- the derivative rules' own operations in
``grad``'s backward sweep included -- is recorded into a
:class:`~.ir.Program`; :mod:`.passes` simplify it and :mod:`.codegen` prints
it as Python calling NumPy.  Value-dependent control flow becomes guards.
"""

from .api import Jitted, jit
from .codegen import MISS
from .ir import Program
from .staging import StagingLevel, StagingTracer

__all__ = ["jit", "Jitted", "StagingLevel", "StagingTracer", "Program", "MISS"]
