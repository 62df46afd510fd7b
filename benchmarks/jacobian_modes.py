"""Full Jacobians by forward, reverse and auto mode, beside JAX and PyTorch.

f(x) = tanh(W2 @ tanh(W1 @ x)), hidden width 64, float64, for (n, m) in
(4, 2000), (2000, 4), (200, 200), (1000, 1000).  For each shape: chainrule's
jacfwd, jacrev and jacobian(mode="auto") (auto's choice, the time of its first
call, which decides, with the decision cache emptied before each sample, and
of later calls, which reuse the decision), JAX's jacfwd and jacrev under jit
(compile time reported apart), and PyTorch's torch.func.jacfwd and jacrev
(eager), when installed.  Every candidate's Jacobian is checked against
chainrule's jacfwd before timing.

Then the expensive cases (benchmarks/simulation.py): the sensitivities of an
RK4-integrated oscillator (1000 steps, 4 parameters, the whole trajectory as
output), its transpose problem (a scalar misfit of the trajectory with respect
to 1000 forcing values), the positions after each of 333 steps with respect to
the 333 forcing values (scalar code near the diagonal, from RECORD_FIRST
inputs on, where the first call is a guarded forward sweep), and a reaction-diffusion field whose plain
evaluation takes about 1 s (4 parameters, 8 sensors); for each, auto's first
call over the faster forced mode ('auto' there samples later calls, with the decision as the
second call checked it).  Last, ``explain``'s build and render times
for traces of about 1000 and 5000 operations (RK4, 16 and 80 steps) and for the
1000-step RK4.

Run: ``python -m benchmarks.jacobian_modes`` or ``main(quick=True)``.
"""

from . import _harness as H
import time  # noqa: E402

import numpy as np  # noqa: E402  (after the harness sets the thread limits)

import chainrule as cr  # noqa: E402

SHAPES = ((4, 2000), (2000, 4), (200, 200), (1000, 1000))
CLOCK = time.process_time       # CPU time of this process: the machine may be shared
HIDDEN = 64


