"""Colouring a sparsity pattern: which directions can share one sweep.

Pure graph code on compressed sparse row structures (``indptr``, ``indices``)
-- no derivatives and no SciPy here.

* **Columns** (forward mode): two columns may share a colour, and so one
  tangent direction, when no row has a nonzero in both (partial distance-2
  colouring of the bipartite graph).  Then ``J @ S`` holds every nonzero of
  ``J`` unmixed, ``S`` being the columns' colour indicator.
* **Rows** (reverse mode): the same on the transpose.
* **Star** (symmetric Hessians): a distance-1 colouring in which every path
  on four vertices uses at least three colours.  For each nonzero ``(i, j)``
  then either ``j`` is the only vertex of its colour next to ``i`` (read it
  from ``(H S)[i, colour j]``) or the other way round, which usually needs
  far fewer colours than a column colouring (an arrowhead: 2, not n).
* **Star bicolouring** (both modes at once): a star colouring of the
  bipartite graph of rows and columns; the colours on columns become forward
  sweeps, those on rows reverse sweeps.  A dense row and a dense column cost
  one sweep each instead of n.

The greedy colourings keep, per row (or per vertex), the set of colours
already next to it as a Python integer used as a bit set, so colouring costs
one pass over the nonzeros however dense a row is.  Several vertex orders are
tried and the one with the fewest colours kept; orders are deterministic
(largest first, smallest last, incidence degree, natural), never random.
"""

import heapq

import numpy as np

__all__ = ["Colouring", "colour_columns", "colour_rows", "colour_star", "colour_bidirectional",
           "transpose", "ORDERS"]

ORDERS = ("largest_first", "smallest_last", "incidence_degree", "natural")
_GRAPH_ORDER_LIMIT = 2_000_000          # build the intersection graph for the dynamic orders below this size


class Colouring:
    """A colouring: ``colours[v]`` per vertex (``-1``: needs none), their number, the order that gave it."""

    __slots__ = ("colours", "count", "order", "tried")

    def __init__(self, colours, count, order, tried):
        self.colours = colours
        self.count = count
        self.order = order
        self.tried = tried                  # {order name: number of colours}

    def groups(self):
        """The vertices of each colour, as a list of index arrays."""
        return [np.flatnonzero(self.colours == c) for c in range(self.count)]

    def __repr__(self):
        return f"Colouring({self.count} colours, order={self.order!r})"


def transpose(indptr, indices, rows, cols):
    """The CSR structure of the transpose (rows sorted)."""
    r = np.repeat(np.arange(rows, dtype=np.int64), np.diff(indptr))
    order = np.lexsort((r, indices))
    counts = np.bincount(indices, minlength=cols)
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), r[order]


