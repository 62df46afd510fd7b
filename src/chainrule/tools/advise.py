"""``advise``: run both modes for real on the user's function and say which to use.

Where ``choose_mode`` estimates from a probe, ``advise`` measures: it computes
the full Jacobian with ``jacfwd`` and with ``jacrev`` ``repeat`` times each,
interleaved, takes the median time of each, and the peak memory of one more
run of each under ``tracemalloc`` (which counts the arrays NumPy allocates).
The report puts the measured recommendation beside the choice of
``jacobian(mode="auto")`` and says when they disagree.
"""

from __future__ import annotations

import statistics
import threading
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..pytree import flatten
from ..transforms import choose_mode, jacfwd, jacrev
from ..transforms.mode import format_bytes
from ..transforms.progress import Progress

__all__ = ["advise", "Advice", "Measurement", "peak_bytes"]

_CLOSE = 0.10       # measured times closer than this count as a tie


@dataclass(frozen=True)
class Measurement:
    """One mode, measured: median seconds of a full Jacobian, all samples, peak bytes."""

    mode: str
    seconds: float
    samples: tuple
    peak_bytes: int


@dataclass(frozen=True)
class Advice:
    """The measured recommendation beside what auto mode would choose.

    ``forward`` and ``reverse`` hold the median seconds and peak bytes of each mode's full Jacobian;
    ``recommendation`` the faster (or, within 10%, the leaner); ``auto`` the :class:`Decision` of
    ``jacobian(mode="auto")``, and ``agrees`` whether the two match; ``str()`` is the report.

    >>> import numpy as np
    >>> a = advise(lambda x: np.tanh(x) * np.sum(x), np.ones(3), repeat=3)
    >>> a.forward.mode, a.reverse.mode, a.forward.seconds > 0, a.reverse.peak_bytes > 0
    ('forward', 'reverse', True, True)
    """

    n: int
    m: int
    forward: Measurement
    reverse: Measurement
    recommendation: str      # "forward" or "reverse", from the measurements
    auto: object             # the Decision of jacobian(mode="auto")
    agrees: bool             # whether auto mode picks the measured recommendation (or a tie)
    reason: str
    sparse: Measurement | None = None     # sparse_jacobian, measured (advise(..., sparse=True))
    sparse_decision: object = None        # its SparseDecision: pattern, colours per mode, the mode chosen

    def to_dict(self):
        d = asdict(self)
        d["auto"] = self.auto.to_dict()
        d["sparse_decision"] = None if self.sparse_decision is None else self.sparse_decision.to_dict()
        return d

    def __str__(self):
        lines = [f"Full Jacobian of a function R^{self.n} -> R^{self.m}, both modes measured "
                 f"({len(self.forward.samples)} runs each, median):", ""]
        width = max(len(f"{x.seconds * 1e3:.3f}") for x in (self.forward, self.reverse))
        for x in (self.forward, self.reverse):
            mark = "  <- recommended" if x.mode == self.recommendation else ""
            lines.append(f"  {x.mode:8s} {x.seconds * 1e3:{width}.3f} ms   peak {format_bytes(x.peak_bytes):>9s}{mark}")
        lines += ["", f"Recommendation: {self.reason}",
                  f"Auto mode: {self.auto.reason}"]
        if not self.agrees:
            lines.append(f"Note: auto mode would choose {self.auto.mode}, but {self.recommendation} measured faster.")
        if self.sparse is not None:
            d, best = self.sparse_decision, min(self.forward.seconds, self.reverse.seconds)
            lines += ["", f"Sparse: sparse_jacobian ({d.mode}, {d.sweeps} sweep{'s' * (d.sweeps != 1)}) "
                          f"{self.sparse.seconds * 1e3:.3f} ms, peak {format_bytes(self.sparse.peak_bytes)}: "
                          f"{best / self.sparse.seconds:.3g}x the speed of the faster dense mode", str(d)]
        return "\n".join(lines) + "\n"


_TRACEMALLOC = threading.Lock()     # tracemalloc is one per process: one measurement at a time


def peak_bytes(fn):
    """Peak bytes allocated while ``fn()`` runs, under ``tracemalloc``.

    ``tracemalloc`` counts the whole process, so measurements are serialized
    (two threads advising at once wait for each other instead of resetting
    each other's peak); allocations of other threads during ``fn`` still count.
    """
    with _TRACEMALLOC:
        started = not tracemalloc.is_tracing()
        if started:
            tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            fn()
            return max(tracemalloc.get_traced_memory()[1] - base, 0)
        finally:
            if started:
                tracemalloc.stop()



