"""The documentation is current and true: docs/api.md is regenerated and compared."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_committed_api_page_matches_the_docstrings():
    # a fresh interpreter, as for docs/coverage.md: nothing another test changed can leak in
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_api.py"), "--check"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_api_page_lists_every_public_name_once():
    import chainrule
    page = (ROOT / "docs" / "api.md").read_text()
    headings = [line[4:] for line in page.splitlines() if line.startswith("### ")]
    assert sorted(headings) == sorted(chainrule.__all__)
