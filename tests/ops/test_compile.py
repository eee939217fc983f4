"""Common ops compile under ``torch.compile(fullgraph=True)`` (no graph break) inside a custom layer's
call and give the eager numbers."""

import torch

import lamina
from lamina import layers, ops


class OpsBlock(layers.Layer):
    """A layer written the Keras way with the ops a model's call commonly uses."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], 8), initializer="glorot_uniform")
        self.gamma = self.add_weight(shape=(8,), initializer="ones")

    def call(self, inputs):
        x = ops.matmul(inputs, self.w)
        x = ops.layer_normalization(x, self.gamma, axis=-1)
        x = ops.where(x > 0, ops.gelu(x), 0.1 * x)
        x = ops.concatenate([x, ops.square(x)], axis=-1)
        x = ops.reshape(ops.transpose(ops.expand_dims(x, 1), (0, 2, 1)), (-1, 16))
        scores = ops.softmax(ops.einsum("bi,bj->bij", x, x), axis=-1)
        pooled = ops.mean(ops.max(scores, axis=-1), axis=-1, keepdims=True)
        return ops.clip(ops.cast(pooled, "float32") + ops.sum(ops.abs(x), axis=-1, keepdims=True), 0.0, 100.0)


def test_ops_compile_without_graph_breaks():
    torch._dynamo.reset()
    layer = OpsBlock()
    x = torch.randn(5, 6)
    expected = layer(x)
    compiled = torch.compile(layer, fullgraph=True, backend="eager")
    torch.testing.assert_close(compiled(x), expected)
    explanation = torch._dynamo.explain(layer)(x)
    assert explanation.graph_break_count == 0, explanation.break_reasons


def test_functional_model_with_ops_compiles():
    torch._dynamo.reset()
    inputs = lamina.Input((6,))
    outputs = ops.sum(ops.relu(layers.Dense(4)(inputs)) * 2.0, axis=-1)
    model = lamina.Model(inputs, outputs)
    x = torch.randn(3, 6)
    torch.testing.assert_close(torch.compile(model, backend="eager")(x), model(x))
