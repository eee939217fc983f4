"""MultiHeadAttention and GroupQueryAttention against Keras 3 (torch backend), same weights.

Grids: masks (implicit Keras masks, ``attention_mask`` with a fully masked row, both) x causal x
returned scores x shared/separate key, attention axes of rank-4 inputs, dropout at inference (Keras's
einsum path), the projections' options. Where lamina defines what Keras leaves broken (masks or
causal order with attention axes other than the last ones), Keras gets the equivalent
``attention_mask`` instead (docs/attention.md).
"""

import itertools

import numpy as np
import pytest
import torch

import lamina
from keras_reference import assert_close, masked_tensors, to_numpy

B, T, S, DIM = 2, 4, 5, 6


def compare(keras, class_name, init, arrays, masks=None, call=None, lamina_call=None, keras_call=None, seed=0,
            lamina_masks=None):
    """Keras's and lamina's layer on fresh tensors (Keras deletes the masks it reads) with Keras's weights,
    randomized. ``arrays``: query, value[, key] arrays; ``masks``: their implicit masks (or None), for
    lamina ``lamina_masks`` if given."""
    masks = masks or [None] * len(arrays)

    def inputs(for_lamina=False):
        return masked_tensors(arrays, lamina_masks if for_lamina and lamina_masks else masks)

    keras_kwargs, lamina_kwargs = {**(call or {}), **(keras_call or {})}, {**(call or {}), **(lamina_call or {})}
    keras_layer = getattr(keras.layers, class_name)(**init)
    lamina_layer = getattr(lamina.layers, class_name)(**init)
    keras_layer(*inputs(), **keras_kwargs)
    generator = np.random.default_rng(seed)
    weights = [generator.standard_normal(w.shape).astype("float32") * 0.5 for w in keras_layer.get_weights()]
    keras_layer.set_weights(weights)
    expected = keras_layer(*inputs(), **keras_kwargs)
    lamina_layer(*inputs(True), **lamina_kwargs)
    lamina_layer.set_weights(weights)
    actual = lamina_layer(*inputs(True), **lamina_kwargs)
    what = f"{class_name}({init}) masks={[m is not None for m in masks]} {sorted(lamina_kwargs)}"
    assert_close(list(actual) if isinstance(actual, tuple) else actual,
                 list(expected) if isinstance(expected, tuple) else expected, what=what)
    assert set(lamina_layer.get_config()) == set(keras_layer.get_config()), what
    return lamina_layer, keras_layer, actual


def _sequence_data(seed, key_dim=DIM):
    generator = np.random.default_rng(seed)
    query = generator.standard_normal((B, T, DIM)).astype("float32")
    value = generator.standard_normal((B, S, DIM)).astype("float32")
    key = generator.standard_normal((B, S, key_dim)).astype("float32")
    query_mask = np.array([[True, True, True, False], [True, True, True, True]])
    value_mask = np.array([[True, True, False, False, False], [True, True, True, True, False]])
    key_mask = np.array([[True, False, True, True, True], [True, True, True, True, True]])
    attention_mask = generator.random((B, T, S)) > 0.3
    attention_mask[0, 1] = False  # a query that may attend nothing
    return query, value, key, (query_mask, value_mask, key_mask), attention_mask


SEQUENCE_GRID = list(itertools.product(["none", "implicit", "attention", "both"], [False, True], [False, True],
                                       [False, True]))


@pytest.mark.parametrize("masks,causal,scores,separate_key", SEQUENCE_GRID)
def test_multi_head_attention_sequences(keras, masks, causal, scores, separate_key):
    query, value, key, implicit, attention_mask = _sequence_data(1)
    arrays = [query, value, key] if separate_key else [query, value]
    input_masks = list(implicit[:len(arrays)]) if masks in ("implicit", "both") else None
    call = {"use_causal_mask": causal, "return_attention_scores": scores}
    if masks in ("attention", "both"):
        call["attention_mask"] = torch.as_tensor(attention_mask)
    layer, _, output = compare(keras, "MultiHeadAttention", {"num_heads": 2, "key_dim": 3}, arrays, input_masks, call)
    if input_masks is not None:
        mask = (output[0] if scores else output)._keras_mask
        assert mask.tolist() == implicit[0].tolist()


