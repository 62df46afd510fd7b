"""The one adapter between user functions and the flat transforms.

The engines work on flat lists of values.  :class:`FlatFun` turns a user
function, its arguments, ``argnums`` and ``has_aux`` into such a flat
function, and remembers the output structure (and the auxiliary output) of
its last call.  Every public transform goes through it, so ``argnums``,
``has_aux`` and pytrees behave alike everywhere.
"""

import numpy as np

from ..core import Tracer, promote
from ..errors import ArgnumsError, InputDtypeError, OutputDtypeError, ShapeMismatchError
from ..pytree import flatten, unflatten
from ..rules._broadcast import dtype_of, shape_of

__all__ = ["FlatFun", "zeros", "normalize_argnums", "check_input", "strip", "dtype_of", "shape_of",
           "match_structure", "check_holomorphic"]


def _fname(f):
    return getattr(f, "__name__", None) or type(f).__name__


def normalize_argnums(f, argnums, nargs):
    """``(single, argnums tuple)``; raises :class:`ArgnumsError` when out of range."""
    if type(argnums) is int and 0 <= argnums < nargs:               # the common case, quickly
        return True, (argnums,)
    key = (argnums, nargs) if type(argnums) is tuple else None
    known = _ARGNUMS.get(key)
    if known is not None:
        return known
    single = isinstance(argnums, (int, np.integer))
    if not single and not isinstance(argnums, (tuple, list)):
        raise ArgnumsError(f"argnums={argnums!r} ({type(argnums).__name__}) for {_fname(f)}; argnums must be "
                           "an int or a tuple of ints, e.g. argnums=1 or argnums=(0, 1)")
    nums = (argnums,) if single else tuple(argnums)
    if not nums:
        raise ArgnumsError(f"argnums of {_fname(f)} is empty; name at least one argument to differentiate")
    out = []
    for a in nums:
        if not isinstance(a, (int, np.integer)) or not -nargs <= a < nargs:
            raise ArgnumsError(
                f"argnums={argnums!r} but {_fname(f)} was called with {nargs} positional "
                f"argument{'s' if nargs != 1 else ''}; argnums must be integers in [0, {nargs}).")
        out.append(int(a) % nargs)
    if key is not None and len(_ARGNUMS) < 1024:
        _ARGNUMS[key] = (single, tuple(out))
    return single, tuple(out)


_ARGNUMS = {}                   # (argnums tuple, nargs) -> normalized, for repeated calls


def zeros(batch, like):
    """Zeros of shape ``batch + like.shape`` in ``like``'s floating dtype (float64 for anything else)."""
    dt = dtype_of(like)
    return np.zeros(tuple(batch) + tuple(shape_of(like)), dtype=dt if dt.kind in "fc" else np.float64)


def check_input(x, flat, k):
    """Leaf ``k`` of ``flat``'s inputs as a float to differentiate, or an error naming it and what to do."""
    kind = type(x)
    if kind is np.ndarray and x.dtype.kind == "f":
        return x
    if kind is float:
        return np.float64(x)           # NumPy's scalar semantics (x / 0 is inf, not an exception)
    if isinstance(x, (Tracer, np.floating)):
        return x
    if isinstance(x, np.matrix):
        raise InputDtypeError(
            f"{flat._describe(k)} is an np.matrix, whose * and ** are matrix products; chainrule traces "
            "ndarray semantics (elementwise * and **), so the derivative would belong to another function. "
            "Convert it with np.asarray(x) and write matrix products with @.")
    if isinstance(x, np.ndarray) and x.dtype.kind == "f":
        return x
    where = flat._describe(k)
    if isinstance(x, (bool, int, np.integer, np.bool_)) or (isinstance(x, np.ndarray) and x.dtype.kind in "biu"):
        kind = type(x).__name__ if not isinstance(x, np.ndarray) else f"an array of {x.dtype}"
        raise InputDtypeError(
            f"{where} is {kind}; chainrule differentiates floating-point values only. "
            "Pass a float (2.0 rather than 2) or convert with np.asarray(x, dtype=float); "
            "to keep it fixed, leave it out of argnums.")
    if isinstance(x, np.ndarray) and x.dtype.kind == "c" or isinstance(x, np.complexfloating):
        return x                       # complex: tangents and adjoints are complex (the bilinear pairing)
    if isinstance(x, complex):
        return np.complex128(x)
    try:
        a = np.asarray(x)
    except Exception:
        a = None
    if a is not None and a.dtype.kind in "fc":
        return a
    raise InputDtypeError(f"{where} is a {type(x).__name__}, not an array of floats; "
                          "pass NumPy arrays, floats, or tuples, lists and dicts of them.")


