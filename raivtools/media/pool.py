"""A ``spawn`` worker pool with a per-item timeout whose results come back in input order.

``multiprocessing.Pool`` cannot stop one hung task: a decoder that loops forever holding the GIL (decord's
``get_batch`` on a file whose header over-reports its frames) would hang the whole run. Here every worker
owns a pipe; an item that runs past its deadline has its worker killed and replaced, and becomes an error
result, so a hung decoder costs one record, not the run. Workers are started with ``spawn`` (no inherited
decoder state or threads). decord's memory can grow across calls, so a worker whose resident memory passes
``max_memory_mb`` is replaced once its items are back (and any worker after ``max_tasks`` items): a restart
costs 0.2-0.3 s of imports, too much to pay every few hundred clips on a fixed count. Items may carry an
affinity key (the video they read), so that a worker gets the windows of one video one after another.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

import numpy as np

_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass
class TaskResult:
    """The outcome of one item: ``value`` when it worked, ``error`` (a message) when it did not."""

    value: Any = None  # what the task function returned
    error: str | None = None  # why it failed (exception message, timeout, crashed worker)


@dataclass(frozen=True)
class Skip:
    """An item that needs no work: ``value`` passes straight to the results, in its place."""

    value: Any = None


@dataclass(frozen=True)
class PoolConfig:
    """How the pool runs."""

    workers: int = 1  # worker processes
    timeout: float = 60.0  # seconds one item may take before its worker is killed
    max_tasks: int = 10_000  # items a worker does before it is replaced, whatever its memory
    max_memory_mb: float = 2048  # a worker whose resident memory passes this is replaced (decord leaks memory)
    queue_per_worker: int = 8  # items decoded ahead of the one the results wait for, per worker
    tasks_per_worker: int = 2  # items sent to a worker at once: the next waits in its pipe while one is taken back


def _worker_main(conn: Connection, func: Callable[[Any], Any], init: Callable[[], None] | None, seed: int) -> None:
    # reseed per process (spawned workers must not share a stream); torch is never imported by this module:
    # it would cost every worker seconds of start-up for nothing a decoder needs
    random.seed(seed)
    np.random.seed(seed & 0xFFFFFFFF)
    if init is not None:
        init()
    conn.send("ready")  # deadlines start from here: start-up is not the item's time
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        try:
            head, views = _pickled(TaskResult(value=func(task)))
        except Exception as exc:  # the task's own failure is the item's result, never the worker's death
            head, views = _pickled(TaskResult(error=str(exc) or type(exc).__name__))
        _send_result(conn, head, views)


def _pickled(result: TaskResult) -> tuple[bytes, list[memoryview]]:
    """The result pickled without the bytes of its contiguous arrays, and those bytes (views, not copies)."""
    buffers: list[pickle.PickleBuffer] = []
    head = pickle.dumps(result, protocol=5, buffer_callback=buffers.append)
    return head, [buffer.raw() for buffer in buffers]


def _send_result(conn: Connection, head: bytes, views: list[memoryview]) -> None:
    """Sends a result with its arrays' bytes written straight from their memory. ``Connection.send`` would
    pickle them into one bytes object, copy it again on every partial write and once more on each side:
    for 720p frames that cost several times the transfer itself."""
    conn.send((head, [view.nbytes for view in views]))
    for view in views:
        sent = 0
        while sent < view.nbytes:
            sent += os.write(conn.fileno(), view[sent:])


def _receive_result(conn: Connection) -> TaskResult:
    """Reads what :func:`_send_result` sent; the arrays are read straight into their own memory.

    Raises:
        EOFError: the worker died while sending.
    """
    head, sizes = conn.recv()
    buffers = [np.empty(size, np.uint8) for size in sizes]
    for buffer in buffers:
        view, got = memoryview(buffer), 0
        while got < buffer.nbytes:
            read = os.readv(conn.fileno(), [view[got:]])
            if read == 0:
                raise EOFError("the worker closed its pipe mid-result")
            got += read
    return pickle.loads(head, buffers=buffers)


class _Worker:
    def __init__(self, ctx: Any, func: Callable, init: Callable | None, seed: int):
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_worker_main, args=(child, func, init, seed), daemon=True)
        self.process.start()
        child.close()
        self.sent: deque[tuple[int, Any]] = deque()  # (position, task) sent to it, oldest (being worked on) first
        self.ready = False  # start-up finished (imports done)
        self.deadline = 0.0  # of the oldest item
        self.done = 0
        self.retiring = False  # gets no more items; replaced once its last result is back
        self.affinity: Any = None  # affinity key of the last item given to it
        self.last_given = -1  # input position of the last item given to it

    @property
    def position(self) -> int | None:
        """The item it is working on."""
        return self.sent[0][0] if self.sent else None

    def resident_mb(self) -> float:
        """Its resident memory (Linux; 0 where /proc cannot tell)."""
        try:
            with open(f"/proc/{self.process.pid}/statm", "rb") as statm:
                return int(statm.read().split()[1]) * _PAGE_BYTES / 2**20
        except (OSError, ValueError, IndexError):
            return 0.0

    def give(self, position: int, task: Any, timeout: float) -> None:
        self.conn.send(task)
        if not self.sent:
            self.deadline = time.monotonic() + timeout
        self.sent.append((position, task))
        self.done += 1

    def finished(self, timeout: float) -> int:
        """The oldest item's result was taken: its position; the next item's deadline starts now."""
        self.deadline = time.monotonic() + timeout
        return self.sent.popleft()[0]

    def stop(self, kill: bool = False) -> None:
        if kill:
            self.process.kill()
        else:
            try:
                self.conn.send(None)
            except (BrokenPipeError, OSError):
                self.process.kill()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


class TimeoutPool:
    """Runs ``func(item)`` in worker processes with a deadline per item; each worker works on one item at a time,
    with the next already in its pipe (``tasks_per_worker``), so it never idles while its result is taken back.

    ``affinity(item)`` (optional) names what a worker keeps between items, such as the video whose reader it
    holds open: items of one key go to one worker in input order where that keeps every worker busy (see
    :meth:`_next_for`); None for an item that has no such key.

    Example:
        >>> with TimeoutPool(decode_task, PoolConfig(workers=2, timeout=30), affinity=decode_affinity) as pool:
        ...     for result in pool.imap_ordered(tasks):
        ...         print(result.error or result.value)
    """

    def __init__(self, func: Callable[[Any], Any], config: PoolConfig, init: Callable[[], None] | None = None,
                 seed: int = 0, affinity: Callable[[Any], Any] | None = None):
        if config.workers < 1:
            raise ValueError("the pool needs at least one worker")
        self.func = func
        self.affinity = affinity
        self.config = config
        self.init = init
        self.seed = seed
        self._ctx = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []
        self._started = 0

    def _new_worker(self) -> _Worker:
        # each process gets its own seed so nothing random is shared by accident (sampling is keyed per record)
        self._started += 1
        return _Worker(self._ctx, self.func, self.init, self.seed + self._started)

    def __enter__(self) -> TimeoutPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        for worker in self._workers:
            worker.stop(kill=worker.position is not None)
        self._workers = []

    def imap_ordered(self, items: Iterable[Any]) -> Iterator[TaskResult]:
        """Yields one :class:`TaskResult` per item, in the items' order (a :class:`Skip` passes through).

        Items are read by a feeder thread, at most ``workers * queue_per_worker`` ahead of the result being
        waited for, so a slow upstream pipe never holds back results of items already read. The thread starts
        with the first item that needs a worker: until then nothing else is waited for, so the items are read
        here, without a thread hop per item (a stream of skipped items never starts it).
        """
        # imported here, in the main process: raivtools.io would add 30 ms to every worker's start-up
        from raivtools.io.prefetch import EMPTY, END, ReadAhead

        ahead = self.config.workers * self.config.queue_per_worker
        source = iter(items)
        feeder: ReadAhead | None = None
        waiting: list[tuple[int, Any]] = []  # read, not yet given to a worker
        results: dict[int, TaskResult] = {}
        next_out = read = 0
        exhausted = False
        try:
            while True:
                while not exhausted and read - next_out < ahead:
                    if feeder is None and not waiting:
                        got = next(source, END)
                    else:
                        feeder = feeder or ReadAhead(source, ahead, "raiv-pool-feeder")
                        idle = not waiting and not results and not self._in_flight()
                        got = feeder.get(block=idle)
                    if got is EMPTY:
                        break
                    if got is END:
                        exhausted = True
                        break
                    if isinstance(got, Skip):
                        results[read] = TaskResult(value=got.value)
                    else:
                        waiting.append((read, got))
                    read += 1
                while next_out in results:
                    yield results.pop(next_out)
                    next_out += 1
                if exhausted and next_out == read:
                    return
                self._dispatch(waiting)
                # while the feeder may still bring items, wake up now and then to take them
                self._collect(results, waiting, None if exhausted or read - next_out >= ahead else 0.02)
        finally:
            if feeder is not None:
                feeder.stop()

    def _in_flight(self) -> bool:
        return any(worker.position is not None for worker in self._workers)

    def _dispatch(self, waiting: list[tuple[int, Any]]) -> None:
        if waiting and not self._workers:
            # started on the first real task: a run whose items are all skipped never pays for worker start-up
            self._workers = [self._new_worker() for _ in range(self.config.workers)]
        for index, worker in enumerate(self._workers):
            if not worker.ready:
                continue
            if not worker.retiring and len(worker.sent) < self.config.tasks_per_worker:
                # checked only when it would get an item (reading its memory costs a file read), and only once it
                # has done one: a limit below a fresh worker's own size must not replace workers forever
                worker.retiring = worker.done >= self.config.max_tasks \
                    or (worker.done > 0 and worker.resident_mb() > self.config.max_memory_mb)
            if worker.retiring:
                if not worker.sent:
                    # replaced once idle; the fresh worker gets work once it says it is ready (a starting worker
                    # that also held a task would be watched twice)
                    worker.stop()
                    self._workers[index] = self._new_worker()
                continue
            while waiting and len(worker.sent) < self.config.tasks_per_worker \
                    and worker.done < self.config.max_tasks:
                position, task = waiting.pop(self._next_for(worker, waiting))
                worker.give(position, task, self.config.timeout)
                if self.affinity is not None:
                    worker.affinity, worker.last_given = self.affinity(task), position

    def _next_for(self, worker: _Worker, waiting: list[tuple[int, Any]]) -> int:
        """Index into ``waiting`` (kept in input order) of the item ``worker`` takes next.

        Without an affinity key, the first. With one (a video, whose reader a worker keeps open), a worker goes
        on with the items of its key, in input order, up to where another worker took over; else it starts on
        the first item whose key no other worker holds (or that has none); when every waiting item's key is
        held, it takes the middle of the longest run of one key. A long video is so split into stretches that
        each worker reads on through, not into windows taken in turns, where each worker would decode every
        frame of the other's windows too.
        """
        if self.affinity is None:
            return 0
        keys = [self.affinity(task) for _, task in waiting]
        others = [other for other in self._workers if other is not worker]
        if worker.affinity is not None:
            # another worker further on in the same video: its stretch starts after whatever is waiting before it
            stop = min((other.last_given for other in others
                        if other.affinity == worker.affinity and other.last_given > worker.last_given), default=None)
            for index, (position, _) in enumerate(waiting):
                if keys[index] == worker.affinity and position > worker.last_given:
                    if stop is None or position < stop:
                        return index
                    break
        held = {other.affinity for other in others}
        fresh = next((index for index, key in enumerate(keys) if key is None or key not in held), None)
        if fresh is not None:
            return fresh
        middle, longest, begin = 0, 0, 0
        for end in range(1, len(keys) + 1):
            if end == len(keys) or keys[end] != keys[begin]:
                if end - begin > longest:
                    middle, longest = begin + (end - begin) // 2, end - begin
                begin = end
        return middle

    def _collect(self, results: dict[int, TaskResult], waiting: list[tuple[int, Any]], max_wait: float | None) -> None:
        starting = [worker for worker in self._workers if not worker.ready]
        busy = [worker for worker in self._workers if worker.sent]
        if not busy and not starting:
            return
        now = time.monotonic()
        timeout = max(0.0, min(w.deadline for w in busy) - now) if busy else None
        if max_wait is not None:
            timeout = max_wait if timeout is None else min(timeout, max_wait)
        watched = busy + starting
        ready = wait([w.conn for w in watched] + [w.process.sentinel for w in watched], timeout=timeout)
        for index, worker in enumerate(self._workers):
            if not worker.ready:
                self._start_up(index, worker, ready)
                continue
            if not worker.sent:
                continue
            if worker.conn in ready:
                try:
                    result = _receive_result(worker.conn)
                    results[worker.finished(self.config.timeout)] = result
                    continue
                except (EOFError, OSError):
                    pass  # the worker died mid-send: handled as a crash below
            if worker.process.sentinel in ready or not worker.process.is_alive():
                code = worker.process.exitcode
                results[worker.position] = TaskResult(error=f"decoder crashed (worker exit code {code})")
                self._replace(index, waiting)
            elif time.monotonic() >= worker.deadline:
                results[worker.position] = TaskResult(
                    error=f"timed out after {self.config.timeout:g} s (decoder hung); worker restarted")
                self._replace(index, waiting)

    def _start_up(self, index: int, worker: _Worker, ready: list) -> None:
        if worker.conn in ready:
            try:
                worker.ready = worker.conn.recv() == "ready"
                return
            except (EOFError, OSError):
                pass
        if worker.process.sentinel in ready or not worker.process.is_alive():
            raise RuntimeError(f"a decoder worker died while starting (exit code {worker.process.exitcode})")

    def _replace(self, index: int, waiting: list[tuple[int, Any]]) -> None:
        """Kills a worker whose oldest item failed; the items queued behind it go back to the front of ``waiting``
        (they never ran, so they are not errors)."""
        old = self._workers[index]
        old.stop(kill=True)
        self._workers[index] = self._new_worker()
        waiting[:0] = list(old.sent)[1:]
