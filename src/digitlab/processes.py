"""Worker processes that stop when the process that started them is gone.

Usage:

    ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=stop_with_parent,
                        initargs=(os.getpid(),))

A pool's workers outlive their parent when it is killed (SIGKILL, or SIGTERM
before the pool shuts down): orphans that keep a core busy on work nobody will
collect. On Linux the kernel can send each worker SIGTERM when its parent thread
exits (prctl PR_SET_PDEATHSIG), the thread that started the pool; elsewhere
this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def stop_with_parent(parent_pid: int) -> None:
    """Ask the kernel to stop this process when its parent (`parent_pid`, as the parent saw itself) exits."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        except OSError:  # no libc to ask: the worker just lives on, as on other systems
            pass
        # The parent may have died before prctl took effect: then this process is already an orphan.
        if os.getppid() != parent_pid:
            os._exit(1)
