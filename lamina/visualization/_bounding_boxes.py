"""``draw_bounding_boxes`` and ``plot_bounding_box_gallery``, as Keras 3.15's ``keras.visualization``.

Boxes are drawn with OpenCV (``cv2``), an optional dependency imported on the first call, as Keras draws them.
"""

import numpy as np
import torch

from lamina.layers.image.bounding_boxes import SUPPORTED_FORMATS, convert_format
from lamina.ops.arguments import normalize_data_format
from lamina.visualization._image_gallery import import_pyplot, plot_image_gallery
from lamina.visualization._inputs import batched_images, channels_last, check_value_range, to_0_255, to_numpy


def _import_cv2():
    try:
        import cv2  # optional dependency, imported when boxes are drawn (no cycle involved)
    except ImportError as error:
        raise ImportError("The `draw_bounding_boxes` function requires the `cv2` package (OpenCV). "
                          "Please install it with `pip install opencv-python`.") from error
    return cv2


def draw_bounding_boxes(images, bounding_boxes, bounding_box_format, class_mapping=None, color=(128, 128, 128),
                        line_thickness=2, text_thickness=1, font_scale=1.0, data_format=None):
    """Draws bounding boxes (and class names, with confidences when given) on a batch of images.

    Args:
        images: (batch, height, width, channels), or (batch, channels, height, width) for channels_first; a
            tensor, array or nested list. Floats whose maximum is at most 1 are scaled by 255, other floats
            clipped to [0, 255]; then everything is cast to uint8.
        bounding_boxes: a dict with ``"boxes"`` (batch, num_boxes, 4), ``"labels"`` (batch, num_boxes) and
            optionally ``"confidences"`` (batch, num_boxes); ragged nested lists (a list of boxes per image)
            are padded. Boxes with label -1 are not drawn.
        bounding_box_format: the boxes' format, one of ``lamina.layers.image.bounding_boxes.SUPPORTED_FORMATS``
            (case-insensitive).
        class_mapping: dict from class id to name; classes found there get their name written above the box
            (``"name | 0.93"`` with confidences).
        color: the RGB color of boxes and text. line_thickness, text_thickness (0/None: line_thickness),
        font_scale: OpenCV's drawing parameters.
        data_format: ``"channels_last"`` or ``"channels_first"``; None is ``lamina.config.image_data_format()``.

    Returns:
        A uint8 NumPy array of the shape of ``images`` (and its data format), the boxes drawn.

    Example:
        >>> images = np.zeros((1, 64, 64, 3), "uint8")
        >>> boxes = {"boxes": [[[8, 8, 40, 40]]], "labels": [[0]]}
        >>> draw_bounding_boxes(images, boxes, "xyxy", class_mapping={0: "cat"}).shape
        (1, 64, 64, 3)
    """
    owner = "draw_bounding_boxes"
    cv2 = _import_cv2()
    class_mapping = class_mapping or {}
    text_thickness = text_thickness or line_thickness
    data_format = normalize_data_format(data_format, owner)
    images = batched_images(images, owner, data_format)
    box_format = _check_box_format(bounding_box_format, owner)
    drawn = channels_last(images, data_format)
    height, width = drawn.shape[1], drawn.shape[2]
    boxes, labels, confidences = _batched_boxes(bounding_boxes, drawn.shape[0], owner)
    boxes = convert_format(torch.from_numpy(boxes), box_format, "xyxy", height, width).numpy()

    if drawn.dtype.kind == "f" and drawn.size > 0:
        drawn = np.clip(drawn, 0, 1) * 255 if drawn.max() <= 1.0 else np.clip(drawn, 0, 255)
    drawn = np.ascontiguousarray(drawn.astype("uint8"))  # a copy: the caller's images stay as they were
    for i in range(drawn.shape[0]):
        for box_i in range(boxes.shape[1]):
            x1, y1, x2, y2 = (int(v) for v in boxes[i, box_i].astype("int32"))
            c = int(labels[i, box_i].astype("int32"))
            if c == -1:
                continue
            cv2.rectangle(drawn[i], (x1, y1), (x2, y2), color, line_thickness)
            if c in class_mapping:
                label = class_mapping[c]
                if confidences is not None:
                    label = f"{label} | {confidences[i][box_i]:.2f}"
                cv2.putText(img=drawn[i], text=label, org=_text_location(x1, y1, font_scale, text_thickness),
                            fontFace=cv2.FONT_HERSHEY_SIMPLEX, fontScale=font_scale, color=color,
                            thickness=text_thickness)
    return np.ascontiguousarray(drawn.transpose(0, 3, 1, 2)) if data_format == "channels_first" else drawn


def _text_location(x, y, font_scale, thickness):
    """Keras's place for a label: above the box when it fits, else just inside its top-left corner."""
    font_height = int(font_scale * 12)
    if y - 8 - 2 * font_height > 0:
        return x, y - 8
    return x + 3, y + 2 * font_height + thickness + 3


def _check_box_format(bounding_box_format, owner):
    normalized = bounding_box_format.lower() if isinstance(bounding_box_format, str) else bounding_box_format
    if normalized not in SUPPORTED_FORMATS:
        raise ValueError(f"{owner}: `bounding_box_format` must be one of {SUPPORTED_FORMATS} (case-insensitive). "
                         f"Received: bounding_box_format={bounding_box_format!r}")
    return normalized