@pytest.mark.parametrize("dropout,masks", itertools.product([0.0, 0.3], ["attention", "implicit"]))
def test_fully_masked_rows_follow_keras_on_each_path(keras, dropout, masks):
    """Keras averages the values on a query row with no key left on its fast path and gives zeros on its
    einsum path (dropout > 0, at inference); lamina uses SDPA for both and gives Keras's number on each."""
    query, value, _, implicit, attention_mask = _sequence_data(2)
    call = {"attention_mask": torch.as_tensor(attention_mask)} if masks == "attention" else {}
    compare(keras, "MultiHeadAttention", {"num_heads": 2, "key_dim": 4, "dropout": dropout}, [query, value],
            list(implicit[:2]) if masks == "implicit" else None, call)


@pytest.mark.parametrize("init", [
    {"num_heads": 3, "key_dim": 2, "value_dim": 4},
    {"num_heads": 2, "key_dim": 3, "output_shape": (2, 3)},
    {"num_heads": 2, "key_dim": 3, "output_shape": 7, "use_bias": False},
    {"num_heads": 2, "key_dim": 3, "use_gate": True},
    {"num_heads": 1, "key_dim": 5, "sliding_window": 2},
])
@pytest.mark.parametrize("scores", [False, True])
def test_multi_head_attention_options(keras, init, scores):
    query, value, key, implicit, _ = _sequence_data(3, key_dim=3)
    compare(keras, "MultiHeadAttention", init, [query, value, key], list(implicit), {"return_attention_scores": scores,
                                                                                   "use_causal_mask": True})


def _image_data(seed):
    generator = np.random.default_rng(seed)
    shape = (B, 3, 4, DIM)
    query, value = (generator.standard_normal(shape).astype("float32") for _ in range(2))
    query_mask = generator.random(shape[:3]) > 0.2
    value_mask = generator.random(shape[:3]) > 0.3
    return query, value, query_mask, value_mask


def _keras_form_mask(axes, sizes, allowed):
    """An ``attention_mask`` in Keras's layout for rank-4 inputs ``(B, D1, D2, C)`` attending over ``axes``:
    ``(B, <other axis>, <query attention axes>, <key attention axes>)``, from ``allowed(b, query position,
    key position)`` with positions as (d1, d2) pairs. Independent of lamina's own mask code."""
    other = [a for a in (1, 2) if a not in axes]
    shape = (B, *[sizes[a] for a in other], *[sizes[a] for a in axes], *[sizes[a] for a in axes])
    mask = np.zeros(shape, dtype=bool)
    for index in np.ndindex(*shape):
        b, rest = index[0], list(index[1:])
        fixed = {a: rest.pop(0) for a in other}
        query = {**fixed, **{a: rest[i] for i, a in enumerate(axes)}}
        key = {**fixed, **{a: rest[len(axes) + i] for i, a in enumerate(axes)}}
        mask[index] = allowed(b, (query[1], query[2]), (key[1], key[2]), axes)
    return mask


def _flat(position, axes, sizes):
    """A position's index in the row-major order of the attention axes (lamina's causal order)."""
    index = 0
    for axis in axes:
        index = index * sizes[axis] + position[axis - 1]
    return index


AXES = [(1, 2), (2,), (1,), (2, 1)]


@pytest.mark.parametrize("axes,scores,masked", itertools.product(AXES, [False, True], [False, True]))
def test_multi_head_attention_axes(keras, axes, scores, masked):
    query, value, _, _ = _image_data(4)
    call = {"return_attention_scores": scores}
    if masked:
        other = [a for a in (1, 2) if a not in axes]
        shape = (B, *[query.shape[a] for a in other + list(axes) + list(axes)])
        attention_mask = np.random.default_rng(5).random(shape) > 0.3
        call["attention_mask"] = torch.as_tensor(attention_mask)
    compare(keras, "MultiHeadAttention", {"num_heads": 2, "key_dim": 3, "attention_axes": axes}, [query, value],
            call=call)


