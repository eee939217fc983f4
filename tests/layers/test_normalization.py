"""Normalization layers: differential against Keras 3 (NumPy where Keras-torch raises), moving statistics."""

import itertools
import warnings

import numpy as np
import pytest
import torch

import lamina
from keras_reference import assert_close, assert_matches_keras
from lamina.testing import run_layer_test


def _data(shape, seed=0):
    generator = np.random.default_rng(seed)
    return (generator.standard_normal(shape) * 2 + generator.standard_normal(shape[-1:])).astype("float32")


BN_SHAPES_AXES = [((6, 3), -1), ((6, 3), 1), ((4, 5, 3), -1), ((4, 5, 3), 1), ((3, 4, 5, 2), -1), ((3, 2, 4, 5), 1),
                  ((3, 4, 5, 2), 2), ((2, 3, 4, 3, 2), -1), ((2, 2, 3, 4, 3), 1)]
BN_OPTIONS = [{}, {"center": False}, {"scale": False}, {"center": False, "scale": False},
              {"momentum": 0.9, "epsilon": 1e-5}]


@pytest.mark.parametrize("shape,axis", BN_SHAPES_AXES)
@pytest.mark.parametrize("options", BN_OPTIONS)
@pytest.mark.parametrize("training", [False, True])
def test_batch_normalization_matches_keras(keras, shape, axis, options, training):
    """Outputs match, and after three training steps the moving statistics match exactly."""
    kwargs = {"axis": axis, **options}
    layer, keras_layer, _ = assert_matches_keras(keras, "BatchNormalization", kwargs, _data(shape),
                                                 call_kwargs={"training": training})
    layer.set_weights(keras_layer.get_weights())  # the helper's last Keras call moved Keras's statistics
    for step in range(1, 4):
        x = _data(shape, seed=step)
        assert_close(layer(x, training=training), keras_layer(x, training=training), what=f"step {step}")
    for ours, theirs, name in zip(layer.get_weights(), keras_layer.get_weights(), ("w0", "w1", "w2", "w3")):
        assert_close(ours, theirs, what=f"{name} after training={training} steps")


def test_batch_normalization_moving_statistics_formula():
    """moving = moving * momentum + batch * (1 - momentum), with the biased batch variance."""
    layer = lamina.layers.BatchNormalization(momentum=0.9)
    x = _data((5, 4))
    layer(x, training=True)
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.1 * x.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.moving_variance.numpy(), 0.9 + 0.1 * x.var(0), rtol=1e-5)


@pytest.mark.parametrize("shape,axis", [((4, 5, 3), -1), ((3, 2, 4, 5), 1), ((1, 3), -1)])
def test_batch_normalization_gradients_match_keras(keras, shape, axis):
    kwargs = {"axis": axis, "momentum": 0.8}
    layer, keras_layer, _ = assert_matches_keras(keras, "BatchNormalization", kwargs, _data(shape))
    x = _data(shape, seed=5)
    weights = torch.as_tensor(_data(shape, seed=6))
    grads = []
    for candidate in (layer, keras_layer):
        inputs = torch.as_tensor(x).requires_grad_()
        (candidate(inputs, training=True) * weights).sum().backward()
        grads.append(inputs.grad)
    assert_close(grads[0], grads[1], what="input gradient")
    assert_close(layer.gamma.grad, keras_layer.gamma.value.grad, what="gamma gradient")


def test_batch_normalization_not_trainable_runs_inference(keras):
    layer, keras_layer, _ = assert_matches_keras(keras, "BatchNormalization", {}, _data((6, 3)))
    layer.trainable, keras_layer.trainable = False, False
    before = layer.get_weights()
    x = _data((6, 3), seed=2)
    assert_close(layer(x, training=True), keras_layer(x, training=True))
    for old, new in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(old, new)
    assert_close(layer(x, training=True), layer(x, training=False))


