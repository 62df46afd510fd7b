"""The dependency direction of STYLE.md, checked on the import statements."""

import ast
import pathlib

SRC = pathlib.Path(__file__).resolve().parents[1] / "src" / "chainrule"
ORDER = {"errors": 0, "pytree": 1, "core": 2, "forward": 3, "reverse": 3, "rules": 3, "sparse": 3, "jit": 3,
         "transforms": 4, "sparse/transforms": 4, "sparse/fanout": 4, "tools": 5, "__init__": 6, "__main__": 6, "extend": 6,
         "testing": 6}
# sparse/ holds a level (beside the engines: level, colouring, decompress) and transforms over the
# engines (sparse/transforms.py, with the transforms); a module named here has its own layer.


def _named(parts):
    """The layer of the module at ``parts`` (a path inside the package, or a dotted import split)."""
    own = "/".join(parts[:2]).removesuffix(".py")
    return own if own in ORDER else parts[0].removesuffix(".py")


def layer(path):
    return _named(path.relative_to(SRC).parts)


def imported_layers(path):
    tree = ast.parse(path.read_text())
    own = layer(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            parts = path.relative_to(SRC).parts
            depth = len(parts) - 1
            if node.level > depth:                       # reaches the package root: ..x or .x at top level
                target = _named((node.module or "").split(".")) if node.module else ""
            elif node.level == 1 and depth >= 1:         # a sibling inside the same layer package
                target = _named((parts[0], *(node.module or "").split("."))) if node.module else own
            else:
                target = (node.module or "").split(".")[0]
            if target:
                yield target, node.lineno
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("chainrule."):
            yield _named(node.module.split(".")[1:]), node.lineno


def test_imports_follow_the_layers():
    bad = []
    for path in SRC.rglob("*.py"):
        own = layer(path)
        for target, line in imported_layers(path):
            if target not in ORDER or target == own:
                continue
            if ORDER[target] > ORDER[own] or (ORDER[target] == ORDER[own] == 3):
                bad.append(f"{path.relative_to(SRC)}:{line} imports {target}")
    assert not bad, "imports against the layer order:\n" + "\n".join(bad)
