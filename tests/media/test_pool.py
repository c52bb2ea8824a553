import itertools
import multiprocessing
import os
import threading
import time
from collections import deque

import numpy as np
import pytest

from raivtools.media.decode import FrameSpec, MediaItem, decode_task, quiet_decoders
from raivtools.media.pool import PoolConfig, Skip, TaskResult, TimeoutPool, _pickled, _receive_result, _Worker


def test_hung_decoder_costs_one_item_and_order_is_kept(media_dir, tmp_path):
    fifo = tmp_path / "hangs.mp4"
    os.mkfifo(fifo)  # opening it for reading blocks forever: a decoder that never returns
    spec = FrameSpec(frames=2, size=16)
    tasks = [
        (MediaItem("a", "video", str(media_dir / "clip.mp4")), spec),
        (MediaItem("hang", "video", str(fifo)), spec),
        Skip("skipped"),
        (MediaItem("b", "video", str(media_dir / "garbage.mp4")), spec),
        (MediaItem("c", "image", str(media_dir / "photo.png")), spec),
    ]
    with TimeoutPool(decode_task, PoolConfig(workers=2, timeout=1.5), init=quiet_decoders) as pool:
        results = list(pool.imap_ordered(tasks))
    assert results[0].error is None and results[0].value.frames.shape == (2, 16, 16, 3)
    assert "timed out after 1.5 s" in results[1].error
    assert results[2].value == "skipped"
    assert "cannot open video" in results[3].error
    assert results[4].value.frames.shape == (1, 16, 16, 3)


def test_recycled_workers_finish_every_item_in_order(media_dir):
    # each worker is replaced after 2 items: a fresh worker must not be handed work before it is ready
    spec = FrameSpec(frames=1, size=8)
    tasks = [(MediaItem(f"i{n}", "image", str(media_dir / "photo.png")), spec) for n in range(7)]
    with TimeoutPool(decode_task, PoolConfig(workers=2, timeout=30, max_tasks=2), init=quiet_decoders) as pool:
        results = list(pool.imap_ordered(tasks))
    assert [r.error for r in results] == [None] * 7
    assert all(r.value.frames.shape == (1, 8, 8, 3) for r in results)


def test_items_queued_behind_a_hung_one_run_on_the_fresh_worker(media_dir, tmp_path):
    # one worker holds two items at once: when the first hangs and the worker is killed, the second (which never
    # ran) goes to the replacement worker instead of becoming an error
    fifo = tmp_path / "hangs.mp4"
    os.mkfifo(fifo)
    spec = FrameSpec(frames=1, size=8)
    tasks = [(MediaItem("hang", "video", str(fifo)), spec),
             (MediaItem("a", "image", str(media_dir / "photo.png")), spec),
             (MediaItem("b", "video", str(media_dir / "clip.mp4")), spec)]
    config = PoolConfig(workers=1, timeout=1.5, tasks_per_worker=2)
    with TimeoutPool(decode_task, config, init=quiet_decoders) as pool:
        results = list(pool.imap_ordered(tasks))
    assert "timed out after 1.5 s" in results[0].error
    assert [r.error for r in results[1:]] == [None, None]
    assert results[1].value.frames.shape == (1, 8, 8, 3) and results[2].value.frames.shape == (1, 8, 8, 3)


