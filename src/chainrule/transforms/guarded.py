"""A forward sweep that gives up as soon as its work shows that forward is the wrong mode.

``jacobian(mode="auto")`` meets a function with many inputs (n >= ``RECORD_FIRST``)
without knowing m, nor whether it is scalar code or array code.  On scalar code
(Python floats, values of one entry) every operation costs the engine's fixed
overhead, whatever the number of directions its tangent carries: one forward
sweep of all n directions costs about one recording, less than the recording
and backward sweep of reverse mode even for m = 1.  On array code an operation
on a value of s entries costs about n * s in a forward sweep and s in reverse
mode: there forward must not run to the end.

:class:`GuardedForwardLevel` is a forward level that counts, as it goes, what
the sweep has cost and what the same prefix would have cost in reverse mode
with one output, both in tangent entries:

* forward: ``FORWARD_OP`` per operation (the engine's overhead) plus n entries
  per entry of the operation's values: its largest traced argument (a
  reduction or a product reads n x its arguments), counted *before* the
  operation runs, so that array code's first costly operation is refused
  rather than paid for; and its result, when that is larger (broadcasting).
  Views (indexing, reshapes) count their result only: ``u[i]`` of scalar
  code reads one column of the seed;
* reverse: ``REVERSE_OP`` per operation (its recording and its backward step)
  plus ``REVERSE_ENTRY`` per entry of the values.

It raises :class:`GuardTripped` (a ``BaseException``: the user's ``except
Exception`` does not swallow it) at the first operation that would take forward's
count beyond ``GUARD_RATIO`` times reverse's, plus ``GUARD_SLACK`` entries.
The level is popped on the way out (it is a context manager like every level),
and the caller drops whatever the sweep computed.  The seed (n x n entries)
is made by :func:`guarded_jvp_flat` only when the guard first lets an
operation run, so that array code refused at its first operation never pays
for it.  The counting lives here, in its own level, so that plain forward
sweeps never pay for it.

The constants come from the RK4 loss of ``benchmarks/simulation.py`` (51000
scalar operations): a forward sweep costs 5.8 us per operation with one
direction and about 2 ns per further tangent entry; a recording 6.5 us and a
backward sweep 4.5 us per operation -- so an operation is worth about 3000
tangent entries in a forward sweep and 5500 in reverse mode.
"""

import numpy as np

from ..core import EMPTY
from ..core.primitive import PRIMITIVES
from ..forward import ForwardLevel, ForwardTracer, split_outputs
from ..reverse import ReverseLevel, ReverseTracer

__all__ = ["GuardedForwardLevel", "GuardTripped", "guarded_jvp_flat", "FirstOperationLevel", "FirstOperationRuns", "FORWARD_OP", "REVERSE_OP", "REVERSE_ENTRY", "GUARD_RATIO",
           "GUARD_SLACK"]

FORWARD_OP = 3000       # a forward operation's overhead, in tangent entries
REVERSE_OP = 5500       # an operation's recording and backward step, in tangent entries
REVERSE_ENTRY = 3       # reverse mode's work per entry of an operation's values, in tangent entries
GUARD_RATIO = 1.5       # forward gives up once it has cost this many times reverse mode's m = 1 ...
GUARD_SLACK = 16384     # ... plus this many tangent entries (a few small array operations at the start)

_VIEW_NAMES = ("getitem", "numpy.reshape", "numpy.transpose", "numpy.broadcast_to", "unstack")
_views = frozenset()        # primitives whose tangent work is their result's size (views), found when first needed


def _find_views():
    global _views
    if not _views:
        _views = frozenset(p for p in PRIMITIVES if p.name in _VIEW_NAMES)


class GuardTripped(BaseException):
    """Raised inside a guarded forward sweep: the operation ``prim`` on a value of ``shape`` made forward too dear.

    A ``BaseException``, like ``GeneratorExit``: it must reach the caller
    through the user's function even if that function catches ``Exception``.
    """

    def __init__(self, prim, shape, operations):
        super().__init__(prim, shape, operations)
        self.prim, self.shape, self.operations = prim, shape, operations

    def __str__(self):
        return f"{self.prim.name} on a {self.shape} value, operation {self.operations}"


_float64 = np.float64


def _size(p):
    return p.size if type(p) is np.ndarray else getattr(p, "size", 1)


def _first_primal(out):
    first = out[0] if type(out) is tuple and out else out
    return first.primal if type(first) is ForwardTracer else first


