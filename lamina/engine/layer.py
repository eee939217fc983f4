"""The Layer: a ``torch.nn.Module`` with Keras's lifecycle, weights and bookkeeping.

A layer is configured in ``__init__``, creates its weights in ``build(input_shape)``
on the first call, and computes in ``call``. Called on symbolic tensors
(``lamina.Input``) it computes output shapes without running kernels and records
a node. Called on data (torch tensors, NumPy arrays, lists) it converts them and
runs ``forward`` (which is ``call``), nothing more once built.

Training mode: ``call(..., training=None)`` resolves to the ``training`` value
an outer call passed explicitly, else to the module's ``self.training`` flag.
lamina layers start in inference mode (``self.training == False``), as a Keras
layer called without ``training=True`` does; ``model.train()`` /
``model.eval()`` switch it as in PyTorch, and ``fit`` trains with ``training=True``.
"""

import functools
import inspect
import itertools

import numpy as np
import torch
from torch.nn.modules import module as torch_module

from lamina import naming, regularizers, rematerialization, tree
from lamina.dtype_policies import get_policy, serialize_policy
from lamina.dtypes import DTYPE_NAMES, STRING, TORCH_DTYPES, is_string_array
from lamina.engine import call_context
from lamina.engine.input_spec import InputSpec
from lamina.engine.node_accessors import NodeAccessors
from lamina.engine.weights import Permuted, Structure, WeightsMixin, full_value  # noqa: F401  (Permuted is public here too)
from lamina.variables import Variable
from lamina.metrics.base import Metric
from lamina.naming import to_snake_case, unique_name
from lamina.serialization import IdentifierError, UnknownIdentifierError
from lamina.symbolic.keras_tensor import KerasTensor
from lamina.symbolic.node import Node
from lamina.symbolic.shape_inference import infer_output_spec, is_fake, real_tensor_mode

_module_call = torch.nn.Module.__call__
_GLOBAL_MODULE_HOOKS = (torch_module._global_forward_hooks, torch_module._global_forward_pre_hooks,
                        torch_module._global_backward_hooks, torch_module._global_backward_pre_hooks)


def _with_rematerialized_activation(layer, *args, **kwargs):
    """``layer``'s call with its activation rematerialized (RematScope "activations"); its own in-place
    activation form, where it keeps one, gives way to the plain activation for the call."""
    saved = {key: layer.__dict__[key] for key in ("activation", "_activation") if key in layer.__dict__}
    rematerialized = rematerialization.remat(saved["activation"])
    layer.__dict__.update(dict.fromkeys(saved, rematerialized))
    try:
        return _module_call(layer, *args, **kwargs)
    finally:
        layer.__dict__.update(saved)


def has_own_call_machinery(module):
    """Whether calling ``module`` runs more than its class's ``forward`` because of the module itself: a hook
    of its own, a ``forward`` of the instance's own (a distribution routes it through DDP), ``compile()``."""
    return bool("forward" in module.__dict__ or module._forward_hooks or module._forward_pre_hooks
                or module._backward_hooks or module._backward_pre_hooks or module._compiled_call_impl is not None)


def calls_forward_directly(module):
    """Whether ``Module.__call__`` would call the class's ``forward`` and nothing else: no call machinery of the
    module's own (``has_own_call_machinery``), no global hook, no ``torch.jit`` trace, no Dynamo trace (which
    sees the usual call)."""
    return not (has_own_call_machinery(module) or any(_GLOBAL_MODULE_HOOKS) or torch._C._get_tracing_state()
                or torch.compiler.is_compiling())


def explicit_training(training):
    """``training`` if not None, else the value an outer call passed explicitly (None if none did)."""
    if training is None:
        context = call_context.current()
        return None if context is None else context.training
    return training


def resolved_training(layer, training):
    """The ``training`` a call of ``layer`` runs with: ``training`` if not None, else an outer call's explicit
    value, else the module's ``layer.training`` flag."""
    training = explicit_training(training)
    return layer.training if training is None else training


def call_directly(layer, inputs, training, checked):
    """A plain layer's outputs for ``inputs`` on a model's direct path: its ``__call__``, which checks the
    input, when ``checked``, else ``call`` itself (the input is what the layer was built on); given
    ``training`` (an explicit value, or None for the layer's own flag) when the layer reads it."""
    if not layer._plain_reads_training:
        return layer(inputs) if checked else layer.call(inputs)
    if checked:
        return layer(inputs, training=training)
    return layer.call(inputs, training=layer.training if training is None else training)


_FIRST_LAYER_KWARGS = ("input_shape", "batch_input_shape", "batch_size", "input_dim")


