"""Wrapper, SpectralNormalization and TorchModuleWrapper against Keras 3 (torch backend): weights and their
order, training-time updates, gradients, fit, configs and model files."""

import copy

import numpy as np
import pytest
import torch
from fit_reference import assert_fit_matches_keras
from keras_reference import assert_close, to_numpy

import lamina
from lamina.layers import Bidirectional, Dense, SpectralNormalization, TimeDistributed, TorchModuleWrapper, Wrapper


@lamina.saving.register_serializable(package="lamina_tests")
class Affine(torch.nn.Module):
    """A registered module with a config: Linear then BatchNorm1d (parameters and buffers)."""

    def __init__(self, features, units):
        super().__init__()
        self.features, self.units = features, units
        self.linear = torch.nn.Linear(features, units)
        self.norm = torch.nn.BatchNorm1d(units)

    def forward(self, x):
        return self.norm(self.linear(x))

    def get_config(self):
        return {"features": self.features, "units": self.units}


def randomized(keras_layer, seed=0):
    generator = np.random.default_rng(seed)
    keras_layer.set_weights([generator.standard_normal(w.shape).astype(w.dtype) * 0.5
                             for w in keras_layer.get_weights()])
    return keras_layer.get_weights()


# ---------------------------------------------------------------------- Wrapper
def test_wrapper_is_the_base_of_the_wrappers_and_delegates(keras, rng):
    x = rng.standard_normal((2, 4, 3)).astype("float32")
    for wrapper in (TimeDistributed(Dense(2)), Bidirectional(lamina.layers.LSTM(2)), SpectralNormalization(Dense(2)),
                    Wrapper(Dense(2))):
        assert isinstance(wrapper, Wrapper)
    wrapper = Wrapper(Dense(2, name="inner"))
    assert_close(wrapper(x), wrapper.layer(x))
    assert wrapper.compute_output_shape((None, 4, 3)) == (None, 4, 2)
    keras_wrapper = keras.layers.Wrapper(keras.layers.Dense(2, name="inner"))
    assert set(wrapper.get_config()) == set(keras_wrapper.get_config())
    from_keras = Wrapper.from_config(keras_wrapper.get_config())
    assert type(from_keras.layer) is Dense and from_keras.layer.name == "inner"
    with pytest.raises(ValueError, match=r"Wrapper: the wrapped `layer` must be a Layer instance"):
        Wrapper(torch.nn.Linear(2, 2))


def test_a_user_wrapper_subclass_round_trips(rng):
    @lamina.saving.register_serializable(package="lamina_tests")
    class Doubled(Wrapper):
        def call(self, inputs):
            return 2 * self.layer(inputs)

    x = rng.standard_normal((3, 5)).astype("float32")
    layer = Doubled(Dense(4))
    expected = layer(x)
    restored = lamina.layers.deserialize(lamina.layers.serialize(layer))
    restored(x)
    restored.set_weights(layer.get_weights())
    assert type(restored) is Doubled and list(restored.state_dict()) == ["layer.kernel", "layer.bias"]
    assert_close(restored(x), expected)


def test_bidirectional_layer_is_its_forward_copy_and_tracks_nothing_else():
    bidirectional = Bidirectional(lamina.layers.GRU(3, name="gru"))
    bidirectional(np.zeros((2, 4, 5), "float32"))
    assert bidirectional.layer is bidirectional.forward_layer
    assert [name.split(".")[0] for name in bidirectional.state_dict()] == ["forward_layer"] * 3 + ["backward_layer"] * 3
    assert bidirectional.get_config()["layer"]["config"]["name"] == "forward_gru"


