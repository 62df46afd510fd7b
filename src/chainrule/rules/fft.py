"""``np.fft``: three linear primitives and the NumPy functions composed from them.

Every discrete Fourier transform is linear, so its JVP is the same transform of the tangent.  The
VJP is the *transpose* under the bilinear pairing (no conjugation; see the README, "Complex
numbers"), not the adjoint:

* ``fftn``/``ifftn`` (one primitive, ``inverse`` says which): the DFT matrix is symmetric, so the
  transpose of "pad or truncate to ``s``, then transform" is "transform (same direction and norm),
  then truncate or pad back".
* ``rfft`` (real in, half spectrum out): the transpose of "keep the first n//2 + 1 outputs" pads
  the adjoint with zeros to n; the input is real, so its adjoint is the real part.
* ``irfft`` (half spectrum in, real out): the output is Re(sum_k w_k X_k e^{2 pi i jk/n}) scaled,
  with the Hermitian weights w_0 = 1, w_k = 2, and w_{n/2} = 1 for even n (numpy reads only the real
  part of X_0 and X_{n/2}); its transpose is w * ifft(g)[: n//2 + 1].

``fft``, ``ifft``, ``fft2``, ``ifft2``, ``rfft2``, ``irfft2``, ``rfftn``, ``irfftn``, ``hfft`` and
``ihfft`` are compositions, as NumPy itself computes them; ``fftshift``/``ifftshift`` are
``np.roll``; ``fftfreq``/``rfftfreq`` take no arrays and stay constants.

>>> import numpy as np, chainrule as cr
>>> x = np.array([1.0, 2.0, 0.5, -1.0])
>>> cr.grad(lambda x: np.sum(np.abs(np.fft.fft(x)) ** 2))(x)      # Parseval: n * sum(x ** 2)
array([ 8., 16.,  4., -8.])
"""

import numpy as np

from ..core import Primitive, bind, register_function
from ..errors import InPlaceError, NotDifferentiableError
from ._broadcast import dtype_of, ndim_of, shape_of
from ._declare import linear, real_for

__all__ = ["fftn_p", "rfft_p", "irfft_p"]

_NORMS = (None, "backward", "ortho", "forward")


def _impl_fftn(x, *, s, axes, norm, inverse):
    return (np.fft.ifftn if inverse else np.fft.fftn)(x, s=s, axes=axes, norm=norm)


fftn_p = Primitive("numpy.fft.fftn", _impl_fftn)
rfft_p = Primitive("numpy.fft.rfft", lambda x, *, n, axis, norm: np.fft.rfft(x, n=n, axis=axis, norm=norm))
irfft_p = Primitive("numpy.fft.irfft", lambda x, *, n, axis, norm: np.fft.irfft(x, n=n, axis=axis, norm=norm))


def _resize(x, axes, sizes):
    """``x`` truncated or padded with zeros at the end of each axis in ``axes`` to ``sizes``."""
    for ax, size in zip(axes, sizes):
        shape = shape_of(x)
        cur = shape[ax]
        if size < cur:
            x = x[(slice(None),) * ax + (slice(0, size),)]
        elif size > cur:
            pad = np.zeros(shape[:ax] + (size - cur,) + shape[ax + 1:], dtype=dtype_of(x))
            x = np.concatenate([x, pad], axis=ax)
    return x


def _fftn_jvp(t, out, x, *, s, axes, norm, inverse):
    b = ndim_of(t) - ndim_of(x)
    return bind(fftn_p, (t,), {"s": s, "axes": tuple(a + b for a in axes), "norm": norm, "inverse": inverse})


def _fftn_vjp(g, out, x, *, s, axes, norm, inverse):
    b = ndim_of(g) - ndim_of(out)
    axes_g = tuple(a + b for a in axes)
    c = bind(fftn_p, (g,), {"s": s, "axes": axes_g, "norm": norm, "inverse": inverse})   # symmetric: F^T = F
    return real_for(_resize(c, axes_g, [shape_of(x)[a] for a in axes]), x)


