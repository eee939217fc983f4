"""Bounding boxes: the format utilities against ``keras.utils.bounding_boxes``, the geometric layers' box
paths against Keras at the same transformation, and dict inputs end to end."""

import copy
import itertools

import numpy as np
import pytest
import torch

import lamina
from keras_reference import assert_close
from lamina.layers.image import bounding_boxes as boxes_lib

HEIGHT, WIDTH = 9, 12
BOXES = torch.tensor([[[1.0, 2.0, 6.0, 7.0], [3.0, 0.5, 11.0, 4.0], [0.0, 0.0, 0.0, 0.0]],
                      [[5.0, 1.0, 9.0, 8.5], [2.0, 3.0, 4.0, 5.0], [7.0, 6.0, 12.0, 9.0]]])
LABELS = torch.tensor([[1, 2, -1], [0, 3, 1]])
IMAGES = torch.rand(2, HEIGHT, WIDTH, 3) * 255


def _boxes(bounding_box_format="xyxy"):
    return boxes_lib.convert_format({"boxes": BOXES.clone(), "labels": LABELS.clone()}, "xyxy", bounding_box_format,
                                    HEIGHT, WIDTH)


@pytest.mark.parametrize("source,target", list(itertools.product(boxes_lib.SUPPORTED_FORMATS, repeat=2)))
def test_convert_format_matches_keras(keras, source, target):
    boxes = boxes_lib.convert_format(BOXES, "xyxy", source, HEIGHT, WIDTH)
    expected = keras.utils.bounding_boxes.convert_format(boxes.clone(), source, target, height=HEIGHT, width=WIDTH)
    assert_close(boxes_lib.convert_format(boxes, source, target, HEIGHT, WIDTH), expected)


def test_box_utilities_match_keras(keras):
    utils = keras.utils.bounding_boxes
    shifted = {"boxes": BOXES * 1.5 - 2.0, "labels": LABELS.clone()}
    ours, theirs = boxes_lib.clip_to_image_size(shifted, HEIGHT, WIDTH), utils.clip_to_image_size(
        copy.deepcopy(shifted), height=HEIGHT, width=WIDTH)
    assert_close(ours["boxes"], theirs["boxes"])
    np.testing.assert_array_equal(ours["labels"].numpy(), keras.ops.convert_to_numpy(theirs["labels"]))
    angle, zeros, ones = torch.tensor([30.0, -50.0]), torch.zeros(2), torch.ones(2)
    args = (angle, zeros + 0.1, zeros - 0.2, ones * 1.2, zeros + 10.0, zeros - 5.0, HEIGHT, WIDTH)
    assert_close(boxes_lib.affine_transform(BOXES, *args), utils.affine_transform(BOXES.clone(), *args))
    assert_close(boxes_lib.crop(BOXES, 1, 2, 5, 6), utils.crop(BOXES.clone(), 1, 2, 5, 6))
    assert_close(boxes_lib.pad(BOXES, 1, 2), utils.pad(BOXES.clone(), 1, 2))


LAYERS = [  # (class name, kwargs, formats)
    ("Resizing", {"height": 6, "width": 5}, ("xyxy", "rel_xyxy", "center_xywh")),
    ("Resizing", {"height": 6, "width": 5, "pad_to_aspect_ratio": True}, ("xyxy", "yxyx")),
    ("Resizing", {"height": 6, "width": 5, "crop_to_aspect_ratio": True}, ("xyxy", "rel_xywh")),
    ("CenterCrop", {"height": 6, "width": 5}, ("xyxy", "xywh")),
    ("CenterCrop", {"height": 14, "width": 5}, ("xyxy", "rel_center_xywh")),
    ("RandomFlip", {"seed": 1}, ("xyxy", "rel_yxyx")), ("RandomFlip", {"mode": "horizontal", "seed": 2}, ("xyxy",)),
    ("RandomTranslation", {"height_factor": 0.3, "width_factor": 0.3, "seed": 1}, ("xyxy", "center_yxhw")),
    ("RandomZoom", {"height_factor": 0.4, "width_factor": 0.2, "seed": 1}, ("xyxy", "rel_xyxy")),
    ("RandomShear", {"x_factor": 0.3, "y_factor": 0.2, "seed": 1}, ("xyxy", "xywh")),
    ("RandomRotation", {"factor": 0.2, "seed": 1}, ("xyxy",)),  # Keras assumes xyxy boxes here
    ("RandomPerspective", {"scale": 0.4, "seed": 1}, ("xyxy",)),  # Keras returns xyxy whatever the format
]