# ---------------------------------------------------------------------- SpectralNormalization
@pytest.mark.parametrize("make,shape,power_iterations", [
    (lambda L: L.Dense(4), (3, 5), 1),
    (lambda L: L.Conv2D(3, 2), (2, 5, 5, 2), 2),
    (lambda L: L.Conv2D(3, (2, 3), data_format="channels_first"), (2, 2, 5, 6), 1),
    (lambda L: L.Conv1D(2, 3, strides=2), (2, 7, 3), 3),
    (lambda L: L.Embedding(6, 3), (2, 4), 1),
])
def test_spectral_normalization_matches_keras(keras, rng, make, shape, power_iterations):
    integer = len(shape) == 2 and shape == (2, 4)
    x = rng.integers(0, 6, shape) if integer else rng.standard_normal(shape).astype("float32")
    keras_layer = keras.layers.SpectralNormalization(make(keras.layers), power_iterations=power_iterations)
    keras_layer(x)
    weights = randomized(keras_layer)
    layer = SpectralNormalization(make(lamina.layers), power_iterations=power_iterations)
    layer(x)
    assert [w.shape for w in layer.get_weights()] == [w.shape for w in weights]
    assert [w.path.split("/")[-1] for w in layer.weights] == [w.path.split("/")[-1] for w in keras_layer.weights]
    assert len(layer.trainable_weights) == len(keras_layer.trainable_weights)
    assert set(layer.get_config()) == set(keras_layer.get_config())
    layer.set_weights(weights)
    for training in (True, True, False):
        expected, actual = keras_layer(x, training=training), layer(x, training=training)
        if integer:  # Keras casts the output to the inputs' dtype, so its Embedding outputs integers
            expected = layer.layer.embeddings.detach()[torch.as_tensor(x)]
        assert_close(actual, expected, 1e-5, f"training={training}")
        assert_close(layer.get_weights(), keras_layer.get_weights(), 1e-5, "normalized kernel and vector_u")
    for _ in range(30):  # the power method converges over training calls: the spectral norm goes to 1
        layer(x, training=True)
    kernel = layer.get_weights()[0].reshape(-1, weights[0].shape[-1])
    assert np.linalg.svd(kernel, compute_uv=False)[0] == pytest.approx(1.0, abs=1e-3)


def test_spectral_normalization_gradients_and_fit_match_keras(keras, rng):
    x = rng.standard_normal((16, 5)).astype("float32")
    y = rng.standard_normal((16, 1)).astype("float32")

    def model(lib):
        return lib.Sequential([lib.Input((5,)), lib.layers.SpectralNormalization(lib.layers.Dense(4)),
                               lib.layers.Dense(1)])

    keras_model, lamina_model = model(keras), model(lamina)
    randomized(keras_model)
    lamina_model.set_weights(keras_model.get_weights())
    assert_fit_matches_keras(keras, keras_model, lamina_model, x, y, lambda lib: lib.optimizers.SGD(0.05, momentum=0.5))


def test_spectral_normalization_edge_cases(rng):
    layer = SpectralNormalization(Dense(3, kernel_initializer="zeros"))
    x = rng.standard_normal((2, 4)).astype("float32")
    layer(x, training=True)
    u = layer.vector_u.detach().clone()
    layer(x, training=True)
    assert torch.equal(layer.layer.kernel, torch.zeros(4, 3)) and torch.equal(layer.vector_u, u)
    rebuilt = SpectralNormalization.from_config(layer.get_config())
    assert rebuilt.power_iterations == 1 and type(rebuilt.layer) is Dense
    with pytest.raises(ValueError, match=r"SpectralNormalization.*power_iterations.*positive"):
        SpectralNormalization(Dense(2), power_iterations=0)
    with pytest.raises(ValueError, match=r"Activation object has no attribute 'kernel' nor 'embeddings'"):
        SpectralNormalization(lamina.layers.Activation("relu"))(x)


# ---------------------------------------------------------------------- TorchModuleWrapper
def test_torch_module_wrapper_matches_keras(keras, rng):
    torch.manual_seed(0)
    module = Affine(3, 4)
    keras_layer = keras.layers.TorchModuleWrapper(copy.deepcopy(module))
    layer = TorchModuleWrapper(copy.deepcopy(module))
    x = rng.standard_normal((5, 3)).astype("float32")
    keras_layer(x)  # Keras-torch calls a module in train() mode when training is None: BatchNorm's stats move
    parameters = randomized(keras_layer)
    assert [w.shape for w in layer.get_weights()[:4]] == [w.shape for w in parameters]
    layer.set_weights(parameters + [to_numpy(buffer) for buffer in keras_layer.module.buffers()])
    assert set(layer.get_config()) == set(keras_layer.get_config())
    for training in (False, True, False):
        assert_close(layer(x, training=training), keras_layer(x, training=training), 1e-5, f"training={training}")
    assert_close(layer.get_weights()[4:6], [to_numpy(keras_layer.module.norm.running_mean),
                                            to_numpy(keras_layer.module.norm.running_var)])
    gradients = []
    for net, variables in ((keras_layer, [w.value for w in keras_layer.trainable_weights]),
                           (layer, layer.trainable_weights)):
        gradients.append(torch.autograd.grad(net(x, training=True).square().sum(), variables))
    assert_close(list(gradients[1]), list(gradients[0]), 1e-5, "gradients")


