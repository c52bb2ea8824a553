"""Which frames of a window to keep.

The window ``[start, end)`` holds ``n`` decoded frames (counted from what decodes, never from container
metadata). It is split into ``K`` equal intervals of frame positions:

- ``middle``: the middle frame of each interval (test-time sampling in VindLU and RAIV);
- ``random``: one frame drawn uniformly in each interval (training-time sampling), seeded per record;
- ``uniform``: ``K`` evenly spaced frames from the first to the last frame of the window.

When the window has fewer than ``K`` frames some frames repeat, so every item has exactly ``K`` frames.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SAMPLING_MODES = ("uniform", "middle", "random")


def frames_in_window(times: Sequence[float], start: float, end: float | None) -> np.ndarray:
    """Positions (into ``times``) of the frames whose timestamp lies in ``[start, end)``.

    Args:
        times: presentation time of every decoded frame, in seconds, ascending.
        start: window start in seconds.
        end: window end in seconds, or None for the end of the video.
    """
    stamps = np.asarray(times, dtype=np.float64)
    keep = stamps >= start - 1e-6
    if end is not None:
        keep &= stamps < end - 1e-6
    return np.flatnonzero(keep)


def sample_positions(n: int, k: int, mode: str, rng: np.random.Generator | None = None) -> np.ndarray:
    """``k`` positions in ``range(n)`` chosen by ``mode`` (see the module docstring).

    Args:
        n: how many frames the window holds (at least 1).
        k: how many to keep (at least 1).
        mode: one of :data:`SAMPLING_MODES`.
        rng: the generator for ``random`` (seeded per record by the caller).

    Returns:
        int64 positions, ascending, length ``k``.
    """
    if n < 1 or k < 1:
        raise ValueError(f"need at least one frame and one sample, got n={n}, k={k}")
    if mode == "uniform":
        return np.rint(np.linspace(0, n - 1, k)).astype(np.int64)
    edges = np.linspace(0, n, k + 1)
    if mode == "middle":
        return np.minimum(((edges[:-1] + edges[1:]) / 2).astype(np.int64), n - 1)
    if mode == "random":
        if rng is None:
            raise ValueError("random sampling needs a seeded generator")
        # whole-frame intervals that do not overlap (VindLU's): with ceil ends, neighbours shared a frame and
        # could both draw it
        low = np.floor(edges[:-1]).astype(np.int64)
        high = np.maximum(np.floor(edges[1:]).astype(np.int64), low + 1)
        return np.minimum(rng.integers(low, high), n - 1)
    raise ValueError(f"unknown sampling {mode!r}; use one of {', '.join(SAMPLING_MODES)}")
