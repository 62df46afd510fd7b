"""Simplifications of a staged :class:`~.ir.Program`, each a function Program -> Program.

* :func:`eliminate_common` -- common subexpressions: an equation that applies
  the same function to the same atoms with the same parameters as an earlier
  one reuses its result (and a guard already checked is not checked again);
  every recorded function is pure, so this never changes a result.
* :func:`simplify` -- algebraic identities that hold exactly, bit for bit:
  ``x * 1``, ``1 * x``, ``x / 1`` and ``x - 0`` (when the result has ``x``'s
  shape and dtype), a chain of transposes folded into one (none if it is the
  identity), a reshape to the same shape, and the zero-seed check of a rule
  whose seed is a constant with no zero (it can only return its argument).
  A scatter between a transpose and its inverse (the adjoint of slicing a
  later axis under a batch axis) becomes one scatter on the array's own axes;
  the zero-seed check of a sum of its seeds times finite constants goes.
* :func:`fold_factors` -- ``(b * d) * c`` with ``c`` and ``d`` constants, and the product ``b * d``
  read nowhere else, becomes ``b * (d * c)``: one multiplication instead of two.  Only where that is
  exact, bit for bit: every factor at least 1 in magnitude and one of them all powers of two (such as
  -1 or 2), so the one rounding is the same and an overflow happens in both or neither.
* :func:`cheapen` -- ``x * -1`` as ``-x``, and a Python int operand of float arithmetic as the
  equal float (quicker for NumPy to convert), both bit for bit.
* :func:`untangle_seeds` -- a zero-seed check reads ``x`` for a seed ``-x`` (zero at the same
  places), and ``(-x) * y`` negates the smaller operand instead: ``x * (-y)``.
* :func:`~chainrule.jit.diagonals.keep_diagonals` (its own module) -- identity seeds kept as
  their diagonals while the values stay banded, written into one zeros array where read dense.
* :func:`absorb_negations` -- ``c + (-x)`` as ``c - x`` and ``c + (-x) * y`` as ``c - x * y``, a
  negation read once by a sum, bit for bit (but for the sign of a nan, which IEEE leaves open).
* :func:`eliminate_dead` -- dead code: equations none of whose results reach
  an output or a guard are dropped.  Guards are always kept: a guard that
  failed on a path the program no longer computes still means the traced
  path was not the one this call would take.

* :func:`accumulate_scatters` -- ``a + index_add(g)`` with ``a`` a new array
  read nowhere else adds ``g`` into ``a`` in place (adjoints of several slices); with ``a`` a
  constant array, into a copy of it; :func:`place_first_scatter` then writes the first two terms'
  sum straight into the zeros of the first scatter.
* :func:`reuse_buffers` -- an elementwise operation whose array input dies
  there, and which the program itself made (no input, constant, or array a
  live value may be a view of), writes its result into that array
  (``out=``), so a forward sweep allocates about as much as the primal.  A reshape or transpose of
  such an array counts as one (the class of buffers sharing its memory must be dead as a whole).

The passes walk the equation list in order (forward for CSE, backward for
DCE), never recursively.
"""

import operator

import numpy as np

from ..core import add_at
from .diagonals import keep_diagonals
from .ir import CALL, STRUCTURED, Const, Eqn, Program, Var

__all__ = ["optimise", "simplify", "fold_factors", "cheapen", "untangle_seeds", "absorb_negations", "eliminate_common",
           "eliminate_dead", "accumulate_scatters", "place_first_scatter", "reuse_buffers"]


def optimise(program, reuse=True):
    """The passes in the order they pay off: identities, folded factors and CSE expose dead code, DCE
    removes it, and buffers are reused last, on the final order of the equations."""
    program = eliminate_dead(eliminate_common(simplify(program)))
    kept = keep_diagonals(program)          # (after DCE: values nothing reads need no dense form)
    if kept is not program:
        program = eliminate_dead(eliminate_common(kept))
    folded = fold_factors(program)          # (after DCE: a product read only by dead code folds too)
    if folded is not program:
        program = eliminate_dead(eliminate_common(folded))
    program = absorb_negations(untangle_seeds(cheapen(program)))
    return reuse_buffers(place_first_scatter(accumulate_scatters(program))) if reuse else program


_MUL_IDENTITY = {operator.mul, np.multiply}
_DIV_IDENTITY = {operator.truediv, np.true_divide}
_SUB_IDENTITY = {operator.sub, np.subtract}


