"""The sparsity level: which inputs each element of a traced array depends on.

A :class:`PatternTracer` carries, next to its primal value, one *index set*
per element: the flat indices of the inputs the element may depend on, stored
as the rows of a compressed sparse row structure (:class:`Pattern`: ``indptr``
and ``indices``, one row per element in C order).  The inputs start as the
identity (element ``i`` depends on input ``i``); every primitive maps its
arguments' index sets to its output's with the primitive's sparsity rule
(``Primitive.pattern``, see :mod:`chainrule.rules._pattern`): an output element
depends on the union of the index sets of the argument elements the rule
names.  A primitive without a rule is dense: each of its output elements gets
the union of all the index sets of all its traced arguments -- a pattern may
be larger than the true one, never smaller.

The sets are structural: ``x * 0`` keeps ``x``'s set, a constant matrix with a
zero entry still couples, and ``np.where`` takes both branches.  What the
level cannot see structurally is what values decide: a comparison or
``bool()`` of a traced value chooses which code runs, and a frontend that
reads a value (``np.sort`` gathers by ``np.argsort`` of it) chooses which
elements move where, so the pattern found holds at this point.  The level
records each such value (``branches``: comparisons and other constant
results, ``bool()``, and every ``plain_value`` read of its tracers) so that
a later use can check that the same branches are taken.

The level computes primal values as the engines do, so it nests under and
over them: running reverse mode inside it gives the pattern of a gradient,
which is the pattern of the Hessian.  No SciPy is needed here.
"""

import numpy as np

from ..core import Level, Tracer, bind, plain_value

__all__ = ["Pattern", "PatternTracer", "PatternLevel", "pattern_flat", "distinct"]

_INT = np.int64


def distinct(keys):
    """The sorted distinct values of an integer array.

    A stable sort (runs of already sorted keys merge cheaply) and a mask: for
    the keys here several times faster than ``np.unique``'s hashing.
    """
    keys = np.sort(keys, kind="stable")
    if len(keys) > 1:
        keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])]
    return keys


class Pattern:
    """Index sets of the elements of one array: row ``i`` is ``indices[indptr[i]:indptr[i + 1]]`` (sorted)."""

    __slots__ = ("indptr", "indices")

    def __init__(self, indptr, indices):
        self.indptr = indptr
        self.indices = indices

    @property
    def rows(self):
        return len(self.indptr) - 1

    @classmethod
    def identity(cls, size, start=0):
        return cls(np.arange(size + 1, dtype=_INT), np.arange(start, start + size, dtype=_INT))

    @classmethod
    def empty(cls, rows):
        return cls(np.zeros(rows + 1, dtype=_INT), np.zeros(0, dtype=_INT))

    def __repr__(self):
        return f"Pattern(rows={self.rows}, nonzeros={len(self.indices)})"


def _rows_of(p, src):
    """The index sets of rows ``src`` of ``p`` (``-1``: an empty set), laid end to end, with their lengths."""
    src = np.asarray(src, dtype=_INT)
    valid = src >= 0
    s = np.where(valid, src, 0)
    starts = p.indptr[s]
    lengths = np.where(valid, p.indptr[s + 1] - starts, 0)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=_INT), lengths
    ends = np.cumsum(lengths)
    offsets = np.repeat(starts - ends + lengths, lengths) + np.arange(total, dtype=_INT)
    return p.indices[offsets], lengths


def combine(rows, n, parts):
    """The pattern with ``rows`` elements whose sets are the unions that ``parts`` name.

    Each part is ``(pattern, entry)`` with ``entry`` as a sparsity rule returns
    it: ``True``, a gather map, or ``(out_index, in_index)``.
    """
    if len(parts) == 1:
        p, entry = parts[0]
        if entry is True:
            return p                                   # element to element: the same sets, shared
        if not isinstance(entry, tuple):               # a gather map: rows stay sorted and distinct
            cols, lengths = _rows_of(p, entry)
            return Pattern(np.concatenate([[0], np.cumsum(lengths)]).astype(_INT), cols)
    if all(entry is True for _, entry in parts) and all(p is parts[0][0] for p, _ in parts):
        return parts[0][0]                             # x * x: the same sets
    all_rows, all_cols = [], []
    for p, entry in parts:
        if entry is True:
            dst, src = np.arange(rows, dtype=_INT), np.arange(rows, dtype=_INT)
        elif isinstance(entry, tuple):
            dst, src = entry
        else:
            dst, src = np.arange(rows, dtype=_INT), entry
        cols, lengths = _rows_of(p, src)
        all_rows.append(np.repeat(np.asarray(dst, dtype=_INT), lengths))
        all_cols.append(cols)
    # each part's keys come in sorted runs (rows in order, sets sorted): a merging sort is cheap
    keys = distinct(np.concatenate(all_rows) * n + np.concatenate(all_cols))
    r = keys // n
    return Pattern(np.concatenate([[0], np.cumsum(np.bincount(r, minlength=rows))]).astype(_INT), keys - r * n)


