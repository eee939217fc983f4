"""Makes k_functions.npz: inputs and outputs of Keras 2's backend functions (``from keras import backend
as K``), the reference for tests/test_backend.py.

Run once with TensorFlow 2.21 and tf_keras 2.21 (Keras 2): python make_k_fixtures.py (in a TensorFlow
environment; CI never runs it).
"""

import json
import pathlib

import numpy as np
import tensorflow as tf
import tf_keras.backend as K

rng = np.random.default_rng(0)


def r(*shape):
    return rng.normal(size=shape).astype("float32")


def p(*shape):
    return rng.uniform(0.05, 0.95, size=shape).astype("float32")


CASES = {
    "dot_2d": ("dot", [r(3, 4), r(4, 5)], {}),
    "dot_nd": ("dot", [r(2, 3, 4), r(5, 4, 6)], {}),
    "dot_3d_2d": ("dot", [r(2, 3, 4), r(4, 2)], {}),
    "batch_dot_default": ("batch_dot", [r(2, 3, 4), r(2, 4, 5)], {}),
    "batch_dot_2d": ("batch_dot", [r(3, 4), r(3, 4)], {}),
    "batch_dot_axes": ("batch_dot", [r(2, 3, 4), r(2, 5, 3)], {"axes": (1, 2)}),
    "batch_dot_int_axes": ("batch_dot", [r(2, 4, 3), r(2, 4, 5)], {"axes": 1}),
    "batch_dot_4d": ("batch_dot", [r(2, 3, 4, 5), r(2, 5, 6)], {"axes": (3, 1)}),
    "mean_axis": ("mean", [r(3, 4, 2)], {"axis": 1}),
    "mean_keepdims": ("mean", [r(3, 4)], {"axis": -1, "keepdims": True}),
    "sum_all": ("sum", [r(3, 4)], {}),
    "max_axis": ("max", [r(3, 4)], {"axis": 0}),
    "min_keep": ("min", [r(3, 4)], {"axis": 1, "keepdims": True}),
    "std": ("std", [r(3, 4)], {"axis": 1}),
    "var": ("var", [r(3, 4)], {}),
    "prod": ("prod", [p(3, 4)], {"axis": 0}),
    "square": ("square", [r(3, 4)], {}),
    "sqrt": ("sqrt", [p(3, 4)], {}),
    "exp": ("exp", [r(3)], {}),
    "log": ("log", [p(3)], {}),
    "clip": ("clip", [r(3, 4), -0.5, 0.5], {}),
    "clip_inverted": ("clip", [r(3, 4), 0.5, -0.5], {}),
    "concatenate": ("concatenate", [[r(2, 3), r(2, 2)]], {}),
    "reshape": ("reshape", [r(2, 6), (3, 4)], {}),
    "permute_dimensions": ("permute_dimensions", [r(2, 3, 4), (2, 0, 1)], {}),
    "repeat": ("repeat", [r(2, 3), 4], {}),
    "repeat_elements": ("repeat_elements", [r(2, 3), 2, 1], {}),
    "batch_flatten": ("batch_flatten", [r(2, 3, 4)], {}),
    "flatten": ("flatten", [r(2, 3)], {}),
    "expand_dims": ("expand_dims", [r(2, 3)], {}),
    "squeeze": ("squeeze", [r(2, 1, 3), 1], {}),
    "l2_normalize_axis": ("l2_normalize", [r(3, 4)], {"axis": -1}),
    "l2_normalize_all": ("l2_normalize", [r(3, 4)], {}),
    "softmax": ("softmax", [r(3, 4)], {}),
    "hard_sigmoid": ("hard_sigmoid", [r(3, 4) * 4], {}),
    "relu_alpha": ("relu", [r(3, 4)], {"alpha": 0.1, "max_value": 1.0}),
    "relu_threshold": ("relu", [r(3, 4)], {"threshold": 0.5}),
    "elu_alpha": ("elu", [r(3, 4)], {"alpha": 0.5}),
    "categorical_crossentropy": ("categorical_crossentropy", [p(3, 4), p(3, 4)], {}),
    "categorical_crossentropy_logits": ("categorical_crossentropy", [p(3, 4), r(3, 4)], {"from_logits": True}),
    "binary_crossentropy": ("binary_crossentropy", [p(3, 4), p(3, 4)], {}),
    "sparse_categorical_crossentropy": ("sparse_categorical_crossentropy", [np.array([0, 3, 1]), p(3, 4)], {}),
    "one_hot": ("one_hot", [np.array([[0, 2], [1, 3]]), 4], {}),
    "temporal_padding": ("temporal_padding", [r(2, 3, 2), (1, 2)], {}),
    "spatial_2d_padding": ("spatial_2d_padding", [r(1, 2, 3, 2), ((1, 0), (2, 1))], {}),
    "bias_add_first": ("bias_add", [r(2, 3, 4, 4), r(3)], {"data_format": "channels_first"}),
    "bias_add_last": ("bias_add", [r(2, 4, 3), r(3)], {"data_format": "channels_last"}),
    "tile": ("tile", [r(2, 3), (2, 1)], {}),
    "reverse": ("reverse", [r(2, 3), 1], {}),
    "gather": ("gather", [r(5, 3), np.array([4, 0, 2])], {}),
    "arange": ("arange", [2, 9, 3], {}),
    "argmax": ("argmax", [r(3, 4)], {}),
    "cumsum": ("cumsum", [r(3, 4)], {"axis": 1}),
    "conv2d": ("conv2d", [r(2, 6, 6, 3), r(3, 3, 3, 4)], {"padding": "same", "strides": (2, 2)}),
    "conv1d_causal": ("conv1d", [r(2, 7, 3), r(3, 3, 2)], {"padding": "causal", "dilation_rate": 2}),
    "pool2d_max": ("pool2d", [r(2, 6, 6, 3), (2, 2)], {"strides": (2, 2)}),
    "pool2d_avg_same": ("pool2d", [r(2, 5, 5, 3), (3, 3)], {"strides": (2, 2), "padding": "same",
                                                             "pool_mode": "avg"}),
    "sign": ("sign", [r(3, 4)], {}),
    "round": ("round", [r(3, 4) * 3], {}),
    "pow": ("pow", [p(3, 4), 3], {}),
    "in_top_k": ("in_top_k", [r(3, 5), np.array([0, 4, 2]), 2], {}),
    "resize_images": ("resize_images", [r(1, 2, 3, 2), 2, 3, "channels_last"], {}),
    "batch_normalization": ("batch_normalization", [r(3, 4), r(4), p(4), r(4), r(4)], {"epsilon": 1e-3}),
    "stack": ("stack", [[r(2, 3), r(2, 3)]], {"axis": 1}),
}


def main():
    arrays = {}
    for name, (function, args, kwargs) in CASES.items():
        tensors = [tf.constant(a) if isinstance(a, np.ndarray) else [tf.constant(v) for v in a]
                   if isinstance(a, list) else a for a in args]
        result = getattr(K, function)(*tensors, **kwargs)
        arrays[f"{name}/output"] = np.asarray(result)
        recipe = []
        for i, arg in enumerate(args):
            if isinstance(arg, list):
                recipe.append([{"array": f"{name}/arg{i}_{j}"} for j in range(len(arg))])
                for j, item in enumerate(arg):
                    arrays[f"{name}/arg{i}_{j}"] = item
            elif isinstance(arg, np.ndarray):
                recipe.append({"array": f"{name}/arg{i}"})
                arrays[f"{name}/arg{i}"] = arg
            else:
                recipe.append(arg)
        # How to call it: the function, its arguments (arrays by key), its keyword arguments.
        arrays[f"{name}/recipe"] = np.array(json.dumps({"function": function, "args": recipe, "kwargs": kwargs}))
    np.savez_compressed(pathlib.Path(__file__).with_name("k_functions.npz"), **arrays)


if __name__ == "__main__":
    main()
