"""What a user installing chainrule gets: version, licence, type hints, the command line's --version."""

import importlib.metadata
import inspect
import os
import pathlib
import subprocess
import sys
import zipfile

import pytest

tomllib = pytest.importorskip("tomllib")          # Python >= 3.11

import chainrule as cr
from chainrule.tools.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_version_on_the_command_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"chainrule {cr.__version__}"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-m", "chainrule", "--version"], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == f"chainrule {cr.__version__}"


def test_one_version_everywhere():
    """pyproject.toml reads the version from chainrule._version; the installed metadata agrees."""
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "chainrule._version.__version__"}
    assert cr.__version__.count(".") == 2 and all(p.isdigit() for p in cr.__version__.split("."))
    try:
        installed = importlib.metadata.version("chainrule")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("chainrule is not installed in this environment (run from the source tree)")
    assert installed == cr.__version__


def test_license_file_says_mit_and_is_declared():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "the chainrule authors" in text
    assert "THE SOFTWARE IS PROVIDED \"AS IS\"" in text
    assert PYPROJECT["project"]["license"] == "MIT" and PYPROJECT["project"]["license-files"] == ["LICENSE"]


def test_py_typed_is_package_data():
    assert (ROOT / "src" / "chainrule" / "py.typed").is_file()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["chainrule"]


def _public_functions():
    for name in cr.__all__:
        obj = getattr(cr, name)
        if inspect.isfunction(obj):
            yield name, obj
        elif inspect.isclass(obj) and name in ("custom_jvp", "custom_vjp"):
            for meth in ("__init__", "defjvp", "defvjp"):
                if hasattr(obj, meth):
                    yield f"{name}.{meth}", getattr(obj, meth)


def test_public_functions_have_type_hints():
    names = dict(_public_functions())
    assert {"grad", "jacobian", "explain", "advise", "loop", "checkpoint", "custom_jvp.defjvp"} <= set(names)
    missing = []
    for name, fn in names.items():
        sig = inspect.signature(fn)
        for p in sig.parameters.values():
            if p.name != "self" and p.annotation is inspect.Parameter.empty:
                missing.append(f"{name}({p.name})")
        if sig.return_annotation is inspect.Signature.empty:
            missing.append(f"{name} -> ?")
    assert not missing, "public functions without type hints: " + ", ".join(missing)


@pytest.mark.slow
def test_the_wheel_ships_the_license_and_py_typed(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(ROOT), "-w", str(tmp_path)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    wheel, = tmp_path.glob("chainrule-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "chainrule/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: MIT" in meta and f"Version: {cr.__version__}" in meta
