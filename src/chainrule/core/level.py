"""Levels: the stack of active transformations.

Every transform (one ``jvp``, one ``vjp``) pushes a fresh :class:`Level` and
pops it when it returns.  A tracer belongs to exactly one level.  When a
primitive is applied, the argument whose level is innermost (highest
``depth``) decides which engine handles the call; tracers of outer levels are
constants to it, and the engine computes its primal result by binding the
same primitive again one level down.

This is what makes nested derivatives correct.  In d/dx [x * d/dy (x + y)]
the inner derivative must treat ``x`` as a constant: ``x`` is a tracer of the
outer level, so the inner level sees it as a constant, the inner derivative
is 1, and the outer one is 1 (not 2, the classic "perturbation confusion").

An engine computes an operation's primal result by binding it again, so the
outer levels see it too.  A level pushed while no other was active
(``nested`` False) can only ever meet plain values, so it skips that and
calls NumPy directly -- the common, unnested case pays nothing for nesting.

Levels have identity: a tracer compares its level with ``is``.  Depths come
from one counter that only grows, so a level created while another is active
is always deeper than it.  A popped level is marked inactive; using one of its
tracers afterwards raises :class:`LeakedTracerError`.
"""

import itertools

from .primitive import EMPTY

__all__ = ["Level", "active_levels"]

_depths = itertools.count(1)
_stack = []


class Level:
    """Base class of the engines' levels; subclasses implement ``process``."""

    __slots__ = ("depth", "active", "nested", "__weakref__")

    def __init__(self):
        self.depth = next(_depths)
        self.active = False
        self.nested = False

    def process(self, prim, args, params):          # pragma: no cover - abstract
        raise NotImplementedError

    def process_unary(self, prim, x):
        """``process(prim, (x,), EMPTY)`` for a tracer ``x`` of this level; engines specialise it."""
        return self.process(prim, (x,), EMPTY)

    def __enter__(self):
        self.nested = bool(_stack)
        self.active = True
        _stack.append(self)
        return self

    def __exit__(self, *exc):
        self.active = False
        popped = _stack.pop()
        assert popped is self, "levels must be popped in the order they were pushed"
        return False


def active_levels():
    """The active levels, outermost first (a copy)."""
    return list(_stack)
