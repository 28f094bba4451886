"""`digitlab tune`'s pieces without a cluster: model options, a stopped trial finished, the command, the table.

The sweep itself (Ray Tune, ASHA, the trials on two nodes) runs in tests/ray_cluster.py.
"""

from __future__ import annotations

import csv
import json
import shlex
from pathlib import Path

import pytest

from digitlab.cli import main
from digitlab.cli.commands import _config_from_args
from digitlab.cli.parser import build_parser
from digitlab.errors import UserError
from digitlab.formats import RunConfig, read_metrics, rundir
from digitlab.formats.sweeps import trials_csv, trials_markdown
from digitlab.models import create_model, model_options

pytest.importorskip("ray", reason="needs the Ray extra: pip install 'digitlab[ray]'")

from digitlab.scale.tune import SEARCH_SPACES, CONFIG_KNOBS, SweepSettings, base_config, trial_config  # noqa: E402


def test_every_swept_knob_is_a_config_field_or_a_builder_option():
    for model, space in SEARCH_SPACES.items():
        for knob in space:
            assert knob in CONFIG_KNOBS or knob in model_options(model), (model, knob)


def test_builder_options_change_the_model_and_unknown_ones_are_refused():
    assert create_model("mlp", hidden_units=[32, 16]).count_params() < create_model("mlp").count_params()
    assert create_model("cnn", widths=[8, 16]).count_params() < create_model("cnn").count_params()
    with pytest.raises(UserError, match="model 'mlp' takes hidden_units, dropout_rate; got width"):
        create_model("mlp", width=2)


def test_train_option_flag_reaches_config_json_and_a_bad_one_is_one_sentence(tmp_path, capsys):
    assert main(["train", "--model", "mlp", "--tiny", "--epochs", "1", "--quiet", "--runs-dir", str(tmp_path),
                 "--option", "hidden_units=[32,16]", "--option", "dropout_rate=0.25"]) == 0
    (run_dir,) = tmp_path.iterdir()
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model_options"] == {"hidden_units": [32, 16], "dropout_rate": 0.25}
    assert read_metrics(run_dir)["parameters"] == create_model("mlp", hidden_units=[32, 16]).count_params()
    capsys.readouterr()
    assert main(["train", "--model", "mlp", "--tiny", "--runs-dir", str(tmp_path / "no"), "--option", "width=3"]) == 1
    error = capsys.readouterr().err
    assert "takes hidden_units, dropout_rate; got width" in error and "Traceback" not in error
    assert not (tmp_path / "no").exists()  # refused before any run directory was made


def test_a_trials_command_repeats_its_settings():
    base = base_config(SweepSettings(model="cnn", trials=4, epochs=3, limit_train=2000, seed=7)).to_dict()
    trial = trial_config(base, {"learning_rate": 0.0012345678901, "dropout_rate": 0.31, "widths": [16, 32],
                                "augment": True})
    words = shlex.split(trial.command)
    assert words[:2] == ["digitlab", "train"]
    args = build_parser().parse_args(words[1:])
    args.argv = words[1:]  # (main sets it)
    again = _config_from_args(args, model=args.model, default_engine="auto")
    for field in ("model", "epochs", "learning_rate", "augment", "model_options", "seed", "limit_train", "engine",
                  "lr_schedule", "batch_size"):
        assert getattr(again, field) == getattr(trial, field), field


def test_a_stopped_trial_is_finished_from_its_checkpoint(tmp_path):
    """What happens to a trial ASHA stops: its process ends after an epoch; the sweep then evaluates that epoch."""
    from digitlab.pipeline import run_pipeline

    config = RunConfig(model="mlp", epochs=3, limit_train=2000, limit_test=500, runs_dir=str(tmp_path))
    told = []

    def stop_after_first(run_dir: Path, epoch: int, logs: dict) -> None:
        told.append((epoch, round(logs["val_accuracy"], 6), (run_dir / "checkpoints").is_dir()))
        raise SystemExit(0)  # what Ray's report does in a trial that the scheduler stopped

    with pytest.raises(SystemExit):
        run_pipeline(config, verbose=0, on_epoch_end=stop_after_first)
    (run_dir,) = tmp_path.iterdir()
    assert told[0][0] == 0 and told[0][2]
    assert rundir.run_status(run_dir) == rundir.INTERRUPTED
    result = run_pipeline(RunConfig.load(run_dir / "config.json"), resume_dir=run_dir, verbose=0, stopped_after=1)
    metrics = result.metrics
    assert metrics["status"] == rundir.FINISHED and metrics["epochs_run"] == 1
    assert metrics["stopped_early_after_epoch"] == 1
    assert RunConfig.load(run_dir / "config.json").epochs == 3  # the run as it was asked for
    assert (run_dir / "report.html").is_file()
    with (run_dir / "history.csv").open() as handle:
        assert [row["epoch"] for row in csv.DictReader(handle)] == ["0"]
    # Keras' val_accuracy after epoch 1 is the evaluated model's validation accuracy.
    assert metrics["validation_accuracy"] == pytest.approx(told[0][1], abs=1e-6)


def test_trials_table_and_csv():
    rows = [{"rank": 1, "learning_rate": 0.00123456, "hidden_units": [256, 128], "augment": False,
             "validation_accuracy": 0.98765, "run": "a"},
            {"rank": 2, "learning_rate": 0.003, "hidden_units": [64, 32], "augment": True,
             "validation_accuracy": 0.9, "run": "b"}]
    table = trials_markdown(rows, ["rank", "learning_rate", "hidden_units", "augment", "validation_accuracy"])
    assert "| 1 | 0.001235 | 256×128 | no | 98.77% |" in table
    parsed = list(csv.DictReader(trials_csv(rows).splitlines()))
    assert parsed[1]["hidden_units"] == "64 32" and parsed[0]["validation_accuracy"] == "0.98765"


def test_a_model_without_a_search_space_is_one_sentence_before_ray_starts(tmp_path, capsys):
    assert main(["tune", "--model", "deotte", "--trials", "2", "--runs-dir", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert "digitlab tune has no search space for 'deotte'; it sweeps cnn, mlp, vgg." in error
    assert "Traceback" not in error and not any(tmp_path.iterdir())
