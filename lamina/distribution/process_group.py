"""The process group: joining it (as ``torchrun`` describes it, or as the user started it), the
devices, and the few collectives the rest of lamina needs.

``torchrun --nproc_per_node=N train.py`` sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR`` and ``MASTER_PORT``; Keras's ``initialize()`` reads ``KERAS_DISTRIBUTION_JOB_ADDRESSES``,
``KERAS_DISTRIBUTION_NUM_PROCESSES`` and ``KERAS_DISTRIBUTION_PROCESS_ID``; both work. The backend is
``nccl`` when CUDA is available (process ``LOCAL_RANK`` drives ``cuda:LOCAL_RANK``), else ``gloo``.
``LAMINA_DISTRIBUTION_TIMEOUT`` (seconds) bounds the rendezvous and every collective, so a
misconfigured or broken job fails with an error instead of hanging.
"""

import atexit
import datetime
import os

import torch
import torch.distributed as dist

TIMEOUT_VARIABLE = "LAMINA_DISTRIBUTION_TIMEOUT"
_TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE")
_KERAS_VARIABLES = ("KERAS_DISTRIBUTION_JOB_ADDRESSES", "KERAS_DISTRIBUTION_NUM_PROCESSES",
                    "KERAS_DISTRIBUTION_PROCESS_ID")


def is_initialized():
    """Whether this process is in a ``torch.distributed`` process group."""
    return dist.is_available() and dist.is_initialized()


def launched():
    """Whether the environment describes a process group to join (``torchrun`` or Keras's variables)."""
    return all(name in os.environ for name in _TORCHRUN_VARIABLES) or \
        "KERAS_DISTRIBUTION_NUM_PROCESSES" in os.environ


def process_id():
    """This process's rank: from the process group, else from the environment, else 0."""
    if is_initialized():
        return dist.get_rank()
    return _environment_int("KERAS_DISTRIBUTION_PROCESS_ID", _environment_int("RANK", 0))


def num_processes():
    """The number of processes: from the process group, else from the environment, else 1."""
    if is_initialized():
        return dist.get_world_size()
    return _environment_int("KERAS_DISTRIBUTION_NUM_PROCESSES", _environment_int("WORLD_SIZE", 1))


def is_writing_process():
    """Whether this process writes files and prints progress: process 0 (every process when alone)."""
    return process_id() == 0


def _environment_int(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"The environment variable {name} must be an integer. Received: {name}={value!r}") from None


def _uses_cuda():
    return torch.cuda.is_available()


def _local_rank():
    return _environment_int("LOCAL_RANK", process_id() % max(torch.cuda.device_count(), 1))


def local_device():
    """The device this process trains on: ``cuda:LOCAL_RANK`` with CUDA, else the CPU."""
    if _uses_cuda():
        return torch.device("cuda", _local_rank())
    return torch.device("cpu")


def list_devices(device_type=None):
    """Keras's ``list_devices``: the devices data parallelism spans, as ``"gpu:i"`` or ``"cpu:i"``.

    In a process group: one device per process (global ids, process ``i`` drives device ``i``).
    Alone: every local GPU, else ``["cpu:0"]``. ``device_type`` ("cpu" or "gpu") picks the type;
    none of a missing type.
    """
    kinds = {None: "gpu" if _uses_cuda() else "cpu", "cpu": "cpu", "gpu": "gpu", "cuda": "gpu"}
    kind = kinds.get(device_type if device_type is None else str(device_type).lower())
    if kind is None:
        raise ValueError(f"list_devices: device_type must be 'cpu' or 'gpu'. Received: device_type={device_type!r}")
    if kind == "gpu" and not _uses_cuda():
        return []
    if is_initialized() or launched():
        return [f"{kind}:{index}" for index in range(num_processes())]
    return [f"gpu:{index}" for index in range(torch.cuda.device_count())] if kind == "gpu" else ["cpu:0"]


def get_device_count(device_type=None):
    """The number of devices ``list_devices(device_type)`` returns."""
    return len(list_devices(device_type))


