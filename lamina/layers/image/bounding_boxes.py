"""Bounding boxes as Keras 3.15 handles them (``keras.utils.bounding_boxes``): formats, clipping, transforms.

Boxes travel as ``{"boxes": (batch, num_boxes, 4) or (num_boxes, 4), "labels": (batch, num_boxes) ...}``;
a padded slot holds the box ``[0, 0, 0, 0]`` (or all -1) and label -1. Formats:

- ``xyxy``: left, top, right, bottom in pixels; ``yxyx``: top, left, bottom, right.
- ``xywh``: left, top, width, height; ``center_xywh``: centre x, centre y, width, height;
  ``center_yxhw``: centre y, centre x, height, width.
- ``rel_xyxy``, ``rel_yxyx``, ``rel_xywh``, ``rel_center_xywh``: the same as fractions of the image size.
"""

import math

import numpy as np
import torch

from lamina import config

SUPPORTED_FORMATS = ("xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy", "rel_yxyx", "rel_xywh",
                     "rel_center_xywh")


def check_format(bounding_box_format, owner):
    if bounding_box_format is not None and bounding_box_format not in SUPPORTED_FORMATS:
        raise ValueError(f"{owner}: the `bounding_box_format` argument must be one of {SUPPORTED_FORMATS} or None. "
                         f"Received: bounding_box_format={bounding_box_format!r}")
    return bounding_box_format


def _to_xyxy(boxes, source, height, width):
    a, b, c, d = boxes.unbind(-1)
    if source == "xyxy":
        return a, b, c, d
    if source == "yxyx":
        return b, a, d, c
    if source == "xywh":
        return a, b, a + c, b + d
    if source == "center_xywh":
        return a - c / 2.0, b - d / 2.0, a + c / 2.0, b + d / 2.0
    if source == "center_yxhw":
        return b - d / 2.0, a - c / 2.0, b + d / 2.0, a + c / 2.0
    if source == "rel_xyxy":
        return a * width, b * height, c * width, d * height
    if source == "rel_yxyx":
        return b * width, a * height, d * width, c * height
    if source == "rel_xywh":
        return a * width, b * height, (a + c) * width, (b + d) * height
    # rel_center_xywh
    return (a - c / 2.0) * width, (b - d / 2.0) * height, (a + c / 2.0) * width, (b + d / 2.0) * height


def _from_xyxy(x1, y1, x2, y2, target, height, width):
    if target == "xyxy":
        values = (x1, y1, x2, y2)
    elif target == "yxyx":
        values = (y1, x1, y2, x2)
    elif target == "xywh":
        values = (x1, y1, x2 - x1, y2 - y1)
    elif target == "center_xywh":
        values = (x1 + (x2 - x1) / 2.0, y1 + (y2 - y1) / 2.0, x2 - x1, y2 - y1)
    elif target == "center_yxhw":
        values = (y1 + (y2 - y1) / 2.0, x1 + (x2 - x1) / 2.0, y2 - y1, x2 - x1)
    elif target == "rel_xyxy":
        values = (x1 / width, y1 / height, x2 / width, y2 / height)
    elif target == "rel_yxyx":
        values = (y1 / height, x1 / width, y2 / height, x2 / width)
    elif target == "rel_xywh":
        values = (x1 / width, y1 / height, (x2 - x1) / width, (y2 - y1) / height)
    else:  # rel_center_xywh
        values = ((x1 + (x2 - x1) / 2.0) / width, (y1 + (y2 - y1) / 2.0) / height, (x2 - x1) / width,
                  (y2 - y1) / height)
    return torch.stack(values, dim=-1)


