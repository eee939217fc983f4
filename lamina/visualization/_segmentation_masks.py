"""``draw_segmentation_masks`` and ``plot_segmentation_mask_gallery``, as Keras 3.15's ``keras.visualization``.

Class ``c`` of a mask is painted with color ``c`` for ``0 <= c < num_classes`` (class 0 too: black in the
default palette); other values (``ignore_index``, negatives, ``c >= num_classes``) leave the pixel as it is,
as Keras does on JAX and TensorFlow (Keras on torch raises for ``c >= num_classes``).
"""

import numbers

import numpy as np

from lamina.ops.arguments import normalize_data_format
from lamina.visualization._image_gallery import import_pyplot, plot_image_gallery
from lamina.visualization._inputs import batched_images, channels_last, check_value_range, masks_as_bhw, to_0_255


def draw_segmentation_masks(images, segmentation_masks, num_classes=None, color_mapping=None, alpha=0.8, blend=True,
                            ignore_index=-1, data_format=None):
    """Paints each mask's classes on its image, blended with opacity ``alpha``.

    Args:
        images: (batch, height, width, channels), or (batch, channels, height, width) for channels_first.
        segmentation_masks: integer class indices, (batch, height, width) or (batch, height, width, 1)
            ((batch, 1, height, width) for channels_first).
        num_classes: classes 0 .. num_classes - 1 are painted; None is the masks' maximum (Keras's rule, which
            leaves the highest class unpainted).
        color_mapping: dict from class index (0 .. num_classes - 1) to an RGB color; None is Keras's palette
            ``(i * [2**25 - 1, 2**15 - 1, 2**21 - 1]) % 255``.
        alpha: the masks' opacity, in [0, 1]. blend: False paints the colors without blending.
        ignore_index: mask value never painted.
        data_format: ``"channels_last"`` or ``"channels_first"``; None is ``lamina.config.image_data_format()``.

    Returns:
        A NumPy array (batch, height, width, channels), channels_last whatever ``data_format`` (as Keras):
        uint8 when blended, float32 (the painted images) with ``blend=False``.
    """
    owner = "draw_segmentation_masks"
    data_format = normalize_data_format(data_format, owner)
    images = channels_last(batched_images(images, owner, data_format), data_format).astype(np.float32)
    masks = masks_as_bhw(segmentation_masks, images.shape, owner, "segmentation_masks", data_format)
    if masks.dtype.kind not in "iu":
        raise TypeError(f"{owner}: `segmentation_masks` must be in integer dtype. "
                        f"Received: segmentation_masks.dtype={masks.dtype}")
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 <= alpha <= 1:
        raise ValueError(f"{owner}: `alpha` must be a number in [0, 1]. Received: alpha={alpha!r}")
    if num_classes is None:
        num_classes = int(masks.max()) if masks.size else 0
    colors = _class_colors(num_classes, color_mapping, images.shape[-1], owner)

    painted = images.copy()
    for class_index, color in enumerate(colors):
        painted[masks == class_index] = color
    if not blend:
        return painted
    blended = images * (1 - alpha) + painted * alpha
    return np.where((masks != ignore_index)[..., None], blended, images).astype("uint8")


def _class_colors(num_classes, color_mapping, channels, owner):
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes < 0:
        raise ValueError(f"{owner}: `num_classes` must be a non-negative int or None. "
                         f"Received: num_classes={num_classes!r}")
    if color_mapping is None:
        palette = np.array([2**25 - 1, 2**15 - 1, 2**21 - 1])
        colors = [((i * palette) % 255).tolist() for i in range(num_classes)]
    else:
        missing = [i for i in range(num_classes) if i not in color_mapping]
        if missing:
            raise ValueError(f"{owner}: `color_mapping` needs a color for every class 0 .. num_classes - 1 = "
                             f"{num_classes - 1}. Missing: {missing}; received keys {list(color_mapping)}")
        colors = [color_mapping[i] for i in range(num_classes)]
    colors = [np.asarray(color, dtype=np.float32) for color in colors]
    wrong = [i for i, color in enumerate(colors) if color.shape not in ((), (1,), (channels,))]
    if wrong:
        raise ValueError(f"{owner}: each color needs one value per image channel ({channels}). "
                         f"Received: colors {[colors[i].tolist() for i in wrong]} for classes {wrong}")
    return colors


def plot_segmentation_mask_gallery(images, num_classes, value_range=(0, 255), y_true=None, y_pred=None,
                                   color_mapping=None, blend=True, alpha=0.8, ignore_index=-1, data_format=None,
                                   **kwargs):
    """A gallery (``plot_image_gallery``) with one row per image: the image, then its ``y_true`` and/or
    ``y_pred`` masks drawn on it by ``draw_segmentation_masks`` (same ``num_classes``, ``color_mapping``,
    ``alpha``, ``blend``, ``ignore_index``).

    Args:
        images: (batch, height, width, channels), or (batch, channels, height, width) for channels_first.
        num_classes: as ``draw_segmentation_masks`` (None: each mask's maximum).
        value_range: the images' value range, e.g. (0, 255) or (0, 1).
        y_true, y_pred: masks as ``draw_segmentation_masks``'s, cast to int32.
        **kwargs: passed on to ``plot_image_gallery`` (``path``, ``show``, ``scale``...), all but ``rows`` and
            ``cols``, which this function sets.

    Returns:
        None, as Keras.
    """
    owner = "plot_segmentation_mask_gallery"
    import_pyplot(owner)
    fixed = sorted({"rows", "cols"} & set(kwargs))
    if fixed:
        raise TypeError(f"{owner}: the grid is one row per image and one column each for the image, y_true and "
                        f"y_pred; `rows` and `cols` cannot be passed. Received: "
                        f"{', '.join(f'{k}={kwargs[k]!r}' for k in fixed)}")
    data_format = normalize_data_format(data_format, owner)
    images = channels_last(batched_images(images, owner, data_format), data_format)
    value_range = check_value_range(value_range, owner)
    if tuple(value_range) != (0, 255) and (y_true is not None or y_pred is not None):
        # The colors are in [0, 255]: blend them with images already there, and show those once scaled
        # (Keras blends them with the raw images and scales the result a second time).
        images, value_range = to_0_255(images, value_range), (0, 255)

    columns = [images]
    for name, masks in (("y_true", y_true), ("y_pred", y_pred)):
        if masks is not None:
            masks = masks_as_bhw(masks, images.shape, owner, name, data_format).astype(np.int32)
            columns.append(draw_segmentation_masks(images, masks, num_classes=num_classes,
                                                   color_mapping=color_mapping, alpha=alpha, blend=blend,
                                                   ignore_index=ignore_index, data_format="channels_last"))
    gallery = np.stack([column[i] for i in range(images.shape[0]) for column in columns], axis=0)
    return plot_image_gallery(gallery, value_range=value_range, rows=images.shape[0], cols=len(columns),
                              data_format="channels_last", **kwargs)
