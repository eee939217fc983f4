"""``image_dataset_from_directory``: image files in class folders as batches of torch tensors."""

import numpy as np
import torch

from lamina.ops.arguments import normalize_data_format
from lamina.utils import dataset_utils
from lamina.utils.image_utils import _pil, resize_image, to_color_mode

ALLOWLIST_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_CHANNELS = {"rgb": 3, "rgba": 4, "grayscale": 1}
_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5", "gaussian", "mitchellcubic")


class ImageDataset(dataset_utils.FileDataset):
    """Images read with Pillow, converted to ``color_mode``, resized to ``image_size`` (float32, 0-255)."""

    def __init__(self, file_paths, labels, label_mode, class_names, batch_size, shuffle, seed, image_size, color_mode,
                 interpolation, crop_to_aspect_ratio, pad_to_aspect_ratio, data_format):
        super().__init__(file_paths, labels, label_mode, class_names, batch_size, shuffle, seed)
        self.image_size = tuple(image_size)
        self.color_mode = color_mode
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = crop_to_aspect_ratio
        self.pad_to_aspect_ratio = pad_to_aspect_ratio
        self.data_format = data_format

    def _read(self, path):
        with _pil().open(path) as image:
            pixels = np.array(to_color_mode(image, self.color_mode), dtype="float32")
        if pixels.ndim == 2:
            pixels = pixels[:, :, None]
        image = resize_image(torch.from_numpy(pixels).permute(2, 0, 1), self.image_size, self.interpolation,
                             self.crop_to_aspect_ratio, self.pad_to_aspect_ratio)
        return image if self.data_format == "channels_first" else image.permute(1, 2, 0).contiguous()


def image_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None, color_mode="rgb",
                                 batch_size=32, image_size=(256, 256), shuffle=True, seed=None, validation_split=None,
                                 subset=None, interpolation="bilinear", follow_links=False, crop_to_aspect_ratio=False,
                                 pad_to_aspect_ratio=False, data_format=None, verbose=True):
    """Images in ``directory`` (one folder per class with ``labels="inferred"``) as a ``PyDataset`` of
    ``(images, labels)`` batches, as ``keras.utils.image_dataset_from_directory``.

    Images are ``(batch, height, width, channels)`` float32 tensors in 0-255 (``channels_first``:
    ``(batch, channels, height, width)``); labels are int32 ``(batch,)`` ("int"), float32 ``(batch, 1)``
    ("binary") or one-hot float32 ("categorical"); ``label_mode=None`` or ``labels=None`` gives images
    only. The dataset has ``class_names`` and ``file_paths``. ``subset="both"`` returns
    ``[training, validation]``. Interpolations: "bilinear", "nearest", "bicubic", "area" (as Keras's
    torch backend resizes; the Lanczos, Gaussian and Mitchell-cubic filters are TensorFlow's only).
    See ``lamina/utils/dataset_utils.py`` for the file order and shuffling.
    """
    if color_mode not in _CHANNELS:
        raise ValueError('`color_mode` must be one of {"rgb", "rgba", "grayscale"}. '
                         f"Received: color_mode={color_mode}")
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    elif not isinstance(image_size, (list, tuple)) or len(image_size) != 2:
        raise ValueError(f"Invalid `image_size` value. Expected a tuple of 2 integers. Received: image_size={image_size}")
    interpolation = interpolation.lower()
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"Argument `interpolation` should be one of {_INTERPOLATIONS}. "
                         f"Received: interpolation={interpolation}")
    if interpolation not in ("bilinear", "nearest", "bicubic", "area"):
        raise ValueError(f"interpolation={interpolation!r} is TensorFlow's only (Keras's torch backend refuses it "
                         "too); use 'bilinear', 'nearest', 'bicubic' or 'area'.")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("Only one of `pad_to_aspect_ratio`, `crop_to_aspect_ratio` can be set to `True`.")
    paths, labels, label_mode, class_names, seed = dataset_utils.index_files(
        directory, labels, label_mode, class_names, ALLOWLIST_FORMATS, shuffle, seed, validation_split, subset,
        follow_links, verbose)
    data_format = normalize_data_format(data_format, "image_dataset_from_directory")

    def make(part_paths, part_labels, training):
        return ImageDataset(part_paths, part_labels, label_mode, class_names, batch_size, shuffle and training, seed,
                            image_size, color_mode, interpolation, crop_to_aspect_ratio, pad_to_aspect_ratio,
                            data_format)

    return dataset_utils.datasets_for_subset(make, paths, labels, validation_split, subset, "images", directory,
                                             ALLOWLIST_FORMATS, verbose)
