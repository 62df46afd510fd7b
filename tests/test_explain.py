"""explain: the textbook example f(x, y) = x*y + sin(x) at (2, 3), by hand, and as a golden snapshot."""

import json
import math
import pathlib
import re

import numpy as np
import pytest

import chainrule as cr

from .test_mode import scalar_misfit

GOLDEN = pathlib.Path(__file__).parent / "golden" / "explain_xy_sin.txt"
MEASURED = re.compile(r"^Recommendation: .*$", re.M)     # the measured times change from run to run


def f(x, y):
    return x * y + np.sin(x)


@pytest.fixture(scope="module")
def e():
    return cr.explain(f, 2.0, 3.0)


def test_the_wengert_list_has_the_textbook_values(e):
    x, y, v1, v2, v3 = e.steps
    assert [s.name for s in e.steps] == ["x", "y", "v1", "v2", "v3"]
    assert (v1.definition, v2.definition, v3.definition) == ("x * y", "sin(x)", "v1 + v2")
    assert v1.primal == 6.0 and v2.primal == math.sin(2.0) and v3.primal == 6.0 + math.sin(2.0)
    assert v3.output == 0 and v1.output is None


def test_forward_sweep_with_seed_one_zero(e):
    x, y, v1, v2, v3 = e.steps
    assert [float(t) for t in e.tangent_seed] == [1.0, 0.0]
    assert (x.tangent, y.tangent, v1.tangent) == (1.0, 0.0, 3.0)
    assert v2.tangent == math.cos(2.0) and abs(v3.tangent - (3.0 + math.cos(2.0))) <= 1e-15


def test_reverse_sweep_with_adjoint_one(e):
    x, y, v1, v2, v3 = e.steps
    assert (v3.adjoint, v2.adjoint, v1.adjoint) == (1.0, 1.0, 1.0)
    assert abs(x.adjoint - (3.0 + math.cos(2.0))) <= 1e-15 and y.adjoint == 2.0


def test_totals_and_cost(e):
    assert (e.n, e.m, e.operations) == (2, 1, 3)
    assert e.tape_bytes > 0
    assert e.cost["forward"]["work"] == 2 * 3 and e.cost["reverse"]["work"] == 3 + 1 * 3
    assert e.cost["forward"]["tape"] == 0 and e.cost["reverse"]["tape"] == e.tape_bytes
    assert e.recommendation in ("forward", "reverse") and e.reason.startswith(e.recommendation)


def test_the_text_shows_the_values(e):
    text = str(e)
    for value in ("6", f"{math.sin(2.0):.10g}", f"{math.cos(2.0):.10g}", f"{3 + math.cos(2.0):.10g}"):
        assert value in text
    assert text.index("Forward sweep") < text.index("Reverse sweep")
    # the textbook rules next to the values
    assert "y * x_dot + x * y_dot" in text and "cos(x) * x_dot" in text and "v1_dot + v2_dot" in text
    assert "v1_bar * y + v2_bar * cos(x)" in text and "v1_bar * x" in text
    reverse = text[text.index("Reverse sweep"):]
    assert reverse.index("v3_bar") < reverse.index("v1_bar") < reverse.index("x_bar")


def test_golden_snapshot(e):
    text = MEASURED.sub("Recommendation: <measured>", str(e))
    assert text == GOLDEN.read_text(), "explain's text changed; if on purpose, regenerate " + str(GOLDEN)


def test_modes_select_the_sweeps():
    assert "Reverse sweep" not in str(cr.explain(f, 2.0, 3.0, mode="forward"))
    assert "Forward sweep" not in str(cr.explain(f, 2.0, 3.0, mode="reverse"))
    with pytest.raises(ValueError, match="'both', 'forward', 'reverse'"):
        cr.explain(f, 2.0, 3.0, mode="sideways")


def test_to_dict_is_json_and_matches(e):
    d = json.loads(json.dumps(e.to_dict()))
    assert d["totals"] == {"n": 2, "m": 1, "operations": 3, "tape_bytes": e.tape_bytes}
    assert d["steps"][2]["primal"] == 6.0 and d["steps"][0]["adjoint"] == 3 + math.cos(2.0)
    assert d["recommendation"] == e.recommendation


