"""California housing prices (1990 census block groups): ``(x_train, y_train), (x_test, y_test)``.

``x_*`` ``(samples, 8)`` (MedInc, HouseAge, AveRooms, AveBedrms, Population, AveOccup, Latitude,
Longitude), ``y_*`` ``(samples,)`` (median house values in dollars), floats of the file's dtype; 20,640 samples
(``version="large"``) or the first 600 (``"small"``), shuffled with ``RandomState(seed)`` and split at
``int(samples * (1 - test_split))``. Read from ``$KERAS_HOME/datasets/california_housing.npz``.
"""

from lamina.datasets._loading import KERAS_ORIGIN, check_test_split, read_npz, shuffled_split
from lamina.utils.file_utils import get_file


def load_data(version="large", path="california_housing.npz", test_split=0.2, seed=113):
    """The California housing arrays, as ``keras.datasets.california_housing.load_data``."""
    check_test_split(test_split)
    if version not in ("small", "large"):
        raise ValueError(f"Argument `version` must be one of 'small', 'large'. Received: version={version}")
    origin = f"{KERAS_ORIGIN}california_housing.npz"
    path = get_file(path, origin=origin, file_hash="1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f")
    x, y = read_npz(path, origin, ("x", "y"))
    if version == "small":
        x, y = x[:600], y[:600]
    return shuffled_split(x, y, test_split, seed)
