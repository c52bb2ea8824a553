"""How fast `raiv synth` makes clips: 1 worker against 2 workers, side by side in one run.

Usage (from the repository root):

    PYTHONPATH=. python benchmarks/synth_speed.py --n 300

Prints the seconds and clips/s for each worker count, the speed-up ratio (2 workers / 1 worker), and the
time 1000 clips would take at the faster rate. All items are clips (``image_fraction=0``), the slow kind.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time

from raivtools.synth import SynthConfig, generate


def time_run(config: SynthConfig, workers: int) -> float:
    """Seconds to make every item of ``config`` with ``workers`` processes (pool start-up included)."""
    out = tempfile.mkdtemp(prefix="synth-bench-")
    try:
        began = time.perf_counter()
        count = sum(1 for _ in generate(config, out, workers=workers))
        seconds = time.perf_counter() - began
    finally:
        shutil.rmtree(out)
    assert count == config.n
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300, help="clips per run")
    parser.add_argument("--size", type=int, default=96, help="frame side in pixels")
    parser.add_argument("--frames", type=int, default=24, help="frames per clip")
    args = parser.parse_args()
    config = SynthConfig(n=args.n, seed=0, image_fraction=0.0, frames=args.frames, size=args.size)
    results = {workers: time_run(config, workers) for workers in (1, 2)}
    for workers, seconds in results.items():
        print(f"{workers} worker(s): {args.n} clips in {seconds:.2f} s = {args.n / seconds:.1f} clips/s")
    print(f"speed-up 2 workers / 1 worker: {results[1] / results[2]:.2f}x")
    best = min(results.values()) / args.n
    print(f"1000 clips at the faster rate: {1000 * best:.0f} s")


if __name__ == "__main__":
    main()
