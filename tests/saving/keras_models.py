"""Model builders shared by the Keras-file tests: each builds the same model from ``keras`` or ``lamina``.

``build(k)`` takes the module (``keras`` or ``lamina``) and returns ``(model, inputs)``; the same code
runs on both because lamina speaks Keras's API. Together they cover every layer family lamina has.
"""

import numpy as np


def _rng(seed=0):
    return np.random.default_rng(seed)


def dense_mlp(k):
    model = k.Sequential([k.Input((6,)), k.layers.Dense(8, activation="relu", kernel_regularizer="l2"),
                          k.layers.Dropout(0.3), k.layers.Dense(4, activation="softmax")])
    return model, _rng().standard_normal((5, 6))


def conv1d(k):
    L = k.layers
    inputs = k.Input((12, 3))
    x = L.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="tanh")(inputs)
    x = L.MaxPooling1D(2)(x)
    x = L.Conv1DTranspose(3, 3, strides=2, padding="same")(x)
    x = L.SeparableConv1D(4, 3, depth_multiplier=2)(x)
    x = L.DepthwiseConv1D(3, padding="same")(x)
    x = L.AveragePooling1D(2, padding="same")(x)
    x = L.UpSampling1D(2)(L.Cropping1D((1, 0))(L.ZeroPadding1D(1)(x)))
    outputs = L.Dense(2)(L.GlobalMaxPooling1D()(x))
    return k.Model(inputs, outputs), _rng().standard_normal((3, 12, 3))


def conv2d(k):
    L = k.layers
    model = k.Sequential([k.Input((9, 9, 3)), L.Conv2D(5, 3, strides=2, padding="same", use_bias=False),
                          L.BatchNormalization(), L.ReLU(), L.MaxPooling2D(2, padding="same"),
                          L.AveragePooling2D(1), L.Flatten(), L.Dense(3)])
    return model, _rng().standard_normal((2, 9, 9, 3))


def conv2d_variants(k):
    L = k.layers
    inputs = k.Input((8, 8, 2))
    x = L.SeparableConv2D(4, 3, padding="same", depth_multiplier=2)(inputs)
    x = L.DepthwiseConv2D(3, depth_multiplier=2)(x)
    x = L.Conv2DTranspose(3, 3, strides=2, padding="same", output_padding=1)(x)
    x = L.UpSampling2D(2, interpolation="bilinear")(L.Cropping2D(((1, 0), (0, 1)))(L.ZeroPadding2D(1)(x)))
    x = L.Conv2D(2, 3, groups=1, dilation_rate=2)(x)
    outputs = L.GlobalAveragePooling2D()(x)
    return k.Model(inputs, outputs), _rng().standard_normal((2, 8, 8, 2))


def conv2d_channels_first(k):
    L = k.layers
    model = k.Sequential([k.Input((2, 6, 6)), L.Conv2D(3, 3, data_format="channels_first"),
                          L.MaxPooling2D(2, data_format="channels_first"), L.Flatten(), L.Dense(2)])
    return model, _rng().standard_normal((2, 2, 6, 6))


def conv3d(k):
    L = k.layers
    model = k.Sequential([k.Input((4, 6, 6, 2)), L.Conv3D(3, 2, padding="same"), L.Conv3DTranspose(2, 2, strides=2),
                          L.MaxPooling3D(2), L.AveragePooling3D(2, padding="same"), L.ZeroPadding3D(1),
                          L.Cropping3D(1), L.UpSampling3D(2), L.GlobalMaxPooling3D(), L.Dense(2)])
    return model, _rng().standard_normal((2, 4, 6, 6, 2))


def normalization(k):
    L = k.layers
    inputs = k.Input((6, 8))
    x = L.LayerNormalization()(inputs)
    x = L.GroupNormalization(groups=4)(x)
    x = L.BatchNormalization(axis=-1, momentum=0.9, center=False)(x)
    x = L.UnitNormalization()(x)
    outputs = L.BatchNormalization(scale=False)(L.Flatten()(x))
    return k.Model(inputs, outputs), _rng().standard_normal((4, 6, 8))


