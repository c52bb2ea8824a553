"""The registry, the shared layers and each architecture's forward / score on tiny configs."""

from __future__ import annotations

import math

import pytest
import torch

from raivtools.io.errors import InputError
from raivtools.models import arch_names, build_model, model_config
from raivtools.models.layers import (
    ClassifierHead,
    TextEncoder,
    TextTokenizer,
    sinusoidal_embedding,
)
from raivtools.models.navero import hard_negatives, parse_losses, vtc_loss
from raivtools.train.data import Example

TINY = {"feature_dim": 16, "width": 32, "heads": 2, "text_layers": 2, "mlp_ratio": 2.0, "dropout": 0.0,
        "context_length": 16}
RAIV_ARCHS = ("raiv-late", "raiv-mid", "raiv-early")


def make_batch(visual_inputs: int, batch: int = 4, frames: int = 3, negatives: bool = False, seed: int = 0) -> dict:
    generator = torch.Generator().manual_seed(seed)
    tokenizer = TextTokenizer(16)
    texts = ["a red ball", "two blue cubes on a table", "a green cone", "un café rouge"][:batch]
    ids = [tokenizer.encode(t) for t in texts]
    longest = max(map(len, ids))
    text_ids = torch.zeros(batch, longest, dtype=torch.long)
    for row, tokens in enumerate(ids):
        text_ids[row, : len(tokens)] = torch.tensor(tokens)
    frame_mask = torch.ones(batch, visual_inputs, frames, dtype=torch.bool)
    frame_mask[0, :, 1:] = False  # an image: one frame
    out = {
        "frames": torch.randn(batch, visual_inputs, frames, 16, generator=generator) * frame_mask[..., None],
        "frame_mask": frame_mask, "text_ids": text_ids, "text_mask": text_ids != 0,
        "labels": torch.tensor([1.0, 0.0, 1.0, 0.0][:batch]),
        "video_key": torch.tensor([0, 1, 2, 2][:batch]), "index": torch.arange(batch),
        "choice": torch.full((batch,), -1),
    }
    if negatives:
        out["neg_ids"] = text_ids.flip(0)
        out["neg_mask"] = out["neg_ids"] != 0
        out["has_neg"] = torch.tensor([True, True, False, True][:batch])
    return out


def test_registry_lists_every_arch_and_rejects_unknown_names():
    assert {"raiv-late", "raiv-mid", "raiv-early", "navero"} <= set(arch_names())
    with pytest.raises(InputError, match="unknown --arch 'nope'.*raiv-late"):
        build_model("nope")
    with pytest.raises(InputError, match="unknown setting"):
        model_config("raiv-late", widht=3)


def test_config_round_trips_through_json_fields():
    config = model_config("navero", **TINY, fusion_layers=1, losses="vanilla")
    assert config.losses == ("vtc", "vtm")
    again = type(config).from_dict(config.to_dict())
    assert again == config and isinstance(config.to_dict()["losses"], list)


@pytest.mark.parametrize("arch", RAIV_ARCHS)
def test_raiv_fusion_forward_and_score(arch):
    torch.manual_seed(0)
    model = build_model(arch, **TINY, fusion_layers=1)
    batch = make_batch(2)
    out = model(batch)
    assert out["loss"].ndim == 0 and math.isfinite(float(out["loss"].detach())) and set(out["losses"]) == {"bce"}
    out["loss"].backward()
    assert model.head.net[0].weight.grad is not None
    model.eval()
    with torch.no_grad():
        scores = model.score(batch)["score"]
    assert scores.shape == (4,) and bool(((scores > 0) & (scores < 1)).all())


def test_fusion_variants_differ_in_shape_as_the_paper_says():
    late, mid, early = (build_model(a, **TINY, fusion_layers=1) for a in RAIV_ARCHS)
    assert late.head.net[0].in_features == 4 * 32  # two [CLS] pairs (text, visual) concatenated
    assert early.head.net[0].in_features == 2 * 32  # one pass over both inputs
    assert len(mid.mid) == 2 and not hasattr(late, "mid")


