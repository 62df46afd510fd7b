"""Write docs/api.md from chainrule's public names: every name in ``chainrule.__all__``, its
signature with types and its docstring, grouped as the README groups them.

    python scripts/gen_api.py           # rewrite docs/api.md
    python scripts/gen_api.py --check   # exit 1 if docs/api.md is out of date

The page is generated, never edited by hand; tests/test_docs.py fails when the committed page
differs from what this script writes.  Edit the docstrings instead, then run the script.

Deterministic: the page depends only on the source (``__all__``, signatures, docstrings), not on
the machine, the NumPy version or the optional packages installed.  A name of ``__all__`` that
``GROUPS`` does not place is listed under "Other public names", so a new public name never
breaks the script (but the check fails until the page is regenerated).  Docstrings are plain
text with a little reStructuredText (``code``, :func:`name`, ``::`` blocks, doctests); they are
rendered as Markdown by the few rules in ``render_docstring``, and anything else passes through.
"""

import _page  # scripts/_page.py: the shared --check command line
import dataclasses
import inspect
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import chainrule  # noqa: E402

DOC = ROOT / "docs" / "api.md"

# (title, the README heading the names are explained under, names): the README's order.
# A test checks that each README heading exists (the link checker follows the anchors).
GROUPS = [
    ("The transforms", "The transforms",
     ["grad", "value_and_grad", "jvp", "vjp", "jacfwd", "jacrev", "jacobian", "hessian", "hvp"]),
    ("Which mode, and why", "Which mode, and why: `jacobian`, `explain`, `advise`",
     ["choose_mode", "Decision", "clear_caches", "explain", "Explanation", "advise", "Advice"]),
    ("Memory: checkpointing, loops and your own rules", "Memory: checkpointing, loops and your own rules",
     ["checkpoint", "loop", "custom_jvp", "custom_vjp"]),
    ("Sparse Jacobians and Hessians", "Sparse Jacobians and Hessians",
     ["sparse_jacobian", "sparse_hessian", "jacobian_sparsity", "hessian_sparsity", "SparseDecision",
      "sparse_triplets", "spy"]),
    ("Compiling with jit", "Compiling with `jit`: trace once, run straight-line NumPy, read the derivative program",
     ["jit", "Jitted"]),
    ("Errors and warnings", "Nothing silently wrong",
     ["ChainruleError", "NotDifferentiableError", "TracerConversionError", "InPlaceError", "LeakedTracerError",
      "LevelOrderError", "InputDtypeError", "OutputDtypeError", "NonScalarOutputError", "ShapeMismatchError",
      "ArgnumsError", "NearlyDegenerateWarning"]),
]
WIDTH = 100


def slug(heading):
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def grouped():
    """[(title, anchor, [names])]: every name of ``__all__`` exactly once, in the README's order."""
    public = list(chainrule.__all__)
    groups, placed = [], set()
    for title, anchor, names in GROUPS:
        names = [n for n in names if n in public]
        placed.update(names)
        if names:
            groups.append((title, anchor, names))
    rest = [n for n in public if n not in placed]
    if rest:
        groups.append(("Other public names", None, rest))
    return groups


def _annotation(a):
    if isinstance(a, str):
        return a
    if isinstance(a, type):
        return a.__qualname__ if a.__module__ != "builtins" else a.__name__
    return re.sub(r"\btyping\.", "", repr(a))


def _default(d):
    text = repr(d) if not isinstance(d, type) else d.__name__
    return re.sub(r" at 0x[0-9a-fA-F]+", "", text)          # no addresses: the page must not change by run


def _parameters(sig):
    out, star_done = [], False
    params = list(sig.parameters.values())
    for i, p in enumerate(params):
        if p.kind is p.KEYWORD_ONLY and not star_done:
            out.append("*")
            star_done = True
        if p.kind is p.VAR_POSITIONAL:
            star_done = True
        prefix = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "")
        text = prefix + p.name
        if p.annotation is not p.empty:
            text += ": " + _annotation(p.annotation)
        if p.default is not p.empty:
            text += (" = " if p.annotation is not p.empty else "=") + _default(p.default)
        out.append(text)
        if p.kind is p.POSITIONAL_ONLY and (i + 1 == len(params) or params[i + 1].kind is not p.POSITIONAL_ONLY):
            out.append("/")
    return out


def _call(head, sig):
    """``head(params) -> ret``, one parameter a line when it would not fit ``WIDTH``."""
    params = _parameters(sig) if sig is not None else []
    ret = ""
    if sig is not None and sig.return_annotation is not sig.empty:
        ret = " -> " + _annotation(sig.return_annotation)
    one = f"{head}({', '.join(params)}){ret}"
    if len(one) <= WIDTH or not params:
        return one
    return f"{head}(\n" + "".join(f"    {p},\n" for p in params) + f"){ret}"


def _signature(obj):
    try:
        return inspect.signature(obj)
    except (TypeError, ValueError):
        return None


