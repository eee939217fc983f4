"""Layer weights: creation in Keras's order, storage layouts, and the Keras-layout views.

A weight is declared with its Keras shape and an optional storage ``layout`` (e.g.
``Permuted((3, 2, 0, 1))`` to keep a conv kernel in PyTorch's layout); ``get_weights``,
``set_weights``, initializers, regularizers and constraints always see Keras's layout.
"""

import numpy as np
import torch

from lamina import constraints, initializers, naming, regularizers, weight_budget
from lamina.dtypes import TORCH_DTYPES, from_numpy, to_numpy
from lamina.variables import IDENTITY_LAYOUT, Variable, WeightSpec


class Permuted:
    """A weight stored as a permutation of its Keras layout (``storage = keras.permute(order)``).

    ``memory_format`` (e.g. ``torch.channels_last`` for a conv kernel used on channels_last data) is
    the physical order of the stored tensor, so kernels don't convert the weight on every call.
    """

    def __init__(self, order, memory_format=torch.contiguous_format):
        self.order = tuple(order)
        self.inverse = tuple(int(i) for i in np.argsort(order))
        self.memory_format = memory_format

    def from_keras(self, tensor):
        return tensor.permute(self.order)

    def to_keras(self, tensor):
        return tensor.permute(self.inverse)


_UNTRACKED_SPEC = WeightSpec((), None, True, None, None)


def full_value(tensor):
    """The whole tensor: one sharded over processes (FSDP's DTensor) is gathered, a collective operation."""
    return tensor.full_tensor() if hasattr(tensor, "full_tensor") else tensor


def assign_value(target, value):
    """``target.copy_(value)`` for a whole ``value``; a sharded ``target`` keeps this process's shard of it."""
    if hasattr(target, "device_mesh"):
        from torch.distributed.tensor import distribute_tensor  # a DTensor exists only once torch.distributed is used

        value = distribute_tensor(value.to(target.device), target.device_mesh, target.placements, src_data_rank=None)
    target.copy_(value)


def read_weight(layer, name):
    """``getattr(layer, name)`` for a weight a layer's ``call`` reads: the Parameter in ``layer._parameters``
    (a dict read, where ``Module.__getattr__``, reached after the failed normal lookup, costs about 1 us), else
    the attribute itself (None, or a weight that a parametrization, pruning or an old-style weight norm moved out
    of ``_parameters``)."""
    weight = layer._parameters.get(name)
    return getattr(layer, name) if weight is None else weight


class Structure:
    """A counter bumped whenever any layer's weights, sublayers or trainability change.

    Walks over a model's weights (``weights``, ``trainable_weights``, ``losses``) are cached per layer
    and recomputed only when the counter moved, so a training step reads them for free.
    """

    version = 0

    @classmethod
    def changed(cls):
        cls.version += 1


