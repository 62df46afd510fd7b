from collections import namedtuple

import pytest

from chainrule.pytree import flatten, tree_map, unflatten

Point = namedtuple("Point", "x y")


def test_roundtrip_and_order():
    tree = {"b": [1.0, (2.0, None)], "a": Point(3.0, {"z": 4.0})}
    leaves, td = flatten(tree)
    assert leaves == [3.0, 4.0, 1.0, 2.0]
    assert unflatten(td, leaves) == tree
    assert isinstance(unflatten(td, leaves)["a"], Point)


def test_tree_map_and_mismatch():
    assert tree_map(lambda a, b: a + b, (1, [2]), (10, [20])) == (11, [22])
    with pytest.raises(ValueError):
        tree_map(lambda a, b: a, (1, 2), [1, 2])
    with pytest.raises(ValueError):
        unflatten(flatten((1, 2))[1], [1])
