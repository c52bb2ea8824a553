"""Caption SRL against a hand-labelled set of COCO / MSR-VTT style captions, with the real English pipeline."""

from __future__ import annotations

import orjson

from raivtools.text.srl import doc_frames
from tests.text.conftest import DATA

TARGET = 0.9


def score(nlp) -> dict[str, float]:
    """Per gold frame: the verb found (by lemma, in order), and its ARG0 / ARG1 heads right (absent = None)."""
    gold = [orjson.loads(line) for line in (DATA / "srl_gold.jsonl").read_bytes().splitlines() if line.strip()]
    docs = nlp.pipe([item["caption"] for item in gold])
    total = verbs = arg0 = arg1 = 0
    for item, doc in zip(gold, docs):
        predicted = doc_frames(doc)
        used: set[int] = set()
        for want in item["frames"]:
            total += 1
            match = next((i for i, f in enumerate(predicted) if f.lemma == want["verb"] and i not in used), None)
            if match is None:
                continue
            used.add(match)
            frame = predicted[match]
            verbs += 1
            arg0 += frame.head("ARG0") == want["ARG0"]
            arg1 += frame.head("ARG1") == want["ARG1"]
    return {"captions": len(gold), "frames": total, "verb": verbs / total, "ARG0": arg0 / total, "ARG1": arg1 / total}


def test_gold_set_is_large_and_varied():
    gold = [orjson.loads(line) for line in (DATA / "srl_gold.jsonl").read_bytes().splitlines() if line.strip()]
    assert len(gold) >= 40
    captions = " ".join(item["caption"] for item in gold)
    assert sum(" by " in item["caption"] for item in gold) >= 5  # passives
    assert sum(len(item["frames"]) > 1 for item in gold) >= 8  # several verbs
    assert "Two " in captions and "People" in captions  # plural subjects


def test_accuracy_on_hand_labelled_captions(nlp):
    result = score(nlp)
    print(result)
    assert result["verb"] >= TARGET, result
    assert result["ARG0"] >= TARGET, result
    assert result["ARG1"] >= TARGET, result
