"""`digitlab bench` runs benchmarks/run.py (the speed benchmarks) from the repository."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from digitlab import cli

ROOT = Path(__file__).resolve().parents[1]


def _runner_sections() -> list[str]:
    sys.path.insert(0, str(ROOT / "benchmarks"))  # run.py imports its sibling common.py
    try:
        spec = importlib.util.spec_from_file_location("benchmarks_run", ROOT / "benchmarks" / "run.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return list(module.SECTIONS)


def test_bench_offers_the_runners_sections():
    assert list(cli.BENCH_SECTIONS) == _runner_sections()


def test_bench_runs_the_runner_with_the_chosen_sections(monkeypatch):
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda command, cwd: calls.append((command, cwd)) or
                        subprocess.CompletedProcess(command, 3))
    assert cli.main(["bench", "--only", "training", "inference"]) == 3  # the runner's exit status
    (command, cwd), = calls
    assert command == [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--only", "training", "inference"]
    assert Path(cwd) == ROOT


def test_an_unknown_section_is_refused_before_anything_runs():
    result = subprocess.run([sys.executable, "-m", "digitlab", "bench", "--only", "nope"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "invalid choice: 'nope'" in result.stderr and "Traceback" not in result.stderr
