"""Distiller's config, files and errors against Keras 3.15's: the same config dict, .keras files each library
reads from the other (with the same object paths inside), and the arguments both refuse."""

import io
import json
import warnings
import zipfile

import numpy as np
import pytest

import lamina
import lamina.distillation


def _distillation(lib):
    return lamina.distillation if lib is lamina else lib.distillation


def _sequential(lib, prefix, hidden, outputs=4, inputs=5, dtype=None):
    return lib.Sequential([lib.Input((inputs,), dtype=dtype), lib.layers.Dense(hidden, activation="relu",
                                                                                name=f"{prefix}_hidden"),
                           lib.layers.Dense(outputs, name=f"{prefix}_out")], name=prefix)


def _models(keras):
    """Teacher and student in both libraries, lamina's with Keras's weights."""
    pairs = []
    for prefix, hidden in (("teacher", 6), ("student", 6)):
        keras.utils.set_random_seed(len(prefix))
        keras_model, lamina_model = _sequential(keras, prefix, hidden), _sequential(lamina, prefix, hidden)
        lamina_model.set_weights(keras_model.get_weights())
        pairs.append((keras_model, lamina_model))
    return pairs


def _distillers(keras, compile=True):
    (keras_teacher, lamina_teacher), (keras_student, lamina_student) = _models(keras)
    distillers = []
    for lib, teacher, student in ((keras, keras_teacher, keras_student), (lamina, lamina_teacher, lamina_student)):
        D = _distillation(lib)
        distiller = D.Distiller(teacher, student,
                                [D.LogitsDistillation(2.0, lib.losses.KLDivergence()),
                                 D.FeatureDistillation("mse", "teacher_hidden", "student_hidden")],
                                distillation_loss_weights=[0.7, 0.3], student_loss_weight=0.4)
        if compile:
            distiller.compile(optimizer=lib.optimizers.Adam(0.01),
                              loss=lib.losses.SparseCategoricalCrossentropy(from_logits=True))
        distillers.append(distiller)
    return distillers


def _data():
    rng = np.random.default_rng(3)
    return rng.normal(size=(12, 5)).astype("float32"), rng.integers(0, 4, size=(12,))


# ---------------------------------------------------------------------------------------------- config
def test_config_matches_keras_and_rebuilds(keras):
    keras_distiller, distiller = _distillers(keras)
    expected, actual = keras_distiller.get_config(), distiller.get_config()
    assert list(actual) == list(expected)
    for key in ("name", "trainable", "dtype", "distillation_losses", "distillation_loss_weights",
                "student_loss_weight"):
        assert actual[key] == expected[key], key
    assert actual["teacher"]["class_name"] == expected["teacher"]["class_name"] == "Sequential"
    assert actual["teacher"]["config"]["trainable"] is False and actual["student"]["config"]["trainable"] is True
    json.dumps(actual)
    serialized = lamina.serialization.serialize_keras_object(distiller)
    assert (serialized["module"], serialized["class_name"], serialized["registered_name"]) == \
        ("keras.distillation", "Distiller", None)
    rebuilt = lamina.distillation.Distiller.from_config(actual)
    assert rebuilt.student_loss_weight == 0.4 and rebuilt.distillation_loss_weights == [0.7, 0.3]
    assert [type(loss).__name__ for loss in rebuilt.distillation_losses] == ["LogitsDistillation",
                                                                             "FeatureDistillation"]
    assert rebuilt.distillation_losses[0].temperature == 2.0
    assert not rebuilt.teacher.trainable
    assert rebuilt.get_config()["distillation_losses"] == expected["distillation_losses"]
    # each library builds a Distiller from the other's config
    keras_rebuilt = keras.distillation.Distiller.from_config(json.loads(json.dumps(actual)))
    assert keras_rebuilt.get_config()["distillation_losses"] == expected["distillation_losses"]
    lamina_rebuilt = lamina.distillation.Distiller.from_config(json.loads(json.dumps(expected)))
    assert lamina_rebuilt.get_config()["distillation_losses"] == expected["distillation_losses"]