@pytest.mark.parametrize("axes,rule,scores", itertools.product(AXES, ["masks", "causal"], [False, True]))
def test_multi_head_attention_axes_masks_as_keras_attention_masks(keras, axes, rule, scores):
    """Implicit masks and causal order over any attention axes equal Keras given the same rule as an
    attention_mask (Keras itself fails or mixes axes up there, see docs/keras_torch_departures.md)."""
    query, value, query_mask, value_mask = _image_data(6)
    sizes = {1: query.shape[1], 2: query.shape[2]}
    if rule == "masks":
        def allowed(b, q, k, axes):
            return query_mask[b][q] and value_mask[b][k]
        masks, lamina_call = [query_mask, value_mask], {}  # lamina reads them from the inputs
    else:
        def allowed(b, q, k, axes):
            return _flat(q, axes, sizes) >= _flat(k, axes, sizes)
        masks, lamina_call = None, {"use_causal_mask": True}
    keras_call = {"attention_mask": torch.as_tensor(_keras_form_mask(axes, sizes, allowed))}
    compare(keras, "MultiHeadAttention", {"num_heads": 2, "key_dim": 3, "attention_axes": axes}, [query, value],
            call={"return_attention_scores": scores}, lamina_call=lamina_call, keras_call=keras_call,
            lamina_masks=masks)


def test_explicit_masks_are_used(keras):
    """value_mask/key_mask given by name act as Keras's; a query_mask given by name acts as the query's own
    Keras mask (Keras 3's MultiHeadAttention ignores an explicit query_mask: docs/keras_torch_departures.md)."""
    query, value, key, (query_mask, value_mask, key_mask), _ = _sequence_data(7)
    explicit = {"value_mask": torch.as_tensor(value_mask), "key_mask": torch.as_tensor(key_mask)}
    compare(keras, "MultiHeadAttention", {"num_heads": 2, "key_dim": 3}, [query, value, key], call=explicit)
    layer = lamina.layers.MultiHeadAttention(2, 3)
    by_name = layer(query=torch.as_tensor(query), value=torch.as_tensor(value), query_mask=query_mask)
    implicit = layer(*masked_tensors([query, value], [query_mask, None]))
    assert_close(by_name, implicit)
    assert by_name._keras_mask.tolist() == query_mask.tolist()


GQA_GRID = list(itertools.product(["none", "implicit", "attention", "both"], [False, True], [False, True]))


@pytest.mark.parametrize("masks,causal,scores", GQA_GRID)
def test_grouped_query_attention(keras, masks, causal, scores):
    query, value, key, implicit, attention_mask = _sequence_data(8)
    call = {"use_causal_mask": causal, "return_attention_scores": scores}
    if masks in ("attention", "both"):
        call["attention_mask"] = torch.as_tensor(attention_mask)
    init = {"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 2}
    compare(keras, "GroupQueryAttention", init, [query, value, key],
            list(implicit) if masks in ("implicit", "both") else None, call)


@pytest.mark.parametrize("init", [
    {"head_dim": 2, "num_query_heads": 3, "num_key_value_heads": 1, "dropout": 0.2},
    {"head_dim": 4, "num_query_heads": 2, "num_key_value_heads": 2, "use_gate": True, "use_bias": False},
    {"head_dim": 2, "num_query_heads": 4, "num_key_value_heads": 2, "sliding_window": 2},
])
def test_grouped_query_attention_options(keras, init):
    query, value, _, implicit, _ = _sequence_data(9)
    compare(keras, "GroupQueryAttention", init, [query, value], list(implicit[:2]), {"use_causal_mask": True})


def _plain(config, name):
    """A config with lists for tuples and without the layer's name, to compare values."""
    if isinstance(config, dict):
        return {key: _plain(value, name) for key, value in config.items() if value != name}
    return [_plain(value, name) for value in config] if isinstance(config, (list, tuple)) else config


@pytest.mark.parametrize("class_name,init", [
    ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3, "use_gate": True}),
    ("MultiHeadAttention", {"num_heads": 2, "key_dim": 2, "attention_axes": (1, 2), "output_shape": 3}),
    ("GroupQueryAttention", {"head_dim": 2, "num_query_heads": 2, "num_key_value_heads": 1}),
])
def test_weights_config_and_build_config_follow_keras(keras, class_name, init):
    rank4 = "attention_axes" in init
    query = np.random.default_rng(10).standard_normal((B, 3, 4, DIM) if rank4 else (B, T, DIM)).astype("float32")
    value = query if rank4 else np.random.default_rng(11).standard_normal((B, S, DIM)).astype("float32")
    lamina_layer, keras_layer, _ = compare(keras, class_name, init, [query, value])
    assert [w.path for w in lamina_layer.weights] == [w.path.replace(keras_layer.name, lamina_layer.name)
                                                      for w in keras_layer.weights]
    assert [w.shape for w in lamina_layer.get_weights()] == [w.shape for w in keras_layer.get_weights()]
    assert lamina_layer.get_build_config() == keras_layer.get_build_config()
    assert _plain(lamina_layer.get_config(), lamina_layer.name) == _plain(keras_layer.get_config(), keras_layer.name)
    # Keras's serialized layer (config and build config) rebuilds a lamina layer, and lamina's a Keras one.
    from_keras = lamina.layers.deserialize(keras.layers.serialize(keras_layer))
    from_lamina = keras.layers.deserialize(lamina.layers.serialize(lamina_layer))
    assert from_keras.built and from_lamina.built
    from_keras.set_weights(keras_layer.get_weights())
    from_lamina.set_weights(lamina_layer.get_weights())
    args = [torch.as_tensor(query), torch.as_tensor(value)]
    assert_close(from_keras(*args), keras_layer(*args))
    assert_close(lamina_layer(*args), from_lamina(*args))


