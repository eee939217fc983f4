"""``lamina demo --processes 2``: the unchanged demo under torchrun (2 CPU processes, c10d rendezvous on
localhost) trains data-parallel; process 0 alone prints, saves and plots."""

import os
import subprocess
import sys

from distribution.launch import REPOSITORY


def test_the_demo_trains_on_two_processes_started_by_torchrun(tmp_path):
    environment = dict(os.environ, OMP_NUM_THREADS="1", LAMINA_DISTRIBUTION_TIMEOUT="60",
                       PYTHONPATH=os.pathsep.join([REPOSITORY, os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run([sys.executable, "-m", "lamina", "demo", "--processes", "2", "--epochs", "1",
                             "--output-dir", str(tmp_path)], cwd=REPOSITORY, env=environment, capture_output=True,
                            text=True, timeout=150)
    output = result.stdout
    assert output.count("Test accuracy") == 1 and output.count("Epoch 1/1") == 1, output + result.stderr
    assert "predictions match" in output
    accuracy = float(output.split("Test accuracy: ")[1].split()[0])
    assert accuracy > 0.5 and result.returncode == (0 if accuracy >= 0.95 else 1), result.stderr
    assert (tmp_path / "digits_cnn.lamina").stat().st_size > 0
    assert (tmp_path / "digits_training.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