def signature_block(name, obj):
    if inspect.isclass(obj):
        bases = [b.__name__ for b in obj.__bases__ if b is not object]
        if issubclass(obj, BaseException):
            own_init = "__init__" in vars(obj)
            head = f"class {name}({', '.join(bases)})"
            sig = _signature(obj)
            if own_init and sig is not None:
                head += "\n" + _call(name, sig.replace(return_annotation=sig.empty))
            return head
        sig = _signature(obj)
        return "class " + _call(name, sig.replace(return_annotation=sig.empty) if sig is not None else None)
    return "def " + _call(name, _signature(obj))


def _members(cls):
    """Public methods and properties a class defines itself, in definition order."""
    field_names = {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set()
    for key, value in vars(cls).items():
        if key.startswith("_") or key in field_names:
            continue
        if isinstance(value, property):
            yield key, None, value.__doc__
        elif isinstance(value, (staticmethod, classmethod)) or inspect.isfunction(value):
            fn = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
            sig = _signature(fn)
            if sig is not None and not isinstance(value, staticmethod):
                sig = sig.replace(parameters=list(sig.parameters.values())[1:])   # drop self / cls
            yield key, sig, fn.__doc__


_ROLE = re.compile(r":(?:func|class|meth|mod|data|attr|exc):`~?([^`]+)`")


def _inline(line, public):
    def role(m):
        target = m.group(1)
        short = target.rsplit(".", 1)[-1]
        return f"[`{short}`](#{short.lower()})" if short in public else f"`{target}`"
    line = _ROLE.sub(role, line)
    return re.sub(r"``(.+?)``", r"`\1`", line)


def render_docstring(doc, public):
    """Markdown for a docstring: doctests and ``::`` blocks fenced, inline markup converted."""
    lines = inspect.cleandoc(doc or "").splitlines()
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith(">>>"):                     # a doctest: up to the next blank line
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(re.sub(r"\s*# doctest: [^#]*$", "", lines[i]))     # directives are for the checker
                i += 1
            out += ["```pycon", *block, "```"]
            continue
        if line.rstrip().endswith("::") and not line.strip().startswith(".."):
            text = line.rstrip()[:-1]                              # "word::" -> "word:"; "::" alone -> ""
            if text.strip() == ":":
                text = ""
            if text.strip():
                out.append(_inline(text, public))
            i += 1
            while i < len(lines) and not lines[i].strip():
                i += 1
            block = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith((" ", "\t"))):
                block.append(lines[i])
                i += 1
            while block and not block[-1].strip():
                block.pop()
            indent = min(len(b) - len(b.lstrip()) for b in block if b.strip()) if block else 0
            out += ["", "```python", *(b[indent:] for b in block), "```", ""]
            continue
        m = re.match(r"^(Args|Arguments|Parameters|Returns|Raises|Yields|Examples?|Notes?):\s*$", line)
        if m:
            out.append(f"**{m.group(1)}:**")
            out.append("")
            i += 1
            continue
        m = re.match(r"^\s{2,}(\*{0,2}\w+): (.*)$", line)
        if m and out and (out[-1].startswith("- ") or out[-1].startswith("**") or not out[-1]):
            out.append(f"- `{m.group(1)}`: {_inline(m.group(2), public)}")   # an item of an Args: section
            i += 1
            continue
        if line.startswith((" ", "\t")) and out and out[-1].startswith("- "):
            out[-1] += " " + _inline(line.strip(), public)              # the item's continuation
            i += 1
            continue
        out.append(_inline(line, public))
        i += 1
    text = "\n".join(out)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def render():
    public = set(chainrule.__all__)
    groups = grouped()
    parts = ["# API reference", "",
             "Every public name of `chainrule` (`chainrule.__all__`), grouped as in the "
             "[README](../README.md), with its signature and docstring.  Generated by "
             "`scripts/gen_api.py` from the source; do not edit by hand (a test fails when the page "
             "is out of date).  The examples are doctests: `pytest` runs them.", ""]
    for title, anchor, names in groups:
        parts.append(f"- {title}: " + ", ".join(f"[`{n}`](#{n.lower()})" for n in names))
    parts.append("")
    for title, anchor, names in groups:
        parts += [f"## {title}", ""]
        if anchor:
            shown = anchor.replace("`", "")
            parts += [f"Explained in the README: [{shown}](../README.md#{slug(anchor)}).", ""]
        for name in names:
            obj = getattr(chainrule, name)
            parts += [f"### {name}", "", "```python", signature_block(name, obj), "```", ""]
            doc = render_docstring(inspect.getdoc(obj), public)
            parts += [doc or "(no docstring)", ""]
            if inspect.isclass(obj):
                for member, sig, mdoc in _members(obj):
                    head = f"{name}.{member}"
                    shown = _call(head, sig) if sig is not None else f"{head}  (property)"
                    parts += [f"#### `{member}`", "", "```python", shown, "```", ""]
                    if mdoc and mdoc.strip():
                        parts += [render_docstring(mdoc, public), ""]
    return "\n".join(parts).rstrip() + "\n"


def main(argv=None):
    return _page.main(DOC, render, "gen_api.py", __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    sys.exit(main())
