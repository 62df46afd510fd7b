"""Peak memory and time of reverse mode with and without checkpointing, beside forward mode and the peers.

The workload is an explicit 1-D heat equation with nonlinear diffusivity on
``n`` cells (periodic), ``x <- x + r * lap(x) / (1 + x^2)``, run for ``T``
steps; the loss is the sum of the squared final state and its gradient with
respect to the initial state is what every candidate computes:

* plain reverse (every step on the tape), ``checkpoint`` on every step,
  ``loop`` with c = 10 and c = 30 snapshots (binomial checkpointing), forward
  mode in one direction (a directional derivative), the primal alone;
* a linear step ``x + r * lap(x)`` under plain reverse: the tape drops what
  linear operations do not need, so it should hold O(1) states;
* JAX (``lax.scan`` under ``jit``, plain and with ``jax.checkpoint`` on the
  step) and PyTorch eager (plain and ``torch.utils.checkpoint`` per step),
  when installed.

Memory is measured in a fresh process per candidate: Python's
``tracemalloc`` peak (NumPy reports its array buffers to it; JAX and PyTorch
allocate outside it) and the peak resident set size above the baseline
(Linux ``VmHWM`` after resetting it, with glibc's mmap threshold fixed so
freed arrays are returned at once), which sees every library.  Every
derivative is checked against chainrule's plain reverse before anything is
timed.
"""

import gc
import os
import sys
import time
import tracemalloc

from . import _harness as H
import numpy as np  # noqa: E402  (after the harness sets the thread limits)

import chainrule as cr  # noqa: E402

R = 0.2
FULL = (100_000, 1000)
QUICK = (10_000, 200)


def heat_step(np_, x):
    lap = np_.roll(x, 1) - 2.0 * x + np_.roll(x, -1)
    return x + R * lap / (1.0 + x ** 2)


def linear_step(np_, x):
    return x + R * (np_.roll(x, 1) - 2.0 * x + np_.roll(x, -1))


def initial_state(n):
    s = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    return np.sin(s) + 0.5 * np.cos(3.0 * s) + 0.2


def direction(n):
    return np.cos(np.linspace(0.0, 7.0, n))


def loss(x, steps, step=heat_step):
    for _ in range(steps):
        x = step(np, x)
    return np.sum(x ** 2)


def candidates(n, steps, labels=None, peers=None):
    """label -> zero-argument callable returning the gradient (or, for forward mode, J v)."""
    x, v = initial_state(n), direction(n)
    step = lambda x: heat_step(np, x)                    # noqa: E731
    ckpt_step = cr.checkpoint(step)

    def with_checkpoint(x):
        for _ in range(steps):
            x = ckpt_step(x)
        return np.sum(x ** 2)

    c = {
        "numpy primal": lambda: loss(x, steps),
        "chainrule plain reverse": lambda: cr.grad(loss)(x, steps),
        "chainrule checkpoint per step": lambda: cr.grad(with_checkpoint)(x),
        "chainrule loop c=10": lambda: cr.grad(lambda x: np.sum(cr.loop(step, x, steps, checkpoints=10) ** 2))(x),
        "chainrule loop c=30": lambda: cr.grad(lambda x: np.sum(cr.loop(step, x, steps, checkpoints=30) ** 2))(x),
        "chainrule forward (one direction)": lambda: cr.jvp(lambda x: loss(x, steps), (x,), (v,))[1],
        "numpy primal, linear step": lambda: loss(x, steps, linear_step),
        "chainrule plain reverse, linear step": lambda: cr.grad(loss)(x, steps, linear_step),
    }
    if peers is None:
        peers = H.load_peers(tuple(name for name in ("jax", "torch")
                                   if labels is None or any(k.startswith(name) for k in labels)))
    if "jax" in peers:
        jax = peers["jax"]
        jnp = jax.numpy

        def jax_loss(x, remat):
            body = jax.checkpoint(lambda x: heat_step(jnp, x)) if remat else (lambda x: heat_step(jnp, x))
            y, _ = jax.lax.scan(lambda carry, _: (body(carry), None), x, None, length=steps)
            return jnp.sum(y ** 2)

        jx = jnp.asarray(x)
        g_plain = jax.jit(jax.grad(lambda x: jax_loss(x, False)))
        g_remat = jax.jit(jax.grad(lambda x: jax_loss(x, True)))
        c["jax jit scan"] = lambda: np.asarray(g_plain(jx).block_until_ready())
        c["jax jit scan + checkpoint"] = lambda: np.asarray(g_remat(jx).block_until_ready())
    if "torch" in peers:
        torch = peers["torch"]
        from torch.utils.checkpoint import checkpoint as torch_checkpoint

        def torch_grad(remat):
            tx = torch.tensor(x, requires_grad=True)
            y = tx
            for _ in range(steps):
                y = torch_checkpoint(lambda z: heat_step(torch, z), y, use_reentrant=False) if remat \
                    else heat_step(torch, y)
            (g,) = torch.autograd.grad((y ** 2).sum(), tx)
            return g.numpy()

        c["torch eager"] = lambda: torch_grad(False)
        c["torch eager + checkpoint"] = lambda: torch_grad(True)
    return {k: f for k, f in c.items() if labels is None or k in labels}, x, v


