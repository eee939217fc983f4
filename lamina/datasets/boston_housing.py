"""Boston housing prices (StatLib; Keras warns of the dataset's ethical problem, its "B" variable):
``(x_train, y_train), (x_test, y_test)``.

``x_*`` ``(samples, 13)``, ``y_*`` ``(samples,)`` (median values in k$), floats of the file's dtype; 506 samples,
shuffled with ``RandomState(seed)`` and split at ``int(506 * (1 - test_split))``. Read from
``$KERAS_HOME/datasets/boston_housing.npz``.
"""

from lamina.datasets._loading import KERAS_ORIGIN, check_test_split, read_npz, shuffled_split
from lamina.utils.file_utils import get_file


def load_data(path="boston_housing.npz", test_split=0.2, seed=113):
    """The Boston housing arrays, as ``keras.datasets.boston_housing.load_data``."""
    check_test_split(test_split)
    origin = f"{KERAS_ORIGIN}boston_housing.npz"
    path = get_file(path, origin=origin, file_hash="f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5")
    x, y = read_npz(path, origin, ("x", "y"))
    return shuffled_split(x, y, test_split, seed)
