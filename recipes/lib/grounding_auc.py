"""How well a RAIV run's matching head (``--task itm``) grounds pair statements in one video.

For each True pair statement of an "only left / only right / both / neither" template, the statement's fact is
present in a side or not (the template says which); each (side's video, statement) is scored with the run's
one-input matching head, and the AUC of present vs absent is printed, overall and per template family.

    python recipes/lib/grounding_auc.py runs/itm pairs.jsonl feats
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from raivtools.models.layers import TextTokenizer
from raivtools.score import predict
from raivtools.train.checkpoint import load_run_model
from raivtools.train.data import Collator, Example, FeatureSource

PRESENCE = {"only-left": (1, 0), "only-right": (0, 1), "both": (1, 1), "neither": (0, 0)}


def presence(template: str) -> tuple[int, int] | None:
    """(left, right) presence of the fact a True statement of this template states, or None."""
    return next((sides for claim, sides in PRESENCE.items() if claim in template), None)


def auc(scores: np.ndarray, present: np.ndarray) -> float:
    """P(score of a present fact > score of an absent one), ties counted half."""
    pos, neg = scores[present == 1], scores[present == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    return float((pos[:, None] > neg[None]).mean() + 0.5 * (pos[:, None] == neg[None]).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run")
    parser.add_argument("pairs")
    parser.add_argument("features")
    args = parser.parse_args()
    model, _ = load_run_model(args.run, "last")
    collate = Collator(FeatureSource(args.features), TextTokenizer(model.config.context_length),
                       model.config.max_frames, 1)
    examples, present, families = [], [], []
    with open(args.pairs, encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            sides = presence(record["template"]) if record["label"] else None
            for side, is_present in zip(("left", "right"), sides or ()):
                examples.append(Example(len(examples), (record[side]["id"],), record["statement"]))
                present.append(is_present)
                families.append(record["template"].split("-")[0])
    scores = predict(model, examples, collate, 64, "cpu")["score"]
    present_array, family_array = np.array(present), np.array(families)
    print(f"all\t{len(scores)}\t{auc(scores, present_array):.3f}")
    for family in sorted(set(families)):
        chosen = family_array == family
        print(f"{family}\t{int(chosen.sum())}\t{auc(scores[chosen], present_array[chosen]):.3f}")


if __name__ == "__main__":
    main()
