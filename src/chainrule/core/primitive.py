"""Primitives and the registry that maps NumPy callables to them.

A :class:`Primitive` is one differentiable operation: a name, its NumPy
implementation, and one JVP and one VJP rule per argument.  The engines call
the rules in a single internal convention, ``rule(t, vals, params)``, where
``vals = (out, *args)`` and ``params`` holds the keyword-only static
parameters; the declaration helpers in :mod:`chainrule.rules._declare` hide
that convention from rule authors.

``needs[i]`` lists the positions of ``vals`` (0 is the output, 1 the first
argument, ...) that the VJP of argument ``i`` reads.  The reverse engine keeps
only those values on its tape and replaces the others by a :class:`Meta`
holding their shape and dtype, so a linear operation keeps no arrays at all.

The registry has two tables.  ``UFUNCS`` maps a ``numpy.ufunc`` to its
primitive; ``FUNCTIONS`` maps any other NumPy function to a *frontend*, a
Python function with NumPy's signature that canonicalises the arguments
(arrays positional, static parameters keyword-only and normalised) and calls
:func:`chainrule.core.bind`.
"""

import threading

import numpy as np

__all__ = ["Primitive", "Meta", "meta", "is_complex", "refuse_complex", "UFUNCS", "FUNCTIONS", "primitive_of", "register_function", "EMPTY", "quietly"]

EMPTY = {}                  # the shared params dict of primitives without static parameters

UFUNCS = {}                 # numpy.ufunc -> Primitive
FUNCTIONS = {}              # numpy function -> frontend
PRIMITIVES = []             # every primitive ever made, in creation order
_REGISTERING = threading.Lock()


class Primitive:
    """One operation the engines can differentiate.

    ``jvps``/``vjps`` are ``None`` until rules are declared; ``differentiable``
    is False for operations whose output is a constant (``floor``, comparisons).
    ``arity`` is ``None`` for variadic primitives (``concatenate``), whose
    ``jvps``/``vjps`` are then a single rule that also receives the argument
    index: ``rule(i, t, vals, params)``.

    ``pattern``, when set, is the structural rule the sparsity level reads
    (:mod:`chainrule.sparse.level`): ``pattern(out, *args, **params)`` returns
    one entry per argument saying which input elements each output element
    depends on -- ``None`` (none), ``True`` (element ``i`` of an argument of the
    output's size), an integer array of the output's size (the flat index of
    the one input element, ``-1`` for none) or a pair ``(out_index, in_index)``
    of flat index arrays.  ``None`` (the default) means dense: every output
    element may depend on every input element.
    """

    __slots__ = ("name", "impl", "arity", "jvps", "vjps", "needs", "save_plans", "differentiable",
                 "multiple_results", "convention", "fast", "jvp_all", "pattern", "complex_ok", "raw_rules",
                 "tag", "__weakref__")

    def __init__(self, name, impl, arity=1):
        self.name = name
        self.impl = impl
        self.arity = arity
        self.jvps = None
        self.vjps = None
        self.needs = None
        self.save_plans = None
        self.differentiable = True
        self.multiple_results = False
        self.convention = None      # a sentence on the value chosen where no derivative exists
        self.fast = False           # rules declared, one result, fixed arity: the engines' common path
        self.jvp_all = None         # variadic only: one JVP for all tangents at once (None = constant)
        self.pattern = None         # the sparsity rule (None: dense in every argument)
        self.complex_ok = False     # rules right for complex arguments (else they refuse them)
        self.raw_rules = None       # (jvps, vjps, jvp_all) as declared, before the complex guard
        with _REGISTERING:
            self.tag = len(PRIMITIVES)  # PRIMITIVES[tag] is self: a tape names it by this int (see reverse)
            PRIMITIVES.append(self)

    @property
    def declared(self):
        return self.jvps is not None or not self.differentiable

    def missing_rule(self, parents):
        """The error for a traced argument without a VJP rule (``parents[i]`` not None)."""
        from ..errors import NotDifferentiableError
        if self.vjps is None:
            return NotDifferentiableError(self.name)
        i = next(i for i, p in enumerate(parents) if p is not None and self.vjps[i] is None)
        return NotDifferentiableError(self.name, f"with respect to argument {i}")

    def set_rules(self, jvps, vjps, needs, multiple_results=False, complex_ok=False):
        """Install the per-argument rules and precompute what the tape keeps.

        ``save_plans[mask]`` answers, for the set of arguments that are traced
        at a level (bit ``i`` of ``mask`` set for argument ``i``), which
        positions of ``vals`` the tape may drop -- or ``None`` when a traced
        argument has no VJP rule.
        """
        self.raw_rules = (jvps, vjps, None)
        self.complex_ok = complex_ok
        if not complex_ok:
            jvps, vjps = self._guard(jvps), self._guard(vjps)
        self.jvps = jvps
        self.vjps = vjps
        self.needs = needs
        self.jvp_all = None          # a joint JVP belongs to one declaration; the caller sets it again
        self.pattern = None          # so does a sparsity rule: a re-declared primitive is dense until told
        self.differentiable = True
        self.multiple_results = multiple_results
        self.fast = self.arity is not None and not multiple_results
        if self.arity is None:
            self.save_plans = None
            return
        plans = []
        for mask in range(1 << self.arity):
            active = [i for i in range(self.arity) if mask >> i & 1]
            if any(vjps[i] is None for i in active):
                plans.append(None)
                continue
            keep = set()
            for i in active:
                keep |= needs[i]
            plans.append(tuple(k for k in range(self.arity + 1) if k not in keep))
        self.save_plans = tuple(plans)

    def _guard(self, rules):
        if rules is None:
            return None
        if callable(rules):                                 # variadic: one rule for every argument
            return refuse_complex(self.name, rules)
        return tuple(None if r is None else refuse_complex(self.name, r) for r in rules)

    def set_joint(self, jvp_all):
        """Install a JVP of all the tangents at once (after :meth:`set_rules`), guarded like the others."""
        jvps, vjps, _ = self.raw_rules
        self.raw_rules = (jvps, vjps, jvp_all)
        self.jvp_all = jvp_all if self.complex_ok or jvp_all is None else refuse_complex(self.name, jvp_all)

    def mark_complex_ok(self):
        """Say the declared rules are right for complex arguments: drop the guard."""
        if self.raw_rules is None:
            raise TypeError(f"{self.name} has no rules to mark complex-safe")
        self.complex_ok = True
        self.jvps, self.vjps, self.jvp_all = self.raw_rules

    def set_nondifferentiable(self, convention):
        self.differentiable = False
        self.fast = False
        self.jvp_all = None
        self.convention = convention

    def __repr__(self):
        return f"<Primitive {self.name}>"


