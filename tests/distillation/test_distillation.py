"""lamina.distillation against keras.distillation (Keras 3.15, torch backend).

The same teacher and student are built in both libraries (lamina's weights copied from Keras's), the
Distiller compiled alike and fitted without shuffling: every History value, the student's weights after fit,
``evaluate`` and ``predict`` must match Keras's within 1e-5 x max(1, max|value|) (DESIGN.md's float32 rule).
"""

import numpy as np
import pytest

import lamina
import lamina.distillation
from keras_reference import assert_close

TOLERANCE = 1e-5
# Keras's feature extractor is built on `model.inputs` (a list) and called with a tensor: Keras warns, harmlessly.
pytestmark = pytest.mark.filterwarnings("ignore:The structure of `inputs` doesn't match:UserWarning")


def _distillation(lib):
    return lamina.distillation if lib is lamina else lib.distillation


# ---------------------------------------------------------------------------------------------- models
def _teacher(lib, kind, outputs=1):
    layers = lib.layers
    if kind == "sequential":
        return lib.Sequential([lib.Input((5,)), layers.Dense(8, activation="relu", name="t_hidden"),
                               layers.Dense(6, activation="relu", name="t_feat"), layers.Dense(4, name="t_out")],
                              name="teacher")
    inputs = lib.Input((5,), name="t_in")
    hidden = layers.Dense(8, activation="relu", name="t_hidden")(inputs)
    feat = layers.Dense(6, activation="relu", name="t_feat")(hidden)
    out = layers.Dense(4, name="t_out")(feat)
    if outputs == 2:
        return lib.Model(inputs, [out, layers.Dense(1, name="t_reg")(feat)], name="teacher")
    return lib.Model(inputs, out, name="teacher")


def _student(lib, kind, outputs=1, batch_norm=False):
    layers = lib.layers
    if kind == "sequential":
        return lib.Sequential([lib.Input((5,)), layers.Dense(6, activation="tanh", name="s_feat"),
                               layers.Dense(4, name="s_out")], name="student")
    inputs = lib.Input((5,), name="s_in")
    feat = layers.Dense(6, activation="tanh", name="s_feat")(inputs)
    if batch_norm:
        feat = layers.BatchNormalization(name="s_bn")(feat)
    out = layers.Dense(4, name="s_out")(feat)
    if outputs == 2:
        return lib.Model(inputs, [out, layers.Dense(1, name="s_reg")(feat)], name="student")
    return lib.Model(inputs, out, name="student")


def _pair(keras, build, *args, **kwargs):
    """The model ``build`` makes, in Keras and in lamina, with Keras's (random) weights in both."""
    keras.utils.set_random_seed(sum(map(ord, repr(args))))  # the same starting weights on every run
    keras_model, lamina_model = build(keras, *args, **kwargs), build(lamina, *args, **kwargs)
    lamina_model.set_weights(keras_model.get_weights())
    return keras_model, lamina_model


# ---------------------------------------------------------------------------------------------- cases
# Each case: the models' kind, the distillation losses (a function of the library), the Distiller's other
# arguments, the compile arguments, and what to fit on.
def _kl(lib):
    return lib.losses.KLDivergence()


def _logits_loss(lib):
    """The student's supervised loss: its outputs are logits. (Keras's examples use the name
    "sparse_categorical_crossentropy", which reads them as probabilities, normalising by their sum: a
    near-zero sum makes that loss ill-conditioned, and both libraries' last-bit differences grow with it.)"""
    return lib.losses.SparseCategoricalCrossentropy(from_logits=True)


