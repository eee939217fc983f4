"""``plot_image_gallery``, as Keras 3.15's ``keras.visualization.plot_image_gallery``.

matplotlib is an optional dependency, imported on the first plot (never by ``import lamina``); the backend is
the user's (no ``matplotlib.use`` here).
"""

import math
import numbers

import numpy as np

from lamina.ops.arguments import normalize_data_format
from lamina.visualization._inputs import batched_images, channels_last, check_value_range, to_0_255, to_numpy


def import_pyplot(owner):
    try:
        import matplotlib.pyplot as plt  # optional dependency, imported when a plot is asked for (no cycle involved)
    except ImportError as error:
        raise ImportError(f"The `{owner}` function requires the `matplotlib` package. "
                          "Please install it with `pip install matplotlib`.") from error
    return plt


def plot_image_gallery(images, y_true=None, y_pred=None, label_map=None, rows=None, cols=None, value_range=(0, 255),
                       scale=2, path=None, show=None, transparent=True, dpi=60, legend_handles=None,
                       data_format=None):
    """Shows a grid of images, titled with their true and/or predicted class names.

    Args:
        images: (batch, height, width, channels), or (batch, channels, height, width) for channels_first; a
            tensor, array or nested list. Only the first ``rows * cols`` are shown.
        y_true, y_pred: class indices, one per image (1-D); their names come from ``label_map``
            ("Unknown" when missing), titled "Label: ...  Pred: ...".
        label_map: dict from class index to name; needed with ``y_true`` or ``y_pred``.
        rows, cols: the grid; by default ``rows = ceil(sqrt(batch))`` and ``cols = batch // rows`` (Keras's
            rule, which may leave images out: 3 images make a 2 x 1 grid). Cells past the last image stay blank.
        value_range: the images' value range, mapped to [0, 255] before the cast to uint8.
        scale: inches per cell. path: save the figure there (``dpi``, ``transparent``) and close it.
        show: ``plt.show()`` then close; defaults to True without ``path``. ``show=False`` without ``path``
            leaves the figure open (``matplotlib.pyplot.gcf()``).
        legend_handles: matplotlib patches for a legend at the bottom of the figure.
        data_format: ``"channels_last"`` or ``"channels_first"``; None is ``lamina.config.image_data_format()``.

    Returns:
        None, as Keras.
    """
    owner = "plot_image_gallery"
    plt = import_pyplot(owner)
    if path is not None and show:
        raise ValueError(f"{owner}: expects either `path` to be set, or `show` to be true, not both. "
                         f"Received: path={path!r}, show={show!r}")
    if (y_true is not None or y_pred is not None) and label_map is None:
        raise ValueError(f"{owner}: if `y_true` or `y_pred` are provided, a `label_map` must also be provided. "
                         "Received: label_map=None")
    show = show if show is not None else path is None
    data_format = normalize_data_format(data_format, owner)
    images = channels_last(batched_images(images, owner, data_format), data_format)
    value_range = check_value_range(value_range, owner)
    rows, cols = _grid(rows, cols, images.shape[0], owner)
    images = to_0_255(images[:rows * cols], value_range)
    y_true, y_pred = (None if y is None else _class_indices(y, owner, name) for y, name in ((y_true, "y_true"),
                                                                                             (y_pred, "y_pred")))

    figure, axes = plt.subplots(nrows=rows, ncols=cols, figsize=(cols * scale, rows * scale), frameon=False,
                                layout="tight", squeeze=True, sharex="row", sharey="col")
    figure.subplots_adjust(wspace=0, hspace=0)
    axes = np.asarray(axes, dtype=object).reshape(rows, cols)
    if legend_handles is not None:
        figure.legend(handles=legend_handles, loc="lower center")
    for row in range(rows):
        for col in range(cols):
            index = row * cols + col
            axis = axes[row, col]
            if index < len(images):
                axis.imshow(images[index].astype("uint8"))
            axis.margins(x=0, y=0)
            axis.axis("off")
            title = [f"{prefix}: {label_map.get(y[index], 'Unknown')}"
                     for prefix, y in (("Label", y_true), ("Pred", y_pred)) if y is not None and index < len(y)]
            if title:
                axis.set_title("  ".join(title), fontsize=8)

    if path is not None:
        figure.savefig(path, pad_inches=0, bbox_inches="tight", transparent=transparent, dpi=dpi)
        plt.close(figure)
    elif show:
        plt.show()
        plt.close(figure)


def _grid(rows, cols, batch_size, owner):
    """Keras's grid: ``rows or ceil(sqrt(batch))``, ``cols or batch // rows`` (at least 1 here)."""
    if batch_size == 0:
        raise ValueError(f"{owner}: `images` holds no image. Received: a batch of 0 images")
    for name, value in (("rows", rows), ("cols", cols)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0):
            raise ValueError(f"{owner}: `{name}` must be a positive int or None. Received: {name}={value!r}")
    rows = int(rows or math.ceil(math.sqrt(batch_size)))
    cols = int(cols or max(1, batch_size // rows))
    return rows, cols


def _class_indices(labels, owner, name):
    array = to_numpy(labels, owner, name)
    if array.ndim != 1:
        raise ValueError(f"{owner}: `{name}` must hold one class index per image (a 1D tensor). "
                         f"Received: {name}.shape={array.shape}")
    return array