def _random_boxes(rng, shape, bounding_box_format, height=HEIGHT, width=WIDTH):
    """xyxy boxes inside a (height, width) image, some overlapping, in ``bounding_box_format``."""
    corners = rng.uniform(0, 1, shape + (2, 2)) * np.array([width, height])
    xyxy = np.concatenate([corners.min(axis=-2), corners.max(axis=-2) + 0.5], axis=-1).astype("float32")
    return boxes_lib.convert_format(torch.tensor(xyxy), "xyxy", bounding_box_format, height, width)


IOU_SHAPES = [((5,), (4,)), ((2, 5), (2, 3)), ((2, 5), (3,)), ((6,), (6,))]


@pytest.mark.parametrize("bounding_box_format", ["xyxy", "yxyx", "xywh", "center_xywh", "rel_xyxy", "rel_yxyx"])
@pytest.mark.parametrize("shapes", IOU_SHAPES, ids=str)
@pytest.mark.parametrize("use_masking", [False, True])
def test_compute_iou_matches_keras(keras, bounding_box_format, shapes, use_masking):
    rng = np.random.default_rng(len(bounding_box_format) + len(shapes[0]))
    boxes1, boxes2 = (_random_boxes(rng, shape, bounding_box_format) for shape in shapes)
    boxes1[..., -1:, :] = -1.0  # a padded slot: masked with use_masking
    boxes2[..., :1, :] = boxes1[..., :1, :] if boxes1.ndim == boxes2.ndim else boxes2[..., :1, :]
    image_shape = (HEIGHT, WIDTH, 3) if "rel" in bounding_box_format else None
    kwargs = dict(use_masking=use_masking, mask_val=-2.5, image_shape=image_shape)
    if use_masking and boxes1.ndim != boxes2.ndim:  # Keras transposes boxes2's mask with boxes1's rank and fails
        batched = boxes2.expand(boxes1.shape[0], *boxes2.shape) if boxes2.ndim == 2 else boxes2
        assert_close(lamina.utils.bounding_boxes.compute_iou(boxes1, boxes2, bounding_box_format, **kwargs),
                     lamina.utils.bounding_boxes.compute_iou(boxes1, batched, bounding_box_format, **kwargs))
        boxes2 = batched
    expected = keras.utils.bounding_boxes.compute_iou(boxes1.clone(), boxes2.clone(), bounding_box_format, **kwargs)
    assert_close(lamina.utils.bounding_boxes.compute_iou(boxes1, boxes2, bounding_box_format, **kwargs), expected)


@pytest.mark.parametrize("bounding_box_format", ["xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw"])
@pytest.mark.parametrize("shape", [(7,), (2, 5)], ids=str)
def test_compute_ciou_matches_keras(keras, bounding_box_format, shape):
    rng = np.random.default_rng(len(shape) * 10 + len(bounding_box_format))
    boxes1, boxes2 = (_random_boxes(rng, shape, bounding_box_format) for _ in range(2))
    boxes2[..., 0, :] = boxes1[..., 0, :]  # a perfect match: CIoU 1
    expected = keras.utils.bounding_boxes.compute_ciou(boxes1.clone(), boxes2.clone(), bounding_box_format)
    ours = lamina.utils.bounding_boxes.compute_ciou(boxes1, boxes2, bounding_box_format)
    assert ours.shape == expected.shape == shape
    assert_close(ours, expected)


@pytest.mark.parametrize("anchor_format,box_format", [("xyxy", "xyxy"), ("yxyx", "xywh"), ("center_xywh", "xyxy"),
                                                      ("rel_xyxy", "rel_yxyx"), ("xyxy", "rel_center_xywh")])
