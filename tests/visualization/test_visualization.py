"""lamina.visualization against Keras 3.15's keras.visualization (torch backend): the drawn arrays exactly,
the galleries' axes, shown images, titles and legends; and the departures where Keras raises or misbehaves
(docs/visualization.md)."""

import importlib.util
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.image  # noqa: E402
import matplotlib.patches  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import lamina.visualization as V  # noqa: E402

needs_cv2 = pytest.mark.skipif(importlib.util.find_spec("cv2") is None, reason="needs OpenCV (opencv-python-headless)")

FORMATS = ("xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy", "rel_yxyx", "rel_xywh",
           "rel_center_xywh")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def kv(keras):
    return keras.visualization


def _images(rng, shape, kind):
    if kind == "uint8":
        return rng.integers(0, 256, shape).astype("uint8")
    if kind == "float01":
        return rng.random(shape).astype("float32")
    if kind == "float255":  # a few values outside [0, 255] for the clip
        return rng.uniform(-20, 275, shape).astype("float32")
    return rng.uniform(-1, 1, shape).astype("float32")  # "float-1_1"


def _boxes(keras, rng, batch, height, width, box_format, num_boxes=4):
    """Boxes in ``box_format`` (some past the image's edges, some near the top for the label placement),
    labels with -1 (not drawn) and confidences."""
    x1 = rng.uniform(-5, width * 0.7, (batch, num_boxes))
    y1 = rng.uniform(-5, height * 0.7, (batch, num_boxes))
    x2 = x1 + rng.uniform(3, width * 0.6, (batch, num_boxes))
    y2 = y1 + rng.uniform(3, height * 0.6, (batch, num_boxes))
    xyxy = np.stack([x1, y1, x2, y2], axis=-1).astype("float32")
    boxes = keras.utils.bounding_boxes.convert_format(xyxy, "xyxy", box_format, height=height, width=width)
    labels = rng.integers(-1, 4, (batch, num_boxes))
    return {"boxes": np.asarray(boxes), "labels": labels,
            "confidences": rng.random((batch, num_boxes)).astype("float32")}


def _container(array, kind):
    return {"numpy": array, "torch": torch.as_tensor(array), "list": array.tolist()}[kind]


def _keras_figure(call):
    call()
    return plt.gcf()


def _figure(fig):
    """What a gallery shows: axes, images, titles, legends, size."""
    legends = [([t.get_text() for t in legend.get_texts()],
                [tuple(np.round(h.get_facecolor(), 6)) for h in legend.legend_handles]) for legend in fig.legends]
    return {"axes": len(fig.axes), "size": tuple(fig.get_size_inches()), "legends": legends,
            "titles": [(ax.get_title(), ax.title.get_fontsize()) for ax in fig.axes],
            "axis_on": [ax.axison for ax in fig.axes], "image_counts": [len(ax.images) for ax in fig.axes]}


def _assert_same_figure(ours, theirs):
    assert ours is not theirs
    assert _figure(ours) == _figure(theirs)
    for ax_ours, ax_theirs in zip(ours.axes, theirs.axes):
        for im_ours, im_theirs in zip(ax_ours.images, ax_theirs.images):
            a, b = np.asarray(im_ours.get_array()), np.asarray(im_theirs.get_array())
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_array_equal(a, b)


def _both_figures(keras_call, lamina_call):
    theirs = _keras_figure(keras_call)
    lamina_call()
    ours = plt.gcf()
    _assert_same_figure(ours, theirs)
    return ours


# ---------------------------------------------------------------- draw_bounding_boxes

@needs_cv2
@pytest.mark.parametrize("box_format", FORMATS)
@pytest.mark.parametrize("kind", ["uint8", "float01", "float255"])
def test_draw_bounding_boxes_matches_keras_over_formats_and_value_kinds(keras, kv, box_format, kind):
    rng = np.random.default_rng(FORMATS.index(box_format) * 10 + len(kind))
    images = _images(rng, (2, 48, 64, 3), kind)
    boxes = _boxes(keras, rng, 2, 48, 64, box_format)
    mapping = {0: "cat", 2: "dog", 3: "bird"}
    expected = kv.draw_bounding_boxes(images, dict(boxes), box_format, class_mapping=mapping)
    ours = V.draw_bounding_boxes(images, dict(boxes), box_format, class_mapping=mapping)
    assert isinstance(ours, np.ndarray) and ours.dtype == expected.dtype == np.uint8
    np.testing.assert_array_equal(ours, expected)
    assert (ours != np.clip(images, 0, 255 if kind != "float01" else 1).astype("uint8")).any()


