"""Discretization: continuous values to bucket ids, with boundaries given or learned by ``adapt``.

``adapt`` learns ``num_bins`` quantile boundaries with Keras's streaming summary: each batch is
reduced to about ``1 / epsilon`` weighted points, summaries are merged and compressed by
interpolating cumulative weights, and the final summary is compressed to ``num_bins`` points.
The arithmetic follows Keras's step by step so the learned boundaries are the same numbers.
"""

import numpy as np
import torch

from lamina.dtypes import TORCH_DTYPES
from lamina.layers.preprocessing.base import PreprocessingLayer
from lamina.layers.preprocessing.encoding import check_not_sparse, check_output_mode, encode, encoded_shape
from lamina.registry import register_builtin


def _empty_summary():
    return np.zeros((2, 0), dtype="float32")


def _summarize(values, epsilon):
    """A (2, n) summary of ``values``: every ``step``-th sorted value and its weight ``step``."""
    values = np.sort(np.reshape(values, [-1]))
    step = max(values.size / (1.0 / epsilon), 1)  # written as Keras writes it: the rounding decides `int(step)`
    kept = values[int(step - 1)::int(step)]
    return np.stack([kept, np.ones_like(kept) * step])


def _compress(summary, epsilon):
    """``summary`` reduced to ``1 / epsilon`` points at evenly spaced cumulative-weight quantiles."""
    if summary.shape[1] * epsilon < 1:
        return summary
    quantiles = epsilon + np.arange(0.0, 1.0, epsilon)
    cumulative = summary[1].cumsum()
    fractions = cumulative / cumulative[-1]
    points = np.interp(quantiles, fractions, summary[0])
    cumulative = np.interp(quantiles, fractions, cumulative)
    weights = cumulative - np.concatenate((np.array([0]), cumulative[:-1]))
    return np.stack((points, weights)).astype("float32")


def _merge(first, second, epsilon):
    merged = np.concatenate((first, second), axis=1)
    return _compress(np.take(merged, np.argsort(merged[0]), axis=1), epsilon)


@register_builtin("keras.layers")
class Discretization(PreprocessingLayer):
    """Buckets values by ranges: with boundaries ``[b0, b1, ...]`` the buckets are ``(-inf, b0)``,
    ``[b0, b1)``, ..., ``[b_last, inf)``, numbered from 0.

    Args:
        bin_boundaries: the sorted boundaries (then ``adapt`` is not used).
        num_bins: the number of buckets ``adapt`` learns from quantiles of the data.
        epsilon: the quantile approximation's error tolerance (smaller: more exact, more memory).
        output_mode: ``"int"`` (bucket ids, int32), ``"one_hot"``, ``"multi_hot"`` or ``"count"``
            (see ``CategoryEncoding``), over ``len(bin_boundaries) + 1`` buckets.
        sparse: not supported.

    Input shape: any. Output shape: the input shape (``int``), else encoded as ``CategoryEncoding``.

    >>> Discretization(bin_boundaries=[0., 1., 2.])([[-1.5, 1.0, 3.4, .5], [0.0, 3.0, 1.3, 0.0]])
    tensor([[0, 2, 3, 1], [1, 3, 2, 1]], dtype=torch.int32)
    """

    _adapt_lists_are_data = False

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int", sparse=False,
                 dtype=None, name=None):
        super().__init__(dtype=dtype, name=name)
        check_not_sparse(sparse, "Discretization")
        self.output_mode = check_output_mode(output_mode, "Discretization")
        if num_bins is not None and (isinstance(num_bins, bool) or not isinstance(num_bins, int) or num_bins < 0):
            raise ValueError(f"Discretization: `num_bins` must be an int >= 0. Received: num_bins={num_bins!r}")
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError("Discretization: set `num_bins` or `bin_boundaries`, not both. Received: "
                             f"num_bins={num_bins} and bin_boundaries={bin_boundaries}")
        if num_bins is None and bin_boundaries is None:
            raise ValueError("Discretization: you need to set either `num_bins` or `bin_boundaries`.")
        if not 0 < epsilon < 1:
            raise ValueError(f"Discretization: `epsilon` must be in (0, 1). Received: epsilon={epsilon!r}")
        self.num_bins = num_bins
        self.epsilon = epsilon
        self.sparse = False
        self._compute_torch_dtype = TORCH_DTYPES[self.compute_dtype]
        self.register_buffer("_boundaries", torch.zeros(0, dtype=self._compute_torch_dtype), persistent=False)
        self._set_boundaries(bin_boundaries)
        self.reset_state()

    def _set_boundaries(self, boundaries):
        self.bin_boundaries = boundaries
        if boundaries is not None:
            values = torch.as_tensor(np.asarray(boundaries, dtype="float64"), dtype=self._compute_torch_dtype)
            if values.numel() > 1 and bool((values[1:] < values[:-1]).any()):
                raise ValueError(f"Discretization: `bin_boundaries` must be sorted. Received: {boundaries}")
            self._boundaries = values.to(self._boundaries.device)
            self._is_adapted = True

    # ------------------------------------------------------------------ adapt
    def adapt(self, data, batch_size=None, steps=None):
        """Learns ``num_bins`` quantile boundaries from ``data`` (an array, or an iterable of batches)."""
        if self.num_bins is None:
            raise ValueError(f"Discretization '{self.name}' was built with `bin_boundaries`: it cannot be adapted "
                             "(use `num_bins` instead).")
        super().adapt(data, batch_size=batch_size, steps=steps)

    def reset_state(self):
        self._summary = _empty_summary()

    def update_state(self, data):
        values = data.detach().cpu().numpy() if isinstance(data, torch.Tensor) else np.array(data)
        self._summary = _merge(_summarize(values.astype("float32"), self.epsilon), self._summary, self.epsilon)

    def finalize_state(self):
        self._set_boundaries(_compress(self._summary, 1.0 / self.num_bins)[0, :-1].tolist())

    def get_extra_state(self):
        """The learned boundaries, for ``state_dict`` (the config holds them too, as Keras's)."""
        return {"bin_boundaries": self.bin_boundaries}

    def set_extra_state(self, state):
        self._set_boundaries(state["bin_boundaries"])

    # ------------------------------------------------------------------ call
    def _depth(self):
        return len(self.bin_boundaries) + 1 if self.bin_boundaries is not None else self.num_bins

    def call(self, inputs):
        if self.bin_boundaries is None:
            raise ValueError(f"Discretization '{self.name}': pass `bin_boundaries` or call `adapt(data)` before "
                             "using the layer.")
        if inputs.dtype is not self._compute_torch_dtype:
            inputs = inputs.to(self._compute_torch_dtype)
        ids = torch.bucketize(inputs, self._boundaries, right=True)
        if self.output_mode == "int":
            return ids.to(torch.int32)
        return encode(ids, self.output_mode, self._depth(), self._compute_torch_dtype)

    def _output_dtype(self):
        return "int32" if self.output_mode == "int" else self.compute_dtype

    def compute_output_shape(self, input_shape):
        return encoded_shape(input_shape, self.output_mode, self._depth())

    def get_config(self):
        return {"bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins, "epsilon": self.epsilon,
                "output_mode": self.output_mode, "sparse": self.sparse, "name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        boundaries = config.pop("bin_boundaries", None) if config.get("num_bins") is not None else None
        config.pop("trainable", None)
        layer = cls(**config)
        if boundaries is not None:  # an adapted layer: num_bins and the boundaries it learned
            layer._set_boundaries(boundaries)
        return layer
