"""The docs site builds cleanly and the README stays a front page.

`mkdocs build --strict` fails on any warning: a broken link or anchor, a page
missing from the nav, a RESULTS file the results pages include that is gone,
or an API reference entry that no longer exists in src/.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README_MAX_LINES = 250


def test_docs_site_builds_strictly(tmp_path):
    pytest.importorskip("mkdocs", reason="the docs packages are not installed (pip install the docs extra)")
    environment = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, env=environment, timeout=600,
    )
    assert result.returncode == 0, (
        f"mkdocs build --strict exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    )
    assert (tmp_path / "site" / "index.html").is_file()


def test_readme_is_at_most_250_lines():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, (
        f"README.md has {len(lines)} lines; keep it at most {README_MAX_LINES} and move details to docs/."
    )
