"""Attention and AdditiveAttention against Keras 3 (torch backend): score modes x scale x masks x causal x
returned scores x a separate key, dropout at inference and in training, gradients and configs."""

import itertools

import numpy as np
import pytest
import torch

import lamina
from keras_reference import assert_close, masked_tensors

QUERY_MASK = np.array([[True, True, True, False], [True, True, True, True]])
VALUE_MASK = np.array([[True, True, False, False, False], [True, True, True, True, True]])


def compare(keras, class_name, init, arrays, masks=(None, None, None), call=None, seed=0):
    layers = getattr(keras.layers, class_name)(**init), getattr(lamina.layers, class_name)(**init)
    call = call or {}
    layers[0](masked_tensors(arrays, masks), **call)
    generator = np.random.default_rng(seed)
    weights = [generator.standard_normal(w.shape).astype("float32") for w in layers[0].get_weights()]
    results = []
    for layer in layers:
        layer(masked_tensors(arrays, masks), **call)
        layer.set_weights(weights)
        results.append(layer(masked_tensors(arrays, masks), **call))
    expected, actual = results
    assert_close(list(actual) if isinstance(actual, tuple) else actual,
                 list(expected) if isinstance(expected, tuple) else expected, what=f"{class_name}({init}) {call}")
    assert set(layers[1].get_config()) == set(layers[0].get_config())
    return layers[1], layers[0], actual


def _data(seed):
    generator = np.random.default_rng(seed)
    return [generator.standard_normal(shape).astype("float32") for shape in ((2, 4, 3), (2, 5, 3), (2, 5, 3))]


GRID = list(itertools.product([{"score_mode": "dot"}, {"score_mode": "dot", "use_scale": True},
                               {"score_mode": "concat"}, {"score_mode": "concat", "use_scale": True}],
                              ["none", "value", "both"], [False, True], [False, True]))


@pytest.mark.parametrize("init,masks,causal,scores", GRID)
def test_attention(keras, init, masks, causal, scores):
    arrays = _data(1)
    input_masks = {"none": (None, None, None), "value": (None, VALUE_MASK, None),
                   "both": (QUERY_MASK, VALUE_MASK, None)}[masks]
    _, _, output = compare(keras, "Attention", init, arrays[:2 + (masks == "both")], input_masks,
                           {"use_causal_mask": causal, "return_attention_scores": scores})
    if masks == "both":
        assert (output[0] if scores else output)._keras_mask.tolist() == QUERY_MASK.tolist()


@pytest.mark.parametrize("use_scale,masks,causal,scores", itertools.product([False, True], ["none", "both"],
                                                                            [False, True], [False, True]))
def test_additive_attention(keras, use_scale, masks, causal, scores):
    input_masks = (QUERY_MASK, VALUE_MASK, None) if masks == "both" else (None, None, None)
    compare(keras, "AdditiveAttention", {"use_scale": use_scale}, _data(2), input_masks,
            {"use_causal_mask": causal, "return_attention_scores": scores})


def test_explicit_mask_argument(keras):
    arrays = _data(3)
    mask = [torch.as_tensor(QUERY_MASK), torch.as_tensor(VALUE_MASK)]
    _, _, output = compare(keras, "Attention", {}, arrays[:2], call={"mask": mask})
    assert output._keras_mask.tolist() == QUERY_MASK.tolist()


@pytest.mark.parametrize("class_name,init", [("Attention", {"dropout": 0.4, "seed": 2}),
                                             ("Attention", {"dropout": 0.4}),
                                             ("AdditiveAttention", {"dropout": 0.4})])
def test_dropout(keras, class_name, init):
    arrays = _data(4)
    compare(keras, class_name, init, arrays, (None, VALUE_MASK, None))  # inference: no dropout
    layer = getattr(lamina.layers, class_name)(**init)
    inputs = [torch.as_tensor(a) for a in arrays]
    inference, scores = layer(inputs, return_attention_scores=True)
    trained = layer(inputs, training=True)
    assert not torch.allclose(trained, inference)
    if init.get("seed") is not None:
        twin = getattr(lamina.layers, class_name)(**init)
        twin(inputs)
        twin.set_weights(layer.get_weights())
        # Seeded: the dropout of the returned-scores path repeats its draws from the seed.
        assert torch.equal(twin(inputs, training=True, return_attention_scores=True)[0],
                           getattr(lamina.layers, class_name)(**init)(inputs, training=True,
                                                                   return_attention_scores=True)[0])


@pytest.mark.parametrize("class_name,init", [("Attention", {"use_scale": True}), ("Attention",
                                                                                {"score_mode": "concat"}),
                                             ("AdditiveAttention", {})])
def test_gradcheck_float64(class_name, init):
    generator = torch.Generator().manual_seed(0)
    arrays = [torch.randn(shape, dtype=torch.float64, generator=generator, requires_grad=True)
              for shape in ((2, 3, 4), (2, 4, 4))]
    layer = getattr(lamina.layers, class_name)(dtype="float64", **init)
    mask = [torch.tensor([[True, False, True], [True] * 3]), torch.tensor([[True, True, False, True], [True] * 4])]

    def run(query, value):
        return layer([query, value], mask=mask, use_causal_mask=True)

    assert torch.autograd.gradcheck(run, tuple(arrays))


def test_weights_and_config_round_trip(keras):
    lamina_layer, keras_layer, _ = compare(keras, "Attention", {"use_scale": True, "score_mode": "concat"},
                                           _data(5)[:2])
    assert [w.path.split("/")[-1] for w in lamina_layer.weights] == ["scale", "concat_score_weight"]
    rebuilt = lamina.layers.deserialize(keras.layers.serialize(keras_layer))
    assert rebuilt.get_config() == {**lamina_layer.get_config(), "name": keras_layer.name}
    additive, keras_additive, _ = compare(keras, "AdditiveAttention", {}, _data(6)[:2])
    assert "score_mode" not in additive.get_config()
    assert [w.shape for w in additive.get_weights()] == [(3,)]


def test_symbolic_shapes_and_errors():
    query, value = lamina.Input((4, 3)), lamina.Input((5, 2))
    output, scores = lamina.layers.Attention()([query, value, lamina.Input((5, 3))], return_attention_scores=True)
    assert output.shape == (None, 4, 2) and scores.shape == (None, 4, 5)
    with pytest.raises(ValueError, match="must be called on a list of inputs"):
        lamina.layers.Attention()(torch.ones(1, 2, 3))
    with pytest.raises(ValueError, match="mask must be a list"):
        lamina.layers.Attention()([torch.ones(1, 2, 3), torch.ones(1, 2, 3)], mask=torch.ones(1, 2))
    with pytest.raises(ValueError, match="score_mode"):
        lamina.layers.Attention(score_mode="add")
