"""Public utilities, as ``keras.utils``.

Optional dependencies are imported where they are used: Pillow by the image utilities, pydot (and
Graphviz) by ``plot_model``/``model_to_dot``; ``import lamina`` needs neither.
"""

from lamina.utils.numerical import normalize, to_categorical  # noqa: F401
from lamina.utils.rng import set_random_seed  # noqa: F401
from lamina.naming import clear_session  # noqa: F401,E402
from lamina.training.data import PyDataset  # noqa: F401,E402
from lamina.utils.plotting import plot_history  # noqa: F401,E402

# The rest of keras.utils (issue 13).
from lamina.config import (disable_interactive_logging, enable_interactive_logging,  # noqa: F401,E402
                           is_interactive_logging_enabled)
from lamina.dtypes import standardize_dtype  # noqa: F401,E402
from lamina.registry import (CustomObjectScope, custom_object_scope, get_custom_objects,  # noqa: F401,E402
                             get_registered_name, get_registered_object, register_keras_serializable)
from lamina.training.data import pack_x_y_sample_weight, unpack_x_y_sample_weight  # noqa: F401,E402
from lamina.utils import bounding_boxes  # noqa: F401,E402
from lamina.utils.audio_dataset import audio_dataset_from_directory  # noqa: F401,E402
from lamina.utils.config_object import Config  # noqa: F401,E402
from lamina.utils.dataset_utils import split_dataset  # noqa: F401,E402
from lamina.utils.file_utils import get_file  # noqa: F401,E402
from lamina.utils.image_dataset import image_dataset_from_directory  # noqa: F401,E402
from lamina.utils.image_utils import array_to_img, img_to_array, load_img, save_img, smart_resize  # noqa: F401,E402
from lamina.utils.model_visualization import model_to_dot, plot_model  # noqa: F401,E402
from lamina.utils.progbar import Progbar  # noqa: F401,E402
from lamina.utils.sequence_utils import pad_sequences  # noqa: F401,E402
from lamina.utils.serialization_utils import deserialize_keras_object, serialize_keras_object  # noqa: F401,E402
from lamina.utils.symbolic_utils import get_source_inputs, is_keras_tensor  # noqa: F401,E402
from lamina.utils.text_dataset import text_dataset_from_directory  # noqa: F401,E402
from lamina.utils.timeseries_dataset import timeseries_dataset_from_array  # noqa: F401,E402

Sequence = PyDataset  # Keras 2's name
