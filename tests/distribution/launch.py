"""Starting a script on several local processes the way torchrun does (RANK, WORLD_SIZE, LOCAL_RANK,
MASTER_ADDR, MASTER_PORT on 127.0.0.1), with a time limit: a hang fails the test instead of CI."""

import os
import socket
import subprocess
import sys

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_processes(arguments, count=2, timeout=90, collective_timeout=60, environment=None):
    """Runs ``python <arguments>`` as ``count`` processes of one job; returns their return codes and outputs.

    When one process fails, the others are stopped (as torchrun does). Raises AssertionError naming the
    outputs when the job outlives ``timeout`` seconds.
    """
    port = free_port()
    base = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(count),
                LAMINA_DISTRIBUTION_TIMEOUT=str(collective_timeout), OMP_NUM_THREADS="1",
                PYTHONPATH=os.pathsep.join([REPOSITORY, os.environ.get("PYTHONPATH", "")]))
    base.update(environment or {})
    processes = [subprocess.Popen([sys.executable, *arguments], cwd=REPOSITORY, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True,
                                  env=dict(base, RANK=str(rank), LOCAL_RANK=str(rank)))
                 for rank in range(count)]
    try:
        codes = _wait(processes, timeout)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    outputs = [process.stdout.read() for process in processes]
    for process in processes:
        process.stdout.close()
    if codes is None:
        raise AssertionError(f"the job did not finish within {timeout} s:\n" + "\n".join(outputs))
    return codes, outputs


def _wait(processes, timeout):
    """The return codes once all finished (stopping the rest when one fails), or None after ``timeout``."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        codes = [process.poll() for process in processes]
        if all(code is not None for code in codes):
            return codes
        if any(code not in (None, 0) for code in codes):
            time.sleep(1.0)  # let the others report the failure themselves, then stop them
            for process in processes:
                if process.poll() is None:
                    process.kill()
            return [process.wait() for process in processes]
        time.sleep(0.05)
    return None
