"""The documentation is current and true.

* docs/api.md is regenerated from the docstrings and compared (scripts/gen_api.py).
* Every ```python block of the README runs, standalone (its own imports), in a fresh namespace.
  A block opts out only with the line ``<!-- no-run: reason -->`` right before its fence (say why:
  a cluster to connect to, a file of your own); use it sparingly.
* In the README's shell blocks (fences marked ``sh``/``shell``/``bash``/``console`` or unmarked),
  every line that starts with ``chainrule `` runs through the real console script and must exit 0
  (in a scratch directory where ``examples/`` is the repository's).
* Every relative link of README.md, CONTRIBUTING.md and docs/*.md points at a file of the
  repository (and at a heading that exists, for ``file.md#anchor``); nothing points outside it.
* Every public name has a doctest in its docstring; pytest's ``--doctest-modules`` (pyproject.toml)
  runs them with the rest of the suite.
"""

import doctest
import os
import pathlib
import re
import shlex
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
NO_RUN = re.compile(r"^<!--\s*no-run:\s*(\S.*?)\s*-->$")
SHELL = {"", "sh", "shell", "bash", "console"}


def fence_opening(line):
    """The fence that ``line`` opens (CommonMark: 3+ backticks or tildes, and a backtick fence's
    info string has no backtick, so a line starting with ```` ```x ```` is inline code), or None."""
    m = re.match(r"^ {0,3}(`{3,}|~{3,})(.*)$", line)
    if not m or (m.group(1)[0] == "`" and "`" in m.group(2)):
        return None
    return m.group(1)


def fence_closes(line, fence):
    return re.match(r"^ {0,3}(`{3,}|~{3,})\s*$", line) is not None and line.strip().startswith(fence) \
        and set(line.strip()) == {fence[0]}


def fenced_blocks(path):
    """[(line number of the opening fence, info string, text, no-run reason or None)]."""
    lines = path.read_text().splitlines()
    blocks, i = [], 0
    while i < len(lines):
        fence = fence_opening(lines[i])
        if not fence:
            i += 1
            continue
        info, start = lines[i].strip()[len(fence):].strip().split(" ")[0].lower(), i
        body = []
        i += 1
        while i < len(lines) and not fence_closes(lines[i], fence):
            body.append(lines[i])
            i += 1
        i += 1
        before = next((lines[j].strip() for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        reason = NO_RUN.match(before)
        blocks.append((start + 1, info, "\n".join(body) + "\n", reason.group(1) if reason else None))
    return blocks


def _python_blocks():
    return [pytest.param(text, id=f"README.md:{line}",
                         marks=pytest.mark.skip(reason=f"no-run: {why}") if why else ())
            for line, info, text, why in fenced_blocks(README) if info in ("python", "py")]


def _command_lines():
    params = []
    for line, info, text, why in fenced_blocks(README):
        if info not in SHELL:
            continue
        for k, command in enumerate(text.splitlines()):
            command = command.strip().removeprefix("$ ")
            if command.startswith("chainrule "):
                params.append(pytest.param(command, id=f"README.md:{line + 1 + k}",
                                           marks=pytest.mark.skip(reason=f"no-run: {why}") if why else ()))
    return params


@pytest.mark.parametrize("source", _python_blocks())
def test_readme_python_block_runs(source, tmp_path, monkeypatch):
    os.environ.setdefault("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)                 # whatever a block writes goes to a scratch directory
    exec(compile(source, "README.md", "exec"), {"__name__": "__readme__"})


@pytest.mark.parametrize("command", _command_lines())
def test_readme_command_runs_through_the_console_script(command, tmp_path):
    script = pathlib.Path(sys.executable).with_name("chainrule")
    if not script.exists():
        pytest.skip("the chainrule console script is not installed next to this Python")
    env = dict(os.environ, MPLBACKEND="Agg")
    (tmp_path / "examples").symlink_to(ROOT / "examples")    # as if run from the checkout, writing elsewhere
    done = subprocess.run([str(script), *shlex.split(command, comments=True)[1:]], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    assert done.stdout.strip()


def test_the_readme_opens_with_the_two_commands():
    first = fenced_blocks(README)[0]
    commands = [line.split("#")[0].strip() for line in first[2].splitlines()]
    assert commands == ["make demo", "make test"]


def test_the_no_run_marker_is_rare():
    skipped = [line for line, info, text, why in fenced_blocks(README) if why]
    runnable = [line for line, info, text, why in fenced_blocks(README) if not why and info in ("python", "py")]
    assert len(skipped) <= 3 and len(runnable) >= 3 * len(skipped), (skipped, runnable)


# -- links -------------------------------------------------------------------------------------

def _documents():
    return [p for p in [README, ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))] if p.exists()]


def _prose(path):
    """The lines of ``path`` outside fenced code, with inline code removed."""
    inside = None
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if inside is None and fence_opening(line):
            inside = fence_opening(line)
            continue
        if inside is not None:
            if fence_closes(line, inside):
                inside = None
            continue
        yield number, re.sub(r"(`+).+?\1", "", line)


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path):
    seen, out = {}, set()
    for _, line in _heading_lines(path):
        base = slug(line)
        k = seen.get(base, 0)
        out.add(base if k == 0 else f"{base}-{k}")
        seen[base] = k + 1
    return out


def _heading_lines(path):
    inside = None
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if inside is None and fence_opening(line):
            inside = fence_opening(line)
        elif inside is not None and fence_closes(line, inside):
            inside = None
        elif inside is None and re.match(r"^#{1,6} ", line):
            yield number, line.lstrip("#").strip()


LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|^\s*\[[^\]]+\]:\s*(\S+)")


