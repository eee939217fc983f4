"""TextVectorization: strings to token ids or token vectors, with a vocabulary given or adapted.

Each string goes through ``standardize`` (Keras's ``tf.strings.lower`` changes ASCII letters only,
and "strip_punctuation" removes the 32 ASCII punctuation characters), ``split`` (on ASCII whitespace
runs, as ``tf.strings.split``; or into characters) and ``ngrams`` (all n-grams of each width, joined by
a space, widths in order), then an inner ``StringLookup`` (mask ``""`` = id 0, OOV "[UNK]" = id 1).
Custom ``standardize`` callables receive a NumPy ``str`` array and return one like it (as Keras gives
them on its non-TensorFlow backends); ``split`` callables receive a 1-D NumPy ``str`` array and return
one token list per string. Register them (``lamina.saving.register_serializable``) to save the layer.
"""

import re
import string

import numpy as np
import torch

from lamina.dtypes import STRING
from lamina.layers.preprocessing.base import PreprocessingLayer, to_string_array
from lamina.layers.preprocessing.encoding import check_not_sparse, check_output_mode
from lamina.layers.preprocessing.index_lookup import listify
from lamina.layers.preprocessing.string_lookup import StringLookup
from lamina.ops.arguments import is_int
from lamina.registry import register_builtin
from lamina.serialization import deserialize_keras_object

_STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
_SPLIT = ("whitespace", "character")
_LOWER = {ord(c): c.lower() for c in string.ascii_uppercase}
_STRIP = {ord(c): None for c in string.punctuation}
_TRANSLATIONS = {"lower": _LOWER, "strip_punctuation": _STRIP, "lower_and_strip_punctuation": {**_LOWER, **_STRIP}}
_ASCII_WHITESPACE = re.compile("[ \t\n\r\x0b\x0c]+")


def _split_whitespace(text):
    return [token for token in _ASCII_WHITESPACE.split(text) if token]


def _ngrams(tokens, widths):
    return [" ".join(tokens[i:i + width]) for width in widths for i in range(len(tokens) - width + 1)]


def _check_choice(value, allowed, arg_name):
    if value is None or callable(value) or value in allowed:
        return value
    raise ValueError(f"TextVectorization: the `{arg_name}` argument must be None, a callable or one of {allowed}. "
                     f"Received: {arg_name}={value!r}")


