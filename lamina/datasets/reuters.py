"""Reuters newswires labelled over 46 topics: ``(x_train, y_train), (x_test, y_test)``.

``x_train`` and ``x_test`` are object arrays of newswires (11,228 in all, the last ``test_split`` for
testing), every one a list of int word indices (1 = ``start_char``, 2 = ``oov_char``, words from
``index_from``, ranked by frequency); ``y_train``/``y_test`` int ``(samples,)`` topics 0-45, named by
``get_label_names()``. Read from ``$KERAS_HOME/datasets/reuters.npz``, whose ragged arrays are read by the
numpy-only unpickler; ``get_word_index`` reads ``reuters_word_index.json``.
"""

import numpy as np

from lamina.datasets._loading import KERAS_ORIGIN, drop_long, limit_vocabulary, mark, read_json, read_npz, shuffled
from lamina.utils.file_utils import get_file

_LABEL_NAMES = ("cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply", "coffee",
                "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas", "cpi", "money-fx",
                "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin", "strategic-metal", "livestock",
                "retail", "ipi", "iron-steel", "rubber", "heat", "jobs", "lei", "bop", "zinc", "orange", "pet-chem",
                "dlr", "gas", "silver", "wpi", "hog", "lead")


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2, seed=113, start_char=1,
              oov_char=2, index_from=3):
    """The Reuters sequences, as ``keras.datasets.reuters.load_data``.

    All newswires are shuffled with ``RandomState(seed)``; each gets ``start_char`` first and every word
    index ``+ index_from``; ``maxlen`` drops (does not cut) those of ``maxlen`` words or more; words
    outside ``[skip_top, num_words)`` become ``oov_char`` (dropped when it is None); the first
    ``int(samples * (1 - test_split))`` are for training.
    """
    origin = f"{KERAS_ORIGIN}reuters.npz"
    path = get_file(path, origin=origin, file_hash="d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916")
    xs, labels = shuffled(np.random.RandomState(seed), *read_npz(path, origin, ("x", "y"), objects=True))
    xs = mark(xs, start_char, index_from)
    if maxlen:
        xs, labels = drop_long(maxlen, xs, labels)
    xs = limit_vocabulary(xs, num_words, skip_top, oov_char)
    cut = int(len(xs) * (1 - test_split))
    return (np.array(xs[:cut], dtype="object"), np.array(labels[:cut])), \
        (np.array(xs[cut:], dtype="object"), np.array(labels[cut:]))


def get_word_index(path="reuters_word_index.json"):
    """The dict word -> rank (1 = most frequent) of the Reuters newswires; add ``index_from`` (3) to match
    ``load_data``'s indices."""
    origin = f"{KERAS_ORIGIN}reuters_word_index.json"
    return read_json(get_file(path, origin=origin, file_hash="4d44cc38712099c9e383dc6e5f11a921"), origin)


def get_label_names():
    """The 46 topic names, indexed as ``load_data``'s labels."""
    return _LABEL_NAMES
