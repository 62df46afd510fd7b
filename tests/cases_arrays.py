"""Rows of the case table for shape functions, indexing and array methods (see tests/cases.py).

Most shape functions are compositions of a few primitives (reshape, transpose, broadcast_to,
concatenate, getitem, index_add, where); each row names the primitives it runs through, and the
finite-difference oracle evaluates the same function with plain NumPy, so a composition that
computed a different function than NumPy's would fail there.
"""

import numpy as np

from .cases import case

GET = ["getitem", "index_add"]

# -- reshaping ----------------------------------------------------------------------------------
case("squeeze / expand_dims",
     lambda x: np.squeeze(np.expand_dims(x, (0, 2)), axis=0) * np.squeeze(x[None, :, None]), (2, 3),
     covers=["numpy.reshape"])
case("atleast_1d/2d/3d", lambda x, y: np.atleast_3d(x) * np.atleast_2d(y)[..., None] + np.atleast_1d(x),
     (), (3,), covers=["numpy.reshape"])
case("atleast_3d of a matrix", lambda x: np.atleast_3d(x) ** 2, (2, 3), covers=["numpy.reshape"])

# -- joining and splitting ----------------------------------------------------------------------
case("stack axis=1", lambda x, y: np.stack([x, y ** 2, x * y], axis=1), (2, 3), (2, 3),
     covers=["numpy.reshape", "numpy.concatenate"])
case("stack of traced scalars and a constant", lambda x: np.stack([x[0], 2.0 * x[1], 3.0]) ** 2, (3,),
     covers=["numpy.concatenate", "getitem"])
case("hstack / vstack / dstack", lambda x, y: np.hstack([x, y])[:, 1:4] * 2 + np.vstack([x, y])[1:].sum()
     + np.dstack([x, y]).sum(axis=2), (2, 3), (2, 3), covers=["numpy.concatenate"])
case("hstack of vectors", lambda x: np.hstack([x, x ** 2]), (3,), covers=["numpy.concatenate"])
case("column_stack", lambda x, y: np.column_stack([x, y, x * y]), (4,), (4,), covers=["numpy.concatenate"])
case("split / array_split", lambda x: np.split(x, 2, axis=1)[1] * np.array_split(x, 3, axis=1)[2][:, :1]
     + np.split(x, [1, 3], axis=1)[1].sum(), (3, 4), covers=GET)

# -- repetition, flips, rolls, rotations ----------------------------------------------------------
case("tile", lambda x: np.tile(x, (2, 1, 3)) ** 2, (2, 3), covers=["numpy.broadcast_to", "numpy.reshape"])
case("tile of a scalar count", lambda x: np.tile(x, 2) * np.arange(6.0), (3,), covers=["numpy.broadcast_to"])
case("repeat with a scalar count", lambda x: np.repeat(x, 3, axis=0) ** 2, (2, 3), covers=["numpy.broadcast_to"])
case("repeat with counts (adjoint accumulates)", lambda x: np.repeat(x, [2, 0, 3], axis=1) ** 2, (2, 3),
     covers=GET)
case("repeat flattened", lambda x: np.sin(np.repeat(x, 2)), (2, 2), covers=["numpy.broadcast_to"])
case("flip / fliplr / flipud", lambda x: np.flip(x) * x + np.fliplr(x) ** 2 - np.flipud(x) * 3.0
     + np.flip(x, axis=1), (3, 4), covers=GET)
case("roll", lambda x: np.roll(x, 3) * x + np.roll(x, (1, -2), axis=(0, 1)) ** 2, (3, 4),
     covers=["numpy.concatenate"] + GET)
case("rot90", lambda x: np.rot90(x) @ np.rot90(x, 3) + np.rot90(x, 2).T @ x, (3, 3),
     covers=["numpy.transpose"] + GET)

# -- pad ---------------------------------------------------------------------------------------------
case("pad constant", lambda x: np.pad(x, ((1, 2), (0, 3)), constant_values=1.5) ** 2, (2, 3),
     covers=["index_add"])
