"""lamina.quantizers against keras.quantizers (Keras's torch backend)."""

import json

import numpy as np
import pytest
import torch

import lamina.quantizers as lq

keras = pytest.importorskip("keras")
kq = keras.quantizers


def _np(x):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().float().numpy() if x.dtype == torch.bfloat16 else x.detach().cpu().numpy()
    return np.asarray(x)


def _json(config):
    """Keras keeps tuples in serialized configs, lamina writes lists: the same JSON."""
    return json.loads(json.dumps(config))


def _same(ours, theirs, exact=False):
    if isinstance(ours, torch.Tensor) and isinstance(theirs, torch.Tensor):
        assert ours.dtype == theirs.dtype, (ours.dtype, theirs.dtype)
    a, b = _np(ours), _np(theirs)
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, a.dtype, b.shape, b.dtype)
    if exact or a.dtype.kind in "iub":
        np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_allclose(a.astype("float64"), b.astype("float64"), rtol=1e-5, atol=0, equal_nan=True)


def _data(shape, seed, dtype="float32", scale=3.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


@pytest.mark.parametrize("to_numpy", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float16", "float64"])
@pytest.mark.parametrize("shape,axis", [((4, 5), -1), ((4, 5), 0), ((2, 3, 4), (0, 2)), ((2, 3, 4), 1),
                                        ((6,), -1), ((3, 4), None)])
@pytest.mark.parametrize("value_range,out_dtype", [((-127, 127), "int8"), ((-8, 7), "int8"), ((0, 255), "uint8")])
def test_abs_max_quantize(shape, axis, dtype, to_numpy, value_range, out_dtype):
    x = _data(shape, 1, dtype)
    ours = lq.abs_max_quantize(torch.tensor(x), axis, value_range, out_dtype, to_numpy=to_numpy)
    theirs = kq.abs_max_quantize(torch.tensor(x), axis, value_range, out_dtype, to_numpy=to_numpy)
    _same(ours[0], theirs[0])
    _same(ours[1], theirs[1])


def test_abs_max_quantize_all_zero_row_and_nan():
    x = np.array([[0.0, 0.0, 0.0], [1.0, np.nan, -2.0], [np.inf, 1.0, 0.5]], dtype="float32")
    for axis in (0, 1):
        ours, theirs = lq.abs_max_quantize(torch.tensor(x), axis), kq.abs_max_quantize(torch.tensor(x), axis)
        _same(ours[1], theirs[1])
        finite = np.isfinite(_np(theirs[1])).all(axis=axis, keepdims=True) & np.isfinite(x)
        np.testing.assert_array_equal(_np(ours[0])[np.broadcast_to(finite, x.shape)],
                                      _np(theirs[0])[np.broadcast_to(finite, x.shape)])


@pytest.mark.parametrize("to_numpy", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("shape,block", [((8, 3), 4), ((10, 3), 4), ((5, 2), 8), ((7, 4), 7), ((128, 16), 32),
                                         ((9, 1), 1)])
@pytest.mark.parametrize("value_range", [(-8, 7), (-128, 127), (-2, 1)])
def test_grouped_with_zero_point(shape, block, dtype, to_numpy, value_range):
    x = _data(shape, 2, dtype)
    ours = lq.abs_max_quantize_grouped_with_zero_point(torch.tensor(x), block, value_range, to_numpy=to_numpy)
    theirs = kq.abs_max_quantize_grouped_with_zero_point(torch.tensor(x), block, value_range, to_numpy=to_numpy)
    for a, b in zip(ours, theirs):
        _same(a, b)


@pytest.mark.parametrize("to_numpy", [False, True])
def test_grouped_constant_and_zero_columns(to_numpy):
    x = np.zeros((6, 3), dtype="float32")
    x[:, 1] = 2.5
    x[:, 2] = np.arange(6) - 2.0
    for block in (3, 6, 4):
        ours = lq.abs_max_quantize_grouped_with_zero_point(torch.tensor(x), block, to_numpy=to_numpy)
        theirs = kq.abs_max_quantize_grouped_with_zero_point(torch.tensor(x), block, to_numpy=to_numpy)
        for a, b in zip(ours, theirs):
            _same(a, b)


@pytest.mark.parametrize("axis", [-1, 0, 2])
@pytest.mark.parametrize("to_numpy", [False, True])
def test_abs_max_quantizer(axis, to_numpy):
    x = _data((3, 4, 5), 3)
    for ours_q, keras_q in [(lq.AbsMaxQuantizer(), kq.AbsMaxQuantizer()),
                            (lq.AbsMaxQuantizer(axis=1, value_range=(-8, 7)),
                             kq.AbsMaxQuantizer(axis=1, value_range=(-8, 7)))]:
        for call_axis in (None, axis):
            ours = ours_q(torch.tensor(x), axis=call_axis, to_numpy=to_numpy)
            theirs = keras_q(torch.tensor(x), axis=call_axis, to_numpy=to_numpy)
            _same(ours[0], theirs[0])
            _same(ours[1], theirs[1])


def test_abs_max_quantizer_errors():
    with pytest.raises(ValueError, match=r"output_dtype='int8'.*Received: value_range=\(-200, 127\)"):
        lq.AbsMaxQuantizer(value_range=(-200, 127))
    with pytest.raises(ValueError, match="abs_max_quantize: value_range must be a pair"):
        lq.abs_max_quantize(torch.ones(2), -1, value_range=(3, 1))
    with pytest.raises(ValueError, match="abs_max_quantize: axis 2 is out of bounds.*rank 2"):
        lq.abs_max_quantize(torch.ones(2, 2), 2)
    with pytest.raises(TypeError, match="abs_max_quantize: axis must be an int"):
        lq.abs_max_quantize(torch.ones(2, 2), "0")


def test_grouped_errors():
    with pytest.raises(ValueError, match="grouped_with_zero_point: block_size must be a positive int. Received: block_size=0"):
        lq.abs_max_quantize_grouped_with_zero_point(torch.ones(4, 2), 0)
    with pytest.raises(ValueError, match=r"non-empty 2-D tensor.*Received: inputs.shape=\(4,\)"):
        lq.abs_max_quantize_grouped_with_zero_point(torch.ones(4), 2)


FAKE_QUANT_CASES = [
    ((2, 6), -0.7, 1.3, None), ((3, 4), 0.2, 1.1, None), ((3, 4), -2.0, -0.5, None),
    ((2, 3, 4), [-0.5, -1.0, -0.2, 0.0], [0.5, 1.5, 0.9, 2.0], -1),
    ((2, 3, 4), [[-0.5], [-1.0], [0.1]], [[0.5], [1.5], [0.4]], 1),
]


@pytest.mark.parametrize("num_bits", [2, 4, 8])
@pytest.mark.parametrize("narrow_range", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("shape,mins,maxs,axis", FAKE_QUANT_CASES)
def test_fake_quant_values_and_gradients(shape, mins, maxs, axis, num_bits, narrow_range, dtype):
    x = _data(shape, 4, dtype, scale=1.2)
    x.flat[0] = np.float32(maxs if np.isscalar(maxs) else np.max(maxs)) * 3  # clipped above
    x.flat[1] = np.float32(mins if np.isscalar(mins) else np.min(mins)) * 3 - 1  # clipped below
    results = []
    for fn in (lq.fake_quant_with_min_max_vars, kq.fake_quant_with_min_max_vars):
        xt = torch.tensor(x, requires_grad=True)
        mn = torch.tensor(np.asarray(mins, dtype="float32"), requires_grad=True)
        mx = torch.tensor(np.asarray(maxs, dtype="float32"), requires_grad=True)
        out = fn(xt, mn, mx, num_bits=num_bits, narrow_range=narrow_range, axis=axis)
        upstream = torch.tensor(_data(shape, 5, dtype))
        grads = torch.autograd.grad(out, (xt, mn, mx), upstream)
        results.append((out, *grads))
    for a, b in zip(*results):
        _same(a, b)
    assert results[0][0].dtype == torch.tensor(x).dtype


def test_fake_quant_python_scalars_and_nan():
    x = torch.tensor([-2.0, -0.1, 0.0, 0.3, float("nan"), float("inf")])
    _same(lq.fake_quant_with_min_max_vars(x, -1.0, 1.0), kq.fake_quant_with_min_max_vars(x, -1.0, 1.0))


def test_fake_quant_errors():
    with pytest.raises(ValueError, match="fake_quant_with_min_max_vars: num_bits must be an int in \\[1, 32\\]. Received: num_bits=0"):
        lq.fake_quant_with_min_max_vars(torch.ones(2), -1.0, 1.0, num_bits=0)
    with pytest.raises(ValueError, match="fake_quant_with_min_max_vars: axis 3 is out of bounds"):
        lq.fake_quant_with_min_max_vars(torch.ones(2, 2), -1.0, 1.0, axis=3)


@pytest.mark.parametrize("margin", [0, 1, 3])
def test_compute_float8_scale(margin):
    amax = torch.tensor([0.0, -1.0, 2.5, float("inf"), float("nan"), 1e-3, 300.0])
    scale = torch.tensor([1.0, 0.5, 2.0, 4.0, 0.25, 1.0, 3.0])
    _same(lq.compute_float8_scale(amax, scale, 448.0, margin), kq.compute_float8_scale(amax, scale, 448.0, margin))
    _same(lq.compute_float8_scale(torch.tensor(3.0), torch.tensor(1.0), 57344.0),
          kq.compute_float8_scale(torch.tensor(3.0), torch.tensor(1.0), 57344.0))


@pytest.mark.parametrize("hist_dtype", ["float32", "float16"])
def test_compute_float8_amax_history(hist_dtype):
    history = torch.tensor(np.arange(1, 6, dtype=hist_dtype))
    for x in (torch.tensor(_data((3, 4), 6)), torch.tensor([-7.0, 2.0]), torch.zeros(2)):
        _same(lq.compute_float8_amax_history(x, history), kq.compute_float8_amax_history(x, history))
    np.testing.assert_array_equal(_np(history), np.arange(1, 6))  # not updated in place


@pytest.mark.parametrize("qdtype", ["float8_e4m3fn", "float8_e5m2"])
@pytest.mark.parametrize("compute_dtype", ["float32", "float16", "bfloat16"])
def test_quantize_and_dequantize(qdtype, compute_dtype):
    x = torch.tensor(_data((4, 6), 7, scale=200.0))
    for scale in (torch.tensor(1.0), torch.tensor(0.01), torch.tensor([[0.5], [2.0], [1e-3], [10.0]])):
        ours = lq.quantize_and_dequantize(x, scale, qdtype, compute_dtype)
        theirs = kq.quantize_and_dequantize(x, scale, qdtype, compute_dtype)
        _same(ours, theirs, exact=True)


def test_quantize_and_dequantize_error():
    with pytest.raises(ValueError, match="quantize_and_dequantize: quantized_dtype must be a float.*'int8'"):
        lq.quantize_and_dequantize(torch.ones(2), torch.tensor(1.0), "int8", "float32")


def _int4(shape, seed, dtype):
    low, high = (-8, 8) if dtype == "int8" else (0, 16)
    return np.random.default_rng(seed).integers(low, high, shape).astype(dtype)


@pytest.mark.parametrize("dtype", ["int8", "uint8"])
@pytest.mark.parametrize("shape,axis", [((3, 2), 0), ((4, 2), 0), ((2, 3), 1), ((2, 5), -1), ((5,), 0),
                                        ((3, 4, 5), 1), ((3, 4, 5), 2), ((3, 4, 5), 0), ((1, 1), 0)])
def test_pack_unpack_int4(shape, axis, dtype):
    arr = _int4(shape, 8, dtype)
    ours = lq.pack_int4(torch.tensor(arr), axis=axis, dtype=dtype)
    theirs = kq.pack_int4(torch.tensor(arr), axis=axis, dtype=dtype)
    _same(ours[0], theirs[0])
    assert ours[1:] == theirs[1:]
    unpacked = lq.unpack_int4(ours[0], ours[2], axis=axis, dtype=dtype)
    _same(unpacked, kq.unpack_int4(theirs[0], theirs[2], axis=axis, dtype=dtype))
    np.testing.assert_array_equal(_np(unpacked), arr)


def test_unpack_int4_as_uint8_from_int8():
    packed = torch.tensor([[45, -121], [1, 0]], dtype=torch.int8)
    for axis in (0, 1):
        _same(lq.unpack_int4(packed, 3, axis=axis, dtype="uint8"), kq.unpack_int4(packed, 3, axis=axis, dtype="uint8"))


def test_pack_unpack_errors():
    with pytest.raises(ValueError, match="pack_int4: expected dtype to be 'int8' or 'uint8', but got 'int4'"):
        lq.pack_int4(torch.zeros(2, dtype=torch.int8), dtype="int4")
    with pytest.raises(TypeError, match="pack_int4: expected a int8 tensor for packing, got float32"):
        lq.pack_int4(torch.zeros(2))
    with pytest.raises(TypeError, match="unpack_int4: expected an int8 or uint8 tensor for unpacking, got int32"):
        lq.unpack_int4(torch.zeros(2, dtype=torch.int32), 2)
    with pytest.raises(ValueError, match="unpack_int4: expected dtype"):
        lq.unpack_int4(torch.zeros(2, dtype=torch.int8), 2, dtype="int16")


def _configs(module):
    amq = module.AbsMaxQuantizer
    return [
        module.Int8QuantizationConfig(),
        module.Int8QuantizationConfig(weight_quantizer=amq(axis=0), activation_quantizer=None),
        module.Int4QuantizationConfig(),
        module.Int4QuantizationConfig(block_size=None),
        module.Int4QuantizationConfig(weight_quantizer=amq(axis=0, value_range=(-8, 7)), block_size=-1),
        module.Float8QuantizationConfig(),
        module.GPTQConfig(None, None, weight_bits=3, group_size=-1, symmetric=True, hessian_damping=0.5),
        module.GPTQConfig(None, None),
        module.AWQConfig(None, None, num_grid_points=5, group_size=64),
        amq(), amq(axis=(0, 1), value_range=(-8, 7), epsilon=1e-3),
    ]


@pytest.mark.parametrize("index", range(11))
def test_config_round_trips_match_keras(index):
    ours, theirs = _configs(lq)[index], _configs(kq)[index]
    assert _json(lq.serialize(ours)) == _json(keras.saving.serialize_keras_object(theirs))
    rebuilt = type(ours).from_config(ours.get_config())
    assert lq.serialize(rebuilt) == lq.serialize(ours)
    if not isinstance(ours, lq.Quantizer):
        assert ours.mode == theirs.mode
    assert lq.serialize(lq.deserialize(lq.serialize(ours))) == lq.serialize(ours) or isinstance(ours, lq.GPTQConfig)


def test_keras_configs_load_into_lamina():
    for theirs in _configs(kq):
        if isinstance(theirs, kq.GPTQConfig):
            continue  # not in Keras's quantizers ALL_OBJECTS
        config = keras.saving.serialize_keras_object(theirs)
        assert _json(lq.serialize(lq.deserialize(config))) == _json(config)


def test_get():
    assert lq.get(None) is None
    q = lq.AbsMaxQuantizer()
    assert lq.get(q) is q
    assert isinstance(lq.get(lq.serialize(q)), lq.AbsMaxQuantizer)
    assert isinstance(lq.get("Quantizer"), lq.Quantizer) and isinstance(kq.get("Quantizer"), kq.Quantizer)
    assert lq.get("quantizer").output_dtype == kq.get("quantizer").output_dtype == {}
    with pytest.raises(ValueError, match="Could not interpret quantizer identifier: 'nope'"):
        lq.get("nope")
    with pytest.raises(ValueError):
        kq.get("nope")
    with pytest.raises(ValueError, match="Could not interpret quantizer identifier: 'GPTQConfig'"):
        lq.get("GPTQConfig")


def test_config_validation():
    with pytest.raises(ValueError, match="Int8QuantizationConfig requires a weight_quantizer with output_dtype='int8'"):
        lq.Int8QuantizationConfig(weight_quantizer=lq.AbsMaxQuantizer(value_range=(0, 255), output_dtype="uint8"))
    with pytest.raises(ValueError, match="Int4QuantizationConfig: block_size must be None, -1, or a positive integer. Received: block_size=0"):
        lq.Int4QuantizationConfig(block_size=0)
    with pytest.raises(ValueError, match="does not support custom quantizers.*block_size=128"):
        lq.Int4QuantizationConfig(weight_quantizer=lq.AbsMaxQuantizer(value_range=(-8, 7)))
    with pytest.raises(ValueError, match=r"value_range=\(-8, 7\). Received: value_range=\(-127, 127\)"):
        lq.Int4QuantizationConfig(weight_quantizer=lq.AbsMaxQuantizer(), block_size=None)
    with pytest.raises(NotImplementedError):
        lq.QuantizationConfig().mode
    for kwargs, message in [({"weight_bits": 5}, "weight_bits must be one of 2, 3, 4, 8. Received: weight_bits=5"),
                            ({"num_samples": 0}, "num_samples must be a positive integer. Received: num_samples=0"),
                            ({"sequence_length": -1}, "sequence_length must be a positive integer"),
                            ({"hessian_damping": 1.5}, "hessian_damping must be between 0 and 1. Received: hessian_damping=1.5"),
                            ({"group_size": 0}, "group_size must be -1 \\(per-channel\\) or a positive integer. Received: group_size=0")]:
        with pytest.raises(ValueError, match="GPTQConfig: " + message):
            lq.GPTQConfig(None, None, **kwargs)
        with pytest.raises(ValueError):
            kq.GPTQConfig(None, None, **kwargs)
    for kwargs, message in [({"weight_bits": 8}, "AWQ only supports 4-bit quantization. Received: weight_bits=8"),
                            ({"num_grid_points": 0}, "num_grid_points must be a positive integer"),
                            ({"group_size": -2}, "group_size must be -1")]:
        with pytest.raises(ValueError, match="AWQConfig: " + message):
            lq.AWQConfig(None, None, **kwargs)
        with pytest.raises(ValueError):
            kq.AWQConfig(None, None, **kwargs)
    assert lq.GPTQConfig(None, None, weight_bits=8, group_size=32).dtype_policy_string() == \
        kq.GPTQConfig(None, None, weight_bits=8, group_size=32).dtype_policy_string()
    assert lq.AWQConfig(None, None).dtype_policy_string() == kq.AWQConfig(None, None).dtype_policy_string()