def weights(n, m, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((HIDDEN, n)) / np.sqrt(n), rng.standard_normal((m, HIDDEN)) / np.sqrt(HIDDEN)


def model(np_, w1, w2):
    return lambda x: np_.tanh(w2 @ np_.tanh(w1 @ x))


def _first_call(make, x):
    """Seconds of the first call of a freshly made Jacobian function (measure + decide, or compile)."""
    fn = make()
    t0 = time.perf_counter()
    fn(x)
    return time.perf_counter() - t0, fn


def shape_row(n, m, peers, rounds):
    w1, w2 = weights(n, m)
    x = np.random.default_rng(1).standard_normal(n)
    f = model(np, w1, w2)
    want = cr.jacfwd(f)(x)
    fwd, rev = cr.jacfwd(f), cr.jacrev(f)
    H.agree("chainrule jacrev", rev(x), want)
    cr.clear_caches()
    auto = cr.jacobian(f)
    H.agree("chainrule auto (first call)", auto(x), want)
    H.agree("chainrule auto (later call)", auto(x), want)

    def auto_first():
        cr.clear_caches()
        auto(x)
    cands = {"cr fwd": lambda: fwd(x), "cr rev": lambda: rev(x), "auto 1st": auto_first,
             "cr auto": lambda: auto(x)}
    extra = {}
    if "jax" in peers:
        jax = peers["jax"]
        jnp = jax.numpy
        jf_model = model(jnp, jnp.asarray(w1), jnp.asarray(w2))
        jx = jnp.asarray(x)
        for label, transform in (("jax fwd", jax.jacfwd), ("jax rev", jax.jacrev)):
            compile_s, fn = _first_call(lambda: jax.jit(transform(jf_model)), jx)
            H.agree(label, np.asarray(fn(jx)), want)
            cands[label] = lambda fn=fn: fn(jx).block_until_ready()
            extra[label + " compile"] = compile_s
    if "torch" in peers:
        torch = peers["torch"]
        from torch.func import jacfwd as tjacfwd, jacrev as tjacrev
        tw1, tw2, tx = torch.tensor(w1), torch.tensor(w2), torch.tensor(x)
        tf_model = lambda x: torch.tanh(tw2 @ torch.tanh(tw1 @ x))        # noqa: E731
        for label, transform in (("torch fwd", tjacfwd), ("torch rev", tjacrev)):
            fn = transform(tf_model)
            H.agree(label, fn(tx).numpy(), want)
            cands[label] = lambda fn=fn: fn(tx)
    samples = {}
    t = H.measure(cands, rounds=rounds, min_time=0.02, clock=CLOCK, samples_out=samples)
    extra["auto first"] = t["auto 1st"]
    extra["min ratio"] = min(samples["auto 1st"]) / min(min(samples["cr fwd"]), min(samples["cr rev"]))
    extra["choice"] = auto.decision_for(x).mode           # the decision auto's timed calls followed last
    faster = "forward" if t["cr fwd"] <= t["cr rev"] else "reverse"
    return t, extra, faster


def main(quick=False):
    peers = H.load_peers(("torch", "jax"))
    rounds = 5 if quick else 11
    print(f"## Full Jacobians by mode ({H.machine()}; peers: {', '.join(peers) or 'none installed'})\n")
    print(f"f(x) = tanh(W2 @ tanh(W1 @ x)), hidden width {HIDDEN}, float64; median CPU ms per full Jacobian "
          f"({rounds} interleaved rounds; '1st / faster' also on the minima).  'auto' reuses the decision of its first call; 'auto 1st' is that "
          "first call (tape, probes, decision and the Jacobian).  JAX under jit, compile time apart.\n")
    labels = ["cr fwd", "cr rev", "cr auto", "jax fwd", "jax rev", "torch fwd", "torch rev"]
    header = ["n", "m", "auto's choice", "faster (cr)"] + labels + ["auto 1st", "1st / faster (median, min)",
                                                                   "jax compile (fwd/rev)"]
    rows = []
    for n, m in SHAPES:
        t, extra, faster = shape_row(n, m, peers, rounds)
        ms = lambda s: f"{s * 1e3:.3g}"                                     # noqa: E731
        gap = max(t["cr fwd"], t["cr rev"]) / min(t["cr fwd"], t["cr rev"])
        verdict = "yes" if extra["choice"] == faster else ("within 10%" if gap < 1.1 else "NO")
        rows.append([str(n), str(m), f"{extra['choice']} ({verdict})", f"{faster} by {gap:.1f}x" if gap < 10 else f"{faster} by {gap:.0f}x"]
                    + [ms(t[k]) if k in t else "-" for k in labels]
                    + [ms(extra["auto first"]),
                       f"{extra['auto first'] / min(t['cr fwd'], t['cr rev']):.2f}x, {extra['min ratio']:.2f}x",
                       f"{ms(extra['jax fwd compile'])}/{ms(extra['jax rev compile'])}" if "jax" in peers else "-"])
    print(H.table(header, rows))
    print()
    rows += simulation_rows(quick)
    print()
    explain_rows(quick)
    return rows


def _auto_against_forced(label, f, x, rounds, skip_reverse_repeats=False):
    """One row: median seconds of jacfwd, jacrev, auto's first call (cache emptied) and later calls."""
    from chainrule.transforms.jacobian import decision_key
    from chainrule.transforms.mode import DECISIONS
    fwd, rev = cr.jacfwd(f), cr.jacrev(f)
    want = fwd(x)
    cr.clear_caches()
    auto = cr.jacobian(f)
    H.agree(f"{label}: auto", auto(x), want)
    H.agree(f"{label}: auto (second call)", auto(x), want)      # which checks a decision marked verify
    key = decision_key(f, (x,), {}, 0)
    settled = DECISIONS.get(key)

    def auto_first():
        cr.clear_caches()
        auto(x)
        DECISIONS.put(key, settled)     # 'auto' samples later calls, not the second call's check
    cands = {"fwd": lambda: fwd(x), "auto 1st": auto_first, "auto": lambda: auto(x)}
    if skip_reverse_repeats:                       # reverse takes ~40 s here: timed once, apart
        t0 = CLOCK()
        got = rev(x)
        t_rev = CLOCK() - t0
    else:
        got = rev(x)
        cands["rev"] = lambda: rev(x)
    H.agree(f"{label}: jacrev", got, want)
    samples = {}
    t = H.measure(cands, rounds=rounds, min_time=0.0, warmup=0, clock=CLOCK, samples_out=samples)
    if skip_reverse_repeats:
        t["rev"] = t_rev
        samples["rev"] = [t_rev]
    best_min = min(min(samples["fwd"]), min(samples["rev"]))
    decision = auto.decision_for(x)
    best = min(t["fwd"], t["rev"])
    faster = "forward" if t["fwd"] <= t["rev"] else "reverse"
    how = "timed" if decision.measured else "predicted" if decision.verify else "untimed"
    return [label, f"{decision.n} x {decision.m}", f"{decision.mode} ({how})",
            faster, f"{t['fwd']:.3g}", f"{t['rev']:.3g}" + (" (1 run)" if skip_reverse_repeats else ""),
            f"{t['auto 1st']:.3g}", f"{t['auto']:.3g}", f"{t['auto 1st'] / best:.2f}x, {min(samples['auto 1st']) / best_min:.2f}x"]


def simulation_rows(quick=False):
    from . import simulation as S
    steps = 200 if quick else S.STEPS
    rounds = 3 if quick else 5
    print("Expensive functions (median CPU seconds, interleaved rounds; 'auto 1st' empties the decision cache "
          "before each sample; 'auto' follows the decision as the second call checked it; '1st / faster' also "
          "on the minima):\n")
    rows = [_auto_against_forced(f"RK4 sensitivities, {steps} steps", lambda p: S.trajectory(p, steps), S.PARAMS,
                                 rounds),
            _auto_against_forced(f"RK4 transpose, {steps} forcing values", lambda u: S.loss(u, steps),
                                 S.forcing(steps), rounds),
            _auto_against_forced(f"RK4 positions, {steps // 3} forcing values", lambda u: S.positions(u, steps // 3),
                                 S.forcing(steps // 3), rounds)]
    heat = (lambda p: S.heat_sensors(p, steps=80)) if quick else S.heat_sensors
    t0 = time.perf_counter()
    heat(S.HEAT_PARAMS)
    label = f"reaction-diffusion, {time.perf_counter() - t0:.2f} s per evaluation"
    rows.append(_auto_against_forced(label, heat, S.HEAT_PARAMS, 2 if quick else 3, skip_reverse_repeats=True))
    print(H.table(["function", "n x m", "auto's choice (after the 1st call)", "faster", "fwd s", "rev s", "auto 1st s",
                   "auto s",
                   "1st / faster (median, min)"], rows))
    return rows


def explain_rows(quick=False):
    """explain's build and render seconds at about 1000 and 5000 operations and on the RK4 simulation."""
    from . import simulation as S
    print("explain: build (trace, sweeps, decision) and str() (median CPU seconds of 3):\n")
    rows = []
    for steps in ((16, 80) if quick else (16, 80, S.STEPS)):           # about 1000, 5000 and 62000 operations
        f = lambda p, steps=steps: S.trajectory(p, steps)                  # noqa: E731
        builds, renders, ops = [], [], 0
        for _ in range(3):
            cr.clear_caches()
            t0 = CLOCK()
            e = cr.explain(f, S.PARAMS)
            t1 = CLOCK()
            text = str(e)
            t2 = CLOCK()
            builds.append(t1 - t0)
            renders.append(t2 - t1)
            ops = e.operations
        rows.append([f"RK4, {steps} steps", str(ops), f"{sorted(builds)[1]:.3g}", f"{sorted(renders)[1]:.3g}",
                     str(text.count("\n"))])
    print(H.table(["function", "operations", "build s", "str() s", "lines printed"], rows))
    return rows


if __name__ == "__main__":
    import sys
    main(quick="--quick" in sys.argv)
