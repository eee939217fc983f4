"""The distillation losses alone against Keras 3.15's: values over temperatures, loss kinds and nested outputs,
structure checks, configs; and the arguments both libraries refuse."""

import numpy as np
import pytest
import torch

import lamina
import lamina.distillation

TOLERANCE = 1e-5


def _distillation(lib):
    return lamina.distillation if lib is lamina else lib.distillation


def _logits(seed, shape=(6, 5), scale=2.0):
    return (np.random.default_rng(seed).normal(size=shape) * scale).astype("float32")


# (name, factory(lib, D) -> a distillation loss, nested outputs?)
LOSSES = [
    ("logits-default", lambda lib, D: D.LogitsDistillation(), False),
    ("logits-T1-KLDivergence", lambda lib, D: D.LogitsDistillation(1.0, lib.losses.KLDivergence()), False),
    ("logits-T0.5-KLDivergence", lambda lib, D: D.LogitsDistillation(0.5, lib.losses.KLDivergence()), False),
    ("logits-T7-KLDivergence", lambda lib, D: D.LogitsDistillation(7, lib.losses.KLDivergence()), False),
    ("logits-T3-kl-name", lambda lib, D: D.LogitsDistillation(3.0, "kl_divergence"), False),
    ("logits-T2-KLDivergence-class-name", lambda lib, D: D.LogitsDistillation(2.0, "KLDivergence"), False),
    ("logits-T2-cce-logits", lambda lib, D: D.LogitsDistillation(
        2.0, lib.losses.CategoricalCrossentropy(from_logits=True)), False),
    ("logits-T3-mse", lambda lib, D: D.LogitsDistillation(3.0, "mse"), False),
    ("logits-T3-mae", lambda lib, D: D.LogitsDistillation(3.0, "mean_absolute_error"), False),
    ("logits-T2-huber", lambda lib, D: D.LogitsDistillation(2.0, lib.losses.Huber(delta=0.5)), False),
    ("logits-T2-cosine", lambda lib, D: D.LogitsDistillation(2.0, "cosine_similarity"), False),
    ("logits-nested-list", lambda lib, D: D.LogitsDistillation(2.0, [lib.losses.KLDivergence(), "mse"]), True),
    ("logits-nested-skip", lambda lib, D: D.LogitsDistillation(4.0, [None, lib.losses.KLDivergence()]), True),
    ("feature-mse", lambda lib, D: D.FeatureDistillation(), False),
    ("feature-mae", lambda lib, D: D.FeatureDistillation("mae"), False),
    ("feature-cosine", lambda lib, D: D.FeatureDistillation("cosine_similarity"), False),
    ("feature-log-cosh", lambda lib, D: D.FeatureDistillation("log_cosh"), False),
    ("feature-MeanSquaredError-sum", lambda lib, D: D.FeatureDistillation(
        lib.losses.MeanSquaredError(reduction="sum")), False),
    ("feature-nested", lambda lib, D: D.FeatureDistillation(["mse", "cosine_similarity"]), True),
    ("feature-nested-skip", lambda lib, D: D.FeatureDistillation([lib.losses.MeanAbsoluteError(), None]), True),
]


@pytest.mark.parametrize("name, make, nested", LOSSES, ids=[case[0] for case in LOSSES])
def test_distillation_loss_value_matches_keras(keras, name, make, nested):
    teacher, student = _logits(1), _logits(2)
    if nested:
        teacher, student = [teacher, _logits(3, (6, 3))], [student, _logits(4, (6, 3))]
    values = []
    for lib in (keras, lamina):
        loss = make(lib, _distillation(lib))
        convert = lib.ops.convert_to_tensor if lib is keras else torch.as_tensor
        as_tensors = (lambda t: [convert(v) for v in t]) if nested else convert
        loss.validate_outputs(as_tensors(teacher), as_tensors(student))
        value = loss.compute_loss(as_tensors(teacher), as_tensors(student))
        assert tuple(value.shape) == ()
        values.append(float(value))
    expected, actual = values
    assert abs(actual - expected) <= TOLERANCE * max(1.0, abs(expected)), f"{name}: {actual} != Keras {expected}"


def test_kl_divergence_by_name_is_the_function_on_scaled_logits_as_in_keras():
    """Keras resolves "kl_divergence" to the loss function, which LogitsDistillation applies to the scaled
    logits (no softmax, no T**2); only a KLDivergence instance gets the softmax and the T**2 factor."""
    teacher, student = torch.as_tensor(_logits(1)), torch.as_tensor(_logits(2))
    by_name = lamina.distillation.LogitsDistillation(2.0).compute_loss(teacher, student)
    expected = lamina.losses.kl_divergence(teacher / 2.0, student / 2.0).mean()
    assert torch.allclose(by_name, expected)
    instance = lamina.distillation.LogitsDistillation(2.0, lamina.losses.KLDivergence())
    probabilities = torch.softmax(teacher / 2.0, -1), torch.softmax(student / 2.0, -1)
    assert torch.allclose(instance.compute_loss(teacher, student),
                          lamina.losses.KLDivergence()(*probabilities) * 4.0)


# ---------------------------------------------------------------------------------------------- structure checks
@pytest.mark.parametrize("make, teacher, student", [
    (lambda D: D.LogitsDistillation(), "tensor", "dict"),
    (lambda D: D.LogitsDistillation(), "list", "tensor"),
    (lambda D: D.FeatureDistillation(), "tensor", "list"),
])
def test_validate_outputs_refuses_mismatched_structures_as_keras(keras, make, teacher, student):
    for lib in (keras, lamina):
        convert = lib.ops.convert_to_tensor if lib is keras else torch.as_tensor
        value = convert(_logits(1))
        forms = {"tensor": value, "dict": {"output": value}, "list": [value, value]}
        with pytest.raises(ValueError):
            make(_distillation(lib)).validate_outputs(forms[teacher], forms[student])


