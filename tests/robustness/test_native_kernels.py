"""Bad input never reaches a native kernel unchecked (run in a subprocess: a native crash fails the test)."""

import subprocess
import sys
import textwrap

import pytest


def _run(code):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("layer", ["LSTM(3)", "GRU(3)", "SimpleRNN(3)", "Bidirectional(LSTM(3))",
                                   "Bidirectional(GRU(3))"])
def test_recurrent_layers_refuse_a_wrong_feature_count(layer):
    result = _run(f"""
        import numpy as np, lamina
        from lamina.layers import *
        model = lamina.Sequential([lamina.Input((5, 4)), {layer}, Dense(1)])
        model.compile("adam", "mse")
        for data in (np.random.rand(2, 5, 400), np.random.rand(10, 5, 6)):
            try:
                model.predict(data, verbose=0)
            except ValueError as error:
                assert "(batch, time, 4)" in str(error), error
            else:
                raise SystemExit("predict accepted the wrong shape")
            for _ in range(3):
                try:
                    model.fit(data, np.zeros((len(data), 1)), verbose=0)
                except ValueError:
                    pass
                else:
                    raise SystemExit("fit accepted the wrong shape")
        print("refused")
    """)
    assert result.returncode == 0 and "refused" in result.stdout, result.stdout + result.stderr


def test_fused_kernel_check_names_the_layer():
    result = _run("""
        import torch, lamina
        from lamina.layers import LSTMCell
        from lamina.layers.rnn import fused
        cell = LSTMCell(3, name="cell")
        cell.build((None, 4))
        try:
            fused.run(cell, torch.zeros(2, 5, 7), [torch.zeros(2, 3), torch.zeros(2, 3)], None, False, False, True)
        except ValueError as error:
            print(error)
    """)
    assert "Layer 'cell': expected sequences of shape (batch, time, 4)" in result.stdout, result.stderr