def advise(f: Callable, *args: Any, argnums: int | Sequence[int] = 0, repeat: int = 5,
           memory_budget: int | str | None = None, progress: bool | None = None, sparse: bool = False) -> Advice:
    """Measure the full Jacobian of ``f`` at ``args`` in both modes and recommend one.

    Runs ``jacfwd`` and ``jacrev`` ``repeat`` times each (interleaved, after
    one warm-up run each, whose results are checked to agree), takes median
    times, and the peak memory of each under ``tracemalloc``.  Returns an
    :class:`Advice`; ``str()`` of it is the report.  Cost: about
    ``2 * (repeat + 2)`` full Jacobians.  ``progress``: a counter of the runs on
    stderr when advising takes longer than about 2 s (None: only when stderr
    is a terminal; True: always; False: never).  ``sparse=True`` also measures
    :func:`~chainrule.sparse_jacobian` (its pattern and plan made at the
    warm-up, then timed with the others) and reports its decision: nonzeros,
    density, colours per mode, the mode chosen.

    >>> import numpy as np
    >>> a = advise(lambda x: np.sin(x) * 2.0, np.ones(3), repeat=3)
    >>> a.recommendation in ("forward", "reverse"), (a.n, a.m)
    (True, (3, 3))
    """
    if int(repeat) < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat!r}")
    runs = {"forward": jacfwd(f, argnums), "reverse": jacrev(f, argnums)}
    if sparse:
        from ..sparse.transforms import sparse_jacobian     # imports SciPy, which builds the matrices
        runs["sparse"] = sparse_jacobian(f, argnums, memory_budget=memory_budget)
    k_runs = len(runs)
    with Progress("advise: full Jacobians", k_runs * (int(repeat) + 2), progress) as bar:
        warm = {}
        for mode, fn in runs.items():
            warm[mode] = fn(*args)
            bar.update(len(warm))
        _check_agree(warm["forward"], warm["reverse"])
        if sparse:
            _check_sparse(warm["sparse"], warm["forward"])
        samples = {mode: [] for mode in runs}
        for r in range(int(repeat)):
            for k, (mode, fn) in enumerate(runs.items()):
                t0 = time.perf_counter()
                fn(*args)
                samples[mode].append(time.perf_counter() - t0)
                bar.update(k_runs + k_runs * r + k + 1)
        peaks = {}
        for mode, fn in runs.items():
            peaks[mode] = peak_bytes(lambda: fn(*args))
            bar.update(k_runs + k_runs * int(repeat) + len(peaks))
    measured = {mode: Measurement(mode, statistics.median(s), tuple(s), peaks[mode]) for mode, s in samples.items()}
    fwd, rev = measured["forward"], measured["reverse"]
    decision = choose_mode(f, *args, argnums=argnums, memory_budget=memory_budget)
    fast, slow = (fwd, rev) if fwd.seconds <= rev.seconds else (rev, fwd)
    tie = slow.seconds - fast.seconds <= _CLOSE * fast.seconds
    if tie:
        best = fwd if fwd.peak_bytes <= rev.peak_bytes else rev
        reason = (f"{best.mode}: the two modes are within 10% of each other "
                  f"({fwd.seconds * 1e3:.3g} ms forward, {rev.seconds * 1e3:.3g} ms reverse), "
                  f"and {best.mode} mode needs less memory ({format_bytes(best.peak_bytes)} against "
                  f"{format_bytes((rev if best is fwd else fwd).peak_bytes)}).")
    else:
        best = fast
        reason = (f"{best.mode}: {slow.seconds / fast.seconds:.3g}x faster than {slow.mode} "
                  f"({fast.seconds * 1e3:.3g} ms against {slow.seconds * 1e3:.3g} ms), peak memory "
                  f"{format_bytes(fast.peak_bytes)} against {format_bytes(slow.peak_bytes)}.")
    agrees = decision.mode == best.mode or tie
    if not sparse:
        return Advice(decision.n, decision.m, fwd, rev, best.mode, decision, agrees, reason)
    return Advice(decision.n, decision.m, fwd, rev, best.mode, decision, agrees, reason, measured["sparse"],
                  runs["sparse"].decision_for(*args))


def _check_sparse(matrix, dense):
    """The sparse Jacobian against the dense one (laid out as the sparse one: outputs x inputs, flattened)."""
    leaves = flatten(dense)[0]
    rows = np.asarray(matrix.toarray())
    flat = np.concatenate([np.reshape(np.asarray(x), (rows.shape[0], -1)) for x in leaves], axis=1) \
        if len(leaves) > 1 else np.reshape(np.asarray(leaves[0]), rows.shape)
    if not np.allclose(rows, flat, rtol=1e-8, atol=1e-10):
        raise AssertionError("the sparse Jacobian disagrees with the dense one on this function; please report it")


def _check_agree(a, b):
    for x, y in zip(flatten(a)[0], flatten(b)[0]):
        if not np.allclose(np.asarray(x), np.asarray(y), rtol=1e-8, atol=1e-10):
            raise AssertionError("forward and reverse mode disagree on this function's Jacobian "
                                 "(a derivative rule may be wrong); please report it")
