"""Audio preprocessing layers: spectrograms of raw signals."""

from lamina.layers.audio.spectrogram import MelSpectrogram, STFTSpectrogram

__all__ = ["MelSpectrogram", "STFTSpectrogram"]
