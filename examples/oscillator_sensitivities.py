"""Sensitivities of a simulation: many observables, two parameters -> forward mode.

A damped oscillator x'' + c x' + k x = 0, x(0) = 1, x'(0) = 0, integrated with
the classical Runge-Kutta method (RK4).  The observables are its state
(position and velocity) at 500 times, so the map (k, c) -> observables is
R^2 -> R^1000: forward mode needs 2 tangent directions, reverse mode 1000
adjoint directions (and a tape of every step).  The script prints what
``jacobian(mode="auto")`` chooses and why, computes the sensitivities, and
checks them against central finite differences.

    python examples/oscillator_sensitivities.py [--steps 500]
"""

import argparse

import numpy as np

import chainrule as cr


def simulate(params, steps=500, dt=0.02):
    """Position and velocity at ``steps`` times, shape (steps, 2), for params = (k, c)."""
    k, c = params[0], params[1]

    def rhs(x, v):
        return v, -k * x - c * v

    x, v = 1.0, 0.0
    states = []
    for _ in range(steps):
        k1x, k1v = rhs(x, v)
        k2x, k2v = rhs(x + 0.5 * dt * k1x, v + 0.5 * dt * k1v)
        k3x, k3v = rhs(x + 0.5 * dt * k2x, v + 0.5 * dt * k2v)
        k4x, k4v = rhs(x + dt * k3x, v + dt * k3v)
        x = x + dt / 6 * (k1x + 2 * k2x + 2 * k3x + k4x)
        v = v + dt / 6 * (k1v + 2 * k2v + 2 * k3v + k4v)
        states.append(np.stack([x, v]))
    return np.stack(states)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=500)
    args = ap.parse_args(argv)
    params = np.array([4.0, 0.3])                        # stiffness k, damping c
    f = lambda p: simulate(p, args.steps)                 # noqa: E731

    decision = cr.choose_mode(f, params)
    print(f"simulate: R^{decision.n} -> R^{decision.m}; auto mode chooses {decision.mode}.")
    print(f"  why: {decision.reason}")

    jac = cr.jacobian(f)(params)                          # shape (steps, 2, 2): d state / d (k, c)
    eps = 1e-6
    fd = np.stack([(f(params + eps * e) - f(params - eps * e)) / (2 * eps) for e in np.eye(2)], axis=-1)
    err = float(np.max(np.abs(jac - fd)))
    print(f"d x(t_end) / d k = {jac[-1, 0, 0]:+.6f}   d x(t_end) / d c = {jac[-1, 0, 1]:+.6f}")
    print(f"largest difference from central finite differences: {err:.2e}")
    return jac, fd, decision


if __name__ == "__main__":
    main()
