"""Keras 3's type promotion: ``lamina.backend.result_type`` equals ``keras.backend.result_type`` on every
pair (and a few triples) of dtypes and Python scalar types, under floatx float32 and float16."""

import itertools

import pytest

import lamina

DTYPES = ["bool", "uint8", "uint16", "uint32", "int8", "int16", "int32", "int64", "bfloat16", "float16",
          "float32", "float64", "complex64", "complex128", int, float, bool]


def _outcome(fn, *dtypes):
    try:
        return fn(*dtypes)
    except ValueError:
        return "error"


@pytest.mark.parametrize("floatx", ["float32", "float16"])
def test_result_type_table_matches_keras(keras, floatx):
    pairs = list(itertools.product(DTYPES, repeat=2)) + [("int8", "uint8", float), (int, float, "int16"),
                                                         ("bfloat16", "float16", int), ()]
    keras.config.set_floatx(floatx)
    lamina.backend.set_floatx(floatx)
    try:
        differing = [(p, _outcome(lamina.backend.result_type, *p), _outcome(keras.backend.result_type, *p))
                     for p in pairs]
    finally:
        keras.config.set_floatx("float32")
        lamina.backend.set_floatx("float32")
    differing = [d for d in differing if d[1] != d[2]]
    assert not differing, differing


def test_standardize_dtype_matches_keras(keras):
    import numpy as np
    import torch

    for dtype in ("float32", "int", "bool", torch.int64, np.dtype("uint8"), int, float, bool, None):
        assert lamina.backend.standardize_dtype(dtype) == keras.backend.standardize_dtype(dtype), dtype


def test_float8_has_no_implicit_promotion():
    with pytest.raises(ValueError, match="float8"):
        lamina.backend.result_type("float8_e4m3fn", "float32")
