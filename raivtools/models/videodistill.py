"""VideoDistill (seed 002 §3.1-3.5): language-aware frame selection and vision refinement; the answer comes from
visual tokens only.

- **LA-Gate** (§3.2, Eq. 1-3): the key comes from the sentence embedding ``t_cls``, queries and values from the
  visual tokens; per head, the cosine of each query with the key gates that token's value; an output projection
  and a skip connection follow. The text never enters the visual stream: it only scales visual values.
- **Differentiable sparse sampling** (§3.3, Eq. 4-6): the N dense per-frame features (+ learned temporal
  embeddings) pass L frame-sampling blocks (LA-Gate, then self-attention over frames); a linear map gives K rows
  of N logits; Gumbel-softmax with a straight-through hard one-hot picks K frames, and that mask multiplies the
  frames' patch tokens, so gradients reach the sampler.
- **Vision refinement** (§3.4): a learnable video [CLS] and the selected patch tokens (+ learned temporal and
  spatial embeddings) through blocks of LA-Gate then divided space-time self-attention (temporal, then spatial,
  as Frozen-in-Time) and an MLP; only the final [CLS] is used.
- **Losses** (§3.5): VTM (captions of random pairs in the batch exchanged with probability 0.5; a linear
  two-class head on the [CLS]), the contrastive constraint on matched pairs (Eq. 8, cosine, tau = 0.07), and
  vision-guided MLM (Eq. 9: the masked sentence's word states are stop-gradient, so the words must come from
  the visual [CLS]).
- **Table 4 ablations** as config fields: ``sampling`` = ``hard`` (the paper), ``soft`` (row c: the Gumbel-softmax
  weights mix all dense frames), ``uniform`` (row b: K evenly spaced frames, no sampler); ``fusion`` =
  ``la-gate`` or ``cross-attention`` (row e: visual queries attend to the text's word states, in both modules).

Patch tokens come from the feature store's ``tokens`` [K, P, W] (``raiv encode --tokens``) as ``batch["tokens"]``
[B, 1, N, P, W]; without them each frame's CLS feature is its only "patch" (P = 1), so the model also runs on a
store without tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from raivtools.io.errors import InputError
from raivtools.models.base import ModelConfig, VisionLanguageModel, parse_loss_names
from raivtools.models.layers import Attention, Block, TextEncoder, last_token, mask_words
from raivtools.models.registry import register

SAMPLINGS = ("hard", "soft", "uniform")
FUSIONS = ("la-gate", "cross-attention")
LOSSES = ("vtm", "cl", "vg-mlm")
#: logit given to padded frames so the sampler never picks them (finite, so fp16 and the Gumbel noise stay finite)
_NEVER = -1e4


def parse_losses(spec: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``"vtm,cl,vg-mlm"`` (or ``all``) -> loss names in canonical order; VTM is required (it scores)."""
    chosen = parse_loss_names(spec, LOSSES, {"all": LOSSES}, "videodistill")
    if "vtm" not in chosen:
        raise InputError("--loss: VideoDistill answers with its VTM head; include vtm")
    return tuple(name for name in LOSSES if name in chosen)


@dataclass
class VideoDistillConfig(ModelConfig):
    """VideoDistill settings (the shared ones are in :class:`ModelConfig`; ``width`` is D of §3, ``max_frames`` N)."""

    max_frames: int = 16  # N: dense frames the sampler chooses from (paper: 100)
    select_frames: int = 4  # K: frames kept for vision refinement (paper: 16)
    sampler_layers: int = 2  # L: frame-sampling blocks (paper: 3)
    refine_layers: int = 2  # vision refinement blocks (paper: 3)
    token_dim: int = 0  # W of the store's patch tokens; 0 = no tokens, each frame's CLS feature is its one patch
    max_patches: int = 256  # most patch tokens per frame (size of the learned spatial embedding)
    gumbel_tau: float = 1.0  # Gumbel-softmax temperature (Eq. 4)
    sampling: str = "hard"  # hard (Eq. 4-6) | soft (Table 4 row c) | uniform (row b, no sampler)
    fusion: str = "la-gate"  # la-gate | cross-attention (Table 4 row e)
    embed_dim: int = 256  # size of the contrastive embeddings of v_cls* and t_cls
    temperature: float = 0.07  # tau of the contrastive constraint (Eq. 8, fixed in the paper)
    swap_probability: float = 0.5  # VTM: chance that an example's caption is exchanged with another's
    mlm_probability: float = 0.15  # VG-MLM: chance that a word is masked (BERT's 80/10/10 split)
    losses: tuple[str, ...] = LOSSES  # training losses, summed with weight 1 (Eq. 10)

    def __post_init__(self) -> None:
        self.losses = parse_losses(self.losses)
        if self.sampling not in SAMPLINGS:
            raise InputError(f"videodistill: sampling must be one of {', '.join(SAMPLINGS)}, not {self.sampling!r}")
        if self.fusion not in FUSIONS:
            raise InputError(f"videodistill: fusion must be one of {', '.join(FUSIONS)}, not {self.fusion!r}")
        if self.select_frames < 1 or self.max_frames < 1:
            raise InputError("videodistill: select_frames and max_frames must be at least 1")
        if self.width % self.heads:
            raise InputError(f"videodistill: width {self.width} is not a multiple of heads {self.heads}")


