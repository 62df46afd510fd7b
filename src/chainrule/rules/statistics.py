"""Order statistics, covariance, histograms and the nan-aware scans: compositions of primitives.

Everything here is a frontend that reproduces NumPy's own arithmetic with
operations chainrule differentiates, so the primal value is NumPy's (the
same operations in the same order) and the derivatives of every order
follow from the primitives' rules.

* ``quantile``/``percentile``/``nanquantile``/``nanpercentile``/``nanmedian``:
  a quantile is a gather from the sorted slice, or NumPy's linear
  interpolation ``_lerp`` between two neighbours with a weight ``gamma``
  that depends on ``q`` only.  The positions are read from the primal (a
  piecewise-constant choice); the derivative flows to the one or two
  entries used, and to ``q`` itself when ``q`` is traced (through ``gamma``).
* ``cov``/``corrcoef``: NumPy's formulas, step by step (``c *= 1/fact``).
* ``histogram`` (and ``histogram2d``/``histogramdd``, per axis): the counts are piecewise constant in the
  samples (derivative 0) and linear in traced weights (a sum of weights per bin);
  the bin edges computed from the data are ``linspace(min, max, bins + 1)``,
  whose derivative flows to the smallest and largest sample
  (:data:`bin_edges_p`), and a density divides by their differences.
"""

import numpy as np

from ..core import Primitive, Tracer, array_operand, bind, concrete_value, plain_value, register_function
from ..errors import NotDifferentiableError
from ._broadcast import dtype_of, ndim_of, shape_of
from ._declare import rule
from .reductions import _no_out, _real, normalize_axis


# -- quantiles -----------------------------------------------------------------------------------
def _lined(a, axes):
    """``a`` with the axes ``axes`` moved to the end and merged into one, and the shape of the rest."""
    nd = ndim_of(a)
    rest = tuple(i for i in range(nd) if i not in axes)
    s = shape_of(a)
    moved = np.transpose(a, rest + axes) if rest + axes != tuple(range(nd)) else a
    return np.reshape(moved, tuple(s[i] for i in rest) + (-1,)), tuple(s[i] for i in rest)


def _lerp(a, b, t, dtype=None):
    """NumPy's ``_lerp``: ``a + (b - a) t`` where ``t < 0.5``, ``b - (b - a)(1 - t)`` elsewhere.

    ``dtype``: the weights are Python floats in NumPy (one per slice), so they
    round to the data's dtype after ``1 - t`` is formed.
    """
    d = b - a
    s = 1 - t
    upper = t >= 0.5
    if dtype is not None:
        t, s = t.astype(dtype), s.astype(dtype)
    return np.where(upper, b - d * s, a + d * t)


# (alpha, beta) of the continuous methods (Hyndman & Fan): the virtual index is n q + alpha + q (1 - alpha - beta) - 1
_CONTINUOUS = {"interpolated_inverted_cdf": (0, 1), "hazen": (0.5, 0.5), "weibull": (0, 0),
               "median_unbiased": (1 / 3.0, 1 / 3.0), "normal_unbiased": (3 / 8.0, 3 / 8.0)}
_DISCRETE = {"lower": np.floor, "higher": np.ceil, "nearest": np.around}
_SUPPORTED = ("linear", "lower", "higher", "nearest", "midpoint") + tuple(_CONTINUOUS)


def _virtual_index(n, q, method):
    """NumPy's virtual index of ``q`` in a sorted slice of ``n`` values (plain or traced ``q``)."""
    if method == "linear":
        return (n - 1) * q
    alpha, beta = _CONTINUOUS[method]
    return np.clip(n * q + (alpha + q * (1 - alpha - beta)) - 1, 0, n - 1)


def _positions(n, q, method, name):
    """(previous, next, gamma) of each quantile: the result is ``_lerp(s[previous], s[next], gamma)``.

    ``n`` is an int or an integer array (counts per slice, nan quantiles);
    ``q`` is plain or traced; ``gamma`` is ``None`` for a plain gather.
    """
    qp = np.asanyarray(plain_value(q))
    if method in _DISCRETE:
        idx = _DISCRETE[method]((n - 1) * qp).astype(np.intp)
        return idx, idx, None
    if method == "midpoint":
        v = (n - 1) * qp
        lo, hi = np.floor(v), np.ceil(v)
        return lo.astype(np.intp), hi.astype(np.intp), np.where(lo == hi, 0.0, 0.5)
    if method not in _CONTINUOUS and method != "linear":
        raise NotDifferentiableError(
            f"numpy.{name}", f"method={method!r}: supported methods are {', '.join(map(repr, _SUPPORTED))}; "
            "for another one write the selection with np.sort and indexing, or use custom_vjp")
    v = _virtual_index(n, q, method)
    vp = np.asanyarray(plain_value(v))
    prev = np.floor(vp)
    nxt = prev + 1
    above, below = vp >= n - 1, vp < 0
    prev = np.where(above, n - 1, np.where(below, 0, prev)).astype(np.intp)
    nxt = np.where(above, n - 1, np.where(below, 0, nxt)).astype(np.intp)
    gamma = v - np.floor(vp)                           # traced with q: the derivative in q flows through it
    return prev, nxt, gamma


