"""An RK4-integrated ODE, the expensive realistic case for mode selection and ``explain``.

A driven, damped oscillator ``x'' + c x' + k x = A cos(w t) + u(t)``, x(0) = 1,
x'(0) = 0, integrated with the classical Runge-Kutta method in ``steps`` steps of
``dt``, written as plain scalar NumPy code (a 2-D state), as a user would.

* ``trajectory(params)``: params = (k, c, A, w) -> the state at every step,
  shape (steps, 2): R^4 -> R^(2 steps), the sensitivities problem (forward mode).
* ``loss(u)``: the forcing values u (one per step) -> a scalar misfit of the
  trajectory, R^steps -> R, its transpose problem (reverse mode).
* ``positions(u, steps)``: the forcing values -> the position after each
  step, R^steps -> R^steps: scalar code near the diagonal.
"""

import numpy as np

STEPS = 1000
DT = 0.01
PARAMS = np.array([4.0, 0.3, 0.5, 1.7])      # stiffness k, damping c, forcing amplitude A, frequency w


def simulate(k, c, a, w, u=None, steps=STEPS, dt=DT):
    """The state (position, velocity) after each step, shape (steps, 2)."""
    def rhs(x, v, t, ui):
        return v, a * np.cos(w * t) + ui - k * x - c * v

    x, v = 1.0, 0.0
    states = []
    for i in range(steps):
        t = i * dt
        ui = 0.0 if u is None else u[i]
        k1x, k1v = rhs(x, v, t, ui)
        k2x, k2v = rhs(x + 0.5 * dt * k1x, v + 0.5 * dt * k1v, t + 0.5 * dt, ui)
        k3x, k3v = rhs(x + 0.5 * dt * k2x, v + 0.5 * dt * k2v, t + 0.5 * dt, ui)
        k4x, k4v = rhs(x + dt * k3x, v + dt * k3v, t + dt, ui)
        x = x + dt / 6 * (k1x + 2 * k2x + 2 * k3x + k4x)
        v = v + dt / 6 * (k1v + 2 * k2v + 2 * k3v + k4v)
        states.append(np.stack([x, v]))
    return np.stack(states)


def trajectory(params, steps=STEPS):
    """R^4 -> R^(steps x 2): the whole trajectory as a function of (k, c, A, w)."""
    return simulate(params[0], params[1], params[2], params[3], steps=steps)


def loss(u, steps=STEPS):
    """R^steps -> R: the squared distance of the positions from a decaying target, as a function of the forcing."""
    k, c, a, w = PARAMS
    target = np.exp(-0.5 * DT * np.arange(steps))
    states = simulate(k, c, a, w, u=u, steps=steps)
    return np.sum((states[:, 0] - target) ** 2)


def positions(u, steps=STEPS):
    """R^steps -> R^steps: the position after each step as a function of the forcing (near the diagonal)."""
    k, c, a, w = PARAMS
    return simulate(k, c, a, w, u=u, steps=steps)[:, 0]


def forcing(steps=STEPS):
    return 0.1 * np.sin(np.arange(steps) * 0.05)


GRID = 160
HEAT_STEPS = 800


def heat_sensors(params, grid=GRID, steps=HEAT_STEPS):
    """R^4 -> R^8, about 1 s per plain evaluation: a 2-D reaction-diffusion field read by 8 sensors at the end.

    params = (diffusivity, decay, source amplitude, initial amplitude); explicit
    steps on a periodic ``grid x grid`` field (array code: the cost is in the arithmetic).
    """
    d, decay, amp, init = params[0], params[1], params[2], params[3]
    xs = np.linspace(-1.0, 1.0, grid)
    r2 = xs[:, None] ** 2 + xs[None, :] ** 2
    u = init * np.exp(-8.0 * r2)
    source = np.exp(-20.0 * ((xs[:, None] - 0.4) ** 2 + xs[None, :] ** 2))
    for _ in range(steps):
        lap = np.roll(u, 1, 0) + np.roll(u, -1, 0) + np.roll(u, 1, 1) + np.roll(u, -1, 1) - 4.0 * u
        u = u + 0.2 * d * lap - 0.01 * decay * u * u + 0.01 * amp * source * np.tanh(u)
    rows = np.arange(8) * (grid // 8) + grid // 16
    return u[rows, grid // 2]


HEAT_PARAMS = np.array([1.0, 0.5, 2.0, 1.0])