def _const_all(a, value):
    if not isinstance(a, Const):
        return False
    v = a.value
    try:
        return ((type(v) in _NUMERIC or isinstance(v, (np.ndarray, np.generic)) and v.dtype.kind in "fiu")
                and bool(np.all(v == value)) and (value != 0 or not np.any(np.signbit(v))))
    except Exception:                                       # pragma: no cover - exotic constants
        return False


_NUMERIC = (float, int)


def _const_nonzero(a):
    if not isinstance(a, Const):
        return False
    v = a.value
    try:
        return (type(v) in _NUMERIC or isinstance(v, (np.ndarray, np.generic)) and v.dtype.kind in "fiu") \
            and bool(np.all(v != 0))
    except Exception:                                       # pragma: no cover
        return False


def _same_meta(a, out):
    return isinstance(a, Var) and a.shape == out.shape and a.dtype == out.dtype and a.dtype is not None


def _identity_operand(e):
    """The input ``e`` returns unchanged (bit for bit), or None."""
    if e.kind != CALL or e.multiple or len(e.outs) != 1:
        return None
    out = e.outs[0]
    ins = e.ins
    fn = e.fn
    if len(ins) == 2 and not e.params:
        a, b = ins
        if fn in _MUL_IDENTITY:
            if _const_all(b, 1) and _same_meta(a, out):
                return a
            if _const_all(a, 1) and _same_meta(b, out):
                return b
        elif fn in _DIV_IDENTITY or fn in _SUB_IDENTITY:
            if _const_all(b, 1 if fn in _DIV_IDENTITY else 0) and _same_meta(a, out):
                return a
    if getattr(fn, "passes_when_nonzero", False) and any(_const_nonzero(s) for s in ins[1:]) \
            and isinstance(ins[0], Var):
        return ins[0]
    if e.name == "numpy.transpose" and tuple(e.params.get("axes", ())) == tuple(range(len(out.shape))) \
            and isinstance(ins[0], Var):
        return ins[0]
    if e.name == "numpy.reshape" and _same_meta(ins[0], out):
        return ins[0]
    if e.name == "getitem" and set(e.params) == {"index", "unique"} and _whole(e.params["index"], ins[0]) \
            and _same_meta(ins[0], out) and ins[0].type is np.ndarray:
        return ins[0]
    return None


def _whole(index, a):
    """``index`` is slices that each take the whole of their axis of ``a`` (``x[0:n]`` with ``n`` its length)."""
    if type(index) is not tuple or not isinstance(a, Var) or len(index) > len(a.shape):
        return False
    return all(type(k) is slice and k.indices(n) == (0, n, 1) for k, n in zip(index, a.shape))


_ADD = {operator.add, np.add, operator.sub, np.subtract}
_NEG = {operator.neg, np.negative}


def _finite_const(a):
    if not isinstance(a, Const):
        return False
    v = a.value
    try:
        return (type(v) in _NUMERIC or isinstance(v, (np.ndarray, np.generic)) and v.dtype.kind in "fiu") \
            and bool(np.all(np.isfinite(v)))
    except Exception:                                       # pragma: no cover
        return False


def _linear_in(a, seeds, made_by, depth):
    """``a`` is a sum of the ``seeds`` times finite constants, so it is exactly zero (hence finite)
    wherever every seed is zero: the zero-seed check of :func:`~chainrule.rules._broadcast.seeded`
    then returns ``a`` unchanged."""
    if a in seeds:
        return True
    e = made_by.get(a)
    if e is None or depth == 0 or e.params or e.kind != CALL:
        return False
    ins = e.ins
    if e.fn in _MUL_IDENTITY and len(ins) == 2:
        x, y = ins
        return (_finite_const(y) and (x in seeds or isinstance(x, Var) and _linear_in(x, seeds, made_by, depth - 1))
                or _finite_const(x) and (y in seeds or isinstance(y, Var) and _linear_in(y, seeds, made_by, depth - 1)))
    if e.fn in _ADD and len(ins) == 2:
        return all(x in seeds or isinstance(x, Var) and _linear_in(x, seeds, made_by, depth - 1) for x in ins)
    if e.fn in _NEG and len(ins) == 1:
        return isinstance(ins[0], Var) and _linear_in(ins[0], seeds, made_by, depth - 1)
    return False


