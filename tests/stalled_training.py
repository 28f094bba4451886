"""Run a `digitlab` command whose Nth atomic write of a chosen file stalls half written, to be killed there.

Usage (a subprocess of the kill tests and of benchmarks/kill_resume.py):

    python tests/stalled_training.py 'epoch-*.weights.h5' 2 train --model mlp --epochs 3 ...
    python tests/stalled_training.py model.keras 1 train --resume RUN

When the process writes a file matching the pattern for the Nth time, the new
content is complete under its temporary name; half of it is cut off (what a
kill in the middle of the write leaves), "STALLED <temporary file>" is printed
on stdout and the process waits, before the rename, until it is killed. The
killer therefore waits on that line, not on a clock, and its kill -9 lands
inside the write. Every other write and the command itself run unchanged.
With N = 0 nothing stalls: "WROTE <file name>" is printed after each matching
write instead (benchmarks/kill_resume.py maps a run's writes that way).
"""

from __future__ import annotations

import contextlib
import signal
import fnmatch
import sys
import threading
from pathlib import Path

import digitlab.formats
from digitlab.cli.main import main
from digitlab.formats import files
import digitlab.formats.checkpoints as checkpoint_files

_writes_seen = 0


def _stalling(original, pattern: str, nth: int):
    @contextlib.contextmanager
    def atomic_path(path, suffix=None):
        global _writes_seen
        with original(path, suffix) as partial:
            yield partial
            if fnmatch.fnmatch(Path(path).name, pattern):
                _writes_seen += 1
                if nth == 0:
                    print(f"WROTE {Path(path).name}", flush=True)
                elif _writes_seen == nth:
                    data = partial.read_bytes()
                    partial.write_bytes(data[: len(data) // 2])
                    print(f"STALLED {partial}", flush=True)
                    threading.Event().wait()  # until killed
    return atomic_path


if __name__ == "__main__":
    # Ctrl-C raises KeyboardInterrupt, as in a terminal, even when this was started from a background
    # job (which inherits SIGINT ignored, and Python then installs no handler of its own).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    stall_pattern, stall_nth, *argv = sys.argv[1:]
    stalling = _stalling(files.atomic_path, stall_pattern, int(stall_nth))
    # Writers reach atomic_path through these names; the stages that import it from
    # digitlab.formats (the pipeline) are imported later, by the command, and get this one.
    for module in (files, checkpoint_files, digitlab.formats):
        module.atomic_path = stalling
    sys.exit(main(argv))
