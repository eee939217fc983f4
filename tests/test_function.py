"""``lamina.Function`` and ``lamina.Operation`` against ``keras.Function`` and ``keras.Operation``: the same
graphs, weights and values give the same outputs, structures, specs, operation order and errors."""

import numpy as np
import pytest
import torch

import lamina
from keras_reference import assert_close


def _single(lib):
    x = lib.Input((4,), name="x")
    return lib.Function(x, lib.layers.Dense(3, activation="tanh", name="dense")(x)), (2, 4)


def _list_in_dict_out(lib):
    x, y = lib.Input((4,), name="x"), lib.Input((4,), name="y")
    dense = lib.layers.Dense(2, name="dense")
    summed = lib.ops.add(dense(x), lib.ops.multiply(y[:, :2], 2.0))
    return lib.Function([x, y], {"sum": summed, "total": lib.ops.sum(summed, axis=-1)}), [(3, 4), (3, 4)]


def _shared_layer(lib):
    x, y = lib.Input((5,), name="x"), lib.Input((5,), name="y")
    shared = lib.layers.Dense(3, name="shared")
    joined = lib.layers.Concatenate(name="join")([shared(x), shared(y)])
    return lib.Function([x, y], [joined, lib.ops.relu(joined)]), [(2, 5), (2, 5)]


def _dict_in(lib):
    a, b = lib.Input((3,), name="a"), lib.Input((2, 3), name="b")
    out = lib.ops.matmul(b, lib.ops.expand_dims(a, -1))
    return lib.Function({"a": a, "b": b}, lib.ops.squeeze(out, -1)), {"a": (2, 3), "b": (2, 2, 3)}


GRAPHS = [_single, _list_in_dict_out, _shared_layer, _dict_in]


def _map_shapes(function, shapes):
    """``function(shape)`` for the one input shape, or for each in the list or dict."""
    if isinstance(shapes, dict):
        return {key: function(shape) for key, shape in shapes.items()}
    return function(shapes) if isinstance(shapes[0], int) else [function(shape) for shape in shapes]


def _copy_weights(ours, theirs):
    for layer in theirs.operations:
        if getattr(layer, "weights", None):
            [mine] = [op for op in ours.operations if op.name == layer.name]
            mine.set_weights([np.asarray(w) for w in layer.get_weights()])


@pytest.mark.parametrize("build", GRAPHS, ids=lambda build: build.__name__)
def test_function_matches_keras(keras, build, names_from_zero):  # operation names alike in both
    theirs, shapes = build(keras)
    ours, _ = build(lamina)
    _copy_weights(ours, theirs)
    assert [op.name for op in ours.operations] == [op.name for op in theirs.operations]
    assert [tuple(t.shape) for t in ours.inputs] == [tuple(t.shape) for t in theirs.inputs]
    assert [tuple(t.shape) for t in ours.outputs] == [tuple(t.shape) for t in theirs.outputs]
    rng = np.random.default_rng(0)
    for _ in range(2):
        values = _map_shapes(lambda shape: rng.normal(size=shape).astype("float32"), shapes)
        expected, got = theirs(values), ours(values)
        assert type(got) is type(expected)
        assert lamina.tree.flatten_with_path(lamina.tree.map_structure(lambda t: 0, got)) == \
            keras.tree.flatten_with_path(keras.tree.map_structure(lambda t: 0, expected))
        for mine, reference in zip(lamina.tree.flatten(got), keras.tree.flatten(expected)):
            assert_close(mine, reference)
    assert ours.compute_output_shape(shapes) == theirs.compute_output_shape(shapes)
    ours_spec = ours.compute_output_spec(_map_shapes(lambda s: lamina.KerasTensor((None, *s[1:])), shapes))
    theirs_spec = theirs.compute_output_spec(_map_shapes(lambda s: keras.KerasTensor((None, *s[1:])), shapes))
    assert lamina.tree.map_structure(lambda t: (tuple(t.shape), t.dtype), ours_spec) == \
        keras.tree.map_structure(lambda t: (tuple(t.shape), t.dtype), theirs_spec)


def test_a_function_called_symbolically_joins_a_model(keras):
    theirs, _ = _single(keras)
    ours, _ = _single(lamina)
    _copy_weights(ours, theirs)
    inputs = lamina.Input((4,))
    model = lamina.Model(inputs, lamina.layers.Dense(1, name="head")(ours(inputs)))
    keras_inputs = keras.Input((4,))
    keras_model = keras.Model(keras_inputs, keras.layers.Dense(1, name="head")(theirs(keras_inputs)))
    model.get_layer("head").set_weights(keras_model.get_layer("head").get_weights())
    x = np.random.default_rng(1).normal(size=(3, 4)).astype("float32")
    assert_close(model(x), keras_model(x))


def test_function_refuses_wrong_inputs():
    function, _ = _list_in_dict_out(lamina)
    with pytest.raises(ValueError, match=r"Function 'function\w*' expects 2 input\(s\) structured as "
                                         r"\[\(None, 4\), \(None, 4\)\]. Received 1 value\(s\)"):
        function(np.ones((2, 4), "float32"))
    with pytest.raises(ValueError, match=r"Function 'function\w*': input 1 \('y'\) expects shape \(None, 4\). "
                                         r"Received: shape \(2, 5\)"):
        function([np.ones((2, 4), "float32"), np.ones((2, 5), "float32")])
    dict_function, _ = _dict_in(lamina)
    with pytest.raises(ValueError, match=r"the inputs have no entry for \['b'\]"):
        dict_function({"a": np.ones((2, 3), "float32")})
    with pytest.raises(ValueError, match="Model inputs and outputs must be symbolic tensors"):
        lamina.Function(lamina.Input((2,)), torch.ones(2))


class Scale(lamina.Operation):
    """A custom operation, as Keras's guide writes one: call, and compute_output_spec for symbolic calls."""

    def __init__(self, factor, name=None):
        super().__init__(name=name)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def compute_output_spec(self, x):
        return lamina.KerasTensor(x.shape, dtype=x.dtype)


def test_a_custom_operation_runs_eagerly_symbolically_and_in_a_model():
    x = torch.arange(6.0).reshape(2, 3)
    assert torch.equal(Scale(2.0)(x), x * 2)
    inputs = lamina.Input((3,))
    scaled = Scale(3.0, name="triple")(inputs)
    assert isinstance(scaled, lamina.KerasTensor) and scaled.shape == (None, 3)
    model = lamina.Model(inputs, scaled)
    assert torch.equal(model(x), x * 3)
    assert Scale(1.5).get_config()["factor"] == 1.5
    assert lamina.Function(inputs, scaled).operations[-1].name == "triple"
