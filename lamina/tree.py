"""Nested structures (lists, tuples, dicts) of tensors: flatten, pack, map.

Dicts flatten in sorted-key order, as Keras does.
"""


def is_nested(value):
    return isinstance(value, (list, tuple, dict))


def flatten(structure):
    """The leaves of ``structure`` in Keras order."""
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure) for leaf in flatten(structure[key])]
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    return [structure]


def pack_sequence_as(structure, flat):
    """Rebuilds ``structure`` with the leaves of ``flat``, in ``flatten`` order."""
    return _pack(structure, iter(flat))


def _pack(node, leaves):
    # A module-level recursion: a nested closure calling itself would be a reference cycle holding
    # `leaves` (and the tensors they are, with their autograd graphs) until the garbage collector runs.
    if isinstance(node, dict):
        packed = {key: _pack(node[key], leaves) for key in sorted(node)}
        return {key: packed[key] for key in node}
    if isinstance(node, (list, tuple)):
        items = [_pack(item, leaves) for item in node]
        return type(node)(items) if not hasattr(node, "_fields") else type(node)(*items)
    return next(leaves)


def map_structure(fn, structure):
    return pack_sequence_as(structure, [fn(leaf) for leaf in flatten(structure)])
