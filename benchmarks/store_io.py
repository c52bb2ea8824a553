"""Store shard I/O vs numpy's own .npz reading and writing, on the same shards, side by side in one run.

Reads: ``ArrayStore.get`` (one positioned read per array, straight into it) vs ``np.load(shard)[key]``.
Writes: the store's shard writer (an uncompressed zip laid out with ``struct``) vs ``np.savez`` of the same
arrays, both followed by an fsync. Opening: the store's ``struct`` parse of a shard's zip directory vs
``zipfile``'s. Two kinds of shard: 64 records of 4 frames (uint8, 224 px; what
``extract-frames`` writes) and 64 records of 4 x 512 float16 features (what ``encode`` writes).

    PYTHONPATH=. python benchmarks/store_io.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def shards() -> dict[str, dict[str, dict[str, np.ndarray]]]:
    rng = np.random.default_rng(0)
    return {
        "frames 64 x [4,224,224,3] uint8": {f"r{i}": {"frames": rng.integers(0, 255, (4, 224, 224, 3), dtype=np.uint8)}
                                            for i in range(64)},
        "features 64 x [4,512] float16": {f"r{i}": {"frames": rng.normal(size=(4, 512)).astype(np.float16)}
                                          for i in range(64)},
    }


def fastest(work, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)  # other work on a shared machine only ever adds time


def savez_with_fsync(path: Path, items: dict[str, dict[str, np.ndarray]]) -> None:
    arrays = {f"{n}.{field}": array for n, fields in enumerate(items.values()) for field, array in fields.items()}
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)
        handle.flush()
        os.fsync(handle.fileno())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    import zipfile

    from raivtools.io.store import ArrayStore, _plain_zip_members, shard_name

    with tempfile.TemporaryDirectory() as tmp:
        for label, items in shards().items():
            root = Path(tmp) / label.split()[0]
            writer = ArrayStore.create(root)
            ours_write = fastest(lambda: writer.write_shard(shard_name(0), items), args.repeats)
            numpy_write = fastest(lambda: savez_with_fsync(root / "numpy.npz", items), args.repeats)
            keys = [f"{n}.frames" for n in range(len(items))]

            def numpy_read() -> None:
                with np.load(root / "numpy.npz") as archive:
                    for key in keys:
                        archive[key]

            def ours_read() -> None:
                reader = ArrayStore(root)
                for record_id in items:
                    reader.get(record_id)

            shard = root / f"{shard_name(0)}.npz"

            def zipfile_open() -> None:
                with zipfile.ZipFile(shard) as archive:
                    archive.infolist()

            def ours_open() -> None:
                with open(shard, "rb") as handle:
                    _plain_zip_members(handle.fileno())

            ours_read()  # page cache warm for both files
            numpy_read()
            ours_r, numpy_r = fastest(ours_read, args.repeats), fastest(numpy_read, args.repeats)
            megabytes = sum(a.nbytes for fields in items.values() for a in fields.values()) / 1e6
            print(f"{label} ({megabytes:.1f} MB), fastest of {args.repeats}:")
            ours_o, zip_o = fastest(ours_open, args.repeats), fastest(zipfile_open, args.repeats)
            print(f"  open : zipfile {zip_o * 1e3:7.2f} ms  store {ours_o * 1e3:7.2f} ms  ratio {zip_o / ours_o:5.2f}x")
            print(f"  read : np.load {numpy_r * 1e3:7.2f} ms  store {ours_r * 1e3:7.2f} ms  ratio {numpy_r / ours_r:5.2f}x")
            print(f"  write: np.savez {numpy_write * 1e3:6.2f} ms  store {ours_write * 1e3:7.2f} ms  "
                  f"ratio {numpy_write / ours_write:5.2f}x")


if __name__ == "__main__":
    main()