def _scatter_in_place(e, made_by):
    """``transpose(index_add(transpose(g, P), index), P)`` with ``P`` its own inverse and ``index`` all
    slices (the adjoint of slicing along a later axis, with a batch axis in front) as one index_add on
    ``g``'s own axes: the zeros array and ``g`` stay contiguous.  Returns the new equation or None."""
    scatter = made_by.get(e.ins[0])
    if scatter is None or scatter.name != "index_add" or scatter.kind != CALL or not scatter.params.get("basic"):
        return None
    inner = made_by.get(scatter.ins[0])
    if inner is None or inner.name != "numpy.transpose" or inner.kind != CALL:
        return None
    p, q = tuple(inner.params.get("axes", ())), tuple(e.params.get("axes", ()))
    n = len(p)
    if p != q or sorted(p) != list(range(n)) or any(p[p[i]] != i for i in range(n)):
        return None
    index = scatter.params["index"]
    g = inner.ins[0]
    out = e.outs[0]
    if (not isinstance(g, Var) or len(g.shape) != n or len(out.shape) != n or len(index) > n
            or not all(isinstance(k, slice) for k in index) or scatter.params["out_ndim"] != len(index)):
        return None
    moved = [slice(None)] * n
    for j, k in enumerate(index):
        moved[p[j]] = k
    return Eqn(CALL, "index_add", scatter.fn, (g,),
               {"index": tuple(moved), "shape": tuple(out.shape), "out_ndim": n, "basic": True}, e.outs,
               context=e.context)


def simplify(program):
    subst = {}
    made_by = {}
    eqns = []
    for e in program.eqns:
        if subst and any(a in subst for a in e.ins):       # (constants are never keys of subst)
            e = e.replace(ins=tuple(subst.get(a, a) for a in e.ins))
        if e.name == "numpy.transpose" and e.kind == CALL:
            prev = made_by.get(e.ins[0])
            if prev is not None and prev.name == "numpy.transpose":     # transpose of a transpose: one
                first, second = prev.params["axes"], e.params["axes"]
                e = e.replace(ins=prev.ins, params={"axes": tuple(first[i] for i in second)})
            direct = _scatter_in_place(e, made_by)
            if direct is not None:
                e = direct
        same = _identity_operand(e)
        if same is None and getattr(e.fn, "passes_when_nonzero", False) and e.kind == CALL \
                and isinstance(e.ins[0], Var) and _linear_in(e.ins[0], set(e.ins[1:]), made_by, 4):
            same = e.ins[0]             # zero wherever every seed is: the zero-seed check cannot apply
        if same is not None:
            subst[e.outs[0]] = same
            continue
        for o in e.outs:
            made_by[o] = e
        eqns.append(e)
    outputs = [subst.get(a, a) if isinstance(a, Var) else a for a in program.outputs]
    return Program(program.inputs, eqns, outputs)


_ELEMENTWISE_OPERATORS = {operator.add: np.add, operator.sub: np.subtract, operator.mul: np.multiply,
                          operator.truediv: np.true_divide, operator.pow: np.power,
                          operator.neg: np.negative, operator.floordiv: np.floor_divide,
                          operator.mod: np.remainder}


def elementwise_ufunc(fn):
    """The NumPy ufunc ``fn`` computes elementwise (``operator.add`` -> ``np.add``), or None."""
    u = _ELEMENTWISE_OPERATORS.get(fn)
    if u is not None:
        return u
    if isinstance(fn, np.ufunc) and fn.signature is None and fn.nout == 1:
        return fn
    return None


_VIEWS = {"numpy.reshape", "numpy.transpose"}