# ---------------------------------------------------------------------------------------------- files
def _h5_paths(path):
    import h5py

    with zipfile.ZipFile(path) as archive, h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as handle:
        found = []
        handle.visit(found.append)
    return sorted(found)


def test_keras_files_both_ways(keras, tmp_path):
    keras_distiller, distiller = _distillers(keras)
    x, y = _data()
    for model in (keras_distiller, distiller):
        model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    keras_path, lamina_path = str(tmp_path / "keras.keras"), str(tmp_path / "lamina.keras")
    keras_distiller.save(keras_path)
    distiller.save(lamina_path)
    assert _h5_paths(lamina_path) == _h5_paths(keras_path)  # the same object paths (extractors included)

    with pytest.warns(UserWarning, match="compile"):
        from_keras = lamina.models.load_model(keras_path)
    assert isinstance(from_keras, lamina.distillation.Distiller)
    np.testing.assert_allclose(from_keras.predict(x, verbose=0), keras_distiller.predict(x, verbose=0), atol=1e-5)
    np.testing.assert_allclose(np.concatenate([w.ravel() for w in from_keras.student.get_weights()]),
                               np.concatenate([w.ravel() for w in keras_distiller.student.get_weights()]), atol=1e-6)
    assert from_keras.student_loss_weight == 0.4 and not from_keras.teacher.trainable

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras's own "compile() was not called" warning
        from_lamina = keras.models.load_model(lamina_path)
    assert type(from_lamina).__name__ == "Distiller"
    np.testing.assert_allclose(from_lamina.predict(x, verbose=0), distiller.predict(x, verbose=0), atol=1e-5)
    assert from_lamina.distillation_loss_weights == [0.7, 0.3]
    assert from_lamina.distillation_losses[1].teacher_layer_name == "teacher_hidden"


