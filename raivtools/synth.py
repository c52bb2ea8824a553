"""The built-in toy benchmark: procedural clips and stills of coloured shapes with exact ground truth.

Each item shows two shapes (an actor ``A`` and a reference ``B``) on a textured background that stands for a
location. In a clip, ``A`` performs one action (moves, jumps, spins, grows, pushes ``B``...); in a still, it sits,
leans or hovers in a fixed spatial relation to ``B``. The geometry is planned first, analytically, frame by frame;
the caption, the semantic roles, the object list and the ``scene`` ground truth are all derived from that plan,
and the pixels are drawn from the same plan, so what the caption says is what the pixels show.

The words come from the NAVERO rule lists (supplementary Table 8 of the NAVERO paper) wherever a list has a
fitting word, so ``raiv negate`` can swap an action, an attribute (colour, size), a relation or an object noun in
every toy caption. Exceptions (no Table 8 word fits): the shape nouns ``circle``, ``square``, ``triangle``,
``star`` (``diamond`` is in the list) and the relations ``to the left of`` / ``to the right of``.

Every random choice of item ``index`` is drawn from ``rng_for(seed, "synth", index)``, so an item does not
depend on ``--n``, on the worker count, or on any other item.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from raivtools.schema import srl_frame
from raivtools.seeding import rng_for

# --------------------------------------------------------------------------------------------------------
# Vocabulary (NAVERO Table 8 words wherever one fits)
# --------------------------------------------------------------------------------------------------------

#: shape nouns (``diamond`` is a Table 8 noun; no Table 8 noun names the other plane shapes)
SHAPES = ("circle", "square", "triangle", "star", "diamond")

#: colour adjective -> RGB (all Table 8 colours), far enough apart to survive H.264 at 64 px
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (40, 185, 50),
    "blue": (30, 60, 225),
    "yellow": (245, 220, 30),
    "purple": (140, 50, 190),
    "orange": (245, 135, 20),
    "pink": (250, 130, 200),
    "white": (250, 250, 250),
    "black": (25, 25, 25),
    "brown": (125, 75, 30),
}

#: size adjective (Table 8 size list) -> circumradius as a fraction of the frame side
SIZES: dict[str, float] = {"big": 0.14, "small": 0.085}


@dataclass(frozen=True)
class Background:
    """A textured background that stands for a location."""

    noun: str  # the location's head noun (a Table 8 noun), listed in ``objects``
    phrase: str  # the location as it appears in captions and ``ARGM-LOC``
    base: tuple[int, int, int]  # dominant RGB
    accent: tuple[int, int, int]  # RGB of the texture marks
    texture: str  # how the accent is drawn: tufts, speckle, waves, cracks


BACKGROUNDS: dict[str, Background] = {
    "grass": Background("grass", "on the grass", (76, 153, 60), (52, 118, 40), "tufts"),
    "beach": Background("beach", "on the beach", (222, 200, 150), (200, 178, 128), "speckle"),
    "ocean": Background("ocean", "in the ocean", (35, 95, 180), (75, 140, 215), "waves"),
    "ice": Background("ice", "on the ice", (200, 225, 238), (232, 244, 250), "cracks"),
}

#: relation key (as in ``scene``) -> phrase in captions; Table 8 has above, below, next to, not left/right of
RELATIONS: dict[str, str] = {
    "left of": "to the left of",
    "right of": "to the right of",
    "above": "above",
    "below": "below",
    "next to": "next to",
}

#: direction -> unit vector in image coordinates (y grows downwards)
DIRECTIONS: dict[str, tuple[int, int]] = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}
#: direction -> the phrase in captions and ``ARGM-DIR``
DIRECTION_PHRASES = {"left": "to the left", "right": "to the right", "up": "up", "down": "down"}
#: the relation of A to B that a push / pull / touch in a direction implies
BEHIND = {"right": "left of", "left": "right of", "down": "above", "up": "below"}
AHEAD = {"right": "right of", "left": "left of", "down": "below", "up": "above"}

#: actions in clips (all Table 8 action verbs)
INTRANSITIVE_ACTIONS = ("move", "jump", "bounce", "spin", "grow", "shrink", "appear", "disappear", "blink")
TRANSITIVE_ACTIONS = ("push", "pull", "touch")
VIDEO_ACTIONS = INTRANSITIVE_ACTIONS + TRANSITIVE_ACTIONS
#: poses in stills: ``lean`` (Table 8 action) tilts the shape, ``hover`` (Table 8 action) only above B,
#: ``sit`` (not a Table 8 action; "sitting on" is a Table 8 relation) is upright
IMAGE_VERBS = ("sit", "lean", "hover")

#: the colour the rope of ``pull`` is drawn in (thin, so it never dominates a shape's pixels)
ROPE_RGB = (110, 110, 110)
#: how far a shape colour must stay from a background's colours (RGB distance)
MIN_CONTRAST = 90.0
#: the splits of a block of 10 consecutive items (shuffled per block), so 7:1:2 is exact in every block
SPLIT_BLOCK = ("train",) * 7 + ("val",) + ("test",) * 2


@functools.lru_cache(maxsize=None)
def allowed_colors(background: Background) -> tuple[str, ...]:
    """The colour names that stand out against ``background`` (green is not drawn on grass, etc.)."""
    marks = (np.array(background.base), np.array(background.accent))
    return tuple(
        name for name, rgb in COLORS.items() if min(np.linalg.norm(np.array(rgb) - m) for m in marks) >= MIN_CONTRAST
    )


# --------------------------------------------------------------------------------------------------------
# Configuration and plans
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SynthConfig:
    """What to generate."""

    n: int = 100  # number of items
    seed: int = 0  # every random choice follows it
    image_fraction: float = 0.25  # chance that an item is a still (PNG) rather than a clip (mp4)
    frames: int = 24  # frames per clip
    fps: int = 12  # frames per second of a clip
    size: int = 96  # frame side in pixels (square frames, even for yuv420p)
    crf: int = 18  # libx264 constant rate factor: low enough that colours stay exact


@dataclass
class ShapeTrack:
    """One shape and its state in every frame (arrays of length T; a still has T = 1)."""

    shape: str  # noun: circle, square...
    color: str  # colour adjective
    size: str  # size adjective (the size in the first frame)
    x: np.ndarray  # centre x per frame, pixels
    y: np.ndarray  # centre y per frame, pixels
    r: np.ndarray  # circumradius per frame, pixels
    angle: np.ndarray  # rotation per frame, degrees (counter-clockwise)
    visible: np.ndarray  # bool per frame

    def outline(self, k: int) -> np.ndarray:
        """The drawn polygon in frame ``k``, float [V, 2] (x, y)."""
        return np.array(shape_outline(self.shape, self.x[k], self.y[k], self.r[k], self.angle[k]))

    def boxes(self) -> np.ndarray:
        """(left, top, right, bottom) of the drawn shape in every frame, float [T, 4]."""
        degrees, factors = unit_polygon(self.shape)
        theta = np.radians(degrees[None, :] + self.angle[:, None])
        radius = self.r[:, None] * factors[None, :]
        xs = self.x[:, None] + radius * np.cos(theta)
        ys = self.y[:, None] - radius * np.sin(theta)
        return np.stack([xs.min(1), ys.min(1), xs.max(1), ys.max(1)], axis=1)

    def extent(self, k: int, ux: float, uy: float) -> float:
        """How far the drawn shape reaches from its centre towards the unit direction (ux, uy) in frame ``k``."""
        points = self.outline(k) - (self.x[k], self.y[k])
        return float((points @ np.array([ux, uy])).max())


@dataclass
class ItemPlan:
    """Everything about one item, decided before a pixel is drawn."""

    index: int  # position in the output
    kind: str  # "video" or "image"
    background: str  # key of BACKGROUNDS
    action: str  # verb lemma
    direction: str | None  # key of DIRECTIONS for directed actions
    relation: str  # relation of A to B that holds in every frame (key of RELATIONS)
    actor: ShapeTrack  # A, the ARG0
    other: ShapeTrack  # B, the reference shape (ARG1 of transitive actions)
    texture_seed: int  # seeds the background texture
    relations: list[str] = field(default_factory=list)  # every relation of A to B that holds in every frame


def item_id(seed: int, index: int) -> str:
    """The record id of item ``index`` (the seed is part of it so two toy sets never clash)."""
    return f"synth-{seed}-{index:06d}"


def kind_of(config: SynthConfig, index: int) -> str:
    """"image" with probability ``config.image_fraction``, else "video" (its own stream, so the kind of an item
    can be known without planning it)."""
    return "image" if rng_for(config.seed, "synth-kind", index).random() < config.image_fraction else "video"


def split_of(seed: int, index: int) -> str:
    """train/val/test 7:1:2, exact in each block of 10 consecutive items, shuffled by the seed."""
    block = rng_for(seed, "synth-split", index // len(SPLIT_BLOCK)).permutation(len(SPLIT_BLOCK))
    return SPLIT_BLOCK[int(block[index % len(SPLIT_BLOCK)])]


# --------------------------------------------------------------------------------------------------------
# Spatial relations
# --------------------------------------------------------------------------------------------------------


def relations_at(a_box: np.ndarray, b_box: np.ndarray, size: int) -> set[str]:
    """Relations of A to B in one frame, judged on the boxes (left, top, right, bottom) of the drawn shapes.

    ``left of``: A's box lies wholly left of B's, and the horizontal offset of the box centres exceeds the
    vertical one by 5 % of the frame, so near-diagonal layouts (which a viewer could read either way) have
    none of the four (likewise right of / above / below; at most one of them holds). ``next to``: left or
    right of, with a horizontal gap under 12 % of the frame and the box centres at most half a box apart
    vertically.
    """
    al, at, ar, ab = (float(v) for v in a_box)
    bl, bt, br, bb = (float(v) for v in b_box)
    dx, dy = (bl + br - al - ar) / 2, (bt + bb - at - ab) / 2
    margin, touch = 0.05 * size, 1e-6  # ``touch``: shapes in contact (push, touch) have boxes that just meet
    found = set()
    if ar <= bl + touch and dx >= abs(dy) + margin:
        found.add("left of")
    if al + touch >= br and -dx >= abs(dy) + margin:
        found.add("right of")
    if ab <= bt + touch and dy >= abs(dx) + margin:
        found.add("above")
    if at + touch >= bb and -dy >= abs(dx) + margin:
        found.add("below")
    gap = max(bl - ar, al - br)
    if found & {"left of", "right of"} and gap <= 0.12 * size and abs(dy) <= max(ab - at, bb - bt) / 2:
        found.add("next to")
    return found


def lasting_relations(a: ShapeTrack, b: ShapeTrack, size: int) -> list[str]:
    """Relations of A to B that hold in every frame where both are visible, in RELATIONS order."""
    lasting = set(RELATIONS)
    a_boxes, b_boxes = a.boxes(), b.boxes()
    for k in np.flatnonzero(a.visible & b.visible):
        lasting &= relations_at(a_boxes[k], b_boxes[k], size)
        if not lasting:
            break
    return [name for name in RELATIONS if name in lasting]


def inside_frame(track: ShapeTrack, size: int) -> bool:
    """Whether the shape stays wholly inside the frame (1 px margin) in every frame."""
    boxes = track.boxes()
    return bool(boxes[:, :2].min() >= 1 and boxes[:, 2:].max() <= size - 1)


# --------------------------------------------------------------------------------------------------------
# Planning
# --------------------------------------------------------------------------------------------------------


def _still_track(shape: str, color: str, size_name: str, x: float, y: float, r: float, frames: int) -> ShapeTrack:
    ones = np.ones(frames)
    return ShapeTrack(shape, color, size_name, x * ones, y * ones, r * ones, 0.0 * ones, np.ones(frames, bool))


#: relation of A to B -> unit vector from B's centre towards A's
SIDES = {"left of": (-1, 0), "right of": (1, 0), "above": (0, -1), "below": (0, 1)}


def _place(rng: np.random.Generator, plan: ItemPlan, size: int, gap: float, across: float) -> None:
    """Puts B somewhere and A ``gap`` pixels from B's edge on the relation's side (static positions).

    ``across`` bounds the offset of A's centre across the axis, as a fraction of the smaller radius.
    """
    a, b, relation = plan.actor, plan.other, plan.relation
    side = relation if relation != "next to" else ("left of" if rng.random() < 0.5 else "right of")
    ux, uy = SIDES[side]
    b.x[:], b.y[:] = rng.uniform(0.15 * size, 0.85 * size, 2)
    distance = a.extent(0, -ux, -uy) + b.extent(0, ux, uy) + gap
    shift = rng.uniform(-across, across) * min(a.r[0], b.r[0])
    a.x[:], a.y[:] = b.x + ux * distance + uy * shift, b.y + uy * distance + ux * shift


def _times(frames: int) -> np.ndarray:
    return np.linspace(0.0, 1.0, frames) if frames > 1 else np.zeros(1)


def _ramp(t: np.ndarray, start: float, stop: float) -> np.ndarray:
    """0 before ``start``, 1 after ``stop``, linear in between."""
    return np.clip((t - start) / (stop - start), 0.0, 1.0)


def _shift(track: ShapeTrack, direction: str, distance: np.ndarray) -> None:
    """Moves ``track`` by ``distance[k]`` pixels towards ``direction`` in frame ``k``."""
    ux, uy = DIRECTIONS[direction]
    track.x, track.y = track.x + ux * distance, track.y + uy * distance


def _move(rng: np.random.Generator, plan: ItemPlan, t: np.ndarray, size: int) -> None:
    _shift(plan.actor, plan.direction, rng.uniform(0.25, 0.4) * size * t)


def _jump(rng: np.random.Generator, plan: ItemPlan, t: np.ndarray, size: int) -> None:
    """One hop up and back down."""
    plan.actor.y = plan.actor.y - rng.uniform(0.15, 0.25) * size * 4 * t * (1 - t)


def _bounce(rng: np.random.Generator, plan: ItemPlan, t: np.ndarray, size: int) -> None:
    """Three small hops."""
    plan.actor.y = plan.actor.y - rng.uniform(0.08, 0.14) * size * np.abs(np.sin(3 * np.pi * t))


def _spin(rng: np.random.Generator, plan: ItemPlan, t: np.ndarray, size: int) -> None:
    """One full turn, either way."""
    plan.actor.angle = plan.actor.angle + (1 if rng.random() < 0.5 else -1) * 360.0 * t


def _grow(rng: np.random.Generator, plan: ItemPlan, t: np.ndarray, size: int) -> None:
    plan.actor.r = plan.actor.r * (1 + 0.6 * t)


def _shrink(rng: np.random.Generator, plan: ItemPlan, t: np.ndarray, size: int) -> None:
    plan.actor.r = plan.actor.r * (1 - 0.45 * t)


def _appear(rng: np.random.Generator, plan: ItemPlan, t: np.ndarray, size: int) -> None:
    """Hidden for the first third."""
    plan.actor.visible = np.arange(len(t)) >= max(1, len(t) // 3)


def _disappear(rng: np.random.Generator, plan: ItemPlan, t: np.ndarray, size: int) -> None:
    """Hidden for the last third."""
    plan.actor.visible = np.arange(len(t)) < len(t) - max(1, len(t) // 3)


def _blink(rng: np.random.Generator, plan: ItemPlan, t: np.ndarray, size: int) -> None:
    """On and off, three times."""
    plan.actor.visible = (np.arange(len(t)) // max(1, len(t) // 6)) % 2 == 0


def _push(rng: np.random.Generator, plan: ItemPlan, t: np.ndarray, size: int) -> None:
    """A reaches B at 40 % of the clip, then both move on together."""
    travel = rng.uniform(0.15, 0.3) * size * _ramp(t, 0.4, 1.0)
    reach = contact_distance(plan.actor, plan.other, plan.direction)
    _shift(plan.actor, plan.direction, reach * _ramp(t, 0.0, 0.4) + travel)
    _shift(plan.other, plan.direction, travel)


def _pull(rng: np.random.Generator, plan: ItemPlan, t: np.ndarray, size: int) -> None:
    """A leads, B follows on a rope at a constant distance."""
    travel = rng.uniform(0.2, 0.35) * size * t
    _shift(plan.actor, plan.direction, travel)
    _shift(plan.other, plan.direction, travel)


def _touch(rng: np.random.Generator, plan: ItemPlan, t: np.ndarray, size: int) -> None:
    """A reaches B at 70 % of the clip and stays there."""
    _shift(plan.actor, plan.direction, contact_distance(plan.actor, plan.other, plan.direction) * _ramp(t, 0.0, 0.7))


def _still(rng: np.random.Generator, plan: ItemPlan, t: np.ndarray, size: int) -> None:
    """Stills: sit, lean, hover."""


#: action -> how it changes the placed shapes over the clip's times t in [0, 1]
MOTIONS = {
    "move": _move, "jump": _jump, "bounce": _bounce, "spin": _spin, "grow": _grow, "shrink": _shrink,
    "appear": _appear, "disappear": _disappear, "blink": _blink, "push": _push, "pull": _pull, "touch": _touch,
    "sit": _still, "lean": _still, "hover": _still,
}


def contact_distance(a: ShapeTrack, b: ShapeTrack, direction: str) -> float:
    """How far A can move towards ``direction`` (from frame 0) before its outline touches B's.

    Translating one polygon onto another, first contact is a corner of one meeting an edge of the other, so
    this casts a ray from every corner of A along the direction onto B's edges, and from every corner of B
    backwards onto A's edges, and takes the nearest hit (infinity if they never meet).
    """
    u = np.array(DIRECTIONS[direction], float)
    return min(_ray_hits(a.outline(0), b.outline(0), u), _ray_hits(b.outline(0), a.outline(0), -u))


def _cross(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """z-component of the 2-D cross product over the last axis."""
    return p[..., 0] * q[..., 1] - p[..., 1] * q[..., 0]


def _ray_hits(corners: np.ndarray, polygon: np.ndarray, u: np.ndarray) -> float:
    """The smallest t >= 0 with ``corner + t * u`` on an edge of ``polygon``, over all corners."""
    start, end = polygon, np.roll(polygon, -1, axis=0)
    edge = end - start  # [E, 2]
    offset = start[None, :, :] - corners[:, None, :]  # [V, E, 2]
    denominator = _cross(u[None, None, :], edge[None, :, :])
    with np.errstate(divide="ignore", invalid="ignore"):
        t = _cross(offset, edge[None, :, :]) / denominator  # distance along the ray
        s = _cross(offset, u[None, None, :]) / denominator  # position along the edge
    hits = (np.abs(denominator) > 1e-12) & (t >= -1e-9) & (s >= 0) & (s <= 1)
    return float(t[hits].min()) if hits.any() else float("inf")


def _choose_action(rng: np.random.Generator, kind: str) -> str:
    """The verb, uniformly: drawn once per item so that hard-to-lay-out actions are not under-represented."""
    return str(rng.choice(VIDEO_ACTIONS if kind == "video" else IMAGE_VERBS))


def _choose_relation(rng: np.random.Generator, action: str) -> tuple[str | None, str]:
    """(direction, relation of A to B) for ``action``; push/pull/touch fix the relation by their direction."""
    direction = str(rng.choice(list(DIRECTIONS))) if action in ("move", "push", "pull", "touch") else None
    if action in ("push", "touch"):
        return direction, BEHIND[direction]
    if action == "pull":
        return direction, AHEAD[direction]
    if action == "hover":
        return None, "above"
    relations = list(RELATIONS)
    if action == "move" and direction in ("left", "right"):
        relations = ["above", "below"]  # "moves to the left to the left of" reads badly; these stay true
    return direction, str(rng.choice(relations))


def _sample_shapes(rng: np.random.Generator, background: Background, action: str, frames: int,
                   size: int) -> tuple[ShapeTrack, ShapeTrack]:
    """A and B with two different colours that stand out on ``background``.

    A circle neither spins nor leans: its turning would not show in the pixels.
    """
    color_a, color_b = (str(c) for c in rng.choice(allowed_colors(background), size=2, replace=False))
    actor_shapes = [s for s in SHAPES if s != "circle"] if action in ("spin", "lean") else list(SHAPES)
    tracks = []
    for color, shapes in ((color_a, actor_shapes), (color_b, list(SHAPES))):
        shape, size_name = str(rng.choice(shapes)), str(rng.choice(list(SIZES)))
        tracks.append(_still_track(shape, color, size_name, 0.0, 0.0, SIZES[size_name] * size, frames))
    return tracks[0], tracks[1]


def _spacing(rng: np.random.Generator, action: str, relation: str) -> tuple[float, float]:
    """(gap as a fraction of the frame side, largest offset across the axis as a fraction of the smaller radius)."""
    if action in ("push", "pull", "touch"):
        return rng.uniform(0.05, 0.15), 0.0  # centres in line: contact is head-on and the rope straight
    if action == "hover":
        return rng.uniform(0.08, 0.2), 0.5  # a clear gap: hovering, not resting on B
    if relation == "next to":
        return rng.uniform(0.01, 0.08), 0.3
    return rng.uniform(0.03, 0.2), 0.8


def plan_item(config: SynthConfig, index: int, max_tries: int = 500) -> ItemPlan:
    """Draws item ``index`` of the toy set: rejection-samples until the relation holds in every frame.

    Raises:
        RuntimeError: no valid layout was found (cannot happen for frame sides of 48 px or more).
    """
    rng = rng_for(config.seed, "synth", index)
    kind = kind_of(config, index)
    frames = config.frames if kind == "video" else 1
    action = _choose_action(rng, kind)
    for _ in range(max_tries):
        background = str(rng.choice(list(BACKGROUNDS)))
        actor, other = _sample_shapes(rng, BACKGROUNDS[background], action, frames, config.size)
        direction, relation = _choose_relation(rng, action)
        plan = ItemPlan(index, kind, background, action, direction, relation, actor, other,
                        int(rng.integers(2**31)))
        if action == "lean":
            # tilts past ~25 degrees read as another upright pose (a triangle turned 30 degrees points sideways)
            actor.angle[:] = (1 if rng.random() < 0.5 else -1) * rng.uniform(18, 24)
        gap, across = _spacing(rng, action, relation)
        _place(rng, plan, config.size, gap * config.size, across)
        MOTIONS[action](rng, plan, _times(frames), config.size)
        plan.relations = lasting_relations(actor, other, config.size)
        if relation in plan.relations and inside_frame(actor, config.size) and inside_frame(other, config.size):
            return plan
    raise RuntimeError(f"synth: no valid layout for item {index} in {max_tries} tries (frame side too small?)")


# --------------------------------------------------------------------------------------------------------
# Language: caption, semantic roles, objects
# --------------------------------------------------------------------------------------------------------


def with_article(phrase: str) -> str:
    """``phrase`` with the indefinite article it takes ("a big circle", "an orange star")."""
    return ("an " if phrase[:1].lower() in "aeiou" else "a ") + phrase


def third_person(lemma: str) -> str:
    """The present-tense third-person singular of a regular verb (pushes, touches, moves, jumps)."""
    if lemma.endswith(("s", "sh", "ch", "x", "z", "o")):
        return lemma + "es"
    if lemma.endswith("y") and lemma[-2:-1] not in "aeiou":
        return lemma[:-1] + "ies"
    return lemma + "s"


def noun_phrase(track: ShapeTrack) -> str:
    """"a small red circle": size, colour, shape, with its article."""
    return with_article(f"{track.size} {track.color} {track.shape}")


def describe(plan: ItemPlan) -> tuple[str, list[dict[str, Any]], list[str]]:
    """(caption, srl frames, objects) for a plan; the caption is built from the roles, so they always agree.

    Role names: ``ARG0`` the actor, ``ARG1`` the shape a transitive action acts on, ``ARGM-DIR`` the direction,
    ``ARGM-LOC`` the background location. The spatial relation to the other shape (``to the left of a small
    blue square``) is a second locative that one ``ARGM-LOC`` key cannot hold; it keeps the name ``ARGM-REL``.
    """
    location = BACKGROUNDS[plan.background].phrase
    roles: dict[str, str] = {"ARG0": noun_phrase(plan.actor)}
    if plan.action in TRANSITIVE_ACTIONS:
        roles["ARG1"] = noun_phrase(plan.other)
    if plan.direction and plan.action != "touch":
        roles["ARGM-DIR"] = DIRECTION_PHRASES[plan.direction]
    if plan.action not in TRANSITIVE_ACTIONS:
        roles["ARGM-REL"] = f"{RELATIONS[plan.relation]} {noun_phrase(plan.other)}"
    roles["ARGM-LOC"] = location
    order = ("ARG0", "ARG1", "ARGM-DIR", "ARGM-REL", "ARGM-LOC")
    words = [roles["ARG0"], third_person(plan.action)] + [roles[name] for name in order[1:] if name in roles]
    sentence = " ".join(words)
    caption = sentence[0].upper() + sentence[1:] + "."
    objects = list(dict.fromkeys([plan.actor.shape, plan.other.shape, BACKGROUNDS[plan.background].noun]))
    return caption, [srl_frame(plan.action, roles)], objects


# --------------------------------------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------------------------------------


def background_image(plan: ItemPlan, size: int) -> np.ndarray:
    """The item's background texture, uint8 [size, size, 3] (the same in every frame)."""
    bg = BACKGROUNDS[plan.background]
    rng = np.random.default_rng(plan.texture_seed)
    image = np.empty((size, size, 3), np.uint8)
    image[:] = bg.base
    if bg.texture == "tufts":
        for _ in range(size * size // 30):
            x, y = rng.integers(0, size), rng.integers(0, size - 3)
            image[y:y + 3, x] = bg.accent
    elif bg.texture == "speckle":
        mask = rng.random((size, size)) < 0.15
        image[mask] = bg.accent
    elif bg.texture == "waves":
        yy, xx = np.mgrid[0:size, 0:size]
        phase = rng.uniform(0, 2 * np.pi)
        image[np.sin(2 * np.pi * (yy / 12 + 0.15 * np.sin(2 * np.pi * xx / 32 + phase))) > 0.85] = bg.accent
    elif bg.texture == "cracks":
        yy, xx = np.mgrid[0:size, 0:size]
        for _ in range(3):
            c = rng.integers(-size, size)
            image[np.abs((xx - yy) - c) < 1] = bg.accent
    return image


#: shape -> (corner count, radius factors cycled over the corners, angle of the first corner in degrees)
POLYGONS = {
    "circle": (48, (1.0,), 0.0),
    "square": (4, (1.0,), 45.0),
    "triangle": (3, (1.0,), 90.0),
    "star": (10, (1.0, 0.45), 90.0),
    "diamond": (4, (1.0, 0.65), 90.0),
}


@functools.lru_cache(maxsize=None)
def unit_polygon(shape: str) -> tuple[np.ndarray, np.ndarray]:
    """(corner angles in degrees, corner radii as fractions of the circumradius) of an upright ``shape``."""
    corners, factors, first = POLYGONS[shape]
    degrees = first + 360.0 * np.arange(corners) / corners
    return degrees, np.array([factors[i % len(factors)] for i in range(corners)])


def shape_outline(shape: str, x: float, y: float, r: float, angle: float) -> list[tuple[float, float]]:
    """Polygon vertices of ``shape`` with circumradius ``r`` centred at (x, y), turned ``angle`` degrees
    counter-clockwise (y grows downwards, hence the minus)."""
    degrees, factors = unit_polygon(shape)
    theta = np.radians(degrees + angle)
    xs, ys = x + r * factors * np.cos(theta), y - r * factors * np.sin(theta)
    return list(zip(xs.tolist(), ys.tolist()))


def render(plan: ItemPlan, size: int) -> np.ndarray:
    """All frames of an item, uint8 [T, size, size, 3]: background, rope (pull), then B, then A on top."""
    from PIL import Image, ImageDraw

    background = Image.fromarray(background_image(plan, size))
    frames = []
    for k in range(len(plan.actor.x)):
        canvas = background.copy()
        draw = ImageDraw.Draw(canvas)
        if plan.action == "pull":
            draw.line([(plan.actor.x[k], plan.actor.y[k]), (plan.other.x[k], plan.other.y[k])], fill=ROPE_RGB, width=1)
        for track in (plan.other, plan.actor):
            if track.visible[k]:
                outline = shape_outline(track.shape, track.x[k], track.y[k], track.r[k], track.angle[k])
                draw.polygon(outline, fill=COLORS[track.color])
        frames.append(np.asarray(canvas))
    return np.stack(frames)


def write_video(path: Path, frames: np.ndarray, fps: int, crf: int) -> None:
    """Writes H.264 mp4 frames with one encoder thread and one keyframe, so the bytes depend only on the pixels."""
    import av

    tmp = path.with_name(path.name + ".tmp.mp4")
    with av.open(str(tmp), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        # asm=0: x264's SIMD routines read memory they never wrote (what malloc left there), so about one video
        # in a hundred came out different run to run, with pixels up to 38 apart; its C routines are exact, at
        # about 8 ms more per 96 px video (mbtree=0 also fixed it, at 40 % more bytes)
        stream.options = {"crf": str(crf), "preset": "veryfast", "g": str(len(frames)), "x264-params": "asm=0"}
        stream.codec_context.thread_count = 1  # x264's threaded encoding is not bit-exact run to run
        for k, pixels in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = k
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    os.replace(tmp, path)


def write_image(path: Path, pixels: np.ndarray) -> None:
    """Writes a PNG (no timestamps in it, so the bytes depend only on the pixels)."""
    from PIL import Image

    tmp = path.with_name(path.name + ".tmp.png")
    Image.fromarray(pixels).save(tmp, format="PNG")
    os.replace(tmp, path)


# --------------------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------------------


def _state(track: ShapeTrack, k: int) -> dict[str, float]:
    return {"x": round(float(track.x[k]), 2), "y": round(float(track.y[k]), 2), "r": round(float(track.r[k]), 2),
            "angle": round(float(track.angle[k]), 2)}


def _shape_truth(track: ShapeTrack, role: str) -> dict[str, Any]:
    return {
        "role": role,
        "shape": track.shape,
        "color": track.color,
        "rgb": list(COLORS[track.color]),
        "size": track.size,
        "start": _state(track, 0),
        "end": _state(track, len(track.x) - 1),
        "hidden_frames": [int(k) for k in np.flatnonzero(~track.visible)],
    }


def scene_truth(plan: ItemPlan, config: SynthConfig) -> dict[str, Any]:
    """The exact ground truth of a plan (pixel coordinates, origin top-left, y down; angles in degrees)."""
    background = BACKGROUNDS[plan.background]
    pose = None
    if plan.kind == "image":
        pose = "tilted" if plan.action == "lean" else "upright"
    return {
        "frame_size": config.size,
        "frames": len(plan.actor.x),
        "fps": config.fps if plan.kind == "video" else None,
        "location": background.noun,
        "location_phrase": background.phrase,
        "action": plan.action,
        "direction": plan.direction,
        "pose": pose,
        "relation": plan.relation,
        "relations": plan.relations,
        "shapes": [_shape_truth(plan.actor, "ARG0"),
                   _shape_truth(plan.other, "ARG1" if plan.action in TRANSITIVE_ACTIONS else "reference")],
    }


def make_item(config: SynthConfig, out: str, index: int) -> dict[str, Any]:
    """Plans, draws and writes item ``index`` under ``out``/media/ and returns its record.

    Args:
        config: what to generate.
        out: the output directory exactly as the user gave it (media paths are joined onto it).
        index: the item's position; all its randomness is keyed by (seed, index).
    """
    plan = plan_item(config, index)
    record_id = item_id(config.seed, index)
    pixels = render(plan, config.size)
    suffix = ".mp4" if plan.kind == "video" else ".png"
    media = os.path.join(out, "media", record_id + suffix)
    if plan.kind == "video":
        write_video(Path(media), pixels, config.fps, config.crf)
    else:
        write_image(Path(media), pixels[0])
    caption, srl, objects = describe(plan)
    record: dict[str, Any] = {"id": record_id, plan.kind: media}
    if plan.kind == "video":
        record.update(start=0.0, end=round(config.frames / config.fps, 6))
    record.update(caption=caption, srl=srl, objects=objects, split=split_of(config.seed, index),
                  scene=scene_truth(plan, config))
    return record


def _make_item_star(args: tuple[SynthConfig, str, int]) -> dict[str, Any]:
    return make_item(*args)


def generate(config: SynthConfig, out: str, workers: int = 2) -> Iterator[dict[str, Any]]:
    """Yields the records of items 0..n-1 in index order, writing their media under ``out``/media/.

    With ``workers`` > 1 the items are made in a ``spawn`` process pool (fork is unsafe once threads exist);
    the output does not depend on the worker count.
    """
    Path(out, "media").mkdir(parents=True, exist_ok=True)
    jobs = ((config, out, index) for index in range(config.n))
    if workers <= 1 or config.n < 2:
        yield from map(_make_item_star, jobs)
        return
    import multiprocessing

    chunk = max(1, min(16, config.n // (workers * 4)))
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        yield from pool.imap(_make_item_star, jobs, chunksize=chunk)
