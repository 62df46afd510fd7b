"""Test problems for sparse Jacobians and Hessians, each with its true pattern written out by hand.

The true patterns are built from the problems' definitions with plain index
loops (no chainrule), so they are an independent oracle for detection.
"""

import numpy as np


def banded(x):
    """y_i = x_{i-1} x_i + sin(x_{i+1}) on the interior, tridiagonal."""
    return x[:-2] * x[1:-1] + np.sin(x[2:])


def banded_pattern(n):
    return [(i, j) for i in range(n - 2) for j in (i, i + 1, i + 2)]


def block(x, b=4):
    """Independent blocks of size b: each output of a block depends on all of its block."""
    blocks = x.reshape(-1, b)
    return (blocks * np.sum(blocks ** 2, axis=1, keepdims=True)).ravel()


def block_pattern(n, b=4):
    return [(i, j) for i in range(n) for j in range(i // b * b, i // b * b + b)]


def arrowhead(x):
    """A dense first row (a sum), a dense first column (x[0] everywhere), and the diagonal."""
    return np.concatenate([np.sum(x ** 2)[None], x[1:] * x[0] + np.sin(x[1:])])


def arrowhead_pattern(n):
    return sorted({(0, j) for j in range(n)} | {(i, 0) for i in range(n)} | {(i, i) for i in range(n)})


def brusselator(y, N=8, A=3.4, B=1.0, alpha=10.0):
    """The 2-D Brusselator right-hand side on an N x N periodic grid, u then v flattened."""
    u = y[: N * N].reshape(N, N)
    v = y[N * N:].reshape(N, N)

    def lap(z):
        return np.roll(z, 1, 0) + np.roll(z, -1, 0) + np.roll(z, 1, 1) + np.roll(z, -1, 1) - 4.0 * z
    c = alpha * (N - 1) ** 2
    du = B + u * u * v - (A + 1.0) * u + c * lap(u)
    dv = A * u - u * u * v + c * lap(v)
    return np.concatenate([du.ravel(), dv.ravel()])


def brusselator_pattern(N=8):
    out = set()
    for field in (0, 1):
        for i in range(N):
            for j in range(N):
                row = field * N * N + i * N + j
                for di, dj in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)):
                    out.add((row, field * N * N + (i + di) % N * N + (j + dj) % N))
                out.add((row, (1 - field) * N * N + i * N + j))           # the u-v coupling
    return sorted(out)


def brusselator_jacobian(y, N=8, A=3.4, B=1.0, alpha=10.0):
    """The exact Jacobian, written by hand (dense, for the tests)."""
    n = N * N
    u, v = y[:n], y[n:]
    c = alpha * (N - 1) ** 2
    lap = np.zeros((n, n))
    for i in range(N):
        for j in range(N):
            r = i * N + j
            lap[r, r] -= 4.0
            for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                lap[r, (i + di) % N * N + (j + dj) % N] += 1.0
    J = np.zeros((2 * n, 2 * n))
    J[:n, :n] = np.diag(2 * u * v - (A + 1.0)) + c * lap
    J[:n, n:] = np.diag(u * u)
    J[n:, :n] = np.diag(A - 2 * u * v)
    J[n:, n:] = np.diag(-u * u) + c * lap
    return J


class RandomGather:
    """y_i = x[a_i] * x[b_i] + cos(x[c_i]) with random index arrays (seeded)."""

    def __init__(self, n, m, seed):
        rng = np.random.default_rng(seed)
        self.a, self.b, self.c = (rng.integers(0, n, m) for _ in range(3))
        self.n, self.m = n, m

    def __call__(self, x):
        return x[self.a] * x[self.b] + np.cos(x[self.c])

    def pattern(self):
        return sorted({(i, int(j)) for i in range(self.m) for j in (self.a[i], self.b[i], self.c[i])})


def chained_rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def arwhead(x):
    return np.sum(-4.0 * x[:-1] + 3.0) + np.sum((x[:-1] ** 2 + x[-1] ** 2) ** 2)


def arwhead_pattern(n):
    return sorted({(i, i) for i in range(n)} | {(i, n - 1) for i in range(n)} | {(n - 1, i) for i in range(n)})


def minimal_surface(z, N=6):
    """A discrete minimal-surface energy on an N x N grid: sqrt(1 + |grad z|^2) per cell."""
    z = z.reshape(N, N)
    dx = z[1:, :-1] - z[:-1, :-1]
    dy = z[:-1, 1:] - z[:-1, :-1]
    return np.sum(np.sqrt(1.0 + dx ** 2 + dy ** 2))


def as_pairs(matrix):
    coo = matrix.tocoo()
    return sorted(zip(coo.row.tolist(), coo.col.tolist()))
