"""``jit``: trace a function once per signature, then run the generated code.

The cache of a jitted function maps a *signature* -- the pytree structure of
the arguments, the shape and dtype of each array, the type of each scalar,
and the values of static arguments and of Python ints, bools and strings --
to the paths traced for it.  A path is one compiled program; its guards
check that the call takes the same branches and reads the same numbers as
the traced call did.  A call tries the paths of its signature in turn; when
every guard set fails it traces a new path, and past ``max_paths`` paths it
calls the function eagerly (with one warning): never a stale result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import functools
import gc
import inspect
import threading
import warnings
from collections import OrderedDict

import numpy as np

from ..core import Tracer, any_active, promote
from ..pytree import flatten, unflatten
from .codegen import MISS, generate
from .ir import Program
from .passes import optimise
from .staging import StagingLevel, StagingTracer

__all__ = ["jit", "Jitted"]

MAX_PATHS = 8            # traced paths per signature before falling back to eager calls
MAX_SIGNATURES = 32      # signatures kept per function (least recently used dropped first)


class _Static:
    """Marks the place of a static argument in the flattened arguments."""

    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index

    def __eq__(self, other):
        return isinstance(other, _Static) and other.index == self.index

    def __hash__(self):
        return hash(("static", self.index))


_EAGER = object()
_SCALAR_KEY = {float: float, np.float64: np.float64, np.float32: np.float32}   # scalars of the quick call


def _leaf_signature(x):
    """``(signature, dynamic)`` of one argument leaf; ``_EAGER`` for one jit cannot stage."""
    t = type(x)
    if t is np.ndarray:
        if x.dtype.kind == "O":
            return _EAGER
        return ("array", x.shape, x.dtype.str), True
    if t is float:
        return ("float",), True
    if isinstance(x, np.generic):
        return ("scalar", t), True
    if isinstance(x, Tracer):
        return _EAGER
    try:
        hash(x)
    except TypeError:
        return _EAGER
    return ("static", t, x), False                      # ints, bools, strings, None, functions


class Path:
    """One traced program: its source, the compiled function and the output structure."""

    __slots__ = ("program", "source", "fn", "out_tree", "traced_program")

    def __init__(self, program, traced_program, source, fn, out_tree):
        self.program = program
        self.traced_program = traced_program
        self.source = source
        self.fn = fn
        self.out_tree = out_tree


class _Entry:
    __slots__ = ("paths", "eager")

    def __init__(self):
        self.paths = ()             # replaced whole (never appended to): readers need no lock
        self.eager = False


class Jitted:
    """A jitted function: call it as the original; ``source(*args)`` shows the generated code.

    ``trace_count`` counts the traces so far (one per signature and path).

    >>> import numpy as np
    >>> g = jit(lambda x: np.sin(x) * x)
    >>> float(g(2.0)) == float(np.sin(2.0) * 2.0), g.trace_count
    (True, 1)
    >>> "np.sin(" in g.source(2.0)
    True
    """

    def __init__(self, fun, static_argnums=(), max_paths=MAX_PATHS):
        if isinstance(static_argnums, int):
            static_argnums = (static_argnums,)
        self.fun = fun
        self.static_argnums = tuple(sorted(set(static_argnums)))
        self.max_paths = max_paths
        self.trace_count = 0
        self._cache = OrderedDict()
        self._fast = {}
        self._lock = threading.RLock()
        functools.update_wrapper(self, fun)

    def _signature(self, args, kwargs):
        marked = list(args)
        statics = []
        for i in self.static_argnums:
            if i >= len(args):
                raise IndexError(f"static_argnums names argument {i}, but {len(args)} were given")
            marked[i] = _Static(i)
            statics.append(args[i])
        leaves, tree = flatten((tuple(marked), kwargs))
        sigs = []
        dyn = []
        for x in leaves:
            if type(x) is _Static:
                sigs.append(("static", args[x.index]))
                continue
            s = _leaf_signature(x)
            if s is _EAGER:
                return None
            sigs.append(s[0])
            if s[1]:
                dyn.append(x)
        try:
            key = (tree, tuple(sigs))
            hash(key)
        except TypeError as e:
            raise TypeError(f"chainrule.jit: a static argument of {_name(self.fun)} is not hashable ({e}); "
                            "static arguments are part of the cache key") from None
        return key, leaves, tree, dyn

    def __call__(self, *args, **kwargs):
        if any_active():                 # inside a transform (or another jit): run as part of it
            return self.fun(*args, **kwargs)
        if kwargs:
            return self._call(args, kwargs)[0]
        # The common call: positional floats and arrays, no static arguments; keyed without flattening.
        try:
            if len(args) == 2:          # (unrolled for the usual arities: a comprehension's frame costs)
                a, b = args
                key = ((a.shape, a.dtype) if type(a) is np.ndarray else _SCALAR_KEY[type(a)],
                       (b.shape, b.dtype) if type(b) is np.ndarray else _SCALAR_KEY[type(b)])
            elif len(args) == 1:
                a = args[0]
                key = ((a.shape, a.dtype) if type(a) is np.ndarray else _SCALAR_KEY[type(a)],)
            else:
                key = tuple([(a.shape, a.dtype) if type(a) is np.ndarray else _SCALAR_KEY[type(a)] for a in args])
        except KeyError:
            key = None
        if key is not None and not self.static_argnums:
            entry = self._fast.get(key)
            if entry is not None and entry.paths:
                for path in entry.paths:
                    out = path.fn(*args)
                    if out is not MISS:
                        return out if path.out_tree is None else unflatten(path.out_tree, out)
            result, entry = self._call(args, {})
            if entry is not None:
                self._fast[key] = entry
            return result
        return self._call(args, {})[0]

    def _call(self, args, kwargs):
        """``(result, cache entry)`` by the full signature (``None``: the call ran eagerly).

        Thread safety: readers never lock -- an entry's ``paths`` is a tuple replaced whole, never
        changed in place -- and everything that changes the cache (a new entry, an eviction, a new
        path, the switch to eager calls) happens under ``self._lock``, after trying again the paths
        another thread may have traced meanwhile.  A program runs on its own arrays only, so two
        threads may run one path at once."""
        sig = self._signature(args, kwargs)
        if sig is None:
            return self.fun(*args, **kwargs), None
        key, leaves, tree, dyn = sig
        entry = self._cache.get(key)
        tried = ()
        if entry is not None:
            tried = entry.paths
            for path in tried:
                out = path.fn(*dyn)
                if out is not MISS:
                    return (out if path.out_tree is None else unflatten(path.out_tree, out)), entry
        with self._lock:
            entry = self._cache.get(key)
            if entry is None:
                entry = self._cache[key] = _Entry()
                if len(self._cache) > MAX_SIGNATURES:
                    dropped = self._cache.popitem(last=False)[1]
                    self._fast = {k: e for k, e in self._fast.items() if e is not dropped}
            else:
                self._cache.move_to_end(key)
                for path in entry.paths:
                    if path in tried:
                        continue
                    out = path.fn(*dyn)                     # traced by another thread meanwhile
                    if out is not MISS:
                        return (out if path.out_tree is None else unflatten(path.out_tree, out)), entry
            eager = entry.eager or len(entry.paths) >= self.max_paths
            if eager and not entry.eager:
                entry.eager = True
                warnings.warn(
                    f"chainrule.jit: {_name(self.fun)} took more than {self.max_paths} different paths "
                    "through value-dependent branches (if/while on traced values, or numbers read from "
                    "them) for arguments of one signature; it is called without jit for that signature "
                    "from now on. Make such values static (static_argnums) or use np.where.",
                    RuntimeWarning, stacklevel=3)
            if not eager:
                path, result = self._trace(args, leaves, tree)
                entry.paths = entry.paths + (path,)
                return result, entry
        return self.fun(*args, **kwargs), entry

    def _trace(self, args, leaves, tree):
        """Run ``fun`` under a staging level; returns ``(path, the call's result)``."""
        self.trace_count += 1
        collecting = gc.isenabled()
        gc.disable()                     # tracing makes many objects that all live: nothing to collect
        try:
            return self._trace_body(args, leaves, tree)
        finally:
            if collecting:
                gc.enable()

    def _trace_body(self, args, leaves, tree):
        names = _parameter_names(self.fun, args, leaves)
        with StagingLevel() as level:
            inputs = []
            staged = []
            for x in leaves:
                if type(x) is _Static:
                    staged.append(x)
                elif type(x) is float:
                    # Computed as NumPy's float64, as every transform does with a Python float (x / 0
                    # is inf, not an exception); the generated code converts it on entry.
                    t = level.new_input(np.float64(x))
                    t.var.type = float
                    inputs.append(t.var)
                    staged.append(t)
                elif _leaf_signature(x)[1]:
                    t = level.new_input(x)
                    inputs.append(t.var)
                    staged.append(t)
                else:
                    staged.append(x)
            call_args, call_kwargs = unflatten(tree, staged)
            call_args = list(call_args)
            for i in self.static_argnums:
                call_args[i] = args[i]
            out = self.fun(*call_args, **call_kwargs)
            out_leaves, out_tree = flatten(out)
            atoms, values = [], []
            for o in out_leaves:
                if type(o) is np.ndarray and o.dtype.kind == "O":
                    o = promote(o)
                if isinstance(o, Tracer) and type(o) is not StagingTracer:
                    raise TypeError(f"chainrule.jit: {_name(self.fun)} returned a traced value of an inner "
                                    "transform (a tracer leaked out of grad/jvp); return plain results")
                atoms.append(level.atom(o))
                values.append(o.primal if type(o) is StagingTracer else o)
        for v, name in zip(inputs, names):
            v.name = name
        traced = Program(inputs, level.eqns, atoms)
        program = optimise(traced)
        form = _form(out_tree)
        source, fn = generate(program, _name(self.fun), form)
        return (Path(program, traced, source, fn, None if form else out_tree),
                unflatten(out_tree, values))

    def paths(self, *args, **kwargs):
        """The traced paths for the signature of ``args`` (tracing one if there is none)."""
        sig = self._signature(args, kwargs)
        if sig is None:
            raise TypeError("chainrule.jit: these arguments are traced values or object arrays; "
                            "jit runs such calls eagerly and has no program for them")
        key, leaves, tree, dyn = sig
        entry = self._cache.get(key)
        if entry is None or not entry.paths:
            entry = self._call(args, kwargs)[1]
        return list(entry.paths)

    def source(self, *args, **kwargs):
        """The generated Python source for the signature of ``args``: one line per operation, named as
        in a Wengert list (inputs keep their parameter names, ``v1 .. vn`` the values computed from
        them, ``v3_bar`` an adjoint), with the NumPy call and the guards as comments.

        >>> import chainrule as cr
        >>> print(cr.jit(lambda x, y: x * y + np.sin(x)).source(np.ones(2), np.ones(2)))   # doctest: +NORMALIZE_WHITESPACE
        def _lambda_(x, y):
            v1 = x * y    # numpy.multiply
            v2 = np.sin(x)
            v3 = np.add(v1, v2, out=v1)    # numpy.add, into v1's array
            del v1, v2
            return v3
        <BLANKLINE>
        """
        paths = self.paths(*args, **kwargs)
        if len(paths) == 1:
            return paths[0].source
        return "\n".join(f"# path {k + 1} of {len(paths)}\n{p.source}" for k, p in enumerate(paths))

    def __repr__(self):
        return f"<chainrule.jit of {_name(self.fun)}>"


def _parameter_names(fun, args, leaves):
    """The names of ``fun``'s parameters for the inputs of the program (``x``, ``y``: the generated
    code reads like the Wengert list), when each argument is one input; else no names."""
    if len(leaves) != len(args) or any(type(x) is _Static for x in leaves):
        return [None] * len(leaves)
    try:
        params = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):
        return [None] * len(leaves)
    names = []
    for p in params[:len(args)]:
        if p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            break
        names.append(p.name)
    names += [None] * (len(leaves) - len(names))
    return names if len(set(n for n in names if n)) == len([n for n in names if n]) else [None] * len(leaves)


