"""``loop``: a time-stepping loop whose reverse mode uses binomial checkpointing.

Plain reverse mode over ``T`` steps of a state of size ``N`` keeps about
``T x N`` values.  ``loop`` records the whole loop as one primitive that keeps
only the initial state.  Its adjoint rule reverses the steps with at most
``c`` stored states (snapshots), recomputing forward from the nearest one,
in the order Griewank and Walther's *revolve* prescribes.

The schedule rests on one count.  With ``s`` snapshots and every step
advanced at most ``r`` times (besides its one taped evaluation), at most

    beta(s, r) = C(s + r, s)

steps can be reversed, and reversing ``l`` steps costs at least

    t(l, s) = r l - beta(s + 1, r - 1),   r the least with beta(s, r) >= l,

plain step evaluations.  The schedule meets that bound by recursive
splitting: advance ``m`` steps from the segment's first state, store the
state there, reverse the right part ``l - m`` with one snapshot fewer, then
the left part ``m`` with the same snapshots.  Any split with
beta(s, r-2) <= m <= beta(s, r-1) and beta(s-1, r-1) <= l - m <= beta(s-1, r)
is optimal (Pascal's rule makes the costs add up to ``t(l, s)``).
:func:`revolve_schedule` writes the schedule as data; the adjoint rule
follows it.

Under forward mode, or with no transform, ``loop`` is a plain Python loop.

Under :func:`chainrule.jit` the loop, and the backward sweep, loop over a
step (and a pullback) staged once.  For forward over reverse (``hessian``,
``hvp``) the sweep is itself a primitive, ``sweep_p``, whose JVP is a sweep
over the step's JVP and the pullback's JVP, so it stays one loop too.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from math import comb
from typing import Any

import numpy as np

from ..core import Primitive, Tracer, bind
from ..errors import ShapeMismatchError
from ..forward import jvp_flat
from ..jit.staging import stage_as_written
from ..pytree import flatten, unflatten
from ..reverse import vjp_flat
from .adapter import dtype_of, shape_of
from .checkpoint import CallRecord, batch_of, check_closure, closure_error, fill, under_reverse, zeros
from .progress import Progress

__all__ = ["loop", "revolve_schedule", "revolve_cost", "LOOP_MEMORY_BUDGET"]

LOOP_MEMORY_BUDGET = 256 * 2 ** 20
"""Bytes of stored states ``loop(..., checkpoints=None)`` may use for snapshots."""


def _beta(s, r):
    return comb(s + r, s) if r >= 0 and s >= 0 else 0


def _repetitions(steps, snapshots):
    r = 0
    while _beta(snapshots, r) < steps:
        r += 1
    return r


def revolve_cost(steps, snapshots):
    """The least number of plain step evaluations that reverse ``steps`` steps with ``snapshots`` states.

    ``r l - beta(s + 1, r - 1)`` with ``r`` the least number of repetitions
    such that ``beta(s, r) >= l`` (the taped evaluations, one per step, come on top).

    >>> [revolve_cost(10, c) for c in (1, 2, 3, 10)]
    [45, 20, 15, 9]
    """
    if steps <= 1:
        return 0
    r = _repetitions(steps, snapshots)
    return r * steps - _beta(snapshots + 1, r - 1)


def _split(length, snapshots):
    """How far to advance before storing the next snapshot (an optimal split point)."""
    r = _repetitions(length, snapshots)
    m = min(_beta(snapshots, r - 1), length - _beta(snapshots - 1, r - 1))
    return max(1, min(length - 1, m))


def revolve_schedule(steps, snapshots):
    """The binomial checkpointing schedule for reversing ``steps`` steps with ``snapshots`` stored states.

    Yields actions ``(kind, i, j)`` on a working state and numbered
    snapshots (``i`` is a position: the state after ``i`` steps):

    * ``("store", i, i)``: keep the working state (at position ``i``);
    * ``("restore", i, i)``: the working state becomes snapshot ``i``;
    * ``("advance", i, j)``: run steps ``i .. j-1`` plainly on the working state;
    * ``("reverse", i, i)``: run step ``i`` under a reverse trace from the
      working state and pull the adjoint through it (steps are reversed from
      the last to the first);
    * ``("free", i, i)``: drop snapshot ``i``.

    Snapshot 0 holds the input.  At most ``snapshots`` are held at once, and
    the advances add up to :func:`revolve_cost`.

    >>> [a for a in revolve_schedule(3, 2)]        # doctest: +NORMALIZE_WHITESPACE
    [('store', 0, 0), ('restore', 0, 0), ('advance', 0, 1), ('store', 1, 1), ('advance', 1, 2),
     ('reverse', 2, 2), ('restore', 1, 1), ('reverse', 1, 1), ('free', 1, 1), ('restore', 0, 0),
     ('reverse', 0, 0), ('free', 0, 0)]
    """
    if snapshots < 1:
        raise ValueError("revolve needs at least one snapshot (the initial state)")
    if steps < 1:
        return
    yield ("store", 0, 0)
    pending = [(0, steps, snapshots)]          # segments still to reverse; their first state is stored
    while pending:
        a, length, s = pending.pop()
        yield ("restore", a, a)
        while length > 1:
            m = _split(length, s)
            yield ("advance", a, a + m)
            if length - m > 1:                 # the right part needs a snapshot of its own
                yield ("store", a + m, a + m)
                pending.append((a, m, s))
                a, length, s = a + m, length - m, s - 1
            else:
                yield ("reverse", a + m, a + m)
                yield ("restore", a, a)
                length = m
        yield ("reverse", a, a)
        yield ("free", a, a)


# -- the primitive ---------------------------------------------------------------------------

class _Loop:
    """A loop's step on flat lists of leaves, its length and its number of snapshots."""

    __slots__ = ("step", "steps", "snapshots", "progress")

    def __init__(self, step, steps, snapshots, progress=None):
        self.step = step                # step(leaves, i) -> leaves
        self.steps = steps
        self.snapshots = snapshots
        self.progress = progress        # see Progress: None (a terminal only), True, False

    def run(self, xs, start=0, stop=None, check=None):
        """Steps ``start .. stop-1`` from ``xs``; ``check(state)`` looks at the state after the first."""
        step = self.step
        stop = self.steps if stop is None else stop
        staging = _staging(xs) if stop - start > 1 else None
        if staging is not None:                 # under chainrule.jit: a loop over the step, staged once
            n = len(xs)

            def steps(calls, *xs):
                step = calls[0]
                for i in range(start, stop):
                    xs = step(*xs, i)
                return xs
            out = staging.structured(steps, [("step", lambda *a: step(list(a[:n]), a[n]))], xs, "chainrule.loop", "loop")
            if out is not None:
                if check is not None:
                    check(list(out))
                return list(out)
        with Progress("loop: steps", stop - start, self.progress) as bar:
            for i in range(start, stop):
                xs = step(xs, i)
                if check is not None:
                    check(xs)
                    check = None
                bar.update(i + 1 - start)
        return xs


