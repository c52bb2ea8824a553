"""Linear probes of a feature store against the toy benchmark's ground truth: what do the features carry?

For each fact of a toy item (the actor's colour, shape and size; the action; the place) a ridge classifier is
fitted on the training split's frame features (the K frames concatenated; a still's one frame repeated) and
scored on the other splits, next to the majority-class rate. With ``--oracle DIR`` it instead writes a feature
store whose features *are* the ground truth (one-hot facts plus noise), the upper bound a model could get from
any encoder.

    python recipes/lib/probe_features.py toy.jsonl feats
    python recipes/lib/probe_features.py toy.jsonl --oracle oracle_feats
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import numpy as np
import orjson

FACTS: dict[str, Callable[[dict[str, Any]], str]] = {
    "actor colour": lambda r: r["scene"]["shapes"][0]["color"],
    "actor shape": lambda r: r["scene"]["shapes"][0]["shape"],
    "actor size": lambda r: r["scene"]["shapes"][0]["size"],
    "action": lambda r: r["scene"]["action"],
    "place": lambda r: r["scene"]["location"],
}


def ridge_probe(features: np.ndarray, labels: list[str], train: np.ndarray, strength: float) -> tuple[float, float]:
    """(held-out accuracy, majority-class rate) of a one-vs-rest ridge classifier on standardised features."""
    x = features.reshape(len(features), -1).astype(np.float64)
    x = (x - x[train].mean(0)) / (x[train].std(0) + 1e-6)
    classes = sorted(set(labels))
    y = np.array([classes.index(label) for label in labels])
    targets = np.eye(len(classes))[y]
    weights = np.linalg.solve(x[train].T @ x[train] + strength * np.eye(x.shape[1]), x[train].T @ targets[train])
    predicted = (x[~train] @ weights).argmax(1)
    return float((predicted == y[~train]).mean()), float(np.bincount(y[~train]).max() / (~train).sum())


def frame_features(store, record_id: str, frames: int) -> np.ndarray:
    array = np.asarray(store.get(record_id)["frames"], np.float32)
    return np.resize(array, (frames, *array.shape[1:])) if array.shape[0] != frames else array


def probe(records: list[dict[str, Any]], store_dir: str) -> None:
    from raivtools.io.store import ArrayStore

    store = ArrayStore(store_dir)
    frames = max(np.asarray(store.get(r["id"])["frames"]).shape[0] for r in records[:50])
    features = np.stack([frame_features(store, r["id"], frames) for r in records])
    train = np.array([r.get("split") == "train" for r in records])
    print(f"{store_dir}: {len(records)} items, {features.shape[1:]} features; held-out accuracy / majority rate")
    for name, fact in FACTS.items():
        accuracy, majority = ridge_probe(features, [fact(r) for r in records], train, features[0].size / 10)
        print(f"  {name:<13} {accuracy:5.2f} / {majority:4.2f}")


def write_oracle(records: list[dict[str, Any]], out: str, dim: int = 64, noise: float = 0.1) -> None:
    from raivtools import synth
    from raivtools.io.store import ArrayStore, iter_chunks, shard_name

    vocab = {"place": list(synth.BACKGROUNDS), "action": list(synth.VIDEO_ACTIONS + synth.IMAGE_VERBS),
             "shape": list(synth.SHAPES), "colour": list(synth.COLORS), "size": list(synth.SIZES)}
    rng = np.random.default_rng(0)

    def one_hot(group: str, value: str, offset: int, vector: np.ndarray) -> int:
        vector[offset + vocab[group].index(value)] = 1.0
        return offset + len(vocab[group])

    def oracle(record: dict[str, Any]) -> np.ndarray:
        scene, vector = record["scene"], np.zeros(dim, np.float32)
        offset = one_hot("action", scene["action"], one_hot("place", scene["location"], 0, vector), vector)
        for shape in scene["shapes"]:  # the actor first, then the reference shape: each its own slots
            offset = one_hot("shape", shape["shape"], offset, vector)
            offset = one_hot("colour", shape["color"], offset, vector)
            offset = one_hot("size", shape["size"], offset, vector)
        count = 1 if "image" in record else 4
        return (vector[None].repeat(count, 0) + noise * rng.standard_normal((count, dim))).astype(np.float16)

    writer = ArrayStore.create(out, meta={"kind": "features", "model": "oracle", "pretrained": "", "embed_dim": dim},
                               overwrite=True)
    for number, chunk in enumerate(iter_chunks(records, 64)):
        writer.write_shard(shard_name(number), {r["id"]: {"frames": oracle(r)} for r in chunk})
    print(f"{out}: ground-truth features of {len(records)} items")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", help="raiv synth records (with 'scene' and 'split')")
    parser.add_argument("store", nargs="?", help="feature store to probe")
    parser.add_argument("--oracle", metavar="DIR", help="write a ground-truth feature store instead")
    args = parser.parse_args()
    with open(args.records, "rb") as handle:
        records = [orjson.loads(line) for line in handle if line.strip()]
    if args.oracle:
        write_oracle(records, args.oracle)
    elif args.store:
        probe(records, args.store)
    else:
        parser.error("give a feature store to probe, or --oracle DIR")


if __name__ == "__main__":
    main()
