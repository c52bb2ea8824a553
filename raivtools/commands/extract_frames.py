"""`raiv extract-frames`: sample K frames from every video window (or image) into a frame store."""

from __future__ import annotations

import os

import click

from raivtools.commands._options import CONTEXT, decode_options, input_paths, seed_option, store_options


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


@click.command(context_settings=CONTEXT)
@input_paths
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Frame store directory (made if missing).")
@click.option("--frames", "num_frames", type=click.IntRange(min=1), default=4, show_default=True,
              help="K: frames per video (images give one).")
@click.option("--sampling", type=click.Choice(["uniform", "middle", "random"]), default="middle", show_default=True,
              help="Split the window into K equal intervals and take the middle frame of each (middle), a seeded "
                   "random frame of each (random), or K evenly spaced frames first to last (uniform).")
@click.option("--size", type=click.IntRange(min=0), default=224, show_default=True,
              help="Resize the short side to this many pixels and centre-crop to a square; 0 keeps decoded frames.")
@click.option("--keep-aspect", is_flag=True, help="Resize the short side only, without the centre crop.")
@click.option("--decoder", type=click.Choice(["auto", "decord", "pyav"]), default="auto", show_default=True,
              help="auto: decord, then PyAV when decord fails.")
@click.option("--workers", type=click.IntRange(min=1), default=default_workers, show_default="min(4, CPUs)",
              help="Decoder worker processes.")
@decode_options
@click.option("--shard-size", type=click.IntRange(min=1), default=64, show_default=True,
              help="Records per store shard (the unit --resume skips).")
@store_options
@seed_option
def main(inputs, out_dir, num_frames, sampling, size, keep_aspect, decoder, workers, timeout, worker_memory,
         shard_size, media_root, resume, overwrite, seed):
    """Decode K frames per media record into a frame store.

    Reads media records (JSONL files or stdin): `id` and `video` (optional `start`/`end` in seconds) or
    `image`. Writes the frame store (per id: `frames` uint8 [K,H,W,3] and `timestamps` float32 [K] in seconds;
    an image is one frame) and, on stdout, every record in input order with `"frames": OUT` and
    `"status": "ok"` or `"error"` with an `"error"` message. Missing, empty, garbage or truncated files and
    hung decoders give error records; the run goes on and prints a summary on stderr (exit 0).

    Each item is decoded in a worker process (decord, then PyAV) with a timeout. Shards are written whole;
    `--resume` skips the done ones and gives the same store an uninterrupted run gives.

    \b
    Example:
      raiv extract-frames media.jsonl --frames 4 --out frames/ > media.frames.jsonl
      raiv extract-frames media.jsonl --frames 16 --sampling uniform --out frames/ --workers 8 --resume
      raiv extract-frames media.jsonl --out frames/ | raiv encode --model ViT-B-32 --out feats/ > feats.jsonl
    """
    from raivtools.io.records import RecordWriter, iter_located
    from raivtools.io.report import RunSummary, progress
    from raivtools.io.store import ArrayStore
    from raivtools.media.decode import FrameSpec
    from raivtools.media.extract import ExtractConfig, FrameExtractor
    from raivtools.media.pool import PoolConfig

    threads = max(1, (os.cpu_count() or 1) // workers)
    spec = FrameSpec(frames=num_frames, sampling=sampling, size=size, keep_aspect=keep_aspect, decoder=decoder,
                     seed=seed, threads=threads)
    pool = PoolConfig(workers=workers, timeout=timeout, max_memory_mb=worker_memory)
    config = ExtractConfig(spec=spec, pool=pool, shard_size=shard_size, media_root=media_root)
    writer = ArrayStore.create(out_dir, meta=config.store_meta(), resume=resume, overwrite=overwrite)
    summary = RunSummary("extract-frames")
    extractor = FrameExtractor(config, writer, out_dir, summary)
    with RecordWriter() as out:
        for record in progress(extractor.run(iter_located(inputs)), desc="extract-frames"):
            out.write(record)
    summary.print()
