"""chainrule.jit: staged programs give the eager results, on first and later calls, and guards
keep value-dependent paths correct.

The oracle is eager chainrule itself (whose rules tests/test_rules.py checks against finite
differences and the other mode); one test also checks the jitted gradient against central
differences directly.
"""

import importlib.util
import pathlib
import subprocess
import sys
import warnings

import numpy as np
import pytest

import chainrule as cr

from .cases import CASES, case_id

ROOT = pathlib.Path(__file__).resolve().parents[1]


def assert_same(got, want, rtol=1e-11, atol=1e-12):
    from chainrule.pytree import flatten
    g, gt = flatten(got)
    w, wt = flatten(want)
    assert gt == wt, (gt, wt)
    for x, y in zip(g, w):
        assert np.shape(x) == np.shape(y)
        assert np.result_type(x) == np.result_type(y), (np.result_type(x), np.result_type(y))
        np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, equal_nan=True)


def _scalar(c):
    return lambda *a: np.sum(c.fn(*a))


def _transforms(c):
    n = len(c.shapes)
    argnums = tuple(range(n))
    out = {"grad": cr.grad(_scalar(c), argnums=argnums),
           "jacfwd": cr.jacfwd(c.fn, argnums=argnums),
           "jacrev": cr.jacrev(c.fn, argnums=argnums)}
    out["jacobian"] = cr.jacobian(c.fn, argnums=argnums)
    if c.order >= 2:
        out["hessian"] = cr.hessian(_scalar(c), argnums=argnums)
        if n == 1:
            out["hvp"] = lambda x: cr.hvp(_scalar(c), x, np.cos(np.arange(np.size(x)) + 0.5).reshape(np.shape(x)))
    return out


FAST = CASES[::7]                                          # a representative subset by default


def _check_case(c, dtype=np.float64):
    if c.skip:
        pytest.skip(c.skip)
    rtol = 1e-11 if dtype == np.float64 else 1e-5
    first, later = c.args(seed=3, dtype=dtype), c.args(seed=4, dtype=dtype)
    for name, t in _transforms(c).items():
        j = cr.jit(t)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want1, want2 = t(*first), t(*later)
            got1, got2, got3 = j(*first), j(*later), j(*first)
        assert_same(got1, want1, rtol=rtol, atol=rtol)
        assert_same(got2, want2, rtol=rtol, atol=rtol)
        assert_same(got3, want1, rtol=rtol, atol=rtol)
        if j.trace_count > 1:        # only a value the program must check (a mask deciding a shape) retraces
            guards = {e.kind for p in j.paths(*first) for e in p.program.eqns}
            assert "value" in guards or "truth" in guards, (name, j.trace_count)


@pytest.mark.parametrize("c", FAST, ids=case_id)
def test_jit_of_derivatives_matches_eager(c):
    _check_case(c)


@pytest.mark.slow
@pytest.mark.parametrize("c", [c for c in CASES if c not in FAST], ids=case_id)
def test_jit_of_derivatives_matches_eager_all_cases(c):
    _check_case(c)


@pytest.mark.parametrize("c", CASES[::11], ids=case_id)
def test_jit_float32_in_float32_out(c):
    _check_case(c, np.float32)


# -- the seed example, sources and counts ----------------------------------------------------------

def seed(x, y):
    return x * y + np.sin(x)


def test_seed_gradient_against_central_differences_and_forward_mode():
    g = cr.jit(cr.grad(seed, argnums=(0, 1)))
    for x, y in [(2.0, 3.0), (-0.7, 1.5), (0.3, -2.0)]:
        gx, gy = g(x, y)
        h = 1e-6
        assert abs(gx - (seed(x + h, y) - seed(x - h, y)) / (2 * h)) < 1e-8
        assert abs(gy - (seed(x, y + h) - seed(x, y - h)) / (2 * h)) < 1e-8
        assert abs(gx - cr.jvp(seed, (x, y), (1.0, 0.0))[1]) < 1e-14
        assert abs(gx - (y + np.cos(x))) < 1e-14 and gy == x
    assert g.trace_count == 1


def test_retrace_exactly_when_the_signature_changes():
    f = cr.jit(lambda x, w: np.sum(np.tanh(x @ w)))
    x, w = np.ones((2, 3)), np.full((3, 4), 0.1)
    for _ in range(3):
        f(x, w)
    assert f.trace_count == 1
    f(x + 1.0, w * 2.0)                                    # new values, same signature
    assert f.trace_count == 1
    f(np.ones((5, 3)), w)                                  # a new shape
    assert f.trace_count == 2
    f(x.astype(np.float32), w.astype(np.float32))          # new dtypes
    assert f.trace_count == 3
    f(x, w)                                                # the first signature is still cached
    assert f.trace_count == 3
    f((x, w)[0], w)
    assert f.trace_count == 3


def test_static_argnums_and_python_ints_are_part_of_the_signature():
    def power_sum(x, n, axis):
        return np.sum(np.sum(x ** n, axis=axis))

    f = cr.jit(cr.grad(power_sum), static_argnums=(2,))
    x = np.linspace(0.5, 1.5, 6).reshape(2, 3)
    for n in (2, 3, 2):
        assert_same(f(x, n, 0), cr.grad(power_sum)(x, n, 0))
    assert f.trace_count == 2
    assert_same(f(x, 2, None), cr.grad(power_sum)(x, 2, None))
    assert f.trace_count == 3


