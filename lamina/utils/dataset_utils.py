"""What the ``*_dataset_from_*`` utilities share: indexing a directory of class folders, the
training/validation split, batched datasets of torch tensors, and ``split_dataset``.

Decisions (Keras builds ``tf.data`` pipelines; lamina has no TensorFlow):
- The datasets are ``lamina.utils.PyDataset``s (``fit``/``evaluate``/``predict`` take them; ``len()`` is
  the number of batches; indexing or iterating gives batches of torch tensors, text as lists of str).
- Files are listed, labelled, shuffled with ``np.random.RandomState(seed)`` and split exactly as Keras
  does, so the same seed gives the same files in the same subsets, and the first epoch reads them in
  Keras's file order. Keras then shuffles elements again through a ``tf.data`` buffer each epoch, which
  cannot be reproduced without TensorFlow: lamina reshuffles the whole dataset after each epoch with a
  generator seeded by ``seed`` (deterministic for a given seed).
"""

import math
import os

import numpy as np
import torch

from lamina.training.data import PyDataset


class BatchedDataset(PyDataset):
    """Batches of ``batch_size`` samples (``None``: one unbatched sample per item); subclasses implement
    ``_load(indices)`` returning the batch for those sample indices."""

    def __init__(self, num_samples, batch_size, shuffle=False, seed=None):
        super().__init__()
        self.num_samples = num_samples
        self.batch_size = batch_size
        self.shuffle = shuffle
        self._order = np.arange(num_samples)
        self._rng = np.random.RandomState(seed) if shuffle else None

    def __len__(self):
        return self.num_samples if self.batch_size is None else math.ceil(self.num_samples / self.batch_size)

    def __getitem__(self, index):
        if not -len(self) <= index < len(self):
            raise IndexError(f"{type(self).__name__} index {index} out of range for {len(self)} batches.")
        index %= len(self)
        if self.batch_size is None:
            return self._load(self._order[index:index + 1], unbatched=True)
        return self._load(self._order[index * self.batch_size:(index + 1) * self.batch_size], unbatched=False)

    def __iter__(self):
        for index in range(len(self)):
            yield self[index]
        self.on_epoch_end()

    def on_epoch_end(self):
        """Reshuffles the samples (with ``shuffle=True``) for the next pass."""
        if self._rng is not None:
            self._order = self._rng.permutation(self.num_samples)

    def take(self, count):
        """The first ``count`` batches, as a list (Keras code writes ``dataset.take(1)``)."""
        return [self[index] for index in range(min(count, len(self)))]

    def _load(self, indices, unbatched):
        raise NotImplementedError(f"{type(self).__name__} must implement _load(indices, unbatched).")


class FileDataset(BatchedDataset):
    """Files and their labels: ``class_names`` and ``file_paths`` as Keras's datasets have them; subclasses
    implement ``_read(path)`` (one sample) and ``_stack(samples)`` (a batch of them)."""

    def __init__(self, file_paths, labels, label_mode, class_names, batch_size, shuffle, seed):
        super().__init__(len(file_paths), batch_size, shuffle, seed)
        self.file_paths = list(file_paths)
        self.labels = labels
        self.label_mode = label_mode
        self.class_names = class_names

    def _load(self, indices, unbatched):
        samples = self._stack([self._read(self.file_paths[i]) for i in indices])
        if self.label_mode is None:
            return samples[0] if unbatched else samples
        labels = encode_labels(self.labels[indices], self.label_mode, len(self.class_names or ()))
        return (samples[0], labels[0]) if unbatched else (samples, labels)

    def _read(self, path):
        raise NotImplementedError

    def _stack(self, samples):
        return torch.stack(samples)


def encode_labels(labels, label_mode, num_classes):
    """Integer labels as Keras's datasets give them: int32 ("int"), float32 ``(n, 1)`` ("binary") or
    one-hot float32 ("categorical")."""
    labels = torch.as_tensor(np.asarray(labels), dtype=torch.int64)
    if label_mode == "binary":
        return labels.to(torch.float32).unsqueeze(-1)
    if label_mode == "categorical":
        return torch.nn.functional.one_hot(labels, num_classes).to(torch.float32)
    return labels.to(torch.int32)


def check_labels_arguments(labels, label_mode, class_names):
    """Keras's checks of ``labels``/``label_mode``/``class_names``; returns (labels, label_mode)."""
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple)):
            raise ValueError("`labels` argument should be a list/tuple of integer labels, of the same size as the "
                             "number of files in the target directory. If you wish to infer the labels from the "
                             'subdirectory names in the target directory, pass `labels="inferred"`. If you wish to '
                             f"get a dataset that only contains the inputs (no labels), pass `labels=None`. "
                             f"Received: labels={labels}")
        if class_names:
            raise ValueError(f'You can only pass `class_names` if `labels="inferred"`. Received: labels={labels}, '
                             f"and class_names={class_names}")
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError('`label_mode` argument must be one of "int", "categorical", "binary", or None. '
                         f"Received: label_mode={label_mode}")
    if labels is None or label_mode is None:
        return None, None
    return labels, label_mode


