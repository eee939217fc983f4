"""TensorBoard (event files read back), SwapEMAWeights (against Keras) and RemoteMonitor (a local server)."""

import http.server
import json
import pathlib
import socket
import sys
import threading
import urllib.parse

import numpy as np
import pytest
import torch

import lamina
from lamina import callbacks, layers

KERAS_TAGS = json.loads((pathlib.Path(__file__).parent / "data/callbacks/tensorboard_tags.json").read_text())


def _event_tags(log_dir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    found = {}
    for kind in ("train", "validation"):
        if not (log_dir / kind).exists():
            continue
        accumulator = EventAccumulator(str(log_dir / kind), size_guidance={"scalars": 0, "histograms": 0,
                                                                           "images": 0, "tensors": 0})
        accumulator.Reload()
        names = accumulator.Tags()
        found[kind] = {tag: [(e.step, e.value) for e in accumulator.Scalars(tag)] for tag in names["scalars"]}
        found[kind].update({tag: [(e.step, None) for e in accumulator.Histograms(tag)] for tag in names["histograms"]})
        found[kind]["_images"] = names["images"]
        found[kind]["_graph"] = names["graph"]
        found[kind]["_tensors"] = names["tensors"]
    return found


def _fit_with(callback, epochs=2, validation_split=0.25):
    lamina.utils.clear_session()
    rng = np.random.default_rng(0)
    x, y = rng.uniform(size=(32, 4)).astype("float32"), rng.uniform(size=(32, 1)).astype("float32")
    model = lamina.Sequential([lamina.Input((4,)), layers.Dense(3, activation="relu"), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    history = model.fit(x, y, epochs=epochs, batch_size=8, validation_split=validation_split, verbose=0,
                        callbacks=[callback])
    return model, history


@pytest.mark.parametrize("run,kwargs", [("epoch", dict(histogram_freq=0)),
                                        ("batch2_histograms", dict(histogram_freq=1, update_freq=2))])
def test_tensorboard_writes_keras_tags_and_steps(tmp_path, run, kwargs):
    _, history = _fit_with(callbacks.TensorBoard(tmp_path, **kwargs))
    found = _event_tags(tmp_path)
    for kind, expected in KERAS_TAGS[run].items():
        assert {tag for tag in found[kind] if not tag.startswith("_")} == set(expected), kind
        for tag, steps in expected.items():
            ours = [step for step, _ in found[kind][tag]]
            if tag.startswith("batch_") or run == "epoch":
                assert ours == steps, (kind, tag)
            else:
                # Keras 3.15 drops epoch summaries whose batch count is not a multiple of update_freq;
                # lamina writes every epoch, as update_freq's documentation says.
                assert set(steps) <= set(ours) and ours == sorted(set(ours)), (kind, tag)
    for name in ("loss", "mae"):
        np.testing.assert_allclose([v for _, v in found["train"][f"epoch_{name}"]], history.history[name], rtol=1e-6)
        np.testing.assert_allclose([v for _, v in found["validation"][f"epoch_{name}"]],
                                   history.history[f"val_{name}"], rtol=1e-6)
    assert found["train"]["_graph"]  # the traced model graph
    assert "keras/text_summary" in found["train"]["_tensors"]  # the model's config, as text


def test_tensorboard_images_embeddings_and_steps_per_second(tmp_path):
    lamina.utils.clear_session()
    metadata = tmp_path / "words.tsv"
    metadata.write_text("\n".join(f"w{i}" for i in range(10)) + "\n")
    model = lamina.Sequential([lamina.Input((5,)), layers.Embedding(10, 3, name="words"), layers.Flatten(),
                               layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    board = callbacks.TensorBoard(tmp_path / "logs", histogram_freq=1, write_images=True, embeddings_freq=1,
                                  embeddings_metadata={"words": str(metadata)}, write_steps_per_second=True,
                                  update_freq="batch")
    model.fit(np.random.randint(0, 10, (8, 5)), np.ones((8, 1)), epochs=1, batch_size=4, verbose=0,
              callbacks=[board])
    found = _event_tags(tmp_path / "logs")
    # Dense(1)'s bias squeezes to a scalar, which Keras does not draw either.
    assert set(found["train"]["_images"]) == {"sequential/words/embeddings/image", "sequential/dense/kernel/image"}
    assert [step for step, _ in found["train"]["batch_steps_per_second"]] == [1, 2]
    assert found["train"]["epoch_steps_per_second"][0][1] > 0
    projector = (tmp_path / "logs/train/projector_config.pbtxt").read_text()
    assert 'tensor_name: "words:00000"' in projector and "metadata_path" in projector


def test_tensorboard_arguments_and_missing_package(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"Profiling is not yet available with the torch backend.*profile_batch=2"):
        callbacks.TensorBoard(tmp_path, profile_batch=2)
    with pytest.raises(ValueError, match="update_freq must be 'epoch', 'batch' or a positive int"):
        callbacks.TensorBoard(tmp_path, update_freq=0)
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    with pytest.raises(ImportError, match="needs the `tensorboard` package"):
        _fit_with(callbacks.TensorBoard(tmp_path), epochs=1, validation_split=0.0)


@pytest.mark.parametrize("swap_on_epoch", [False, True])
def test_swap_ema_weights_matches_keras(keras, swap_on_epoch):
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((24, 3)).astype("float32"), rng.standard_normal((24, 2)).astype("float32")
    x_val, y_val = rng.standard_normal((8, 3)).astype("float32"), rng.standard_normal((8, 2)).astype("float32")
    runs, initial = [], None
    for lib in (keras, lamina):
        model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(4, activation="tanh"), lib.layers.Dense(2)])
        if initial is None:
            initial = model.get_weights()
        model.set_weights(initial)
        model.compile(optimizer=lib.optimizers.Adam(0.05, use_ema=True, ema_momentum=0.5), loss="mse")
        history = model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0, validation_data=(x_val, y_val),
                            callbacks=[lib.callbacks.SwapEMAWeights(swap_on_epoch=swap_on_epoch)])
        runs.append((model, history))
    (reference, keras_history), (model, history) = runs
    np.testing.assert_allclose(history.history["val_loss"], keras_history.history["val_loss"], rtol=1e-5)
    np.testing.assert_allclose(history.history["loss"], keras_history.history["loss"], rtol=1e-5)
    for mine, theirs in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(mine, theirs, atol=1e-6)


def test_swap_ema_weights_swaps_back_after_predict_and_needs_ema():
    model = lamina.Sequential([lamina.Input((3,)), layers.Dense(2)])
    model.compile(optimizer=lamina.optimizers.SGD(0.1, use_ema=True), loss="mse")
    model.fit(np.ones((4, 3)), np.zeros((4, 2)), epochs=1, verbose=0)
    model.optimizer._slots["average"][0].add_(1.0)  # make the averages differ from the weights
    weights = model.get_weights()
    swap = callbacks.SwapEMAWeights()
    with_ema = model.predict(np.ones((2, 3)), verbose=0, callbacks=[swap])
    assert not np.allclose(with_ema, model.predict(np.ones((2, 3)), verbose=0))
    for mine, before in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(mine, before)  # swapped back (Keras 3.15 leaves the averages in)
    plain = lamina.Sequential([lamina.Input((3,)), layers.Dense(2)])
    plain.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"`use_ema=True` is set on the optimizer. Received: use_ema=False"):
        plain.evaluate(np.ones((2, 3)), np.ones((2, 2)), verbose=0, callbacks=[callbacks.SwapEMAWeights()])


class _Recorder(http.server.BaseHTTPRequestHandler):
    received = []

    def do_POST(self):  # noqa: N802 (the http.server hook's name)
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        _Recorder.received.append((self.path, dict(self.headers), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Recorder.received = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_remote_monitor_posts_each_epoch(server):
    _, history = _fit_with(callbacks.RemoteMonitor(root=server, headers={"X-Run": "1"}), epochs=2)
    assert len(_Recorder.received) == 2
    path, headers, body = _Recorder.received[1]
    assert path == "/publish/epoch/end/" and headers["X-Run"] == "1"
    sent = json.loads(urllib.parse.parse_qs(body)["data"][0])
    assert sent["epoch"] == 1 and sent["loss"] == pytest.approx(history.history["loss"][1])
    assert set(sent) == {"epoch", "loss", "mae", "val_loss", "val_mae"}
    _Recorder.received = []
    _fit_with(callbacks.RemoteMonitor(root=server, path="/logs", send_as_json=True), epochs=1)
    path, headers, body = _Recorder.received[0]
    assert path == "/logs" and headers["Content-Type"] == "application/json" and json.loads(body)["epoch"] == 0


def test_remote_monitor_warns_when_nobody_listens():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.warns(UserWarning, match=f"Could not reach RemoteMonitor root server at http://127.0.0.1:{port}"):
        _fit_with(callbacks.RemoteMonitor(root=f"http://127.0.0.1:{port}", timeout=2), epochs=1,
                  validation_split=0.0)


def test_tensorboard_logs_torch_tensors_from_logs(tmp_path):
    board = callbacks.TensorBoard(tmp_path, update_freq=1)
    board.set_model(lamina.Sequential([lamina.Input((2,)), layers.Dense(1)]))
    board.model.compile(optimizer="sgd", loss="mse")
    board.on_train_begin()
    board.on_train_batch_begin(0)
    board.on_train_batch_end(0, {"loss": torch.tensor(0.5)})
    board.on_train_end()
    assert _event_tags(tmp_path)["train"]["batch_loss"] == [(1, 0.5)]
