"""The cost model behind the choice of mode and of directions per sweep.

A full Jacobian of f: R^n -> R^m costs about n tangent directions in forward
mode and about m adjoint directions in reverse mode, but a direction is not
the same price in both: a backward step may do twice the arithmetic of a
tangent step, and reverse mode first records a tape and keeps it.  When one
mode has ``SHAPE_RATIO`` times fewer directions (or n is at most
``FEW_DIRECTIONS``), no such price changes the answer and the shapes decide
(:func:`decide_without_timing`).  Near the diagonal the model is measured per
function, from its first evaluation (``transforms.jacobian`` runs the sweeps):

* a recorded sweep (the tape: its length and, by :func:`tape_stats`, the
  bytes it keeps) and its time ``t_rec``;
* in each mode, a timed sweep of some of its directions, giving
  ``(fixed, per_direction)`` seconds of a sweep (:func:`fit_sweep` separates
  the two from two sweeps of different widths).  ``ratio`` is the price of a
  reverse direction over a forward one.  No direction is priced below
  ``SECONDS_PER_ELEMENT`` per entry it touches, so timing noise cannot make
  directions free.

A mode's estimated time is ``sweeps * fixed + directions * per_direction``
(reverse adds the recording); its memory is ``tape + k * bytes_per_direction +
jacobian``, where ``k`` -- the directions one sweep carries -- is the largest
chunk that keeps the sweep within the memory budget (default: a quarter of the
memory the operating system reports as available).  Every live intermediate
holds k copies of itself, so a 10^4 x 10^4 Jacobian is built in several
bounded sweeps instead of one huge one.

:class:`Decision` is the result as data; ``jacobian(mode="auto")`` follows it
and ``explain`` and ``advise`` print it.  :data:`DECISIONS` is the process's
cache of them (:class:`DecisionCache`: least recently used, bounded, locked).
"""

import math
import re
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass

import numpy as np

from ..core import Meta

__all__ = ["directions_per_sweep", "DEFAULT_MAX_DIRECTIONS", "available_memory", "default_memory_budget",
           "parse_bytes", "format_bytes", "TapeStats", "tape_stats", "ModeCost", "Decision", "decide",
           "LIVE_VALUES", "guess_bytes_per_direction", "fit_sweep", "sweep_bytes_per_direction",
           "SHAPE_RATIO", "decide_without_timing", "DecisionCache", "DECISIONS"]

DEFAULT_MAX_DIRECTIONS = 2048   # beyond this, wider batches stop paying: arrays leave the caches
LIVE_VALUES = 3                 # tangents (or adjoints) alive at once, in units of the largest value
_TIE = 0.10                     # estimates closer than this: prefer fewer directions
SECONDS_PER_ELEMENT = 1e-9      # a direction costs at least this per entry it touches (about one flop)
_FALLBACK_MEMORY = 2 ** 32      # when /proc/meminfo cannot be read
FEW_DIRECTIONS = 8              # a sweep of this many directions is never split
SMALL_SWEEP = 2 ** 24           # a sweep smaller than this fits any budget worth having
SHAPE_RATIO = 32                # one mode has this many times the other's directions: the shapes decide
CACHE_SIZE = 256                # decisions the process keeps (least recently used first out)
EXACT_TAPE = 1 << 14            # tape_stats finds shared scalars on tapes up to this many entries


_MEMINFO = (float("-inf"), 0)       # (time read, bytes): /proc/meminfo is read at most once a second


def available_memory():
    """Bytes of memory the operating system reports as available (``MemAvailable`` of /proc/meminfo)."""
    global _MEMINFO
    read_at, nbytes = _MEMINFO          # one tuple, replaced whole: threads never see half an update
    now = time.monotonic()
    if now - read_at < 1.0:
        return nbytes
    nbytes = _read_meminfo()
    _MEMINFO = (now, nbytes)
    return nbytes


def _read_meminfo():
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return _FALLBACK_MEMORY


def default_memory_budget():
    """A quarter of the available memory: the default budget of one Jacobian."""
    return available_memory() // 4


_UNITS = {"": 1, "b": 1, "k": 2 ** 10, "kb": 2 ** 10, "m": 2 ** 20, "mb": 2 ** 20, "g": 2 ** 30, "gb": 2 ** 30,
          "kib": 2 ** 10, "mib": 2 ** 20, "gib": 2 ** 30}


