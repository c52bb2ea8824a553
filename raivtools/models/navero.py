"""NAVERO (seed 004 §3.2-3.3): a VindLU-style video-language model trained with negative-augmented losses.

Video encoder: per-frame features + sinusoidal temporal embeddings -> temporal transformer layers. Text encoder:
a transformer whose last ``fusion_layers`` layers also cross-attend to the video tokens (VindLU puts
cross-attention in the last 3 BERT layers); the first layers alone give the unimodal text embedding.

Losses (``losses`` in the config, ``--loss`` on the command line; seed 004 Table 4):

- ``vtc``: symmetric contrastive loss between mean-over-time video and text embeddings, learnable temperature
  (init 0.07, clamped to [0.001, 0.5]); captions of the same video are all positives (multi-positive targets).
- ``vtm``: video-text matching (2-way CE on the fused end token) over positives and in-batch hard negatives drawn
  with ``multinomial(softmax(similarity))`` after masking entries of the same video: (negative video, text) and
  (video, negative text) for every example.
- ``neg-vtc``: ``-log S(T,V) / (S(T,V) + S(Tneg,V))`` with the record's ``negative`` as Tneg (eq. 3): a two-way
  softmax per video between its caption and its negative (video-to-text only); the negative is not an extra
  column of vtc's in-batch softmax, as NegCLIP makes it.
- ``neg-vtm``: the matching loss on (video, the record's negative) with label "no match" (eq. 4). Without
  ``vtm`` the positive pairs are still matched (a classifier shown only negatives learns nothing).

The default is NAVERO's ``vtc + vtm + neg-vtm``; ``vanilla`` (``vtc + vtm``) is the paper's baseline row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from raivtools.io.errors import InputError
from raivtools.models.base import ModelConfig, VisionLanguageModel, parse_loss_names
from raivtools.models.layers import Block, TextEncoder, VisualEmbedding, last_token, masked_mean
from raivtools.models.registry import register

LOSSES = ("vtc", "vtm", "neg-vtc", "neg-vtm")
LOSS_PRESETS = {"navero": ("vtc", "vtm", "neg-vtm"), "vanilla": ("vtc", "vtm"), "negvidl": ("vtc", "vtm", "neg-vtc"),
                "all": LOSSES}
TEMPERATURE_RANGE = (0.001, 0.5)


def parse_losses(spec: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``"vtc,vtm,neg-vtm"`` or a preset name (navero, vanilla, negvidl, all) -> loss names in canonical order."""
    chosen = parse_loss_names(spec, LOSSES, LOSS_PRESETS, "navero")
    if not chosen & {"vtm", "neg-vtm"}:
        raise InputError("--loss: NAVERO scores with its matching head; include vtm or neg-vtm")
    return tuple(name for name in LOSSES if name in chosen)


@dataclass
class NaveroConfig(ModelConfig):
    """NAVERO settings (the shared ones are in :class:`ModelConfig`)."""

    text_layers: int = 6  # text encoder layers in all; the last `fusion_layers` of them also cross-attend to video
    fusion_layers: int = 3  # text layers with cross-attention to the video (VindLU: the last 3)
    video_layers: int = 2  # temporal transformer layers over the per-frame features
    embed_dim: int = 256  # size of the contrastive (vtc) embeddings
    temperature: float = 0.07  # initial vtc temperature (learnable, clamped to [0.001, 0.5])
    losses: tuple[str, ...] = ("vtc", "vtm", "neg-vtm")  # training losses (seed 004 Table 4)

    def __post_init__(self) -> None:
        self.losses = parse_losses(self.losses)
        if not 0 < self.fusion_layers <= self.text_layers:
            raise InputError(f"navero: fusion_layers ({self.fusion_layers}) must be in 1..text_layers ({self.text_layers})")


