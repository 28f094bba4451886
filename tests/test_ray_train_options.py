"""`digitlab train --ray-workers`: what is refused before any worker starts (the training itself: ray_cluster.py)."""

from __future__ import annotations

import pytest

from digitlab.cli import main
from digitlab.cli.extras import EXIT_MISSING_EXTRA


@pytest.mark.parametrize("extra", [["--model", "vgg"], ["--model", "mlp", "--augment"],
                                   ["--model", "mlp", "--extra-data", "lowres"]])
def test_recipes_that_augment_are_refused_in_one_sentence_before_a_run_dir(tmp_path, capsys, extra):
    assert main(["train", *extra, "--ray-workers", "2", "--runs-dir", str(tmp_path / "runs")]) == 1
    error = capsys.readouterr().err
    assert "--ray-workers trains without augmentation and --extra-data for now" in error
    assert "Traceback" not in error and not (tmp_path / "runs").exists()


def test_without_pytorch_the_extra_to_install_is_named(tmp_path, capsys, monkeypatch):
    import digitlab.cli.extras as extras

    real = extras.missing_modules
    monkeypatch.setattr(extras, "missing_modules",
                        lambda modules: [module for module in modules if module == "torch"] or real(modules))
    assert main(["train", "--model", "mlp", "--tiny", "--ray-workers", "2", "--runs-dir", str(tmp_path)]) == \
        EXIT_MISSING_EXTRA
    error = capsys.readouterr().err
    assert "pip install 'digitlab[ray-train]'" in error and "torch" in error


def test_more_workers_than_this_machine_has_cpus_is_one_sentence_before_a_run_dir(tmp_path, capsys, monkeypatch):
    import os

    pytest.importorskip("ray", reason="needs the Ray extra: pip install 'digitlab[ray-train]'")
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert main(["train", "--model", "mlp", "--tiny", "--ray-workers", "3", "--runs-dir", str(tmp_path / "runs")]) == 1
    error = capsys.readouterr().err
    assert "--ray-workers 3 needs 3 CPUs, one per worker; this machine (a local Ray) has 2." in error
    assert "Traceback" not in error and not (tmp_path / "runs").exists()
