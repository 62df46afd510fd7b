"""The dependency direction of STYLE.md, checked on the import statements."""

import ast
import pathlib

SRC = pathlib.Path(__file__).resolve().parents[1] / "src" / "chainrule"
ORDER = {"errors": 0, "pytree": 1, "core": 2, "forward": 3, "reverse": 3, "rules": 3, "jit": 3,
         "transforms": 4, "tools": 5, "__init__": 6, "__main__": 6, "extend": 6, "testing": 6}


def layer(path):
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def imported_layers(path):
    tree = ast.parse(path.read_text())
    own = layer(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            parts = path.relative_to(SRC).parts
            depth = len(parts) - 1
            if node.level > depth:                       # reaches the package root: ..x or .x at top level
                target = (node.module or "").split(".")[0]
            elif node.level == 1 and depth >= 1:
                target = own                             # a sibling inside the same layer package
            else:
                target = (node.module or "").split(".")[0]
            if target:
                yield target, node.lineno
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("chainrule."):
            yield node.module.split(".")[1], node.lineno


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
