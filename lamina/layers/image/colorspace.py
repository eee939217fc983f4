"""Colour helpers of the image layers on float image tensors, with Keras 3's formulas (``keras.ops.image``;
the HSV conversions are ``lamina.ops.image.hsv_from_rgb``/``rgb_from_hsv``).

``channel_axis`` is the axis holding the 3 colour channels (-1 for channels_last, -3 for channels_first).
"""

def rgb_to_grayscale(images, channel_axis):
    """Luma 0.2989 R + 0.587 G + 0.114 B with one channel (a 1-channel input is returned as is)."""
    if images.shape[channel_axis] == 1:
        return images
    red, green, blue = images.unbind(dim=channel_axis)
    return (0.2989 * red + 0.587 * green + 0.114 * blue).unsqueeze(channel_axis)


def transform_value_range(images, source, target):
    """Maps values linearly from the ``source`` (low, high) range to ``target``."""
    if source[0] == target[0] and source[1] == target[1]:
        return images
    images = (images - source[0]) / (source[1] - source[0])
    return images * (target[1] - target[0]) + target[0]
