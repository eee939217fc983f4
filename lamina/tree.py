"""Nested structures of tensors (``keras.tree``): lists, tuples, namedtuples, deques and dicts.

Dicts flatten in sorted-key order and ``OrderedDict`` in its own order, as Keras does; packing keeps each
dict's own key order (what Keras documents; Keras's torch backend returns plain dicts sorted). ``None`` is
a leaf. A structure matches another when each node is of the same kind (list, tuple, the same namedtuple
class, deque, or any dict) with the same length or keys.
"""

import collections

_SEQUENCES = (list, tuple, collections.deque)
_NESTED = (list, tuple, dict, collections.deque)


class MAP_TO_NONE:
    """Returned by ``traverse``'s function: replace this subtree by ``None``."""


def is_nested(value):
    return isinstance(value, _NESTED)


def _keys(node):
    """The child keys of a nested ``node`` in flatten order: indices, or dict keys (sorted unless ordered)."""
    if isinstance(node, dict):
        return list(node) if isinstance(node, collections.OrderedDict) else sorted(node)
    return range(len(node))


def _children(node):
    return [node[key] for key in _keys(node)] if isinstance(node, dict) else list(node)


def _rebuild(node, items):
    """A node of ``node``'s kind holding ``items`` (in ``_keys(node)`` order)."""
    if isinstance(node, dict):
        by_key = dict(zip(_keys(node), items))
        ordered = [(key, by_key[key]) for key in node]
        if isinstance(node, collections.defaultdict):
            return collections.defaultdict(node.default_factory, ordered)
        return type(node)(ordered) if isinstance(node, collections.OrderedDict) else dict(ordered)
    if isinstance(node, collections.deque):
        return collections.deque(items, maxlen=node.maxlen)
    return type(node)(*items) if hasattr(node, "_fields") else type(node)(items)


def flatten(structure):
    """The leaves of ``structure`` in Keras order."""
    if isinstance(structure, dict):
        return [leaf for key in _keys(structure) for leaf in flatten(structure[key])]
    if isinstance(structure, _SEQUENCES):
        return [leaf for item in structure for leaf in flatten(item)]
    return [structure]


def flatten_with_path(structure):
    """``[(path, leaf), ...]`` in ``flatten`` order; a path is the tuple of indices and keys down to the leaf
    (a namedtuple's by position)."""
    if not is_nested(structure):
        return [((), structure)]
    return [((key, *path), leaf) for key, child in zip(_keys(structure), _children(structure))
            for path, leaf in flatten_with_path(child)]


def pack_sequence_as(structure, flat_sequence):
    """Rebuilds ``structure`` with the leaves of ``flat_sequence``, in ``flatten`` order."""
    leaves = iter(flat_sequence)
    packed = _pack(structure, leaves)
    if next(leaves, _pack) is not _pack:
        raise ValueError(f"pack_sequence_as: `flat_sequence` has more items than the {len(flatten(structure))} "
                         f"leaves of `structure`. Received: structure={structure!r}")
    return packed


def _pack(node, leaves):
    # A module-level recursion: a nested closure calling itself would be a reference cycle holding
    # `leaves` (and the tensors they are, with their autograd graphs) until the garbage collector runs.
    if not isinstance(node, _NESTED):
        try:
            return next(leaves)
        except StopIteration:
            raise ValueError("pack_sequence_as: `flat_sequence` has fewer items than `structure` has leaves.") \
                from None
    kind = type(node)
    if kind is list:
        return [_pack(item, leaves) for item in node]
    if kind is tuple:
        return tuple([_pack(item, leaves) for item in node])
    if kind is dict:
        packed = {key: _pack(node[key], leaves) for key in sorted(node)}
        return {key: packed[key] for key in node}
    return _rebuild(node, [_pack(item, leaves) for item in _children(node)])


def _check_node(expected, received):
    """Raises ValueError unless ``received`` is a node of ``expected``'s kind with the same length or keys."""
    if isinstance(expected, dict):
        same = isinstance(received, dict) and set(expected) == set(received)
    else:
        same = (type(received) is type(expected) and len(received) == len(expected))
    if not same:
        raise ValueError(f"The structures don't have the same nested structure: expected {_describe(expected)}, "
                         f"received {_describe(received)}. Received: {received!r}")


