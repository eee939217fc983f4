"""What the Keras table cannot check: lamina's own rules (devices, conversions, rules where Keras-torch
departs), error messages, and op classes built from configs."""

import numpy as np
import pytest
import torch

import lamina
from lamina import ops


def test_projective_transform_divides_by_k():
    image = torch.arange(25.0).reshape(1, 5, 5, 1)
    transform = torch.tensor([[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.1, 0.0]])
    out = ops.image.affine_transform(image, transform, interpolation="nearest", data_format="channels_last")
    # output (x=4, y=2) reads input (x / k, y / k) with k = 0.1 * 4 + 1 = 1.4: (2.86, 1.43) -> (3, 1)
    assert float(out[0, 2, 4, 0]) == float(image[0, 1, 3, 0])


def test_inputs_are_converted_with_keras_dtypes():
    assert ops.convert_to_tensor(1.5).dtype == torch.float32
    assert ops.convert_to_tensor(3).dtype == torch.int32
    assert ops.convert_to_tensor([True, False]).dtype == torch.bool
    assert ops.convert_to_tensor(np.ones(2)).dtype == torch.float64
    assert ops.add(np.ones(2, "float32"), 1).dtype == torch.float32
    assert ops.add(torch.tensor([True]), 2).dtype == torch.int32  # Keras: bool + int gives int32
    assert ops.add(torch.ones(2, dtype=torch.float16), 1.5).dtype == torch.float16
    assert isinstance(ops.sum([1.0, 2.0]), torch.Tensor)


def test_numpy_arguments_follow_the_tensor_device():
    x = torch.ones(2, 3)
    assert ops.concatenate([x, np.zeros((2, 3), "float32")]).device == x.device
    assert ops.where(torch.tensor([True, False]), 1.0, 0.0).tolist() == [1.0, 0.0]


def test_op_classes_rebuild_from_their_configs():
    inputs = lamina.Input((3, 4))
    out = ops.transpose(ops.sum(inputs, axis=1, keepdims=True), (0, 2, 1))
    op = out._keras_history[0]
    rebuilt = type(op).from_config(op.get_config())
    x = torch.randn(2, 1, 4)
    assert torch.equal(rebuilt(x), x.permute(0, 2, 1)) and rebuilt.get_config() == op.get_config()
    assert op.input.shape == (None, 1, 4) and op.output is out


def test_symbolic_calls_infer_unknown_dimensions():
    x = lamina.Input((None, 6))
    assert ops.reshape(x, (-1, 3)).shape == (None, 3)
    assert ops.split(x, 2, axis=-1)[1].shape == (None, None, 3)
    assert ops.matmul(x, ops.ones((6, 2))).shape == (None, None, 2)
    assert ops.argmax(x, axis=-1).dtype == "int32"
    assert ops.repeat(x, [1, 2, 3, 0, 0, 1], axis=2).shape == (None, None, 7)


def test_errors_name_the_op_argument_and_value():
    with pytest.raises(ValueError, match=r"split: x.shape\[1\]=5 is not divisible"):
        ops.split(torch.ones(2, 5), 2, axis=1)
    with pytest.raises(ValueError, match="pad: unknown mode 'mean'"):
        ops.pad(torch.ones(2, 2), 1, mode="mean")
    with pytest.raises(ValueError, match="order"):
        ops.normalize(torch.ones(2), order=0)
    with pytest.raises(ValueError, match="strategy"):
        ops.ctc_decode(torch.ones(1, 2, 3), torch.tensor([2]), strategy="best")
    with pytest.raises(TypeError, match="exponent"):
        ops.ldexp(torch.ones(2), torch.ones(2))
    with pytest.raises(ValueError, match="4-D"):
        ops.dot_product_attention(torch.ones(2, 3), torch.ones(2, 3), torch.ones(2, 3))
    with pytest.raises(TypeError, match="symbolic KerasTensor"):
        bool(lamina.Input((2,)))


def test_saturate_cast_clips_to_the_target_range():
    assert ops.saturate_cast(torch.tensor([-5.0, 300.0, 2.7]), "uint8").tolist() == [0, 255, 2]
    assert ops.saturate_cast(torch.tensor([70000]), "int16").tolist() == [32767]


def test_control_flow_and_gradients():
    assert ops.while_loop(lambda i: i < 5, lambda i: i + 2, 0) == 6
    assert ops.fori_loop(0, 4, lambda i, v: v + i, 0) == 6
    carry, ys = ops.scan(lambda c, x: (c + x, c * x), torch.tensor(0.0), torch.arange(4.0))
    assert float(carry) == 6.0 and ys.tolist() == [0.0, 0.0, 2.0, 9.0]  # carries 0, 0, 1, 3
    summed = ops.associative_scan(lambda a, b: a + b, torch.arange(1.0, 8.0))
    assert summed.tolist() == torch.cumsum(torch.arange(1.0, 8.0), 0).tolist()
    assert ops.switch(5, [lambda x: x, lambda x: -x], torch.tensor(2.0)) == -2.0
    assert ops.cond(torch.tensor(False), lambda: 1, lambda: 2) == 2
    assert ops.map(lambda v: v * 2, torch.arange(3)).tolist() == [0, 2, 4]
    assert ops.vectorized_map(lambda v: v.sum(), torch.ones(3, 4)).tolist() == [4.0] * 3
    assert ops.vectorize(lambda a, b: a * b)(torch.ones(2, 3), torch.arange(3.0)).tolist() == [[0.0, 1.0, 2.0]] * 2
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    ops.sum(ops.stop_gradient(x) * x).backward()
    assert x.grad.tolist() == [1.0, 2.0]


def test_cond_compiles_to_torch_cond():
    def f(x):
        return ops.cond(x.sum() > 0, lambda: x * 2, lambda: x - 1)

    compiled = torch.compile(f, fullgraph=True, backend="eager")
    x = torch.tensor([1.0, -3.0])
    assert torch.equal(compiled(x), f(x)) and torch.equal(compiled(-x), f(-x))
