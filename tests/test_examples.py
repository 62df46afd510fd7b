"""The examples run, quickly, in a subprocess, and print what auto mode chose and why."""

import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run_example(name, *args):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, str(ROOT / "examples" / name), *args], capture_output=True, text=True,
                       env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert re.search(r"auto mode chooses (forward|reverse)\.", r.stdout) and "why: " in r.stdout
    return r.stdout


def test_train_classifier_lowers_the_loss_by_reverse_mode():
    out = run_example("train_classifier.py", "--steps", "40", "--hidden", "32", "--points", "100")
    assert "R^129 -> R^1; auto mode chooses reverse." in out   # 129 directions against 1: a wide margin
    first, last = map(float, re.search(r"loss ([0-9.]+) -> ([0-9.]+);", out).groups())
    assert last < first


def test_oscillator_sensitivities_match_finite_differences():
    out = run_example("oscillator_sensitivities.py", "--steps", "60")
    assert "R^2 -> R^120" in out
    assert float(re.search(r"finite differences: ([0-9.e+-]+)", out).group(1)) < 1e-6


def test_rosenbrock_with_scipy_reaches_the_minimum():
    pytest.importorskip("scipy")
    out = run_example("rosenbrock_scipy.py", "--n", "6")
    assert "R^6 -> R^1" in out
    for name in ("BFGS", "Newton-CG"):
        line = next(l for l in out.splitlines() if l.startswith(name))
        assert float(re.search(r"max \|x - 1\| = ([0-9.e+-]+)", line).group(1)) < 1e-5


def test_damped_signal_fit_through_its_spectrum_finds_the_oscillations():
    pytest.importorskip("scipy")
    out = run_example("damped_signal_spectrum.py", "--samples", "512")
    assert "R^9 -> R^1; auto mode chooses reverse." in out
    err, size = map(float, re.search(r"finite differences\| = ([0-9.e+-]+) \(\|gradient\| = ([0-9.e+-]+)\)", out).groups())
    assert err < 1e-6 * max(1.0, size)                    # the gradient through complex exp, rfft and |.|^2
    limits = {"frequencies": 1e-3, "dampings": 0.15, "amplitudes": 0.1}   # the noise limits the widths and heights
    for name, limit in limits.items():
        line = next(l for l in out.splitlines() if l.strip().startswith(name))
        assert float(re.search(r"max relative error ([0-9.e+-]+)", line).group(1)) < limit, line