@register("navero")
class Navero(VisionLanguageModel):
    """Video encoder, text encoder with cross-attention fusion, contrastive and matching heads."""

    config_class = NaveroConfig
    input_kind = "video-text"
    head_prefixes = ("vtm_head.",)

    def __init__(self, config: NaveroConfig):
        super().__init__(config)
        text_width = config.text_hidden
        self.split = config.text_layers - config.fusion_layers
        self.video_embedding = VisualEmbedding(config.feature_dim, config.width, num_inputs=1, dropout=config.dropout)
        self.video_layers = nn.ModuleList(Block(config.width, config.heads, config.mlp_ratio, config.dropout)
                                          for _ in range(config.video_layers))
        self.video_ln = nn.LayerNorm(config.width)
        self.text_encoder = TextEncoder(
            config.vocab_size, config.context_length, text_width, config.text_head_count, config.text_layers,
            config.mlp_ratio, config.dropout, causal=config.text_causal, quick_gelu=config.quick_gelu,
            cross_attention_from=self.split,
        )
        self.context_proj = nn.Linear(config.width, text_width) if config.width != text_width else nn.Identity()
        self.video_proj = nn.Linear(config.width, config.embed_dim)
        self.text_proj = nn.Linear(text_width, config.embed_dim)
        self.log_temperature = nn.Parameter(torch.tensor(float(config.temperature)).log())
        self.vtm_head = nn.Linear(text_width, 2)

    @property
    def ddp_find_unused_parameters(self) -> bool:
        """Without a contrastive loss the embedding projections and the temperature get no gradient."""
        return not {"vtc", "neg-vtc"} & set(self.config.losses)

    # ------------------------------------------------------------------------------------------- encoders

    def video_tokens(self, frames: torch.Tensor, frame_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """[B, K, D] features -> [B, 1+K, W] video tokens (the first is a learned [CLS]) and their mask."""
        x, mask = self.video_embedding(frames, frame_mask)
        for block in self.video_layers:
            x = block(x, pad_mask=~mask)
        return self.video_ln(x), mask

    def video_embedding_of(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Normalised vtc embedding: the per-frame tokens averaged over time (VindLU), projected."""
        frames_only = mask.clone()
        frames_only[:, 0] = False
        return F.normalize(self.video_proj(masked_mean(tokens, frames_only)).float(), dim=-1)

    def text_hidden(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Unimodal text states after the first ``text_layers - fusion_layers`` layers: [B, L, Wt]."""
        return self.text_encoder.run(self.text_encoder.embed(ids), mask, 0, self.split)

    def text_embedding_of(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Normalised vtc embedding of the text: its end token, projected."""
        return F.normalize(self.text_proj(last_token(self.text_encoder.ln_final(hidden), mask)).float(), dim=-1)

    def match_logits(self, hidden: torch.Tensor, text_mask: torch.Tensor, video: torch.Tensor,
                     video_mask: torch.Tensor) -> torch.Tensor:
        """2-way matching logits [B, 2] of (text, video): the fusion layers, then the head on the end token."""
        fused = self.text_encoder.run(hidden, text_mask, self.split, None, context=self.context_proj(video),
                                      context_mask=video_mask, causal=False)
        return self.vtm_head(last_token(self.text_encoder.ln_final(fused), text_mask))

    @property
    def temperature(self) -> torch.Tensor:
        """The vtc temperature (:meth:`clamp_temperature` keeps it in ``TEMPERATURE_RANGE``)."""
        return self.log_temperature.exp()

    def clamp_temperature(self) -> None:
        """Clamps the temperature parameter itself into ``TEMPERATURE_RANGE``, as VindLU's ``temp.clamp_`` does.

        Clamping only the value it is used at would give zero gradient to a parameter past a bound: the temperature
        would stay frozen there for the rest of training. Clamped in place it sits on the bound and can move back.
        """
        low, high = TEMPERATURE_RANGE
        with torch.no_grad():
            self.log_temperature.clamp_(math.log(low), math.log(high))

    # ------------------------------------------------------------------------------------------- training

    def check_training_examples(self, examples: list[Any]) -> None:
        """The negative losses need some records with a ``negative``; records without one are fine beside them."""
        needed = [name for name in self.config.losses if name in ("neg-vtc", "neg-vtm")]
        if needed and examples and all(example.negative is None for example in examples):
            raise InputError(f"navero: --loss {','.join(self.config.losses)} has {', '.join(needed)}, which needs "
                             f"records with a 'negative', and none of the {len(examples)} training records has one "
                             "(run raiv negate on them, or pass --loss vanilla)")

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, Any]:
        """The selected losses, summed (each weighted 1, as in the paper)."""
        losses = set(self.config.losses)
        self.clamp_temperature()
        video, video_mask = self.video_tokens(batch["frames"][:, 0], batch["frame_mask"][:, 0])
        text = self.text_hidden(batch["text_ids"], batch["text_mask"])
        video_emb = self.video_embedding_of(video, video_mask)
        text_emb = self.text_embedding_of(text, batch["text_mask"])
        similarity = text_emb @ video_emb.t() / self.temperature  # [texts, videos]
        same_video = batch["video_key"][:, None] == batch["video_key"][None, :]
        parts: dict[str, torch.Tensor] = {}
        if "vtc" in losses:
            parts["vtc"] = vtc_loss(similarity, same_video)
        # the collator adds negatives only to batches with at least one; a batch without any (records whose
        # negate found no negative can share a length bucket) adds 0 to the negative losses
        has_neg = batch.get("has_neg")
        neg_hidden = None
        if losses & {"neg-vtc", "neg-vtm"} and has_neg is not None:
            neg_hidden = self.text_hidden(batch["neg_ids"], batch["neg_mask"])
        if "neg-vtc" in losses:
            parts["neg-vtc"] = similarity.new_zeros(())
            if neg_hidden is not None:
                neg_emb = self.text_embedding_of(neg_hidden, batch["neg_mask"])
                pos_logit = (text_emb * video_emb).sum(-1) / self.temperature
                neg_logit = (neg_emb * video_emb).sum(-1) / self.temperature
                parts["neg-vtc"] = weighted_mean(F.softplus(neg_logit - pos_logit), has_neg)
        parts.update(self._matching_losses(batch, losses, text, video, video_mask, similarity, same_video, neg_hidden))
        total = sum(parts.values())
        return {"loss": total, "losses": {name: value.detach() for name, value in parts.items()}}

    def _matching_losses(self, batch, losses, text, video, video_mask, similarity, same_video, neg_hidden):
        """vtm over positives + in-batch hard negatives, and neg-vtm over (video, record negative): one fused pass.

        Every candidate row goes through the pass and rows that do not count (no valid in-batch negative, no record
        negative) get weight 0, rather than being dropped by boolean indexing: that would make the host wait for
        the device several times per step to learn how many rows are left.
        """
        text_mask = batch["text_mask"]
        count = text.shape[0]
        texts, text_masks, videos, video_masks = [text], [text_mask], [video], [video_mask]
        weights = [torch.ones(count, device=text.device)]  # the positives
        if "vtm" in losses:
            neg_video, neg_text, valid_v, valid_t = hard_negatives(similarity.detach(), same_video)
            # index_select, not x[idx]: on a CPU the backward of x[idx] with repeated rows adds them in an order
            # that changes run to run (with 2+ threads), so training was not reproducible
            texts += [text, text.index_select(0, neg_text)]
            text_masks += [text_mask, text_mask.index_select(0, neg_text)]
            videos += [video.index_select(0, neg_video), video]
            video_masks += [video_mask.index_select(0, neg_video), video_mask]
            weights += [valid_v.float(), valid_t.float()]
        matched = count * len(weights)  # rows of vtm: positives and in-batch negatives
        if "neg-vtm" in losses and neg_hidden is not None:
            texts.append(neg_hidden)
            text_masks.append(batch["neg_mask"])
            videos.append(video)
            video_masks.append(video_mask)
            weights.append(batch["has_neg"].float())
            texts, text_masks = _pad_to_same_length(texts, text_masks, max(text.shape[1], batch["neg_mask"].shape[1]))
        logits = self.match_logits(torch.cat(texts), torch.cat(text_masks), torch.cat(videos), torch.cat(video_masks))
        labels = (torch.arange(logits.shape[0], device=logits.device) < count).long()  # only the positives match
        per_pair = F.cross_entropy(logits.float(), labels, reduction="none")
        weight = torch.cat(weights)
        parts: dict[str, torch.Tensor] = {}
        if "vtm" in losses:
            parts["vtm"] = weighted_mean(per_pair[:matched], weight[:matched])
            if "neg-vtm" in losses:  # 0 when the batch has no negatives (no rows past ``matched``)
                parts["neg-vtm"] = weighted_mean(per_pair[matched:], weight[matched:])
        else:  # neg-vtm alone still matches the positives
            parts["neg-vtm"] = weighted_mean(per_pair, weight)
        return parts

    # ------------------------------------------------------------------------------------------- scoring

    def score(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """p(match) of (video, caption) from the matching head, and of (video, negative) when present."""
        video, video_mask = self.video_tokens(batch["frames"][:, 0], batch["frame_mask"][:, 0])
        text = self.text_hidden(batch["text_ids"], batch["text_mask"])
        out = {"score": self.match_logits(text, batch["text_mask"], video, video_mask).float().softmax(-1)[:, 1]}
        if "neg_ids" in batch:
            neg = self.text_hidden(batch["neg_ids"], batch["neg_mask"])
            out["neg_score"] = self.match_logits(neg, batch["neg_mask"], video, video_mask).float().softmax(-1)[:, 1]
        return out

    def embed_video(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Normalised video embeddings [B, E] (retrieval)."""
        return self.video_embedding_of(*self.video_tokens(batch["frames"][:, 0], batch["frame_mask"][:, 0]))

    def embed_text(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Normalised caption embeddings [B, E] (retrieval)."""
        return self.text_embedding_of(self.text_hidden(batch["text_ids"], batch["text_mask"]), batch["text_mask"])

    def match_scores(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """p(match) of each (video, caption) of the batch [B] (re-ranking in retrieval)."""
        return self.score({key: value for key, value in batch.items() if not key.startswith("neg_")})["score"]


def vtc_loss(similarity: torch.Tensor, same_video: torch.Tensor) -> torch.Tensor:
    """Symmetric contrastive loss (seed 004 eq. 1) with multi-positive targets for captions of the same video.

    Args:
        similarity: [B, B] text-to-video logits (cosine / temperature).
        same_video: [B, B] True where text i and video j show the same media item.
    """
    targets = same_video.float() / same_video.float().sum(dim=1, keepdim=True)
    text_to_video = -(F.log_softmax(similarity.float(), dim=1) * targets).sum(dim=1).mean()
    video_to_text = -(F.log_softmax(similarity.float().t(), dim=1) * targets).sum(dim=1).mean()
    return (text_to_video + video_to_text) / 2


def hard_negatives(similarity: torch.Tensor, same_video: torch.Tensor):
    """In-batch hard negatives (VindLU/ALBEF): for each text a video, for each video a text, drawn with
    ``multinomial(softmax(similarity))`` over the entries of other videos.

    Returns:
        (negative video per text [B], negative text per video [B], valid text rows, valid video rows): a row is
        invalid when every other entry of the batch shows the same video.
    """
    other = ~same_video
    valid_v, valid_t = other.any(dim=1), other.t().any(dim=1)
    neg_video = _draw_negatives(similarity, other, valid_v)
    neg_text = _draw_negatives(similarity.t(), other.t(), valid_t)
    return neg_video, neg_text, valid_v, valid_t


def _draw_negatives(logits: torch.Tensor, allowed: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """One column per row with probability ``softmax`` over the ``allowed`` columns of ``logits`` [B, B].

    The softmax is taken over the allowed columns only (same distribution as masking after a full softmax),
    so a confident row whose other entries underflow to 0 beside its positive still gets its hardest negative.
    Rows without an allowed column draw any column (their weight is 0 in the loss).
    """
    masked = logits.float().masked_fill(~allowed, float("-inf"))
    masked = torch.where(valid[:, None], masked, torch.zeros_like(masked))
    return torch.multinomial(masked.softmax(dim=1), 1).squeeze(1)


def weighted_mean(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` over the rows whose weight is 1 (weights 0/1 or bool); 0 when none counts."""
    weights = weights.to(values.dtype)
    return (values * weights).sum() / weights.sum().clamp(min=1.0)


def _pad_to_same_length(texts: list[torch.Tensor], masks: list[torch.Tensor], length: int):
    padded_texts = [F.pad(t, (0, 0, 0, length - t.shape[1])) for t in texts]
    padded_masks = [F.pad(m, (0, length - m.shape[1])) for m in masks]
    return padded_texts, padded_masks
