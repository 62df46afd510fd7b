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

The stack of active levels belongs to the thread (more exactly, the
:mod:`contextvars` context) that pushed them, so transforms run in several
threads at once never see each other's levels.  It is an immutable tuple in a
context variable: a task that a transform hands to an executor with
``contextvars.copy_context().run`` starts inside the levels active where it
was submitted, and its own pushes and pops stay its own.  Levels are pushed
and popped once per transform call, never per operation, so this costs the
hot path nothing.  Depths still come from one process-wide counter (taking
the next value is atomic), so the depths of levels of different threads never
collide either.
"""

import contextvars
import itertools

from ..errors import LevelOrderError
from .primitive import EMPTY

__all__ = ["Level", "active_levels"]

_depths = itertools.count(1)
_stack = contextvars.ContextVar("chainrule_levels", default=())     # this context's active levels
_get = _stack.get
_set = _stack.set


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
        stack = _get()
        self.nested = bool(stack)
        self.active = True
        _set(stack + (self,))
        return self

    def __exit__(self, *exc):
        self.active = False
        stack = _get()
        if stack and stack[-1] is self:
            _set(stack[:-1])
            return False
        raise _out_of_order(self, stack)


def _out_of_order(level, stack):
    """The error for exiting ``level`` when it is not the innermost active level of this context."""
    if level in stack:                      # levels pushed after it were never popped: drop them too
        k = stack.index(level)
        for lv in stack[k:]:
            lv.active = False
        _set(stack[:k])
        where = (f"{len(stack) - k - 1} level(s) entered after it are still active; they are "
                 "deactivated now")
    else:
        where = ("it is not active in this thread or context (it was entered in another thread, "
                 "or exited twice)")
    return LevelOrderError(
        f"a {type(level).__name__} (depth {level.depth}) was exited out of order: {where}. "
        "Each transform must exit its level in the thread that entered it, innermost first; "
        "call transforms from inside the function being transformed, not from a generator or "
        "thread that outlives it.")


def active_levels():
    """The active levels of this thread (context), outermost first."""
    return list(_get())
