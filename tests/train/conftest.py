"""Fixtures for training and scoring tests: a tiny random feature store, hand-written records in the contract
formats, and a small learnable "coloured things" world (each media item shows one colour and one shape; its
frame features are the colour's and the shape's prototypes plus noise)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from raivtools.io.store import ArrayStore, shard_name
from tests.factories import write_jsonl

COLOURS = ("red", "blue", "green", "yellow")
SHAPES = ("ball", "cube", "cone", "ring")
VERBS = {"ball": "roll", "cube": "sit", "cone": "stand", "ring": "spin"}  # each shape's action in srl_records

#: litgpt-style tiny settings every test model uses (2 layers, width 32)
TINY = {"width": 32, "heads": 2, "text_layers": 2, "mlp_ratio": 2.0, "dropout": 0.0, "context_length": 32}


def write_feature_store(root: Path, features: dict[str, np.ndarray], shard_size: int = 64) -> Path:
    """Writes ``{media id: [K, D] array}`` as a feature store (``frames`` float16), as ``raiv encode`` does."""
    dim = next(iter(features.values())).shape[-1] if features else 0
    writer = ArrayStore.create(root, meta={"kind": "features", "model": "test", "pretrained": "", "embed_dim": dim})
    items = list(features.items())
    for number, start in enumerate(range(0, len(items), shard_size)):
        chunk = {media_id: {"frames": array.astype(np.float16)} for media_id, array in items[start:start + shard_size]}
        writer.write_shard(shard_name(number), chunk)
    return root


class World:
    """Media items with a colour and a shape, and their features."""

    def __init__(self, n_media: int = 40, frames: int = 4, dim: int = 16, seed: int = 0, noise: float = 0.3):
        rng = np.random.default_rng(seed)
        colour_protos = rng.normal(size=(len(COLOURS), dim))
        shape_protos = rng.normal(size=(len(SHAPES), dim))
        self.items: dict[str, tuple[str, str]] = {}
        self.features: dict[str, np.ndarray] = {}
        for i in range(n_media):
            colour, shape = i % len(COLOURS), (i // len(COLOURS)) % len(SHAPES)
            media_id = f"m{i:03d}"
            self.items[media_id] = (COLOURS[colour], SHAPES[shape])
            count = 1 if i % 5 == 0 else frames  # some images (one-frame videos)
            base = colour_protos[colour] + shape_protos[shape]
            self.features[media_id] = base + noise * rng.normal(size=(count, dim))

    def by_colour(self, colour: str) -> list[str]:
        return [m for m, (c, _) in self.items.items() if c == colour]

    def store(self, root: Path) -> Path:
        return write_feature_store(root, self.features)

    def pair_records(self, n: int, split: str, seed: int = 1, reason: bool = False) -> list[dict]:
        """RAIV pair records "In both, the thing is <colour>." (true iff both items have that colour)."""
        rng = np.random.default_rng(seed)
        records = []
        for i in range(n):
            colour = COLOURS[rng.integers(len(COLOURS))]
            other = COLOURS[(COLOURS.index(colour) + 1 + rng.integers(len(COLOURS) - 1)) % len(COLOURS)]
            case = 0 if i % 2 == 0 else 1 + (i // 2) % 3  # half (c,c) true; else (c,o), (o,c) or (o,o) false
            left_colour = colour if case in (0, 1) else other
            right_colour = colour if case in (0, 2) else other
            left = self.by_colour(left_colour)[rng.integers(len(self.by_colour(left_colour)))]
            right = self.by_colour(right_colour)[rng.integers(len(self.by_colour(right_colour)))]
            record = {
                "id": f"{split}-{i}", "kind": "vid-vid", "left": {"id": left, "video": f"{left}.mp4"},
                "right": {"id": right, "video": f"{right}.mp4"}, "statement": f"In both, the thing is {colour}.",
                "label": case == 0, "template": "both-colour", "split": split,
            }
            if reason and case != 0:
                choices = ["Only the left one is " + colour + ".", "Only the right one is " + colour + ".",
                           "Neither one is " + colour + "."]
                record["reason"] = {"choices": choices, "answer": case - 1}
            records.append(record)
        return records

    def video_text_records(self, split: str, ids: list[str] | None = None, seed: int = 2) -> list[dict]:
        """Video-text records "a <colour> <shape>" with a negative that changes the colour."""
        rng = np.random.default_rng(seed)
        records = []
        for media_id in ids or list(self.items):
            colour, shape = self.items[media_id]
            other = COLOURS[(COLOURS.index(colour) + 1 + rng.integers(len(COLOURS) - 1)) % len(COLOURS)]
            records.append({
                "id": media_id, "video": f"{media_id}.mp4", "caption": f"a {colour} {shape}", "split": split,
                "negative": f"a {other} {shape}", "neg_type": "attribute",
            })
        return records

    def srl_records(self, split: str, ids: list[str]) -> list[dict]:
        """COCO/VATEX-style records: a caption's semantic roles and objects for each media item."""
        records = []
        for media_id in ids:
            colour, shape = self.items[media_id]
            kind = "image" if self.features[media_id].shape[0] == 1 else "video"
            records.append({
                "id": media_id, kind: f"{media_id}.{'png' if kind == 'image' else 'mp4'}", "split": split,
                "caption": f"a {colour} {shape} {VERBS[shape]}s on a table",
                "srl": [{"verb": VERBS[shape], "sense": None, "roles": {"ARG1": f"a {colour} {shape}",
                                                                         "ARGM-LOC": "a table"}}],
                "objects": [shape, "table"],
            })
        return records


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def feature_store(tmp_path, world) -> Path:
    """A tiny random feature store of the world's media (dim 16, 1 or 4 frames each)."""
    return world.store(tmp_path / "feats")


@pytest.fixture
def pair_files(tmp_path, world) -> dict[str, Path]:
    train = world.pair_records(160, "train", seed=1, reason=True)
    val = world.pair_records(40, "val", seed=2, reason=True)
    return {"train": write_jsonl(tmp_path / "pairs.jsonl", train + val), "val": write_jsonl(tmp_path / "val.jsonl", val)}


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models run fastest on one thread, and the test machine's cores are shared."""
    import torch

    torch.set_num_threads(1)
