"""Keras's distribution API: ``DeviceMesh``, ``DataParallel``, ``ModelParallel``, ``set_distribution``.

On lamina a distribution is carried out by PyTorch: one process per device (``torchrun``), the
model replicated with ``DistributedDataParallel`` (``DataParallel``) or sharded with FSDP's
``fully_shard`` (``ModelParallel``). The same script runs under ``torchrun`` without naming a
distribution: ``distribution()`` is then a ``DataParallel`` over the launched processes.
"""

import contextlib

import numpy as np

from lamina.distribution import process_group

DEFAULT_BATCH_DIM_NAME = "batch"


class DeviceMesh:
    """The devices of a distribution as an array with named axes (Keras's ``DeviceMesh``).

    Args:
        shape: the mesh shape, e.g. ``(8,)``.
        axis_names: one name per axis, e.g. ``["batch"]``.
        devices: the devices (``"gpu:0"``...), default ``list_devices()``; their count is ``prod(shape)``.
    """

    def __init__(self, shape, axis_names, devices=None):
        shape = tuple(shape)
        axis_names = list(axis_names)
        if not shape or len(shape) != len(axis_names):
            raise ValueError(f"DeviceMesh: shape and axis_names must have the same (non-zero) length. Received: "
                             f"shape={shape}, axis_names={axis_names}")
        devices = np.array(process_group.list_devices() if devices is None else devices)
        if int(np.prod(shape)) != devices.size:
            raise ValueError(f"DeviceMesh: shape {shape} does not match the number of devices ({devices.size}). "
                             f"Received: devices={devices.tolist()}")
        self._shape, self._axis_names, self._devices = shape, axis_names, devices.reshape(shape)

    @property
    def shape(self):
        return self._shape

    @property
    def axis_names(self):
        return self._axis_names

    @property
    def devices(self):
        return self._devices

    def __repr__(self):
        return f"<DeviceMesh shape={self._shape}, axis_names={self._axis_names}>"


class Distribution:
    """Base class: how ``fit``/``evaluate``/``predict`` spread a model and its data over processes.

    Args:
        device_mesh: a ``DeviceMesh``: one device per process.
        batch_dim_name: the mesh axis the batch is split along.
        auto_shard_dataset: split each global batch over the processes (default). ``False``: each
            process already feeds its own part of the data (its own batches).
    """

    #: How the weights are held: "replicate" (DistributedDataParallel) or "shard" (FSDP).
    weights = "replicate"

    def __init__(self, device_mesh, batch_dim_name=None, auto_shard_dataset=True):
        self._device_mesh = device_mesh
        self._batch_dim_name = batch_dim_name
        self._auto_shard_dataset = bool(auto_shard_dataset)
        self._num_processes = process_group.num_processes()
        self._process_id = process_group.process_id()
        devices = device_mesh.devices.size
        if devices != self._num_processes:
            raise ValueError(f"{type(self).__name__}: lamina runs one process per device, but the mesh has {devices} "
                             f"devices and {self._num_processes} process(es) run. Launch "
                             f"`torchrun --nproc_per_node={devices} script.py` (or list {self._num_processes} "
                             "device(s)).")

    @property
    def num_processes(self):
        """The number of processes in the job."""
        return self._num_processes

    @property
    def process_id(self):
        return self._process_id

    @property
    def data_shard_id(self):
        """Which part of each global batch this process trains on."""
        return self._process_id

    @property
    def num_model_replicas(self):
        return self._device_mesh.devices.size

    @property
    def device_mesh(self):
        return self._device_mesh

    @property
    def batch_dim_name(self):
        return self._batch_dim_name

    @property
    def auto_shard_dataset(self):
        return self._auto_shard_dataset

    @auto_shard_dataset.setter
    def auto_shard_dataset(self, value):
        self._auto_shard_dataset = bool(value)

    def distribute_dataset(self, dataset):
        """``dataset`` unchanged: ``fit`` gives each process its part of every batch itself."""
        return dataset

    @contextlib.contextmanager
    def scope(self):
        """Makes this distribution the current one inside the ``with`` block."""
        previous = _state.distribution
        set_distribution(self)
        try:
            yield
        finally:
            _state.distribution = previous

    def __repr__(self):
        return f"<{type(self).__name__} device_mesh={self._device_mesh}, num_processes={self._num_processes}>"


