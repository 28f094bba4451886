"""Reading many images on several processes of one machine (`digitlab predict --jobs N`).

Usage:

    options = {"model": None, "runs_dir": "runs", "runtime": "auto", "reader": "auto"}   # Recognizer's
    with ParallelReader(jobs=2, options=options) as pool:
        for results in pool.read_batches([[path, ...], [path, ...]]):   # in the batches' order
            ...                                                           # ReadResult or ImageError per path

Each worker process holds its own Recognizer built with the same options, so
its results are the ones `--jobs 1` gives, and its ONNX Runtime uses one
thread: N workers keep N cores busy instead of each spreading over all of them
(the preprocessing, which is most of the time per photo, is single-threaded
Python and numpy, so only processes run it side by side). Workers are started
with "spawn": the parent may already hold ONNX Runtime sessions and their
threads, which a fork would copy half-alive. At most IN_FLIGHT batches per
worker are queued ahead, so a million paths do not become a million futures,
and results come back in the order the batches were given. A worker ignores
Ctrl-C; the parent stops the pool and the CLI says it was interrupted.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from digitlab.errors import UserError
from digitlab.processes import stop_with_parent
from digitlab.recognize.recognizer import Recognizer
from digitlab.vision import ImageError

# Batches queued per worker beyond the one it reads: enough that no worker waits for the parent.
IN_FLIGHT = 2
# ONNX Runtime threads in each worker.
WORKER_THREADS = 1

_recognizer = None  # the worker process's own Recognizer


def _start_worker(options: dict, parent_pid: int) -> None:
    global _recognizer
    stop_with_parent(parent_pid)  # a killed `predict` leaves no worker behind
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the pool
    _recognizer = Recognizer(**options, threads=WORKER_THREADS)


def _read_batch(paths: list[str]) -> list:
    """One batch in a worker: ReadResult per readable image, (message, kind) for an ImageError.

    An ImageError is sent back as its message and kind because exceptions pickle
    only their message, and the CLI needs the kind.
    """
    results = _recognizer.read_many(paths)
    return [(str(result), result.kind) if isinstance(result, ImageError) else result for result in results]


class ParallelReader:
    """A pool of `jobs` worker processes, each reading batches of image paths with its own Recognizer."""

    def __init__(self, jobs: int, options: dict):
        if jobs < 1:
            raise UserError(f"--jobs must be at least 1, got {jobs}.")
        self.jobs = jobs
        self._executor = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_start_worker, initargs=(options, os.getpid()))

    def __enter__(self) -> ParallelReader:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close(cancel=exc_info[0] is not None)

    def close(self, cancel: bool = False) -> None:
        self._executor.shutdown(wait=True, cancel_futures=cancel)

    def read_batches(self, batches: Iterable[list]) -> Iterator[list]:
        """Each batch's results (ReadResult or ImageError per path), in the batches' order."""
        pending: deque = deque()
        batches = iter(batches)
        try:
            for batch in batches:
                pending.append(self._executor.submit(_read_batch, [str(path) for path in batch]))
                if len(pending) > self.jobs * (1 + IN_FLIGHT):
                    yield _unpacked(pending.popleft().result())
            while pending:
                yield _unpacked(pending.popleft().result())
        except BrokenProcessPool:
            raise UserError("a worker process of --jobs stopped (out of memory, or killed); "
                            "run again with fewer --jobs.") from None


def _unpacked(results: list) -> list:
    return [ImageError(*result) if isinstance(result, tuple) else result for result in results]
