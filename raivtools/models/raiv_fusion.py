"""RAIV fusion models (seed 000 §3.2, §4.4 Table 5): a METER-style cross-modal encoder over two visual inputs.

- ``raiv-late``: (input 1, text) and (input 2, text) go through the same co-attention encoder (shared weights);
  the two pooled [CLS] features are concatenated and classified (METER's NLVR2 head, one logit, BCE).
- ``raiv-mid``: as late, then two more transformer layers over both passes' output tokens before the head.
- ``raiv-early``: both inputs and the text in one pass (visual tokens of both inputs in one sequence).

Batches with one visual input (``raiv train --task itm``) train METER's own pre-training objective instead:
video-text matching, a head on the pooled output of one (input, text) pass (see :mod:`raivtools.train.itm`).

Frames get sinusoidal temporal embeddings and an ID embedding saying first or second input (images are
one-frame videos). For the reasoning task the statement with a choice appended is scored the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from raivtools.models.base import ModelConfig, VisionLanguageModel
from raivtools.models.layers import Block, ClassifierHead, CrossModalEncoder, TextEncoder, VisualEmbedding
from raivtools.models.registry import register


@dataclass
class RaivFusionConfig(ModelConfig):
    """RAIV fusion settings (the shared ones are in :class:`ModelConfig`)."""

    fusion_layers: int = 2  # METER co-attention layers over (visual input, text)
    mid_layers: int = 2  # raiv-mid: transformer layers over both passes' outputs before the head (paper: 2)


class RaivFusion(VisionLanguageModel):
    """The shared body of the three fusion variants; :attr:`fusion` picks how the two inputs meet."""

    config_class = RaivFusionConfig
    input_kind = "pair"
    head_prefixes = ("head.", "itm_head.")
    ddp_find_unused_parameters = True  # the matching head (itm) sits idle in pair training and vice versa
    fusion: ClassVar[str] = "late"

    def __init__(self, config: RaivFusionConfig):
        super().__init__(config)
        width = config.width
        self.text_encoder = TextEncoder(
            config.vocab_size, config.context_length, config.text_hidden, config.text_head_count, config.text_layers,
            config.mlp_ratio, config.dropout, causal=config.text_causal, quick_gelu=config.quick_gelu,
        )
        self.text_proj = nn.Linear(config.text_hidden, width) if config.text_hidden != width else nn.Identity()
        self.visual = VisualEmbedding(config.feature_dim, width, num_inputs=2, dropout=config.dropout)
        self.encoder = CrossModalEncoder(width, config.heads, config.fusion_layers, config.mlp_ratio, config.dropout)
        if self.fusion == "mid":
            self.pass_embedding = nn.Embedding(2, width)
            self.mid = nn.ModuleList(Block(width, config.heads, config.mlp_ratio, config.dropout)
                                     for _ in range(config.mid_layers))
            self.mid_ln = nn.LayerNorm(width)
        pooled = 2 * width if self.fusion == "early" else 4 * width
        self.head = ClassifierHead(pooled, 1)
        self.itm_head = ClassifierHead(2 * width, 1)  # METER's image-text matching head, for --task itm

    def text_states(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Text tokens [B, L, W] from the text encoder, in the fusion width."""
        return self.text_proj(self.text_encoder(ids, mask))

    def logits(self, batch: dict[str, torch.Tensor], text_ids: torch.Tensor | None = None,
               text_mask: torch.Tensor | None = None) -> torch.Tensor:
        """One logit per example: [B]; ``text_ids``/``text_mask`` replace the batch's statement when given."""
        ids = batch["text_ids"] if text_ids is None else text_ids
        mask = batch["text_mask"] if text_mask is None else text_mask
        text = self.text_states(ids, mask)
        if batch["frames"].shape[1] == 1:  # one visual input: video-text matching (itm pre-training)
            return self.itm_head(self._one_pass(batch, text, mask, 0)[0]).squeeze(-1)
        pooled = getattr(self, f"_fuse_{self.fusion}")(batch, text, mask)
        return self.head(pooled).squeeze(-1)

    def _fuse_late(self, batch: dict[str, torch.Tensor], text: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        pooled = [self._one_pass(batch, text, mask, v)[0] for v in range(2)]
        return torch.cat(pooled, dim=-1)

    def _fuse_mid(self, batch: dict[str, torch.Tensor], text: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Both passes' output tokens through the mid layers; then the pooler on each pass's text end token and
        visual [CLS], as late fusion pools them, concatenated: [B, 4W]."""
        tokens, masks, anchors, offset = [], [], [], 0
        for v in range(2):
            _, text_out, visual_out, visual_mask = self._one_pass(batch, text, mask, v, pool=False)
            both = torch.cat([text_out, visual_out], dim=1) + self.pass_embedding.weight[v]
            tokens.append(both)
            masks.append(torch.cat([mask, visual_mask], dim=1))
            end = mask.long().sum(dim=1) - 1
            anchors += [offset + end, torch.full_like(end, offset + text_out.shape[1])]  # text end, visual [CLS]
            offset += both.shape[1]
        x, x_mask = torch.cat(tokens, dim=1), torch.cat(masks, dim=1)
        for block in self.mid:
            x = block(x, pad_mask=~x_mask)
        x = self.mid_ln(x)
        rows = torch.arange(x.shape[0], device=x.device)
        text_1, visual_1, text_2, visual_2 = (x[rows, anchor] for anchor in anchors)
        return torch.cat([self.encoder.pool(text_1, visual_1), self.encoder.pool(text_2, visual_2)], dim=-1)

    def _fuse_early(self, batch: dict[str, torch.Tensor], text: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """One co-attention pass over the text and both inputs' tokens (each input keeps its own [CLS] and ID
        embedding); pooled like one late pass, on the text end token and the first input's [CLS], which
        attends to both inputs: [B, 2W]."""
        parts = [self.visual(batch["frames"][:, v], batch["frame_mask"][:, v], input_index=v) for v in range(2)]
        visual = torch.cat([tokens for tokens, _ in parts], dim=1)
        visual_mask = torch.cat([m for _, m in parts], dim=1)
        pooled, _, _ = self.encoder(text, mask, visual, visual_mask)
        return pooled

    def _one_pass(self, batch: dict[str, torch.Tensor], text: torch.Tensor, mask: torch.Tensor, v: int,
                  pool: bool = True):
        visual, visual_mask = self.visual(batch["frames"][:, v], batch["frame_mask"][:, v], input_index=v)
        pooled, text_out, visual_out = self.encoder(text, mask, visual, visual_mask, pool=pool)
        return pooled, text_out, visual_out, visual_mask

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, Any]:
        """BCE of the statement's logit against the True/False label (with one visual input: of the caption's
        match logit against matched / mismatched)."""
        logits = self.logits(batch)
        loss = F.binary_cross_entropy_with_logits(logits.float(), batch["labels"].float())
        return {"loss": loss, "losses": {"bce": loss.detach()}}

    def score(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """p(true) of the statement (one visual input: p(match) of the caption): ``{"score": [B]}``."""
        return {"score": torch.sigmoid(self.logits(batch).float())}


@register("raiv-late")
class RaivLate(RaivFusion):
    """Late fusion (the paper's default): the two [CLS] features concatenated."""

    fusion = "late"


@register("raiv-mid")
class RaivMid(RaivFusion):
    """Mid fusion: two extra transformer layers over both passes' outputs."""

    fusion = "mid"


@register("raiv-early")
class RaivEarly(RaivFusion):
    """Early fusion: both visual inputs and the text in one sequence."""

    fusion = "early"
