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

The stack of active levels belongs to the thread that pushed them (a
:class:`threading.local`), so transforms run in several threads at once never
see each other's levels.  A level remembers the stack it was pushed on and
pops itself from it, so the exit costs no lookup; the entry costs one, once
per transform call, never per operation.  (A ``contextvars`` stack would
also follow executor tasks, but costs about four times as much per call.)  A
thread that starts with no level of its own treats tracers of another
thread's levels as it treats any tracer: ``bind`` hands them to their own
level.  Depths come from one process-wide counter (taking the next value is
atomic), so depths never collide across threads either.
"""

import itertools
import threading

from ..errors import LevelOrderError
from .primitive import EMPTY

__all__ = ["Level", "active_levels"]

_depths = itertools.count(1)
_local = threading.local()          # .stack: this thread's active levels, outermost first


class Level:
    """Base class of the engines' levels; subclasses implement ``process``."""

    __slots__ = ("depth", "active", "nested", "stack", "__weakref__")

    def __init__(self):
        self.depth = next(_depths)
        self.active = False
        self.nested = False
        self.stack = None

    def process(self, prim, args, params):          # pragma: no cover - abstract
        raise NotImplementedError

    def process_unary(self, prim, x):
        """``process(prim, (x,), EMPTY)`` for a tracer ``x`` of this level; engines specialise it."""
        return self.process(prim, (x,), EMPTY)

    def __enter__(self):
        try:
            stack = _local.stack
        except AttributeError:
            stack = _local.stack = []
        self.nested = bool(stack)
        self.active = True
        stack.append(self)
        self.stack = stack
        return self

    def __exit__(self, *exc):
        self.active = False
        stack = self.stack
        if stack and stack[-1] is self:
            stack.pop()
            return False
        raise _out_of_order(self, stack)


def _out_of_order(level, stack):
    """The error for exiting ``level`` when it is not the innermost active level of its thread."""
    if stack and level in stack:            # levels pushed after it were never popped: drop them too
        k = stack.index(level)
        for lv in stack[k:]:
            lv.active = False
        where = f"{len(stack) - k - 1} level(s) entered after it are still active; they are deactivated now"
        del stack[k:]
    else:
        where = "it is not active (it was never entered, or exited twice)"
    return LevelOrderError(
        f"a {type(level).__name__} (depth {level.depth}) was exited out of order: {where}. "
        "Each transform must exit its level innermost first, in the thread that entered it; "
        "call transforms from inside the function being transformed, not from a generator or "
        "thread that outlives it.")


def active_levels():
    """The active levels of this thread, outermost first (a copy)."""
    return list(getattr(_local, "stack", ()))


def any_active():
    """Whether a level is active in this thread: ``bool(active_levels())`` without the copy (a jitted
    function asks it on every call)."""
    return bool(getattr(_local, "stack", None))