class Layer(WeightsMixin, NodeAccessors, torch.nn.Module):
    """Base class of all layers.

    Args:
        trainable: whether the layer's weights are updated in training.
        name: a unique name (default: snake_case class name, numbered).
        dtype: dtype policy: a name ("float32", "mixed_float16"), a torch dtype or a DTypePolicy.
        activity_regularizer: a regularizer applied to the outputs; its value, divided by the batch
            size, is added to ``layer.losses``.
        input_shape / batch_input_shape / batch_size / input_dim: Keras's first-layer keywords,
            read by ``Sequential`` to create its input.

    Subclass it with ``build(input_shape)`` (create weights with ``add_weight``) and
    ``call(inputs, training=None, mask=None)``; see docs/custom_layers.md.
    """

    supports_masking = False
    # The dtype of the Input a Sequential creates for this layer from `input_shape=` (None: floatx).
    input_dtype_default = None
    # True for InputLayer: its node starts a graph rather than consuming tensors.
    is_input_layer = False
    # Whether integer and bool inputs are cast to the layer's float dtype, as Keras's ops promote them for
    # layers that compute on their inputs; False for layers that only move data (they keep the input's
    # dtype) and for layers that take indices.
    casts_integer_inputs = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        parameters = inspect.signature(cls.call).parameters
        cls._call_has_training_arg = "training" in parameters
        cls._call_has_mask_arg = "mask" in parameters
        cls._overrides_compute_mask = cls.compute_mask is not Layer.compute_mask
        if "build" in cls.__dict__:
            cls.build = _tracked_build(cls.__dict__["build"])
        if "__init__" in cls.__dict__:
            cls.__init__ = _explained_init(cls.__dict__["__init__"])
        if "call" in cls.__dict__ and "forward" not in cls.__dict__:
            cls.forward = cls.call  # one frame less per call: nn.Module.__call__ runs `call` directly

    def __new__(cls, *args, **kwargs):
        instance = super().__new__(cls)
        signature = cls.__dict__.get("_init_signature")
        if signature is None:
            signature = inspect.signature(cls.__init__)
            type.__setattr__(cls, "_init_signature", signature)
        try:
            arguments = dict(signature.bind(None, *args, **kwargs).arguments)
            arguments.pop(next(iter(arguments)))
            extra = arguments.pop("kwargs", {}) if "kwargs" in signature.parameters else {}
            instance.__dict__["_init_arguments"] = {**arguments, **extra}
        except TypeError:
            instance.__dict__["_init_arguments"] = None
        return instance

    def __init__(self, *, activity_regularizer=None, trainable=True, dtype=None, autocast=True, name=None,
                 **kwargs):
        torch.nn.Module.__init__(self)
        first_layer = {key: kwargs.pop(key) for key in _FIRST_LAYER_KWARGS if key in kwargs}
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected keyword argument(s): "
                            f"{', '.join(sorted(kwargs))}")
        if name is not None and (not isinstance(name, str) or "/" in name):
            raise ValueError(f"{type(self).__name__}: the `name` argument must be a string without '/'. "
                             f"Received: name={name!r}")
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self.training = False
        self._trainable = bool(trainable)
        try:
            self.dtype_policy = get_policy(dtype)
        except (ValueError, TypeError, KeyError) as error:
            raise ValueError(f"{type(self).__name__} '{self.name}': the `dtype` argument must be a dtype name "
                             f"(\"float32\"), a policy name (\"mixed_float16\"), a torch dtype or a DTypePolicy. "
                             f"Received: dtype={dtype!r} ({error})") from None
        self.autocast = autocast
        self._input_torch_dtype = TORCH_DTYPES[self.dtype_policy.variable_dtype]
        self._autocast_dtype = TORCH_DTYPES[self.dtype_policy.compute_dtype] if self.dtype_policy.is_mixed else None
        self._plain_call = False
        self._plain_reads_training = False
        self._remat_mode = rematerialization.get_current_remat_mode()  # the RematScope's at creation (Keras)
        self._forward_is_call = False
        self._built_rank = -1
        self._axis_checks = ()
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.built = False
        self.input_spec = None
        self._build_input_shape = None
        self._weight_specs = {}
        self._losses = []
        self._loss_context = None  # the call that added `_losses` (None: outside any call)
        self._last_context = None  # the latest call of this layer
        self._adds_losses = False
        self._tracked_metrics = []
        self._inbound_nodes = []
        self._outbound_nodes = []
        self._batch_input_shape = self._first_layer_shape(**first_layer)

    def _first_layer_shape(self, input_shape=None, batch_input_shape=None, batch_size=None, input_dim=None):
        """The full input shape (batch first) given by Keras's first-layer keywords, or None."""
        if input_dim is not None:
            input_shape = (input_dim,)
        if batch_input_shape is not None:
            return tuple(batch_input_shape)
        if input_shape is not None:
            if isinstance(input_shape, int):
                input_shape = (input_shape,)
            return (batch_size,) + tuple(input_shape)
        return None

    # ------------------------------------------------------------------ properties
    @property
    def dtype(self):
        """The weights' dtype name, e.g. "float32"."""
        return self.dtype_policy.variable_dtype

    @property
    def compute_dtype(self):
        return self.dtype_policy.compute_dtype

    @property
    def variable_dtype(self):
        return self.dtype_policy.variable_dtype

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        value = bool(value)
        for layer in self._flatten_layers():
            layer._trainable = value
        for parameter in self.parameters():
            if parameter.is_floating_point():
                parameter.requires_grad_(value)
        Structure.changed()

    def __getstate__(self):
        """For ``copy.deepcopy`` and ``pickle``: without the structure cache, whose version number means
        nothing to another model or process (the copy rebuilds it)."""
        state = super().__getstate__()
        state.pop("_structure_cache", None)
        return state

    def __setattr__(self, name, value):
        if name == "activity_regularizer" and self.__dict__.get("built"):
            object.__setattr__(self, name, value)
            self._update_call_path()
            Structure.changed()
            return
        if isinstance(value, (torch.nn.Module, torch.Tensor, list)) or name in self.__dict__.get("_modules", ()):
            Structure.changed()
        if isinstance(value, Metric) and "_tracked_metrics" in self.__dict__ and value not in self._tracked_metrics:
            self._tracked_metrics.append(value)  # Keras tracks the metrics a layer keeps as attributes
        specs = self.__dict__.get("_weight_specs")
        if specs and isinstance(value, torch.Tensor) and name not in specs:
            # `self.w = self.add_weight(...)`: keep one registration, under the attribute's name.
            for old_name in list(specs):
                if self._parameters.get(old_name) is value or self._buffers.get(old_name) is value:
                    self._rename_weight(old_name, name)
                    return
        if isinstance(value, list) and value and not name.startswith("_") and \
                all(isinstance(v, torch.nn.Module) for v in value):
            value = torch.nn.ModuleList(value)  # Keras tracks layers kept in list attributes
        super().__setattr__(name, value)

    def __delattr__(self, name):
        super().__delattr__(name)
        Structure.changed()

    def add_module(self, name, module):
        super().add_module(name, module)
        Structure.changed()

    register_module = add_module

    def _apply(self, fn, recurse=True):
        """``to()``/``float()``/``cuda()``…: buffers come back as plain tensors; keep them Variables."""
        variables = {name: buffer for name, buffer in self._buffers.items() if isinstance(buffer, Variable)}
        result = super()._apply(fn, recurse=recurse)
        for name, old in variables.items():
            buffer = self._buffers[name]
            if not isinstance(buffer, Variable):
                self._buffers[name] = Variable(buffer, requires_grad=False)._bind(old._spec, old.name, old.path)
        Structure.changed()
        return result

    def _flatten_layers(self, include_self=True):
        """This layer and every Layer below it (through containers), each once (cached)."""
        layers = self._cached("layers", lambda: [m for m in self.modules() if isinstance(m, Layer)])
        return list(layers) if include_self else layers[1:]

    @property
    def metrics(self):
        """The metrics this layer and its sublayers keep as attributes (Keras's tracked metrics)."""
        found = []
        for layer in self._flatten_layers():
            found.extend(metric for metric in layer._tracked_metrics if metric not in found)
        return found

    # ------------------------------------------------------------------ losses
    def add_loss(self, loss):
        """Adds a scalar tensor to ``layer.losses``: the losses of this layer's latest call.

        Losses added during a call replace those of the layer's earlier calls (two calls within one
        outer call, a shared layer, keep both), so an old loss never keeps its autograd graph alive.
        """
        context = call_context.current()
        if self._loss_context is not context:
            self._losses = []
            self._loss_context = context
        self._losses.append(loss)
        if not self._adds_losses:
            self._adds_losses = True
            self._update_call_path()
            Structure.changed()

    @property
    def losses(self):
        """Activity and ``add_loss`` losses of the latest call, plus weight regularization penalties."""
        holders, regularized = self._cached("loss_sources", self._walk_loss_sources)
        collected = []
        for layer in holders:
            if layer._losses and layer._loss_context is self._last_context:
                collected.extend(layer._losses)
        for owner, name, spec in regularized:
            collected.append(full_value(spec.regularizer(spec.layout.to_keras(getattr(owner, name)))))
        return collected

    def _walk_loss_sources(self):
        """The layers that may hold losses, and the regularized weights' slots."""
        holders = [layer for layer in self._flatten_layers()
                   if layer._adds_losses or layer.activity_regularizer is not None]
        return holders, [slot for slot in self._weight_slots() if slot[2].regularizer is not None]

    # ------------------------------------------------------------------ lifecycle
    def build(self, input_shape):
        """Creates the weights for inputs of ``input_shape``; the default creates none."""
        self.built = True

    def _build_for(self, input_shape):
        if self.input_spec is not None and is_shape(input_shape):
            self.input_spec.check(input_shape, self.name)
        self.build(input_shape)

    def _update_call_path(self):
        """Decides whether calls may take the fast path: a built leaf layer with nothing to resolve."""
        context_free = self._call_is_context_free()
        self._plain_reads_training = not context_free and self._call_has_training_arg \
            and self._call_reads_only_training()
        self._plain_call = (self.built and (context_free or self._plain_reads_training)
                            and self.activity_regularizer is None and not self._adds_losses
                            and self._autocast_dtype is None and is_shape(self._build_input_shape)
                            and self._remat_mode is None)
        self._built_rank = len(self._build_input_shape) if self._plain_call else -1
        self._forward_is_call = type(self).forward is type(self).call  # as __init_subclass__ sets it
        self._sees_masks = self.supports_masking or self._call_has_mask_arg
        spec = self.input_spec
        # The axes a built layer depends on (feature counts, channels), checked before any kernel runs.
        self._axis_checks = tuple((axis, size) for axis, size in spec.axes.items() if size is not None) \
            if isinstance(spec, InputSpec) else ()

    def _call_is_context_free(self):
        """Whether ``call(inputs)`` alone gives this built layer's outputs for an input without a mask,
        whatever the call's ``training`` flag: no training or mask argument, no mask of its own to
        compute, no sublayers (whose calls read the call context). A layer whose call takes them but,
        in its configuration, ignores them says so by overriding this."""
        return not self._call_has_training_arg and not self._call_has_mask_arg and not self._overrides_compute_mask \
            and not self._has_sublayers()

    def _call_reads_only_training(self):
        """Whether ``call(inputs, training=t)`` alone gives this built layer's outputs for an input without a
        mask, ``t`` the call's resolved ``training`` (``resolved_training``): a mask argument it then ignores,
        no mask of its own to compute, no sublayers. Layers whose call takes ``training`` say so by overriding
        this; their calls then take the fast path too."""
        return False

    def _channels_first_form(self):
        """How this built layer computes on the channels-first view of channels_last data (the (N, C, *spatial)
        view of an (N, *spatial, C) tensor, which is what PyTorch's kernels take, without a copy): "moves" when
        its call moves the channels to axis 1 and back, which ``_call_channels_first`` skips (its outputs are
        new tensors, never views of its inputs); "elementwise"
        when ``call`` itself gives that view of its outputs; None otherwise. A Sequential's direct path runs a
        stretch of such layers on the view, moving the channels once each way (``Sequential._run_directly``)."""
        return None

    def _call_channels_first(self, x, training):
        """``call``'s outputs, as their channels-first view, for the channels-first view ``x`` of its inputs
        (``_channels_first_form``: "moves" layers override this; an "elementwise" one is its ``call``);
        ``training``: an explicit value or None (the layer's own flag), as ``call_directly`` takes it."""
        return self.call(x)

    def _call_in_place(self, x):
        """An "elementwise" layer's ``call(x)``, computed in ``x``'s memory where the layer has such a form (the
        same kernel, the same values): for an input that nobody else reads, without autograd (a Sequential's
        channels-first stretch, ``Sequential._run_directly``). The default is ``call(x)``."""
        return self.call(x)

    def _has_sublayers(self):
        return any(isinstance(m, Layer) for m in self.modules() if m is not self)

    @property
    def path(self):
        """Keras's ``layer.path``: the name scopes the layer was built in and its name ("outer/dense"); None
        before it is built (a model built at construction: its name)."""
        return self.__dict__.get("_path") or (self.name if self.built else None)

    def quantize(self, mode=None, *args, **kwargs):  # Keras: (mode, type_check, config); a Model's (mode, config, filters)
        """Keras's post-training quantization ("int8", "int4", "float8", "gptq", "awq"), which lamina does not
        provide: the layer keeps its float weights. Raises NotImplementedError saying so."""
        raise NotImplementedError(f"{type(self).__name__} '{self.name}': quantize(mode={mode!r}) is Keras's "
                                  "post-training quantization, which lamina does not provide; the model keeps its "
                                  "float weights (for lower precision use a dtype policy such as 'mixed_bfloat16').")

    def get_build_config(self):
        if self.built and self._build_input_shape is not None:
            return {"input_shape": self._build_input_shape}
        return None

    def build_from_config(self, config):
        """Builds from ``get_build_config()``'s output (skipped when built or the shape is unknown)."""
        shape = (config or {}).get("input_shape")
        if self.built or shape is None:
            return
        self._build_for(tuple(shape) if is_shape(shape) else [tuple(s) for s in shape])

    def call(self, inputs, *args, **kwargs):
        raise NotImplementedError(f"Layer {type(self).__name__} does not implement call().")

    def forward(self, *args, **kwargs):
        return self.call(*args, **kwargs)

    def compute_mask(self, inputs, previous_mask):
        return previous_mask

    def compute_output_shape(self, input_shape):
        """Output shape for ``input_shape`` (None for unknown dims), inferred on fake tensors by default."""
        specs = infer_output_spec(self._inference_call, (specs_from_shapes(input_shape, self.compute_dtype),), {})
        return tree.map_structure(lambda spec: spec.shape, specs)

    def _inference_call(self, *args, **kwargs):
        if self._call_has_training_arg:
            kwargs.setdefault("training", False)
        return self.call(*args, **kwargs)

    def compute_output_spec(self, *args, **kwargs):
        """Symbolic outputs (KerasTensors) for symbolic inputs."""
        if type(self).compute_output_shape is not Layer.compute_output_shape:
            shapes = self.compute_output_shape(_shape_structure(args[0]))
            return specs_from_shapes(shapes, self.compute_dtype)
        return infer_output_spec(self._inference_call, args, kwargs)

    # ------------------------------------------------------------------ calling
    def __call__(self, *args, **kwargs):
        if self._plain_call and len(args) == 1 and (not kwargs or len(kwargs) == 1 and "training" in kwargs):
            first = args[0]
            if type(first) is torch.Tensor and first.dim() == self._built_rank \
                    and (first.dtype is self._input_torch_dtype
                         or not (self.casts_integer_inputs or first.is_floating_point())) \
                    and not (self._sees_masks and hasattr(first, "_keras_mask")):
                shape = first.shape
                for axis, size in self._axis_checks:
                    if shape[axis] != size:
                        break  # the full path raises the InputSpec's clear error
                else:
                    # Built leaf layer, plain tensor, nothing to resolve but ``training``: exactly a torch.nn
                    # call, which without hooks is ``forward`` itself.
                    try:
                        direct = self._forward_is_call and calls_forward_directly(self)
                        if self._plain_reads_training:
                            training = resolved_training(self, kwargs.get("training"))
                            return self.call(first, training=training) if direct else \
                                _module_call(self, first, training=training)
                        return self.call(first) if direct else _module_call(self, first)
                    except _CALL_ERRORS as error:
                        raise self._explained_error(first, error) from error
        return self._full_call(args, kwargs)

    def _explained_error(self, inputs, error):
        """The error to raise when a call failed: the InputSpec's clear ValueError if the input doesn't fit,
        the error itself if a layer already explained it, else a ValueError/TypeError naming this layer and
        the input, chained to the original (a kernel's RuntimeError names neither)."""
        if getattr(error, "_lamina_explained", False):
            return error
        if f"'{self.name}'" in str(error) or type(self).__name__ in str(error):
            error._lamina_explained = True  # the layer's own clear error
            return error
        if self.input_spec is not None and isinstance(inputs, torch.Tensor):
            self.input_spec.check(tuple(inputs.shape), self.name)
        kind = TypeError if isinstance(error, (TypeError, AttributeError)) else ValueError
        explained = kind(f"Layer '{self.name}' ({type(self).__name__}) could not compute its output for inputs "
                         f"{_describe(inputs)}: {type(error).__name__}: {error}")
        explained._lamina_explained = True
        return explained

    def _full_call(self, args, kwargs):
        if not args:
            if "inputs" not in kwargs:
                raise TypeError(f"Layer '{self.name}' was called without inputs.")
            args = (kwargs.pop("inputs"),)
        first = args[0]
        if isinstance(first, KerasTensor) or (tree.is_nested(first) and
                                              any(isinstance(t, KerasTensor) for t in tree.flatten(first))):
            return self._symbolic_call(args, kwargs)
        if type(first) is not torch.Tensor or first.dtype is not self._input_torch_dtype and (
                self.autocast and first.is_floating_point() or self.casts_integer_inputs and not first.is_floating_point()):
            first = self._convert_input(first)
            args = (first,) + args[1:]
        if kwargs.get("mask") is not None:
            kwargs["mask"] = tree.map_structure(self._convert_mask, kwargs["mask"])
        if not self.built:
            return self._first_call(args, kwargs)
        if self.input_spec is not None and type(first) is torch.Tensor:
            self._check_input(first)
        return self._eager_call(first, args, kwargs)

    def _eager_call(self, first, args, kwargs):
        context = call_context.current()
        token = None
        if context is None:  # the outermost call
            context = call_context.CallContext()
            token = call_context.enter(context)
        self.__dict__["_last_context"] = context  # a plain attribute: skips Module.__setattr__ (hot path)
        if self._losses and self._loss_context is not context:
            self._losses = []  # losses of an earlier call
        outer_training = context.training
        training = kwargs.get("training")
        if training is not None:
            context.training = training
            if not self._call_has_training_arg:
                del kwargs["training"]
        elif self._call_has_training_arg:
            kwargs["training"] = outer_training if outer_training is not None else self.training
        previous_mask = None
        if self.supports_masking or self._call_has_mask_arg:
            previous_mask = _get_mask(first)
            if self._call_has_mask_arg and kwargs.get("mask") is None and previous_mask is not None:
                kwargs["mask"] = previous_mask
        try:
            try:
                device_type = self._autocast_dtype is not None and _first_tensor(first).device.type
                module_call = _module_call if self._remat_mode is None else self._rematerialized_call(args)
                if device_type and not torch.is_autocast_enabled(device_type):
                    with torch.autocast(device_type, dtype=self._autocast_dtype):
                        outputs = module_call(self, *args, **kwargs)
                else:
                    outputs = module_call(self, *args, **kwargs)
            except _CALL_ERRORS as error:
                raise self._explained_error(first, error) from error
            if self.activity_regularizer is not None:
                self._add_activity_losses(outputs)
        finally:
            context.training = outer_training
            if token is not None:
                call_context.leave(token)
        if self.supports_masking and (previous_mask is not None or self._overrides_compute_mask):
            set_masks(outputs, self.compute_mask(first, previous_mask))
        return outputs

    def _rematerialized_call(self, args):
        """``Module.__call__``, rematerialized as the layer's RematScope says (lamina/rematerialization.py)."""
        mode = self._remat_mode
        if mode.mode == "activations":
            if self.__dict__.get("activation") is None:  # no activation, or a layer kept as one
                return _module_call
            return _with_rematerialized_activation
        if mode.mode == "full" or mode.mode == "list_of_layers" and self.name in mode.layer_names:
            return rematerialization.remat(_module_call)
        if mode.mode == "larger_than":
            sizes = self.__dict__.setdefault("_remat_sizes", {})  # input shapes -> whether the output is larger
            key = tuple(tuple(t.shape) if isinstance(t, torch.Tensor) else None for t in tree.flatten(args))
            if key not in sizes:
                specs = self.compute_output_spec(*tree.map_structure(
                    lambda value: _symbolic_like(value, batch_size=True), args))
                sizes[key] = rematerialization.larger_than_threshold(mode, specs)
            if sizes[key]:
                return rematerialization.remat(_module_call)
        return _module_call

    def _add_activity_losses(self, outputs):
        """The activity regularizer's value on each output, divided by the batch size (as Keras 3.15)."""
        for output in tree.flatten(outputs):
            if isinstance(output, torch.Tensor):
                loss = self.activity_regularizer(output)
                if output.ndim > 0 and output.shape[0] > 0:
                    loss = loss / output.shape[0]
                self.add_loss(loss)

    def _first_call(self, args, kwargs):
        """Builds from the first eager input, runs, and records a node (as Keras 2 did)."""
        first = args[0]
        shapes = _shape_structure(first)
        if is_fake(tree.flatten(first)[0]):
            with real_tensor_mode():
                self._build_for(shapes)
        else:
            self._build_for(shapes)
            device = getattr(tree.flatten(first)[0], "device", None)
            if isinstance(device, torch.device) and device.type != "cpu":  # NumPy arrays' .device is "cpu"
                self.to(device)
        with naming.name_scope(self.name, caller=self):  # sublayers built in this call get this scope
            outputs = self._eager_call(first, args, kwargs)
        symbolic_inputs = tree.map_structure(_symbolic_like, first)
        Node(self, (symbolic_inputs,), {}, tree.map_structure(_symbolic_like, outputs))
        return outputs

    def _check_input(self, tensor):
        """Raises the InputSpec's clear ValueError when ``tensor`` does not fit the built layer."""
        spec = self.input_spec
        rank = tensor.dim()
        if spec.ndim is not None and rank != spec.ndim or spec.min_ndim is not None and rank < spec.min_ndim \
                or spec.max_ndim is not None and rank > spec.max_ndim \
                or any(-rank <= axis < rank and tensor.shape[axis] != size for axis, size in self._axis_checks):
            spec.check(tuple(tensor.shape), self.name)

    def _symbolic_call(self, args, kwargs):
        first = args[0]
        if not self.built:
            self._build_for(_shape_structure(first))
        elif self.input_spec is not None and isinstance(first, KerasTensor):
            self.input_spec.check(first.shape, self.name)
        outputs = self.compute_output_spec(*args, **kwargs)
        Node(self, args, kwargs, outputs)
        return outputs

    def _convert_input(self, value):
        """Torch tensor(s) from tensors, NumPy arrays or nested lists; floats cast to the layer dtype.
        Text stays a NumPy array of strings (torch has no string tensors)."""
        if isinstance(value, (list, tuple)) and value and all(_is_array_like_structure(v) for v in value) \
                and not _is_rectangular_numbers(value):
            return type(value)(self._convert_input(v) for v in value)
        if isinstance(value, dict):
            return {key: self._convert_input(v) for key, v in value.items()}
        if not isinstance(value, torch.Tensor):
            try:
                array = np.asarray(value)
            except ValueError as error:  # ragged nesting: several batched inputs of different shapes, else bad input
                if isinstance(value, (list, tuple)) and all(_is_batched_nested_list(v) for v in value):
                    return type(value)(self._convert_input(v) for v in value)
                raise TypeError(f"Layer '{self.name}' could not convert its input to a tensor: received "
                                f"{type(value).__name__} with ragged content ({error}).") from None
            if is_string_array(array):
                return array
            if array.dtype == object:
                raise TypeError(f"Layer '{self.name}' could not convert its input to a tensor: received "
                                f"{type(value).__name__} with ragged or non-numeric content.")
            value = torch.as_tensor(array, device=self._device())
        if value.is_floating_point():
            if self.autocast and value.dtype is not self._input_torch_dtype:
                value = value.to(self._input_torch_dtype)
        elif self.casts_integer_inputs:
            if value.is_complex():
                raise TypeError(f"Layer '{self.name}' ({type(self).__name__}) expects real-valued inputs. "
                                f"Received: dtype {value.dtype}")
            value = value.to(self._input_torch_dtype)
        return value

    def _convert_mask(self, mask):
        """A mask given as NumPy or a list becomes a tensor on the layer's device."""
        if mask is None or isinstance(mask, torch.Tensor):
            return mask
        return torch.as_tensor(np.asarray(mask), device=self._device())

    def _device(self):
        """The device of this layer's own weights or buffers, else of its sublayers' (None without any).
        Looks at the module dictionaries directly: ``parameters()`` costs microseconds per call."""
        for tensors in (self._parameters, self._buffers):
            for tensor in tensors.values():
                if tensor is not None:
                    return tensor.device
        for child in self._modules.values():
            if isinstance(child, Layer):
                device = child._device()
            elif child is not None:
                device = next((t.device for t in itertools.chain(child.parameters(), child.buffers())), None)
            else:
                continue
            if device is not None:
                return device
        return None

    # ------------------------------------------------------------------ config
    def get_config(self):
        """The layer's configuration, with Keras's keys."""
        config = {"name": self.name, "trainable": self.trainable, "dtype": serialize_policy(self.dtype_policy)}
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        if type(self).get_config is Layer.get_config and type(self).__init__ is not Layer.__init__:
            arguments = self._init_arguments
            if arguments is None:
                raise NotImplementedError(f"Layer {type(self).__name__} does not implement get_config() and its "
                                          "constructor arguments could not be recorded automatically.")
            config.update({k: v for k, v in arguments.items() if k not in ("name", "trainable", "dtype")})
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _explained_init(init):
    """Wraps a layer's ``__init__`` so that an unknown identifier (initializer, activation...) names the layer
    and the argument: "Dense 'dense': unknown `kernel_initializer` 'glorot_uniformm'; did you mean ...?"."""

    @functools.wraps(init)
    def explained(self, *args, **kwargs):
        try:
            init(self, *args, **kwargs)
        except IdentifierError as error:
            arguments = self.__dict__.get("_init_arguments") or {}
            argument = next((key for key, value in arguments.items() if value is error.identifier
                             or isinstance(value, str) and value == error.identifier), None)
            name = self.__dict__.get("name") or arguments.get("name") or to_snake_case(type(self).__name__)
            what = f"`{argument}`" if argument else error.kind
            if isinstance(error, UnknownIdentifierError):
                hint = f"; did you mean {error.suggestion!r}?" if error.suggestion else f" (not a known {error.kind})."
                raise ValueError(f"{type(self).__name__} '{name}': unknown {what} {error.identifier!r}{hint}") from None
            raise ValueError(f"{type(self).__name__} '{name}': {what} must be a {error.kind}: {error.hint}. "
                             f"Received: {error.identifier!r}") from None
        except (ValueError, TypeError) as error:
            # An argument check of a part (a cell, a regularizer) names the part: say which layer it is in.
            if type(error) not in (ValueError, TypeError) or type(self).__name__ in str(error):
                raise
            arguments = self.__dict__.get("_init_arguments") or {}
            name = self.__dict__.get("name") or arguments.get("name") or to_snake_case(type(self).__name__)
            raise type(error)(f"{type(self).__name__} '{name}': {error}") from error

    return explained


