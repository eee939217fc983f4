"""The demo trains to >= 0.95 test accuracy and leaves its model file and training-curve PNG."""

from lamina.demo import run


def test_demo_trains_saves_reloads_and_plots(tmp_path, capsys):
    result = run(output_dir=str(tmp_path), epochs=8, verbose=2)
    assert result["accuracy"] >= 0.95
    assert (tmp_path / "digits_cnn.lamina").stat().st_size > 0
    assert (tmp_path / "digits_training.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    output = capsys.readouterr().out
    assert "Test accuracy" in output and "predictions match" in output