@needs_cv2
@pytest.mark.parametrize("options", [
    {}, dict(color=(255, 0, 0)), dict(line_thickness=1, text_thickness=2), dict(line_thickness=4, text_thickness=0),
    dict(line_thickness=3, text_thickness=None), dict(font_scale=0.4), dict(font_scale=2.0),
    dict(class_mapping=None), dict(with_confidences=False), dict(batch=1), dict(batch=4, size=(20, 90)),
    dict(container="torch"), dict(container="list"), dict(box_format="XYWH"), dict(channels=1), dict(channels=4),
])
def test_draw_bounding_boxes_matches_keras_over_options(keras, kv, options):
    options = dict(options)
    rng = np.random.default_rng(len(str(options)))
    batch, (height, width) = options.pop("batch", 3), options.pop("size", (40, 56))
    box_format = options.pop("box_format", "center_xywh")
    images = _images(rng, (batch, height, width, options.pop("channels", 3)), "uint8")
    boxes = _boxes(keras, rng, batch, height, width, box_format.lower(), num_boxes=5)
    if not options.pop("with_confidences", True):
        del boxes["confidences"]
    container = options.pop("container", "numpy")
    options.setdefault("class_mapping", {0: "a", 1: "bee", 2: "sea", 3: "dee"})
    expected = kv.draw_bounding_boxes(images, dict(boxes), box_format, **options)
    ours = V.draw_bounding_boxes(_container(images, container),
                                 {k: _container(v, container) for k, v in boxes.items()}, box_format, **options)
    np.testing.assert_array_equal(ours, expected)


@needs_cv2
def test_draw_bounding_boxes_channels_first_keeps_the_layout(keras, kv):
    # Keras hands the channels_first array itself to OpenCV, which refuses it; lamina draws as on the
    # channels_last images and returns the input's layout.
    rng = np.random.default_rng(3)
    images = _images(rng, (2, 30, 40, 3), "uint8")
    boxes = _boxes(keras, rng, 2, 30, 40, "rel_xyxy")
    expected = kv.draw_bounding_boxes(images, dict(boxes), "rel_xyxy", class_mapping={1: "one"})
    ours = V.draw_bounding_boxes(images.transpose(0, 3, 1, 2), dict(boxes), "rel_xyxy", class_mapping={1: "one"},
                                 data_format="channels_first")
    np.testing.assert_array_equal(ours, expected.transpose(0, 3, 1, 2))
    with pytest.raises(Exception):
        kv.draw_bounding_boxes(images.transpose(0, 3, 1, 2), dict(boxes), "rel_xyxy", data_format="channels_first")


@needs_cv2
def test_draw_bounding_boxes_ragged_lists_are_padded(kv):
    images = np.zeros((2, 32, 32, 3), "uint8")
    ragged = {"boxes": [[[2, 3, 20, 25]], [[1, 1, 8, 9], [10, 12, 30, 30]]], "labels": [[0], [1, 0]]}
    padded = {"boxes": np.array([[[2, 3, 20, 25], [0, 0, 0, 0]], [[1, 1, 8, 9], [10, 12, 30, 30]]], "float32"),
              "labels": np.array([[0, -1], [1, 0]])}
    np.testing.assert_array_equal(V.draw_bounding_boxes(images, ragged, "xyxy", class_mapping={0: "x"}),
                                  kv.draw_bounding_boxes(images, padded, "xyxy", class_mapping={0: "x"}))


@needs_cv2
def test_draw_bounding_boxes_leaves_the_inputs_alone():
    images = np.full((1, 16, 16, 3), 7, "uint8")
    boxes = {"boxes": np.array([[[1.0, 1.0, 9.0, 9.0]]]), "labels": np.array([[0]])}
    out = V.draw_bounding_boxes(images, boxes, "xyxy")
    assert (images == 7).all() and boxes["boxes"].dtype == np.float64 and (out != 7).any()


