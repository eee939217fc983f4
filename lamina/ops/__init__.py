"""Pure functions on shapes, arguments and tensors shared by the layer families."""
