"""Records which event tags and steps Keras 3's TensorBoard callback writes, for tests/test_callbacks_more.py.

Run once with the project's Python (which has the `tensorboard` package to read the files):
    python tests/data/callbacks/make_tensorboard_tags.py
It runs the Keras part in the TensorFlow venv (Keras 3.15.1 on TensorFlow 2.21: Keras's TensorBoard callback
needs TensorFlow), reads the event files back and writes tensorboard_tags.json beside this file:
{run: {kind: {tag: [steps]}}}.
"""

import json
import os
import pathlib
import subprocess
import sys
import tempfile

TF_PYTHON = "/work/tfenv/bin/python"

RUNS = {
    "epoch": dict(histogram_freq=0),
    "batch2_histograms": dict(histogram_freq=1, update_freq=2),
}


def tags(log_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    found = {}
    for kind in ("train", "validation"):
        accumulator = EventAccumulator(os.path.join(log_dir, kind), size_guidance={"scalars": 0, "histograms": 0,
                                                                                   "tensors": 0})
        accumulator.Reload()
        names = accumulator.Tags()
        found[kind] = {tag: [event.step for event in accumulator.Scalars(tag)] for tag in names["scalars"]}
        found[kind].update({tag: [event.step for event in accumulator.Histograms(tag)]
                            for tag in names["histograms"]})
        # Keras 3 on TensorFlow writes scalars and histograms as tensor summaries.
        for tag in names["tensors"]:
            if tag != "keras":
                found[kind][tag] = [event.step for event in accumulator.Tensors(tag)]
    return found


def write_logs(root):
    """In the TensorFlow venv: one Keras fit per run, logs under ``root/<run>``."""
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import keras
    import numpy as np

    rng = np.random.default_rng(0)
    x, y = rng.uniform(size=(32, 4)).astype("float32"), rng.uniform(size=(32, 1)).astype("float32")
    for run, kwargs in RUNS.items():
        keras.utils.clear_session()
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse", metrics=["mae"])
        model.fit(x, y, epochs=2, batch_size=8, validation_split=0.25, verbose=0,
                  callbacks=[keras.callbacks.TensorBoard(os.path.join(root, run), **kwargs)])
    print(f"Keras {keras.__version__}")


def main():
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: F401

    with tempfile.TemporaryDirectory() as root:
        subprocess.run([TF_PYTHON, __file__, "--write", root], check=True)
        result = {run: tags(os.path.join(root, run)) for run in RUNS}
    path = pathlib.Path(__file__).with_name("tensorboard_tags.json")
    path.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--write"]:
        write_logs(sys.argv[2])
    else:
        main()
