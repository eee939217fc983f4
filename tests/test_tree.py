"""``lamina.tree`` against ``keras.tree`` (torch backend) over a catalogue of nested structures."""

import collections

import pytest

from lamina import tree

Point = collections.namedtuple("Point", "x y")
Reversed = collections.namedtuple("Reversed", "y x")

STRUCTURES = [
    None, 1, "text", b"bytes", [], {}, (), [[]], (None,), [1, None], (1, [2, 3]), {"b": 1, "a": [2, None]},
    collections.OrderedDict(b=1, a=2), collections.defaultdict(list, {"z": 1, "y": [2, 3]}), Point(1, [2]),
    {"a": Point(1, 2), "c": [4, (5, 6)]}, ({"e": 4, "d": 5}, [{"g": 6, "f": 7}]), collections.deque([1, [2, 3]]), [1.0, "s", (2, (3, (4,)))],
    [Reversed(1, 2), {"k": [Point(3, 4)]}],
]


def _numbered(structure, keras):
    """``structure`` with its leaves replaced by 0, 1, 2... in Keras's flatten order."""
    return keras.tree.pack_sequence_as(structure, list(range(len(keras.tree.flatten(structure)))))


def _outcome(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except (ValueError, TypeError) as error:
        return type(error)


@pytest.mark.parametrize("structure", STRUCTURES, ids=repr)
def test_flatten_pack_and_predicates_match_keras(keras, structure):
    assert tree.flatten(structure) == keras.tree.flatten(structure)
    assert tree.is_nested(structure) == keras.tree.is_nested(structure)
    flat = [f"leaf{i}" for i in range(len(tree.flatten(structure)))]
    packed = tree.pack_sequence_as(structure, flat)
    assert packed == keras.tree.pack_sequence_as(structure, flat)
    assert type(packed) is type(structure) or not tree.is_nested(structure)
    assert tree.flatten(packed) == flat


@pytest.mark.parametrize("structure", STRUCTURES, ids=repr)
def test_mapping_and_rewriting_match_keras(keras, structure):
    def describe(leaf):
        return f"<{leaf!r}>"

    assert tree.map_structure(describe, structure) == keras.tree.map_structure(describe, structure)
    assert (tree.map_structure(describe, structure, none_is_leaf=False)
            == keras.tree.map_structure(describe, structure, none_is_leaf=False))
    assert tree.lists_to_tuples(structure) == keras.tree.lists_to_tuples(structure)
    assert tree.map_shape_structure(describe, structure) == keras.tree.map_shape_structure(describe, structure)
    numbered = _numbered(structure, keras)
    assert (tree.map_structure(lambda a, b: (a, b), structure, numbered)
            == keras.tree.map_structure(lambda a, b: (a, b), structure, numbered))
    assert tree.map_structure_up_to(structure, str, numbered) == keras.tree.map_structure_up_to(structure, str,
                                                                                               numbered)
    if not isinstance(structure, dict) or not any(isinstance(k, tuple) for k in structure):
        assert [leaf for _, leaf in tree.flatten_with_path(structure)] == tree.flatten(structure)


@pytest.mark.parametrize("structure", [s for s in STRUCTURES if "Reversed" not in repr(s)], ids=repr)
def test_paths_match_keras(keras, structure):
    # Keras's torch backend numbers a namedtuple's fields alphabetically; lamina (and Keras's other backends)
    # by position, so a namedtuple whose fields are not in alphabetical order is tested below.
    assert tree.flatten_with_path(structure) == keras.tree.flatten_with_path(structure)


def test_namedtuple_paths_are_field_positions():
    assert tree.flatten_with_path(Reversed(1, 2)) == [((0,), 1), ((1,), 2)]


def test_dicts_flatten_sorted_at_every_depth():
    # Keras's torch backend sorts only the dicts that are not inside another dict ([3, 4, 5] here); its other
    # backends and its documentation sort every dict.
    structure = {"c": (3, {"e": 4, "d": 5}), "b": {"z": 1, "y": 2}}
    assert tree.flatten(structure) == [2, 1, 3, 5, 4]
    assert tree.pack_sequence_as(structure, tree.flatten(structure)) == structure


@pytest.mark.parametrize("top_down", [True, False])
@pytest.mark.parametrize("structure", STRUCTURES, ids=repr)
def test_traverse_visits_and_replaces_as_keras(keras, structure, top_down):
    def visits(module):
        seen = []
        result = module.traverse(lambda node: seen.append(node), structure, top_down=top_down)
        return seen, result

    assert visits(tree) == visits(keras.tree)

    def replace(module):
        def rule(node):
            if isinstance(node, tuple):
                return "tuple"
            return module.MAP_TO_NONE if node == 2 else None
        return module.traverse(rule, structure, top_down=top_down)

    assert replace(tree) == replace(keras.tree)


PAIRS = [
    ([1, 2], (1, 2)), ([1, 2], [1, [2]]), ([1, [2]], [1, 2]), (Point(1, 2), (1, 2)), (Point(1, 2), Reversed(1, 2)),
    ({"a": 1}, {"b": 1}), ({"a": 1}, collections.OrderedDict(a=1)), ([1, None], [1, 2]), ([1, 2], [1, 2, 3]),
    ({"a": [1, 2]}, {"a": [3, 4]}), ((1, (2, 3)), (4, (5, 6))), (collections.deque([1]), [1]),
]


@pytest.mark.parametrize("a,b", PAIRS, ids=repr)
def test_structure_checks_accept_and_reject_as_keras(keras, a, b):
    assert _outcome(tree.assert_same_structure, a, b) is _outcome(keras.tree.assert_same_structure, a, b)
    assert _outcome(tree.assert_same_paths, a, b) is _outcome(keras.tree.assert_same_paths, a, b)
    first = _outcome(tree.map_structure, lambda x, y: (x, y), a, b)
    assert first == _outcome(keras.tree.map_structure, lambda x, y: (x, y), a, b)


def test_up_to_a_shallower_structure_keeps_the_subtrees(keras):
    deep = [[1, 1], [2, (2, 3)]]
    for shallow in ([None, None], [None, [None, None]]):
        assert tree.map_structure_up_to(shallow, str, deep) == keras.tree.map_structure_up_to(shallow, str, deep)
    with pytest.raises(ValueError, match="same nested structure"):
        tree.map_structure_up_to([None, [None, None]], str, [[1, 1], 2])


def test_errors_say_what_was_wrong():
    with pytest.raises(ValueError, match="more items than the 2 leaves"):
        tree.pack_sequence_as([0, 0], [1, 2, 3])
    with pytest.raises(ValueError, match="fewer items"):
        tree.pack_sequence_as([0, [0]], [1])
    with pytest.raises(ValueError, match="expected a list of 2, received a list of 3"):
        tree.assert_same_structure([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="some arguments are None"):
        tree.map_structure(lambda a, b: a, [None], [1], none_is_leaf=False)
    with pytest.raises(ValueError, match="at least one structure"):
        tree.map_structure(str)
    with pytest.raises(TypeError, match="must be callable"):
        tree.traverse(3, [1])


def test_packing_keeps_each_dict_kind_and_order():
    ordered = collections.OrderedDict(b=0, a=0)
    assert list(tree.pack_sequence_as(ordered, [1, 2]).items()) == [("b", 1), ("a", 2)]
    default = collections.defaultdict(int, {"b": 0, "a": 0})
    packed = tree.pack_sequence_as(default, [1, 2])
    assert isinstance(packed, collections.defaultdict) and packed.default_factory is int
    assert list(packed.items()) == [("b", 2), ("a", 1)]
    bounded = tree.pack_sequence_as(collections.deque([0, 0], maxlen=3), [1, 2])
    assert bounded == collections.deque([1, 2]) and bounded.maxlen == 3
