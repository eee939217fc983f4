"""model.export: ONNX (checked with ONNX Runtime at two batch sizes) and torch.export programs that run
without lamina; formats that need TensorFlow raise. Kept few and small: the exporters are slow."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import lamina
from keras_reference import assert_close


def _two_input_model():
    L = lamina.layers
    image, numbers = lamina.Input((6, 6, 2), name="image"), lamina.Input((4, 3), name="numbers")
    features = L.Flatten()(L.MaxPooling2D()(L.BatchNormalization()(L.Conv2D(3, 3, padding="same")(image))))
    merged = L.Concatenate()([features, L.LSTM(3)(numbers)])
    model = lamina.Model([image, numbers], [L.Dense(2, activation="softmax", name="kind")(merged),
                                            L.Dense(1, name="size")(merged)])
    model.layers[2].set_weights([w + 0.3 for w in model.layers[2].get_weights()])  # non-trivial statistics
    return model


def _inputs(batch, rng):
    return [rng.standard_normal((batch, 6, 6, 2)).astype("float32"),
            rng.standard_normal((batch, 4, 3)).astype("float32")]


def test_onnx_export_runs_in_onnx_runtime_with_any_batch(tmp_path, rng):
    onnxruntime = pytest.importorskip("onnxruntime")
    model = _two_input_model()
    path = model.export(tmp_path / "model.onnx", format="onnx", verbose=False)
    session = onnxruntime.InferenceSession(str(path))
    assert [i.name for i in session.get_inputs()] == ["image", "numbers"]
    assert [o.name for o in session.get_outputs()] == ["kind", "size"]
    for batch in (1, 7):
        inputs = _inputs(batch, rng)
        outputs = session.run(None, dict(zip(["image", "numbers"], inputs)))
        assert_close(outputs, [y.detach() for y in model(inputs)], what=f"ONNX Runtime, batch {batch}")


def test_torch_export_program_runs_without_lamina(tmp_path, rng):
    model = _two_input_model()
    path = tmp_path / "model.pt2"
    model.export(path, format="torch_export", verbose=False)
    inputs = _inputs(5, rng)
    np.savez(tmp_path / "io.npz", a=inputs[0], b=inputs[1])
    script = textwrap.dedent(f"""
        import sys
        sys.modules["lamina"] = None  # any import of lamina now fails
        import numpy as np, torch
        data = np.load({str(tmp_path / "io.npz")!r})
        program = torch.export.load({str(path)!r})
        kind, size = program.module()(torch.from_numpy(data["a"]), torch.from_numpy(data["b"]))
        np.savez({str(tmp_path / "out.npz")!r}, kind=kind.detach().numpy(), size=size.detach().numpy())
    """)
    subprocess.run([sys.executable, "-c", script], check=True, cwd=tmp_path, capture_output=True)
    outputs = np.load(tmp_path / "out.npz")
    assert_close([outputs["kind"], outputs["size"]], [y.detach() for y in model(inputs)], what="torch.export")
    loaded = torch.export.load(path)
    assert all(type(value) in (torch.Tensor, torch.nn.Parameter) for value in loaded.state_dict.values())


def test_export_errors():
    model = _two_input_model()
    with pytest.raises(ValueError, match="needs TensorFlow"):
        model.export("saved_model")
    with pytest.raises(ValueError, match="needs TensorFlow"):
        model.export("m.tflite", format="litert")
    with pytest.raises(ValueError, match="unrecognized format='coreml'"):
        model.export("m.mlmodel", format="coreml")
    with pytest.raises(ValueError, match=r"end in '\.pt2'"):
        model.export("m.pt", format="torch")

    class Subclassed(lamina.Model):
        def call(self, x):
            return x * 2

    with pytest.raises(ValueError, match="input_signature"):
        Subclassed().export("s.pt2", format="torch")


def test_subclassed_model_exports_with_an_input_signature(tmp_path):
    class Doubler(lamina.Model):
        def __init__(self):
            super().__init__()
            self.dense = lamina.layers.Dense(2)

        def call(self, x):
            return self.dense(x) * 2

    model = Doubler()
    model(torch.zeros(1, 3))
    model.export(tmp_path / "d.pt2", format="torch", verbose=False,
                 input_signature=[lamina.layers.InputSpec(shape=(None, 3))])
    program = torch.export.load(tmp_path / "d.pt2").module()
    x = torch.randn(4, 3)
    assert_close(program(x), model(x).detach(), what="subclassed")


def test_onnx_needs_its_packages(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnxscript", None)
    with pytest.raises(ImportError, match=r"lamina\[export\]"):
        lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)]).export(tmp_path / "m.onnx", format="onnx")
