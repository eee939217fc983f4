"""The engine: Layer, symbolic tensors and nodes, functional and Sequential models."""