def test_gradients_match_keras(keras):
    query, value, key, implicit, attention_mask = _sequence_data(12)
    results = []
    for module in (keras, lamina):
        layer = module.layers.MultiHeadAttention(2, 3, use_gate=True)
        layer(*masked_tensors([query, value], implicit[:2]))
        if module is keras:
            weights = [np.random.default_rng(13).standard_normal(w.shape).astype("float32") * 0.5
                       for w in layer.get_weights()]
        layer.set_weights(weights)
        q, v = (t.requires_grad_() for t in masked_tensors([query, value], implicit[:2]))
        output = layer(q, v, attention_mask=torch.as_tensor(attention_mask), use_causal_mask=True)
        (output ** 2).sum().backward()
        results.append([to_numpy(g) for g in [q.grad, v.grad] + [w.value.grad for w in layer.trainable_weights]])
    # One scale for all: the key bias's gradient is 0 up to rounding (a softmax ignores a shift per query).
    scale = max(float(np.abs(g).max()) for g in results[0])
    for actual, expected in zip(*results[::-1]):
        np.testing.assert_allclose(actual, expected, atol=1e-5 * scale, rtol=0)


@pytest.mark.parametrize("scores", [False, True])
def test_gradcheck_float64(scores):
    generator = torch.Generator().manual_seed(0)
    query = torch.randn(2, 3, 4, dtype=torch.float64, generator=generator, requires_grad=True)
    value = torch.randn(2, 4, 4, dtype=torch.float64, generator=generator, requires_grad=True)
    mask = torch.tensor([[True, True, False, True], [True, True, True, True]])
    for layer in (lamina.layers.MultiHeadAttention(2, 2, dtype="float64", use_gate=True),
                  lamina.layers.GroupQueryAttention(2, 4, 2, dtype="float64")):
        def run(q, v):
            output = layer(q, v, value_mask=mask, use_causal_mask=True, return_attention_scores=scores)
            return output if scores else (output,)

        assert torch.autograd.gradcheck(run, (query, value))


def test_functional_model_with_embedding_masks_matches_keras(keras):
    """Embedding(mask_zero=True) masks reach the attention as value and query masks; the output carries
    the query's mask to GlobalAveragePooling1D."""
    tokens = np.array([[3, 5, 2, 0, 0], [4, 1, 1, 7, 0]])

    def model(module):
        layers = module.layers
        inputs = layers.Input((5,), dtype="int64")
        embedded = layers.Embedding(9, 6, mask_zero=True)(inputs)
        attended, scores = layers.MultiHeadAttention(2, 3)(embedded, embedded, return_attention_scores=True)
        pooled = layers.GlobalAveragePooling1D()(layers.LayerNormalization()(layers.Add()([embedded, attended])))
        return module.Model(inputs, [layers.Dense(2)(pooled), scores])

    keras_model, lamina_model = model(keras), model(lamina)
    assert [tuple(t.shape) for t in lamina_model.outputs] == [(None, 2), (None, 2, 5, 5)]
    weights = [np.random.default_rng(14).standard_normal(w.shape).astype("float32") * 0.5
               for w in keras_model.get_weights()]
    keras_model.set_weights(weights)
    lamina_model.set_weights(weights)
    assert_close(list(lamina_model(torch.as_tensor(tokens))), list(keras_model(torch.as_tensor(tokens))))


