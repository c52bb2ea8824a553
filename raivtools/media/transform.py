"""Resizing sampled frames: short side to ``size`` then a centre crop, or short side only (``keep_aspect``)."""

from __future__ import annotations

import numpy as np


def output_shape(height: int, width: int, size: int, keep_aspect: bool) -> tuple[int, int]:
    """The (height, width) a ``height x width`` frame gets; ``size <= 0`` keeps the frame as it is."""
    if size <= 0:
        return height, width
    if keep_aspect:
        scale = size / min(height, width)
        return max(1, round(height * scale)), max(1, round(width * scale))
    return size, size


def scaled_shape(height: int, width: int, size: int, keep_aspect: bool) -> tuple[int, int]:
    """The (height, width) a frame is scaled to before the centre crop (short side == ``size``)."""
    if size <= 0:
        return height, width
    if keep_aspect:
        return output_shape(height, width, size, True)
    scale = size / min(height, width)
    return max(size, round(height * scale)), max(size, round(width * scale))


def resize_frames(frames: np.ndarray, size: int, keep_aspect: bool = False) -> np.ndarray:
    """Resizes ``[K,H,W,3]`` uint8 frames so the short side is ``size``, then centre-crops to a square.

    Args:
        frames: uint8 RGB frames of one item.
        size: target short side in pixels; ``0`` returns the frames unchanged.
        keep_aspect: only resize the short side, do not crop.

    Returns:
        uint8 ``[K,size,size,3]`` (or ``[K,h,w,3]`` with ``keep_aspect``), C-contiguous.
    """
    if size <= 0:
        return np.ascontiguousarray(frames)
    from PIL import Image

    height, width = frames.shape[1:3]
    scaled = scaled_shape(height, width, size, keep_aspect)
    top = (scaled[0] - size) // 2
    left = (scaled[1] - size) // 2
    if (height, width) == scaled:  # already scaled by the decoder: only the crop is left
        if keep_aspect:
            return np.ascontiguousarray(frames)
        return np.ascontiguousarray(frames[:, top: top + size, left: left + size])
    out = []
    for frame in frames:
        image = Image.fromarray(frame)
        if (height, width) != scaled:
            # reducing_gap pre-shrinks by an integer factor first: much faster on HD frames, same look
            image = image.resize((scaled[1], scaled[0]), Image.Resampling.BICUBIC, reducing_gap=3.0)
        if not keep_aspect:
            image = image.crop((left, top, left + size, top + size))
        out.append(np.asarray(image))
    return np.ascontiguousarray(np.stack(out))
