"""``@keras_op``: one decorator turns an eager torch function into a Keras op.

The decorated function stays the eager implementation, called directly on data (one cheap check for
symbolic arguments, traced away by ``torch.compile``). Called with a KerasTensor among its arguments it
builds an ``Operation`` of Keras's class (``Sum``, ``Add``...): the arguments Keras's class takes in its
constructor (``config``) become the op's config, the others its call arguments, so the recorded node
and the functional config are Keras 3.15's, and a Keras-written config rebuilds the same op.
"""

import functools
import inspect

from lamina import registry
from lamina.dtypes import standardize_dtype
from lamina.ops.tensors import to_tensor
from lamina.symbolic.keras_tensor import has_symbolic
from lamina.symbolic.operation import Operation

_P = inspect.Parameter
KERAS_MODULES = {name: f"keras.src.ops.{name}" for name in ("numpy", "nn", "math", "linalg", "image", "core", "einops")}


class FunctionOperation(Operation):
    """An operation that runs a ``lamina.ops`` function with its config as keyword arguments."""

    _function = None
    _signature = None
    _config_names = ()
    _call_kwarg_names = ()
    _output_spec = None

    def __init__(self, *args, **kwargs):
        bound = self._init_signature.bind(None, *args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        arguments.pop("self")
        name = arguments.pop("name", None)
        arguments.update(arguments.pop("kwargs", {}))
        super().__init__(name=name)
        if "dtype" in arguments and arguments["dtype"] is not None and not isinstance(arguments["dtype"], str):
            arguments["dtype"] = standardize_dtype(arguments["dtype"])  # a torch dtype is written as its name
        self._config = arguments

    def call(self, *args, **kwargs):
        names = [p.name for p in self._signature.parameters.values()
                 if p.name not in self._config and p.name not in kwargs and p.kind is not _P.VAR_KEYWORD]
        values = {**self._config, **kwargs}
        positional = list(args)
        for name in names:
            parameter = self._signature.parameters[name]
            if parameter.kind is _P.VAR_POSITIONAL:
                values[name] = tuple(positional)
                positional = []
            elif positional:
                values[name] = positional.pop(0)
        extra = {k: values.pop(k) for k in list(values) if k not in self._signature.parameters}
        bound = inspect.BoundArguments(self._signature, values)
        return type(self)._function(*bound.args, **bound.kwargs, **extra)

    def compute_output_spec(self, *args, **kwargs):
        if self._output_spec is not None:
            return self._output_spec(*args, **{**self._config, **kwargs})
        return super().compute_output_spec(*args, **kwargs)

    def get_config(self):
        return {"name": self.name, **self._config}


def keras_op(class_name, module, config=(), call_kwargs=(), output_spec=None, prepare=None):
    """Makes ``fn`` a Keras op whose class is ``class_name`` in ``keras.src.ops.<module>``.

    Args:
        config: the parameters of ``fn`` that Keras's class takes in its constructor, in its order (a
            ``(name, default)`` pair for one that ``fn`` takes through ``**kwargs``).
        call_kwargs: parameters Keras passes to the op's call by keyword (the others go positionally).
        output_spec: ``output_spec(*call_args, **config)`` -> KerasTensors, for outputs whose shape
            fake tensors cannot infer (data-dependent sizes).
        prepare: ``prepare(arguments)`` normalizes the bound arguments (a dict, changed in place) before
            a symbolic call records them, as Keras's functions do (``data_format=None`` -> the global one).
    """

    def decorator(fn):
        signature = inspect.signature(fn)
        config_parameters = []
        for entry in config:
            # A (name, default) pair: a constructor argument the function takes through **kwargs.
            name, default = entry if isinstance(entry, tuple) else (entry, signature.parameters[entry].default)
            config_parameters.append(_P(name, _P.POSITIONAL_OR_KEYWORD, default=default))
        config_names = tuple(parameter.name for parameter in config_parameters)
        name_kind = _P.KEYWORD_ONLY if config_parameters else _P.POSITIONAL_OR_KEYWORD
        init_signature = inspect.Signature([_P("self", _P.POSITIONAL_OR_KEYWORD), *config_parameters,
                                            _P("name", name_kind, default=None)])

        def __init__(self, *args, **kwargs):
            FunctionOperation.__init__(self, *args, **kwargs)

        __init__.__signature__ = init_signature
        cls = type(class_name, (FunctionOperation,), {
            "__init__": __init__, "_init_signature": init_signature, "_function": staticmethod(fn),
            "_signature": signature, "_config_names": config_names, "_call_kwarg_names": tuple(call_kwargs),
            "_output_spec": staticmethod(output_spec) if output_spec else None,
            "keras_module": KERAS_MODULES[module], "__module__": fn.__module__,
            "__doc__": f"The operation behind ``lamina.ops.{fn.__name__}`` (Keras's ``{class_name}``)."})
        registry.register_builtin(KERAS_MODULES[module], class_name)(cls)
        call_names = [n for n in signature.parameters if n not in config_names and n not in call_kwargs]

        @functools.wraps(fn)
        def op(*args, **kwargs):
            if has_symbolic(args) or (kwargs and has_symbolic(kwargs.values())):
                return _symbolic_call(cls, signature, config_names, call_names, call_kwargs, prepare, args, kwargs)
            return fn(*args, **kwargs)

        op.operation_class = cls
        return op

    return decorator


def _symbolic_call(cls, signature, config, call_names, call_kwargs, prepare, args, kwargs):
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    values = bound.arguments
    if prepare is not None:
        prepare(values)
    positional = []
    for name in call_names:
        parameter = signature.parameters[name]
        if parameter.kind is _P.VAR_POSITIONAL:
            positional.extend(values.get(name, ()))
        elif parameter.kind is not _P.VAR_KEYWORD:
            positional.append(values[name])
    extra = values.get(next((p.name for p in signature.parameters.values() if p.kind is _P.VAR_KEYWORD), ""), {})
    operation = cls(**{name: values[name] if name in values else extra[name] for name in config
                       if name in values or name in extra})
    return operation.symbolic_call(*positional, **{name: values[name] for name in call_kwargs})


def unary_op(name, class_name, module, compute, doc, defined_in):
    """A one-argument op ``name(x)`` computing ``compute(tensor)``, registered as Keras's ``class_name``."""

    def op(x):
        return compute(to_tensor(x))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    op.__module__ = defined_in
    return keras_op(class_name, module)(op)