def _tracked_build(build):
    """Wraps a layer's ``build`` so that any call (ours or the user's) records the build."""

    @functools.wraps(build)
    def tracked(self, *args, **kwargs):
        with naming.name_scope(self.name, caller=self):
            self.__dict__.setdefault("_path", naming.current_path())  # Keras's layer.path: its scope when built
            result = build(self, *args, **kwargs)
        self.built = True
        if self._build_input_shape is None:
            # The first shape, also when given by name (`mha.build(query_shape=..., value_shape=...)`).
            input_shape = args[0] if args else next(iter(kwargs.values()), None)
            self._build_input_shape = tuple(input_shape) if is_shape(input_shape) else input_shape
        self._update_call_path()
        Structure.changed()
        return result

    return tracked


def _get_mask(value):
    if isinstance(value, torch.Tensor):
        return getattr(value, "_keras_mask", None)
    if isinstance(value, (list, tuple)):
        masks = [_get_mask(v) for v in value]
        return masks if any(m is not None for m in masks) else None
    return None


# What a failed call may raise from inside PyTorch or a layer's own code, explained by ``_explained_error``.
_CALL_ERRORS = (RuntimeError, IndexError, NotImplementedError, TypeError, AttributeError, ValueError, KeyError,
                ZeroDivisionError, OverflowError)


