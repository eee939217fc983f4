"""The call fast paths (a plain layer calls ``call`` itself, a Sequential of plain layers runs them one after
the other) do exactly what ``torch.nn.Module.__call__`` and the full call do: hooks, errors, training flags."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def _mlp():
    return lamina.Sequential([layers.Input((4,)), layers.Dense(3, activation="relu"), layers.Dense(2)])


def _hooked(register):
    model = _mlp()
    seen = []
    handle = register(model, seen)
    model(torch.ones(2, 4))
    model(torch.ones(2, 4), training=True)
    model.predict(np.ones((2, 4), "float32"), verbose=0)
    handle.remove()
    model(torch.ones(2, 4))
    return seen


@pytest.mark.parametrize("register", [
    lambda model, seen: model.layers[0].register_forward_hook(lambda m, i, o: seen.append(m.name)),
    lambda model, seen: model.layers[1].register_forward_pre_hook(lambda m, i: seen.append(m.name)),
    lambda model, seen: model.register_forward_hook(lambda m, i, o: seen.append(m.name)),
    lambda model, seen: torch.nn.modules.module.register_module_forward_hook(
        lambda m, i, o: seen.append(m.name) if m is model else None),
], ids=["layer-hook", "layer-pre-hook", "model-hook", "global-hook"])
def test_hooks_run_on_every_call_until_removed(register):
    seen = _hooked(register)
    assert len(seen) == 3 and len(set(seen)) == 1


def test_full_backward_hook_sees_the_gradient():
    model = _mlp()
    grads = []
    model.layers[1].register_full_backward_hook(lambda m, gi, go: grads.append(go[0].shape))
    model(torch.ones(5, 4)).sum().backward()
    assert grads == [torch.Size([5, 2])]


def test_direct_stack_gives_the_full_calls_outputs_and_gradients():
    model = _mlp()
    x = torch.randn(6, 4)
    fast = model(x, training=True)
    full = model._full_call((x,), {"training": True})
    assert torch.equal(fast, full)
    assert fast.grad_fn is not None


def test_a_bad_input_names_the_model_and_the_layer():
    with pytest.raises(ValueError, match=r"'sequential.*'.*expected axis -1 of input shape to have value 4"):
        _mlp()(torch.ones(2, 5))


def test_layers_that_read_training_still_get_it():
    model = lamina.Sequential([layers.Input((100,)), layers.Dropout(0.5)])
    x = torch.ones(4, 100)
    assert torch.equal(model(x), x)
    assert (model(x, training=True) == 0).any()


def _functional_mlp():
    inputs = layers.Input((4,))
    return lamina.Model(inputs, layers.Dense(2)(layers.Dense(3, activation="relu")(inputs)))


@pytest.mark.parametrize("make", [_mlp, _functional_mlp], ids=["sequential", "functional"])
def test_a_forward_of_the_instances_own_is_called(make):
    """A distribution routes a model's forward through DDP by setting it on the instance."""
    model = make()
    calls = []
    own = model.forward

    def forward(*args, **kwargs):
        calls.append(1)
        return own(*args, **kwargs)

    model.__dict__["forward"] = forward
    model(torch.ones(2, 4), training=True)
    assert calls == [1]


def test_functional_direct_calls_give_the_full_calls_outputs():
    model = _functional_mlp()
    x = torch.randn(6, 4)
    assert model._runs_layers_directly(x)
    assert torch.equal(model(x, training=True), model._full_call((x,), {"training": True}))
    with pytest.raises(ValueError, match=r"Model 'functional.*': input 0 .* expects shape"):
        model(torch.ones(2, 5))


class _Scale(layers.Layer):
    """A custom plain layer: its output shape is its own business, so the layers after it keep their checks."""

    def call(self, inputs):
        return inputs[:, :2] * 2.0


def test_only_lamina_layers_built_on_the_input_skip_their_checks():
    model = _mlp()
    assert model._inputs_fit_every_layer(torch.ones(3, 4))
    assert not model._inputs_fit_every_layer(torch.ones(3, 4, dtype=torch.float64))
    custom = lamina.Sequential([layers.Input((4,)), _Scale(), layers.Dense(2)])
    assert custom._layers_run_directly() and not custom._inputs_fit_every_layer(torch.ones(3, 4))
    torch.testing.assert_close(custom(torch.ones(3, 4)), custom._full_call((torch.ones(3, 4),), {}))


