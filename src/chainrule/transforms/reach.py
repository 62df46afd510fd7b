"""How far back along a tape each row of a reverse Jacobian reaches.

A backward sweep seeded on one output element does its first work where that element was computed:
the joins and writes that only moved it into the outputs (``np.concatenate``, ``np.stack`` and
``np.array([...])`` of a trajectory's states, writes into a buffer) hand the zeros of the rows that
do not read a piece on as nothing (see :func:`chainrule.reverse.sweep_backward`).  A row that reads
an early state therefore costs a sweep only the steps before it.  :func:`output_reach` says, for each
row, what share of the tape that is: auto mode prices its reverse probes by it, and the fan-out splits
rows into tasks of equal cost by it.
"""

import math

import numpy as np

from ..core.primitive import EMPTY, PRIMITIVES
from ..rules._pattern import same_pattern
from .adapter import shape_of

__all__ = ["output_reach", "output_sources", "share_of", "sweep_share"]


def output_reach(tape, out_nodes, outs, budget=1 << 23):
    """For each flattened output element (a row of a reverse Jacobian), the last tape position where a
    backward sweep seeded on it does work, over the tape's length: a fraction in [0, 1].

    A row's sweep starts where its element was computed, past the joins and writes that only moved it
    into the outputs (the states of a trajectory joined by ``np.concatenate`` or ``np.array([...])``,
    or written into a buffer): their rules hand the other rows' zeros on as nothing, so a row that
    reads an early state costs only the steps before it.  The walk follows the primitives whose
    sparsity rule only moves elements (``pattern.moving``), 64 deep at most (the writes into a buffer
    form a chain; past that depth a row counts as starting at the write it reached); ``budget``
    bounds the elements it moves (8 bytes each, 64 MB by default), past which the same holds.
    """
    return (output_sources(tape, out_nodes, outs, budget)[0] + 1) / max(len(tape), 1)


def output_sources(tape, out_nodes, outs, budget=1 << 23):
    """:func:`output_reach` as tape positions: for each flattened output element, the index of the entry
    its backward sweep starts its work at (-1 for a constant output), and the set of the moving entries
    the walk went through on the way (the joins and writes that carry values into the outputs)."""
    memo, left, parts = {}, [budget], []
    for node, o in zip(out_nodes, outs):
        size = math.prod(shape_of(o))
        r = -1 if node is None else _reach(tape, node, memo, left, 64)
        parts.append(np.full(size, r, dtype=np.int64) if isinstance(r, int) else r)
    sources = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    return sources, set(memo)


def _reach(tape, node, memo, left, depth):
    """The tape position each element of ``node``'s value is computed at (one int for all of them).

    A primitive that only moves elements moves its arguments' reaches as it moves their values: its
    own ``impl`` run on them (int64 arrays, -1 for a constant argument) gives the output's, in one pass
    of the output's size (a join of k pieces: not k maps of the output's size, as its sparsity rule)."""
    hit = memo.get(node)
    if hit is not None:
        return hit
    entry = tape[node]
    if entry is None or depth == 0 or entry[0] < 0:
        return node
    tag, parents, vals, params = entry
    prim = PRIMITIVES[tag]
    if not getattr(prim.pattern, "moving", False) or prim.multiple_results:
        return node
    shapes = [shape_of(v) for v in vals[1:]]
    moved = math.prod(shape_of(vals[0])) + sum(math.prod(sh) for sh in shapes)
    if moved > left[0]:
        return node
    left[0] -= moved
    subs = []
    for p, sh in zip(parents, shapes):
        r = -1 if p is None else _reach(tape, p, memo, left, depth - 1)
        subs.append(np.full(sh, r, dtype=np.int64) if isinstance(r, int) else r.reshape(sh))
    try:
        if prim.pattern is same_pattern:         # astype: the elements stay where they are
            res = subs[0]
        else:
            res = np.asarray(prim.impl(*subs, **(EMPTY if params is None else params)))
    except Exception:                            # an impl that cannot take these arrays: the row starts here
        return node
    if res.dtype != np.int64 or res.size != math.prod(shape_of(vals[0])):
        return node
    res = res.ravel()
    memo[node] = res
    return res


def share_of(reach, start, stop):
    """The share of the tape one sweep of rows ``start .. stop`` walks back over (1 without a ``reach``)."""
    return 1.0 if reach is None else float(reach[start:stop].max(initial=0.0))


def sweep_share(reach, start, count):
    """A sweep of rows ``start .. start+count`` against one of every row: the share of the tape the latter
    reaches back over per unit of the former's (>= 1; 1 without a ``reach``).  A probe of early rows of a
    trajectory is priced as a sweep of all of them by its time times this."""
    if reach is None or not reach.size:
        return 1.0
    part = share_of(reach, start, start + count)
    return share_of(reach, 0, reach.size) / part if part > 0 else 1.0
