"""A picture of a sparse Jacobian's colouring: why a few sweeps give every nonzero.

``spy(fun, *args)`` draws the pattern that :func:`chainrule.sparse_jacobian`
detects, each nonzero in the colour of the sweep it is read from (circles:
forward sweeps, one per column colour; squares: reverse sweeps, one per row
colour), with the decision in the title.  matplotlib (the ``plot`` extra) is
imported only here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..sparse.transforms import sparse_jacobian

__all__ = ["spy"]


def spy(fun: Callable, *args: Any, argnums: int | Sequence[int] = 0, mode: str = "auto", ax: Any = None,
        markersize: float | None = None) -> Any:
    """Draw the sparsity pattern of ``fun``'s Jacobian at ``args``, coloured by sweep; returns the Axes.

    >>> import numpy as np, matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = spy(lambda x: x[1:] * x[:-1], np.ones(6), mode="forward")
    >>> ax.get_title().splitlines()[0]
    '5 x 6, 10 nonzeros: forward, 2 sweeps'
    """
    import matplotlib.pyplot as plt

    jac = sparse_jacobian(fun, argnums, mode)
    decision = jac.decision_for(*args)
    pattern, direction, colour = jac.groups_for(*args)
    coo = pattern.tocoo()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 6))
    size = markersize or max(1.0, 200.0 / max(pattern.shape))
    cmap = plt.get_cmap("tab20")
    for name, marker in (("forward", "o"), ("reverse", "s")):
        pick = direction == name
        if np.any(pick):
            ax.scatter(coo.col[pick], coo.row[pick], c=cmap(colour[pick] % 20), marker=marker, s=size ** 2,
                       label=f"{name} sweeps", linewidths=0)
    ax.set_xlim(-0.5, pattern.shape[1] - 0.5)
    ax.set_ylim(pattern.shape[0] - 0.5, -0.5)
    ax.set_aspect("equal")
    ax.set_xlabel("input element (column)")
    ax.set_ylabel("output element (row)")
    ax.set_title(f"{decision.m} x {decision.n}, {decision.nonzeros} nonzeros: {decision.mode}, "
                 f"{decision.sweeps} sweeps\n" + ", ".join(f"{k} {v}" for k, v in decision.colours.items()
                                                           if v is not None), fontsize=9)
    ax.legend(loc="upper right", fontsize=8)
    return ax
