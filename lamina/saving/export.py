"""``model.export(path, format=...)`` as Keras 3 names it: ONNX and PyTorch ExportedProgram artifacts.

Both start from ``torch.export``: the model is traced once on sample inputs (2 where the input
signature has None), with every None dimension dynamic, so the artifact takes any batch size. The
traced program holds only ATen operations and plain tensors: ``torch.export.load(path).module()(*inputs)``
runs a ``.pt2`` without lamina, and an ONNX Runtime session runs the ``.onnx``. ONNX needs the
``onnx`` and ``onnxscript`` packages (the ``export`` extra); formats that need TensorFlow raise.
"""

import io
import warnings

import torch

from lamina.dtypes import TORCH_DTYPES
from lamina.saving.atomic import atomic_write

ONNX_FORMAT = "onnx"
TORCH_FORMATS = ("torch", "torch_export")  # Keras 3.15 calls it "torch"
_NEEDS_TENSORFLOW = ("tf_saved_model", "litert")
FORMATS = (ONNX_FORMAT,) + TORCH_FORMATS + _NEEDS_TENSORFLOW + ("openvino",)
_SAMPLE_SIZE = 2  # a None dimension's size while tracing (torch.export specialises sizes 0 and 1)


class _Serving(torch.nn.Module):
    """The model called for inference on positional tensors, returning a tensor or a tuple of them."""

    def __init__(self, model, count):
        super().__init__()
        self.model = model
        self.count = count

    def forward(self, *inputs):
        outputs = self.model(inputs[0] if self.count == 1 else list(inputs), training=False)
        return tuple(outputs) if isinstance(outputs, (list, tuple)) else outputs


def _signature(model, input_signature):
    """[(shape with None, torch dtype)] per model input."""
    if input_signature is None:
        inputs = getattr(model, "inputs", None)
        if not inputs:
            raise ValueError(f"export: model '{model.name}' has no known inputs (a subclassed model, or a Sequential "
                             "without an Input); pass `input_signature=[lamina.InputSpec(shape=(None, ...))]` or "
                             "example tensors.")
        input_signature = inputs
    specs = input_signature if isinstance(input_signature, (list, tuple)) and not all(
        isinstance(d, int) or d is None for d in input_signature) else [input_signature]
    signature = []
    for spec in specs:
        shape, dtype = getattr(spec, "shape", None), getattr(spec, "dtype", None)
        if shape is None:
            raise ValueError(f"export: each input_signature entry needs a shape (a lamina.Input, an InputSpec with "
                             f"a shape, or a tensor). Received: {spec!r}")
        dtype = dtype if isinstance(dtype, torch.dtype) else TORCH_DTYPES[str(dtype or "float32")]
        signature.append((tuple(shape), dtype))
    return signature


def _traced(model, input_signature, export_kwargs):
    signature = _signature(model, input_signature)
    device = next(iter(model.parameters()), torch.zeros(())).device  # trace where the weights are
    samples = tuple(torch.zeros([_SAMPLE_SIZE if d is None else d for d in shape], dtype=dtype, device=device)
                    for shape, dtype in signature)
    dynamic = tuple({axis: torch.export.Dim.DYNAMIC for axis, d in enumerate(shape) if d is None}
                    for shape, _ in signature)
    export_kwargs.setdefault("dynamic_shapes", (dynamic,))  # one entry: forward's *inputs
    export_kwargs.setdefault("strict", False)
    module = _Serving(model, len(signature))
    was_training = model.training
    model.eval()
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*not properly registered as a submodule.*")
            warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)", category=FutureWarning)
            program = torch.export.export(module, samples, **export_kwargs)
    except Exception as error:  # torch.export raises many types; say what the usual causes are
        raise RuntimeError(f"export: torch.export could not trace model '{model.name}' (data-dependent control "
                           f"flow, an unsupported operation, or shape constraints not met): {error}") from error
    finally:
        model.train(was_training)
    _plain_tensors(program)
    return program


