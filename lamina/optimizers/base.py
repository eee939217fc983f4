"""The optimizer base: Keras 3's gradient pipeline on torch tensors, updated in place.

One ``apply`` runs, in Keras's order: drop ``None`` gradients, divide by
``loss_scale_factor``, clip (``clipnorm``, else ``global_clipnorm``, else
``clipvalue``), decay weights (``w *= 1 - weight_decay * lr``), the subclass's
``_update``, the EMA of the weights, then ``iterations += 1``. Subclasses only
declare their slots in ``_build_slots`` and implement ``_update`` with
multi-tensor ops: ``torch._foreach_*``, or for elementwise updates ``multi_tensor_ops``.

Elementwise updates of small CPU variables run on flat buffers (lamina/optimizers/flat.py), with the
same results bit for bit: ``multi_tensor_ops`` gives the ``_foreach_*`` ops for lists and the tensors'
own ops for the flat buffers.

Scalar state (``iterations``, the float learning rate, Nadam's ``u_product``)
lives in CPU tensors so reading it never synchronises a GPU; per-variable slots
live beside their variable, in its dtype and on its device.
"""

import functools
import re
import warnings

import torch

from lamina import initializers, registry
from lamina.naming import to_snake_case, unique_name
from lamina.optimizers import schedules
from lamina.optimizers.flat import FlatState, multi_tensor_ops
from lamina.serialization import deserialize_keras_object, serialize_keras_object


def apply_constraints(variables, constrained):
    """Projects the ``variables`` whose ids are in ``constrained`` onto their constraints (Keras does this
    right after each update)."""
    for variable in variables:
        if id(variable) in constrained:
            variable._apply_constraint()


def f32(value):
    """A float32 0-d CPU tensor: Keras computes optimizer scalars in the variables' float32."""
    if torch.compiler.is_compiling() and not isinstance(value, torch.Tensor):
        return torch.tensor(value, dtype=torch.float32)  # as_tensor cannot take a traced step's symbolic numbers
    return torch.as_tensor(value, dtype=torch.float32)


@torch.compiler.disable
def _learning_rate_tensor(optimizer):
    """A schedule's (or callable's) learning rate, computed outside a compiled graph (schedules branch in
    Python on the step, which a graph would guard on, recompiling at every step), as a tensor: a float
    crossing the graph break would be guarded on too."""
    return f32(optimizer._current_learning_rate())