def check_validation_split_arg(validation_split, subset, shuffle, seed):
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be between 0 and 1, received: {validation_split}")
    if (validation_split or subset) and not (validation_split and subset):
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(f'`subset` must be either "training", "validation" or "both", received: {subset}')
    if validation_split and shuffle and seed is None:
        raise ValueError("If using `validation_split` and shuffling the data, you must provide a `seed` argument, "
                         "to make sure that there is no overlap between the training and validation subset.")


def _valid_files(directory, follow_links, formats):
    for root, _, files in sorted(os.walk(directory, followlinks=follow_links), key=lambda entry: entry[0]):
        for name in sorted(files):
            if name.lower().endswith(formats):
                yield os.path.join(root, name)


def index_directory(directory, labels, formats, class_names=None, shuffle=True, seed=None, follow_links=False,
                    verbose=True):
    """(file_paths, labels, class_names) as Keras's ``index_directory``: class folders in sorted order (or
    ``class_names``' order), files sorted within them, then shuffled with ``RandomState(seed)``."""
    if not os.path.isdir(directory):
        raise ValueError(f"Directory not found: {directory!r}")
    if labels == "inferred":
        folders = [name for name in sorted(os.listdir(directory))
                   if os.path.isdir(os.path.join(directory, name)) and not name.startswith(".")]
        if class_names is not None:
            if not set(class_names).issubset(folders):
                raise ValueError("The `class_names` passed did not match the names of the subdirectories of the "
                                 f"target directory. Expected: {folders} (or a subset of it), but received: "
                                 f"class_names={class_names}")
            folders = list(class_names)
    else:
        if class_names is not None:
            if labels is None:
                raise ValueError("When `labels=None` (no labels), argument `class_names` cannot be specified.")
            raise ValueError("When argument `labels` is specified, argument `class_names` cannot be specified "
                             "(the `class_names` will be the sorted list of labels).")
        folders = [""]
    file_paths, found_labels = [], []
    for index, folder in enumerate(folders):
        folder_path = os.path.join(directory, folder)
        for path in _valid_files(folder_path, follow_links, formats):
            file_paths.append(os.path.join(directory, folder, os.path.relpath(path, folder_path)) if folder
                              else path)
            found_labels.append(index)
    if labels == "inferred":
        labels, class_names = np.asarray(found_labels, dtype="int32"), folders
    elif labels is None:
        class_names = None
    else:
        if len(labels) != len(file_paths):
            raise ValueError(f"Expected the lengths of `labels` to match the number of files in the target directory. "
                             f"len(labels) is {len(labels)} while we found {len(file_paths)} files in directory "
                             f"{directory}.")
        class_names = [str(label) for label in sorted(set(labels))]
        labels = np.asarray(labels)
    if verbose:
        print(f"Found {len(file_paths)} files." if labels is None else
              f"Found {len(file_paths)} files belonging to {len(class_names)} classes.")
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(file_paths)
        if labels is not None:
            np.random.RandomState(seed).shuffle(labels)
    return file_paths, labels, class_names


def index_files(directory, labels, label_mode, class_names, formats, shuffle, seed, validation_split, subset,
                follow_links, verbose):
    """The checks and indexing every ``*_dataset_from_directory`` starts with; returns
    ``(file_paths, labels, label_mode, class_names, seed)`` (a random seed is drawn when None, as Keras)."""
    labels, label_mode = check_labels_arguments(labels, label_mode, class_names)
    check_validation_split_arg(validation_split, subset, shuffle, seed)
    if seed is None:
        seed = np.random.randint(1e6)
    paths, labels, class_names = index_directory(directory, labels, formats, class_names, shuffle, seed,
                                                 follow_links, verbose)
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError('When passing `label_mode="binary"`, there must be exactly 2 class_names. '
                         f"Received: class_names={class_names}")
    return paths, labels, label_mode, class_names, seed


def training_or_validation_split(samples, labels, validation_split, subset, verbose=True):
    """Keras's split: the validation subset is the last ``int(validation_split * n)`` samples."""
    if not validation_split:
        return samples, labels
    num_validation = int(validation_split * len(samples))
    if subset == "training":
        if verbose:
            print(f"Using {len(samples) - num_validation} files for training.")
        return samples[:-num_validation], None if labels is None else labels[:-num_validation]
    if subset == "validation":
        if verbose:
            print(f"Using {num_validation} files for validation.")
        return samples[-num_validation:], None if labels is None else labels[-num_validation:]
    raise ValueError(f'`subset` must be either "training" or "validation", received: {subset}')


