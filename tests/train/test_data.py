"""Records -> examples -> batches: field checks, frame sampling, bucketing, the per-rank split, the collator."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from raivtools.io.errors import InputError
from raivtools.io.store import ArrayStore, shard_name
from raivtools.models.layers import TextTokenizer
from raivtools.train.data import (
    Collator,
    Example,
    FeatureSource,
    bucketed_batches,
    examples_for,
    move_batch,
    sample_frame_indices,
    sample_frame_indices_of,
    shard_batches,
    usable,
)


def located(records, name="in.jsonl"):
    return [(name, number, record) for number, record in enumerate(records, start=1)]


def test_pair_and_reasoning_examples(world):
    records = world.pair_records(8, "train", reason=True)
    _, pairs = examples_for("pairs", located(records))
    assert len(pairs) == 8 and pairs[0].media == (records[0]["left"]["id"], records[0]["right"]["id"])
    assert pairs[0].label == 1.0 and pairs[1].label == 0.0
    _, choices = examples_for("reason", located(records))
    assert len(choices) == 3 * sum("reason" in r for r in records)
    first = [e for e in choices if e.index == 1]
    assert [e.label for e in first] == [float(i == records[1]["reason"]["answer"]) for i in range(3)]
    assert first[0].text == records[1]["statement"] + " " + records[1]["reason"]["choices"][0]


def test_missing_field_names_file_and_line(world):
    records = world.pair_records(3, "train")
    del records[2]["statement"]
    with pytest.raises(InputError, match=r"in\.jsonl:3: record 'train-2' has no 'statement'"):
        examples_for("pairs", located(records))
    with pytest.raises(InputError, match=r"in\.jsonl:1: .*'caption'"):
        examples_for("video-text", located([{"id": "x"}]))
    bad = world.pair_records(1, "train")
    bad[0]["left"] = "m001"
    with pytest.raises(InputError, match="'left' must be an object"):
        examples_for("pairs", located(bad))


def test_video_keys_group_captions_of_the_same_video():
    records = [{"id": "v1", "caption": "a"}, {"id": "v2", "caption": "b"}, {"id": "v1", "caption": "c"}]
    _, examples = examples_for("video-text", located(records))
    assert [e.video_key for e in examples] == [0, 1, 0]


def test_unicode_text_and_missing_features(feature_store, world):
    features = FeatureSource(str(feature_store))
    records = world.video_text_records("train", ["m001", "m002"])
    records[0]["caption"] = "ein grünes Würfelchen — 緑の立方体"
    records.append({"id": "not-there", "caption": "x"})
    _, examples = examples_for("video-text", located(records))
    kept, problems = usable(examples, features)
    assert [e.media[0] for e in kept] == ["m001", "m002"]
    assert problems == {2: f"no features for 'not-there' in {feature_store}"}
    collate = Collator(features, TextTokenizer(32), 4, 1)
    batch = collate(kept)
    assert batch["text_ids"].shape[0] == 2 and bool(batch["text_mask"][0].sum() > 3)


def test_frame_sampling_per_interval():
    assert sample_frame_indices(8, 4, None).tolist() == [0, 2, 4, 6]
    assert sample_frame_indices(3, 4, None).tolist() == [0, 1, 2]
    rng = np.random.default_rng(0)
    for _ in range(20):
        picked = sample_frame_indices(12, 4, rng)
        assert [lo <= p < lo + 3 for p, lo in zip(picked, (0, 3, 6, 9))] == [True] * 4



@pytest.mark.parametrize("wanted", [1, 4, 5])
def test_frame_sampling_of_a_batch_draws_what_a_call_each_would(wanted):
    counts = [1, 3, 4, 5, 6, 9, 12, 16, 17, 33, 4, 100]
    one_by_one, together = np.random.default_rng(7), np.random.default_rng(7)
    expected = [sample_frame_indices(count, wanted, one_by_one) for count in counts]
    got = sample_frame_indices_of(counts, wanted, together)
    assert [g.tolist() for g in got] == [e.tolist() for e in expected]
    assert together.random() == one_by_one.random()  # the generator is left where the calls leave it
    middle = sample_frame_indices_of(counts, wanted, None)
    assert [m.tolist() for m in middle] == [sample_frame_indices(c, wanted, None).tolist() for c in counts]
    assert sample_frame_indices_of([2, 3], 4, np.random.default_rng(0))[1].tolist() == [0, 1, 2]


def _store_of(path, arrays):
    ArrayStore.create(path, meta={"kind": "features"}).write_shard(shard_name(0), {k: {"frames": v} for k, v in arrays.items()})
    return FeatureSource(str(path))


@pytest.mark.parametrize("pixels", [False, True])
def test_collator_frames_are_each_inputs_sampled_frames_padded(tmp_path, pixels):
    rng = np.random.default_rng(0)
    shape = (6, 5, 3) if pixels else (8,)
    arrays = {f"v{c}": (rng.integers(0, 256, (c, *shape), dtype=np.uint8) if pixels else
                        rng.normal(size=(c, *shape)).astype(np.float16)) for c in (1, 3, 6, 11)}
    features = _store_of(tmp_path / "f", arrays)
    media = [("v1", "v11"), ("v6", "v3"), ("v11", "v11"), ("v3", "v1")]
    examples = [Example(index=i, media=m, text="ü " * i, label=1.0) for i, m in enumerate(media)]
    batch = Collator(features, TextTokenizer(32), 4, 2)(examples, np.random.default_rng(3))
    drawn = np.random.default_rng(3)
    assert batch["frames"].dtype == (torch.uint8 if pixels else torch.float16)  # the store's, until moved
    assert move_batch(batch, "cpu")["frames"].dtype == (torch.uint8 if pixels else torch.float32)
    assert batch["frames"].shape == (4, 2, 4, *shape)
    for b, pair in enumerate(media):
        for v, media_id in enumerate(pair):
            picked = sample_frame_indices(len(arrays[media_id]), 4, drawn)
            n = len(picked)
            assert batch["frame_mask"][b, v].tolist() == [True] * n + [False] * (4 - n)
            np.testing.assert_array_equal(batch["frames"][b, v, :n].numpy(), arrays[media_id][picked])
            assert not batch["frames"][b, v, n:].any()
    lengths = batch["text_mask"].sum(1).tolist()
    assert lengths == [2, 3, 4, 5]  # start, one "ü" a record, end
    assert batch["text_ids"][0].tolist()[:2] == [49406, 49407] and not batch["text_ids"][0, 2:].any()

def test_bucketed_batches_cover_every_example_once_and_group_lengths():
    lengths = list(np.random.default_rng(0).integers(3, 60, size=203))
    batches = bucketed_batches(lengths, 16, np.random.default_rng(1), bucket_batches=4)
    flat = sorted(i for batch in batches for i in batch)
    assert flat == list(range(203))
    assert batches == bucketed_batches(lengths, 16, np.random.default_rng(1), bucket_batches=4)
    spread = np.mean([np.ptp([lengths[i] for i in b]) for b in batches])
    random_spread = np.mean([np.ptp(np.asarray(lengths)[b]) for b in np.array_split(np.arange(203), 13)])
    assert spread < random_spread / 2  # bucketing pads much less than random batches
    ordered = bucketed_batches(lengths, 16, None)
    assert [lengths[i] for b in ordered for i in b] == sorted(lengths)


def test_shard_batches_split_evenly_across_ranks():
    batches = [[i] for i in range(7)]
    shards = [shard_batches(batches, rank, 3) for rank in range(3)]
    assert [len(s) for s in shards] == [3, 3, 3]  # padded by wrapping around
    assert sorted({b[0] for s in shards for b in s}) == list(range(7))  # every batch on some rank
    assert shards[0] == [[0], [3], [6]] and shards[1] == [[1], [4], [0]]
    assert shard_batches(batches, 0, 1) == batches
    assert shard_batches([], 1, 2) == []


def test_collator_pads_frames_and_texts(feature_store, world):
    features = FeatureSource(str(feature_store))
    records = world.pair_records(4, "train")
    records[0]["left"]["id"] = "m000"  # an image (1 frame)
    _, examples = examples_for("pairs", located(records))
    batch = Collator(features, TextTokenizer(32), 4, 2)(examples)
    assert batch["frames"].shape == (4, 2, 4, 16)
    assert batch["frame_mask"][0, 0].tolist() == [True, False, False, False]
    assert batch["labels"].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert "neg_ids" not in batch
    np.testing.assert_allclose(batch["frames"][0, 0, 0].numpy(), features.get("m000")[0], rtol=1e-6)


def test_collator_negatives(feature_store, world):
    features = FeatureSource(str(feature_store))
    records = world.video_text_records("train", ["m001", "m002", "m003"])
    records[1]["negative"] = None
    _, examples = examples_for("video-text", located(records))
    batch = Collator(features, TextTokenizer(32), 2, 1)(examples)
    assert batch["has_neg"].tolist() == [True, False, True]
    assert batch["frames"].shape[:3] == (3, 1, 2) and "labels" not in batch


def test_feature_source_reads_dim_and_rejects_non_store(tmp_path, feature_store):
    assert FeatureSource(str(feature_store)).dim == 16
    with pytest.raises(InputError, match="not a raiv store"):
        FeatureSource(str(tmp_path))
