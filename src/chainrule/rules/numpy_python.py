"""NumPy functions written in Python, run as they are on traced values.

Many NumPy functions are short Python programs over other NumPy functions
(``np.polyadd`` pads and adds, ``np.compress`` takes, ``np.piecewise`` calls
your branches under masks).  Under a transform NumPy hands the call to
chainrule (``__array_function__``) because an argument is traced; chainrule
then runs NumPy's own implementation, whose every step reaches a chainrule
rule in turn.  The result is NumPy's value and its derivative follows from the
steps', to every order.  Only functions whose implementation is known to run
on traced values are listed (each has a case row); the others keep raising
:class:`~chainrule.NotDifferentiableError`.

The rest are written here: functions whose results are integer or boolean
constants (computed on the plain values), and identity-like conversions.
"""

import numpy as np

from ..core import plain_value, register_function

__all__ = []

_RUN_AS_WRITTEN = ("polyadd", "polysub", "polymul", "polyder", "polyint", "diagflat", "trim_zeros", "resize",
                   "unwrap", "broadcast_arrays", "compress", "extract", "choose", "apply_along_axis",
                   "apply_over_axes")

for _name in _RUN_AS_WRITTEN:
    _fn = getattr(np, _name, None)
    _impl = getattr(_fn, "_implementation", None)
    if _impl is not None:
        register_function(_fn, _impl)


def _piecewise(x, condlist, funclist, *args, **kw):
    # NumPy tells one condition from a list of them by the type of the first (a list or an ndarray):
    # a traced mask (one computed under staging, where comparisons are recorded) is neither, so the
    # masks are read here; they decide the shapes of the pieces, so under jit they are guarded values.
    if isinstance(condlist, (list, tuple)):
        condlist = [plain_value(c) for c in condlist]
    else:
        condlist = plain_value(condlist)
    return _piecewise_impl(x, condlist, funclist, *args, **kw)


_piecewise_impl = getattr(np.piecewise, "_implementation", None)
if _piecewise_impl is not None:
    register_function(np.piecewise, _piecewise)


def _plain(tree):
    if isinstance(tree, (list, tuple)):
        return type(tree)(_plain(t) for t in tree)
    return plain_value(tree)


def _constant(fn):
    """``fn`` on the plain values: its integer or boolean result carries no derivative."""
    def frontend(*args, **kwargs):
        return fn(*_plain(args), **{k: _plain(v) for k, v in kwargs.items()})
    frontend.convention = "integer or boolean result: computed on the primal, a constant"
    return frontend


for _fn in (np.all, np.any, np.nonzero, np.argwhere, np.flatnonzero, np.lexsort, np.isin):
    register_function(_fn, _constant(_fn))


def _same(a, dtype=None, *, like=None):
    return a if dtype is None or np.dtype(dtype) == a.dtype else a.astype(dtype)


def _chkfinite(a, dtype=None, order=None):
    if not np.all(np.isfinite(plain_value(a))):
        raise ValueError("array must not contain infs or NaNs")
    return _same(a, dtype)


register_function(np.ascontiguousarray, _same)
register_function(np.asfortranarray, _same)
register_function(np.asarray_chkfinite, _chkfinite)
if getattr(np, "row_stack", np.vstack) is not np.vstack:          # NumPy 1.x: an alias of vstack
    register_function(np.row_stack, lambda tup, *, dtype=None, casting="same_kind":
                      np.vstack([a for a in tup], dtype=dtype, casting=casting))
del _fn, _name