@pytest.mark.parametrize("encoding_format", ["center_yxhw", "center_xywh"])
@pytest.mark.parametrize("variance", [None, [0.1, 0.1, 0.2, 0.2]])
@pytest.mark.parametrize("batched", [False, True])
def test_box_deltas_match_keras_and_decode_what_they_encode(keras, anchor_format, box_format, encoding_format,
                                                           variance, batched):
    rng = np.random.default_rng(3)
    anchors = _random_boxes(rng, (6,), anchor_format)
    boxes = _random_boxes(rng, (2, 6) if batched else (6,), box_format)
    kwargs = dict(variance=variance, image_shape=(HEIGHT, WIDTH, 3))
    theirs = keras.utils.bounding_boxes
    ours = lamina.utils.bounding_boxes
    deltas = ours.encode_box_to_deltas(anchors, boxes, anchor_format, box_format, encoding_format, **kwargs)
    assert_close(deltas, theirs.encode_box_to_deltas(anchors.clone(), boxes.clone(), anchor_format, box_format,
                                                     encoding_format, **kwargs))
    decoded = ours.decode_deltas_to_boxes(anchors, deltas, anchor_format, box_format, encoding_format, **kwargs)
    assert_close(decoded, theirs.decode_deltas_to_boxes(anchors.clone(), deltas.clone(), anchor_format, box_format,
                                                        encoding_format, **kwargs))
    assert_close(decoded, boxes, 1e-4, "decode(encode(boxes))")
    levels = ours.decode_deltas_to_boxes({"p3": anchors, "p4": anchors[:2]}, {"p3": deltas, "p4": deltas[..., :2, :]},
                                         anchor_format, box_format, encoding_format, **kwargs)
    assert_close(levels["p4"], decoded[..., :2, :])


def test_box_deltas_and_iou_refuse_bad_arguments():
    boxes = torch.tensor([[1.0, 2.0, 6.0, 7.0]])
    utils = lamina.utils.bounding_boxes
    with pytest.raises(ValueError, match=r"`variance` must hold 4 numbers. Received: variance=\[0.1, 0.2\]"):
        utils.encode_box_to_deltas(boxes, boxes, "xyxy", "xyxy", variance=[0.1, 0.2])
    with pytest.raises(ValueError, match=r"`encoding_format` must be 'center_xywh' or 'center_yxhw'.*'xyxy'"):
        utils.encode_box_to_deltas(boxes, boxes, "xyxy", "xyxy", encoding_format="xyxy")
    with pytest.raises(ValueError, match=r"`encoded_format` must be"):
        utils.decode_deltas_to_boxes(boxes, boxes, "xyxy", "xyxy", encoded_format="yxyx")
    with pytest.raises(ValueError, match=r"compute_iou: `boxes1` must be \(num_boxes, 4\).*shape=\(4,\)"):
        utils.compute_iou(boxes[0], boxes, "xyxy")
    with pytest.raises(ValueError, match=r"compute_iou: relative bounding box formats need the `image_shape`"):
        utils.compute_iou(boxes, boxes, "rel_xyxy")
    with pytest.raises(ValueError, match=r"compute_ciou: relative bounding box formats are not supported"):
        utils.compute_ciou(boxes, boxes, "rel_xyxy")


@pytest.mark.parametrize("name,kwargs,formats", LAYERS, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(LAYERS)])
def test_layer_box_paths_match_keras(keras, name, kwargs, formats):
    for bounding_box_format in formats:
        ours = getattr(lamina.layers, name)(**kwargs, bounding_box_format=bounding_box_format)
        theirs = getattr(keras.layers, name)(**kwargs, bounding_box_format=bounding_box_format)
        transformation = ours.get_random_transformation(IMAGES, training=True)
        expected = theirs.transform_bounding_boxes(_boxes(bounding_box_format), copy.deepcopy(transformation),
                                                   training=True)
        actual = ours.transform_bounding_boxes(_boxes(bounding_box_format), transformation, training=True)
        assert_close(actual["boxes"], expected["boxes"], what=f"{name} {bounding_box_format}")
        np.testing.assert_array_equal(actual["labels"].numpy(), keras.ops.convert_to_numpy(expected["labels"]))


def test_random_crop_moves_boxes_with_the_window():
    """Keras 3.15 subtracts the vertical offset from x (and the horizontal one from y); the boxes here follow
    the crop window, then the resize to the target size."""
    layer = lamina.layers.RandomCrop(5, 6, seed=3, bounding_box_format="xyxy")
    transformation = layer.get_random_transformation(IMAGES, training=True)
    top, left = transformation["top"], transformation["left"]
    boxes = layer.transform_bounding_boxes(_boxes(), transformation)["boxes"]
    expected = torch.stack([(BOXES[..., 0] - left).clamp(0, 6), (BOXES[..., 1] - top).clamp(0, 5),
                            (BOXES[..., 2] - left).clamp(0, 6), (BOXES[..., 3] - top).clamp(0, 5)], -1)
    assert_close(boxes, expected)
    centre = layer.get_random_transformation(IMAGES, training=False)  # 9x12 -> the centred 9x10.8 window, resized
    resized = layer.transform_bounding_boxes(_boxes(), centre)["boxes"]
    scale = torch.tensor([6 / centre["crop_width"], 5 / centre["crop_height"]] * 2)
    left = centre["left"]
    expected = torch.stack([(BOXES[..., 0] - left).clamp(0, centre["crop_width"]), BOXES[..., 1],
                            (BOXES[..., 2] - left).clamp(0, centre["crop_width"]), BOXES[..., 3]], -1) * scale
    assert_close(resized, expected)