def _lists(indptr, indices):
    """Per row, the list of its indices (Python lists: the greedy loops read them many times)."""
    flat = indices.tolist()
    bounds = indptr.tolist()
    return [flat[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def _lowest_free(forbidden):
    """The smallest colour not in the bit set ``forbidden``."""
    free = ~forbidden & (forbidden + 1)
    return free.bit_length() - 1


# -- vertex orders ----------------------------------------------------------------------------------
def _neighbour_lists(indptr, indices, rows, cols):
    """Column intersection graph (columns sharing a row), as lists; None when it would be too large."""
    row_len = np.diff(indptr)
    if int(np.sum(row_len.astype(np.int64) ** 2)) > _GRAPH_ORDER_LIMIT:
        return None
    lists = _lists(indptr, indices)
    nbrs = [set() for _ in range(cols)]
    for row in lists:
        for j in row:
            nbrs[j].update(row)
    for j in range(cols):
        nbrs[j].discard(j)
    return [list(s) for s in nbrs]


def _smallest_last(nbrs):
    """Repeatedly take a vertex of least remaining degree; the order is the reverse of the removals."""
    deg = [len(s) for s in nbrs]
    heap = [(d, v) for v, d in enumerate(deg)]
    heapq.heapify(heap)
    removed = [False] * len(nbrs)
    out = []
    while heap:
        d, v = heapq.heappop(heap)
        if removed[v] or d != deg[v]:
            continue
        removed[v] = True
        out.append(v)
        for w in nbrs[v]:
            if not removed[w]:
                deg[w] -= 1
                heapq.heappush(heap, (deg[w], w))
    return out[::-1]


def _incidence_degree(nbrs):
    """Repeatedly take the vertex with most already-ordered neighbours (ties: the larger degree)."""
    count = len(nbrs)
    inc = [0] * count
    heap = [(0, -len(s), v) for v, s in enumerate(nbrs)]
    heapq.heapify(heap)
    done = [False] * count
    out = []
    while heap:
        i, negdeg, v = heapq.heappop(heap)
        if done[v] or -i != inc[v]:
            continue
        done[v] = True
        out.append(v)
        for w in nbrs[v]:
            if not done[w]:
                inc[w] += 1
                heapq.heappush(heap, (-inc[w], -len(nbrs[w]), w))
    return out


def _orders(degree, nbrs):
    """The vertex orders to try: name -> order (the dynamic ones only when the graph ``nbrs`` was built)."""
    count = len(degree)
    out = {"largest_first": np.argsort(-np.asarray(degree), kind="stable").tolist()}
    if nbrs is not None:
        out["smallest_last"] = _smallest_last(nbrs)
        out["incidence_degree"] = _incidence_degree(nbrs)
    out["natural"] = list(range(count))
    return out


# -- column and row colouring -------------------------------------------------------------------------
def _greedy_columns(col_rows, order, rows):
    """Partial distance-2 colouring of columns; ``col_rows[j]`` lists the rows of column ``j``."""
    used = [0] * rows                       # bit set of the colours already in each row
    colours = [-1] * len(col_rows)
    count = 0
    for j in order:
        rs = col_rows[j]
        if not rs:
            continue                        # an empty column needs no direction
        forbidden = 0
        for r in rs:
            forbidden |= used[r]
        c = _lowest_free(forbidden)
        colours[j] = c
        bit = 1 << c
        for r in rs:
            used[r] |= bit
        if c >= count:
            count = c + 1
    return np.asarray(colours, dtype=np.int64), count


def colour_columns(indptr, indices, shape, orders=ORDERS):
    """Colour the columns of an ``shape = (m, n)`` pattern so that no row meets a colour twice.

    Returns the :class:`Colouring` with the fewest colours among ``orders``.

    >>> c = colour_columns(np.array([0, 2, 4, 6]), np.array([0, 1, 1, 2, 2, 3]), (3, 4))   # a band
    >>> c.count, bool(c.colours[0] == c.colours[2] != c.colours[1] == c.colours[3])
    (2, True)
    """
    m, n = shape
    t_indptr, t_indices = transpose(indptr, indices, m, n)
    col_rows = _lists(t_indptr, t_indices)
    degree = [sum(int(indptr[r + 1] - indptr[r]) for r in rs) for rs in col_rows]
    nbrs = _neighbour_lists(indptr, indices, m, n) if any(o in orders for o in ORDERS[1:3]) else None
    best, tried = None, {}
    for name, order in _orders(degree, nbrs).items():
        if name not in orders:
            continue
        colours, count = _greedy_columns(col_rows, order, m)
        tried[name] = count
        if best is None or count < best[1]:
            best = (colours, count, name)
    return Colouring(best[0], best[1], best[2], tried)


def colour_rows(indptr, indices, shape, orders=ORDERS):
    """Colour the rows of an ``(m, n)`` pattern so that no column meets a colour twice (reverse mode)."""
    m, n = shape
    t_indptr, t_indices = transpose(indptr, indices, m, n)
    return colour_columns(t_indptr, t_indices, (n, m), orders)


# -- star colouring -------------------------------------------------------------------------------------
def _greedy_star(nbrs, order):
    """Greedy star colouring of the graph ``nbrs`` (lists, no self loops).

    When a vertex v is coloured it may not take (a) a neighbour's colour,
    (b) the colour of a coloured neighbour x of an uncoloured neighbour w
    (w's colour is not known yet), (c) the colour of a neighbour x of a
    coloured neighbour w when x has another neighbour with w's colour -- else
    v-w-x-y would be a path on two colours.  Per vertex ``near[w]`` keeps (b)'s
    colours and ``blocked[w]`` (c)'s, both as bit sets updated as colours are
    given, so each colouring costs the vertex's degree, not its distance-2
    neighbourhood.
    """
    count_v = len(nbrs)
    colours = [-1] * count_v
    near = [0] * count_v                    # colours of the coloured neighbours of w
    blocked = [0] * count_v                 # (c): colours next to w that v may not take if w is coloured
    counts = [dict() for _ in range(count_v)]   # counts[x][c]: neighbours of x with colour c
    first = [dict() for _ in range(count_v)]    # first[x][c]: the first neighbour of x coloured c
    ncol = 0
    for v in order:
        forbidden = 0
        for w in nbrs[v]:
            cw = colours[w]
            if cw < 0:
                forbidden |= near[w]
            else:
                forbidden |= (1 << cw) | blocked[w]
        c = _lowest_free(forbidden)
        colours[v] = c
        if c >= ncol:
            ncol = c + 1
        bit = 1 << c
        cv = counts[v]
        for w in nbrs[v]:                   # v is now a coloured x next to coloured w's
            cw = colours[w]
            if cw >= 0 and cv.get(cw, 0) >= 2:
                blocked[w] |= bit
        for x in nbrs[v]:                   # v now counts among x's neighbours of colour c
            near[x] |= bit
            cx = counts[x]
            k = cx.get(c, 0) + 1
            cx[c] = k
            if k == 1:
                first[x][c] = v
            elif colours[x] >= 0:
                xbit = 1 << colours[x]
                blocked[v] |= xbit
                if k == 2:
                    blocked[first[x][c]] |= xbit
    return np.asarray(colours, dtype=np.int64), ncol


def _symmetric_lists(indptr, indices):
    """Neighbour lists of a symmetric pattern, self loops dropped."""
    lists = _lists(indptr, indices)
    return [[j for j in row if j != i] for i, row in enumerate(lists)]


def _star_orders(nbrs, orders):
    degree = [len(s) for s in nbrs]
    out = {}
    for name in orders:
        if name == "largest_first":
            out[name] = np.argsort(-np.asarray(degree), kind="stable").tolist()
        elif name == "smallest_last":
            out[name] = _smallest_last(nbrs)
        elif name == "incidence_degree":
            out[name] = _incidence_degree(nbrs)
        elif name == "natural":
            out[name] = list(range(len(nbrs)))
    return out


def _best_star(nbrs, orders):
    best, tried = None, {}
    for name, order in _star_orders(nbrs, orders).items():
        colours, count = _greedy_star(nbrs, order)
        tried[name] = count
        if best is None or count < best[1]:
            best = (colours, count, name)
    return Colouring(best[0], best[1], best[2], tried)


def colour_star(indptr, indices, n, orders=ORDERS):
    """Star colouring of a symmetric ``n x n`` pattern (its diagonal may be stored or not).

    >>> indptr, indices = np.array([0, 3, 4, 5, 6]), np.array([1, 2, 3, 0, 0, 0])   # an arrowhead
    >>> colour_star(indptr, indices, 4).count          # the hub one colour, the rest another
    2
    """
    return _best_star(_symmetric_lists(indptr, indices), orders)


def colour_bidirectional(indptr, indices, shape, orders=ORDERS):
    """Star bicolouring of an ``(m, n)`` pattern: a star colouring of its bipartite graph.

    Vertices ``0..m-1`` are the rows, ``m..m+n-1`` the columns; returns the
    :class:`Colouring` of all ``m + n`` of them (isolated rows and columns get
    ``-1``: they need no sweep).  Which colours are actually swept in which
    direction is decided at decompression.
    """
    m, n = shape
    t_indptr, t_indices = transpose(indptr, indices, m, n)
    row_lists = _lists(indptr, indices)
    col_lists = _lists(t_indptr, t_indices)
    nbrs = [[m + j for j in row] for row in row_lists] + col_lists
    c = _best_star(nbrs, orders)
    isolated = np.array([not s for s in nbrs], dtype=bool)
    c.colours[isolated] = -1
    return c
