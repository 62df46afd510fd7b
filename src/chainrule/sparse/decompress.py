"""Decompression: where each nonzero of the Jacobian or Hessian is read in the compressed sweeps.

The sweeps give compressed matrices -- forward ``C = (J S)^T`` of shape
``(k, m)``, reverse ``A = R^T J`` of shape ``(k, n)``, Hessian ``T = (H S)^T``
of shape ``(k, n)``.  For a pattern and its colouring the functions here
compute, once, the flat position in those arrays of every stored nonzero, in
CSR order; a call then decompresses with one ``take``.  Pure NumPy.

Every read is checked when it is planned: a colouring that would mix two
nonzeros in one compressed entry raises instead of giving a wrong number.
"""

import numpy as np

__all__ = ["forward_reads", "reverse_reads", "star_reads", "bidirectional_reads", "seeds"]


def _rows(indptr):
    return np.repeat(np.arange(len(indptr) - 1, dtype=np.int64), np.diff(indptr))


def _alone(group, colour, k):
    """True where an entry is the only one of its colour within its group (row or column)."""
    if len(group) == 0:
        return np.zeros(0, dtype=bool)
    keys = group * k + colour
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    lone = np.ones(len(keys), dtype=bool)
    same = ordered[1:] == ordered[:-1]             # neighbours in sorted order with one key: not alone
    lone[1:] &= ~same
    lone[:-1] &= ~same
    out = np.empty(len(keys), dtype=bool)
    out[order] = lone
    return out


def _check(ok, what):
    if not np.all(ok):
        raise ValueError(f"the {what} colouring mixes two nonzeros of one row or column in a compressed "
                         "entry; this is a bug in the colouring, please report it")


def seeds(colours, count, dtype=np.float64):
    """The ``(count, len(colours))`` seed matrix: row ``c`` is the indicator of colour ``c``."""
    s = np.zeros((count, len(colours)), dtype=dtype)
    used = colours >= 0
    s[colours[used], np.flatnonzero(used)] = 1
    return s


def forward_reads(indptr, indices, m, colours, count):
    """Positions in forward's ``C`` (``(count, m)``) of each nonzero, for a column colouring."""
    rows = _rows(indptr)
    _check(_alone(rows, colours[indices], max(count, 1)), "column")
    return colours[indices] * m + rows


def reverse_reads(indptr, indices, n, colours, count):
    """Positions in reverse's ``A`` (``(count, n)``) of each nonzero, for a row colouring."""
    rows = _rows(indptr)
    _check(_alone(indices, colours[rows], max(count, 1)), "row")
    return colours[rows] * n + indices


def star_reads(indptr, indices, n, colours, count):
    """Positions in ``T = (H S)^T`` (``(count, n)``) of each nonzero of a symmetric pattern.

    ``H[i, j]`` is ``T[c(j), i]`` when ``j`` is the only vertex of its colour in
    row ``i``, else ``T[c(i), j]`` (``i`` alone in row ``j``); a star colouring
    guarantees one of the two.  ``H[j, i]`` is read where ``H[i, j]`` is (``i <= j``).
    """
    rows = _rows(indptr)
    alone = _alone(rows, colours[indices], max(count, 1))
    keys = rows * n + indices
    mirror = np.searchsorted(keys, indices * n + rows)            # the position of (j, i)
    mirror = np.minimum(mirror, max(len(keys) - 1, 0))
    if len(keys) and not np.array_equal(keys[mirror], indices * n + rows):
        raise ValueError("the Hessian pattern is not symmetric")
    other = alone[mirror] if len(keys) else alone
    _check(alone | other, "star")
    reads = np.where(alone, colours[indices] * n + rows, colours[rows] * n + indices)
    # both halves read the same compressed entry, so the result is symmetric to the last bit
    return np.where(rows <= indices, reads, reads[mirror]) if len(keys) else reads


def bidirectional_reads(indptr, indices, shape, colours):
    """Plan a bidirectional Jacobian from a star bicolouring (rows ``0..m-1``, columns ``m..``).

    Each nonzero is read from the forward sweep of its column's colour if its
    column is alone in its row with that colour, else from the reverse sweep
    of its row's colour.  Both preferences (forward first, reverse first) are
    tried and the one with fewer colours swept is kept; colours no nonzero
    reads are not swept (neutral).  Returns ``(forward_colours, reverse_colours,
    reads)``: per-column and per-row colours renumbered ``0..`` over the
    colours swept (``-1``: not in any sweep), and per nonzero its position in
    ``concatenate([C.ravel(), A.ravel()])``.
    """
    m, n = shape
    rows = _rows(indptr)
    k = int(colours.max()) + 1 if len(colours) else 1
    col_colour = colours[m + indices]
    row_colour = colours[rows]
    fwd_ok = _alone(rows, col_colour, k)
    rev_ok = _alone(indices, row_colour, k)
    _check(fwd_ok | rev_ok, "star bi")
    best = None
    for prefer_forward in (True, False):
        use_fwd = fwd_ok & (~rev_ok | prefer_forward)
        f_used = np.unique(col_colour[use_fwd])
        r_used = np.unique(row_colour[~use_fwd])
        total = len(f_used) + len(r_used)
        if best is None or total < best[0]:
            best = (total, use_fwd, f_used, r_used)
    _, use_fwd, f_used, r_used = best
    f_map = np.full(k, -1, dtype=np.int64)
    f_map[f_used] = np.arange(len(f_used))
    r_map = np.full(k, -1, dtype=np.int64)
    r_map[r_used] = np.arange(len(r_used))
    forward_colours = f_map[colours[m:]]
    reverse_colours = r_map[colours[:m]]
    forward_colours[colours[m:] < 0] = -1
    reverse_colours[colours[:m] < 0] = -1
    reads = np.where(use_fwd, f_map[col_colour] * m + rows,
                     len(f_used) * m + r_map[row_colour] * n + indices)
    return forward_colours, reverse_colours, reads
