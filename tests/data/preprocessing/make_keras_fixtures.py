"""Makes keras_tf_reference.json: what Keras 3 on TensorFlow computes for the layers it cannot run without
TensorFlow (Hashing, HashedCrossing, StringLookup, IntegerLookup, TextVectorization) and Discretization's
adapt, which needs TensorFlow too. tests/layers/test_preprocessing_keras_tf.py replays every case in
lamina and compares outputs, vocabularies (and their order), idf weights, configs and saved assets.

Run once, in the TensorFlow venv (CI never imports TensorFlow):
    KERAS_BACKEND=tensorflow /work/tfenv/bin/python tests/data/preprocessing/make_keras_fixtures.py
Made with Keras 3.15.1 and TensorFlow 2.21.0 (the versions are recorded in the file).
"""

import json
import os
import pathlib
import tempfile

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

OUT = pathlib.Path(__file__).with_name("keras_tf_reference.json")
RNG = np.random.default_rng(15)

WORDS = ["the", "cat", "sat", "on", "mat", "dog", "ate", "my", "homework", "a", "é", "naïve", "日本"]
TEXTS = ["The cat sat on the mat.", "The dog ate my homework!", "A cat, a dog; a MAT?", "naïve  café\tÉCOLE",
         "  leading and trailing  ", "", "punct-uation: (keep) [none] {of} it's \"quoted\"", "日本 語 日本",
         "x\x1cy z\xa0w", "cat cat cat dog"]


def plain(value):
    """JSON-ready: arrays/tensors to lists, bytes to str, NumPy scalars to Python."""
    if isinstance(value, (tf.Tensor, tf.Variable)):
        value = value.numpy()
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k != "dtype"}
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    return value


# Data several cases adapt on, stored once in the file; a case names it with {"shared": name}.
SHARED = {"normal1000": np.round(RNG.standard_normal(1000), 3).astype("float32").tolist()}


def array(spec):
    data = SHARED[spec["shared"]] if "shared" in spec else spec["data"]
    return np.array(data, dtype=object if spec["dtype"] == "string" else spec["dtype"])


def run_case(case):
    layer = getattr(keras.layers, case["class"])(**case["kwargs"])
    record = dict(case)
    if "adapt" in case:
        data = array(case["adapt"])
        if case["adapt"].get("batches"):
            data = tf.data.Dataset.from_tensor_slices(data).batch(case["adapt"]["batches"])
        layer.adapt(data)
    outputs = []
    for spec in case["inputs"]:
        try:
            if isinstance(spec, list):  # several features (HashedCrossing)
                result = layer([array(s) for s in spec])
            else:
                result = layer(array(spec))
        except tf.errors.InvalidArgumentError as error:  # e.g. an OOV value with num_oov_indices=0
            outputs.append({"error": type(error).__name__})
            continue
        result = np.asarray(result.numpy() if hasattr(result, "numpy") else result)
        outputs.append({"data": plain(result), "dtype": str(result.dtype)})
    record["outputs"] = outputs
    config = layer.get_config()
    record["config"] = plain({k: v for k, v in config.items() if k not in ("name", "dtype", "trainable")})
    if hasattr(layer, "get_vocabulary"):
        record["vocabulary"] = plain(layer.get_vocabulary())
        record["vocabulary_size"] = int(layer.vocabulary_size())
    lookup = getattr(layer, "_lookup_layer", layer)
    if getattr(lookup, "output_mode", None) == "tf_idf" and hasattr(lookup, "idf_weights_const"):
        record["idf_weights"] = plain(lookup.idf_weights_const)
    if hasattr(layer, "save_assets") and "adapt" in case:
        with tempfile.TemporaryDirectory() as directory:
            layer.save_assets(directory)
            path = pathlib.Path(directory, "vocabulary.txt")
            record["assets_vocabulary"] = path.read_text(encoding="utf-8") if path.exists() else None
    if case["class"] == "Discretization":
        record["bin_boundaries"] = plain(layer.bin_boundaries)
    return record


def strings(data):
    return {"data": data, "dtype": "string"}


def ints(data):
    return {"data": data, "dtype": "int64"}


def floats(data):
    return {"data": data, "dtype": "float32"}


