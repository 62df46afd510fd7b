"""docs/coverage.md is generated from the registry and must not go stale."""

import pathlib
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "coverage.md"


def test_committed_coverage_page_matches_the_registry():
    pytest.importorskip("scipy")                    # the page lists the SciPy rules too
    if np.lib.NumpyVersion(np.__version__) < "2.0.0":
        pytest.skip("the page is generated with NumPy 2, whose functions (np.linalg.svdvals...) "
                    "NumPy 1.x does not have")
    # a fresh interpreter: rules that other tests register at run time must not appear
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_coverage.py"), "--check"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_every_declared_primitive_appears_on_the_page():
    from chainrule.rules import BUILTIN
    page = PAGE.read_text()
    missing = sorted(p.name for p in BUILTIN if f"`{p.name}`" not in page)
    assert not missing, f"primitives not listed in docs/coverage.md: {missing}"
