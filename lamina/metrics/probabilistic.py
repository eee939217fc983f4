"""Probabilistic metrics: running means of the crossentropies, the KL divergence and the Poisson loss."""

from lamina import losses, registry
from lamina.metrics.base import MODULE, LossMean, MeanMetricWrapper


@registry.register_builtin(MODULE)
class BinaryCrossentropy(MeanMetricWrapper):
    """Mean binary crossentropy (``losses.binary_crossentropy``) between labels and predictions."""

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False, label_smoothing=0):
        super().__init__(losses.binary_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)


@registry.register_builtin(MODULE)
class CategoricalCrossentropy(MeanMetricWrapper):
    """Mean categorical crossentropy, one-hot labels (``losses.categorical_crossentropy``)."""

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False, label_smoothing=0,
                 axis=-1):
        super().__init__(losses.categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


@registry.register_builtin(MODULE)
class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """Mean categorical crossentropy, integer labels (``losses.sparse_categorical_crossentropy``)."""

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False, ignore_class=None,
                 axis=-1):
        super().__init__(losses.sparse_categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         ignore_class=ignore_class, axis=axis)


@registry.register_builtin(MODULE)
class KLDivergence(LossMean):
    """Mean Kullback-Leibler divergence ``sum(y_true * log(y_true / y_pred), axis=-1)``."""

    fn = staticmethod(losses.kl_divergence)
    default_name = "kl_divergence"


@registry.register_builtin(MODULE)
class Poisson(LossMean):
    """Mean Poisson loss ``mean(y_pred - y_true * log(y_pred), axis=-1)``."""

    fn = staticmethod(losses.poisson)
    default_name = "poisson"