def _impl(*xs, call):
    return tuple(call.extra.run(list(xs), check=lambda xs: check_closure(
        xs, call.depth, "the step function of loop", "part of the state")))


def _staging(values):
    """The staging level (chainrule.jit) of ``values`` when every traced one is staged by it, or None."""
    level = None
    for v in values:
        if isinstance(v, Tracer):
            if not v._staged or level is not None and v._level is not level:
                return None
            level = v._level
    return level


def _under_staging(values):
    """True if a value staged by chainrule.jit occurs in the primal chain of any of ``values``: the loop
    is then bound as one primitive (under forward mode too), so that its step is staged once."""
    for v in values:
        while isinstance(v, Tracer):
            if v._staged:
                return True
            v = v.primal
    return False


class _Sweep:
    """A loop's backward sweep on flat lists: ``advance(xs, i)`` runs step ``i`` on the state,
    ``back(work, adj, i)`` pulls the adjoint ``adj`` back through step ``i`` taken from ``work``;
    ``n`` state leaves, ``m`` adjoint leaves, the revolve schedule of ``steps`` and ``snapshots``."""

    __slots__ = ("advance", "back", "n", "m", "steps", "snapshots", "progress")

    def __init__(self, advance, back, n, m, steps, snapshots, progress):
        self.advance, self.back, self.n, self.m = advance, back, n, m
        self.steps, self.snapshots, self.progress = steps, snapshots, progress

    def run(self, adjoint, x0):
        """The adjoint of the initial state; under chainrule.jit the schedule runs over the step and
        the pullback, each staged once (inline when they cannot be staged on their own)."""
        staging = _staging(adjoint + x0)
        if staging is not None:
            out = self.staged(adjoint, x0, staging)
            if out is not None:
                return out
        plain = _Loop(self.advance, self.steps, self.snapshots, self.progress)
        return _follow(revolve_schedule(self.steps, self.snapshots), x0, adjoint, plain.run, self.back)

    def staged(self, adjoint, x0, staging):
        """The sweep as one structured equation of a staged program; None if its step or pullback
        cannot be staged on its own."""
        n, m = self.n, self.m
        schedule = list(revolve_schedule(self.steps, self.snapshots))
        advance, back = self.advance, self.back

        def sweep(calls, *a):
            step, step_back = calls

            def run(work, i, j):
                for k in range(i, j):
                    work = step(*work, k)
                return work
            return _follow(schedule, list(a[m:]), list(a[:m]), run, lambda work, adj, i: step_back(*work, *adj, i))

        out = staging.structured(sweep, [("step", lambda *a: advance(list(a[:n]), a[n])),
                                         ("adjoint", lambda *a: back(list(a[:n]), list(a[n:n + m]), a[n + m]))],
                                 adjoint + x0, "chainrule.loop (backward sweep, revolve)", "loop")
        return None if out is None else list(out)