def test_an_if_on_a_traced_value_alternates_between_two_traced_paths():
    def f(x):
        if x > 0:
            return np.sin(x) * x
        return np.exp(x) - x ** 3

    g = cr.jit(cr.grad(f))
    for x in [1.0, -1.0, 2.0, -0.5, 0.25, -3.0]:
        assert_same(g(x), cr.grad(f)(x))
    assert g.trace_count == 2
    assert "guard" in g.source(1.0) and "path 2 of 2" in g.source(1.0)


def test_a_while_loop_with_a_value_dependent_trip_count():
    def halve_until_small(x):
        while np.sum(x * x) > 1.0:
            x = x / 2.0
        return np.sum(np.sin(x))

    g = cr.jit(cr.grad(halve_until_small))
    scales = [0.1, 3.0, 0.2, 10.0, 3.5, 40.0]
    for scale in scales:
        x = np.array([1.0, -2.0]) * scale
        assert_same(g(x), cr.grad(halve_until_small)(x))
    trips = {int(np.ceil(max(0.0, np.log(5 * s * s) / np.log(4)))) for s in scales}   # 0, 3, 5, 7
    assert g.trace_count == len(trips) == 4


def test_zero_seed_convention_is_rechecked_on_every_call():
    f = lambda x: np.sum(np.where(x > 0, np.sqrt(x), 0.0))   # noqa: E731
    g = cr.jit(cr.grad(f))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        a, b = np.array([1.0, 4.0, 9.0]), np.array([0.0, 4.0, -1.0])
        for x in (a, b, a, b):                             # traced at a (no zero), later a zero at 0
            got = g(x)
            assert np.all(np.isfinite(got))
            assert_same(got, cr.grad(f)(x))
        assert g(b)[0] == 0.0 and g(b)[2] == 0.0
    assert g.trace_count == 1


def test_too_many_paths_fall_back_to_eager_with_a_warning():
    def f(x):
        return np.sin(x) if float(x) > 0 else x             # float() of a traced value: a value guard

    j = cr.jit(f, max_paths=3)
    with pytest.warns(RuntimeWarning, match="called without jit"):
        for x in np.linspace(-1, 1, 6):
            assert j(x) == f(x)
    assert j.trace_count == 3


def test_value_and_grad_jacobian_hvp_and_pytrees():
    spec = importlib.util.spec_from_file_location("train_classifier", ROOT / "examples" / "train_classifier.py")
    ex = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ex)
    rng = np.random.default_rng(0)
    params = ex.init(8, rng)
    x, y = ex.spirals(30, rng)
    vg = cr.value_and_grad(ex.loss)
    j = cr.jit(vg)
    for k in range(3):
        p = {key: v * (1 + 0.1 * k) for key, v in params.items()}
        assert_same(j(p, x, y), vg(p, x, y))
    assert j.trace_count == 1

    rosen = lambda x: np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)   # noqa: E731
    for t in (cr.hessian(rosen), cr.jacobian(lambda x: np.cumsum(np.sin(x)) * x[0]),
              lambda x, v: cr.hvp(rosen, x, v)):
        j = cr.jit(t)
        for k in range(3):
            args = (np.linspace(-1, 1, 7) + k,) + ((np.ones(7) * k,) if t.__name__ == "<lambda>" else ())
            try:
                want = t(*args)
            except TypeError:
                args = args[:1]
                want = t(*args)
            assert_same(j(*args), want)


def test_oscillator_example_jacobian():
    spec = importlib.util.spec_from_file_location("osc", ROOT / "examples" / "oscillator_sensitivities.py")
    ex = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ex)
    sim = lambda p: ex.simulate(p, steps=20)               # noqa: E731
    for mode in ("jacfwd", "jacrev"):
        t = getattr(cr, mode)(sim)
        j = cr.jit(t)
        for p in (np.array([4.0, 0.3]), np.array([2.0, 0.1])):
            assert_same(j(p), t(p))
        assert j.trace_count == 1


def test_jit_inside_a_transform_and_grad_of_a_jitted_function():
    f = cr.jit(lambda x: np.sum(np.sin(x) * x))
    x = np.linspace(0, 1, 5)
    assert_same(cr.grad(f)(x), cr.grad(lambda x: np.sum(np.sin(x) * x))(x))
    assert_same(cr.hessian(f)(x), cr.hessian(lambda x: np.sum(np.sin(x) * x))(x))
    assert f.trace_count == 0                              # inside a transform it runs as it is
    inner = cr.jit(cr.grad(lambda x: np.sum(x ** 3)))
    outer = cr.jit(lambda x: np.sum(inner(x) * x))         # a jitted function called while tracing
    assert_same(outer(x), np.sum(3 * x ** 3))


def test_closure_constants_are_fixed_at_trace_time():
    w = np.array([1.0, 2.0])
    f = cr.jit(lambda x: np.sum(w * x))
    assert f(np.ones(2)) == 3.0
    w[0] = 100.0                                           # documented: copied when traced
    assert f(np.ones(2)) == 3.0