def hash_cases():
    random_bytes = [bytes(RNG.integers(97, 123, n, dtype=np.uint8)).decode() for n in range(0, 140, 3)]
    text = strings([[w] for w in WORDS + random_bytes])
    numbers = ints([[-7], [0], [1], [42], [2**40], [-(2**40)], [123456789]])
    reals = floats([[-2.7], [-0.5], [0.5], [1.9], [3.0], [1e6]])
    cases = []
    for kwargs in ({"num_bins": 3}, {"num_bins": 1}, {"num_bins": 1000}, {"num_bins": 5, "salt": 133},
                   {"num_bins": 5, "salt": [133, 2**40 + 7]}, {"num_bins": 4, "mask_value": ""},
                   {"num_bins": 4, "mask_value": "cat", "salt": 9}):
        cases.append({"class": "Hashing", "kwargs": kwargs, "inputs": [text]})
    for kwargs in ({"num_bins": 7}, {"num_bins": 7, "mask_value": 0}, {"num_bins": 7, "salt": [1, 2]},
                   {"num_bins": 7, "dtype": "int32"}):
        cases.append({"class": "Hashing", "kwargs": kwargs, "inputs": [numbers, reals]})
    cases.append({"class": "Hashing", "kwargs": {"num_bins": 1000},
                  "inputs": [{"data": [[True], [False]], "dtype": "bool"}]})  # hashed as "true"/"false"
    for mode in ("one_hot", "multi_hot", "count"):
        cases.append({"class": "Hashing", "kwargs": {"num_bins": 6, "output_mode": mode},
                      "inputs": [strings([["a", "b", "a"], ["c", "c", "d"]]), strings([["a"], ["b"]]),
                                 ints([1, 2, 3])]})
    return cases


def crossing_cases():
    first, second = strings(["A", "B", "A", "B", "A", "日本", ""]), ints([101, 101, 101, 102, 102, -3, 2**40])
    column = strings([["A"], ["B"], ["C"]]), ints([[1], [2], [3]]), ints([[7], [7], [-7]])
    return [
        {"class": "HashedCrossing", "kwargs": {"num_bins": 5}, "inputs": [[first, second], [second, first]]},
        {"class": "HashedCrossing", "kwargs": {"num_bins": 2**31}, "inputs": [[first, second]]},
        {"class": "HashedCrossing", "kwargs": {"num_bins": 10}, "inputs": [list(column)]},
        {"class": "HashedCrossing", "kwargs": {"num_bins": 10, "output_mode": "one_hot"},
         "inputs": [[first, second], list(column[:2])]},
    ]


def lookup_cases(cls, vocabulary, data, queries, mask, oov):
    counts = {"class": cls, "adapt": data}
    cases = [
        {"class": cls, "kwargs": {"vocabulary": vocabulary}, "inputs": queries},
        {"class": cls, "kwargs": {"vocabulary": vocabulary, "mask_token": mask}, "inputs": queries},
        {"class": cls, "kwargs": {"vocabulary": vocabulary, "num_oov_indices": 3}, "inputs": queries},
        {"class": cls, "kwargs": {"vocabulary": vocabulary, "num_oov_indices": 3, "mask_token": mask,
                                  "salt": 77, **({"oov_method": "farmhash"} if cls == "IntegerLookup" else {})},
         "inputs": queries},
        {"class": cls, "kwargs": {"vocabulary": vocabulary, "num_oov_indices": 0},
         "inputs": [queries[0], {**queries[0], "data": [vocabulary[:2], vocabulary[2:]]}]},
        {"class": cls, "kwargs": {"vocabulary": [mask, oov] + vocabulary, "mask_token": mask}, "inputs": queries},
        {**counts, "kwargs": {}, "inputs": queries},
        {**counts, "kwargs": {"max_tokens": 4, "mask_token": mask}, "inputs": queries},
        {**counts, "kwargs": {"num_oov_indices": 2}, "inputs": queries},
        {**counts, "kwargs": {"output_mode": "tf_idf"}, "inputs": queries},
        {**counts, "kwargs": {"output_mode": "tf_idf", "max_tokens": 6, "pad_to_max_tokens": True},
         "inputs": queries},
        {"class": cls, "adapt": {**data, "batches": 2}, "kwargs": {"output_mode": "tf_idf", "mask_token": mask},
         "inputs": queries},
    ]
    for mode in ("one_hot", "multi_hot", "count"):
        cases.append({"class": cls, "kwargs": {"vocabulary": vocabulary, "output_mode": mode, "mask_token": mask},
                      "inputs": queries})
    cases.append({"class": cls, "kwargs": {"vocabulary": vocabulary, "output_mode": "multi_hot", "max_tokens": 9,
                                           "pad_to_max_tokens": True}, "inputs": queries})
    cases.append({"class": cls, "kwargs": {"vocabulary": vocabulary, "output_mode": "tf_idf",
                                           "idf_weights": [0.5 + i for i in range(len(vocabulary))]},
                  "inputs": queries})
    cases.append({"class": cls, "kwargs": {"vocabulary": vocabulary, "invert": True},
                  "inputs": [ints([[0, 1, 2], [3, 4, len(vocabulary) + 3]])]})
    cases.append({"class": cls, "kwargs": {"vocabulary": vocabulary, "invert": True, "mask_token": mask},
                  "inputs": [ints([[0, 1, 2], [3, 4, len(vocabulary) + 3]])]})
    cases.append({**counts, "kwargs": {"invert": True, "num_oov_indices": 2},
                  "inputs": [ints([[0, 1, 2, 3], [4, 5, 6, 60]])]})
    return cases


