"""`raiv synth`: write the built-in toy benchmark (clips and stills of coloured shapes) and its records."""

from __future__ import annotations

import os
import time
from pathlib import Path

import click

from raivtools.commands._options import CONTEXT, seed_option
from raivtools.io.errors import InputError

#: the file that marks a finished toy set and records how it was made
MARKER = "synth.json"


@click.command(name="synth", context_settings=CONTEXT)
@click.option("--out", "out", required=True, type=str, help="Directory for media/ (created; must be empty).")
@click.option("--n", "n", type=click.IntRange(min=0), default=100, show_default=True, help="Number of items.")
@seed_option
@click.option("--image-fraction", type=click.FloatRange(0.0, 1.0), default=0.25, show_default=True,
              help="Chance that an item is a still (PNG) instead of a clip (mp4).")
@click.option("--frames-per-clip", type=click.IntRange(2, 600), default=24, show_default=True,
              help="Frames in each clip.")
@click.option("--fps", type=click.IntRange(1, 60), default=12, show_default=True, help="Frames per second.")
@click.option("--size", type=click.IntRange(48, 512), default=96, show_default=True,
              help="Frame side in pixels (even; frames are square).")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="Processes that draw and encode (output does not depend on it).")
@click.option("--overwrite", is_flag=True, help="Delete a previous toy set's media in --out first.")
def main(out: str, n: int, seed: int, image_fraction: float, frames_per_clip: int, fps: int, size: int,
         workers: int, overwrite: bool) -> None:
    """Write a toy benchmark: short clips and stills of coloured shapes with exact ground truth.

    Each item shows two shapes on a background that stands for a location (grass, beach, ocean, ice). In a
    clip the first shape moves, jumps, bounces, spins, grows, shrinks, appears, disappears, blinks, or
    pushes, pulls or touches the second; in a still it sits, leans or hovers. Media go to OUT/media/ (mp4,
    H.264, or PNG); one JSONL record per item goes to stdout, in index order: id, video or image (the path
    under OUT as given), start/end for clips, caption, srl, objects, split (7:1:2 train/val/test) and
    scene (exact positions, sizes, colours, action, direction, the relations that hold in every frame).
    Same --seed, same records and media, whatever --workers.

    \b
    Example:
      raiv synth --out toy/ --n 200 --seed 0 > toy.jsonl
      raiv synth --out toy/ --n 1000 --image-fraction 0.5 --size 64 --overwrite > toy.jsonl
      head -c 300 toy.jsonl
    """
    from raivtools.io.records import RecordWriter
    from raivtools.io.report import log, progress
    from raivtools.io.store import atomic_write_bytes
    from raivtools.synth import SynthConfig, generate

    if size % 2:
        raise InputError(f"--size must be even (H.264 with yuv420p needs even sides), got {size}")
    prepare_out_dir(Path(out), overwrite)
    config = SynthConfig(n=n, seed=seed, image_fraction=image_fraction, frames=frames_per_clip, fps=fps, size=size)
    began = time.perf_counter()
    kinds = {"video": 0, "image": 0}
    with RecordWriter() as writer:
        for record in progress(generate(config, out, workers), desc="synth", total=n, unit="item"):
            kinds["video" if "video" in record else "image"] += 1
            writer.write(record)
    seconds = time.perf_counter() - began
    atomic_write_bytes(Path(out, MARKER), _marker(config, kinds))
    rate = n / seconds if seconds > 0 else 0.0
    log(f"raiv synth: {n} items ({kinds['video']} clips, {kinds['image']} stills) in {seconds:.1f} s "
        f"({rate:.1f} items/s, {workers} workers) -> {os.path.join(out, 'media')}")


def prepare_out_dir(out: Path, overwrite: bool) -> None:
    """Refuses a non-empty ``out`` unless ``overwrite``; then removes only what a previous synth run wrote.

    Raises:
        InputError: ``out`` is a file, or is non-empty without ``overwrite``, or holds files synth did not write.
    """
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a directory")
    if not out.exists() or not any(out.iterdir()):
        return
    if not overwrite:
        raise InputError(f"--out {out}: directory is not empty; pass --overwrite to replace a previous toy set")
    foreign = [p.name for p in out.iterdir() if p.name not in ("media", MARKER)]
    media = out / "media"
    if media.is_dir():
        foreign += [f"media/{p.name}" for p in media.iterdir() if not (p.is_file() and p.suffix in (".mp4", ".png"))]
    if foreign:
        raise InputError(f"--out {out}: holds files raiv synth did not write ({', '.join(sorted(foreign)[:3])}); "
                         "choose an empty directory")
    if media.is_dir():
        for path in media.iterdir():
            path.unlink()
    (out / MARKER).unlink(missing_ok=True)


def _marker(config: object, kinds: dict[str, int]) -> bytes:
    import dataclasses

    import orjson

    return orjson.dumps({"config": dataclasses.asdict(config), "counts": kinds}, option=orjson.OPT_INDENT_2)