def test_batch_normalization_inference_by_default_and_train_mode():
    layer = lamina.layers.BatchNormalization()
    x = _data((6, 3))
    layer(x)
    assert np.all(layer.moving_mean.numpy() == 0), "statistics must not move outside training"
    layer.train()
    layer(x)
    assert not np.all(layer.moving_mean.numpy() == 0), "module.train() means training=True"


@pytest.mark.parametrize("shape", [(3, 5, 2), (2, 3, 4, 2)])
def test_batch_normalization_mask_matches_keras(keras, shape):
    mask = np.random.default_rng(0).random(shape[:-1]) < 0.6
    layer, keras_layer, _ = assert_matches_keras(keras, "BatchNormalization", {}, _data(shape),
                                                 call_kwargs={"training": True, "mask": mask})
    layer.set_weights(keras_layer.get_weights())
    x = _data(shape, seed=1)
    assert_close(layer(x, training=True, mask=mask), keras_layer(x, training=True, mask=mask))
    for ours, theirs in zip(layer.get_weights(), keras_layer.get_weights()):
        assert_close(ours, theirs)


@pytest.mark.parametrize("clipping", [None, {"rmax": 1.5, "rmin": 0.5, "dmax": 0.3}, {"dmax": 0.0}])
@pytest.mark.parametrize("center_scale", [(True, True), (False, False)])
def test_batch_renormalization_matches_keras(keras, clipping, center_scale):
    kwargs = {"renorm": True, "renorm_clipping": clipping, "renorm_momentum": 0.8, "momentum": 0.7,
              "center": center_scale[0], "scale": center_scale[1]}
    layer, keras_layer, _ = assert_matches_keras(keras, "BatchNormalization", kwargs, _data((8, 3)))
    keras_layer.set_weights([np.abs(w) + 0.5 for w in keras_layer.get_weights()])  # valid stddevs
    layer.set_weights(keras_layer.get_weights())
    for step in range(1, 4):
        x = _data((8, 3), seed=step)
        assert_close(layer(x, training=True), keras_layer(x, training=True), what=f"step {step}")
    for ours, theirs in zip(layer.get_weights(), keras_layer.get_weights()):
        assert_close(ours, theirs)
    assert_close(layer(x), keras_layer(x), what="inference after renorm training")


LN_CASES = [((4, 6), -1), ((2, 3, 5), -1), ((2, 3, 5), [1, 2]), ((2, 3, 4, 5), [2, 3]), ((2, 3, 4, 5), -1),
            ((2, 3, 4, 5), [-2, -1]), ((2, 3, 4, 5), [1, 2, 3])]
LN_NON_LAST = [((2, 3, 5), 1), ((2, 3, 4, 5), 1), ((2, 3, 4, 5), [1, 2]), ((2, 3, 4, 5), [1, 3]),
               ((2, 3, 4, 5), 2), ((2, 3, 4, 5), [2]), ((2, 3, 4, 3, 2), [1, 3])]
LN_OPTIONS = [{}, {"center": False}, {"scale": False}, {"epsilon": 1e-5}]


@pytest.mark.parametrize("shape,axis", LN_CASES)
@pytest.mark.parametrize("options", LN_OPTIONS)
def test_layer_normalization_matches_keras(keras, shape, axis, options):
    assert_matches_keras(keras, "LayerNormalization", {"axis": axis, **options}, _data(shape))


def numpy_layer_norm(x, axes, gamma, beta, epsilon, rms_scaling=False):
    axes = tuple(sorted(a % x.ndim for a in axes))
    broadcast = [x.shape[a] if a in axes else 1 for a in range(x.ndim)]
    x = x.astype("float64")
    mean, variance = x.mean(axes, keepdims=True), x.var(axes, keepdims=True)
    y = x / np.sqrt(variance + epsilon) if rms_scaling else (x - mean) / np.sqrt(variance + epsilon)
    y = y if gamma is None else y * gamma.reshape(broadcast)
    return y if beta is None else y + beta.reshape(broadcast)


