"""`digitlab export` (ONNX, TFLite) with its parity check, and the runtimes that run the exports."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest

from test_vision_fixtures import mnist_digits, trained_model_path

from digitlab.errors import UserError
from digitlab.formats import file_sha256
from digitlab.recognize import Recognizer
from digitlab.recognize import KerasRuntime, OnnxRuntime, open_runtime


def digitlab(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "digitlab", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A trained MLP as model.keras with model.onnx and model.tflite exported beside it by the CLI."""
    folder = tmp_path_factory.mktemp("export")
    shutil.copyfile(trained_model_path(), folder / "model.keras")
    results = {}
    for fmt in ("onnx", "tflite"):
        # The CLI runs in its own process: exporting needs Keras on TensorFlow,
        # whatever backend this test process happens to use.
        done = digitlab("export", "--model", str(folder / "model.keras"), "--format", fmt,
                        "--parity-images", "500", "--json")
        assert done.returncode == 0, done.stderr
        results[fmt] = json.loads(done.stdout)
    return folder, results


def test_export_writes_checked_files_beside_the_model(exported):
    folder, results = exported
    for fmt in ("onnx", "tflite"):
        result = results[fmt]
        assert result["path"] == str(folder / f"model.{fmt}")
        assert result["sha256"] == file_sha256(folder / f"model.{fmt}")
        assert result["parity_images"] == 500 and result["parity_top1_agreement"] == 1.0
        assert result["parity_max_abs_diff"] < 1e-4
    assert not list(folder.glob(".*partial*")), "no temporary file is left behind"


def test_onnx_runtime_matches_keras_and_records_its_source(exported):
    folder, _ = exported
    images, _ = mnist_digits(20)
    onnx_runtime, keras_runtime = OnnxRuntime(folder / "model.onnx"), KerasRuntime(folder / "model.keras")
    np.testing.assert_allclose(onnx_runtime.predict(images / 255.0), keras_runtime.predict(images / 255.0), atol=1e-5)
    assert onnx_runtime.source_sha256 == file_sha256(folder / "model.keras")
    assert onnx_runtime.predict(np.zeros((0, 28, 28))).shape == (0, 10)


def test_recognizer_prefers_onnx_and_reads_the_same(exported):
    folder, _ = exported
    images, labels = mnist_digits(10)
    with_onnx, with_keras = Recognizer(folder / "model.keras"), Recognizer(folder / "model.keras", runtime="keras")
    assert with_onnx.info["runtime"] == "onnx" and with_keras.info["runtime"] == "keras"
    assert with_onnx.info["parameters"] is None or with_onnx.info["parameters"] == with_keras.info["parameters"]
    for image, label in zip(images, labels):
        onnx_answer, keras_answer = with_onnx.predict_pixels(image), with_keras.predict_pixels(image)
        assert onnx_answer["prediction"] == keras_answer["prediction"] == str(label)
        assert abs(onnx_answer["confidence"] - keras_answer["confidence"]) < 1e-4


def test_a_stale_onnx_file_is_not_used(exported, tmp_path):
    folder, _ = exported
    shutil.copyfile(folder / "model.onnx", tmp_path / "model.onnx")
    # Another .keras file beside it: the ONNX file was not exported from this one.
    from digitlab.models import create_model

    create_model("mlp").save(tmp_path / "model.keras")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runtime = open_runtime(tmp_path / "model.keras")
    assert runtime.name == "keras" and any("stale" in str(warning.message) for warning in caught)
    with pytest.raises(UserError, match="not exported from"):
        open_runtime(tmp_path / "model.keras", "onnx")


def test_runtime_errors_are_one_sentence(tmp_path, exported):
    folder, _ = exported
    (tmp_path / "model.keras").write_bytes((folder / "model.keras").read_bytes())
    with pytest.raises(UserError, match="no model.onnx beside it"):
        open_runtime(tmp_path / "model.keras", "onnx")
    (tmp_path / "broken.onnx").write_bytes(b"not an onnx file")
    with pytest.raises(UserError, match="could not be loaded as an ONNX model"):
        open_runtime(tmp_path / "broken.onnx")
    with pytest.raises(UserError, match="is an ONNX file"):
        open_runtime(folder / "model.onnx", "keras")
    with pytest.raises(UserError, match="--runtime must be"):
        open_runtime(folder / "model.keras", "torch")


def test_export_cli_refuses_bad_requests(tmp_path, exported):
    folder, _ = exported
    same = digitlab("export", "--model", str(folder / "model.keras"), "--out", str(folder / "model.keras"))
    assert same.returncode == 1 and "would overwrite" in same.stderr and "Traceback" not in same.stderr
    missing_folder = digitlab("export", "--model", str(folder / "model.keras"), "--out", str(tmp_path / "no" / "m.onnx"))
    assert missing_folder.returncode == 1 and "does not exist" in missing_folder.stderr
    assert not (tmp_path / "no").exists()


# Runs in a fresh process: exporting in-process needs Keras on TensorFlow, and
# this test process may already run Keras on JAX (the fast engine's backend).
DISAGREEING_EXPORT = """
import sys
from pathlib import Path
from digitlab.export import exporter as export
from digitlab.errors import UserError
real_predictor = export._exported_predictor
export._exported_predictor = lambda path, fmt: (lambda batch: real_predictor(path, fmt)(batch)[:, ::-1])  # broken
try:
    export.export_model(Path(sys.argv[1]), "onnx", Path(sys.argv[2]), parity_images=100)
except UserError as error:
    print("refused:", error)
"""


def test_an_export_that_disagrees_is_deleted_not_kept(tmp_path):
    shutil.copyfile(trained_model_path(), tmp_path / "model.keras")
    done = subprocess.run([sys.executable, "-c", DISAGREEING_EXPORT, str(tmp_path / "model.keras"),
                           str(tmp_path / "model.onnx")], capture_output=True, text=True, timeout=300)
    assert "refused:" in done.stdout and "does not match the Keras model" in done.stdout, done.stdout + done.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model.keras"]
