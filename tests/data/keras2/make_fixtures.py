"""Makes the Keras 2 fixtures of tests/saving/test_keras2_files.py. Run once, with TensorFlow:

    /work/tfenv/bin/python tests/data/keras2/make_fixtures.py

Written with TensorFlow 2.21.0 and tf_keras 2.21.0 (Keras 2), Python 3.11; ``foreign_lambda.json`` holds a
lambda marshalled by Python 3.8 and by Python 3.13 (pyenv's ``python3.8`` and ``python3.13``).
Each ``<name>.h5`` (or ``.keras``) has a ``<name>.npz`` beside it with the inputs (``x0``, ``x1``…) and
Keras 2's outputs (``y0``, ``y1``…); the compiled model also stores its weights after one more epoch
(``w0``, ``w1``…). ``keras22_model.h5`` is the ``mlp`` model's file rewritten into the form standalone
Keras 2.2 wrote (a Sequential of bare layer configs with ``batch_input_shape``, Keras 2.2's
VarianceScaling and ``lr``/``decay``/``epsilon: null`` optimizer configs, no optimizer state), since
Keras 2.2 no longer installs on Python 3.11.
"""

import json
import os
import pathlib
import subprocess

import h5py
import numpy as np
import tensorflow as tf
import tf_keras as keras

HERE = pathlib.Path(__file__).resolve().parent
L = keras.layers
rng = np.random.default_rng(0)


def randomize(model, seed=1):
    generator = np.random.default_rng(seed)
    values = []
    for weight in model.weights:
        shape = tuple(weight.shape)
        values.append(generator.uniform(0.5, 1.5, shape) if "variance" in weight.name
                      else generator.standard_normal(shape) * 0.5)
    model.set_weights([v.astype(w.dtype.as_numpy_dtype) for v, w in zip(values, model.weights)])


