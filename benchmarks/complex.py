"""``python -m benchmarks.complex [--quick]``: complex values and FFTs beside JAX and PyTorch, one run.

1. ``value_and_grad`` of a spectral loss: the power spectrum of a real signal of 2^16 samples
   (``np.fft.rfft``), weighted and summed, ``sum(w * |rfft(x)|^2)``.  Candidates: plain NumPy
   (the loss alone, and the value with the gradient derived by hand), chainrule, PyTorch eager
   and ``torch.func``, JAX eager and ``jax.jit`` (steady state; the compile time apart).
2. The Jacobian of a function of a 64 x 64 complex matrix through ``np.linalg.eig``: the squared
   moduli of the eigenvalues, R^64 out of C^4096 in (reverse mode: 64 adjoints).  chainrule's
   ``eig`` is written on another branch; until it is merged the chainrule cell says "not
   supported yet" and the peers are still timed.

Every candidate's derivative is checked against the hand-derived one before anything is
timed.  Hygiene: one BLAS thread (``_harness`` is imported before NumPy), JAX in float64 with
asynchronous dispatch off, ``gc.freeze()`` after importing the peers, samples interleaved
across candidates in rounds, medians reported.
"""

import argparse
import sys

from . import _harness as H  # noqa: I001  (sets one BLAS thread before NumPy loads)
import numpy as np  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule.errors import NotDifferentiableError  # noqa: E402

NOT_YET = "not supported yet"


# -- 1. the spectral loss --------------------------------------------------------------------------------------
def spectral_loss(np_, fft, x, w):
    return (w * fft.rfft(x).abs() ** 2).sum() if np_ is None else np_.sum(w * np_.abs(fft.rfft(x)) ** 2)


def spectral_data(n):
    rng = np.random.default_rng(0)
    t = np.arange(n)
    x = np.exp(-t / (0.3 * n)) * np.cos(0.05 * t) + 0.1 * rng.standard_normal(n)
    w = 1.0 / (1.0 + np.arange(n // 2 + 1) / 50.0)        # a weight falling with frequency
    return x, w


def spectral_by_hand(x, w):
    """The value and the gradient derived by hand: dL/dx_n = 2 Re(sum_k w_k X_k e^{+2 pi i k n / N})."""
    n = x.size
    X = np.fft.rfft(x)
    Y = np.zeros(n, dtype=complex)
    Y[: n // 2 + 1] = w * X
    return np.sum(w * np.abs(X) ** 2), 2 * n * np.real(np.fft.ifft(Y))


def w_spectral(peers, quick=False):
    n = 2 ** 12 if quick else 2 ** 16
    x, w = spectral_data(n)
    value, want = spectral_by_hand(x, w)
    c = {"numpy value_and_grad by hand": lambda: spectral_by_hand(x, w)}
    vg = cr.value_and_grad(lambda x: spectral_loss(np, np.fft, x, w))
    v, g = vg(x)
    H.agree("chainrule", g, want, rtol=1e-9)
    H.agree("chainrule value", v, value, rtol=1e-12)
    c["chainrule"] = lambda: vg(x)
    if "torch" in peers:
        torch = peers["torch"]
        tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w)

        def torch_vg():
            loss = spectral_loss(None, torch.fft, tx, tw)
            return loss, torch.autograd.grad(loss, tx)[0]
        H.agree("torch eager", torch_vg()[1].numpy(), want, rtol=1e-9)
        c["torch eager"] = torch_vg
        fx = torch.tensor(x)
        tfg = torch.func.grad_and_value(lambda x: spectral_loss(None, torch.fft, x, tw))
        H.agree("torch.func", tfg(fx)[0].numpy(), want, rtol=1e-9)
        c["torch.func"] = lambda: tfg(fx)
    if "jax" in peers:
        jax, jnp = peers["jax"], peers["jax"].numpy
        jx, jw = jnp.asarray(x), jnp.asarray(w)
        jf = lambda x: spectral_loss(jnp, jnp.fft, x, jw)          # noqa: E731
        je = jax.value_and_grad(jf)
        H.agree("jax eager", je(jx)[1], want, rtol=1e-9)
        c["jax eager"] = lambda: jax.block_until_ready(je(jx))
        jj = jax.jit(jax.value_and_grad(jf))
        H.agree("jax jit", H.first_call("spectral loss value_and_grad", lambda: jj(jx))[1], want, rtol=1e-9)
        c["jax jit"] = lambda: jax.block_until_ready(jj(jx))
    return c, (lambda: spectral_loss(np, np.fft, x, w)), n


# -- 2. a Jacobian through eig -------------------------------------------------------------------------------
def eig_moduli(np_, eigvals, a):
    lam = eigvals(a)
    return (lam * lam.conj()).real if np_ is None else np.real(lam * np.conj(lam))


def eig_data(n):
    rng = np.random.default_rng(1)
    return (rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))) / np.sqrt(n)


