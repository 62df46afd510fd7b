"""Train a small classifier with ``grad``: many inputs (the weights), one output (the loss).

A one-hidden-layer network separates two interleaved spirals.  The loss is a
function R^n -> R with n in the hundreds, so reverse mode gives the whole
gradient in one backward sweep; forward mode would need n sweeps.  The
script prints what ``jacobian(mode="auto")`` would choose for the loss and
why, then trains with plain gradient descent on ``value_and_grad``.

    python examples/train_classifier.py [--steps 300] [--hidden 32]
"""

import argparse

import numpy as np

import chainrule as cr


def spirals(count, rng):
    t = np.sqrt(rng.uniform(0.05, 1.0, count)) * 3 * np.pi
    label = rng.integers(0, 2, count)
    r = t / (3 * np.pi)
    angle = t + np.pi * label
    x = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1) + 0.02 * rng.standard_normal((count, 2))
    return x, label.astype(float)


def init(hidden, rng):
    return {"w1": rng.standard_normal((2, hidden)) * 1.5, "b1": np.zeros(hidden),
            "w2": rng.standard_normal(hidden) / np.sqrt(hidden), "b2": 0.0}


def loss(params, x, y):
    h = np.tanh(x @ params["w1"] + params["b1"])
    logit = h @ params["w2"] + params["b2"]
    # logistic loss, written stably: log(1 + exp(-s)) with s = +-logit
    s = (2 * y - 1) * logit
    return np.mean(np.logaddexp(0.0, -s))


def accuracy(params, x, y):
    h = np.tanh(x @ params["w1"] + params["b1"])
    return float(np.mean(((h @ params["w2"] + params["b2"]) > 0) == (y > 0.5)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--points", type=int, default=400)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    x, y = spirals(args.points, rng)
    params = init(args.hidden, rng)

    decision = cr.choose_mode(loss, params, x, y)
    print(f"loss: R^{decision.n} -> R^{decision.m}; auto mode chooses {decision.mode}.")
    print(f"  why: {decision.reason}")

    step = cr.value_and_grad(loss)
    first = None
    for k in range(args.steps):
        value, g = step(params, x, y)
        first = value if first is None else first
        params = {name: params[name] - 0.5 * g[name] for name in params}
        if k % max(1, args.steps // 5) == 0:
            print(f"  step {k:4d}  loss {float(value):.4f}  accuracy {accuracy(params, x, y):.2f}")
    final = float(loss(params, x, y))
    print(f"loss {float(first):.4f} -> {final:.4f}; training accuracy {accuracy(params, x, y):.2f}")
    return first, final


if __name__ == "__main__":
    main()