def _forward_over_staging(values):
    """True if only forward-mode and staged tracers occur in the primal chains of ``values``, a staged
    one among them: the sweep is then bound as a primitive, whose JVP is a sweep again, so that
    forward over reverse (hessian, hvp) stages the step and the pullback once under chainrule.jit."""
    from ..forward import ForwardTracer
    staged = False
    for v in values:
        while isinstance(v, Tracer):
            if v._staged:
                staged = True
            elif type(v) is not ForwardTracer:
                return False
            v = v.primal
    return staged


def _pull(body):
    def pull(g, vals):
        x0 = list(vals[1:])
        batch = batch_of(g[0], vals[0][0])
        adjoint = fill(list(g), vals[0], batch)

        def back(work, adj, i):
            _, pullback = vjp_flat(lambda xs: body.step(xs, i), work)
            return fill(pullback(adj, consume=True), work, batch)
        sweep = _Sweep(body.step, back, len(x0), len(adjoint), body.steps, body.snapshots, body.progress)
        if _forward_over_staging(adjoint + x0):
            return list(bind(sweep_p, tuple(adjoint + x0), {"sweep": sweep}))
        return sweep.run(adjoint, x0)
    return pull


def _follow(schedule, x0, adjoint, run, back):
    """The adjoint after a revolve ``schedule``: ``run(work, i, j)`` advances the state from step i to
    j, ``back(work, adjoint, i)`` pulls the adjoint back through step i; snapshots kept as it says."""
    snaps = {}
    work = None
    for kind, i, j in schedule:
        if kind == "advance":
            work = run(work, i, j)
        elif kind == "reverse":
            adjoint = back(work, adjoint, i)
            work = None
        elif kind == "restore":
            work = snaps[i]
        elif kind == "store":
            snaps[i] = x0 if i == 0 else work
        else:
            del snaps[i]
    return adjoint


def _vjp(j, g, vals, params):
    call = params["call"]
    return call.adjoint(j, g, vals, _pull(call.extra))


