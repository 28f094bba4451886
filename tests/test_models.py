"""Every registered model builds, runs a batch, and survives a save/load round trip."""

from __future__ import annotations

import numpy as np
import pytest

from digitlab.errors import UserError
from digitlab.models import create_model, list_models


@pytest.mark.parametrize("name", list_models())
def test_registered_model_forward_and_round_trip(name, tmp_path):
    import keras

    model = create_model(name)
    batch = np.random.default_rng(0).random((8, 28, 28), dtype=np.float32)
    output = np.asarray(model(batch, training=False))
    assert output.shape == (8, 10)
    assert not np.isnan(output).any()
    np.testing.assert_allclose(output.sum(axis=1), 1.0, rtol=1e-5)

    path = tmp_path / f"{name}.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(np.asarray(reloaded(batch, training=False)), output)


def test_mlp_is_the_tutorial_architecture():
    model = create_model("mlp")
    assert model.count_params() == 109_386
    kinds = [layer.__class__.__name__ for layer in model.layers]
    assert kinds == ["Flatten", "Dense", "Dropout", "Dense", "Dropout", "Dense"]
    dense_units = [layer.units for layer in model.layers if hasattr(layer, "units")]
    assert dense_units == [128, 64, 10]
    assert [layer.rate for layer in model.layers if hasattr(layer, "rate")] == [0.3, 0.3]
    assert model.layers[-1].activation.__name__ == "softmax"


def test_unknown_model_is_a_clear_error():
    with pytest.raises(UserError, match="unknown model 'nope'.*mlp"):
        create_model("nope")


def test_models_command_lists_every_shipped_model_and_says_which_are_the_defaults(capsys):
    from digitlab.cli import main
    from digitlab.formats import default_shipped_model, is_line_reader, shipped_models

    assert main(["models"]) == 0
    output = capsys.readouterr().out
    for name in list_models():
        assert f"  {name} " in output
    for name, card in shipped_models().items():
        if is_line_reader(card):  # not a classifier: its own line, after the defaults
            assert f"\nLine reader: {name} (" in output and "of validation numbers exactly right" in output
        else:
            assert f"\n  {name} " in output
    defaults = output.split("Defaults without --model:")[1]
    assert f"use {default_shipped_model('mnist')['name']} (most accurate on the validation split)" in defaults
    assert f"use {default_shipped_model('images')['name']} (made for photos and scans)" in defaults
