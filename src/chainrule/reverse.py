"""Reverse mode: record the primal sweep on a tape, then pull adjoints back.

The tape is a Wengert list: one entry per primitive application, in
execution order, ``(tag, parents, vals, params)`` (``tag``: the primitive's
index in ``PRIMITIVES``).  ``parents[i]`` is the
tape index of argument ``i`` (``None`` for a constant) and ``vals`` holds
``(out, *args)`` -- but only the positions the primitive's VJP rules need
(``Primitive.needs``); the others are replaced by a :class:`~chainrule.core.Meta`
with their shape and dtype.  A linear operation therefore keeps no array, and
a linear time-stepping loop holds O(1) states, not one per step.  Inputs are
entries of value ``None``.

A kept constant that may still change (a writable array: the caller's, perhaps
a buffer refilled between two uses) is copied, so the backward sweep sees the
value the primal used; past a few elements one read-only copy serves all its
uses while its bits stay the same.  A read-only array
(``data.setflags(write=False)``) is kept by reference.

The backward sweep walks the tape once, from the end, in a plain loop (no
recursion, so 10^5 chained operations are fine).  Adjoints may carry a
leading batch axis of k output directions, so ``jacrev`` pulls all m rows of
a Jacobian in one sweep.  A consuming sweep drops each entry -- and the
values it kept -- as soon as the entry has been processed.
"""

import numpy as np

from .core import EMPTY, PRIMITIVES, Level, Meta, Tracer, bind, meta, promote, quietly
from .errors import NotDifferentiableError

__all__ = ["ReverseTracer", "ReverseLevel", "Pullback", "vjp_flat", "sweep_backward", "tape_nbytes"]


class ReverseTracer(Tracer):
    """A primal value and the index of the tape entry that produced it."""

    __slots__ = ("node",)

    def __init__(self, level, primal, node):
        self._level = level
        self.primal = primal
        self.node = node


_ARRAYS = (np.ndarray, Tracer)


def _drop(vals, drop):
    """``vals`` with the arrays at positions ``drop`` replaced by their Meta."""
    if len(drop) == 1 and drop[0] == 0 and type(vals[0]) is np.ndarray:    # a product's output, the common case
        v = vals[0]
        return (meta(v.shape, v.dtype),) + vals[1:]
    vals = list(vals)
    m = None                                                # the last Meta: x + y's three values share one
    for k in drop:
        v = vals[k]
        if type(v) is np.ndarray:
            shape = v.shape
            if m is None or m.shape != shape or m.dtype is not v.dtype:
                m = meta(shape, v.dtype)
            vals[k] = m
        elif isinstance(v, Tracer):
            while isinstance(v, Tracer):                    # read shape and dtype off the plain value
                v = v.primal
            vals[k] = meta(getattr(v, "shape", ()), v.dtype if hasattr(v, "dtype") else np.result_type(v))
        elif isinstance(v, np.ndarray):                     # a subclass
            vals[k] = meta(v.shape, v.dtype)
    return tuple(vals)


def may_change(v):
    """Whether the plain array ``v`` may still change after the tape kept it: it is writable, or a
    read-only view (a broadcast) of a writable array.  Arrays the engines make are results nobody
    else writes to, but a constant can be the caller's buffer, refilled between two uses."""
    if v.flags.writeable:
        return True
    base = v.base
    return base is not None and getattr(getattr(base, "flags", None), "writeable", False)


# Up to this many bytes a copy per use costs less than looking for an earlier copy and comparing with
# it (and holds no more memory than one intermediate result of that size); past it, a constant used
# again with the same bits shares one copy on the tape.  A copy the tape keeps is fresh memory: at
# 32 KB one costs ~25 us in page faults, a comparison ~3 us, and a loop of 2000 steps using a 32 KB
# matrix 4 times a step would otherwise keep 256 MB of copies of it.
_SMALL_BYTES = 256


def _root(v):
    """The array that owns the memory of the view ``v`` (``v`` itself if it owns its memory)."""
    while True:
        base = v.base
        if type(base) is not np.ndarray:
            return v
        v = base


