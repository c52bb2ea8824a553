"""`raiv train`: train a model of the registry on pair or video-text records and a feature store."""

from __future__ import annotations

from pathlib import Path

import click

from raivtools.commands._options import CONTEXT, input_paths, seed_option

TASK_CHOICES = ("pairs", "reason", "video-text", "tsp", "itm")


@click.command(context_settings=CONTEXT)
@input_paths
@click.option("--features", "features", required=True, type=click.Path(file_okay=False),
              help="Feature store (from raiv encode) with per-frame features of every media id.")
@click.option("--arch", required=True, help="Architecture: raiv-late, raiv-mid, raiv-early, navero, ...")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Run directory to write.")
@click.option("--task", type=click.Choice(TASK_CHOICES), default=None,
              help="pairs (True/False), reason (3-way reasoning), video-text (captions + negatives), tsp "
                   "(task-specific pre-training on SRL records), itm (METER's video-text matching pre-training "
                   "of a RAIV model, on caption records). Default: the arch's own.")
@click.option("--val", "val", multiple=True, type=click.Path(dir_okay=False),
              help="Validation records (default: the inputs' records with split 'val').")
@click.option("--epochs", type=int, default=10, show_default=True)
@click.option("--batch-size", type=int, default=32, show_default=True, help="Examples per micro-batch per process.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=1e-4, show_default=True,
              help="Peak AdamW learning rate.")
@click.option("--head-lr-mult", type=click.FloatRange(min=0), default=10.0, show_default=True,
              help="Head lr / body lr (METER: 10).")
@click.option("--weight-decay", type=click.FloatRange(min=0), default=0.01, show_default=True)
@click.option("--warmup", type=float, default=0.1, show_default=True, help="Fraction of steps of linear warm-up.")
@click.option("--grad-accum", type=int, default=1, show_default=True, help="Micro-batches per optimizer step.")
@click.option("--clip-norm", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Gradient-norm clipping (0: off).")
@click.option("--precision", type=click.Choice(("fp32", "bf16", "fp16")), default="fp32", show_default=True)
@click.option("--train-fraction", type=float, default=1.0, show_default=True,
              help="Use this fraction of the training records (seed 000 Table 5: 0.01, 0.1, 0.5, 1).")
@seed_option
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--frames", type=click.IntRange(min=1), default=None,
              help="Frames per visual input (default 4; more are subsampled).")
@click.option("--loss", "loss", default=None,
              help="navero: losses, comma-separated, from vtc, vtm, neg-vtc, neg-vtm, or a preset: navero "
                   "(vtc,vtm,neg-vtm; default), vanilla (vtc,vtm), negvidl (vtc,vtm,neg-vtc), all. "
                   "videodistill: vtm, cl, vg-mlm (default all). vlm: masked-token, mfm-mlm, retrieval, or "
                   "pretrain, finetune, vlm (default: masked-token,retrieval).")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Any model setting, e.g. --set width=512 --set text_layers=6 (see README).")
@click.option("--init-text", default="", metavar="MODEL:CHECKPOINT",
              help="Initialise the text encoder from an open_clip checkpoint's text tower "
                   "(MODEL: open_clip name or config .json; CHECKPOINT: a local file); 'store': the model and "
                   "checkpoint named in the feature store's meta (the encoder of the frames).")
@click.option("--init", "init_run", default="", type=click.Path(file_okay=False),
              help="Start from this run's last.pt (fine-tune after --task tsp).")
@click.option("--sampling", type=click.Choice(("cond", "rand")), default="cond", show_default=True,
              help="tsp: pair items sharing an object (cond) or random items (rand).")
@click.option("--pairs-per-item", type=float, default=1.0, show_default=True,
              help="tsp: statements mined per training item and epoch.")
@click.option("--itm-candidates", type=int, default=16, show_default=True,
              help="itm: the mismatched caption is the most word-sharing of this many random captions (1: random).")
@click.option("--log-every", type=click.IntRange(min=0), default=0,
              help="Also log a step line every N optimizer steps.")
@click.option("--save-every", type=click.IntRange(min=0), default=0,
              help="Also save last.pt every N optimizer steps.")