def check_holomorphic(name, f, in_leaves, out_leaves, holomorphic):
    """The complex-value rules of ``grad``/``jacfwd``/``jacrev`` (``out_leaves`` None: not known yet).

    Without ``holomorphic=True``, a complex input is fine for a real output in reverse mode (the
    gradient is the conjugate of the steepest-ascent direction), but a Jacobian over complex inputs
    (forward) or of complex outputs (reverse) is a real 2x2 block per entry that a complex array
    cannot hold.  With it, inputs and outputs must be complex and the result is the complex
    derivative, right for holomorphic functions only.
    """
    fname = _fname(f)
    if holomorphic:
        for what, leaves in (("input", in_leaves), ("output", out_leaves or ())):
            for k, x in enumerate(leaves):
                if dtype_of(x).kind != "c":
                    raise InputDtypeError(
                        f"{name}(holomorphic=True) needs complex {what}s, but {what} leaf {k} of {fname} is "
                        f"{dtype_of(x)}. Pass complex values (x + 0j) or drop holomorphic=True.")
        return
    leaves = in_leaves if name == "jacfwd" else out_leaves or ()
    for k, x in enumerate(leaves):
        if dtype_of(x).kind == "c":
            what = "input" if name == "jacfwd" else "output"
            raise (InputDtypeError if what == "input" else OutputDtypeError)(
                f"{name} of {fname}: {what} leaf {k} is complex. For a holomorphic function pass "
                f"holomorphic=True (the result is the complex derivative); otherwise split the complex "
                f"{what} into real and imaginary parts"
                + (", or use jacrev for a real-valued function of complex inputs." if what == "input" else "."))


def strip(tree):
    """Replace tracers of finished transforms by their primal values (for auxiliary outputs)."""
    def one(x):
        while isinstance(x, Tracer) and not x._level.active:
            x = x.primal
        return x
    leaves, td = flatten(tree)
    return unflatten(td, [one(x) for x in leaves])


def _kind(td):
    if td.kind is None:
        return "a leaf (an array or a number)"
    if td.kind is type(None):
        return "None"
    if td.kind is dict:
        return f"a dict with keys {list(td.meta)}"
    return f"a {td.kind.__name__} of {len(td.children)}"


def _difference(given, expected, where="the top level"):
    """``None`` if ``given`` fits ``expected`` (a tuple or list may stand for a named tuple), else why not."""
    if given == expected:
        return None
    named = expected.kind is not None and hasattr(expected.kind, "_fields")
    same_node = given.kind is expected.kind and given.meta == expected.meta
    if (same_node or named and given.kind in (tuple, list)) and len(given.children) == len(expected.children):
        for i, (g, e) in enumerate(zip(given.children, expected.children)):
            key = expected.meta[i] if expected.kind is dict else i
            why = _difference(g, e, f"[{key!r}]" if where == "the top level" else f"{where}[{key!r}]")
            if why is not None:
                return why
        return None
    return f"at {where} it is {_kind(given)} where {_kind(expected)} is expected"


def match_structure(what, given, expected_tree, expected_leaves):
    """Flatten ``given`` and check it matches ``expected`` leaf for leaf in structure, shape and dtype.

    A tuple or list of the right length may stand for a named tuple (the cotangent of ``eigh``'s
    ``EighResult`` may be a plain pair).  A complex leaf where the value is real is refused: the
    imaginary part would be dropped.
    """
    leaves, td = flatten(given)
    if td != expected_tree:
        why = _difference(td, expected_tree)
        if why is not None:
            raise ShapeMismatchError(f"{what} has structure {td!r}, but it must match {expected_tree!r}: {why}")
    out = []
    for i, (g, e) in enumerate(zip(leaves, expected_leaves)):
        gs, es = np.shape(g), shape_of(e)
        if gs != es:
            raise ShapeMismatchError(f"{what}: leaf {i} has shape {gs}, but the value it belongs to has "
                                     f"shape {es}")
        dt = dtype_of(e)
        if dt.kind == "f" and not isinstance(g, Tracer):
            if isinstance(g, (complex, np.complexfloating)) or getattr(g, "dtype", _REAL).kind == "c":
                raise ShapeMismatchError(
                    f"{what}: leaf {i} is complex, but the value it belongs to is real ({dt}); its imaginary "
                    "part would be dropped. Pass the real and the imaginary part in two separate calls "
                    "(the derivative is linear in it).")
            g = np.asarray(g, dtype=dt) if isinstance(g, np.ndarray) or gs else dt.type(g)
        out.append(g)
    return out


_REAL = np.dtype(np.float64)
_PLAIN_LEAVES = frozenset({np.ndarray, float, np.float64, np.float32, np.float16, int, bool,
                           np.int64, np.int32, np.bool_, complex, np.complex128})