def convert_format(boxes, source, target, height=None, width=None, dtype="float32"):
    """Boxes (a tensor whose last axis is 4, or a bounding-box dict) from format ``source`` to ``target``.

    ``height``/``width`` (ints, or tensors broadcasting against the boxes' leading axes) are needed when
    either format is relative.
    """
    if isinstance(boxes, dict):
        return {**boxes, "boxes": convert_format(boxes["boxes"], source, target, height, width, dtype)}
    boxes = torch.as_tensor(boxes)
    if boxes.shape[-1:] != (4,):
        raise ValueError(f"convert_format: `boxes` must have a last dimension of 4. Received: boxes.shape="
                         f"{tuple(boxes.shape)}")
    source, target = source.lower(), target.lower()
    if source not in SUPPORTED_FORMATS or target not in SUPPORTED_FORMATS:
        raise ValueError(f"convert_format: `source` and `target` must be among {SUPPORTED_FORMATS}. Received: "
                         f"source={source!r}, target={target!r}")
    if (source.startswith("rel_") or target.startswith("rel_")) and (height is None or width is None):
        raise ValueError(f"convert_format: converting between relative and absolute formats needs `height` and "
                         f"`width`. Received: source={source!r}, target={target!r}, height={height}, width={width}")
    boxes = boxes.to(getattr(torch, dtype) if isinstance(dtype, str) else dtype)
    if source == target:
        return boxes
    if source.startswith("rel_") and target.startswith("rel_"):
        source, target = source[4:], target[4:]
    return _from_xyxy(*_to_xyxy(boxes, source, height, width), target, height, width)


def clip_to_image_size(bounding_boxes, height=None, width=None, bounding_box_format="xyxy"):
    """Clips ``xyxy`` boxes to [0, width] x [0, height] (``rel_xyxy`` to [0, 1]); boxes left with no area
    get label -1."""
    if bounding_box_format not in ("xyxy", "rel_xyxy"):
        raise NotImplementedError(f"clip_to_image_size: only 'xyxy' and 'rel_xyxy' boxes can be clipped. "
                                  f"Received: bounding_box_format={bounding_box_format!r}")
    if bounding_box_format == "xyxy" and (height is None or width is None):
        raise ValueError("clip_to_image_size: `height` and `width` are needed for 'xyxy' boxes.")
    if bounding_box_format == "rel_xyxy":
        height = width = 1.0
    boxes = bounding_boxes["boxes"]
    x1, y1, x2, y2 = boxes.unbind(-1)
    width = torch.as_tensor(width, dtype=boxes.dtype, device=boxes.device)
    height = torch.as_tensor(height, dtype=boxes.dtype, device=boxes.device)
    zero = torch.zeros((), dtype=boxes.dtype, device=boxes.device)
    x1, x2 = (torch.clip(v, zero, width) for v in (x1, x2))
    y1, y2 = (torch.clip(v, zero, height) for v in (y1, y2))
    result = {**bounding_boxes, "boxes": torch.stack([x1, y1, x2, y2], dim=-1)}
    labels = bounding_boxes.get("labels")
    if labels is not None:
        result["labels"] = torch.where((x2 - x1) * (y2 - y1) > 0, labels, -1)
    return result


def affine_transform(boxes, angle, translate_x, translate_y, scale, shear_x, shear_y, height, width,
                     center_x=None, center_y=None, bounding_box_format="xyxy"):
    """``xyxy`` boxes (batch, num_boxes, 4) through the affine map Keras's RandomRotation applies to the
    image (angles in degrees, translations as fractions of the size): each box becomes the box around
    its four transformed corners."""
    if bounding_box_format != "xyxy":
        raise NotImplementedError("affine_transform: only 'xyxy' boxes are supported, as in Keras.")
    center_x = 0.5 if center_x is None else center_x
    center_y = 0.5 if center_y is None else center_y
    matrix = _inverse_affine_matrix(center_x, center_y, angle, translate_x, translate_y, scale, shear_x, shear_y,
                                    height, width)
    boxes = boxes.to(matrix.dtype)
    x1, y1, x2, y2 = boxes.unbind(-1)
    corners = torch.stack([torch.stack(c, dim=-1) for c in ((x1, y1), (x2, y1), (x2, y2), (x1, y2))], dim=-2)
    corners = torch.cat([corners, torch.ones_like(corners[..., :1])], dim=-1)
    moved = torch.einsum("bnkj,bij->bnki", corners, matrix[:, :2, :])
    return torch.cat([moved.amin(dim=2), moved.amax(dim=2)], dim=-1)