def parse_bytes(budget):
    """A memory budget in bytes from an int or a string like ``"512MB"`` (``None``: the default).

    >>> parse_bytes("1.5kB"), parse_bytes(4096)
    (1536, 4096)
    """
    if type(budget) is int and budget > 0:         # already bytes (auto mode passes its parsed budget on)
        return budget
    if budget is None:
        return default_memory_budget()
    if isinstance(budget, str):
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", budget)
        if not match or match.group(2).lower() not in _UNITS:
            raise ValueError(f"memory_budget={budget!r} is not a size; write bytes as an int or a string "
                             "such as '512MB' or '2GB'")
        budget = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if not budget > 0:
        raise ValueError(f"memory_budget must be a positive number of bytes, got {budget!r}")
    if budget == float("inf"):
        return UNLIMITED_BYTES                      # float("inf"): no limit
    return int(budget)


UNLIMITED_BYTES = 2 ** 62
"""What ``memory_budget=float("inf")`` stands for: more than any machine has."""


def format_bytes(b):
    """``1536 -> '1.5 kB'``: a size for people."""
    b = float(b)
    for unit in ("B", "kB", "MB", "GB"):
        if b < 1024 or unit == "GB":
            return f"{b:.0f} {unit}" if unit == "B" else f"{b:.1f} {unit}"
        b /= 1024
    return f"{b:.1f} GB"


