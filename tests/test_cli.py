"""The command line, run for real: ``python -m chainrule`` (and the installed ``chainrule`` script);
and the tools behind it: advise, and demo at small sizes (the full sweep is ``chainrule demo``)."""

import io
import json
import math
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule.tools.advise import Advice, Measurement
from chainrule.tools.demo import run_demo, tanh_layers

from chainrule.tools.cli import FUNCTIONS, ExpressionError, compile_expression, parse_assignments, UsageError

SRC = str(pathlib.Path(__file__).resolve().parents[1] / "src")
SCRIPT = shutil.which("chainrule", path=os.path.dirname(sys.executable))


def run(*args, script=False):
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [SCRIPT, *args] if script else [sys.executable, "-m", "chainrule", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)


REJECTED = [
    "__import__('os').system('id')",
    "x.__class__",
    "(lambda: 1)()",
    "[i for i in x]",
    "open('f')",
    "np.load('f')",
    "x[0].__dict__",
    "x" + "+x" * 50_000,                      # 100 kB
    "__builtins__",
    "sin.__call__(x)",
    "eval('1')",
    "(1).real",
    "'a' * 3",
    "x if x > 0 else 1",
    "{1: x}",
    "(x := 2)",
    "sum(x, axis=x)",
    "x[x]",
    "sin(x)[0]",
]


@pytest.mark.parametrize("expr", REJECTED, ids=lambda e: e[:30])
def test_rejected_expressions_name_the_part_and_never_run(expr):
    with pytest.raises(ExpressionError) as err:
        compile_expression(expr, ["x"])
    msg = str(err.value)
    assert "not allowed" in msg or "limit" in msg or "unknown name" in msg
    assert len(msg) < 1000


@pytest.mark.parametrize("expr, part", [("x.__class__", "'x.__class__'"), ("open('f')", "open"),
                                        ("np.load('f')", "np.load"), ("1 + (lambda: 1)()", "lambda")])
def test_the_error_says_which_part(expr, part):
    with pytest.raises(ExpressionError, match=part.replace("(", r"\(").replace(".", r"\.")):
        compile_expression(expr, ["x"])


def test_every_documented_function_is_accepted_and_evaluates():
    x = np.array([0.3, 0.6])
    for name, fn in FUNCTIONS.items():
        if name in ("arctan2", "hypot", "maximum", "minimum", "dot"):
            expr, want = f"{name}(x, x + 1)", fn(x, x + 1)
        elif name == "where":
            expr, want = "where(x > 0.5, x, 0)", np.where(x > 0.5, x, 0)
        elif name == "clip":
            expr, want = "clip(x, 0.4, 0.5)", np.clip(x, 0.4, 0.5)
        elif name == "arccosh":
            expr, want = "arccosh(x + 1)", np.arccosh(x + 1)
        else:
            expr, want = f"{name}(x)", fn(x)
        got = compile_expression(expr, ["x"])(x)
        assert np.allclose(got, want, equal_nan=True), name


def test_the_interpreter_computes_the_expression():
    f = compile_expression("x*y + sin(x) - x[0]**2 / 4 + sum(x[1:], axis=0) * pi", ["x", "y"])
    x = np.array([1.0, 2.0, 3.0])
    want = x * 2.0 + np.sin(x) - x[0] ** 2 / 4 + np.sum(x[1:]) * np.pi
    assert np.allclose(f(x, 2.0), want)
    assert compile_expression("x, 2 * x", ["x"])(1.5) == (1.5, 3.0)
    with np.errstate(over="ignore"):                                       # floats: no endless integer power
        assert compile_expression("10**10**10 * x", ["x"])(1.0) == math.inf


def test_parse_assignments():
    v = parse_assignments(["x=2", "y=[1, 2.5]", "z=[[1,2],[3,4]]"])
    assert v["x"] == 2.0 and v["y"].tolist() == [1.0, 2.5] and v["z"].shape == (2, 2)
    for bad in (["x"], ["x=abc"], ["x=__import__('os')"], ["1x=2"], ["x=[1,'a']"], []):
        with pytest.raises(UsageError):
            parse_assignments(bad)