CASES = {
    "logits-defaults-sequential": dict(losses=lambda lib, D: D.LogitsDistillation()),
    "logits-T1-KLDivergence-functional": dict(kind="functional",
                                              losses=lambda lib, D: D.LogitsDistillation(1.0, loss=_kl(lib))),
    "logits-T2.5-KLDivergence-sgd": dict(losses=lambda lib, D: D.LogitsDistillation(temperature=2.5, loss=_kl(lib)),
                                         optimizer=lambda lib: lib.optimizers.SGD(0.1, momentum=0.9)),
    "logits-T4-crossentropy-from-logits": dict(
        losses=lambda lib, D: D.LogitsDistillation(4, loss=lib.losses.CategoricalCrossentropy(from_logits=True))),
    "logits-mse-slw0": dict(losses=lambda lib, D: D.LogitsDistillation(2.0, loss="mse"), student_loss_weight=0.0),
    "logits-mae-slw1": dict(losses=lambda lib, D: D.LogitsDistillation(0.5, loss="mae"), student_loss_weight=1.0),
    "logits-huber-slw0.3": dict(losses=lambda lib, D: D.LogitsDistillation(3.0, loss="huber"),
                                student_loss_weight=0.3),
    "logits-kl-function-explicit": dict(kind="functional",
                                        losses=lambda lib, D: D.LogitsDistillation(5.0, loss="kl_divergence")),
    "feature-mse-named-sequential": dict(
        losses=lambda lib, D: D.FeatureDistillation("mse", teacher_layer_name="t_feat", student_layer_name="s_feat")),
    "feature-cosine-named-functional": dict(
        kind="functional", student_loss_weight=0.7,
        losses=lambda lib, D: D.FeatureDistillation(loss="cosine_similarity", teacher_layer_name="t_feat",
                                                    student_layer_name="s_feat")),
    "feature-final-outputs-MeanAbsoluteError": dict(
        losses=lambda lib, D: D.FeatureDistillation(loss=lib.losses.MeanAbsoluteError())),
    "feature-teacher-layer-to-student-output": dict(
        kind="functional", losses=lambda lib, D: D.FeatureDistillation("mse", teacher_layer_name="t_out")),
    "several-losses-weighted": dict(
        kind="functional", distillation_loss_weights=[0.6, 0.3, 0.1],
        losses=lambda lib, D: [D.LogitsDistillation(2.0, loss=_kl(lib)),
                               D.FeatureDistillation("mse", teacher_layer_name="t_feat", student_layer_name="s_feat"),
                               D.FeatureDistillation("mae")]),
    "two-logits-default-weights-slw0.7": dict(
        student_loss_weight=0.7, losses=lambda lib, D: (D.LogitsDistillation(3.0), D.LogitsDistillation(1.5, _kl(lib)))),
    "single-loss-weights-ignored": dict(losses=lambda lib, D: D.LogitsDistillation(2.0, _kl(lib)),
                                        distillation_loss_weights=[0.25]),
    "sample-weights-weighted-metrics": dict(
        losses=lambda lib, D: D.LogitsDistillation(2.0, _kl(lib)), sample_weight=True,
        compile=dict(weighted_metrics=["accuracy"])),
    "class-weight": dict(losses=lambda lib, D: D.LogitsDistillation(2.0, _kl(lib)), class_weight={0: 2.0, 1: 0.5}),
    "student-loss-by-name": dict(losses=lambda lib, D: D.LogitsDistillation(2.0, _kl(lib)),
                                 compile=dict(loss="sparse_categorical_crossentropy")),
    "no-targets-slw0": dict(losses=lambda lib, D: D.LogitsDistillation(2.0, _kl(lib)), student_loss_weight=0.0,
                            targets=False, compile=dict(metrics=None)),
    "batch-norm-student-feature": dict(
        kind="functional", batch_norm=True,
        losses=lambda lib, D: D.FeatureDistillation("mse", teacher_layer_name="t_feat", student_layer_name="s_bn")),
    "two-outputs": dict(
        kind="functional", outputs=2,
        losses=lambda lib, D: [D.LogitsDistillation(2.0, loss=[_kl(lib), None]),
                               D.FeatureDistillation(loss=[None, "mse"])],
        compile=dict(loss=lambda lib: [_logits_loss(lib), lib.losses.MeanSquaredError()], metrics=None)),
}


def _data(outputs=1):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(22, 5)).astype("float32")
    y = rng.integers(0, 4, size=(22,))
    x_val = rng.normal(size=(9, 5)).astype("float32")
    y_val = rng.integers(0, 4, size=(9,))
    weights = rng.uniform(0.2, 2.0, size=(22,)).astype("float32")
    if outputs == 2:
        y = [y, rng.normal(size=(22, 1)).astype("float32")]
        y_val = [y_val, rng.normal(size=(9, 1)).astype("float32")]
    return x, y, x_val, y_val, weights