def test_feature_distillation_loss_structure_error_names_both_structures(keras):
    """A ``loss`` nested unlike the features: Keras 3.15 means to raise this ValueError but its message calls
    ``tree.structure``, which keras.src.tree lacks, so it raises AttributeError instead (on every backend);
    lamina raises the ValueError."""
    with pytest.raises(AttributeError, match="structure"):
        keras_value = keras.ops.convert_to_tensor(_logits(1))
        keras.distillation.FeatureDistillation(["mse", "mae"]).validate_outputs(keras_value, keras_value)
    value = torch.as_tensor(_logits(1))
    with pytest.raises(ValueError, match=r"FeatureDistillation: loss structure mismatch.*\[\*, \*\].*\*"):
        lamina.distillation.FeatureDistillation(["mse", "mae"]).validate_outputs(value, value)


# ---------------------------------------------------------------------------------------------- configs
CONFIG_CASES = [
    lambda lib, D: D.LogitsDistillation(),
    lambda lib, D: D.LogitsDistillation(temperature=4.5, loss=lib.losses.KLDivergence()),
    lambda lib, D: D.LogitsDistillation(2, loss=["kl_divergence", None]),
    lambda lib, D: D.LogitsDistillation(2.0, loss="mse"),
    lambda lib, D: D.FeatureDistillation(),
    lambda lib, D: D.FeatureDistillation(loss="cosine_similarity", teacher_layer_name="a", student_layer_name="b"),
    lambda lib, D: D.FeatureDistillation(loss=lib.losses.MeanAbsoluteError(), teacher_layer_name="t"),
    lambda lib, D: D.FeatureDistillation(loss=["mse", None, lib.losses.MeanSquaredError()]),
]


@pytest.mark.parametrize("index", range(len(CONFIG_CASES)))
def test_distillation_loss_config_is_keras_and_round_trips(keras, index):
    make = CONFIG_CASES[index]
    keras_loss, lamina_loss = make(keras, keras.distillation), make(lamina, lamina.distillation)
    expected = keras.saving.serialize_keras_object(keras_loss)
    assert lamina.serialization.serialize_keras_object(lamina_loss) == expected
    rebuilt = lamina.serialization.deserialize_keras_object(expected)
    assert type(rebuilt) is type(lamina_loss)
    assert lamina.serialization.serialize_keras_object(rebuilt) == expected
    # and Keras reads lamina's config back
    again = keras.saving.deserialize_keras_object(lamina.serialization.serialize_keras_object(lamina_loss))
    assert keras.saving.serialize_keras_object(again) == expected


# ---------------------------------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize("build, match", [
    (lambda D: D.LogitsDistillation(temperature=0), r"LogitsDistillation: `temperature` must be positive\. "
                                                     r"Received: temperature=0"),
    (lambda D: D.LogitsDistillation(temperature=-2.0), r"`temperature` must be positive\. Received: temperature=-2\.0"),
    (lambda D: D.LogitsDistillation(temperature="3"), r"LogitsDistillation: `temperature` must be a positive number\. "
                                                       r"Received: temperature='3' \(of type str\)"),
    (lambda D: D.LogitsDistillation(loss=None), r"LogitsDistillation: the `loss` argument must contain at least one "
                                                 r"non-None loss\. Received: loss=None"),
    (lambda D: D.LogitsDistillation(loss=[None, None]), r"at least one non-None loss\. Received: loss=\[None, None\]"),
    (lambda D: D.FeatureDistillation(loss=None), r"FeatureDistillation: the `loss` argument must contain at least one"),
])
def test_bad_loss_arguments_raise_value_error_like_keras(keras, build, match):
    with pytest.raises(ValueError):
        build(keras.distillation)
    with pytest.raises(ValueError, match=match):
        build(lamina.distillation)


def test_unknown_loss_name_raises_value_error_like_keras(keras):
    with pytest.raises(ValueError):
        keras.distillation.FeatureDistillation(loss="msee")
    with pytest.raises(ValueError, match=r"FeatureDistillation: unknown loss 'msee' in `loss`; expected a Keras "
                                         r"loss name .*did you mean 'mse'"):
        lamina.distillation.FeatureDistillation(loss="msee")


@pytest.mark.parametrize("build, match", [
    (lambda D: D.FeatureDistillation(loss=3), r"FeatureDistillation: each entry of `loss` must be a loss name, a "
                                               r"loss function, a Loss instance or None\. Received: 3 \(of type int\)"),
    (lambda D: D.FeatureDistillation(teacher_layer_name=1), r"FeatureDistillation: `teacher_layer_name` must be a "
                                                            r"layer name \(a string\) or None\. Received: "
                                                            r"teacher_layer_name=1 \(of type int\)"),
])
def test_lamina_refuses_non_losses_at_construction(build, match):
    """Keras keeps such values and fails at the first step; lamina says what is wrong when it is given."""
    with pytest.raises(TypeError, match=match):
        build(lamina.distillation)


def test_base_class_compute_loss_is_abstract(keras):
    value = torch.zeros(2, 3)
    with pytest.raises(NotImplementedError, match="Subclasses must implement compute_loss"):
        lamina.distillation.DistillationLoss().compute_loss(value, value)
    with pytest.raises(NotImplementedError):
        keras.distillation.DistillationLoss().compute_loss(value, value)
