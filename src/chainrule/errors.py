"""Every exception a user of chainrule can see.

Each error subclasses :class:`ChainruleError` and the builtin exception that a
caller would naturally catch for the same kind of mistake, so ``except
TypeError`` keeps working in code that did not know about chainrule.  Messages
name the function or argument at fault and say what to do about it.
"""


class ChainruleError(Exception):
    """Base class of every error raised by chainrule."""


class NotDifferentiableError(ChainruleError, TypeError):
    """A NumPy function (or one of its arguments) has no derivative rule."""

    def __init__(self, name, detail=None):
        self.function = name
        msg = (
            f"chainrule has no derivative rule for {name}"
            + (f" ({detail})" if detail else "")
            + ". Wrap the code that calls it in a function decorated with "
            "chainrule.custom_jvp or chainrule.custom_vjp and give its rule, "
            "or declare one with chainrule.extend."
        )
        super().__init__(msg)


class TracerConversionError(ChainruleError, TypeError):
    """A traced value was turned into a plain number or array, which would drop its derivative."""


class InPlaceError(ChainruleError, TypeError):
    """An in-place write into or with a traced array."""


class LeakedTracerError(ChainruleError, RuntimeError):
    """A traced value was used after the transform that made it had returned."""


class LevelOrderError(ChainruleError, RuntimeError):
    """A transform's level was exited while it was not the innermost one active in its thread.

    An internal invariant, checked always (not by ``assert``, which ``python -O`` removes); seeing
    it means a transform was exited from another thread or out of nesting order.
    """


class InputDtypeError(ChainruleError, TypeError):
    """An input to differentiate is an integer, boolean or other non-float value."""


class OutputDtypeError(ChainruleError, TypeError):
    """A differentiated function returned a complex value."""


class NonScalarOutputError(ChainruleError, TypeError):
    """``grad`` of a function whose output is not a real scalar."""


class ShapeMismatchError(ChainruleError, ValueError):
    """A tangent or adjoint whose shape or structure does not match its primal (or is complex for a real one)."""


class ArgnumsError(ChainruleError, ValueError):
    """``argnums`` names an argument the function was not given."""


class NearlyDegenerateWarning(RuntimeWarning):
    """A derivative taken where it is nearly undefined: repeated eigenvalues or singular values,
    or a nearly singular matrix.  Past the threshold (see ``chainrule.rules.linalg``) the rule may
    have lost more than half of its significant digits, or the derivative may not exist at all."""


class UnpicklableFunctionError(ChainruleError, TypeError):
    """A function (or its arguments) could not be pickled to send to the worker processes of an executor."""


class WorkerLostError(ChainruleError, RuntimeError):
    """A task of a Jacobian fanned out over an executor was lost with its worker, and again when resubmitted."""
