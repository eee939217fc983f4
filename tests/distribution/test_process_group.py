"""Joining a process group: clear errors (not hangs) when it is misconfigured; Keras's names."""

import subprocess
import sys
import time

import pytest
import torch.distributed as dist

import lamina
from lamina.distribution import process_group
from distribution.launch import REPOSITORY, free_port

_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "KERAS_DISTRIBUTION_JOB_ADDRESSES",
              "KERAS_DISTRIBUTION_NUM_PROCESSES", "KERAS_DISTRIBUTION_PROCESS_ID", "TORCHELASTIC_USE_AGENT_STORE",
              process_group.TIMEOUT_VARIABLE)


@pytest.fixture
def environment(monkeypatch):
    for name in _VARIABLES:
        monkeypatch.delenv(name, raising=False)
    lamina.distribution.set_distribution(None)
    return monkeypatch


def test_alone_there_is_no_distribution(environment):
    assert lamina.distribution.distribution() is None
    assert lamina.distribution.list_devices("cpu") == ["cpu:0"]
    assert lamina.distribution.process_id() == 0 and lamina.distribution.num_processes() == 1
    assert lamina.distribution.is_writing_process()
    with pytest.raises(ValueError, match="no process group is described.*torchrun"):
        lamina.distribution.initialize()


def test_missing_rendezvous_variables_are_named(environment):
    environment.setenv("RANK", "1")
    environment.setenv("WORLD_SIZE", "2")
    environment.setenv("MASTER_PORT", "1234")
    with pytest.raises(ValueError, match="MASTER_ADDR missing"):
        lamina.distribution.initialize()
    with pytest.raises(ValueError, match="process_id must be in"):
        lamina.distribution.initialize(num_processes=2, process_id=2, job_addresses="127.0.0.1:1234")
    with pytest.raises(ValueError, match="job_addresses must be 'host:port"):
        lamina.distribution.initialize(job_addresses="127.0.0.1")
    environment.setenv("WORLD_SIZE", "two")
    with pytest.raises(ValueError, match="WORLD_SIZE must be an integer"):
        lamina.distribution.initialize()


def test_a_world_size_no_process_completes_fails_within_the_timeout(environment):
    environment.setenv(process_group.TIMEOUT_VARIABLE, "2")
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="process group of 2 processes did not form within 2 s.*WORLD_SIZE"):
        lamina.distribution.initialize(job_addresses=f"127.0.0.1:{free_port()}", num_processes=2, process_id=0)
    assert time.monotonic() - started < 20
    assert not dist.is_initialized()


def test_the_group_initialize_formed_is_left_before_the_interpreter_ends(environment):
    # atexit runs handlers last-registered first: the probe registered before initialize runs after
    # lamina's own handler, and sees whether the group was destroyed while Python was still whole.
    script = (
        "import atexit, torch.distributed as dist, lamina\n"
        "atexit.register(lambda: print('initialized at exit:', dist.is_initialized()))\n"
        f"lamina.distribution.initialize(job_addresses='127.0.0.1:{free_port()}', num_processes=1, process_id=0)\n"
        "print('initialized:', dist.is_initialized())\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=REPOSITORY, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["initialized: True", "initialized at exit: False"], result.stdout


def test_the_distribution_api_checks_its_arguments(environment):
    with pytest.raises(ValueError, match="one process per device.*torchrun --nproc_per_node=2"):
        lamina.distribution.DataParallel(devices=["cpu:0", "cpu:1"])
    with pytest.raises(ValueError, match="layout_map"):
        lamina.distribution.ModelParallel(layout_map={"dense.*": (None, "model")})
    with pytest.raises(TypeError, match="expected a Distribution"):
        lamina.distribution.set_distribution("data_parallel")
    with pytest.raises(ValueError, match="device_type must be 'cpu' or 'gpu'"):
        lamina.distribution.list_devices("tpu")
    data_parallel = lamina.distribution.DataParallel()
    assert data_parallel.device_mesh.axis_names == ["batch"] and data_parallel.num_model_replicas == 1
    with data_parallel.scope():
        assert lamina.distribution.distribution() is data_parallel
    assert lamina.distribution.distribution() is None


def test_a_job_launched_by_torchrun_is_data_parallel(environment):
    environment.setenv("RANK", "0")
    environment.setenv("WORLD_SIZE", "4")
    current = lamina.distribution.distribution()
    assert isinstance(current, lamina.distribution.DataParallel) and current.num_processes == 4
    assert lamina.distribution.list_devices("cpu") == ["cpu:0", "cpu:1", "cpu:2", "cpu:3"]
