"""Layers every architecture shares: the tokenizer, the text encoder, visual input embedding, transformer blocks,
the METER co-attention encoder and the METER-style classification head.

Parameter names of :class:`Block` and :class:`TextEncoder` follow open_clip's text tower (``token_embedding``,
``positional_embedding``, ``ln_1``, ``attn``, ``ln_2``, ``mlp.c_fc``, ``mlp.c_proj``, ``ln_final``) so that
:func:`load_open_clip_text_tower` can copy a pretrained CLIP text tower in by name.
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from raivtools.io.errors import InputError

PAD_ID = 0


class TextTokenizer:
    """open_clip's BPE tokenizer (ships with the package): text -> ``[start, ..., end]`` ids, at most
    ``context_length`` long. Ids are not padded here; the collator pads each batch to its own longest text."""

    def __init__(self, context_length: int = 77):
        self.context_length = context_length
        self._bpe = _simple_tokenizer()
        self.start_id = self._bpe.sot_token_id
        self.end_id = self._bpe.eot_token_id
        self._cache: dict[str, list[int]] = {}

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` with start and end tokens (cached: statements repeat across epochs)."""
        ids = self._cache.get(text)
        if ids is None:
            body = self._bpe.encode(text)[: self.context_length - 2]
            ids = [self.start_id, *body, self.end_id]
            if len(self._cache) < 1_000_000:
                self._cache[text] = ids
        return ids


@lru_cache(maxsize=1)
def _simple_tokenizer():
    """open_clip's SimpleTokenizer, loaded from its own file: importing ``open_clip`` itself builds every model
    class (and imports torchvision), seconds that scoring and training never need. Falls back to the package."""
    import importlib.util
    import sys

    try:
        spec = importlib.util.find_spec("open_clip")
        path = Path(next(iter(spec.submodule_search_locations))) / "tokenizer.py"
        module_spec = importlib.util.spec_from_file_location("raivtools._open_clip_tokenizer", path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_spec.name] = module
        module_spec.loader.exec_module(module)
        # the module builds a default tokenizer when it loads; a second one would read the BPE merges again
        default = getattr(module, "_tokenizer", None)
        return default if isinstance(default, module.SimpleTokenizer) else module.SimpleTokenizer()
    except Exception:  # an open_clip whose tokenizer is laid out differently: the ordinary way
        from open_clip.tokenizer import SimpleTokenizer

        return SimpleTokenizer()