def directions_per_sweep(total, chunk_size=None, bytes_per_direction=None, memory_budget=None):
    """How many of ``total`` directions one sweep carries.

    ``chunk_size`` (if given) wins.  Otherwise the chunk is the largest that
    keeps ``k * bytes_per_direction`` within ``memory_budget`` (bytes; default
    a quarter of the available memory), capped at ``DEFAULT_MAX_DIRECTIONS``,
    and at least 1.  ``bytes_per_direction`` may be a function, called only
    when there are more than a few directions; the budget is only looked up
    when the sweep would hold more than ``SMALL_SWEEP`` bytes.

    >>> directions_per_sweep(10_000, bytes_per_direction=8 * 10_000, memory_budget=2 ** 24)
    209
    """
    if chunk_size is not None:
        if int(chunk_size) < 1:
            raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
        return max(1, min(total, int(chunk_size)))
    k = min(total, DEFAULT_MAX_DIRECTIONS)
    if k <= FEW_DIRECTIONS or not bytes_per_direction:
        return max(1, k)
    per = int(bytes_per_direction() if callable(bytes_per_direction) else bytes_per_direction)
    if memory_budget is not None or k * per > SMALL_SWEEP:
        k = min(k, parse_bytes(memory_budget) // max(per, 1))
    return max(1, k)


def _nbytes(v):
    if type(v) is np.ndarray:
        return v.nbytes
    if isinstance(v, (tuple, list)):
        return sum(_nbytes(x) for x in v)
    if isinstance(v, (np.ndarray, Meta)) or hasattr(v, "shape"):
        return math.prod(v.shape) * np.dtype(getattr(v, "dtype", np.float64)).itemsize
    return 8


def guess_bytes_per_direction(inputs):
    """Bytes per tangent direction when only the inputs are known (``jacfwd`` before its first sweep).

    Assumes the intermediates are about as large as the inputs together.
    """
    return LIVE_VALUES * max(sum(_nbytes(x) for x in inputs), 8)


@dataclass(frozen=True)
class TapeStats:
    """What a recorded sweep tells about a function: sizes and operation count."""

    n: int                  # total input size
    m: int                  # total output size
    operations: int         # tape entries (primitive applications)
    tape_bytes: int         # bytes the tape keeps for the backward sweep
    largest_value: int      # bytes of the largest intermediate value
    input_bytes: int
    output_bytes: int
    elements: int = 0       # entries of all intermediates, inputs and outputs: what one direction touches

    @property
    def bytes_per_direction(self):
        """Extra bytes one more tangent or adjoint direction costs in a sweep."""
        return LIVE_VALUES * self.largest_value + self.input_bytes + self.output_bytes


def sweep_bytes_per_direction(tape, inputs, outputs):
    """:attr:`TapeStats.bytes_per_direction` without counting the tape's bytes (for ``jacrev``)."""
    largest = max([_nbytes(e[2][0]) for e in tape if e is not None and isinstance(e[2], tuple)]
                  + [_nbytes(x) for x in inputs] + [8])
    return LIVE_VALUES * largest + sum(_nbytes(x) for x in inputs) + sum(_nbytes(o) for o in outputs)


def tape_stats(tape, inputs, outputs):
    """The :class:`TapeStats` of a recorded tape and the flat inputs and outputs it ran on (one pass over the tape).

    One pass, about a microsecond per entry of scalar code.  Values shared
    by several entries count once -- except float64 scalars on a tape of
    more than ``EXACT_TAPE`` entries: there they count 8 bytes in each entry
    that keeps them (an upper bound, at most a few times the truth), since a
    set of every scalar's identity would cost more than the rest of the pass.
    """
    ops = largest = elements = tape_bytes = scalars = 0
    seen = set()                                         # ids of the values counted (shared values count once)
    exact = len(tape) <= EXACT_TAPE
    meta, ndarray, f64 = Meta, np.ndarray, np.float64
    plain = (float, int, bool, meta)                     # kept for nothing (Python numbers) or only a shape
    for e in tape:
        if e is None:
            continue
        ops += 1
        vals = e[2]
        if type(vals) is not tuple or not vals:
            continue
        out = vals[0]
        t = type(out)
        if t is f64:
            elements += 1
        elif t is ndarray:
            elements += out.size
            if out.nbytes > largest:
                largest = out.nbytes
        elif t is meta:
            size = math.prod(out.shape)
            elements += size
            if size * out.dtype.itemsize > largest:
                largest = size * out.dtype.itemsize
        else:
            elements += _size(out)
            if _nbytes(out) > largest:
                largest = _nbytes(out)
        for v in vals:                                   # what the tape keeps
            t = type(v)
            if t is f64 and not exact:
                scalars += 1
            elif t not in plain:
                i = id(v)
                if i not in seen:
                    seen.add(i)
                    tape_bytes += 8 if t is f64 else v.nbytes if t is ndarray else _kept_bytes(v)
    tape_bytes += 8 * scalars
    n = m = in_b = out_b = 0
    largest = max(largest, 8)
    for x in inputs:
        size, nbytes = (x.size, x.nbytes) if type(x) is ndarray else (_size(x), _nbytes(x))
        n, in_b, largest = n + size, in_b + nbytes, max(largest, nbytes)
    for o in outputs:
        size, nbytes = (o.size, o.nbytes) if type(o) is ndarray else (_size(o), _nbytes(o))
        m, out_b = m + size, out_b + nbytes
    return _built(TapeStats, n, m, ops, tape_bytes, largest, in_b, out_b, elements + n + m)


def _kept_bytes(v):
    from ..reverse import _nbytes          # rarely needed: only for values other than float64 scalars and arrays
    return _nbytes(v)


def _size(v):
    if isinstance(v, (tuple, list)):
        return sum(_size(x) for x in v)
    return math.prod(getattr(v, "shape", ()))


@dataclass(frozen=True)
class ModeCost:
    """The estimated cost of a full Jacobian in one mode."""

    directions: int             # n for forward, m for reverse
    directions_per_sweep: int   # k: directions one sweep carries within the budget
    sweeps: int                 # ceil(directions / k)
    seconds: float              # estimated time of the full Jacobian
    bytes: int                  # estimated peak memory: tape + k directions + the Jacobian
    fits: bool                  # whether even one direction per sweep fits the budget


@dataclass(frozen=True)
class Decision:
    """The mode ``jacobian(mode="auto")`` uses, and why, as data.

    ``ratio`` is the measured cost of one reverse direction over one forward
    direction for this function; ``reason`` says the decision in one sentence.
    ``measured`` is False when nothing (or not the chosen mode) was timed;
    ``verify`` marks a decision that the next call checks by timing the mode
    not yet timed -- the chosen one when not ``measured`` (a prediction), else
    the other -- after which the decision becomes the faster of the two.

    >>> import numpy as np
    >>> from chainrule import choose_mode
    >>> d = choose_mode(lambda x: np.sum(np.sin(x)), np.ones(500))     # R^500 -> R^1
    >>> d.mode, d.n, d.m
    ('reverse', 500, 1)
    """

    mode: str                   # "forward" or "reverse"
    n: int
    m: int
    forward: ModeCost
    reverse: ModeCost
    ratio: float
    operations: int
    tape_bytes: int
    memory_budget: int
    reason: str
    measured: bool = True       # False: decided from the shapes (or the cost of a probe), ``seconds`` are NaN
    verify: bool = False        # the next call times the mode not yet timed and keeps the faster

    @property
    def chosen(self):
        return self.forward if self.mode == "forward" else self.reverse

    def __getattr__(self, name):
        # only for what the instance lacks: fields given as functions (see decide_without_timing) are written
        # when first read -- auto mode's first call decides in microseconds and seldom reads the reason or
        # the cost of the mode it did not choose
        state = self.__dict__
        make = state.get("_lazy", {}).get(name)
        if make is not None:
            value = state[name] = make()
            state["_lazy"].pop(name, None)
            return value
        if name in _LAZY and name in state:             # written by another thread meanwhile
            return state[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __getstate__(self):
        for name in tuple(self.__dict__.get("_lazy", ())):
            getattr(self, name)                         # written, so that the state holds values, not functions
        return {k: v for k, v in self.__dict__.items() if k != "_lazy"}

    def to_dict(self):
        return asdict(self)


def _built(cls, *values):
    """``cls(*values)`` for a frozen dataclass, every field given in order, without its ``__init__``.

    A frozen dataclass sets each field through ``object.__setattr__`` (about
    0.4 us a field): auto mode's first call builds a few of them, where the
    overhead over the chosen mode is counted in microseconds.
    """
    obj = object.__new__(cls)
    obj.__dict__.update(zip(_FIELDS[cls], values))
    return obj


def _cost(directions, per_direction_s, sweep_s, fixed_s, per_direction_b, fixed_b, result_b, budget):
    """``fixed_b`` (the tape) counts against the budget; ``result_b`` (the Jacobian) is reported only."""
    k = directions_per_sweep(max(directions, 1), bytes_per_direction=per_direction_b,
                             memory_budget=max(budget - fixed_b, 1))
    sweeps = math.ceil(directions / k) if directions else 0
    seconds = fixed_s + sweeps * sweep_s + directions * per_direction_s
    return _built(ModeCost, directions, k, sweeps, seconds, fixed_b + k * per_direction_b + result_b,
                    fixed_b + per_direction_b <= budget)


def fit_sweep(t_one, t_many=None, many=0):
    """``(fixed, per_direction)`` seconds of a sweep from two timed probes.

    ``t_one`` is a sweep carrying one direction, ``t_many`` one carrying
    ``many``; a sweep of k directions then costs ``fixed + k * per_direction``.
    With no second probe (or ``many == 1``) the whole time counts as fixed.

    >>> fit_sweep(3e-3, 10e-3, 8)
    (0.002, 0.001)
    """
    if not t_many or many <= 1:
        one = t_one if not t_many else (t_one + t_many) / 2
        return one, 0.0
    per = max((t_many - t_one) / (many - 1), 0.0)
    fixed = max(t_one - per, 0.0)
    return round(fixed, 15), round(per, 15)


def decide(stats, t_record, forward, reverse, memory_budget=None):
    """The :class:`Decision` from a recorded sweep's ``stats`` and the fitted sweep costs.

    ``t_record`` is the time of the recorded primal sweep; ``forward`` and
    ``reverse`` are ``(fixed, per_direction)`` seconds of a forward sweep and
    of a backward sweep (see :func:`fit_sweep`).  The budget is in bytes.
    """
    budget = parse_bytes(memory_budget)
    n, m = stats.n, stats.m
    (a_f, per_fwd), (a_r, per_rev) = forward, reverse
    floor = SECONDS_PER_ELEMENT * stats.elements      # timing noise must not make a direction free
    per_fwd, per_rev = max(per_fwd, floor), max(per_rev, floor)
    jac_bytes = 8 * n * m
    fwd = _cost(n, per_fwd, a_f, 0.0, stats.bytes_per_direction, 0, jac_bytes, budget)
    rev = _cost(m, per_rev, a_r, t_record, stats.bytes_per_direction, stats.tape_bytes, jac_bytes, budget)
    # reverse over forward for one more direction; for sweeps dominated by fixed costs, whole sweeps
    ratio = per_rev / per_fwd if per_fwd > 0 else (a_r + t_record) / max(a_f, 1e-12)
    if fwd.fits != rev.fits:
        mode = "forward" if fwd.fits else "reverse"
        other = rev if fwd.fits else fwd
        why = (f"only {mode} mode fits the memory budget of {format_bytes(budget)}: "
               f"the other needs at least {format_bytes(stats.tape_bytes + stats.bytes_per_direction)} for one direction")
    else:
        close = n != m and abs(fwd.seconds - rev.seconds) <= _TIE * min(fwd.seconds, rev.seconds)
        if close:
            mode = "forward" if n <= m else "reverse"
        else:
            mode = "forward" if fwd.seconds < rev.seconds else "reverse"
        mine, other = (fwd, rev) if mode == "forward" else (rev, fwd)
        word = {"forward": "tangent", "reverse": "adjoint"}
        sym = {"forward": "n", "reverse": "m"}
        o_mode = "reverse" if mode == "forward" else "forward"
        why = (f"{mode}: {sym[mode]} = {mine.directions} {word[mode]} direction{'s' * (mine.directions != 1)} "
               f"in {mine.sweeps} sweep{'s' * (mine.sweeps != 1)}, estimated at {_fmt_s(mine.seconds)}, "
               f"against {_fmt_s(other.seconds)} for {sym[o_mode]} = {other.directions} {word[o_mode]} "
               f"direction{'s' * (other.directions != 1)}"
               + (" (within 10%, so the mode with fewer directions)" if close else "")
               + f"; a reverse direction costs {ratio:.2g}x a forward one here"
               + (f" and the tape keeps {format_bytes(stats.tape_bytes)}" if stats.tape_bytes else ""))
        if not fwd.fits:
            why += f"; neither mode fits the budget of {format_bytes(budget)}, so sweeps carry one direction"
    return _built(Decision, mode, n, m, fwd, rev, ratio, stats.operations, stats.tape_bytes, budget, why + ".", True,
                  False)


def decide_without_timing(mode, n, m, why, memory_budget=None, stats=None, bytes_per_direction=None,
                          seconds=None, verify=False, measured=False):
    """A :class:`Decision` taken without timing the other mode: from the shapes, or because probing would cost too much.

    ``why`` is the reason (or a function returning it, called when the reason is first read); the costs carry the directions and sweeps the
    memory model gives (from ``stats`` when a tape was recorded, else from
    ``bytes_per_direction``), and NaN seconds: nothing was timed -- or
    ``seconds``, a ``(forward, reverse)`` pair predicted from a recording.
    ``verify``, ``measured``: see :class:`Decision` (``measured``: the chosen mode's seconds were timed).
    """
    budget = parse_bytes(memory_budget)
    if stats is not None:
        per_b, tape_b, ops = stats.bytes_per_direction, stats.tape_bytes, stats.operations
    else:
        per_b, tape_b, ops = int(bytes_per_direction or 8), 0, 0
    nan = float("nan")

    def cost(d, fixed_b, s):
        k = directions_per_sweep(max(d, 1), bytes_per_direction=per_b, memory_budget=max(budget - fixed_b, 1))
        return _built(ModeCost, d, k, -(-d // k), s, fixed_b + k * per_b + 8 * n * m, fixed_b + per_b <= budget)

    state = {"mode": mode, "n": n, "m": m, "ratio": nan, "operations": ops, "tape_bytes": tape_b,
             "memory_budget": budget, "measured": measured, "verify": verify}
    # the two modes' costs, and the reason if a function: written when first read (auto mode's first
    # call reads the chosen mode's directions per sweep only when there are more than FEW_DIRECTIONS)
    lazy = {"forward": lambda: cost(n, 0, seconds[0] if seconds else nan),
            "reverse": lambda: cost(m, tape_b, seconds[1] if seconds else nan)}
    if callable(why):
        lazy["reason"] = why
    else:
        state["reason"] = why
    state["_lazy"] = lazy
    d = object.__new__(Decision)
    d.__dict__.update(state)
    return d


_FIELDS = {cls: tuple(cls.__dataclass_fields__) for cls in (TapeStats, ModeCost, Decision)}
_LAZY = ("forward", "reverse", "reason")          # the fields of a Decision that may be written when first read
assert all(len(f) == n for f, n in zip(_FIELDS.values(), (8, 6, 12)))      # _built's callers give every field


class DecisionCache:
    """The process's decisions of ``jacobian(mode="auto")``: one least-recently-used map, safe across threads.

    Keys say what a decision depends on (the function, argnums, the inputs'
    shapes and dtypes, see ``transforms.jacobian``); values are
    :class:`Decision`.  At most ``size`` entries are kept.
    """

    def __init__(self, size=CACHE_SIZE):
        self.size = size
        self._entries = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            d = self._entries.get(key)
            if d is not None:
                self._entries.move_to_end(key)
            return d

    def put(self, key, decision):
        with self._lock:
            self._entries[key] = decision
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def discard(self, key):
        with self._lock:
            self._entries.pop(key, None)

    def clear(self):
        with self._lock:
            self._entries.clear()

    def __len__(self):
        return len(self._entries)


DECISIONS = DecisionCache()


def _fmt_s(s):
    if s != s:
        return "not measured"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.0f} us"
