"""``--task itm``: METER's video-text matching pre-training of the RAIV fusion encoder, then pair fine-tuning."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from raivtools.io.errors import InputError
from raivtools.seeding import rng_for
from raivtools.train.data import FeatureSource
from raivtools.train.itm import CaptionMatcher
from raivtools.train.loop import TrainConfig, train
from tests.factories import write_jsonl
from tests.train.conftest import TINY


def located(records: list[dict]) -> list[tuple[str, int, dict]]:
    return [("captions.jsonl", i + 1, r) for i, r in enumerate(records)]


def test_each_caption_is_matched_and_mismatched_anew_each_epoch(world, feature_store):
    records = world.video_text_records("train")
    matcher = CaptionMatcher(located(records))
    features = FeatureSource(str(feature_store))
    first = matcher.examples(rng_for(0, "itm", 0), features)
    second = matcher.examples(rng_for(0, "itm", 1), features)
    assert len(first) == matcher.target == 2 * len(records)
    captions = {r["id"]: r["caption"] for r in records}
    for example in first:
        own = captions[example.media[0]]
        assert (example.text == own) == (example.label == 1.0)  # a mismatch never repeats the item's own caption
    assert [e.text for e in first if e.label == 0.0] != [e.text for e in second if e.label == 0.0]
    assert first == matcher.examples(rng_for(0, "itm", 0), features)  # seeded


def test_matcher_needs_captions(world):
    with pytest.raises(InputError, match="captions.jsonl:1"):
        CaptionMatcher(located([{"id": "m000", "statement": "no caption"}]))
    with pytest.raises(InputError, match="two different captions"):
        CaptionMatcher(located([{"id": "m000", "caption": "a red ball ✓"}, {"id": "m001", "caption": "a red ball ✓"}]))


@pytest.mark.parametrize("arch", ["raiv-late", "raiv-mid"])
def test_itm_learns_matching_then_fine_tunes_on_pairs(tmp_path, world, feature_store, arch):
    captions = world.video_text_records("train", list(world.items)[:32]) + world.video_text_records(
        "val", list(world.items)[32:])
    write_jsonl(tmp_path / "captions.jsonl", captions)
    settings = {**TINY, "fusion_layers": 1}
    config = TrainConfig(arch=arch, task="itm", inputs=[str(tmp_path / "captions.jsonl")], features=str(feature_store),
                         out=str(tmp_path / "itm"), epochs=16, batch_size=16, lr=1e-3, head_lr_mult=1, seed=0,
                         itm_candidates=1)
    train(config, settings)
    lines = [orjson.loads(line) for line in (tmp_path / "itm" / "metrics.jsonl").read_bytes().splitlines()]
    assert lines[-1]["train_loss"] < lines[0]["train_loss"]
    assert lines[-1]["val"]["loss"] < 0.65  # matched vs another item's caption: chance is ln 2 = 0.693
    assert lines[-1]["val"]["accuracy"] > 0.5
    assert (tmp_path / "itm" / "best.pt").exists()

    write_jsonl(tmp_path / "pairs.jsonl", world.pair_records(32, "train") + world.pair_records(8, "val", seed=2))
    fine_tune = TrainConfig(arch=arch, inputs=[str(tmp_path / "pairs.jsonl")], features=str(feature_store),
                            out=str(tmp_path / "pairs"), epochs=1, batch_size=16, init=str(tmp_path / "itm"))
    trainer = train(fine_tune)
    assert trainer.task == "pairs" and np.isfinite(trainer.epoch_losses or [0.0]).all()
    assert "accuracy" in orjson.loads((tmp_path / "pairs" / "metrics.jsonl").read_bytes().splitlines()[-1])["val"]


def test_itm_is_for_pair_models(tmp_path, world, feature_store):
    write_jsonl(tmp_path / "captions.jsonl", world.video_text_records("train"))
    config = TrainConfig(arch="navero", task="itm", inputs=[str(tmp_path / "captions.jsonl")],
                         features=str(feature_store), out=str(tmp_path / "run"), epochs=1)
    with pytest.raises(InputError, match="--task itm"):
        train(config, {**TINY, "fusion_layers": 1, "video_layers": 1, "embed_dim": 16})


def test_mismatches_share_words_with_the_caption_when_asked(world, feature_store):
    records = world.video_text_records("train")
    features = FeatureSource(str(feature_store))
    captions = {r["id"]: set(r["caption"].split()) for r in records}

    def mean_overlap(candidates: int) -> float:
        examples = CaptionMatcher(located(records), candidates).examples(rng_for(0, "itm", 0), features)
        return float(np.mean([len(captions[e.media[0]] & set(e.text.split())) for e in examples if e.label == 0.0]))

    assert mean_overlap(16) > mean_overlap(1) + 0.3  # "a red ball" is mismatched by "a red cube", not "a blue cone"
    assert mean_overlap(16) < 3  # and never by its own caption


def test_a_mismatch_is_never_another_caption_of_the_same_item(world, feature_store):
    # COCO / VATEX: several captions per media id; each of them matches the item, so none may be its mismatch
    records = [dict(record, caption=f"{record['caption']} {n}") for record in world.video_text_records("train")[:3]
               for n in ("seen", "shown", "filmed")]
    examples = CaptionMatcher(located(records), hard_candidates=4).examples(rng_for(0, "itm", 0),
                                                                           FeatureSource(str(feature_store)))
    own = {(r["id"], r["caption"]) for r in records}
    assert all(((e.media[0], e.text) in own) == (e.label == 1.0) for e in examples)


def test_matcher_needs_two_captioned_media_items():
    one_video = [{"id": "v1", "caption": "a man rides a horse"}, {"id": "v1", "caption": "someone on a horse"}]
    with pytest.raises(InputError, match="two media items"):  # was: each caption mismatched with the other
        CaptionMatcher(located(one_video))


def srl_caption_records(world) -> list[dict]:
    """The world's SRL records (as `raiv srl` writes them), one with a unicode object."""
    records = world.srl_records("train", list(world.items))
    unicode_item = records[1]
    colour, shape = world.items[unicode_item["id"]]
    unicode_item["caption"] = unicode_item["caption"].replace(shape, "crème brûlée")
    unicode_item["srl"][0]["roles"]["ARG1"] = f"a {colour} crème brûlée"
    unicode_item["objects"] = ["crème brûlée", "table"]
    return records


