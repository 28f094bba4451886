"""The CI hooks of conftest.py: under CI=true a skip fails with its reason; elsewhere it stays a skip."""

from __future__ import annotations

from pathlib import Path

import pytest

SKIPPING_TESTS = """
import pytest

@pytest.fixture
def browser():
    pytest.skip("Chromium missing: apt-get install chromium")

@pytest.mark.skipif(True, reason="fonts missing: make system-test-deps")
def test_skipif_mark():
    pass

def test_skip_in_a_fixture(browser):
    pass

def test_skip_in_the_test():
    pytest.skip("tool missing: pip install tool")

@pytest.mark.xfail(reason="a known bug")
def test_expected_failure():
    assert False

def test_passes():
    pass
"""

IMPORTORSKIP_MODULE = """
import pytest

pytest.importorskip("no_such_module_digitlab", reason="no_such_module_digitlab missing: pip install it")

def test_never_collected():
    pass
"""


@pytest.fixture
def project(pytester):
    """A pytester directory with this suite's conftest.py (and so its CI hooks)."""
    pytester.makeconftest((Path(__file__).parent / "conftest.py").read_text())
    return pytester


def run(project, *args):
    # In process, without pytest-playwright: its per-test scope cannot nest inside the outer run's.
    return project.runpytest("-p", "no:playwright", *args)


def test_skips_fail_under_ci_with_their_reason(project, monkeypatch):
    monkeypatch.setenv("CI", "true")
    project.makepyfile(test_skipping=SKIPPING_TESTS)
    result = run(project, "-rA")
    result.assert_outcomes(passed=1, failed=1, errors=2, xfailed=1)
    result.stdout.fnmatch_lines([
        "*Chromium missing: apt-get install chromium*",
        "*fonts missing: make system-test-deps*",
        "*tool missing: pip install tool*",
    ])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_importorskip_fails_under_ci_with_its_reason(project, monkeypatch):
    monkeypatch.setenv("CI", "true")
    project.makepyfile(test_importing=IMPORTORSKIP_MODULE)
    result = run(project)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*no_such_module_digitlab missing: pip install it*"])
    assert result.ret == pytest.ExitCode.INTERRUPTED  # a collection error stops the run


def test_skips_stay_skips_outside_ci(project, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    project.makepyfile(test_skipping=SKIPPING_TESTS, test_importing=IMPORTORSKIP_MODULE)
    result = run(project, "-rs")
    result.assert_outcomes(passed=1, skipped=4, xfailed=1)
    result.stdout.fnmatch_lines(["*Chromium missing: apt-get install chromium*"])
    assert result.ret == pytest.ExitCode.OK