@needs_cv2
@pytest.mark.parametrize("call, error, match", [
    (lambda: V.draw_bounding_boxes(np.zeros((8, 8, 3)), {"boxes": [], "labels": []}, "xyxy"), ValueError,
     r"draw_bounding_boxes: `images` must be a batched 4D tensor.*Received: images.shape=\(8, 8, 3\)"),
    (lambda: V.draw_bounding_boxes(np.zeros((1, 8, 8, 3)), [[0, 0, 1, 1]], "xyxy"), TypeError,
     r"draw_bounding_boxes: `bounding_boxes` should be a dict.*of type <class 'list'>"),
    (lambda: V.draw_bounding_boxes(np.zeros((1, 8, 8, 3)), {"boxes": np.zeros((1, 1, 4))}, "xyxy"), ValueError,
     r"draw_bounding_boxes: .*'boxes' and 'labels' keys. Received: keys \['boxes'\]"),
    (lambda: V.draw_bounding_boxes(np.zeros((1, 8, 8, 3)), {"boxes": np.zeros((1, 1, 4)), "labels": [[0]]}, "xyz"),
     ValueError, r"draw_bounding_boxes: `bounding_box_format` must be one of .*Received: bounding_box_format='xyz'"),
    (lambda: V.draw_bounding_boxes(np.zeros((2, 8, 8, 3)), {"boxes": np.zeros((1, 1, 4)), "labels": [[0]]}, "xyxy"),
     ValueError, r"draw_bounding_boxes: `bounding_boxes\['boxes'\]` must have shape \(batch, num_boxes, 4\) with "
                 r"the images' batch size 2. Received: shape=\(1, 1, 4\)"),
    (lambda: V.draw_bounding_boxes(np.zeros((1, 8, 8, 3)), {"boxes": np.zeros((1, 2, 4)), "labels": [[0]]}, "xyxy"),
     ValueError, r"`bounding_boxes\['labels'\]` must have shape \(batch, num_boxes\) = \(1, 2\).*\(1, 1\)"),
    (lambda: V.draw_bounding_boxes(np.zeros((1, 3, 20, 20)), {"boxes": np.zeros((1, 1, 4)), "labels": [[0]]},
                                   "xyxy"), ValueError, r"look like channels_first images: pass "
                                                        r"data_format='channels_first'"),
    (lambda: V.draw_bounding_boxes(np.zeros((1, 8, 8, 3)), {"boxes": np.zeros((1, 1, 4)), "labels": [[0]]}, "xyxy",
                                   data_format="NHWC"), ValueError,
     r"draw_bounding_boxes: the `data_format` argument must be 'channels_last' or 'channels_first'"),
    (lambda: V.draw_bounding_boxes("picture", {"boxes": np.zeros((1, 1, 4)), "labels": [[0]]}, "xyxy"), TypeError,
     r"draw_bounding_boxes: `images` must hold numbers"),
])
def test_draw_bounding_boxes_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_draw_bounding_boxes_without_opencv(monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(ImportError, match=r"`draw_bounding_boxes` function requires the `cv2` package \(OpenCV\). "
                                          r"Please install it with `pip install opencv-python`"):
        V.draw_bounding_boxes(np.zeros((1, 8, 8, 3)), {"boxes": np.zeros((1, 1, 4)), "labels": [[0]]}, "xyxy")


@needs_cv2
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_and_bfloat16_tensors_are_drawn_as_their_cpu_copies(keras):
    rng = np.random.default_rng(9)
    images = _images(rng, (2, 20, 24, 3), "float01")
    boxes = _boxes(keras, rng, 2, 20, 24, "xyxy")
    masks = rng.integers(0, 3, (2, 20, 24)).astype("int64")
    on_gpu = {k: torch.as_tensor(v, device="cuda") for k, v in boxes.items()}
    np.testing.assert_array_equal(V.draw_bounding_boxes(torch.as_tensor(images, device="cuda"), on_gpu, "xyxy"),
                                  V.draw_bounding_boxes(images, dict(boxes), "xyxy"))
    gpu_images = torch.as_tensor(images, device="cuda", dtype=torch.bfloat16)
    np.testing.assert_array_equal(
        V.draw_segmentation_masks(gpu_images, torch.as_tensor(masks, device="cuda"), num_classes=3),
        V.draw_segmentation_masks(gpu_images.float().cpu().numpy(), masks, num_classes=3))


def test_import_lamina_visualization_imports_neither_matplotlib_nor_opencv():
    code = "import sys, lamina, lamina.visualization; print('matplotlib' in sys.modules, 'cv2' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


# ---------------------------------------------------------------- draw_segmentation_masks

@pytest.mark.parametrize("options", [
    {}, dict(alpha=0.0), dict(alpha=0.3), dict(alpha=1.0), dict(blend=False), dict(blend=False, alpha=0.2),
    dict(ignore_index=0), dict(ignore_index=2), dict(color_mapping={0: (10, 20, 30), 1: (255, 0, 0), 2: (0, 255, 0),
                                                                    3: (1, 2, 250), 4: [7, 7, 7]}),
    dict(kind="float255"), dict(kind="float01"), dict(batch=1), dict(batch=4), dict(mask_dtype="int64"),
    dict(mask_dtype="uint8", low=0), dict(container="torch"), dict(container="list"),
    dict(data_format="channels_first"), dict(data_format="channels_first", blend=False),
])
def test_draw_segmentation_masks_matches_keras(kv, options):
    options = dict(options)
    rng = np.random.default_rng(len(str(options)))
    batch, kind, container = options.pop("batch", 2), options.pop("kind", "uint8"), options.pop("container", "numpy")
    images = _images(rng, (batch, 12, 17, 3), kind)
    masks = rng.integers(options.pop("low", -1), 5, (batch, 12, 17, 1)).astype(options.pop("mask_dtype", "int32"))
    if options.get("data_format") == "channels_first":
        images, masks = images.transpose(0, 3, 1, 2), masks.transpose(0, 3, 1, 2)
    expected = np.asarray(kv.draw_segmentation_masks(images, masks, num_classes=5, **options))
    ours = V.draw_segmentation_masks(_container(images, container), _container(masks, container), num_classes=5,
                                     **options)
    assert isinstance(ours, np.ndarray) and ours.dtype == expected.dtype and ours.shape == expected.shape
    np.testing.assert_array_equal(ours, expected)
    assert ours.shape[1:3] == (12, 17)  # channels_last out, whatever the data format (as Keras)


def test_draw_segmentation_masks_takes_masks_without_a_channel_axis(kv):
    # Keras's docstring allows (batch, height, width) masks, its code raises for them.
    rng = np.random.default_rng(0)
    images, masks = _images(rng, (2, 9, 11, 3), "uint8"), rng.integers(0, 3, (2, 9, 11, 1)).astype("int32")
    expected = kv.draw_segmentation_masks(images, masks, num_classes=3)
    np.testing.assert_array_equal(V.draw_segmentation_masks(images, masks[..., 0], num_classes=3), expected)
    np.testing.assert_array_equal(V.draw_segmentation_masks(images.transpose(0, 3, 1, 2), masks[..., 0], num_classes=3,
                                                            data_format="channels_first"), expected)
    with pytest.raises(ValueError):
        kv.draw_segmentation_masks(images, masks[..., 0], num_classes=3)


@pytest.mark.parametrize("num_classes", [None, 2, 3])
def test_draw_segmentation_masks_leaves_classes_past_num_classes_unpainted(kv, num_classes):
    # Keras on torch raises for a class >= num_classes (the default num_classes, the maximum, included);
    # on JAX/TensorFlow such pixels are not painted. Keras-torch paints nothing for negative classes
    # either: the reference is the same masks with those classes made negative.
    rng = np.random.default_rng(5)
    images, masks = _images(rng, (2, 10, 13, 3), "uint8"), rng.integers(-1, 4, (2, 10, 13, 1)).astype("int32")
    limit = 3 if num_classes is None else num_classes
    reference = np.where(masks >= limit, -2, masks)
    expected = kv.draw_segmentation_masks(images, reference, num_classes=limit)
    np.testing.assert_array_equal(V.draw_segmentation_masks(images, masks, num_classes=num_classes), expected)
    with pytest.raises(RuntimeError):
        kv.draw_segmentation_masks(images, masks, num_classes=num_classes)


# Keras 3.15.1 on JAX (KERAS_BACKEND=jax, CPU), once:
#   images = np.random.default_rng(8).integers(0, 256, (1, 3, 4, 3)).astype("float32")
#   keras.visualization.draw_segmentation_masks(images, JAX_MASKS[..., None], **kwargs)
JAX_IMAGES = [[[[184, 83, 60], [252, 45, 81], [164, 201, 163], [222, 12, 100]],
               [[146, 112, 99], [95, 10, 27], [138, 122, 245], [61, 217, 65]],
               [[36, 47, 101], [49, 229, 208], [205, 108, 7], [65, 114, 151]]]]
JAX_MASKS = [[[-1, 0, 1, 2], [3, 4, 5, 5], [2, -1, 4, 0]]]
JAX_CASES = [
    ({}, [[[[184, 83, 60], [50, 9, 16], [33, 141, 57], [46, 205, 69]],
           [[31, 123, 94], [22, 204, 104], [138, 122, 245], [61, 217, 65]],
           [[8, 212, 69], [49, 229, 208], [44, 224, 100], [13, 22, 30]]]]),
    ({"num_classes": 4, "alpha": 0.35}, [[[[184, 83, 60], [163, 29, 52], [106, 175, 116], [144, 96, 86]],
                                          [[95, 116, 96], [95, 10, 27], [138, 122, 245], [61, 216, 65]],
                                          [[24, 119, 87], [49, 229, 208], [205, 108, 7], [42, 74, 98]]]]),
    ({"num_classes": 6, "ignore_index": 2, "blend": False}, [[[[184, 83, 60], [0, 0, 0], [1, 127, 31], [2, 254, 62]],
                                                              [[3, 126, 93], [4, 253, 124], [5, 125, 155],
                                                               [5, 125, 155]],
                                                              [[2, 254, 62], [49, 229, 208], [4, 253, 124],
                                                               [0, 0, 0]]]]),
]


@pytest.mark.parametrize("kwargs, expected", JAX_CASES)
def test_draw_segmentation_masks_matches_keras_on_jax(kwargs, expected):
    images = np.array(JAX_IMAGES, "float32")
    ours = V.draw_segmentation_masks(images, np.array(JAX_MASKS, "int32"), **kwargs)
    assert ours.dtype == (np.float32 if kwargs.get("blend", True) is False else np.uint8)
    np.testing.assert_array_equal(ours, np.array(expected))


@pytest.mark.parametrize("call, error, match", [
    (lambda: V.draw_segmentation_masks(np.zeros((4, 4, 3)), np.zeros((4, 4), "int32")), ValueError,
     r"draw_segmentation_masks: `images` must be a batched 4D tensor.*Received: images.shape=\(4, 4, 3\)"),
    (lambda: V.draw_segmentation_masks(np.zeros((1, 4, 4, 3)), np.zeros((1, 4, 4, 1), "float32")), TypeError,
     r"draw_segmentation_masks: `segmentation_masks` must be in integer dtype. Received: "
     r"segmentation_masks.dtype=float32"),
    (lambda: V.draw_segmentation_masks(np.zeros((1, 4, 4, 3)), np.zeros((1, 5, 4, 1), "int32")), ValueError,
     r"`segmentation_masks` must have the images' batch, height and width: \(1, 4, 4\).*shape=\(1, 5, 4, 1\)"),
    (lambda: V.draw_segmentation_masks(np.zeros((1, 4, 4, 3)), np.zeros((1, 4, 4), "int32"), alpha=1.5), ValueError,
     r"draw_segmentation_masks: `alpha` must be a number in \[0, 1\]. Received: alpha=1.5"),
    (lambda: V.draw_segmentation_masks(np.zeros((1, 4, 4, 3)), np.zeros((1, 4, 4), "int32"), num_classes=3,
                                       color_mapping={1: (1, 2, 3)}), ValueError,
     r"`color_mapping` needs a color for every class 0 .. num_classes - 1 = 2. Missing: \[0, 2\]"),
    (lambda: V.draw_segmentation_masks(np.zeros((1, 4, 4, 3)), np.zeros((1, 4, 4), "int32"), num_classes=1,
                                       color_mapping={0: (1, 2)}), ValueError,
     r"each color needs one value per image channel \(3\). Received: colors \[\[1.0, 2.0\]\] for classes \[0\]"),
    (lambda: V.draw_segmentation_masks(np.zeros((1, 4, 4, 3)), np.zeros((1, 4, 4), "int32"), num_classes=-2),
     ValueError, r"`num_classes` must be a non-negative int or None. Received: num_classes=-2"),
])
def test_draw_segmentation_masks_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---------------------------------------------------------------- plot_image_gallery

@pytest.mark.parametrize("options", [
    dict(batch=1), dict(batch=2), dict(batch=3), dict(batch=4), dict(batch=5), dict(batch=9),
    dict(batch=6, rows=2), dict(batch=6, cols=2), dict(batch=6, rows=1, cols=6), dict(batch=6, rows=3, cols=2),
    dict(batch=4, scale=1), dict(batch=4, scale=3.5), dict(kind="float01", value_range=(0, 1)),
    dict(kind="float-1_1", value_range=(-1, 1)), dict(kind="float255"), dict(container="torch"),
    dict(container="list", batch=2), dict(labels=True), dict(labels=True, batch=3, rows=1, cols=3),
    dict(legend=True),
])
def test_plot_image_gallery_matches_keras(kv, options):
    options = dict(options)
    rng = np.random.default_rng(len(str(options)))
    batch, kind, container = options.pop("batch", 4), options.pop("kind", "uint8"), options.pop("container", "numpy")
    images = _images(rng, (batch, 10, 14, 3), kind)
    if options.pop("labels", False):
        options.update(y_true=np.arange(batch) % 3, y_pred=torch.tensor([2, 7, 0, 1, 1, 2][:batch]),
                       label_map={0: "zero", 1: "one", 2: "two"})
    if options.pop("legend", False):
        options["legend_handles"] = [matplotlib.patches.Patch(color=(1, 0, 0), label="red")]
    fig = _both_figures(lambda: kv.plot_image_gallery(images, show=False, **options),
                        lambda: V.plot_image_gallery(_container(images, container), show=False, **options))
    assert sum(len(ax.images) for ax in fig.axes) == len(fig.axes) > 0


def test_plot_image_gallery_titles_name_classes_and_unknowns():
    V.plot_image_gallery(np.zeros((2, 4, 4, 3), "uint8"), y_true=[1, 5], y_pred=np.array([1, 0]),
                         label_map={0: "a", 1: "b"}, show=False, rows=1, cols=2)
    assert [ax.get_title() for ax in plt.gcf().axes] == ["Label: b  Pred: b", "Label: Unknown  Pred: a"]


def test_plot_image_gallery_channels_first(kv):
    # Keras transposes channels_first images twice and then cannot show them.
    images = _images(np.random.default_rng(1), (4, 9, 12, 3), "uint8")
    _both_figures(lambda: kv.plot_image_gallery(images, show=False),
                  lambda: V.plot_image_gallery(images.transpose(0, 3, 1, 2), show=False, data_format="channels_first"))
    with pytest.raises(TypeError):
        kv.plot_image_gallery(images.transpose(0, 3, 1, 2), show=False, data_format="channels_first")


def test_plot_image_gallery_leaves_cells_past_the_last_image_blank(kv):
    images = _images(np.random.default_rng(2), (3, 6, 6, 3), "uint8")
    V.plot_image_gallery(images, rows=2, cols=2, show=False)
    fig = plt.gcf()
    assert [len(ax.images) for ax in fig.axes] == [1, 1, 1, 0] and not any(ax.axison for ax in fig.axes)
    np.testing.assert_array_equal(fig.axes[2].images[0].get_array(), images[2])
    V.plot_image_gallery(images[:2], rows=3, show=False)  # Keras: 2 // 3 = 0 columns
    assert [len(ax.images) for ax in plt.gcf().axes] == [1, 1, 0]
    with pytest.raises(IndexError):
        kv.plot_image_gallery(images, rows=2, cols=2, show=False)


@pytest.mark.parametrize("options", [{}, dict(dpi=30, transparent=False), dict(scale=1.5, dpi=80)])
def test_plot_image_gallery_saves_what_keras_saves(kv, tmp_path, options):
    images = _images(np.random.default_rng(4), (4, 16, 16, 3), "uint8")
    kv.plot_image_gallery(images, path=tmp_path / "keras.png", **options)
    V.plot_image_gallery(torch.as_tensor(images), path=tmp_path / "lamina.png", **options)
    assert plt.get_fignums() == []
    np.testing.assert_array_equal(matplotlib.image.imread(tmp_path / "lamina.png"),
                                  matplotlib.image.imread(tmp_path / "keras.png"))


def test_plot_image_gallery_show_closes_the_figure():
    assert V.plot_image_gallery(np.zeros((2, 4, 4, 3), "uint8")) is None
    assert plt.get_fignums() == []
    assert V.plot_image_gallery(np.zeros((2, 4, 4, 3), "uint8"), show=False) is None
    assert len(plt.get_fignums()) == 1


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(images=np.zeros((4, 4, 3))), ValueError,
     r"plot_image_gallery: `images` must be a batched 4D tensor.*Received: images.shape=\(4, 4, 3\)"),
    (dict(path="x.png", show=True), ValueError, r"plot_image_gallery: expects either `path` to be set, or `show`"),
    (dict(y_true=[0, 1]), ValueError, r"plot_image_gallery: if `y_true` or `y_pred` are provided, a `label_map`"),
    (dict(y_pred=[[0], [1]], label_map={}), ValueError,
     r"plot_image_gallery: `y_pred` must hold one class index per image \(a 1D tensor\). .*shape=\(2, 1\)"),
    (dict(rows=-1), ValueError, r"plot_image_gallery: `rows` must be a positive int or None. Received: rows=-1"),
    (dict(cols=1.5), ValueError, r"`cols` must be a positive int or None. Received: cols=1.5"),
    (dict(value_range=(1, 1)), ValueError, r"`value_range` must be a pair \(low, high\).*value_range=\(1, 1\)"),
    (dict(images=np.zeros((0, 4, 4, 3))), ValueError, r"plot_image_gallery: `images` holds no image"),
])
def test_plot_image_gallery_errors(kwargs, error, match):
    kwargs = {"images": np.zeros((2, 4, 4, 3), "uint8"), "show": False, **kwargs}
    with pytest.raises(error, match=match):
        V.plot_image_gallery(**kwargs)


