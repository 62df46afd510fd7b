"""The workloads of the speed suite, each with the same mathematics in every library.

Every workload returns ``(candidates, reference)``: callables to time, keyed
by "library mode", and checks each library's derivative against a NumPy
hand-derived reference *before* any timing (so a benchmark cannot silently
time a wrong computation).  ``tests/test_benchmarks.py`` runs the chainrule
side of every check on small sizes.
"""

import numpy as np

import chainrule as cr

from . import _harness as H

N_OPS = 1000


# -- the mathematics, written once per array module ----------------------------------------
def seed_f(np_, x, y):
    return x * y + np_.sin(x)


def chain(np_, x, n_ops=N_OPS):
    """``n_ops`` scalar operations: sin, multiply, add, tanh, repeated."""
    for _ in range(n_ops // 4):
        x = np_.tanh(np_.sin(x) * 1.0001 + 0.01)
    return x


def chain_reference(x, n_ops=N_OPS):
    d = 1.0
    for _ in range(n_ops // 4):
        d *= np.cos(x)
        x = np.sin(x) * 1.0001 + 0.01
        d *= 1.0001 * (1 - np.tanh(x) ** 2)
        x = np.tanh(x)
    return d


def mlp_params(rng, sizes=(512, 512, 512, 10)):
    p = {f"W{i}": rng.standard_normal((m, n)) / np.sqrt(m) for i, (m, n) in enumerate(zip(sizes[:-1], sizes[1:]))}
    p.update({f"b{i}": np.zeros(n) for i, n in enumerate(sizes[1:])})
    return p


def mlp_loss(np_, p, x, y):
    h = np_.tanh(x @ p["W0"] + p["b0"])
    h = np_.tanh(h @ p["W1"] + p["b1"])
    out = h @ p["W2"] + p["b2"]
    return ((out - y) ** 2).mean()


def mlp_reference(p, x, y):
    """The gradient of mlp_loss by hand (backpropagation written out)."""
    h0 = np.tanh(x @ p["W0"] + p["b0"])
    h1 = np.tanh(h0 @ p["W1"] + p["b1"])
    out = h1 @ p["W2"] + p["b2"]
    g_out = 2 * (out - y) / out.size
    g = {"W2": h1.T @ g_out, "b2": g_out.sum(0)}
    g1 = (g_out @ p["W2"].T) * (1 - h1 ** 2)
    g.update(W1=h0.T @ g1, b1=g1.sum(0))
    g0 = (g1 @ p["W1"].T) * (1 - h0 ** 2)
    g.update(W0=x.T @ g0, b0=g0.sum(0))
    return g


def rosen(np_, x):
    return (100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def rosen_hessian(x):
    n = x.size
    h = np.zeros((n, n))
    i = np.arange(n - 1)
    h[i, i] += 1200 * x[:-1] ** 2 - 400 * x[1:] + 2
    h[i + 1, i + 1] += 200
    h[i, i + 1] = h[i + 1, i] = -400 * x[:-1]
    return h


def layers(np_, x, W1, W2):
    return np_.tanh(W2 @ np_.tanh(W1 @ x))


def layers_jacobian(x, W1, W2):
    h = np.tanh(W1 @ x)
    out = np.tanh(W2 @ h)
    return (1 - out ** 2)[:, None] * (W2 @ ((1 - h ** 2)[:, None] * W1))


# -- workloads ----------------------------------------------------------------------------
def w_seed(peers, quick=False):
    """grad of x*y + sin(x) at (2, 3), per call."""
    want = (3 + np.cos(2.0), 2.0)
    g = cr.grad(lambda x, y: seed_f(np, x, y), argnums=(0, 1))
    H.agree("chainrule", g(2.0, 3.0), want)
    c = {"chainrule": lambda: g(2.0, 3.0)}
    c.update(_peer_grads(peers, lambda np_, x, y: seed_f(np_, x, y), (2.0, 3.0), want, argnums=(0, 1)))
    return c, lambda: seed_f(np, 2.0, 3.0)


def w_chain_grad(peers, quick=False):
    """grad of a chain of 1000 scalar operations, per operation."""
    want = chain_reference(0.3)
    g = cr.grad(lambda x: chain(np, x))
    H.agree("chainrule", g(0.3), want)
    c = {"chainrule": lambda: g(0.3)}
    c.update(_peer_grads(peers, lambda np_, x: chain(np_, x), (0.3,), want, scan=True))
    return c, lambda: chain(np, 0.3)


def w_chain_jvp(peers, quick=False):
    """jvp of the same chain, per operation."""
    want = chain_reference(0.3)
    f = lambda x: chain(np, x)                                   # noqa: E731
    H.agree("chainrule", cr.jvp(f, (0.3,), (1.0,))[1], want)
    c = {"chainrule": lambda: cr.jvp(f, (0.3,), (1.0,))}
    if "autograd" in peers:
        from autograd.differential_operators import make_jvp
        import autograd.numpy as anp
        j = make_jvp(lambda x: chain(anp, x))
        H.agree("autograd", j(0.3)(1.0)[1], want)
        c["autograd"] = lambda: j(0.3)(1.0)
    if "torch" in peers:
        torch = peers["torch"]
        import torch.autograd.forward_ad as fwad

        def torch_jvp():
            with fwad.dual_level():
                x = fwad.make_dual(torch.tensor(0.3), torch.tensor(1.0))
                return fwad.unpack_dual(chain(torch, x)).tangent
        H.agree("torch eager", torch_jvp(), want)
        c["torch eager"] = torch_jvp
        tf = lambda: torch.func.jvp(lambda x: chain(torch, x), (torch.tensor(0.3),), (torch.tensor(1.0),))  # noqa: E731
        H.agree("torch.func", tf()[1], want)
        c["torch.func"] = tf
    if "jax" in peers:
        jax, jnp = peers["jax"], peers["jax"].numpy
        je = lambda: jax.jvp(lambda x: chain(jnp, x, N_OPS), (0.3,), (1.0,))        # noqa: E731
        H.agree("jax eager", je()[1], want)
        c["jax eager"] = je
        jj = jax.jit(lambda x, t: jax.jvp(_jax_scan_chain(jax), (x,), (t,)))
        H.agree("jax jit", H.first_call("jvp of the chain", lambda: jj(0.3, 1.0))[1], want)
        c["jax jit"] = lambda: jj(0.3, 1.0)[1].block_until_ready()
    return c, lambda: chain(np, 0.3)


def w_mlp(peers, quick=False):
    """value_and_grad of a 3-layer tanh MLP (batch 256, 512-512-512-10), over plain NumPy f."""
    rng = np.random.default_rng(0)
    sizes = (64, 64, 64, 10) if quick else (512, 512, 512, 10)
    p = mlp_params(rng, sizes)
    x, y = rng.standard_normal((32 if quick else 256, sizes[0])), rng.standard_normal((32 if quick else 256, 10))
    want = mlp_reference(p, x, y)
    vg = cr.value_and_grad(lambda p: mlp_loss(np, p, x, y))
    for k in p:
        H.agree(f"chainrule {k}", vg(p)[1][k], want[k])
    c = {"chainrule": lambda: vg(p)}
    if "autograd" in peers:
        import autograd
        import autograd.numpy as anp
        avg = autograd.value_and_grad(lambda p: mlp_loss(anp, p, x, y))
        H.agree("autograd", avg(p)[1]["W0"], want["W0"])
        c["autograd"] = lambda: avg(p)
    if "torch" in peers:
        torch = peers["torch"]
        tp = {k: torch.tensor(v, requires_grad=True) for k, v in p.items()}
        tx, ty = torch.tensor(x), torch.tensor(y)

        def torch_vg():
            loss = mlp_loss(torch, tp, tx, ty)
            return loss, torch.autograd.grad(loss, list(tp.values()))
        H.agree("torch eager", torch_vg()[1][0], want["W0"])
        c["torch eager"] = torch_vg
        fp = {k: torch.tensor(v) for k, v in p.items()}
        tfg = torch.func.grad_and_value(lambda q: mlp_loss(torch, q, tx, ty))
        H.agree("torch.func", tfg(fp)[0]["W0"], want["W0"])
        c["torch.func"] = lambda: tfg(fp)
    if "jax" in peers:
        jax = peers["jax"]
        jp = {k: jax.numpy.asarray(v) for k, v in p.items()}
        jx, jy = jax.numpy.asarray(x), jax.numpy.asarray(y)
        jf = lambda q: mlp_loss(jax.numpy, q, jx, jy)              # noqa: E731
        je = jax.value_and_grad(jf)
        H.agree("jax eager", je(jp)[1]["W0"], want["W0"])
        c["jax eager"] = lambda: jax.block_until_ready(je(jp))
        jj = jax.jit(jax.value_and_grad(jf))
        H.agree("jax jit", H.first_call("MLP value_and_grad", lambda: jj(jp))[1]["W0"], want["W0"])
        c["jax jit"] = lambda: jax.block_until_ready(jj(jp))
    return c, lambda: mlp_loss(np, p, x, y)


def w_hessian(peers, quick=False):
    """Hessian of Rosenbrock, n = 100."""
    x = np.linspace(-1.2, 1.2, 100)
    want = rosen_hessian(x)
    h = cr.hessian(lambda x: rosen(np, x))
    H.agree("chainrule", h(x), want)
    c = {"chainrule": lambda: h(x)}
    if "autograd" in peers:
        import autograd
        import autograd.numpy as anp
        ah = autograd.hessian(lambda x: rosen(anp, x))
        H.agree("autograd", ah(x), want)
        c["autograd"] = lambda: ah(x)
    if "torch" in peers:
        torch = peers["torch"]
        tx = torch.tensor(x)
        te = lambda: torch.autograd.functional.hessian(lambda x: rosen(torch, x), tx)   # noqa: E731
        H.agree("torch eager", te(), want)
        c["torch eager"] = te
        tf = torch.func.hessian(lambda x: rosen(torch, x))
        H.agree("torch.func", tf(tx), want)
        c["torch.func"] = lambda: tf(tx)
    if "jax" in peers:
        jax = peers["jax"]
        jx = jax.numpy.asarray(x)
        je = jax.hessian(lambda x: rosen(jax.numpy, x))
        H.agree("jax eager", je(jx), want)
        c["jax eager"] = lambda: je(jx).block_until_ready()
        jj = jax.jit(je)
        H.agree("jax jit", H.first_call("Rosenbrock Hessian", lambda: jj(jx)), want)
        c["jax jit"] = lambda: jj(jx).block_until_ready()
    return c, lambda: rosen(np, x)


def w_hvp(peers, quick=False):
    """Hessian-vector product of Rosenbrock, n = 100."""
    x = np.linspace(-1.2, 1.2, 100)
    v = np.cos(np.arange(100.0))
    want = rosen_hessian(x) @ v
    f = lambda x: rosen(np, x)                                    # noqa: E731
    H.agree("chainrule", cr.hvp(f, x, v), want)
    c = {"chainrule": lambda: cr.hvp(f, x, v)}
    if "torch" in peers:
        torch = peers["torch"]
        tx, tv = torch.tensor(x), torch.tensor(v)
        tf = lambda: torch.func.jvp(torch.func.grad(lambda x: rosen(torch, x)), (tx,), (tv,))[1]   # noqa: E731
        H.agree("torch.func", tf(), want)
        c["torch.func"] = tf
    if "jax" in peers:
        jax = peers["jax"]
        jx, jv = jax.numpy.asarray(x), jax.numpy.asarray(v)
        jh = lambda x, v: jax.jvp(jax.grad(lambda x: rosen(jax.numpy, x)), (x,), (v,))[1]   # noqa: E731
        H.agree("jax eager", jh(jx, jv), want)
        c["jax eager"] = lambda: jh(jx, jv).block_until_ready()
        jj = jax.jit(jh)
        H.agree("jax jit", H.first_call("Rosenbrock hvp", lambda: jj(jx, jv)), want)
        c["jax jit"] = lambda: jj(jx, jv).block_until_ready()
    return c, lambda: rosen(np, x)


def _jacobian_workload(n, m, mode):
    def w(peers, quick=False):
        rng = np.random.default_rng(0)
        W1, W2 = rng.standard_normal((64, n)) / np.sqrt(n), rng.standard_normal((m, 64)) / 8.0
        x = rng.standard_normal(n)
        want = layers_jacobian(x, W1, W2)
        f = lambda x: layers(np, x, W1, W2)                         # noqa: E731
        fns = {"forward": cr.jacfwd(f), "reverse": cr.jacrev(f)}
        if hasattr(cr, "jacobian"):
            fns["auto"] = cr.jacobian(f)
        c = {}
        for label, fn in fns.items():
            if mode in (label, "best") or label == "auto":
                H.agree(f"chainrule {label}", fn(x), want)
                c[f"chainrule {label}"] = (lambda fn=fn: fn(x))
        peer_modes = ("fwd", "rev") if mode == "best" else (("fwd",) if mode == "forward" else ("rev",))
        if "autograd" in peers and "rev" in peer_modes:
            import autograd
            import autograd.numpy as anp
            aj = autograd.jacobian(lambda x: layers(anp, x, W1, W2))
            H.agree("autograd", aj(x), want)
            c["autograd rev"] = lambda: aj(x)
        if "torch" in peers:
            torch = peers["torch"]
            tx, tW1, tW2 = torch.tensor(x), torch.tensor(W1), torch.tensor(W2)
            tf = lambda x: layers(torch, x, tW1, tW2)               # noqa: E731
            for pm in peer_modes:
                fn = torch.func.jacfwd(tf) if pm == "fwd" else torch.func.jacrev(tf)
                H.agree(f"torch.func {pm}", fn(tx), want)
                c[f"torch.func {pm}"] = (lambda fn=fn: fn(tx))
                te = (lambda pm=pm: torch.autograd.functional.jacobian(tf, tx, vectorize=True,
                                                                        strategy="forward-mode" if pm == "fwd" else "reverse-mode"))
                H.agree(f"torch eager {pm}", te(), want)
                c[f"torch eager {pm}"] = te
        if "jax" in peers:
            jax = peers["jax"]
            jx, jW1, jW2 = (jax.numpy.asarray(a) for a in (x, W1, W2))
            jf = lambda x: layers(jax.numpy, x, jW1, jW2)            # noqa: E731
            for pm in peer_modes:
                je = jax.jacfwd(jf) if pm == "fwd" else jax.jacrev(jf)
                H.agree(f"jax eager {pm}", je(jx), want)
                c[f"jax eager {pm}"] = (lambda je=je: je(jx).block_until_ready())
                jj = jax.jit(je)
                H.agree(f"jax jit {pm}", H.first_call(f"Jacobian {n}->{m} {pm}", lambda: jj(jx)), want)
                c[f"jax jit {pm}"] = (lambda jj=jj: jj(jx).block_until_ready())
        return c, lambda: f(x)
    w.__doc__ = f"full Jacobian {n} -> {m} (two tanh layers, hidden 64), {mode} mode"
    return w


# -- peers' gradients of a scalar function -------------------------------------------------
def _jax_scan_chain(jax):
    def f(x):
        def body(x, _):
            return jax.numpy.tanh(jax.numpy.sin(x) * 1.0001 + 0.01), None
        return jax.lax.scan(body, x, None, length=N_OPS // 4)[0]
    return f


def _peer_grads(peers, f, args, want, argnums=0, scan=False):
    c = {}
    if "autograd" in peers:
        import autograd
        import autograd.numpy as anp
        ag = autograd.grad(lambda *a: f(anp, *a), argnum=argnums) if isinstance(argnums, int) else None
        if ag is None:
            ag = lambda *a: tuple(autograd.grad(lambda *b: f(anp, *b), argnum=i)(*a) for i in argnums)  # noqa: E731
        H.agree("autograd", ag(*args), want)
        c["autograd"] = lambda: ag(*args)
    if "torch" in peers:
        torch = peers["torch"]
        nums = (argnums,) if isinstance(argnums, int) else argnums

        def torch_grad():
            ts = [torch.tensor(a, requires_grad=i in nums) for i, a in enumerate(args)]
            g = torch.autograd.grad(f(torch, *ts), [ts[i] for i in nums])
            return g[0] if isinstance(argnums, int) else g
        H.agree("torch eager", torch_grad(), want)
        c["torch eager"] = torch_grad
        tg = torch.func.grad(lambda *a: f(torch, *a), argnums=argnums)
        targs = [torch.tensor(a) for a in args]
        H.agree("torch.func", tg(*targs), want)
        c["torch.func"] = lambda: tg(*targs)
    if "jax" in peers:
        jax = peers["jax"]
        je = jax.grad(lambda *a: f(jax.numpy, *a), argnums=argnums)
        H.agree("jax eager", je(*args), want)
        c["jax eager"] = lambda: jax.block_until_ready(je(*args))
        jf = _jax_scan_chain(jax) if scan else (lambda *a: f(jax.numpy, *a))
        jj = jax.jit(jax.grad(jf, argnums=argnums))
        H.agree("jax jit", H.first_call("grad chain" if scan else "grad x*y + sin x", lambda: jj(*args)), want)
        c["jax jit"] = lambda: jax.block_until_ready(jj(*args))
    return c


WORKLOADS = [
    ("grad of x*y + sin(x)", "us per call", 1e6, w_seed),
    ("grad of a 1000-op scalar chain", "us per op", 1e6 / N_OPS, w_chain_grad),
    ("jvp of the same chain", "us per op", 1e6 / N_OPS, w_chain_jvp),
    ("value_and_grad of the tanh MLP", "x NumPy f", None, w_mlp),
    ("Hessian of Rosenbrock n = 100", "ms", 1e3, w_hessian),
    ("hvp of Rosenbrock n = 100", "us", 1e6, w_hvp),
    ("jacfwd 4 -> 2000 (two tanh layers)", "ms", 1e3, _jacobian_workload(4, 2000, "forward")),
    ("jacrev 2000 -> 4", "ms", 1e3, _jacobian_workload(2000, 4, "reverse")),
    ("full Jacobian 200 -> 200, best mode", "ms", 1e3, _jacobian_workload(200, 200, "best")),
    ("full Jacobian 1000 -> 1000, best mode", "ms", 1e3, _jacobian_workload(1000, 1000, "best")),
]
