"""Keras example "Text classification with Transformer": the Transformer block."""

import json

import keras
import numpy as np
from keras import layers


class TransformerBlock(layers.Layer):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1):
        super().__init__()
        self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.ffn = keras.Sequential([layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim)])
        self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = layers.Dropout(rate)
        self.dropout2 = layers.Dropout(rate)

    def call(self, inputs):
        attn_output = self.att(inputs, inputs)
        out1 = self.layernorm1(inputs + self.dropout1(attn_output))
        return self.layernorm2(out1 + self.dropout2(self.ffn(out1)))


print(TransformerBlock(32, 2, 32)(np.zeros((2, 10, 32), "float32")).shape)
block = TransformerBlock(32, 2, 32)
# Zero inputs: every projection gives its zero bias and layer normalization of zeros gives beta = 0.
outputs = block(np.zeros((2, 10, 32), "float32"))
print("RESULT", json.dumps({"shape": list(outputs.shape), "params": block.count_params(),
                            "weights": [w.name for w in block.trainable_weights],
                            "layouts": [list(array.shape) for array in block.get_weights()],
                            "non_trainable": len(block.non_trainable_weights),
                            "dtype": keras.backend.standardize_dtype(outputs.dtype),
                            "zeros": round(float(np.abs(keras.ops.convert_to_numpy(outputs)).max()), 3)}))
