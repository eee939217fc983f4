"""Preprocessing layers inside models, training, saving, data pipelines and DataLoader workers."""

import json

import numpy as np
import pytest
import torch

import lamina
from lamina import layers

GOOD = ["great", "wonderful", "excellent", "loved", "fun"]
BAD = ["awful", "boring", "terrible", "hated", "dull"]
FILLER = ["the", "movie", "was", "and", "plot", "acting", "really", "quite"]


def _reviews(count, seed=0):
    """Synthetic reviews: filler words and two sentiment words; label 1 for the positive ones."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(count):
        label = int(rng.integers(0, 2))
        words = list(rng.choice(FILLER, 6)) + list(rng.choice(GOOD if label else BAD, 2))
        rng.shuffle(words)
        texts.append(" ".join(words).capitalize() + "!")
        labels.append(label)
    return np.array(texts), np.array(labels, dtype="float32")


def _text_classifier(texts, output_mode="int"):
    vectorizer = layers.TextVectorization(max_tokens=40, output_mode=output_mode,
                                          output_sequence_length=10 if output_mode == "int" else None)
    vectorizer.adapt(texts)
    inputs = lamina.Input(shape=(1,), dtype="string")
    if output_mode == "int":
        hidden = layers.GlobalAveragePooling1D()(layers.Embedding(40, 8)(vectorizer(inputs)))
    else:
        hidden = layers.Dense(8, activation="relu")(vectorizer(inputs))
    return lamina.Model(inputs, layers.Dense(1, activation="sigmoid")(hidden))


@pytest.mark.parametrize("output_mode", ["int", "tf_idf"])
def test_text_classifier_trains_end_to_end_with_fit(output_mode, tmp_path):
    torch.manual_seed(0)
    texts, labels = _reviews(320)
    model = _text_classifier(texts, output_mode)
    assert model.inputs[0].dtype == "string"
    assert model.layers[1].compute_output_spec(model.inputs[0]).dtype == ("int64" if output_mode == "int"
                                                                          else "float32")
    model.compile(optimizer=lamina.optimizers.Adam(0.03), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(texts[:, None], labels, epochs=12, batch_size=32, validation_split=0.25, verbose=0)
    assert history.history["val_accuracy"][-1] >= 0.95, history.history
    test_texts, test_labels = _reviews(60, seed=1)
    assert model.evaluate(test_texts[:, None], test_labels, verbose=0, return_dict=True)["accuracy"] >= 0.95
    predictions = model.predict(test_texts[:, None], verbose=0)
    path = tmp_path / "classifier.lamina"
    model.save(path)
    restored = lamina.models.load_model(path)
    np.testing.assert_array_equal(restored.predict(test_texts[:, None], verbose=0), predictions)
    assert restored.layers[1].get_vocabulary() == model.layers[1].get_vocabulary()


def test_fit_on_a_dataloader_of_raw_text():
    """A DataLoader collates (text, label) samples into a list of strings and a tensor: fit reads both."""
    torch.manual_seed(0)
    texts, labels = _reviews(128)
    model = _text_classifier(texts)
    model.compile(optimizer=lamina.optimizers.Adam(0.03), loss="binary_crossentropy", metrics=["accuracy"])
    loader = torch.utils.data.DataLoader(list(zip(texts.tolist(), labels[:, None])), batch_size=32, shuffle=True)
    history = model.fit(loader, epochs=10, verbose=0)
    assert history.history["accuracy"][-1] >= 0.9, history.history
    assert model.predict(loader, verbose=0).shape == (128, 1)


def _adapted_layers(rng):
    strings = np.array([["red", "green"], ["blue", "red"], ["red", "black"]])
    numbers = rng.integers(0, 20, (40, 3))
    lookup = layers.StringLookup(output_mode="tf_idf")
    lookup.adapt(strings)
    ints = layers.IntegerLookup(max_tokens=8, num_oov_indices=2)
    ints.adapt(numbers)
    normalization = layers.Normalization()
    normalization.adapt(rng.standard_normal((40, 3)).astype("float32"))
    buckets = layers.Discretization(num_bins=3)
    buckets.adapt(rng.standard_normal(100))
    return lookup, ints, normalization, buckets


def _multi_input_model(lookup, ints, normalization, buckets):
    words = lamina.Input(shape=(2,), dtype="string", name="words")
    ids = lamina.Input(shape=(3,), dtype="int64", name="ids")
    values = lamina.Input(shape=(3,), name="values")
    features = layers.Concatenate()([lookup(words), layers.CategoryEncoding(8, "count")(ints(ids)),
                                     normalization(values), buckets(values)])
    return lamina.Model([words, ids, values], layers.Dense(2)(features))


def test_saved_model_predicts_the_same(rng, tmp_path):
    model = _multi_input_model(*_adapted_layers(rng))
    data = [np.array([["red", "blue"], ["pink", "red"]]), rng.integers(0, 25, (2, 3)),
            rng.standard_normal((2, 3)).astype("float32")]
    expected = model(data)
    model.save(tmp_path / "m.lamina")
    loaded = lamina.models.load_model(tmp_path / "m.lamina")
    torch.testing.assert_close(loaded(data), expected, rtol=0, atol=0)
    config = json.loads(model.to_json())
    lookup_config = next(c for c in config["config"]["layers"] if c["class_name"] == "StringLookup")["config"]
    assert lookup_config["vocabulary"] is None  # adapted: saved as state, as Keras keeps it out of the config
    # The weights file carries the adapted state too: a model rebuilt in code, never adapted, predicts the same.
    model.save_weights(tmp_path / "m.weights.safetensors")
    fresh = _multi_input_model(layers.StringLookup(output_mode="tf_idf", vocabulary_size=5),
                               layers.IntegerLookup(max_tokens=8, num_oov_indices=2), layers.Normalization(),
                               layers.Discretization(num_bins=3))
    fresh.load_weights(tmp_path / "m.weights.safetensors")
    torch.testing.assert_close(fresh(data), expected, rtol=0, atol=0)


def test_state_dict_carries_vocabularies(rng, tmp_path):
    lookup, ints, _, buckets = _adapted_layers(rng)
    vectorizer = layers.TextVectorization(output_mode="count")
    vectorizer.adapt(["a b c", "b c", "c"])
    for layer, fresh, data in [(lookup, layers.StringLookup(output_mode="tf_idf", vocabulary_size=5),
                                np.array([["red", "black"]])),
                               (ints, layers.IntegerLookup(max_tokens=8, num_oov_indices=2), np.array([[1, 2, 30]])),
                               (buckets, layers.Discretization(num_bins=3), np.array([-1.0, 0.0, 1.0])),
                               (vectorizer, layers.TextVectorization(output_mode="count", vocabulary_size=5),
                                ["c a", "b"])]:
        torch.save(layer.state_dict(), tmp_path / "state.pt")
        fresh.load_state_dict(torch.load(tmp_path / "state.pt", weights_only=True))
        torch.testing.assert_close(fresh(data), layer(data), rtol=0, atol=0)


def test_config_round_trips_and_custom_callables():
    @lamina.register_serializable(package="test_preprocessing")
    def drop_digits(texts):
        return np.char.translate(np.char.lower(texts), str.maketrans("", "", "0123456789"))

    @lamina.register_serializable(package="test_preprocessing")
    def comma_split(texts):
        return [text.split(",") for text in texts.tolist()]

    layer = layers.TextVectorization(standardize=drop_digits, split=comma_split, vocabulary=["ab", "cd"],
                                     output_sequence_length=3)
    assert layer(["AB1,cd2,x"]).tolist() == [[2, 3, 1]]
    model = lamina.Sequential([lamina.Input((1,), dtype="string"), layer])
    restored = lamina.models.model_from_json(model.to_json())
    assert restored.layers[0]._standardize is drop_digits and restored.layers[0]._split is comma_split
    assert restored(np.array([["cd,AB9"]])).tolist() == [[3, 2, 0]]
    assert model.layers[0].get_config()["vocabulary"] == ["ab", "cd"]


def test_sequential_first_layer_takes_strings():
    model = lamina.Sequential([layers.StringLookup(vocabulary=["x", "y"], input_shape=(2,)), layers.Embedding(3, 2)])
    assert model.inputs[0].dtype == "string" and model.output_shape == (None, 2, 2)
    assert model(np.array([["x", "q"]])).shape == (1, 2, 2)


def test_input_forms():
    lookup = layers.StringLookup(vocabulary=["a", "b", "é"])
    expected = [[1, 3], [0, 2]]
    for data in ([["a", "é"], ["z", "b"]], np.array([["a", "é"], ["z", "b"]]),
                 np.array([["a".encode(), "é".encode()], [b"z", b"b"]]),
                 np.array([["a", b"\xc3\xa9"], ["z", "b"]], dtype=object)):
        assert lookup(data).tolist() == expected
    assert lookup("b").tolist() == 2 and lookup(np.array("b")).dim() == 0
    inverse = layers.StringLookup(vocabulary=["a", "b", "é"], invert=True)
    assert inverse(torch.tensor(expected)).tolist() == [["a", "é"], ["[UNK]", "b"]]
    assert inverse(np.array([-1, 9])).tolist() == ["[UNK]", "[UNK]"]
    ints = layers.IntegerLookup(vocabulary=[7, 8])
    assert ints([7, 9]).tolist() == ints(np.array([7, 9])).tolist() == ints(torch.tensor([7., 9.])).tolist() == [1, 0]
    hashed = layers.Hashing(num_bins=4)
    assert hashed(["a", "b"]).tolist() == hashed(np.array([b"a", b"b"])).tolist()


def test_adapt_sources(tmp_path):
    texts = ["one two", "two three", "three three"]
    whole = layers.TextVectorization()
    whole.adapt(texts)
    loader = torch.utils.data.DataLoader(list(zip(texts, [0, 1, 0])), batch_size=2)  # (text, label) pairs

    class Batches(lamina.utils.PyDataset):
        def __len__(self):
            return 2

        def __getitem__(self, index):
            return np.array(texts[index * 2:index * 2 + 2]), np.zeros(2)

    for source in (loader, Batches(), (np.array(texts[i:i + 1]) for i in range(3)), np.array(texts)[:, None]):
        layer = layers.TextVectorization()
        layer.adapt(source)
        assert layer.get_vocabulary() == whole.get_vocabulary()
    lookup = layers.StringLookup()
    lookup.adapt(torch.utils.data.DataLoader(["b", "a", "b"], batch_size=2))
    assert lookup.get_vocabulary() == ["[UNK]", "b", "a"]
    path = tmp_path / "vocabulary.txt"
    path.write_text("b\na\n", encoding="utf-8")
    from_file = layers.StringLookup(vocabulary=str(path))
    assert from_file.get_vocabulary() == ["[UNK]", "b", "a"] and from_file.get_config()["vocabulary"] is None
    path.write_text("5\n7\n", encoding="utf-8")
    assert layers.IntegerLookup(vocabulary=path, mask_token=0).get_vocabulary() == [0, -1, 5, 7]
    path.write_text("b\na\n", encoding="utf-8")
    with pytest.raises(ValueError, match="safe_mode=False"):
        layers.StringLookup.from_config({**from_file.get_config(), "vocabulary": str(path)})
    assert layers.StringLookup.from_config({**from_file.get_config(), "vocabulary": str(path)},
                                           safe_mode=False).get_vocabulary() == ["[UNK]", "b", "a"]


def _vectorize_batch(vectorizer, lookup):
    def collate(samples):
        texts, numbers = zip(*samples)
        return vectorizer(list(texts)), lookup(torch.tensor(numbers))
    return collate


def test_layers_run_in_dataloader_workers():
    vectorizer = layers.TextVectorization(output_sequence_length=4)
    vectorizer.adapt(["the cat sat", "the dog ran"])
    lookup = layers.IntegerLookup(vocabulary=[3, 5, 8])
    samples = [("the cat ran", 3), ("a dog", 8), ("sat sat sat sat sat", 4)]
    collate = _vectorize_batch(vectorizer, lookup)
    expected = collate(samples)
    loader = torch.utils.data.DataLoader(samples, batch_size=3, num_workers=1, collate_fn=collate,
                                         multiprocessing_context="fork")
    (tokens, ids), = list(loader)
    assert tokens.tolist() == expected[0].tolist() and ids.tolist() == expected[1].tolist() == [1, 3, 0]


def test_lookup_errors():
    with pytest.raises(TypeError, match="torch has no string tensors"):
        layers.StringLookup(vocabulary=["a"])(torch.tensor([1]))
    with pytest.raises(ValueError, match=r"num_oov_indices=0.*\['b'\]"):
        layers.StringLookup(vocabulary=["a"], num_oov_indices=0)(["a", "b"])
    with pytest.raises(ValueError, match="idf_weights"):
        layers.StringLookup(vocabulary=["a"], output_mode="tf_idf")
    with pytest.raises(ValueError, match="repeated"):
        layers.StringLookup(vocabulary=["a", "a"])
    with pytest.raises(ValueError, match="reserved mask token"):
        layers.StringLookup(vocabulary=["a", ""], mask_token="")
    with pytest.raises(ValueError, match="max_tokens=3"):
        layers.StringLookup(vocabulary=["a", "b", "c"], max_tokens=3)
    with pytest.raises(RuntimeError, match="set the vocabulary"):
        layers.StringLookup(output_mode="multi_hot")(["a"])
    with pytest.raises(ValueError, match="invert"):
        layers.IntegerLookup(invert=True, output_mode="count")
    with pytest.raises(ValueError, match="static vocabulary"):
        layers.IntegerLookup(vocabulary=[1]).adapt([1, 2])
    with pytest.raises(ValueError, match="oov_method"):
        layers.IntegerLookup(salt=3)
    with pytest.raises(ValueError, match="sparse"):
        layers.Hashing(num_bins=3, sparse=True)
    with pytest.raises(ValueError, match="ragged"):
        layers.TextVectorization(ragged=True)
    with pytest.raises(ValueError, match="last dimension of 1"):
        layers.TextVectorization(vocabulary=["a"])(np.array([["a b", "c"]]))
    with pytest.raises(ValueError, match="at least two"):
        layers.HashedCrossing(num_bins=3)([np.array([1])])
    with pytest.raises(ValueError, match="same shape"):
        layers.HashedCrossing(num_bins=3)([np.array([1, 2]), np.array([1])])
    with pytest.raises(ValueError, match="'int32' or 'int64'"):
        layers.Hashing(num_bins=3, dtype="float32")
    layer = layers.StringLookup(output_mode="count")
    layer.adapt(["a", "b"])
    with pytest.raises(RuntimeError, match="cannot change"):
        layer.adapt(["a", "b", "c"])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_outputs_on_the_model_device(rng):
    lookup, ints, normalization, buckets = _adapted_layers(rng)
    model = _multi_input_model(lookup, ints, normalization, buckets)
    data = [np.array([["red", "blue"], ["pink", "red"]]), rng.integers(0, 25, (2, 3)),
            rng.standard_normal((2, 3)).astype("float32")]
    expected = model(data)
    model.to("cuda")
    got = model([data[0], torch.as_tensor(data[1]).cuda(), torch.as_tensor(data[2]).cuda()])
    assert got.device.type == "cuda"
    torch.testing.assert_close(got.cpu(), expected)
    assert layers.Hashing(num_bins=5)(torch.arange(4).cuda()).device.type == "cuda"


def test_model_file_extra_state_errors(tmp_path):
    inputs = lamina.Input((1,), dtype="string")
    lookup = layers.StringLookup()
    lookup.adapt(["a", "b"])
    model = lamina.Model(inputs, lookup(inputs))
    model.save_weights(tmp_path / "lookup.weights.safetensors")
    other_inputs = lamina.Input((1,))
    other = lamina.Model(other_inputs, layers.Identity()(other_inputs))
    with pytest.raises(ValueError, match=r"extra state of 1 module.*has 0"):
        other.load_weights(tmp_path / "lookup.weights.safetensors")

    class Opaque(layers.Layer):
        def call(self, x):
            return x

        def get_extra_state(self):
            return {"tensor": torch.ones(1)}

        def set_extra_state(self, state):
            pass

    opaque_inputs = lamina.Input((2,))
    opaque = lamina.Model(opaque_inputs, Opaque()(opaque_inputs))
    with pytest.raises(TypeError, match="JSON-serializable"):
        opaque.save_weights(tmp_path / "opaque.weights.safetensors")