def test_torch_module_wrapper_weights_modes_and_shapes(rng):
    module = Affine(3, 4)
    module.linear.bias.requires_grad_(False)
    layer = TorchModuleWrapper(module)
    assert layer.built and layer.count_params() == 12 + 4 + 4 + 4 + 4 + 4 + 1
    assert [w is p for w, p in zip(layer.trainable_weights, [module.linear.weight, module.norm.weight,
                                                           module.norm.bias])] == [True] * 3
    assert [tuple(w.shape) for w in layer.non_trainable_weights] == [(4,), (4,), (4,), ()]
    assert layer(lamina.Input((3,))).shape == (None, 4)
    assert TorchModuleWrapper(torch.nn.Flatten(), output_shape=(None, 12)).compute_output_shape((None, 3, 4)) == \
        (None, 12)
    dropout = TorchModuleWrapper(torch.nn.Dropout(0.5))
    ones = torch.ones(4, 100)
    assert torch.equal(dropout(ones), ones)  # inference unless training (Keras-torch trains on training=None)
    assert not torch.equal(dropout(ones, training=True), ones)
    assert TorchModuleWrapper(torch.nn.Linear(2, 2).double()).dtype == "float64"
    assert float(TorchModuleWrapper(torch.nn.Linear(2, 1).double())(np.ones((1, 2))).dtype is torch.float64) == 1
    with pytest.raises(TypeError, match=r"TorchModuleWrapper: `module` must be a torch.nn.Module"):
        TorchModuleWrapper(Dense)
    with pytest.raises(ValueError, match=r"LazyModules are supported only once initialized"):
        TorchModuleWrapper(torch.nn.LazyLinear(3))


def test_torch_module_wrapper_trains_in_fit_like_keras(keras, rng):
    x = rng.standard_normal((12, 3)).astype("float32")
    y = rng.standard_normal((12, 1)).astype("float32")
    torch.manual_seed(1)
    module = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1))
    keras_model, lamina_model = (lib.Sequential([lib.Input((3,)), lib.layers.TorchModuleWrapper(copy.deepcopy(module))])
                                 for lib in (keras, lamina))
    assert_fit_matches_keras(keras, keras_model, lamina_model, x, y, lambda lib: lib.optimizers.SGD(0.1))


def test_registered_modules_save_and_load_with_the_model(tmp_path, rng):
    x = rng.standard_normal((6, 3)).astype("float32")
    inputs = lamina.Input((3,))
    model = lamina.Model(inputs, Dense(2)(TorchModuleWrapper(Affine(3, 4))(inputs)))
    model(x, training=True)  # moves BatchNorm's running statistics off their initial values
    expected = model(x)
    model.save(tmp_path / "model.lamina")
    loaded = lamina.models.load_model(tmp_path / "model.lamina")
    wrapper = loaded.layers[1]
    assert isinstance(wrapper.module, Affine) and wrapper.get_config()["module"]["config"] == {"features": 3,
                                                                                            "units": 4}
    assert_close(loaded(x), expected)
    assert_close(wrapper.module.norm.running_var, model.layers[1].module.norm.running_var)


def test_unregistered_and_pickled_modules_are_refused(keras, tmp_path):
    layer = TorchModuleWrapper(torch.nn.Linear(2, 3))
    with pytest.raises(ValueError, match=r"cannot serialize a torch.nn.modules.linear.Linear.*register_serializable"):
        layer.get_config()
    model = lamina.Sequential([lamina.Input((2,)), layer])
    with pytest.raises(ValueError, match="cannot serialize"):
        model.save(tmp_path / "model.lamina")
    keras_config = keras.layers.TorchModuleWrapper(torch.nn.Linear(2, 3)).get_config()
    with pytest.raises(ValueError, match=r"pickled torch.nn.Module.*never unpickles"):
        TorchModuleWrapper.from_config(keras_config)
    config = TorchModuleWrapper(Affine(2, 2)).get_config()
    config["module"]["registered_name"], config["module"]["class_name"] = "nowhere>Gone", "Gone"
    with pytest.raises(ValueError, match=r"unknown module class 'Gone'"):
        TorchModuleWrapper.from_config(config)