class Query(NamedTuple):
    """The language side every fusion layer sees: the sentence embedding and (for cross-attention) the words."""

    sentence: torch.Tensor  # [B, Wt] t_cls
    words: torch.Tensor  # [B, L, Wt] word states
    mask: torch.Tensor  # [B, L] True at real tokens


class LanguageAwareGate(nn.Module):
    """LA-Gate (Eq. 1-3, multi-head): ``v + W_o(cos(W_q v, W_k t_cls) * W_v v)`` per head.

    Args:
        width: visual token size.
        text_width: size of ``t_cls``.
        heads: heads; each gates its slice of the values with its own cosine.
        dropout: dropout on the output projection.
    """

    def __init__(self, width: int, text_width: int, heads: int, dropout: float = 0.0):
        super().__init__()
        self.heads = heads
        self.ln = nn.LayerNorm(width)
        self.query = nn.Linear(width, width)
        self.value = nn.Linear(width, width)
        self.key = nn.Linear(text_width, width)
        self.out = nn.Linear(width, width)
        self.dropout = nn.Dropout(dropout)

    def gates(self, visual: torch.Tensor, sentence: torch.Tensor) -> torch.Tensor:
        """Per-token, per-head importance: cosine of each query with the key, [B, M, H] in [-1, 1] (Eq. 2)."""
        batch, tokens, width = visual.shape
        queries = self.query(self.ln(visual)).view(batch, tokens, self.heads, width // self.heads)
        key = self.key(sentence).view(batch, 1, self.heads, width // self.heads)
        return F.cosine_similarity(queries, key, dim=-1, eps=1e-6)

    def forward(self, visual: torch.Tensor, query: Query) -> torch.Tensor:
        """[B, M, W] -> [B, M, W]: each token's value scaled by its gate, projected, added to the input."""
        batch, tokens, width = visual.shape
        gates = self.gates(visual, query.sentence)
        values = self.value(self.ln(visual)).view(batch, tokens, self.heads, width // self.heads)
        gated = (values * gates.unsqueeze(-1).to(values.dtype)).reshape(batch, tokens, width)
        return visual + self.dropout(self.out(gated))


class TextCrossAttention(nn.Module):
    """The Table 4 (e) ablation: V2T cross-attention (visual queries, the text's word states as keys and values)
    in place of LA-Gate, with the same skip connection; here the text does flow into the visual tokens."""

    def __init__(self, width: int, text_width: int, heads: int, dropout: float = 0.0):
        super().__init__()
        self.ln = nn.LayerNorm(width)
        self.ln_text = nn.LayerNorm(text_width)
        self.attn = Attention(width, heads, dropout=dropout, kdim=text_width, vdim=text_width)
        self.dropout = nn.Dropout(dropout)

    def forward(self, visual: torch.Tensor, query: Query) -> torch.Tensor:
        words = self.ln_text(query.words)
        attended = self.attn(self.ln(visual), words, words, key_padding_mask=~query.mask)
        return visual + self.dropout(attended)


def make_fusion(kind: str, width: int, text_width: int, heads: int, dropout: float) -> nn.Module:
    """The language-vision interaction layer named by ``kind`` (``la-gate`` or ``cross-attention``)."""
    layer = LanguageAwareGate if kind == "la-gate" else TextCrossAttention
    return layer(width, text_width, heads, dropout)


class FrameSamplingBlock(nn.Module):
    """FS-Block (Fig. 4): LA-Gate over the frame tokens, then self-attention across frames and an MLP."""

    def __init__(self, config: VideoDistillConfig):
        super().__init__()
        self.fusion = make_fusion(config.fusion, config.width, config.text_hidden, config.heads, config.dropout)
        self.block = Block(config.width, config.heads, config.mlp_ratio, config.dropout)

    def forward(self, frames: torch.Tensor, frame_mask: torch.Tensor, query: Query) -> torch.Tensor:
        return self.block(self.fusion(frames, query), pad_mask=~frame_mask)


def gumbel_select(logits: torch.Tensor, tau: float, hard: bool, noisy: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Gumbel-softmax over the last dim (Eq. 4) with the straight-through hard one-hot (Eq. 5-6).

    Args:
        logits: [B, K, N] one row of frame logits per selected slot.
        tau: temperature.
        hard: return ``y_hard + y_soft - stopgrad(y_soft)`` (forward: exactly one-hot; backward: the soft gradient);
            otherwise ``y_soft`` itself (Table 4's soft sampling).
        noisy: add Gumbel(0, 1) noise (training); without it the choice is the argmax of the logits (evaluation).

    Returns:
        (weights [B, K, N], chosen frame per slot [B, K]).
    """
    logits = logits.float()
    if noisy:
        gumbels = -torch.empty_like(logits).exponential_().log()
        logits = logits + gumbels
    soft = torch.softmax(logits / tau, dim=-1)
    index = soft.argmax(dim=-1)
    if not hard:
        return soft, index
    one_hot = F.one_hot(index, soft.shape[-1]).to(soft.dtype)
    return one_hot + soft - soft.detach(), index


def uniform_indices(frame_mask: torch.Tensor, count: int) -> torch.Tensor:
    """Table 4 (b): ``count`` evenly spaced frames among each example's real ones (the middle of equal
    intervals): [B, N] -> [B, count]."""
    real = frame_mask.long().sum(dim=1, keepdim=True).clamp(min=1)
    slots = torch.arange(count, device=frame_mask.device, dtype=torch.float32)
    return ((slots + 0.5) * real / count).floor().long().clamp(max=frame_mask.shape[1] - 1)


class SparseSampler(nn.Module):
    """Differentiable sparse sampling (§3.3): N frame features -> K selection rows over the N frames."""

    def __init__(self, config: VideoDistillConfig):
        super().__init__()
        self.config = config
        self.proj = nn.Linear(config.feature_dim, config.width)
        self.ln_in = nn.LayerNorm(config.width)
        self.temporal = nn.Parameter(torch.empty(config.max_frames, config.width))
        self.blocks = nn.ModuleList(FrameSamplingBlock(config) for _ in range(config.sampler_layers))
        self.ln = nn.LayerNorm(config.width)
        self.select = nn.Linear(config.width, config.select_frames)  # W_s
        nn.init.normal_(self.temporal, std=0.02)

    def logits(self, frames: torch.Tensor, frame_mask: torch.Tensor, query: Query) -> torch.Tensor:
        """[B, N, D] -> [B, K, N]: row k scores each frame as the k-th language-related one; padding gets -1e4."""
        count = frames.shape[1]
        if count > self.temporal.shape[0]:
            raise InputError(f"videodistill: {count} frames but max_frames is {self.temporal.shape[0]}")
        x = self.ln_in(self.proj(frames)) + self.temporal[:count].to(frames.dtype)
        for block in self.blocks:
            x = block(x, frame_mask, query)
        logits = self.select(self.ln(x)).transpose(1, 2).float()
        return logits.masked_fill(~frame_mask[:, None, :], _NEVER)

    def forward(self, frames: torch.Tensor, frame_mask: torch.Tensor,
                query: Query) -> tuple[torch.Tensor, torch.Tensor]:
        """(selection weights [B, K, N], chosen frames [B, K])."""
        logits = self.logits(frames, frame_mask, query)
        return gumbel_select(logits, self.config.gumbel_tau, hard=self.config.sampling == "hard", noisy=self.training)


def divided_attention(attn: Attention, cls: torch.Tensor,
                      groups: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Frozen-in-Time's divided attention step: each group of tokens attends within itself and to the [CLS];
    the [CLS] attends to every token.

    Args:
        attn: the attention layer.
        cls: [B, 1, W].
        groups: [B, G, S, W] (G groups of S tokens).

    Returns:
        (new [CLS] [B, 1, W], new tokens [B, G, S, W]) (attention outputs, before the residual).
    """
    batch, count, size, width = groups.shape
    flat = groups.reshape(batch * count, size, width)
    keys = torch.cat([cls.unsqueeze(1).expand(batch, count, 1, width).reshape(batch * count, 1, width), flat], dim=1)
    tokens_out = attn(flat, keys, keys).view(batch, count, size, width)
    everything = torch.cat([cls, groups.reshape(batch, count * size, width)], dim=1)
    cls_out = attn(cls, everything, everything)
    return cls_out, tokens_out


class VisionRefinementBlock(nn.Module):
    """VR-Block (Fig. 4): LA-Gate, then divided space-time self-attention (temporal across the K frames at each
    patch position, then spatial within each frame) and an MLP, each pre-LayerNorm with a residual."""

    def __init__(self, config: VideoDistillConfig):
        super().__init__()
        width = config.width
        self.fusion = make_fusion(config.fusion, width, config.text_hidden, config.heads, config.dropout)
        self.ln_time = nn.LayerNorm(width)
        self.time_attn = Attention(width, config.heads, dropout=config.dropout)
        self.ln_space = nn.LayerNorm(width)
        self.space_attn = Attention(width, config.heads, dropout=config.dropout)
        self.ln_mlp = nn.LayerNorm(width)
        hidden = int(width * config.mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, width))
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, frames: int, patches: int, query: Query) -> torch.Tensor:
        """``x`` [B, 1 + K*P, W] ([CLS] then frame-major patches) -> the same shape."""
        x = self.fusion(x, query)
        batch, _, width = x.shape
        h = self.ln_time(x)
        by_position = h[:, 1:].view(batch, frames, patches, width).transpose(1, 2)  # [B, P, K, W]
        cls_out, tokens_out = divided_attention(self.time_attn, h[:, :1], by_position)
        x = x + self.dropout(torch.cat([cls_out, tokens_out.transpose(1, 2).reshape(batch, -1, width)], dim=1))
        h = self.ln_space(x)
        by_frame = h[:, 1:].view(batch, frames, patches, width)  # [B, K, P, W]
        cls_out, tokens_out = divided_attention(self.space_attn, h[:, :1], by_frame)
        x = x + self.dropout(torch.cat([cls_out, tokens_out.reshape(batch, -1, width)], dim=1))
        return x + self.dropout(self.mlp(self.ln_mlp(x)))


class VisionRefinement(nn.Module):
    """§3.4: selected patch tokens + a learnable video [CLS] -> the language-aware video embedding v_cls*.

    The paper leaves open what the refinement's temporal embedding indexes; here it is the selection slot k (the
    order of ``mask^k`` in Eq. 6), not the chosen frame's time, and two slots may choose the same frame (§3.3 asks
    for no distinct choice).
    """

    def __init__(self, config: VideoDistillConfig):
        super().__init__()
        width = config.width
        self.proj = nn.Linear(config.token_dim or config.feature_dim, width)
        self.ln_in = nn.LayerNorm(width)
        self.cls = nn.Parameter(torch.empty(width))
        self.temporal = nn.Parameter(torch.empty(config.select_frames, width))
        self.spatial = nn.Parameter(torch.empty(config.max_patches, width))
        self.blocks = nn.ModuleList(VisionRefinementBlock(config) for _ in range(config.refine_layers))
        self.ln = nn.LayerNorm(width)
        for parameter in (self.cls, self.temporal, self.spatial):
            nn.init.normal_(parameter, std=0.02)

    def forward(self, patches: torch.Tensor, query: Query) -> torch.Tensor:
        """[B, K, P, Wp] selected patch tokens -> v_cls* [B, W]."""
        batch, frames, count, _ = patches.shape
        if count > self.spatial.shape[0]:
            raise InputError(f"videodistill: {count} patch tokens per frame but max_patches is {self.spatial.shape[0]}")
        x = self.ln_in(self.proj(patches))
        x = x + self.temporal[:frames, None].to(x.dtype) + self.spatial[None, :count].to(x.dtype)
        x = torch.cat([self.cls.to(x.dtype).expand(batch, 1, -1), x.reshape(batch, frames * count, -1)], dim=1)
        for block in self.blocks:
            x = block(x, frames, count, query)
        return self.ln(x[:, 0])


class VisualResult(NamedTuple):
    """What one language-aware pass over the video gives."""

    cls: torch.Tensor  # [B, W] v_cls*
    selected: torch.Tensor  # [B, K] chosen frame positions (into the batch's frames)


@register("videodistill")
class VideoDistill(VisionLanguageModel):
    """VideoDistill: text encoder, sparse sampler, vision refinement, VTM / contrastive / VG-MLM heads."""

    config_class = VideoDistillConfig
    input_kind = "video-text"
    head_prefixes = ("vtm_head.",)
    #: the data layer also loads the store's patch tokens as ``batch["tokens"]`` (see raivtools.train.data)
    needs_tokens: ClassVar[bool] = True

    def __init__(self, config: VideoDistillConfig):
        super().__init__(config)
        text_width = config.text_hidden
        self.text_encoder = TextEncoder(
            config.vocab_size, config.context_length, text_width, config.text_head_count, config.text_layers,
            config.mlp_ratio, config.dropout, causal=config.text_causal, quick_gelu=config.quick_gelu,
        )
        self.sampler = SparseSampler(config) if config.sampling != "uniform" else None
        self.refine = VisionRefinement(config)
        self.vtm_head = nn.Linear(config.width, 2)
        self.vision_proj = nn.Linear(config.width, config.embed_dim)
        self.text_proj = nn.Linear(text_width, config.embed_dim)
        hidden = config.width
        self.mlm_head = nn.Sequential(nn.Linear(text_width + config.width, hidden), nn.GELU(), nn.LayerNorm(hidden),
                                      nn.Linear(hidden, config.vocab_size))
        # Eq. 9 stops gradients into the masked sentence's encoding, so a [MASK] vector could not be learned:
        # a fixed random one (saved with the weights) marks the masked words.
        self.register_buffer("mask_embedding", torch.randn(text_width) * 0.02)

    # ------------------------------------------------------------------------------------------- parts

    def query(self, ids: torch.Tensor, mask: torch.Tensor) -> Query:
        """The text encoder's word states and sentence embedding t_cls (its end-token state, as CLIP's)."""
        words = self.text_encoder(ids, mask)
        return Query(last_token(words, mask), words, mask)

    def patch_tokens(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """[B, N, P, Wp]: the store's patch tokens, or each frame's feature as its only patch when there are none."""
        if "tokens" in batch:
            tokens = batch["tokens"][:, 0]
            if tokens.shape[-1] != (self.config.token_dim or self.config.feature_dim):
                raise InputError(f"videodistill: patch tokens of width {tokens.shape[-1]}, but the model was built for "
                                 f"{self.config.token_dim or self.config.feature_dim} (set token_dim)")
            return tokens
        if self.config.token_dim and self.config.token_dim != self.config.feature_dim:
            raise InputError("videodistill: this model was built for patch tokens (token_dim) but the batch has none; "
                             "encode the frames with `raiv encode --tokens`")
        return batch["frames"][:, 0].unsqueeze(2)

    def select(self, batch: dict[str, torch.Tensor], query: Query) -> tuple[torch.Tensor, torch.Tensor]:
        """Selection weights [B, K, N] over the dense frames and the chosen positions [B, K]."""
        frames, frame_mask = batch["frames"][:, 0], batch["frame_mask"][:, 0]
        if self.sampler is None:
            index = uniform_indices(frame_mask, self.config.select_frames)
            return F.one_hot(index, frames.shape[1]).to(frames.dtype), index
        return self.sampler(frames, frame_mask, query)

    def visual(self, batch: dict[str, torch.Tensor], query: Query) -> VisualResult:
        """One language-aware pass: sample K frames for this query, refine their patches, return v_cls*."""
        weights, index = self.select(batch, query)
        patches = self.patch_tokens(batch)
        chosen = torch.einsum("bkn,bnpw->bkpw", weights.to(patches.dtype), patches)
        return VisualResult(self.refine(chosen, query), index)

    def match_logits(self, batch: dict[str, torch.Tensor], ids: torch.Tensor, mask: torch.Tensor):
        """VTM logits [B, 2] of (video, text) and the pass that made them."""
        query = self.query(ids, mask)
        result = self.visual(batch, query)
        return self.vtm_head(result.cls).float(), result, query

    # ------------------------------------------------------------------------------------------- training

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, Any]:
        """VTM + contrastive (Eq. 8) + VG-MLM (Eq. 9) on one batch, each as selected by ``losses`` (Eq. 10)."""
        ids, mask = batch["text_ids"], batch["text_mask"]
        partner = exchange_partners(batch["video_key"].shape[0], self.config.swap_probability, ids.device)
        swapped_ids, swapped_mask = ids[partner], mask[partner]
        logits, result, query = self.match_logits(batch, swapped_ids, swapped_mask)
        matched = same_caption(ids, mask, partner) | (batch["video_key"] == batch["video_key"][partner])
        original = partner == torch.arange(partner.shape[0], device=partner.device)
        parts: dict[str, torch.Tensor] = {}
        if "vtm" in self.config.losses:
            parts["vtm"] = F.cross_entropy(logits, matched.long())
        if "cl" in self.config.losses:
            parts["cl"] = self.contrastive_loss(result.cls, query.sentence, batch, partner, original)
        if "vg-mlm" in self.config.losses:
            # one wait for the device: how many examples kept their caption sets the shapes below
            kept = torch.nonzero(original).squeeze(1)
            mlm = self.vg_mlm_loss(ids[kept], mask[kept], result.cls[kept])
            if mlm is not None:
                parts["vg-mlm"] = mlm
        total = sum(parts.values())
        return {"loss": total, "losses": {name: value.detach() for name, value in parts.items()}}

    def contrastive_loss(self, video: torch.Tensor, sentence: torch.Tensor, batch: dict[str, torch.Tensor],
                         partner: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """Eq. 8 on the matched pairs (``rows`` [B] bool): each v_cls* against every caption of the batch
        (cosine / tau), averaged over those rows; 0 when there are none.

        ``sentence[j]`` is the t_cls of caption ``partner[j]`` (the batch after the VTM exchange), so an unswapped
        row i finds its own caption in column i. Captions of the same video or with the same words as row i's
        are not counted as its negatives. Every row is computed and the swapped ones weigh 0, so the step never
        waits for the device to learn how many rows there are.
        """
        v = F.normalize(self.vision_proj(video).float(), dim=-1)
        t = F.normalize(self.text_proj(sentence).float(), dim=-1)
        similarity = v @ t.t() / self.config.temperature  # [B, B]
        ids, mask, keys = batch["text_ids"], batch["text_mask"], batch["video_key"]
        positive = keys[:, None] == keys[partner][None, :]
        positive |= equal_rows(ids, mask, ids[partner], mask[partner])
        positive.fill_diagonal_(False)  # column i stays finite, so every row's loss is finite
        own = torch.arange(rows.shape[0], device=rows.device)
        per_row = F.cross_entropy(similarity.masked_fill(positive, float("-inf")), own, reduction="none")
        return torch.where(rows, per_row, 0.0).sum() / rows.sum().clamp(min=1)

    def vg_mlm_loss(self, ids: torch.Tensor, mask: torch.Tensor, video: torch.Tensor) -> torch.Tensor | None:
        """Eq. 9: mask words (BERT's 15%, 80/10/10), encode the masked sentence without gradient, and predict each
        word from [SG(w^M_i), v_cls*] with a two-layer MLP. None when no word was masked."""
        masked = mask_words(ids, mask, self.config.mlm_probability, vocab_words=self.config.vocab_size - 2)
        rows, columns = torch.nonzero(masked.targets, as_tuple=True)  # one wait: the masked words set the shapes
        if rows.shape[0] == 0:
            return None
        with torch.no_grad():
            x = self.text_encoder.embed(masked.ids)
            x = torch.where(masked.replace[..., None], self.mask_embedding.to(x.dtype)
                            + self.text_encoder.positional_embedding[: ids.shape[1]].to(x.dtype), x)
            words = self.text_encoder.ln_final(self.text_encoder.run(x, mask))
        features = torch.cat([words[rows, columns], video[rows].to(words.dtype)], dim=-1)
        logits = self.mlm_head(features).float()
        return F.cross_entropy(logits, ids[rows, columns])

    # ------------------------------------------------------------------------------------------- scoring

    def score(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """p(match) from the VTM head for the caption (and the negative), and the frames chosen for the caption."""
        logits, result, _ = self.match_logits(batch, batch["text_ids"], batch["text_mask"])
        out = {"score": torch.softmax(logits, dim=-1)[:, 1], "selected_frames": self.frame_numbers(batch, result)}
        if "neg_ids" in batch:
            neg_logits, _, _ = self.match_logits(batch, batch["neg_ids"], batch["neg_mask"])
            out["neg_score"] = torch.softmax(neg_logits, dim=-1)[:, 1]
        return out

    def frame_numbers(self, batch: dict[str, torch.Tensor], result: VisualResult) -> torch.Tensor:
        """[B, K] the chosen frames as frame numbers of the stored video when the batch says which stored frame
        each of its frames is (``frame_index``), else as positions among the batch's frames."""
        if "frame_index" in batch:
            return torch.gather(batch["frame_index"][:, 0], 1, result.selected)
        return result.selected

    def match_scores(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """[B] p(match) of each (video, caption) from the VTM head (the paper's retrieval by VTM logits)."""
        logits, _, _ = self.match_logits(batch, batch["text_ids"], batch["text_mask"])
        return torch.softmax(logits, dim=-1)[:, 1]

    def embed_text(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """[B, E] the normalised contrastive embedding of t_cls."""
        query = self.query(batch["text_ids"], batch["text_mask"])
        return F.normalize(self.text_proj(query.sentence).float(), dim=-1)

    def embed_video(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """[B, E] the normalised contrastive embedding of v_cls*. VideoDistill's video embedding depends on the
        question; without one this uses the empty caption (start and end tokens only) as a goal-free query, an
        approximation: ``match_scores`` over all pairs is the exact, language-aware ranking."""
        ids, mask = batch["text_ids"], batch["text_mask"]
        empty_ids = torch.stack([ids[:, 0], last_token(ids.unsqueeze(-1), mask).squeeze(-1)], dim=1)
        empty_mask = torch.ones_like(empty_ids, dtype=torch.bool)
        result = self.visual(batch, self.query(empty_ids, empty_mask))
        return F.normalize(self.vision_proj(result.cls).float(), dim=-1)


# ------------------------------------------------------------------------------------------------ helpers


def exchange_partners(count: int, probability: float, device) -> torch.Tensor:
    """VTM's caption exchange: each example joins with ``probability``; joiners are paired at random and swap
    captions (an odd one out keeps its own). Returns [B]: whose caption each example gets.

    All on the device, with no wait for it: one uniform draw per example decides who joins (draw below
    ``probability``) and, sorted, puts the joiners first in a random order; neighbours 0-1, 2-3, ... of that order
    swap.
    """
    draw = torch.rand(count, device=device)
    joiners = (draw < probability).sum()
    order = torch.argsort(draw)
    slot = torch.arange(count, device=device)
    mate = slot ^ 1
    swaps = (slot | 1) < joiners  # both this slot and its mate hold joiners
    partner = torch.empty_like(order)
    partner[order] = torch.where(swaps, order[mate.clamp(max=count - 1)], order)
    return partner


def equal_rows(ids_a: torch.Tensor, mask_a: torch.Tensor, ids_b: torch.Tensor, mask_b: torch.Tensor) -> torch.Tensor:
    """[A, B] True where caption a and caption b have the same tokens."""
    a = ids_a.masked_fill(~mask_a, -1)
    b = ids_b.masked_fill(~mask_b, -1)
    return (a[:, None, :] == b[None, :, :]).all(dim=-1)


def same_caption(ids: torch.Tensor, mask: torch.Tensor, partner: torch.Tensor) -> torch.Tensor:
    """[B] True where an example's exchanged caption has the same tokens as its own."""
    return equal_rows(ids, mask, ids, mask)[torch.arange(ids.shape[0], device=ids.device), partner]
