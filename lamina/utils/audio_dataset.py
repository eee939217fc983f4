"""``audio_dataset_from_directory``: ``.wav`` files in class folders as batches of float32 waveforms."""

import wave

import numpy as np
import torch

from lamina.utils import dataset_utils

ALLOWED_FORMATS = (".wav",)


def read_wav(path):
    """(samples, channels) float32 in [-1, 1) and the sampling rate, from a PCM WAV file (8 to 32 bits)."""
    with wave.open(str(path), "rb") as f:
        width, channels, rate = f.getsampwidth(), f.getnchannels(), f.getframerate()
        frames = f.readframes(f.getnframes())
    if width == 1:  # 8-bit WAV is unsigned
        values = (np.frombuffer(frames, dtype=np.uint8).astype("float32") - 128.0) / 128.0
    elif width == 3:
        raw = np.frombuffer(frames, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        values = ((raw[:, 0] | raw[:, 1] << 8 | raw[:, 2] << 16) << 8 >> 8).astype("float32") / 2.0 ** 23
    else:
        values = np.frombuffer(frames, dtype={2: "<i2", 4: "<i4"}[width]).astype("float32") / 2.0 ** (8 * width - 1)
    return values.reshape(-1, channels), rate


class AudioDataset(dataset_utils.FileDataset):
    """Waveforms ``(samples, channels)``: cut or zero-padded to ``output_sequence_length``, else padded
    to the longest in the batch (``ragged``: a batch is a list of waveforms of their own lengths)."""

    def __init__(self, file_paths, labels, label_mode, class_names, batch_size, shuffle, seed, sampling_rate,
                 output_sequence_length, ragged):
        super().__init__(file_paths, labels, label_mode, class_names, batch_size, shuffle, seed)
        self.sampling_rate = sampling_rate
        self.output_sequence_length = output_sequence_length
        self.ragged = ragged

    def _read(self, path):
        audio, rate = read_wav(path)
        if self.sampling_rate is not None and rate != self.sampling_rate:
            raise ValueError(f"{path} is sampled at {rate} Hz but sampling_rate={self.sampling_rate}: lamina does "
                             "not resample audio (Keras does it with tensorflow-io); resample the files first.")
        length = self.output_sequence_length
        if length is not None:
            audio = np.pad(audio[:length], ((0, max(length - len(audio), 0)), (0, 0)))
        return torch.from_numpy(np.ascontiguousarray(audio))

    def _stack(self, samples):
        if self.ragged:
            return samples
        longest = max(len(sample) for sample in samples)
        return torch.stack([torch.nn.functional.pad(sample, (0, 0, 0, longest - len(sample))) for sample in samples])


def audio_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None, batch_size=32,
                                 sampling_rate=None, output_sequence_length=None, ragged=False, shuffle=True, seed=None,
                                 validation_split=None, subset=None, follow_links=False, verbose=True):
    """WAV files in ``directory`` (one folder per class with ``labels="inferred"``) as a ``PyDataset`` of
    ``(audio, labels)`` batches, as ``keras.utils.audio_dataset_from_directory``.

    Audio batches are ``(batch, samples, channels)`` float32 tensors in [-1, 1) (PCM WAV, 8 to 32 bits,
    read with the standard library). ``sampling_rate``, when given, must be the files' rate: lamina does
    not resample. Labels and everything else are as in ``image_dataset_from_directory``.
    """
    if ragged and output_sequence_length is not None:
        raise ValueError("Cannot set both `ragged` and `output_sequence_length`")
    if sampling_rate is not None:
        if not isinstance(sampling_rate, int):
            raise ValueError(f"`sampling_rate` should have an integer value. Received: sampling_rate={sampling_rate}")
        if sampling_rate <= 0:
            raise ValueError(f"`sampling_rate` should be higher than 0. Received: sampling_rate={sampling_rate}")
    paths, labels, label_mode, class_names, seed = dataset_utils.index_files(
        directory, labels, label_mode, class_names, ALLOWED_FORMATS, shuffle, seed, validation_split, subset, follow_links,
        verbose)

    def make(part_paths, part_labels, training):
        return AudioDataset(part_paths, part_labels, label_mode, class_names, batch_size, shuffle and training, seed,
                            sampling_rate, output_sequence_length, ragged)

    return dataset_utils.datasets_for_subset(make, paths, labels, validation_split, subset, "audio files", directory,
                                             ALLOWED_FORMATS, verbose)