@pytest.mark.parametrize("shape,axis", LN_NON_LAST + LN_CASES)
@pytest.mark.parametrize("options", LN_OPTIONS)
def test_layer_normalization_any_axes_match_numpy(shape, axis, options):
    """Keras-torch raises on non-trailing axes (docs/keras_torch_departures.md): the rule, in NumPy."""
    layer = lamina.layers.LayerNormalization(axis=axis, **options)
    x = _data(shape)
    layer(x)
    generator = np.random.default_rng(1)
    layer.set_weights([generator.standard_normal(w.shape).astype("float32") for w in layer.get_weights()])
    gamma = layer.gamma.detach().numpy() if layer.gamma is not None else None
    beta = layer.beta.detach().numpy() if layer.beta is not None else None
    axes = axis if isinstance(axis, list) else [axis]
    expected = numpy_layer_norm(x, axes, gamma, beta, options.get("epsilon", 1e-3))
    assert_close(layer(x), expected.astype("float32"))
    assert layer.gamma is None or layer.gamma.shape == tuple(x.shape[a] for a in sorted(a % x.ndim for a in axes))


@pytest.mark.parametrize("shape,axis", [((2, 3, 5), -1), ((2, 3, 4, 5), [1, 2])])
def test_layer_normalization_rms_scaling(keras, shape, axis):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layer = lamina.layers.LayerNormalization(axis=axis, rms_scaling=True)
    x = _data(shape)
    layer(x)
    assert [w.shape for w in layer.get_weights()] == [tuple(x.shape[a] for a in np.atleast_1d(axis))]
    expected = numpy_layer_norm(x, np.atleast_1d(axis).tolist(), layer.gamma.detach().numpy(), None, 1e-3, True)
    assert_close(layer(x), expected.astype("float32"))
    if axis == -1:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert_matches_keras(keras, "LayerNormalization", {"axis": axis, "rms_scaling": True}, x)


GN_CASES = [((2, 8), 4, -1), ((2, 5, 6), 3, -1), ((2, 6, 5), 2, 1), ((2, 4, 5, 6), 2, -1), ((2, 6, 4, 5), 3, 1),
            ((2, 3, 4, 5, 4), 4, -1), ((2, 4, 3, 4, 2), 1, 1), ((2, 4, 5, 6), -1, -1), ((2, 4, 6, 5), 6, 2)]


@pytest.mark.parametrize("shape,groups,axis", GN_CASES)
@pytest.mark.parametrize("options", [{}, {"center": False, "epsilon": 1e-5}, {"scale": False}])
def test_group_normalization_matches_keras(keras, shape, groups, axis, options):
    layer, keras_layer, _ = assert_matches_keras(keras, "GroupNormalization", {"groups": groups, "axis": axis,
                                                                                **options}, _data(shape))
    assert layer.get_config()["groups"] == keras_layer.get_config()["groups"]


@pytest.mark.parametrize("shape,axis", [((3, 4), -1), ((3, 4), 1), ((2, 3, 4), [1, 2]), ((2, 3, 4, 5), 2),
                                        ((2, 3, 4, 5), (1, 3))])
def test_unit_normalization_matches_keras(keras, shape, axis):
    x = _data(shape)
    x[0] = 0.0  # zero vectors stay zero
    assert_matches_keras(keras, "UnitNormalization", {"axis": axis}, x)


