"""IndexLookup: the shared base of StringLookup and IntegerLookup (Keras's ``IndexLookup`` contract).

Ids: with a mask token (and ``output_mode="int"``) id 0 is the mask, then ``num_oov_indices`` OOV
ids, then the vocabulary in order. ``adapt`` counts tokens and keeps the most frequent ones, ties
broken by the token, highest first (Keras's order); ``output_mode="tf_idf"`` also counts the
documents (rows) each token occurs in: ``idf = log(1 + documents / (1 + document count))``, with
the OOV ids weighted by the mean idf.

Subclasses hold the table: ``_set_table()`` builds it from ``self._tokens``; ``_lookup(inputs)`` gives
``(ids, masked, source)``: int64 ids (``-1`` for tokens not in the vocabulary), where the mask token
was (or None), and the inputs as the subclass reads them, from which ``_oov_ids(source, missing)``
hashes the OOV ids and ``_missing_tokens(source, missing)`` lists them; ``_invert(ids)`` gives tokens.
``_tokens_of(values)`` and ``_input_array(data)`` read tokens in the vocabulary's type.

Saved state, as Keras saves it: a vocabulary given as a list is in the config; an adapted (or file)
vocabulary is written by ``save_assets`` (``vocabulary.txt``, Keras's asset) and the TF-IDF weights by
``save_own_variables`` (``"idf_weights"``). ``state_dict()`` and the ``.lamina`` file carry both as the
module's extra state.
"""

import collections
import itertools
import math
import os

import numpy as np
import torch

from lamina.layers.preprocessing.base import PreprocessingLayer
from lamina.layers.preprocessing.encoding import check_not_sparse, check_output_mode, encode, encoded_shape
from lamina.layers.preprocessing.hashing import check_salt
from lamina.ops.arguments import check_int

_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


class VocabularyStateError(RuntimeError, ValueError):
    """The vocabulary is missing or changed size where ``output_mode`` fixes it.

    A ``RuntimeError`` as Keras raises it, and a ``ValueError`` so code that catches bad-input errors catches it.
    """


