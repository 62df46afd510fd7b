"""``python -m benchmarks.complex_eig [--quick] [--n N]``: the Jacobian of a complex matrix function through eig.

f(A) = (|w|^2, sum_i |V_ik|^4) for A complex n x n (n = 64): the eigenvalues' moduli and a
phase-invariant function of the unit-norm eigenvectors, 2n real outputs of n^2 complex inputs, so
the full Jacobian (2n x n x n, complex) is taken in reverse mode, 2n adjoints: chainrule's
``jacrev`` (one batched backward sweep), JAX's ``jacrev`` (eager and jit) and PyTorch's
``torch.func.jacrev`` (vmap over the backward pass, of the real and imaginary parts: it refuses
complex inputs) where installed, in one run with the suite's
harness (one BLAS thread, interleaved samples, medians).

chainrule and JAX return d f / d x - i d f / d y (the bilinear pairing; PyTorch's convention is the
conjugate, and here its two real Jacobians are assembled into this one); each result is checked
against chainrule's, and chainrule's against central differences in random complex directions,
before anything is timed.  JAX needs ``enable_eigvec_derivs=True`` for eigenvector derivatives.
"""

import argparse
import sys

from . import _harness as H  # noqa: I001  (sets one BLAS thread before NumPy loads)
import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402


def eig_features(np_, a, eig=None):
    w, v = (eig or np_.linalg.eig)(a)
    return np_.concatenate([np_.abs(w) ** 2, np_.sum(np_.abs(v) ** 4, axis=0)])


def _matrix(n):
    rng = np.random.default_rng(64)
    return (rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))) / np.sqrt(n)


def _agree(label, got, want, rtol=1e-6):
    got, want = np.asarray(got), np.asarray(want)
    err = np.max(np.abs(got - want)) if got.shape == want.shape else np.inf
    if not err <= rtol * np.max(np.abs(want)):
        raise AssertionError(f"{label}: the Jacobian disagrees with chainrule's (max difference {err:.3g})")


def eig_case(n=64, peers=None, quick=False):
    """Seconds per full Jacobian of ``eig_features`` at a complex n x n matrix, keyed by library.

    Returns ``{"numpy f": ..., "chainrule jacrev": ..., "jax eager jacrev": ..., "jax jit jacrev": ...,
    "torch.func jacrev": ...}`` (the peers that are installed); every Jacobian is checked first.
    """
    peers = H.load_peers(("torch", "jax")) if peers is None else peers
    return H.measure(eig_candidates(n, peers), rounds=3 if quick else 9, min_time=0.01 if quick else 0.05)


def eig_candidates(n, peers):
    """The callables :func:`eig_case` times, keyed by library, each checked against chainrule's Jacobian."""
    a = _matrix(n)
    f = lambda a: eig_features(np, a)                                       # noqa: E731
    jac = cr.jacrev(f)
    want = jac(a)                                                           # (2n, n, n) complex
    rng = np.random.default_rng(0)
    for _ in range(3):                                                      # chainrule against differences
        u = rng.standard_normal(a.shape) + 1j * rng.standard_normal(a.shape)
        fd = (f(a + 1e-6 * u) - f(a - 1e-6 * u)) / 2e-6
        _agree("chainrule (central differences)", np.real(np.sum(want * u, axis=(1, 2))), fd, rtol=1e-5)
    cands = {"numpy f": lambda: f(a), "chainrule jacrev": lambda: jac(a)}
    if "jax" in peers:
        jax = peers["jax"]
        # JAX differentiates non-symmetric eigenvectors only when asked to (jax-ml/jax#2748)
        lax_eig = lambda a: jax.lax.linalg.eig(a, compute_left_eigenvectors=False,      # noqa: E731
                                               enable_eigvec_derivs=True)
        jf = lambda a: eig_features(jax.numpy, a, lax_eig)                  # noqa: E731
        je = jax.jacrev(jf)
        _agree("jax eager", je(a), want)
        cands["jax eager jacrev"] = lambda: jax.block_until_ready(je(a))
        jj = jax.jit(jax.jacrev(jf))
        _agree("jax jit", H.first_call("jacrev through eig", lambda: jj(a)), want)
        cands["jax jit jacrev"] = lambda: jax.block_until_ready(jj(a))
    if "torch" in peers:
        torch = peers["torch"]
        # torch.func.jacrev refuses complex inputs: the real and imaginary parts are passed apart, and
        # d/dx - i d/dy assembled (one vmapped backward sweep gives both)
        tre, tim = torch.tensor(a.real), torch.tensor(a.imag)
        tf = lambda x, y: eig_features(torch, torch.complex(x, y), torch.linalg.eig)     # noqa: E731
        tj = torch.func.jacrev(tf, argnums=(0, 1))
        jx, jy = tj(tre, tim)
        _agree("torch.func", jx.numpy() - 1j * jy.numpy(), want)
        cands["torch.func jacrev"] = lambda: tj(tre, tim)
    return cands


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks.complex_eig", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer samples")
    ap.add_argument("--n", type=int, default=64, help="matrix size (default 64)")
    args = ap.parse_args(argv)
    peers = H.load_peers(("torch", "jax"))
    print(f"Machine: {H.machine()}; one BLAS thread; peers: {', '.join(sorted(peers)) or 'none installed'}\n")
    t = eig_case(args.n, peers, args.quick)
    base = t["chainrule jacrev"]
    rows = [[label, f"{secs * 1e3:.3g}", f"{secs / t['numpy f']:.1f}", f"{secs / base:.2f}"] for label, secs in t.items()]
    print(H.table([f"Jacobian of (|w|^2, sum |V|^4) through eig, {args.n}x{args.n} complex", "ms",
                   "/ numpy f", "/ chainrule"], rows))
    if H.COMPILE_TIMES:
        print("\nJAX jit compile time (first call), s: " + ", ".join(f"{k} {v:.2f}" for k, v in H.COMPILE_TIMES.items()))


if __name__ == "__main__":
    sys.exit(main())
