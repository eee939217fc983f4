"""The RNN layers that build their own cell from their arguments.

``OwnCellRNN`` holds what they share (Keras's config: RNN's plus the cell's; the cell's attributes
read through the layer); ``RecurrentLayer`` is the base of SimpleRNN, LSTM and GRU: arguments not
belonging to RNN go to the cell (``cell_class``), after Keras 2 spellings are translated
(``legacy_arguments``). ConvLSTM1D/2D/3D (``conv_lstm.py``) are OwnCellRNNs too.
"""

import inspect

from lamina import regularizers
from lamina.layers.rnn.base_rnn import RNN
from lamina.layers.rnn.cells import RecurrentCell
from lamina.layers.rnn.legacy_arguments import accepts_legacy_arguments

_LAYER_ONLY = ("name", "trainable", "dtype", "activity_regularizer", "input_shape", "batch_input_shape",
               "batch_size", "input_dim", "autocast")
_USE_CUDNN = ("auto", True, False)


def _cell_arguments(cell_class):
    names = set()
    for cls in (cell_class, RecurrentCell):
        names.update(p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "kwargs"))
    return names | {"implementation"}


class OwnCellRNN(RNN):
    """An RNN whose cell (named ``cell_name``) is made from the layer's own arguments.

    Its config is RNN's without ``cell``, plus the cell's (less ``config_omits``), as in Keras; the
    cell's public attributes (``units``, ``filters``, ``activation``…) read through the layer.
    """

    cell_name = None
    config_omits = ()

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            cell = self.__dict__["_modules"].get("cell")
            if cell is not None and not name.startswith("_") and hasattr(cell, name):
                return getattr(cell, name)
            raise

    def get_config(self):
        config = super().get_config()
        del config["cell"]
        cell_config = {k: v for k, v in self.cell.get_config().items()
                       if k not in ("name", "trainable", "dtype") + self.config_omits}
        return {**config, "activity_regularizer": regularizers.serialize(self.activity_regularizer), **cell_config}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class RecurrentLayer(OwnCellRNN):
    cell_class = None

    @accepts_legacy_arguments
    def __init__(self, units, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, zero_output_for_mask=False, use_cudnn="auto", time_major=False, **kwargs):
        cell_names = _cell_arguments(self.cell_class)
        cell_kwargs = {key: kwargs.pop(key) for key in list(kwargs) if key in cell_names}
        unknown = sorted(set(kwargs) - set(_LAYER_ONLY))
        if unknown:
            raise TypeError(f"{type(self).__name__} got unexpected keyword argument(s): {', '.join(unknown)}")
        if use_cudnn not in _USE_CUDNN:
            raise ValueError(f"{type(self).__name__}: use_cudnn must be one of {_USE_CUDNN}. "
                             f"Received: use_cudnn={use_cudnn!r}")
        cell = self.cell_class(units, name=self.cell_name, dtype=kwargs.get("dtype"),
                               trainable=kwargs.get("trainable", True), **cell_kwargs)
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         zero_output_for_mask=zero_output_for_mask, time_major=time_major, **kwargs)
        self.input_spec.ndim, self.input_spec.min_ndim = 3, None
        # Keras's switch for its cuDNN path; False keeps lamina on the step loop (not serialized, as Keras).
        self.use_cudnn = use_cudnn

    def _fused_allowed(self, training):
        return self.use_cudnn is not False and super()._fused_allowed(training)