# NumPy >= 2 keeps a float32 input's dtype for a Python q (weak promotion); NumPy 1.x returns float64
_WEAK_Q = np.quantile(np.ones(2, dtype=np.float32), 0.5).dtype == np.float32


def _check_q(q, name, scale):
    qp = np.asanyarray(plain_value(q)) / scale
    if not (np.all(0 <= qp) and np.all(qp <= 1)):
        raise ValueError(f"{'Percentiles' if scale == 100 else 'Quantiles'} must be in the range "
                         f"[0, {scale}]")


def _quantile_of(name, a, q, axis, method, keepdims, interpolation, weights, nan_aware, weak):
    if interpolation is not None:
        method = interpolation
    if weights is not None:
        raise NotDifferentiableError(f"numpy.{name}", "with weights= (method 'inverted_cdf'): a step function "
                                     "of the weights; compute it on plain arrays")
    _real(name, a)
    q = q if isinstance(q, Tracer) else np.asanyarray(q)
    nd = ndim_of(a)
    axes = normalize_axis(axis, nd)
    lined, rest = _lined(a, axes)
    plain = np.asarray(plain_value(lined))
    n = shape_of(lined)[-1]
    s = np.sort(lined, axis=-1)
    nan = np.isnan(plain)
    qn = ndim_of(q)
    if nan_aware:
        count = np.sum(~nan, axis=-1).reshape(rest + (1,) * qn)     # valid values per slice: nans sort last
        prev, nxt, gamma = _positions(count, q, method, name)
        prev, nxt = np.maximum(prev, 0), np.maximum(nxt, 0)
        flat = lambda idx: np.reshape(np.broadcast_to(idx, rest + shape_of(q)), rest + (-1,))  # noqa: E731
        pick = lambda idx: np.reshape(np.take_along_axis(s, flat(idx), axis=-1), rest + shape_of(q))  # noqa: E731
    else:
        prev, nxt, gamma = _positions(n, q, method, name)
        pick = lambda idx: s[..., idx]                                             # noqa: E731
    lo = pick(prev)
    if gamma is None:
        r = lo
    else:
        cast = None
        if weak and not isinstance(gamma, Tracer):
            if np.ndim(gamma) == 0:
                gamma = float(gamma)
            else:
                cast = dtype_of(s)
        r = _lerp(lo, pick(nxt), gamma, cast)
    empty = (count == 0) if nan_aware else np.any(nan, axis=-1).reshape(rest + (1,) * qn)
    if np.any(empty):                                       # a slice with nan (all nan, for nan*): nan
        r = np.where(empty, np.nan, r)
    if qn:                                                  # NumPy puts the axes of q first
        r = np.moveaxis(r, tuple(range(len(rest), len(rest) + qn)), tuple(range(qn)))
    if keepdims:
        r = np.reshape(r, shape_of(q) + tuple(1 if i in axes else d for i, d in enumerate(shape_of(a))))
    return r


def _quantile_frontend(name, scale, nan_aware):
    def frontend(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *,
                 weights=None, interpolation=None):
        _no_out(name, out)
        _check_q(q, name, scale)
        weak = _WEAK_Q and type(q) in (int, float)      # as NumPy: a Python q keeps the input's dtype
        if scale != 1:
            q = np.true_divide(q, scale)
        return _quantile_of(name, a, q, axis, method, keepdims, interpolation, weights, nan_aware, weak)
    frontend.convention = ("the one or two sorted entries NumPy interpolates between get the derivative "
                           "(ties: stable sort order)" + ("; nan entries get 0" if nan_aware else ""))
    return frontend