def _status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _measure_in_child(label, n, steps, pipe):
    """Run one candidate in this (fresh) process; send (tracemalloc peak, RSS peak above baseline)."""
    try:
        cands, _, _ = candidates(n, steps, [label])
        fn = cands[label]
        fn()                                               # warm up (JAX compiles): measure the steady state
        gc.collect()
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")                               # reset the peak resident set size
        except OSError:
            pass
        base = _status("VmRSS")
        tracemalloc.start()
        fn()
        traced = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        pipe.send((traced, max(0, _status("VmHWM") - base)))
    except BaseException as e:                             # report, don't hang the parent
        pipe.send(e)


def measure_memory(labels, n, steps):
    import multiprocessing as mp
    os.environ.setdefault("MALLOC_MMAP_THRESHOLD_", str(128 * 1024))
    ctx = mp.get_context("spawn")
    out = {}
    for label in labels:
        print(f"  memory: {label} ...", file=sys.stderr, flush=True)
        parent, child = ctx.Pipe()
        p = ctx.Process(target=_measure_in_child, args=(label, n, steps, child))
        p.start()
        result = parent.recv()
        p.join()
        if isinstance(result, BaseException):
            raise result
        out[label] = result
    return out


def check_agreement(cands, x, v):
    ref = cands["chainrule plain reverse"]()
    for label, fn in cands.items():
        if "primal" in label or label == "chainrule plain reverse, linear step":
            continue
        got = fn()
        if "forward" in label:
            H.agree(label, got, np.dot(ref, v), rtol=1e-10)
        else:
            H.agree(label, got, ref, rtol=1e-10, atol=1e-12)


def linear_reference(x, steps):
    y = x
    for _ in range(steps):
        y = linear_step(np, y)
    g = 2.0 * y
    for _ in range(steps):                                 # the step matrix is symmetric
        g = linear_step(np, g)
    return g


def _mb(b):
    return f"{b / 2 ** 20:.1f}"


def main(quick=False):
    n, steps = QUICK if quick else FULL
    peers = H.load_peers(("jax", "torch"))
    cands, x, v = candidates(n, steps, peers=peers)
    print(f"## Memory: reverse mode with and without checkpointing ({H.machine()}; "
          f"peers: {', '.join(sorted(peers)) or 'none installed'})\n", flush=True)
    print(f"Heat equation with nonlinear diffusivity, {n} cells, {steps} steps, float64; gradient of "
          "sum(x_T^2) with respect to x_0.\n", flush=True)
    for label in cands:
        if label.startswith("jax"):
            H.first_call(label, cands[label])
    check_agreement(cands, x, v)
    H.agree("chainrule plain reverse, linear step", cands["chainrule plain reverse, linear step"](),
            linear_reference(x, steps), rtol=1e-10, atol=1e-12)
    from chainrule.reverse import vjp_flat, tape_nbytes
    _, pb = vjp_flat(lambda xs: [loss(xs[0], steps, linear_step)], [x])
    linear_tape = tape_nbytes(pb.tape)
    del pb
    memory = measure_memory(list(cands), n, steps)
    rounds = 5 if quick else 3
    print("  timing ...", file=sys.stderr, flush=True)
    times = H.measure(cands, rounds=rounds, min_time=0.0, warmup=1)
    base_t = times["chainrule plain reverse"]
    base_m = memory["chainrule plain reverse"][0]
    primal_t, primal_m = times["numpy primal"], memory["numpy primal"][0]
    rows = []
    for label in cands:
        traced, rss = memory[label]
        numpy_based = label.startswith(("chainrule", "numpy"))
        rows.append([label, f"{times[label]:.3g}", f"{times[label] / primal_t:.1f}",
                     f"{times[label] / base_t:.2f}" if label.startswith("chainrule") else "-",
                     _mb(traced) if numpy_based else "-", _mb(rss),
                     f"{traced / base_m:.2%}" if label.startswith("chainrule") and "linear" not in label
                     else "-"])
    print(H.table(["what", "seconds", "x primal", "x plain reverse", "peak MB (tracemalloc)",
                   "peak MB (RSS)", "of plain reverse's peak (tracemalloc)"], rows))
    print(f"\nThe linear step's tape keeps {linear_tape / x.nbytes:.2f} states' worth of arrays "
          f"({_mb(linear_tape)} MB) for {steps} steps.")
    c10 = memory["chainrule loop c=10"][0] / base_m, times["chainrule loop c=10"] / base_t
    fwd = memory["chainrule forward (one direction)"][0] / primal_m
    print(f"Targets: loop c=10 peak {c10[0]:.2%} of plain reverse (<= 5%), time {c10[1]:.2f}x (<= 4x); "
          f"forward peak {fwd:.2f}x the primal's (<= 2x).")
    if H.COMPILE_TIMES:
        print("JAX compile time (first call): " + ", ".join(f"{k} {t:.2f} s" for k, t in H.COMPILE_TIMES.items()))
    return times, memory


if __name__ == "__main__":
    t0 = time.perf_counter()
    main(quick="--quick" in sys.argv)
    print(f"\n(total {time.perf_counter() - t0:.0f} s)", file=sys.stderr)