def dense(rows, patterns):
    """Every one of ``rows`` elements depends on everything any of ``patterns`` does."""
    cols = distinct(np.concatenate([p.indices for p in patterns]))
    return Pattern(np.arange(rows + 1, dtype=_INT) * len(cols), np.tile(cols, rows))


def _size(x):
    n = 1
    for d in np.shape(x):
        n *= d
    return n


class PatternTracer(Tracer):
    """A primal value with the index sets of its elements (``pattern.rows == primal.size``)."""

    __slots__ = ("pattern",)
    watched = True              # a value read (np.sort's argsort) may steer the structure

    def __init__(self, level, primal, pattern):
        self._level = level
        self.primal = primal
        self.pattern = pattern

    def __bool__(self):
        value = bool(self.primal)
        self._level.branches.append(("bool", np.bool_(value)))
        return value


class PatternLevel(Level):
    """One sparsity detection over ``n`` inputs; ``branches`` records the values control flow may read."""

    __slots__ = ("n", "branches")

    def __init__(self, n):
        super().__init__()
        self.n = n
        self.branches = []

    def note_read(self, x):
        """A rule or frontend read ``x``'s value (to sort, to find a maximum, ...): the structure
        it builds from it may hold at this point only, so the value is recorded like a branch."""
        self.branches.append(("value read", np.array(plain_value(x.primal), copy=True)))

    def process(self, prim, args, params):
        primals, patterns = [], []
        for a in args:
            if isinstance(a, PatternTracer) and a._level is self:
                primals.append(a.primal)
                patterns.append(a.pattern)
            else:
                primals.append(a)
                patterns.append(None)
        out = bind(prim, primals, params) if self.nested else prim.impl(*primals, **params)
        if not prim.differentiable:
            # a constant as far as derivatives go, but it was computed from traced values: if code
            # branches on it, the pattern holds on this branch only
            self.branches.append((prim.name, np.array(plain_value(out), copy=True)))
            return out
        traced = [p for p in patterns if p is not None]
        if prim.multiple_results:
            return tuple(PatternTracer(self, o, dense(_size(o), traced)) for o in out)
        rule = prim.pattern
        rows = _size(out)
        if rule is None:
            return PatternTracer(self, out, dense(rows, traced))
        entries = rule(out, *(plain_value(p) for p in primals), **params)
        parts = [(p, e) for p, e in zip(patterns, entries) if p is not None and e is not None]
        if not parts:
            return PatternTracer(self, out, Pattern.empty(rows))
        return PatternTracer(self, out, combine(rows, self.n, parts))


def pattern_flat(fun, primals):
    """Run ``fun`` (a list of values -> a list of values) on index sets.

    Inputs are numbered in order across the leaves (leaf ``k`` element ``i`` is
    input ``offset_k + i``).  Returns ``(out_primals, indptr, indices,
    branches)``: the index sets of all output elements, leaves in order, as one
    CSR structure over the ``n`` inputs, and the recorded branch values.
    """
    n = sum(_size(p) for p in primals)
    with PatternLevel(max(n, 1)) as level:
        inputs, off = [], 0
        for p in primals:
            size = _size(p)
            inputs.append(PatternTracer(level, p, Pattern.identity(size, off)))
            off += size
        outs = fun(inputs)
        out_primals, patterns = [], []
        for o in outs:
            if isinstance(o, PatternTracer) and o._level is level:
                out_primals.append(o.primal)
                patterns.append(o.pattern)
            else:
                out_primals.append(o)
                patterns.append(Pattern.empty(_size(o)))
    lengths = np.concatenate([np.diff(p.indptr) for p in patterns]) if patterns else np.zeros(0, _INT)
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(_INT)
    indices = np.concatenate([p.indices for p in patterns]) if patterns else np.zeros(0, _INT)
    return out_primals, indptr, indices, level.branches
