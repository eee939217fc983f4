"""``lamina.device(name)``: the device new tensors and weights are created on, as ``keras.device``."""

import contextlib

import torch


@contextlib.contextmanager
def device(device_name):
    """Inside the block, new tensors and layer weights are created on ``device_name``.

    Keras's names are accepted: ``"cpu"``, ``"gpu"``, ``"gpu:1"`` (read as ``"cuda:1"``), as are
    PyTorch's (``"cuda:0"``, ``"mps"``). Yields the ``torch.device``.

    >>> with lamina.device("cpu"):
    ...     layer = lamina.layers.Dense(2); layer.build((None, 3))
    """
    if not isinstance(device_name, str):
        raise ValueError("Invalid value for argument `device_name`. Expected a string like 'gpu:0' or 'cpu'. "
                         f"Received: device_name={device_name!r}")
    torch_device = torch.device(device_name.lower().replace("gpu", "cuda"))
    with torch_device:
        yield torch_device
