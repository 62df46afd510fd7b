"""Seeds kept as diagonals: :func:`keep_diagonals`, a pass over a staged :class:`~.ir.Program`.

``jacfwd``, ``jacobian`` and ``hessian`` seed a batched forward sweep with the
identity: the tangent of ``x`` is ``I`` (batch axis first), of ``x[1:]`` the
shifted identity ``I[:, 1:]``, and a traced program carries these as constant
``(n, k)`` arrays that every rule then multiplies by vectors, adds, reshapes
and scatters -- ``n`` times the work of the one direction, mostly on zeros.

This pass tracks the values that stay *banded*: a value ``V`` of shape ``S``
with two axes ``p`` (length ``n``) and ``q`` (length ``k``) and a few
diagonals ``off -> (lo, ln, D)`` such that ::

    V[..., b (axis p), ..., j (axis q), ...] = D[..., j - lo, ...]   if b == j + off and lo <= j < lo + ln
                                               0                     otherwise

(``D`` has length 1 along ``p``, ``ln`` or 1 along ``q``, and broadcasts over
the other axes).  It starts from constants of that form (the seeds) and
follows them through the operations that keep the form:

* a product or quotient with a value that is constant along ``p`` (``D * y``,
  with ``y`` sliced to the diagonal's range where it varies along ``q``), a
  negation, a sum or difference of two banded values (diagonal by diagonal);
* the zero-seed checks ``seeded``/``seeded_all_of`` whose seeds are banded
  (applied to each diagonal with the seeds' diagonals at the same offset);
* reshapes that insert or remove unit axes (``x[:, None]`` too), transposes,
  ``broadcast_to`` along the other axes, slices (a slice along ``q`` moves
  ``lo``, along ``p`` moves ``off``), and the scatter of a slice's adjoint
  (``index_add`` of slices, the inverse move).

Everything else reads the value *materialised*: a zeros array with each
diagonal written into it through a strided slice of its flat view
(:func:`banded`), once, where it is first needed (or as an output).  So the
Hessian of a banded function costs a few length-``n`` vector operations and
one ``(n, n)`` allocation instead of a dozen ``(n, n)`` operations.

Exactness.  On its diagonals the banded value is computed by the same
elementwise operations on the same numbers as the dense one, so those entries
are equal bit for bit; the entries off the diagonals are ``+0.0``, where the
dense program has ``0.0`` or ``-0.0`` (``0 * -y``), equal values.  A product
with a traced value ``y`` makes those entries ``0 * y`` in the dense program:
nan where ``y`` is not finite.  Such a value is marked *dirty*, and becomes
clean again at a zero-seed check whose seeds are banded and clean (the check
sets exactly those entries to zero); a dirty value the rest of the program
must read dense is computed there by the equation it came from, on its
operands read dense -- the dense program's own arithmetic.  The
zero-seed checks applied per diagonal rely on their own convention (the
checked value is a multiple of its seeds, so zero or nan wherever every seed
is zero): a diagonal no seed has is dropped, as the dense check zeroes it,
and a diagonal's check looks for non-finite values on that diagonal only --
where the dense check also zeroes the entries of a zero seed because of a nan
elsewhere, those entries are ``+-0`` on the diagonal (a multiple of a zero
seed): equal values again.  Two diagonals of one offset over different ranges
are added after extending each with zeros (:func:`widen`) to the hull of both.
So the claim is: equal values, nan where nan, zeros possibly of the other sign;
tests/test_jit_diagonals.py checks it against eager chainrule.
"""

import operator

import numpy as np

from .ir import CALL, Const, Eqn, Program, Var

__all__ = ["keep_diagonals", "const_band", "banded", "banded_nd", "widen"]

MIN_SIZE = 32                # constants smaller than this are left dense (nothing to gain)
MAX_DIAGONALS = 4            # a constant with more diagonals than this is not treated as banded