@pytest.mark.parametrize("name,kwargs,shape,trainable,non_trainable", [
    ("BatchNormalization", {}, (4, 3), 2, 2),
    ("BatchNormalization", {"axis": 1, "center": False}, (4, 3, 5, 5), 1, 2),
    ("BatchNormalization", {"renorm": True, "renorm_clipping": {"rmax": 2.0}}, (4, 3), 2, 5),
    ("LayerNormalization", {"axis": [1, 2]}, (2, 3, 4, 5), 2, 0),
    ("LayerNormalization", {"scale": False}, (2, 3), 1, 0),
    ("GroupNormalization", {"groups": 2}, (2, 5, 4), 2, 0),
    ("GroupNormalization", {"groups": -1, "axis": 1}, (2, 3, 5, 4), 2, 0),
    ("UnitNormalization", {"axis": [1, 2]}, (2, 3, 4), 0, 0),
])
def test_run_layer_test(name, kwargs, shape, trainable, non_trainable):
    run_layer_test(getattr(lamina.layers, name), kwargs, input_shape=shape, expected_output_shape=shape,
                   expected_num_trainable_weights=trainable, expected_num_non_trainable_weights=non_trainable,
                   supports_masking=True)


def test_batch_normalization_config_matches_keras(keras):
    kwargs = {"axis": 1, "momentum": 0.9, "beta_regularizer": "l2", "gamma_constraint": "non_neg",
              "moving_variance_initializer": "zeros"}
    ours = lamina.layers.BatchNormalization(**kwargs).get_config()
    theirs = keras.layers.BatchNormalization(**kwargs).get_config()
    for key in ours:
        if key != "name":
            assert ours[key] == theirs[key], key


def test_weights_order_and_state_dict():
    layer = lamina.layers.BatchNormalization()
    layer(torch.randn(4, 3))
    assert list(layer.state_dict()) == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [w.shape for w in layer.get_weights()] == [(3,)] * 4


@pytest.mark.parametrize("make,error,match", [
    (lambda: lamina.layers.BatchNormalization(axis=[1, 2]), TypeError, "an int"),
    (lambda: lamina.layers.BatchNormalization(renorm=True, renorm_clipping={"rmx": 1}), ValueError, "invalid keys"),
    (lambda: lamina.layers.BatchNormalization(renorm=True, renorm_clipping={"rmax": 1, "rmin": 2}), ValueError,
     "rmax should be greater"),
    (lambda: lamina.layers.BatchNormalization(renorm=True, renorm_clipping={"dmax": -1}), ValueError, "dmax"),
    (lambda: lamina.layers.BatchNormalization(axis=3)(torch.randn(2, 3)), ValueError, "out of bounds"),
    (lambda: lamina.layers.BatchNormalization()(torch.randn(2, 3, 4), training=True, mask=torch.ones(2, dtype=bool)),
     ValueError, "one dimension less"),
    (lambda: lamina.layers.LayerNormalization(axis="x"), TypeError, "axis"),
    (lambda: lamina.layers.LayerNormalization(axis=0)(torch.randn(2, 3)), ValueError, "batch axis"),
    (lambda: lamina.layers.LayerNormalization(axis=[1, 4])(torch.randn(2, 3)), ValueError, "out of bounds"),
    (lambda: lamina.layers.GroupNormalization(groups=0), ValueError, "groups"),
    (lambda: lamina.layers.GroupNormalization(groups=4)(torch.randn(2, 6)), ValueError, "must divide"),
    (lambda: lamina.layers.GroupNormalization(groups=8)(torch.randn(2, 6)), ValueError, "must divide"),
    (lambda: lamina.layers.UnitNormalization(axis=2.0), TypeError, "axis"),
])
def test_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_bad_input_rank_after_build():
    layer = lamina.layers.BatchNormalization()
    layer(torch.randn(2, 3))
    with pytest.raises(ValueError, match="expected ndim=2"):
        layer(torch.randn(2, 3, 3))


@pytest.mark.parametrize("shape,axis", list(itertools.product([(3, 4, 5)], [-1, 1])))
def test_channels_last_batch_norm_is_a_view(shape, axis):
    layer = lamina.layers.BatchNormalization(axis=axis)
    y = layer(torch.randn(*shape), training=True)
    assert y.is_contiguous()
