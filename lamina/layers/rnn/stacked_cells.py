"""StackedRNNCells: several cells run as one, each feeding its output to the next."""

from lamina import tree
from lamina.engine.layer import Layer
from lamina.layers.rnn.cells import initial_cell_state
from lamina.layers.serialization import deserialize, serialize
from lamina.registry import register_builtin


def _output_size(cell):
    size = getattr(cell, "output_size", None)
    if size is not None:
        return size
    return cell.state_size[0] if isinstance(cell.state_size, (list, tuple)) else cell.state_size


@register_builtin("keras.layers")
class StackedRNNCells(Layer):
    """A cell made of ``cells``; states are one entry per cell (a list for cells with several states).

    Inputs ``(batch, input_dim)``; output ``(batch, output_size of the last cell)``.

    >>> RNN(StackedRNNCells([LSTMCell(8), GRUCell(4)]))(torch.zeros(2, 5, 3)).shape
    torch.Size([2, 4])
    """

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(cells, (list, tuple)) or not cells:
            raise ValueError(f"StackedRNNCells: the `cells` argument must be a non-empty list of RNN cells. "
                             f"Received: cells={cells!r}")
        for cell in cells:
            for needed in ("call", "state_size"):
                if not hasattr(cell, needed):
                    raise ValueError(f"StackedRNNCells: all cells must have a `{needed}`. Received a cell "
                                     f"without it: {cell!r}")
        self.cells = list(cells)

    @property
    def state_size(self):
        return [cell.state_size for cell in self.cells]

    @property
    def output_size(self):
        return _output_size(self.cells[-1])

    def get_initial_state(self, batch_size=None):
        return [initial_cell_state(cell, batch_size, self._input_torch_dtype, self._device()) for cell in self.cells]

    def build(self, input_shape):
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell._build_for(tuple(input_shape))
            input_shape = (input_shape[0], _output_size(cell))

    def call(self, inputs, states, training=None):
        new_states = []
        for cell, cell_states in zip(self.cells, states):
            is_list = tree.is_nested(cell_states)
            kwargs = {"training": training} if getattr(cell, "_call_has_training_arg", False) else {}
            inputs, cell_states = cell(inputs, list(cell_states) if is_list else [cell_states], **kwargs)
            cell_states = list(cell_states) if tree.is_nested(cell_states) else [cell_states]
            new_states.append(cell_states if is_list or len(cell_states) > 1 else cell_states[0])
        return inputs, new_states

    def get_config(self):
        return {**super().get_config(), "cells": [serialize(cell) for cell in self.cells]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        return cls([deserialize(c, custom_objects=custom_objects) for c in config.pop("cells")], **config)