def _plain_tensors(program):
    """Weights as plain, self-contained tensors: the program must not need lamina's Variable class to load or
    serialize, and a weight stored as a view (a GRU's two biases) gets storage of its own."""
    for key, value in list(program.state_dict.items()):
        plain = value.detach().clone(memory_format=torch.contiguous_format).as_subclass(torch.Tensor)
        program.state_dict[key] = torch.nn.Parameter(plain, requires_grad=value.requires_grad) \
            if isinstance(value, torch.nn.Parameter) else plain
    for key, value in list(program.constants.items()):
        if isinstance(value, torch.Tensor):
            program.constants[key] = value.detach().clone().as_subclass(torch.Tensor)


def _names(tensors, count, default):
    """The layer names behind the model's symbolic inputs or outputs (ONNX's input and output names)."""
    names = [tensor._keras_history[0].name for tensor in tensors or [] if getattr(tensor, "_keras_history", None)]
    return names if len(set(names)) == count else [f"{default}_{index}" for index in range(count)]


def _onnx_bytes(model, program, opset_version, verbose):
    try:
        import onnx  # noqa: F401  optional (the `export` extra): torch's ONNX exporter needs onnx and onnxscript
        import onnxscript  # noqa: F401
    except ImportError as error:
        raise ImportError("format='onnx' needs the onnx and onnxscript packages: `pip install lamina[export]` "
                          "(or `pip install onnx onnxscript`).") from error
    inputs = _names(getattr(model, "inputs", None), len(program.graph_signature.user_inputs), "input")
    outputs = _names(getattr(model, "outputs", None), len(program.graph_signature.user_outputs), "output")
    try:
        with warnings.catch_warnings():  # torch's own deprecation notices, not the user's concern
            warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)", category=FutureWarning)
            onnx_program = torch.onnx.export(program, (), input_names=inputs, output_names=outputs,
                                             opset_version=opset_version, verbose=bool(verbose), report=False)
    except Exception as error:  # the exporter raises its own error types
        raise RuntimeError(f"export: PyTorch's ONNX exporter failed on model '{model.name}': {error}") from error
    return onnx_program.model_proto.SerializeToString()


def export_model(model, filepath, format="tf_saved_model", verbose=None, input_signature=None, **kwargs):
    """Writes an inference artifact of ``model`` (see ``Model.export``); returns ``filepath``."""
    if format in _NEEDS_TENSORFLOW:
        raise ValueError(f"export: format={format!r} needs TensorFlow, which lamina does not use. Use "
                         "format='onnx' (ONNX Runtime, and converters from ONNX to TensorFlow/LiteRT) or "
                         "format='torch_export' (a torch.export .pt2 program).")
    if format == "openvino":
        raise ValueError("export: format='openvino' is not supported by lamina; export with format='onnx' and "
                         "read the .onnx file with OpenVINO (`openvino.convert_model`).")
    if format not in (ONNX_FORMAT,) + TORCH_FORMATS:
        raise ValueError(f"export: unrecognized format={format!r}. Supported formats are: {list(FORMATS)}.")
    filepath = str(filepath)
    opset_version = kwargs.pop("opset_version", None) if format == ONNX_FORMAT else None
    if format in TORCH_FORMATS and not filepath.endswith(".pt2"):
        raise ValueError(f"export: a torch.export program's file name must end in '.pt2'. Received: {filepath!r}")
    program = _traced(model, input_signature, kwargs)
    if format == ONNX_FORMAT:
        payload = _onnx_bytes(model, program, opset_version, verbose)
    else:
        buffer = io.BytesIO()
        torch.export.save(program, buffer)
        payload = buffer.getvalue()
    atomic_write(filepath, lambda handle: handle.write(payload), overwrite=True)
    if verbose is None or verbose:
        print(f"Saved the {'ONNX model' if format == ONNX_FORMAT else 'torch.export program'} at '{filepath}'.")
    return filepath
