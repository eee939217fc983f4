"""``timeseries_dataset_from_array``: sliding windows over an array, batched as torch tensors."""

import numpy as np
import torch

from lamina.utils.dataset_utils import BatchedDataset


class TimeseriesDataset(BatchedDataset):
    """Windows ``data[start + p : start + p + sequence_length * sampling_rate : sampling_rate]`` for each
    start position ``p``, with ``targets[start + p]`` when targets are given."""

    def __init__(self, data, targets, positions, window, start_index, batch_size, shuffle, seed):
        super().__init__(len(positions), batch_size, shuffle, seed)
        self.data = data
        self.targets = targets
        self.positions = positions
        self.window = window
        self.start_index = start_index

    def _load(self, indices, unbatched):
        starts = self.positions[indices] + self.start_index
        sequences = torch.as_tensor(np.stack([np.asarray(self.data[s + self.window]) for s in starts]))
        if self.targets is None:
            return sequences[0] if unbatched else sequences
        targets = torch.as_tensor(np.stack([np.asarray(self.targets[s]) for s in starts]))
        return (sequences[0], targets[0]) if unbatched else (sequences, targets)


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1, sampling_rate=1, batch_size=128,
                                  shuffle=False, seed=None, start_index=None, end_index=None):
    """Sliding windows over ``data`` (as ``keras.utils.timeseries_dataset_from_array``), as a ``PyDataset``.

    Window ``i`` starts at ``start_index + i * sequence_stride`` and holds ``sequence_length`` steps
    taken every ``sampling_rate`` steps; its target is ``targets[start_index + i * sequence_stride]``
    (``targets=None``: windows only). Batches are ``(batch, sequence_length, *data.shape[1:])`` tensors
    (float64 data stays float64, as Keras keeps the array's dtype). With ``shuffle`` the window order is
    Keras's (``np.random.RandomState(seed)`` over the start positions), then reshuffled after each epoch.

    >>> ds = timeseries_dataset_from_array(np.arange(10), None, sequence_length=3, batch_size=4)
    >>> ds[0]  # windows [0 1 2], [1 2 3], [2 3 4], [3 4 5]
    """
    data = data if isinstance(data, (np.ndarray, torch.Tensor)) else np.asarray(data)
    if targets is not None and not isinstance(targets, (np.ndarray, torch.Tensor)):
        targets = np.asarray(targets)
    length = len(data)
    if start_index:
        if start_index < 0:
            raise ValueError(f"`start_index` must be 0 or greater. Received: start_index={start_index}")
        if start_index >= length:
            raise ValueError("`start_index` must be lower than the length of the data. Received: "
                             f"start_index={start_index}, for data of length {length}")
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError("`end_index` must be higher than `start_index`. Received: "
                             f"start_index={start_index}, and end_index={end_index} ")
        if end_index >= length:
            raise ValueError("`end_index` must be lower than the length of the data. Received: "
                             f"end_index={end_index}, for data of length {length}")
        if end_index <= 0:
            raise ValueError(f"`end_index` must be higher than 0. Received: end_index={end_index}")
    for name, value in (("sampling_rate", sampling_rate), ("sequence_stride", sequence_stride)):
        if value <= 0:
            raise ValueError(f"`{name}` must be higher than 0. Received: {name}={value}")
        if value >= length:
            raise ValueError(f"`{name}` must be lower than the length of the data. Received: {name}={value}, for "
                             f"data of length {length}")
    start_index = start_index or 0
    end_index = length if end_index is None else end_index
    num_windows = end_index - start_index - (sequence_length - 1) * sampling_rate
    if targets is not None:
        num_windows = min(num_windows, len(targets))
    positions = np.arange(0, max(num_windows, 0), sequence_stride)
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(positions)
    window = np.arange(0, sequence_length * sampling_rate, sampling_rate)
    return TimeseriesDataset(data, targets, positions, window, start_index, batch_size, shuffle, seed)