def reuse_buffers(program):
    """Set ``Eqn.into`` where an elementwise result can be written into an input array that dies."""
    eqns = program.eqns
    # Buffers that may share memory: a non-elementwise operation's results may be views of (or be)
    # its array inputs, so they join one class; a class is free once all its members are dead.
    parent = {}

    def find(v):
        root = v
        while parent.get(root, root) is not root:
            root = parent[root]
        while v is not root:
            parent[v], v = root, parent.get(v, v)
        return root

    fresh = set()                       # made by an elementwise operation: a new array
    for e in eqns:
        if e.kind != CALL and e.kind != STRUCTURED:     # a structured equation may return its inputs
            continue
        if e.kind == CALL and elementwise_ufunc(e.fn) is not None and not e.params:
            fresh.update(e.outs)
            continue
        if e.kind == CALL and e.name in _VIEWS and len(e.outs) == 1 and e.ins[0] in fresh:
            fresh.add(e.outs[0])        # a reshaped or transposed new array: its memory is the program's own
        for o in e.outs:
            for a in e.ins:
                if isinstance(a, Var):
                    parent[find(o)] = find(a)
    last_use = {}
    for k, e in enumerate(eqns):
        for a in e.ins:
            if isinstance(a, Var):
                last_use[a] = k
    forever = len(eqns)
    for a in program.outputs:
        if isinstance(a, Var):
            last_use[a] = forever
    for v in program.inputs:
        last_use[v] = forever
    class_end = {}
    for v, k in last_use.items():
        r = find(v)
        if class_end.get(r, -1) < k:
            class_end[r] = k
    out = []
    for k, e in enumerate(eqns):
        if e.kind == CALL and not e.params and len(e.outs) == 1 and elementwise_ufunc(e.fn) is not None:
            res = e.outs[0]
            if res.shape and res.dtype is not None:
                for i, a in enumerate(e.ins):
                    if (isinstance(a, Var) and a in fresh and a.shape == res.shape and a.dtype == res.dtype
                            and last_use.get(a) == k and class_end.get(find(a), forever) <= k):
                        e = e.replace(into=i)
                        break
        out.append(e)
    return Program(program.inputs, out, program.outputs)


def scatter_add_into(z, g, *, index, basic):
    """``z`` with ``g`` added at ``index`` in place: ``z + index_add(g)`` without the zeros array."""
    if basic:
        z[index] += g
    else:
        add_at(z, index, g)
    return z


def scatter_add_view(z, g, *, index):
    """:func:`scatter_add_into` for an index of slices only: ``z[index]`` is a view, added to in place
    (``z[index] += g`` would also copy the sum back onto itself)."""
    view = z[index]
    np.add(view, g, out=view)
    return z


def scatter_add_onto(c, g, *, index, basic):
    """``c + index_add(g)`` for a constant array ``c``: a copy of ``c`` with ``g`` added at ``index``."""
    z = c.copy()
    if basic:
        z[index] += g
    else:
        add_at(z, index, g)
    return z


def scatter_add_onto_view(c, g, *, index):
    """:func:`scatter_add_onto` for an index of slices only (added into the view of the copy)."""
    z = c.copy()
    view = z[index]
    np.add(view, g, out=view)
    return z


def _scatter(name, fn, ins, index, basic, e):
    if basic and type(index) is tuple and all(type(k) is slice for k in index):
        if fn is scatter_add_into:
            return Eqn(CALL, "scatter_add_view", scatter_add_view, ins, {"index": index}, e.outs, context=e.context)
        return Eqn(CALL, "scatter_add_onto", scatter_add_onto_view, ins, {"index": index}, e.outs,
                   context=e.context)
    return Eqn(CALL, name, fn, ins, {"index": index, "basic": basic}, e.outs, context=e.context)


def accumulate_scatters(program):
    """``a + index_add(g)``, where ``a`` is an array the program made and reads nowhere else (another
    scatter: the adjoint of several slices of one input) becomes ``scatter_add_into(a, g)``: the
    contributions are added into one buffer instead of each into its own array of zeros.  With slices
    only, the sum is added into the view ``z[index]`` (:func:`scatter_add_view`); ``c + index_add(g)``
    with ``c`` a constant array of the result's shape and dtype adds ``g`` into a copy of ``c``
    (:func:`scatter_add_onto`) instead of into zeros that are then added to ``c``."""
    eqns = program.eqns
    uses = _use_counts(program)
    made_by = {}
    out = []
    dropped = set()
    for e in eqns:
        if (e.kind == CALL and e.fn in _ADD_ONLY and not e.params and len(e.ins) == 2
                and all(type(a) is Var and uses.get(a) == 1 or _const_array(a) for a in e.ins)):
            res = e.outs[0]
            for acc, sc in (e.ins, e.ins[::-1]):
                if type(sc) is not Var:
                    continue
                p, q = made_by.get(acc), made_by.get(sc)
                if q is None or q.name != "index_add" or q.kind != CALL or type(q.ins[0]) is not Var:
                    continue
                if type(acc) is Var:
                    if p is None or not _owned(p) or not (acc.shape == res.shape and acc.dtype == res.dtype):
                        continue
                    name, fn = "scatter_add_into", scatter_add_into
                elif acc.value.shape == res.shape and acc.value.dtype == res.dtype and res.type is np.ndarray:
                    name, fn = "scatter_add_onto", scatter_add_onto
                else:
                    continue
                if res.shape == sc.shape and res.dtype == sc.dtype == q.ins[0].dtype:
                    dropped.add(id(q))
                    e = _scatter(name, fn, (acc, q.ins[0]), q.params["index"], q.params["basic"], e)
                    break
        for o in e.outs:
            made_by[o] = e
        out.append(e)
    return _without(program, out, dropped)


