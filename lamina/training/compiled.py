"""``jit_compile``: the train, test and predict steps under ``torch.compile``, whole.

A step compiles as one graph: the forward pass, the loss, the backward pass (Dynamo traces
``torch.autograd.grad`` with its ``trace_autograd_ops`` flag), the optimizer's update and the metric
updates.

The bound: each step function (train, test, predict) of a model compiles once per input signature
(dtypes, ranks, non-batch dimensions), over any number of epochs and with a partial last batch, plus
- one more when a batch of a single sample comes (PyTorch specialises dimensions of size 0 and 1);
- one more on CPU for convolutions whose batches fall on both sides of 16 (the convolution kernel, and
  with it the traced memory format, is chosen by batch size).
What keeps it there:
- Every tensor of a batch has its batch dimension marked dynamic, and reaches the graph at storage offset
  0 (a view into the epoch's data is copied): Dynamo compiles a non-zero offset as "2 or more" and would
  recompile for the next epoch's first batch.
- The optimizer's scalars (the learning rate, ``iterations``, Adam's step size) are read in the graph
  (``capture_scalar_outputs``), never as Python numbers, which Dynamo would guard on at every step.
- The first call runs eagerly: it fills what a model computes lazily (structure caches), which a trace
  would guard on and recompile for once filled.
- Each step function has a code object of its own, so Dynamo's cache (8 entries per code object) is
  per model rather than shared by every model of the class.
Some steps run in pieces between which Python runs, each piece compiled once (Dynamo's graph breaks):
a custom step that reads ``.grad``, a seeded random layer (Dynamo cannot trace a ``torch.Generator``),
a learning-rate schedule (it branches on the step in Python), a ``LossScaleOptimizer``'s finite check.
Unseeded random layers stay in the graph and draw from inductor's generator, not eager's.

Under data parallelism (a process group of several processes) the backward pass stays out of the graph
(no ``trace_autograd_ops``): DDP averages the gradients in hooks that only PyTorch's autograd engine
runs. The step then compiles in pieces around ``backward``.

A compiler failure (or a PyTorch without ``torch.compile``) logs one warning per model and the step runs
eagerly from then on; an error that the eager step raises too is the step's own and is raised.
"""

import logging
import statistics
import time
import types
import warnings
import weakref

import torch

from lamina import tree

logger = logging.getLogger("lamina")

BACKEND = "inductor"  # the torch.compile backend; tests swap in a cheaper one where only the tracing matters
_WARNED = weakref.WeakSet()  # the models whose fallback to eager was logged


def resolve(jit_compile, run_eagerly):
    """Whether the steps are compiled: ``jit_compile=True`` unless ``run_eagerly`` (warned, as Keras does);
    ``"auto"`` is decided per fit by ``MeasuredStep``."""
    if jit_compile not in (True, False, None, "auto"):
        raise ValueError("compile: `jit_compile` must be True, False or 'auto'. "
                         f"Received: jit_compile={jit_compile!r}")
    if jit_compile is True and run_eagerly:
        warnings.warn("If `run_eagerly` is True, then `jit_compile` cannot also be True. Disabling `jit_compile`.",
                      stacklevel=3)
    return jit_compile is True and not run_eagerly


# jit_compile="auto" (see Trainer.compile for the measurements): compile a fit's step only when the eager steps
# still to run would take at least AUTO_MIN_SECONDS, so that compiling (4-23 s here) costs a few percent of
# the fit at most; keep the compiled step only when it runs at least AUTO_MIN_GAIN times as fast as eager.
AUTO_MIN_SECONDS = 600.0
AUTO_MIN_GAIN = 1.1
AUTO_TIMED_STEPS = 20  # timed per measurement, after AUTO_WARM_UP_STEPS untimed ones
AUTO_WARM_UP_STEPS = 5


class MeasuredStep:
    """``jit_compile="auto"``'s train step: eager, timed over a few steps; compiled (``CompiledStep``) once the
    steps still to run would take long enough eagerly for compiling to pay; back to eager for good if the
    compiled steps, timed in turn, are not faster. CPU steps only (timing a CUDA step would synchronise it,
    and CUDA was not measured), and not under data parallelism (its replicas hold the step).

    ``expect(steps)`` tells it how many steps the fit will run (unknown for generators: it stays eager).
    """

    def __init__(self, step, model):
        self.step = step
        self.model = model
        self.current = step
        self.compiled = None  # the CompiledStep, once tried
        self.settled = False
        self.remaining = None
        self._eager_seconds = None
        self._calls = 0
        self._times = []

    def expect(self, steps):
        """A fit of ``steps`` steps (None: unknown) begins: a step left eager by a shorter fit is measured again."""
        self.remaining = steps
        if self.settled and self.compiled is None:
            self.settled, self._calls, self._times = False, 0, []

    def __call__(self, data):
        if self.settled:
            return self.current(data)
        self._calls += 1
        start = time.perf_counter()
        outputs = self.current(data)
        if self._calls > AUTO_WARM_UP_STEPS:
            self._times.append(time.perf_counter() - start)
        if self.remaining is not None:
            self.remaining -= 1
        if len(self._times) == AUTO_TIMED_STEPS:
            self._decide(statistics.median(self._times))
        return outputs

    def _decide(self, seconds):
        self._times, self._calls = [], 0
        if self.compiled is None:  # the eager steps were timed
            device = self.model._device()
            if self.remaining is None or self.remaining * seconds < AUTO_MIN_SECONDS or _data_parallel() \
                    or (device is not None and device.type != "cpu"):
                self.settled = True
                return
            self._eager_seconds = seconds
            self.compiled = self.current = CompiledStep(self.step, self.model)
            logger.info("jit_compile='auto': compiling the train step of model '%s' (%d eager steps left, %.2f ms "
                        "each).", self.model.name, self.remaining, seconds * 1e3)
            return
        faster = self._eager_seconds / seconds >= AUTO_MIN_GAIN
        self.current = self.compiled if faster else self.step
        self.settled = True
        logger.info("jit_compile='auto': model '%s' trains %s (compiled step %.2f ms, eager %.2f ms).",
                    self.model.name, "compiled" if faster else "eagerly", seconds * 1e3, self._eager_seconds * 1e3)


