"""Timing harness: one BLAS thread, interleaved samples, medians, optional peers.

Import this module before NumPy is imported anywhere (the entry points do),
so that the thread limits apply to the BLAS that NumPy loads.
"""

import gc
import os
import statistics
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402


def optional(name):
    """Import a peer library if it is installed, else None."""
    try:
        module = __import__(name)
    except Exception:
        return None
    return module


def load_peers(want=("autograd", "torch", "jax")):
    peers = {}
    if "autograd" in want:
        peers["autograd"] = optional("autograd")
    if "torch" in want:
        torch = optional("torch")
        if torch is not None:
            torch.set_num_threads(1)
            torch.set_default_dtype(torch.float64)
        peers["torch"] = torch
    if "jax" in want:
        jax = optional("jax")
        if jax is not None:
            jax.config.update("jax_enable_x64", True)
            try:
                jax.config.update("jax_cpu_enable_async_dispatch", False)
            except Exception:
                pass
        peers["jax"] = jax
    gc.collect()
    gc.freeze()          # the peers' many long-lived objects would otherwise slow every collection
    return {k: v for k, v in peers.items() if v is not None}


def measure(candidates, rounds=15, min_time=0.02, warmup=2, clock=time.perf_counter, samples_out=None):
    """Median seconds per call of each candidate, sampled in interleaved rounds.

    ``candidates`` maps a label to a zero-argument callable.  Each sample runs
    a candidate enough times to last about ``min_time``.  ``clock``:
    ``time.perf_counter`` (wall) or ``time.process_time`` (this process's CPU
    time: steadier on a shared machine).  ``samples_out`` (a dict) receives
    every sample, per label.
    """
    loops = {}
    for label, fn in candidates.items():
        for _ in range(warmup):
            fn()
        t0 = clock()
        fn()
        dt = max(clock() - t0, 1e-7)
        loops[label] = max(1, int(min_time / dt))
    samples = {label: [] for label in candidates}
    for _ in range(rounds):
        for label, fn in candidates.items():
            n = loops[label]
            t0 = clock()
            for _ in range(n):
                fn()
            samples[label].append((clock() - t0) / n)
    if samples_out is not None:
        samples_out.update(samples)
    return {label: statistics.median(s) for label, s in samples.items()}


def table(header, rows):
    """A Markdown table from a header and rows of strings."""
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in rows])


def machine():
    import platform
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, NumPy {np.__version__}"


def agree(label, got, want, rtol=1e-8, atol=1e-10):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape or not np.allclose(got, want, rtol=rtol, atol=atol):
        raise AssertionError(f"{label}: derivative disagrees with the reference "
                             f"(max difference {np.max(np.abs(got - want)) if got.shape == want.shape else 'shape'})")


COMPILE_TIMES = {}


def first_call(label, fn):
    """Call ``fn`` once, recording how long the first call took (JAX's jit compiles then)."""
    t0 = time.perf_counter()
    out = fn()
    COMPILE_TIMES[label] = time.perf_counter() - t0
    return out
