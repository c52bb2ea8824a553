"""Fixtures of the media tests: tiny videos, images, broken files and the tiny open_clip config on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.factories import make_image, make_video, tiny_open_clip_config


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    """A directory of real and broken media, made once per session."""
    root = tmp_path_factory.mktemp("media")
    make_video(root / "clip.mp4", frames=48, fps=12, size=(64, 48))  # 4 s, brightness grows with time
    make_video(root / "vidéo 视频.mp4", frames=24, fps=12, size=(48, 64), seed=1)  # unicode name, portrait
    make_image(root / "photo.png", size=(64, 48))
    (root / "empty.mp4").write_bytes(b"")
    (root / "garbage.mp4").write_bytes(bytes(range(256)) * 8)
    whole = (root / "clip.mp4").read_bytes()
    (root / "truncated.mp4").write_bytes(whole[: len(whole) // 2])  # index (moov) at the end: cut away
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    return root


@pytest.fixture(scope="session")
def tiny_clip_json(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "tiny-clip.json"
    path.write_text(json.dumps(tiny_open_clip_config()), encoding="utf-8")
    return path
