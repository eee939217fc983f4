"""``describe_padding``'s result: per spatial axis, what a convolution pads and why (docs/padding.md)."""

import collections

AxisPadding = collections.namedtuple(
    "AxisPadding", ["axis", "input", "kernel", "stride", "dilation", "before", "after", "output", "formula"])
AxisPadding.__doc__ = """One spatial axis: input length, kernel, stride, dilation, cells padded before
and after (for a transposed convolution: cells cropped from its full output, negative = zeros
appended), output length and the formula that gave it. Unknown lengths are None."""

_COLUMNS = ("axis", "input", "kernel", "stride", "dilation", "before", "after", "output", "formula")


class PaddingReport:
    """What a layer does at the borders, per spatial axis; prints as a table.

    Attributes:
        layer: the layer's class and name, e.g. ``"Conv2D 'conv2d'"``.
        padding: the layer's ``padding`` argument ("valid", "same" or "causal").
        transposed: True for transposed convolutions (``before``/``after`` are then crops).
        axes: a list of ``AxisPadding`` rows.
    """

    def __init__(self, layer, padding, transposed, axes):
        self.layer = layer
        self.padding = padding
        self.transposed = transposed
        self.axes = list(axes)

    def __iter__(self):
        return iter(self.axes)

    def __len__(self):
        return len(self.axes)

    def __getitem__(self, index):
        return self.axes[index]

    def __str__(self):
        action = "cropped from the full transposed output (negative: zeros appended)" if self.transposed \
            else "padded"
        header = [f"{self.layer}: padding={self.padding!r}; before/after = cells {action}"]
        cells = [_COLUMNS] + [tuple("?" if v is None else str(v) for v in row) for row in self.axes]
        widths = [max(len(line[i]) for line in cells) for i in range(len(_COLUMNS))]
        lines = ["  ".join(value.ljust(width) for value, width in zip(line, widths)).rstrip() for line in cells]
        lines.insert(1, "  ".join("-" * width for width in widths))
        return "\n".join(header + lines)

    __repr__ = __str__