def _arrays(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    big = rng.integers(0, 256, (4, 480, 640, 3), dtype=np.uint8)  # 3.7 MB: many partial writes on the socket
    return {
        "big": big,
        "strided": rng.standard_normal((6, 8)).astype(np.float16)[::2, 1::3],  # not contiguous: goes in-band
        "fortran": np.asfortranarray(rng.standard_normal((5, 3))),
        "empty": np.zeros((0, 7), np.float32),
        "flags": rng.random(9) > 0.5,
        "text": "vidéo 视频",
    }


def arrays_task(seed: int) -> dict:
    """A pool task (importable by spawned workers) whose result holds arrays of every layout."""
    return _arrays(seed)


def test_results_with_arrays_arrive_whole_and_writable():
    # arrays travel outside the pickle (written and read straight from their memory): every dtype and layout
    # must come back equal, in order, and writable (extract-frames hands them on to the store writer)
    with TimeoutPool(arrays_task, PoolConfig(workers=2, timeout=30)) as pool:
        results = list(pool.imap_ordered(range(5)))
    for seed, result in enumerate(results):
        assert result.error is None
        expected = _arrays(seed)
        assert result.value["text"] == expected["text"]
        for key in ("big", "strided", "fortran", "empty", "flags"):
            got = result.value[key]
            assert got.dtype == expected[key].dtype and got.shape == expected[key].shape
            np.testing.assert_array_equal(got, expected[key])
        assert result.value["fortran"].flags.f_contiguous
        assert result.value["big"].flags.writeable


def test_a_worker_that_dies_mid_result_is_an_eof():
    left, right = multiprocessing.Pipe()
    head, views = _pickled(TaskResult(value=np.arange(100_000, dtype=np.int64)))
    right.send((head, [view.nbytes for view in views]))
    os.write(right.fileno(), views[0][:1000])
    right.close()
    with pytest.raises(EOFError, match="mid-result"):
        _receive_result(left)
    left.close()


_HOARD: list = []


def hoarding_task(index: int) -> int:
    """A pool task that keeps 16 MB per item alive in its worker, as a leaking decoder would."""
    _HOARD.append(np.ones(16 * 2**20, np.uint8))
    return os.getpid()


def test_a_worker_past_its_memory_limit_is_replaced_and_no_item_is_lost():
    config = PoolConfig(workers=1, timeout=30, max_memory_mb=120, tasks_per_worker=1)
    with TimeoutPool(hoarding_task, config) as pool:
        results = list(pool.imap_ordered(range(12)))
    assert [r.error for r in results] == [None] * 12
    pids = [r.value for r in results]
    runs = [len(list(group)) for _, group in itertools.groupby(pids)]
    # a fresh worker is ~40 MB: it passes 120 MB after a handful of 16 MB items, then is replaced
    assert len(runs) >= 2 and max(runs) <= 8, runs


def test_a_memory_limit_below_a_fresh_worker_still_makes_progress():
    with TimeoutPool(pid_task, PoolConfig(workers=1, timeout=30, max_memory_mb=1, tasks_per_worker=1)) as pool:
        pids = [r.value for r in pool.imap_ordered(range(3))]
    assert len(set(pids)) == 3  # one item per worker, then replaced


def pid_task(index: int) -> int:
    return os.getpid()


def test_workers_are_kept_while_their_memory_stays_low():
    with TimeoutPool(pid_task, PoolConfig(workers=1, timeout=30)) as pool:
        pids = {r.value for r in pool.imap_ordered(range(20))}
    assert len(pids) == 1


def test_skipped_items_are_read_without_a_thread_or_workers():
    pool = TimeoutPool(pid_task, PoolConfig(workers=2, timeout=30))

    def items():
        for n in range(50):
            assert not any(t.name == "raiv-pool-feeder" for t in threading.enumerate())
            yield Skip(n)

    with pool:
        assert [r.value for r in pool.imap_ordered(items())] == list(range(50))
        assert pool._workers == []


def test_an_input_error_is_raised_before_and_after_the_feeder_starts():
    def items(real_first: bool):
        yield Skip("first")
        if real_first:
            yield 1  # a real item: the feeder thread takes over reading from here
        yield Skip("third")
        raise ValueError("line 4: bad json")

    for real_first in (False, True):
        with TimeoutPool(pid_task, PoolConfig(workers=1, timeout=30)) as pool:
            with pytest.raises(ValueError, match="line 4"):
                list(pool.imap_ordered(items(real_first)))


def keyed_task(item: tuple[str, int]) -> tuple[int, str]:
    """A pool task that takes a little time and tells which worker ran it."""
    time.sleep(0.02)
    return os.getpid(), item[0]


def test_items_with_one_affinity_key_stay_on_one_worker_and_come_back_in_order():
    # a long video, then four of six windows each: a worker keeps its video's reader open, so it should go on
    # with the windows of its video while the other worker takes the next video, or a stretch of a long one
    short = ("a", "b", "c", "vidéo")
    items = [("long", n) for n in range(30)] + [(video, n) for video in short for n in range(6)]
    with TimeoutPool(keyed_task, PoolConfig(workers=2, timeout=30), affinity=lambda item: item[0]) as pool:
        results = [r.value for r in pool.imap_ordered(items)]
    assert [key for _, key in results] == [video for video, _ in items]
    changes = [pid != next_pid for (pid, key), (next_pid, next_key) in zip(results, results[1:]) if key == next_key]
    assert sum(changes[:29]) <= 8, results  # stretches of the long video, not windows in turns (~29 changes)
    assert sum(changes[29:]) <= 3, results
    assert sum(len({pid for pid, key in results if key == video}) for video in short) <= 7, results


def _worker_with(affinity, last_given: int = -1) -> _Worker:
    worker = _Worker.__new__(_Worker)
    worker.affinity, worker.last_given, worker.sent = affinity, last_given, deque()
    return worker


def test_a_worker_goes_on_with_its_video_then_takes_one_no_other_worker_holds():
    pool = TimeoutPool(pid_task, PoolConfig(workers=2), affinity=lambda item: item)
    me, other = _worker_with("a"), _worker_with("b", last_given=0)
    pool._workers = [me, other]
    waiting = list(zip([1, 2, 3, 4, 5], ["b", "b", "c", "a", None]))
    assert pool._next_for(me, waiting) == 3  # its own video, though later in the queue
    me.affinity = "z"
    assert pool._next_for(me, waiting) == 2  # "b" is being read by the other worker
    assert pool._next_for(me, list(zip([1, 2], ["b", None]))) == 1  # an image has no key: anyone takes it
    pool.affinity = None
    assert pool._next_for(me, waiting) == 0  # no affinity: first come, first served


def test_a_long_video_is_split_into_stretches_not_taken_in_turns():
    pool = TimeoutPool(pid_task, PoolConfig(workers=2), affinity=lambda item: item)
    front, back = _worker_with("v", last_given=0), _worker_with("x")
    pool._workers = [front, back]
    waiting = [(position, "v") for position in range(1, 9)]
    assert pool._next_for(back, waiting) == 4  # every item is the other's video: the middle of it
    back.affinity, back.last_given = "v", waiting.pop(4)[0]  # position 5
    assert pool._next_for(back, waiting) == 4  # and reads on from there: position 6
    assert pool._next_for(front, waiting) == 0  # the first worker reads on from its own: position 1
    front.last_given = 4
    assert pool._next_for(front, [(6, "v"), (7, "v"), (8, "v")]) == 1  # caught up: the middle of the rest
