"""Every exception a user of chainrule can see.

Each error subclasses :class:`ChainruleError` and the builtin exception that a
caller would naturally catch for the same kind of mistake, so ``except
TypeError`` keeps working in code that did not know about chainrule.  Messages
name the function or argument at fault and say what to do about it.
"""


class ChainruleError(Exception):
    """Base class of every error raised by chainrule.

    Each subclass also subclasses the builtin a caller would catch for the same mistake.

    >>> import chainrule as cr
    >>> try:
    ...     cr.grad(lambda x: x * 2.0)(3)           # an int: nothing to differentiate
    ... except cr.ChainruleError as e:
    ...     print(type(e).__name__, isinstance(e, TypeError))
    InputDtypeError True
    """


class NotDifferentiableError(ChainruleError, TypeError):
    """A NumPy function (or one of its arguments) has no derivative rule.

    ``.function`` names it; the message says how to give it one.

    >>> import numpy as np, chainrule as cr
    >>> window = np.lib.stride_tricks.sliding_window_view
    >>> cr.grad(lambda x: np.sum(window(x, 2)))(np.ones(3))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    chainrule.errors.NotDifferentiableError: chainrule has no derivative rule for numpy.sliding_window_view. Wrap ...
    """

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
    """A traced value was turned into a plain number or array, which would drop its derivative.

    >>> import chainrule as cr
    >>> cr.grad(lambda x: float(x) * 2.0)(1.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    chainrule.errors.TracerConversionError: float() of a traced value would drop its derivative. ...
    """


class InPlaceError(ChainruleError, TypeError):
    """An in-place write into or with a traced array.

    >>> import numpy as np, chainrule as cr
    >>> cr.grad(lambda x: np.sum(np.clip(x, 0.0, 1.0, out=x)))(np.ones(2))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    chainrule.errors.InPlaceError: numpy.clip(..., out=...) writes in place; use the returned value...
    """


class LeakedTracerError(ChainruleError, RuntimeError):
    """A traced value was used after the transform that made it had returned.

    >>> import numpy as np, chainrule as cr
    >>> kept = []
    >>> float(cr.grad(lambda x: (kept.append(x), x * 2.0)[1])(1.0))
    2.0
    >>> np.sin(kept[0])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    chainrule.errors.LeakedTracerError: numpy.sin was applied to a traced value whose transform has already returned...
    """


class LevelOrderError(ChainruleError, RuntimeError):
    """A transform's level was exited while it was not the innermost one active in its thread.

    An internal invariant, checked always (not by ``assert``, which ``python -O`` removes); seeing
    it means a transform was exited from another thread or out of nesting order.

    >>> issubclass(LevelOrderError, RuntimeError)
    True
    """


class InputDtypeError(ChainruleError, TypeError):
    """An input to differentiate is an integer, boolean or other non-float value.

    >>> import chainrule as cr
    >>> cr.grad(lambda x: x * 2.0)(3)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    chainrule.errors.InputDtypeError: argument 0 of <lambda> is int; ... Pass a float (2.0 rather than 2) ...
    """


class OutputDtypeError(ChainruleError, TypeError):
    """A differentiated function returned a complex value.

    >>> import chainrule as cr
    >>> cr.grad(lambda x: x * 1j)(3.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    chainrule.errors.OutputDtypeError: grad of <lambda>: the output is complex (complex128). ...
    """


class NonScalarOutputError(ChainruleError, TypeError):
    """``grad`` of a function whose output is not a real scalar.

    >>> import numpy as np, chainrule as cr
    >>> cr.grad(lambda x: x * 2.0)(np.ones(2))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    chainrule.errors.NonScalarOutputError: grad requires <lambda> to return one real scalar, ... Use jacobian...
    """


class ShapeMismatchError(ChainruleError, ValueError):
    """A tangent or adjoint whose shape or structure does not match its primal (or is complex for a real one).

    >>> import numpy as np, chainrule as cr
    >>> cr.jvp(lambda x: x * 2.0, (np.ones(2),), (np.ones(3),))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    chainrule.errors.ShapeMismatchError: tangents: leaf 0 has shape (3,), but the value it belongs to has shape (2,)...
    """


class ArgnumsError(ChainruleError, ValueError):
    """``argnums`` names an argument the function was not given.

    >>> import chainrule as cr
    >>> cr.grad(lambda x: x * 2.0, argnums=1)(1.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    chainrule.errors.ArgnumsError: argnums=1 but <lambda> was called with 1 positional argument; ...
    """


class NearlyDegenerateWarning(RuntimeWarning):
    """A derivative taken where it is nearly undefined: repeated eigenvalues or singular values,
    or a nearly singular matrix.  Past the threshold (see ``chainrule.rules.linalg``) the rule may
    have lost more than half of its significant digits, or the derivative may not exist at all.

    >>> import warnings, numpy as np, chainrule as cr
    >>> a = np.array([[1.0, 1.0], [1.0, 1.0 + 1e-12]])          # nearly singular
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = cr.grad(lambda a: np.sum(np.linalg.inv(a)))(a)
    >>> [w.category.__name__ for w in caught]
    ['NearlyDegenerateWarning']
    """


class UnpicklableFunctionError(ChainruleError, TypeError):
    """A function (or its arguments) could not be pickled to send to the worker processes of an executor."""


class WorkerLostError(ChainruleError, RuntimeError):
    """A task of a Jacobian fanned out over an executor was lost with its worker, and again when resubmitted."""