class FlatFun:
    """``f`` as a function of the flat list of the leaves of ``args[argnums]``."""

    def __init__(self, f, args, argnums, has_aux=False):
        self.f = f
        self.args = args
        self.single, self.argnums = normalize_argnums(f, argnums, len(args))
        # a repeated argument (argnums=(1, 1)) is differentiated once and its derivative repeated, as in JAX
        self.repeats = None
        if len(set(self.argnums)) != len(self.argnums):
            self.repeats = self.argnums
            self.argnums = tuple(dict.fromkeys(self.argnums))
        self.has_aux = has_aux
        for i, x in enumerate(args):
            if isinstance(x, np.matrix) and i not in self.argnums:      # ours go through check_input
                raise InputDtypeError(
                    f"argument {i} of {_fname(f)} is an np.matrix, whose * and ** are matrix products; on a "
                    "traced value they would be elementwise (ndarray semantics), so the result and its "
                    "derivative would belong to another function. Convert it with np.asarray(x) and write "
                    "matrix products with @.")
        diff = [args[i] for i in self.argnums]
        for i, x in zip(self.argnums, diff):
            if x is None:
                raise InputDtypeError(
                    f"argument {i} of {_fname(f)} is None: there is nothing to differentiate. Pass a float or "
                    "an array there, or leave it out of argnums (argnums=...) to keep it fixed.")
        # "plain": every differentiated argument is one array or scalar, the common case;
        # then no tree needs flattening or rebuilding on the way in.
        plain = True
        for x in diff:
            if type(x) not in _PLAIN_LEAVES and not isinstance(x, Tracer):
                plain = False
                break
        self.plain = plain
        self.whole = plain and self.argnums == tuple(range(len(args)))
        if self.plain:
            leaves, self._in_tree = diff, None
        else:
            leaves, self._in_tree = flatten(diff[0] if self.single else tuple(diff))
        self.in_leaves = [x if type(x) is np.float64 or type(x) is np.ndarray and x.dtype.kind == "f"
                          else check_input(x, self, k) for k, x in enumerate(leaves)]
        self.out_tree = None
        self.aux = None

    def __call__(self, leaves):
        if self.whole:                                    # f(*leaves): every argument differentiated
            return self._finish_call(self.f(*leaves))
        full = list(self.args)
        if self.plain:
            for i, v in zip(self.argnums, leaves):
                full[i] = v
            return self._finish_call(self.f(*full))
        diff = unflatten(self._in_tree, leaves)
        if self.single:
            diff = (diff,)
        for i, v in zip(self.argnums, diff):
            full[i] = v
        return self._finish_call(self.f(*full))

    def _finish_call(self, out):
        if self.has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise TypeError(f"{_fname(self.f)} was given has_aux=True, so it must return a pair "
                                f"(output, auxiliary data); it returned {type(out).__name__}")
            out, self.aux = out
        out_leaves, self.out_tree = flatten(out)
        for k, o in enumerate(out_leaves):
            p = o.primal if isinstance(o, Tracer) else o
            if type(p) is np.float64 or (type(p) is np.ndarray and p.dtype.kind == "f"):
                continue                                  # the common cases, quickly
            if type(o) is np.ndarray and o.dtype.kind == "O":
                o = out_leaves[k] = promote(o)            # np.array([a, b]) of traced values
                p = o.primal if isinstance(o, Tracer) else o
            while isinstance(p, Tracer):
                p = p.primal
            if not (isinstance(p, (int, float, complex)) or getattr(p, "dtype", None) is not None
                    and isinstance(p, (np.ndarray, np.generic)) and p.dtype.kind in "biufc"):
                what = f"an array of {p.dtype}" if isinstance(p, (np.ndarray, np.generic)) else f"a {type(p).__name__}"
                raise OutputDtypeError(
                    f"{_fname(self.f)} returned {what} (output leaf {k}), not a number or an array of numbers. "
                    "Return floats or NumPy arrays, or tuples, lists and dicts of them"
                    + (" (np.array(list(...)) of a generator, for example)."
                       if hasattr(p, "__next__") else "."))
        return out_leaves

    def _describe(self, k):
        nums = self.argnums[0] if self.single else self.argnums
        count = len(self.argnums) if self.plain else self._in_tree.num_leaves
        leaf = f" (leaf {k})" if count > 1 else ""
        return f"argument {nums} of {_fname(self.f)}{leaf}"

    def inputs(self, leaves):
        """Rebuild the differentiated arguments' structure (one tree, or a tuple for several argnums)."""
        if self.repeats is not None:
            return self._repeat(self._inputs(leaves))
        if self.plain:
            return leaves[0] if self.single else tuple(leaves)
        return unflatten(self._in_tree, leaves)

    def _inputs(self, leaves):
        return tuple(leaves) if self.plain else unflatten(self._in_tree, leaves)

    def _repeat(self, parts):
        """One entry per entry of ``argnums`` as given; a repeated one is a copy (each result is the caller's)."""
        by_num = dict(zip(self.argnums, parts))
        seen, out = set(), []
        for i in self.repeats:
            part = by_num[i]
            if i in seen:
                leaves, td = flatten(part)
                part = unflatten(td, [x.copy() if isinstance(x, np.ndarray) else x for x in leaves])
            seen.add(i)
            out.append(part)
        return tuple(out)

    @property
    def in_tree(self):
        """The structure of the differentiated arguments (built on demand for plain ones)."""
        if self._in_tree is None:
            self._in_tree = flatten(self._inputs(self.in_leaves) if self.repeats is not None
                                    else self.inputs(self.in_leaves))[1]
        return self._in_tree

    def outputs(self, leaves):
        return unflatten(self.out_tree, leaves)