def _without(program, eqns, dropped):
    """``program`` itself when nothing was dropped, else a program of ``eqns`` less the ``dropped`` ids."""
    if not dropped:
        return program
    return Program(program.inputs, [e for e in eqns if id(e) not in dropped], program.outputs)


_ADD_ONLY = {operator.add, np.add}
_SCATTERS = {scatter_add_into, scatter_add_view, scatter_add_onto, scatter_add_onto_view}


def _const_array(a):
    return type(a) is Const and type(a.value) is np.ndarray


def _factor(a):
    """The value of a constant factor ``fold_factors`` may combine (finite, every entry at least 1 in
    magnitude), and whether all its entries are powers of two; or None."""
    if not isinstance(a, Const):
        return None
    v = a.value
    if type(v) is bool or not (type(v) in _NUMERIC or type(v) is np.ndarray and v.dtype.kind in "fiu"):
        return None
    try:
        m = np.abs(np.asarray(v, dtype=np.float64))
        if not (np.all(np.isfinite(m)) and np.all(m >= 1)):
            return None
        return v, bool(np.all(np.frexp(m)[0] == 0.5))
    except Exception:                                       # pragma: no cover - exotic constants
        return None


def _use_counts(program):
    """How many times each variable is read: by the equations, and as an output."""
    uses = {}
    for e in program.eqns:
        for a in e.ins:
            if type(a) is Var:
                uses[a] = uses.get(a, 0) + 1
    for a in program.outputs:
        if type(a) is Var:
            uses[a] = uses.get(a, 0) + 1
    return uses


def fold_factors(program):
    """``(b * d) * c`` -> ``b * (d * c)`` for constants ``c``, ``d`` where that is exact (see the module
    docstring) and ``b * d`` is read nowhere else; chains fold in one walk."""
    uses = _use_counts(program)
    made_by = {}
    eqns = []
    changed = False
    for e in program.eqns:
        if e.kind == CALL and e.fn in _MUL_IDENTITY and len(e.ins) == 2 and not e.params and len(e.outs) == 1:
            a, c = e.ins if type(e.ins[0]) is Var else e.ins[::-1]
            p = made_by.get(a) if type(a) is Var and uses.get(a) == 1 else None
            fc = _factor(c)
            if p is not None and (p.kind != CALL or p.fn not in _MUL_IDENTITY or len(p.ins) != 2 or p.params
                                  or len(p.outs) != 1):
                p = None
            if p is not None and fc is not None:
                b, d = p.ins if type(p.ins[0]) is Var else p.ins[::-1]
                fd = _factor(d)
                out = e.outs[0]
                if (fd is not None and (fc[1] or fd[1]) and type(b) is Var and b.type is np.ndarray and b.shape
                        and out.type is np.ndarray and b.dtype is not None):
                    k = fd[0] * fc[0] if type(fd[0]) in _NUMERIC and type(fc[0]) in _NUMERIC \
                        else np.multiply(fd[0], fc[0])
                    if np.broadcast_shapes(b.shape, np.shape(k)) == tuple(out.shape) and \
                            np.multiply(np.ones(1, b.dtype), k).dtype == out.dtype:
                        e = Eqn(CALL, e.name, e.fn, (b, Const(k, -1)), {}, e.outs, context=e.context, note=e.note)
                        changed = True
        for o in e.outs:
            made_by[o] = e
        eqns.append(e)
    return Program(program.inputs, eqns, program.outputs) if changed else program


def _float_array(a):
    return type(a) is Var and a.type is np.ndarray and a.dtype is not None and np.dtype(a.dtype).kind == "f"