def save(name, model, inputs, outputs=None, suffix=".h5", **extra):
    inputs = inputs if isinstance(inputs, list) else [inputs]
    if outputs is None:
        outputs = model(inputs if len(inputs) > 1 else inputs[0], training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    model.save(HERE / f"{name}{suffix}")
    arrays = {f"x{i}": np.asarray(x) for i, x in enumerate(inputs)}
    arrays.update({f"y{i}": np.asarray(y) for i, y in enumerate(outputs)})
    np.savez(HERE / f"{name}.npz", **arrays, **extra)


def recurrent_hard_sigmoid():
    model = keras.Sequential([L.LSTM(4, recurrent_activation="hard_sigmoid", return_sequences=True,
                                     input_shape=(5, 3)),
                              L.GRU(3, recurrent_activation="hard_sigmoid", activation="hard_sigmoid",
                                    reset_after=False, return_sequences=True),
                              L.SimpleRNN(2, activation="hard_sigmoid"), L.Dense(2, activation="hard_sigmoid")])
    randomize(model)
    save("recurrent_hard_sigmoid", model, rng.standard_normal((3, 5, 3)).astype("float32") * 3)


def time_major():
    inputs = keras.Input((2, 3))  # read as (time, batch=2, features) by the time-major layers
    x = L.LSTM(4, time_major=True, return_sequences=True)(inputs)
    x = L.GRU(3, time_major=True, reset_after=True, return_sequences=True)(x)
    outputs = L.SimpleRNN(2, time_major=True)(x)
    model = keras.Model(inputs, outputs)
    randomize(model)
    save("time_major", model, rng.standard_normal((6, 2, 3)).astype("float32"))


def stateful_lstm():
    model = keras.Sequential([L.LSTM(3, stateful=True, batch_input_shape=(2, 4, 3), return_sequences=True),
                              L.LSTM(2, stateful=True), L.Dense(1)])
    randomize(model)
    first, second = (rng.standard_normal((2, 4, 3)).astype("float32") for _ in range(2))
    weights = [w.copy() for w in model.get_weights()]
    outputs = [model(first), model(second)]  # the second call starts from the first's final states
    model.reset_states()
    model.set_weights(weights)
    save("stateful_lstm", model, [first, second], outputs)


def locally_connected():
    image = keras.Input((7, 6, 2), name="image")
    image_cf = keras.Input((2, 7, 6), name="image_cf")
    sequence = keras.Input((9, 3), name="sequence")
    branches = [
        L.LocallyConnected2D(3, (3, 2), strides=(2, 1), implementation=1)(image),
        L.LocallyConnected2D(2, (2, 3), strides=2, padding="same", implementation=2)(image),
        L.LocallyConnected2D(2, 3, padding="same", implementation=3, activation="relu")(image),
        L.LocallyConnected2D(2, (2, 2), data_format="channels_first", implementation=1)(image_cf),
        L.LocallyConnected2D(3, (3, 2), strides=(1, 2), data_format="channels_first", implementation=2)(image_cf),
        L.LocallyConnected2D(2, 2, padding="same", data_format="channels_first", implementation=3)(image_cf),
        L.LocallyConnected1D(3, 3, strides=2, implementation=1)(sequence),
        L.LocallyConnected1D(2, 4, padding="same", implementation=2, use_bias=False)(sequence),
        L.LocallyConnected1D(2, 2, strides=3, padding="same", implementation=3)(sequence),
    ]
    model = keras.Model([image, image_cf, sequence], L.Concatenate()([L.Flatten()(b) for b in branches]))
    randomize(model)
    save("locally_connected", model, [rng.standard_normal((2, 7, 6, 2)).astype("float32"),
                                      rng.standard_normal((2, 2, 7, 6)).astype("float32"),
                                      rng.standard_normal((2, 9, 3)).astype("float32")])


def bidirectional_gru():
    inputs = keras.Input((6, 3))
    outputs = [L.TimeDistributed(L.Dense(2))(L.Bidirectional(L.GRU(3, return_sequences=True),
                                                             merge_mode="concat")(inputs)),
               L.Bidirectional(L.GRU(2, reset_after=False), merge_mode="ave")(inputs),
               L.Bidirectional(L.GRU(2, return_sequences=True), merge_mode="sum")(inputs),
               L.Bidirectional(L.LSTM(2), merge_mode="mul")(inputs)]
    pair = L.Bidirectional(L.SimpleRNN(2), merge_mode=None)(inputs)
    model = keras.Model(inputs, outputs + list(pair))
    randomize(model)
    save("bidirectional_gru", model, rng.standard_normal((2, 6, 3)).astype("float32"))


def embedding_input_length():
    model = keras.Sequential([L.Embedding(20, 4, input_length=6, mask_zero=True),
                              L.LSTM(3, return_sequences=True), L.GlobalAveragePooling1D(), L.Dense(2)])
    randomize(model)
    tokens = rng.integers(1, 20, (3, 6)).astype("int32")
    tokens[1, 4:] = 0
    save("embedding_input_length", model, tokens)


def graph():
    """Nested Sequential and functional models, a shared layer, two inputs and two outputs, Keras 2 names."""
    block_in = keras.Input((4,))
    block = keras.Model(block_in, L.Dense(3, activation="elu")(block_in), name="block")
    tower = keras.Sequential([L.Dense(4, input_shape=(4,)), L.LeakyReLU(alpha=0.2), L.BatchNormalization()],
                             name="tower")
    left, right = keras.Input((4,), name="left"), keras.Input((6, 6, 1), name="right")
    shared = L.Dense(4, name="shared", kernel_initializer=keras.initializers.VarianceScaling(
        scale=2.0, mode="fan_in", distribution="truncated_normal"))
    image = L.Flatten()(L.MaxPooling2D()(L.Convolution2D(2, 3, activation="relu")(right)))
    a = block(shared(tower(left)))
    b = block(shared(L.Dense(4)(image)))
    joined = L.Concatenate()([a, b, L.PReLU()(L.Dense(3)(image))])
    first = L.Dense(2, activation="softmax", name="first")(joined)
    second = L.Dense(1, name="second")(L.Dropout(0.5)(joined))
    model = keras.Model([left, right], [first, second])
    randomize(model)
    save("graph", model, [rng.standard_normal((2, 4)).astype("float32"),
                          rng.standard_normal((2, 6, 6, 1)).astype("float32")])


def compiled_mlp():
    model = keras.Sequential([L.Dense(6, activation="relu", input_shape=(4,)), L.Dense(3, activation="softmax")],
                             name="mlp")
    randomize(model)
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    x = rng.standard_normal((16, 4)).astype("float32")
    y = rng.integers(0, 3, 16)
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    outputs = model(x)
    model.save(HERE / "compiled_mlp.h5")
    model.save_weights(HERE / "compiled_mlp_weights.h5")
    model.save(HERE / "compiled_mlp.keras")
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    np.savez(HERE / "compiled_mlp.npz", x0=x, y0=np.asarray(outputs), labels=y,
             **{f"w{i}": w for i, w in enumerate(model.get_weights())})
    keras22(HERE / "compiled_mlp.h5", HERE / "keras22_model.h5")


def keras22(source, target):
    """``source`` rewritten as standalone Keras 2.2.4 wrote it."""
    import shutil

    shutil.copy(source, target)
    with h5py.File(target, "r+") as handle:
        config = json.loads(handle.attrs["model_config"])
        layers = config["config"]["layers"]
        layers = [layer for layer in layers if layer["class_name"] != "InputLayer"]
        for layer in layers:
            layer.pop("module", None)
            layer.pop("registered_name", None)
            layer.pop("build_config", None)
            inner = layer["config"]
            inner["kernel_initializer"] = {"class_name": "VarianceScaling", "config": {
                "scale": 1.0, "mode": "fan_avg", "distribution": "uniform", "seed": None}}
            inner["bias_initializer"] = {"class_name": "Zeros", "config": {}}
        layers[0]["config"]["batch_input_shape"] = [None, 4]
        handle.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {
            "name": "sequential_1", "layers": layers}})
        handle.attrs["training_config"] = json.dumps({
            "optimizer_config": {"class_name": "Adam", "config": {"lr": 0.01, "beta_1": 0.9, "beta_2": 0.999,
                                                                  "decay": 0.0, "epsilon": None, "amsgrad": False}},
            "loss": "sparse_categorical_crossentropy", "metrics": ["acc"], "sample_weight_mode": None,
            "loss_weights": None})
        handle.attrs["keras_version"] = "2.2.4"
        handle.attrs["backend"] = "tensorflow"
        del handle["optimizer_weights"]


