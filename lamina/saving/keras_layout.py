"""Where Keras puts each layer's weights in its files, computed for a lamina model.

Keras 3 (``.keras``, ``.weights.h5``) stores each layer's own variables under an object path found by
walking the model as its ``saving_lib`` does: a Functional or Sequential model lists ``layers/<name>``
where ``<name>`` is the snake_case class name, numbered within the list (``dense``, ``dense_1``…);
other layers and subclassed models go through their attributes in sorted order (private ones last), so
a wrapper's sublayer sits at ``forward_layer/cell``, a list attribute at ``blocks/dense_1``; an object
met twice is stored once, at its first path. The optimizer sits at ``optimizer``.

Legacy HDF5 (``.h5``, Keras 2 and 3) stores, per top-level layer, its ``trainable_weights`` then its
``non_trainable_weights`` (``legacy_order``).
"""

import torch

from lamina.engine.layer import Layer
from lamina.naming import to_snake_case

_CONTAINERS = (torch.nn.ModuleList, torch.nn.ModuleDict, list, tuple)


def keras_class_name(layer):
    """The class name Keras knows ``layer`` by (a functional subclass variant writes as its subclass)."""
    cls = type(layer)
    return cls.__dict__.get("_serialized_class", cls).__name__


def _name_key(name):
    return f"~{name}" if name.startswith("_") else name


def _is_graph_model(layer):
    """Functional and Sequential models (and their subclasses) keep their layers in ``layers``."""
    return hasattr(layer, "_graph_layers") or hasattr(layer, "_stack")


def _attributes(layer):
    """(attribute, Layer or container) pairs in the order Keras's walk visits them."""
    if _is_graph_model(layer):
        return [("layers", layer.layers)]
    pairs = [(name, child) for name, child in layer.named_children()
             if isinstance(child, Layer) or isinstance(child, _CONTAINERS)]
    if hasattr(layer, "compiled"):  # a subclassed Model also walks its `layers` property, as Keras does
        pairs.append(("layers", layer.layers))
    return sorted(pairs, key=lambda pair: _name_key(pair[0]))


def _unique(name, used):
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def object_paths(model):
    """(path, layer) for the model and every layer below it, each once, in Keras 3's walk order.

    The root model's path is ``""``; its own variables live in ``vars``, another layer's in ``<path>/vars``.
    """
    found, visited = [], set()

    def visit(layer, path):
        if id(layer) in visited:
            return
        visited.add(id(layer))
        found.append((path, layer))
        for attribute, child in _attributes(layer):
            child_path = f"{path}/{attribute}" if path else attribute
            if isinstance(child, Layer):
                visit(child, child_path)
            else:
                visit_container(child, child_path, set())

    def visit_container(container, path, seen_containers):
        if id(container) in seen_containers:
            return
        seen_containers.add(id(container))
        used = {}
        items = container.values() if isinstance(container, (dict, torch.nn.ModuleDict)) else container
        for item in items:
            if isinstance(item, Layer):
                visit(item, f"{path}/{_unique(to_snake_case(keras_class_name(item)), used)}")
            elif isinstance(item, _CONTAINERS):
                visit_container(item, f"{path}/{_unique('container', used)}", seen_containers)

    visit(model, "")
    return found


def own_slots(model):
    """{id(layer): [(owner, attribute, spec), ...]}: each layer's own weights in Keras's ``vars`` order.

    A weight belongs to the nearest Layer above the module holding it (a plain ``torch.nn`` module inside a
    layer contributes to that layer), in the order of ``model.weights``.
    """
    owner_layer = {}

    def assign(module, layer):
        for child in module.children():
            assign(child, child if isinstance(child, Layer) else layer)
        owner_layer[id(module)] = layer

    assign(model, model)
    slots = {}
    for slot in model._weight_slots():
        slots.setdefault(id(owner_layer[id(slot[0])]), []).append(slot)
    return slots


def variable_groups(model):
    """(group path, layer, own slots) for every layer with weights, in Keras 3's walk order."""
    slots = own_slots(model)
    return [(f"{path}/vars" if path else "vars", layer, slots.get(id(layer), []))
            for path, layer in object_paths(model)]


def legacy_order(layer):
    """A layer's weight slots as legacy HDF5 orders them: trainable weights first, then the others."""
    trainable = {id(weight) for weight in layer.trainable_weights}
    slots = layer._weight_slots()
    return [slot for slot in slots if id(getattr(slot[0], slot[1])) in trainable] + \
        [slot for slot in slots if id(getattr(slot[0], slot[1])) not in trainable]