def test_loaded_distiller_is_not_compiled_and_trains_after_compile(keras, tmp_path):
    """As Keras: the compile config holds no student loss, so loading warns and leaves compiling to the caller
    (Keras 3.15 sets ``compiled = True`` regardless, without an optimizer; lamina reports False)."""
    _, distiller = _distillers(keras)
    x, y = _data()
    distiller.fit(x, y, epochs=1, verbose=0)
    path = str(tmp_path / "d.lamina")
    distiller.save(path)
    with pytest.warns(UserWarning, match=r"custom \(Distiller\)"):
        loaded = lamina.models.load_model(path)
    assert not loaded.compiled
    for a, b in zip(loaded.get_weights(), distiller.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(RuntimeError, match="compile"):
        loaded.fit(x, y, verbose=0)
    loaded.compile(optimizer="sgd", loss=lamina.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = loaded.fit(x, y, epochs=1, verbose=0).history
    assert sorted(history) == ["distillation_loss", "loss", "student_loss", "total_loss"]


# ---------------------------------------------------------------------------------------------- errors
def _bad_models(lib, case):
    if case == "input-shape":
        return _sequential(lib, "t", 3), _sequential(lib, "s", 3, inputs=6)
    if case == "output-shape":
        return _sequential(lib, "t", 3), _sequential(lib, "s", 3, outputs=3)
    if case == "output-rank":
        student = lib.Sequential([lib.Input((5,)), lib.layers.Dense(4), lib.layers.Reshape((2, 2))])
        return _sequential(lib, "t", 3), student
    if case == "input-dtype":
        return _sequential(lib, "t", 3), _sequential(lib, "s", 3, dtype="float64")
    raise AssertionError(case)


@pytest.mark.parametrize("case, match", [
    ("input-shape", r"Distiller: teacher and student input shapes are incompatible\. Teacher: \(None, 5\), "
                    r"Student: \(None, 6\)\. All dimensions must match"),
    ("output-shape", r"Distiller: teacher and student output shapes are incompatible\. Teacher: \(None, 4\), "
                     r"Student: \(None, 3\)"),
    ("output-rank", r"Distiller: teacher and student output shapes have different dimensions\. Teacher: \(None, 4\), "
                    r"Student: \(None, 2, 2\)"),
    ("input-dtype", r"Distiller: teacher and student input dtypes must match\. Teacher: float32, Student: float64"),
])
def test_incompatible_models_raise_value_error_like_keras(keras, case, match):
    for lib in (keras, lamina):
        teacher, student = _bad_models(lib, case)
        D = _distillation(lib)
        context = pytest.raises(ValueError, match=match) if lib is lamina else pytest.raises(ValueError)
        with context:
            D.Distiller(teacher, student, D.LogitsDistillation())


def _good(lib):
    return _sequential(lib, "teacher", 3), _sequential(lib, "student", 3)


@pytest.mark.parametrize("arguments, match", [
    (lambda lib, D, t, s: dict(teacher="not_a_model", student=s, distillation_losses=D.LogitsDistillation()),
     r"Distiller: `teacher` must be a lamina \(Keras\) Model\. Received: teacher='not_a_model' \(of type str\)"),
    (lambda lib, D, t, s: dict(teacher=t, student=3, distillation_losses=D.LogitsDistillation()),
     r"Distiller: `student` must be a lamina \(Keras\) Model\. Received: student=3 \(of type int\)"),
    (lambda lib, D, t, s: dict(teacher=t, student=s, distillation_losses=D.LogitsDistillation(),
                               student_loss_weight="0.5"),
     r"`student_loss_weight` must be a number between 0\.0 and 1\.0\. Received: student_loss_weight='0\.5' "
     r"\(of type str\)"),
    (lambda lib, D, t, s: dict(teacher=t, student=s, distillation_losses=D.LogitsDistillation(),
                               student_loss_weight=-0.1),
     r"Distiller: `student_loss_weight` must be between 0\.0 and 1\.0\. Received: student_loss_weight=-0\.1"),
    (lambda lib, D, t, s: dict(teacher=t, student=s, distillation_losses=D.LogitsDistillation(),
                               student_loss_weight=1.5),
     r"must be between 0\.0 and 1\.0\. Received: student_loss_weight=1\.5"),
    (lambda lib, D, t, s: dict(teacher=t, student=s, distillation_losses=None),
     r"Distiller: `distillation_losses` cannot be None"),
    (lambda lib, D, t, s: dict(teacher=t, student=s, distillation_losses=[D.LogitsDistillation()] * 2,
                               distillation_loss_weights=[1.0]),
     r"Distiller: the number of `distillation_loss_weights` \(1\) must match the number of `distillation_losses` "
     r"\(2\)\. Received: distillation_loss_weights=\[1\.0\]"),
    (lambda lib, D, t, s: dict(teacher=t, student=s, distillation_losses=D.FeatureDistillation(
        teacher_layer_name="nope")),
     r"FeatureDistillation: `teacher_layer_name='nope'`: in teacher model 'teacher': No such layer: nope"),
    (lambda lib, D, t, s: dict(teacher=t, student=s, distillation_losses=D.FeatureDistillation(
        teacher_layer_name="teacher_hidden", student_layer_name="missing")),
     r"`student_layer_name='missing'`: in student model 'student': No such layer: missing\. Existing layers are"),
])
def test_bad_distiller_arguments_raise_value_error_like_keras(keras, arguments, match):
    for lib in (keras, lamina):
        D = _distillation(lib)
        teacher, student = _good(lib)
        context = pytest.raises(ValueError, match=match) if lib is lamina else pytest.raises(ValueError)
        with context:
            D.Distiller(**arguments(lib, D, teacher, student))


def test_feature_layer_names_need_functional_or_sequential_models(keras):
    for lib in (keras, lamina):
        class Subclassed(lib.Model):
            def __init__(self):
                super().__init__()
                self.dense = lib.layers.Dense(4, name="dense_a")

            def call(self, inputs):
                return self.dense(inputs)

        teacher = Subclassed()
        teacher(np.zeros((1, 5), "float32"))
        D = _distillation(lib)
        context = pytest.raises(ValueError, match=r"FeatureDistillation with specific layer names requires "
                                                  r"Functional or Sequential models\. The teacher model\(s\) appear "
                                                  r"to be subclassed") if lib is lamina else pytest.raises(ValueError)
        with context:
            D.Distiller(teacher, _sequential(lib, "student", 3), D.FeatureDistillation(teacher_layer_name="dense_a"))
        # final outputs only: fine with a subclassed teacher
        D.Distiller(teacher, _sequential(lib, "student", 3), D.FeatureDistillation())


def test_distillation_losses_must_be_distillation_losses():
    """Keras fails with AttributeError (``'str' object has no attribute 'validate_model_compatibility'``)."""
    teacher, student = _good(lamina)
    with pytest.raises(TypeError, match=r"Distiller: `distillation_losses\[1\]` must be a DistillationLoss .*"
                                        r"Received: 'kl' \(of type str\)"):
        lamina.distillation.Distiller(teacher, student, [lamina.distillation.LogitsDistillation(), "kl"])


@pytest.mark.parametrize("compile_arguments, match", [
    (dict(), r"Distiller\.compile: `loss` \(the student's supervised loss\) cannot be None"),
    (dict(loss="mse", metrics="accuracy"), r"Distiller\.compile: `metrics` must be a list or tuple\. Received: "
                                           r"metrics='accuracy' \(of type str\)"),
    (dict(loss="msee"), r"Distiller\.compile: unknown loss 'msee'"),
])
def test_bad_compile_arguments_raise_value_error_like_keras(keras, compile_arguments, match):
    for lib in (keras, lamina):
        D = _distillation(lib)
        distiller = D.Distiller(*_good(lib), D.LogitsDistillation())
        context = pytest.raises(ValueError, match=match) if lib is lamina else pytest.raises(ValueError)
        with context:
            distiller.compile(**compile_arguments)


def test_non_scalar_distillation_loss_raises_value_error_like_keras(keras):
    x, y = _data()
    for lib in (keras, lamina):
        D = _distillation(lib)

        class PerSample(D.DistillationLoss):
            def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
                return lib.ops.mean(lib.ops.square(teacher_outputs - student_outputs), axis=-1)

        distiller = D.Distiller(*_good(lib), PerSample())
        distiller.compile(optimizer="sgd", loss="mse")
        context = pytest.raises(ValueError, match=r"Distillation loss PerSample returned a non-scalar loss with "
                                                  r"shape \(12,\)") if lib is lamina else pytest.raises(ValueError)
        with context:
            distiller.fit(x, np.zeros((12, 4), "float32"), batch_size=12, verbose=0)


def test_student_losses_of_different_shapes_raise_a_clear_error():
    """Two per-output loss functions of different shapes: Keras's ``stack`` fails with torch's RuntimeError."""
    inputs = lamina.Input((5,))
    hidden = lamina.layers.Dense(3)(inputs)
    teacher = lamina.Model(inputs, [lamina.layers.Dense(4)(hidden), lamina.layers.Dense(2)(hidden)])
    inputs = lamina.Input((5,))
    student = lamina.Model(inputs, [lamina.layers.Dense(4)(inputs), lamina.layers.Dense(2)(inputs)])
    distiller = lamina.distillation.Distiller(teacher, student, lamina.distillation.LogitsDistillation(
        loss=["mse", "mse"]))
    distiller.compile(optimizer="sgd", loss=[lamina.losses.MeanSquaredError(), "mse"])
    x = np.zeros((3, 5), "float32")
    with pytest.raises(ValueError, match=r"student losses of the outputs returned values of different shapes "
                                         r"\[\(\), \(3,\)\]"):
        distiller.train_on_batch(x, [np.zeros((3, 4), "float32"), np.zeros((3, 2), "float32")])