def gradients(loss, weights):
    """The gradients of ``loss`` for ``weights``. Eagerly, ``loss.backward()`` (so ``w.grad`` is set, as on
    Keras's torch backend); under ``torch.compile``, ``torch.autograd.grad``, which Dynamo puts in the graph
    (it cannot read ``.grad`` of lamina's Parameter subclass) when it traces autograd at all."""
    if torch.compiler.is_compiling() and torch._dynamo.config.trace_autograd_ops:
        return list(torch.autograd.grad(loss, weights, allow_unused=True))
    for weight in weights:
        weight.grad = None  # only trainable weights get gradients (Keras's); cheaper than Module.zero_grad
    loss.backward()
    return [weight.grad for weight in weights]


class CompiledStep:
    """A step function compiled as one graph, else in pieces (Dynamo's graph breaks: a custom step that
    reads ``.grad``, say), else run eagerly; a failing stage is dropped for good once a later one has run
    the batch. The first call runs eagerly (see the module's docstring).
    """

    def __init__(self, step, model):
        self.step = step
        self.model = model
        # Set while the compiled step runs (and traces); DDP needs the engine's backward (module docstring).
        self.dynamo_flags = ("capture_scalar_outputs",) if _data_parallel() else \
            ("capture_scalar_outputs", "trace_autograd_ops")
        self.stages = [function for function in (_compiled(step, model, fullgraph=True),
                                                 _compiled(step, model, fullgraph=False)) if function is not None]
        self.calls = 0

    def __call__(self, data):
        self.calls += 1
        if not self.stages or self.calls == 1:
            return self.step(data)
        data = tree.map_structure(_prepared, data)
        failures = []
        for function in self.stages:
            try:
                outputs = _with_dynamo_flags(self.dynamo_flags, function, data)
                break
            except Exception as error:  # noqa: BLE001 - the compiler's failures are of every kind
                failures.append(error)
        else:
            outputs = self.step(data)  # an error raised here too is the step's own: it propagates
        if failures:
            del self.stages[:len(failures)]
            if self.stages:
                logger.info("jit_compile: model '%s' compiles its step in pieces (%s).", self.model.name,
                            _summary(failures[0]))
            else:
                _warn_once(self.model, failures[-1])
        return outputs


def _compiled(step, model, fullgraph):
    """``torch.compile`` of a fresh function calling ``step``: its own code object, its own Dynamo cache;
    None when ``torch.compile`` is not available."""
    def entry(data):
        return step(data)

    entry = types.FunctionType(entry.__code__.replace(), entry.__globals__, f"{model.name}_step", None,
                               entry.__closure__)
    try:
        return torch.compile(entry, backend=BACKEND, fullgraph=fullgraph)
    except Exception as error:  # noqa: BLE001 - e.g. a Python that torch.compile does not support yet
        _warn_once(model, error)
        return None


def _data_parallel():
    """Whether this process is one of several in a process group (whose DDP hooks run in ``backward``)."""
    distributed = torch.distributed
    return distributed.is_available() and distributed.is_initialized() and distributed.get_world_size() > 1


def _with_dynamo_flags(flags, function, data):
    """``function(data)`` with Dynamo's ``flags`` set, then restored: set directly, which costs half of what
    ``torch._dynamo.config.patch`` costs per step (10 vs 20 µs)."""
    config = torch._dynamo.config
    saved = [getattr(config, name) for name in flags]
    for name in flags:
        setattr(config, name, True)
    try:
        return function(data)
    finally:
        for name, value in zip(flags, saved):
            setattr(config, name, value)


def _prepared(value):
    """A batch's tensor as a compiled step takes it: at storage offset 0, its first (batch) dimension marked
    dynamic. A view into the epoch's data is copied (strides kept): Dynamo compiles a non-zero offset as
    "2 or more" and would recompile for the first batch of the next epoch, at offset 0."""
    if not isinstance(value, torch.Tensor):
        return value
    if value.storage_offset():
        with torch.inference_mode(value.is_inference()):  # an inference tensor stays one: Dynamo guards on it
            copy = torch.empty_strided(value.shape, value.stride(), dtype=value.dtype, device=value.device)
            value = copy.copy_(value)
    if value.ndim:
        torch._dynamo.maybe_mark_dynamic(value, 0)
    return value


def _warn_once(model, error):
    if model not in _WARNED:
        _WARNED.add(model)
        logger.warning("jit_compile: torch.compile failed (%s); model '%s' runs eagerly.", _summary(error),
                       model.name)
        logger.debug("jit_compile: the failure in full", exc_info=error)


def _summary(error):
    """The error's type and first line (Dynamo's messages run to pages), with the backend's own error."""
    lines = str(error).strip().splitlines()
    summary = f"{type(error).__name__}: {lines[0] if lines else ''}"
    inner = getattr(error, "inner_exception", None)  # a BackendCompilerFailed's cause
    return f"{summary} {_summary(inner)}" if inner is not None else summary
