"""lamina against Keras 3 on TensorFlow for the layers Keras cannot run without TensorFlow.

tests/data/preprocessing/keras_tf_reference.json holds what Keras 3.15.1 on TensorFlow 2.21 computed
(made by make_keras_fixtures.py beside it): each case's outputs, vocabulary and its order, idf weights,
config and saved ``vocabulary.txt`` asset, replayed here in lamina.
"""

import json
import pathlib

import numpy as np
import pytest

import lamina
from keras_reference import assert_close
from lamina.layers.preprocessing.hash_functions import fingerprint64, siphash

REFERENCE = json.loads((pathlib.Path(__file__).parent.parent / "data" / "preprocessing" /
                        "keras_tf_reference.json").read_text(encoding="utf-8"))
CASES = REFERENCE["cases"]


def _array(spec):
    data = REFERENCE["shared"][spec["shared"]] if "shared" in spec else spec["data"]
    return np.array(data, dtype=str if spec["dtype"] == "string" else spec["dtype"])


def _kwargs(case):
    kwargs = dict(case["kwargs"])
    if isinstance(kwargs.get("ngrams"), list):
        kwargs["ngrams"] = tuple(kwargs["ngrams"])
    return kwargs


def _plain(value):
    """A config as the fixture stores it: JSON types, no dtype keys."""
    value = json.loads(json.dumps(lamina.serialization.serialize_keras_object(value)))

    def strip(item):
        if isinstance(item, dict):
            return {k: strip(v) for k, v in item.items() if k != "dtype"}
        return [strip(v) for v in item] if isinstance(item, list) else item

    return strip(value)


def _case_id(case):
    return f"{case['class']}-{json.dumps(case['kwargs'], sort_keys=True)[:70]}{'-adapt' if 'adapt' in case else ''}"


def test_fingerprints_equal_tensorflow():
    values = [bytes.fromhex(h) for h in REFERENCE["fingerprints"]["hex"]]  # lengths 0..159: every FarmHash branch
    modulus = np.uint64(2**63 - 1)
    assert (fingerprint64(values) % modulus).astype(np.int64).tolist() == REFERENCE["fingerprints"]["fast"]
    assert (siphash(values, [7, 2**62 + 11]) % modulus).astype(np.int64).tolist() == REFERENCE["fingerprints"]["strong"]


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_matches_keras_on_tensorflow(case, tmp_path):
    layer = getattr(lamina.layers, case["class"])(**_kwargs(case))
    if "adapt" in case:
        data = _array(case["adapt"])
        size = case["adapt"].get("batches")
        layer.adapt(data if size is None else (data[i:i + size] for i in range(0, len(data), size)))
    for spec, expected in zip(case["inputs"], case["outputs"]):
        inputs = [_array(s) for s in spec] if isinstance(spec, list) else _array(spec)
        if "error" in expected:
            with pytest.raises(ValueError, match="num_oov_indices=0"):
                layer(inputs)
            continue
        output = layer(inputs)
        what = f"{case['class']}({case['kwargs']}) on {spec}"
        if isinstance(output, np.ndarray):  # strings from an inverted StringLookup
            assert output.tolist() == expected["data"], what
        elif output.is_floating_point():
            assert_close(output, np.array(expected["data"], dtype="float32"), what=what)
        else:
            assert output.tolist() == expected["data"], what
    assert _plain({k: v for k, v in layer.get_config().items() if k not in ("name", "dtype", "trainable")}) == \
        case["config"]
    if "vocabulary" in case:
        assert layer.get_vocabulary() == case["vocabulary"]
        assert layer.vocabulary_size() == case["vocabulary_size"]
    if "idf_weights" in case:
        lookup = getattr(layer, "_lookup_layer", layer)
        assert_close(lookup.idf_weights, np.array(case["idf_weights"], dtype="float32"), what="idf weights")
    if case.get("assets_vocabulary") is not None:
        layer.save_assets(tmp_path)
        assert (tmp_path / "vocabulary.txt").read_text(encoding="utf-8") == case["assets_vocabulary"]
    if "bin_boundaries" in case:
        assert_close(np.array(layer.bin_boundaries), np.array(case["bin_boundaries"]), what="bin boundaries")


@pytest.mark.parametrize("case", [c for c in CASES if c.get("assets_vocabulary")], ids=_case_id)
def test_keras_assets_load_into_lamina(case, tmp_path):
    """A vocabulary.txt (and idf weights) as Keras saves them gives the adapted layer's outputs."""
    (tmp_path / "vocabulary.txt").write_text(case["assets_vocabulary"], encoding="utf-8")
    layer = getattr(lamina.layers, case["class"])(**_kwargs(case))
    if "idf_weights" in case:
        layer.load_own_variables({"idf_weights": np.array(case["idf_weights"], dtype="float32")})
    layer.load_assets(tmp_path)
    assert layer.get_vocabulary() == case["vocabulary"]
    spec, expected = case["inputs"][0], case["outputs"][0]
    output = layer(_array(spec))
    if isinstance(output, np.ndarray):
        assert output.tolist() == expected["data"]
    else:
        assert_close(output, np.array(expected["data"]).astype(output.cpu().numpy().dtype))
