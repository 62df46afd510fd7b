"""Transforms from several threads at once give the single-threaded results.

Run by tests/test_threads.py, in its own process and under ``python -O`` (so that no
guard of the level order relies on ``assert``)::

    python [-O] tests/threadcheck.py [SECONDS] [THREADS]

prints ``calls=N failures=M`` and one line per distinct failure, and exits 1 if any
call raised or differed from the reference.  The checks use ``if``, not ``assert``,
so that they still run under ``-O``.
"""

import sys
import threading
import time
import traceback

import numpy as np

import chainrule as cr


def f(x, y):
    return x * y + np.sin(x)


def vec(x):
    return np.array([1.0, 2.0, 3.0]) * np.tanh(x[:3] * x[1:]) + np.sum(x ** 2)


@cr.checkpoint
def block(x):
    return np.tanh(np.sin(x) * x)


def deep(x):
    return np.sum(block(block(x)) * x)


def looped(x):
    s, _ = cr.loop(lambda st: (st[0] + 0.1 * np.sin(st[0]) * st[1], st[1]), (x, x[0]), 12, checkpoints=3)
    return np.sum(s ** 2)


def scalar(x):
    return np.sum(np.sin(x) * x[::-1]) + np.prod(x[:2])


@cr.custom_jvp
def softplus(x):
    return np.logaddexp(0.0, x)


@softplus.defjvp
def _softplus_jvp(primals, tangents):
    x, = primals
    return softplus(x), tangents[0] / (1.0 + np.exp(-x))


@cr.custom_vjp
def logistic(x):
    return 1.0 / (1.0 + np.exp(-x))


def _logistic_fwd(x):
    y = logistic(x)
    return y, y


def _logistic_bwd(y, g):
    return (g * y * (1.0 - y),)


logistic.defvjp(_logistic_fwd, _logistic_bwd)


def workloads(rng):
    """(name, x -> result) pairs and the inputs each is run on."""
    xs = [rng.normal(size=4) for _ in range(4)]
    shared_out, shared_pull = cr.vjp(lambda x: block(block(x)) * x, xs[0])   # one pullback for all threads
    jacobian_auto = cr.jacobian(vec)                                            # one decision cache for all
    return xs, [
        ("grad", lambda x: np.array(cr.grad(f, argnums=(0, 1))(x[0], x[1]))),
        ("jacfwd", cr.jacfwd(vec)),
        ("jacrev", cr.jacrev(vec)),
        ("hessian", cr.hessian(scalar)),
        ("grad(grad)", lambda x: cr.grad(lambda a: cr.grad(lambda b: np.sin(a * b) * a)(x[1]))(x[0])),
        ("checkpoint", cr.grad(deep)),
        ("hessian/checkpoint", cr.hessian(deep)),
        ("shared vjp_fn", lambda x: shared_pull(x)[0]),
        ("loop", cr.grad(looped)),
        ("custom_jvp", cr.hessian(lambda x: np.sum(softplus(x) * x))),
        ("custom_vjp", cr.jacrev(lambda x: logistic(x) * x[0])),
        ("jacobian auto", jacobian_auto),
        ("explain", lambda x: cr.explain(scalar, x).to_dot()),
    ]


def same(a, b):
    if isinstance(b, str):
        return a == b
    return np.shape(a) == np.shape(b) and bool(np.allclose(a, b, rtol=1e-12, atol=1e-14))


def reference_checks(xs, refs):
    """The single-threaded references against the formulas they must equal (not just themselves)."""
    bad = []
    for i, x in enumerate(xs):
        g = refs["grad"][i]
        if not np.allclose(g, [x[1] + np.cos(x[0]), x[0]], rtol=1e-13, atol=0):
            bad.append(f"grad of x*y + sin x at {x[:2]}: {g}")
        if not np.allclose(refs["jacfwd"][i], refs["jacrev"][i], rtol=1e-12, atol=1e-14):
            bad.append("jacfwd and jacrev differ")
        s = 1.0 / (1.0 + np.exp(-x))
        if not np.allclose(np.diag(refs["custom_jvp"][i]), s * (2.0 + x * (1.0 - s)), rtol=1e-12, atol=1e-14):
            bad.append("custom_jvp hessian differs from the formula")
        h = refs["hessian"][i]
        if not np.allclose(h, h.T, rtol=1e-12, atol=1e-14):
            bad.append("hessian not symmetric")
    return bad


def run(seconds=2.0, threads=8, seed=0):
    """Returns (calls, failures): every failure is a line saying what went wrong."""
    xs, work = workloads(np.random.default_rng(seed))
    refs = {name: [fn(x) for x in xs] for name, fn in work}
    failures = reference_checks(xs, refs)
    calls = [0] * threads
    stop = time.monotonic() + seconds
    start = threading.Barrier(threads)
    lock = threading.Lock()

    def worker(k):
        rng = np.random.default_rng(seed + 1 + k)
        start.wait()
        n = 0
        while time.monotonic() < stop:
            name, fn = work[rng.integers(len(work))]
            i = rng.integers(len(xs))
            try:
                out = fn(xs[i])
                ok = same(out, refs[name][i])
                msg = None if ok else f"{name}: {out!r} != {refs[name][i]!r}"
            except Exception as e:  # noqa: BLE001 - every failure is counted and reported
                msg = f"{name}: {type(e).__name__}: {e}".splitlines()[0]
                if "-v" in sys.argv:
                    traceback.print_exc()
            n += 1
            if msg is not None:
                with lock:
                    failures.append(msg)
        calls[k] = n

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(calls), failures


def main(argv):
    args = [a for a in argv if a != "-v"]
    seconds = float(args[0]) if args else 2.0
    threads = int(args[1]) if len(args) > 1 else 8
    calls, failures = run(seconds, threads)
    print(f"calls={calls} failures={len(failures)} optimize={sys.flags.optimize}")
    for msg in sorted(set(failures)):
        print(f"  {failures.count(msg)} x {msg}")
    return 1 if failures or calls == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