def test_raiv_scores_do_not_depend_on_padding():
    torch.manual_seed(0)
    model = build_model("raiv-late", **TINY, fusion_layers=1).eval()
    batch = make_batch(2)
    padded = dict(batch)
    padded["frames"] = torch.cat([batch["frames"], torch.zeros(4, 2, 2, 16)], dim=2)
    padded["frame_mask"] = torch.cat([batch["frame_mask"], torch.zeros(4, 2, 2, dtype=torch.bool)], dim=2)
    with torch.no_grad():
        torch.testing.assert_close(model.score(batch)["score"], model.score(padded)["score"], atol=1e-5, rtol=1e-5)


def test_navero_losses_and_scores():
    torch.manual_seed(0)
    model = build_model("navero", **TINY, fusion_layers=1, video_layers=1, embed_dim=16, losses="all")
    batch = make_batch(1, negatives=True)
    out = model(batch)
    assert set(out["losses"]) == {"vtc", "vtm", "neg-vtc", "neg-vtm"}
    assert out["loss"].item() == pytest.approx(sum(float(part) for part in out["losses"].values()), rel=1e-5)
    out["loss"].backward()
    model.eval()
    with torch.no_grad():
        scored = model.score(batch)
        assert set(scored) == {"score", "neg_score"}
        assert model.embed_video(batch).norm(dim=-1).allclose(torch.ones(4))
        assert model.match_scores(batch).shape == (4,)


def _matching_reference(model, batch, seed: int) -> tuple[float, float]:
    """vtm and neg-vtm computed the direct way: only the rows that count, each pair through the head on its own."""
    import torch.nn.functional as F

    video, video_mask = model.video_tokens(batch["frames"][:, 0], batch["frame_mask"][:, 0])
    text, text_mask = model.text_hidden(batch["text_ids"], batch["text_mask"]), batch["text_mask"]
    similarity = model.text_embedding_of(text, text_mask) @ model.video_embedding_of(video, video_mask).t()
    torch.manual_seed(seed)
    same_video = batch["video_key"][:, None] == batch["video_key"][None, :]
    neg_video, neg_text, valid_v, valid_t = hard_negatives(similarity / model.temperature, same_video)
    pairs = [(text, text_mask, video, video_mask, 1),
             (text[valid_v], text_mask[valid_v], video[neg_video[valid_v]], video_mask[neg_video[valid_v]], 0),
             (text[neg_text[valid_t]], text_mask[neg_text[valid_t]], video[valid_t], video_mask[valid_t], 0)]
    vtm = torch.cat([F.cross_entropy(model.match_logits(*pair[:4]), torch.full((len(pair[0]),), pair[4]),
                                     reduction="none") for pair in pairs if len(pair[0])]).mean()
    keep, neg_mask = batch["has_neg"], batch["neg_mask"]
    neg_hidden = model.text_hidden(batch["neg_ids"], neg_mask)
    neg_vtm = F.cross_entropy(model.match_logits(neg_hidden[keep], neg_mask[keep], video[keep], video_mask[keep]),
                              torch.zeros(int(keep.sum()), dtype=torch.long))
    return float(vtm), float(neg_vtm)


@pytest.mark.parametrize("video_key", [[0, 1, 2, 2], [3, 3, 3, 3]], ids=["in-batch-negatives", "one-video"])
def test_navero_matching_losses_count_only_the_rows_that_apply(video_key):
    # the fused pass keeps every candidate row and weights out those without a negative (no device->host reads)
    model = build_model("navero", **TINY, fusion_layers=1, video_layers=1, embed_dim=16).eval()
    batch = make_batch(1, negatives=True)
    batch["video_key"] = torch.tensor(video_key)
    with torch.no_grad():
        torch.manual_seed(7)
        losses = model(batch)["losses"]
        vtm, neg_vtm = _matching_reference(model, batch, seed=7)
    assert float(losses["vtm"]) == pytest.approx(vtm, rel=1e-5)
    assert float(losses["neg-vtm"]) == pytest.approx(neg_vtm, rel=1e-5)