@register_builtin("keras.layers")
class TextVectorization(PreprocessingLayer):
    """Turns strings into token ids (``output_mode="int"``) or per-string token vectors.

    Args:
        max_tokens: the largest vocabulary ``adapt`` keeps (mask and OOV ids included).
        standardize: "lower_and_strip_punctuation" (default), "lower", "strip_punctuation", None or a callable.
        split: "whitespace" (default), "character", None (each string is one token) or a callable.
        ngrams: None, an int n (all widths 1..n) or a tuple of widths.
        output_mode: "int" (ids, padded with 0), "multi_hot", "count" or "tf_idf" (vectors of
            ``vocabulary_size()`` ids, ``max_tokens`` with ``pad_to_max_tokens``), or "one_hot" (with
            ``split=None``).
        output_sequence_length: "int" mode: pad or truncate every row to this many ids (default: the
            longest row of the batch).
        vocabulary, idf_weights: a vocabulary (list or file path) and, for "tf_idf", its idf weights.
        sparse, ragged: not supported (dense torch tensors only).
        encoding: the encoding of ``bytes`` inputs.

    Input: strings of shape ``(batch,)`` or ``(batch, 1)`` (NumPy arrays or lists). Output:
    ``(batch, output_sequence_length)`` int64 ids, or ``(batch, depth)`` floats.

    >>> layer = TextVectorization(output_sequence_length=4)
    >>> layer.adapt(["The cat sat.", "The dog!"])
    >>> layer(["the dog sat down"])
    tensor([[2, 4, 3, 1]])
    """

    input_dtype_default = STRING

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation", split="whitespace", ngrams=None,
                 output_mode="int", output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8", name=None, **kwargs):
        self._standardize = _check_choice(standardize, _STANDARDIZE, "standardize")
        self._split = _check_choice(split, _SPLIT, "split")
        output_mode = check_output_mode(output_mode, "TextVectorization",
                                        ("int", "one_hot", "multi_hot", "count", "tf_idf"))
        if not (ngrams is None or is_int(ngrams) or isinstance(ngrams, tuple) and all(is_int(n) for n in ngrams)):
            raise ValueError(f"TextVectorization: `ngrams` must be None, an int or a tuple of ints. Received: "
                             f"ngrams={ngrams!r}")
        if output_sequence_length is not None and (output_mode != "int" or not is_int(output_sequence_length)):
            raise ValueError("TextVectorization: `output_sequence_length` must be None or an int, and is only used "
                             f"with output_mode='int'. Received: output_sequence_length={output_sequence_length!r}, "
                             f"output_mode={output_mode!r}")
        if output_mode == "one_hot" and split is not None:
            raise ValueError("TextVectorization: output_mode='one_hot' encodes one token per string: it needs "
                             "split=None (use 'multi_hot' or 'count' for split strings).")
        check_not_sparse(sparse, "TextVectorization")
        if ragged:
            raise ValueError("TextVectorization: `ragged=True` is not supported (torch has no ragged tensors; Keras "
                             "supports it on its TensorFlow backend only). Use output_sequence_length or padding.")
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        vocabulary_size = kwargs.pop("vocabulary_size", None)
        super().__init__(name=name, **kwargs)
        self._ngrams_arg = ngrams
        self._ngrams = tuple(range(1, ngrams + 1)) if is_int(ngrams) else ngrams
        self._output_mode = output_mode
        self._output_sequence_length = output_sequence_length
        self._encoding = encoding
        self._lookup_layer = StringLookup(max_tokens=max_tokens, vocabulary=vocabulary, idf_weights=idf_weights,
                                          pad_to_max_tokens=pad_to_max_tokens, mask_token="", output_mode=output_mode,
                                          has_input_vocabulary=has_input_vocabulary, encoding=encoding,
                                          vocabulary_size=vocabulary_size)

    # ------------------------------------------------------------------ vocabulary
    @property
    def is_adapted(self):
        return self._lookup_layer.is_adapted

    def get_vocabulary(self, include_special_tokens=True):
        """The token of each id ("" and "[UNK]" first unless ``include_special_tokens=False``)."""
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self):
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Sets the vocabulary (a list or a file path) and, for "tf_idf", the idf weights."""
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights=idf_weights)

    # ------------------------------------------------------------------ text to tokens
    def _standardized(self, inputs):
        array = to_string_array(inputs, f"TextVectorization '{self.name}'", self._encoding)
        if callable(self._standardize):
            return to_string_array(np.asarray(self._standardize(array)), f"TextVectorization '{self.name}' standardize")
        if self._standardize is None:
            return array
        table = _TRANSLATIONS[self._standardize]
        flat = [text.translate(table) for text in array.ravel().tolist()]
        return np.array(flat, dtype=str).reshape(array.shape) if flat else array

    def _tokens(self, inputs):
        """A list of token lists (one per string), or with ``split=None`` the standardized array."""
        array = self._standardized(inputs)
        if self._split is None:
            if self._ngrams is None:
                return array
            return [_ngrams(row, self._ngrams) for row in array.reshape(len(array), -1).tolist()]
        if array.ndim > 1:
            if array.shape[-1] != 1:
                raise ValueError(f"TextVectorization '{self.name}': to split strings the input must be of rank 1 or "
                                 f"have a last dimension of 1. Received shape {array.shape}.")
            array = array.reshape(array.shape[:-1])
        if self._split == "whitespace":
            rows = [_split_whitespace(text) for text in array.ravel().tolist()]
        elif self._split == "character":
            rows = [list(text) for text in array.ravel().tolist()]
        else:
            rows = [[str(token) for token in row] for row in self._split(array.ravel())]
        return rows if self._ngrams is None else [_ngrams(row, self._ngrams) for row in rows]

    # ------------------------------------------------------------------ adapt
    def _adapt_array(self, array):
        array = to_string_array(array, f"TextVectorization '{self.name}'", self._encoding)
        return array.reshape(-1, 1) if array.ndim == 1 else array

    def reset_state(self):
        self._lookup_layer.reset_state()

    def update_state(self, data):
        self._lookup_layer.update_state(self._tokens(data))

    def finalize_state(self):
        self._lookup_layer.finalize_state()

    # ------------------------------------------------------------------ call
    def call(self, inputs):
        tokens = self._tokens(inputs)
        if isinstance(tokens, np.ndarray):  # split=None: one token per string, the input's shape
            ids = self._lookup_layer(tokens)
            if self._output_mode != "int" or self._output_sequence_length is None:
                return ids
            ids = ids[..., :self._output_sequence_length]
            return torch.nn.functional.pad(ids, (0, self._output_sequence_length - ids.shape[-1]))
        lengths = np.fromiter((len(row) for row in tokens), dtype=np.int64, count=len(tokens))
        flat = np.array([token for row in tokens for token in row], dtype=str)
        lookup = self._lookup_layer
        flat_ids = lookup.ids_of(flat)
        width = self._output_sequence_length if self._output_mode == "int" and \
            self._output_sequence_length is not None else int(lengths.max(initial=0))
        rows = np.repeat(np.arange(len(tokens)), lengths)
        columns = np.arange(flat.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        keep = torch.from_numpy(columns < width)
        padding = 0 if self._output_mode == "int" else -1  # -1: no id, for the vector modes
        ids = torch.full((len(tokens), width), padding, dtype=torch.int64, device=flat_ids.device)
        ids[torch.from_numpy(rows)[keep], torch.from_numpy(columns)[keep]] = flat_ids[keep.to(flat_ids.device)]
        return ids if self._output_mode == "int" else lookup.encode_ids(ids)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if self._output_mode == "int":
            return (input_shape[0], self._output_sequence_length)
        if self._split is not None:
            input_shape = (input_shape[:-1] if len(input_shape) > 1 and input_shape[-1] == 1 else input_shape) + \
                (None,)
        elif len(input_shape) <= 1:
            input_shape += (1,)
        return self._lookup_layer.compute_output_shape(input_shape)

    def _output_dtype(self):
        return "int64" if self._output_mode == "int" else "float32"

    # ------------------------------------------------------------------ config
    def get_config(self):
        lookup = self._lookup_layer
        return {**super().get_config(), "max_tokens": lookup.max_tokens, "standardize": self._standardize,
                "split": self._split, "ngrams": self._ngrams_arg, "output_mode": self._output_mode,
                "output_sequence_length": self._output_sequence_length, "pad_to_max_tokens": lookup.pad_to_max_tokens,
                "sparse": False, "ragged": False, "vocabulary": listify(lookup.input_vocabulary),
                "idf_weights": listify(lookup.input_idf_weights), "encoding": self._encoding,
                "vocabulary_size": self.vocabulary_size()}

    @classmethod
    def from_config(cls, config, safe_mode=None):
        config = dict(config)
        if isinstance(config.get("vocabulary"), str) and safe_mode is not False:
            raise ValueError(f"TextVectorization: the config names a vocabulary file outside the model file "
                             f"({config['vocabulary']!r}); it is refused unless you pass `safe_mode=False`.")
        for key in ("standardize", "split"):
            if config.get(key) is not None and not isinstance(config[key], str):
                config[key] = deserialize_keras_object(config[key], printable_module_name="function")
        if isinstance(config.get("ngrams"), list):
            config["ngrams"] = tuple(config["ngrams"])
        return cls(**config)

    def save_own_variables(self, store):
        self._lookup_layer.save_own_variables(store)

    def load_own_variables(self, store):
        self._lookup_layer.load_own_variables(store)

    def save_assets(self, dir_path):
        self._lookup_layer.save_assets(dir_path)

    def load_assets(self, dir_path):
        self._lookup_layer.load_assets(dir_path)
