"""The wheel, installed alone in a fresh venv, is the lean reader: predict works, no training stack.

Builds the wheel with `python -m build`, installs it without extras into a new
virtual environment (its dependencies from the package index, or pip's
cache), reads a photo with `digitlab predict` and with `digitlab.read` (with no
models directory: the reader travels inside the wheel), and
checks in that environment that TensorFlow, JAX, Keras and FastAPI are neither
installed nor imported. The same photo read by this (full) environment must
give the same JSON. A command that needs an extra says which, in one line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from digitlab.cli import EXIT_MISSING_EXTRA
from digitlab.synth import TEST_SEEDS, render_photo

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("tensorflow", "jax", "keras", "fastapi")

FRONT_DOOR = """
import importlib.util, json, sys
import digitlab
result = digitlab.read(sys.argv[1])
print(json.dumps({"result": result.to_json(), "loaded": sorted(m for m in sys.modules if m.split(".")[0] in %r),
                  "installed": [m for m in %r if importlib.util.find_spec(m) is not None]}))
""" % (FORBIDDEN, FORBIDDEN)


def _run(command: list[str], **options) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=900, **options)


def _clean_environment() -> dict:
    """This process's environment without PYTHONPATH: the fresh venv must see only what was installed in it."""
    return {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}


@pytest.fixture(scope="module")
def core_venv(tmp_path_factory):
    """A fresh venv with only the built wheel installed (no extras)."""
    folder = tmp_path_factory.mktemp("wheel")
    built = _run([sys.executable, "-m", "build", "--wheel", "--outdir", str(folder / "dist"), str(ROOT)])
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (wheel,) = (folder / "dist").glob("digitlab-*.whl")
    environment = folder / "venv"
    venv.EnvBuilder(with_pip=True).create(environment)
    python = environment / "bin" / "python"
    installed = _run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], env=_clean_environment())
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    return environment


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    path = tmp_path_factory.mktemp("photo") / "number.jpg"
    path.write_bytes(render_photo(TEST_SEEDS[0] + 7, text="2026").jpeg)
    return path


def _environment(models_dir: Path) -> dict:
    # Run outside the repository, so nothing is found through the source tree.
    return {**_clean_environment(), "DIGITLAB_MODELS_DIR": str(models_dir)}


def test_core_install_reads_a_photo_like_the_full_install(core_venv, photo, tmp_path):
    # No models directory at all: the reader bundled in the wheel reads the photo.
    environment = _environment(tmp_path / "no-models")
    core = _run([str(core_venv / "bin" / "digitlab"), "predict", "--json", str(photo)], cwd=tmp_path,
                env=environment)
    assert core.returncode == 0, core.stderr
    full = _run([sys.executable, "-m", "digitlab", "predict", "--json", str(photo)], cwd=tmp_path, env=environment)
    assert full.returncode == 0, full.stderr
    assert json.loads(core.stdout) == json.loads(full.stdout)


def test_core_install_has_no_training_or_serving_stack(core_venv, photo, tmp_path):
    done = _run([str(core_venv / "bin" / "python"), "-c", FRONT_DOOR, str(photo)], cwd=tmp_path,
                env=_environment(tmp_path / "no-models"))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["installed"] == [] and report["loaded"] == []
    assert report["result"]["digits"], "the front door read the photo"


@pytest.mark.parametrize("command, extra", [(["train", "--tiny"], "train"), (["serve"], "serve"),
                                            (["export", "--model", "mlp"], "train")])
def test_core_install_names_the_missing_extra(core_venv, tmp_path, command, extra):
    done = _run([str(core_venv / "bin" / "digitlab"), *command], cwd=tmp_path, env=_environment(ROOT / "models"))
    assert done.returncode == EXIT_MISSING_EXTRA
    assert done.stderr.count("\n") == 1 and f"pip install 'digitlab[{extra}]'" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
