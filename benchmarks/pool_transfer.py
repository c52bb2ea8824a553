"""Moving decoded frames from a worker process to the main process: the pool's out-of-band transfer (arrays
written and read straight from their memory) vs ``Connection.send``/``recv`` of the same result, side by side.

Prints, per frame size, the wall time per result and the CPU time of each side, and the ratios.

    PYTHONPATH=. python benchmarks/pool_transfer.py [--results 200]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SIZES = {"4 x 720p": (4, 720, 1280, 3), "4 x 224 px": (4, 224, 224, 3), "16 x 320x240": (16, 240, 320, 3)}


def _sender(conn, shape: tuple[int, ...], results: int, out_of_band: bool) -> None:
    from raivtools.media.decode import DecodedFrames
    from raivtools.media.pool import TaskResult, _pickled, _send_result

    frames = np.random.default_rng(0).integers(0, 255, shape, dtype=np.uint8)
    began = time.process_time()
    for _ in range(results):
        # a fresh array per result, as a decoder returns
        result = TaskResult(value=DecodedFrames(frames.copy(), np.zeros(shape[0], np.float32), "decord"))
        if out_of_band:
            _send_result(conn, *_pickled(result))
        else:
            conn.send(result)
    conn.send(time.process_time() - began)


def measure(shape: tuple[int, ...], results: int, out_of_band: bool) -> tuple[float, float, float]:
    """(wall s, main CPU s, worker CPU s) per result."""
    from raivtools.media.pool import _receive_result

    context = multiprocessing.get_context("spawn")
    mine, theirs = context.Pipe(duplex=True)
    worker = context.Process(target=_sender, args=(theirs, shape, results, out_of_band), daemon=True)
    worker.start()
    theirs.close()
    first = mine.recv() if not out_of_band else _receive_result(mine)  # start-up is not timed
    began, cpu = time.perf_counter(), time.process_time()
    for _ in range(results - 1):
        result = _receive_result(mine) if out_of_band else mine.recv()
        assert result.value.frames.shape == first.value.frames.shape
    wall, main_cpu = time.perf_counter() - began, time.process_time() - cpu
    worker_cpu = mine.recv()
    worker.join()
    return wall / (results - 1), main_cpu / (results - 1), worker_cpu / results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=200)
    args = parser.parse_args()
    for label, shape in SIZES.items():
        megabytes = np.prod(shape) / 1e6
        rows = {}
        for name, out_of_band in (("Connection.send", False), ("out of band", True)):
            rows[name] = measure(shape, args.results, out_of_band)
            wall, main_cpu, worker_cpu = rows[name]
            print(f"{label:>13} ({megabytes:5.1f} MB), {name:<15}: {1000 * wall:6.2f} ms/result, CPU main "
                  f"{1000 * main_cpu:6.2f} ms, worker {1000 * worker_cpu:6.2f} ms")
        old, new = rows["Connection.send"], rows["out of band"]
        print(f"{'':>13} ratio (Connection.send / out of band): wall {old[0] / new[0]:.1f}x, "
              f"CPU main {old[1] / new[1]:.1f}x, worker {old[2] / new[2]:.1f}x")


if __name__ == "__main__":
    main()