def test_dict_inputs_transform_everything_together():
    layer = lamina.layers.RandomFlip(mode="horizontal", seed=4, bounding_box_format="xyxy")
    masks = (IMAGES[..., :1] > 128).to(torch.uint8)
    data = {"images": IMAGES.numpy(), "labels": np.eye(2, dtype="float32"),
            "bounding_boxes": {"boxes": BOXES.numpy(), "labels": LABELS.numpy()}, "segmentation_masks": masks}
    outputs = layer(data, training=True)
    flips = lamina.layers.RandomFlip(mode="horizontal", seed=4).get_random_transformation(IMAGES)["flips"].flatten()
    for i, flipped in enumerate(flips.tolist()):
        expected_image = IMAGES[i].flip(1) if flipped else IMAGES[i]
        assert torch.equal(outputs["images"][i], expected_image)
        assert torch.equal(outputs["segmentation_masks"][i], (masks[i].flip(1) if flipped else masks[i]).float())
        x1, y1, x2, y2 = BOXES[i].unbind(-1)
        expected_boxes = torch.stack([WIDTH - x2, y1, WIDTH - x1, y2], -1) if flipped else BOXES[i]
        assert_close(outputs["bounding_boxes"]["boxes"][i], expected_boxes)
    assert torch.equal(outputs["labels"], torch.eye(2))
    assert set(outputs) == set(data)
    untouched = layer(data)  # inference: nothing moves
    assert torch.equal(untouched["images"], IMAGES) and torch.equal(untouched["bounding_boxes"]["boxes"], BOXES)


def test_single_image_dicts_and_ragged_box_lists():
    layer = lamina.layers.Resizing(6, 8, bounding_box_format="xyxy")
    single = layer({"images": IMAGES[0], "bounding_boxes": {"boxes": BOXES[0], "labels": LABELS[0]}})
    assert single["images"].shape == (6, 8, 3) and single["bounding_boxes"]["boxes"].shape == (3, 4)
    assert_close(single["bounding_boxes"]["boxes"], BOXES[0] * torch.tensor([8 / WIDTH, 6 / HEIGHT] * 2))
    ragged = {"boxes": [[[1.0, 1.0, 4.0, 4.0]], [[0.0, 2.0, 3.0, 5.0], [2.0, 2.0, 6.0, 6.0]]], "labels": [[3], [1, 2]]}
    dense = layer({"images": IMAGES, "bounding_boxes": ragged})["bounding_boxes"]
    assert dense["boxes"].shape == (2, 2, 4) and dense["labels"].tolist() == [[3, -1], [1, 2]]


def test_mix_up_keeps_both_images_boxes_with_their_labels():
    layer = lamina.layers.MixUp(seed=2, bounding_box_format="xyxy")
    transformation = layer.get_random_transformation(IMAGES)
    order = transformation["permutation_order"]
    mixed = layer.transform_bounding_boxes(_boxes(), transformation)
    assert torch.equal(mixed["boxes"], torch.cat([BOXES, BOXES[order]], dim=1))
    assert torch.equal(mixed["labels"], torch.cat([LABELS, LABELS[order]], dim=1))  # Keras: along the batch axis


def test_boxes_need_a_format_and_cut_mix_refuses_them():
    with pytest.raises(ValueError, match="bounding_box_format"):
        lamina.layers.RandomFlip()({"images": IMAGES, "bounding_boxes": {"boxes": BOXES, "labels": LABELS}},
                                   training=True)
    with pytest.raises(ValueError, match="bounding_box_format"):
        lamina.layers.RandomFlip(bounding_box_format="xyzw")
    with pytest.raises(NotImplementedError, match="CutMix"):
        lamina.layers.CutMix(bounding_box_format="xyxy")(
            {"images": IMAGES, "bounding_boxes": {"boxes": BOXES, "labels": LABELS}}, training=True)
