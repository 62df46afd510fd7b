"""Full Jacobians by forward, reverse and auto mode, beside JAX and PyTorch.

f(x) = tanh(W2 @ tanh(W1 @ x)), hidden width 64, float64, for (n, m) in
(4, 2000), (2000, 4), (200, 200), (1000, 1000).  For each shape: chainrule's
jacfwd, jacrev and jacobian(mode="auto") (auto's choice, the time of its first
call, which measures and decides, and of later calls, which reuse the
decision), JAX's jacfwd and jacrev under jit (compile time reported apart),
and PyTorch's torch.func.jacfwd and jacrev (eager), when installed.  Every
candidate's Jacobian is checked against chainrule's jacfwd before timing.

Run: ``python -m benchmarks.jacobian_modes`` or ``main(quick=True)``.
"""

from . import _harness as H
import time  # noqa: E402

import numpy as np  # noqa: E402  (after the harness sets the thread limits)

import chainrule as cr  # noqa: E402

SHAPES = ((4, 2000), (2000, 4), (200, 200), (1000, 1000))
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
    auto_first, auto = _first_call(lambda: cr.jacobian(f), x)
    H.agree("chainrule auto (first call)", auto(x), want)
    decision = auto.decision_for(x)                       # the decision auto's timed calls follow
    cands = {"cr fwd": lambda: fwd(x), "cr rev": lambda: rev(x), "cr auto": lambda: auto(x)}
    extra = {"auto first": auto_first, "choice": decision.mode}
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
    t = H.measure(cands, rounds=rounds, min_time=0.02)
    faster = "forward" if t["cr fwd"] <= t["cr rev"] else "reverse"
    return t, extra, faster


def main(quick=False):
    peers = H.load_peers(("torch", "jax"))
    rounds = 5 if quick else 11
    print(f"## Full Jacobians by mode ({H.machine()}; peers: {', '.join(peers) or 'none installed'})\n")
    print(f"f(x) = tanh(W2 @ tanh(W1 @ x)), hidden width {HIDDEN}, float64; median ms per full Jacobian "
          f"({rounds} interleaved rounds).  'auto' reuses the decision of its first call; 'auto 1st' is that "
          "first call (tape, probes, decision and the Jacobian).  JAX under jit, compile time apart.\n")
    labels = ["cr fwd", "cr rev", "cr auto", "jax fwd", "jax rev", "torch fwd", "torch rev"]
    header = ["n", "m", "auto's choice", "faster (cr)"] + labels + ["auto 1st", "jax compile (fwd/rev)"]
    rows = []
    for n, m in SHAPES:
        t, extra, faster = shape_row(n, m, peers, rounds)
        ms = lambda s: f"{s * 1e3:.3g}"                                     # noqa: E731
        gap = max(t["cr fwd"], t["cr rev"]) / min(t["cr fwd"], t["cr rev"])
        verdict = "yes" if extra["choice"] == faster else ("within 10%" if gap < 1.1 else "NO")
        rows.append([str(n), str(m), f"{extra['choice']} ({verdict})", f"{faster} by {gap:.1f}x" if gap < 10 else f"{faster} by {gap:.0f}x"]
                    + [ms(t[k]) if k in t else "-" for k in labels]
                    + [ms(extra["auto first"]),
                       f"{ms(extra['jax fwd compile'])}/{ms(extra['jax rev compile'])}" if "jax" in peers else "-"])
    print(H.table(header, rows))
    return rows


if __name__ == "__main__":
    import sys
    main(quick="--quick" in sys.argv)