class Optimizer:
    """Base class of lamina's Keras optimizers.

    Args:
        learning_rate: a float, a ``lamina.optimizers.schedules.LearningRateSchedule``
            (called with ``iterations``), or a callable with no arguments.
        weight_decay: if set, each step first does ``w -= w * weight_decay * lr``.
        clipnorm / global_clipnorm / clipvalue: at most one; clip each gradient's
            L2 norm, all gradients' joint L2 norm, or each element.
        use_ema, ema_momentum, ema_overwrite_frequency: keep an exponential moving
            average of the weights; copy it into them every ``ema_overwrite_frequency``
            steps or at ``finalize_variable_values``.
        loss_scale_factor: gradients are divided by it (``scale_loss`` multiplies the loss).
        gradient_accumulation_steps: not supported by lamina; must be None.
        name: defaults to the snake_case class name, numbered.

    Use it like Keras (``apply_gradients(zip(grads, params))``) or like ``torch.optim``::

        opt = lamina.optimizers.Adam(1e-3)
        opt.build(model.parameters())
        loss.backward(); opt.step(); opt.zero_grad()
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "build" in cls.__dict__:  # a Keras-style subclass's build(variables), called once as Keras calls it
            build = cls.__dict__["build"]

            @functools.wraps(build)
            def build_once(self, variables):
                if not self.built:
                    build(self, variables)

            cls.build = build_once

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.", stacklevel=3)
        if kwargs:
            raise ValueError(f"{type(self).__name__}: argument(s) not recognized: {kwargs}")
        if gradient_accumulation_steps is not None:
            raise ValueError(f"{type(self).__name__}: gradient_accumulation_steps is not supported by lamina; "
                             "accumulate gradients in your loop or use a larger batch. "
                             f"Received: gradient_accumulation_steps={gradient_accumulation_steps!r}")
        if sum(arg is not None for arg in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                             f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                             f"global_clipnorm={global_clipnorm}")
        if use_ema:
            if not 0 <= ema_momentum <= 1:
                raise ValueError(f"`ema_momentum` must be in the range [0, 1]. Received: ema_momentum={ema_momentum}")
            if ema_overwrite_frequency and (not isinstance(ema_overwrite_frequency, int)
                                            or ema_overwrite_frequency < 1):
                raise ValueError("`ema_overwrite_frequency` must be an integer >= 1 or None. "
                                 f"Received: ema_overwrite_frequency={ema_overwrite_frequency}")
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self.weight_decay = weight_decay
        self._decay_excluded_variables, self._decay_excluded_names = set(), None  # exclude_from_weight_decay
        self._not_decayed = set()  # ids of the built variables weight decay skips
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = None
        self.built = False
        self._iterations = torch.zeros((), dtype=torch.int64)
        self._learning_rate = None
        self._lr_variable = None
        self.learning_rate = learning_rate
        self._trainable_variables = []
        self._index = {}
        self._slots = {}
        self._slot_order = []
        self._extra_variables = []
        self._referenced = {}  # id(variable added from a reference) -> that reference (its layout)
        self._constrained = set()
        self._flat = None  # a FlatState once built, when the update can run on flat buffers

    # ----------------------------------------------------------------- state
    @property
    def iterations(self):
        """The number of updates applied so far (an int64 0-d tensor)."""
        return self._iterations

    @property
    def learning_rate(self):
        """The learning rate at the current iteration, as a float32 0-d tensor."""
        return f32(self._current_learning_rate())

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(value, schedules.LearningRateSchedule) or callable(value):
            self._learning_rate = value
            self._lr_variable = None
            return
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = float(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{type(self).__name__}: `learning_rate` should be a float, a "
                             "LearningRateSchedule, or a callable returning the learning rate. "
                             f"Received: learning_rate={value!r}")
        if self._learning_rate is not None and self._lr_variable is None:
            raise TypeError("This optimizer was created with a `LearningRateSchedule` or callable as its "
                            "`learning_rate`, hence its learning rate is not settable. Create the optimizer "
                            "with a float `learning_rate` to change it during training.")
        if self._lr_variable is None:
            self._lr_variable = f32(value)
        else:
            self._lr_variable.fill_(value)
        self._learning_rate = self._lr_variable

    def _current_learning_rate(self):
        """The learning rate for the coming update: a float holding a float32 value."""
        lr = self._learning_rate
        if lr is self._lr_variable:
            return lr.item()
        if isinstance(lr, schedules.LearningRateSchedule):
            return float(f32(lr(self._iterations)))
        return float(f32(lr()))

    @property
    def variables(self):
        """State tensors in Keras's order: iterations, learning rate (when a float), slots, extras."""
        head = [self._iterations] + ([self._lr_variable] if self._lr_variable is not None else [])
        return head + list(self._slot_order) + list(self._extra_variables)

    def build(self, variables):
        """Creates the per-variable state for ``variables`` (torch Parameters); once."""
        if self.built:
            return
        self._trainable_variables = list(variables)
        for i, variable in enumerate(self._trainable_variables):
            if not isinstance(variable, torch.Tensor):
                raise TypeError(f"{type(self).__name__}.build expects torch tensors (e.g. model.parameters()). "
                                f"Received at index {i}: {type(variable).__name__}")
            self._index[id(variable)] = i
        self._constrained = {id(v) for v in self._trainable_variables if getattr(v, "constraint", None) is not None}
        names = self._decay_excluded_names
        self._not_decayed = {id(v) for v in self._trainable_variables if id(v) in self._decay_excluded_variables
                             or names is not None and names.search(getattr(v, "name", "") or "") is not None}
        if self.use_ema:
            self._add_slots("average")
        self._build_slots()
        if self._updates_elementwise() and FlatState.eligible(self._trainable_variables):
            self._flat = FlatState(self._trainable_variables, self._slots)
        self.built = True

    def _updates_elementwise(self):
        """Whether every stage of this optimizer's update treats each element alike (lamina.optimizers.flat)."""
        return getattr(type(self)._update, "elementwise", False) and not self._not_decayed \
            and type(self)._apply_weight_decay is Optimizer._apply_weight_decay \
            and type(self)._clip_gradients is Optimizer._clip_gradients

    def _build_slots(self):
        """Subclasses create their slots here with ``_add_slots``."""

    def _add_slots(self, *names, initial=0.0):
        """One slot per variable for each name, interleaved per variable as Keras orders them.

        ``initial`` is the starting value of every slot, or a tuple with one value per name.
        """
        initials = initial if isinstance(initial, tuple) else (initial,) * len(names)
        created = {name: [] for name in names}
        for variable in self._trainable_variables:
            for name, value in zip(names, initials):
                slot = torch.full_like(variable, value, memory_format=torch.preserve_format,
                                       requires_grad=False)
                created[name].append(slot)
                self._slot_order.append(slot)
        self._slots.update(created)

    def slot_owners(self):
        """{id(slot): variable} for every per-variable slot: the trainable variable each slot shadows (its
        shape and storage layout), e.g. for saving slots in Keras's layout."""
        owners = {id(slot): self._trainable_variables[index] for slots in self._slots.values()
                  for index, slot in enumerate(slots)}
        owners.update(self._referenced)
        return owners

    def _rebind(self, replacements, convert):
        """Points the built state at new tensors standing for the built variables (FSDP's sharded parameters):
        ``replacements`` maps ``id(variable)`` to its replacement; each slot becomes ``convert(slot, replacement)``."""
        variables = [replacements.get(id(variable), variable) for variable in self._trainable_variables]
        renamed = {}
        for name, slots in self._slots.items():
            self._slots[name] = [convert(slot, variable) for slot, variable in zip(slots, variables)]
            renamed.update((id(old), new) for old, new in zip(slots, self._slots[name]))
        self._slot_order = [renamed.get(id(slot), slot) for slot in self._slot_order]
        self._trainable_variables = variables
        self._index = {id(variable): i for i, variable in enumerate(variables)}
        self._constrained = {id(v) for v in variables if getattr(v, "constraint", None) is not None}
        self._flat = None

    def _slot(self, name, variables):
        """The ``name`` slots of ``variables`` (a subset of the built ones) in their order, or the flat buffer of
        the flat weights."""
        if self._flat is not None and variables is self._flat.weights:
            return self._flat.slots[name]
        slots = self._slots[name]
        return [slots[self._index[id(v)]] for v in variables]

    # ----------------------------------------------------------------- updates
    def apply_gradients(self, grads_and_vars):
        """Keras API: ``apply`` for a list of ``(gradient, variable)`` pairs; returns ``iterations``."""
        grads, variables = zip(*grads_and_vars)
        self.apply(list(grads), list(variables))
        return self._iterations

    @torch.no_grad()
    def apply(self, grads, variables=None):
        """Updates ``variables`` (default: the built ones, matched 1:1 to ``grads``) in place."""
        if len(grads) == 0:
            return
        variables = self._variables_for(grads, variables)
        pairs = [(g, v) for g, v in zip(grads, variables) if g is not None]
        if not pairs:
            raise ValueError("No gradients provided for any variable.")
        if len(pairs) < len(variables):
            missing = [i for i, g in enumerate(grads) if g is None]
            warnings.warn(f"Gradients do not exist for the variables at indices {missing} when minimizing the "
                          "loss. If using `model.compile()`, did you forget to provide a `loss` argument?",
                          stacklevel=3)
        self._apply_pairs(pairs)

    def _variables_for(self, grads, variables):
        """The variables ``grads`` update: the built ones when ``variables`` is None (one gradient each),
        else ``variables`` after building on them, each of them one this optimizer was built with."""
        if variables is None:
            if not self.built:
                raise ValueError("When passing `grads` without `variables`, the optimizer must already be built "
                                 "on a list of variables. Call `optimizer.build(variables)` first.")
            if len(grads) != len(self._trainable_variables):
                raise ValueError(f"{type(self).__name__}: received {len(grads)} gradients, but the optimizer "
                                 f"was built with {len(self._trainable_variables)} variables.")
            variables = self._trainable_variables
        else:
            variables = list(variables)
            self.build(variables)
            unknown = [i for i, v in enumerate(variables) if id(v) not in self._index]
            if unknown:
                raise ValueError(f"{type(self).__name__}: unknown variable at index {unknown[0]}. This optimizer "
                                 "can only update the variables it was built with; create a new optimizer for "
                                 "a new set of variables.")
        return variables

    def _apply_pairs(self, pairs):
        variables = [v for _, v in pairs]
        grads = [g if type(g) is torch.Tensor and g.dtype is v.dtype and (g.is_cpu and v.is_cpu or g.device == v.device)
                 else torch.as_tensor(g, device=v.device).to(v.dtype) for g, v in pairs]
        updated, averaged = variables, self._trainable_variables
        if self._flat is not None and not (self.clipnorm or self.global_clipnorm or torch.compiler.is_compiling()) \
                and self._flat.covers(variables):
            grads, updated = self._flat.gather(grads), self._flat.weights  # the same update, on one tensor each
            averaged = updated
        if self.loss_scale_factor is not None:
            grads = multi_tensor_ops(grads).div(grads, self.loss_scale_factor)
        grads = self._clip_gradients(grads)
        if torch.compiler.is_compiling() and self._learning_rate is not self._lr_variable:
            lr = _learning_rate_tensor(self).item()  # called here: the graph resumes with a tensor, not a float
        else:
            lr = self._current_learning_rate()
        self._apply_weight_decay(updated, lr)
        self._update(grads, updated, lr)
        if self.use_ema:
            self._update_moving_average(averaged)
        self._iterations += 1
        if self._constrained:
            apply_constraints(variables, self._constrained)

    # ------------------------------------------------- Keras's API for optimizer subclasses
    def add_variable(self, shape, initializer="zeros", dtype=None, aggregation="none", layout=None, name=None):
        """A new optimizer variable (a tensor, listed in ``variables`` in creation order), for a subclass's
        ``build``, as Keras's; ``aggregation`` and ``layout`` are accepted for Keras's signature."""
        value = initializers.get(initializer)(tuple(shape), dtype=dtype)
        variable = value.detach().clone().requires_grad_(False)
        self._slot_order.append(variable)
        return variable

    def add_variable_from_reference(self, reference_variable, name=None, initializer="zeros"):
        """A new optimizer variable shaped, typed and laid out as ``reference_variable`` (a model weight)."""
        if initializer == "zeros":
            variable = torch.zeros_like(reference_variable, memory_format=torch.preserve_format)
        else:
            variable = initializers.get(initializer)(tuple(reference_variable.shape),
                                                     dtype=reference_variable.dtype).to(reference_variable.device)
        variable = variable.detach().requires_grad_(False)
        self._slot_order.append(variable)
        self._referenced[id(variable)] = reference_variable
        return variable

    def add_optimizer_variables(self, trainable_variables, name, initializer="zeros"):
        """``add_variable_from_reference`` for each of ``trainable_variables`` (a list, or a tuple of names
        giving one list per name), as Keras's."""
        if isinstance(name, (list, tuple)):
            return tuple(self.add_optimizer_variables(trainable_variables, each, initializer) for each in name)
        return [self.add_variable_from_reference(variable, name, initializer) for variable in trainable_variables]

    def _get_variable_index(self, variable):
        return self._index[id(variable)]

    @staticmethod
    @torch.no_grad()
    def assign(variable, value):
        variable.copy_(torch.as_tensor(value, dtype=variable.dtype, device=variable.device))

    @staticmethod
    @torch.no_grad()
    def assign_add(variable, value):
        variable.add_(torch.as_tensor(value, dtype=variable.dtype, device=variable.device))

    @staticmethod
    @torch.no_grad()
    def assign_sub(variable, value):
        variable.sub_(torch.as_tensor(value, dtype=variable.dtype, device=variable.device))

    def update_step(self, gradient, variable, learning_rate):
        """A Keras-style subclass's update of one ``variable`` from its ``gradient`` (``learning_rate``: a
        0-d tensor); lamina's own optimizers update all variables at once in ``_update`` instead."""
        raise NotImplementedError(f"{type(self).__name__} must implement update_step(gradient, variable, "
                                  "learning_rate) (or lamina's _update(grads, variables, lr)).")

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Keeps weight decay off ``var_list`` (Variables or tensors) and off every variable whose name contains
        one of the strings (regular expressions) ``var_names`` (``["bias"]``: all biases). Before ``build``
        only, as in Keras; a later call replaces an earlier one."""
        if self.built:
            raise ValueError("`exclude_from_weight_decay()` can only be configured before the optimizer is built.")
        if isinstance(var_names, str):
            raise TypeError(f"{type(self).__name__}.exclude_from_weight_decay: `var_names` must be a list of "
                            f"strings. Received: var_names={var_names!r}")
        self._decay_excluded_variables = {id(variable) for variable in var_list or ()}
        self._decay_excluded_names = re.compile("|".join(sorted(set(var_names)))) if var_names else None

    def _apply_weight_decay(self, variables, lr):
        """``w *= 1 - weight_decay * lr`` (Keras decays before the update), except on the variables
        ``exclude_from_weight_decay`` names; Muon decays per variable kind."""
        if self.weight_decay is not None:
            if self._not_decayed:
                variables = [variable for variable in variables if id(variable) not in self._not_decayed]
                if not variables:
                    return
            multi_tensor_ops(variables).mul_(variables, (1 - self.weight_decay * f32(lr)).item())

    def _update(self, grads, variables, lr):
        """Subclasses: update ``variables`` (and their slots) in place from ``grads`` at learning rate ``lr``;
        by default each variable through ``update_step``, as Keras's subclasses write it."""
        for grad, variable in zip(grads, variables):
            self.update_step(grad, variable, torch.tensor(lr, dtype=variable.dtype, device=variable.device))

    def _clip_gradients(self, grads):
        """Keras's clipping, on new tensors (the caller's gradients are never modified); clipping by value also
        on the flat gradients (by norm, per variable only)."""
        if self.clipnorm and self.clipnorm > 0:
            norms = torch._foreach_norm(grads)
            return torch._foreach_div(torch._foreach_mul(grads, self.clipnorm),
                                      torch._foreach_clamp_min(norms, self.clipnorm))
        if self.global_clipnorm and self.global_clipnorm > 0:
            norm = torch.sqrt(torch.sum(torch.stack([torch.sum(torch.square(g)) for g in grads])))
            # A non-finite norm makes the scale NaN, as in Keras.
            scale = self.global_clipnorm * torch.minimum(1.0 / norm, norm.new_tensor(1.0 / self.global_clipnorm))
            return torch._foreach_mul(grads, scale + (norm - norm))
        if self.clipvalue and self.clipvalue > 0:
            ops = multi_tensor_ops(grads)
            return ops.clamp_max(ops.clamp_min(grads, -self.clipvalue), self.clipvalue)
        return grads

    def _update_moving_average(self, variables):
        """``average = m * average + (1 - m) * w`` with ``m = 0`` on the first step; periodic overwrite.
        ``variables``: the built ones (or their flat buffer)."""
        ops = multi_tensor_ops(variables)
        averages = self._slot("average", variables)
        compiling = torch.compiler.is_compiling()  # then the step stays in the graph: no Python branch on it
        if compiling:
            momentum = torch.where(self._iterations == 0, 0.0, self.ema_momentum).item()
        else:
            step = int(self._iterations)
            momentum = self.ema_momentum if step != 0 else 0.0
        ops.mul_(averages, momentum)
        ops.add_(averages, variables, alpha=1 - momentum)
        if not self.ema_overwrite_frequency:
            return
        if compiling:
            overwrite = (self._iterations + 1) % self.ema_overwrite_frequency == 0
            torch._foreach_copy_(variables, [torch.where(overwrite, a, v) for a, v in zip(averages, variables)])
        elif (step + 1) % self.ema_overwrite_frequency == 0:
            ops.copy_(variables, averages)

    @torch.no_grad()
    def finalize_variable_values(self, var_list):
        """With ``use_ema``, copies the moving averages into ``var_list`` (the built variables)."""
        if self.use_ema:
            torch._foreach_copy_(list(var_list), self._slots["average"])

    def scale_loss(self, loss):
        """``loss * loss_scale_factor`` when one is set."""
        return loss if self.loss_scale_factor is None else loss * self.loss_scale_factor

    # ----------------------------------------------------------------- torch.optim style
    def step(self):
        """Applies each built variable's ``.grad`` (variables without one are skipped)."""
        if not self.built:
            raise ValueError(f"{type(self).__name__}.step() needs the variables first: call "
                             "`optimizer.build(model.parameters())` once before training.")
        pairs = [(v.grad, v) for v in self._trainable_variables if v.grad is not None]
        if pairs:
            with torch.no_grad():
                self._apply_pairs(pairs)

    def zero_grad(self, set_to_none=True):
        """Clears the built variables' ``.grad`` (to None, or zeros in place)."""
        for variable in self._trainable_variables:
            if variable.grad is None:
                continue
            if set_to_none:
                variable.grad = None
            else:
                variable.grad.detach_().zero_()

    # ----------------------------------------------------------------- config
    def get_config(self):
        lr = self._learning_rate
        if lr is self._lr_variable:
            lr = lr.item()
        else:
            lr = serialize_keras_object(lr)
        return {
            "name": self.name,
            "learning_rate": lr,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = deserialize_keras_object(
                config["learning_rate"], module_objects=schedules.ALL_SCHEDULES, custom_objects=custom_objects,
                printable_module_name="learning rate schedule")
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def inner_optimizer_from_config(config, custom_objects, what="optimizer"):
    """An optimizer (or a structure of them) held in a wrapping optimizer's config, rebuilt from Keras's
    built-in optimizers and ``custom_objects``."""
    return deserialize_keras_object(config, module_objects=registry.builtins_of("keras.optimizers"),
                                    custom_objects=custom_objects, printable_module_name=what)