def _meta(v):
    # Scalars are kept as they are (cheaper than a Meta); arrays and tracers are not.  The rare path
    # (variadic and multiple-result primitives) makes a Meta of its own, not the shared one of
    # ``meta``: a rule called once per piece of one node may recognise the node by its output's Meta
    # (concatenate's offsets, rules/shape.py).
    if isinstance(v, _ARRAYS):
        return Meta(v.shape, v.dtype)
    return v


# The tape marker of output ``k`` of a primitive with several results: ``(SELECT, (node,), k, count)``.
# Entries name their primitive by its ``tag``, an int (``PRIMITIVES[tag]``), not by the object, and
# hold ``None`` for no parameters, not the empty dict: a tuple of ints, floats and arrays only is
# untracked by Python's cyclic garbage collector at its first young collection, so a long tape of
# scalar code adds nothing for each full collection to walk (the Primitive object or any dict would
# keep the entry tracked: about 30% of the recording time of 50 000 scalar operations went into
# such collections).
SELECT = -1


class ReverseLevel(Level):
    """One reverse-mode transform; owns the tape (a list of entries)."""

    __slots__ = ("tape", "snapshots", "primal_of")

    def __init__(self):
        Level.__init__(self)
        self.tape = []
        self.primal_of = None       # under chainrule.jit: node -> its staged primal, to name adjoints
        self.snapshots = None       # (memory, shape, dtype) -> (bits, copy): one copy while they are unchanged

    def _protect(self, vals, positions):
        """``vals`` with the constant arrays at ``positions`` that may still change replaced by copies.

        A constant used again with the same bits (the matrix of a linear time-stepping loop, or its
        transpose ``A.T``, a new view each time) shares one read-only copy: the bits of each use
        are compared with those of the last copy made from the same memory, shape and dtype.  The
        comparison is what makes sharing safe (a buffer refilled between two uses gets a new copy),
        so the key only has to find the candidate.
        """
        vals = list(vals)
        for k in positions:
            v = vals[k]
            if type(v) is not np.ndarray or not may_change(v):
                continue
            if v.nbytes <= _SMALL_BYTES or v.dtype.kind == "O":
                vals[k] = v.copy()
                continue
            snapshots = self.snapshots
            if snapshots is None:
                snapshots = self.snapshots = {}
            key = (id(_root(v)), v.shape, v.dtype)
            bits = v.tobytes()
            seen = snapshots.get(key)
            if seen is not None and seen[0] == bits:
                vals[k] = seen[1]
            else:
                vals[k] = c = np.frombuffer(bits, dtype=v.dtype).reshape(v.shape)     # read-only
                snapshots[key] = (bits, c)
        return tuple(vals)

    def new_input(self, value):
        node = len(self.tape)
        self.tape.append(None)
        return ReverseTracer(self, value, node)

    def process_unary(self, prim, a):
        if self.nested or not prim.fast:
            return self.process(prim, (a,), EMPTY)
        x = a.primal
        out = prim.impl(x)
        drop = prim.save_plans[1]
        if drop is None:
            raise prim.missing_rule((a.node,))
        vals = (out, x)
        if drop and (type(out) is np.ndarray or type(x) is np.ndarray):
            vals = _drop(vals, drop)
        tape = self.tape
        node = len(tape)
        tape.append((prim.tag, (a.node,), vals, None))
        return ReverseTracer(self, out, node)

    def process(self, prim, args, params):
        # Unrolled for one and two arguments, the bulk of all operations.
        n = len(args)
        if n == 1:
            a = args[0]                                     # the only argument: it is ours
            x = a.primal
            parents = (a.node,)
            mask = 1
            primals = (x,)
        elif n == 2:
            a, b = args
            if type(a) is ReverseTracer and a._level is self:
                x = a.primal
                pa = a.node
                mask = 1
            else:
                x = a
                pa = None
                mask = 0
            if type(b) is ReverseTracer and b._level is self:
                y = b.primal
                parents = (pa, b.node)
                mask |= 2
            else:
                y = b
                parents = (pa, None)
            primals = (x, y)
        else:
            return self._process_general(prim, args, params)
        if self.nested:
            out = bind(prim, primals, params)
            if self.primal_of is not None:
                self.primal_of[len(self.tape)] = out
        elif params is EMPTY:
            out = prim.impl(*primals)
        else:
            out = prim.impl(*primals, **params)
        if not prim.fast:
            return self._process_rare(prim, list(primals), list(parents), mask, out, params)
        drop = prim.save_plans[mask]
        if drop is None:
            raise prim.missing_rule(parents)
        vals = (out, *primals)
        if drop and (self.nested or type(out) is np.ndarray or type(x) is np.ndarray
                     or (n == 2 and type(y) is np.ndarray)):
            vals = _drop(vals, drop)
        if mask != 3 and n == 2:                            # a constant argument: keep a copy if it may change
            k = 2 if mask == 1 else 1
            if type(vals[k]) is np.ndarray or mask == 0:
                vals = self._protect(vals, (k,) if mask else (1, 2))
        tape = self.tape
        node = len(tape)
        tape.append((prim.tag, parents, vals, None if params is EMPTY else params))
        return ReverseTracer(self, out, node)

    def _process_general(self, prim, args, params):
        primals = []
        parents = []
        mask = 0
        bit = 1
        for a in args:
            if type(a) is ReverseTracer and a._level is self:
                primals.append(a.primal)
                parents.append(a.node)
                mask |= bit
            else:
                primals.append(a)
                parents.append(None)
            bit <<= 1
        out = bind(prim, primals, params) if self.nested else prim.impl(*primals, **params)
        if self.primal_of is not None:
            self.primal_of[len(self.tape)] = out
        if not prim.fast:
            return self._process_rare(prim, primals, parents, mask, out, params)
        drop = prim.save_plans[mask]
        if drop is None:
            raise prim.missing_rule(parents)
        tape = self.tape
        node = len(tape)
        vals = _drop((out, *primals), drop)
        constants = [k + 1 for k, p in enumerate(parents) if p is None and type(vals[k + 1]) is np.ndarray]
        if constants:
            vals = self._protect(vals, constants)
        tape.append((prim.tag, tuple(parents), vals, None if params is EMPTY else params))
        return ReverseTracer(self, out, node)

    def _process_rare(self, prim, primals, parents, mask, out, params):
        """Non-differentiable, variadic and multiple-result primitives."""
        if not prim.differentiable:
            return out
        vjps = prim.vjps
        if vjps is None:
            raise NotDifferentiableError(prim.name)
        if prim.arity is None:                              # variadic: keep what any rule needs
            needs = prim.needs
            keep = ["out" in needs] + ["args" in needs] * len(primals)
        else:
            drop = prim.save_plans[mask]
            if drop is None:
                raise prim.missing_rule(parents)
            keep = [k not in drop for k in range(len(primals) + 1)]
        vals = [out, *primals]
        for k, v in enumerate(vals):
            if not keep[k]:
                vals[k] = tuple(map(_meta, v)) if k == 0 and prim.multiple_results else _meta(v)
        constants = [k + 1 for k, p in enumerate(parents) if p is None and type(vals[k + 1]) is np.ndarray]
        if constants:
            vals = self._protect(vals, constants)
        tape = self.tape
        node = len(tape)
        tape.append((prim.tag, tuple(parents), tuple(vals), params))
        if prim.multiple_results:
            outs = []
            for k, o in enumerate(out):
                tape.append((SELECT, (node,), k, len(out)))
                outs.append(ReverseTracer(self, o, len(tape) - 1))
            return tuple(outs)
        return ReverseTracer(self, out, node)


