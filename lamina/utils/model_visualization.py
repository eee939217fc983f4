"""``model_to_dot`` and ``plot_model``: a model's layer graph as Graphviz, through pydot.

pydot is imported where it is used (``pip install pydot``); drawing the picture also needs Graphviz's
``dot`` program. Without them both functions raise ``ImportError`` with Keras's message, as Keras does.
The nodes are Keras's HTML tables (name and class, activation, shapes, dtype, trainable).
"""

import os

from lamina import tree
from lamina.models import Functional, Sequential


def _pydot():
    try:  # optional dependency
        import pydot
    except ImportError:
        return None
    return pydot


def check_pydot():
    return _pydot() is not None


def check_graphviz():
    pydot = _pydot()
    if pydot is None:
        return False
    try:
        pydot.Dot.create(pydot.Dot())
        return True
    except (OSError, pydot.PydotException):
        return False


def _shape_text(shape):
    if shape is None:
        return "?"
    text = ", ".join(f"{k}: {v}" for k, v in shape.items()) if isinstance(shape, dict) else f"{shape}"
    return text.replace("}", "").replace("{", "")


def _layer_label(layer, show_layer_names, show_layer_activations, show_dtype, show_shapes, show_trainable):
    class_name = type(layer).__name__
    colspan = max(1, int(show_dtype) + int(show_trainable) + (2 if show_shapes else 0))
    title = f"<b>{layer.name}</b> ({class_name})" if show_layer_names else f"<b>{class_name}</b>"
    rows = [f'<tr><td colspan="{colspan}" bgcolor="black"><font point-size="16" color="white">{title}</font></td></tr>']
    activation = getattr(layer, "activation", None)
    if show_layer_activations and activation is not None:
        name = getattr(activation, "name", None) or getattr(activation, "__name__", None) or str(activation)
        rows.append(f'<tr><td bgcolor="white" colspan="{colspan}"><font point-size="14">Activation: <b>{name}</b>'
                    "</font></td></tr>")
    cells = []
    if show_shapes:
        try:
            input_shape = tree.map_structure(lambda t: t.shape, layer.input)
            output_shape = tree.map_structure(lambda t: t.shape, layer.output)
        except (RuntimeError, ValueError, AttributeError):
            input_shape = output_shape = None
        if class_name != "InputLayer":
            cells.append(f'<td bgcolor="white"><font point-size="14">Input shape: <b>{_shape_text(input_shape)}</b>'
                         "</font></td>")
        cells.append(f'<td bgcolor="white"><font point-size="14">Output shape: <b>{_shape_text(output_shape)}</b>'
                     "</font></td>")
    if show_dtype:
        try:
            dtype = tree.map_structure(lambda t: t.dtype, layer.output)
        except (RuntimeError, ValueError, AttributeError):
            dtype = None
        cells.append(f'<td bgcolor="white"><font point-size="14">Output dtype: <b>{dtype or "?"}</b></font></td>')
    if show_trainable and layer.weights:
        color, text = ("forestgreen", "Trainable") if layer.trainable else ("firebrick", "Non-trainable")
        cells.append(f'<td bgcolor="{color}"><font point-size="14" color="white"><b>{text}</b></font></td>')
    if cells:
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return '<<table border="0" cellborder="1" bgcolor="black" cellpadding="10">' + "".join(rows) + "</table>>"


def _add_edge(dot, pydot, source, destination):
    source_id, destination_id = str(id(source)), str(id(destination))
    if not dot.get_edge(source_id, destination_id):
        edge = pydot.Edge(source_id, destination_id)
        edge.set("penwidth", "2")
        dot.add_edge(edge)


def _first_layer(model):
    """Where an edge into a nested model lands when it is drawn expanded."""
    while isinstance(model, (Functional, Sequential)):
        model = model.layers[0]
    return model


def _last_layer(model):
    while isinstance(model, (Functional, Sequential)):
        model = model.layers[-1]
    return model


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB",
                 expand_nested=False, dpi=200, subgraph=False, show_layer_activations=False, show_trainable=False,
                 splines="ortho", **kwargs):
    """A ``pydot.Dot`` (``pydot.Cluster`` with ``subgraph``) of ``model``'s layers and connections."""
    if not model.built:
        raise ValueError("This model has not yet been built. Build the model first by calling `build()` or by "
                         "calling the model on a batch of data.")
    pydot = _pydot()
    if pydot is None:
        raise ImportError("You must install pydot (`pip install pydot`) for model_to_dot to work.")
    if kwargs.pop("layer_range", None) is not None:
        raise ValueError("Argument `layer_range` is no longer supported.")
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments: {kwargs}")
    if subgraph:
        dot = pydot.Cluster(style="dashed", graph_name=model.name)
        dot.set("label", model.name)
        dot.set("labeljust", "l")
    else:
        dot = pydot.Dot()
        dot.set("rankdir", rankdir)
        dot.set("concentrate", True)
        dot.set("dpi", dpi)
        dot.set("splines", splines)
        dot.set_node_defaults(shape="record")
    options = dict(show_layer_names=show_layer_names, show_layer_activations=show_layer_activations,
                   show_dtype=show_dtype, show_shapes=show_shapes, show_trainable=show_trainable)
    if isinstance(model, Sequential):
        layers = model.layers
    elif isinstance(model, Functional):
        layers = list(model.layers)
    else:  # a subclassed model is one box
        layers = [model]
    for layer in layers:
        if expand_nested and isinstance(layer, (Functional, Sequential)):
            dot.add_subgraph(model_to_dot(layer, show_shapes, show_dtype, show_layer_names, rankdir, expand_nested,
                                          subgraph=True, show_layer_activations=show_layer_activations,
                                          show_trainable=show_trainable))
        else:
            node = pydot.Node(str(id(layer)), label=_layer_label(layer, **options))
            for key, value in (("fontname", "Helvetica"), ("border", "0"), ("margin", "0")):
                node.set(key, value)
            dot.add_node(node)
    if isinstance(model, Sequential):
        for source, destination in zip(layers, layers[1:]):
            if expand_nested:
                source, destination = _last_layer(source), _first_layer(destination)
            _add_edge(dot, pydot, source, destination)
    elif isinstance(model, Functional):
        for node in model._nodes:
            for parent in node.parent_nodes:
                source, destination = parent.layer, node.layer
                if expand_nested:
                    source, destination = _last_layer(source), _first_layer(destination)
                _add_edge(dot, pydot, source, destination)
    return dot


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False, show_layer_names=False, rankdir="TB",
               expand_nested=False, dpi=200, show_layer_activations=False, show_trainable=False, splines="ortho",
               **kwargs):
    """Draws ``model_to_dot(model, ...)`` into ``to_file`` (format from its suffix: png, svg, pdf...)."""
    if not model.built:
        raise ValueError("This model has not yet been built. Build the model first by calling `build()` or by "
                         "calling the model on a batch of data.")
    if not check_pydot():
        raise ImportError("You must install pydot (`pip install pydot`) for `plot_model` to work.")
    if not check_graphviz():
        raise ImportError("You must install graphviz (see instructions at https://graphviz.gitlab.io/download/) "
                          "for `plot_model` to work.")
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                       rankdir=rankdir, expand_nested=expand_nested, dpi=dpi,
                       show_layer_activations=show_layer_activations, show_trainable=show_trainable, splines=splines,
                       **kwargs)
    to_file = str(to_file)
    extension = os.path.splitext(to_file)[1][1:] or "png"
    dot.write(to_file, format=extension)
