"""`raiv encode`: CLIP features of frames, media and text fields into a feature store."""

from __future__ import annotations

import os

import click

from raivtools.commands._options import CONTEXT, decode_options, input_paths, seed_option, store_options


def parse_shard(value: str | None) -> tuple[int, int] | None:
    """``"I/N"`` -> (I, N) with 0 <= I < N."""
    if value is None:
        return None
    try:
        index, count = (int(part) for part in value.split("/"))
    except ValueError:
        raise click.BadParameter("use I/N, e.g. 0/4 for the first of four shares") from None
    if count < 1 or not 0 <= index < count:
        raise click.BadParameter(f"need 0 <= I < N, got {value}")
    return index, count


def torchrun_share() -> tuple[int, int, int]:
    """(rank, world size, local rank) from the torchrun environment; (0, 1, 0) outside it."""
    return (int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0)))


@click.command(context_settings=CONTEXT)
@input_paths
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Feature store directory (made if missing).")
@click.option("--model", default=None,
              help="open_clip model name, hf-hub:ORG/REPO or local-dir:DIR  [default: ViT-B-32, or the stem of "
                   "--model-config].")
@click.option("--pretrained", default="openai", show_default=True,
              help="Weights: an open_clip tag (looked for in --cache-dir), a checkpoint file, or 'none' for random "
                   "weights (prints a warning). Ignored for hf-hub: and local-dir: models.")
@click.option("--model-config", type=click.Path(dir_okay=False, exists=True), default=None,
              help="An open_clip architecture JSON (embed_dim, vision_cfg, text_cfg) to register; its file stem is "
                   "the model name.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None, help="Where tagged weights are kept.")
@click.option("--text-field", "text_fields", multiple=True,
              help="Encode this string field into text.<field> (repeatable; a missing or null field is skipped).")
@click.option("--visual/--no-visual", default=True, show_default=True,
              help="Encode frames (from the record's frame store, or decoded from its video/image).")
@click.option("--tokens", is_flag=True, help="Also store the image tower's patch tokens [K,P,W].")
@click.option("--cuda-graph/--no-cuda-graph", default=True, show_default=True,
              help="On a GPU, replay the image tower as a CUDA graph for recurring batch shapes (same features, "
                   "less host time per batch).")
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True,
              help="Frames (or texts) per forward pass.")
@click.option("--device", default="auto", show_default=True, help="torch device: auto, cpu, cuda, cuda:1, ...")
@click.option("--precision", type=click.Choice(["fp32", "fp16", "bf16"]), default="fp32", show_default=True,
              help="Model precision.")
@click.option("--store-dtype", type=click.Choice(["float16", "float32"]), default="float16", show_default=True,
              help="dtype of the stored features.")
@click.option("--shard", "shard", default=None, metavar="I/N",
              help="Do only share I of N (for schedulers without torchrun); all shares write into one store.")
@click.option("--shard-size", type=click.IntRange(min=1), default=64, show_default=True,
              help="Records per store shard (the unit of --resume and of --shard).")
@click.option("--frames", "num_frames", type=click.IntRange(min=1), default=4, show_default=True,
              help="K, for records with a video but no frame store (decoded here).")
@click.option("--sampling", type=click.Choice(["uniform", "middle", "random"]), default="middle",
              show_default=True, help="Frame sampling for records decoded here (see extract-frames).")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="Decoder processes for records decoded here.")
