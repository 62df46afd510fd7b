"""Simplifications of a staged :class:`~.ir.Program`, each a function Program -> Program.

* :func:`eliminate_common` -- common subexpressions: an equation that applies
  the same function to the same atoms with the same parameters as an earlier
  one reuses its result (and a guard already checked is not checked again);
  every recorded function is pure, so this never changes a result.
* :func:`eliminate_dead` -- dead code: equations none of whose results reach
  an output or a guard are dropped.  Guards are always kept: a guard that
  failed on a path the program no longer computes still means the traced
  path was not the one this call would take.

The passes walk the equation list in order (forward for CSE, backward for
DCE), never recursively.
"""

import numpy as np

from .ir import CALL, Const, Eqn, Program, Var

__all__ = ["optimise", "eliminate_common", "eliminate_dead"]


def optimise(program):
    """The passes in the order they pay off: CSE exposes dead code, DCE removes it."""
    return eliminate_dead(eliminate_common(program))


def _freeze(v):
    """A hashable stand-in for a parameter value, or raise TypeError."""
    if isinstance(v, (tuple, list)):
        return (type(v),) + tuple(_freeze(x) for x in v)
    if isinstance(v, dict):
        return (dict,) + tuple(sorted((k, _freeze(x)) for k, x in v.items()))
    if isinstance(v, np.ndarray):
        return ("array", id(v))
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
        ins = tuple(subst.get(a, a) if isinstance(a, Var) else a for a in e.ins)
        try:
            key = (e.kind, id(e.fn), tuple(_atom_key(a) for a in ins), _freeze(e.params))
        except TypeError:
            key = None
        if key is not None:
            prev = seen.get(key)
            if prev is not None:
                for old, new in zip(e.outs, prev.outs):
                    subst[old] = new
                continue
            e = Eqn(e.kind, e.name, e.fn, ins, e.params, e.outs, e.multiple)
            seen[key] = e
        else:
            e = Eqn(e.kind, e.name, e.fn, ins, e.params, e.outs, e.multiple)
        eqns.append(e)
    outputs = [subst.get(a, a) if isinstance(a, Var) else a for a in program.outputs]
    return Program(program.inputs, eqns, outputs)


def eliminate_dead(program):
    live = {a for a in program.outputs if isinstance(a, Var)}
    kept = []
    for e in reversed(program.eqns):
        if e.kind == CALL and not any(o in live for o in e.outs):
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