def sinusoidal_embedding(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """Fixed sinusoidal embeddings (Vaswani et al.) of integer ``positions``: [...] -> [..., dim]."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=positions.device, dtype=torch.float32) / half)
    angles = positions.float().unsqueeze(-1) * freqs
    embedding = torch.cat([angles.sin(), angles.cos()], dim=-1)
    if dim % 2:
        embedding = F.pad(embedding, (0, 1))
    return embedding


class QuickGELU(nn.Module):
    """The GELU approximation OpenAI CLIP was trained with (needed to reuse its text tower faithfully)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


def additive_mask(mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """A bool mask (True = may not attend) as the 0 / -inf float mask attention adds to its logits."""
    if mask is None or mask.is_floating_point():
        return mask
    return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill_(mask, float("-inf"))


class Attention(nn.Module):
    """Multi-head attention on batch-first tensors, with the parameters, initialisation and arithmetic of
    ``nn.MultiheadAttention(batch_first=True)`` (its checkpoints and open_clip's text towers load as they are).

    ``nn.MultiheadAttention`` spends about 0.2 ms of host time per call on argument checks and fast-path tests,
    and its key-padding check imports sympy (1.3 s) the first time; on a GPU the host sets the pace of models
    this size. This layer does only what the models here use.

    Args:
        width: embedding size E (of the queries and the output).
        heads: attention heads (E must be a multiple).
        dropout: dropout on the attention weights while training.
        kdim: size of the keys (default E).
        vdim: size of the values (default E).
    """

    def __init__(self, width: int, heads: int, dropout: float = 0.0, kdim: int | None = None,
                 vdim: int | None = None):
        super().__init__()
        if width % heads:
            raise InputError(f"attention width {width} is not a multiple of heads {heads}")
        self.width, self.heads, self.dropout = width, heads, dropout
        kdim, vdim = kdim or width, vdim or width
        self.packed = kdim == width and vdim == width
        # created and initialised in nn.MultiheadAttention's order: the same seed gives the same weights, and
        # the optimizer's state of a run saved with nn.MultiheadAttention resumes in place
        if self.packed:
            self.in_proj_weight = nn.Parameter(torch.empty(3 * width, width))
        else:
            self.q_proj_weight = nn.Parameter(torch.empty(width, width))
            self.k_proj_weight = nn.Parameter(torch.empty(width, kdim))
            self.v_proj_weight = nn.Parameter(torch.empty(width, vdim))
        self.in_proj_bias = nn.Parameter(torch.empty(3 * width))
        self.out_proj = nn.Linear(width, width)
        for weight in ([self.in_proj_weight] if self.packed
                       else [self.q_proj_weight, self.k_proj_weight, self.v_proj_weight]):
            nn.init.xavier_uniform_(weight)
        nn.init.zeros_(self.in_proj_bias)
        nn.init.zeros_(self.out_proj.bias)

    def project(self, query: torch.Tensor, key: torch.Tensor,
                value: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The query, key and value projections (one matrix product where the inputs are one tensor)."""
        bias = self.in_proj_bias
        if not self.packed:
            b_q, b_k, b_v = bias.chunk(3)
            return (F.linear(query, self.q_proj_weight, b_q), F.linear(key, self.k_proj_weight, b_k),
                    F.linear(value, self.v_proj_weight, b_v))
        weight, width = self.in_proj_weight, self.width
        if query is key and key is value:
            return F.linear(query, weight, bias).chunk(3, dim=-1)
        if key is value:
            keys, values = F.linear(key, weight[width:], bias[width:]).chunk(2, dim=-1)
            return F.linear(query, weight[:width], bias[:width]), keys, values
        w_q, w_k, w_v = weight.chunk(3)
        b_q, b_k, b_v = bias.chunk(3)
        return F.linear(query, w_q, b_q), F.linear(key, w_k, b_k), F.linear(value, w_v, b_v)

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                key_padding_mask: torch.Tensor | None = None, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        """``query`` [B, L, E], ``key`` [B, S, kdim], ``value`` [B, S, vdim] -> [B, L, E].

        ``key_padding_mask`` [B, S] and ``attn_mask`` [L, S] are bool (True: may not attend) or additive floats.
        """
        batch, length, _ = query.shape
        q, k, v = self.project(query, key, value)
        size = self.width // self.heads
        q = q.view(batch, length, self.heads, size).transpose(1, 2)
        k = k.view(batch, -1, self.heads, size).transpose(1, 2)
        v = v.view(batch, -1, self.heads, size).transpose(1, 2)
        mask = additive_mask(attn_mask, q.dtype)
        padding = additive_mask(key_padding_mask, q.dtype)
        if padding is not None:
            padding = padding[:, None, None, :]
            mask = padding if mask is None else mask + padding
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                             dropout_p=self.dropout if self.training else 0.0)
        return self.out_proj(out.transpose(1, 2).reshape(batch, length, self.width))


class Block(nn.Module):
    """Pre-LayerNorm transformer block: self-attention, optional cross-attention to a context, MLP.

    Args:
        width: hidden size.
        heads: attention heads.
        mlp_ratio: MLP hidden size / width.
        dropout: dropout on attention outputs and the MLP.
        cross_attention: add a cross-attention sub-layer (queries from x, keys/values from the context).
        quick_gelu: QuickGELU instead of GELU in the MLP.
    """

    def __init__(self, width: int, heads: int, mlp_ratio: float = 4.0, dropout: float = 0.0,
                 cross_attention: bool = False, quick_gelu: bool = False):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = Attention(width, heads, dropout=dropout)
        if cross_attention:
            self.ln_cross = nn.LayerNorm(width)
            self.ln_context = nn.LayerNorm(width)
            self.cross_attn = Attention(width, heads, dropout=dropout)
        self.ln_2 = nn.LayerNorm(width)
        hidden = int(width * mlp_ratio)
        self.mlp = nn.Sequential(OrderedDict([
            ("c_fc", nn.Linear(width, hidden)),
            ("gelu", QuickGELU() if quick_gelu else nn.GELU()),
            ("c_proj", nn.Linear(hidden, width)),
        ]))
        self.dropout = nn.Dropout(dropout)

    @property
    def has_cross_attention(self) -> bool:
        return hasattr(self, "cross_attn")

    def forward(self, x: torch.Tensor, pad_mask: torch.Tensor | None = None, attn_mask: torch.Tensor | None = None,
                context: torch.Tensor | None = None, context_pad_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Args: ``x`` [B, N, W]; ``pad_mask`` [B, N] True at padding; ``attn_mask`` [N, N] True where attending is
        not allowed (causal); ``context`` [B, M, W] and ``context_pad_mask`` [B, M] for cross-attention."""
        h = self.ln_1(x)
        x = x + self.dropout(self.attn(h, h, h, key_padding_mask=pad_mask, attn_mask=attn_mask))
        if context is not None and self.has_cross_attention:
            q, kv = self.ln_cross(x), self.ln_context(context)
            x = x + self.dropout(self.cross_attn(q, kv, kv, key_padding_mask=context_pad_mask))
        return x + self.dropout(self.mlp(self.ln_2(x)))


def causal_mask(length: int, device: torch.device) -> torch.Tensor:
    """[L, L] bool, True above the diagonal (a token may not attend to later tokens)."""
    return torch.ones(length, length, dtype=torch.bool, device=device).triu(1)


class TextEncoder(nn.Module):
    """A text transformer with open_clip's layout (so a CLIP text tower can be loaded into it).

    Layers ``[0, split)`` can be run alone (unimodal text) and ``[split, layers)`` later with cross-attention
    to video tokens (fusion), as VindLU and NAVERO split BERT; ``cross_attention_from`` says where fusion starts.
    """

    def __init__(self, vocab_size: int, context_length: int, width: int, heads: int, layers: int,
                 mlp_ratio: float = 4.0, dropout: float = 0.0, causal: bool = False, quick_gelu: bool = False,
                 cross_attention_from: int | None = None):
        super().__init__()
        self.causal = causal
        self.token_embedding = nn.Embedding(vocab_size, width)
        self.positional_embedding = nn.Parameter(torch.empty(context_length, width))
        cross_from = layers if cross_attention_from is None else cross_attention_from
        self.blocks = nn.ModuleList(
            Block(width, heads, mlp_ratio, dropout, cross_attention=i >= cross_from, quick_gelu=quick_gelu)
            for i in range(layers)
        )
        self.ln_final = nn.LayerNorm(width)
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.positional_embedding, std=0.01)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """Token + position embeddings: [B, L] -> [B, L, W]."""
        return self.token_embedding(ids) + self.positional_embedding[: ids.shape[1]]

    def run(self, x: torch.Tensor, mask: torch.Tensor, start: int = 0, stop: int | None = None,
            context: torch.Tensor | None = None, context_mask: torch.Tensor | None = None,
            causal: bool | None = None) -> torch.Tensor:
        """Runs blocks ``[start, stop)`` on hidden states ``x`` (``mask`` True at real tokens)."""
        causal = self.causal if causal is None else causal
        attn_mask = causal_mask(x.shape[1], x.device) if causal else None
        context_pad = None if context_mask is None else ~context_mask
        for block in self.blocks[start:stop]:
            x = block(x, pad_mask=~mask, attn_mask=attn_mask, context=context, context_pad_mask=context_pad)
        return x

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """All layers without cross-attention, then the final LayerNorm: [B, L] -> [B, L, W]."""
        return self.ln_final(self.run(self.embed(ids), mask))


def last_token(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The state at each text's end token (its last real position): [B, L, W] -> [B, W]."""
    last = mask.long().sum(dim=1).clamp(min=1) - 1
    return states[torch.arange(states.shape[0], device=states.device), last]


class FeatureStandardizer(nn.Module):
    """Per-dimension standardisation of raw visual features with statistics of the training data.

    CLIP embeddings (pretrained or, as in the toy setting, random) share a large common direction: on the toy
    store the mean feature has 2.4x the norm of what varies between videos (mean cosine 0.84 between items), and
    dimensions differ 16x in spread. A LayerNorm after the projection keeps that common part, so the video-specific
    signal reaches the fusion as a small ripple on a constant token. Subtracting the mean and dividing by the
    spread (what a linear probe does before it fits) puts every direction on an equal footing. The statistics are
    buffers: set once by the trainer (:meth:`VisionLanguageModel.set_feature_statistics`), saved in checkpoints.
    Until set they are the identity (mean 0, std 1).
    """

    def __init__(self, feature_dim: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(feature_dim))
        self.register_buffer("std", torch.ones(feature_dim))

    def set_statistics(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Sets the statistics (std is floored so constant dimensions do not blow up)."""
        self.mean.copy_(mean.to(self.mean))
        self.std.copy_(std.to(self.std).clamp(min=1e-3))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return (features - self.mean.to(features.dtype)) / self.std.to(features.dtype)


class VisualEmbedding(nn.Module):
    """Per-frame features -> visual tokens: projection, sinusoidal temporal position, input-ID embedding
    (first / second visual input, seed 000 Fig. 3) and a learned [CLS] token in front.

    Images are one-frame videos: they get temporal position 0 like the first frame of a video.
    """

    def __init__(self, feature_dim: int, width: int, num_inputs: int = 1, dropout: float = 0.0):
        super().__init__()
        self.standardize = FeatureStandardizer(feature_dim)
        self.proj = nn.Linear(feature_dim, width)
        self.ln = nn.LayerNorm(width)
        self.cls = nn.Parameter(torch.zeros(width))
        self.input_embedding = nn.Embedding(num_inputs, width) if num_inputs > 1 else None
        self.dropout = nn.Dropout(dropout)
        nn.init.normal_(self.cls, std=0.02)

    def forward(self, frames: torch.Tensor, frame_mask: torch.Tensor, input_index: int = 0,
                with_cls: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """[B, K, D], [B, K] -> tokens [B, 1+K, W] and their mask (True = real; the [CLS] is always real)."""
        batch, frames_count, _ = frames.shape
        x = self.ln(self.proj(self.standardize(frames)))
        positions = torch.arange(frames_count, device=frames.device)
        x = x + sinusoidal_embedding(positions, x.shape[-1]).to(x.dtype)
        mask = frame_mask
        if with_cls:
            x = torch.cat([self.cls.to(x.dtype).expand(batch, 1, -1), x], dim=1)
            mask = torch.cat([torch.ones(batch, 1, dtype=torch.bool, device=frames.device), frame_mask], dim=1)
        if self.input_embedding is not None:
            x = x + self.input_embedding.weight[input_index].to(x.dtype)
        return self.dropout(x), mask


class CoAttentionLayer(nn.Module):
    """One METER co-attention layer: the text and visual streams each run self-attention, cross-attention to
    the other stream's input to this layer, and an MLP."""

    def __init__(self, width: int, heads: int, mlp_ratio: float, dropout: float):
        super().__init__()
        self.text = Block(width, heads, mlp_ratio, dropout, cross_attention=True)
        self.visual = Block(width, heads, mlp_ratio, dropout, cross_attention=True)

    def forward(self, text: torch.Tensor, text_mask: torch.Tensor, visual: torch.Tensor,
                visual_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        new_text = self.text(text, pad_mask=~text_mask, context=visual, context_pad_mask=~visual_mask)
        new_visual = self.visual(visual, pad_mask=~visual_mask, context=text, context_pad_mask=~text_mask)
        return new_text, new_visual


class CrossModalEncoder(nn.Module):
    """METER's fusion module: co-attention layers, then a pooler (Linear + tanh) on the text end token and on
    the visual [CLS]; the pooled output is the two concatenated, [B, 2W]."""

    def __init__(self, width: int, heads: int, layers: int, mlp_ratio: float = 4.0, dropout: float = 0.0):
        super().__init__()
        self.layers = nn.ModuleList(CoAttentionLayer(width, heads, mlp_ratio, dropout) for _ in range(layers))
        self.ln_text = nn.LayerNorm(width)
        self.ln_visual = nn.LayerNorm(width)
        self.pool_text = nn.Linear(width, width)
        self.pool_visual = nn.Linear(width, width)

    def forward(self, text: torch.Tensor, text_mask: torch.Tensor, visual: torch.Tensor, visual_mask: torch.Tensor,
                pool: bool = True) -> tuple[torch.Tensor | None, torch.Tensor, torch.Tensor]:
        """Returns (pooled [B, 2W] or None without ``pool``, text states [B, L, W], visual states [B, N, W])."""
        for layer in self.layers:
            text, visual = layer(text, text_mask, visual, visual_mask)
        text, visual = self.ln_text(text), self.ln_visual(visual)
        pooled = self.pool(last_token(text, text_mask), visual[:, 0]) if pool else None
        return pooled, text, visual

    def pool(self, text_token: torch.Tensor, visual_token: torch.Tensor) -> torch.Tensor:
        """METER's pooler: ``tanh(Linear(.))`` of a text and a visual token, concatenated: [B, 2W]."""
        return torch.cat([torch.tanh(self.pool_text(text_token)), torch.tanh(self.pool_visual(visual_token))], dim=-1)


class ClassifierHead(nn.Module):
    """METER's NLVR2 head, ``Linear(n, n/2) -> LayerNorm -> GELU -> Linear(n/2, outputs)``."""

    def __init__(self, in_features: int, outputs: int = 1):
        super().__init__()
        hidden = in_features // 2
        self.net = nn.Sequential(nn.Linear(in_features, hidden), nn.LayerNorm(hidden), nn.GELU(),
                                 nn.Linear(hidden, outputs))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over dim 1 of the real positions: [B, N, W], [B, N] -> [B, W]."""
    weights = mask.to(x.dtype).unsqueeze(-1)
    return (x * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


# ---------------------------------------------------------------------------------------------- open_clip text


def parse_text_init(spec: str) -> tuple[str, str]:
    """``MODEL:CHECKPOINT`` -> (model, checkpoint). MODEL is an open_clip model name or a model-config JSON file;
    ``local-dir:DIR`` (config and weights in one folder) -> (spec, "")."""
    from raivtools.media.clip import LOCAL_DIR

    if spec.startswith(LOCAL_DIR):
        if not Path(spec[len(LOCAL_DIR):]).is_dir():
            raise InputError(f"--init-text {spec}: no such folder (local-dir: names open_clip's folder of "
                             "open_clip_config.json and the weights)")
        return spec, ""
    model, sep, checkpoint = spec.partition(":")
    if not sep or not model or not checkpoint:
        raise InputError(
            f"--init-text {spec!r}: expected MODEL:CHECKPOINT, e.g. ViT-B-32:/models/clip-vit-b-32.bin "
            "(an open_clip model name or config .json, and a local checkpoint file)"
        )
    return model, checkpoint


def open_clip_text_settings(spec: str) -> dict[str, object]:
    """ModelConfig fields (text width, heads, layers, context length, vocab, causal, QuickGELU) of an open_clip
    text tower, so the text encoder is built to its shape before its weights are loaded."""
    import open_clip

    name, checkpoint = parse_text_init(spec)
    config = open_clip.get_model_config(_register_config_file(name)) if checkpoint else _local_dir_config(name)
    if config is None:
        raise InputError(f"--init-text: open_clip knows no model {name!r}; pass a name from "
                         "open_clip.list_models() or a model-config .json file")
    text = config["text_cfg"]
    if text.get("hf_model_name"):
        raise InputError(f"--init-text: {name} has a Hugging Face text tower; only open_clip text transformers load")
    width = int(text.get("width", 512))
    return {
        "text_width": width,
        "text_heads": int(text.get("heads", 8)),
        "text_layers": int(text.get("layers", 12)),
        "context_length": int(text.get("context_length", 77)),
        "vocab_size": int(text.get("vocab_size", 49408)),
        "text_causal": not text.get("no_causal_mask", False),
        "quick_gelu": bool(config.get("quick_gelu", False)),
        "mlp_ratio": float(text.get("mlp_ratio", 4.0)),
    }


def _local_dir_config(name: str) -> dict[str, Any] | None:
    """The model config in a local-dir: folder's open_clip_config.json, or None without one."""
    path = Path(name.partition(":")[2]) / "open_clip_config.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8")).get("model_cfg")


def _register_config_file(name: str) -> str:
    from raivtools.media.clip import open_clip_name

    if name.endswith(".json") and not Path(name).exists():
        raise InputError(f"--init-text: no such model config file {name}")
    return open_clip_name(name)


def load_open_clip_text_tower(encoder: TextEncoder, spec: str) -> None:
    """Copies the text tower of the open_clip checkpoint ``spec`` (``MODEL:CHECKPOINT``) into ``encoder``.

    Raises:
        InputError: the checkpoint cannot be read, or its tower does not fit the encoder.
    """
    import open_clip

    name, checkpoint = parse_text_init(spec)
    if checkpoint:  # not a local-dir: folder, which brings its config and weights
        name = _register_config_file(name)
        if not Path(checkpoint).exists():
            raise InputError(f"--init-text: no such checkpoint file {checkpoint} (pass a local open_clip checkpoint)")
    try:
        # a local-dir: folder brings its own weights; without them open_clip would give random ones
        clip = (open_clip.create_model(name, require_pretrained=True) if not checkpoint
                else open_clip.create_model(name, pretrained=checkpoint))
    except (RuntimeError, FileNotFoundError, ValueError) as exc:
        raise InputError(f"--init-text {spec}: cannot load: {exc}") from exc
    tower = getattr(clip, "text", clip)
    state = {"token_embedding.weight": tower.token_embedding.weight,
             "positional_embedding": tower.positional_embedding,
             "ln_final.weight": tower.ln_final.weight, "ln_final.bias": tower.ln_final.bias}
    for index, block in enumerate(tower.transformer.resblocks):
        for key, value in block.state_dict().items():
            if not key.startswith("ls_"):
                state[f"blocks.{index}.{key}"] = value
    missing, unexpected = encoder.load_state_dict(state, strict=False)
    wrong = [key for key in missing if "cross" not in key and "ln_context" not in key]
    if wrong or unexpected:
        raise InputError(f"--init-text {spec}: text tower does not fit (missing {wrong[:3]}, unexpected {unexpected[:3]})")


# ---------------------------------------------------------------------------------------------- masked words


@dataclass
class MaskedWords:
    """BERT's masking of a batch of token ids (used by VideoDistill's VG-MLM and VLM's masked token loss)."""

    ids: torch.Tensor  # [B, L] the input ids with the 10% "random word" replacements applied
    replace: torch.Tensor  # [B, L] bool: positions whose embedding the model swaps for its [MASK] vector (the 80%)
    targets: torch.Tensor  # [B, L] bool: every chosen position (the loss is taken there; the original id is the label)


def word_positions(ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """[B, L] bool: the real tokens between the start token (position 0) and the end token (the last real one)."""
    positions = torch.arange(ids.shape[1], device=ids.device)
    last = mask.long().sum(dim=1, keepdim=True) - 1
    return mask & (positions > 0) & (positions < last)


def mask_words(ids: torch.Tensor, mask: torch.Tensor, probability: float, vocab_words: int,
               whole: torch.Tensor | None = None) -> MaskedWords:
    """Chooses words to predict as BERT does: each word with ``probability``; of those 80% become [MASK],
    10% a random word, 10% stay. Rows flagged in ``whole`` have every word chosen and all become [MASK]
    (VLM's masked modality model: the text must come from the video alone). Start/end/padding are never chosen.

    Args:
        ids: [B, L] token ids (start .. end, 0-padded), as the collator makes them.
        mask: [B, L] True at real tokens.
        probability: chance that a word is chosen.
        vocab_words: random replacements are drawn from ids ``[0, vocab_words)`` (the tokenizer's ordinary
            words; its start/end ids sit above them).
        whole: [B] bool, rows whose whole text is masked (optional).
    """
    words = word_positions(ids, mask)
    chosen = words & (torch.rand(ids.shape, device=ids.device) < probability)
    roll = torch.rand(ids.shape, device=ids.device)
    replace = chosen & (roll < 0.8)
    randomised = chosen & (roll >= 0.8) & (roll < 0.9)
    if whole is not None:
        whole_rows = whole[:, None] & words
        chosen, replace, randomised = chosen | whole_rows, replace | whole_rows, randomised & ~whole_rows
    random_ids = torch.randint(0, vocab_words, ids.shape, device=ids.device)
    return MaskedWords(torch.where(randomised, random_ids, ids), replace, chosen)