def cheapen(program):
    """Cheaper spellings of the same arithmetic, bit for bit: ``x * -1`` is ``-x`` (a negation is about
    half a multiplication), and a Python int operand of a float array's ``+ - * /`` is the equal float
    (NumPy converts a float scalar quicker; the result's dtype is the same)."""
    eqns = []
    changed = False
    for e in program.eqns:
        if e.kind == CALL and len(e.ins) == 2 and not e.params and len(e.outs) == 1 and e.fn in _CHEAP:
            a, b = e.ins
            out = e.outs[0]
            if e.fn in _MUL_IDENTITY:
                for x, c in ((a, b), (b, a)):
                    if (_float_array(x) and type(c) is Const and type(c.value) in _NUMERIC and c.value == -1
                            and _same_meta(x, out) and out.type is np.ndarray):
                        e = Eqn(CALL, "numpy.negative", np.negative, (x,), {}, e.outs, context=e.context, note=e.note)
                        changed = True
                        break
            if len(e.ins) == 2:
                ins = tuple(Const(float(c.value), -1) if type(c) is Const and type(c.value) is int
                            and abs(c.value) < 2 ** 53 and _float_array(x) and _same_meta(x, out) else c
                            for c, x in ((a, b), (b, a)))
                if ins != e.ins:
                    e = e.replace(ins=ins)
                    changed = True
        eqns.append(e)
    return Program(program.inputs, eqns, program.outputs) if changed else program


def _sign_source(a, made_by):
    """The value ``a`` is a nonzero multiple of (``-x``, ``x * c`` with every ``|c| >= 1`` finite), of
    ``a``'s shape and dtype, so zero exactly where ``a`` is; or None."""
    e = made_by.get(a)
    if e is None or e.kind != CALL or e.params or len(e.outs) != 1:
        return None
    if e.fn is np.negative and len(e.ins) == 1:
        x = e.ins[0]
    elif e.fn in _MUL_IDENTITY and len(e.ins) == 2:
        x, c = e.ins if type(e.ins[0]) is Var else e.ins[::-1]
        if _factor(c) is None:
            return None
    else:
        return None
    return x if type(x) is Var and x.shape == a.shape and x.dtype == a.dtype and x.type is a.type else None


def untangle_seeds(program):
    """Two rewrites that leave a negation read by one multiplication, which then moves:

    * a zero-seed check (``seeded``, ``seeded_all_of``) only asks where its seeds are zero, so a seed
      ``-x`` or ``x * c`` (``|c| >= 1``, finite) is read as ``x``;
    * ``(-x) * y`` with ``-x`` read nowhere else and ``y`` smaller than ``x`` (broadcast) becomes
      ``x * (-y)``: the negation runs on the smaller array.  Both are exact, bit for bit."""
    made_by = {}
    eqns = []
    changed = False
    for e in program.eqns:
        if e.kind == CALL and getattr(e.fn, "passes_when_nonzero", False) and len(e.ins) > 1:
            ins = (e.ins[0],) + tuple(_sign_source(s, made_by) or s if type(s) is Var else s for s in e.ins[1:])
            if ins != e.ins:
                e = e.replace(ins=ins)
                changed = True
        for o in e.outs:
            made_by[o] = e
        eqns.append(e)
    if not changed:
        return program
    program = eliminate_dead(Program(program.inputs, eqns, program.outputs))
    uses = _use_counts(program)
    made_by = {}
    eqns = []
    for e in program.eqns:
        if e.kind == CALL and e.fn in _MUL_IDENTITY and len(e.ins) == 2 and not e.params and len(e.outs) == 1:
            for n, y in (e.ins, e.ins[::-1]):
                p = made_by.get(n)
                if (p is None or p.fn is not np.negative or p.kind != CALL or p.params or uses.get(n) != 1
                        or not _float_array(y) or type(p.ins[0]) is not Var or not _float_array(p.ins[0])):
                    continue
                x, out = p.ins[0], e.outs[0]
                if (int(np.prod(y.shape)) < int(np.prod(x.shape)) and x.dtype == out.dtype == y.dtype
                        and out.shape == x.shape and out.type is np.ndarray):
                    neg = Var(-len(eqns) - 1, y.shape, y.dtype, np.ndarray)
                    eqns.append(Eqn(CALL, "numpy.negative", np.negative, (y,), {}, (neg,), context=e.context))
                    e = Eqn(CALL, e.name, e.fn, (x, neg), {}, e.outs, context=e.context, note=e.note)
                    break
        for o in e.outs:
            made_by[o] = e
        eqns.append(e)
    return eliminate_dead(Program(program.inputs, eqns, program.outputs))


