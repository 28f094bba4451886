"""The layout's rules, checked: layers (import-linter), file sizes, lazy imports, the lean reader, no source-tree lookups.

docs/architecture.md says what each package is for and where new code goes;
these tests keep the code to it.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "digitlab"
SOURCES = sorted(PACKAGE.rglob("*.py"))
MAX_LINES = 400
# What may be imported inside a function: libraries that cost seconds or belong to an
# optional extra, the stages that import them at their top (docs/architecture.md), and
# tqdm, which `digitlab predict one.jpg` never needs (it draws no bar for one image).
HEAVY = ("tqdm", "keras", "tensorflow", "jax", "torch", "fastapi", "uvicorn", "matplotlib", "ray", "onnx", "onnxruntime", "tf2onnx",
         "tensorboard", "pyarrow", "skimage", "digitlab.pipeline", "digitlab.train", "digitlab.report", "digitlab.evaluate",
         "digitlab.export", "digitlab.serve")
# The root package's one-call reader imports the Recognizer on first use: every
# subpackage imports the root first, so the root cannot import them at its top.
ROOT_LAZY = ("digitlab.recognize",)
LEAN_FORBIDDEN = ("keras", "tensorflow", "jax", "fastapi", "uvicorn", "sklearn", "skimage", "matplotlib", "tf2onnx")


def test_import_linter_contracts_hold():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_the_layers_contract_catches_an_upward_import(tmp_path):
    """The contract can fail: a copy of the package where formats imports the pipeline breaks it."""
    copy = tmp_path / "src"
    subprocess.run(["cp", "-r", str(ROOT / "src"), str(copy)], check=True)
    (copy / "digitlab" / "formats" / "upward.py").write_text("import digitlab.pipeline\n")
    config = tmp_path / ".importlinter"
    config.write_text("[importlinter]\nroot_package = digitlab\n\n[importlinter:contract:layers]\n"
                      "name = layers\ntype = layers\nlayers =\n    digitlab.pipeline\n    digitlab.formats\n")
    lint_imports = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint_imports), "--no-cache", "--config", str(config)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, env={"PYTHONPATH": str(copy), "PATH": ""})
    assert done.returncode != 0 and "digitlab.formats.upward" in done.stdout, done.stdout + done.stderr


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_no_source_file_is_over_400_lines(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_LINES


def _function_import_groups(tree: ast.AST):
    """Runs of consecutive import statements inside function bodies."""
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for block in ast.walk(function):
            for field in ("body", "orelse", "finalbody", "handlers"):
                statements = getattr(block, field, None)
                if not isinstance(statements, list):
                    continue
                group: list = []
                for statement in statements + [None]:
                    if isinstance(statement, (ast.Import, ast.ImportFrom)):
                        group.append(statement)
                    elif group:
                        yield group
                        group = []


def _module_name(statement) -> str:
    if isinstance(statement, ast.Import):
        return statement.names[0].name
    if statement.module == "digitlab":  # `from digitlab import report` imports the package digitlab.report
        return f"digitlab.{statement.names[0].name}"
    return statement.module


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_imports_inside_functions_are_heavy_and_say_why(path):
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    for group in _function_import_groups(ast.parse(text)):
        for statement in group:
            module = _module_name(statement)
            lazy_root = path == PACKAGE / "__init__.py" and module in ROOT_LAZY
            # The CLI imports each command's stage when the command runs, so predict starts lean.
            lazy_command = path == PACKAGE / "cli" / "commands.py" and module.startswith("digitlab.")
            assert lazy_root or lazy_command or module in HEAVY or module.split(".")[0] in HEAVY or any(
                module.startswith(heavy + ".") for heavy in HEAVY), (
                f"{path.name}:{statement.lineno} imports {module} inside a function; import it at the top")
        first = group[0]
        commented = lines[first.lineno - 2].strip().startswith("#") or any(
            "#" in lines[statement.lineno - 1] for statement in group)
        assert commented, f"{path.name}:{first.lineno}: say in a comment why this import waits until the call"


def test_nothing_is_found_through_the_source_trees_parent_folders():
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        assert "parents[" not in text and ".parent.parent" not in text, f"{path} looks above its own package"


LEAN_READ = """
import json, sys
from digitlab.cli import main
status = main(["predict", "--json", sys.argv[1]])
print(json.dumps({"status": status, "modules": sorted(sys.modules)}))
"""


def test_predict_never_loads_the_training_or_serving_stack(tmp_path):
    from PIL import Image

    image = Image.new("L", (60, 60), 255)
    image.paste(0, (25, 10, 33, 50))  # a plain "1"
    image.save(tmp_path / "one.jpg", quality=95)  # a photo, as most readings are
    done = subprocess.run([sys.executable, "-c", LEAN_READ, str(tmp_path / "one.jpg")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["status"] == 0
    loaded = {name.split(".")[0] for name in report["modules"]}
    assert "onnxruntime" in loaded, "predict reads with ONNX Runtime"
    assert not loaded & set(LEAN_FORBIDDEN), sorted(loaded & set(LEAN_FORBIDDEN))
    # Start-up costs of one reading (benchmarks/install.py): no progress bar for one image, and
    # Pillow's common plugins only, not all of them (vision/decode.py ACCEPTED_FORMATS).
    assert "tqdm" not in loaded
    assert "PIL.JpegImagePlugin" in report["modules"] and "PIL.TiffImagePlugin" not in report["modules"]
