"""``keras.preprocessing``: Keras's legacy home of the dataset builders and of the ``image`` and ``sequence``
helpers, which lamina keeps in ``lamina.utils``."""

from lamina.preprocessing import image, sequence  # noqa: F401
from lamina.utils import (image_dataset_from_directory, text_dataset_from_directory,  # noqa: F401
                          timeseries_dataset_from_array)