def _timeout(timeout):
    if timeout is None:
        value = os.environ.get(TIMEOUT_VARIABLE)
        if value is None:
            return None
        try:
            timeout = float(value)
        except ValueError:
            raise ValueError(f"{TIMEOUT_VARIABLE} must be a number of seconds. Received: {value!r}") from None
    if isinstance(timeout, datetime.timedelta):
        return timeout
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ValueError(f"initialize: timeout must be a positive number of seconds. Received: timeout={timeout!r}")
    return datetime.timedelta(seconds=timeout)


def initialize(job_addresses=None, num_processes=None, process_id=None, timeout=None):
    """Joins the process group: Keras's ``keras.distribution.initialize``, on ``torch.distributed``.

    Args:
        job_addresses: ``"host:port,..."``; the first address is the coordinator (process 0).
            Default: ``KERAS_DISTRIBUTION_JOB_ADDRESSES``, else ``MASTER_ADDR``/``MASTER_PORT``.
        num_processes: default ``KERAS_DISTRIBUTION_NUM_PROCESSES``, else ``WORLD_SIZE``.
        process_id: in ``[0, num_processes)``; default ``KERAS_DISTRIBUTION_PROCESS_ID``, else ``RANK``.
        timeout: seconds (or a ``timedelta``) for the rendezvous and every collective; default
            ``LAMINA_DISTRIBUTION_TIMEOUT``, else PyTorch's.

    A process group the user already initialised is joined as it is (the arguments, when given,
    must agree with it). Raises ``ValueError`` for missing or inconsistent settings and
    ``RuntimeError`` when the processes do not meet within the timeout.
    """
    if is_initialized():
        _check_agrees(num_processes, process_id)
        return
    environment = os.environ
    job_addresses = job_addresses or environment.get("KERAS_DISTRIBUTION_JOB_ADDRESSES")
    world_size = num_processes if num_processes is not None else _environment_int(
        "KERAS_DISTRIBUTION_NUM_PROCESSES", _environment_int("WORLD_SIZE", None))
    rank = process_id if process_id is not None else _environment_int(
        "KERAS_DISTRIBUTION_PROCESS_ID", _environment_int("RANK", None))
    if world_size is None or rank is None:
        missing = [name for name, value in (("num_processes (WORLD_SIZE)", world_size),
                                            ("process_id (RANK)", rank)) if value is None]
        raise ValueError(f"initialize: no process group is described: {' and '.join(missing)} not set. Launch "
                         "the script with `torchrun --nproc_per_node=N script.py`, or pass num_processes, "
                         "process_id and job_addresses (or set KERAS_DISTRIBUTION_NUM_PROCESSES, "
                         "KERAS_DISTRIBUTION_PROCESS_ID and KERAS_DISTRIBUTION_JOB_ADDRESSES).")
    for name, value in (("num_processes", world_size), ("process_id", rank)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"initialize: {name} must be an int. Received: {name}={value!r}")
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"initialize: process_id must be in [0, num_processes). Received: process_id={rank}, "
                         f"num_processes={world_size}")
    host, port = _coordinator(job_addresses)
    backend = "nccl" if _uses_cuda() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(_local_rank())
    # Under torchrun the agent hosts the rendezvous store: "env://" lets PyTorch find it.
    by_agent = "TORCHELASTIC_USE_AGENT_STORE" in environment and job_addresses is None \
        and num_processes is None and process_id is None
    init_method = "env://" if by_agent else f"tcp://{host}:{port}"
    timeout = _timeout(timeout)
    options = {"timeout": timeout} if timeout is not None else {}
    try:
        dist.init_process_group(backend, init_method=init_method, world_size=world_size, rank=rank, **options)
    except (RuntimeError, TimeoutError, dist.DistError) as error:
        waited = f"within {options['timeout'].total_seconds():g} s " if options else ""
        raise RuntimeError(f"initialize: the process group of {world_size} processes did not form {waited}at "
                           f"{host}:{port} (this is process {rank}). Check that {world_size} processes are started "
                           "(WORLD_SIZE / --nproc_per_node), each with a distinct RANK, and that MASTER_ADDR and "
                           f"MASTER_PORT reach process 0. PyTorch said: {error}") from error
    atexit.register(_leave)


