"""Dynamic batching: images that arrive while the model is busy share one model call.

Usage (inside the event loop):

    batcher = Batcher(recognizer.read_many, executor, max_batch_size=32)
    result = await batcher.submit(image_bytes)     # a ReadResult, or raises ImageError

Why: a model call costs nearly the same for 1 image as for 32, and on a small
CPU the fixed cost per call (Python, Keras, thread hand-off) dominates. The
batcher waits for nothing: an idle model takes a lone request at once, so a
single client sees no added latency. While a call runs, new requests queue up;
when it returns, everything queued (up to `max_batch_size`) goes into the next
`read_many` call. Batches grow exactly as fast as the load does.

All calls run on one executor (one thread), so the model is never used by two
threads at once and the event loop stays free to accept and parse requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Any


class Batcher:
    def __init__(self, read_many: Callable[[Sequence[Any]], list[Any]], executor: Executor, max_batch_size: int = 32):
        self._read_many = read_many
        self.executor = executor  # replaced when the pool restarts its model thread (ModelPool.open)
        self._max_batch_size = max_batch_size
        self._pending: list[tuple[Any, asyncio.Future]] = []
        self._draining = False
        # Counters for /api/health: how well batching works under the current load.
        self.calls = 0
        self.images = 0

    async def submit(self, image: Any) -> Any:
        """Queue one image; return its result or raise its error (an ImageError)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending.append((image, future))
        if not self._draining:
            self._draining = True
            loop.create_task(self._drain())
        return await future

    async def submit_many(self, images: Sequence[Any]) -> list[Any]:
        """Queue several images (one request's batch); results or ImageErrors, in order."""
        outcomes = await asyncio.gather(*(self.submit(image) for image in images), return_exceptions=True)
        for outcome in outcomes:
            # Only per-image errors come back as values; anything else is a real failure.
            if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
                raise outcome
        return list(outcomes)

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                batch = self._pending[: self._max_batch_size]
                del self._pending[: self._max_batch_size]
                images = [image for image, _ in batch]
                try:
                    results = await loop.run_in_executor(self.executor, self._read_many, images)
                except Exception as error:  # A failure of the whole call fails each of its requests.
                    results = [error] * len(batch)
                self.calls += 1
                self.images += len(batch)
                for (_, future), result in zip(batch, results):
                    if future.done():  # The client went away and its request was cancelled.
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self._draining = False
