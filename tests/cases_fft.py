"""Rows for complex intermediates and np.fft: real inputs through complex values and back.

The complex points themselves (complex inputs in both directions, every norm, padding and truncation)
are in tests/test_complex.py.
"""

import numpy as np

from .cases import case

# real functions of real inputs through complex intermediates: the non-holomorphic rules under the bilinear pairing
case("real / imag / conj / abs / angle of complex intermediates",
     lambda x, y: (np.real(x * (1 + 2j)) * np.imag((x + 1j * y) ** 2) + np.abs(x + 1j * y) + np.angle(y + 1j * x)
                   + np.real(np.conj(x * (2 - 1j)) * (1 + 1j) * np.exp(1j * y))), (2, 3), (2, 3),
     covers=["numpy.real", "numpy.imag", "numpy.conjugate", "numpy.absolute"], domain=(0.3, 2.0))

case("fft / ifft of a real signal, padded and truncated",
     lambda x: np.real(np.fft.ifft(np.fft.fft(x, n=7) * np.arange(1.0, 8.0), n=5)) + np.imag(np.fft.fft(x, n=3)).sum(),
     (2, 5), covers=["numpy.fft.fftn"])
case("fft2 / ifftn, ortho", lambda x: np.abs(np.fft.ifftn(np.fft.fft2(x, norm="ortho") ** 2, axes=(0, 1))),
     (3, 4), covers=["numpy.fft.fftn"], domain=(0.5, 2.0))
for _n in (4, 5, 8, 3):
    case(f"rfft (n={_n})", lambda x, n=_n: np.abs(np.fft.rfft(x, n=n)) ** 2, (2, 6), covers=["numpy.fft.rfft"])
    case(f"irfft (n={_n})", lambda x, n=_n: np.fft.irfft(x * (1 + 0.5j), n=n, norm="forward"), (2, 4),
         covers=["numpy.fft.irfft"])
case("rfftn / irfftn round trip with weights", lambda x: np.fft.irfftn(np.fft.rfftn(x) * (1 + 0.3j), s=x.shape, axes=(0, 1)),
     (3, 5), covers=["numpy.fft.rfft", "numpy.fft.irfft", "numpy.fft.fftn"])
case("fftshift / hfft", lambda x: np.fft.fftshift(np.fft.hfft(x, n=6)) * np.fft.fftfreq(6), (3,),
     covers=["numpy.fft.irfft"])