def test_a_popped_layer_is_not_called():
    model = lamina.Sequential([layers.Input((4,)), layers.Dense(3), layers.Dense(2)])
    assert model(torch.ones(1, 4)).shape == (1, 2)
    model.pop()
    assert model(torch.ones(1, 4)).shape == (1, 3)


def _recurrent(dropout=0.0):
    lamina.utils.set_random_seed(3)
    return lamina.Sequential([layers.Input((7, 3)), layers.LSTM(5, return_sequences=True, dropout=dropout),
                              layers.GRU(4), layers.Dense(2)])


def test_a_recurrent_layer_without_dropout_runs_directly_and_as_its_full_call():
    model = _recurrent()
    x = torch.randn(6, 7, 3)
    assert all(layer._plain_call for layer in model.layers)
    fast = model(x, training=True)
    assert torch.equal(fast, model._full_call((x,), {"training": True}))
    assert torch.equal(fast, model(x))


def test_recurrent_dropout_keeps_the_training_flag_also_when_set_after_build():
    for model in (_recurrent(dropout=0.5), _recurrent()):
        model.layers[0].cell.dropout = 0.5  # Keras's cells read their rates at each call
        assert not model.layers[0]._plain_call
        x = torch.randn(6, 7, 3)
        assert torch.equal(model(x), model(x, training=False))
        assert not torch.allclose(model(x, training=True), model(x))
        model.layers[0].cell.dropout = 0.0
        assert model.layers[0]._plain_call and torch.equal(model(x, training=True), model(x))


def test_a_masked_sequence_still_reaches_the_recurrent_layer_with_its_mask():
    lamina.utils.set_random_seed(4)
    model = lamina.Sequential([layers.Input((5,), dtype="int32"), layers.Embedding(9, 3, mask_zero=True),
                               layers.LSTM(4)])
    tokens = torch.tensor([[1, 2, 3, 0, 0], [4, 5, 6, 7, 8]])
    assert torch.allclose(model(tokens)[0], model(tokens[:, :3])[0], atol=1e-6)


def test_layers_taking_a_mask_they_do_not_get_run_directly_and_as_their_full_call():
    lamina.utils.set_random_seed(5)
    model = lamina.Sequential([layers.Input((6, 3)), layers.Conv1D(3, 2, padding="causal"),
                               layers.GlobalAveragePooling1D(), layers.Dense(5), layers.Softmax()])
    x = torch.randn(4, 6, 3)
    assert all(layer._plain_call for layer in model.layers) and model._runs_layers_directly(x)
    fast = model(x)
    assert torch.equal(fast, model._full_call((x,), {}))
    assert torch.allclose(fast.sum(-1), torch.ones(4))
    embedding = layers.Embedding(9, 4)
    tokens = torch.randint(0, 9, (4, 6))
    assert torch.equal(embedding(tokens), embedding._full_call((tokens,), {})) and embedding._plain_call


def test_a_mask_still_reaches_pooling_and_softmax_and_mask_zero_keeps_the_full_call():
    embedding = layers.Embedding(9, 3, mask_zero=True)
    embedding(torch.ones(1, 2, dtype=torch.long))
    assert not embedding._plain_call
    pooling, softmax = layers.GlobalAveragePooling1D(), layers.Softmax()
    x = torch.arange(12.0).reshape(1, 4, 3)
    pooling(x), softmax(x)
    assert pooling._plain_call and softmax._plain_call
    x._keras_mask = torch.tensor([[True, True, False, False]])
    assert torch.equal(pooling(x), x[:, :2].mean(1))
    assert torch.equal(softmax(torch.zeros(1, 4), mask=torch.tensor([[1, 1, 0, 0]])),
                       torch.tensor([[0.5, 0.5, 0.0, 0.0]]))


def _normalized(rate=0.5):
    lamina.utils.set_random_seed(6)
    return lamina.Sequential([layers.Input((4,)), layers.Dense(8), layers.BatchNormalization(momentum=0.5),
                              layers.Dropout(rate, seed=1), layers.Dense(2)])


def _same_weights(model, twin):
    return all(np.array_equal(a, b) for a, b in zip(model.get_weights(), twin.get_weights()))