def _mesh(device_mesh, devices, owner):
    if device_mesh is not None:
        if not isinstance(device_mesh, DeviceMesh):
            raise ValueError(f"{owner}: expected `device_mesh` to be a DeviceMesh. Received: device_mesh={device_mesh!r}")
        if len(device_mesh.shape) != 1:
            raise ValueError(f"{owner}: lamina's meshes are one-dimensional (one axis of processes). Received: "
                             f"device_mesh.shape={device_mesh.shape}")
        return device_mesh
    devices = process_group.list_devices() if not devices else list(devices)
    return DeviceMesh((len(devices),), [DEFAULT_BATCH_DIM_NAME], devices)


class DataParallel(Distribution):
    """Data parallelism: every process holds the whole model (``DistributedDataParallel``) and trains on
    its part of each global batch; gradients are averaged in the backward pass.

    Args:
        device_mesh / devices: the devices, one per process (default: ``list_devices()``).
        auto_shard_dataset: see ``Distribution``.
        ddp_options: lamina only: keyword arguments for ``DistributedDataParallel``
            (e.g. ``{"find_unused_parameters": True}``).
    """

    def __init__(self, device_mesh=None, devices=None, auto_shard_dataset=True, ddp_options=None):
        mesh = _mesh(device_mesh, devices, "DataParallel")
        super().__init__(mesh, mesh.axis_names[0], auto_shard_dataset)
        self.ddp_options = dict(ddp_options or {})


class ModelParallel(Distribution):
    """Sharded weights for models too big for one device: every layer with weights (and the model) goes
    through FSDP's ``fully_shard``, so each process keeps 1/N of every weight, gradient and optimizer
    slot, and gathers a layer's weights only while it runs; each process trains on its part of each
    global batch. ``save``/``save_weights``/``get_weights`` gather the full weights (call them on every
    process).

    Keras's per-weight ``layout_map`` (tensor parallelism) is not supported: FSDP shards every weight
    along its first axis.
    """

    weights = "shard"

    def __init__(self, *, device_mesh=None, devices=None, layout_map=None, batch_dim_name=None,
                 auto_shard_dataset=True):
        if layout_map is not None:
            raise ValueError("ModelParallel: lamina shards every weight with FSDP (fully_shard), along its first "
                             "axis; per-weight layouts (`layout_map`) are not supported. Drop the argument. "
                             f"Received: layout_map={layout_map!r}")
        mesh = _mesh(device_mesh, devices, "ModelParallel")
        super().__init__(mesh, batch_dim_name or mesh.axis_names[0], auto_shard_dataset)


class _State:
    distribution = None  # set by set_distribution
    automatic = None  # the DataParallel made for a job launched without naming a distribution


_state = _State()


def set_distribution(value):
    """Makes ``value`` (a ``Distribution``, or None for none) the distribution of every later ``fit``."""
    if value is not None and not isinstance(value, Distribution):
        raise TypeError(f"set_distribution: expected a Distribution (DataParallel, ModelParallel) or None. "
                        f"Received: {value!r}")
    _state.distribution = value


def distribution():
    """The current distribution: the one set, else (in a job started by ``torchrun`` or in a process group
    the user initialised) a ``DataParallel`` over its processes, else None."""
    if _state.distribution is not None:
        return _state.distribution
    if process_group.is_initialized() or process_group.launched():
        automatic = _state.automatic
        if automatic is None or automatic.num_processes != process_group.num_processes():
            automatic = _state.automatic = DataParallel()
        return automatic
    return None
