"""RunConfig: defaults are the tutorial's, bad values are clear errors, JSON round trip."""

from __future__ import annotations

import pytest

from digitlab.formats import RunConfig
from digitlab.errors import UserError


def test_defaults_are_the_tutorial_recipe():
    config = RunConfig()
    assert (config.model, config.epochs, config.batch_size, config.validation_split) == ("mlp", 10, 128, 0.1)
    assert (config.optimizer, config.learning_rate, config.loss) == ("adam", 0.001, "categorical_crossentropy")


@pytest.mark.parametrize(
    "field, value, message",
    [("epochs", 0, "--epochs"), ("batch_size", -1, "--batch-size"), ("validation_split", 1.0, "validation_split"),
     ("learning_rate", 0.0, "--learning-rate"), ("limit_train", 3, "--limit-train"), ("seed", -5, "--seed"),
     ("lr_schedule", "linear", "--lr-schedule must be one of constant, cosine, one_cycle")],
)
def test_bad_values_are_user_errors(field, value, message):
    config = RunConfig(**{field: value})
    with pytest.raises(UserError, match=message):
        config.validate()


def test_save_load_round_trip(tmp_path):
    config = RunConfig(model="mlp", epochs=3, seed=7, limit_train=100).stamp()
    config.save(tmp_path / "config.json")
    assert RunConfig.load(tmp_path / "config.json") == config


def test_load_of_damaged_config_is_a_user_error(tmp_path):
    (tmp_path / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(UserError, match="not valid JSON"):
        RunConfig.load(tmp_path / "config.json")
    with pytest.raises(UserError, match="does not exist"):
        RunConfig.load(tmp_path / "missing.json")
