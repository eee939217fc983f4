"""Training on several processes, as ``keras.distribution``, carried out by ``torch.distributed``.

Start the unchanged script with ``torchrun --nproc_per_node=N train.py`` and ``fit``/``evaluate``/
``predict`` run data-parallel (``DistributedDataParallel``): ``batch_size`` is the global batch, each
process trains on its part of every batch, and metrics, ``History`` and callbacks see numbers over all
processes. Keras's names work too: ``set_distribution(DataParallel())``, ``ModelParallel()`` (weights
sharded by FSDP), ``list_devices()``, ``initialize()``. See docs/distributed.md.
"""

from lamina.distribution.distributions import (  # noqa: F401
    DataParallel, DeviceMesh, Distribution, ModelParallel, distribution, set_distribution)
from lamina.distribution.process_group import (  # noqa: F401
    barrier, get_device_count, initialize, is_writing_process, list_devices, num_processes, process_id)