def _rfft_jvp(t, out, x, *, n, axis, norm):
    b = ndim_of(t) - ndim_of(x)
    return bind(rfft_p, (t,), {"n": n, "axis": axis + b, "norm": norm})


def _rfft_vjp(g, out, x, *, n, axis, norm):
    b = ndim_of(g) - ndim_of(out)
    ax = axis + b
    padded = _resize(g, (ax,), (n,))                       # the transpose of keeping the first n//2 + 1
    c = bind(fftn_p, (padded,), {"s": (n,), "axes": (ax,), "norm": norm, "inverse": False})
    return _resize(np.real(c), (ax,), (shape_of(x)[axis],))


def _hermitian_weights(n, m, axis, ndim):
    w = np.full(m, 2.0)
    w[0] = 1.0
    if n % 2 == 0:
        w[m - 1] = 1.0                                     # the Nyquist term appears once
    return np.reshape(w, (m,) + (1,) * (ndim - axis - 1))


def _irfft_jvp(t, out, x, *, n, axis, norm):
    b = ndim_of(t) - ndim_of(x)
    return bind(irfft_p, (t,), {"n": n, "axis": axis + b, "norm": norm})


def _irfft_vjp(g, out, x, *, n, axis, norm):
    b = ndim_of(g) - ndim_of(out)
    ax = axis + b
    m = n // 2 + 1
    c = bind(fftn_p, (g,), {"s": (n,), "axes": (ax,), "norm": norm, "inverse": True})
    c = _resize(c, (ax,), (m,)) * _hermitian_weights(n, m, ax, ndim_of(g))
    return real_for(_resize(c, (ax,), (shape_of(x)[axis],)), x)


linear(fftn_p, _fftn_jvp, _fftn_vjp, complex_ok=True)
linear(rfft_p, _rfft_jvp, _rfft_vjp, complex_ok=True)
linear(irfft_p, _irfft_jvp, _irfft_vjp, complex_ok=True)


# == frontends: NumPy's signatures, canonical parameters ============================================

def _check(name, norm, out):
    if out is not None:
        raise InPlaceError(f"numpy.fft.{name}(..., out=...) writes in place; use the returned value.")
    if norm not in _NORMS:
        raise ValueError(f'Invalid norm value {norm}; should be "backward", "ortho" or "forward".')
    return "backward" if norm is None else norm


def _axes_and_sizes(a, s, axes):
    nd = ndim_of(a)
    if axes is None:
        axes = tuple(range(nd)) if s is None else tuple(range(nd - len(s), nd))
    axes = tuple(int(ax) % nd if nd else int(ax) for ax in axes)
    if s is None:
        s = tuple(shape_of(a)[ax] for ax in axes)
    s = tuple(int(v) for v in s)
    if len(s) != len(axes):
        raise ValueError("Shape and axes have different lengths.")
    return s, axes


def _fftn_of(a, s, axes, norm, inverse):
    if not axes:
        return a
    return bind(fftn_p, (a,), {"s": s, "axes": axes, "norm": norm, "inverse": inverse})


def _one_axis(a, n, axis):
    nd = ndim_of(a)
    axis = int(axis) % nd
    return (shape_of(a)[axis] if n is None else int(n)), axis


def _fft(a, n=None, axis=-1, norm=None, out=None):
    n, axis = _one_axis(a, n, axis)
    return _fftn_of(a, (n,), (axis,), _check("fft", norm, out), False)


def _ifft(a, n=None, axis=-1, norm=None, out=None):
    n, axis = _one_axis(a, n, axis)
    return _fftn_of(a, (n,), (axis,), _check("ifft", norm, out), True)


def _fftn(a, s=None, axes=None, norm=None, out=None):
    s, axes = _axes_and_sizes(a, s, axes)
    return _fftn_of(a, s, axes, _check("fftn", norm, out), False)


