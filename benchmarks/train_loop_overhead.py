"""Training-loop overhead: `raiv train`'s loop vs a bare forward + backward + AdamW step of the same model on the
same batches, measured side by side in one run (goal: loop time / bare time <= 1.10).

The loop's time covers everything it does per step: reading features, sampling frames, tokenizing,
length-bucketed batching, moving to the device, autocast, the loss check, gradient clipping, the scheduler and
logging. The bare baseline gets the very same batches already built, in memory and on the device. Epoch-end
work (validation, checkpoints) is timed apart and printed too.

Usage:
    PYTHONPATH=. python benchmarks/train_loop_overhead.py [--arch raiv-late] [--device cpu] [--precision fp32]
        [--examples 1024] [--batch-size 32] [--width 128] [--repeats 5]

On a GPU it can also compare precisions: ``--precision bf16`` vs the default fp32 (run twice, compare
examples/s). ``--variants`` then times the ways the loop could build its batches (this thread or a background
one, pinned or not) side by side, and on a GPU the loop with the step's loss read back as before the event-based
read (a blocking read that waits for everything queued). ``--host-breakdown`` then runs one more loop epoch with
batches built in this thread (as on a GPU) and prints where the host's time per step goes, phase by phase: on a
GPU, where the host sets the pace, the phases other than the model's forward/backward and the optimizer are the
loop's overhead.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_inputs(root: Path, examples: int, dim: int, frames: int, seed: int = 0) -> tuple[Path, Path]:
    """A feature store of 256 media items and ``examples`` pair records (half true) over them."""
    from raivtools.io.records import write_jsonl
    from raivtools.io.store import ArrayStore, shard_name

    rng = np.random.default_rng(seed)
    writer = ArrayStore.create(root / "feats", meta={"kind": "features", "embed_dim": dim})
    items = {f"m{i}": {"frames": rng.normal(size=(1 if i % 5 == 0 else frames, dim)).astype(np.float16)}
             for i in range(256)}
    writer.write_shard(shard_name(0), items)
    colours = ["red", "blue", "green", "yellow", "purple", "orange"]
    records = []
    for i in range(examples):
        left, right = rng.integers(256, size=2)
        words = " ".join(rng.choice(["a", "the", "small", "large", "shiny", "wooden", "ball", "cube"], rng.integers(2, 12)))
        records.append({"id": f"p{i}", "left": {"id": f"m{left}"}, "right": {"id": f"m{right}"},
                        "statement": f"In both, {words} is {colours[i % 6]}.", "label": bool(i % 2), "split": "train"})
    write_jsonl(root / "pairs.jsonl", records)
    return root / "pairs.jsonl", root / "feats"


def add_setup_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that say which model, data and device to time (shared with attention_host.py)."""
    parser.add_argument("--arch", default="raiv-late")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16"))
    parser.add_argument("--examples", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")


def set_up(args, root: Path):
    """torch's threads, the inputs under ``root``, a trainer for them and its epoch of prebuilt device batches."""
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    inputs, features = make_inputs(root, args.examples, args.dim, args.frames)
    if args.arch in ("navero", "videodistill", "vlm"):
        _as_video_text(inputs)
    trainer = build_trainer(args, inputs, features, root / "run")
    return trainer, prebuilt_batches(trainer)


def build_trainer(args, inputs: Path, features: Path, out: Path):
    from raivtools.train.loop import TrainConfig, Trainer

    config = TrainConfig(arch=args.arch, inputs=[str(inputs)], features=str(features), out=str(out), epochs=1,
                         batch_size=args.batch_size, precision=args.precision, device=args.device, seed=0)
    fields = {"width": args.width, "heads": max(1, args.width // 64), "text_layers": args.layers, "dropout": 0.1}
    fields.update({"fusion_layers": args.layers} if args.arch != "navero" else {"fusion_layers": 1})
    trainer = Trainer(config, fields)
    trainer._prepare_run_dir()
    return trainer


def time_loop(trainer) -> tuple[float, int]:
    """Seconds for one epoch of the loop's stepping (no epoch-end work), and its optimizer steps."""
    trainer.batch_in_epoch = 0
    trainer.epoch_losses = []
    before = trainer.step
    _sync(trainer.device)
    start = time.perf_counter()
    trainer._train_epoch(None)
    _sync(trainer.device)
    return time.perf_counter() - start, trainer.step - before


def time_bare(trainer, batches) -> float:
    """Seconds for forward + backward + AdamW step over pre-built device batches (the same model and batches)."""
    from raivtools.score import autocast_context

    model, optimizer = trainer.model, trainer.optimizer
    model.train()
    _sync(trainer.device)
    start = time.perf_counter()
    for batch in batches:
        with autocast_context(trainer.device, trainer.config.precision):
            loss = model(batch)["loss"]
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    _sync(trainer.device)
    return time.perf_counter() - start


def prebuilt_batches(trainer):
    from raivtools.seeding import rng_for
    from raivtools.train.data import move_batch

    examples = trainer.data.epoch_examples(trainer.config, trainer.epoch, trainer.features)
    batches = trainer._epoch_batches(examples)
    return [move_batch(trainer.collate([examples[p] for p in positions], rng_for(0, "frames", trainer.epoch, n)),
                       trainer.device) for n, positions in enumerate(batches)]


def _warm_up(device) -> None:
    """Two seconds of matrix products, so an idle GPU's clocks are up before anything is timed."""
    import torch

    if device.type != "cuda":
        return
    x = torch.randn(4096, 4096, device=device)
    start = time.perf_counter()
    while time.perf_counter() - start < 2:
        x @ x
    _sync(device)


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_setup_arguments(parser)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--variants", action="store_true",
                        help="then time the loop's ways of building batches side by side: in this thread or a "
                             "background one, pinned or not (the loop uses a thread on a CPU, this thread on a GPU); "
                             "on a GPU also the loss read back as before, waiting for the whole queue")
    parser.add_argument("--host-breakdown", action="store_true",
                        help="then print the host's time per step, phase by phase, for one loop epoch")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trainer, batches = set_up(args, Path(tmp))
        _warm_up(trainer.device)
        time_bare(trainer, batches[:2])  # warm-up: allocator, kernels, optimizer state
        # each loop epoch is set against the bare epochs just before and after it: the machine's pace drifts
        loop_times, bare_times, ratios = [], [time_bare(trainer, batches)], []
        for _ in range(args.repeats):
            loop_seconds, steps = time_loop(trainer)
            loop_times.append(loop_seconds)
            bare_times.append(time_bare(trainer, batches))
            ratios.append(loop_seconds / ((bare_times[-2] + bare_times[-1]) / 2))
        start = time.perf_counter()
        trainer.validate()
        trainer._save_last()
        epoch_end = time.perf_counter() - start
        variants = compare_batch_building(trainer, batches, args.repeats) if args.variants else {}
        phases = host_breakdown(trainer) if args.host_breakdown else {}
    # the fastest of interleaved repeats: on a shared machine other work only ever adds time
    loop, bare = min(loop_times), min(bare_times)
    examples = sum(len(b["index"]) for b in batches)
    print(f"arch {args.arch}, device {trainer.device}, precision {args.precision}, {len(batches)} batches of "
          f"{args.batch_size}, width {args.width}, {args.repeats} interleaved repeats")
    print(f"bare forward+backward+step: {bare:.3f} s/epoch  {examples / bare:.1f} examples/s")
    print(f"loop (raiv train):          {loop:.3f} s/epoch  {examples / loop:.1f} examples/s")
    print(f"epoch-end validation+checkpoint (not in the loop time): {epoch_end:.3f} s")
    median = statistics.median(ratios)
    print(f"loop / bare ratio: {median:.3f} median of {len(ratios)} bracketed epochs (range {min(ratios):.3f}-"
          f"{max(ratios):.3f}), {loop / bare:.3f} fastest / fastest  (overhead {100 * (median - 1):+.1f}%, "
          "goal <= +10%)")
    if variants:
        print(f"loop variants, loop / bare, medians of {args.repeats} interleaved epochs:")
        for name, ratio in variants.items():
            print(f"  {name:32s} {ratio:.3f}")
    if phases:
        steps = phases.pop("steps")
        print(f"host time per step, one loop epoch built in this thread ({steps} steps), microseconds:")
        for name, seconds in phases.items():
            print(f"  {name:58s} {1e6 * seconds / steps:9.1f}")


def compare_batch_building(trainer, batches, repeats: int) -> dict[str, float]:
    """The loop's median epoch time over the bare step's, for each way of building its batches (and, on a GPU,
    with the step's loss read back as before: a blocking read that waits for everything queued)."""
    import torch

    from raivtools.io.prefetch import prefetch
    from raivtools.train import loop

    collate, ahead, read = loop.Trainer._collate, loop.Trainer._batches_ahead, loop.Trainer._read_pending_loss

    def pinned(self, examples, positions, number):
        return {key: value.pin_memory() for key, value in collate(self, examples, positions, number).items()}

    def read_after_the_queue(self):
        if self.pending_loss is not None:
            torch.cuda.current_stream(self.device).synchronize()  # what tolist() of the device tensor waited for
        read(self)

    ways = {"this thread": (collate, lambda self, built: built, read),
            "background thread": (collate, lambda self, built: prefetch(built), read),
            "this thread, pinned": (pinned, lambda self, built: built, read),
            "background thread, pinned": (pinned, lambda self, built: prefetch(built), read),
            "this thread, blocking loss read": (collate, lambda self, built: built, read_after_the_queue)}
    if trainer.device.type != "cuda":
        ways = dict(list(ways.items())[:2])  # pinning and the loss read's event are for a GPU
    times: dict[str, list[float]] = {name: [] for name in ["bare", *ways]}
    try:
        for _ in range(repeats):
            times["bare"].append(time_bare(trainer, batches))
            for name, patches in ways.items():
                loop.Trainer._collate, loop.Trainer._batches_ahead, loop.Trainer._read_pending_loss = patches
                times[name].append(time_loop(trainer)[0])
    finally:
        loop.Trainer._collate, loop.Trainer._batches_ahead, loop.Trainer._read_pending_loss = collate, ahead, read
    bare = statistics.median(times.pop("bare"))
    return {name: statistics.median(seconds) / bare for name, seconds in times.items()}


#: the loop's phases timed by --host-breakdown: (label, object, attribute name); patched for one epoch
def _phases(trainer):
    import torch

    from raivtools.train import loop

    return [("build the batch (collate)", loop.Trainer, "_collate"),
            ("move it to the device (move_batch)", loop, "move_batch"),
            ("clip gradients (clip_grad_norm_)", torch.nn.utils, "clip_grad_norm_"),
            ("optimizer step (scaler.step)", trainer.scaler, "step"),
            ("scheduler step", trainer.scheduler, "step"),
            ("start the loss copy (HostResult.start)", loop.HostResult, "start"),
            ("read the previous loss (waits for the device)", loop.Trainer, "_read_pending_loss"),
            ("log / checkpoint checks (_after_step)", loop.Trainer, "_after_step")]


def host_breakdown(trainer) -> dict[str, float]:
    """Host seconds per phase of one loop epoch in this thread (as on a GPU), and the rest of the step (the
    model's forward and backward launches, autocast, zeroing gradients); ``steps`` counts the steps."""
    from raivtools.train import loop

    spent: dict[str, float] = {}
    patched = []
    for label, owner, name in _phases(trainer):
        raw = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
        spent[label] = 0.0

        def timed(*args, _call=getattr(owner, name), _label=label, **kwargs):
            start = time.perf_counter()
            try:
                return _call(*args, **kwargs)
            finally:
                spent[_label] += time.perf_counter() - start

        # a classmethod is patched as a static one around the bound original; methods bind as before
        setattr(owner, name, staticmethod(timed) if isinstance(raw, classmethod) else timed)
        patched.append((owner, name, raw))
    ahead = loop.Trainer._batches_ahead
    loop.Trainer._batches_ahead = lambda self, built: built
    try:
        seconds, steps = time_loop(trainer)
    finally:
        loop.Trainer._batches_ahead = ahead
        for owner, name, original in reversed(patched):
            setattr(owner, name, original)
    spent["the rest (forward/backward launches, autocast, zero_grad)"] = seconds - sum(spent.values())
    spent["steps"] = steps
    return spent


def _as_video_text(path: Path) -> None:
    """Turns the pair records into video-text records with negatives (for --arch navero)."""
    from raivtools.io.records import iter_records, write_jsonl

    records = [{"id": r["left"]["id"], "caption": r["statement"], "negative": r["statement"].replace("In both", "In neither"),
                "split": "train"} for r in iter_records([str(path)])]
    write_jsonl(path, records)


if __name__ == "__main__":
    main()
