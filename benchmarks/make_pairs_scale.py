"""How `raiv make-pairs` scales: time(1M records) / time(100k records), and peak memory, side by side.

The claim (issue 3): time and memory grow linearly with the number of SRL records, so the ratio of the two
runs' wall times stays <= 12 (10x the records, plus slack for cache effects). Both runs are the real command
in a fresh process on synthetic SRL records (images and 5-event video segments; nouns with 20 adjective
variants so that neither size runs out of distinct val/test statements), with the default 2 pairs per item
and --reasoning; peak memory is each process's maximum resident set size. Wall time suffers from other load on
a shared machine; CPU time (user + system of the process) does not, so both ratios are printed.

    PYTHONPATH=. python benchmarks/make_pairs_scale.py                 # 100k vs 1M (a few minutes)
    PYTHONPATH=. python benchmarks/make_pairs_scale.py --small 20000 --factor 5
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from raivtools.pairs.synthetic import synthetic_srl_records  # noqa: E402


def write_records(path: Path, n: int, seed: int, adjectives: int) -> None:
    with open(path, "wb") as out:
        for record in synthetic_srl_records(n, seed=seed, adjectives=adjectives):
            out.write(orjson.dumps(record) + b"\n")


def run_make_pairs(path: Path, kind: str) -> tuple[float, float, float, int]:
    """(wall seconds, CPU seconds, peak RSS in MiB, pairs written) of one `raiv make-pairs` process."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "RAIV_PROGRESS": "0"}
    command = [sys.executable, "-m", "raivtools", "make-pairs", str(path), "--kind", kind, "--reasoning"]
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.PIPE, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        stderr = proc.stderr.read().decode()
        if status != 0:
            raise SystemExit(f"make-pairs failed:\n{stderr}")
        out.seek(0)
        pairs = sum(1 for _ in out)
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=100_000, help="records in the baseline run")
    parser.add_argument("--factor", type=int, default=10, help="the large run has factor x small records")
    parser.add_argument("--kind", default="vid-vid")
    parser.add_argument("--adjectives", type=int, default=20,
                        help="adjective variants per noun: a vocabulary rich enough that both sizes get all their pairs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        sizes = [args.small, args.small * args.factor]
        rows = []
        for n in sizes:
            path = Path(directory) / f"srl_{n}.jsonl"
            write_records(path, n, seed=1, adjectives=args.adjectives)
            seconds, cpu, peak_mib, pairs = run_make_pairs(path, args.kind)
            rows.append((n, seconds, cpu, peak_mib, pairs))
            print(f"{n:>10,} records: wall {seconds:8.1f} s  cpu {cpu:8.1f} s  peak RSS {peak_mib:8.0f} MiB  "
                  f"{pairs:>10,} pairs", flush=True)
            path.unlink()
    (n0, t0, c0, m0, _), (n1, t1, c1, m1, _) = rows
    print(f"wall-time ratio {n1:,}/{n0:,} records: {t1 / t0:.2f}  (claim: <= {1.2 * args.factor:.0f})")
    print(f"cpu-time ratio  {n1:,}/{n0:,} records: {c1 / c0:.2f}  (the same, robust to other load on the machine)")
    print(f"memory ratio    {n1:,}/{n0:,} records: {m1 / m0:.2f}  (peak RSS, includes the interpreter)")


if __name__ == "__main__":
    main()