@pytest.mark.parametrize("training", [None, False, True, "train()"])
def test_normalization_and_dropout_run_directly_with_the_training_flag_the_full_call_resolves(training):
    model, twin = _normalized(), _normalized()
    x = torch.randn(16, 4)
    assert all(layer._plain_call and layer._plain_reads_training for layer in model.layers[1:3])
    assert model._runs_layers_directly(x)
    kwargs = {} if training in (None, "train()") else {"training": training}
    if training == "train()":
        model.train(), twin.train()
    fast = model(x, **kwargs)
    assert torch.equal(fast, twin._full_call((x,), dict(kwargs)))
    assert _same_weights(model, twin)  # the moving statistics moved (or stayed) alike
    moved = not np.array_equal(model.layers[1].get_weights()[2], np.zeros(8))
    assert moved == (training in (True, "train()"))
    if moved:
        assert (fast == twin._full_call((x,), {"training": False})).sum() < fast.numel()


def test_an_outer_calls_training_reaches_the_layers_of_an_inner_model_run_directly():
    inner, twin = _normalized(rate=0.0), _normalized(rate=0.0)
    inputs = layers.Input((4,))
    outer = lamina.Model(inputs, layers.Activation("linear")(inner(inputs)))
    x = torch.randn(16, 4)
    assert inner._runs_layers_directly(x)
    assert torch.equal(outer(x, training=True), twin(x, training=True)) and _same_weights(inner, twin)
    assert torch.equal(outer(x), twin(x, training=False)) and _same_weights(inner, twin)


def test_a_layer_reading_training_keeps_its_hooks_its_mask_and_its_input_checks():
    lamina.utils.set_random_seed(7)
    norm = layers.BatchNormalization()
    x = torch.randn(6, 5, 3)
    norm(x)
    seen = []
    handle = norm.register_forward_hook(lambda m, args, kwargs, out: seen.append(kwargs), with_kwargs=True)
    norm(x), norm(x, training=True)
    assert seen == [{"training": False}, {"training": True}]
    handle.remove()
    masked = x.clone()
    masked._keras_mask = torch.tensor([[True] * 3 + [False] * 2] * 6)
    twin = layers.BatchNormalization()
    twin(x)
    twin.set_weights(norm.get_weights())
    expected = twin.call(x, training=True, mask=masked._keras_mask)
    assert torch.allclose(norm(masked, training=True), expected)  # the masked moments, not the plain ones
    assert not torch.allclose(expected, twin.call(x, training=True))
    with pytest.raises(ValueError, match=r"batch_normalization.*expected axis -1 of input shape to have value 3"):
        norm(torch.ones(2, 5, 4), training=True)


def _conv_stacks():
    """Sequential conv stacks whose layers chain on the channels-first view (and some that break the chain)."""
    return {
        "separable-bn-pool": [layers.Input((12, 12, 3)), layers.SeparableConv2D(4, 3, padding="same"),
                              layers.BatchNormalization(), layers.ReLU(), layers.MaxPooling2D(2),
                              layers.Conv2D(5, 3, padding="same", activation="softmax"),
                              layers.BatchNormalization(renorm=True), layers.GlobalAveragePooling2D(), layers.Dense(2)],
        "activation-layers": [layers.Input((9, 9, 2)), layers.Conv2D(3, 2, activation="tanh"), layers.Activation("elu"),
                              layers.AveragePooling2D(2, padding="same"), layers.Activation("softmax"),
                              layers.DepthwiseConv2D(2), layers.LeakyReLU(), layers.Conv2DTranspose(3, 3, strides=2),
                              layers.Flatten(), layers.Dense(2)],
        "causal-conv1d": [layers.Input((16, 3)), layers.Conv1D(4, 3, padding="causal", dilation_rate=2),
                          layers.ELU(), layers.MaxPooling1D(2, padding="same"), layers.Conv1D(4, 3, strides=2),
                          layers.GlobalAveragePooling1D(), layers.Dense(1)],
        "conv3d-bn": [layers.Input((6, 6, 6, 2)), layers.Conv3D(3, 3, padding="same", activation="relu"),
                      layers.BatchNormalization(), layers.MaxPooling3D(2), layers.Conv3D(2, 2),
                      layers.GlobalMaxPooling3D(), layers.Dense(1)],
    }