def test_records_with_roles_add_a_true_and_a_false_fact_statement(world, feature_store):
    from raivtools.text.english import gerund

    records = srl_caption_records(world)
    matcher = CaptionMatcher(located(records))
    examples = matcher.examples(rng_for(0, "itm", 0), FeatureSource(str(feature_store)))
    assert len(examples) == matcher.target == 4 * len(records)
    captions = {r["caption"] for r in records}
    facts = [e for e in examples if e.text not in captions]
    assert len(facts) == 2 * len(records)
    for example in facts:
        record = records[example.index]
        noun, verb = record["objects"][0], record["srl"][0]["verb"]
        own = noun in example.text or gerund(verb) in example.text
        # a false statement names another item's object or action, never one its own annotations mention
        if example.label == 0.0:
            assert not own, (example.text, record["caption"])
        else:
            assert own or example.text in ("There is a table.", "A table is present."), example.text
    assert any("crème brûlée" in e.text for e in facts)


def test_fact_statements_need_wellformed_roles(world):
    records = srl_caption_records(world)
    records[3]["srl"] = "not a list"
    with pytest.raises(InputError, match="'srl' must be a list"):
        CaptionMatcher(located(records))
    captions_only = [{k: v for k, v in r.items() if k not in ("srl", "objects")} for r in srl_caption_records(world)]
    assert CaptionMatcher(located(captions_only)).target == 2 * len(captions_only)  # no roles: captions only


def test_items_without_a_fact_add_only_their_caption_pair(world, feature_store):
    records = srl_caption_records(world)
    records[0]["srl"], records[0]["objects"] = [], []  # a caption the parser found no roles or objects in
    matcher = CaptionMatcher(located(records))
    examples = matcher.examples(rng_for(0, "itm", 0), FeatureSource(str(feature_store)))
    assert len(examples) == matcher.target == 4 * len(records) - 2
    assert [e.label for e in examples if e.index == 0] == [1.0, 0.0]


def test_captions_without_features_are_counted_once(tmp_path, world, feature_store, capsys):
    from raivtools.train.loop import load_data

    train_records = world.video_text_records("train", list(world.items)[:8])
    val_records = world.video_text_records("val", list(world.items)[8:12])
    train_records[1]["id"] = "gone"
    val_records[0]["id"] = val_records[2]["id"] = "gone"
    inputs = write_jsonl(tmp_path / "captions.jsonl", train_records + val_records)
    config = TrainConfig(arch="raiv-late", task="itm", inputs=[str(inputs)], features=str(feature_store),
                         out=str(tmp_path / "run"))
    data = load_data(config, "itm", FeatureSource(str(feature_store)))
    assert data.skipped == 1 and data.val_skipped == 2
    err = capsys.readouterr().err
    assert "1 of 8 training records have no features" in err and "captions.jsonl:2: record 'gone'" in err
    assert "2 of 4 validation records have no features" in err
    # the schedule is planned for the examples an epoch gives: the item without features makes none
    assert data.miner_items == data.miner.target == 2 * 7
    assert len(data.miner.examples(rng_for(0, "itm", 0), FeatureSource(str(feature_store)))) == data.miner_items