def test_to_dot_is_a_graph_of_the_trace(e):
    dot = e.to_dot()
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    for edge in ('"x" -> "v1"', '"y" -> "v1"', '"x" -> "v2"', '"v1" -> "v3"', '"v2" -> "v3"'):
        assert edge in dot
    assert dot.count("->") == 5


def test_large_arrays_are_shown_by_shape_only():
    w = np.random.default_rng(0).standard_normal((300, 400))
    e = cr.explain(lambda x: np.tanh(w @ x), np.ones(400))
    text, data = str(e), json.dumps(e.to_dict())
    assert "(300,)" in text and "(400,)" in text
    assert len(text) < 5000 and len(data) < 5000
    assert e.steps[1].to_dict()["primal"] == {"shape": [300], "dtype": "float64"}
    assert (e.n, e.m) == (400, 300)


def test_array_results_match_the_jacobian():
    x = np.array([0.5, -1.0, 2.0])
    e = cr.explain(lambda x: np.sin(x) * x, x)
    jac = cr.jacfwd(lambda x: np.sin(x) * x)(x)
    out = next(s for s in e.steps if s.output == 0)
    assert np.allclose(out.tangent, jac[:, 0]) and np.allclose(e.steps[0].adjoint, jac[0, :])


def test_pytrees_get_a_helpful_error():
    with pytest.raises(TypeError, match="one per input"):
        cr.explain(lambda p: p["w"] * 2, {"w": 1.0})
    e = cr.explain(lambda x: np.sum(x), [1.0, 2.0])          # a list of numbers is an array
    assert e.n == 2


def chain(steps):
    """A scalar recurrence of 5 operations per step (plus the input and the final sum): a long trace."""
    def g(x, a):
        for _ in range(steps):
            x = np.sin(x) * a + 0.1 * x
            x = x - 0.01 * x * x
        return x
    return g


@pytest.mark.parametrize("steps", [200, 1000])            # about 1000 and 5000 operations
def test_long_traces_print_the_first_and_last_rows_of_each_sweep(steps):
    e = cr.explain(chain(steps), 0.3, 1.1)
    assert e.operations >= 5 * steps and len(e.steps) == e.operations + 2
    text = str(e)
    left_out = len(e.steps) - cr.tools.explain.MAX_ROWS
    summary = f"... {left_out:,} rows left out (max_rows=None shows all) ..."
    assert text.count(summary) == 3                       # the trace, the forward and the reverse sweep
    assert text.count("\n") < 200                         # the same size whatever the length of the trace
    lines = text.splitlines()
    trace = lines[lines.index("Evaluation trace (Wengert list)") + 3:]
    half = cr.tools.explain.MAX_ROWS // 2
    assert [ln.split()[0] for ln in trace[:half]] == [s.name for s in e.steps[:half]]
    assert summary in trace[half]
    assert [ln.split()[0] for ln in trace[half + 1:2 * half + 1]] == [s.name for s in e.steps[-half:]]
    # the data keeps every row, with the right values: the last output against jacfwd
    d = e.to_dict()
    assert len(d["steps"]) == len(e.steps)
    out = e.steps[-1]
    assert out.output == 0
    assert abs(out.tangent - cr.jacfwd(chain(steps))(0.3, 1.1)) <= 1e-12 * max(1.0, abs(out.tangent))
    assert abs(e.steps[0].adjoint - cr.grad(chain(steps))(0.3, 1.1)) <= 1e-12 * max(1.0, abs(e.steps[0].adjoint))


def test_max_rows_none_prints_everything_and_a_small_window_is_honoured():
    e = cr.explain(chain(30), 0.3, 1.1, max_rows=None)
    text = str(e)
    assert "rows left out" not in text
    for s in e.steps:
        assert f"\n  {s.name} " in text
    small = cr.tools.explain.render(e, max_rows=4)
    assert f"... {len(e.steps) - 4:,} rows left out" in small
    assert small.count("\n") < 60


