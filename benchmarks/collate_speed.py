"""Batch building: `raiv train`'s collator (one frame draw and one copy per batch) vs building the same batch an
input at a time (a frame draw per video and a copy per input, as before), side by side on the same batches.

On a GPU the training loop builds the next batch in its own thread while the device runs the step, so for small
launch-bound models its time is loop overhead (see train_loop_overhead.py). Both ways must give equal batches;
the script checks that before it times them.

Usage:
    PYTHONPATH=. python benchmarks/collate_speed.py [--arch navero] [--frames 16] [--batch-size 32] [--repeats 7]
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

from train_loop_overhead import add_setup_arguments, set_up  # noqa: E402


def input_at_a_time(collate):
    """The same collator building its frames, mask and text ids an input at a time (the baseline)."""
    from raivtools.train.data import Collator, sample_frame_indices

    class InputAtATime(Collator):
        def _frames(self, examples, rng):
            stored = [[self.features.get(m) for m in e.media[: self.visual_inputs]] for e in examples]
            chosen = [[sample_frame_indices(a.shape[0], self.max_frames, rng) for a in row] for row in stored]
            longest = max(len(c) for row in chosen for c in row)
            frames = np.zeros((len(examples), self.visual_inputs, longest, *stored[0][0].shape[1:]), np.float32)
            mask = np.zeros(frames.shape[:3], bool)
            for b, (row, picks) in enumerate(zip(stored, chosen)):
                for v, (array, pick) in enumerate(zip(row, picks)):
                    frames[b, v, : len(pick)] = array[pick]
                    mask[b, v, : len(pick)] = True
            return frames, mask, chosen

        def _texts(self, texts):
            encoded = [self.tokenizer.encode(text) for text in texts]
            ids = np.zeros((len(encoded), max(map(len, encoded))), np.int64)
            mask = np.zeros(ids.shape, bool)
            for row, tokens in enumerate(encoded):
                ids[row, : len(tokens)] = tokens
                mask[row, : len(tokens)] = True
            return ids, mask

    return InputAtATime(collate.features, collate.tokenizer, collate.max_frames, collate.visual_inputs, collate.tokens)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_setup_arguments(parser)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    from raivtools.seeding import rng_for

    with tempfile.TemporaryDirectory() as tmp:
        trainer, _ = set_up(args, Path(tmp))
        examples = trainer.data.epoch_examples(trainer.config, 0, trainer.features)
        batches = [[examples[p] for p in positions] for positions in trainer._epoch_batches(examples)]
        ways = {"input at a time": input_at_a_time(trainer.collate), "collator": trainer.collate}
        for number, batch in enumerate(batches):
            baseline, ours = (build(batch, rng_for(0, "frames", number)) for build in ways.values())
            assert baseline.keys() == ours.keys() and all(baseline[k].equal(ours[k]) for k in ours), number
        times: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(args.repeats):
            for name, build in ways.items():
                start = time.perf_counter()
                for number, batch in enumerate(batches):
                    build(batch, rng_for(0, "frames", number))
                times[name].append((time.perf_counter() - start) / len(batches))
    baseline, ours = (statistics.median(times[name]) for name in ways)
    print(f"arch {args.arch}, {len(batches)} batches of {args.batch_size}, {args.frames} frames a video, "
          f"{args.repeats} interleaved repeats (medians)")
    print(f"input at a time (baseline): {1e3 * baseline:.3f} ms/batch")
    print(f"collator:                   {1e3 * ours:.3f} ms/batch")
    print(f"baseline / collator: {baseline / ours:.2f}x")


if __name__ == "__main__":
    main()
