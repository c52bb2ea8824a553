"""Read-ahead in a background thread, shared by the pipelines that overlap loading with compute."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any

EMPTY = object()  # ReadAhead.get(block=False): nothing is ready yet
END = object()  # ReadAhead.get: the items are exhausted


class ReadAhead:
    """Iterates ``items`` in a background thread into a queue ``depth`` deep; :meth:`get` takes the next one.

    An exception in the thread is raised by :meth:`get`, in its place. After :meth:`stop`, the thread quits
    once the item it is making is done (it never blocks on a full queue the consumer has left).
    """

    def __init__(self, items: Iterable[Any], depth: int, name: str):
        self._slots: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, args=(items,), name=name, daemon=True)
        self._thread.start()

    def _produce(self, items: Iterable[Any]) -> None:
        try:
            for item in items:
                if not self._offer((item, None)):
                    return
            self._offer((END, None))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self._offer((END, exc))

    def _offer(self, entry: tuple[Any, BaseException | None]) -> bool:
        while not self._stop.is_set():
            try:
                self._slots.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def get(self, block: bool = True) -> Any:
        """The next item, :data:`END` once there are no more, or :data:`EMPTY` when ``block`` is False and none
        is ready."""
        try:
            item, error = self._slots.get(block=block)
        except queue.Empty:
            return EMPTY
        if error is not None:
            raise error
        return item

    def stop(self, wait: float = 0.0) -> None:
        """Tells the thread to quit, waiting up to ``wait`` seconds for it."""
        self._stop.set()
        if wait:
            self._thread.join(timeout=wait)


def prefetch(items: Iterable[Any], depth: int = 2, name: str = "raiv-prefetch") -> Iterator[Any]:
    """Iterates ``items`` produced by a background thread, ``depth`` ahead, so the next items are built while
    the caller works on this one (the work releases the GIL in numpy/torch/file reads). An exception in the
    producer is raised here. Closing the iterator stops the producer after the item it is making.
    """
    ahead = ReadAhead(items, depth, name)
    try:
        while (item := ahead.get()) is not END:
            yield item
    finally:
        ahead.stop(wait=5)
