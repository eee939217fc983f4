"""lamina: the Keras layers-and-models API, implemented natively on PyTorch.

>>> import lamina
>>> from lamina import layers
>>> model = lamina.Sequential([layers.Dense(8, activation="relu", input_shape=(4,)), layers.Dense(1)])
"""

from lamina import activations, config, constraints, initializers, quantizers, regularizers  # noqa: E402,F401
from lamina import callbacks, layers, losses, metrics, models, ops, optimizers, saving, utils  # noqa: E402,F401
from lamina import datasets, distillation, distribution, preprocessing, visualization, wrappers  # noqa: E402,F401
from lamina.engine.input_layer import Input, InputLayer  # noqa: E402,F401
from lamina.models import Model, Sequential  # noqa: E402,F401
from lamina.registry import register_serializable  # noqa: E402,F401
from lamina.symbolic.function import Function  # noqa: E402,F401
from lamina.symbolic.keras_tensor import KerasTensor  # noqa: E402,F401
from lamina.symbolic.operation import Operation  # noqa: E402,F401
from lamina.version import __version__, version  # noqa: E402,F401
from lamina import backend, random  # noqa: E402,F401  (keras.backend and keras.random)

# Keras's other top-level names (issue 13).
from lamina import dtype_policies, mixed_precision  # noqa: E402,F401
from lamina.devices import device  # noqa: E402,F401
from lamina.dtype_policies import DTypePolicy, FloatDTypePolicy  # noqa: E402,F401
from lamina.engine.input_spec import InputSpec  # noqa: E402,F401
from lamina.engine.layer import Layer  # noqa: E402,F401
from lamina.initializers import Initializer  # noqa: E402,F401
from lamina.losses import Loss  # noqa: E402,F401
from lamina.metrics import Metric  # noqa: E402,F401
from lamina.naming import name_scope  # noqa: E402,F401
from lamina.optimizers import Optimizer  # noqa: E402,F401
from lamina.regularizers import Regularizer  # noqa: E402,F401
from lamina.rematerialization import RematScope, remat  # noqa: E402,F401
from lamina.variables import Variable  # noqa: E402,F401