def datasets_for_subset(make, paths, labels, validation_split, subset, what, directory, formats, verbose):
    """One dataset, or ``[training, validation]`` for ``subset="both"``; ``make(paths, labels, training)``
    builds each (the validation one is never shuffled, as in Keras)."""
    subsets = ("training", "validation") if subset == "both" else (subset,)
    datasets = []
    for name in subsets:
        part_paths, part_labels = training_or_validation_split(paths, labels, validation_split, name, verbose)
        if not part_paths:
            kind = f"{name} " if subset == "both" else ""
            raise ValueError(f"No {kind}{what} found in directory {directory}. Allowed formats: {formats}")
        datasets.append(make(part_paths, part_labels, name != "validation"))
    return datasets if subset == "both" else datasets[0]


def _rescale_split_sizes(left_size, right_size, total):
    """Keras's ``_rescale_dataset_split_sizes``: ints are counts, floats fractions of ``total``."""
    for name, size in (("left_size", left_size), ("right_size", right_size)):
        if size is not None and type(size) not in (int, float):
            raise TypeError(f"Invalid `{name}` Type. Expected: int or float or None, Received: "
                            f"type({name})={type(size)}.")
    if left_size is None and right_size is None:
        raise ValueError("At least one of the `left_size` or `right_size` must be specified. Received: "
                         "left_size=None and right_size=None")
    if left_size == 0 and right_size == 0:
        raise ValueError("Both `left_size` and `right_size` are zero. At least one of the split sizes must be "
                         "non-zero.")
    for name, size in (("left_size", left_size), ("right_size", right_size)):
        if type(size) is int and not 0 < size < total or type(size) is float and not 0 < size < 1:
            raise ValueError(f"`{name}` should be either a positive integer smaller than {total}, or a float within "
                             f"the range `[0, 1]`. Received: {name}={size}")
    if type(left_size) is float and type(right_size) is float and left_size + right_size > 1:
        raise ValueError("The sum of `left_size` and `right_size` is greater than 1. It must be less than or equal "
                         "to 1.")
    left = round(left_size * total) if type(left_size) is float else left_size
    right = round(right_size * total) if type(right_size) is float else right_size
    left = total - right if left is None else left
    right = total - left if right is None else right
    if left + right > total:
        raise ValueError(f"The sum of `left_size` and `right_size` should be smaller than the {total}. Received: "
                         f"left_size + right_size = {left + right}and total_length = {total}")
    for size, side in ((left, "left"), (right, "right")):
        if size == 0:
            raise ValueError(f"With `dataset` of length={total}, `left_size`={left} and `right_size`={right}. "
                             f"Resulting {side} side dataset split will be empty. Adjust any of the aforementioned "
                             "parameters")
    return int(left), int(right)


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None):
    """Splits a dataset into two ``torch.utils.data`` datasets, as ``keras.utils.split_dataset`` on torch.

    ``dataset``: a NumPy array, a list/tuple of arrays (of the same length) or a map-style
    ``torch.utils.data.Dataset``. ``left_size``/``right_size``: counts (int) or fractions (float); the
    missing one takes the rest. Samples are tuples of tensors (``TensorDataset``'s). With ``shuffle`` the
    split is Keras's ``random_split`` with a ``torch.Generator`` seeded by ``seed``, so it picks the
    same samples; without it the left part is the first samples and the right part the last ones
    (departure: Keras 3.15's torch path shuffles even then).
    """
    from torch.utils.data import Dataset, Subset, TensorDataset, random_split

    if isinstance(dataset, np.ndarray):
        dataset = TensorDataset(torch.from_numpy(dataset))
    elif isinstance(dataset, (list, tuple)):
        if not dataset:
            raise ValueError("Received an empty list dataset. Please provide a non-empty list/tuple of arrays.")
        lengths = {len(array) for array in dataset}
        if len(lengths) != 1:
            raise ValueError(f"Received a list/tuple of NumPy arrays with different lengths {sorted(lengths)}. Please "
                             "provide arrays of the same length.")
        dataset = TensorDataset(*(torch.as_tensor(np.asarray(array)) for array in dataset))
    elif not isinstance(dataset, Dataset) or not hasattr(dataset, "__len__"):
        raise TypeError("The `dataset` argument must be a `torch.utils.data.Dataset` object, or a list/tuple of arrays. "
                        f"Received: dataset={dataset} of type {type(dataset)}")
    total = len(dataset)
    left, right = _rescale_split_sizes(left_size, right_size, total)
    if not shuffle:
        return Subset(dataset, range(left)), Subset(dataset, range(total - right, total))
    generator = torch.Generator()
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    return tuple(random_split(dataset, [left, right], generator=generator))