def test_source_of_the_seed_gradient_is_a_wengert_list_that_runs_standalone():
    g = cr.jit(cr.grad(seed, argnums=(0, 1)))
    src = g.source(2.0, 3.0)
    numpy_code = src.split("\n\n\n")[0]
    lines = [ln.strip() for ln in numpy_code.splitlines() if not ln.strip().startswith("#")]
    assert lines[:3] == ["def seed(x, y):", "x = np.float64(x)", "y = np.float64(y)"]
    assert "np.cos(x)" in lines[3] and lines[-1] == "return (x_bar, x)"   # y_bar is x itself
    assert len(lines) <= 8                                 # the seeds' multiplications by one are gone
    assert "def seed_floats(x, y):" in src and "math.cos(x)" in src      # the Python-float variant
    x_seed = cr.jit(cr.grad(lambda x: np.sum(np.where(x > 0, np.sqrt(x), 0.0))))
    assert "seeded" in x_seed.source(np.ones(3))            # the zero-seed convention, checked per call
    # standalone: exec it with NumPy and the helpers it names, and compare with the gradient
    path = g.paths(2.0, 3.0)[0]
    ns = {k: v for k, v in path.fn.__globals__.items() if k != "seed"}
    exec(src, ns)
    assert_same(ns["seed"](0.5, -1.0), cr.grad(seed, argnums=(0, 1))(0.5, -1.0))


def test_plain_function_source_names_the_numpy_calls():
    src = cr.jit(seed).source(np.ones(3), np.ones(3))
    assert src.splitlines() == ["def seed(x, y):", "    v1 = x * y    # numpy.multiply",
                                "    v2 = np.sin(x)", "    v3 = np.add(v1, v2, out=v1)    # numpy.add, into v1's array",
                                "    del v1, v2", "    return v3"]


def test_common_subexpressions_and_dead_code_are_removed():
    def f(x):
        a = np.sin(x) * 2.0
        b = np.sin(x) * 2.0                               # the same again
        np.exp(x)                                           # unused
        return a + b

    j = cr.jit(f)
    x = np.linspace(0, 1, 4)
    assert_same(j(x), f(x))
    p = j.paths(x)[0]
    assert p.traced_program.count() == 6 and p.program.count() == 3


def test_buffer_reuse_never_writes_into_inputs_constants_or_live_views():
    w = np.linspace(1.0, 2.0, 50)

    def f(x, y):
        a = np.sin(x) * w                                  # w: a constant of the program
        b = a[::-1]                                        # a view of a, alive after a's last use below
        c = np.exp(a) + y                                  # a dies here (its class does not: b lives)
        return np.sum(c * b * x) + np.sum(np.tanh(c) ** 2)

    j = cr.jit(cr.grad(f, argnums=(0, 1)))
    x, y = np.linspace(-1, 1, 50), np.linspace(0, 2, 50)
    x0, y0, w0 = x.copy(), y.copy(), w.copy()
    for k in range(3):
        assert_same(j(x + k, y), cr.grad(f, argnums=(0, 1))(x + k, y))
    assert np.array_equal(x, x0) and np.array_equal(y, y0) and np.array_equal(w, w0)
    program = j.paths(x, y)[0].program
    assert any(e.into is not None for e in program.eqns)
    assert "out=" in j.source(x, y)


def test_forward_sweep_peak_memory_approaches_the_primal():
    import tracemalloc

    from .heat import heat_step

    def loss(x):
        for _ in range(10):
            x = heat_step(x)
        return np.sum(x ** 2)

    x = np.sin(np.linspace(0, 6, 20_000))
    v = np.cos(np.linspace(0, 7, 20_000))
    fwd = cr.jit(lambda x, v: cr.jvp(loss, (x,), (v,)))
    assert_same(fwd(x, v), cr.jvp(loss, (x,), (v,)))

    def peak(fn):
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        p = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
        return p
    assert peak(lambda: fwd(x, v)) < 2.0 * peak(lambda: loss(x))


def test_explain_code_prints_the_generated_gradient_program():
    import os
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-m", "chainrule", "explain", "x*y + sin(x)", "--at", "x=2", "y=3",
                        "--code"], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "Generated code of the gradient (chainrule.jit; v1 = x, v2 = y)" in r.stdout
    code = r.stdout[r.stdout.index("def f(v1, v2):"):]
    ns = {"np": np}
    exec(code, ns)                                          # runs standalone: NumPy only
    gx, gy = ns["f"](0.5, -1.0)
    assert abs(gx - (-1.0 + np.cos(0.5))) < 1e-15 and gy == 0.5