def test_masking_layer_masks_reach_the_attention(keras):
    data = np.random.default_rng(15).standard_normal((2, 4, 3)).astype("float32")
    data[0, 2:] = 0.0
    outputs = []
    for module in (keras, lamina):
        masked = module.layers.Masking()(torch.as_tensor(data))
        layer = module.layers.MultiHeadAttention(1, 2)
        layer(masked, masked)
        if module is keras:
            weights = layer.get_weights()
        layer.set_weights(weights)
        masked = module.layers.Masking()(torch.as_tensor(data))
        outputs.append(layer(masked, masked))
    assert_close(outputs[1], outputs[0])
    assert outputs[1]._keras_mask.tolist() == [[True, True, False, False], [True] * 4]


def test_symbolic_shapes():
    query, value = lamina.Input((4, 6)), lamina.Input((5, 6))
    output, scores = lamina.layers.MultiHeadAttention(2, 3, output_shape=(2, 3))(query, value,
                                                                             return_attention_scores=True)
    assert output.shape == (None, 4, 2, 3) and scores.shape == (None, 2, 4, 5)
    image = lamina.Input((3, 4, 6))
    _, scores = lamina.layers.MultiHeadAttention(2, 3, attention_axes=(2,))(image, image,
                                                                         return_attention_scores=True)
    assert scores.shape == (None, 3, 2, 4, 4)
    output, scores = lamina.layers.GroupQueryAttention(2, 4, 2)(query, value, return_attention_scores=True)
    assert output.shape == (None, 4, 6) and scores.shape == (None, 4, 4, 5)


def test_build_by_name_and_training_dropout():
    layer = lamina.layers.MultiHeadAttention(2, 3, dropout=0.5, seed=3)
    layer.build(query_shape=(None, 4, 6), value_shape=(None, 5, 6))
    assert layer.built and layer.get_build_config() == {"shapes_dict": {"query_shape": (None, 4, 6),
                                                                         "value_shape": (None, 5, 6)}}
    query, value = torch.randn(2, 4, 6), torch.randn(2, 5, 6)
    inference = layer(query, value)
    trained = [layer(query, value, training=True) for _ in range(2)]
    assert not torch.allclose(trained[0], inference) and not torch.allclose(trained[0], trained[1])
    twin = lamina.layers.MultiHeadAttention(2, 3, dropout=0.5, seed=3)
    twin(query, value)
    twin.set_weights(layer.get_weights())
    assert torch.equal(twin(query, value, training=True), trained[0])  # a seeded dropout repeats its draws
    unseeded = lamina.layers.MultiHeadAttention(2, 3, dropout=0.5)
    unseeded(query, value)
    unseeded.train()
    assert not torch.allclose(unseeded(query, value), unseeded(query, value))  # SDPA's dropout


def test_flash_attention_flags():
    query = torch.randn(2, 5, 8)
    default = lamina.layers.MultiHeadAttention(2, 4)
    default(query, query)
    for flag in (True, False):
        layer = lamina.layers.MultiHeadAttention(2, 4, flash_attention=flag)
        layer(query, query)
        layer.set_weights(default.get_weights())
        assert_close(layer(query, query), default(query, query))
        assert "flash_attention" not in layer.get_config()  # as in Keras
    with pytest.raises(ValueError, match="dropout is not supported when flash attention"):
        lamina.layers.MultiHeadAttention(2, 4, dropout=0.1, flash_attention=True)
    flash = lamina.layers.MultiHeadAttention(2, 4, flash_attention=True)
    with pytest.raises(ValueError, match="returning attention scores is not supported"):
        flash(query, query, return_attention_scores=True)