def test_navero_batch_without_negatives_adds_nothing_to_the_negative_losses():
    # records whose negate found no negative can fill a whole length bucket; that batch must still train
    torch.manual_seed(0)
    model = build_model("navero", **TINY, fusion_layers=1, video_layers=1, embed_dim=16, losses="all")
    vanilla = build_model("navero", **TINY, fusion_layers=1, video_layers=1, embed_dim=16, losses="vanilla")
    vanilla.load_state_dict(model.state_dict())
    batch = make_batch(1, negatives=False)
    torch.manual_seed(5)
    out = model(batch)
    torch.manual_seed(5)
    plain = vanilla(batch)["losses"]
    assert float(out["losses"]["neg-vtc"]) == 0.0 and float(out["losses"]["neg-vtm"]) == 0.0
    assert float(out["losses"]["vtc"]) == pytest.approx(float(plain["vtc"]), rel=1e-6)
    assert float(out["losses"]["vtm"]) == pytest.approx(float(plain["vtm"]), rel=1e-6)
    out["loss"].backward()
    assert model.vtm_head.weight.grad is not None


def test_navero_neg_vtm_alone_without_negatives_matches_the_positives():
    model = build_model("navero", **TINY, fusion_layers=1, video_layers=1, embed_dim=16, losses="neg-vtm")
    out = model(make_batch(1, negatives=False))
    assert set(out["losses"]) == {"neg-vtm"} and float(out["losses"]["neg-vtm"]) > 0


def test_navero_negative_losses_need_some_record_with_a_negative():
    model = build_model("navero", **TINY, fusion_layers=1, video_layers=1, embed_dim=16)
    without = [Example(i, (f"m{i}",), "a red ball") for i in range(3)]
    with pytest.raises(InputError, match="none of the 3 training records has one.*--loss vanilla"):
        model.check_training_examples(without)
    model.check_training_examples([*without, Example(3, ("m3",), "a red ball", negative="a blue ball")])
    model.check_training_examples([])  # tsp / itm make theirs every epoch
    vanilla = build_model("navero", **TINY, fusion_layers=1, video_layers=1, embed_dim=16, losses="vanilla")
    vanilla.check_training_examples(without)


def test_parse_losses_presets_and_errors():
    assert parse_losses("navero") == ("vtc", "vtm", "neg-vtm")
    assert parse_losses("neg-vtm,vtc") == ("vtc", "neg-vtm")
    assert parse_losses("negvidl") == ("vtc", "vtm", "neg-vtc")
    with pytest.raises(InputError, match="unknown navero loss"):
        parse_losses("vtc,itm")
    with pytest.raises(InputError, match="matching head"):
        parse_losses("vtc")


def test_vtc_loss_hand_values():
    same = torch.eye(2, dtype=torch.bool)
    uniform = torch.zeros(2, 2)
    assert vtc_loss(uniform, same).item() == pytest.approx(math.log(2))
    confident = torch.tensor([[10.0, -10.0], [-10.0, 10.0]])
    assert vtc_loss(confident, same).item() < 1e-6
    # two captions of one video: both columns are positives, each gets half the target mass
    both_same = torch.ones(2, 2, dtype=torch.bool)
    assert vtc_loss(uniform, both_same).item() == pytest.approx(math.log(2))


def test_hard_negatives_never_pick_the_same_video():
    torch.manual_seed(0)
    keys = torch.tensor([0, 0, 1, 2])
    same = keys[:, None] == keys[None, :]
    for _ in range(20):
        neg_video, neg_text, valid_v, valid_t = hard_negatives(torch.randn(4, 4), same)
        assert bool(valid_v.all()) and bool(valid_t.all())
        assert not bool(same[torch.arange(4), neg_video].any())
        assert not bool(same[torch.arange(4), neg_text].any())
    _, _, valid_v, _ = hard_negatives(torch.randn(2, 2), torch.ones(2, 2, dtype=torch.bool))
    assert not bool(valid_v.any())


def test_sinusoidal_embedding_values():
    emb = sinusoidal_embedding(torch.arange(3), 8)
    assert emb.shape == (3, 8)
    torch.testing.assert_close(emb[0], torch.tensor([0.0] * 4 + [1.0] * 4))
    assert emb[1, 0].item() == pytest.approx(math.sin(1.0))


def test_tokenizer_adds_start_end_and_truncates():
    tokenizer = TextTokenizer(6)
    ids = tokenizer.encode("a very long statement about many things")
    assert len(ids) == 6 and ids[0] == tokenizer.start_id and ids[-1] == tokenizer.end_id
    assert tokenizer.encode("ünïcödé café") == tokenizer.encode("ünïcödé café")


