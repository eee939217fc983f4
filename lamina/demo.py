"""``lamina demo``: a small CNN learns scikit-learn's 8x8 handwritten digits in a few seconds.

Trains with a progress bar, prints the test accuracy, saves the model, reloads it and checks the
predictions match, and writes the training curves as a PNG. Unchanged, it trains data-parallel when
started by ``torchrun`` (``lamina demo --processes 2`` does that): process 0 prints and plots.
"""

import os

import numpy as np

from lamina import distribution, layers
from lamina.models import Sequential, load_model
from lamina.utils.plotting import plot_history
from lamina.utils.rng import set_random_seed


def run(output_dir=".", epochs=12, verbose="auto", seed=0):
    """Runs the demo; returns ``{"accuracy", "model_path", "plot_path"}``. Files go to ``output_dir``."""
    from sklearn.datasets import load_digits  # an optional dependency, imported where it is used

    set_random_seed(seed)
    digits = load_digits()
    images = (digits.images / 16.0).astype("float32")[..., None]  # (1797, 8, 8, 1), channels_last
    labels = digits.target.astype("int64")
    order = np.random.default_rng(seed).permutation(len(images))
    split = int(0.8 * len(images))
    train, test = order[:split], order[split:]

    model = Sequential([
        layers.Input((8, 8, 1)),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.Flatten(),
        layers.Dropout(0.3),
        layers.Dense(10, activation="softmax"),
    ], name="digits_cnn")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    report = print if distribution.is_writing_process() else _silent
    report(model.summary_string())
    history = model.fit(images[train], labels[train], batch_size=32, epochs=epochs, validation_split=0.1,
                        verbose=verbose)
    _, accuracy = model.evaluate(images[test], labels[test], verbose=0)
    report(f"Test accuracy: {accuracy:.4f}")

    os.makedirs(output_dir, exist_ok=True)
    model_path = os.path.join(output_dir, "digits_cnn.lamina")
    model.save(model_path)
    reloaded = load_model(model_path)
    if not np.allclose(reloaded.predict(images[test], verbose=0), model.predict(images[test], verbose=0), atol=1e-6):
        raise RuntimeError(f"The model reloaded from {model_path} predicts differently from the trained one.")
    report(f"Saved and reloaded {model_path}: predictions match.")
    plot_path = os.path.join(output_dir, "digits_training.png")
    if distribution.is_writing_process():
        plot_history(history, plot_path)
    report(f"Training curves: {plot_path}")
    distribution.barrier()  # the processes end together: none is stopped while process 0 still writes
    return {"accuracy": accuracy, "model_path": model_path, "plot_path": plot_path}


def _silent(*args, **kwargs):
    """``print`` on the processes other than process 0."""