def _twins(stack, seed, batch):
    """Two Sequentials of ``stack()``'s layers with the same weights, and an input that runs them directly."""
    lamina.utils.set_random_seed(seed)
    model, twin = lamina.Sequential(stack()), lamina.Sequential(stack())
    twin.set_weights(model.get_weights())
    x = torch.randn((batch,) + tuple(model.input_shape[1:]))
    assert model._runs_layers_directly(x) and model._inputs_fit_every_layer(x)
    return model, twin, x


@pytest.mark.parametrize("name", list(_conv_stacks()))
@pytest.mark.parametrize("training", [False, True])
def test_conv_stacks_run_on_the_channels_first_view_with_the_full_calls_values_and_gradients(name, training):
    model, twin, x = _twins(lambda: _conv_stacks()[name], 8, 5)
    fast = model(x, training=training)
    full = twin._full_call((x,), {"training": training})
    assert torch.equal(fast, full)
    assert _same_weights(model, twin)  # the moving statistics too
    fast.square().sum().backward()
    full.square().sum().backward()
    for ours, theirs in zip(model.trainable_weights, twin.trainable_weights):
        assert torch.equal(ours.grad, theirs.grad)


def test_the_channels_first_plan_spans_from_the_first_layer_that_moves_channels_to_the_last():
    from lamina.models.sequential import _channels_first_plan

    model = lamina.Sequential(_conv_stacks()["activation-layers"])
    segments = _channels_first_plan(model.layers)
    names = [layer.name for layer in model.layers]
    # conv, elu, pooling on the view; the softmax over the channels breaks it; depthwise, leaky relu, transpose
    assert [flag for _, flag in segments] == [True, False, True, False]
    assert [layer.name for layer in segments[1][0] + segments[3][0]] == names[3:4] + names[7:]
    for segment, first in ((segments[0][0], 0), (segments[2][0], 4)):  # channels-first: (layer, elementwise)
        assert [(layer.name, elementwise) for layer, elementwise in segment] == \
            list(zip(names[first:first + 3], (False, True, False)))
    channels_first = lamina.Sequential([layers.Input((3, 8, 8)), layers.Conv2D(2, 3, data_format="channels_first"),
                                        layers.MaxPooling2D(2, data_format="channels_first")])
    assert _channels_first_plan(channels_first.layers) == [(tuple(channels_first.layers), False)]
    single = lamina.Sequential([layers.Input((8, 8, 3)), layers.Conv2D(2, 3), layers.ReLU(), layers.Flatten()])
    assert [flag for _, flag in _channels_first_plan(single.layers)] == [False]


def _in_place_stacks():
    """Sequential stacks whose elementwise layers follow layers that move the channels (and some that don't)."""
    return {
        "relu-family": [layers.Input((10, 10, 3)), layers.Conv2D(4, 3), layers.ReLU(), layers.BatchNormalization(),
                        layers.LeakyReLU(0.2), layers.MaxPooling2D(2), layers.ELU(0.5), layers.Conv2D(3, 1),
                        layers.Activation("sigmoid"), layers.Activation("tanh"), layers.AveragePooling2D(2),
                        layers.Activation("relu"), layers.Flatten(), layers.Dense(2)],
        "relu-configs": [layers.Input((8, 8, 2)), layers.Conv2D(3, 3), layers.ReLU(max_value=1.0),
                         layers.ReLU(negative_slope=0.1), layers.ReLU(threshold=0.2), layers.Conv2D(2, 1),
                         layers.Activation("selu"), layers.ThresholdedReLU(0.1), layers.MaxPooling2D(1),
                         layers.GlobalAveragePooling2D()],
        "elementwise-first": [layers.Input((8, 8, 2)), layers.ReLU(), layers.Conv2D(3, 3), layers.BatchNormalization(),
                              layers.ReLU(), layers.MaxPooling2D(2), layers.LeakyReLU()],
    }


@pytest.mark.parametrize("name", list(_in_place_stacks()))
@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("no_autograd", [torch.no_grad, torch.inference_mode])
def test_without_autograd_elementwise_layers_on_the_view_give_the_full_calls_values_and_leave_the_input(
        name, training, no_autograd):
    model, twin, x = _twins(lambda: _in_place_stacks()[name], 9, 4)
    kept = x.clone()
    with no_autograd():
        assert model._runs_layers_directly(x)
        fast = model(x, training=training)
        full = twin._full_call((x,), {"training": training})
    assert torch.equal(fast, full)
    assert torch.equal(x, kept)
    assert _same_weights(model, twin)  # the moving statistics too


