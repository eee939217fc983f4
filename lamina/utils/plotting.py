"""``plot_history``: training curves as a PNG (matplotlib, an optional extra)."""


def plot_history(history, path):
    """Writes a PNG of the loss and metric curves of ``history`` (a History or its ``.history`` dict) to ``path``.

    One panel per metric, with its ``val_`` curve beside it when present. Returns ``path``.
    """
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError("plot_history needs matplotlib: `pip install matplotlib` "
                          "(or `pip install lamina[plot]`).") from error
    logs = getattr(history, "history", history)
    names = [name for name in logs if not name.startswith("val_") and name != "learning_rate"]
    if not names:
        raise ValueError("plot_history: the history holds no metrics to plot.")
    figure, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.5), squeeze=False)
    for axis, name in zip(axes[0], names):
        epochs = range(1, len(logs[name]) + 1)
        axis.plot(epochs, logs[name], marker="o", label=name)
        if f"val_{name}" in logs:
            axis.plot(range(1, len(logs[f"val_{name}"]) + 1), logs[f"val_{name}"], marker="o", label=f"val_{name}")
        axis.set_xlabel("epoch")
        axis.set_title(name)
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