def _describe(inputs):
    """``shape (2, 3) float32`` for each tensor of an input structure (other values by type)."""
    parts = [f"shape {tuple(t.shape)} {str(t.dtype).removeprefix('torch.')}" if isinstance(t, torch.Tensor)
             else type(t).__name__ for t in tree.flatten(inputs)]
    return "[" + "; ".join(parts) + "]" if len(parts) != 1 else parts[0]


def _first_tensor(value):
    """The first tensor of an input structure (a multi-input layer's list): where the call runs."""
    return value if isinstance(value, torch.Tensor) else next(t for t in tree.flatten(value) if isinstance(t, torch.Tensor))


def set_masks(outputs, masks):
    """Attaches ``masks`` (a structure like ``outputs``, None entries skipped) as the tensors' Keras masks."""
    if masks is None:
        return
    flat_outputs, flat_masks = tree.flatten(outputs), tree.flatten(masks)
    for output, mask in zip(flat_outputs, flat_masks):
        if isinstance(output, torch.Tensor) and mask is not None:
            output._keras_mask = mask


def _is_array_like_structure(value):
    return isinstance(value, (torch.Tensor, np.ndarray)) or (
        isinstance(value, (list, tuple)) and all(isinstance(v, (torch.Tensor, np.ndarray)) for v in value))


