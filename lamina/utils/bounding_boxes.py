"""``keras.utils.bounding_boxes``: box formats, clipping, crops and pads, affine maps, IoU and anchor deltas
(lamina/layers/image/bounding_boxes.py holds them, for the image layers and for users alike)."""

from lamina.layers.image.bounding_boxes import (affine_transform, clip_to_image_size, compute_ciou,  # noqa: F401
                                                compute_iou, convert_format, crop, decode_deltas_to_boxes,
                                                encode_box_to_deltas, pad)