def test_array_cells_are_one_line():
    a = np.arange(6.0).reshape(3, 2)
    e = cr.explain(lambda a: np.sum(np.sin(a) * a), a)
    text = str(e)
    assert "[[0, 1], [2, 3], [4, 5]]" in text
    for line in text.splitlines():                           # no continuation lines of a multi-line repr
        assert not line.lstrip().startswith("[") and not line.rstrip().endswith(",")
    d = e.to_dict()
    assert d["steps"][0]["primal"] == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    # the adjoint of the input is the gradient
    grad = cr.grad(lambda a: np.sum(np.sin(a) * a))(a)
    assert np.allclose(e.steps[0].adjoint, grad, rtol=1e-13, atol=1e-15)


def test_arguments_not_differentiated_keep_their_names():
    def g(x, w, t):
        return x * np.cos(w * t) + x * x

    e = cr.explain(g, 2.0, 1.3, 0.5, argnums=0)
    assert e.inputs == ["x"] and (e.n, e.m) == (1, 1)
    assert [s.definition for s in e.steps] == ["input", "x * cos(w * t)", "x * x", "v3 + v4"]
    assert e.constants == [("w", 1.3), ("t", 0.5)]
    text = str(e)
    assert "not differentiated: w = 1.3, t = 0.5" in text
    assert "cos(w * t) * x_dot" in text and repr(math.cos(1.3 * 0.5)) not in text
    # the derivative is unchanged by the folding: against the other mode and central differences
    want = math.cos(1.3 * 0.5) + 2 * 2.0
    assert abs(e.steps[-1].tangent - want) <= 1e-14 and abs(e.steps[0].adjoint - want) <= 1e-14
    fd = (g(2.0 + 1e-6, 1.3, 0.5) - g(2.0 - 1e-6, 1.3, 0.5)) / 2e-6
    assert abs(fd - want) <= 1e-8
    assert e.to_dict()["constants"] == {"w": 1.3, "t": 0.5}


def test_the_command_line_keeps_variables_left_out_of_wrt(capsys):
    from chainrule.tools.cli import main
    assert main(["explain", "x * cos(w*t) + x*x", "--at", "x=2", "w=1.3", "t=0.5", "--wrt", "x"]) == 0
    text = capsys.readouterr().out
    assert "cos(w * t)" in text and "not differentiated: w = 1.3, t = 0.5" in text
    assert "-0.2107957994307797" not in text


def test_argnums_errors():
    with pytest.raises(ValueError, match="argnums"):
        cr.explain(f, 2.0, 3.0, argnums=5)


def test_an_argument_a_tracer_cannot_stand_for_is_fixed_instead():
    def g(x, n):
        for _ in range(int(n)):                      # int() of a traced value is refused
            x = np.sin(x)
        return x

    e = cr.explain(g, 0.5, 3.0, argnums=0)
    assert len(e.steps) == 4 and e.constants == [("n", 3.0)]
    want = cr.grad(lambda x: g(x, 3.0))(0.5)
    assert abs(e.steps[0].adjoint - want) <= 1e-15 and abs(e.steps[-1].tangent - want) <= 1e-15
    assert "not differentiated: n = 3" in str(e)


@pytest.mark.parametrize("explain_first", [True, False])
def test_explain_reports_the_decision_jacobian_takes(explain_first):
    """explain's Decision is auto mode's, from the same cache and the same prediction, in either order."""
    cr.clear_caches()
    u = 0.1 * np.sin(np.arange(300.0))
    jac = cr.jacobian(scalar_misfit)
    if explain_first:
        e = cr.explain(scalar_misfit, u, max_rows=4)
        assert e.decision.mode == "forward" and e.decision.verify and "scalar code" in e.decision.reason
        assert jac.decision_for(u) is e.decision             # the decision jacobian follows
        got = jac(u)                                        # a later call: times the predicted forward mode
    else:
        got = jac(u)
        e = cr.explain(scalar_misfit, u, max_rows=4)
        assert e.decision is jac.decision_for(u)
        assert e.decision.mode == "forward" and "scalar code" in e.decision.reason
    assert "Recommendation: " + e.decision.reason in str(e)
    assert np.allclose(got, cr.grad(scalar_misfit)(u), rtol=1e-12, atol=1e-14)
    assert np.allclose(got, cr.jacfwd(scalar_misfit)(u), rtol=1e-12, atol=1e-14)
