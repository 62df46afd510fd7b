"""Write docs/coverage.md from chainrule's registry: every supported function, its modes, its conventions.

    python scripts/gen_coverage.py           # rewrite docs/coverage.md
    python scripts/gen_coverage.py --check   # exit 1 if docs/coverage.md is out of date

The page is generated, never edited by hand; tests/test_coverage_doc.py fails when the
committed page differs from what this script writes.  It reads three things:

* ``UFUNCS``: NumPy (and SciPy) ufuncs, each with its primitive;
* ``FUNCTIONS``: the other functions, each routed to a frontend that binds one or more
  primitives (a frontend whose primitive has the function's own name is listed with that
  primitive's modes and convention; the others are compositions of primitives, with the
  convention their frontend states in a ``convention`` attribute, if any);
* the primitives themselves, for the modes and conventions and for the internal ones no
  public name reaches directly.
"""

import _page  # scripts/_page.py: the shared --check command line
import operator
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import chainrule  # noqa: E402,F401  (importing it registers the rules)
from chainrule.core import FUNCTIONS, PRIMITIVES, UFUNCS  # noqa: E402
from chainrule.rules import BUILTIN  # noqa: E402

DOC = ROOT / "docs" / "coverage.md"


def _namespaces():
    spaces = [("numpy", np), ("numpy.linalg", np.linalg), ("numpy.fft", np.fft)]
    for name in ("scipy.special", "scipy.linalg"):
        try:
            spaces.append((name, __import__(name, fromlist=["_"])))
        except ImportError:
            pass
    return spaces


def _public_names(obj):
    """Every public name of ``obj`` in the namespaces above, e.g. numpy.absolute and numpy.abs."""
    names = []
    for prefix, mod in _namespaces():
        for attr in sorted(dir(mod)):
            if not attr.startswith("_") and getattr(mod, attr, None) is obj:
                names.append(f"{prefix}.{attr}")
    return names


def _display(key):
    """(main name, aliases) of a registry key."""
    if isinstance(key, tuple):                              # (ufunc, method)
        ufunc, method = key
        names = _public_names(ufunc) or [f"numpy.{ufunc.__name__}"]
        return f"{names[0]}.{method}", []
    if key is operator.getitem:
        return "x[index]", []
    if isinstance(key, str):
        return f"ndarray.{key}", []
    names = _public_names(key)
    if not names:
        names = [f"{getattr(key, '__module__', '?')}.{getattr(key, '__name__', repr(key))}"]
    own = getattr(key, "__name__", None)
    main = next((n for n in names if n.rsplit(".", 1)[1] == own), names[0])
    return main, [n for n in names if n != main]


def _modes(prim):
    if not prim.differentiable:
        return "constant"
    if prim.jvps is None:
        return "none"
    if prim.arity is None:
        return "forward, reverse"
    missing = [i for i in range(prim.arity) if prim.jvps[i] is None or prim.vjps[i] is None]
    if not missing:
        return "forward, reverse"
    return f"forward, reverse (argument {', '.join(map(str, missing))}: no derivative)"


def _complex(prim):
    """Whether the rules take complex arguments: ``complex_ok``, or a constant that NumPy computes for them."""
    if getattr(prim.impl, "refuses_complex", False):
        return "no"
    if not prim.differentiable:
        return "constant"
    if prim.jvps is None:
        return "none"
    return "yes" if prim.complex_ok else "no"


def _convention(prim):
    c = prim.convention if prim is not None else None
    return c or ""


def _row(cells):
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


# What is not covered, and why: one reason per group of names (the first that matches).
_NO_ARRAYS = {  # called with shapes, dtypes, files or settings: NumPy runs them as they are
    "zeros", "ones", "empty", "full", "eye", "identity", "arange", "tri", "indices", "fromfunction",
    "frombuffer", "fromfile", "fromiter", "fromregex", "fromstring", "fromstring", "load", "save", "savez",
    "savez_compressed", "loadtxt", "savetxt", "genfromtxt", "diag_indices", "tril_indices", "triu_indices",
    "mask_indices", "array2string", "array_repr", "array_str", "set_printoptions", "get_printoptions",
    "printoptions", "format_float_positional", "format_float_scientific", "setbufsize", "getbufsize", "seterr",
    "geterr", "seterrcall", "geterrcall", "show_config", "show_runtime", "info", "get_include", "test",
    "can_cast", "result_type", "promote_types", "min_scalar_type", "issubdtype", "isdtype", "common_type",
    "mintypecode", "typename", "iscomplexobj", "isrealobj", "isscalar", "isfortran", "iterable",
    "broadcast_shapes", "base_repr", "binary_repr", "dtype", "finfo", "iinfo", "vectorize", "frompyfunc",
    "nested_iters", "from_dlpack", "fftfreq", "rfftfreq", "unravel_index", "ravel_multi_index",
    "get_array_wrap", "packbits", "unpackbits", "busday_count", "busday_offset", "test",
    "datetime_as_string", "datetime_data", "is_busday", "einsum_path", "geterrobj", "seterrobj",
    "tril_indices_from", "triu_indices_from", "diag_indices_from", "ndindex", "ndenumerate", "add_docstring",
    "add_newdoc", "add_newdoc_ufunc", "deprecate", "deprecate_with_doc", "disp", "lookfor", "safe_eval",
    "source", "who", "byte_bounds", "recfromcsv", "recfromtxt", "isnat", "astype",
}
_INTEGER = {"bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_invert", "bitwise_left_shift",
            "bitwise_right_shift", "bitwise_count", "invert", "left_shift", "right_shift", "gcd", "lcm",
            "bincount", "digitize", "divmod", "frexp", "ldexp", "modf"}
_WINDOWS = {"hanning", "hamming", "blackman", "bartlett", "kaiser"}
_COMPLEX = {"eig", "eigvals", "iscomplex", "isreal", "angle", "sort_complex"}


def _not_covered_reason(prefix, name):
    if name in _NO_ARRAYS or name.startswith(("get", "set")) or (name.startswith("is") and name != "isin"):
        return ("takes no array to differentiate (shapes, dtypes, files, settings, predicates): NumPy runs it "
                "as it is on plain values")
    if name in _WINDOWS:
        return ("window of an integer length M: NumPy does not dispatch it and returns constants; a traced "
                "beta of kaiser is differentiated through numpy.i0 (older NumPy, 1.24 among them, calls float(beta) and refuses it)")
    if prefix == "numpy.fft" or name in _COMPLEX:
        return "complex values: no rule yet (see the README's \"Complex numbers\")"
    if name in _INTEGER:
        return "integer, bit or split-float results: no derivative to give"
    return ("no rule yet: on a traced value it raises NotDifferentiableError naming it; wrap the call in "
            "custom_jvp / custom_vjp")


def not_covered():
    """{reason: [names]} of the public NumPy callables with no entry in the registry."""
    covered = set()
    for key in list(UFUNCS) + list(FUNCTIONS):
        if not isinstance(key, (tuple, str)):
            covered.add(id(key))
    declared = {id(u) for u, p in UFUNCS.items() if p.declared}
    out = {}
    for prefix, mod in _namespaces()[:3]:
        for attr in sorted(dir(mod)):
            obj = getattr(mod, attr, None)
            if attr.startswith("_") or isinstance(obj, type) or not callable(obj):
                continue
            if id(obj) in declared or (id(obj) in covered and not isinstance(obj, np.ufunc)):
                continue
            out.setdefault(_not_covered_reason(prefix, attr), []).append(f"{prefix}.{attr}")
    return out


def render():
    by_name = {p.name: p for p in PRIMITIVES if p.declared}
    rows = {}
    reached = set()
    for ufunc, prim in UFUNCS.items():
        if not prim.declared:
            continue
        main, aliases = _display(ufunc)
        complex_prim = getattr(FUNCTIONS.get((ufunc, "__call__")), "complex_primitive", None)
        cplx = _complex(prim) if complex_prim is None else f"yes (`{complex_prim.name}`)"
        rows[main] = (aliases, "ufunc", _modes(prim), cplx, _convention(prim))
        reached.add(prim.name)
    groups = {}                                             # one row per frontend: np.max and np.amax
    for key, frontend in FUNCTIONS.items():
        if isinstance(key, tuple) and key[1] == "__call__":      # a ufunc's own row shows it
            continue
        groups.setdefault(id(frontend), (frontend, []))[1].append(key)
    for frontend, keys in groups.values():
        names = []
        for key in keys:
            main, aliases = _display(key)
            names += [main] + aliases
        main = min(names, key=lambda n: (n.rsplit(".", 1)[-1].startswith("a") and n != "numpy.average", n))
        aliases = sorted(set(names) - {main})
        candidates = [main] + aliases + [k for k in keys if isinstance(k, str)]
        candidates += ["getitem"] if operator.getitem in keys else []
        prim = next((by_name[n] for n in candidates if n in by_name), None)
        if prim is not None:
            if prim.name not in [main] + aliases:
                aliases.append(prim.name)
            row = (aliases, "primitive", _modes(prim), _complex(prim), _convention(prim))
            reached.add(prim.name)
        else:
            row = (aliases, "composition", "as its parts", "as its parts",
                   getattr(frontend, "convention", "") or "")
        rows.setdefault(main, row)
    internal = sorted(p.name for p in BUILTIN if p.name not in reached)

    lines = [
        "# Supported functions",
        "",
        "Generated by `scripts/gen_coverage.py` from chainrule's registry; do not edit by hand.",
        "",
        "*Kind*: a **ufunc** or a **primitive** has its own derivative rules; a **composition** is",
        "computed from other primitives, so its derivatives (of every order) follow from theirs.",
        "*Modes*: forward and reverse are both generated from one declaration; **constant** marks",
        "functions declared piecewise constant (their derivative is zero: `floor`, comparisons).",
        "*Complex*: **yes** if the rules are right for complex arguments (JAX's bilinear convention, see",
        "the README's \"Complex numbers\"); **no**: a complex argument raises `NotDifferentiableError`;",
        "a composition takes complex values where its parts do, unless it refuses them itself",
        "(`median`, `convolve`: the error says so).",
        "*Convention*: the value chosen where the derivative does not exist.",
        "Any other NumPy function raises `chainrule.NotDifferentiableError` naming it.",
        "",
        f"{len(rows)} functions and methods, {len(BUILTIN)} primitives with rules.",
        "",
        _row(["function", "also", "kind", "modes", "complex", "convention where not differentiable"]),
        _row(["---"] * 6),
    ]
    for main in sorted(rows, key=str.lower):
        aliases, kind, modes, cplx, conv = rows[main]
        lines.append(_row([f"`{main}`", ", ".join(f"`{a}`" for a in aliases), kind, modes, cplx, conv]))
    lines += ["", "## Internal primitives", "",
              "Primitives that no public name binds directly (the adjoints of other rules and shared steps).",
              "", _row(["primitive", "modes", "complex", "convention"]), _row(["---"] * 4)]
    for name in internal:
        p = by_name[name]
        lines.append(_row([f"`{name}`", _modes(p), _complex(p), _convention(p)]))
    missing = not_covered()
    lines += ["", "## Not covered, and why", "",
              f"The public callables of {', '.join(p for p, _ in _namespaces()[:3])} (NumPy {np.__version__}) "
              "that have no entry above, grouped by the reason.", ""]
    for reason in sorted(missing):
        lines += [f"**{reason}** ({len(missing[reason])}): " + ", ".join(f"`{n}`" for n in missing[reason]), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv=None):
    return _page.main(DOC, render, "gen_coverage.py", __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    sys.exit(main())
