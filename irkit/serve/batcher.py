"""A dynamic batcher, like TF Serving's: concurrent requests are merged into one model call.

A batch opens when its first request arrives and runs when it holds ``max_batch_size`` rows or
``timeout_s`` has passed, whichever comes first. Only arrays with the same trailing shape and dtype
share a batch; a request larger than ``max_batch_size`` runs alone. ``num_threads`` batches may run
at once (TF Serving's ``num_batch_threads``). Results go back to the asyncio loop that asked.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

Outputs = dict[str, np.ndarray]
RunBatch = Callable[[np.ndarray], Outputs]
_STOP = object()


@dataclass
class _Item:
    array: np.ndarray
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop

    @property
    def key(self) -> tuple:
        return self.array.shape[1:], self.array.dtype.str


@dataclass
class BatchStats:
    """Counters a test or benchmark can read: how many model calls served how many requests."""

    batches: int = 0
    requests: int = 0
    rows: int = 0
    largest_batch: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, requests: int, rows: int) -> None:
        with self.lock:
            self.batches += 1
            self.requests += requests
            self.rows += rows
            self.largest_batch = max(self.largest_batch, rows)

    def as_dict(self) -> dict[str, int]:
        with self.lock:
            return {"batches": self.batches, "requests": self.requests, "rows": self.rows,
                    "largest_batch": self.largest_batch}


def _deliver(item: _Item, result: object, error: BaseException | None) -> None:
    def settle() -> None:
        if item.future.done():  # the client went away
            return
        if error is not None:
            item.future.set_exception(error)
        else:
            item.future.set_result(result)

    try:
        item.loop.call_soon_threadsafe(settle)
    except RuntimeError:  # the loop is closed: nobody is waiting any more
        pass


class DynamicBatcher:
    """``await batcher.submit(array)`` -> ``(outputs for these rows, rows in the model call)``."""

    def __init__(self, run_batch: RunBatch, max_batch_size: int = 8, timeout_s: float = 0.001,
                 num_threads: int = 1) -> None:
        if max_batch_size < 1:
            raise ValueError("max_batch_size must be at least 1")
        self.run_batch = run_batch
        self.max_batch_size = max_batch_size
        self.timeout_s = max(0.0, timeout_s)
        self.stats = BatchStats()
        self._queue: queue.Queue = queue.Queue()
        self._threads = [
            threading.Thread(target=self._serve, name=f"irkit-batcher-{i}", daemon=True)
            for i in range(max(1, num_threads))
        ]
        for thread in self._threads:
            thread.start()

    async def submit(self, array: np.ndarray) -> tuple[Outputs, int]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        self._queue.put(_Item(array, future, loop))
        return await future  # type: ignore[no-any-return]

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(_STOP)
        for thread in self._threads:
            thread.join(timeout=5)

    def _collect(self, first: _Item, carry: deque) -> list[_Item]:
        """The batch that ``first`` opens: later arrivals until full or timed out."""
        items, rows = [first], first.array.shape[0]
        deadline = time.monotonic() + self.timeout_s
        while rows < self.max_batch_size:
            remaining = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                self._queue.put(_STOP)
                break
            size = item.array.shape[0]
            if item.key != first.key or rows + size > self.max_batch_size:
                carry.append(item)  # opens a later batch
                if remaining <= 0:
                    break
                continue
            items.append(item)
            rows += size
        return items

    def _serve(self) -> None:
        carry: deque = deque()
        while True:
            first = carry.popleft() if carry else self._queue.get()
            if first is _STOP:
                return
            items = self._collect(first, carry)
            self._run(items)

    def _run(self, items: list[_Item]) -> None:
        arrays = [item.array for item in items]
        rows = sum(a.shape[0] for a in arrays)
        try:
            outputs = self.run_batch(arrays[0] if len(arrays) == 1 else np.concatenate(arrays))
        except BaseException as exc:  # noqa: BLE001 - every waiter gets the error
            for item in items:
                _deliver(item, None, exc)
            return
        self.stats.add(len(items), rows)
        start = 0
        for item, array in zip(items, arrays, strict=True):
            end = start + array.shape[0]
            _deliver(item, ({name: value[start:end] for name, value in outputs.items()}, rows), None)
            start = end
