"""No file digitlab reads can make it run code: Keras' safe mode, and nothing that unpickles.

Two halves. A .keras archive carrying Python bytecode (a Lambda layer's marshalled
function, and the known trick of switching safe mode off from inside the file)
is refused with one sentence, and the code in it never runs. And a static check
over src/, benchmarks/ and scripts/ keeps it that way: every np.load passes
allow_pickle=False, every Keras load passes safe_mode=True, and nothing imports
pickle, marshal, shelve, joblib, dill, cloudpickle or yaml, or calls torch.load
(PyTorch is imported to train on Ray, never to read a file), eval, exec or
keras.config.enable_unsafe_deserialization.
"""

from __future__ import annotations

import ast
import base64
import json
import marshal
import zipfile
from pathlib import Path

import pytest

from hostile import PNG, assert_one_sentence, run

ROOT = Path(__file__).resolve().parents[1]
SCANNED = sorted(path for folder in ("src", "benchmarks", "scripts") for path in (ROOT / folder).rglob("*.py"))


def layer(class_name: str, config: dict, module: str = "keras.layers") -> dict:
    return {"module": module, "class_name": class_name, "config": config, "registered_name": None}


def keras_archive(path: Path, layers: list[dict]) -> Path:
    """A .keras file (zip: metadata.json, config.json, weights) holding a Sequential of these layers."""
    config = layer("Sequential", {"name": "hostile", "trainable": True, "layers": layers}, module="keras")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1", "date_saved": "2026-01-01@00:00:00"}))
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", b"")
    return path


def lambda_layer(marker: Path) -> dict:
    """A Lambda layer whose function, if it ever ran, would create `marker`: bytecode as Keras marshals it."""
    source = f"lambda x: (open({str(marker)!r}, 'w').write('ran'), x)[1]"
    function = next(const for const in compile(source, "<hostile>", "eval").co_consts if hasattr(const, "co_code"))
    code = base64.b64encode(marshal.dumps(function)).decode("ascii")
    return layer("Lambda", {"name": "hostile", "arguments": {}, "function": {
        "class_name": "__lambda__", "config": {"code": code, "defaults": None, "closure": None}}})


IMAGE_INPUT = layer("InputLayer", {"batch_shape": [None, 28, 28], "dtype": "float32", "name": "image"})
FLATTEN = layer("Flatten", {"name": "flatten"})
# A known way out of safe mode (CVE-2025-9906, closed in Keras 3.11): the file names Keras' own switch as a layer's
# activation, so deserializing it would turn safe mode off before the Lambda layer is reached.
SWITCH_OFF_SAFE_MODE = layer("Dense", {"name": "dense", "units": 784, "activation": {
    "module": "keras.config", "class_name": "function", "config": "enable_unsafe_deserialization",
    "registered_name": "function"}})


@pytest.fixture
def image(tmp_path) -> Path:
    path = tmp_path / "digit.png"
    path.write_bytes(PNG)
    return path


def test_a_keras_file_with_python_code_is_refused_and_its_code_never_runs(tmp_path, image, capsys):
    pytest.importorskip("keras", reason="needs the training extra: pip install 'digitlab[train]'")
    marker = tmp_path / "code-ran"
    for name, layers in {"lambda": [IMAGE_INPUT, FLATTEN, lambda_layer(marker)],
                         "switch-then-lambda": [IMAGE_INPUT, FLATTEN, SWITCH_OFF_SAFE_MODE, lambda_layer(marker)]}.items():
        model = keras_archive(tmp_path / f"{name}.keras", layers)
        line = assert_one_sentence(run(capsys, "predict", "--runtime", "keras", "--model", model, image), model)
        assert "safe mode" in line
        assert not marker.exists(), f"{name}: the file's code ran"
    # Safe mode is still on for the next file: the switch in the second file did not stay switched.
    model = keras_archive(tmp_path / "again.keras", [IMAGE_INPUT, FLATTEN, lambda_layer(marker)])
    assert "safe mode" in assert_one_sentence(run(capsys, "predict", "--runtime", "keras", "--model", model, image))
    assert not marker.exists()


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node, ast.unparse(node.func)


def _keyword(call: ast.Call, name: str):
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value.value if isinstance(keyword.value, ast.Constant) else keyword.value
    return None


FORBIDDEN_MODULES = {"pickle", "cPickle", "_pickle", "marshal", "shelve", "joblib", "dill", "cloudpickle", "yaml"}
# PyTorch trains digitlab's models on Ray (scale/train.py) and reads no file: its loaders unpickle.
TORCH_LOADERS = {"load", "load_state_dict_from_url"}
FORBIDDEN_CALLS = {"eval", "exec", "pd.read_pickle", "pandas.read_pickle"}


def problems_in(source: str) -> list[str]:
    """Every way `source` could read data so that the data runs code, one phrase each."""
    tree = ast.parse(source)
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            problems += [f"line {node.lineno}: imports {name}" for name in names
                         if name.split(".")[0] in FORBIDDEN_MODULES]
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "torch":
                problems += [f"line {node.lineno}: imports torch's {alias.name}" for alias in node.names
                             if alias.name in TORCH_LOADERS or alias.name == "serialization"]
    for call, name in _calls(tree):
        if name in FORBIDDEN_CALLS:
            problems.append(f"line {call.lineno}: calls {name}")
        if name.split(".")[0] == "torch" and name.split(".")[-1] in TORCH_LOADERS:
            problems.append(f"line {call.lineno}: calls {name}")
        if name.endswith("enable_unsafe_deserialization"):
            problems.append(f"line {call.lineno}: turns Keras' safe mode off")
        if name.split(".")[-1] == "load" and name.split(".")[0] in ("np", "numpy") \
                and _keyword(call, "allow_pickle") is not False:
            problems.append(f"line {call.lineno}: {name} without allow_pickle=False")
        if name.endswith("load_model") and name.startswith(("keras.", "tf.")) and _keyword(call, "safe_mode") is not True:
            problems.append(f"line {call.lineno}: {name} without safe_mode=True")
    return problems


@pytest.mark.parametrize("path", SCANNED, ids=[str(path.relative_to(ROOT)) for path in SCANNED])
def test_no_code_reads_data_in_a_way_that_can_run_code(path):
    problems = problems_in(path.read_text(encoding="utf-8"))
    assert not problems, f"{path.relative_to(ROOT)}: " + "; ".join(problems)


def test_the_static_check_finds_what_it_looks_for():
    """The check above is only worth its silence if it does speak: each forbidden pattern is found."""
    source = ("import pickle\nfrom yaml import load\nimport numpy as np\nimport keras\nnp.load('a.npz')\n"
              "np.load('b', allow_pickle=True)\nnp.load('c', allow_pickle=False)\nkeras.saving.load_model('m')\n"
              "keras.saving.load_model('n', safe_mode=True)\nkeras.config.enable_unsafe_deserialization()\n"
              "eval('1')\nimport torch\ntorch.load('w.pt')\nfrom torch.hub import load_state_dict_from_url\n")
    assert problems_in(source) == [
        "line 1: imports pickle", "line 2: imports yaml", "line 14: imports torch's load_state_dict_from_url",
        "line 5: np.load without allow_pickle=False",
        "line 6: np.load without allow_pickle=False", "line 8: keras.saving.load_model without safe_mode=True",
        "line 10: turns Keras' safe mode off", "line 11: calls eval", "line 13: calls torch.load"]