def _zeros_like_adjoint(meta, batch):
    return np.zeros(batch + tuple(np.shape(meta)), dtype=getattr(meta, "dtype", np.float64))


_NOTHING_OWNED = frozenset()
_F64 = np.float64


def sweep_backward(tape, adjoints, consume, keep_adjoints=False, namer=None, stop=0):
    """Pull the adjoints in ``adjoints`` (a list as long as the tape) back to the inputs.

    On return ``adjoints[i]`` holds the adjoint of every input entry ``i``
    that was reached (``None`` otherwise); with ``keep_adjoints`` (for
    ``explain``) the intermediates' adjoints stay too.  With ``consume`` the
    tape entries are dropped as they are processed, freeing the values they kept.
    ``namer(i, adjoint)`` (chainrule.jit: names staged adjoints) sees each node's final adjoint.
    ``stop``: the sweep processes entries ``stop ..`` only; the adjoints it leaves on earlier
    entries are those of the cut there (the fan-out's tape segments, ``transforms/segments.py``).

    A rule may return ``None`` for an exact zero (a join's piece or the value written into a
    buffer when no adjoint row reads it: :func:`chainrule.rules._broadcast.zero_as_none`), and
    the work only it leads back to is never visited.  Rows of a reverse Jacobian that read early
    states of a trajectory then cost the sweep only the steps up to those states.

    Where several contributions meet, the first sum is a fresh array that
    only this sweep references; further contributions are added into it in
    place instead of allocating a new array each time.
    """
    owned = _NOTHING_OWNED
    prims = PRIMITIVES
    for i in range(len(tape) - 1, stop - 1, -1):
        g = adjoints[i]
        if g is None:
            continue
        if namer is not None:
            namer(i, g)
        entry = tape[i]
        if entry is None:                                   # an input: its adjoint is a result
            continue
        if not keep_adjoints:
            adjoints[i] = None
        if consume:
            tape[i] = None
        tag, parents, vals, params = entry
        if tag < 0:
            _backward_select(parents[0], vals, params, g, adjoints)
            continue
        prim = prims[tag]
        if params is None:
            params = EMPTY
        if not prim.fast:
            _backward_rare(prim, parents, vals, params, g, adjoints)
            continue
        vjps = prim.vjps
        j = 0
        for p in parents:
            if p is not None:
                try:
                    c = vjps[j](g, vals, params)
                except FloatingPointError:
                    c = quietly(vjps[j], g, vals, params)
                a = adjoints[p]
                if a is None:
                    adjoints[p] = c
                elif type(a) is _F64 and type(c) is _F64:       # scalar code: nothing to own
                    adjoints[p] = a + c
                elif (p in owned and type(a) is np.ndarray and type(c) is np.ndarray
                      and c.shape == a.shape and c.dtype == a.dtype):
                    np.add(a, c, out=a)                     # a buffer this sweep made: add in place
                elif c is None:                             # a rule's exact zero (a write no row reads)
                    pass
                else:
                    a = adjoints[p] = a + c
                    if type(a) is np.ndarray:
                        if owned is _NOTHING_OWNED:
                            owned = set()
                        owned.add(p)
                    elif p in owned:
                        owned.discard(p)                    # a tracer now: never written in place
            j += 1