def _jvp_all(tangents, vals, params):
    """The loop run once with every state leaf's tangent (zeros where a leaf has none)."""
    body = params["call"].extra
    primals = list(vals[1:])
    n = len(primals)
    k = next(k for k, t in enumerate(tangents) if t is not None)
    batch = batch_of(tangents[k], primals[k])
    tangents = [zeros(batch, x) if t is None else t for t, x in zip(tangents, primals)]

    def tangent_step(xs, k):
        outs, t_outs = jvp_flat(lambda ys: body.step(ys, k), xs[:n], xs[n:])
        return list(outs) + fill(t_outs, outs, batch)

    out = _run(_Loop(tangent_step, body.steps, body.snapshots, body.progress), primals + tangents)
    return tuple(out[n:])


def _jvp(i, t, vals, params):
    tangents = [None] * (len(vals) - 1)
    tangents[i] = t
    return _jvp_all(tangents, vals, params)


def _sweep_impl(*a, sweep):
    return tuple(sweep.run(list(a[:sweep.m]), list(a[sweep.m:])))


def _sweep_jvp_all(tangents, vals, params):
    """The sweep run once on the state and adjoint with their tangents: its step is the step's JVP,
    its pullback the pullback's JVP (forward over reverse through the loop, still one loop)."""
    sw = params["sweep"]
    primals = list(vals[1:])
    n, m = sw.n, sw.m
    k = next(k for k, t in enumerate(tangents) if t is not None)
    batch = batch_of(tangents[k], primals[k])
    tangents = [zeros(batch, x) if t is None else t for t, x in zip(tangents, primals)]
    advance, back = sw.advance, sw.back

    def tangent_step(xs, i):
        outs, t_outs = jvp_flat(lambda ys: advance(ys, i), xs[:n], xs[n:])
        return list(outs) + fill(t_outs, outs, batch)

    def tangent_back(work, adj, i):
        outs, t_outs = jvp_flat(lambda ys: back(ys[:n], ys[n:], i), work[:n] + adj[:m], work[n:] + adj[m:])
        return list(outs) + fill(t_outs, outs, batch)

    tangent = _Sweep(tangent_step, tangent_back, 2 * n, 2 * m, sw.steps, sw.snapshots, sw.progress)
    args = primals[:m] + tangents[:m] + primals[m:] + tangents[m:]
    out = bind(sweep_p, tuple(args), {"sweep": tangent})
    return tuple(out[m:])


def _sweep_jvp(i, t, vals, params):
    tangents = [None] * (len(vals) - 1)
    tangents[i] = t
    return _sweep_jvp_all(tangents, vals, params)


sweep_p = Primitive("chainrule.loop_sweep", _sweep_impl, arity=None)
sweep_p.set_rules(_sweep_jvp, None, frozenset(), multiple_results=True, complex_ok=True)
sweep_p.set_joint(_sweep_jvp_all)
stage_as_written(sweep_p)                   # staged, it is the structured backward sweep


loop_p = Primitive("chainrule.loop", _impl, arity=None)
loop_p.set_rules(_jvp, _vjp, frozenset({"args"}), multiple_results=True, complex_ok=True)
loop_p.set_joint(_jvp_all)                  # one loop for all the tangents, not one per state leaf
stage_as_written(loop_p)                    # chainrule.jit stages the loop as a loop over its staged step


def _run(body, xs, what=None):
    if body.steps == 0:
        return list(xs)
    if not under_reverse(xs) and not _under_staging(xs):
        def check(xs):
            if what is not None and under_reverse(xs):
                raise closure_error(what, "part of the state")
        return body.run(list(xs), check=check)
    return list(bind(loop_p, tuple(xs), {"call": CallRecord(None, xs, body)}))


# -- the public function ---------------------------------------------------------------------

def _takes_index(step):
    try:
        params = inspect.signature(step).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for p in params if p.kind in positional and p.default is p.empty) >= 2


