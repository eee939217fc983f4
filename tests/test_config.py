"""Global settings and the keras.json file (a Keras 2 feature Keras 3 dropped)."""

import json
import subprocess
import sys

import pytest

from lamina import config


@pytest.fixture
def restore_settings():
    saved = (config.floatx(), config.epsilon(), config.image_data_format())
    yield
    config.set_floatx(saved[0])
    config.set_epsilon(saved[1])
    config.set_image_data_format(saved[2])


def _settings_in_fresh_process(keras_home):
    code = ("import lamina, json; from lamina import config; "
            "print(json.dumps([config.floatx(), config.epsilon(), config.image_data_format()]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env={"KERAS_HOME": str(keras_home), "PATH": "/usr/bin:/bin"})
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


def test_defaults_without_a_file(tmp_path):
    settings, _ = _settings_in_fresh_process(tmp_path)
    assert settings == ["float32", 1e-7, "channels_last"]


def test_keras_json_sets_the_default_data_format(tmp_path):
    (tmp_path / "keras.json").write_text(json.dumps({"image_data_format": "channels_first", "epsilon": 1e-5,
                                                     "floatx": "float64", "backend": "tensorflow"}))
    settings, _ = _settings_in_fresh_process(tmp_path)
    assert settings == ["float64", 1e-5, "channels_first"]


def test_malformed_keras_json_warns_and_keeps_defaults(tmp_path):
    (tmp_path / "keras.json").write_text("{not json")
    settings, stderr = _settings_in_fresh_process(tmp_path)
    assert settings == ["float32", 1e-7, "channels_last"]
    assert "malformed" in stderr


def test_invalid_values_in_keras_json_are_ignored_one_by_one(tmp_path):
    (tmp_path / "keras.json").write_text(json.dumps({"image_data_format": "sideways", "epsilon": 1e-4}))
    settings, stderr = _settings_in_fresh_process(tmp_path)
    assert settings == ["float32", 1e-4, "channels_last"]
    assert "image_data_format" in stderr


def test_setters_validate(restore_settings):
    config.set_image_data_format("channels_first")
    assert config.image_data_format() == "channels_first"
    with pytest.raises(ValueError, match="image_data_format must be one of"):
        config.set_image_data_format("nchw")
    with pytest.raises(ValueError, match="Unknown floatx"):
        config.set_floatx("float8")
    with pytest.raises(ValueError, match="epsilon must be a positive number"):
        config.set_epsilon(-1)


def test_data_format_none_means_the_global_value_at_construction(restore_settings):
    from lamina.ops.arguments import normalize_data_format

    config.set_image_data_format("channels_first")
    assert normalize_data_format(None) == "channels_first"
    config.set_image_data_format("channels_last")
    assert normalize_data_format(None) == "channels_last"
    with pytest.raises(ValueError, match="Conv2D: the `data_format` argument"):
        normalize_data_format("NHWC", "Conv2D")