def test_a_hooked_layer_keeps_its_outputs_from_the_elementwise_layer_after_it():
    model = lamina.Sequential(_in_place_stacks()["relu-family"])
    convolution = model.layers[0]  # a ReLU follows
    seen = []
    convolution.register_forward_hook(lambda module, inputs, outputs: seen.append((inputs[0], outputs)))
    with torch.inference_mode():
        model(torch.randn(4, 10, 10, 3))
        (inputs, outputs), = seen
        assert bool((outputs < 0).any()) and torch.equal(outputs, convolution(inputs))


@pytest.mark.parametrize("make, shape", [
    (lambda: layers.Conv1D(2, 3, padding="causal"), (2, 9, 3)), (lambda: layers.Conv2D(2, 1), (2, 5, 5, 3)),
    (lambda: layers.Conv3D(2, 2), (2, 4, 4, 4, 3)), (lambda: layers.SeparableConv2D(2, 3), (2, 6, 6, 3)),
    (lambda: layers.DepthwiseConv2D(1), (2, 5, 5, 3)),
    (lambda: layers.Conv2DTranspose(2, 3, strides=2, padding="same"), (2, 4, 4, 3)),
    (lambda: layers.MaxPooling2D(1), (2, 5, 5, 3)), (lambda: layers.AveragePooling1D(1), (2, 5, 3)),
    (lambda: layers.MaxPooling3D(2), (2, 4, 4, 4, 3)), (lambda: layers.BatchNormalization(), (2, 5, 5, 3)),
    (lambda: layers.BatchNormalization(center=False, scale=False), (2, 4, 4, 4, 3)),
])
@pytest.mark.parametrize("training", [None, True])
def test_layers_that_move_the_channels_give_new_tensors_never_views_of_their_inputs(make, shape, training):
    """What lets an elementwise layer after one compute in place (``Sequential._channels_first_plan``)."""
    layer = make()
    x = torch.randn(shape)
    layer(x)
    assert layer._channels_first_form() == "moves"
    with torch.no_grad():
        view = x.movedim(-1, 1)
        outputs = layer._call_channels_first(view, training)
    assert outputs.untyped_storage().data_ptr() != x.untyped_storage().data_ptr()


class _Doubled(torch.nn.Module):
    def forward(self, weight):
        return weight * 2.0


@pytest.mark.parametrize("make, name, x", [
    (lambda: layers.Dense(3), "kernel", torch.randn(4, 5)),
    (lambda: layers.Conv2D(2, 3), "kernel", torch.randn(2, 6, 6, 3)),
    (lambda: layers.SeparableConv2D(2, 3), "pointwise_kernel", torch.randn(2, 6, 6, 3)),
    (lambda: layers.Conv2DTranspose(2, 3, strides=2, padding="same"), "kernel", torch.randn(2, 4, 4, 3)),
    (lambda: layers.BatchNormalization(), "gamma", torch.randn(6, 3)),
    (lambda: layers.Embedding(7, 3), "embeddings", torch.tensor([[1, 2, 6]])),
])
def test_weights_moved_out_by_a_parametrization_or_pruning_are_what_the_call_reads(make, name, x):
    """A call reads its weights from ``_parameters`` (lamina.engine.weights.read_weight); torch's parametrizations
    and pruning move a weight out of it, and the call then reads what they compute."""
    import torch.nn.utils.parametrize as parametrize
    import torch.nn.utils.prune as prune

    lamina.utils.set_random_seed(10)
    layer, reference = make(), make()
    plain = layer(x)
    reference(x)
    reference.set_weights(layer.get_weights())
    parametrize.register_parametrization(layer, name, _Doubled())
    with torch.no_grad():
        getattr(reference, name).mul_(2.0)
    torch.testing.assert_close(layer(x), reference(x))
    assert not torch.allclose(layer(x), plain)
    parametrize.remove_parametrizations(layer, name, leave_parametrized=False)
    torch.testing.assert_close(layer(x), plain)
    if not getattr(layer, name).is_contiguous():
        return  # torch's pruning views the weight: channels_last kernels cannot be pruned (nn.Conv2d's neither)
    prune.random_unstructured(layer, name, amount=1.0)  # every entry pruned
    with torch.no_grad():
        getattr(reference, name).zero_()
    torch.testing.assert_close(layer(x), reference(x))