def text_cases():
    texts = strings(TEXTS)
    column = strings([[t] for t in TEXTS])
    adapt = {"class": "TextVectorization", "adapt": texts}
    cases = [
        {**adapt, "kwargs": {}, "inputs": [texts, column]},
        {**adapt, "kwargs": {"max_tokens": 8, "output_sequence_length": 5}, "inputs": [texts]},
        {**adapt, "kwargs": {"standardize": "lower", "output_sequence_length": 12}, "inputs": [texts]},
        {**adapt, "kwargs": {"standardize": "strip_punctuation"}, "inputs": [texts]},
        {**adapt, "kwargs": {"standardize": None, "split": "character", "output_sequence_length": 30},
         "inputs": [texts]},
        {**adapt, "kwargs": {"ngrams": 2}, "inputs": [texts]},
        {**adapt, "kwargs": {"ngrams": (1, 3)}, "inputs": [texts]},
        {**adapt, "kwargs": {"split": None}, "inputs": [column]},
        {**adapt, "kwargs": {"output_mode": "multi_hot", "ngrams": 2}, "inputs": [texts]},
        {**adapt, "kwargs": {"output_mode": "count"}, "inputs": [texts, column]},
        {**adapt, "kwargs": {"output_mode": "tf_idf", "max_tokens": 10}, "inputs": [texts]},
        {**adapt, "kwargs": {"output_mode": "tf_idf", "max_tokens": 30, "pad_to_max_tokens": True},
         "inputs": [texts]},
        {"class": "TextVectorization", "adapt": {**texts, "batches": 3}, "kwargs": {"output_mode": "tf_idf"},
         "inputs": [texts]},
        {"class": "TextVectorization", "kwargs": {"vocabulary": ["cat", "dog", "the", "a"],
                                                  "output_sequence_length": 4}, "inputs": [texts]},
        {"class": "TextVectorization", "kwargs": {"vocabulary": ["cat", "dog", "the"], "output_mode": "tf_idf",
                                                  "idf_weights": [0.1, 0.2, 0.3]}, "inputs": [texts]},
    ]
    return cases


def discretization_cases():
    data = np.array(SHARED["normal1000"], dtype="float32")
    shared = {"shared": "normal1000", "dtype": "float32"}
    cases = []
    for kwargs in ({"num_bins": 4}, {"num_bins": 10, "epsilon": 0.03}, {"num_bins": 3, "output_mode": "one_hot"}):
        cases.append({"class": "Discretization", "kwargs": kwargs, "adapt": shared,
                      "inputs": [floats(data[:12].reshape(3, 4).tolist())]})
    cases.append({"class": "Discretization", "kwargs": {"num_bins": 5}, "adapt": {**shared, "batches": 128},
                  "inputs": [floats(data[:8].tolist())]})
    return cases


def main():
    string_queries = [strings([["cat", "dog", "zebra"], ["the", "", "cat"]]), strings(["dog", "mat", "?"]),
                      strings([["a"], ["b"], ["mat"]])]
    int_queries = [ints([[5, 7, 99], [0, 7, -3]]), ints([12, 5, 2**40]), ints([[5], [6], [1000]])]
    string_data = strings([["cat", "dog", "cat", "the"], ["the", "mat", "cat", ""], ["a", "b", "b", "[UNK]"],
                           ["zebra", "dog", "b", "the"]])
    int_data = ints([[5, 7, 5, 9], [9, 3, 5, 0], [1, 2, 2, -1], [8, 7, 2, 9]])
    cases = hash_cases() + crossing_cases() + discretization_cases() + text_cases()
    cases += lookup_cases("StringLookup", ["cat", "dog", "the", "mat"], string_data, string_queries, "", "[UNK]")
    cases += lookup_cases("IntegerLookup", [5, 7, 9, 3], int_data, int_queries, 0, -1)
    raw = [bytes(RNG.integers(0, 256, n, dtype=np.uint8)) for n in range(0, 160)]
    fingerprints = {"hex": [b.hex() for b in raw],
                    "fast": tf.strings.to_hash_bucket_fast(raw, 2**63 - 1).numpy().tolist(),
                    "strong": tf.strings.to_hash_bucket_strong(raw, 2**63 - 1, key=[7, 2**62 + 11]).numpy().tolist()}
    reference = {"versions": {"keras": keras.__version__, "tensorflow": tf.__version__, "numpy": np.__version__},
                 "fingerprints": fingerprints, "shared": SHARED, "cases": [run_case(case) for case in cases]}
    OUT.write_text(json.dumps(reference, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(cases)} cases)")


if __name__ == "__main__":
    main()