def _inverse_affine_matrix(center_x, center_y, angle, translate_x, translate_y, scale, shear_x, shear_y, height,
                           width):
    radians = math.pi / 180.0
    cx, cy = center_x * (width - 1), center_y * (height - 1)
    rotation, sx, sy = -angle * radians, -shear_x * radians, -shear_y * radians
    tx, ty = -translate_x * (width - 1), -translate_y * (height - 1)
    a = torch.cos(rotation - sy) / torch.cos(sy)
    b = a * torch.tan(sx) + torch.sin(rotation)
    c = -torch.sin(rotation - sy) / torch.cos(sy)
    d = torch.cos(rotation) - c * torch.tan(sx)
    a0, a1, b0, b1 = d * scale, -b * scale, -c * scale, a * scale
    a2 = cx - a0 * (cx + tx) - a1 * (cy + ty)
    b2 = cy - b0 * (cx + tx) - b1 * (cy + ty)
    zeros, ones = torch.zeros_like(a0), torch.ones_like(a0)
    return torch.stack([a0, a1, a2, b0, b1, b2, zeros, zeros, ones], dim=-1).reshape(-1, 3, 3)


def crop(boxes, top, left, height, width, bounding_box_format="xyxy"):
    """``xyxy`` boxes in the frame of the window at (top, left) of size (height, width), clipped to it."""
    if bounding_box_format != "xyxy":
        raise NotImplementedError("crop: only 'xyxy' boxes are supported, as in Keras.")
    x1, y1, x2, y2 = boxes.unbind(-1)
    return torch.stack([torch.clip(x1 - left, 0, width), torch.clip(y1 - top, 0, height),
                        torch.clip(x2 - left, 0, width), torch.clip(y2 - top, 0, height)], dim=-1)


def pad(boxes, top, left, height=None, width=None, bounding_box_format="xyxy"):
    """``xyxy`` boxes shifted by the padding added at the top and left."""
    if bounding_box_format != "xyxy":
        raise NotImplementedError("pad: only 'xyxy' boxes are supported, as in Keras.")
    x1, y1, x2, y2 = boxes.unbind(-1)
    return torch.stack([x1 + left, y1 + top, x2 + left, y2 + top], dim=-1)


def _image_size(image_shape):
    """(height, width) from ``image_shape`` = (height, width, channels), or (None, None)."""
    if image_shape is None:
        return None, None
    height, width, _ = image_shape
    return height, width


def _variance(variance):
    if variance is None:
        return None
    tensor = torch.as_tensor(variance, dtype=torch.float32)
    if tensor.shape[-1:] != (4,):
        raise ValueError(f"`variance` must hold 4 numbers. Received: variance={variance}")
    return tensor


def _check_delta_format(value, name):
    if value not in ("center_xywh", "center_yxhw"):
        raise ValueError(f"`{name}` must be 'center_xywh' or 'center_yxhw'. Received: {name}={value!r}")


def encode_box_to_deltas(anchors, boxes, anchor_format, box_format, encoding_format="center_yxhw", variance=None,
                         image_shape=None):
    """Boxes ``(N, 4)`` or ``(batch, N, 4)`` as deltas from the anchors ``(N, 4)``: the centre offset over the
    anchor's size and the log of the size ratio, in ``encoding_format``, divided by ``variance`` when given.
    ``image_shape`` = (height, width, channels) for relative formats."""
    variance = _variance(variance)
    _check_delta_format(encoding_format, "encoding_format")
    height, width = _image_size(image_shape)
    anchors = convert_format(anchors, anchor_format, encoding_format, height, width)
    boxes = convert_format(boxes, box_format, encoding_format, height, width)
    epsilon = config.epsilon()
    anchor_size = torch.clamp(anchors[..., 2:], min=epsilon)
    deltas = torch.cat([(boxes[..., :2] - anchors[..., :2]) / anchor_size,
                        torch.log(torch.clamp(boxes[..., 2:], min=epsilon) / anchor_size)], dim=-1)
    return deltas if variance is None else deltas / variance


