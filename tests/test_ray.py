"""digitlab on Ray: the checks of tests/ray_cluster.py, run inside a network namespace with only loopback.

Every byte of these tests stays on this machine: `unshare --net` gives the Ray
cluster, its drivers and the `digitlab predict` they are compared with a
network namespace whose only interface is loopback, and the inner pytest run
(tests/ray_cluster.py, not collected on its own) starts and stops a two-node
cluster there. Creating a namespace needs root (or user namespaces); where it
is not allowed the test is skipped with the reason, which fails under CI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
# The inner run: two Ray nodes, a few thousand images, a 4-trial sweep, a training run (see ray_cluster.py).
INNER_TIMEOUT_SECONDS = 900


def _namespace_problem() -> str | None:
    """Why a loopback-only network namespace cannot be made here, or None."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "needs unshare (util-linux) and ip (iproute2): apt-get install util-linux iproute2"
    done = subprocess.run(["unshare", "--net", "true"], capture_output=True, text=True)
    if done.returncode != 0:
        return f"cannot create a network namespace ({done.stderr.strip() or 'unshare --net failed'}): run as root"
    return None


def test_ray_checks_pass_inside_a_loopback_only_network_namespace(tmp_path):
    pytest.importorskip("ray", reason="needs the Ray extra: pip install 'digitlab[ray]'")
    problem = _namespace_problem()
    if problem:
        pytest.skip(problem)
    inner = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp", str(tmp_path / "inner"),
             str(HERE / "ray_cluster.py")]
    script = "ip link set lo up && exec " + " ".join(f"'{part}'" for part in inner)
    done = subprocess.run(["unshare", "--net", "sh", "-c", script], capture_output=True, text=True,
                          timeout=INNER_TIMEOUT_SECONDS, env={**os.environ, "DIGITLAB_IN_NETNS": "1"}, cwd=HERE.parent)
    assert done.returncode == 0, f"the Ray checks failed:\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
    assert " passed" in done.stdout and "skipped" not in done.stdout, done.stdout[-2000:]