def eig_by_hand(a):
    """Rows G_i = 2 conj(l_i) (V^-1)_{i j} V_{k i}: the bilinear-convention gradient of |l_i|^2 (distinct l)."""
    lam, v = np.linalg.eig(a)
    vinv = np.linalg.inv(v)
    return 2 * np.conj(lam)[:, None, None] * vinv[:, :, None] * v.T[:, None, :]


def _parts(z):
    """Real and imaginary parts side by side: a real array that ``H.agree`` can compare."""
    z = np.asarray(z)
    return np.stack([z.real, z.imag])


def chainrule_eig_jacobian(a):
    """chainrule's Jacobian through eig, or None while chainrule has no rule for np.linalg.eig."""
    f = cr.jacrev(lambda a: eig_moduli(np, np.linalg.eigvals, a))
    try:
        f(a[:3, :3])
    except NotDifferentiableError:
        return None
    return f


def w_eig(peers, quick=False):
    n = 16 if quick else 64
    a = eig_data(n)
    want = eig_by_hand(a)
    c = {"numpy Jacobian by hand": lambda: eig_by_hand(a)}
    f = chainrule_eig_jacobian(a)
    if f is not None:
        H.agree("chainrule", _parts(f(a)), _parts(want), rtol=1e-7, atol=1e-9)
        c["chainrule"] = lambda: f(a)
    if "torch" in peers:
        torch = peers["torch"]
        ta = torch.tensor(a)
        tf = lambda a: eig_moduli(None, torch.linalg.eigvals, a)      # noqa: E731
        # torch.func.jacrev refuses complex inputs; autograd's jacobian pulls the 64 rows back, batched
        tj = lambda: torch.autograd.functional.jacobian(tf, ta, vectorize=True)   # noqa: E731
        # PyTorch's convention for complex inputs is the conjugate of JAX's and chainrule's
        H.agree("torch eager", _parts(tj().conj().resolve_conj().numpy()), _parts(want), rtol=1e-7, atol=1e-9)
        c["torch eager"] = tj
    if "jax" in peers:
        jax, jnp = peers["jax"], peers["jax"].numpy
        ja = jnp.asarray(a)
        jf = lambda a: eig_moduli(None, jnp.linalg.eigvals, a)        # noqa: E731
        je = jax.jacrev(jf)
        H.agree("jax eager", _parts(je(ja)), _parts(want), rtol=1e-7, atol=1e-9)
        c["jax eager"] = lambda: jax.block_until_ready(je(ja))
        jj = jax.jit(jax.jacrev(jf))
        H.agree("jax jit", _parts(H.first_call("eig Jacobian", lambda: jj(ja))), _parts(want), rtol=1e-7, atol=1e-9)
        c["jax jit"] = lambda: jax.block_until_ready(jj(ja))
    return c, (lambda: eig_moduli(np, np.linalg.eigvals, a)), n


COLUMNS = ["numpy f", "numpy by hand", "chainrule", "torch eager", "torch.func", "jax eager", "jax jit"]


def _column(label):
    if label.startswith("numpy") and label != "numpy f":
        return "numpy by hand"
    return label


def main(argv=None, peers=None, out=sys.stdout):
    ap = argparse.ArgumentParser(prog="python -m benchmarks.complex", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2^12 samples and a 16 x 16 matrix, fewer rounds")
    args = ap.parse_args(argv)
    peers = H.load_peers(("torch", "jax")) if peers is None else peers
    print(f"Machine: {H.machine()}; one BLAS thread; peers: {', '.join(sorted(peers)) or 'none installed'}"
          f"{' (quick run)' if args.quick else ''}\n", file=out)
    rows = []
    for build, what in ((w_spectral, "value_and_grad of sum(w * abs(rfft(x))**2), {n} samples"),
                        (w_eig, "Jacobian of abs(eigvals(A))**2, A {n} x {n} complex")):
        cands, f, n = build(peers, args.quick)
        t = H.measure({"numpy f": f, **cands}, rounds=5 if args.quick else 15, min_time=0.01 if args.quick else 0.05)
        cells = {_column(k): v for k, v in t.items()}
        row = [what.format(n=n)] + [f"{cells[c] * 1e3:.3g}" if c in cells else "-" for c in COLUMNS]
        if "chainrule" not in cells:
            row[1 + COLUMNS.index("chainrule")] = NOT_YET
        for group in (("torch eager", "torch.func", "jax eager"), ("jax jit",)):
            peers_t = [cells[c] for c in group if c in cells]
            row.append(f"{min(peers_t) / cells['chainrule']:.2f}x" if peers_t and "chainrule" in cells else "-")
        rows.append(row)
    print("Median milliseconds per call (interleaved rounds):\n", file=out)
    print(H.table(["workload"] + COLUMNS + ["best eager peer / chainrule", "jax jit / chainrule"], rows), file=out)
    if H.COMPILE_TIMES:
        print("\nJAX jit compile time (first call), s: " + ", ".join(
            f"{k} {v:.2f}" for k, v in H.COMPILE_TIMES.items() if k in ("spectral loss value_and_grad", "eig Jacobian")),
            file=out)
    return rows


if __name__ == "__main__":
    main()