def masked_recurrent(k):
    L = k.layers
    model = k.Sequential([k.Input((7,), dtype="int32"), L.Embedding(10, 4, mask_zero=True),
                          L.LSTM(5, return_sequences=True), L.GRU(3, reset_after=False, return_sequences=True),
                          L.SimpleRNN(2)])
    data = _rng().integers(1, 10, (4, 7))
    data[0, 5:] = 0
    data[2, 3:] = 0
    return model, data


def masked_bidirectional(k):
    # Sequential: in a functional model Keras 3 records Masking's mask as raw ops nodes (NotEqual, Any).
    L = k.layers
    model = k.Sequential([k.Input((6, 3)), L.Masking(0.0),
                          L.Bidirectional(L.GRU(3, return_sequences=True), merge_mode="sum"),
                          L.LSTM(2, go_backwards=True)])
    data = _rng().standard_normal((3, 6, 3))
    data[1, 4:] = 0.0
    return model, data


def stacked_cells(k):
    L = k.layers
    inputs = k.Input((5, 3))
    x = L.RNN(L.StackedRNNCells([L.LSTMCell(4), L.GRUCell(3), L.SimpleRNNCell(2)]), return_sequences=True)(inputs)
    outputs = L.RNN(L.LSTMCell(2), go_backwards=True)(x)
    return k.Model(inputs, outputs), _rng().standard_normal((2, 5, 3))


def bidirectional_modes(k):
    L = k.layers
    inputs = k.Input((5, 3))
    branches = [L.Bidirectional(L.LSTM(2, return_sequences=True), merge_mode=mode)(inputs)
                for mode in ("concat", "ave", "mul")]
    pair = L.Bidirectional(L.SimpleRNN(2), merge_mode=None)(inputs)
    merged = L.Concatenate()([L.Flatten()(branch) for branch in branches] + list(pair))
    return k.Model(inputs, merged), _rng().standard_normal((2, 5, 3))


def time_distributed(k):
    L = k.layers
    inputs = k.Input((3, 6, 6, 2))
    x = L.TimeDistributed(L.Conv2D(2, 3))(inputs)
    x = L.TimeDistributed(L.Flatten())(x)
    outputs = L.TimeDistributed(L.Dense(2, activation="sigmoid"))(x)
    return k.Model(inputs, outputs), _rng().standard_normal((2, 3, 6, 6, 2))


def merging(k):
    L = k.layers
    a, b = k.Input((4,)), k.Input((4,))
    pieces = [L.Add()([a, b]), L.Subtract()([a, b]), L.Multiply()([a, b]), L.Average()([a, b]),
              L.Maximum()([a, b]), L.Minimum()([a, b]), L.Dot(axes=1, normalize=True)([a, b])]
    return k.Model([a, b], L.Concatenate(axis=-1)(pieces)), [_rng(1).standard_normal((3, 4)),
                                                              _rng(2).standard_normal((3, 4))]


def shared_layers(k):
    L = k.layers
    a, b = k.Input((5,), name="left"), k.Input((5,), name="right")
    shared = L.Dense(3, activation="tanh", name="shared")
    joined = L.Concatenate()([shared(a), shared(b), shared(L.Dense(5)(a))])
    return k.Model([a, b], L.Dense(2)(joined)), [_rng(3).standard_normal((2, 5)), _rng(4).standard_normal((2, 5))]


def multiple_outputs(k):
    L = k.layers
    image, numbers = k.Input((6, 6, 1), name="image"), k.Input((3,), name="numbers")
    features = L.Flatten()(L.Conv2D(2, 3, activation="relu")(image))
    merged = L.Concatenate()([features, L.Dense(4)(numbers)])
    kind = L.Dense(3, activation="softmax", name="kind")(merged)
    size = L.Dense(1, name="size")(merged)
    return k.Model([image, numbers], [kind, size]), [_rng(5).standard_normal((2, 6, 6, 1)),
                                                     _rng(6).standard_normal((2, 3))]