def _backward_select(parent, k, count, g, adjoints):
    """The backward step of a select marker: ``g`` is the adjoint of output ``k`` of ``parent``."""
    acc = adjoints[parent]
    if acc is None:
        acc = adjoints[parent] = [None] * count
    acc[k] = g if acc[k] is None else acc[k] + g


def _backward_rare(prim, parents, vals, params, g, adjoints):
    """The backward step of variadic and multiple-result primitives."""
    if prim.multiple_results:
        outs = vals[0]
        k = next(k for k, x in enumerate(g) if x is not None)
        batch = tuple(np.shape(g[k]))[: np.ndim(g[k]) - len(np.shape(outs[k]))]
        g = tuple(_zeros_like_adjoint(o, batch) if x is None else x for x, o in zip(g, outs))
    vjps = prim.vjps
    variadic = prim.arity is None
    for j, p in enumerate(parents):
        if p is None:
            continue
        try:
            c = vjps(j, g, vals, params) if variadic else vjps[j](g, vals, params)
        except FloatingPointError:
            c = quietly(vjps, j, g, vals, params) if variadic else quietly(vjps[j], g, vals, params)
        if c is None:                                       # a rule's exact zero (a join's piece no row reads)
            continue
        a = adjoints[p]
        adjoints[p] = c if a is None else a + c


