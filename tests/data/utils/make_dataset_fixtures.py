"""Reference batches from Keras's TensorFlow-only dataset utilities, for tests/utils/test_datasets.py.

Run once with the TensorFlow venv (Keras 3.15.1 on TensorFlow 2.21):
    /work/tfenv/bin/python tests/data/utils/make_dataset_fixtures.py
It writes dataset_fixtures.npz beside this file. The test builds the same files with ``make_files``.
"""

import os
import pathlib
import sys
import tempfile
import wave

import numpy as np

TIMESERIES_CASES = {
    "plain": dict(sequence_length=4, batch_size=5),
    "stride_rate": dict(sequence_length=3, sequence_stride=2, sampling_rate=3, batch_size=4),
    "range": dict(sequence_length=5, start_index=3, end_index=30, batch_size=7),
    "unbatched": dict(sequence_length=2, sequence_stride=5, batch_size=None),
}
AUDIO_CASES = {"padded": dict(), "fixed": dict(output_sequence_length=700), "binary": dict(label_mode="binary")}
TEXT_CASES = {"plain": dict(), "cut": dict(max_length=7, label_mode="categorical")}


def timeseries_data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((40, 3)).astype("float32"), np.arange(40, dtype="int64") * 10


def make_files(root):
    """Two classes of WAV files (int16 mono, several lengths) and of text files."""
    rng = np.random.default_rng(1)
    for index, (label, channels, length) in enumerate([("cat", 1, 500), ("cat", 1, 620), ("dog", 1, 800),
                                                        ("dog", 1, 300), ("dog", 1, 640)]):
        folder = pathlib.Path(root, "audio", label)
        folder.mkdir(parents=True, exist_ok=True)
        samples = rng.integers(-32768, 32767, (length, channels), dtype=np.int16)
        with wave.open(str(folder / f"clip{index}.wav"), "wb") as f:
            f.setnchannels(channels)
            f.setsampwidth(2)
            f.setframerate(16000)
            f.writeframes(samples.tobytes())
    texts = [("neg", "terrible, übel film"), ("neg", "bad"), ("pos", "a fine film indeed"), ("pos", "great"),
             ("pos", "loved every minute of it")]
    for index, (label, text) in enumerate(texts):
        folder = pathlib.Path(root, "text", label)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"review{index}.txt").write_text(text, encoding="utf-8")


def main():
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import keras

    arrays = {}
    data, targets = timeseries_data()
    for name, kwargs in TIMESERIES_CASES.items():
        for index, batch in enumerate(keras.utils.timeseries_dataset_from_array(data, targets, **kwargs)):
            arrays[f"timeseries/{name}/{index}/x"] = batch[0].numpy()
            arrays[f"timeseries/{name}/{index}/y"] = batch[1].numpy()
    with tempfile.TemporaryDirectory() as root:
        make_files(root)
        for name, kwargs in AUDIO_CASES.items():
            dataset = keras.utils.audio_dataset_from_directory(os.path.join(root, "audio"), batch_size=3, shuffle=False,
                                                               verbose=False, **kwargs)
            for index, (audio, labels) in enumerate(dataset):
                arrays[f"audio/{name}/{index}/x"] = audio.numpy()
                arrays[f"audio/{name}/{index}/y"] = labels.numpy()
        for name, kwargs in TEXT_CASES.items():
            dataset = keras.utils.text_dataset_from_directory(os.path.join(root, "text"), batch_size=2, shuffle=False,
                                                              verbose=False, **kwargs)
            for index, (texts, labels) in enumerate(dataset):
                arrays[f"text/{name}/{index}/x"] = np.array([t.decode("utf-8", "replace") for t in texts.numpy()])
                arrays[f"text/{name}/{index}/y"] = labels.numpy()
    path = pathlib.Path(__file__).with_name("dataset_fixtures.npz")
    np.savez_compressed(path, **arrays)
    print(f"wrote {path} ({len(arrays)} arrays) with Keras {keras.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