def absorb_negations(program):
    """A negation read once, by a sum, becomes a difference, bit for bit (``c + (-x)`` is ``c - x`` in
    IEEE arithmetic, and ``(-x) * y`` is ``-(x * y)``; a nan coming out may have the other sign):

    * ``c + (-x)`` -> ``c - x`` and ``c - (-x)`` -> ``c + x``;
    * ``c + (-x) * y``, the product read once too, -> ``c - x * y``;
    * ``(-x) * c`` with ``c`` a float constant -> ``x * (-c)``.

    Float arrays only (an unsigned integer has no exact negation)."""
    if not any(e.fn in _NEG for e in program.eqns if e.kind == CALL):
        return program
    uses = _use_counts(program)
    made_by = {}
    for e in program.eqns:
        for o in e.outs:
            made_by[o] = e
    drop = set()
    replace = {}

    def negated(a):
        p = made_by.get(a)
        if (type(a) is Var and uses.get(a) == 1 and p is not None and p.kind == CALL and p.fn in _NEG
                and not p.params and len(p.ins) == 1 and _float_array(p.ins[0]) and _float_array(a)
                and p.ins[0].dtype == a.dtype and id(p) not in drop):
            return p
        return None

    for e in program.eqns:
        if (e.kind == CALL and e.fn in _MUL_IDENTITY and not e.params and len(e.ins) == 2 and len(e.outs) == 1
                and _float_array(e.outs[0])):
            for j in (0, 1):                    # (-x) * c, c a constant: x * (-c)
                n, c = e.ins[j], e.ins[1 - j]
                if type(c) is Const and (type(c.value) is float or type(c.value) is np.ndarray
                                         and c.value.dtype.kind == "f"):
                    n = negated(n)
                    if n is not None:
                        drop.add(id(n))
                        neg = Const(-c.value if type(c.value) is float else np.negative(c.value), -1)
                        replace[id(e)] = Eqn(CALL, e.name, e.fn, (n.ins[0], neg) if j == 0 else (neg, n.ins[0]),
                                             {}, e.outs, context=e.context, note=e.note)
                        break
            continue
        if e.kind != CALL or e.params or len(e.ins) != 2 or len(e.outs) != 1 or not _float_array(e.outs[0]) \
                or not (e.fn in _ADD_ONLY or e.fn in _SUB_IDENTITY):
            continue
        sub = e.fn in _SUB_IDENTITY
        for k in ((1,) if sub else (1, 0)):
            a, c = e.ins[k], e.ins[1 - k]
            n = negated(a)
            if n is not None:
                drop.add(id(n))
                replace[id(e)] = Eqn(CALL, "numpy.add" if sub else "numpy.subtract", np.add if sub else np.subtract,
                                     (c, n.ins[0]), {}, e.outs, context=e.context, note=e.note)
                break
            m = made_by.get(a)
            if sub or type(a) is not Var or uses.get(a) != 1 or m is None or m.kind != CALL or m.params \
                    or m.fn not in _MUL_IDENTITY or len(m.ins) != 2 or not _float_array(a):
                continue
            for j in (0, 1):
                n = negated(m.ins[j])
                if n is not None and _float_array(m.ins[1 - j]) and m.ins[1 - j].dtype == a.dtype:
                    drop.add(id(n))
                    replace[id(m)] = Eqn(CALL, m.name, m.fn, (n.ins[0], m.ins[1 - j]) if j == 0 else
                                         (m.ins[1 - j], n.ins[0]), {}, m.outs, context=m.context, note=m.note)
                    replace[id(e)] = Eqn(CALL, "numpy.subtract", np.subtract, (c, a), {}, e.outs, context=e.context,
                                         note=e.note)
                    break
            if id(e) in replace:
                break
    if not replace:
        return program
    return Program(program.inputs, [replace.get(id(e), e) for e in program.eqns if id(e) not in drop],
                   program.outputs)


def index_add_sum(a, b, *, index, shape):
    """``index_add(a) + index_add(b)`` at one index of slices: zeros with ``a + b`` written into
    ``z[index]`` (the sum computed into its place: no copy of ``a`` first)."""
    z = np.zeros(shape, np.result_type(a))
    np.add(a, b, out=z[index])
    return z