def _ifftn(a, s=None, axes=None, norm=None, out=None):
    s, axes = _axes_and_sizes(a, s, axes)
    return _fftn_of(a, s, axes, _check("ifftn", norm, out), True)


def _fft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    return _fftn(a, s, axes, norm, out)


def _ifft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    return _ifftn(a, s, axes, norm, out)


def _real_input(name, a):
    if dtype_of(a).kind == "c":
        raise NotDifferentiableError(
            f"numpy.fft.{name}", "of a complex array: NumPy discards its imaginary part; pass np.real(a) "
            "(or use numpy.fft.fft for a complex signal)")


def _rfft(a, n=None, axis=-1, norm=None, out=None):
    _real_input("rfft", a)
    n, axis = _one_axis(a, n, axis)
    return bind(rfft_p, (a,), {"n": n, "axis": axis, "norm": _check("rfft", norm, out)})


def _irfft(a, n=None, axis=-1, norm=None, out=None):
    nd = ndim_of(a)
    axis = int(axis) % nd
    n = 2 * (shape_of(a)[axis] - 1) if n is None else int(n)
    return bind(irfft_p, (a,), {"n": n, "axis": axis, "norm": _check("irfft", norm, out)})


def _rfftn(a, s=None, axes=None, norm=None, out=None):
    _real_input("rfftn", a)
    s, axes = _axes_and_sizes(a, s, axes)
    norm = _check("rfftn", norm, out)
    half = bind(rfft_p, (a,), {"n": s[-1], "axis": axes[-1], "norm": norm})
    return _fftn_of(half, s[:-1], axes[:-1], norm, False)


def _irfftn(a, s=None, axes=None, norm=None, out=None):
    norm = _check("irfftn", norm, out)
    given = s is not None
    s, axes = _axes_and_sizes(a, s, axes)
    last = s[-1] if given else 2 * (shape_of(a)[axes[-1]] - 1)
    a = _fftn_of(a, s[:-1], axes[:-1], norm, True)
    return bind(irfft_p, (a,), {"n": last, "axis": axes[-1], "norm": norm})


def _rfft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    return _rfftn(a, s, axes, norm, out)


def _irfft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    return _irfftn(a, s, axes, norm, out)


_SWAP = {"backward": "forward", "ortho": "ortho", "forward": "backward"}


def _hfft(a, n=None, axis=-1, norm=None, out=None):
    norm = _check("hfft", norm, out)                        # NumPy: irfft of the conjugate, norm swapped
    return _irfft(np.conjugate(a), n, axis, _SWAP[norm])


def _ihfft(a, n=None, axis=-1, norm=None, out=None):
    norm = _check("ihfft", norm, out)                       # NumPy: the conjugate of rfft, norm swapped
    return np.conjugate(_rfft(a, n, axis, _SWAP[norm]))


def _shift(name, sign):
    def shift(x, axes=None):
        nd = ndim_of(x)
        ax = tuple(range(nd)) if axes is None else ((axes,) if isinstance(axes, (int, np.integer)) else tuple(axes))
        shifts = tuple(sign * (shape_of(x)[a] // 2) for a in ax)
        return np.roll(x, shifts, ax)
    shift.__name__ = name
    return shift


for _fn, _frontend in [(np.fft.fft, _fft), (np.fft.ifft, _ifft), (np.fft.fftn, _fftn), (np.fft.ifftn, _ifftn),
                       (np.fft.fft2, _fft2), (np.fft.ifft2, _ifft2), (np.fft.rfft, _rfft), (np.fft.irfft, _irfft),
                       (np.fft.rfftn, _rfftn), (np.fft.irfftn, _irfftn), (np.fft.rfft2, _rfft2),
                       (np.fft.irfft2, _irfft2), (np.fft.hfft, _hfft), (np.fft.ihfft, _ihfft),
                       (np.fft.fftshift, _shift("fftshift", 1)), (np.fft.ifftshift, _shift("ifftshift", -1))]:
    register_function(_fn, _frontend)
