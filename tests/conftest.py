"""Shared fixtures: one dataset cache for the whole test session, never the user's own; the repo's models.

The shipped models the tests check and use are this clone's models/: DIGITLAB_MODELS_DIR
points there for the whole session (subprocesses inherit it), whatever the user's own
models directory holds. Tests of the models directory itself set their own.

Under CI=true (set by .ci/run) a skipped test fails, with the skip's reason as its
message: CI installs everything, so a skip there means a broken install step.
Skip reasons therefore say what to install. Expected failures (xfail) stay as they are.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Set at import, before test modules are collected: some list the shipped models at import time.
# Only from a clone: tests/test_ci_skips.py runs a copy of this file elsewhere, in this process.
REPO_MODELS = Path(__file__).resolve().parents[1] / "models"
if REPO_MODELS.is_dir():
    os.environ["DIGITLAB_MODELS_DIR"] = str(REPO_MODELS)

# The pytester fixture, for the test of the CI hooks below (tests/test_ci_skips.py).
pytest_plugins = ["pytester"]


@pytest.fixture(scope="session", autouse=True)
def isolated_data_cache(tmp_path_factory):
    """Point digitlab at a session-wide cache and keep it off the network.

    The first load parses the offline MNIST package (~2 s) and caches it; every
    later test loads the cache. Tests of the data layer set their own env vars.
    """
    saved = {name: os.environ.get(name) for name in ("DIGITLAB_CACHE", "DIGITLAB_OFFLINE", "DIGITLAB_DATA_DIR")}
    os.environ["DIGITLAB_CACHE"] = str(tmp_path_factory.mktemp("digitlab-cache"))
    os.environ["DIGITLAB_OFFLINE"] = "1"
    os.environ.pop("DIGITLAB_DATA_DIR", None)
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


# The longest test files, longest first (a few minutes each, together about half the suite): collected
# first, so that with one worker per core (make test) they start at once and the short files fill in
# around them, instead of one of them starting last and running alone.
LONGEST_FIRST = ("test_ray.py", "test_line_training.py", "test_full_training.py", "test_fast_engine.py",
                 "test_kill_resume.py", "test_pipeline.py")


def pytest_collection_modifyitems(session, config, items):
    rank = {name: place for place, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONGEST_FIRST)))  # stable: the rest keep their order


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1")


def _fail_skip_in_ci(report):
    """Turn a skipped report into a failed one whose message is the skip reason (only under CI)."""
    if not (_in_ci() and report.skipped) or hasattr(report, "wasxfail"):
        return report
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    reason = reason.removeprefix("Skipped: ")
    report.outcome = "failed"
    report.longrepr = f"{reason} (a skip; under CI=true every test must run)"
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    # Covers pytest.skip() in a test or a fixture and skip/skipif marks (they skip in setup).
    return _fail_skip_in_ci((yield))


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    # Covers a module-level pytest.importorskip() or pytest.skip(allow_module_level=True):
    # under CI the module becomes a collection error. (A module's skipif pytestmark skips
    # each test in setup, covered above.)
    return _fail_skip_in_ci((yield))