def test_galleries_without_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    images = np.zeros((1, 4, 4, 3), "uint8")
    for name, call in (("plot_image_gallery", lambda: V.plot_image_gallery(images)),
                       ("plot_bounding_box_gallery", lambda: V.plot_bounding_box_gallery(images, "xyxy")),
                       ("plot_segmentation_mask_gallery", lambda: V.plot_segmentation_mask_gallery(images, 2))):
        with pytest.raises(ImportError, match=rf"The `{name}` function requires the `matplotlib` package"):
            call()


# ---------------------------------------------------------------- plot_bounding_box_gallery

@needs_cv2
@pytest.mark.parametrize("options", [
    dict(which=("y_true",)), dict(which=("y_pred",)), dict(which=()), dict(box_format="rel_center_xywh"),
    dict(box_format="yxyx", class_mapping={0: "p", 1: "q"}),
    dict(ground_truth_mapping={1: "gt1"}, prediction_mapping={2: "pr2"}, class_mapping={0: "c0"}),
    dict(legend=True), dict(legend_handles="custom"), dict(rows=1, cols=3), dict(batch=1),
    dict(line_thickness=1, font_scale=0.5, text_thickness=2), dict(true_color=(255, 0, 0), pred_color=(0, 0, 255)),
    dict(kind="float01"), dict(kind="float255"), dict(scale=1, dpi=50), dict(container="torch"),
])
def test_plot_bounding_box_gallery_matches_keras(keras, kv, options):
    options = dict(options)
    rng = np.random.default_rng(len(str(options)))
    batch, kind = options.pop("batch", 4), options.pop("kind", "uint8")
    box_format, container = options.pop("box_format", "xywh"), options.pop("container", "numpy")
    images = _images(rng, (batch, 40, 50, 3), kind)
    for name in options.pop("which", ("y_true", "y_pred")):
        options[name] = _boxes(keras, rng, batch, 40, 50, box_format)
    if options.get("legend_handles") == "custom":
        options["legend_handles"] = [matplotlib.patches.Patch(color=(0, 1, 0), label="mine")]
    keras_options = {k: dict(v) if isinstance(v, dict) else v for k, v in options.items()}
    ours = {k: {f: _container(a, container) for f, a in v.items()} if k in ("y_true", "y_pred") else v
            for k, v in options.items()}
    _both_figures(lambda: kv.plot_bounding_box_gallery(images, box_format, show=False, **keras_options),
                  lambda: V.plot_bounding_box_gallery(_container(images, container), box_format, show=False, **ours))