@click.option("--resume", is_flag=True, help="Continue the interrupted run in --out from its last.pt.")
def main(inputs, features, arch, out, task, val, epochs, batch_size, lr, head_lr_mult, weight_decay, warmup,
         grad_accum, clip_norm, precision, train_fraction, seed, device, frames, loss, settings, init_text,
         init_run, sampling, pairs_per_item, itm_candidates, log_every, save_every, resume):
    """Train --arch on RECORDS with features from --features; write a run directory.

    Reads pair records (make-pairs) or video-text records (make-pairs --kind vid-text, negate), SRL records
    for --task tsp, or caption records for --task itm and --arch clip (whose --features is a frame store from
    extract-frames); records with split "train" (or none) train, split "val" (or valid, dev, validation)
    validates each epoch; a warning counts records with any other split but "test". Pair records to train or
    validate on need a boolean "label" (--task reason: a "reason.answer" that indexes the choices). Writes
    --out/config.json, metrics.jsonl (one line per epoch), last.pt and best.pt (--arch clip: also
    open_clip.pt for raiv encode); nothing on stdout.
    Runs under torchrun for several GPUs or nodes. A NaN/inf loss stops the run (exit 3) naming the step.

    \b
    Example:
      raiv train pairs.jsonl --features feats/ --arch raiv-late --out runs/late --epochs 10
      raiv train aaro.jsonl --features feats/ --arch navero --loss vanilla --out runs/vanilla
      raiv train srl.jsonl --features feats/ --arch raiv-mid --task tsp --out runs/tsp
      raiv train pairs.jsonl --features feats/ --arch raiv-mid --init runs/tsp --out runs/ft
      raiv train captions.jsonl --features feats/ --arch raiv-late --task itm --out runs/itm
      raiv train media.frames.jsonl --features frames/ --arch clip --set clip_model=ViT-B-32 --out runs/clip
      torchrun --nproc-per-node 4 -m raivtools train pairs.jsonl --features feats/ --arch raiv-late --out runs/ddp
    """
    from raivtools.io.report import log
    from raivtools.train.loop import TrainConfig, train

    model_fields = parse_settings(arch, settings)
    if frames is not None:
        model_fields["max_frames"] = frames
    if loss is not None:
        model_fields["losses"] = loss
    config = TrainConfig(
        arch=arch, inputs=list(inputs) or ["-"], features=features, out=out, task=task or "", val=list(val),
        epochs=epochs, batch_size=batch_size, lr=lr, head_lr_mult=head_lr_mult, weight_decay=weight_decay,
        warmup=warmup, grad_accum=grad_accum, clip_norm=clip_norm, precision=precision,
        train_fraction=train_fraction, seed=seed, device=device, sampling=sampling, pairs_per_item=pairs_per_item,
        itm_candidates=itm_candidates, init=init_run,
        log_every=log_every, save_every=save_every, resume=resume,
    )
    try:
        trainer = train(config, model_fields, init_text)
    except KeyboardInterrupt:
        log(f"raiv train: interrupted; continue with the same command and --resume (from {out}/last.pt)")
        raise SystemExit(130) from None
    if trainer.dist.is_main:
        files = ", ".join(name for name in ("best.pt", "last.pt", "open_clip.pt", "metrics.jsonl")
                          if (Path(out) / name).exists())
        log(f"raiv train: done: {trainer.step} steps, run in {out} ({files})")


def parse_settings(arch: str, settings: tuple[str, ...]) -> dict[str, object]:
    """``KEY=VALUE`` strings -> typed model config fields (typed by the field's default)."""
    import dataclasses

    from raivtools.io.errors import InputError
    from raivtools.models import config_class_for

    fields = {f.name: f for f in dataclasses.fields(config_class_for(arch))}
    parsed: dict[str, object] = {}
    for item in settings:
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in fields:
            raise InputError(f"--set {item!r}: expected KEY=VALUE with KEY one of: {', '.join(fields)}")
        parsed[key] = _typed(value.strip(), fields[key].default, item)
        _check_range(key, parsed[key], item)
    return parsed


#: model settings that are sizes or counts of at least one (others may be 0: "off" or "same as")
_AT_LEAST_ONE = frozenset({"feature_dim", "width", "heads", "max_frames", "context_length", "vocab_size",
                           "select_frames", "embed_dim", "max_patches"})


def _check_range(key: str, value: object, item: str) -> None:
    """Sizes and counts are not negative (some at least 1); probabilities and dropout lie in [0, 1]."""
    from raivtools.io.errors import InputError

    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    low = 1 if key in _AT_LEAST_ONE else 0
    high = 1 if "probability" in key or key == "dropout" else None
    if value < low or (high is not None and value > high):
        wanted = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise InputError(f"--set {item!r}: {key} must be {wanted}")


def _typed(value: str, default: object, item: str) -> object:
    from raivtools.io.errors import InputError

    try:
        if isinstance(default, bool):
            if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(value)
            return value.lower() in ("true", "1", "yes")
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, tuple):
            return tuple(v.strip() for v in value.split(",") if v.strip())
    except ValueError:
        raise InputError(f"--set {item!r}: {value!r} is not a {type(default).__name__}") from None
    return value
