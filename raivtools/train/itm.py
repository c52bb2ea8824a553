"""Video/image-text matching (ITM) pre-training of the RAIV fusion encoder: METER's pre-training objective.

The RAIV models start from METER, pre-trained with image-text matching (and MLM) on CC3M, SBU, COCO and VG
(seed 000 §4.1); "without pre-training the model performs very similar to a simple majority voting" (§4.3,
Tables 2-3), because one True/False label for two visual inputs is too sparse a signal to learn grounding from.
Where no METER checkpoint exists (the toy benchmark, or new features) ``raiv train --task itm`` pre-trains the
same co-attention encoder on captioned media: every epoch each caption is shown with its own video (match) and
with the caption of another item (no match, drawn anew each epoch, as METER draws its ITM negatives), one visual
input per pass, a matching head on METER's pooled output, BCE. Fine-tune (or run task-specific pre-training)
after it with ``--init RUN_DIR``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from raivtools.io.errors import InputError
from raivtools.io.records import require_fields
from raivtools.train.data import Example, FeatureSource, assign_video_keys, usable


class CaptionMatcher:
    """Matched and mismatched (media, caption) examples of a fixed set of caption records, one call per epoch.

    Args:
        records: located records ``(file, line, record)`` with ``id`` and ``caption``.
    """

    rng_name = "itm"  # each epoch's mismatches are drawn from rng_for(seed, rng_name, epoch)

    def __init__(self, records: list[tuple[str, int, dict[str, Any]]]):
        self.items: list[tuple[int, str, str]] = []  # (record index, media id, caption)
        for index, (name, line, record) in enumerate(records):
            require_fields(record, ("id", "caption"), f"{name}:{line}")
            self.items.append((index, str(record["id"]), str(record["caption"])))
        if len({caption for _, _, caption in self.items}) < 2:
            raise InputError("--task itm needs captioned records with at least two different captions")
        self.target = 2 * len(self.items)  # examples per epoch: a match and a mismatch per item

    def examples(self, rng: np.random.Generator, features: FeatureSource) -> list[Example]:
        """Each item with its own caption (label 1) and with another item's different caption (label 0)."""
        examples: list[Example] = []
        count = len(self.items)
        for index, media_id, caption in self.items:
            other = caption
            while other == caption:  # a different caption, so the negative is a true mismatch
                other = self.items[int(rng.integers(count))][2]
            examples.append(Example(index, (media_id,), caption, 1.0))
            examples.append(Example(index, (media_id,), other, 0.0))
        assign_video_keys(examples)
        return usable(examples, features)[0]