def decode_deltas_to_boxes(anchors, boxes_delta, anchor_format, box_format, encoded_format="center_yxhw",
                           variance=None, image_shape=None):
    """The inverse of ``encode_box_to_deltas``: boxes in ``box_format`` from deltas ``(N, 4)`` or
    ``(batch, N, 4)`` and anchors ``(N, 4)``; both may be dicts by feature level (the same keys)."""
    variance = _variance(variance)
    _check_delta_format(encoded_format, "encoded_format")
    height, width = _image_size(image_shape)

    def decode(anchor, delta):
        anchor = convert_format(anchor, anchor_format, encoded_format, height, width)
        delta = torch.as_tensor(delta, dtype=anchor.dtype)
        if variance is not None:
            delta = delta * variance
        box = torch.cat([delta[..., :2] * anchor[..., 2:] + anchor[..., :2],
                         torch.exp(delta[..., 2:]) * anchor[..., 2:]], dim=-1)
        return convert_format(box, encoded_format, box_format, height, width)

    if isinstance(anchors, dict) and isinstance(boxes_delta, dict):
        return {level: decode(anchor, boxes_delta[level]) for level, anchor in anchors.items()}
    return decode(anchors, boxes_delta)


def compute_iou(boxes1, boxes2, bounding_box_format, use_masking=False, mask_val=-1, image_shape=None):
    """Pairwise intersection over union: boxes ``(M, 4)`` or ``(batch, M, 4)`` against ``(N, 4)`` or
    ``(batch, N, 4)`` gives ``(M, N)`` or ``(batch, M, N)``. With ``use_masking``, pairs where either box is
    padding (all four values below 0) get ``mask_val``."""
    boxes1, boxes2 = torch.as_tensor(boxes1), torch.as_tensor(boxes2)
    for name, boxes in (("boxes1", boxes1), ("boxes2", boxes2)):
        if boxes.ndim not in (2, 3):
            raise ValueError(f"compute_iou: `{name}` must be (num_boxes, 4) or (batch, num_boxes, 4). Received: "
                             f"{name}.shape={tuple(boxes.shape)}")
    if "rel" in bounding_box_format and image_shape is None:
        raise ValueError("compute_iou: relative bounding box formats need the `image_shape` argument. Received: "
                         f"bounding_box_format={bounding_box_format!r}, image_shape=None")
    height, width = _image_size(image_shape)
    boxes1 = convert_format(boxes1, bounding_box_format, "xyxy", height, width)
    boxes2 = convert_format(boxes2, bounding_box_format, "xyxy", height, width)
    left = torch.maximum(boxes1[..., :, None, 0], boxes2[..., None, :, 0])
    top = torch.maximum(boxes1[..., :, None, 1], boxes2[..., None, :, 1])
    right = torch.minimum(boxes1[..., :, None, 2], boxes2[..., None, :, 2])
    bottom = torch.minimum(boxes1[..., :, None, 3], boxes2[..., None, :, 3])
    intersection = torch.clamp(bottom - top, min=0) * torch.clamp(right - left, min=0)
    area1, area2 = (((b[..., 3] - b[..., 1]) * (b[..., 2] - b[..., 0])) for b in (boxes1, boxes2))
    union = area1[..., :, None] + area2[..., None, :] - intersection
    iou = intersection / (union + config.epsilon())
    if not use_masking:
        return iou
    padding = (boxes1.amax(dim=-1) < 0)[..., :, None] | (boxes2.amax(dim=-1) < 0)[..., None, :]
    return torch.where(padding, torch.as_tensor(mask_val, dtype=iou.dtype), iou)