class WeightsMixin:
    """Weight creation and the Keras weight APIs of ``Layer``."""

    def _set_weight_options(self, prefix, initializer, regularizer, constraint):
        """Stores ``<prefix>_initializer``, ``<prefix>_regularizer`` and ``<prefix>_constraint``
        (Keras's attribute names) resolved from Keras identifiers."""
        setattr(self, f"{prefix}_initializer", initializers.get(initializer))
        setattr(self, f"{prefix}_regularizer", regularizers.get(regularizer))
        setattr(self, f"{prefix}_constraint", constraints.get(constraint))

    def _add_configured_weight(self, name, shape, prefix, layout=None):
        """A trainable weight of Keras ``shape`` using the options stored by ``_set_weight_options(prefix)``."""
        return self.add_weight(name=name, shape=shape, initializer=getattr(self, f"{prefix}_initializer"),
                               regularizer=getattr(self, f"{prefix}_regularizer"),
                               constraint=getattr(self, f"{prefix}_constraint"), trainable=True, layout=layout)

    def _rename_weight(self, old_name, new_name):
        self._weight_specs = {new_name if key == old_name else key: spec for key, spec in self._weight_specs.items()}
        table = self._parameters if old_name in self._parameters else self._buffers
        table[new_name] = table.pop(old_name)
        Structure.changed()

    # ------------------------------------------------------------------ weights
    def add_variable(self, shape, initializer, dtype=None, trainable=True, autocast=True, regularizer=None,
                     constraint=None, name=None):
        """Keras 3's ``add_variable``: ``add_weight`` with ``shape`` and ``initializer`` first."""
        return self.add_weight(shape=shape, initializer=initializer, dtype=dtype, trainable=trainable,
                               autocast=autocast, regularizer=regularizer, constraint=constraint, name=name)

    def add_weight(self, *args, shape=None, initializer=None, dtype=None, trainable=True, autocast=True,
                   regularizer=None, constraint=None, aggregation="none", name=None, layout=None):
        """Creates a weight of Keras shape ``shape``; returns the stored tensor.

        Positional arguments follow Keras 3 (``shape, initializer, dtype, trainable``) or Keras 2
        (``name, shape, ...``, recognised by a string first argument).
        ``layout`` (lamina): how the weight is stored (e.g. ``Permuted((3, 2, 0, 1))`` for a conv
        kernel in PyTorch's layout); ``get_weights``, initializers, regularizers and constraints
        always see the Keras layout. The weight is a ``lamina.Variable`` (a ``torch.nn.Parameter``):
        trainable weights are registered as parameters, others as buffers.
        """
        if args and isinstance(args[0], str):
            name, args = args[0], args[1:]
        for key, value in zip(("shape", "initializer", "dtype", "trainable"), args):
            if key == "shape":
                shape = value
            elif key == "initializer":
                initializer = value
            elif key == "dtype":
                dtype = value
            else:
                trainable = value
        shape = () if shape is None else tuple(int(d) for d in shape)
        dtype = dtype or self.dtype_policy.variable_dtype
        torch_dtype = TORCH_DTYPES[getattr(dtype, "name", None) or str(dtype).replace("torch.", "")] \
            if not isinstance(dtype, torch.dtype) else dtype
        if initializer is None:
            initializer = "glorot_uniform" if torch_dtype.is_floating_point else "zeros"
        weight_budget.claim(f"Layer '{self.name}'", name or "variable", shape, torch_dtype.itemsize)
        try:
            value = torch.as_tensor(initializers.get(initializer)(shape, dtype=torch_dtype), dtype=torch_dtype)
        except RuntimeError as error:
            if "alloc" not in str(error):
                raise
            raise ValueError(f"Layer '{self.name}': weight {name or 'variable'!r} of shape {shape} "
                             f"({torch_dtype}) does not fit in memory: {error}") from None
        if tuple(value.shape) != shape:
            raise ValueError(f"Layer '{self.name}': initializer for weight {name!r} returned shape "
                             f"{tuple(value.shape)}, expected {shape}.")
        layout = layout or IDENTITY_LAYOUT
        stored = layout.from_keras(value).contiguous(
            memory_format=getattr(layout, "memory_format", torch.contiguous_format))
        device = next(iter(self._parameters.values()), None)
        if device is not None and device.device != stored.device:
            stored = stored.to(device.device)
        keras_name = name or "variable"
        name = self._free_weight_name(keras_name)
        spec = WeightSpec(shape, layout, trainable, regularizers.get(regularizer), constraints.get(constraint))
        self._weight_specs[name] = spec
        with naming.name_scope(self.name, caller=self):
            path = f"{naming.current_path()}/{keras_name}"
        variable = Variable(stored, requires_grad=trainable and self._trainable and torch_dtype.is_floating_point)
        variable._bind(spec, keras_name, path)
        if trainable:
            self.register_parameter(name, variable)
        else:
            self.register_buffer(name, variable)
        Structure.changed()
        return variable

    def _free_weight_name(self, name):
        candidate, index = name, 0
        while candidate in self._weight_specs or hasattr(self, candidate):
            index += 1
            candidate = f"{name}_{index}"
        return candidate

    def _own_weight_slots(self):
        """(owner, attribute, spec) of this layer's own weights: trainable-created first, as Keras."""
        specs = self._weight_specs
        ordered = [n for n, s in specs.items() if s.trainable] + [n for n, s in specs.items() if not s.trainable]
        return [(self, name, specs[name]) for name in ordered]

    def _weight_slots(self):
        """All weights in Keras's ``weights`` order: own, then each sublayer's, without repeats (cached)."""
        return self._cached("slots", self._walk_weight_slots)

    def _cached(self, key, compute):
        """``compute()``, remembered until the model structure changes (see ``Structure``)."""
        cache = self.__dict__.get("_structure_cache")
        if cache is None or cache[0] != Structure.version:
            cache = (Structure.version, {})
            self.__dict__["_structure_cache"] = cache
        values = cache[1]
        if key not in values:
            values[key] = compute()
        return values[key]

    def _walk_weight_slots(self):
        slots, seen = [], set()

        def visit(module):
            if isinstance(module, WeightsMixin):
                own = module._own_weight_slots()
            else:
                own = [(module, n, _UNTRACKED_SPEC) for n, _ in module.named_parameters(recurse=False)]
                own += [(module, n, _UNTRACKED_SPEC) for n, _ in module.named_buffers(recurse=False)]
            for slot in own:
                tensor = getattr(slot[0], slot[1])
                if tensor is not None and id(tensor) not in seen:
                    seen.add(id(tensor))
                    slots.append(slot)
            for child in module.children():
                visit(child)

        visit(self)
        return slots

    @property
    def weights(self):
        return [getattr(owner, name) for owner, name, _ in self._weight_slots()]

    @property
    def trainable_weights(self):
        return list(self._cached("trainable", self._walk_trainable_weights))

    def _walk_trainable_weights(self):
        if not self.trainable:
            return []
        found = []
        for owner, name, spec in self._weight_slots():
            value = getattr(owner, name)
            if not getattr(owner, "trainable", True):
                continue
            if value.trainable if isinstance(value, Variable) else spec.trainable and isinstance(value, torch.nn.Parameter):
                found.append(value)
        return found

    @property
    def non_trainable_weights(self):
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    @property
    def trainable_variables(self):
        return self.trainable_weights

    @property
    def non_trainable_variables(self):
        return self.non_trainable_weights

    @property
    def variables(self):
        return self.weights

    def get_weights(self):
        """The weights as NumPy arrays, in Keras's order and layouts."""
        return [to_numpy(spec.layout.to_keras(full_value(getattr(owner, name))))
                for owner, name, spec in self._weight_slots()]

    def set_weights(self, weights):
        """Sets the weights from NumPy arrays in Keras's order and layouts (as ``get_weights`` gives)."""
        slots = self._weight_slots()
        weights = list(weights)
        if len(weights) != len(slots):
            raise ValueError(f"Layer '{self.name}' expected {len(slots)} weights "
                             f"({', '.join(n for _, n, _ in slots) or 'none'}), but received "
                             f"{len(weights)} weights.")
        for index, ((owner, name, spec), value) in enumerate(zip(slots, weights)):
            target = getattr(owner, name)
            array = to_numpy(value) if isinstance(value, torch.Tensor) else np.asarray(value)
            expected = spec.keras_shape if spec is not _UNTRACKED_SPEC else tuple(target.shape)
            if tuple(array.shape) != expected:
                hint = ""
                if tuple(reversed(array.shape)) == expected or sorted(array.shape) == sorted(expected):
                    hint = (" The array has the right size but another layout: set_weights takes Keras "
                            "layouts (e.g. Dense kernel (in, units), Conv2D kernel (kh, kw, in, filters)), "
                            "not PyTorch's.")
                owner_name = owner.name if isinstance(owner, WeightsMixin) else type(owner).__name__
                raise ValueError(f"Layer '{self.name}' weight {index} ('{owner_name}/{name}'): "
                                 f"expected shape {expected}, received {tuple(array.shape)}.{hint}")
            with torch.no_grad():
                source = from_numpy(array).to(device=target.device, dtype=target.dtype)
                assign_value(target, spec.layout.from_keras(source))

    def count_params(self):
        if not self.built:
            raise ValueError(f"You tried to call `count_params` on layer '{self.name}', but the layer isn't "
                             "built. You can build it manually via: `layer.build(input_shape)`.")
        return int(sum(int(np.prod(spec.keras_shape if spec is not _UNTRACKED_SPEC
                                   else tuple(getattr(owner, name).shape)))
                       for owner, name, spec in self._weight_slots()))

    def apply_constraints(self):
        """Projects every constrained weight (this layer's and its sublayers') onto its constraint.

        Optimizers do this after each update, as Keras does; call it after updating weights by hand.
        """
        with torch.no_grad():
            for owner, name, spec in self._weight_slots():
                if spec.constraint is not None:
                    getattr(owner, name)._apply_constraint()