def listify(value):
    """Arrays and tensors as lists, for configs."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return value.tolist() if isinstance(value, np.ndarray) else value


class IndexLookup(PreprocessingLayer):
    """Maps tokens to ids (or back, with ``invert=True``); see the module docstring."""

    def __init__(self, max_tokens, num_oov_indices, mask_token, oov_token, vocabulary=None, idf_weights=None,
                 invert=False, output_mode="int", sparse=False, pad_to_max_tokens=False, oov_method="floormod",
                 salt=None, name=None, **kwargs):
        owner = type(self).__name__
        if max_tokens is not None and check_int(max_tokens, "max_tokens", owner) <= 1:
            raise ValueError(f"{owner}: if set, `max_tokens` must be greater than 1. Received: max_tokens={max_tokens}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"{owner}: with pad_to_max_tokens=True, `max_tokens` must be set. Received: "
                             f"max_tokens={max_tokens}")
        check_int(num_oov_indices, "num_oov_indices", owner, minimum=0)
        if oov_method not in ("floormod", "farmhash"):
            raise ValueError(f"{owner}: the `oov_method` argument must be 'floormod' or 'farmhash'. Received: "
                             f"oov_method={oov_method!r}")
        output_mode = check_output_mode(output_mode, owner, _MODES)
        if invert and output_mode != "int":
            raise ValueError(f"{owner}: `output_mode` must be 'int' when `invert` is true. Received: "
                             f"output_mode={output_mode!r}")
        check_not_sparse(sparse, owner)
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"{owner}: `idf_weights` should only be set if `output_mode` is 'tf_idf'. Received: "
                             f"output_mode={output_mode!r}")
        self._frozen_vocab_size = kwargs.pop("vocabulary_size", None)
        self._has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        kwargs.pop("dtype", None)  # Keras ignores both: the ids are int64, the vocabulary is its own dtype
        kwargs.pop("trainable", None)
        super().__init__(name=name, **kwargs)
        self.invert = bool(invert)
        self.max_tokens = max_tokens
        self.num_oov_indices = int(num_oov_indices)
        self.mask_token = mask_token
        self.oov_token = oov_token
        self.output_mode = output_mode
        self.sparse = False
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self.oov_method = oov_method
        self.salt = check_salt(salt, owner)
        self.input_vocabulary = None if isinstance(vocabulary, (str, os.PathLike)) else vocabulary
        self.input_idf_weights = idf_weights
        if output_mode == "tf_idf" and self._has_input_vocabulary and idf_weights is None:
            raise ValueError(f"{owner}: with a `vocabulary` in output_mode='tf_idf', the `idf_weights` argument must "
                             "also be provided.")
        self._tokens = []
        self.register_buffer("idf_weights", None, persistent=False)
        self.register_buffer("_device_anchor", torch.zeros(0), persistent=False)  # follows .to(): output device
        self._set_table()
        self.reset_state()
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # ------------------------------------------------------------------ indices
    def _oov_start_index(self):
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self):
        return self._oov_start_index() + self.num_oov_indices

    def vocabulary_size(self):
        """The number of ids: the vocabulary plus the mask and OOV ids."""
        return len(self._tokens) + self._token_start_index()

    def get_vocabulary(self, include_special_tokens=True):
        """The token of each id (with the mask and OOV tokens unless ``include_special_tokens=False``)."""
        vocabulary = [self.oov_token] * self._token_start_index() + list(self._tokens)
        if self.mask_token is not None and self.output_mode == "int":
            vocabulary[0] = self.mask_token
        return vocabulary if include_special_tokens else vocabulary[self._token_start_index():]

    def _depth(self):
        return self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size

    # ------------------------------------------------------------------ vocabulary
    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Sets the vocabulary (a list/array/tensor of tokens, or the path of a file with one token per
        line) and, for ``tf_idf``, its idf weights; replaces any vocabulary already there."""
        owner = f"{type(self).__name__} '{self.name}'"
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError(f"{owner}: `idf_weights` must be set if output_mode is 'tf_idf'.")
        if self.output_mode != "tf_idf" and idf_weights is not None:
            raise ValueError(f"{owner}: `idf_weights` should only be set if output_mode is 'tf_idf'. Received: "
                             f"output_mode={self.output_mode!r}")
        if isinstance(vocabulary, (str, os.PathLike)):
            if self.output_mode == "tf_idf":
                raise ValueError(f"{owner}: output_mode 'tf_idf' does not support loading a vocabulary from a file.")
            self._set_tokens(self._read_vocabulary_file(os.fspath(vocabulary)), None)
            return
        vocabulary = listify(vocabulary)
        if not isinstance(vocabulary, (list, tuple)):
            raise TypeError(f"{owner}: the `vocabulary` argument must be a list, array or tensor of tokens, or the path "
                            f"of a vocabulary file. Received: vocabulary={vocabulary!r}")
        vocabulary = self._tokens_of(vocabulary)
        if not vocabulary:
            raise ValueError(f"{owner}: cannot set an empty vocabulary. Received: vocabulary={vocabulary}")
        token_start = self._token_start_index()
        special = [self.mask_token] * self._oov_start_index() + [self.oov_token] * self.num_oov_indices
        found_special = vocabulary[:token_start] == special
        tokens = vocabulary[token_start:] if found_special else vocabulary
        repeated = [token for token, count in collections.Counter(tokens).items() if count > 1]
        if repeated:
            raise ValueError(f"{owner}: the vocabulary has repeated terms {repeated}. Please uniquify it.")
        for reserved, what, applies in ((self.mask_token, "mask", True), (self.oov_token, "OOV", self.invert)):
            if applies and reserved is not None and reserved in tokens:
                raise ValueError(f"{owner}: found the reserved {what} token {reserved!r} at vocabulary index "
                                 f"{vocabulary.index(reserved)}. The vocabulary need not include the mask and OOV "
                                 f"tokens; include them only at the start, in this order: {special}.")
        if self.max_tokens is not None and token_start + len(tokens) > self.max_tokens:
            raise ValueError(f"{owner}: attempted to set a vocabulary of size {token_start + len(tokens)}, larger than "
                             f"max_tokens={self.max_tokens}.")
        weights = None
        if idf_weights is not None:
            weights = np.asarray(listify(idf_weights), dtype="float64")
            if weights.ndim != 1 or len(weights) != len(vocabulary):
                raise ValueError(f"{owner}: `idf_weights` must be a 1-D array as long as the vocabulary ("
                                 f"{len(vocabulary)}). Received shape {weights.shape}.")
            weights = np.pad(weights, (0 if found_special else token_start, 0),
                             constant_values=0 if found_special else np.average(weights))
        self._set_tokens(tokens, weights)

    def _read_vocabulary_file(self, path):
        if not os.path.isfile(path):
            raise ValueError(f"{type(self).__name__} '{self.name}': vocabulary file {path} does not exist.")
        with open(path, encoding="utf-8", newline="") as handle:
            lines = handle.read().split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return self._tokens_of(lines)

    def _set_tokens(self, tokens, idf_weights):
        """Installs ``tokens`` (ids from the token start on) and the idf weights (full length, float)."""
        self._tokens = list(tokens)
        self._set_table()
        if idf_weights is not None:
            weights = np.asarray(idf_weights, dtype="float32")
            if self.pad_to_max_tokens and self.max_tokens is not None and len(weights) < self.max_tokens:
                weights = np.pad(weights, (0, self.max_tokens - len(weights)))
            self.idf_weights = torch.from_numpy(weights).to(self._device_anchor.device)
        self._record_vocabulary_size()
        self._is_adapted = True

    def _record_vocabulary_size(self):
        size = self.vocabulary_size()
        if self.output_mode != "int" and not self.pad_to_max_tokens and self._frozen_vocab_size is not None \
                and size != self._frozen_vocab_size:
            raise VocabularyStateError(
                f"{type(self).__name__} '{self.name}': with output_mode={self.output_mode!r} and "
                "pad_to_max_tokens=False, the vocabulary size cannot change once set. Old vocabulary size is "
                f"{self._frozen_vocab_size}, new vocabulary size is {size}.")
        self._frozen_vocab_size = size

    # ------------------------------------------------------------------ adapt
    def _adapt_array(self, array):
        array = self._input_array(array)
        return array.reshape(-1, 1) if array.ndim == 1 else array

    def reset_state(self):
        self._token_counts = collections.Counter()
        self._document_counts = collections.Counter()
        self._num_documents = 0

    def update_state(self, data):
        """Counts the tokens of a batch: an array (rows are documents) or a list of token lists."""
        if self._has_input_vocabulary:
            raise ValueError(f"Cannot adapt layer '{self.name}' after setting a static vocabulary via the "
                             "`vocabulary` argument.")
        if isinstance(data, list) and all(isinstance(row, (list, tuple)) for row in data):
            rows = [self._tokens_of(row) for row in data]
            self._token_counts.update(itertools.chain.from_iterable(rows))
        else:
            array = self._input_array(data)
            array = array.reshape(1, -1) if array.ndim < 2 else array.reshape(array.shape[0], -1)
            self._token_counts.update(array.ravel().tolist())  # Counter counts a flat list in C
            rows = array.tolist() if self.output_mode == "tf_idf" else ()
        if self.output_mode == "tf_idf":
            for row in rows:
                self._document_counts.update(set(row))
            self._num_documents += len(rows)

    def finalize_state(self):
        if self._has_input_vocabulary or not self._token_counts:
            self._record_vocabulary_size()
            return
        for special in (self.mask_token, self.oov_token):
            self._token_counts.pop(special, None)
        ranked = sorted(self._token_counts.items(), key=lambda item: (item[1], item[0]), reverse=True)
        if self.max_tokens:
            ranked = ranked[:self.max_tokens - self._token_start_index()]
        tokens = [token for token, _ in ranked]
        weights = None
        if self.output_mode == "tf_idf":
            idf = np.array([math.log(1 + self._num_documents / (1 + self._document_counts[t])) for t in tokens],
                           dtype="float32")
            weights = np.pad(idf, (self._token_start_index(), 0), constant_values=idf.mean(dtype="float32"))
        self._set_tokens(tokens, weights)
        self.reset_state()

    # ------------------------------------------------------------------ saving
    def get_extra_state(self):
        """The vocabulary and idf weights, for ``state_dict()`` and the ``.lamina`` file."""
        weights = None if self.idf_weights is None else self.idf_weights.cpu().tolist()
        return {"tokens": list(self._tokens), "idf_weights": weights, "vocabulary_size": self._frozen_vocab_size}

    def set_extra_state(self, state):
        self._frozen_vocab_size = state.get("vocabulary_size", self._frozen_vocab_size)
        if state["tokens"] or state["idf_weights"] is not None:
            self._set_tokens(self._tokens_of(state["tokens"]), state["idf_weights"])

    def save_own_variables(self, store):
        """Keras's variable store: the idf weights (``tf_idf`` only)."""
        if self.output_mode == "tf_idf" and self.idf_weights is not None:
            store["idf_weights"] = self.idf_weights.cpu().numpy()

    def load_own_variables(self, store):
        if self.output_mode == "tf_idf" and "idf_weights" in store:
            self.idf_weights = torch.as_tensor(np.asarray(store["idf_weights"]), dtype=torch.float32,
                                               device=self._device_anchor.device)

    def save_assets(self, dir_path):
        """Writes an adapted (or file) vocabulary as Keras does: ``vocabulary.txt``, special tokens first."""
        if self.input_vocabulary is not None:
            return
        with open(os.path.join(dir_path, "vocabulary.txt"), "w", encoding="utf-8") as handle:
            handle.write("\n".join(str(token) for token in self.get_vocabulary(include_special_tokens=True)))

    def load_assets(self, dir_path):
        if self.input_vocabulary is not None:
            return
        with open(os.path.join(dir_path, "vocabulary.txt"), encoding="utf-8", newline="") as handle:
            lines = handle.read().split("\n")  # as written; not splitlines(), which also splits at "\x1c" etc.
        weights = None
        if self.output_mode == "tf_idf" and self.idf_weights is not None:
            weights = self.idf_weights.cpu().numpy()[:len(lines)]  # padded to max_tokens when saved
        self.set_vocabulary(self._tokens_of(lines), idf_weights=weights)

    # ------------------------------------------------------------------ call
    def call(self, inputs):
        if self.invert:
            return self._invert(inputs)
        if self.output_mode == "int":
            return self.ids_of(inputs)
        return self.encode_ids(self.ids_of(inputs))

    def ids_of(self, inputs):
        """The int64 ids of ``inputs`` (whatever ``output_mode`` encodes them into)."""
        return self._resolve(*self._lookup(inputs))

    def encode_ids(self, ids):
        """``ids`` as ``output_mode`` vectors (ids outside ``[0, depth)`` count for nothing)."""
        if self._depth() is None:
            raise VocabularyStateError(
                f"{type(self).__name__} '{self.name}': with output_mode={self.output_mode!r} and "
                "pad_to_max_tokens=False, set the vocabulary before calling the layer: pass a `vocabulary` "
                "argument or call `adapt` with some data.")
        return encode(ids, "count" if self.output_mode == "tf_idf" else self.output_mode, self._depth(),
                      torch.float32, idf_weights=self.idf_weights)

    def _resolve(self, ids, masked, source):
        """Ids with the mask token's positions and the OOV tokens resolved (see the module docstring)."""
        if masked is not None:
            ids = torch.where(masked, torch.zeros_like(ids) if self.output_mode == "int" else torch.full_like(
                ids, torch.iinfo(torch.int64).max), ids)  # a non-int mode drops the mask: an id past every depth
        if self.num_oov_indices == 1:
            return torch.where(ids == -1, torch.full_like(ids, self._oov_start_index()), ids)
        missing = ids == -1
        if self.num_oov_indices == 0:
            if bool(missing.any()):
                raise ValueError(f"{type(self).__name__} '{self.name}': when `num_oov_indices=0` all inputs should be "
                                 f"in the vocabulary; found OOV values {self._missing_tokens(source, missing)}. "
                                 "Consider setting `num_oov_indices=1`.")
            return ids
        return torch.where(missing, self._oov_ids(source, missing) + self._oov_start_index(), ids)

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        return encoded_shape(input_shape, self.output_mode, self._depth())

    def _output_dtype(self):
        if self.invert:
            return self._vocabulary_dtype
        return "int64" if self.output_mode == "int" else "float32"

    def get_config(self):
        return {**super().get_config(), "invert": self.invert, "max_tokens": self.max_tokens,
                "num_oov_indices": self.num_oov_indices, "oov_token": self.oov_token, "mask_token": self.mask_token,
                "output_mode": self.output_mode, "sparse": self.sparse, "pad_to_max_tokens": self.pad_to_max_tokens,
                "vocabulary_dtype": self._vocabulary_dtype, "idf_weights": listify(self.input_idf_weights),
                "vocabulary": listify(self.input_vocabulary), "vocabulary_size": self._frozen_vocab_size,
                "oov_method": self.oov_method, "salt": self.salt}

    @classmethod
    def from_config(cls, config, safe_mode=None):
        if isinstance(config.get("vocabulary"), str) and safe_mode is not False:
            raise ValueError(f"{cls.__name__}: the config names a vocabulary file outside the model file "
                             f"({config['vocabulary']!r}); loading it could read arbitrary files, so it is refused "
                             "unless you trust the source and pass `safe_mode=False`.")
        return cls(**config)