def is_complex(v):
    """Whether a value (array, scalar, tracer, :class:`Meta`, or a tuple or list of them) is complex."""
    d = getattr(v, "dtype", None)
    if d is not None:
        return d.kind == "c"
    if type(v) is tuple or type(v) is list:
        for e in v:
            if is_complex(e):
                return True
        return False
    return isinstance(v, complex)


def refuse_complex(name, rule):
    """``rule`` (any of the engines' rule signatures, ``vals`` second to last) refusing complex values.

    A rule written for real arguments can be silently wrong for complex ones (a transpose where the
    bilinear pairing needs another formula, a comparison that orders complex numbers), so it never
    sees one: the error names the function and says what to do.
    """
    def guarded(*a):
        if is_complex(a[-2]):
            from ..errors import NotDifferentiableError
            raise NotDifferentiableError(
                name, "for complex arguments: its rule is not known to be right for complex values, and "
                "a real function with complex intermediates would get a wrong derivative. Split the "
                "complex value into real and imaginary parts before this call, or give a rule with "
                "chainrule.custom_jvp/custom_vjp")
        return rule(*a)
    guarded.__wrapped__ = rule
    return guarded


def primitive_of(fn, name=None, arity=1, impl=None):
    """The primitive of a NumPy ufunc, created (without rules) on first request.

    The Tracer operators and the rule modules both ask for ``np.multiply``'s
    primitive and get the same object, so the operators need no lookup per
    operation and the rules fill it in when they are imported.
    """
    prim = UFUNCS.get(fn)
    if prim is None:
        if name is None:
            name = f"numpy.{fn.__name__}"
        prim = Primitive(name, fn if impl is None else impl, fn.nin if isinstance(fn, np.ufunc) else arity)
        UFUNCS[fn] = prim
    return prim


def register_function(np_fn, frontend):
    """Route ``np_fn`` called on traced values to ``frontend``."""
    FUNCTIONS[np_fn] = frontend
    return frontend


class Meta:
    """Shape and dtype of a value the tape did not keep (``.shape``, ``.ndim``, ``.dtype``, ``.size``)."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype):
        self.shape = shape
        self.dtype = dtype

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        n = 1
        for d in self.shape:
            n *= d
        return n

    def __repr__(self):
        return f"Meta(shape={self.shape}, dtype={self.dtype})"


_METAS = {}                 # (shape, dtype) -> its one Meta


def meta(shape, dtype):
    """The :class:`Meta` of ``shape`` (a tuple) and ``dtype``, one object shared by every caller.

    A tape holds a Meta for most values it drops, mostly of a few shapes; sharing them saves an
    allocation per entry, and the cyclic garbage collector a tracked object to walk (each full
    collection walks every one a long tape holds).  Metas are never changed after they are made.

    >>> meta((2, 3), np.dtype(np.float64)) is meta((2, 3), np.dtype(np.float64))
    True
    """
    key = (shape, dtype)
    m = _METAS.get(key)
    if m is None:
        if len(_METAS) >= 4096:                         # a program of ever new shapes: start again
            _METAS.clear()
        m = _METAS[key] = Meta(shape, dtype)
    return m


def quietly(rule, *args):
    """``rule(*args)`` with NumPy's floating-point errors ignored.

    A rule's own arithmetic may divide by zero or overflow where the primal did not (sqrt'(0) is
    1 / (2 sqrt(0)) = inf): under ``np.errstate(all="raise")`` that must not raise, since the user's
    computation did not.  The engines rerun a rule here only after it raised FloatingPointError,
    so the common path pays nothing.
    """
    with np.errstate(all="ignore"):
        return rule(*args)
