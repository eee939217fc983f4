"""The Layer base: lifecycle, weights, inputs, training mode, losses, masks, nodes, config."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers, regularizers
from lamina.engine.layer import Layer, Permuted
from lamina.utils import clear_session
from lamina.testing import run_layer_test


class Linear(Layer):
    """A custom layer as a user would write it (Keras docs style)."""

    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal", name="kernel")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")
        self.steps = self.add_weight(shape=(), initializer="zeros", trainable=False, name="steps")

    def call(self, inputs):
        return inputs @ self.w + self.b

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)


class TrainingProbe(Layer):
    def call(self, inputs, training=None):
        return inputs + (1.0 if training else 0.0)


class Doubler(Layer):
    """No compute_output_shape: shapes come from fake-tensor inference."""

    def call(self, inputs):
        return torch.cat([inputs, inputs], dim=-1)


def test_build_on_first_call_and_weights_in_keras_order():
    layer = Linear(4)
    assert not layer.built
    output = layer(np.ones((2, 3)))
    assert layer.built and isinstance(output, torch.Tensor) and output.dtype == torch.float32
    assert [tuple(w.shape) for w in layer.get_weights()] == [(3, 4), (4,), ()]
    assert len(layer.trainable_weights) == 2 and len(layer.non_trainable_weights) == 1
    assert list(layer.state_dict()) == ["w", "b", "steps"]
    assert layer.count_params() == 17


def test_add_variable_is_keras_add_weight_with_shape_and_initializer_first(keras):
    built = []
    for lib in (keras, lamina):
        class Scale(lib.layers.Layer):
            def build(self, input_shape):
                self.scale = self.add_variable((input_shape[-1],), "ones", name="scale")
                self.count = self.add_variable((), "zeros", dtype="int32", trainable=False, name="count")

            def call(self, x):
                return x * self.scale

        layer = Scale(name="scale_layer")
        layer(np.ones((2, 3), "float32"))
        built.append(layer)
    theirs, ours = built
    assert [(w.name, tuple(w.shape), w.trainable) for w in ours.weights] == \
        [(w.name, tuple(w.shape), w.trainable) for w in theirs.weights]
    assert [str(w.dtype) for w in ours.get_weights()] == [str(w.dtype) for w in theirs.get_weights()]


def test_layer_paths_are_keras_paths(keras):
    paths = []
    for lib in (keras, lamina):
        class Outer(lib.layers.Layer):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.inner = lib.layers.Dense(2, name="inner")

            def call(self, x):
                return self.inner(x)

        outer, lone = Outer(name="outer"), lib.layers.Dense(2, name="lone")
        before = (outer.path, outer.inner.path, lone.path)
        outer(np.ones((1, 3), "float32"))
        lone.build((None, 3))
        inputs = lib.Input((3,))
        functional = lib.Model(inputs, lib.layers.Dense(2, name="head")(inputs), name="fm")
        sequential = lib.Sequential([lib.Input((3,)), lib.layers.Dense(2, name="first")], name="seq")
        paths.append((before, outer.path, outer.inner.path, outer.inner.kernel.path, lone.path, functional.path,
                      functional.layers[1].path, sequential.path, sequential.layers[0].path))
    assert paths[1] == paths[0]


def test_inputs_numpy_lists_and_float64_are_converted():
    layer = Linear(2)
    from_list = layer([[1.0, 2.0, 3.0]])
    from_float64 = layer(np.array([[1.0, 2.0, 3.0]], dtype=np.float64))
    from_tensor = layer(torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64))
    assert from_list.dtype == from_float64.dtype == from_tensor.dtype == torch.float32
    torch.testing.assert_close(from_list, from_float64)
    torch.testing.assert_close(from_list, from_tensor)


def test_set_weights_validates_count_and_shape_with_layout_hint():
    layer = Linear(4)
    layer(np.ones((1, 3)))
    with pytest.raises(ValueError, match="expected 3 weights"):
        layer.set_weights([np.zeros((3, 4))])
    with pytest.raises(ValueError, match=r"expected shape \(3, 4\), received \(4, 3\).*Keras layouts"):
        layer.set_weights([np.zeros((4, 3)), np.zeros(4), np.zeros(())])
    values = [np.arange(12, dtype=np.float32).reshape(3, 4), np.ones(4, np.float32), np.array(5.0, np.float32)]
    layer.set_weights(values)
    for got, expected in zip(layer.get_weights(), values):
        np.testing.assert_array_equal(got, expected)


def test_permuted_layout_is_invisible_to_keras_apis():
    class TorchLayoutDense(Layer):
        def build(self, input_shape):
            self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], 2), layout=Permuted((1, 0)),
                                          regularizer=regularizers.L1(1.0))

        def call(self, inputs):
            return torch.nn.functional.linear(inputs, self.kernel)

    layer = TorchLayoutDense()
    layer(np.ones((1, 3)))
    assert tuple(layer.kernel.shape) == (2, 3)  # stored as PyTorch wants
    keras_kernel = np.arange(6, dtype=np.float32).reshape(3, 2)
    layer.set_weights([keras_kernel])
    np.testing.assert_array_equal(layer.get_weights()[0], keras_kernel)
    np.testing.assert_allclose(layer(np.ones((1, 3))).detach().numpy(), keras_kernel.sum(0, keepdims=True))
    assert float(layer.losses[0].detach()) == pytest.approx(15.0)


def test_unknown_keyword_raises_type_error():
    with pytest.raises(TypeError, match="unexpected keyword argument.*bogus"):
        Linear(3, bogus=1)


def test_unique_default_names():
    clear_session()
    names = [Linear().name, Linear().name, Linear().name]
    assert names == ["linear", "linear_1", "linear_2"]


def test_trainable_setter_freezes_parameters():
    layer = Linear(2)
    layer(np.ones((1, 3)))
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 3
    assert not any(p.requires_grad for p in layer.parameters())
    layer.trainable = True
    assert all(p.requires_grad for p in layer.parameters())


def test_training_resolution_explicit_context_and_module_flag():
    probe = TrainingProbe()
    x = torch.zeros(1, 2)
    assert float(probe(x).sum()) == 0.0  # Keras default: inference
    assert float(probe(x, training=True).sum()) == 2.0
    probe.train()
    assert float(probe(x).sum()) == 2.0  # PyTorch's train() switches it on
    probe.eval()
    model = lamina.Sequential([Linear(2, input_shape=(2,)), TrainingProbe()])
    difference = model(x, training=True)[0, 0] - model(x, training=False)[0, 0]
    assert float(difference.detach()) == pytest.approx(1.0)


def test_activity_regularizer_losses_divided_by_batch_and_cleared_each_call():
    layer = Linear(2, activity_regularizer=regularizers.L2(1.0))
    layer(np.ones((4, 3)))
    layer.set_weights([np.ones((3, 2)), np.zeros(2), np.zeros(())])
    output = layer(np.ones((4, 3)))
    assert len(layer.losses) == 1
    assert float(layer.losses[0]) == pytest.approx(float((output ** 2).sum()) / 4)
    layer(np.ones((4, 3)))
    assert len(layer.losses) == 1


def test_add_loss_in_nested_layers_collected_by_model():
    class Penalized(Layer):
        def call(self, inputs):
            self.add_loss(inputs.abs().sum())
            return inputs

    inputs = lamina.Input((2,))
    model = lamina.Model(inputs, Penalized()(Linear(2)(inputs)))
    model(np.ones((1, 2)))
    model(np.ones((1, 2)))
    assert len(model.losses) == 1


def test_masks_flow_through_supporting_layers():
    class MakeMask(Layer):
        supports_masking = True

        def call(self, inputs):
            return inputs

        def compute_mask(self, inputs, previous_mask):
            return inputs.abs().sum(-1) > 0

    class PassThrough(Layer):
        supports_masking = True

        def call(self, inputs):
            return inputs * 2

    class ReadMask(Layer):
        def call(self, inputs, mask=None):
            return mask.float()

    x = torch.tensor([[[1.0], [0.0], [2.0]]])
    masked = PassThrough()(MakeMask()(x))
    assert masked._keras_mask.tolist() == [[True, False, True]]
    assert ReadMask()(masked).tolist() == [[1.0, 0.0, 1.0]]


def test_symbolic_call_infers_shapes_without_compute_output_shape():
    inputs = lamina.Input((None, 5))
    outputs = Doubler()(inputs)
    assert outputs.shape == (None, None, 10)


def test_node_accessors_single_and_shared_layers():
    shared = Linear(2)
    a, b = lamina.Input((3,)), lamina.Input((3,))
    out_a, out_b = shared(a), shared(b)
    assert shared.get_input_at(0) is a and shared.get_input_at(1) is b
    assert shared.get_output_at(1) is out_b and shared.get_output_shape_at(0) == (None, 2)
    assert shared.input_shape == (None, 3)  # the same on both nodes: allowed, as Keras 2
    with pytest.raises(RuntimeError, match="multiple inbound nodes"):
        shared.input
    with pytest.raises(ValueError, match="has only 2 inbound node"):
        shared.get_input_at(5)
    other = Linear(2)
    other(lamina.Input((3,)))
    other(lamina.Input((4,)))
    with pytest.raises(RuntimeError, match="different input_shapes"):
        other.input_shape
    with pytest.raises(RuntimeError, match="never been called"):
        Linear(2).output


def test_first_eager_call_records_a_node():
    layer = Linear(5)
    layer(np.ones((7, 3)))
    assert layer.input_shape == (None, 3) and layer.output_shape == (None, 5)


def test_auto_config_for_custom_layers_and_round_trip():
    layer = Linear(7, name="custom", trainable=False)
    config = layer.get_config()
    assert config["units"] == 7 and config["name"] == "custom" and config["trainable"] is False
    clone = Linear.from_config(config)
    assert clone.units == 7 and clone.trainable is False


def test_input_spec_errors_name_the_layer():
    class NeedsRank3(Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.input_spec = layers.InputSpec(ndim=3)

        def call(self, inputs):
            return inputs

    layer = NeedsRank3(name="rank3")
    with pytest.raises(ValueError, match="Input 0 of layer 'rank3'.*expected ndim=3.*found ndim=2"):
        layer(np.ones((2, 2)))
    layer(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="expected ndim=3"):
        layer(torch.ones(2, 2))


def test_direct_build_call_marks_built():
    layer = Linear(3)
    layer.build((None, 4))
    assert layer.built and layer.get_build_config() == {"input_shape": (None, 4)}
    assert tuple(layer(np.ones((2, 4))).shape) == (2, 3)


def test_run_layer_test_accepts_a_user_layer():
    run_layer_test(Linear, {"units": 3}, input_shape=(2, 4), expected_output_shape=(2, 3),
                   expected_num_trainable_weights=2, expected_num_non_trainable_weights=1,
                   custom_objects={"Linear": Linear})


def test_run_layer_test_fails_on_a_wrong_output_shape():
    class WrongShape(Linear):
        def compute_output_shape(self, input_shape):
            return tuple(input_shape[:-1]) + (self.units + 1,)

    with pytest.raises(AssertionError, match="compute_output_shape"):
        run_layer_test(WrongShape, {"units": 3}, input_shape=(2, 4), custom_objects={"WrongShape": WrongShape})


def test_apply_constraints_projects_in_keras_layout():
    from lamina import constraints

    class Constrained(Layer):
        def build(self, input_shape):
            self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], 2), layout=Permuted((1, 0)),
                                          constraint=constraints.NonNeg())

        def call(self, inputs):
            return torch.nn.functional.linear(inputs, self.kernel)

    layer = Constrained()
    layer(np.ones((1, 3)))
    layer.set_weights([np.array([[-1.0, 2.0], [3.0, -4.0], [5.0, 6.0]])])
    layer.apply_constraints()
    np.testing.assert_array_equal(layer.get_weights()[0], [[0.0, 2.0], [3.0, 0.0], [5.0, 6.0]])


def test_layers_in_list_attributes_are_tracked():
    class Block(Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.parts = [Linear(3), Linear(2)]

        def call(self, inputs):
            for part in self.parts:
                inputs = part(inputs)
            return inputs

    block = Block()
    block(np.ones((1, 4)))
    assert [tuple(w.shape) for w in block.get_weights()] == [(4, 3), (3,), (), (3, 2), (2,), ()]


def test_masks_survive_repeated_calls_of_a_mask_producing_layer():
    class ZeroMask(Layer):
        supports_masking = True

        def call(self, inputs):
            return inputs

        def compute_mask(self, inputs, previous_mask):
            return inputs != 0

    layer = ZeroMask()
    x = torch.tensor([[1.0, 0.0]])
    for _ in range(3):
        assert layer(x)._keras_mask.tolist() == [[True, False]]


def test_build_may_be_called_without_a_shape():
    class Fixed(Layer):
        def build(self, input_shape=None):
            self.table = self.add_weight(name="table", shape=(2, 2))

        def call(self, inputs):
            return inputs @ self.table

    layer = Fixed()
    layer.build()
    assert layer.built and len(layer.weights) == 1
    assert tuple(layer(torch.ones(1, 2)).shape) == (1, 2)


def test_run_layer_test_accepts_multi_input_layers():
    output = run_layer_test(layers.Add, {}, input_shape=[(2, 3), (2, 3)], expected_output_shape=(2, 3))
    assert tuple(output.shape) == (2, 3)


def test_eager_kernel_errors_are_explained_by_the_input_spec():
    conv = layers.Conv2D(4, 3, name="conv")
    conv(np.zeros((1, 5, 5, 3)))
    with pytest.raises(ValueError, match="Input 0 of layer 'conv'.*axis -1 of input shape to have value 3"):
        conv(torch.zeros(1, 5, 5, 2))


def test_numpy_masks_are_converted():
    class ReadMask(Layer):
        def call(self, inputs, mask=None):
            return inputs * mask

    result = ReadMask()(torch.ones(1, 3), mask=np.array([[1.0, 0.0, 1.0]], dtype=np.float32))
    assert result.tolist() == [[1.0, 0.0, 1.0]]