def _nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    # NumPy's nanmedian averages the two middle valid values: (lo + hi) / 2, the same entry twice if odd
    _no_out("nanmedian", out)
    _real("nanmedian", a)
    axes = normalize_axis(axis, ndim_of(a))
    lined, rest = _lined(a, axes)
    nan = np.isnan(np.asarray(plain_value(lined)))
    count = np.sum(~nan, axis=-1)
    s = np.sort(lined, axis=-1)
    lo = np.maximum((count - 1) // 2, 0)[..., None]
    hi = np.maximum(count // 2, 0)[..., None]
    m = (np.take_along_axis(s, lo, axis=-1) + np.take_along_axis(s, hi, axis=-1))[..., 0] / 2
    if np.any(count == 0):
        m = np.where(count == 0, np.nan, m)
    if keepdims:
        m = np.reshape(m, tuple(1 if i in axes else d for i, d in enumerate(shape_of(a))))
    return m


_nanmedian.convention = "the middle valid entry (or the mean of the two middle ones) gets the derivative"
register_function(np.quantile, _quantile_frontend("quantile", 1, False))
register_function(np.percentile, _quantile_frontend("percentile", 100, False))
register_function(np.nanquantile, _quantile_frontend("nanquantile", 1, True))
register_function(np.nanpercentile, _quantile_frontend("nanpercentile", 100, True))
register_function(np.nanmedian, _nanmedian)


# -- nan-aware scans, integer results --------------------------------------------------------------
def _nan_scan(name, fill):
    def frontend(a, axis=None, dtype=None, out=None):
        _no_out(name, out)
        filled = np.where(np.isnan(plain_value(a)), fill, a)
        return (np.cumsum if fill == 0 else np.cumprod)(filled, axis=axis, dtype=dtype)
    frontend.convention = "nan entries count as " + str(fill) + ": their derivative is 0"
    return frontend


def _cumulative(name, scan, fill):
    def frontend(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
        _no_out(name, out)
        if axis is None:
            if ndim_of(x) > 1:
                raise ValueError("For arrays which have more than one dimension ``axis`` argument is required.")
            axis = 0
        ax = normalize_axis(axis, max(ndim_of(x), 1))[0]
        s = scan(x, axis=ax, dtype=dtype)
        if include_initial:
            shape = list(shape_of(s))
            shape[ax] = 1
            s = np.concatenate([np.full(tuple(shape), fill, dtype=dtype_of(s)), s], axis=ax)
        return s
    return frontend


def _constant(fn):
    """A frontend for an integer-valued function: NumPy's result on the primal values, a constant."""
    def frontend(*args, **kwargs):
        return fn(*[plain_value(a) for a in args], **{k: plain_value(v) for k, v in kwargs.items()})
    frontend.convention = "integer result: computed on the primal, a constant"
    return frontend


register_function(np.nancumsum, _nan_scan("nancumsum", 0))
register_function(np.nancumprod, _nan_scan("nancumprod", 1))
for _name in ("nanargmax", "nanargmin"):
    register_function(getattr(np, _name), _constant(getattr(np, _name)))
if hasattr(np, "cumulative_sum"):                            # NumPy >= 2.1
    register_function(np.cumulative_sum, _cumulative("cumulative_sum", np.cumsum, 0))
    register_function(np.cumulative_prod, _cumulative("cumulative_prod", np.cumprod, 1))


# -- covariance and correlation ----------------------------------------------------------------------
def _as_2d(m):
    return np.reshape(m, (1, -1)) if ndim_of(m) < 2 else m


def _cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *, dtype=None):
    for wname, w in (("fweights", fweights), ("aweights", aweights)):
        if isinstance(w, Tracer):
            raise NotDifferentiableError("numpy.cov", f"with respect to {wname} (weights are constants here); "
                                         "write the weighted covariance with np.average and np.dot")
    if ddof is not None and ddof != int(ddof):
        raise ValueError("ddof must be integer")
    _real("cov", m)
    if ndim_of(m) > 2 or (y is not None and ndim_of(y) > 2):
        raise ValueError("m has more than 2 dimensions")
    if dtype is None:
        dtype = np.result_type(dtype_of(m), np.float64) if y is None else \
            np.result_type(dtype_of(m), dtype_of(y), np.float64)
    X = _as_2d(m)
    if dtype_of(X) != dtype:
        X = X.astype(dtype)
    if not rowvar and ndim_of(m) != 1:
        X = X.T
    if shape_of(X)[0] == 0:
        return np.array([]).reshape(0, 0)
    if y is not None:
        Y = _as_2d(y)
        if dtype_of(Y) != dtype:
            Y = Y.astype(dtype)
        if not rowvar and shape_of(Y)[0] != 1:
            Y = Y.T
        X = np.concatenate((X, Y), axis=0)
    if ddof is None:
        ddof = 1 if bias == 0 else 0
    w = None
    if fweights is not None:
        fweights = np.asarray(fweights, dtype=float)
        if not np.all(fweights == np.around(fweights)):
            raise TypeError("fweights must be integer")
        w = fweights
    if aweights is not None:
        aweights = np.asarray(aweights, dtype=float)
        w = aweights if w is None else w * aweights
    for v in (fweights, aweights):
        if v is not None and (v.ndim > 1 or v.shape[0] != shape_of(X)[1]):
            raise RuntimeError("incompatible numbers of samples and weights")
    avg = np.average(X, axis=1, weights=w)
    if w is None:
        fact = shape_of(X)[1] - ddof
    else:
        w_sum = np.sum(w)
        if ddof == 0:
            fact = w_sum
        elif aweights is None:
            fact = w_sum - ddof
        else:
            fact = w_sum - ddof * sum(w * aweights) / w_sum
    if fact <= 0:
        fact = 0.0
    X = X - avg[:, None]
    c = np.dot(X, (X if w is None else X * w).T)
    with np.errstate(divide="ignore"):
        c = c * np.true_divide(1, fact)
    return np.squeeze(c)


def _corrcoef(x, y=None, rowvar=True, *, dtype=None):
    c = _cov(x, y, rowvar, dtype=dtype)
    if ndim_of(c) == 0:
        return c / c
    d = np.diagonal(c)
    stddev = np.sqrt(d)
    c = c / stddev[:, None]
    c = c / stddev[None, :]
    return np.clip(c, -1, 1)


_corrcoef.convention = "clipped to [-1, 1]: an entry at the bound (the diagonal) follows np.clip's convention"
register_function(np.cov, _cov)
register_function(np.corrcoef, _corrcoef)


# -- histograms: integer counts, edges from the data -----------------------------------------------------
def _linspace_edges(lo, hi, *, num):
    dt = np.result_type(lo, hi)
    if lo == hi:                                          # as NumPy: an empty range is widened by 1/2 each side
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, num + 1, endpoint=True, dtype=dt if dt.kind == "f" else float)


bin_edges_p = Primitive("numpy.histogram_bin_edges", _linspace_edges, arity=2)


def _edge_weights(lo, num):
    return np.arange(num + 1, dtype=dtype_of(lo)) / num


def _edges_jvp_lo(t, out, lo, hi, *, num):
    return np.reshape(t, shape_of(t) + (1,)) * (1 - _edge_weights(lo, num))


def _edges_jvp_hi(t, out, lo, hi, *, num):
    return np.reshape(t, shape_of(t) + (1,)) * _edge_weights(lo, num)


rule(bin_edges_p, (_edges_jvp_lo, _edges_jvp_hi),
     (lambda g, out, lo, hi, *, num: np.sum(g * (1 - _edge_weights(lo, num)), axis=-1),
      lambda g, out, lo, hi, *, num: np.sum(g * _edge_weights(lo, num), axis=-1)),
     needs=(("x",), ("x",)),
     convention="equal-width edges linspace(lo, hi, bins + 1): edge i moves with lo and hi by (1 - i/bins, i/bins)")


def _edges(name, a, bins, range, weights):
    """The bin edges, traced where they depend on traced values (the data's extremes, range, bins)."""
    ap = np.asarray(plain_value(a))                       # (NumPy's bin estimators do not use the weights)
    plain_range = None if range is None else tuple(plain_value(r) for r in range)
    plain_bins = plain_value(bins)
    edges = np.histogram_bin_edges(ap, plain_bins, plain_range, None if weights is None else plain_value(weights))
    if isinstance(bins, Tracer):
        return bins
    if np.ndim(plain_bins) == 1:
        return edges                                      # given edges: constants
    if range is not None:
        lo, hi = range
    elif ap.size == 0:
        return edges
    else:
        lo, hi = np.min(a), np.max(a)
    if not (isinstance(lo, Tracer) or isinstance(hi, Tracer)):
        return edges
    lo, hi = (v if isinstance(v, Tracer) else np.asarray(v, dtype=edges.dtype) for v in (lo, hi))
    return bind(bin_edges_p, (lo, hi), {"num": len(edges) - 1})


def _histogram(a, bins=10, range=None, density=None, weights=None):
    counts, _ = np.histogram(np.asarray(plain_value(a)), plain_value(bins),
                             None if range is None else tuple(plain_value(r) for r in range),
                             weights=None if weights is None else plain_value(weights))
    edges = _edges("histogram", a, bins, range, weights)
    if isinstance(weights, Tracer):                       # linear in the weights; constant in the samples
        plain_edges = np.asarray(plain_value(edges))
        counts = _weighted_counts(np.reshape(np.ravel(plain_value(a)), (-1, 1)), [plain_edges], np.ravel(weights))
    if density:                                     # as NumPy: the widths in float64
        db = np.diff(edges)
        db = db if dtype_of(db) == np.float64 else db.astype(np.float64)
        return counts / db / counts.sum(), edges
    return counts, edges


def _histogram_bin_edges(a, bins=10, range=None, weights=None):
    return _edges("histogram_bin_edges", a, bins, range, weights)


_histogram.convention = ("counts are piecewise constant in the data (derivative 0), linear in the weights; "
                         "edges from the data follow its minimum and maximum; density divides by the traced bin widths")
register_function(np.histogram, _histogram)
register_function(np.histogram_bin_edges, _histogram_bin_edges)


def _columns(sample):
    """The (N, D) sample of np.histogramdd: an (N, D) array, a 1-D array (D = 1) or a sequence of D arrays."""
    if isinstance(sample, (list, tuple)):
        return np.stack([array_operand(c) for c in sample], axis=-1)
    sample = array_operand(sample)
    return sample if ndim_of(sample) == 2 else np.reshape(sample, (-1, 1))


def _plain_bins(bins):
    return bins if np.ndim(concrete_value(bins)) == 0 else [plain_value(b) for b in bins]


def _weighted_counts(sample, edges, weights):
    """The sum of the traced weights of the samples in each bin (bins as NumPy finds them): linear in weights."""
    p = np.asarray(plain_value(sample))
    nb = [len(e) - 1 for e in edges]
    flat = np.zeros(p.shape[0], dtype=np.intp)
    inside = np.ones(p.shape[0], dtype=bool)
    for i, e in enumerate(edges):
        k = np.searchsorted(e, p[:, i], side="right") - 1
        k[p[:, i] == e[-1]] = nb[i] - 1                    # the last bin is closed on the right
        inside &= (k >= 0) & (k < nb[i])
        flat = flat * nb[i] + np.clip(k, 0, nb[i] - 1)
    counts = np.zeros_like(weights, shape=(int(np.prod(nb)),))
    np.add.at(counts, flat[inside], weights[inside])
    return np.reshape(counts, nb)


def _histogramdd(sample, bins=10, range=None, density=None, weights=None):
    sample = _columns(sample)
    n, d = shape_of(sample)
    if np.ndim(concrete_value(bins)) == 0:
        bins = d * [bins]
    elif len(bins) != d:
        raise ValueError("The dimension of bins must be equal to the dimension of the sample x.")
    ranges = d * [None] if range is None else list(range)
    plain_range = [None if r is None else tuple(plain_value(v) for v in r) for r in ranges]
    counts, plain_edges = np.histogramdd(np.asarray(plain_value(sample)), _plain_bins(bins), plain_range,
                                         weights=None if weights is None else plain_value(weights))
    if isinstance(weights, Tracer):                        # linear in the weights; constant in the samples
        counts = _weighted_counts(sample, plain_edges, weights)
    edges = [_edges("histogramdd", sample[:, i], bins[i], ranges[i], None) for i in np.arange(d)]
    edges = [e if isinstance(e, Tracer) else pe for e, pe in zip(edges, plain_edges)]
    if density:                                           # as NumPy: counts / bin volume / total
        total = np.sum(counts)
        for i in np.arange(d):
            counts = counts / np.reshape(np.diff(edges[i]), [-1 if j == i else 1 for j in np.arange(d)])
        counts = counts / total
    return counts, edges


def _histogram2d(x, y, bins=10, range=None, density=None, weights=None):
    k = 1 if np.ndim(concrete_value(bins)) == 0 else len(bins)
    if k != 1 and k != 2:                                  # one array of edges for both axes
        bins = [bins, bins]
    counts, edges = _histogramdd([x, y], bins, range, density, weights)
    return counts, edges[0], edges[1]


_histogramdd.convention = ("counts are piecewise constant in the samples (derivative 0) and linear in the weights; "
                           "edges from the data follow its minimum and maximum per axis; density divides by the "
                           "traced bin volumes")
_histogram2d.convention = _histogramdd.convention
register_function(np.histogramdd, _histogramdd)
register_function(np.histogram2d, _histogram2d)
