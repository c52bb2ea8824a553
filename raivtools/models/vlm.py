"""VLM (seed 003 §3-4): one shared transformer over ``[CLS] video tokens [SEP] text tokens [SEP]``.

- **Input** (Eq. 1-2): video tokens are an MLP over the per-frame features; text tokens are word embeddings. The
  tokenizer's start token serves as [CLS] and its end token as both [SEP]s, so the text keeps its own end token.
  Each segment has its own positions (sinusoidal for frames, the text encoder's learned ones for words) and a
  segment embedding, so a text gets the same input whether or not a video precedes it.
- **The shared transformer** is a :class:`~raivtools.models.layers.TextEncoder` (open_clip's layout, so
  ``--init-text`` can initialise it from a CLIP text tower, as VLM starts from BERT's weights), always run
  bidirectionally as BERT.
- **Masked modality model** (§3.3): per example, with probability 1 - ``mmm_probability`` MFM-MLM (each video
  token zeroed with ``mask_probability``, each word masked BERT-style), else the whole video (half of these) or
  the whole text (the other half) is masked.
- **Masked token loss** (Eq. 8-9): a shared head (Eq. 4) predicts an embedding e_s for every masked token; one
  NCE scores it against the ground truth (the unmasked video token, or the word's embedding) among all non-masked
  video tokens of the batch and the whole word-embedding table. ``losses=mfm-mlm`` is the two-loss baseline
  (Eq. 5-7: video tokens against video tokens, words against the vocabulary).
- **Retrieval fine-tuning** (§4.1): an isolated attention mask (two diagonal squares; the [CLS] sees and is
  seen by nothing else) so video and text never attend to each other; each side's hidden states are averaged
  and a contrastive loss ranks the true video for each text (and the true text, plus the record's hard negative
  as an extra candidate, for each video: multiple choice, §4.4). §4.1 names only the text -> video direction;
  the video -> text one is the choice here, as §4.4 ranks texts for a video.

Scores: ``score`` = (1 + cosine) / 2 of the isolated video and text embeddings; it ranks candidates (retrieval,
multiple choice) but is not a calibrated probability.
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
from raivtools.models.layers import TextEncoder, last_token, mask_words, masked_mean, sinusoidal_embedding
from raivtools.models.registry import register

LOSSES = ("masked-token", "mfm-mlm", "retrieval")
LOSS_PRESETS = {"pretrain": ("masked-token",), "finetune": ("retrieval",), "vlm": ("masked-token", "retrieval")}
TEMPERATURE_RANGE = (0.001, 0.5)
VIDEO, TEXT = 0, 1
MFM_MLM, WHOLE_VIDEO, WHOLE_TEXT = 0, 1, 2


def parse_losses(spec: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``"masked-token,retrieval"`` or a preset (pretrain, finetune, vlm) -> loss names in canonical order."""
    chosen = parse_loss_names(spec, LOSSES, LOSS_PRESETS, "vlm")
    if {"masked-token", "mfm-mlm"} <= chosen:
        raise InputError("--loss: masked-token replaces mfm-mlm (seed 003 Eq. 8 vs Eq. 7); pick one")
    return tuple(name for name in LOSSES if name in chosen)


