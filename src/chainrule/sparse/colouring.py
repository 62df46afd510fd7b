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
tried and the one with the fewest colours kept, stopping early when a lower
bound is reached; orders are deterministic (largest first, natural, smallest
last, incidence degree), never random.
"""

import functools
import gc

import numpy as np

__all__ = ["Colouring", "colour_columns", "colour_rows", "colour_star", "colour_bidirectional",
           "transpose", "ORDERS"]

ORDERS = ("largest_first", "natural", "smallest_last", "incidence_degree")   # the cheap ones first
_GRAPH_ORDER_LIMIT = 200_000            # the dynamic orders need the intersection graph: only below this size


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


def _without_gc(colour):
    """Run a colouring with the cyclic garbage collector paused: the greedy loops build ~n lists, dicts
    and ints that all live until the end (no cycles), and collections among them would rescan them
    all again and again (half the colouring time on a 10^4-vertex graph)."""
    @functools.wraps(colour)
    def paused(*args, **kwargs):
        enabled = gc.isenabled()
        gc.disable()
        try:
            return colour(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()
    return paused


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
def _intersection_graph(indptr, indices, cols):
    """Neighbour lists of the columns of a pattern (columns sharing a row); None when too large."""
    lengths = np.diff(indptr)
    if int(np.sum(lengths.astype(np.int64) ** 2)) > _GRAPH_ORDER_LIMIT:
        return None
    # every ordered pair (a, b) of entries of one row: a runs over the row's entries, b likewise
    rows = np.repeat(np.arange(len(lengths)), lengths)
    a = np.repeat(np.arange(len(indices)), lengths[rows])
    start = np.repeat(indptr[:-1][rows], lengths[rows])
    b = start + (np.arange(len(a)) - np.repeat(np.cumsum(lengths[rows]) - lengths[rows], lengths[rows]))
    u, v = indices[a], indices[b]
    keep = u != v
    keys = np.sort(u[keep] * cols + v[keep], kind="stable")
    if len(keys) > 1:
        keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])]
    src = keys // cols
    return _lists(np.concatenate([[0], np.cumsum(np.bincount(src, minlength=cols))]), keys - src * cols)


def _smallest_last(nbrs):
    """Repeatedly remove a vertex of least remaining degree; the order is the reverse of the removals.

    Degree buckets (sets) make each removal cost the vertex's degree (Matula and Beck).
    """
    deg = [len(s) for s in nbrs]
    buckets = [set() for _ in range(max(deg, default=0) + 1)]
    for v, d in enumerate(deg):
        buckets[d].add(v)
    removed = [False] * len(nbrs)
    out = []
    low = 0
    for _ in range(len(nbrs)):
        while not buckets[low]:
            low += 1
        v = buckets[low].pop()              # sets of ints pop in a fixed order: deterministic
        buckets[low].discard(v)
        removed[v] = True
        out.append(v)
        for w in nbrs[v]:
            if not removed[w]:
                d = deg[w]
                buckets[d].discard(w)
                deg[w] = d - 1
                buckets[d - 1].add(w)
        low = max(low - 1, 0)
    return out[::-1]


def _incidence_degree(nbrs):
    """Repeatedly take the vertex with most already-ordered neighbours (ties: the smallest index)."""
    count = len(nbrs)
    inc = [0] * count
    buckets = [set(range(count))] + [set() for _ in range(max((len(s) for s in nbrs), default=0))]
    done = [False] * count
    out = []
    high = 0
    for _ in range(count):
        while not buckets[high]:
            high -= 1
        v = buckets[high].pop()
        buckets[high].discard(v)
        done[v] = True
        out.append(v)
        for w in nbrs[v]:
            if not done[w]:
                i = inc[w]
                buckets[i].discard(w)
                inc[w] = i + 1
                buckets[i + 1].add(w)
                if i + 1 > high:
                    high = i + 1
    return out


def _orders(orders, degree, graph):
    """``(name, order)`` for each name in ``orders``, computed when asked for.

    ``graph()`` gives the neighbour lists the dynamic orders need, or None
    when the graph would be too large to build (those orders are then skipped).
    """
    given = 0
    for name in orders:
        if name == "largest_first":
            given += 1
            yield name, np.argsort(-np.asarray(degree), kind="stable").tolist()    # ties: natural order
        elif name == "natural":
            given += 1
            yield name, list(range(len(degree)))
        elif name in ("smallest_last", "incidence_degree"):
            nbrs = graph()
            if nbrs is not None:
                given += 1
                yield name, (_smallest_last if name == "smallest_last" else _incidence_degree)(nbrs)
        else:
            raise ValueError(f"unknown vertex order {name!r}; choose from {ORDERS}")
    if not given:                           # only dynamic orders asked for, on a graph too large for them
        yield "largest_first", np.argsort(-np.asarray(degree), kind="stable").tolist()


def _best(greedy, candidates, bound):
    """The colouring with the fewest colours over the candidate orders; stops at the lower ``bound``.

    ``greedy(order, limit)`` gives up (``colours`` None) as soon as it needs ``limit`` colours: an
    order that cannot beat the best so far is not finished (``tried`` then says ">= limit").
    """
    best, tried = None, {}
    for name, order in candidates:
        colours, count = greedy(order, None if best is None else best[1])
        if colours is None:
            tried[name] = f">= {count}"
            continue
        tried[name] = count
        if best is None or count < best[1]:
            best = (colours, count, name)
        if count <= bound:
            break                           # no order can do better
    return Colouring(best[0], best[1], best[2], tried)


# -- column and row colouring -------------------------------------------------------------------------
def _greedy_columns(col_rows, order, rows, limit=None):
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
        if limit is not None and c + 1 >= limit:
            return None, limit
        colours[j] = c
        bit = 1 << c
        for r in rs:
            used[r] |= bit
        if c >= count:
            count = c + 1
    return np.asarray(colours, dtype=np.int64), count


@_without_gc
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
    lengths = np.diff(indptr)
    degree = np.bincount(indices, weights=np.repeat(lengths, lengths), minlength=n)   # >= distance-2 degree
    graph = functools.lru_cache(maxsize=None)(lambda: _intersection_graph(indptr, indices, n))
    bound = int(lengths.max(initial=0))     # a row with k nonzeros needs k colours
    return _best(lambda order, limit: _greedy_columns(col_rows, order, m, limit), _orders(orders, degree, graph),
                 bound)


@_without_gc
def colour_rows(indptr, indices, shape, orders=ORDERS):
    """Colour the rows of an ``(m, n)`` pattern so that no column meets a colour twice (reverse mode)."""
    m, n = shape
    t_indptr, t_indices = transpose(indptr, indices, m, n)
    return colour_columns(t_indptr, t_indices, (n, m), orders)


# -- star colouring -------------------------------------------------------------------------------------
def _greedy_star(nbrs, order, limit=None):
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
    near = [0] * count_v                    # (b): colours of the coloured neighbours of w
    blocked = [0] * count_v                 # (c): colours v may not take next to a coloured w
    # seen[x][c]: the one neighbour of x coloured c, or -1 once there are two or more
    seen = [dict() for _ in range(count_v)]
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
        if limit is not None and c + 1 >= limit:
            return None, limit
        colours[v] = c
        if c >= ncol:
            ncol = c + 1
        bit = 1 << c
        sv = seen[v]
        for x in nbrs[v]:
            cx = colours[x]
            if cx >= 0 and sv.get(cx) == -1:    # v is a coloured x' next to x, which has a twin colour
                blocked[x] |= bit
            near[x] |= bit
            sx = seen[x]
            first = sx.get(c)
            if first is None:
                sx[c] = v
            else:
                sx[c] = -1
                if cx >= 0:
                    xbit = 1 << cx
                    blocked[v] |= xbit
                    if first >= 0:
                        blocked[first] |= xbit
    return np.asarray(colours, dtype=np.int64), ncol


def _symmetric_lists(indptr, indices):
    """Neighbour lists of a symmetric pattern, self loops dropped."""
    lists = _lists(indptr, indices)
    return [[j for j in row if j != i] for i, row in enumerate(lists)]


def _best_star(nbrs, orders):
    degree = [len(s) for s in nbrs]
    # lower bounds: an edge needs two colours; an edge whose ends both have another neighbour lies
    # on a path of four vertices (or in a triangle), which needs three
    bound = 1
    if any(degree):
        bound = 2
        if any(degree[v] >= 2 and any(degree[w] >= 2 for w in nbrs[v]) for v in range(len(nbrs))):
            bound = 3
    small = sum(d * d for d in degree) <= _GRAPH_ORDER_LIMIT      # the dynamic orders: small graphs only
    return _best(lambda order, limit: _greedy_star(nbrs, order, limit),
                 _orders(orders, degree, lambda: nbrs if small else None), bound)


@_without_gc
def colour_star(indptr, indices, n, orders=ORDERS):
    """Star colouring of a symmetric ``n x n`` pattern (its diagonal may be stored or not).

    >>> indptr, indices = np.array([0, 3, 4, 5, 6]), np.array([1, 2, 3, 0, 0, 0])   # an arrowhead
    >>> colour_star(indptr, indices, 4).count          # the hub one colour, the rest another
    2
    """
    return _best_star(_symmetric_lists(indptr, indices), orders)


@_without_gc
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