def _leave():
    """Destroys the process group ``initialize`` formed, while the interpreter is still whole.

    A gloo group left to interpreter finalisation can abort the process (``terminate called without
    an active exception``, SIGABRT) after the script succeeded: its worker threads still hold tensors
    whose release needs the GIL. Leaving is local (no collective), so a lost peer cannot block it.
    """
    if is_initialized():
        dist.destroy_process_group()


def _coordinator(job_addresses):
    """(host, port) of process 0, from ``job_addresses`` or ``MASTER_ADDR``/``MASTER_PORT``."""
    if job_addresses:
        first = str(job_addresses).split(",")[0].strip()
        host, _, port = first.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"initialize: job_addresses must be 'host:port,...'. Received: "
                             f"job_addresses={job_addresses!r}")
        return host, int(port)
    missing = [name for name in ("MASTER_ADDR", "MASTER_PORT") if name not in os.environ]
    if missing:
        raise ValueError(f"initialize: the rendezvous address is not set: {', '.join(missing)} missing from the "
                         "environment. torchrun sets them; otherwise set MASTER_ADDR and MASTER_PORT (process 0's "
                         "address and a free port), or pass job_addresses='host:port'.")
    port = os.environ["MASTER_PORT"]
    if not port.isdigit():
        raise ValueError(f"initialize: MASTER_PORT must be a port number. Received: MASTER_PORT={port!r}")
    return os.environ["MASTER_ADDR"], int(port)


def _check_agrees(num_processes, process_id):
    for name, given, actual in (("num_processes", num_processes, dist.get_world_size()),
                                ("process_id", process_id, dist.get_rank())):
        if given is not None and given != actual:
            raise ValueError(f"initialize: the process group is already initialised with {name}={actual}. "
                             f"Received: {name}={given}")


# ---------------------------------------------------------------- collectives
def collective_device():
    """Where tensors for the default group's collectives live: the GPU for nccl, else the CPU."""
    return local_device() if dist.get_backend() == "nccl" else torch.device("cpu")


def barrier():
    """Waits for every process (nothing to wait for when alone)."""
    if is_initialized():
        dist.barrier()


_HOST_GROUP = {}  # the gloo group for host-side decisions when the default group is nccl


def _host_group():
    """A group whose collectives run on the CPU: the default one, or (under nccl) a gloo group made once, so
    agreeing on a Python bool every step does not wait for the GPU."""
    if dist.get_backend() == "gloo":
        return None
    if "group" not in _HOST_GROUP:
        _HOST_GROUP["group"] = dist.new_group(backend="gloo")
    return _HOST_GROUP["group"]


def any_process(flag):
    """``flag`` or-ed over the processes: the same bool everywhere."""
    if not is_initialized():
        return bool(flag)
    value = torch.tensor([1 if flag else 0], dtype=torch.int32)
    dist.all_reduce(value, op=dist.ReduceOp.MAX, group=_host_group())
    return bool(value.item())


def broadcast_object(value, source=0):
    """Process ``source``'s ``value`` (any picklable object), on every process."""
    if not is_initialized():
        return value
    holder = [value]
    dist.broadcast_object_list(holder, src=source, device=collective_device())
    return holder[0]


def gather_objects(value):
    """Every process's ``value`` (picklable), in process order, on every process."""
    if not is_initialized():
        return [value]
    gathered = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, value)
    return gathered


def broadcast_tensor(tensor, source=0):
    """``tensor`` replaced in place by process ``source``'s; returns it."""
    if is_initialized():
        device = collective_device()
        staged = tensor if tensor.device == device else tensor.to(device)
        dist.broadcast(staged, src=source)
        if staged is not tensor:
            tensor.copy_(staged)
    return tensor


def write_once(write, collective=True):
    """``write()`` on process 0 only, then every process waits until it is done (so each may read the file
    next); an error on process 0 is raised there and reported on every other process. ``collective=False``
    (or no process group): just ``write()``."""
    if not (collective and is_initialized()):
        return write()
    error = None
    if process_id() == 0:
        try:
            write()
        except BaseException as raised:  # noqa: BLE001 - re-raised below, after the others are told
            error = raised
    failed = any_process(error is not None)
    if error is not None:
        raise error
    if failed:
        raise RuntimeError("Process 0 failed to write the file (see its error).")
