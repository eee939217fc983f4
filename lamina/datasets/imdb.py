"""IMDB movie reviews labelled by sentiment: ``(x_train, y_train), (x_test, y_test)``.

``x_train`` and ``x_test`` are object arrays of 25,000 reviews each, every review a list of int word
indices (1 = ``start_char``, 2 = ``oov_char``, words from ``index_from``, ranked by frequency; 0 is never
used, it pads); ``y_train``/``y_test`` int ``(25000,)`` labels, 1 positive, 0 negative (fewer samples with
``maxlen``). Read from ``$KERAS_HOME/datasets/imdb.npz``, whose ragged arrays are read by the numpy-only
unpickler; ``get_word_index`` reads ``imdb_word_index.json``.
"""

import numpy as np

from lamina.datasets._loading import KERAS_ORIGIN, drop_long, limit_vocabulary, mark, read_json, read_npz, shuffled
from lamina.utils.file_utils import get_file


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2,
              index_from=3, **kwargs):
    """The IMDB sequences, as ``keras.datasets.imdb.load_data`` (other keyword arguments are ignored, as
    in Keras).

    Train and test are shuffled with one ``RandomState(seed)``, train first. Each review gets
    ``start_char`` first and every word index ``+ index_from``; ``maxlen`` drops (does not cut) the
    reviews of ``maxlen`` words or more; words outside ``[skip_top, num_words)`` become ``oov_char``
    (dropped when it is None).
    """
    origin = f"{KERAS_ORIGIN}imdb.npz"
    path = get_file(fname=path, origin=origin,
                    file_hash="69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f")
    x_train, labels_train, x_test, labels_test = read_npz(path, origin, ("x_train", "y_train", "x_test", "y_test"),
                                                          objects=True)
    rng = np.random.RandomState(seed)
    x_train, labels_train = shuffled(rng, x_train, labels_train)
    x_test, labels_test = shuffled(rng, x_test, labels_test)
    x_train, x_test = mark(x_train, start_char, index_from), mark(x_test, start_char, index_from)
    if maxlen:
        x_train, labels_train = drop_long(maxlen, x_train, labels_train)
        x_test, labels_test = drop_long(maxlen, x_test, labels_test)
        if not x_train or not x_test:
            raise ValueError(f"After filtering for sequences shorter than maxlen={maxlen}, no sequence was kept. "
                             "Increase maxlen.")
    xs = limit_vocabulary(x_train + x_test, num_words, skip_top, oov_char)
    labels = np.concatenate([labels_train, labels_test])
    cut = len(x_train)
    return (np.array(xs[:cut], dtype="object"), labels[:cut]), (np.array(xs[cut:], dtype="object"), labels[cut:])


def get_word_index(path="imdb_word_index.json"):
    """The dict word -> rank (1 = most frequent) of the IMDB reviews; add ``index_from`` to match
    ``load_data``'s indices."""
    origin = f"{KERAS_ORIGIN}imdb_word_index.json"
    return read_json(get_file(fname=path, origin=origin, file_hash="bfafd718b763782e994055a2d397834f"), origin)