def lambdas():
    """A Lambda layer in Keras 2's bytecode form; and the same config holding Python 3.8 bytecode."""
    model = keras.Sequential([L.Dense(2, input_shape=(3,)), L.Lambda(lambda t: t * 2.0 + 1.0)])
    randomize(model)
    save("lambda", model, rng.standard_normal((2, 3)).astype("float32"))
    foreign = {}
    for version in ("3.8.18", "3.13.0"):  # pyenv's Pythons: one that marshal refuses, one whose opcodes differ
        foreign[version] = subprocess.run(
            [f"python{version[:version.rindex('.')]}", "-c", "import marshal, codecs; print(codecs.encode("
             "marshal.dumps((lambda t: t * 2.0 + 1.0).__code__), 'base64').decode('ascii'), end='')"],
            check=True, capture_output=True, text=True, env={**os.environ, "PYENV_VERSION": version}).stdout
    (HERE / "foreign_lambda.json").write_text(json.dumps(foreign, indent=1))


if __name__ == "__main__":
    tf.random.set_seed(0)
    for make in (recurrent_hard_sigmoid, time_major, stateful_lstm, locally_connected, bidirectional_gru,
                 embedding_input_length, graph, compiled_mlp, lambdas):
        make()
        print("wrote", make.__name__)
