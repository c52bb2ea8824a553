"""Synthetic SRL records with known ground truth, for tests and the make-pairs scale benchmark.

Each record is an image or a 2-second event of a 10-second video segment (five events per segment, as in
VidSitu), with one frame (verb, agent, entity, place) and the objects those name plus one or two scene
objects. Vocabulary sizes are fixed, so facts recur across items as they do in real data.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

AGENTS = ("man", "woman", "boy", "girl", "chef", "dog", "player", "child", "old man", "young woman")
VERBS = ("cut", "eat", "ride", "throw", "carry", "push", "hold", "wash", "paint", "kick", "open", "climb", "pour",
         "chase", "feed", "lift", "drop", "read", "play", "fix")
ENTITIES = ("bread", "knife", "horse", "ball", "box", "cart", "cup", "dish", "fence", "door", "ladder", "bottle",
            "book", "guitar", "bike", "apple", "rope", "bucket", "chair", "kite", "hat", "bag", "car", "boat", "lamp")
PLACES = ("kitchen", "park", "beach", "street", "field", "garden", "room", "stage", "lake", "forest", "office",
          "yard", "market", "garage", "studio")
SCENE = ("tree", "table", "window", "wall", "grass", "bench", "sign", "sky", "person", "shelf", "fence", "plant")
ADJECTIVES = ("red", "blue", "green", "old", "new", "small", "big", "wooden", "metal", "white", "black", "yellow",
              "tall", "short", "striped", "dirty", "clean", "shiny", "broken", "plastic")


def synthetic_srl_records(n: int, seed: int = 0, video_share: float = 0.5,
                          adjectives: int = 0) -> Iterator[dict[str, Any]]:
    """``n`` SRL records: images and 5-event video segments, deterministic for a seed.

    Args:
        n: how many records.
        seed: the random seed.
        video_share: the chance that the next item is a 5-event video segment rather than an image.
        adjectives: give agents, entities and places one of this many adjectives ("red ball"), multiplying the
            vocabulary so that large sets do not run out of distinct statements.
    """
    rng = random.Random(seed)
    modifiers = ADJECTIVES[:adjectives]
    made = 0
    segment = 0
    while made < n:
        if rng.random() < video_share:
            name = f"v_syn{seed}x{segment:07d}_seg_0_10"
            segment += 1
            for event in range(1, 6):
                if made >= n:
                    return
                media = {"video": f"clips/{name}.mp4", "start": 2.0 * (event - 1), "end": 2.0 * event, "segment": name}
                yield _record(rng, f"{name}_ev{event}", media, modifiers)
                made += 1
        else:
            yield _record(rng, f"img{seed}x{made:08d}", {"image": f"images/img{seed}x{made:08d}.jpg"}, modifiers)
            made += 1


def _record(rng: random.Random, record_id: str, media: dict[str, Any], modifiers: tuple[str, ...]) -> dict[str, Any]:
    agent, verb, entity, place = (rng.choice(AGENTS), rng.choice(VERBS), rng.choice(ENTITIES), rng.choice(PLACES))
    if modifiers:
        agent, entity, place = (f"{rng.choice(modifiers)} {noun}" for noun in (agent, entity, place))
    roles = {"ARG0": agent, "ARG1": entity}
    if rng.random() < 0.7:
        roles["ARGM-LOC"] = place
    scene = rng.sample(SCENE, rng.randint(1, 2))
    objects = list(dict.fromkeys([agent.split()[-1], entity] + ([place] if "ARGM-LOC" in roles else []) + scene))
    # objects are what a detector would name: with adjectives the entity and place keep theirs ("red ball")
    return {"id": record_id, **media, "srl": [{"verb": verb, "sense": None, "roles": roles}], "objects": objects}