def _run(lib, teacher, student, case):
    D = _distillation(lib)
    distiller = D.Distiller(teacher=teacher, student=student, distillation_losses=case["losses"](lib, D),
                            **{key: case[key] for key in ("distillation_loss_weights", "student_loss_weight")
                               if key in case})
    compile_args = {"loss": _logits_loss, "metrics": ["accuracy"], **case.get("compile", {})}
    if callable(compile_args.get("loss")):
        compile_args["loss"] = compile_args["loss"](lib)
    optimizer = case.get("optimizer", lambda lib: lib.optimizers.Adam(0.01))(lib)
    distiller.compile(optimizer=optimizer, **compile_args)
    if lib is not lamina and isinstance(compile_args["loss"], list):
        # Keras-torch's Distiller keeps the per-output losses in a TrackedList (its Layer tracks list
        # attributes), which torch's pytree refuses to map alongside the list of targets ("Type mismatch;
        # expected TrackedList, but got list"): the reference holds them in a plain list, Keras's code otherwise.
        object.__setattr__(distiller, "_student_loss", list(distiller._student_loss))
    x, y, x_val, y_val, weights = _data(case.get("outputs", 1))
    targets = case.get("targets", True)
    fit = dict(batch_size=6, epochs=2, shuffle=False, verbose=0)
    if case.get("sample_weight"):
        fit["sample_weight"] = weights
    if "class_weight" in case:
        fit["class_weight"] = case["class_weight"]
    if targets:
        history = distiller.fit(x, y, validation_data=(x_val, y_val), **fit).history
        evaluated = distiller.evaluate(x_val, y_val, batch_size=4, verbose=0, return_dict=True)
        evaluated_list = distiller.evaluate(x_val, y_val, batch_size=4, verbose=0)
    else:
        history = distiller.fit(x, **fit).history
        evaluated = distiller.evaluate(x_val, batch_size=4, verbose=0, return_dict=True)
        evaluated_list = distiller.evaluate(x_val, batch_size=4, verbose=0)
    predicted = distiller.predict(x_val, batch_size=4, verbose=0)
    return distiller, history, evaluated, evaluated_list, predicted


@pytest.mark.parametrize("name", sorted(CASES))
def test_distiller_fit_evaluate_predict_match_keras(keras, name):
    case = CASES[name]
    kind, outputs = case.get("kind", "sequential"), case.get("outputs", 1)
    keras_teacher, lamina_teacher = _pair(keras, _teacher, kind, outputs)
    keras_student, lamina_student = _pair(keras, _student, kind, outputs, batch_norm=case.get("batch_norm", False))
    teacher_weights = keras_teacher.get_weights()
    expected = _run(keras, keras_teacher, keras_student, case)
    actual = _run(lamina, lamina_teacher, lamina_student, case)
    (keras_distiller, keras_history, keras_eval, keras_eval_list, keras_pred) = expected
    (lamina_distiller, lamina_history, lamina_eval, lamina_eval_list, lamina_pred) = actual

    assert set(lamina_history) == set(keras_history)
    for key in keras_history:
        assert_close(np.array(lamina_history[key]), np.array(keras_history[key]), TOLERANCE, f"history[{key!r}]")
    assert set(lamina_eval) == set(keras_eval)
    for key in keras_eval:
        assert_close(np.array(lamina_eval[key]), np.array(keras_eval[key]), TOLERANCE, f"evaluate[{key!r}]")
    if "weighted_metrics" not in case.get("compile", {}):  # Keras's list repeats weighted metrics at its end
        assert_close(np.array(lamina_eval_list), np.array(keras_eval_list), TOLERANCE, "evaluate() list")
    assert_close(lamina_pred if isinstance(lamina_pred, list) else [lamina_pred],
                 keras_pred if isinstance(keras_pred, list) else [keras_pred], TOLERANCE, "predict")
    assert_close(lamina_student.get_weights(), keras_student.get_weights(), TOLERANCE, "student weights after fit")
    # The teacher is frozen: unchanged in both, and not among the trained weights.
    assert_close(lamina_teacher.get_weights(), teacher_weights, 0.0, "teacher weights after fit")
    assert_close(keras_teacher.get_weights(), teacher_weights, 0.0, "Keras teacher weights after fit")
    assert not lamina_teacher.trainable and lamina_student.trainable
    assert [id(w) for w in lamina_distiller.trainable_weights] == [id(w) for w in lamina_student.trainable_weights]


def test_history_names_and_loss_versus_total_loss(keras):
    """``loss`` is averaged over samples, the three trackers over batches (Keras's rule), so with a short last
    batch they differ; ``metrics_names`` and the evaluate list follow Keras's order."""
    case = CASES["logits-T2.5-KLDivergence-sgd"]
    keras_teacher, lamina_teacher = _pair(keras, _teacher, "sequential")
    keras_student, lamina_student = _pair(keras, _student, "sequential")
    keras_distiller, keras_history, _, keras_list, _ = _run(keras, keras_teacher, keras_student, case)
    distiller, history, evaluated, evaluated_list, _ = _run(lamina, lamina_teacher, lamina_student, case)
    assert sorted(history) == sorted(keras_history) == sorted(
        ["loss", "accuracy", "student_loss", "distillation_loss", "total_loss", "val_loss", "val_accuracy",
         "val_student_loss", "val_distillation_loss", "val_total_loss"])
    assert abs(history["loss"][0] - history["total_loss"][0]) > 1e-4  # 22 samples in batches of 6
    assert [m.name for m in distiller.metrics] == [m.name for m in keras_distiller.metrics]
    assert distiller.metrics_names == ["loss", "accuracy", "student_loss", "distillation_loss", "total_loss"]
    assert evaluated_list == [evaluated[name] for name in distiller.metrics_names]


