"""scikit-learn estimators around lamina models, as Keras 3's ``keras.wrappers`` (docs/sklearn.md).

``SKLearnClassifier``, ``SKLearnRegressor`` and ``SKLearnTransformer`` take ``model`` (a compiled lamina
``Model``, cloned and compiled alike before each fit, or a callable ``model(X=X, y=y, **model_kwargs)``
returning a compiled one), ``warm_start``, ``model_kwargs`` and ``fit_kwargs``. This module imports
scikit-learn; ``lamina.wrappers`` imports it on first use of a wrapper.
"""

import numpy as np

from lamina.models.cloning import clone_model
from lamina.models.model import Model

try:
    import sklearn
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin, clone
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder
    from sklearn.utils.multiclass import type_of_target
    from sklearn.utils.validation import check_is_fitted
except ImportError as error:
    raise ImportError("lamina.wrappers (SKLearnClassifier, SKLearnRegressor, SKLearnTransformer) requires "
                      "`scikit-learn` to be installed. Run `pip install scikit-learn` to install it.") from error

try:
    from sklearn.utils.validation import validate_data  # scikit-learn >= 1.6
except ImportError:  # scikit-learn 1.3-1.5 (pyproject's floor is 1.3)
    def validate_data(estimator, *args, **kwargs):
        return estimator._validate_data(*args, **kwargs)


def _checked_target_type(y):
    """sklearn's ``type_of_target``, raising for an unknown label type (as Keras's wrappers do)."""
    target_type = type_of_target(y)
    if target_type == "unknown":
        raise ValueError(f"Unknown label type for data: {y!r}")
    return target_type


def _compiled_clone(model, owner):
    """``clone_model(model)``: fresh weights, compiled as ``model`` is."""
    cloned = clone_model(model)
    if model.compiled and not cloned.compiled:  # a PyTorch optimizer has no config (docs/training.md)
        raise RuntimeError(f"{owner}: a model compiled with a PyTorch optimizer cannot be cloned for fit (the "
                           "optimizer holds the original model's parameters); pass a callable that builds "
                           "and compiles the model instead.")
    return cloned


class TargetReshaper(TransformerMixin, BaseEstimator):
    """Turns 1-D targets ``(n,)`` into ``(n, 1)`` and back, for encoders that want 2-D input (as Keras's)."""

    def fit(self, y):
        """Records ``y.ndim``; returns self."""
        self.ndim_ = y.ndim
        return self

    def transform(self, y):
        """``(n,)`` -> ``(n, 1)``; other shapes unchanged."""
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def inverse_transform(self, y):
        """``(n, 1)`` -> ``(n,)`` when fitted on 1-D targets; other shapes unchanged."""
        check_is_fitted(self)
        return np.squeeze(y, axis=1) if self.ndim_ == 1 and y.ndim == 2 else y


class SKLBase(BaseEstimator):
    """The shared part of the three wrappers (Keras's ``SKLBase``).

    Args:
        model: a compiled lamina ``Model``, cloned by ``lamina.models.clone_model`` (fresh weights) and
            compiled with the same configuration before each fit; or a callable ``model(X=X, y=y,
            **model_kwargs)`` returning a compiled ``Model`` (``X`` validated, ``y`` encoded as the model
            is fitted on it).
        warm_start: when True, a second ``fit`` keeps training ``model_`` (weights and optimizer state)
            instead of starting from a new model.
        model_kwargs: keyword arguments for ``model`` when it is a callable.
        fit_kwargs: keyword arguments for ``model.fit``; those passed to ``fit`` itself take precedence.

    Attributes (after ``fit``): ``model_`` (the fitted model), ``history_`` (the ``History`` returned
    by ``model.fit``), ``n_features_in_``; ``epoch_`` is the epoch the latest fit reached.
    """

    def __init__(self, model, warm_start=False, model_kwargs=None, fit_kwargs=None):
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs

    def _more_tags(self):  # scikit-learn < 1.6
        return {"non_deterministic": True}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True
        return tags

    def __sklearn_is_fitted__(self):
        return hasattr(self, "model_")

    def __sklearn_clone__(self):
        """An unfitted copy: parameters cloned as ``sklearn.base.clone`` does, except ``model``, which is
        shared (a Model instance is cloned by ``fit``; deep-copying it would copy its weights for nothing)."""
        params = {name: value if name == "model" else clone(value, safe=False)
                  for name, value in self.get_params(deep=False).items()}
        new = type(self)(**params)
        if hasattr(self, "_metadata_request"):
            new._metadata_request = clone(self._metadata_request, safe=False)
        return new

    @property
    def epoch_(self):
        """The epoch the latest ``fit`` reached (its last epoch index + 1); 0 before any."""
        history = getattr(self, "history_", None)
        return history.epoch[-1] + 1 if history is not None and history.epoch else 0

    def set_fit_request(self, **kwargs):
        """Requests metadata for ``fit`` (``sample_weight=True``...) under scikit-learn's metadata routing.

        Each ``param=alias`` takes an alias in ``{True, False, None, str}``; returns self.
        """
        if not sklearn.get_config().get("enable_metadata_routing", False):
            raise RuntimeError("This method is only available when metadata routing is enabled. You can enable "
                               "it using sklearn.set_config(enable_metadata_routing=True).")
        requests = self._get_metadata_request()
        for param, alias in kwargs.items():
            requests.fit.add_request(param=param, alias=alias)
        self._metadata_request = requests
        return self

    def _get_model(self, X, y):
        if self.warm_start and hasattr(self, "model_"):
            return self.model_
        if isinstance(self.model, Model):
            return _compiled_clone(self.model, type(self).__name__)
        if not callable(self.model):
            raise TypeError(f"{type(self).__name__}: `model` must be a compiled lamina Model or a callable "
                            f"returning one. Received: model={self.model!r}")
        return self.model(X=X, y=y, **(self.model_kwargs or {}))

    def _check_model(self, model):
        if not isinstance(model, Model):
            raise TypeError(f"{type(self).__name__}: `model(X=..., y=..., **model_kwargs)` must return a "
                            f"compiled lamina Model. Received: {model!r} of type {type(model).__name__}")
        if not model.compiled or not model.loss or model.optimizer is None:
            raise RuntimeError(f"{type(self).__name__}: Given model needs to be compiled, and have a loss and an "
                               "optimizer (model.compile(optimizer=..., loss=...)).")

    def fit(self, X, y, **kwargs):
        """Fits a new model (or, with ``warm_start``, ``model_`` again) on ``X`` ``(n_samples, n_features)``
        and ``y`` ``(n_samples,)``; ``kwargs`` go to ``model.fit`` over ``fit_kwargs``. Returns self."""
        X, y = validate_data(self, X, y)
        y = self._encode_target(y)
        model = self._get_model(X, y)
        self._check_model(model)
        self.history_ = model.fit(X, y, **{**(self.fit_kwargs or {}), **kwargs})
        self.model_ = model
        return self

    def predict(self, X):
        """The model's predictions for ``X``, decoded back to the targets' form (class labels for the
        classifier, ``(n_samples,)`` for 1-D targets)."""
        return self._decode_target(self._raw_outputs(X))

    def _raw_outputs(self, X):
        check_is_fitted(self)
        return self.model_.predict(validate_data(self, X, reset=False))

    def _encode_target(self, y):
        """Fits the target encoder on ``y`` and returns ``y`` as the model is fitted on it: ``(n, 1)``."""
        _checked_target_type(y)
        self._target_encoder = TargetReshaper().fit(y)
        return self._target_encoder.transform(y)

    def _decode_target(self, outputs):
        return self._target_encoder.inverse_transform(outputs)


