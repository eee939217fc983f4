"""ReversibleEmbedding against Keras 3 (torch backend): embedding and reverse projection over tied/untied weights,
soft caps, masks, dtypes and sizes; weights, configs, LoRA, symbolic shapes, and .keras/.lamina files both ways."""

import itertools

import numpy as np
import pytest
import torch
from keras_reference import assert_close

import lamina
from lamina.testing import run_layer_test

SIZES = [(10, 4), (7, 3), (50, 16)]


def _ids(shape, high, seed=0):
    ids = np.random.default_rng(seed).integers(1, high, shape)
    ids[np.random.default_rng(seed + 1).random(shape) < 0.3] = 0
    return ids


def _hidden(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _pair(keras, kwargs, seed=0):
    """The same layer in Keras and lamina, built, with Keras's weights randomized and copied into lamina."""
    theirs, ours = keras.layers.ReversibleEmbedding(**kwargs), lamina.layers.ReversibleEmbedding(**kwargs)
    theirs.build((None, 3))
    ours.build((None, 3))
    generator = np.random.default_rng(seed)
    theirs.set_weights([generator.standard_normal(w.shape).astype("float32") for w in theirs.get_weights()])
    ours.set_weights(theirs.get_weights())
    return ours, theirs


@pytest.mark.parametrize("size,tie_weights,logit_soft_cap,mask_zero",
                         list(itertools.product(SIZES, [True, False], [None, 2.5], [False, True])))
def test_embedding_and_reverse_match_keras(keras, size, tie_weights, logit_soft_cap, mask_zero):
    input_dim, output_dim = size
    kwargs = {"input_dim": input_dim, "output_dim": output_dim, "tie_weights": tie_weights,
              "logit_soft_cap": logit_soft_cap, "mask_zero": mask_zero}
    ours, theirs = _pair(keras, kwargs)
    what = f"ReversibleEmbedding({kwargs})"
    ids = _ids((3, 5), input_dim)
    embedded, expected = ours(ids), theirs(ids)
    assert_close(embedded, expected, what=what)
    if mask_zero:
        np.testing.assert_array_equal(embedded._keras_mask.numpy(), expected._keras_mask.cpu().numpy())
    else:
        assert getattr(embedded, "_keras_mask", None) is None
    for shape in [(4, output_dim), (2, 3, output_dim)]:
        hidden = _hidden(shape)
        logits = ours(hidden, reverse=True)
        assert_close(logits, theirs(hidden, reverse=True), what=f"{what} reverse {shape}")
        assert logits.shape == shape[:-1] + (input_dim,) and getattr(logits, "_keras_mask", None) is None
        assert ours.compute_output_shape(shape, reverse=True) == tuple(theirs.compute_output_shape(shape, reverse=True))
    if logit_soft_cap is not None:
        assert float(ours(_hidden((4, output_dim)) * 50, reverse=True).detach().abs().max()) <= logit_soft_cap
    assert ours.get_config() == lamina.layers.ReversibleEmbedding.from_config(ours.get_config()).get_config()
    assert set(ours.get_config()) == set(theirs.get_config())


@pytest.mark.parametrize("tie_weights", [True, False])
def test_weights_follow_keras_order_and_names(keras, tie_weights):
    ours, theirs = _pair(keras, {"input_dim": 9, "output_dim": 5, "tie_weights": tie_weights})
    assert [w.path.split("/")[-1] for w in ours.weights] == [w.path.split("/")[-1] for w in theirs.weights]
    assert [w.shape for w in ours.get_weights()] == [tuple(w.shape) for w in theirs.get_weights()]
    assert len(ours.trainable_weights) == (1 if tie_weights else 2)
    names = [name for name, _ in ours.named_parameters()]
    assert names == ["embeddings"] + ([] if tie_weights else ["reverse_embeddings"])


def test_default_config_equals_keras(keras):
    ours = lamina.layers.ReversibleEmbedding(20, 6).get_config()
    theirs = keras.layers.ReversibleEmbedding(20, 6).get_config()
    assert {k: v for k, v in ours.items() if k != "name"} == {k: v for k, v in theirs.items() if k != "name"}


@pytest.mark.parametrize("reverse_dtype", ["float64", "float16", "bfloat16"])
def test_reverse_dtype_matches_keras(keras, reverse_dtype):
    """The logits have ``reverse_dtype``. Keras-torch returns float32 for "float64": its ``ops.matmul`` takes
    torch's float64 for a weak Python type (``result_type(torch.float64, torch.float64)`` is float32 there) and
    casts the product down; the rule, and lamina, keep float64."""
    ours, theirs = _pair(keras, {"input_dim": 8, "output_dim": 4, "reverse_dtype": reverse_dtype})
    hidden = _hidden((2, 3, 4))
    logits, expected = ours(hidden, reverse=True), theirs(hidden, reverse=True)
    assert logits.dtype == getattr(torch, reverse_dtype)
    assert expected.dtype == (torch.float32 if reverse_dtype == "float64" else logits.dtype)
    assert_close(logits.float(), expected.float(), tolerance=1e-5 if reverse_dtype == "float64" else 1e-2)
    assert ours(_ids((2, 3), 8)).dtype == torch.float32  # the forward call keeps the compute dtype
    symbolic = ours(lamina.Input((3, 4)), reverse=True)
    assert symbolic.shape == (None, 3, 8) and symbolic.dtype == reverse_dtype


def test_mixed_precision_matches_keras(keras):
    """Under "mixed_bfloat16" the matrix is read in bfloat16 (as Keras's autocast reads it); the logits take the
    inputs' dtype promoted with bfloat16, or ``reverse_dtype``."""
    for reverse_dtype, tie_weights in itertools.product([None, "float32", "bfloat16"], [True, False]):
        kwargs = {"input_dim": 9, "output_dim": 4, "dtype": "mixed_bfloat16", "reverse_dtype": reverse_dtype,
                  "tie_weights": tie_weights}
        ours, theirs = _pair(keras, kwargs)
        ids = _ids((2, 3), 9)
        embedded, expected = ours(ids), theirs(ids)
        assert embedded.dtype == expected.dtype == torch.bfloat16
        for hidden in (_hidden((2, 3, 4)), expected.detach()):
            logits, expected_logits = ours(hidden, reverse=True), theirs(hidden, reverse=True)
            assert logits.dtype == expected_logits.dtype, kwargs
            tolerance = 1e-5 if logits.dtype == torch.float32 else 1e-2
            assert_close(logits.float(), expected_logits.float(), tolerance=tolerance, what=str(kwargs))
            symbolic = ours(lamina.Input((3, 4), dtype=str(hidden.dtype).split(".")[-1]), reverse=True)
            assert symbolic.dtype == str(logits.dtype).split(".")[1]


def test_tied_lora_projects_with_the_merged_matrix(keras):
    ours, theirs = _pair(keras, {"input_dim": 12, "output_dim": 4, "lora_rank": 2})
    assert [w.path.split("/")[-1] for w in ours.weights] == [w.path.split("/")[-1] for w in theirs.weights]
    hidden = _hidden((3, 4))
    assert_close(ours(hidden, reverse=True), theirs(hidden, reverse=True))
    assert_close(ours(_ids((2, 5), 12)), theirs(_ids((2, 5), 12)))


def test_untied_lora_keeps_keras_weight_order(keras):
    """Keras 3.15 cannot build an untied layer given `lora_rank` (its tracker refuses the reverse matrix after
    LoRA); lamina builds it with the order Keras gives when LoRA is enabled after build."""
    theirs = keras.layers.ReversibleEmbedding(10, 4, tie_weights=False)
    theirs.build((None, 3))
    theirs.enable_lora(2)
    ours = lamina.layers.ReversibleEmbedding(10, 4, tie_weights=False, lora_rank=2)
    ours.build((None, 3))
    assert [w.path.split("/")[-1] for w in ours.weights] == [w.path.split("/")[-1] for w in theirs.weights]
    ours.set_weights(theirs.get_weights())
    hidden = _hidden((2, 4))
    assert_close(ours(hidden, reverse=True), theirs(hidden, reverse=True))
    later = lamina.layers.ReversibleEmbedding(10, 4, tie_weights=False)
    later.build((None, 3))
    later.enable_lora(2)
    assert [w.path.split("/")[-1] for w in later.weights] == [w.path.split("/")[-1] for w in ours.weights]


def test_initial_weights_argument():
    generator = np.random.default_rng(0)
    matrices = [generator.standard_normal((6, 3)).astype("float32"),
                generator.standard_normal((3, 6)).astype("float32")]
    tied = lamina.layers.ReversibleEmbedding(6, 3, weights=matrices[0])
    np.testing.assert_array_equal(tied.get_weights()[0], matrices[0])
    untied = lamina.layers.ReversibleEmbedding(6, 3, tie_weights=False, weights=matrices)
    for got, want in zip(untied.get_weights(), matrices):
        np.testing.assert_array_equal(got, want)


def test_layer_contract_on_the_reverse_path():
    """The shared contract (config, weights, state_dict, gradients, ``compute_output_shape(..., reverse=True)``)
    with untied weights, both ways."""
    layer = lamina.layers.ReversibleEmbedding(6, 3, tie_weights=False, logit_soft_cap=3.0)
    layer.build((None, 4))
    hidden = torch.tensor(_hidden((2, 4, 3)), requires_grad=True)
    layer(hidden, reverse=True).square().sum().backward()
    assert layer.reverse_embeddings.grad is not None and layer.embeddings.grad is None
    run_layer_test(lamina.layers.ReversibleEmbedding, {"input_dim": 6, "output_dim": 3, "tie_weights": False},
                   input_shape=(2, 4), input_dtype="int64", expected_output_shape=(2, 4, 3), run_training_check=False)
    run_layer_test(lamina.layers.ReversibleEmbedding, {"input_dim": 6, "output_dim": 3, "tie_weights": False},
                   input_shape=(2, 4, 3), call_kwargs={"reverse": True}, expected_output_shape=(2, 4, 6),
                   run_training_check=False)


def _language_model(k, mask_zero=False):
    """ids -> embedding -> (LSTM) -> Dense -> the same embedding reversed: logits over the vocabulary."""
    inputs = k.Input((5,), dtype="int32")
    embedding = k.layers.ReversibleEmbedding(11, 4, tie_weights=False, logit_soft_cap=5.0, mask_zero=mask_zero,
                                             name="tokens")
    hidden = embedding(inputs)
    if mask_zero:
        hidden = k.layers.LSTM(4, return_sequences=True)(hidden)
    hidden = k.layers.Dense(4, activation="tanh")(hidden)
    return k.Model(inputs, embedding(hidden, reverse=True))


def _randomize(model):
    generator = np.random.default_rng(3)
    model.set_weights([generator.standard_normal(w.shape).astype("float32") * 0.5 for w in model.get_weights()])


@pytest.mark.parametrize("mask_zero", [False, True])
def test_functional_model_matches_keras(keras, mask_zero):
    theirs, ours = _language_model(keras, mask_zero), _language_model(lamina, mask_zero)
    assert ours.output_shape == (None, 5, 11)
    _randomize(theirs)
    ours.set_weights(theirs.get_weights())
    ids = _ids((3, 5), 11)
    assert_close(ours(ids), theirs(ids))


def test_keras_files_both_ways(keras, tmp_path):
    theirs = _language_model(keras)
    _randomize(theirs)
    ids = _ids((2, 5), 11)
    expected = theirs(ids).detach().cpu().numpy()
    theirs.save(tmp_path / "keras.keras")
    loaded = lamina.models.load_model(tmp_path / "keras.keras")
    assert_close(loaded(ids), expected, what="Keras .keras -> lamina")
    loaded.save(tmp_path / "lamina.keras")
    reloaded = keras.models.load_model(tmp_path / "lamina.keras")
    assert_close(reloaded(ids), expected, what="lamina .keras -> Keras")
    loaded.save(tmp_path / "model.lamina")
    assert_close(lamina.models.load_model(tmp_path / "model.lamina")(ids), expected, what=".lamina round trip")


@pytest.mark.parametrize("kwargs,match", [
    ({"tie_weights": "yes"}, r"ReversibleEmbedding: the `tie_weights` argument must be a bool\. Received: "
                             r"tie_weights='yes'"),
    ({"logit_soft_cap": 0}, r"ReversibleEmbedding: the `logit_soft_cap` argument must be None or a positive number\. "
                            r"Received: logit_soft_cap=0"),
    ({"logit_soft_cap": "big"}, r"`logit_soft_cap` .* Received: logit_soft_cap='big'"),
    ({"reverse_dtype": "int32"}, r"ReversibleEmbedding: the `reverse_dtype` argument must be None or a float dtype\. "
                                 r"Received: reverse_dtype='int32'"),
    ({"reverse_dtype": "float31"}, r"Unknown dtype: 'float31'"),
    ({"quantization_config": {"mode": "int8"}}, r"quantization is not supported by lamina"),
])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lamina.layers.ReversibleEmbedding(10, 4, **kwargs)