def _describe(node):
    if isinstance(node, dict):
        return f"a dict with keys {sorted(node, key=repr)}"
    if is_nested(node):
        return f"a {type(node).__name__} of {len(node)}"
    return f"a leaf of type {type(node).__name__}"


def _flatten_up_to(shallow, structure):
    """The subtrees of ``structure`` at the leaves of ``shallow`` (``structure`` may be deeper there)."""
    if not is_nested(shallow):
        return [structure]
    _check_node(shallow, structure)
    return [subtree for key in _keys(shallow) for subtree in _flatten_up_to(shallow[key], structure[key])]


def map_structure_up_to(shallow_structure, func, *structures):
    """``func`` applied to the subtrees of ``structures`` found at ``shallow_structure``'s leaves, packed as
    ``shallow_structure``; raises ValueError where a structure is shallower or differs."""
    if not structures:
        raise ValueError("map_structure_up_to: at least one structure is needed. Received none.")
    columns = [_flatten_up_to(shallow_structure, structure) for structure in structures]
    return pack_sequence_as(shallow_structure, [func(*arguments) for arguments in zip(*columns)])


def map_structure(func, *structures, none_is_leaf=True):
    """``func`` applied leaf by leaf to ``structures`` (the first one's layout; the others may be deeper at its
    leaves, as in Keras); with ``none_is_leaf=False``, ``None`` leaves stay ``None`` without calling ``func``."""
    if not structures:
        raise ValueError("map_structure: at least one structure is needed. Received none.")
    if not none_is_leaf:
        original = func

        def func(*arguments):
            if arguments[0] is None:
                if any(argument is not None for argument in arguments):
                    raise ValueError("map_structure: structure mismatch: some arguments are None, others are not. "
                                     f"Received arguments: {arguments}.")
                return None
            return original(*arguments)
    if len(structures) == 1:
        return pack_sequence_as(structures[0], [func(leaf) for leaf in flatten(structures[0])])
    return map_structure_up_to(structures[0], func, *structures)


def assert_same_structure(a, b, check_types=None):
    """Raises ValueError unless ``a`` and ``b`` nest the same way (``check_types`` is ignored, as in Keras)."""
    for subtree in _flatten_up_to(a, b):
        if is_nested(subtree):
            raise ValueError(f"The structures don't have the same nested structure: `b` is nested where `a` has "
                             f"a leaf. Received: a={a!r}, b={b!r}")


def assert_same_paths(a, b):
    """Raises ValueError unless ``a`` and ``b`` have the same leaf paths (any sequence kinds)."""
    a_paths = {path for path, _ in flatten_with_path(a)}
    b_paths = {path for path, _ in flatten_with_path(b)}
    if a_paths != b_paths:
        raise ValueError(f"`a` and `b` don't have the same paths. Paths in `a` missing in `b`: "
                         f"{sorted(a_paths - b_paths, key=repr)}; paths in `b` missing in `a`: "
                         f"{sorted(b_paths - a_paths, key=repr)}.")


def traverse(func, structure, top_down=True):
    """Depth-first ``func`` on every subtree. Top-down, a non-None result replaces the subtree and stops the
    descent; bottom-up, it replaces the already traversed subtree. ``MAP_TO_NONE`` replaces by ``None``."""
    if not callable(func):
        raise TypeError(f"traverse: `func` must be callable. Received: func={func!r}")
    if top_down:
        result = func(structure)
        if result is None:
            result = _traverse_children(func, structure, top_down)
    else:
        structure = _traverse_children(func, structure, top_down)
        result = func(structure)
        if result is None:
            result = structure
    return None if result is MAP_TO_NONE else result


def _traverse_children(func, structure, top_down):
    if not is_nested(structure):
        return structure
    return _rebuild(structure, [traverse(func, child, top_down) for child in _children(structure)])


def lists_to_tuples(structure):
    """``structure`` with every list turned into a tuple."""
    return traverse(lambda node: tuple(node) if isinstance(node, list) else None, structure, top_down=False)


def _is_shape(value):
    return isinstance(value, (list, tuple)) and all(isinstance(d, (int, type(None))) for d in value)


def map_shape_structure(func, structure):
    """``map_structure`` whose leaves are shapes: lists or tuples of ints and ``None`` (and non-nested values)."""
    if _is_shape(structure) or not is_nested(structure):
        return func(structure)
    return _rebuild(structure, [map_shape_structure(func, child) for child in _children(structure)])
