"""``text_dataset_from_directory``: ``.txt`` files in class folders as batches of strings."""

from lamina.utils import dataset_utils

ALLOWED_FORMATS = (".txt",)


class TextDataset(dataset_utils.FileDataset):
    """Texts (UTF-8), optionally cut to ``max_length`` characters; a batch of texts is a list of str."""

    def __init__(self, file_paths, labels, label_mode, class_names, batch_size, shuffle, seed, max_length):
        super().__init__(file_paths, labels, label_mode, class_names, batch_size, shuffle, seed)
        self.max_length = max_length

    def _read(self, path):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        return text if self.max_length is None else text[:self.max_length]

    def _stack(self, samples):
        return samples


def text_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None, batch_size=32,
                                max_length=None, shuffle=True, seed=None, validation_split=None, subset=None,
                                follow_links=False, verbose=True):
    """Text files in ``directory`` (one folder per class with ``labels="inferred"``) as a ``PyDataset`` of
    ``(texts, labels)`` batches, as ``keras.utils.text_dataset_from_directory``.

    PyTorch has no string tensors: a batch of texts is a list of Python ``str`` (Keras gives a string
    tensor); ``max_length`` keeps the first ``max_length`` characters (Keras counts bytes, which can
    cut a UTF-8 character). Labels and everything else are as in ``image_dataset_from_directory``.
    """
    paths, labels, label_mode, class_names, seed = dataset_utils.index_files(
        directory, labels, label_mode, class_names, ALLOWED_FORMATS, shuffle, seed, validation_split, subset, follow_links,
        verbose)

    def make(part_paths, part_labels, training):
        return TextDataset(part_paths, part_labels, label_mode, class_names, batch_size, shuffle and training, seed,
                           max_length)

    return dataset_utils.datasets_for_subset(make, paths, labels, validation_split, subset, "text files", directory,
                                             ALLOWED_FORMATS, verbose)