def _form(tree):
    """How generated code returns the outputs itself: "leaf", "tuple", or None (a list to unflatten)."""
    if tree.kind is None:
        return "leaf"
    if tree.kind is tuple and all(c.kind is None for c in tree.children):
        return "tuple"
    return None


def _name(fun):
    return getattr(fun, "__name__", None) or type(fun).__name__


def jit(fun: Callable | None = None, *, static_argnums: int | Sequence[int] = (), max_paths: int = MAX_PATHS) -> Any:
    """Compile ``fun`` by tracing: the first call per signature records every NumPy operation
    (derivative rules included, for ``jit(grad(f))``) into a flat program, simplifies it and generates
    Python calling NumPy; later calls with the same signature run only that code.

    Args:
      fun: any function of arrays, floats and pytrees of them, also a transformed one
        (``grad(f)``, ``hessian(f)``, ``jacobian(f)``).  Usable as a decorator.
      static_argnums: arguments that are not traced: their values are part of the cache key (one
        trace per value) and ``fun`` sees them as they are.  Python ints, bools and strings
        anywhere in the arguments are treated the same way.
      max_paths: how many paths through value-dependent branches are traced per signature before
        calls of that signature run eagerly (with a warning).

    Returns a :class:`Jitted` callable with the same results as ``fun``.  A Python ``if`` or
    ``while`` on a traced value, and a number read from one, become guards of the program: a call
    that would take another path traces that path too, so no call is answered by a stale program.
    Python floats are computed as NumPy float64 scalars (as every transform does with them).
    Python side effects of ``fun`` (printing, appending to a list) happen while tracing only, and
    arrays ``fun`` closes over are copied at trace time: pass arrays that change as arguments.
    Called inside a transform (``grad(jit(f))``) or with traced values, ``fun`` runs as it is.

    >>> import numpy as np
    >>> import chainrule as cr
    >>> g = cr.jit(cr.grad(lambda x, y: x * y + np.sin(x)))
    >>> round(float(g(2.0, 3.0)), 12), round(float(g(1.0, 3.0)), 12), g.trace_count
    (2.583853163453, 3.540302305868, 1)
    """
    if fun is None:
        return lambda f: Jitted(f, static_argnums, max_paths)
    return Jitted(fun, static_argnums, max_paths)
