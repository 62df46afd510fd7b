"""The staged program: a flat list of equations over variables and constants, with guards.

This is data only; :mod:`chainrule.jit.passes` rewrites it and
:mod:`chainrule.jit.codegen` prints it as Python.  A :class:`Var` is a value
computed by the program (or one of its inputs); a :class:`Const` is a value
fixed when the program was traced (an array the function closes over, a seed
of ones, a Python number).  An :class:`Eqn` applies one function to atoms and
binds its result (or results) to fresh variables; a guard equation binds
nothing and makes the program give up -- so that the caller traces again --
when a value it checks differs from the one seen while tracing.
"""

__all__ = ["Var", "Const", "Eqn", "Program", "CALL", "GUARD_TRUTH", "GUARD_VALUE", "STRUCTURED"]

CALL = "call"                # outs = fn(*ins, **params)
GUARD_TRUTH = "truth"        # bool(ins[0]) must be params["expect"] (a Python if/while on a staged value)
GUARD_VALUE = "value"        # ins[0] must equal ins[1] exactly (a number read while tracing)
STRUCTURED = "structured"    # outs = fn(*ins): a runner over sub-programs (a loop over its staged step);
                             # the program misses when fn returns MISS


class Var:
    """A value of the program; ``shape``, ``dtype`` and ``type`` are those of the tracing call's value."""

    __slots__ = ("id", "shape", "dtype", "type", "name", "adjoint_of", "__weakref__")

    def __init__(self, id, shape=(), dtype=None, type=None):
        self.id = id
        self.shape = shape
        self.dtype = dtype
        self.type = type            # the Python type of the value (np.ndarray, np.float64, float, ...)
        self.name = None            # an input's parameter name (x, y), for the generated code
        self.adjoint_of = None      # the variable this one is the adjoint of (printed v3_bar, x_bar)

    def __repr__(self):
        return f"v{self.id}"


class Const:
    """A value fixed at trace time."""

    __slots__ = ("value", "id")

    def __init__(self, value, id):
        self.value = value
        self.id = id

    def __repr__(self):
        return f"c{self.id}"


class Eqn:
    """One operation: ``outs = fn(*ins, **params)``, or a guard (``kind``) on ``ins``.

    ``name`` says what it came from (``numpy.sin``, or the rule helper's name);
    ``multiple`` is True when ``fn`` returns a tuple whose items are ``outs``;
    ``into`` (set by the buffer-reuse pass) is the position of an input that
    dies here and whose array the elementwise result is written into; ``note``
    is a pass's remark, printed in the line's comment.
    """

    __slots__ = ("kind", "name", "fn", "ins", "params", "outs", "multiple", "into", "context", "note")

    def __init__(self, kind, name, fn, ins, params, outs, multiple=False, into=None, context=(), note=None):
        self.kind = kind
        self.name = name
        self.fn = fn
        self.ins = tuple(ins)
        self.params = params
        self.outs = tuple(outs)
        self.multiple = multiple
        self.into = into            # buffer reuse: the input whose array the result is written into
        self.context = context      # the transforms active when it was recorded ("reverse", "forward")
        self.note = note            # a pass's remark for the generated code's comment (or None)

    def replace(self, **changes):
        e = Eqn.__new__(Eqn)
        e.kind, e.name, e.fn, e.ins, e.params, e.outs = self.kind, self.name, self.fn, self.ins, self.params, self.outs
        e.multiple, e.into, e.context, e.note = self.multiple, self.into, self.context, self.note
        for k, v in changes.items():
            setattr(e, k, v)
        return e

    def __repr__(self):
        return f"Eqn({self.kind}, {self.name}, ins={self.ins}, outs={self.outs})"


class Program:
    """Inputs (variables), equations in execution order, outputs (atoms)."""

    __slots__ = ("inputs", "eqns", "outputs")

    def __init__(self, inputs, eqns, outputs):
        self.inputs = list(inputs)
        self.eqns = list(eqns)
        self.outputs = list(outputs)

    def count(self, kind=None):
        return sum(1 for e in self.eqns if kind is None or e.kind == kind)