def _snapshots(checkpoints, leaves, steps):
    if checkpoints is None:
        nbytes = sum(int(np.prod(shape_of(x), dtype=np.int64)) * dtype_of(x).itemsize for x in leaves)
        return int(max(1, min(steps, LOOP_MEMORY_BUDGET // max(nbytes, 1))))
    if isinstance(checkpoints, (int, np.integer)) and not isinstance(checkpoints, bool) and checkpoints >= 1:
        return int(min(checkpoints, steps))
    raise ValueError(f"checkpoints must be None, 'all' or a positive integer, got {checkpoints!r}")


def loop(step: Callable, state: Any, steps: int, checkpoints: int | str | None = None,
         progress: bool | None = None) -> Any:
    """Run ``state = step(state)`` (or ``step(state, i)``) ``steps`` times, with memory-bounded reverse mode.

    ``state`` is a pytree of floating-point arrays and scalars; ``step``
    returns a state of the same structure and shapes.  The step index ``i``
    (``0 .. steps-1``) is passed when ``step`` has two parameters without
    defaults.  Returns the final state.

    Under reverse mode the loop is one entry of the tape that keeps only the
    initial state; the backward sweep reverses the steps with binomial
    checkpointing (revolve): at most ``checkpoints`` states are stored at a
    time, and the steps are recomputed the fewest times that allows
    (:func:`revolve_cost`).  ``checkpoints=None`` takes as many as fit in
    :data:`LOOP_MEMORY_BUDGET`; ``checkpoints="all"`` records every step, as
    a plain Python loop would.  Under forward mode, or with no transform, it
    is a plain loop.

    Values that the result is differentiated with respect to must be part of
    the state (a parameter the step only reads is carried unchanged:
    ``(x, k) -> (x + k * f(x), k)``); reading a traced value from a closure is
    an error, since the loop could not be checkpointed.

    Cost in reverse mode: ``steps`` plain evaluations for the result, then
    ``steps`` taped ones plus ``revolve_cost(steps, checkpoints)`` plain ones
    in the backward sweep.  ``progress``: a step counter on stderr for runs
    longer than about 2 s (None: only when stderr is a terminal; True: always;
    False: never).

    >>> import numpy as np
    >>> import chainrule as cr
    >>> f = lambda x: np.sum(loop(lambda s: s + 0.1 * np.sin(s), x, 50, checkpoints=3))
    >>> g = lambda x: np.sum(loop(lambda s: s + 0.1 * np.sin(s), x, 50, checkpoints="all"))
    >>> x = np.array([0.5, 2.0])
    >>> bool(np.allclose(cr.grad(f)(x), cr.grad(g)(x), rtol=1e-13))
    True
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    steps = int(steps)
    leaves, tree = flatten(state)
    for k, x in enumerate(leaves):
        if dtype_of(x).kind not in "fc":
            raise TypeError(
                f"loop: state leaf {k} has dtype {dtype_of(x)}; the state must hold floating-point "
                "values. Keep counters out of it: step(state, i) receives the step index i.")
    with_index = _takes_index(step)
    name = getattr(step, "__name__", "step")

    def flat_step(xs, i):
        s = unflatten(tree, xs)
        new_leaves, new_tree = flatten(step(s, i) if with_index else step(s))
        if new_tree != tree:
            raise ShapeMismatchError(f"loop: {name} returned a state of structure {new_tree!r}, but the "
                                     f"state has structure {tree!r}")
        for k, (a, b) in enumerate(zip(new_leaves, xs)):
            if shape_of(a) != shape_of(b):
                raise ShapeMismatchError(f"loop: {name} changed the shape of state leaf {k} from "
                                         f"{shape_of(b)} to {shape_of(a)}")
        return new_leaves

    if checkpoints == "all":
        return unflatten(tree, _Loop(flat_step, steps, 1, progress).run(leaves))
    body = _Loop(flat_step, steps, _snapshots(checkpoints, leaves, steps) if steps else 1, progress)
    return unflatten(tree, _run(body, leaves, f"the step function {name!r} of loop"))

