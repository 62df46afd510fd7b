"""Sparse Jacobians and Hessians: detect the pattern, colour it, sweep the colours, decompress.

``sparse_jacobian(f)`` at its first call at given shapes runs ``f`` once on
index sets (:mod:`chainrule.sparse.level`) to find the pattern, colours it
(:mod:`chainrule.sparse.colouring`), and then evaluates every later call with
the existing engines' batched sweeps: forward mode pushes one tangent per
column colour, reverse mode pulls one adjoint per row colour, bidirectional
mode does both with a star bicolouring.  The sweeps' compressed results are
decompressed (:mod:`chainrule.sparse.decompress`) straight into the data array
of a CSR matrix whose structure is the pattern's, structural zeros included.

Auto mode computes all three colourings, times one evaluation of each mode
whose number of sweeps is within reach of the fewest, and keeps the fastest;
:class:`SparseDecision` says what was counted and measured and why.

A pattern found where the function branched on a traced value (``if
np.sum(x) > 0:``) holds on that branch only.  Every later call then detects
the pattern again, compares the branch values, and re-colours when the
pattern differs -- correct on both sides of the branch, at the cost of a
detection per call.

SciPy is needed here only to build the returned matrices; ``import chainrule``
works without it.
"""

from __future__ import annotations

import functools
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import InputDtypeError
from ..forward import jvp_flat
from ..reverse import vjp_flat
from ..transforms.adapter import FlatFun, dtype_of, shape_of
from ..transforms.derivatives import _bind_kwargs, _split, grad
from ..transforms.mode import directions_per_sweep, guess_bytes_per_direction
from .colouring import colour_bidirectional, colour_columns, colour_rows, colour_star
from .decompress import bidirectional_reads, forward_reads, reverse_reads, seeds, star_reads
from .level import distinct, pattern_flat

__all__ = ["sparse_jacobian", "sparse_hessian", "jacobian_sparsity", "hessian_sparsity", "SparseDecision",
           "sparse_triplets"]

_MODES = ("auto", "forward", "reverse", "bidirectional")
_REACH = 2.0                # auto mode times the modes with at most this many times the fewest sweeps (+2)
_ONE_SIDED_ENOUGH = 16      # auto mode tries bicolouring only when forward and reverse need more sweeps


def _scipy_sparse():
    try:
        import scipy.sparse
    except ImportError:             # pragma: no cover - the test extra installs SciPy
        raise ImportError("chainrule's sparse Jacobians and Hessians are scipy.sparse matrices; "
                          "install SciPy (pip install 'chainrule[sparse]')") from None
    return scipy.sparse


def _size(x):
    n = 1
    for d in shape_of(x):
        n *= d
    return n


def _csr(indptr, indices, shape, data=None):
    sp = _scipy_sparse()
    if data is None:
        data = np.ones(len(indices), dtype=bool)
    return sp.csr_matrix((data, indices, indptr), shape=shape)


def _same_branches(a, b):
    return len(a) == len(b) and all(na == nb and va.shape == vb.shape and np.array_equal(va, vb)
                                    for (na, va), (nb, vb) in zip(a, b))


def _key(flat):
    return flat.in_tree, tuple((shape_of(x), dtype_of(x)) for x in flat.in_leaves)


def _stack(ts, like, k):
    """Per-leaf batched results ``(k, *leaf.shape)`` (None: zero) as one ``(k, total)`` array."""
    parts = [np.zeros((k, _size(o)), dtype=dtype_of(o) if dtype_of(o).kind == "f" else np.float64)
             if t is None else np.reshape(t, (k, -1)) for t, o in zip(ts, like)]
    if len(parts) == 1:
        return parts[0]                                  # one leaf: no copy
    return np.concatenate(parts, axis=1) if parts else np.zeros((k, 0))


# -- the sweeps: colours in, compressed matrix out ---------------------------------------------------
def _chunks(count, leaves, memory_budget):
    """Colour ranges ``(start, stop)``, as many per sweep as the memory budget allows."""
    k = directions_per_sweep(max(count, 1), None, lambda: guess_bytes_per_direction(leaves), memory_budget)
    return [(a, min(a + k, count)) for a in range(0, count, k)]


