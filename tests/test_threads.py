"""Transforms are independent per thread: every result from 8 threads equals the single-threaded one.

The workload and its checks live in tests/threadcheck.py, which also runs as a script; here it
runs in this process and, in a subprocess, under ``python -O`` (asserts removed), so that nothing
that keeps levels in order depends on ``assert``.
"""

import os
import pathlib
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import chainrule as cr
from chainrule.core import active_levels
from chainrule.forward import ForwardLevel
from chainrule.reverse import ReverseLevel

from . import threadcheck

HERE = pathlib.Path(__file__).resolve().parent


def test_eight_threads_match_the_single_threaded_results():
    calls, failures = threadcheck.run(seconds=1.5, threads=8)
    assert calls >= 8 * 5, f"only {calls} calls in 1.5 s"
    assert not failures, f"{len(failures)} of {calls} calls failed, e.g.\n" + "\n".join(sorted(set(failures))[:10])


def test_eight_threads_under_python_O():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE.parent / "src"), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-O", str(HERE / "threadcheck.py"), "1.5", "8"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert "optimize=1" in proc.stdout, proc.stdout + proc.stderr
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_check_sees_a_wrong_result():
    """The comparison can fail: a result off in the 11th digit is reported."""
    ref = np.array([1.0, 2.0])
    assert threadcheck.same(ref.copy(), ref)
    assert not threadcheck.same(ref * (1 + 1e-11), ref)
    assert not threadcheck.same(ref[:1], ref)


def test_levels_are_per_thread():
    seen = {}
    ready = threading.Barrier(2)

    def inner(name):
        with ReverseLevel() as lv:
            ready.wait()                         # both threads hold a level at once
            seen[name] = (active_levels(), lv.nested)
            ready.wait()

    threads = [threading.Thread(target=inner, args=(k,)) for k in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in "ab":
        levels, nested = seen[k]
        assert len(levels) == 1 and not nested   # the other thread's level is not below this one
    assert seen["a"][0][0] is not seen["b"][0][0]
    assert active_levels() == []


def test_exiting_out_of_order_is_an_error_not_an_assert():
    outer, inner = ForwardLevel(), ForwardLevel()
    outer.__enter__()
    inner.__enter__()
    with pytest.raises(cr.LevelOrderError, match=r"exited out of order.*1 level\(s\) entered after it"):
        outer.__exit__(None, None, None)
    assert not outer.active and not inner.active and active_levels() == []
    assert issubclass(cr.LevelOrderError, cr.ChainruleError) and issubclass(cr.LevelOrderError, RuntimeError)


def test_exiting_twice_is_an_error():
    lv = ReverseLevel()
    with lv:
        pass
    with pytest.raises(cr.LevelOrderError, match="exited twice"):
        lv.__exit__(None, None, None)
    assert active_levels() == []


def test_a_transform_in_another_thread_on_values_of_this_one():
    """A transform inside an executor task, on values of the transform that submitted it: the task's
    thread has no levels of its own below, and the outer tracers still go to their own level."""
    def f(x):
        with ThreadPoolExecutor(1) as pool:
            inner = pool.submit(lambda: cr.grad(lambda y: np.sin(x * y) * y)(x)).result()
        return inner * x

    def g(x):                                    # the same, single-threaded
        return cr.grad(lambda y: np.sin(x * y) * y)(x) * x

    x = 0.7
    # d/dx [x * d/dy (y sin(xy)) at y=x] = d/dx [x sin(x^2) + x^3 cos(x^2)]
    expected = np.sin(x * x) + 2 * x * x * np.cos(x * x) + 3 * x ** 2 * np.cos(x * x) - 2 * x ** 4 * np.sin(x * x)
    assert np.isclose(cr.grad(f)(x), expected, rtol=1e-13)
    assert np.isclose(cr.grad(g)(x), expected, rtol=1e-13)
    h = 1e-5
    assert np.isclose(cr.grad(f)(x), (g(x + h) - g(x - h)) / (2 * h), rtol=1e-8)
