"""Hostile and broken model files, in every format lamina reads: a ValueError naming the file, never a
crash, an allocation the file cannot account for, or a stray file. The corruption campaign runs in a
subprocess, so a native crash (HDF5, zip, safetensors) fails the test instead of killing the run."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import lamina
from lamina import layers

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENVIRONMENT = {**os.environ, "PYTHONPATH": os.pathsep.join([REPOSITORY, os.environ.get("PYTHONPATH", "")])}
FORMATS = ("m.lamina", "m.keras", "m.h5", "m.safetensors", "w.weights.h5", "w.weights.safetensors", "w.h5")


def _model():
    model = lamina.Sequential([layers.Input((4,)), layers.Dense(3, name="hidden"), layers.Dense(2, name="head")])
    model.compile("adam", "mse")
    model.fit(np.random.default_rng(0).random((8, 4)), np.zeros((8, 2)), verbose=0)
    return model


def _run(code, cwd):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=300, cwd=cwd, env=ENVIRONMENT)


def test_corrupted_files_are_value_errors_naming_the_file_in_a_subprocess(tmp_path):
    """Bit flips, truncations and overwritten runs at random places, 40 per format: each load either
    succeeds or raises a ValueError naming the file."""
    result = _run(f"""
        import sys
        import numpy as np
        import lamina
        sys.path[:0] = [{os.path.dirname(__file__)!r}, {os.path.dirname(os.path.dirname(__file__))!r}]
        from corruption import corrupted
        from test_model_files import FORMATS, _model

        model = _model()
        for name in FORMATS:
            (model.save_weights if name.startswith("w.") else model.save)(name)
        rng = np.random.default_rng(11)
        escaped, refused = [], 0
        for name in FORMATS:
            data = open(name, "rb").read()
            for trial in range(40):
                path = "corrupt_" + name
                open(path, "wb").write(corrupted(data, rng, trial, run_length=32))
                try:
                    if name.startswith("w."):
                        _model().load_weights(path)
                    else:
                        lamina.models.load_model(path)
                except ValueError as error:
                    refused += 1
                    if path not in str(error):
                        escaped.append(f"{{name}} trial {{trial}}: message lacks the file: {{error}}")
                except Exception as error:
                    escaped.append(f"{{name}} trial {{trial}}: {{type(error).__name__}}: {{error}}")
        print("refused", refused)
        print("\\n".join(escaped) or "all clear")
    """, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all clear" in result.stdout, result.stdout
    assert int(result.stdout.split("refused ")[1].split()[0]) > 100  # most corruptions are caught, not ignored


def _members(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _rewrite(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    return path


@pytest.mark.parametrize("name", ["m.lamina", "m.keras"])
@pytest.mark.parametrize("field, value", [("units", 10 ** 12), ("units", 200_000_000)])
def test_sizes_a_config_declares_are_checked_before_allocating(tmp_path, name, field, value):
    """A hand-edited config asking for weights far larger than the file stores is refused before the
    weights are allocated (200M units would be 3 GiB of float32 kernel: not allocated)."""
    path = tmp_path / name
    _model().save(path)
    members = _members(path)
    config = json.loads(members["config.json"])
    config["config"]["layers"][-1]["config"][field] = value
    hostile = _rewrite(tmp_path / f"hostile_{name}", {**members, "config.json": json.dumps(config)})
    with pytest.raises(ValueError, match=r"hostile_m\.\w+.*weight 'kernel' of shape.*stores only"):
        lamina.models.load_model(hostile)


def test_a_weight_too_large_for_memory_is_a_value_error_naming_the_layer():
    with pytest.raises(ValueError, match=r"Layer 'huge': weight 'kernel' of shape \(4, 1000000000000\)"):
        layers.Dense(10 ** 12, name="huge").build((None, 4))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float8_e4m3fn])
def test_weights_stored_in_narrow_float_dtypes_load(tmp_path, dtype):
    model = _model()
    path = tmp_path / "w.weights.safetensors"
    model.save_weights(path)
    tensors = load_file(path)
    narrow = {key: value.to(dtype) if key.startswith("weights/") else value for key, value in tensors.items()}
    save_file(narrow, tmp_path / "narrow.weights.safetensors")
    other = _model()
    other.load_weights(tmp_path / "narrow.weights.safetensors")
    for loaded, original in zip(other.get_weights(), model.get_weights()):
        expected = torch.from_numpy(original).to(dtype).float().numpy()
        np.testing.assert_array_equal(loaded, expected)


def test_an_optimizer_slot_of_the_wrong_shape_is_refused(tmp_path):
    path = tmp_path / "w.weights.safetensors"
    _model().save_weights(path)
    tensors = load_file(path)
    slot = sorted(key for key in tensors if key.startswith("optimizer/") and tensors[key].ndim == 2)[0]
    for wrong in (torch.zeros(7), torch.zeros(())):
        save_file({**tensors, slot: wrong}, tmp_path / "bad.weights.safetensors")
        with pytest.raises(ValueError, match=rf"bad\.weights\.safetensors: optimizer variable '{slot}' has shape"):
            _model().load_weights(tmp_path / "bad.weights.safetensors")


@pytest.mark.parametrize("name", ["m.lamina", "m.keras", "m.h5"])
def test_a_save_killed_midway_leaves_nothing_a_later_save_trips_over(tmp_path, name):
    """SIGKILL during the write: the old file still loads, and the next save removes the stray temporary."""
    _model().save(tmp_path / name)
    before = (tmp_path / name).read_bytes()
    writer = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from lamina.saving import atomic
        from test_model_files import _model
        model = _model()
        def stall(descriptor):
            print("writing", flush=True)
            time.sleep(60)
        atomic.os.fsync = stall
        model.save({name!r})
    """)], cwd=tmp_path, stdout=subprocess.PIPE, text=True, env=ENVIRONMENT)
    try:
        assert writer.stdout.readline().strip() == "writing"
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=30)
    finally:
        writer.kill()
    strays = [entry for entry in os.listdir(tmp_path) if entry.endswith(".tmp")]
    assert strays, "the killed writer should have left its temporary behind"
    assert (tmp_path / name).read_bytes() == before
    lamina.models.load_model(tmp_path / name)
    _model().save(tmp_path / name)
    assert sorted(os.listdir(tmp_path)) == [name]
    lamina.models.load_model(tmp_path / name)


def test_temporaries_of_live_writers_and_other_targets_are_left_alone(tmp_path):
    live = tmp_path / f".m.lamina.{os.getppid()}.abc.tmp"  # the parent process is alive
    other = tmp_path / ".n.lamina.1999999999.abc.tmp"
    for path in (live, other):
        path.write_bytes(b"partial")
    _model().save(tmp_path / "m.lamina")
    assert live.exists() and other.exists()