class Pullback:
    """The backward half of ``vjp``: call it with one adjoint per output.

    It may be called any number of times (each call sweeps a copy of the
    tape's index, so the recorded values stay); ``consume=True`` sweeps the
    tape itself and frees it as it goes, for callers that pull only once.
    """

    __slots__ = ("tape", "out_nodes", "in_nodes", "namer")

    def __init__(self, tape, out_nodes, in_nodes, namer=None):
        self.tape = tape
        self.out_nodes = out_nodes
        self.in_nodes = in_nodes
        self.namer = namer

    def __call__(self, cotangents, consume=False):
        tape = self.tape
        if tape is None:
            raise RuntimeError("this pullback was consumed by an earlier call with consume=True")
        adjoints = [None] * len(tape)
        for node, ct in zip(self.out_nodes, cotangents):
            if node is not None and ct is not None:
                a = adjoints[node]
                adjoints[node] = ct if a is None else a + ct
        if consume:
            self.tape = None
        else:
            tape = list(tape)
        sweep_backward(tape, adjoints, consume=True, namer=self.namer)
        return [adjoints[n] for n in self.in_nodes]


def vjp_flat(fun, primals, level=None):
    """Run ``fun`` (a list of values -> a list of values) on a tape.

    Returns ``(out_primals, pullback)``; ``pullback(cotangents)`` returns one
    adjoint per input, ``None`` for an input the outputs do not depend on.
    ``level``: a fresh :class:`ReverseLevel` (or subclass) to record on.
    """
    with ReverseLevel() if level is None else level as level:
        namer = _adjoint_namer(level, primals)
        inputs = [level.new_input(p) for p in primals]
        outs = [promote(o) if type(o) is np.ndarray and o.dtype.kind == "O" else o for o in fun(inputs)]
    out_primals, out_nodes = [], []
    for o in outs:
        if isinstance(o, ReverseTracer) and o._level is level:
            out_primals.append(o.primal)
            out_nodes.append(o.node)
        else:
            out_primals.append(o)
            out_nodes.append(None)
    level.primal_of = None
    return out_primals, Pullback(level.tape, out_nodes, range(len(inputs)), namer)   # inputs: entries 0..n-1


def _adjoint_namer(level, primals):
    """Under a level that names adjoints (chainrule.jit's staging: ``v3_bar``, ``x_bar`` in the generated
    code), record each node's primal and return the namer the backward sweep calls; else None."""
    if not level.nested:
        return None
    stager = None
    for lv in level.stack:
        if getattr(lv, "name_adjoint", None) is not None:
            stager = lv
    if stager is None:
        return None
    primal_of = level.primal_of = dict(enumerate(primals))
    return lambda i, g: stager.name_adjoint(primal_of.get(i), g)


def _nbytes(v):
    if isinstance(v, np.ndarray):
        return v.nbytes
    if isinstance(v, np.generic):
        return v.itemsize
    if isinstance(v, tuple):
        return sum(_nbytes(x) for x in v)
    if isinstance(v, Tracer):
        return _nbytes(v.primal)
    return 0


def tape_nbytes(tape):
    """Bytes of array data the tape keeps for the backward sweep (values shared by entries count once)."""
    seen = set()
    total = 0
    for entry in tape:
        if entry is None:
            continue
        for v in entry[2] if isinstance(entry[2], tuple) else ():
            if id(v) not in seen:
                seen.add(id(v))
                total += _nbytes(v)
    return total


def record(level, prim, args, outs, saved, params):
    """Append to ``level``'s tape one entry for a call whose results the caller computed itself.

    For rules that must run user code on the values one level down before
    the entry exists (``custom_vjp`` runs its forward function there, so
    that outer levels see it).  ``prim`` is variadic with several results;
    the entry's ``vals`` are ``(outs as Meta, *saved)``, so ``tape_nbytes``
    counts exactly ``saved``.  Tracers of ``level`` among ``args`` become the
    parents.  Returns one tracer of ``level`` per output.
    """
    parents = tuple(a.node if type(a) is ReverseTracer and a._level is level else None for a in args)
    tape = level.tape
    node = len(tape)
    tape.append((prim.tag, parents, (tuple(_meta(o) for o in outs), *saved), params))
    tracers = []
    for k, o in enumerate(outs):
        tape.append((SELECT, (node,), k, len(outs)))
        tracers.append(ReverseTracer(level, o, len(tape) - 1))
    return tracers