def nested_sequential(k):
    L = k.layers
    inner = k.Sequential([k.Input((4,)), L.Dense(6, activation="relu"), L.BatchNormalization(), L.Dense(3)],
                         name="inner")
    inputs = k.Input((4,))
    outputs = L.Dense(2)(L.Add()([inner(inputs), L.Dense(3)(inputs)]))
    return k.Model(inputs, outputs), _rng().standard_normal((3, 4))


def nested_functional(k):
    L = k.layers
    inner_in = k.Input((5,))
    inner = k.Model(inner_in, L.Dense(3, activation="elu")(L.Dense(4)(inner_in)), name="block")
    inputs = k.Input((5,))
    x = inner(inputs)
    outputs = L.Dense(2)(L.Concatenate()([x, inner(L.Dense(5)(inputs))]))
    return k.Model(inputs, outputs), _rng().standard_normal((3, 5))


def activation_layers(k):
    L = k.layers
    model = k.Sequential([k.Input((3, 4)), L.Dense(6), L.LeakyReLU(0.1), L.PReLU(shared_axes=[1]), L.ELU(0.5),
                          L.ReLU(max_value=2.0, threshold=0.1), L.Activation("swish"), L.Softmax(axis=1),
                          L.Activation("hard_sigmoid")])
    return model, _rng().standard_normal((2, 3, 4))


def reshaping(k):
    L = k.layers
    model = k.Sequential([k.Input((12,)), L.Reshape((3, 4)), L.Permute((2, 1)), L.Flatten(), L.RepeatVector(2),
                          L.SpatialDropout1D(0.2), L.GaussianNoise(0.1), L.GaussianDropout(0.1), L.AlphaDropout(0.1),
                          L.Flatten(), L.ActivityRegularization(l1=0.01), L.Identity(), L.Dense(2)])
    return model, _rng().standard_normal((2, 12))


def embedding_pooling(k):
    L = k.layers
    inputs = k.Input((6,), dtype="int32")
    x = L.Embedding(20, 5, embeddings_initializer="he_normal")(inputs)
    outputs = L.Dense(3)(L.GlobalAveragePooling1D()(x))
    return k.Model(inputs, outputs), _rng().integers(0, 20, (3, 6))


def configured_dense(k):
    L = k.layers
    model = k.Sequential([
        k.Input((5,)),
        L.Dense(4, kernel_initializer=k.initializers.Orthogonal(gain=0.5), bias_initializer="ones",
                kernel_regularizer=k.regularizers.L1L2(0.01, 0.02), kernel_constraint=k.constraints.MaxNorm(2.0),
                activity_regularizer="l1", activation="selu", name="configured"),
        L.Dense(2, use_bias=False, kernel_constraint="non_neg", dtype="float64")])
    return model, _rng().standard_normal((2, 5))


def lora(k):
    L = k.layers
    model = k.Sequential([k.Input((5,), dtype="int32"), L.Embedding(12, 4, lora_rank=2), L.Flatten(),
                          L.Dense(3, lora_rank=2, lora_alpha=4.0)])
    return model, _rng().integers(0, 12, (2, 5))


MODELS = [dense_mlp, conv1d, conv2d, conv2d_variants, conv2d_channels_first, conv3d, normalization,
          masked_recurrent, masked_bidirectional, stacked_cells, bidirectional_modes, time_distributed, merging,
          shared_layers, multiple_outputs, nested_sequential, nested_functional, activation_layers, reshaping,
          embedding_pooling, configured_dense, lora]


def randomize(model, seed=0):
    """Random weights in ``model`` (a Keras or lamina model): normals, and positive variances."""
    generator = np.random.default_rng(seed)
    values = []
    for weight, value in zip(model.weights, model.get_weights()):
        if "variance" in weight.path:
            values.append(generator.uniform(0.5, 1.5, value.shape).astype(value.dtype))
        else:
            values.append((generator.standard_normal(value.shape) * 0.4).astype(value.dtype))
    model.set_weights(values)
