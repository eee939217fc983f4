"""Keras's "Text classification with Transformer" example trained by ``fit`` in Keras 3 and in lamina from
the same starting weights: the History and the weights after a few epochs of SGD agree. A second model
trains through Embedding(mask_zero=True) masks (attention and pooling masked).

The example's dropout rates are 0 here: random draws cannot match across the two libraries.
"""

import numpy as np
import pytest
import torch

import lamina

VOCAB, MAXLEN, EMBED, HEADS, FF = 40, 10, 8, 2, 16


def example_model(module, arange):
    """The Keras example's model, written once for both libraries (``module``: keras or lamina)."""
    layers = module.layers

    class TransformerBlock(layers.Layer):
        def __init__(self, embed_dim, num_heads, ff_dim, rate=0.0, **kwargs):
            super().__init__(**kwargs)
            self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
            self.ffn = module.Sequential([layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim)])
            self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
            self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
            self.dropout1 = layers.Dropout(rate)
            self.dropout2 = layers.Dropout(rate)

        def call(self, inputs):
            attn_output = self.dropout1(self.att(inputs, inputs))
            out1 = self.layernorm1(inputs + attn_output)
            ffn_output = self.dropout2(self.ffn(out1))
            return self.layernorm2(out1 + ffn_output)

    class TokenAndPositionEmbedding(layers.Layer):
        def __init__(self, maxlen, vocab_size, embed_dim, **kwargs):
            super().__init__(**kwargs)
            self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
            self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

        def call(self, x):
            positions = self.pos_emb(arange(x.shape[-1]))
            return self.token_emb(x) + positions

    inputs = layers.Input(shape=(MAXLEN,), dtype="int32")
    x = TokenAndPositionEmbedding(MAXLEN, VOCAB, EMBED)(inputs)
    x = TransformerBlock(EMBED, HEADS, FF)(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(0.0)(x)
    x = layers.Dense(FF, activation="relu")(x)
    x = layers.Dropout(0.0)(x)
    outputs = layers.Dense(2, activation="softmax")(x)
    return module.Model(inputs=inputs, outputs=outputs)


def masked_model(module, arange):
    layers = module.layers
    inputs = layers.Input(shape=(MAXLEN,), dtype="int32")
    embedded = layers.Embedding(VOCAB, EMBED, mask_zero=True)(inputs)
    attended = layers.MultiHeadAttention(HEADS, 4, value_dim=3)(embedded, embedded, use_causal_mask=True)
    x = layers.LayerNormalization()(layers.Add()([embedded, attended]))
    x = layers.GlobalAveragePooling1D()(x)
    return module.Model(inputs, layers.Dense(2, activation="softmax")(x))


def _data(seed, count):
    generator = np.random.default_rng(seed)
    tokens = generator.integers(1, VOCAB, (count, MAXLEN)).astype("int32")
    lengths = generator.integers(3, MAXLEN + 1, count)
    tokens[np.arange(MAXLEN)[None, :] >= lengths[:, None]] = 0  # right-padded reviews
    labels = (tokens[:, 0] % 2).astype("int32")
    return tokens, labels


@pytest.mark.parametrize("make_model", [example_model, masked_model])
def test_fit_matches_keras(keras, make_model):
    (x, y), (x_val, y_val) = _data(0, 48), _data(1, 16)
    keras_model = make_model(keras, lambda n: keras.ops.arange(0, n, 1))
    lamina_model = make_model(lamina, lambda n: torch.arange(n))
    weights = keras_model.get_weights()
    lamina_model.set_weights(weights)
    histories = []
    for module, model in ((keras, keras_model), (lamina, lamina_model)):
        model.compile(optimizer=module.optimizers.SGD(learning_rate=0.1),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        histories.append(model.fit(x, y, batch_size=16, epochs=3, validation_data=(x_val, y_val),
                                   shuffle=False, verbose=0).history)
    keras_history, lamina_history = histories
    assert set(lamina_history) == set(keras_history)
    for name, values in keras_history.items():
        np.testing.assert_allclose(lamina_history[name], values, rtol=1e-5, atol=1e-6, err_msg=name)
    for trained, expected in zip(lamina_model.get_weights(), keras_model.get_weights()):
        np.testing.assert_allclose(trained, expected, rtol=0, atol=1e-5 * max(1.0, np.abs(expected).max()))
    moved = sum(float(np.abs(a - b).max()) for a, b in zip(lamina_model.get_weights(), weights))
    assert moved > 1e-2  # training changed the weights