def links(path):
    for number, line in _prose(path):
        for m in LINK.finditer(line):
            yield number, m.group(1) or m.group(2)
        for m in re.finditer(r"<(?:img|a)\b[^>]*\b(?:src|href)=\"([^\"]+)\"", line):
            yield number, m.group(1)


@pytest.mark.parametrize("path", _documents(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_point_into_the_repository(path):
    bad = []
    for number, target in links(path):
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target):          # https:, mailto: ...: public URLs
            continue
        file, _, anchor = target.partition("#")
        dest = (path.parent / file).resolve() if file else path
        where = f"{path.relative_to(ROOT)}:{number}: {target}"
        if ROOT not in dest.parents and dest != ROOT:
            bad.append(f"{where} leaves the repository")
        elif not dest.exists():
            bad.append(f"{where} does not exist")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            bad.append(f"{where}: no heading with that anchor in {dest.relative_to(ROOT)}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("path", _documents(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_reference_to_files_outside_the_repository(path):
    assert "../shared" not in path.read_text()


def test_the_link_checker_finds_a_broken_link(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n[ok](#title) [gone](missing.md) `[code](not-a-link.md)`\n"
                    "```\n[in a fence](nowhere.md)\n# not a heading\n```\n![pic](docs/x.png \"t\")\n"
                    "```` ```python ```` is inline code, not a fence: [after](after.md)\n"
                    "~~~~python\n```\n[inside](inside.md)\n~~~~\n## Title\n")
    assert [t for _, t in links(page)] == ["#title", "missing.md", "docs/x.png", "after.md"]
    assert anchors(page) == {"title", "title-1"}
    assert [(info, text) for _, info, text, _ in fenced_blocks(page)] == [
        ("", "[in a fence](nowhere.md)\n# not a heading\n"), ("python", "```\n[inside](inside.md)\n")]
    assert slug("Which mode, and why: `jacobian`, `explain`, `advise`") == "which-mode-and-why-jacobian-explain-advise"


# -- the API page --------------------------------------------------------------------------------

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


# -- docstrings ----------------------------------------------------------------------------------

def test_every_public_name_has_a_doctest():
    import chainrule
    finder = doctest.DocTestFinder(recurse=False)
    missing = [name for name in chainrule.__all__
               if not any(t.examples for t in finder.find(getattr(chainrule, name), name))]
    assert not missing, f"public names without a doctest example in their docstring: {missing}"


def test_the_suite_runs_the_doctests_of_the_package():
    # the doctests above run as part of `pytest` (pyproject.toml), in the module that defines each name
    tomllib = pytest.importorskip("tomllib")                 # Python 3.11+
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "--doctest-modules" in options["addopts"] and "src/chainrule" in options["testpaths"]