class GuardedForwardLevel(ForwardLevel):
    """A :class:`~chainrule.forward.ForwardLevel` carrying ``n`` directions that trips when forward is the wrong mode.

    Forward may still spend ``room + operations * per_scalar`` tangent
    entries before it has cost ``GUARD_RATIO`` times reverse mode with one
    output (see this module): each operation adds its allowance minus n
    tangent entries (``per_scalar``), and an operation on s entries
    subtracts ``(s - 1) * per_entry`` more from ``room``.  ``tripped`` is set before
    :class:`GuardTripped` is raised, so that a sweep whose function swallowed
    the exception anyway is still known to have tripped.

    >>> import numpy as np
    >>> seed = lambda: [np.eye(300)]
    >>> outs, tangents = guarded_jvp_flat(GuardedForwardLevel(300), lambda xs: [xs[0][7] * 2.0], [np.ones(300)], seed)
    >>> float(tangents[0][7])               # scalar code: the sweep ran
    2.0
    >>> try:
    ...     guarded_jvp_flat(GuardedForwardLevel(300), lambda xs: [np.sin(xs[0])], [np.ones(300)], seed)
    ... except GuardTripped as trip:
    ...     print(trip)                     # array code: refused before the sine ran
    numpy.sin on a (300,) value, operation 1
    """

    __slots__ = ("room", "per_scalar", "per_entry", "operations", "tripped", "inputs", "pending")

    def __init__(self, n):
        super().__init__()
        self.per_entry = n - GUARD_RATIO * REVERSE_ENTRY
        self.per_scalar = GUARD_RATIO * REVERSE_OP - FORWARD_OP - self.per_entry     # an operation on one entry
        self.room = float(GUARD_SLACK)      # what forward may spend beyond per_scalar per operation
        self.operations = 0
        self.tripped = None
        self.inputs = ()            # the input tracers, whose tangents ...
        self.pending = None         # ... this function makes at the first operation the guard lets run

    # Scalar operations only count: with n below about 5000 directions (auto mode sweeps at most
    # DEFAULT_MAX_DIRECTIONS = 2048 at once), each one leaves forward more room (per_scalar > 0), so the guard
    # looks at the room only at operations on larger values.

    def process_unary(self, prim, a):
        if self.nested or not prim.fast:                        # ForwardLevel would call process: counted there
            return self.process(prim, (a,), EMPTY)
        self.operations += 1
        x = a.primal
        if type(x) is not _float64:                             # elementwise: the result has the argument's size
            self._charge(prim, x, _size(x))                     # before the operation: it may be the costly one
        if self.pending is not None:
            self.seed()
        return ForwardLevel.process_unary(self, prim, a)

    def process(self, prim, args, params):
        self.operations += 1
        size = 1
        if prim not in _views:                  # an operation reads n x each traced argument: charged before it runs
            for a in args:
                if type(a) is ForwardTracer and a._level is self:
                    x = a.primal
                    if type(x) is not _float64:
                        s = _size(x)
                        if s > size:
                            size, value = s, x
            if size > 1:
                self._charge(prim, value, size)
        if self.pending is not None:
            self.seed()
        out = ForwardLevel.process(self, prim, args, params)
        if type(out) is ForwardTracer:
            y = out.primal
            if type(y) is not _float64:
                s = _size(y)
                if s > size:                    # a result larger than its arguments (broadcasting), or a view
                    self._charge(prim, y, s - size + 1)
        elif type(out) is tuple:                # several results: one operation each
            self.operations += len(out) - 1
            s = sum(_size(o.primal) for o in out if type(o) is ForwardTracer)
            if s > len(out):
                self._charge(prim, _first_primal(out), s - len(out) + 1)
        return out

    def seed(self):
        """Give the input tracers their tangents (the n x n seed), once."""
        tangents, self.pending = self.pending(), None
        for x, t in zip(self.inputs, tangents):
            x.tangent = t

    def _charge(self, prim, value, size):
        """An operation on ``size`` entries (counted as one operation already): trip if forward is now too dear."""
        if self._over(size):
            self._trip(prim, value)

    def _over(self, size):
        """Charge an operation on ``size`` entries: whether forward is now too dear."""
        self.room -= (size - 1) * self.per_entry
        return self.room + self.operations * self.per_scalar < 0

    def _trip(self, prim, value):
        self.tripped = GuardTripped(prim, tuple(getattr(value, "shape", ())), self.operations)
        raise self.tripped

    def __enter__(self):
        _find_views()
        return ForwardLevel.__enter__(self)