@needs_cv2
def test_plot_bounding_box_gallery_value_range_and_channels_first(keras, kv):
    # Keras scales images already drawn to [0, 255] by value_range once more; lamina brings them to
    # [0, 255] first and scales once. Keras's reference: the same images made [0, 255] by hand.
    rng = np.random.default_rng(6)
    images = _images(rng, (4, 30, 30, 3), "float01")
    boxes = _boxes(keras, rng, 4, 30, 30, "xyxy")
    _both_figures(lambda: kv.plot_bounding_box_gallery(images * np.float32(255), "xyxy", y_true=dict(boxes),
                                                       show=False),
                  lambda: V.plot_bounding_box_gallery(images.transpose(0, 3, 1, 2), "xyxy", y_true=dict(boxes),
                                                      value_range=(0, 1), data_format="channels_first", show=False))


def test_plot_bounding_box_gallery_legend_or_handles():
    with pytest.raises(ValueError, match=r"Only pass `legend` OR `legend_handles` to `plot_bounding_box_gallery\(\)`"):
        V.plot_bounding_box_gallery(np.zeros((1, 4, 4, 3)), "xyxy", legend=True,
                                    legend_handles=[matplotlib.patches.Patch(label="x")], show=False)


# ---------------------------------------------------------------- plot_segmentation_mask_gallery

