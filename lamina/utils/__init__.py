"""Public utilities, as ``keras.utils``."""

from lamina.utils.numerical import normalize, to_categorical  # noqa: F401
from lamina.utils.rng import set_random_seed  # noqa: F401
from lamina.naming import clear_session  # noqa: F401,E402
from lamina.training.data import PyDataset  # noqa: F401,E402
from lamina.utils.plotting import plot_history  # noqa: F401,E402