def test_causal_text_encoder_ignores_later_tokens():
    torch.manual_seed(0)
    encoder = TextEncoder(100, 8, 16, 2, 2, causal=True).eval()
    ids = torch.tensor([[5, 6, 7, 8], [5, 6, 9, 9]])
    with torch.no_grad():
        states = encoder(ids, torch.ones_like(ids, dtype=torch.bool))
    torch.testing.assert_close(states[0, :2], states[1, :2])


def test_classifier_head_is_meter_shaped():
    head = ClassifierHead(64, 1)
    layers = [type(m).__name__ for m in head.net]
    assert layers == ["Linear", "LayerNorm", "GELU", "Linear"] and head.net[0].out_features == 32


def test_init_text_copies_an_open_clip_text_tower(tmp_path):
    import json

    import open_clip

    from raivtools.models.layers import load_open_clip_text_tower, open_clip_text_settings
    from tests.factories import tiny_open_clip_config

    config_file = tmp_path / "raiv-tiny-clip.json"
    config_file.write_text(json.dumps(tiny_open_clip_config()))
    open_clip.add_model_config(config_file)
    clip = open_clip.create_model("raiv-tiny-clip", pretrained=None)
    checkpoint = tmp_path / "clip.pt"
    torch.save(clip.state_dict(), checkpoint)
    spec = f"{config_file}:{checkpoint}"
    settings = open_clip_text_settings(spec)
    assert settings["text_width"] == 32 and settings["text_layers"] == 2 and settings["text_causal"]
    model = build_model("raiv-late", model_config("raiv-late", **{**TINY, **settings}, fusion_layers=1))
    load_open_clip_text_tower(model.text_encoder, spec)
    torch.testing.assert_close(model.text_encoder.token_embedding.weight, clip.token_embedding.weight)
    torch.testing.assert_close(model.text_encoder.blocks[1].mlp.c_fc.weight,
                               clip.transformer.resblocks[1].mlp.c_fc.weight)
    # the loaded tower computes what CLIP's computes
    ids = open_clip.get_tokenizer("raiv-tiny-clip")(["a red ball"])
    length = int((ids != 0).sum())
    ids = ids[:, :length]
    assert ids[0].tolist() == TextTokenizer(77).encode("a red ball")  # our tokenizer is open_clip's
    model.eval(), clip.eval()
    with torch.no_grad():
        ours = model.text_encoder(ids, torch.ones_like(ids, dtype=torch.bool))
        x = clip.token_embedding(ids) + clip.positional_embedding[:length]
        x = clip.transformer(x, attn_mask=clip.attn_mask[:length, :length])
        theirs = clip.ln_final(x)
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-4)
    with pytest.raises(InputError, match="MODEL:CHECKPOINT"):
        open_clip_text_settings("no-colon")


@pytest.mark.parametrize("arch", RAIV_ARCHS)
def test_only_the_other_tasks_head_sits_idle(arch):
    # pair training leaves the itm head idle and itm pre-training the pair head (and mid fusion's extra layers):
    # DDP must look for unused parameters, and nothing else may go without a gradient
    model = build_model(arch, **TINY, fusion_layers=1)
    model(make_batch(2))["loss"].backward()
    unused = [name for name, p in model.named_parameters() if p.grad is None]
    assert unused and all(name.startswith("itm_head.") for name in unused) and model.ddp_find_unused_parameters
    model.zero_grad(set_to_none=True)
    model(make_batch(1))["loss"].backward()
    unused = [name for name, p in model.named_parameters() if p.grad is None]
    assert all(name.startswith(("head.", "mid", "pass_embedding")) for name in unused), unused
    assert all(p.grad is not None for name, p in model.named_parameters() if name.startswith("itm_head."))


@pytest.mark.parametrize("losses", ["navero", "vanilla", "neg-vtm"])
def test_navero_unused_parameters_are_declared(losses):
    model = build_model("navero", **TINY, fusion_layers=1, video_layers=1, embed_dim=16, losses=losses)
    model(make_batch(1, negatives=True))["loss"].backward()
    unused = [name for name, p in model.named_parameters() if p.grad is None]
    assert bool(unused) == model.ddp_find_unused_parameters, unused
