"""Damaged and hostile files, through the commands a user runs on them: one sentence naming the file, no traceback.

Each file kind digitlab reads (.keras, .onnx, the .npz dataset cache, IDX
files, config.json, metrics.json, card.json, images) meets each way it can
arrive broken: empty, cut short, random bytes, a file of another kind under its
name, a header that lies, fields of the wrong type. The commands run in this
process through digitlab.cli.main, whose top-level handler is the one a user
meets; an exception that escaped it would fail the test with its traceback.
"""

from __future__ import annotations

import gzip
import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from digitlab.data.idx import idx_bytes
from digitlab.formats import models_dir
from hostile import GARBAGE, KERAS, ONNX, PNG, assert_one_sentence, damages, run, zip_of


@pytest.fixture
def image(tmp_path) -> Path:
    path = tmp_path / "digit.png"
    path.write_bytes(PNG)
    return path


# ---------------------------------------------------------------- model files


@pytest.mark.parametrize("damage", damages(KERAS))
def test_damaged_keras_file_for_predict_evaluate_and_export(damage, tmp_path, image, capsys):
    model = tmp_path / "model.keras"
    model.write_bytes(damages(KERAS)[damage])
    assert_one_sentence(run(capsys, "predict", "--runtime", "keras", "--model", model, image), model)
    if damage != "zip-of-text":  # refused before Keras or any data is loaded: cheap for these two commands
        assert_one_sentence(run(capsys, "evaluate", "--model", model), model)
        assert_one_sentence(run(capsys, "export", "--model", model, "--out", tmp_path / "out.onnx"), model)


def test_keras_archive_with_a_broken_config(tmp_path, image, capsys):
    for name, config in {"not-json": "{nope", "array": "[]", "wrong-types": '{"class_name": 5, "config": "x"}'}.items():
        model = tmp_path / name / "model.keras"
        model.parent.mkdir()
        model.write_bytes(zip_of({"config.json": config, "metadata.json": "{}", "model.weights.h5": b"\x89HDF"}))
        assert_one_sentence(run(capsys, "predict", "--runtime", "keras", "--model", model, image), model)


def test_keras_model_that_is_no_digit_classifier(tmp_path, image, capsys):
    keras = pytest.importorskip("keras", reason="needs the training extra: pip install 'digitlab[train]'")
    for name, (shape, classes) in {"rgb-32": ((32, 32, 3), 10), "three-classes": ((28, 28), 3)}.items():
        model = keras.Sequential([keras.Input(shape), keras.layers.Flatten(), keras.layers.Dense(classes)])
        path = tmp_path / name / "model.keras"
        path.parent.mkdir()
        model.save(path)
        line = assert_one_sentence(run(capsys, "predict", "--runtime", "keras", "--model", path, image), path)
        assert "not a digit classifier" in line


def onnx_model(input_shape: list, output_shape: list, nodes=None, initializers=(), input_type=None) -> bytes:
    onnx = pytest.importorskip("onnx", reason="needs the export extra: pip install 'digitlab[export]'")
    helper, tensor = onnx.helper, onnx.TensorProto
    graph = helper.make_graph(
        nodes or [helper.make_node("Identity", ["x"], ["y"])], "g",
        [helper.make_tensor_value_info("x", input_type or tensor.FLOAT, input_shape)],
        [helper.make_tensor_value_info("y", input_type or tensor.FLOAT, output_shape)], initializer=list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8).SerializeToString()


def foreign_onnx_models() -> dict[str, bytes]:
    """Valid ONNX files that are no digit classifier, or that compute nonsense."""
    onnx = pytest.importorskip("onnx", reason="needs the export extra: pip install 'digitlab[export]'")
    helper = onnx.helper
    nan_weights = onnx.numpy_helper.from_array(np.full((784, 10), np.nan, np.float32), "w")
    shape = onnx.numpy_helper.from_array(np.array([-1, 784], np.int64), "shape")
    escaping = onnx.numpy_helper.from_array(np.zeros((784, 10), np.float32), "w")
    escaping.data_location = onnx.TensorProto.EXTERNAL
    escaping.ClearField("raw_data")
    for key, value in {"location": "../../../../etc/hostname", "offset": "0", "length": "31360"}.items():
        entry = escaping.external_data.add()
        entry.key, entry.value = key, value
    matmul = [helper.make_node("Reshape", ["x", "shape"], ["flat"]), helper.make_node("MatMul", ["flat", "w"], ["y"])]
    return {
        "five-inputs": onnx_model(["n", 5], ["n", 5]),
        "image-out": onnx_model(["n", 28, 28], ["n", 28, 28]),
        "784-out": onnx_model(["n", 784], ["n", 784]),
        "integer-input": onnx_model(["n", 28, 28], ["n", 28, 28], input_type=onnx.TensorProto.INT64),
        "nan-scores": onnx_model(["n", 28, 28], ["n", 10], matmul, [nan_weights, shape]),
        "external-data-outside": onnx_model(["n", 28, 28], ["n", 10], matmul, [escaping, shape]),
    }


