"""``keras.preprocessing.image``: the image file helpers of ``lamina.utils``."""

from lamina.utils import array_to_img, img_to_array, load_img, save_img, smart_resize  # noqa: F401
