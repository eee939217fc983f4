"""A job that loses a process mid-epoch stops (no hang); started again with BackupAndRestore, every
process resumes from the same backup and ends exactly as an uninterrupted job (dropout included)."""

import json

from distribution.launch import run_processes
from distribution.test_data_parallel import assert_same


def test_a_killed_job_resumes_from_its_backup_identically(tmp_path):
    codes, outputs = run_processes(["tests/distribution/worker.py", str(tmp_path), "interrupted"], timeout=90,
                                   environment={"KILL_AT_EPOCH": "2"})
    assert codes[1] == 3 and codes[0] != 0, "\n".join(outputs)
    assert not list(tmp_path.glob("interrupted.*.json"))
    codes, outputs = run_processes(["tests/distribution/worker.py", str(tmp_path), "interrupted", "uninterrupted"],
                                   timeout=90)
    assert codes == [0, 0], "\n".join(outputs)
    for rank in range(2):
        resumed = json.loads((tmp_path / f"interrupted.{rank}.json").read_text())
        whole = json.loads((tmp_path / f"uninterrupted.{rank}.json").read_text())
        assert resumed["epochs"] == [2, 3] and whole["epochs"] == [0, 1, 2, 3]
        assert_same(resumed["weights"], whole["weights"], f"process {rank} weights")
        assert_same(resumed["loss"], whole["loss"][2:], f"process {rank} loss")
    assert not any((tmp_path / "interrupted").iterdir()), "the backup is deleted once fit completes"