@dataclass
class VLMConfig(ModelConfig):
    """VLM settings. The shared transformer uses the ``text_*`` sizes (``text_width`` 0 = ``width``)."""

    max_frames: int = 16  # video tokens per example (paper: 32, one per second)
    mask_probability: float = 0.15  # MFM-MLM: chance that a video token or a word is masked
    mmm_probability: float = 0.5  # chance that an example masks a whole modality (half video, half text)
    temperature: float = 0.07  # initial temperature of the retrieval contrastive loss (learnable, clamped)
    losses: tuple[str, ...] = LOSS_PRESETS["vlm"]  # pre-training and/or fine-tuning losses, summed

    def __post_init__(self) -> None:
        self.losses = parse_losses(self.losses)
        for name in ("mask_probability", "mmm_probability"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise InputError(f"vlm: {name} must be in [0, 1]")


@dataclass
class Packed:
    """One packed input: ``[CLS] video [SEP] | words [SEP]``; frame padding sits before the first [SEP] (which keeps
    the position after the last real frame), text padding at the end."""

    x: torch.Tensor  # [B, S, W] input embeddings
    real: torch.Tensor  # [B, S] True at real tokens
    video_tokens: torch.Tensor  # [B, K, W] the ground-truth video tokens (MLP outputs, before masking)
    video_slice: slice  # positions of the video tokens
    video_segment: slice  # positions of video tokens and the first [SEP]
    text_slice: slice  # positions of the words, the last [SEP] and text padding
    cls_position: int = 0  # position of [CLS]


@dataclass
class Masking:
    """What MMM / MFM-MLM hid in a batch."""

    video: torch.Tensor  # [B, K] bool: zeroed video tokens
    text_ids: torch.Tensor  # [B, L] ids after BERT's random-word replacements
    text_replace: torch.Tensor  # [B, L] bool: words shown as [MASK]
    text_targets: torch.Tensor  # [B, L] bool: words to predict
    mode: torch.Tensor  # [B] long: MFM_MLM, WHOLE_VIDEO or WHOLE_TEXT


@register("vlm")
class VLM(VisionLanguageModel):
    """The task-agnostic video-language model: one encoder for video, text, or both."""

    config_class = VLMConfig
    input_kind = "video-text"
    head_prefixes = ("token_head.",)

    def __init__(self, config: VLMConfig):
        super().__init__(config)
        width = config.text_hidden
        # bidirectional, as BERT: masked tokens are predicted from both sides
        self.text_encoder = TextEncoder(config.vocab_size, config.context_length, width, config.text_head_count,
                                        config.text_layers, config.mlp_ratio, config.dropout, causal=False,
                                        quick_gelu=config.quick_gelu)
        self.video_mlp = nn.Sequential(nn.Linear(config.feature_dim, width), nn.GELU(), nn.Linear(width, width))
        self.segment_embedding = nn.Embedding(2, width)
        self.mask_embedding = nn.Parameter(torch.empty(width))
        self.embed_ln = nn.LayerNorm(width)
        self.embed_dropout = nn.Dropout(config.dropout)
        self.token_head = nn.Linear(width, width)  # Eq. 4, shared by video and text tokens
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / config.temperature)))
        nn.init.normal_(self.mask_embedding, std=0.02)
        nn.init.normal_(self.segment_embedding.weight, std=0.02)

    # ------------------------------------------------------------------------------------------- input

    def pack(self, frames: torch.Tensor, frame_mask: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor,
             masking: Masking | None = None) -> Packed:
        """Builds ``[CLS] x_v [SEP] x_t [SEP]`` (Eq. 2) from features [B, K, D] and text ids [B, L] (start .. end).

        With ``masking``, masked video tokens are zeros (§3.2) and masked words the [MASK] embedding.
        """
        batch, frames_count, _ = frames.shape
        encoder = self.text_encoder
        video = self.video_mlp(frames)
        shown = video if masking is None else video.masked_fill(masking.video[..., None], 0.0)
        ends = last_token(ids.unsqueeze(-1), mask).squeeze(-1)  # the end token's id serves as [SEP]
        video_part = torch.cat([encoder.token_embedding(ids[:, :1]), shown, encoder.token_embedding(ends)[:, None]], 1)
        positions = sinusoidal_embedding(video_positions(frame_mask), video.shape[-1])
        video_part = video_part + positions.to(video.dtype) + self.segment_embedding.weight[VIDEO]
        text_ids = ids if masking is None else masking.text_ids
        words = encoder.embed(text_ids)
        if masking is not None:
            shown_mask = self.mask_embedding.to(words.dtype) + encoder.positional_embedding[: ids.shape[1]]
            words = torch.where(masking.text_replace[..., None], shown_mask, words)
        text_part = words[:, 1:] + self.segment_embedding.weight[TEXT]  # the start token is the [CLS] above
        x = self.embed_dropout(self.embed_ln(torch.cat([video_part, text_part], dim=1)))
        ones = torch.ones(batch, 1, dtype=torch.bool, device=frames.device)
        real = torch.cat([ones, frame_mask, ones, mask[:, 1:]], dim=1)
        split = frames_count + 2
        return Packed(x, real, video, slice(1, 1 + frames_count), slice(1, split), slice(split, x.shape[1]))

    def encode(self, sequence: Packed, isolated: bool) -> torch.Tensor:
        """The shared transformer's last hidden states [B, S, W]; ``isolated`` applies §4.1's attention mask."""
        attn_mask = isolated_mask(sequence) if isolated else None
        x = sequence.x
        for block in self.text_encoder.blocks:
            x = block(x, pad_mask=~sequence.real, attn_mask=attn_mask)
        return self.text_encoder.ln_final(x)

    # ------------------------------------------------------------------------------------------- embeddings

    def pooled(self, batch: dict[str, torch.Tensor], ids: torch.Tensor,
               mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Isolated forward; the averaged hidden states of the video segment and of the text segment ([B, W] each)."""
        sequence = self.pack(batch["frames"][:, 0], batch["frame_mask"][:, 0], ids, mask)
        hidden = self.encode(sequence, isolated=True)
        video = masked_mean(hidden[:, sequence.video_segment], sequence.real[:, sequence.video_segment])
        text = masked_mean(hidden[:, sequence.text_slice], sequence.real[:, sequence.text_slice])
        return video, text

    def embed_video(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """[B, W] normalised video embedding, forwarded with a dummy text (only [SEP]) as §4.1 does at evaluation."""
        ids, mask = batch["text_ids"], batch["text_mask"]
        ends = last_token(ids.unsqueeze(-1), mask)
        dummy_ids = torch.cat([ids[:, :1], ends], dim=1)
        video, _ = self.pooled(batch, dummy_ids, torch.ones_like(dummy_ids, dtype=torch.bool))
        return F.normalize(video.float(), dim=-1)

    def embed_text(self, batch: dict[str, torch.Tensor], ids: torch.Tensor | None = None,
                   mask: torch.Tensor | None = None) -> torch.Tensor:
        """[B, W] normalised text embedding (of ``ids`` when given), forwarded with one dummy zero video token."""
        ids = batch["text_ids"] if ids is None else ids
        mask = batch["text_mask"] if mask is None else mask
        frames = batch["frames"]
        dummy = {"frames": frames.new_zeros(frames.shape[0], 1, 1, frames.shape[-1]),
                 "frame_mask": torch.ones(frames.shape[0], 1, 1, dtype=torch.bool, device=frames.device)}
        _, text = self.pooled(dummy, ids, mask)
        return F.normalize(text.float(), dim=-1)

    def match_scores(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """[B] cosine of each example's video and caption embeddings."""
        return (self.embed_video(batch) * self.embed_text(batch)).sum(dim=-1)

    def score(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """(1 + cosine) / 2 for the caption and, when present, for the negative (multiple choice: the higher wins)."""
        video = self.embed_video(batch)
        out = {"score": (1.0 + (video * self.embed_text(batch)).sum(-1)) / 2}
        if "neg_ids" in batch:
            negative = self.embed_text(batch, batch["neg_ids"], batch["neg_mask"])
            out["neg_score"] = (1.0 + (video * negative).sum(-1)) / 2
        return out

    # ------------------------------------------------------------------------------------------- training

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, Any]:
        """The selected losses, summed: masked token loss (or MFM + MLM) on an MMM-masked batch, and retrieval."""
        parts: dict[str, torch.Tensor] = {}
        losses = set(self.config.losses)
        if losses & {"masked-token", "mfm-mlm"}:
            parts.update(self.masked_losses(batch, unified="masked-token" in losses))
        if "retrieval" in losses:
            parts["retrieval"] = self.retrieval_loss(batch)
        total = sum(parts.values())
        return {"loss": total, "losses": {name: value.detach() for name, value in parts.items()}}

    def draw_masking(self, batch: dict[str, torch.Tensor]) -> Masking:
        """MMM (§3.3) over MFM-MLM (§3.2): per example, whole video, whole text, or 15% of each."""
        frame_mask, ids, mask = batch["frame_mask"][:, 0], batch["text_ids"], batch["text_mask"]
        draw = torch.rand(ids.shape[0], device=ids.device)
        mmm = self.config.mmm_probability
        whole_video = draw < mmm / 2
        whole_text = (draw >= mmm / 2) & (draw < mmm)
        partial = draw >= mmm
        p = self.config.mask_probability
        chosen_frames = torch.rand(frame_mask.shape, device=ids.device) < p
        video = frame_mask & ((partial[:, None] & chosen_frames) | whole_video[:, None])
        words = mask_words(ids, mask, p, vocab_words=self.config.vocab_size - 2, whole=whole_text)
        keep = partial | whole_text  # only MFM-MLM rows mask single words; whole-text rows mask all
        targets = words.targets & keep[:, None]
        mode = torch.full_like(draw, MFM_MLM, dtype=torch.long)
        mode[whole_video], mode[whole_text] = WHOLE_VIDEO, WHOLE_TEXT
        return Masking(video, torch.where(keep[:, None], words.ids, ids), words.replace & targets, targets, mode)

    def masked_losses(self, batch: dict[str, torch.Tensor], unified: bool) -> dict[str, torch.Tensor]:
        """Masked token loss (Eq. 8-9) or, with ``unified`` False, the MFM + MLM baseline (Eq. 5-7)."""
        masking = self.draw_masking(batch)
        ids, mask = batch["text_ids"], batch["text_mask"]
        sequence = self.pack(batch["frames"][:, 0], batch["frame_mask"][:, 0], ids, mask, masking)
        hidden = self.encode(sequence, isolated=False)
        predicted = self.token_head(hidden).float()  # e = W h + b
        video_pred = predicted[:, sequence.video_slice][masking.video]  # [Mv, W]
        text_pred = predicted[:, sequence.text_slice][masking.text_targets[:, 1:]]  # [Mt, W]
        video_truth = sequence.video_tokens.float()[masking.video]  # x_s of the masked video tokens
        visible = sequence.video_tokens.float()[batch["frame_mask"][:, 0] & ~masking.video]  # V'
        words = self.text_encoder.token_embedding.weight.float()  # D
        word_truth = ids[masking.text_targets]
        per_token: list[torch.Tensor] = []
        out: dict[str, torch.Tensor] = {}
        if video_pred.shape[0]:
            candidates = [visible, words] if unified else [visible]
            logits = torch.cat([(video_pred * video_truth).sum(-1, keepdim=True)]
                               + [video_pred @ c.t() for c in candidates], dim=1)
            target = torch.zeros(video_pred.shape[0], dtype=torch.long, device=logits.device)
            per_token.append(F.cross_entropy(logits, target, reduction="none"))
        if text_pred.shape[0]:
            candidates = [words, visible] if unified else [words]
            logits = torch.cat([text_pred @ c.t() for c in candidates], dim=1)
            per_token.append(F.cross_entropy(logits, word_truth, reduction="none"))
        if not per_token:  # nothing was masked (tiny batches): a zero that keeps the graph, for backward and DDP
            return {"masked-token" if unified else "mlm": predicted.sum() * 0.0}
        if unified:
            out["masked-token"] = torch.cat(per_token).mean()
        else:
            names = (["mfm"] if video_pred.shape[0] else []) + (["mlm"] if text_pred.shape[0] else [])
            out.update({name: losses.mean() for name, losses in zip(names, per_token)})
        return out

    def retrieval_loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """§4.1: isolated forward, pooled, symmetric contrastive over the batch; for video -> text the records'
        hard negatives are extra candidates (§4.4). Other captions of the same video (or with the same words)
        are not counted as negatives, nor is another record's hard negative that has the words of one of the
        video's captions (a colour-swapped negative of a red circle can be the caption of a blue one)."""
        video, text = self.pooled(batch, batch["text_ids"], batch["text_mask"])
        video, text = F.normalize(video.float(), dim=-1), F.normalize(text.float(), dim=-1)
        scale = self.logit_scale.clamp(math.log(1 / TEMPERATURE_RANGE[1]), math.log(1 / TEMPERATURE_RANGE[0])).exp()
        similarity = scale * video @ text.t()  # [videos, texts]
        ids, mask, keys = batch["text_ids"], batch["text_mask"], batch["video_key"]
        same = (keys[:, None] == keys[None, :]) | equal_texts(ids, mask)
        diagonal = torch.eye(same.shape[0], dtype=torch.bool, device=same.device)
        similarity = similarity.masked_fill(same & ~diagonal, float("-inf"))
        target = torch.arange(similarity.shape[0], device=similarity.device)
        v2t = similarity
        if "neg_ids" in batch:  # columns of records without a negative are -inf: no candidate (and no wait
            # for the device, which asking whether any record has one would be)
            negative = self.embed_text(batch, batch["neg_ids"], batch["neg_mask"])
            # [video i, negative j] blocked where negative j reads as a caption that counts for video i
            false = (same.float() @ equal_texts(ids, mask, batch["neg_ids"], batch["neg_mask"]).float()) > 0
            hard = (scale * video @ negative.t()).masked_fill(~batch["has_neg"][None, :] | false, float("-inf"))
            v2t = torch.cat([similarity, hard], dim=1)
        return (F.cross_entropy(v2t, target) + F.cross_entropy(similarity.t(), target)) / 2


def video_positions(frame_mask: torch.Tensor) -> torch.Tensor:
    """[B, K] -> [B, K + 2] positions of ``[CLS] x_v [SEP]``: 0, 1 .. K, then the [SEP] right after the last real
    frame. The [SEP] sits after the batch's frame padding, but its position must not depend on that padding, or a
    video's embedding would change with the longest video it is batched with."""
    batch, count = frame_mask.shape
    steps = torch.arange(count + 1, device=frame_mask.device).expand(batch, -1)
    return torch.cat([steps, frame_mask.long().sum(dim=1, keepdim=True) + 1], dim=1)


def isolated_mask(sequence: Packed) -> torch.Tensor:
    """[S, S] bool, True where attention is blocked: two diagonal squares (video + first [SEP]; words + last
    [SEP]); the [CLS] attends only to itself and nothing attends to it (§4.1: "[CLS] is disabled")."""
    length = sequence.x.shape[1]
    segment = torch.full((length,), -1, dtype=torch.long, device=sequence.x.device)
    segment[sequence.cls_position] = 0
    segment[sequence.video_segment] = 1
    segment[sequence.text_slice] = 2
    return segment[:, None] != segment[None, :]


def equal_texts(ids: torch.Tensor, mask: torch.Tensor, other_ids: torch.Tensor | None = None,
                other_mask: torch.Tensor | None = None) -> torch.Tensor:
    """[A, B] True where caption a (of ``ids``) and caption b (of ``other_ids``, default ``ids``) have the same
    tokens; the two may be padded to different lengths."""
    other_ids, other_mask = (ids, mask) if other_ids is None else (other_ids, other_mask)
    length = max(ids.shape[1], other_ids.shape[1])
    a = F.pad(ids.masked_fill(~mask, -1), (0, length - ids.shape[1]), value=-1)
    b = F.pad(other_ids.masked_fill(~other_mask, -1), (0, length - other_ids.shape[1]), value=-1)
    return (a[:, None, :] == b[None, :, :]).all(dim=-1)
