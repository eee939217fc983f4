"""scikit-learn wrappers, as ``keras.wrappers``: ``SKLearnClassifier``, ``SKLearnRegressor``,
``SKLearnTransformer`` (docs/sklearn.md).

scikit-learn is an optional dependency: the first use of a wrapper imports ``sklearn_wrapper`` (and
scikit-learn with it), so ``import lamina`` does not.
"""

import importlib

__all__ = ["SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"]


def __getattr__(name):
    if name not in __all__:
        raise AttributeError(f"module 'lamina.wrappers' has no attribute '{name}'")
    # imported on first use to keep scikit-learn out of `import lamina` (no cycle involved)
    return getattr(importlib.import_module("lamina.wrappers.sklearn_wrapper"), name)


def __dir__():
    return sorted([*globals(), *__all__])
