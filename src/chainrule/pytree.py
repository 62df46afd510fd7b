"""Flatten nested containers into a list of leaves, and back.

A pytree is a leaf or a tuple, list or dict of pytrees (``None`` is an empty
container).  Dicts are visited in sorted key order so that two dicts with the
same keys flatten alike whatever order they were built in.  Named tuples keep
their type.  This module knows nothing about differentiation.
"""

__all__ = ["flatten", "unflatten", "tree_map", "TreeDef"]


class TreeDef:
    """The shape of a pytree without its leaves; ``unflatten`` fills it again."""

    __slots__ = ("kind", "meta", "children", "num_leaves")

    def __init__(self, kind, meta, children, num_leaves):
        self.kind = kind            # None for a leaf, else the container type
        self.meta = meta            # dict keys for a dict, else None
        self.children = children
        self.num_leaves = num_leaves

    def __eq__(self, other):
        return (isinstance(other, TreeDef) and self.kind is other.kind
                and self.meta == other.meta and self.children == other.children)

    def __hash__(self):
        return hash((self.kind, self.meta, self.children))

    def __repr__(self):
        return f"TreeDef({_describe(self)})"


_LEAF = TreeDef(None, None, (), 1)


def _describe(td):
    if td.kind is None:
        return "*"
    if td.kind is dict:
        return "{" + ", ".join(f"{k!r}: {_describe(c)}" for k, c in zip(td.meta, td.children)) + "}"
    if td.kind is type(None):
        return "None"
    inner = ", ".join(_describe(c) for c in td.children)
    if td.kind is list:
        return f"[{inner}]"
    return f"({inner})" if td.kind is tuple else f"{td.kind.__name__}({inner})"      # a named tuple


def _flatten(tree, leaves):
    kind = type(tree)
    if kind is tuple or kind is list:
        children = tuple(_flatten(c, leaves) for c in tree)
        return TreeDef(kind, None, children, sum(c.num_leaves for c in children))
    if kind is dict:
        keys = tuple(sorted(tree))
        children = tuple(_flatten(tree[k], leaves) for k in keys)
        return TreeDef(dict, keys, children, sum(c.num_leaves for c in children))
    if tree is None:
        return TreeDef(type(None), None, (), 0)
    if isinstance(tree, tuple) and hasattr(kind, "_fields"):      # a named tuple
        children = tuple(_flatten(c, leaves) for c in tree)
        return TreeDef(kind, None, children, sum(c.num_leaves for c in children))
    leaves.append(tree)
    return _LEAF


def flatten(tree):
    """Return ``(leaves, treedef)``.

    >>> flatten({"b": 2.0, "a": (1.0, None)})
    ([1.0, 2.0], TreeDef({'a': (*, None), 'b': *}))
    """
    kind = type(tree)
    if kind is not tuple and kind is not list and kind is not dict and tree is not None \
            and not isinstance(tree, tuple):
        return [tree], _LEAF                                        # a single leaf: the common case
    leaves = []
    treedef = _flatten(tree, leaves)
    return leaves, treedef


def unflatten(treedef, leaves):
    """Rebuild the pytree that ``treedef`` describes from ``leaves`` (any iterable)."""
    if treedef is _LEAF and type(leaves) is list and len(leaves) == 1:
        return leaves[0]
    it = iter(leaves)
    out = _build(treedef, it)
    if next(it, _END) is not _END:
        raise ValueError(f"too many leaves for {treedef!r}")
    return out


_END = object()


def _build(td, it):
    kind = td.kind
    if kind is None:
        leaf = next(it, _END)
        if leaf is _END:
            raise ValueError("too few leaves to fill the tree")
        return leaf
    if kind is type(None):
        return None
    children = [_build(c, it) for c in td.children]
    if kind is dict:
        return dict(zip(td.meta, children))
    if kind is list:
        return children
    if kind is tuple:
        return tuple(children)
    return kind(*children)                                          # a named tuple


def tree_map(fn, tree, *rest):
    """Apply ``fn`` leaf by leaf to one or more pytrees of the same structure."""
    leaves, td = flatten(tree)
    others = []
    for r in rest:
        r_leaves, r_td = flatten(r)
        if r_td != td:
            raise ValueError(f"pytree structures differ: {td!r} and {r_td!r}")
        others.append(r_leaves)
    return unflatten(td, [fn(*xs) for xs in zip(leaves, *others)])
