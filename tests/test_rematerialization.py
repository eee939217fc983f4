"""``lamina.remat`` and ``lamina.RematScope`` against Keras on torch: which calls are rematerialized (run again
in the backward pass, counted), and the same outputs and gradients as without rematerialization."""

import numpy as np
import pytest
import torch

import lamina
from keras_reference import assert_close


def _counting(lib, counts):
    """A layer whose call keeps a tensor for the backward pass (sin), and an activation that does (relu):
    both count their calls under their name."""
    class Wave(lib.layers.Layer):
        def call(self, x):
            counts[self.name] = counts.get(self.name, 0) + 1
            return lib.ops.sin(x)

    def counted_relu(x):
        counts["relu"] = counts.get("relu", 0) + 1
        return lib.ops.relu(x)

    return Wave, counted_relu


def _model(lib, counts, scope):
    Wave, counted_relu = _counting(lib, counts)
    with lib.RematScope(**scope):
        inputs = lib.Input((6,))
        hidden = lib.layers.Dense(8, activation=counted_relu, name="dense")(inputs)  # 4 x 8 = 32 values
        hidden = Wave(name="wide")(lib.layers.Dense(40, name="up")(hidden))  # 160 values
        outputs = Wave(name="narrow")(lib.layers.Dense(2, name="down")(hidden))  # 8 values
    return lib.Model(inputs, outputs)


SCOPES = [{"mode": "full"}, {"mode": "activations"}, {"mode": "larger_than", "output_size_threshold": 100},
          {"mode": "list_of_layers", "layer_names": ["narrow", "dense"]}, {"mode": None}]


@pytest.mark.parametrize("scope", SCOPES, ids=lambda scope: str(scope["mode"]))
def test_rematerialized_calls_and_gradients_match_keras(keras, scope):
    x = np.random.default_rng(0).normal(size=(4, 6)).astype("float32")
    results = []
    for lib in (keras, lamina):
        counts = {}
        model = _model(lib, counts, scope)
        if results:
            model.set_weights(results[0][2])
        weights = [w.value if hasattr(w, "value") else w for w in model.trainable_weights]
        loss = (model(torch.tensor(x), training=True) ** 2).sum()
        gradients = torch.autograd.grad(loss, weights)
        results.append((counts, [g.detach().numpy() for g in gradients], model.get_weights()))
    (keras_counts, keras_gradients, _), (counts, gradients, _) = results
    assert counts == keras_counts  # the same calls ran again in the backward pass
    assert_close(gradients, keras_gradients)


def test_rematerialization_changes_no_numbers_and_only_reruns_in_the_backward_pass():
    x = torch.randn(4, 6)
    plain_counts, remat_counts = {}, {}
    plain, rematerialized = _model(lamina, plain_counts, {"mode": None}), _model(lamina, remat_counts, {"mode": "full"})
    rematerialized.set_weights(plain.get_weights())
    for model in (plain, rematerialized):
        model.compile(optimizer=lamina.optimizers.SGD(0.1), loss="mse")
    y = torch.randn(4, 2)
    built = dict(plain_counts), dict(remat_counts)  # the symbolic calls that built the models
    plain_history = plain.fit(x, y, epochs=3, batch_size=2, shuffle=False, verbose=0).history
    remat_history = rematerialized.fit(x, y, epochs=3, batch_size=2, shuffle=False, verbose=0).history
    assert_close(np.array(remat_history["loss"]), np.array(plain_history["loss"]), 1e-6)
    assert_close(rematerialized.get_weights(), plain.get_weights(), 1e-6)
    assert remat_counts["wide"] - built[1]["wide"] == 2 * (plain_counts["wide"] - built[0]["wide"]) == 12  # 6 steps
    before = dict(remat_counts)
    rematerialized.predict(x, verbose=0)  # no autograd: no second run
    assert remat_counts["wide"] == before["wide"] + 1


def test_remat_wraps_a_function_as_keras_does(keras):
    def block(x):
        for _ in range(2):
            x = x + torch.sin(x) * 0.1
        return x

    x = torch.randn(5, 3, requires_grad=True)
    ours = lamina.remat(block)(x)
    (grad,) = torch.autograd.grad(ours.sum(), x)
    theirs = keras.remat(block)(x)
    (keras_grad,) = torch.autograd.grad(theirs.sum(), x)
    assert_close(ours, theirs)
    assert_close(grad, keras_grad)
    with torch.no_grad():
        assert_close(lamina.remat(block)(x), block(x))


def test_remat_scope_settings_and_errors():
    assert lamina.rematerialization.get_current_remat_mode() is None
    with lamina.RematScope("larger_than", output_size_threshold=10):
        with lamina.RematScope(None):
            assert lamina.rematerialization.get_current_remat_mode().mode is None
        assert lamina.rematerialization.get_current_remat_mode() == ("larger_than", 10, [])
    assert lamina.rematerialization.get_current_remat_mode() is None
    with pytest.raises(ValueError, match=r"RematScope: `mode` must be one of .*Received: mode='some'"):
        lamina.RematScope("some")
    with pytest.raises(ValueError, match=r"`output_size_threshold` must be a non-negative int.*-1"):
        lamina.RematScope("larger_than", output_size_threshold=-1)
    with pytest.raises(ValueError, match=r"`layer_names` must be a list of layer names.*'dense'"):
        lamina.RematScope("list_of_layers", layer_names="dense")
