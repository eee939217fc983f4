"""Every layer lamina shares with Keras 3 takes the same arguments with the same defaults."""

import inspect

import numpy as np
import pytest

import lamina

# Keras 3 dropped these defaults; lamina keeps Keras 2's (the Keras 2 contract).
KERAS2_DEFAULTS = {("AveragePooling1D", "pool_size"): 2, ("AveragePooling2D", "pool_size"): 2,
                   ("AveragePooling3D", "pool_size"): 2, ("InputLayer", "ragged"): False}
# Values for the arguments Keras requires, to build each layer with its defaults otherwise.
REQUIRED = {"units": 3, "filters": 2, "kernel_size": 3, "rate": 0.5, "stddev": 0.1, "input_dim": 5,
            "output_dim": 4, "target_shape": (2, 2), "dims": (1,), "n": 2, "activation": "relu", "axes": 1,
            "pool_size": 2, "theta": 1.0, "groups": 2, "output_size": 2,
            # image preprocessing
            "height": 4, "width": 4, "factor": 0.1, "height_factor": 0.1, "width_factor": 0.1, "max_number": 3}
REQUIRED_FOR = {"RandomPosterization": {"factor": 4}}  # where one layer needs another value
# Config values that differ on purpose: Keras records a random seed when none is given; RandomContrast and
# RandomSaturation follow Keras's documented factor rule (docs/keras_torch_departures.md); Keras's
# MaxNumBoundingBoxes config omits its `fill_value` (docs/preprocessing.md).
DIFFERENT_ON_PURPOSE = {("RandomCrop", "seed"), ("RandomContrast", "factor"), ("RandomSaturation", "factor"),
                        ("MaxNumBoundingBoxes", "fill_value")}
REQUIRED.update({"num_bins": 3, "scale": 0.5})  # preprocessing
# Layers Keras cannot build with its defaults alone (it refuses their default None), and the values used.
BUILD_WITH = {"CategoryEncoding": {"num_tokens": 3}, "Discretization": {"num_bins": 3}}
# Layers Keras builds only with TensorFlow installed: their configs are compared with Keras-on-TensorFlow
# fixtures in tests/layers/test_preprocessing_keras_tf.py.
NEEDS_TENSORFLOW = {"Hashing", "HashedCrossing", "StringLookup", "IntegerLookup", "TextVectorization"}
REQUIRED.update({"num_heads": 2, "key_dim": 3, "head_dim": 2, "num_query_heads": 4, "num_key_value_heads": 2,
                 "equation": "ab,bc->ac", "output_shape": 4})  # attention and EinsumDense
# Layers whose required arguments are other layers or functions (covered by their own tests), and the
# abstract base Layer.
NOT_BUILT_HERE = {"Bidirectional", "TimeDistributed", "RNN", "Lambda", "InputLayer", "StackedRNNCells", "Layer",
                  "Wrapper", "SpectralNormalization", "TorchModuleWrapper", "Pipeline"}


def _shared_layer_names():
    import keras

    return sorted(name for name in dir(lamina.layers) if name[0].isupper() and hasattr(keras.layers, name)
                  and isinstance(getattr(lamina.layers, name), type)
                  and issubclass(getattr(lamina.layers, name), lamina.layers.Layer))


def _parameters(cls):
    return {name: p for name, p in inspect.signature(cls.__init__).parameters.items()
            if name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}


def _same(a, b):
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return bool(np.isclose(a, b))
    return a == b


def _equivalent_pool_size(ours, theirs):
    return isinstance(ours, int) and isinstance(theirs, tuple) and all(v == ours for v in theirs)


@pytest.mark.parametrize("name", _shared_layer_names())
def test_arguments_and_defaults_match_keras(keras, name):
    ours, theirs = _parameters(getattr(lamina.layers, name)), _parameters(getattr(keras.layers, name))
    accepts_kwargs = any(p.kind == p.VAR_KEYWORD
                         for p in inspect.signature(getattr(lamina.layers, name).__init__).parameters.values())
    canonical = getattr(lamina.layers, name).__name__  # AvgPool2D is AveragePooling2D
    for argument, parameter in theirs.items():
        if argument not in ours:
            # Taken through **kwargs (base Layer arguments, or cell arguments of RNN layers, whose
            # defaults the config comparison below checks).
            assert accepts_kwargs, f"{name}: missing argument {argument!r}"
            continue
        expected = KERAS2_DEFAULTS.get((canonical, argument), parameter.default)
        got = ours[argument].default
        if expected is inspect.Parameter.empty:
            assert got is inspect.Parameter.empty, f"{name}({argument}) has a default Keras lacks: {got!r}"
            continue
        assert got is not inspect.Parameter.empty, f"{name}({argument}) needs Keras's default {expected!r}"
        assert _same(got, expected) or _equivalent_pool_size(got, expected), \
            f"{name}({argument}={got!r}): Keras's default is {expected!r}"


@pytest.mark.parametrize("name", [n for n in _shared_layer_names() if n not in NOT_BUILT_HERE | NEEDS_TENSORFLOW])
def test_default_configs_match_keras(keras, name):
    """Built with only the required arguments, lamina's config equals Keras's (all defaults agree)."""
    theirs_cls, ours_cls = getattr(keras.layers, name), getattr(lamina.layers, name)
    required = {argument: REQUIRED_FOR.get(name, REQUIRED).get(argument, REQUIRED.get(argument))
                for argument, p in _parameters(theirs_cls).items() if p.default is inspect.Parameter.empty}
    required.update(BUILD_WITH.get(name, {}))
    theirs, ours = theirs_cls(**required).get_config(), ours_cls(**required).get_config()
    differences = {key: (ours.get(key), theirs.get(key)) for key in set(ours) | set(theirs)
                   if key != "name" and (name, key) not in DIFFERENT_ON_PURPOSE
                   and not _same(_plain(ours.get(key)), _plain(theirs.get(key)))}
    assert not differences, f"{name}: lamina vs Keras config values differ: {differences}"


def _plain(value):
    """Configs compared as JSON would see them (tuples as lists)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value