@pytest.mark.parametrize("options", [
    dict(which=("y_true",)), dict(which=("y_pred",)), dict(which=()), dict(), dict(batch=1, which=("y_true",)),
    dict(batch=1, which=()), dict(alpha=0.4), dict(blend=False), dict(ignore_index=0),
    dict(color_mapping={i: (20 * i, 255 - 30 * i, 7) for i in range(5)}), dict(mask_dtype="float32"),
    dict(data_format="channels_first"), dict(kind="float255"), dict(scale=1, dpi=40), dict(container="torch"),
])
def test_plot_segmentation_mask_gallery_matches_keras(kv, options):
    options = dict(options)
    rng = np.random.default_rng(len(str(options)))
    batch, kind, container = options.pop("batch", 3), options.pop("kind", "uint8"), options.pop("container", "numpy")
    mask_dtype = options.pop("mask_dtype", "int32")
    images = _images(rng, (batch, 8, 11, 3), kind)
    masks = {name: rng.integers(-1, 5, (batch, 8, 11, 1)).astype(mask_dtype)
             for name in options.pop("which", ("y_true", "y_pred"))}
    if options.get("data_format") == "channels_first":
        images, masks = images.transpose(0, 3, 1, 2), {k: v.transpose(0, 3, 1, 2) for k, v in masks.items()}
    fig = _both_figures(
        lambda: kv.plot_segmentation_mask_gallery(images, 5, show=False, **masks, **options),
        lambda: V.plot_segmentation_mask_gallery(_container(images, container), 5, show=False,
                                                 **{k: _container(v, container) for k, v in masks.items()}, **options))
    assert len(fig.axes) == batch * (1 + len(masks))


def test_plot_segmentation_mask_gallery_value_range(kv):
    # As for boxes: lamina blends the colors with images brought to [0, 255]; Keras blends them with the
    # raw images and then scales the blend too.
    rng = np.random.default_rng(7)
    images, masks = _images(rng, (2, 8, 8, 3), "float-1_1"), rng.integers(0, 3, (2, 8, 8)).astype("int32")
    by_hand = (images + np.float32(1)) / np.float32(2) * np.float32(255)
    _both_figures(lambda: kv.plot_segmentation_mask_gallery(by_hand, 3, y_true=masks[..., None], show=False),
                  lambda: V.plot_segmentation_mask_gallery(images, 3, y_true=masks, value_range=(-1, 1), show=False))


def test_plot_segmentation_mask_gallery_sets_the_grid_itself():
    with pytest.raises(TypeError, match=r"plot_segmentation_mask_gallery: .*`rows` and `cols` cannot be passed. "
                                        r"Received: rows=2"):
        V.plot_segmentation_mask_gallery(np.zeros((1, 4, 4, 3)), 2, rows=2)


def test_every_keras_visualization_name_exists(kv):
    names = sorted(n for n in dir(kv) if not n.startswith("_"))
    assert names == sorted(V.__all__)