def banded(*diagonals, shape, dtype, writes):
    """A zeros array of ``shape`` with each diagonal written through a strided slice of its flat view:
    ``writes[i] = (start, stop, step, a, b)`` puts ``ravel(diagonals[i])[a:b]`` (or the scalar
    ``diagonals[i]`` when ``a`` is None) at ``flat[start:stop:step]``."""
    z = np.zeros(shape, dtype)
    flat = z.reshape(-1)
    for d, (start, stop, step, a, b) in zip(diagonals, writes):
        flat[start:stop:step] = np.reshape(d, -1)[a:b] if a is not None else d
    return z


def banded_nd(*diagonals, shape, dtype, p, q, writes):
    """:func:`banded` where axes other than ``p`` and ``q`` are longer than 1: ``writes[i] = (off, j0,
    j1, a, ndim)`` puts ``diagonals[i]`` (padded to ``ndim`` axes, its ``q`` entries ``a .. a + j1 -
    j0``) at the entries ``(j + off, j)`` of axes ``(p, q)`` for ``j0 <= j < j1``."""
    z = np.zeros(shape, dtype)
    view = np.moveaxis(z, (p, q), (-2, -1))
    for d, (off, j0, j1, a, ndim) in zip(diagonals, writes):
        d = np.reshape(d, (1,) * (ndim - np.ndim(d)) + np.shape(d))
        d = np.moveaxis(d, (p, q), (-2, -1))[..., 0, :]
        d = d[..., a:a + j1 - j0] if d.shape[-1] != 1 else d
        cols = np.arange(j0, j1)
        view[..., cols + off, cols] = d
    return z


def _take(x, *, index, unique):
    return x[index]


def _reshape(x, *, shape):
    return np.reshape(x, shape)             # (NumPy < 2.1 names the parameter newshape)


def widen(d, *, shape, index):
    """A diagonal ``d`` extended with zeros: zeros of ``shape`` with ``d`` at ``index``."""
    z = np.zeros(shape, np.result_type(d))
    z[index] = d
    return z


class Band:
    """A banded value (see the module docstring): ``diags`` maps an offset to ``(lo, ln, D)``."""

    __slots__ = ("shape", "dtype", "p", "q", "diags", "dirty")

    def __init__(self, shape, dtype, p, q, diags, dirty=False):
        self.shape, self.dtype, self.p, self.q, self.diags, self.dirty = tuple(shape), dtype, p, q, diags, dirty

    @property
    def n(self):
        return self.shape[self.p]

    @property
    def k(self):
        return self.shape[self.q]


def _shape(a):
    return tuple(a.shape) if type(a) is Var else np.shape(a.value)


def _pad(shape, ndim):
    return (1,) * (ndim - len(shape)) + tuple(shape)


def _valid(off, lo, ln, n, k):
    """The range ``j0 <= j < j1`` of a diagonal's entries that lie inside the array."""
    j0 = max(lo, -off, 0)
    j1 = min(lo + ln, n - off, k)
    return j0, j1


def const_band(value):
    """The :class:`Band` an ndarray constant is, or None: nonzeros on at most ``MAX_DIAGONALS``
    diagonals of one pair of axes (the pair with the fewest, the earlier axes first)."""
    if type(value) is not np.ndarray or value.ndim < 2 or value.dtype.kind != "f" or value.size < MIN_SIZE:
        return None
    count = int(np.count_nonzero(value))
    nd = value.ndim
    # a diagonal of axes (p, q) holds at most size / max(n, k) entries: a dense constant stops here
    pairs = [(p, q) for p in range(nd) for q in range(nd) if p != q and value.shape[p] > 1 and value.shape[q] > 1
             and count * max(value.shape[p], value.shape[q]) <= MAX_DIAGONALS * value.size]
    if not count or not pairs:
        return None
    nz = np.nonzero(value)
    best = None
    for p, q in pairs:
        offs = np.unique(nz[p] - nz[q])
        if len(offs) <= MAX_DIAGONALS and (best is None or len(offs) < len(best[2])):
            best = (p, q, offs)
    if best is None:
        return None
    p, q, offs = best
    n, k = value.shape[p], value.shape[q]
    moved = np.moveaxis(value, (p, q), (-2, -1))
    diags = {}
    for off in offs.tolist():
        j0, j1 = _valid(off, 0, k, n, k)
        d = np.zeros(moved.shape[:-2] + (1, j1 - j0), value.dtype)
        cols = np.arange(j0, j1)
        d[..., 0, :] = moved[..., cols + off, cols]
        d = np.moveaxis(d, (-2, -1), (p, q))
        keep = tuple(i for i in range(nd) if d.shape[i] != 1 and not np.all(d == d.take([0], axis=i)))
        d = d[tuple(slice(None) if i in keep or i == q else slice(0, 1) for i in range(nd))]
        diags[off] = (j0, j1 - j0, Const(np.ascontiguousarray(d).reshape(_strip(d.shape)), -1))
    return Band(value.shape, value.dtype, p, q, diags)