@pytest.mark.parametrize("damage", [*damages(ONNX), "foreign"])
def test_damaged_onnx_file_for_predict(damage, tmp_path, image, capsys):
    files = foreign_onnx_models() if damage == "foreign" else {damage: damages(ONNX)[damage]}
    for name, data in files.items():
        model = tmp_path / name / "model.onnx"
        model.parent.mkdir()
        model.write_bytes(data)
        assert_one_sentence(run(capsys, "predict", "--json", "--runtime", "onnx", "--model", model, image), model)


# ---------------------------------------------------------------- the dataset cache and IDX files


def npz_of(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def npz_with_lying_header() -> bytes:
    """Every member's header claims a terabyte of uint8; the member holds 10 bytes."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": (10**12,)})
    member = header.getvalue() + b"x" * 10
    return zip_of({f"{key}.npy": member for key in ("x_train", "y_train", "x_test", "y_test")})


SMALL = np.zeros(3, np.uint8)
CACHE_DAMAGES = {
    **damages(npz_of(x_train=SMALL, y_train=SMALL, x_test=SMALL, y_test=SMALL)),
    "pickled-object-array": npz_of(x_train=np.array([{"code": "runs"}], dtype=object), y_train=SMALL, x_test=SMALL,
                                   y_test=SMALL),
    "lying-header": npz_with_lying_header(),
    "missing-arrays": npz_of(x_train=SMALL),
    "wrong-shapes": npz_of(x_train=SMALL, y_train=SMALL, x_test=SMALL, y_test=SMALL),
    "wrong-dtype": npz_of(x_train=np.zeros((60000, 28, 28), np.float16), y_train=SMALL, x_test=SMALL, y_test=SMALL),
}


@pytest.mark.parametrize("damage", CACHE_DAMAGES)
def test_damaged_dataset_cache_for_data_verify_and_info(damage, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DIGITLAB_CACHE", str(tmp_path))
    cache = tmp_path / "mnist.npz"
    cache.write_bytes(CACHE_DAMAGES[damage])
    assert_one_sentence(run(capsys, "data", "verify"), cache)
    code, out, err = run(capsys, "data", "info", "--json")
    assert code == 0 and not err.strip()
    assert json.loads(out)["cache"]["problem"].startswith("damaged")


def gzip_bomb() -> bytes:
    """A valid IDX header for 10 labels, followed by a gigabyte of zeros, gzipped to about 1 MB."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip stream
    data = deflate.compress(struct.pack(">HBBI", 0, 0x08, 1, 10))
    zeros = bytes(1 << 20)
    data += b"".join(deflate.compress(zeros) for _ in range(1024))
    return data + deflate.flush()


LABELS = idx_bytes(np.arange(10, dtype=np.uint8))
IDX_DAMAGES = {
    **damages(LABELS),
    "wrong-magic": b"\x12\x34" + LABELS[2:],
    "unknown-type-code": LABELS[:2] + b"\x0a" + LABELS[3:],
    "zero-dimensions": LABELS[:3] + b"\x00",
    "dims-larger-than-data": struct.pack(">HBB3I", 0, 0x08, 3, 60000, 28, 28) + bytes(100),
    "dims-that-overflow": struct.pack(">HBB3I", 0, 0x08, 3, 2**31, 2**31, 4),
    "trailing-bytes": LABELS + b"extra",
    "gzip-cut-short": gzip.compress(LABELS)[:-6],
    "gzip-bomb": gzip_bomb(),
}


@pytest.mark.parametrize("damage", IDX_DAMAGES)
def test_damaged_idx_files_for_data_fetch(damage, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DIGITLAB_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "idx"
    folder.mkdir()
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        (folder / name).write_bytes(IDX_DAMAGES[damage])
    assert_one_sentence(run(capsys, "data", "fetch", "--data-dir", folder), folder)
    assert not (tmp_path / "cache" / "mnist.npz").exists()


# ---------------------------------------------------------------- JSON files: config, metrics, cards

JSON_DAMAGES = {
    "empty": b"", "truncated": b'{"model": "mlp", "epo', "garbage": GARBAGE, "png-renamed": PNG,
    "array": b"[1, 2]", "string": b'"mlp"', "null": b"null", "nested-deeply": b"[" * 100_000 + b"]" * 100_000,
    "huge-integer": b'{"epochs": 1' + b"0" * 5000 + b"}",
}
CONFIG_DAMAGES = {
    **JSON_DAMAGES,
    "wrong-type": json.dumps({"model": "mlp", "epochs": "ten"}).encode(),
    "nan": b'{"model": "mlp", "epochs": NaN}',
    "list-for-a-string": json.dumps({"model": ["mlp"]}).encode(),
    "unknown-field": json.dumps({"model": "mlp", "epochs": 2, "colour": "blue"}).encode(),
}


@pytest.mark.parametrize("damage", CONFIG_DAMAGES)
def test_damaged_config_for_train_resume(damage, tmp_path, capsys):
    run_dir = tmp_path / "20260101T000000Z-mlp"
    run_dir.mkdir()
    (run_dir / "config.json").write_bytes(CONFIG_DAMAGES[damage])
    assert_one_sentence(run(capsys, "train", "--resume", run_dir, "--epochs", "1"), run_dir / "config.json")


def test_config_that_is_a_folder_for_train_resume(tmp_path, capsys):
    (tmp_path / "config.json").mkdir()
    assert_one_sentence(run(capsys, "train", "--resume", tmp_path), tmp_path / "config.json")


@pytest.mark.parametrize("damage", JSON_DAMAGES)
def test_damaged_metrics_for_report_and_runs(damage, tmp_path, capsys):
    run_dir = tmp_path / "20260101T000000Z-mlp"
    run_dir.mkdir()
    (run_dir / "config.json").write_text(json.dumps({"model": "mlp", "epochs": 2}))
    (run_dir / "metrics.json").write_bytes(JSON_DAMAGES[damage])
    assert_one_sentence(run(capsys, "report", run_dir), run_dir / "metrics.json")
    (run_dir / "config.json").write_bytes(JSON_DAMAGES[damage])
    code, out, err = run(capsys, "runs", "--runs-dir", tmp_path)  # a listing shows what it can of a damaged run
    assert code == 0 and run_dir.name in out and not err.strip(), err


@pytest.fixture
def models(tmp_path, monkeypatch) -> Path:
    """A models directory of its own holding mlp (its card and model.onnx)."""
    folder = tmp_path / "models"
    (folder / "mlp").mkdir(parents=True)
    for name in ("card.json", "model.onnx"):
        (folder / "mlp" / name).write_bytes((models_dir() / "mlp" / name).read_bytes())
    monkeypatch.setenv("DIGITLAB_MODELS_DIR", str(folder))
    return folder


@pytest.mark.parametrize("damage", JSON_DAMAGES)
def test_damaged_model_card_for_predict(damage, models, image, capsys):
    card = models / "mlp" / "card.json"
    card.write_bytes(JSON_DAMAGES[damage])
    assert_one_sentence(run(capsys, "predict", "--model", "mlp", image), card)
    ensemble = models / "ensemble"
    ensemble.mkdir()
    (ensemble / "card.json").write_bytes(JSON_DAMAGES[damage])
    assert_one_sentence(run(capsys, "predict", "--model", ensemble, image), ensemble / "card.json")


def test_card_fields_of_the_wrong_type_never_crash_a_listing_or_a_reading(models, image, capsys):
    card = json.loads((models / "mlp" / "card.json").read_text())
    card.update(test_accuracy="high", validation_accuracy=[1], parameters=float("nan"), temperature=0,
                confused_pairs="4-9", train_seconds={"a": 1}, init_from=7, dataset=["mnist"])
    (models / "mlp" / "card.json").write_text(json.dumps(card))
    code, out, err = run(capsys, "models")
    assert code == 0 and "mlp" in out and not err.strip()
    code, out, err = run(capsys, "predict", "--json", "--model", "mlp", image)
    assert code == 0 and json.loads(out)["prediction"] == "1", out + err
    ensemble = models / "ensemble"
    ensemble.mkdir()
    members = {"not-a-list": "mlp", "numbers": [1, 2], "path-escape": [{"model": "../mlp"}, {"model": "mlp"}]}
    for name, value in members.items():
        (ensemble / "card.json").write_text(json.dumps({"architecture": "ensemble", "members": value}))
        assert_one_sentence(run(capsys, "predict", "--model", ensemble, image), ensemble / "card.json")



HISTORY_DAMAGES = {"garbage": GARBAGE, "field-past-the-csv-limit": b"epoch,loss\n0," + b"9" * 200_000 + b"\n"}


@pytest.mark.parametrize("damage", HISTORY_DAMAGES)
def test_damaged_history_is_a_note_in_the_report_not_a_crash(damage, tmp_path, capsys):
    (tmp_path / "config.json").write_text(json.dumps({"model": "mlp", "epochs": 2}))
    (tmp_path / "metrics.json").write_text(json.dumps({"test_accuracy": 0.9, "status": "finished"}))
    (tmp_path / "model.keras").write_bytes(KERAS)
    (tmp_path / "history.csv").write_bytes(HISTORY_DAMAGES[damage])
    code, out, err = run(capsys, "report", tmp_path)
    assert code == 0 and not err.strip(), err
    assert "history.csv could not be read" in (tmp_path / "report.html").read_text()