def test_python_float_variant_falls_back_to_numpy_where_math_raises():
    f = lambda x, y: np.log(x) * y + x / y                 # noqa: E731
    g = cr.jit(cr.grad(f, argnums=(0, 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for x, y in [(2.0, 3.0), (0.0, 1.0), (-1.0, 2.0), (2.0, 0.0), (1e300, 1e-300), (np.inf, 1.0)]:
            got, want = g(x, y), cr.grad(f, argnums=(0, 1))(x, y)   # math.log(0), x / 0, overflow: NumPy's
            assert_same(got, want)
            assert all(type(v) is np.float64 for v in got)
    assert g.trace_count == 1


def test_keyword_arguments_are_part_of_the_signature():
    def f(x, scale=1.0, power=2):
        return np.sum(np.sin(x) ** power) * scale

    j = cr.jit(cr.grad(f))
    x = np.linspace(0, 1, 4)
    assert_same(j(x, scale=2.0), cr.grad(f)(x, scale=2.0))
    assert_same(j(x, scale=3.0), cr.grad(f)(x, scale=3.0))
    assert j.trace_count == 1
    assert_same(j(x, scale=3.0, power=3), cr.grad(f)(x, scale=3.0, power=3))
    assert j.trace_count == 2


def test_loop_and_checkpoint_give_the_eager_results_under_grad_and_hessian():
    from .heat import heat_step

    def looped(x):
        return np.sum(cr.loop(heat_step, x, 12, checkpoints=3) ** 2)

    def checkpointed(x):
        step = cr.checkpoint(heat_step)
        for _ in range(4):
            x = step(x)
        return np.sum(x ** 2)

    x = np.sin(np.linspace(0, 6, 12))
    for fun in (looped, checkpointed):
        for t in (cr.grad(fun), cr.hessian(fun)):
            j = cr.jit(t)
            for k in range(3):
                assert_same(j(x + 0.1 * k), t(x + 0.1 * k))
            assert j.trace_count == 1


def test_numpy_functions_without_a_rule_are_staged_in_plain_functions():
    def f(x, y):
        m = np.block([[x[:, None], y[:, None]]])          # a list of staged values, no chainrule rule
        return np.sum(np.tanh(m)) + np.sum(np.lib.stride_tricks.sliding_window_view(x * y, 2) ** 2)

    j = cr.jit(f)
    rng = np.random.default_rng(1)
    for _ in range(3):
        x, y = rng.standard_normal(5), rng.standard_normal(5)
        assert_same(j(x, y), f(x, y))
    assert j.trace_count == 1
    with pytest.raises(cr.NotDifferentiableError):         # under grad they still have no derivative
        cr.jit(cr.grad(lambda x: np.sum(np.lib.stride_tricks.sliding_window_view(x, 2))))(np.ones(3))


def test_source_marks_the_forward_pass_and_the_backward_sweep_in_wengert_order():
    src = cr.jit(cr.value_and_grad(seed, argnums=(0, 1))).source(2.0, 3.0).split("\n\n\n")[0]
    lines = [ln.strip() for ln in src.splitlines()]
    taped = lines.index("# -- recorded under reverse (forward pass, taped)")
    after = lines.index("# -- no transform active: backward sweeps and results")
    assert lines[taped + 1:after] == ["v1 = x * y    # numpy.multiply", "v2 = np.sin(x)", "v3 = v1 + v2    # numpy.add"]
    assert lines[after + 1:] == ["v4 = np.cos(x)", "x_bar = v4 + y    # numpy.add", "return [v3, x_bar, x]"]
    # it runs standalone and gives the value and both adjoints
    ns = {"np": np}
    exec(src, ns)
    value, (x_bar, y_bar) = cr.value_and_grad(seed, argnums=(0, 1))(0.7, -1.3)
    assert_same(ns["seed"](0.7, -1.3), [value, x_bar, y_bar])


def test_adjoints_are_named_after_their_primal_in_the_backward_sweep():
    def f(x, w):
        return np.sum(np.tanh(x @ w) * x[:2])

    src = cr.jit(cr.grad(f, argnums=(0, 1))).source(np.ones(3), np.full((3, 2), 0.2))
    assert "def f(x, w):" in src and "x_bar = " in src and "w_bar = " in src
    first = {n: src.index(f"    {n} = ") for n in ("v1", "v2", "v1_bar", "w_bar")}
    assert first["v1"] < first["v2"] < first["v1_bar"] < first["w_bar"]     # forward, then backward


def _run_racing(threads):
    """Start and join ``threads`` with Python switching between them as often as it can: races show up."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)


def test_threads_sharing_a_jitted_function_get_their_own_results_and_trace_each_path_once():
    import threading

    def f(x):
        if np.sum(x) > 0:                                  # a guard: two paths per signature
            return np.sin(x) * x
        return np.cos(x) - x

    g = cr.jit(cr.grad(lambda x: np.sum(f(x))))
    eager = cr.grad(lambda x: np.sum(f(x)))
    inputs = [np.linspace(0.1, 1.0, 3), -np.linspace(0.1, 1.0, 3),
              np.linspace(0.2, 2.0, 4, dtype=np.float32), -np.linspace(0.2, 2.0, 4, dtype=np.float32),
              np.full((2, 2), 0.5), np.full((2, 2), -0.5)]          # 3 signatures x 2 paths
    barrier = threading.Barrier(3)
    errors = []

    def work(k):                        # every thread calls every signature and path, from the start
        try:
            barrier.wait()
            for i in range(60):
                x = inputs[(i + k) % len(inputs)] * (1.0 + 0.01 * i)
                got = g(x)
                want = eager(x)
                assert got.dtype == x.dtype
                np.testing.assert_allclose(got, want, rtol=1e-6 if x.dtype == np.float32 else 1e-12)
        except Exception as e:                              # reported in the main thread
            errors.append(e)

    _run_racing([threading.Thread(target=work, args=(k % 2,)) for k in range(3)])
    assert not errors, errors
    assert g.trace_count == 6                              # 3 signatures x 2 paths, none traced twice


def test_threads_evicting_signatures_of_one_jitted_function():
    import threading

    from chainrule.jit.api import MAX_SIGNATURES
    g = cr.jit(lambda x: np.tanh(x) * 2.0)
    errors = []

    def work(k):
        try:
            for n in range(1 + k, 2 * MAX_SIGNATURES, 2):   # more signatures than the cache keeps
                x = np.linspace(-1.0, 1.0, n)
                np.testing.assert_allclose(g(x), np.tanh(x) * 2.0, rtol=1e-15)
        except Exception as e:
            errors.append(e)

    _run_racing([threading.Thread(target=work, args=(k,)) for k in range(2)])
    assert not errors, errors
    assert len(g._cache) <= MAX_SIGNATURES


def _structured(j, *args):
    return [e for p in j.paths(*args) for e in p.program.eqns if e.kind == "structured"]


def test_loop_stays_a_loop_over_one_staged_step():
    def f(x, k):
        return np.sum(cr.loop(lambda s: s + k * np.sin(s), x, 1000) ** 2)   # k: read from the closure

    x = np.linspace(0.1, 1.0, 5)
    for t in (f, cr.grad(f), cr.jacrev(lambda x, k: cr.loop(
            lambda s: s + k * np.sin(s), x, 1000), argnums=0)):
        j = cr.jit(t)
        for k in (0.01, 0.02):
            assert_same(j(x, k), t(x, k))
            assert_same(j(x + k, k), t(x + k, k))
        assert j.trace_count == 1
        assert len(j.paths(x, 0.01)[0].program.eqns) < 40       # not 1000 unrolled steps
        assert _structured(j, x, 0.01)
    g = cr.jit(cr.grad(f))
    src = g.source(x, 0.01)
    assert "def loop_step(" in src and "def loop_adjoint(" in src and "np.sin(" in src


def test_jvp_of_a_loop_with_its_step_index_is_structured():
    def f(x):
        return cr.loop(lambda s, i: s + 0.001 * i * np.cos(s), x, 300)

    x, v = np.linspace(-1.0, 1.0, 4), np.cos(np.arange(4.0))
    t = lambda x, v: cr.jvp(f, (x,), (v,))                       # noqa: E731
    j = cr.jit(t)
    assert_same(j(x, v), t(x, v))
    assert_same(j(2 * x, v), t(2 * x, v))
    assert j.trace_count == 1 and _structured(j, x, v)
    g = cr.jit(cr.grad(f))                     # on a Python float: the step runs on floats and math
    for x0 in (0.3, -1.2):
        assert_same(g(x0), cr.grad(f)(x0))
    assert g.trace_count == 1 and "def loop_step_floats(" in g.source(0.3)


def test_loop_step_with_a_branch_traces_each_path_of_the_step_once():
    def step(s):
        if np.sum(s) > 0:                                    # a guard inside the step
            return s - 0.3 * np.tanh(s)
        return s + 0.5

    f = lambda x: np.sum(cr.loop(step, x, 40) ** 2)          # noqa: E731
    for t in (f, cr.grad(f)):
        j = cr.jit(t)
        for x in (np.full(3, -2.0), np.full(3, 2.0), np.full(3, -7.0)):   # both branches within one call
            assert_same(j(x), t(x))
        assert j.trace_count == 1
        for e in _structured(j, np.full(3, -2.0)):          # the loop, and for grad its backward sweep
            assert [len(sub.paths) for sub in e.fn.subs] == [2] * len(e.fn.subs)


def test_loop_step_reading_many_numbers_from_its_index_is_staged_inline():
    f = lambda x: np.sum(cr.loop(lambda s, i: s * float(i + 1) / 10, x, 12))   # float(i): one value per step
    for t in (f, cr.grad(f)):
        j = cr.jit(t)
        x = np.linspace(0.5, 1.5, 3)
        assert_same(j(x), t(x))
        assert_same(j(x * 2), t(x * 2))
        assert j.trace_count == 1 and not _structured(j, x)


def test_adjoints_of_several_slices_accumulate_into_one_buffer():
    def f(x):
        return np.sum(x[1:] ** 2) + np.sum(3.0 * x[:-1]) + np.sum(np.sin(x[::2]))

    g = cr.jit(cr.grad(f))
    x = np.linspace(-1.0, 2.0, 7)
    for y in (x, x[::-1].copy(), -x):
        got = g(y)
        assert_same(got, cr.grad(f)(y))
        h = 1e-6
        fd = [(f(y + h * e) - f(y - h * e)) / (2 * h) for e in np.eye(7)]
        np.testing.assert_allclose(got, fd, rtol=1e-7, atol=1e-8)
    names = [e.name for e in g.paths(x)[0].program.eqns]
    scatters = names.count("scatter_add_into") + names.count("scatter_add_view")
    fresh = names.count("index_add") + names.count("scatter_add_onto")     # one buffer: zeros or the constant's copy
    assert scatters == 1 and fresh == 1                                     # (the third adjoint is constant)
    assert g.trace_count == 1


def test_hessian_of_sliced_code_scatters_on_its_own_axes():
    def rosen(x):
        return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    h = cr.jit(cr.hessian(rosen))
    x = np.linspace(-1.2, 1.2, 9)
    got = h(x)
    assert_same(got, cr.hessian(rosen)(x))
    grad = cr.grad(rosen)
    eps = 1e-6
    fd = np.array([(grad(x + eps * e) - grad(x - eps * e)) / (2 * eps) for e in np.eye(9)])
    np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-4)
    assert_same(h(x[::-1].copy()), cr.hessian(rosen)(x[::-1].copy()))
    eqns = h.paths(x)[0].program.eqns
    made_by = {o: e for e in eqns for o in e.outs}
    for e in eqns:              # no scatter between a transpose and its inverse (they are folded away)
        if e.name in ("index_add", "scatter_add_into", "scatter_add_view", "scatter_add_onto") and type(e.ins[0]).__name__ == "Var":
            src = made_by.get(e.ins[0])
            assert src is None or src.name != "numpy.transpose"


def _muls(j, *args):
    return sum(e.name == "numpy.multiply" for p in j.paths(*args) for e in p.program.eqns)


def test_constant_factors_fold_only_where_exact():
    def f(x):                   # (x * 2) * -1 * 3.0 folds to x * -6.0; (x * 3.0) * 5.0 must not fold
        return np.sum(np.sin(((x * 2) * -1) * 3.0) + np.cos((x * 3.0) * 5.0))

    x = np.linspace(-1.3, 2.1, 11)
    for dtype in (np.float64, np.float32):
        y = x.astype(dtype)
        j = cr.jit(f)
        got = j(y)
        assert type(got) is type(f(y)) and got == f(y)                # bit for bit
        g = cr.jit(cr.grad(f))
        want = cr.grad(f)(y)
        np.testing.assert_array_equal(g(y), want)
        assert g(y).dtype == dtype
    assert _muls(cr.jit(f), x) == 3                                   # x * -6.0, x * 3.0, that * 5.0
    h = 1e-6
    fd = [(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(11)]
    np.testing.assert_allclose(cr.jit(cr.grad(f))(x), fd, rtol=1e-6, atol=1e-7)
    fwd = cr.jacfwd(f)(x)
    np.testing.assert_allclose(cr.jit(cr.grad(f))(x), fwd, rtol=1e-12, atol=1e-13)


def test_constant_factors_fold_in_the_rosenbrock_hvp():
    def rosen(x):
        return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    x, v = np.linspace(-1.2, 1.2, 12), np.cos(np.arange(12.0))
    j = cr.jit(lambda x, v: cr.hvp(rosen, x, v))
    for y in (x, -x, x[::-1].copy()):
        got = j(y, v)
        np.testing.assert_array_equal(got, cr.hvp(rosen, y, v))      # folding is exact
        eps = 1e-6
        fd = (cr.grad(rosen)(y + eps * v) - cr.grad(rosen)(y - eps * v)) / (2 * eps)
        np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-5)
        np.testing.assert_allclose(got, cr.jacfwd(cr.grad(rosen))(y) @ v, rtol=1e-12, atol=1e-10)
    eqns = j.paths(x, v)[0].program.eqns
    assert sum(e.name == "numpy.multiply" for e in eqns) <= 8
    assert sum(e.name == "getitem" for e in eqns) == 4               # x[1:], v[1:], x[:-1], v[:-1], once each
    assert j.trace_count == 1


def test_whole_axis_slices_go_and_reshape_transpose_print_as_methods():
    def f(x):
        y = x[0:3, :] * x[:, 0:4]                 # both whole: x itself
        return np.sum(np.reshape(np.transpose(y), (2, 6)) * np.arange(12.0).reshape(2, 6))

    x = np.arange(12.0).reshape(3, 4) / 7
    for t in (cr.jit(f), cr.jit(cr.grad(f)), cr.jit(cr.hessian(f))):
        assert_same(t(x), t.fun(x))
        assert_same(t(-x), t.fun(-x))
    j = cr.jit(f)
    assert not any(e.name == "getitem" for e in j.paths(x)[0].program.eqns)
    src = j.source(x)
    assert ".transpose((1, 0))" in src and ".reshape((2, 6))" in src and "np.reshape" not in src
    g = cr.jit(cr.grad(f))(x)
    h = 1e-6
    fd = np.array([(f(x + h * e.reshape(3, 4)) - f(x - h * e.reshape(3, 4))) / (2 * h) for e in np.eye(12)])
    np.testing.assert_allclose(g.ravel(), fd, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(g, cr.jacfwd(f)(x), rtol=1e-12, atol=1e-13)


def test_scatters_into_views_and_onto_constants_for_every_kind_of_index():
    idx, rep = np.array([0, 3]), np.array([1, 1, 4])

    def f(x):
        return (np.sum(x[1:] ** 2 * x[:-1]) + x[2] * x[5] * 3.0 + np.sum(x[idx] ** 3)
                + np.sum(np.sin(x[rep])) + np.sum(2.0 * x[::2]))

    x = np.linspace(-0.9, 1.4, 7)
    for t in (cr.grad(f), cr.hessian(f)):
        j = cr.jit(t)
        for y in (x, -x, x[::-1].copy()):
            assert_same(j(y), t(y))
    g, h = cr.jit(cr.grad(f)), cr.jit(cr.hessian(f))
    eps = 1e-6
    fd = np.array([(f(x + eps * e) - f(x - eps * e)) / (2 * eps) for e in np.eye(7)])
    np.testing.assert_allclose(g(x), fd, rtol=1e-6, atol=1e-7)
    fd2 = np.array([(cr.grad(f)(x + eps * e) - cr.grad(f)(x - eps * e)) / (2 * eps) for e in np.eye(7)])
    np.testing.assert_allclose(h(x), fd2, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(h(x), cr.jacrev(cr.jacfwd(f))(x), rtol=1e-12, atol=1e-12)
    names = {e.name for p in (g.paths(x)[0], h.paths(x)[0]) for e in p.program.eqns}
    assert "scatter_add_view" in names and "scatter_add_onto" in names


def test_rosenbrock_hessian_starts_from_a_copy_of_its_constant_part():
    def rosen(x):
        return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    h = cr.jit(cr.hessian(rosen))
    x = np.linspace(-1.2, 1.2, 10)
    for y in (x, 2 * x, x[::-1].copy()):
        want = cr.hessian(rosen)(y)
        np.testing.assert_allclose(h(y), want, rtol=1e-13, atol=1e-12)
        np.testing.assert_allclose(h(y), cr.jacrev(cr.jacfwd(rosen))(y), rtol=1e-12, atol=1e-10)
    c = h(x)
    h(2 * x)
    assert_same(c, cr.hessian(rosen)(x))        # the constant part is copied, never written into
    assert_same(h(x), cr.hessian(rosen)(x))
    names = [e.name for e in h.paths(x)[0].program.eqns]
    # the seeds stay diagonals: one (n, n) array, written once (tests/test_jit_diagonals.py)
    assert names.count("banded") == 1 and not {"index_add", "scatter_add_onto", "scatter_add_view"} & set(names)


def test_cheaper_spellings_are_bit_for_bit_and_keep_integer_arithmetic():
    def f(x):
        return np.sum(np.sin(x * -1) * 3 + (x + 2) / 4 - 1)

    x = np.linspace(-1.1, 2.3, 9)
    for dtype in (np.float64, np.float32):
        y = x.astype(dtype)
        assert cr.jit(f)(y) == f(y) and cr.jit(f)(y).dtype == dtype
        np.testing.assert_array_equal(cr.jit(cr.grad(f))(y), cr.grad(f)(y))
    src = cr.jit(f).source(x)
    assert "np.negative(x)" in src and "* -1" not in src and " 3.0" in src
    k = np.arange(5)
    got = cr.jit(lambda k: k * -1 + k * 3 - 1)(k)
    assert got.dtype == k.dtype and np.array_equal(got, k * 2 - 1)       # ints stay ints
    h = 1e-6
    fd = [(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(9)]
    np.testing.assert_allclose(cr.jit(cr.grad(f))(x), fd, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(cr.jit(cr.grad(f))(x), cr.jacfwd(f)(x), rtol=1e-13, atol=1e-14)


def test_zero_seed_checks_read_through_negated_seeds_and_negations_move_to_the_smaller_operand():
    def g(x):
        return np.where(x > 0, np.sqrt(-(-x) * 3.0), 0.0) * np.linspace(1.0, 2.0, x.size)

    def s(x):
        return np.sum(g(x) * -x[:1])

    for x in (np.array([0.0, 1.0, 0.0, 2.5]), np.array([0.7, -1.0, 0.0, 3.0]), np.array([1.0, 2.0, 3.0, 4.0])):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for t in (cr.jacfwd(g), cr.jacrev(g), cr.grad(s), cr.hessian(s)):
                want = t(x)
                got = cr.jit(t)(x)
                assert np.all(np.isfinite(got)) == np.all(np.isfinite(want))
                assert_same(got, want)
    x = np.array([0.5, 1.0, 2.0, 2.5])
    h = 1e-6
    fd = np.array([(g(x + h * e) - g(x - h * e)) / (2 * h) for e in np.eye(4)]).T
    np.testing.assert_allclose(cr.jit(cr.jacfwd(g))(x), fd, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(cr.jit(cr.jacfwd(g))(x), cr.jacrev(g)(x), rtol=1e-13, atol=1e-14)


def test_rosenbrock_hessian_negates_the_small_factor():
    def rosen(x):
        return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    h = cr.jit(cr.hessian(rosen))
    x = np.linspace(-1.2, 1.2, 30)
    np.testing.assert_array_equal(h(x), cr.hessian(rosen)(x))
    for e in h.paths(x)[0].program.eqns:
        if e.name == "numpy.negative":
            assert np.prod(e.outs[0].shape) == 29                     # never the (30, 1, 29) tangents


def test_buffer_reuse_writes_into_a_reshaped_new_array_only_when_all_its_views_are_dead():
    def dead(x):
        return np.transpose(np.sin(x)) * 3.0 + 1.0          # sin(x)'s array and its transpose die: reused

    def live(x):
        y = np.sin(x)
        z = np.reshape(y, (4, 3)) * 3.0                      # y is read again below: not written into
        return z.sum() + y[0, 0] * np.reshape(z, (3, 4))

    x = np.arange(12.0).reshape(3, 4) / 5
    for f in (dead, live):
        j = cr.jit(f)
        assert_same(j(x), f(x))
        assert_same(j(-x), f(-x))
        g = cr.jit(cr.grad(lambda x: np.sum(f(x) ** 2)))
        want = cr.grad(lambda x: np.sum(f(x) ** 2))(x)
        assert_same(g(x), want)
        np.testing.assert_allclose(g(x), cr.jacfwd(lambda x: np.sum(f(x) ** 2))(x), rtol=1e-12, atol=1e-12)
        h = 1e-6
        fd = np.array([(np.sum(f(x + h * e.reshape(3, 4)) ** 2) - np.sum(f(x - h * e.reshape(3, 4)) ** 2)) / (2 * h)
                       for e in np.eye(12)]).reshape(3, 4)
        np.testing.assert_allclose(g(x), fd, rtol=1e-6, atol=1e-6)
    eqns = cr.jit(dead).paths(x)[0].program.eqns
    made_by = {o: e for e in eqns for o in e.outs}
    assert any(e.into is not None and made_by[e.ins[e.into]].name == "numpy.transpose" for e in eqns)
    y_sin = [e.outs[0] for e in cr.jit(live).paths(x)[0].program.eqns if e.name == "numpy.sin"][0]
    live_eqns = cr.jit(live).paths(x)[0].program.eqns
    live_made = {o: e for e in live_eqns for o in e.outs}
    for e in live_eqns:                                      # nothing writes into y or a view of it
        if e.into is not None:
            src = live_made.get(e.ins[e.into])
            assert e.ins[e.into] is not y_sin and not (src is not None and src.ins and src.ins[0] is y_sin)


def _bits(a):
    """The bytes of ``a`` with every nan made the same nan (``c - x`` and ``c + (-x)`` may give a nan
    of either sign: IEEE leaves a nan's sign unspecified)."""
    a = np.array(a, copy=True)
    a[np.isnan(a)] = np.nan
    return a.tobytes()


def test_negations_read_by_a_sum_become_differences_bit_for_bit():
    def f(a, b, c):
        return c + (-a) * b, (-b) + a, b - (-c), c + (a * 2.0) * -(b * 3.0), -(a + b) * 2.5     # each read once

    special = np.array([0.0, -0.0, 1.5, -2.0, np.inf, -np.inf, np.nan, 1e308, -1e-310, 3.0])
    rng = np.random.default_rng(5)
    args = [special, rng.permutation(special), rng.permutation(special)]
    j = cr.jit(f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for dtype in (np.float64, np.float32):
            a, b, c = (x.astype(dtype) for x in args)
            for got, want in zip(j(a, b, c), f(a, b, c)):
                assert got.dtype == want.dtype and _bits(got) == _bits(want)         # zeros' signs too
    assert "numpy.negative" not in [e.name for e in j.paths(*args)[0].program.eqns]
    x = np.linspace(-1.0, 1.0, 10)                         # and through derivatives: the other mode, differences
    g = lambda x: np.sum(np.sin(x) - (-x) * np.cos(x[::-1]))                      # noqa: E731
    jg = cr.jit(cr.grad(g))
    np.testing.assert_array_equal(jg(x), cr.grad(g)(x))
    np.testing.assert_allclose(jg(x), cr.jacfwd(g)(x), rtol=1e-13, atol=1e-14)
    h = 1e-6
    np.testing.assert_allclose(jg(x), [(g(x + h * e) - g(x - h * e)) / (2 * h) for e in np.eye(10)],
                               rtol=1e-6, atol=1e-7)


def test_the_rosenbrock_hvp_in_few_operations():
    def rosen(x):
        return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    j = cr.jit(lambda x, v: cr.hvp(rosen, x, v))
    x, v = np.linspace(-1.2, 1.2, 50), np.cos(np.arange(50.0))
    for y, w in ((x, v), (-x, v[::-1].copy()), (x, np.zeros(50)), (np.where(x > 0, np.inf, x), v)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got, want = j(y, w), cr.hvp(rosen, y, w)
        assert _bits(got) == _bits(want)                                     # bit for bit
    np.testing.assert_allclose(j(x, v), cr.hessian(rosen)(x) @ v, rtol=1e-12, atol=1e-10)
    src = j.source(x, v)
    names = [e.name for e in j.paths(x, v)[0].program.eqns]
    assert len(names) <= 19 and "numpy.negative" not in names and "index_add_sum" in names
    assert "if isfinite(vdot(" in src                 # the zero-seed checks' first test, inline