class SKLearnClassifier(ClassifierMixin, SKLBase):
    """A scikit-learn classifier around a lamina model (``keras.wrappers.SKLearnClassifier``).

    Binary and multiclass targets (any labels: ints, strings) are one-hot encoded, so the model is
    fitted on ``(n_samples, n_classes)`` targets and needs ``n_classes`` outputs (softmax and
    ``categorical_crossentropy``, typically); ``predict`` returns the label of each row's largest output,
    ``decision_function`` the outputs themselves. Arguments as ``SKLBase``; ``classes_`` holds the sorted
    labels.

    >>> def build(X, y, hidden=8):
    ...     model = lamina.Sequential([lamina.Input((X.shape[1],)), lamina.layers.Dense(hidden, activation="relu"),
    ...                                lamina.layers.Dense(y.shape[1], activation="softmax")])
    ...     model.compile(optimizer="adam", loss="categorical_crossentropy")
    ...     return model
    >>> clf = SKLearnClassifier(build, model_kwargs={"hidden": 16}, fit_kwargs={"epochs": 5, "verbose": 0})
    >>> clf.fit(X, labels).predict(X)  # doctest: +SKIP
    """

    def decision_function(self, X):
        """The model's raw outputs ``(n_samples, n_classes)``."""
        return self._raw_outputs(X)

    def _encode_target(self, y):
        target_type = _checked_target_type(y)
        if target_type not in ("binary", "multiclass"):
            raise ValueError(f"{type(self).__name__}: Only binary and multiclass target types are supported. "
                             f"Target type: {target_type}")
        self._target_encoder = make_pipeline(TargetReshaper(), OneHotEncoder(sparse_output=False)).fit(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) == 1:
            raise ValueError(f"{type(self).__name__}: Classifier can't train when only one class is present.")
        return self._target_encoder.transform(y)

    def _more_tags(self):  # scikit-learn < 1.6
        return {"poor_score": True}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags


class SKLearnRegressor(RegressorMixin, SKLBase):
    """A scikit-learn regressor around a lamina model (``keras.wrappers.SKLearnRegressor``).

    ``y`` ``(n_samples,)`` is fitted as ``(n_samples, 1)`` (one output unit) and ``predict`` returns
    ``(n_samples,)``; ``score`` is R². Arguments as ``SKLBase``.
    """

    def _more_tags(self):  # scikit-learn < 1.6
        return {"poor_score": True}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        return tags


class SKLearnTransformer(TransformerMixin, SKLBase):
    """A scikit-learn transformer around a lamina model (``keras.wrappers.SKLearnTransformer``): ``fit``
    trains the model on ``(X, y)``, ``transform(X)`` returns its outputs (an embedding, say).

    Arguments as ``SKLBase``.
    """

    def transform(self, X):
        """The model's outputs for ``X`` ``(n_samples, n_features)``."""
        return self._raw_outputs(X)

    def _more_tags(self):  # scikit-learn < 1.6
        return {"preserves_dtype": []}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags
