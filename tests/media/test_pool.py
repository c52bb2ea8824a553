import os

from raivtools.media.decode import FrameSpec, MediaItem, decode_task, quiet_decoders
from raivtools.media.pool import PoolConfig, Skip, TimeoutPool


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