def test_train_on_batch_and_test_on_batch_match_keras(keras):
    keras_teacher, lamina_teacher = _pair(keras, _teacher, "functional")
    keras_student, lamina_student = _pair(keras, _student, "functional")
    x, y, _, _, _ = _data()
    results = []
    for lib, teacher, student in ((keras, keras_teacher, keras_student), (lamina, lamina_teacher, lamina_student)):
        D = _distillation(lib)
        distiller = D.Distiller(teacher, student, [D.LogitsDistillation(2.0, _kl(lib)),
                                                   D.FeatureDistillation("mse", "t_feat", "s_feat")],
                                distillation_loss_weights=[0.5, 2.0], student_loss_weight=0.25)
        distiller.compile(optimizer=lib.optimizers.RMSprop(0.01), loss="sparse_categorical_crossentropy")
        results.append([distiller.train_on_batch(x[:8], y[:8], return_dict=True),
                        distiller.train_on_batch(x[8:], y[8:], return_dict=True),
                        distiller.test_on_batch(x, y, return_dict=True),
                        distiller.predict_on_batch(x)])
    (expected, actual) = results
    for keras_logs, lamina_logs in zip(expected[:3], actual[:3]):
        assert set(lamina_logs) == set(keras_logs)
        for key in keras_logs:
            assert_close(np.array(lamina_logs[key]), np.array(keras_logs[key]), TOLERANCE, key)
    assert_close(actual[3], expected[3], TOLERANCE, "predict_on_batch")


def test_custom_distillation_loss_subclass_matches_keras(keras):
    """A user's DistillationLoss (Keras's documented extension point) trains the same in both."""
    outcomes = []
    keras_teacher, lamina_teacher = _pair(keras, _teacher, "sequential")
    keras_student, lamina_student = _pair(keras, _student, "sequential")
    x, y, _, _, _ = _data()
    for lib, teacher, student in ((keras, keras_teacher, keras_student), (lamina, lamina_teacher, lamina_student)):
        D = _distillation(lib)

        class SquaredGap(D.DistillationLoss):
            def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
                return lib.ops.mean(lib.ops.square(teacher_outputs - student_outputs)) * 0.5

        distiller = D.Distiller(teacher, student, SquaredGap(), student_loss_weight=0.4)
        distiller.compile(optimizer=lib.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy")
        outcomes.append((distiller.fit(x, y, batch_size=5, epochs=2, shuffle=False, verbose=0).history,
                         student.get_weights()))
    (keras_history, keras_weights), (history, weights) = outcomes
    for key in keras_history:
        assert_close(np.array(history[key]), np.array(keras_history[key]), TOLERANCE, key)
    assert_close(weights, keras_weights, TOLERANCE, "student weights")


def test_distiller_call_is_the_student_and_extractors_read_named_layers(keras):
    teacher, student = _teacher(lamina, "sequential"), _student(lamina, "sequential")
    D = lamina.distillation
    distiller = D.Distiller(teacher, student, [D.LogitsDistillation(), D.FeatureDistillation("mse", "t_feat", "s_feat"),
                                               D.FeatureDistillation("mse", "t_hidden", "s_feat")])
    x = _data()[0]
    np.testing.assert_array_equal(distiller(x).detach().numpy(), student(x).detach().numpy())
    features = distiller._teacher_feature_extractor(x)
    assert sorted(features) == ["final_output", "t_feat", "t_hidden"]
    np.testing.assert_allclose(features["final_output"].detach().numpy(), teacher(x).detach().numpy(), rtol=1e-6)
    assert sorted(distiller._student_feature_extractor(x)) == ["final_output", "s_feat"]
    assert [layer.name for layer in distiller.layers] == [
        "teacher", "student", "teacher_multi_feature_extractor", "student_multi_feature_extractor"]
    assert distiller.distillation_loss_weights == [1.0, 1.0, 1.0]