@decode_options
@store_options
@seed_option
def main(inputs, out_dir, model, pretrained, model_config, cache_dir, text_fields, visual, tokens, cuda_graph,
         batch_size, device, precision, store_dtype, shard, shard_size, num_frames, sampling, workers, timeout,
         worker_memory, media_root, resume, overwrite, seed):
    """Encode frames and text fields with an open_clip model into a feature store.

    Reads records (JSONL files or stdin): the output of extract-frames (`frames` names the frame store), or
    media records with `video`/`image` (decoded here), and/or records with text fields. Writes the feature
    store, per record id: `frames` [K,D] (projected CLS per frame, not normalised), with --tokens `tokens`
    [K,P,W], and `text.<field>` [D] per --text-field; and, on stdout, every record in input order with
    `"features": OUT` and `status`. Records with `"status": "error"` pass through unchanged.

    Multi-GPU: under torchrun every rank encodes its share of shards into the one store and rank 0 prints all
    records at the end. Without torchrun, `--shard I/N` does share I; a last `--resume` run prints them all.

    \b
    Example:
      raiv extract-frames media.jsonl --out frames/ | raiv encode --model ViT-B-32 --pretrained openai --out feats/ > feats.jsonl
      raiv encode pairs.jsonl --no-visual --text-field statement --pretrained /ckpt/clip.bin --out text-feats/
      torchrun --nproc-per-node 8 -m raivtools encode frames.jsonl --out feats/ --precision fp16 > feats.jsonl
      raiv encode media.jsonl --model-config tiny-clip.json --pretrained none --out feats/ --tokens
    """
    from raivtools.devices import torch_device
    from raivtools.io.errors import InputError
    from raivtools.io.records import RecordWriter, iter_located
    from raivtools.io.report import RunSummary, progress
    from raivtools.media.clip import ClipEncoder, ClipSpec, register_model_config
    from raivtools.media.decode import FrameSpec
    from raivtools.media.encode import EncodeConfig, FeatureEncoder, store_meta
    from raivtools.media.pool import PoolConfig
    from raivtools.media.store import open_shared_store

    if not visual and not text_fields:
        raise InputError("--no-visual without --text-field leaves nothing to encode")
    rank, world, local_rank = torchrun_share()
    under_torchrun = world > 1 and shard is None
    share = parse_shard(shard) or (rank, world)
    if under_torchrun and not [path for path in inputs if path not in ("-", "")]:
        raise InputError("under torchrun pass input files, not stdin (every rank reads them)")
    from raivtools.seeding import seed_everything

    seed_everything(seed)  # random weights (--pretrained none) are then the same in every run and rank
    name = register_model_config(model_config) if model_config else None
    spec = ClipSpec(model=model or name or "ViT-B-32", pretrained=pretrained, model_config=model_config,
                    cache_dir=cache_dir, device=str(torch_device(device, local_rank)), precision=precision, tokens=tokens,
                    cuda_graph=cuda_graph)
    encoder = ClipEncoder(spec)
    # a squash model (SigLIP) sees the whole frame: decode keeping the aspect, the device squashes it
    frames = FrameSpec(frames=num_frames, sampling=sampling, size=encoder.image_size,
                       keep_aspect=encoder.resize_mode == "squash", seed=seed)
    pool = PoolConfig(workers=workers, timeout=timeout, max_memory_mb=worker_memory)
    config = EncodeConfig(text_fields=tuple(text_fields), visual=visual, batch_size=batch_size,
                          shard_size=shard_size, rank=share[0], world=share[1], resume=resume,
                          store_dtype=store_dtype, frames=frames, pool=pool,
                          media_root=media_root)
    writer = open_shared_store(out_dir, store_meta(config, encoder), resume=resume, overwrite=overwrite,
                               shared=share[1] > 1)
    summary = RunSummary("encode" + (f" (share {share[0]}/{share[1]})" if share[1] > 1 else ""))
    with RecordWriter() as out:
        records = FeatureEncoder(config, encoder, writer, out_dir, summary).run(iter_located(inputs))
        for record in progress(records, desc="encode"):
            if not under_torchrun:  # torchrun: rank 0 prints every record once all ranks are done
                out.write(record)
        if under_torchrun:
            _barrier()
            if share[0] == 0:
                # every rank's shards are done: replay the whole input from the store, in order
                replay = EncodeConfig(**{**config.__dict__, "rank": 0, "world": 1, "resume": True})
                summary = RunSummary("encode")
                for record in FeatureEncoder(replay, encoder, writer, out_dir, summary).run(iter_located(inputs)):
                    out.write(record)
                summary.extra.pop("resumed shards", None)  # every shard was just written by some rank
    summary.print()


def _barrier() -> None:
    """Waits for every torchrun rank (gloo over torchrun's rendezvous environment)."""
    import torch.distributed as dist

    from raivtools.devices import join_process_group

    join_process_group("gloo")
    dist.barrier()