def place_first_scatter(program):
    """``scatter_add_view(index_add(a, index), b, index)``, the scatter read nowhere else: ``a + b``
    written straight into the zeros (:func:`index_add_sum`), bit for bit the same sum."""
    if not any(e.fn is scatter_add_view for e in program.eqns):
        return program
    uses = _use_counts(program)
    made_by = {}
    out = []
    drop = set()
    for e in program.eqns:
        if e.kind == CALL and e.fn is scatter_add_view and type(e.ins[0]) is Var and uses.get(e.ins[0]) == 1:
            p = made_by.get(e.ins[0])
            if (p is not None and p.kind == CALL and p.name == "index_add" and p.params.get("basic")
                    and type(p.params["index"]) is tuple and all(type(k) is slice for k in p.params["index"])
                    and p.params["index"] == e.params["index"] and type(p.ins[0]) is Var
                    and p.params["out_ndim"] == len(p.params["shape"]) == len(p.ins[0].shape)
                    and p.ins[0].dtype == e.ins[0].dtype and p.ins[0].type is np.ndarray):
                drop.add(id(p))
                e = Eqn(CALL, "index_add_sum", index_add_sum, (p.ins[0], e.ins[1]),
                        {"index": e.params["index"], "shape": tuple(e.ins[0].shape)}, e.outs, context=e.context)
        for o in e.outs:
            made_by[o] = e
        out.append(e)
    return _without(program, out, drop)


_CHEAP = {operator.mul, np.multiply, operator.add, np.add, operator.sub, np.subtract,
          operator.truediv, np.true_divide}


def _owned(e):
    """``e`` returns a new array nobody else holds: an index_add's zeros, an accumulation into one, or
    an elementwise result (the caller checks it is read nowhere else)."""
    return e.kind == CALL and (e.name == "index_add" or e.fn in _SCATTERS or (
        elementwise_ufunc(e.fn) is not None and not e.params and e.outs[0].type is np.ndarray))


def _freeze(v):
    """A hashable stand-in for a parameter value, or raise TypeError."""
    if isinstance(v, (tuple, list)):
        return (type(v),) + tuple(_freeze(x) for x in v)
    if isinstance(v, dict):
        return (dict,) + tuple(sorted((k, _freeze(x)) for k, x in v.items()))
    if isinstance(v, np.ndarray):
        return ("array", id(v))
    if type(v) is slice:                # (slices hash only from Python 3.12 on)
        return (slice, _freeze(v.start), _freeze(v.stop), _freeze(v.step))
    hash(v)
    return (type(v), v)


def _atom_key(a):
    if isinstance(a, Var):
        return a
    v = a.value
    if type(v) in (float, int, bool):
        return (type(v), v)
    return ("const", id(v))


def eliminate_common(program):
    subst = {}
    seen = {}
    eqns = []
    for e in program.eqns:
        ins = e.ins
        if subst and any(a in subst for a in ins):          # (constants are never keys of subst)
            ins = tuple(subst.get(a, a) for a in ins)
            e = e.replace(ins=ins)
        try:
            key = (e.kind, id(e.fn), tuple([a if type(a) is Var else _atom_key(a) for a in ins]),
                   _freeze(e.params) if e.params else ())
        except TypeError:
            key = None
        if key is not None:
            prev = seen.get(key)
            if prev is not None:
                for old, new in zip(e.outs, prev.outs):
                    subst[old] = new
                continue
            seen[key] = e
        eqns.append(e)
    outputs = [subst.get(a, a) for a in program.outputs]
    return Program(program.inputs, eqns, outputs)


def eliminate_dead(program):
    live = {a for a in program.outputs if isinstance(a, Var)}
    kept = []
    for e in reversed(program.eqns):
        if (e.kind == CALL or e.kind == STRUCTURED and not e.fn.guarded) and not any(o in live for o in e.outs):
            continue
        kept.append(e)
        for a in e.ins:
            if isinstance(a, Var):
                live.add(a)
    kept.reverse()
    return Program(program.inputs, kept, program.outputs)


def constants(program):
    """The constants the program reads, in first-use order."""
    seen = {}
    for e in program.eqns:
        for a in e.ins:
            if isinstance(a, Const):
                seen.setdefault(id(a), a)
    for a in program.outputs:
        if isinstance(a, Const):
            seen.setdefault(id(a), a)
    return list(seen.values())
