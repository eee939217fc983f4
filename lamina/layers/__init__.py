"""All lamina layers, by their Keras names, with ``serialize``/``deserialize``."""

from lamina.engine.input_layer import Input, InputLayer  # noqa: F401
from lamina.engine.input_spec import InputSpec  # noqa: F401
from lamina.engine.layer import Layer  # noqa: F401
from lamina.layers.activations import *  # noqa: F401,F403
from lamina.layers.attention import *  # noqa: F401,F403
from lamina.layers.convolutional import *  # noqa: F401,F403
from lamina.layers.core import *  # noqa: F401,F403
from lamina.layers import experimental  # noqa: F401  (tf.keras.layers.experimental's layers)
from lamina.layers.merging import *  # noqa: F401,F403
from lamina.layers.normalization import *  # noqa: F401,F403
from lamina.layers.pooling import *  # noqa: F401,F403
from lamina.layers.preprocessing import *  # noqa: F401,F403
from lamina.layers.regularization import *  # noqa: F401,F403
from lamina.layers.reshaping import *  # noqa: F401,F403
from lamina.layers.rnn import *  # noqa: F401,F403
from lamina.layers.serialization import deserialize, serialize  # noqa: F401
# image and audio preprocessing (issue 15)
from lamina.layers.audio import *  # noqa: F401,F403
from lamina.layers.image import *  # noqa: F401,F403