def _refuse_complex(flat, values):
    """Real colour seeds on complex values would give only part of the Jacobian: refuse them."""
    for x in values:
        if dtype_of(x).kind == "c":
            raise InputDtypeError(
                f"sparse Jacobians and Hessians of {getattr(flat.f, '__name__', 'the function')} are real; a "
                "complex input or output would be seeded in real directions only. Split it into real and "
                "imaginary parts, or use jacrev/jacfwd (holomorphic=True for holomorphic functions).")


_SEEDS = {}                  # id(colours) -> {(a, b, dtype): seed matrix}, dropped with the colours array


def _seeds(colours, a, b, dt):
    """The seed matrix of colours ``a..b-1``, made once per colouring (plans keep theirs) and shared by
    every later call, read-only."""
    per = _SEEDS.get(id(colours))
    if per is None:
        per = _SEEDS[id(colours)] = {}
        weakref.finalize(colours, _SEEDS.pop, id(colours), None)
    seed = per.get((a, b, dt))
    if seed is None:
        seed = seeds(np.where((colours >= a) & (colours < b), colours - a, -1), b - a, dt)
        seed.flags.writeable = False                     # shared by every call: no rule may write into it
        per[(a, b, dt)] = seed
    return seed


def _push(flat, colours, count, memory_budget=None):
    """Forward mode, one tangent per colour (the indicator of its columns): ``(J S)^T``, ``(count, m)``."""
    _refuse_complex(flat, flat.in_leaves)
    leaves = flat.in_leaves
    dt = dtype_of(leaves[0]) if leaves else np.float64
    parts, outs = [], None
    for a, b in _chunks(count, leaves, memory_budget):
        seed = _seeds(colours, a, b, dt)
        outs, touts = jvp_flat(flat, leaves, _split(seed, leaves))
        _refuse_complex(flat, outs)
        parts.append(_stack(touts, outs, b - a))
    if not parts:
        return np.zeros((0, 0), dtype=dt)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _pull(flat, colours, count, memory_budget=None):
    """Reverse mode, one adjoint per colour (the indicator of its rows): ``S^T J``, ``(count, n)``."""
    leaves = flat.in_leaves
    outs, pullback = vjp_flat(flat, leaves)
    _refuse_complex(flat, list(leaves) + list(outs))
    dt = dtype_of(outs[0]) if outs else np.float64
    chunks = _chunks(count, outs, memory_budget)
    parts = []
    for a, b in chunks:
        seed = _seeds(colours, a, b, dt)
        adjoints = pullback(_split(seed, outs), consume=b == count)
        parts.append(_stack(adjoints, leaves, b - a))
    if not parts:
        return np.zeros((0, sum(_size(x) for x in leaves)), dtype=dt)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _evaluate(flat, plan, mode):
    """The values of the Jacobian's nonzeros (CSR order) by ``mode``."""
    budget = plan.memory_budget
    if mode == "forward":
        c = plan.colouring("forward")
        return _push(flat, c.colours, c.count, budget).ravel()[plan.reads("forward")]
    if mode == "reverse":
        c = plan.colouring("reverse")
        return _pull(flat, c.colours, c.count, budget).ravel()[plan.reads("reverse")]
    fwd, rev, reads = plan.bidirectional()
    kf, kr = int(fwd.max(initial=-1)) + 1, int(rev.max(initial=-1)) + 1
    c_fwd = _push(flat, fwd, kf, budget) if kf else None
    a_rev = _pull(flat, rev, kr, budget) if kr else None
    if c_fwd is None:
        return a_rev.ravel()[reads]
    if a_rev is None:
        return c_fwd.ravel()[reads]
    return np.concatenate([c_fwd.ravel(), a_rev.ravel()])[reads]


class SparseDecision:
    """How a sparse Jacobian is computed: the pattern's size, the colours of each mode, the choice.

    ``mode`` is "forward", "reverse" or "bidirectional"; ``colours[mode]`` the
    sweeps (directions) that mode needs; ``orders[mode]`` the vertex orders
    tried and the colours each gave; ``seconds[mode]`` the measured time of one
    evaluation (None: not timed, too many sweeps); ``reason`` a sentence.

    >>> import numpy as np
    >>> jac = sparse_jacobian(lambda x: x[1:] * x[:-1], mode="forward")
    >>> _ = jac(np.ones(6))
    >>> d = jac.decision_for(np.ones(6))          # 5 x 6, two nonzeros a row: 2 sweeps, not 6
    >>> d.mode, d.sweeps, (d.m, d.n), d.nonzeros
    ('forward', 2, (5, 6), 10)
    """

    def __init__(self, mode, shape, nonzeros, colours, orders, seconds, reason, value_dependent):
        self.mode = mode
        self.m, self.n = shape
        self.nonzeros = nonzeros
        self.colours = colours
        self.orders = orders
        self.seconds = seconds
        self.reason = reason
        self.value_dependent = value_dependent

    @property
    def density(self):
        return self.nonzeros / max(self.m * self.n, 1)

    def to_dict(self):
        """The decision as plain data (for JSON)."""
        return {"mode": self.mode, "m": self.m, "n": self.n, "nonzeros": self.nonzeros,
                "density": self.density, "colours": dict(self.colours), "orders": {k: dict(v) for k, v in
                                                                                 self.orders.items()},
                "seconds": dict(self.seconds), "reason": self.reason, "value_dependent": self.value_dependent}

    @property
    def sweeps(self):
        return self.colours[self.mode]

    def __repr__(self):
        counts = ", ".join(f"{k}={v}" for k, v in self.colours.items())
        return (f"SparseDecision(mode={self.mode!r}, {self.m}x{self.n}, nonzeros={self.nonzeros}, "
                f"colours: {counts})")

    def __str__(self):
        what = "Hessian" if self.mode == "star" else "Jacobian"
        lines = [f"sparse {what} {self.m} x {self.n}: {self.nonzeros} nonzeros "
                 f"(density {self.density:.2g})"]
        for mode, count in self.colours.items():
            if count is None:
                lines.append(f"  {mode:13s} not coloured: a one-sided mode needs at most "
                             f"{_ONE_SIDED_ENOUGH} sweeps")
                continue
            t = self.seconds.get(mode)
            timed = f", {t * 1e3:.3g} ms measured" if t is not None else ""
            order = self.orders.get(mode, {})
            tried = ", ".join(f"{k} {v}" for k, v in order.items())
            lines.append(f"  {mode:13s} {count} sweep{'s' * (count != 1)}{timed}   (orders: {tried})")
        lines.append(f"chosen: {self.mode} -- {self.reason}")
        if self.value_dependent:
            lines.append("the function branches on traced values: the pattern is checked again at every call")
        return "\n".join(lines)


class _Plan:
    """One pattern with its colourings and decompression positions, computed as they are asked for."""

    def __init__(self, indptr, indices, shape, branches, memory_budget=None):
        self.indptr, self.indices, self.shape, self.branches = indptr, indices, shape, branches
        self.memory_budget = memory_budget
        self._colourings = {}
        self._reads = {}
        self._bidirectional = None
        self.decision = None
        # the returned matrices' index arrays: int32 where they fit, as SciPy's own (else each
        # matrix would convert them, and solvers would again)
        small = max(len(indices), *shape) < 2 ** 31 - 1
        self.structure = (indptr.astype(np.int32), indices.astype(np.int32)) if small else (indptr, indices)

    def matrix(self, values):
        """The CSR matrix of this pattern with ``values`` as its data."""
        return _csr(*self.structure, self.shape, values)

    def colouring(self, mode):
        c = self._colourings.get(mode)
        if c is None:
            other = self._colourings.get("reverse" if mode == "forward" else "forward")
            if mode != "bidirectional" and other is not None and self.symmetric():
                c = other                   # a structurally symmetric pattern: its rows colour as its columns
            else:
                colour = {"forward": colour_columns, "reverse": colour_rows,
                          "bidirectional": colour_bidirectional}[mode]
                c = colour(self.indptr, self.indices, self.shape)
            self._colourings[mode] = c
        return c

    def symmetric(self):
        m, n = self.shape
        if m != n:
            return False
        return np.array_equal(_symmetric(self.indptr, self.indices, n)[1], self.indices)

    def reads(self, mode):
        r = self._reads.get(mode)
        if r is None:
            c = self.colouring(mode)
            m, n = self.shape
            r = self._reads[mode] = (forward_reads(self.indptr, self.indices, m, c.colours, c.count)
                                     if mode == "forward" else
                                     reverse_reads(self.indptr, self.indices, n, c.colours, c.count))
        return r

    def bidirectional(self):
        if self._bidirectional is None:
            c = self.colouring("bidirectional")
            self._bidirectional = bidirectional_reads(self.indptr, self.indices, self.shape, c.colours)
        return self._bidirectional

    def sweeps(self, mode):
        if mode == "bidirectional":
            fwd, rev, _ = self.bidirectional()
            return int(fwd.max(initial=-1)) + 1 + int(rev.max(initial=-1)) + 1
        return self.colouring(mode).count

    def same_pattern(self, indptr, indices):
        return np.array_equal(indptr, self.indptr) and np.array_equal(indices, self.indices)


def _detect(flat):
    _, indptr, indices, branches = pattern_flat(flat, flat.in_leaves)
    n = sum(_size(x) for x in flat.in_leaves)
    return indptr, indices, (len(indptr) - 1, n), branches


def _given(sparsity, flat):
    """A user's pattern as CSR structure (any scipy.sparse matrix or a dense boolean array)."""
    sp = _scipy_sparse()
    p = sp.csr_matrix(sparsity, dtype=bool)
    p.sum_duplicates()
    p.sort_indices()
    n = sum(_size(x) for x in flat.in_leaves)
    if p.shape[1] != n:
        raise ValueError(f"sparsity= has {p.shape[1]} columns but the differentiated inputs have {n} elements")
    return p.indptr.astype(np.int64), p.indices.astype(np.int64), p.shape, []


def _sweeps(count):
    return f"{count} sweep{'s' * (count != 1)}"


def _choose(flat, plan, mode):
    """Decide the mode (measuring in auto mode); returns the decision and the values it computed."""
    modes = ("forward", "reverse") if mode == "auto" else (mode,)
    counts = {md: plan.sweeps(md) for md in modes}
    if mode == "auto":
        # a star bicolouring pays off when dense rows and dense columns make both one-sided
        # colourings large; when one of them is small already it is not worth its colouring time
        counts["bidirectional"] = plan.sweeps("bidirectional") if min(counts.values()) > _ONE_SIDED_ENOUGH \
            else None
        modes = ("forward", "reverse", "bidirectional")
    orders = {md: dict(plan.colouring(md).tried) for md in modes if counts[md] is not None}
    seconds = {md: None for md in modes}
    best_count = min(c for c in counts.values() if c is not None)
    timed = [md for md in modes if counts[md] is not None and counts[md] <= _REACH * best_count + 2]
    values = {}
    if len(timed) > 1:
        for md in timed:                                 # a warm-up each: first runs pay for cold caches
            values[md] = _evaluate(flat, plan, md)
    for md in timed:
        t0 = time.perf_counter()
        values[md] = _evaluate(flat, plan, md)
        seconds[md] = time.perf_counter() - t0
    chosen = min(timed, key=lambda md: seconds[md])
    if mode != "auto":
        reason = f"mode={mode!r} was asked for"
    elif len(timed) == 1:
        reason = f"{chosen} needs {_sweeps(counts[chosen])}, far fewer than the other modes"
    else:
        others = ", ".join(f"{md} {seconds[md] * 1e3:.3g} ms" for md in timed if md != chosen)
        reason = (f"{chosen} took {seconds[chosen] * 1e3:.3g} ms for {_sweeps(counts[chosen])} "
                  f"(measured against {others})")
    decision = SparseDecision(chosen, plan.shape, len(plan.indices), counts, orders, seconds, reason,
                              bool(plan.branches))
    return decision, values[chosen]


