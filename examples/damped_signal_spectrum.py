"""Fit a sum of damped oscillations to a noisy signal through its power spectrum (np.fft.rfft + SciPy).

The model is written the way a physicist would, with complex exponentials,

    x(t) = Re( sum_k a_k exp((-d_k + 2 pi i f_k) t) ),

and compared with the measured signal in the frequency domain: each damped
oscillation is a Lorentzian peak of width d_k at f_k in the power spectrum
|rfft(x)|^2, and the loss is the squared difference of the log power
spectra.  That loss is a real function of real parameters computed through
complex intermediates (exp of a complex matrix, the real FFT, |.|^2); one
call of ``cr.value_and_grad`` gives SciPy's BFGS the value and the exact
gradient.  The script checks that gradient against central differences,
prints what ``jacobian(mode="auto")`` would choose for it and why (a
gradient: reverse), and reports how close the fit comes to the true
frequencies, dampings and amplitudes.

    python examples/damped_signal_spectrum.py [--samples 1024] [--noise 0.01]
"""

import argparse

import numpy as np
from scipy.optimize import minimize

import chainrule as cr

TRUE = {"a": np.array([1.0, 0.6, 0.35]), "d": np.array([0.010, 0.025, 0.006]), "f": np.array([0.080, 0.145, 0.310])}


def signal(params, t):
    """x(t) for params = [log a, log d, f] (the logarithms keep amplitudes and dampings positive)."""
    k = params.shape[0] // 3
    a, d, f = np.exp(params[:k]), np.exp(params[k:2 * k]), params[2 * k:]
    rates = -d + 2j * np.pi * f                      # one complex rate per oscillation
    return np.real(np.exp(np.outer(t, rates)) @ a)


def log_power(x, floor):
    return np.log(np.abs(np.fft.rfft(x)) ** 2 + floor)


def make_loss(data, t, floor):
    target = log_power(data, floor)

    def loss(params):
        r = log_power(signal(params, t), floor) - target
        return np.mean(r * r)
    return loss


def pack(a, d, f):
    return np.concatenate([np.log(a), np.log(d), f])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=1024)
    ap.add_argument("--noise", type=float, default=0.01)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    t = np.arange(args.samples, dtype=float)
    truth = pack(TRUE["a"], TRUE["d"], TRUE["f"])
    data = signal(truth, t) + args.noise * rng.standard_normal(args.samples)
    floor = args.noise ** 2 * args.samples                # the noise's power per bin: the log spectrum's floor
    loss = make_loss(data, t, floor)

    # a start a few frequency bins off every peak, with the wrong widths and heights
    start = pack(np.full(3, 0.7), np.full(3, 0.02), TRUE["f"] + np.array([3.5, -2.5, 3.0]) / args.samples)

    decision = cr.choose_mode(loss, start)
    print(f"spectral loss: R^{decision.n} -> R^{decision.m}; auto mode chooses {decision.mode}.")
    print(f"  why: {decision.reason}")

    value_and_grad = cr.value_and_grad(loss)
    _, g = value_and_grad(start)
    h = 1e-6
    fd = np.array([(loss(start + h * e) - loss(start - h * e)) / (2 * h) for e in np.eye(start.size)])
    print(f"gradient at the start: max |chainrule - finite differences| = {np.max(np.abs(g - fd)):.1e} "
          f"(|gradient| = {np.max(np.abs(g)):.2e})")

    res = minimize(value_and_grad, start, jac=True, method="BFGS", options={"gtol": 1e-9, "maxiter": 500})
    k = 3
    a, d, f = np.exp(res.x[:k]), np.exp(res.x[k:2 * k]), res.x[2 * k:]
    print(f"BFGS (value_and_grad): loss {loss(start):.3e} -> {res.fun:.3e} in {res.nit} iterations")
    for name, got, want in (("frequencies", f, TRUE["f"]), ("dampings", d, TRUE["d"]), ("amplitudes", a, TRUE["a"])):
        print(f"  {name:11s} {np.array2string(got, precision=4)}  true {np.array2string(want, precision=4)}  "
              f"max relative error {np.max(np.abs(got / want - 1)):.1e}")
    return res


if __name__ == "__main__":
    main()