@pytest.mark.parametrize("make,match", [
    (lambda: lamina.layers.MultiHeadAttention(0, 2), "num_heads"),
    (lambda: lamina.layers.MultiHeadAttention(2, 2.5), "key_dim"),
    (lambda: lamina.layers.MultiHeadAttention(2, 2, attention_axes="1"), "attention_axes"),
    (lambda: lamina.layers.MultiHeadAttention(2, 2, dropout=1.5), "dropout"),
    (lambda: lamina.layers.MultiHeadAttention(2, 2, sliding_window=0), "sliding_window"),
    (lambda: lamina.layers.GroupQueryAttention(2, 3, 2), "divisible"),
])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_calls():
    layer = lamina.layers.MultiHeadAttention(2, 2, attention_axes=3)
    with pytest.raises(ValueError, match="attention_axes"):
        layer(torch.ones(1, 3, 4), torch.ones(1, 3, 4))
    with pytest.raises(TypeError, match="must be called with `query` and `value`"):
        lamina.layers.MultiHeadAttention(2, 2)(torch.ones(1, 3, 4))
    with pytest.raises(ValueError, match="value` and `key`"):
        lamina.layers.MultiHeadAttention(2, 2)(torch.ones(1, 3, 4), torch.ones(1, 3, 4), torch.ones(1, 2, 4))
    with pytest.raises(ValueError, match="same rank"):
        lamina.layers.MultiHeadAttention(2, 2)(torch.ones(1, 3, 4), torch.ones(1, 3, 2, 4))
    with pytest.raises(ValueError, match="last dimension of `query_shape` and `value_shape`"):
        lamina.layers.GroupQueryAttention(2, 2, 1)(torch.ones(1, 3, 4), torch.ones(1, 3, 5))


def test_model_file_round_trip(tmp_path):
    inputs = lamina.Input((5, 8))
    attended = lamina.layers.MultiHeadAttention(2, 4, attention_axes=-2)(inputs, inputs, use_causal_mask=True)
    grouped = lamina.layers.GroupQueryAttention(2, 2, 1)(attended, inputs)
    projected = lamina.layers.EinsumDense("abc,cd->abd", (None, 3), bias_axes="d", lora_rank=2)(grouped)
    model = lamina.Model(inputs, lamina.layers.RMSNormalization(axis=[1, 2])(projected))
    data = torch.randn(2, 5, 8)
    model.save(tmp_path / "attention.lamina")
    loaded = lamina.saving.load_model(tmp_path / "attention.lamina")
    assert_close(loaded(data), model(data))
    assert [w.shape for w in loaded.get_weights()] == [w.shape for w in model.get_weights()]


def test_inputs_are_converted_with_their_masks():
    """NumPy and float64 inputs become the layer's float32 tensors; a value's Keras mask survives that."""
    layer = lamina.layers.MultiHeadAttention(2, 3)
    query, value = np.random.default_rng(16).standard_normal((2, 4, 5)), np.random.default_rng(17).standard_normal(
        (2, 6, 5))
    mask = torch.tensor([[True, True, False, False, False, False], [True] * 6])
    double = torch.as_tensor(value)
    double._keras_mask = mask
    output = layer(torch.as_tensor(query), double)
    assert output.dtype == torch.float32
    assert_close(output, layer(query.astype("float32"), value.astype("float32"), value_mask=mask))
    assert_close(layer(query, value), layer(torch.as_tensor(query, dtype=torch.float32),
                                            torch.as_tensor(value, dtype=torch.float32)))


def test_model_json_round_trip_with_keras(keras):
    """A functional model of the new layers: lamina's JSON builds the same model in Keras, and back."""
    inputs = lamina.Input((5, 8))
    attended, scores = lamina.layers.MultiHeadAttention(2, 4)(inputs, inputs, return_attention_scores=True)
    grouped = lamina.layers.GroupQueryAttention(2, 2, 1)(attended, inputs, use_causal_mask=True)
    dotted = lamina.layers.AdditiveAttention()([lamina.layers.Attention(use_scale=True)([grouped, inputs]), inputs])
    projected = lamina.layers.EinsumDense("abc,cd->abd", (None, 3), bias_axes="d")(dotted)
    model = lamina.Model(inputs, [lamina.layers.RMSNormalization()(projected), scores])
    keras_model = keras.models.model_from_json(model.to_json())
    keras_model.set_weights(model.get_weights())
    data = torch.randn(2, 5, 8)
    assert_close(list(model(data)), list(keras_model(data)))
    back = lamina.models.model_from_json(keras_model.to_json())
    back.set_weights(keras_model.get_weights())
    assert_close(list(back(data)), list(keras_model(data)))