def sparse_jacobian(fun: Callable, argnums: int | Sequence[int] = 0, mode: str = "auto", sparsity: Any = None,
                    memory_budget: int | str | None = None, executor: Any = None) -> Callable:
    """The Jacobian of ``fun`` as a ``scipy.sparse`` CSR matrix, with as few sweeps as its pattern allows.

    Rows are the output elements (leaves in order, each flattened in C order),
    columns the elements of the differentiated arguments (likewise), so the
    matrix is ``m x n``; every call at the same shapes returns the same
    structure, structural zeros kept.  The pattern is detected at the first
    call (or given: ``sparsity=``, any boolean matrix of that shape); ``mode``
    is "forward" (one tangent per column colour), "reverse" (one adjoint per
    row colour), "bidirectional" (a star bicolouring: both), or "auto"
    (runs each mode within reach of the fewest sweeps once untimed, then once timed;
    keeps the fastest).
    Cost per call: one batched sweep of as many directions as colours, where a
    dense Jacobian needs n or m; ``memory_budget`` (bytes or "512MB"; default a
    quarter of the available memory) splits the colours over several sweeps
    when one would hold too much.  ``jac.decision_for(*args)`` is the
    :class:`SparseDecision` taken at those shapes.  ``executor``: a
    ``concurrent.futures`` executor or a ``dask.distributed.Client`` to sweep
    the colour groups on after the first call (:mod:`chainrule.sparse.fanout`).

    >>> import numpy as np
    >>> jac = sparse_jacobian(lambda x: x[1:] * x[:-1], mode="forward")
    >>> jac(np.array([1.0, 2.0, 3.0])).toarray().tolist()
    [[2.0, 1.0, 0.0], [0.0, 3.0, 2.0]]
    """
    if mode not in _MODES:
        raise ValueError(f"mode={mode!r}; choose one of {', '.join(map(repr, _MODES))}")
    plans = {}

    def plan_for(flat):
        """The plan at ``flat``'s shapes, with the decision and the first values when it was just made."""
        key = _key(flat)
        plan = plans.get(key)
        if plan is not None and not plan.branches:
            return plan, None
        if sparsity is not None:
            found = _given(sparsity, flat)
        else:
            found = _detect(flat)
            if plan is not None:                         # the pattern depends on branches: check them
                if _same_branches(found[3], plan.branches):
                    return plan, None
                if plan.same_pattern(found[0], found[1]):
                    plan.branches = found[3]
                    return plan, None
        plan = _Plan(*found, memory_budget=memory_budget)
        plan.decision, values = _choose(flat, plan, mode)
        plans[key] = plan
        return plan, values

    @functools.wraps(fun)
    def jac_fun(*args, **kwargs):
        flat = FlatFun(_bind_kwargs(fun, kwargs), args, argnums)
        plan, values = plan_for(flat)
        if executor is not None:
            from .fanout import fan_out_colours             # it builds on this module
            values = fan_out_colours(executor, fun, args, kwargs, argnums, plan, "sparse_jacobian", values,
                                     lambda: _evaluate(flat, plan, plan.decision.mode))
        elif values is None:
            values = _evaluate(flat, plan, plan.decision.mode)
        return plan.matrix(values)

    def decision_for(*args, **kwargs):
        """The :class:`SparseDecision` at the shapes of ``args`` (made now if this is the first call there)."""
        return plan_for(FlatFun(_bind_kwargs(fun, kwargs), args, argnums))[0].decision

    def groups_for(*args, **kwargs):
        """Per stored nonzero (CSR order) the sweep that yields it: ``(pattern, direction, colour)``.

        ``pattern`` is the boolean CSR pattern, ``direction[k]`` is "forward" or
        "reverse" and ``colour[k]`` the colour (the sweep's direction index) the
        nonzero is read from -- the data behind :func:`chainrule.tools.sparsity.spy`.
        """
        plan = plan_for(FlatFun(_bind_kwargs(fun, kwargs), args, argnums))[0]
        m, n = plan.shape
        rows = np.repeat(np.arange(m), np.diff(plan.indptr))
        mode = plan.decision.mode
        if mode == "forward":
            colour, forward = plan.colouring("forward").colours[plan.indices], np.ones(len(rows), bool)
        elif mode == "reverse":
            colour, forward = plan.colouring("reverse").colours[rows], np.zeros(len(rows), bool)
        else:
            fwd, _, reads = plan.bidirectional()
            kf = int(fwd.max(initial=-1)) + 1
            forward = reads < kf * m
            colour = np.where(forward, reads // m, (reads - kf * m) // max(n, 1))
        direction = np.where(forward, "forward", "reverse")
        return _csr(*plan.structure, plan.shape), direction, colour

    jac_fun.decision_for = decision_for
    jac_fun.groups_for = groups_for
    return jac_fun


def _symmetric(indptr, indices, n):
    """The pattern with its transpose added (a Hessian's pattern is symmetric)."""
    rows = np.repeat(np.arange(len(indptr) - 1, dtype=np.int64), np.diff(indptr))
    keys = distinct(np.concatenate([rows * n + indices, indices * n + rows]))
    r = keys // n
    return np.concatenate([[0], np.cumsum(np.bincount(r, minlength=n))]).astype(np.int64), keys - r * n


def sparse_hessian(fun: Callable, argnums: int | Sequence[int] = 0, sparsity: Any = None,
                   memory_budget: int | str | None = None, executor: Any = None) -> Callable:
    """The Hessian of scalar ``fun`` as a symmetric ``scipy.sparse`` CSR matrix, by star colouring.

    The pattern is the (symmetrised) pattern of the gradient, detected at the
    first call at given shapes (or ``sparsity=``); a star colouring groups the
    columns, and one batched forward-over-reverse sweep (Hessian-vector
    products, one per colour; several sweeps if ``memory_budget`` says so) gives
    ``H S``, from which each nonzero is read.
    Rows and columns are the elements of the differentiated arguments, leaves
    in order, each flattened in C order.  ``executor`` as in :func:`sparse_jacobian`.
    Cost per call: Hessian-vector products for as many directions as star colours (an
    arrowhead Hessian: 2), where a dense Hessian needs n; the first call at given shapes
    adds the detection of the pattern (about one evaluation) and the colouring.

    >>> import numpy as np
    >>> h = sparse_hessian(lambda x: np.sum(x[1:] * x[:-1] ** 2))
    >>> h(np.array([1.0, 2.0, 3.0])).toarray().tolist()
    [[4.0, 2.0, 0.0], [2.0, 6.0, 4.0], [0.0, 4.0, 0.0]]
    """
    gradient = grad(fun, argnums)
    plans = {}

    def plan_for(flat):
        key = _key(flat)
        plan = plans.get(key)
        if plan is not None and not (plan.branches and sparsity is None):
            return plan
        n = sum(_size(x) for x in flat.in_leaves)
        if sparsity is not None:
            indptr, indices, _, branches = _given(sparsity, flat)
        else:
            indptr, indices, _, branches = _detect(flat)
            indptr, indices = _symmetric(indptr, indices, n)
            if plan is not None:                         # the pattern depends on branches: check them
                if _same_branches(branches, plan.branches):
                    return plan
                if plan.same_pattern(indptr, indices):
                    plan.branches = branches
                    return plan
        plan = _Plan(indptr, indices, (n, n), branches, memory_budget)
        c = colour_star(indptr, indices, n)
        plan.star = c, star_reads(indptr, indices, n, c.colours, c.count)
        plan.decision = SparseDecision("star", (n, n), len(indices), {"star": c.count}, {"star": dict(c.tried)},
                                       {"star": None}, "a symmetric Hessian: star colouring, one Hessian-vector "
                                       "product per colour in one batched forward-over-reverse sweep",
                                       bool(branches))
        plans[key] = plan
        return plan

    @functools.wraps(fun)
    def hess_fun(*args, **kwargs):
        flat = FlatFun(_bind_kwargs(gradient, kwargs), args, argnums)
        plan = plan_for(flat)
        c, reads = plan.star
        if executor is not None:
            from .fanout import fan_out_colours             # it builds on this module
            return plan.matrix(fan_out_colours(executor, fun, args, kwargs, argnums, plan, "sparse_hessian", None,
                                               lambda: _push(flat, c.colours, c.count, memory_budget).ravel()[reads],
                                               hessian=True))
        return plan.matrix(_push(flat, c.colours, c.count, memory_budget).ravel()[reads])

    def decision_for(*args, **kwargs):
        """The :class:`SparseDecision` (mode "star") at the shapes of ``args``."""
        return plan_for(FlatFun(_bind_kwargs(gradient, kwargs), args, argnums)).decision

    hess_fun.decision_for = decision_for
    return hess_fun


def jacobian_sparsity(fun: Callable, *args: Any, argnums: int | Sequence[int] = 0) -> Any:
    """The structural pattern of the Jacobian of ``fun`` at ``args``: a boolean ``scipy.sparse`` CSR matrix.

    ``m x n`` over the flattened outputs and differentiated inputs (as
    :func:`sparse_jacobian` lays them out).  Structural: an entry that is 0.0
    at this point (``x * 0``) is kept.  Primitives without a sparsity rule
    count as dense in their arguments, so the pattern may be larger than the
    true one, never smaller.  ``.value_dependent`` is True when ``fun``
    branched on a traced value: then the pattern holds at this point (on this
    branch) only.  Cost: one evaluation of ``fun`` on values that carry index sets.

    >>> import numpy as np
    >>> jacobian_sparsity(lambda x: np.diff(x ** 2), np.ones(3)).toarray().astype(int).tolist()
    [[1, 1, 0], [0, 1, 1]]
    """
    flat = FlatFun(fun, args, argnums)
    indptr, indices, shape, branches = _detect(flat)
    p = _csr(indptr, indices, shape)
    p.value_dependent = bool(branches)
    return p


def hessian_sparsity(fun: Callable, *args: Any, argnums: int | Sequence[int] = 0) -> Any:
    """The structural pattern of the Hessian of scalar ``fun`` at ``args``: symmetric, boolean CSR, ``n x n``.

    >>> import numpy as np
    >>> hessian_sparsity(lambda x: np.sum(x[1:] * x[:-1]), np.ones(3)).toarray().astype(int).tolist()
    [[0, 1, 0], [1, 0, 1], [0, 1, 0]]
    """
    flat = FlatFun(grad(fun, argnums), args, argnums)
    indptr, indices, (_, n), branches = _detect(flat)
    indptr, indices = _symmetric(indptr, indices, n)
    p = _csr(indptr, indices, (n, n))
    p.value_dependent = bool(branches)
    return p


def sparse_triplets(matrix: Any, lower: bool = False) -> tuple:
    """``(rows, cols, values)`` of a sparse matrix's stored entries, in the order of its CSR data.

    What optimisers that take coordinates want (cyipopt's ``jacobianstructure``
    and ``jacobian``, ``hessianstructure`` and ``hessian``): the structure once,
    then the values of every call in the same order -- which holds for the
    matrices of :func:`sparse_jacobian` and :func:`sparse_hessian`, whose
    structure never changes.  ``lower=True`` keeps the lower triangle (a
    symmetric Hessian, as Ipopt takes it).

    >>> import numpy as np
    >>> h = sparse_hessian(lambda x: np.sum(x[1:] * x[:-1]) + np.sum(x ** 2))(np.ones(3))
    >>> [a.tolist() for a in sparse_triplets(h, lower=True)]
    [[0, 1, 1, 2, 2], [0, 0, 1, 1, 2], [2.0, 1.0, 2.0, 1.0, 2.0]]
    """
    csr = _scipy_sparse().csr_matrix(matrix)
    rows = np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr))
    cols, values = csr.indices, csr.data
    if lower:
        keep = cols <= rows
        rows, cols, values = rows[keep], cols[keep], values[keep]
    return rows, cols.astype(rows.dtype), values
