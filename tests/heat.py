"""The nonlinear step function the checkpointing tests share: a 1-D heat equation (periodic)."""

import numpy as np

R = 0.2


def heat_step(x):
    """One explicit step of a 1-D heat equation with diffusivity 1 / (1 + x^2) (periodic)."""
    lap = np.roll(x, 1) - 2.0 * x + np.roll(x, -1)
    return x + R * lap / (1.0 + x ** 2)


def x0(n=6):
    return np.sin(np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)) + 0.3