def _batched_boxes(bounding_boxes, batch_size, owner):
    """(boxes float32 (batch, num_boxes, 4), labels (batch, num_boxes), confidences or None) as NumPy."""
    if not isinstance(bounding_boxes, dict):
        raise TypeError(f"{owner}: `bounding_boxes` should be a dict with keys 'boxes' and 'labels'. "
                        f"Received: bounding_boxes={bounding_boxes!r} of type {type(bounding_boxes)}")
    if "boxes" not in bounding_boxes or "labels" not in bounding_boxes:
        raise ValueError(f"{owner}: `bounding_boxes` should be a dict containing 'boxes' and 'labels' keys. "
                         f"Received: keys {sorted(bounding_boxes, key=str)}")
    fields = {"boxes": bounding_boxes["boxes"], "labels": bounding_boxes["labels"]}
    if bounding_boxes.get("confidences") is not None:
        fields["confidences"] = bounding_boxes["confidences"]
    if _is_ragged(fields["boxes"]):
        fields = _padded(fields)
    arrays = {key: to_numpy(value, owner, f"bounding_boxes['{key}']") for key, value in fields.items()}
    boxes = arrays["boxes"].astype(np.float32)
    if boxes.ndim != 3 or boxes.shape[-1] != 4 or boxes.shape[0] != batch_size:
        raise ValueError(f"{owner}: `bounding_boxes['boxes']` must have shape (batch, num_boxes, 4) with the "
                         f"images' batch size {batch_size}. Received: shape={boxes.shape}")
    for key in ("labels", "confidences"):
        if key in arrays and arrays[key].shape != boxes.shape[:2]:
            raise ValueError(f"{owner}: `bounding_boxes['{key}']` must have shape (batch, num_boxes) = "
                             f"{boxes.shape[:2]}, one per box. Received: shape={arrays[key].shape}")
    return boxes, arrays["labels"], arrays.get("confidences")


def _is_ragged(boxes):
    return isinstance(boxes, (list, tuple)) and len({len(per_image) for per_image in boxes
                                                     if isinstance(per_image, (list, tuple))}) > 1


def _padded(fields):
    """Ragged per-image lists padded to the longest: box [0, 0, 0, 0], label -1 (not drawn), confidence 0."""
    longest = max(len(per_image) for per_image in fields["boxes"])
    fill = {"boxes": [0.0, 0.0, 0.0, 0.0], "labels": -1, "confidences": 0.0}
    return {key: [list(per_image) + [fill[key]] * (longest - len(per_image)) for per_image in value]
            for key, value in fields.items()}


def plot_bounding_box_gallery(images, bounding_box_format, y_true=None, y_pred=None, value_range=(0, 255),
                              true_color=(0, 188, 212), pred_color=(255, 235, 59), line_thickness=2,
                              font_scale=1.0, text_thickness=None, class_mapping=None, ground_truth_mapping=None,
                              prediction_mapping=None, legend=False, legend_handles=None, rows=None, cols=None,
                              data_format=None, **kwargs):
    """A gallery (``plot_image_gallery``) of images with their true and/or predicted boxes drawn.

    Args:
        images: (batch, height, width, channels), or (batch, channels, height, width) for channels_first.
        bounding_box_format: the format of the boxes in ``y_true`` and ``y_pred``.
        y_true, y_pred: dicts as ``draw_bounding_boxes``'s ``bounding_boxes``, drawn in ``true_color`` and
            ``pred_color`` with the names of ``ground_truth_mapping`` / ``prediction_mapping`` (each
            defaulting to ``class_mapping``).
        value_range: the images' value range, e.g. (0, 255) or (0, 1).
        legend: add a "Ground Truth" / "Prediction" legend; or pass matplotlib patches as ``legend_handles``
            (not both).
        rows, cols, **kwargs: passed on to ``plot_image_gallery`` (``path``, ``show``, ``scale``, ``dpi``...).

    Returns:
        None, as Keras: the figure is saved to ``path``, shown, or (``show=False``) left open as
        ``matplotlib.pyplot.gcf()``.
    """
    owner = "plot_bounding_box_gallery"
    import_pyplot(owner)
    from matplotlib import patches  # optional dependency, present once pyplot imported (no cycle involved)
    prediction_mapping = prediction_mapping or class_mapping
    ground_truth_mapping = ground_truth_mapping or class_mapping
    data_format = normalize_data_format(data_format, owner)
    plotted = channels_last(batched_images(images, owner, data_format), data_format)
    value_range = check_value_range(value_range, owner)
    if legend and legend_handles:
        raise ValueError("Only pass `legend` OR `legend_handles` to `plot_bounding_box_gallery()`. "
                         f"Received: legend={legend!r} and {len(legend_handles)} legend_handles")

    if y_true is not None or y_pred is not None:
        # Drawing makes uint8 images in [0, 255]: bring other value ranges there first, so the gallery
        # shows them once scaled (Keras scales the drawn images a second time).
        if tuple(value_range) != (0, 255):
            plotted = np.clip(to_0_255(plotted, value_range), 0, 255).astype("uint8")
            value_range = (0, 255)
        options = dict(bounding_box_format=bounding_box_format, line_thickness=line_thickness,
                       text_thickness=text_thickness, font_scale=font_scale, data_format="channels_last")
        if y_true is not None:
            plotted = draw_bounding_boxes(plotted, y_true, color=true_color, class_mapping=ground_truth_mapping,
                                          **options)
        if y_pred is not None:
            plotted = draw_bounding_boxes(plotted, y_pred, color=pred_color, class_mapping=prediction_mapping,
                                          **options)
    if legend:
        legend_handles = [patches.Patch(color=np.array(true_color) / 255.0, label="Ground Truth"),
                          patches.Patch(color=np.array(pred_color) / 255.0, label="Prediction")]
    return plot_image_gallery(plotted, value_range=value_range, legend_handles=legend_handles, rows=rows, cols=cols,
                              data_format="channels_last", **kwargs)