def _uniform(a):
    """The one value a constant diagonal holds everywhere, or None."""
    if type(a) is Const and type(a.value) is np.ndarray and a.value.size:
        v = a.value.flat[0]
        if np.all(a.value == v):
            return v
    return None


_MUL = {operator.mul, np.multiply}
_DIV = {operator.truediv, np.true_divide}
_ADD = {operator.add, np.add}
_SUB = {operator.sub, np.subtract}
_NEG = {operator.neg, np.negative}


class _Pass:
    def __init__(self, program):
        self.program = program
        self.bands = {}             # Var -> Band (not yet computed dense)
        self.consts = {}            # id(Const) -> Band or None
        self.dense = set()          # banded Vars already materialised
        self.eqns = []
        self.serial = 0
        self.changed = False
        self.reshaped = {}          # a diagonal's reshape this pass emitted -> its operand
        self.origin = {}            # banded Var -> the equation that made it (for a dirty one read dense)
        self.position = {}          # banded Var -> its rank in the program's order

    # -- helpers
    def var(self, shape, dtype):
        self.serial += 1
        return Var(-1_000_000 - self.serial, tuple(shape), np.dtype(dtype), np.ndarray)

    def emit(self, e, name, fn, ins, params, shape, dtype, note):
        if all(type(a) is Const for a in ins):              # constants: computed now, by the same call
            value = fn(*[a.value for a in ins], **params)
            if type(value) is np.ndarray and value.shape == tuple(shape) and value.dtype == dtype:
                return Const(value, -1)
        if name == "numpy.reshape":
            while ins[0] in self.reshaped:                  # a reshape of a reshape: one
                ins = (self.reshaped[ins[0]],)
            if _shape(ins[0]) == tuple(shape):
                return ins[0]
        out = self.var(shape, dtype)
        if name == "numpy.reshape":
            self.reshaped[out] = ins[0]
        self.eqns.append(Eqn(CALL, name, fn, ins, params, (out,), context=e.context, note=note))
        return out

    def band_of(self, a):
        if type(a) is Var:
            return self.bands.get(a)
        if type(a) is Const:
            key = id(a.value)
            if key not in self.consts:
                self.consts[key] = const_band(a.value)
            return self.consts[key]
        return None

    def materialise(self, v, context):
        b = self.bands[v]
        self.dense.add(v)
        if b.dirty:
            # the equations it came from, on operands read dense: every dirty value it needs, in the
            # program's own order (found iteratively: a chain of them may be long)
            need, todo = [v], [v]
            while todo:
                for a in self.origin[todo.pop()].ins:
                    if type(a) is Var and a in self.bands and a not in self.dense:
                        self.dense.add(a)
                        if self.bands[a].dirty:
                            need.append(a)
                            todo.append(a)
                        else:
                            self.write(a, context)
            need.sort(key=self.position.__getitem__)
            self.eqns.extend(self.origin[a] for a in need)
            return
        self.write(v, context)

    def write(self, v, context):
        """The equation writing the clean banded ``v``'s diagonals into zeros."""
        b = self.bands[v]
        n, k, p, q = b.n, b.k, b.p, b.q
        ndim = len(b.shape)
        ins, writes = [], []
        flat = all(b.shape[i] == 1 for i in range(ndim) if i not in (p, q))
        strides = [int(np.prod(b.shape[i + 1:])) for i in range(ndim)]
        for off in sorted(b.diags):
            lo, ln, d = b.diags[off]
            j0, j1 = _valid(off, lo, ln, n, k)
            if j1 <= j0:
                continue
            if flat:                                # (ravelled anyway: a reshape before it is not needed)
                while d in self.reshaped:
                    d = self.reshaped[d]
            ds = _shape(d)
            dq = _pad(ds, ndim)[q] if len(ds) <= ndim else None
            if flat:
                step = strides[p] + strides[q]
                start = (j0 + off) * strides[p] + j0 * strides[q]
                one = int(np.prod(ds)) == 1
                a = None if one else j0 - lo
                writes.append((start, start + (j1 - j0 - 1) * step + 1, step, a, None if one else j1 - lo))
            else:
                writes.append((off, j0, j1, j0 - lo if dq != 1 else 0, ndim))
            ins.append(d)
        offs = ", ".join(f"{o:+d}" if o else "0" for o in sorted(b.diags))
        note = f"the diagonals {offs} of axes ({p}, {q}) written into zeros (a seed kept as diagonals)"
        if flat:
            e = Eqn(CALL, "banded", banded, ins, {"shape": b.shape, "dtype": b.dtype, "writes": tuple(writes)},
                    (v,), context=context, note=note)
        else:
            e = Eqn(CALL, "banded_nd", banded_nd, ins, {"shape": b.shape, "dtype": b.dtype, "p": p, "q": q,
                                                        "writes": tuple(writes)}, (v,), context=context, note=note)
        self.eqns.append(e)

    # -- the walk
    def run(self):
        for e in self.program.eqns:
            if e.kind == CALL and len(e.outs) == 1 and not e.multiple:
                bands = [self.band_of(a) for a in e.ins]
                if any(b is not None for b in bands):
                    out = self.rule(e, bands)
                    if out is not None:
                        self.bands[e.outs[0]] = out
                        self.origin[e.outs[0]] = e
                        self.position[e.outs[0]] = len(self.position)
                        self.changed = True
                        continue
            for a in e.ins:                         # read dense: computed once, where first needed
                if type(a) is Var and a in self.bands and a not in self.dense:
                    self.materialise(a, e.context)
            self.eqns.append(e)
        for a in self.program.outputs:
            if type(a) is Var and a in self.bands and a not in self.dense:
                self.materialise(a, ())
        return Program(self.program.inputs, self.eqns, self.program.outputs)

    def fit(self, e, b, off, lo, ln):
        """The diagonal ``off`` of ``b`` over the range ``lo .. lo + ln`` of axis ``q``: sliced where it
        is longer, extended with zeros (its value there) where it is shorter."""
        lo0, ln0, d = b.diags[off]
        if (lo0, ln0) == (lo, ln):
            return d
        ndim = len(b.shape)
        ds = _shape(d)
        ax = b.q - (ndim - len(ds))
        along = ax >= 0 and ds[ax] != 1
        s0, s1 = max(lo0, lo), min(lo0 + ln0, lo + ln)
        dtype = b.dtype
        if s1 <= s0:
            return Const(np.zeros((), dtype), -1)
        if along and (s0, s1) != (lo0, lo0 + ln0):
            index = tuple(slice(s0 - lo0, s1 - lo0) if i == ax else slice(None) for i in range(len(ds)))
            ds = tuple(s1 - s0 if i == ax else m for i, m in enumerate(ds))
            d = Const(np.ascontiguousarray(d.value[index]), -1) if type(d) is Const else \
                self.emit(e, "getitem", _take, (d,), {"index": index, "unique": True}, ds, d.dtype, _note(off))
        if (s0, s1) == (lo, lo + ln) and along or not along and lo0 <= lo and lo + ln <= lo0 + ln0:
            return d
        full = list(_pad(ds, max(len(ds), ndim - b.q)))
        at = len(full) - (ndim - b.q)
        full[at] = ln
        full = tuple(full)
        index = tuple(slice(s0 - lo, s1 - lo) if i == at else slice(None) for i in range(len(full)))
        if type(d) is Const:
            return Const(widen(np.asarray(d.value, dtype), shape=full, index=index), -1)
        return self.emit(e, "widen", widen, (d,), {"shape": full, "index": index}, full, dtype,
                         _note(off) + ", extended with zeros")

    def trim(self, e, b, off):
        """The diagonal ``off`` of ``b`` cut to the entries inside the array: ``(lo, ln, D)``."""
        lo, ln, d = b.diags[off]
        j0, j1 = _valid(off, lo, ln, b.n, b.k)
        if (j0, j1 - j0) == (lo, ln):
            return lo, ln, d
        ds = _shape(d)
        shift = len(b.shape) - len(ds)
        if b.q - shift < 0 or ds[b.q - shift] == 1:
            return j0, j1 - j0, d
        index = tuple(slice(j0 - lo, j1 - lo) if i + shift == b.q else slice(None) for i in range(len(ds)))
        shape = tuple(j1 - j0 if i + shift == b.q else m for i, m in enumerate(ds))
        if type(d) is Const:
            return j0, j1 - j0, Const(np.ascontiguousarray(d.value[index]), -1)
        return j0, j1 - j0, self.emit(e, "getitem", _take, (d,), {"index": index, "unique": True}, shape, d.dtype,
                                      _note(off))

    def rule(self, e, bands):
        fn, ins, out = e.fn, e.ins, e.outs[0]
        if out.type is not np.ndarray or out.dtype is None:
            return None
        if fn in _MUL or fn in _DIV:
            if e.params or len(ins) != 2:
                return None
            if bands[0] is not None and bands[1] is None:
                return self.scale(e, bands[0], ins[1], 0)
            if bands[1] is not None and bands[0] is None and fn in _MUL:
                return self.scale(e, bands[1], ins[0], 1)
            return None
        if fn in _NEG and len(ins) == 1 and not e.params:
            b = bands[0]
            if tuple(out.shape) != b.shape or out.dtype != b.dtype:
                return None
            diags = {off: (lo, ln, self.emit(e, e.name, fn, (d,), {}, _shape(d), out.dtype, _note(off)))
                     for off, (lo, ln, d) in b.diags.items()}
            return Band(b.shape, b.dtype, b.p, b.q, diags, b.dirty)
        if (fn in _ADD or fn in _SUB) and len(ins) == 2 and not e.params:
            return self.add(e, bands, fn in _SUB)
        if getattr(fn, "passes_when_nonzero", False) and not e.params:
            return self.seeded(e, bands)
        if e.name == "numpy.reshape" and set(e.params) == {"shape"} and bands[0] is not None:
            return self.reshape(e, bands[0], tuple(e.params["shape"]))
        if e.name == "numpy.broadcast_to" and set(e.params) == {"shape"} and bands[0] is not None:
            return self.broadcast(e, bands[0], tuple(e.params["shape"]))
        if e.name == "numpy.transpose" and set(e.params) == {"axes"} and bands[0] is not None:
            return self.transpose(e, bands[0], tuple(e.params["axes"]))
        if e.name == "getitem" and set(e.params) == {"index", "unique"} and bands[0] is not None:
            return self.getitem(e, bands[0], e.params["index"])
        if e.name == "index_add" and bands[0] is not None and e.params.get("basic"):
            return self.index_add(e, bands[0], e.params)
        return None

    def scale(self, e, b, y, at):
        """``V * y`` or ``V / y`` with ``y`` constant along the batch axis: each ``D * y[range]``."""
        out = e.outs[0]
        ndim = len(b.shape)
        ys = _shape(y)
        if out.dtype != b.dtype or len(ys) > ndim or len(out.shape) != ndim:
            return None
        yp = _pad(ys, ndim)
        shape = tuple(out.shape)                # (y may broadcast the value along its other unit axes)
        if yp[b.p] != 1 or yp[b.q] not in (1, b.k) or shape[b.p] != b.n or shape[b.q] != b.k \
                or np.broadcast_shapes(b.shape, yp) != shape:
            return None
        dirty = b.dirty
        if type(y) is Var:
            dirty = True                                    # 0 * y off the diagonals: nan where y is not finite
        else:
            v = y.value
            if type(v) is bool or not (type(v) in (float, int) or isinstance(v, (np.ndarray, np.generic))
                                       and v.dtype.kind in "fiu"):
                return None
            if not np.all(np.isfinite(v)) or (e.fn in _DIV and np.any(np.asarray(v) == 0)):
                return None
        diags = {}
        for off in b.diags:
            lo, ln, d = self.trim(e, b, off) if yp[b.q] != 1 else b.diags[off]
            yd = y
            if yp[b.q] != 1 and (lo, ln) != (0, b.k):
                shift = ndim - len(ys)
                index = tuple(slice(lo, lo + ln) if i + shift == b.q else slice(None) for i in range(len(ys)))
                cut = tuple(ln if i + shift == b.q else s for i, s in enumerate(ys))
                if type(y) is Const:
                    yd = Const(np.ascontiguousarray(y.value[index]), -1)
                else:
                    yd = self.emit(e, "getitem", _take, (y,), {"index": index, "unique": True}, cut, y.dtype,
                                   _note(off))
            ds, yds = _shape(d), _shape(yd)
            u = _uniform(d) if e.fn in _MUL else None
            if u is not None and type(yd) is Var and yd.dtype == out.dtype and len(yds) <= ndim \
                    and np.broadcast_shapes(ds, yds) == np.broadcast_shapes(yds, (1,) * len(ds)) and u in (1, -1):
                if u == 1:                                  # 1 * y is y, bit for bit
                    diags[off] = (lo, ln, yd)
                else:
                    diags[off] = (lo, ln, self.emit(e, "numpy.negative", np.negative, (yd,), {}, yds, out.dtype,
                                                    _note(off)))
                continue
            ins = (d, yd) if at == 0 else (yd, d)
            diags[off] = (lo, ln, self.emit(e, e.name, e.fn, ins, {}, np.broadcast_shapes(ds, yds), out.dtype,
                                            _note(off)))
        return Band(shape, b.dtype, b.p, b.q, diags, dirty)

    def add(self, e, bands, sub):
        x, y = bands
        out = e.outs[0]
        if x is None or y is None or (x.p, x.q, x.shape) != (y.p, y.q, y.shape) or tuple(out.shape) != x.shape \
                or not out.dtype == x.dtype == y.dtype:
            return None
        xd, yd = dict(x.diags), dict(y.diags)
        for off in set(xd) & set(yd):
            if xd[off][:2] != yd[off][:2]:
                xd[off], yd[off] = self.trim(e, x, off), self.trim(e, y, off)
                if xd[off][:2] != yd[off][:2]:          # the hull of both ranges
                    (l1, n1, _), (l2, n2, _) = xd[off], yd[off]
                    lo, hi = min(l1, l2), max(l1 + n1, l2 + n2)
                    xt = Band(x.shape, x.dtype, x.p, x.q, {off: xd[off]})
                    yt = Band(y.shape, y.dtype, y.p, y.q, {off: yd[off]})
                    xd[off] = (lo, hi - lo, self.fit(e, xt, off, lo, hi - lo))
                    yd[off] = (lo, hi - lo, self.fit(e, yt, off, lo, hi - lo))
        diags = xd
        for off, (lo, ln, d) in yd.items():
            if off in diags:
                diags[off] = (lo, ln, self.emit(e, e.name, e.fn, (diags[off][2], d), {},
                                                np.broadcast_shapes(_shape(diags[off][2]), _shape(d)), out.dtype,
                                                _note(off)))
            elif sub:
                diags[off] = (lo, ln, self.emit(e, "numpy.negative", np.negative, (d,), {}, _shape(d), out.dtype,
                                                _note(off)))
            else:
                diags[off] = (lo, ln, d)
        return Band(x.shape, x.dtype, x.p, x.q, diags, x.dirty or y.dirty)

    def seeded(self, e, bands):
        r = bands[0]
        out = e.outs[0]
        seeds = bands[1:]
        if r is None or not seeds or any(s is None or s.dirty or (s.p, s.q, s.shape) != (r.p, r.q, r.shape)
                                         for s in seeds) or tuple(out.shape) != r.shape:
            return None
        if e.fn.__name__ == "seeded" and len(seeds) != 1:
            return None
        diags = {}
        for off, (lo, ln, d) in r.diags.items():
            have = [(lo, ln, self.fit(e, s, off, lo, ln)) for s in seeds if off in s.diags]
            if not have:
                continue                                    # every seed is zero there: so is the result
            if any(type(h[2]) is Const and np.all(h[2].value != 0) for h in have):
                diags[off] = (lo, ln, d)                    # a seed with no zero: the check returns d
                continue
            ds = _shape(d)
            if np.broadcast_shapes(ds, *[_shape(h[2]) for h in have]) != ds:
                return None
            # (seeded_all_of with the seeds that have this diagonal: the others are zero on it)
            diags[off] = (lo, ln, self.emit(e, e.name, e.fn, (d,) + tuple(h[2] for h in have), {}, ds, out.dtype,
                                            _note(off)))
        return Band(r.shape, r.dtype, r.p, r.q, diags, False)

    def broadcast(self, e, b, shape):
        """``broadcast_to`` along axes other than ``p`` and ``q`` (the diagonals broadcast as they are)."""
        out = e.outs[0]
        extra = len(shape) - len(b.shape)
        if tuple(out.shape) != shape or out.dtype != b.dtype or extra < 0 \
                or np.broadcast_shapes(b.shape, shape) != shape:
            return None
        p, q = b.p + extra, b.q + extra
        if shape[p] != b.n or shape[q] != b.k:
            return None
        return Band(shape, b.dtype, p, q, dict(b.diags), b.dirty)

    def reshape(self, e, b, new):
        out = e.outs[0]
        if tuple(out.shape) != new or out.dtype != b.dtype or -1 in new:
            return None
        old_axes = [i for i, s in enumerate(b.shape) if s != 1]
        new_axes = [i for i, s in enumerate(new) if s != 1]
        if [b.shape[i] for i in old_axes] != [new[i] for i in new_axes]:
            return None
        where = dict(zip(old_axes, new_axes))
        ndim = len(new)
        p, q = where[b.p], where[b.q]
        diags = {}
        for off, (lo, ln, d) in b.diags.items():
            ds = _shape(d)
            dp = _pad(ds, len(b.shape))
            moved = [1] * ndim
            for i, j in where.items():
                moved[j] = dp[i]
            moved = tuple(moved)
            if _strip(moved) != _strip(ds):
                d = self.emit(e, "numpy.reshape", _reshape, (d,), {"shape": moved}, moved, out.dtype, _note(off))
            diags[off] = (lo, ln, d)
        return Band(new, b.dtype, p, q, diags, b.dirty)

    def transpose(self, e, b, axes):
        ndim = len(b.shape)
        out = e.outs[0]
        if sorted(axes) != list(range(ndim)) or out.dtype != b.dtype:
            return None
        diags = {}
        for off, (lo, ln, d) in b.diags.items():
            ds = _shape(d)
            dp = _pad(ds, ndim)
            permuted = tuple(dp[a] for a in axes)
            order = [a for a in axes if dp[a] != 1]
            if order != sorted(order):                      # a real transpose of the diagonal
                if len(ds) != ndim:
                    d = self.emit(e, "numpy.reshape", _reshape, (d,), {"shape": dp}, dp, out.dtype, _note(off))
                d = self.emit(e, "numpy.transpose", np.transpose, (d,), {"axes": axes}, permuted, out.dtype,
                              _note(off))
            elif _strip(permuted) != _strip(ds):
                d = self.emit(e, "numpy.reshape", _reshape, (d,), {"shape": permuted}, permuted, out.dtype,
                              _note(off))
            diags[off] = (lo, ln, d)
        return Band(tuple(b.shape[a] for a in axes), b.dtype, axes.index(b.p), axes.index(b.q), diags, b.dirty)

    def getitem(self, e, b, index, out=None):
        ndim = len(b.shape)
        if type(index) is tuple and all(type(s) is slice or s is None for s in index) \
                and any(s is None for s in index):
            # slices, then the new unit axes (a reshape)
            sliced = tuple(s for s in index if s is not None)
            if sliced and not all(s == slice(None) for s in sliced):
                shape = tuple(len(range(*s.indices(n))) for s, n in zip(sliced, b.shape)) + b.shape[len(sliced):]
                b = self.getitem(e, b, sliced, Var(0, shape, b.dtype, np.ndarray))
                if b is None:
                    return None
            return self.reshape(e, b, tuple(e.outs[0].shape))
        out = e.outs[0] if out is None else out
        if type(index) is not tuple or len(index) > ndim or not all(type(s) is slice for s in index) \
                or out.dtype != b.dtype:
            return None
        index = index + (slice(None),) * (ndim - len(index))
        ranges = [s.indices(n) for s, n in zip(index, b.shape)]
        for i, (start, stop, step) in enumerate(ranges):
            if step != 1 or stop < start or (i not in (b.p, b.q) and (start, stop) != (0, b.shape[i])):
                return None
        shape = tuple(stop - start for start, stop, _ in ranges)
        if shape != tuple(out.shape) or shape[b.p] < 2 or shape[b.q] < 2:
            return None
        a_p, a_q = ranges[b.p][0], ranges[b.q][0]
        moved = Band(shape, b.dtype, b.p, b.q, {}, b.dirty)
        for off, (lo, ln, d) in b.diags.items():
            no, nlo = off + a_q - a_p, lo - a_q
            j0, j1 = _valid(no, nlo, ln, shape[b.p], shape[b.q])
            if j1 > j0:
                moved.diags[no] = (nlo, ln, d)
        # (every diagonal covers only entries inside the array: a later scatter must not expose the rest)
        moved.diags = {off: self.trim(e, moved, off) for off in moved.diags}
        return moved

    def index_add(self, e, b, params):
        index, shape, out_ndim = params["index"], tuple(params["shape"]), params["out_ndim"]
        out = e.outs[0]
        ndim = len(b.shape)
        if type(index) is not tuple or len(shape) != out_ndim or out_ndim > ndim or len(index) > out_ndim \
                or not all(type(s) is slice for s in index) or out.dtype != b.dtype:
            return None
        index = index + (slice(None),) * (out_ndim - len(index))
        full = shape + b.shape[out_ndim:]
        if tuple(out.shape) != full:
            return None
        starts = []
        for i, (s, n) in enumerate(zip(index, shape)):
            start, stop, step = s.indices(n)
            if step != 1 or stop - start != b.shape[i] or (i not in (b.p, b.q) and n != b.shape[i]):
                return None
            starts.append(start)
        starts += [0] * (ndim - out_ndim)
        a_p, a_q = starts[b.p], starts[b.q]
        diags = {off + a_p - a_q: (lo + a_q, ln, d) for off, (lo, ln, d) in b.diags.items()}
        return Band(full, b.dtype, b.p, b.q, diags, b.dirty)


def _strip(shape):
    shape = tuple(shape)
    while shape and shape[0] == 1:
        shape = shape[1:]
    return shape


def _note(off):
    return f"diagonal {off:+d}" if off else "diagonal 0"


def keep_diagonals(program):
    """The program with banded seeds kept as their diagonals (see the module docstring), or the
    program itself when no banded value is found."""
    if not any(type(a) is Const and type(a.value) is np.ndarray and a.value.ndim >= 2
               for e in program.eqns for a in e.ins):
        return program                  # (no constant can be banded: a scalar program costs one scan)
    p = _Pass(program)
    result = p.run()
    return result if p.changed else program
