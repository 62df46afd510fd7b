"""Per-operation overhead on scalar code, and gradient cost on an MLP.

* ``grad`` and ``jvp`` of a chain of 1000 scalar operations: microseconds
  per operation, beside plain NumPy and the peers.
* ``value_and_grad`` of a 3-layer tanh MLP (batch 256, 512-512-512-10,
  float64) divided by the time of the loss alone in plain NumPy.
"""

from . import _harness as H
import numpy as np  # noqa: E402  (after the harness sets the thread limits)

import chainrule as cr  # noqa: E402

N_OPS = 1000


def chain(np_, x):
    """1000 scalar operations: sin, multiply, add, tanh, repeated."""
    for _ in range(N_OPS // 4):
        x = np_.sin(x)
        x = x * 1.0001
        x = x + 0.01
        x = np_.tanh(x)
    return x


def chain_derivative(x):
    """The derivative of ``chain`` by hand (reference for the agreement check)."""
    d = 1.0
    for _ in range(N_OPS // 4):
        d *= np.cos(x)
        x = np.sin(x) * 1.0001 + 0.01
        d *= 1.0001 * (1 - np.tanh(x) ** 2)
        x = np.tanh(x)
    return d


def mlp_params(rng, sizes=(512, 512, 512, 10)):
    return {f"W{i}": rng.standard_normal((m, n)) / np.sqrt(m) for i, (m, n) in enumerate(zip(sizes[:-1], sizes[1:]))} | \
           {f"b{i}": np.zeros(n) for i, n in enumerate(sizes[1:])}


def mlp_loss(np_, p, x, y):
    h = np_.tanh(x @ p["W0"] + p["b0"])
    h = np_.tanh(h @ p["W1"] + p["b1"])
    out = h @ p["W2"] + p["b2"]
    return np_.mean((out - y) ** 2)


def scalar_chain_rows(peers, x0=0.3):
    want = chain_derivative(x0)
    cands_grad = {"numpy f": lambda: chain(np, x0), "chainrule grad": lambda: cr.grad(lambda x: chain(np, x))(x0)}
    cands_jvp = {"chainrule jvp": lambda: cr.jvp(lambda x: chain(np, x), (x0,), (1.0,))}
    H.agree("chainrule grad", cr.grad(lambda x: chain(np, x))(x0), want)
    H.agree("chainrule jvp", cr.jvp(lambda x: chain(np, x), (x0,), (1.0,))[1], want)
    if "autograd" in peers:
        import autograd
        import autograd.numpy as anp
        ag = autograd.grad(lambda x: chain(anp, x))
        H.agree("autograd grad", ag(x0), want)
        cands_grad["autograd grad"] = lambda: ag(x0)
    if "torch" in peers:
        torch = peers["torch"]

        def torch_grad():
            x = torch.tensor(x0, requires_grad=True)
            (g,) = torch.autograd.grad(chain(torch, x), x)
            return g

        def torch_jvp():
            import torch.autograd.forward_ad as fwad
            with fwad.dual_level():
                x = fwad.make_dual(torch.tensor(x0), torch.tensor(1.0))
                return fwad.unpack_dual(chain(torch, x)).tangent

        H.agree("torch grad", torch_grad(), want)
        H.agree("torch jvp", torch_jvp(), want)
        cands_grad["torch eager grad"] = torch_grad
        cands_jvp["torch eager jvp"] = torch_jvp
    t = H.measure({**cands_grad, **cands_jvp}, rounds=9)
    rows = [[label, f"{t[label] / N_OPS * 1e6:.2f}", f"{t[label] / t['numpy f']:.1f}"] for label in t]
    return rows, t


def mlp_rows(peers, batch=256):
    rng = np.random.default_rng(0)
    p = mlp_params(rng)
    x, y = rng.standard_normal((batch, 512)), rng.standard_normal((batch, 10))
    f = lambda p: mlp_loss(np, p, x, y)                    # noqa: E731
    vg = cr.value_and_grad(f)
    ref = vg(p)[1]
    cands = {"numpy f": lambda: f(p), "chainrule value_and_grad": lambda: vg(p)}
    if "autograd" in peers:
        import autograd
        import autograd.numpy as anp
        avg = autograd.value_and_grad(lambda p: mlp_loss(anp, p, x, y))
        H.agree("autograd mlp", avg(p)[1]["W0"], ref["W0"])
        cands["autograd value_and_grad"] = lambda: avg(p)
    if "torch" in peers:
        torch = peers["torch"]
        tp = {k: torch.tensor(v, requires_grad=True) for k, v in p.items()}
        tx, ty = torch.tensor(x), torch.tensor(y)

        def torch_vg():
            loss = mlp_loss(torch, tp, tx, ty)
            return loss, torch.autograd.grad(loss, list(tp.values()))

        H.agree("torch mlp", torch_vg()[1][0].numpy(), ref["W0"])
        cands["torch eager value_and_grad"] = torch_vg
    t = H.measure(cands, rounds=9, min_time=0.05)
    return [[label, f"{t[label] * 1e3:.2f}", f"{t[label] / t['numpy f']:.2f}"] for label in t], t


def main(quick=False):
    peers = H.load_peers(("autograd", "torch"))
    print(f"## Overhead ({H.machine()}; peers: {', '.join(peers) or 'none installed'})\n")
    rows, _ = scalar_chain_rows(peers)
    print(f"Scalar chain of {N_OPS} operations (sin, *, +, tanh):\n")
    print(H.table(["what", "us per operation", "x numpy f"], rows))
    rows, _ = mlp_rows(peers)
    print("\n3-layer tanh MLP, batch 256, 512-512-512-10, float64:\n")
    print(H.table(["what", "ms per call", "x numpy f"], rows))


if __name__ == "__main__":
    main()
