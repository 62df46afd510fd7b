"""explain: the textbook example f(x, y) = x*y + sin(x) at (2, 3), by hand, and as a golden snapshot."""

import json
import math
import pathlib
import re

import numpy as np
import pytest

import chainrule as cr

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