def test_explain_prints_the_textbook_table():
    r = run("explain", "x*y + sin(x)", "--at", "x=2", "y=3")
    assert r.returncode == 0, r.stderr
    for value in ("x * y", "sin(x)", f"{math.sin(2):.10g}", f"{math.cos(2):.10g}", f"{3 + math.cos(2):.10g}",
                  "Forward sweep", "Reverse sweep", "Recommendation"):
        assert value in r.stdout


def test_explain_json_wrt_and_mode():
    r = run("explain", "sum(tanh(x) * y)", "--at", "x=[0.5,1,2]", "y=3", "--wrt", "x", "--mode", "reverse",
            "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["totals"]["n"] == 3 and d["totals"]["m"] == 1 and d["inputs"] == ["x"]
    x = np.array([0.5, 1, 2])
    assert np.allclose(d["steps"][0]["adjoint"], 3 * (1 - np.tanh(x) ** 2))


def test_explain_a_file_function_and_its_errors(tmp_path):
    src = tmp_path / "model.py"
    src.write_text("import numpy as np\n\ndef loss(w, b=0.0):\n    return np.sum(w ** 2) + b\n\n"
                   "def broken(x):\n    raise RuntimeError('boom in user code')\n")
    r = run("explain", f"{src}:loss", "--at", "w=[1,2]", "b=0.5", "--wrt", "w", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["steps"][0]["adjoint"] == [2.0, 4.0]
    r = run("explain", f"{src}:broken", "--at", "x=1")
    assert r.returncode == 1 and "boom in user code" in r.stderr and "Traceback" not in r.stderr
    r = run("explain", f"{src}:broken", "--at", "x=1", "--traceback")
    assert r.returncode == 1 and "Traceback" in r.stderr and "boom in user code" in r.stderr
    r = run("explain", f"{src}:missing", "--at", "x=1")
    assert r.returncode == 2 and "no function 'missing'" in r.stderr


SIMULATION = '''import numpy as np

def observables(k, c, a, w, steps=100, dt=0.01):
    """An RK4-integrated driven oscillator: the state at every step."""
    def rhs(x, v, t):
        return v, a * np.cos(w * t) - k * x - c * v
    x, v = 1.0, 0.0
    out = []
    for i in range(int(steps)):
        t = i * dt
        k1x, k1v = rhs(x, v, t)
        k2x, k2v = rhs(x + 0.5 * dt * k1x, v + 0.5 * dt * k1v, t + 0.5 * dt)
        k3x, k3v = rhs(x + 0.5 * dt * k2x, v + 0.5 * dt * k2v, t + 0.5 * dt)
        k4x, k4v = rhs(x + dt * k3x, v + dt * k3v, t + dt)
        x = x + dt / 6 * (k1x + 2 * k2x + 2 * k3x + k4x)
        v = v + dt / 6 * (k1v + 2 * k2v + 2 * k3v + k4v)
        out.append(np.stack([x, v]))
    return np.stack(out)
'''


def test_explain_a_simulation_prints_a_truncated_trace_and_reports_progress(tmp_path, monkeypatch, capsys):
    from chainrule.tools.cli import main
    from chainrule.transforms import progress as P
    monkeypatch.setattr(P, "DELAY", 0.0)
    monkeypatch.setattr(P, "_tqdm_bar", lambda *a: None)
    src = tmp_path / "sim.py"
    src.write_text(SIMULATION)
    at = ["--at", "k=4", "c=0.3", "a=0.5", "w=1.7", "steps=100", "--wrt", "k,c,a,w"]
    assert main(["explain", f"{src}:observables", *at, "--max-rows", "10", "--progress"]) == 0
    out, err = capsys.readouterr()
    assert out.count("rows left out (max_rows=None shows all)") == 3
    assert out.count("\n") < 80 and "not differentiated: steps = 100" in out
    assert "explain: record, backward sweep, forward sweep: 3/3" in err
    # the data (JSON) has every row, with the right derivatives
    assert main(["explain", f"{src}:observables", *at, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["totals"]["m"] == 200 and len(d["steps"]) == d["totals"]["operations"] + 4
    import importlib.util
    spec = importlib.util.spec_from_file_location("sim_for_test", src)
    sim = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sim)
    jac = cr.jacfwd(lambda p: sim.observables(*p))(np.array([4.0, 0.3, 0.5, 1.7]))
    adjoints = [s["adjoint"] for s in d["steps"][:4]]                  # seed: 1 on the first output entry
    assert np.allclose(adjoints, jac[0, 0], rtol=1e-10, atol=1e-14)
    assert main(["explain", f"{src}:observables", *at]) == 0               # not asked, not a terminal: silent
    assert capsys.readouterr().err == ""


def test_max_rows_option_is_checked():
    r = run("explain", "x * y", "--at", "x=1", "y=2", "--max-rows", "1")
    assert r.returncode == 2 and "--max-rows" in r.stderr
    r = run("explain", "x * y", "--at", "x=1", "y=2", "--max-rows", "all")
    assert r.returncode == 0 and "rows left out" not in r.stdout


def test_explain_a_module_function(tmp_path):
    (tmp_path / "userpkg").mkdir()
    (tmp_path / "userpkg" / "__init__.py").write_text("")
    (tmp_path / "userpkg" / "fns.py").write_text("import numpy as np\ndef g(x):\n    return np.exp(x)\n")
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + str(tmp_path))
    r = subprocess.run([sys.executable, "-m", "chainrule", "explain", "userpkg.fns:g", "--at", "x=0", "--json"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["steps"][0]["tangent"] == 1.0


@pytest.mark.parametrize("expr", ["__import__('os').system('id')", "x.__class__", "(lambda: 1)()",
                                  "[i for i in x]", "open('f')", "np.load('f')", "x[0].__dict__"])
def test_the_command_rejects_with_exit_code_2(expr, tmp_path):
    r = run("explain", expr, "--at", "x=[1,2]")
    assert r.returncode == 2 and "not allowed" in r.stderr and r.stdout == ""


def test_exit_codes():
    assert run("explain", "x" + "+x" * 50_000, "--at", "x=1").returncode == 2       # too long
    assert run("explain", "x*y", "--at", "x=1").returncode == 2                      # y has no value
    assert run("explain", "x", "--at", "x=abc").returncode == 2                      # bad value
    assert run("explain", "x").returncode == 2                                       # --at missing
    assert run("nonsense").returncode == 2
    assert run().returncode == 2
    r = run("explain", "x @ y", "--at", "x=[1,2]", "y=[1,2,3]")                      # raised by the function
    assert r.returncode == 1 and "mismatch" in r.stderr
    assert run("explain", "-x * 2", "--at", "x=1").returncode == 0                   # not an option


def test_advise_reports_both_modes():
    r = run("advise", "tanh(x) * sum(x)", "--at", "x=[1,2,3]", "--repeat", "2", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["recommendation"] in ("forward", "reverse") and d["auto"]["mode"] in ("forward", "reverse")
    assert d["forward"]["peak_bytes"] > 0 and len(d["reverse"]["samples"]) == 2
    r = run("advise", "x*y", "--at", "x=2", "y=3")
    assert r.returncode == 0 and "Recommendation" in r.stdout and "Auto mode" in r.stdout


def test_help_explains_each_subcommand_with_an_example():
    top = run("--help")
    assert top.returncode == 0 and all(c in top.stdout for c in ("explain", "advise", "demo"))
    for cmd in ("explain", "advise", "demo"):
        r = run(cmd, "--help")
        assert r.returncode == 0 and f"chainrule {cmd}" in r.stdout and "Example" in r.stdout
    assert "RUNS YOUR OWN CODE" in run("explain", "--help").stdout


@pytest.mark.skipif(SCRIPT is None, reason="the chainrule console script is not installed in this environment")
def test_the_installed_console_script():
    r = run("explain", "x*y + sin(x)", "--at", "x=2", "y=3", script=True)
    assert r.returncode == 0 and "Reverse sweep" in r.stdout
    assert run("explain", "x.__class__", "--at", "x=1", script=True).returncode == 2


def test_demo_quick_prints_both_tables_and_the_grid(tmp_path):
    from chainrule.tools.demo import measure_grid, render_grid
    rows = measure_grid((1, 40), (1, 40), budget_s=0.001)
    assert {(r["n"], r["m"]) for r in rows} == {(1, 1), (1, 40), (40, 1), (40, 40)}
    assert all(r["auto"] in ("forward", "reverse") and r["forward_peak"] > 0 for r in rows)
    text = render_grid(rows)
    assert "n \\ m" in text and "of 4 shapes" in text


def test_advise_measures_both_modes_on_a_lopsided_function():
    f, x = tanh_layers(2, 3000, hidden=16), np.ones(2)
    a = cr.advise(f, x, repeat=3)
    assert (a.n, a.m) == (2, 3000)
    assert len(a.forward.samples) == len(a.reverse.samples) == 3
    assert a.forward.seconds == sorted(a.forward.samples)[1]          # the median
    assert a.forward.peak_bytes > 0 and a.reverse.peak_bytes > 0
    # 2 tangent directions against 3000 adjoint directions: the margin is wide enough to assert
    assert a.recommendation == "forward" and a.auto.mode == "forward" and a.agrees
    text = str(a)
    assert "<- recommended" in text and "Auto mode:" in text and "Note:" not in text


def test_the_report_says_when_auto_mode_disagrees():
    d = cr.choose_mode(tanh_layers(2, 3000, hidden=4), np.ones(2))
    fwd = Measurement("forward", 2e-3, (2e-3,), 1000)
    rev = Measurement("reverse", 1e-3, (1e-3,), 2000)
    a = Advice(2, 3000, fwd, rev, "reverse", d, False, "reverse: measured faster.")
    assert "Note: auto mode would choose forward, but reverse measured faster." in str(a)
    assert a.to_dict()["auto"]["mode"] == "forward"


def test_advise_rejects_bad_repeat():
    with pytest.raises(ValueError, match="repeat"):
        cr.advise(np.sin, np.ones(2), repeat=0)


def test_demo_prints_both_tables_and_draws_the_picture(tmp_path):
    pytest.importorskip("matplotlib")
    out, png = io.StringIO(), tmp_path / "modes.png"
    assert run_demo(out=str(png), stream=out, grid=(1, 32)) == 0
    text = out.getvalue()
    assert "Forward sweep" in text and "Reverse sweep" in text and "n \\ m" in text
    assert "of 4 shapes" in text and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_without_matplotlib_says_how_to_get_the_picture(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)               # import matplotlib now fails
    out = io.StringIO()
    assert run_demo(out=str(tmp_path / "x.png"), stream=out, grid=(1, 8)) == 0
    assert "pip install 'chainrule[plot]'" in out.getvalue() and not (tmp_path / "x.png").exists()


def test_cli_writes_the_dot_graph(tmp_path, capsys):
    from chainrule.tools.cli import main
    dot = tmp_path / "trace.dot"
    assert main(["explain", "x*y + sin(x)", "--at", "x=2", "y=3", "--dot", str(dot)]) == 0
    assert '"x" -> "v1"' in dot.read_text() and "Wengert" in capsys.readouterr().out


def test_the_picture_is_laid_out_as_the_table(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt
    from chainrule.tools.demo import plot_grid, render_grid
    rows = [{"n": n, "m": m, "forward_s": 1.0, "reverse_s": 2.0 if n < m else 0.5, "auto": "forward",
             "faster": "forward" if n < m else "reverse", "ratio": 2.0} for n in (1, 40) for m in (1, 7, 40)]
    drawn = {}
    monkeypatch.setattr(plt, "close", lambda fig: drawn.setdefault("fig", fig))
    plot_grid(rows, tmp_path / "grid.png")
    ax = drawn["fig"].axes[0]
    header = render_grid(rows).splitlines()[0].split()
    assert [t.get_text() for t in ax.get_xticklabels()] == header[3:] == ["1", "7", "40"]   # columns: m
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1", "40"]                     # rows: n
    assert ax.get_xlabel().startswith("m") and ax.get_ylabel().startswith("n")
    z = ax.images[0].get_array()
    assert z.shape == (2, 3) and z[0, 2] > 0 > z[1, 0]        # row n = 1, column m = 40: forward wins
    assert ax.images[0].origin == "upper"                      # n grows downwards, as the table's rows