case("pad constant zero, 1-D", lambda x: np.pad(np.sin(x), 2), (3,), covers=["index_add"])
for mode in ("edge", "reflect", "symmetric", "wrap"):
    case(f"pad {mode}", lambda x, m=mode: np.pad(x, ((2, 1), (3, 2)), mode=m) ** 2, (3, 4), covers=GET)

# -- gathers --------------------------------------------------------------------------------------------
case("take along an axis, repeated", lambda x: np.take(x, [[0, 2], [2, 2]], axis=1) ** 2, (3, 4), covers=GET)
case("take flattened, wrap and clip", lambda x: np.take(x, [1, 1, 7]) * np.take(x, [-1, 9], mode="clip")[0]
     + np.take(x, [13, 14], mode="wrap").sum(), (3, 4), covers=GET)
case("take_along_axis", lambda x: np.take_along_axis(x, np.array([[0, 0, 3], [1, 2, 2], [3, 3, 3]]), axis=1) ** 2,
     (3, 4), covers=GET)
case("take_along_axis axis=0", lambda x: np.take_along_axis(x, np.array([[2, 0, 1, 1]]), axis=0), (3, 4),
     covers=GET)
case("sort along each axis", lambda x: np.sort(x, axis=0) * np.arange(1.0, 5.0) + np.sort(x) ** 2
     + np.sort(x, axis=None)[-1], (3, 4), covers=GET)
case("partition", lambda x: np.partition(x, 2, axis=1)[:, 2] * np.partition(x, (0, 3), axis=None)[[0, 3]].sum(),
     (3, 5), covers=GET)

# -- diagonals and triangles ----------------------------------------------------------------------------
case("diag of a vector (offsets)", lambda x: np.diag(x) + np.diag(x[1:], 1) - np.diag(x[:2], -2), (4,),
     covers=["index_add"])
case("diag of a matrix", lambda x: np.diag(x) * np.diag(x, -1).sum() + np.diag(x, 2), (4, 3), covers=GET)
case("diagonal of a stack, trace",
     lambda x: np.diagonal(x, 1, axis1=0, axis2=2) ** 2 + np.trace(x, axis1=0, axis2=2)[:, None],
     (3, 2, 4), covers=GET + ["numpy.sum"])
case("trace method", lambda x: x.trace() * x.diagonal(), (3, 3), covers=GET)
case("triu / tril", lambda x: np.triu(x, 1) * 2.0 + np.tril(x) ** 2 + np.tril(x, -1)[..., ::-1], (2, 3, 3),
     covers=["numpy.where"])

# -- indexing -----------------------------------------------------------------------------------------------
case("negative-step slices", lambda x: x[::-2, 1::2] * x[-1:0:-1, :2], (3, 4), covers=GET)
case("newaxis in the middle and ellipsis", lambda x: x[:, None, ..., None, 1] * x[None, 0], (2, 3, 4), covers=GET)
case("mask with a slice", lambda x: x[1:, np.array([True, False, True, True])] ** 2, (3, 4), covers=GET)
case("2-D mask of a 3-D array", lambda x: x[x[..., 0] > 0] ** 2, (3, 2, 4), covers=GET, batching=False)
case("integer array and slice mixed", lambda x: x[np.array([[0, 1], [1, 1]]), 1:] ** 2, (3, 4), covers=GET)
case("repeated index accumulates", lambda x: x[[0, 0, 0, 1]] * x[[1, 1, 0, 0]], (2,), covers=GET)

# -- array methods (routed to the NumPy functions) -----------------------------------------------------------
case("methods: shape", lambda x: x.reshape(6, 2).T.transpose().flatten() + x.ravel() * x.squeeze().reshape(-1)
     + x.copy().transpose(1, 0, 2).swapaxes(0, 2).reshape(12), (2, 1, 6),
     covers=["numpy.reshape", "numpy.transpose"])
case("methods: sum/mean/dot/astype", lambda x, y: x.sum(axis=0) * x.mean() + x.dot(y)
     + x.astype(np.float64).sum(1), (3, 3), (3,), covers=["numpy.sum", "numpy.matmul"])
case("methods: repeat/take", lambda x: x.repeat(2, axis=0)[::3] * x.take([2, 0], axis=1).sum(), (2, 3), covers=GET)
