"""Rows of the case table for the idioms of ordinary NumPy code: arrays built from traced values
(``np.array([...])``, ``np.asarray``) and writes into arrays (``y[i] = v``, ``+=``, ``np.add.at``).

Each function also runs on plain arrays for the finite-difference oracle, so a write whose
functional update computed anything other than NumPy's in-place result would fail there.
"""

import numpy as np

from .cases import case

BUILD = ["pack", "unstack"]
WRITE = ["index_update", "zeros_like"]


def lotka_volterra(y, a=1.5, b=1.0, c=3.0, d=1.0):
    x, z = y[0], y[1]
    return np.array([a * x - b * x * z, c * x * z - d * z])


def filled_rhs(y):
    dydt = np.zeros_like(y)
    dydt[0] = y[1] * 2.0
    dydt[1:] += y[:-1] ** 2
    dydt[-1] *= y[0]
    return dydt


def repeated_write(x, v):
    y = np.copy(x)
    y[[0, 2, 0]] = v                      # NumPy keeps the last value written at 0
    return y * x


def masked_write(x):
    y = x.copy()
    y[x > 0] = np.sin(x[x > 0]) * 2.0
    y[x <= 0] = 0.5
    return y


def view_write(x):
    y = np.zeros_like(x)
    head = y[:2]                          # a view: writing into it writes into y
    head[1] = x[0] * x[2]
    row = y.reshape(2, 2)                 # a view too: row[1, 0] is y[2]
    row[1, 0] = np.exp(x[1])
    y[0] = x[3]                           # a write into the base: head sees it
    return y + head.sum() * row[0, 1]


def nested_views(x):
    y = np.zeros((3, 4)) * x[0]
    v = y[1:]
    w = v[:, 1:3]                         # a view of a view
    w[0, 0] = x[1] ** 2                   # reaches v and y
    u = v[0]
    y[1, 2] = x[2]                        # reaches v, w and u
    return np.concatenate([y.ravel(), v.ravel(), w.ravel(), u])


def scatter_add(x, v):
    y = np.zeros_like(x)
    np.add.at(y, [0, 1, 0, 3], v)
    np.subtract.at(y, [2, 2], x[:2])
    return y * x


def other_writers(x):
    a = np.zeros_like(x)                  # 3 x 3
    np.fill_diagonal(a, x[0])
    np.put_along_axis(a, np.array([[2], [0], [1]]), x[1:2, :1] ** 2, axis=1)
    b = np.ones_like(x)
    np.copyto(b, x * 3.0, where=x > 0)
    c = np.full_like(x, x[2, 2])
    c.fill(x[0, 1])
    return a + b * c


case("np.array of traced expressions (an ODE right-hand side)", lotka_volterra, (2,), covers=BUILD,
     domain=(0.2, 2.0))
case("np.array of rows mixing traced values and constants",
     lambda x, y: np.array([[x[0], 1.0], [y, x[1] ** 2]]) @ x, (2,), (), covers=BUILD)
case("np.asarray of a traced array", lambda x: np.asarray(x) * x.sum(), (2, 3), covers=BUILD)
case("np.array of equal-shaped traced arrays", lambda x: np.array([x, x ** 2, [1.0, 2.0, 3.0]]), (3,),
     covers=BUILD)
case("tolist and item", lambda x: np.array(x.tolist()) * x.item(1) + np.sum([x[0], x[2]]), (3,), covers=BUILD)
case("np.r_ and np.c_", lambda x: np.r_[x[0], 1.0, x[1:] * 2] + np.c_[x, x ** 2][:, 1].sum(), (3,),
     covers=BUILD)
case("zeros_like filled by index, += and *=", filled_rhs, (4,), covers=WRITE)
case("repeated integer index: the last write wins", repeated_write, (4,), (3,), covers=WRITE)
case("boolean-mask writes", masked_write, (5,), covers=WRITE, domain=(-2, 2))
case("writes through views", view_write, (4,), covers=WRITE)
case("views of views", nested_views, (3,), covers=WRITE)
case("ufunc.at accumulates repeated indices", scatter_add, (4,), (4,), covers=["zeros_like", "index_add"])
case("fill_diagonal, put_along_axis, copyto, full_like, fill", other_writers, (3, 3), covers=WRITE)
case("a write into a 0-d buffer", lambda x: _scalar_buffer(x), (), covers=WRITE)


def _scalar_buffer(x):
    acc = np.zeros_like(x)
    acc += x ** 2
    acc[...] = acc * 3.0
    return acc


# -- NumPy's own Python functions, run on traced values (rules/numpy_python.py) -----------------------------
case("polyadd, polysub, polymul", lambda p, q: np.polymul(np.polyadd(p, q ** 2), np.polysub(q, p)), (4,), (2,),
     covers=["getitem"])
case("polyder, polyint", lambda p: np.polyder(p, 2) + np.polyint(p, 1, k=p[0])[3:], (5,), covers=["getitem"])
case("diagflat, resize", lambda x: np.diagflat(x, 1)[:3, :3] @ np.resize(x, (4, 3))[:3], (4,),
     covers=["getitem"])
case("unwrap", lambda x: np.unwrap(4.0 * x), (5,), covers=["getitem"])
case("broadcast_arrays, compress, extract, choose",
     lambda x, y: np.broadcast_arrays(x, y[:, None])[1] * np.compress([1, 0, 1, 1], np.r_[x, 1.0])
     + np.extract(x > -10.0, x) + np.choose([0, 1, 0], [x, y ** 2]), (3,), (3,),
     covers=["getitem"])
case("apply_along_axis, piecewise", lambda x: np.apply_along_axis(lambda r: np.sum(r ** 2), 1, x)
     + np.piecewise(x[:, 0], [x[:, 0] < 0, x[:, 0] >= 0], [lambda v: -v, lambda v: v ** 2]), (3, 2),
     covers=["getitem"])
case("constant queries and identity conversions", lambda x: np.ascontiguousarray(x) * np.asfortranarray(x)
     + np.asarray_chkfinite(x) * np.any(x > 0) * np.all(x > -5) + x[np.nonzero(x > 0)].sum()
     + x.ravel()[np.flatnonzero(x < 0)].sum() + x[tuple(np.argwhere(x > 0)[0])], (2, 3), covers=["getitem"],
     domain=(-1, 1))


def masked_puts(x, v):
    a = x * 1.0                            # 2 x 3; putmask cycles v by flat position, place by masked count
    np.putmask(a, np.array([[True, False, True], [False, True, True]]), v)
    b = x ** 2
    np.place(b, np.array([[False, True, True], [True, False, True]]), v[::-1] * 2.0)
    c = x + 0.0
    np.putmask(c, x > 0, v[1])             # a scalar value
    return a * b + c


case("putmask and place cycle their values", masked_puts, (2, 3), (3,), covers=WRITE)