def compute_ciou(boxes1, boxes2, bounding_box_format, image_shape=None):
    """Complete IoU of matching boxes ``(..., 4)``: the IoU less the squared centre distance over the squared
    diagonal of the enclosing box and an aspect-ratio term (Zheng et al., 2020). Shape: the boxes' leading
    axes. Relative formats are refused, as in Keras."""
    if "rel" in bounding_box_format:
        raise ValueError("compute_ciou: relative bounding box formats are not supported. Received: "
                         f"bounding_box_format={bounding_box_format!r}")
    height, width = _image_size(image_shape)
    x1, y1, x2, y2 = convert_format(boxes1, bounding_box_format, "xyxy", height, width).unbind(-1)
    u1, v1, u2, v2 = convert_format(boxes2, bounding_box_format, "xyxy", height, width).unbind(-1)
    epsilon = config.epsilon()
    width1, height1 = x2 - x1, y2 - y1 + epsilon
    width2, height2 = u2 - u1, v2 - v1 + epsilon
    intersection = torch.clamp(torch.minimum(x2, u2) - torch.maximum(x1, u1), min=0) * \
        torch.clamp(torch.minimum(y2, v2) - torch.maximum(y1, v1), min=0)
    union = width1 * height1 + width2 * height2 - intersection + epsilon
    iou = intersection / (union + epsilon)
    diagonal = (torch.maximum(x2, u2) - torch.minimum(x1, u1)) ** 2 + \
        (torch.maximum(y2, v2) - torch.minimum(y1, v1)) ** 2 + epsilon
    distance = ((x1 + x2) / 2 - (u1 + u2) / 2) ** 2 + ((y1 + y2) / 2 - (v1 + v2) / 2) ** 2
    v = (4 / math.pi ** 2) * (torch.atan(width2 / height2) - torch.atan(width1 / height1)) ** 2
    alpha = v / (v - iou + (1 + epsilon))
    return iou - (distance / diagonal + v * alpha)


def densify_bounding_boxes(bounding_boxes, device=None):
    """A bounding-box dict with tensors: boxes float32, labels int; ragged Python lists (one list of boxes per
    image) are padded to the longest with box [0, 0, 0, 0] and label -1."""
    if not isinstance(bounding_boxes, dict) or "boxes" not in bounding_boxes or "labels" not in bounding_boxes:
        raise ValueError("Expected `bounding_boxes` to be a dict with keys 'boxes' and 'labels'. Received: "
                         f"bounding_boxes={bounding_boxes!r}")
    boxes, labels = bounding_boxes["boxes"], bounding_boxes["labels"]
    if isinstance(boxes, list) and boxes and isinstance(boxes[0], list) and boxes[0] \
            and isinstance(boxes[0][0], list):
        longest = max(len(b) for b in boxes)
        boxes = [b + [[0, 0, 0, 0]] * (longest - len(b)) for b in boxes]
        labels = [list(l) + [-1] * (longest - len(l)) for l in labels]
    boxes = torch.as_tensor(np.asarray(boxes, dtype=np.float32) if not isinstance(boxes, torch.Tensor) else boxes,
                            dtype=torch.float32, device=device)
    labels = torch.as_tensor(labels if isinstance(labels, torch.Tensor) else np.asarray(labels), device=device)
    if boxes.dim() not in (2, 3) or boxes.shape[-1] != 4:
        raise ValueError("Expected `bounding_boxes['boxes']` of shape (num_boxes, 4) or (batch, num_boxes, 4). "
                         f"Received: shape={tuple(boxes.shape)}")
    return {**bounding_boxes, "boxes": boxes, "labels": labels}