def guarded_jvp_flat(level, fun, primals, seed):
    """:func:`~chainrule.forward.jvp_flat` on the guarded ``level``, the tangents made by ``seed()`` when first needed.

    The seed of a full forward Jacobian holds n x n entries: an operation the
    guard refuses before it runs (array code's first operation on the inputs)
    leaves it unmade.  Raises :class:`GuardTripped`, the level popped.
    """
    with level:
        inputs = [ForwardTracer(level, p, None) for p in primals]
        level.inputs, level.pending = inputs, seed
        try:
            outs = fun(inputs)
            if level.pending is not None:   # no operation reached the inputs (f returned them, or constants)
                level.seed()
        finally:                            # the level no longer holds its tracers (which hold it): no cycle
            level.inputs, level.pending = (), None      # to leave for the garbage collector
        return split_outputs(level, outs)


def first_trip(n, prim, primals, views=True):
    """The :class:`GuardTripped` a fresh ``GuardedForwardLevel(n)`` raises at its first operation, ``prim`` on
    traced arguments of these primal values, before that operation runs -- or None (the guard lets it run).

    ``views=False``: a fast unary operation (``process_unary``), charged whatever it is.
    """
    size, value = 1, None
    if not views or prim not in _views:
        for x in primals:
            if type(x) is not _float64:
                s = _size(x)
                if s > size:
                    size, value = s, x
    if size <= 1:
        return None
    level = GuardedForwardLevel(n)
    level.operations = 1
    if level._over(size):
        return GuardTripped(prim, tuple(getattr(value, "shape", ())), 1)
    return None


class FirstOperationRuns(BaseException):
    """Raised by :class:`FirstOperationLevel` at a first operation that a guarded forward sweep would let run."""


_FIRST = {}         # FirstOperationLevel -> [n, the GuardTripped of its first operation]: until that operation


class FirstOperationLevel(ReverseLevel):
    """A recording that goes on only if a guarded forward sweep of ``n`` directions would refuse its first operation.

    Auto mode's first call meets array code (the common case from
    ``RECORD_FIRST`` inputs on) where a :class:`GuardedForwardLevel` trips at
    the first operation on the inputs, before it runs, and the call then
    records: this level records at once, and asks at that first operation what
    the guard would have done (:func:`first_trip`).  Refused: the recording
    goes on, the level becomes a plain :class:`~chainrule.reverse.ReverseLevel`
    (later operations pay nothing) and :meth:`verdict` gives the guard's
    :class:`GuardTripped`.  Let run (scalar code, a view first), or under
    another level, or not an ordinary primitive first on the tape: :class:`FirstOperationRuns` is raised
    before the operation runs, and the caller runs the guarded forward sweep as before.

    >>> import numpy as np
    >>> from chainrule.reverse import vjp_flat
    >>> level = FirstOperationLevel(300)
    >>> outs, pullback = vjp_flat(lambda xs: [np.sin(xs[0])], [np.ones(300)], level)
    >>> print(FirstOperationLevel.verdict(level)[0])
    numpy.sin on a (300,) value, operation 1
    """

    __slots__ = ()

    def __init__(self, n, clock=None):
        super().__init__()
        _FIRST[self] = [n, None, clock, None]

    @staticmethod
    def verdict(level):
        """``(trip, clock)``: the guard's :class:`GuardTripped` at ``level``'s first operation (None: no
        operation was checked), and ``clock()`` read then, before that operation ran (None without a clock)."""
        entry = _FIRST.pop(level, None)
        return (entry[1], entry[3]) if entry is not None else (None, None)

    def _first(self, prim, primals, views):
        self.__class__ = ReverseLevel           # from now on a plain recording
        entry = _FIRST.get(self)
        # only an ordinary primitive, first on the tape (which holds its inputs alone): the transforms'
        # own primitives (custom rules, loops, checkpoints) and entries appended without this method
        # may take other ways through a forward level, where the guard would see something else first
        plain = not self.nested and entry is not None and not prim.name.startswith("chainrule.")
        trip = first_trip(entry[0], prim, primals, views) if plain and self.tape.count(None) == len(self.tape) else None
        if trip is None:
            _FIRST.pop(self, None)
            raise FirstOperationRuns
        entry[1] = trip
        if entry[2] is not None:
            entry[3] = entry[2]()

    def process_unary(self, prim, a):
        if self.nested or not prim.fast:
            return self.process(prim, (a,), EMPTY)
        self._first(prim, (a.primal,), False)
        return ReverseLevel.process_unary(self, prim, a)

    def process(self, prim, args, params):
        self._first(prim, [a.primal for a in args if type(a) is ReverseTracer and a._level is self], True)
        return ReverseLevel.process(self, prim, args, params)

    def __enter__(self):
        _find_views()
        return ReverseLevel.__enter__(self)
