"""digitlab on Ray: the checks of tests/ray_cluster.py, run inside a network namespace with only loopback.

Every byte of these tests stays on this machine: `unshare --net` gives the Ray
cluster, its drivers and the `digitlab predict` they are compared with a
network namespace whose only interface is loopback, and the inner pytest run
(tests/ray_cluster.py, not collected on its own) starts and stops a two-node
cluster there. The run gets its own process namespace too (`--pid --fork
--mount-proc`): `ray stop --force` finds Ray's processes by name in /proc, so
there it stops this cluster's and no other Ray on the machine, and whatever
the run leaves behind ends with it. Creating namespaces needs root (or user
namespaces); where it is not allowed the test is skipped with the reason,
which fails under CI.
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
# A loopback-only network and a process namespace of its own (see the module doc); the shell is its first process.
UNSHARE = ["unshare", "--net", "--pid", "--fork", "--mount-proc"]


def _namespace_problem() -> str | None:
    """Why a loopback-only network namespace cannot be made here, or None."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "needs unshare (util-linux) and ip (iproute2): apt-get install util-linux iproute2"
    done = subprocess.run([*UNSHARE, "true"], capture_output=True, text=True)
    if done.returncode != 0:
        return (f"cannot create network and process namespaces ({done.stderr.strip() or 'unshare failed'}): "
                "run as root")
    return None


def test_ray_checks_pass_inside_a_loopback_only_network_namespace(tmp_path):
    pytest.importorskip("ray", reason="needs the Ray extra: pip install 'digitlab[ray]'")
    problem = _namespace_problem()
    if problem:
        pytest.skip(problem)
    inner = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp", str(tmp_path / "inner"),
             str(HERE / "ray_cluster.py")]
    script = "ip link set lo up && exec " + " ".join(f"'{part}'" for part in inner)
    done = subprocess.run([*UNSHARE, "sh", "-c", script], capture_output=True, text=True,
                          timeout=INNER_TIMEOUT_SECONDS, env={**os.environ, "DIGITLAB_IN_NETNS": "1"}, cwd=HERE.parent)
    assert done.returncode == 0, f"the Ray checks failed:\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
    assert " passed" in done.stdout and "skipped" not in done.stdout, done.stdout[-2000:]
