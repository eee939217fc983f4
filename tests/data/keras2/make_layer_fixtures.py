"""Reference numbers and configs of two Keras 2 layers that Keras 3 dropped, from tf_keras.

Run once with the TensorFlow venv (TensorFlow 2.21.0, tf_keras 2.21.0); the outputs are committed and
read by tests/layers/test_keras2_layers.py (CI never imports TensorFlow):

    /work/tfenv/bin/python tests/data/keras2/make_layer_fixtures.py

Writes keras2_layers.npz (inputs, weights, outputs, gradients) and keras2_layers.json (configs, weight
names, versions) next to this script.
"""

import json
import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
rng = np.random.default_rng(2024)
arrays, described = {}, {"versions": {"tensorflow": tf.__version__, "tf_keras": tf_keras.__version__}}

# ThresholdedReLU: values at the threshold (float32), either side of it, signed zeros.
for index, theta in enumerate([0.0, 0.1, 1.0, 2.5]):
    layer = tf_keras.layers.ThresholdedReLU(theta=theta)
    x = np.concatenate([rng.standard_normal(20) * 2, [np.float32(theta), -0.0, 0.0, -1.0]]).astype("float32")
    x = x.reshape(4, 6)
    arrays[f"thresholded_relu_{index}_x"] = x
    arrays[f"thresholded_relu_{index}_y"] = layer(x).numpy()
    described[f"thresholded_relu_{index}"] = {"theta": theta, "config": layer.get_config()}

# RandomFourierFeatures: both kernels, default and given scales, trainable scale or not.
CASES = [("gaussian", None, False, 5, 7), ("laplacian", None, False, 3, 4), ("gaussian", 0.5, True, 4, 6),
         ("laplacian", 2.0, True, 2, 3)]
for index, (initializer, scale, trainable, input_dim, output_dim) in enumerate(CASES):
    layer = tf_keras.layers.experimental.RandomFourierFeatures(
        output_dim=output_dim, kernel_initializer=initializer, scale=scale, trainable=trainable)
    x = rng.standard_normal((4, input_dim)).astype("float32")
    weights_out = rng.standard_normal((4, output_dim)).astype("float32")
    inputs = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        y = layer(inputs)
        loss = tf.reduce_sum(y * weights_out)
    gradients = tape.gradient(loss, [inputs, *layer.trainable_weights])
    key = f"random_fourier_features_{index}"
    arrays[f"{key}_x"], arrays[f"{key}_y"], arrays[f"{key}_r"] = x, y.numpy(), weights_out
    for position, weight in enumerate(layer.get_weights()):
        arrays[f"{key}_w{position}"] = weight
    for position, gradient in enumerate(gradients):
        arrays[f"{key}_g{position}"] = gradient.numpy()
    described[key] = {"init": {"output_dim": output_dim, "kernel_initializer": initializer, "scale": scale,
                               "trainable": trainable},
                      "config": layer.get_config(),
                      "weights": [w.name for w in layer.weights],
                      "trainable_weights": [w.name for w in layer.trainable_weights]}

np.savez_compressed(HERE / "keras2_layers.npz", **arrays)
(HERE / "keras2_layers.json").write_text(json.dumps(described, indent=1, sort_keys=True) + "\n")
print(f"wrote {len(arrays)} arrays and {len(described) - 1} configs")