def _is_rectangular_numbers(value):
    """True for nested lists of plain numbers (one array), False for a list of arrays (several inputs)."""
    return all(isinstance(v, (list, tuple)) for v in value) and not any(
        isinstance(leaf, (torch.Tensor, np.ndarray)) for leaf in tree.flatten(value))


def _is_batched_nested_list(value):
    """A nested list holding one rectangular array of numbers of rank 2 or more (a batch of samples)."""
    if not isinstance(value, (list, tuple)):
        return False
    try:
        array = np.asarray(value)
    except ValueError:
        return False
    return array.ndim >= 2 and array.dtype != object


def _shape_structure(value):
    """The shape(s) of a tensor structure (a tuple, or a list/dict of tuples)."""

    def shape_of(leaf):
        if isinstance(leaf, KerasTensor):
            return leaf.shape
        if isinstance(leaf, (torch.Tensor, np.ndarray)):
            return tuple(int(d) for d in leaf.shape)
        return None

    if isinstance(value, (list, tuple)):
        return [shape_of(v) for v in value]
    if isinstance(value, dict):
        return {k: shape_of(v) for k, v in value.items()}
    return shape_of(value)


def _symbolic_like(value, batch_size=False):
    """A tensor's (or string array's) spec, its batch size unknown unless ``batch_size``; other values as they are."""
    if isinstance(value, torch.Tensor) or is_string_array(value):
        shape = tuple(value.shape)
        if shape and not batch_size:
            shape = (None,) + shape[1:]
        dtype = STRING if not isinstance(value, torch.Tensor) else DTYPE_NAMES.get(value.dtype, "float32")
        return KerasTensor(shape, dtype=dtype)
    return value


def is_shape(value):
    """True for one shape (a tuple/list of ints and None), False for a structure of shapes."""
    return isinstance(value, (tuple, list)) and all(d is None or isinstance(d, (int, np.integer)) for d in value)


def specs_from_shapes(shapes, dtype):
    """KerasTensors for a shape, or a list/dict of shapes."""
    if is_shape(shapes):
        return KerasTensor(tuple(shapes), dtype=dtype)
    if isinstance(shapes, dict):
        return {k: specs_from_shapes(v, dtype) for k, v in shapes.items()}
    return [specs_from_shapes(s, dtype) for s in shapes]


Layer.build = _tracked_build(Layer.build)
Layer.__init__ = _explained_init(Layer.__init__)
