"""The base every architecture builds on: its config dataclass and the model interface.

See the package docstring (:mod:`raivtools.models`) for the batch format and what each method returns.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from raivtools.io.errors import InputError



def parse_loss_names(spec: str | tuple[str, ...] | list[str], losses: tuple[str, ...],
                     presets: dict[str, tuple[str, ...]], arch: str) -> set[str]:
    """The losses that ``--loss`` names: comma-separated names and presets of ``arch`` (``"vtc,vtm"``, ``"navero"``).

    Raises:
        InputError: an unknown name, or none at all.
    """
    names = spec.split(",") if isinstance(spec, str) else list(spec)
    chosen: set[str] = set()
    for name in (n.strip() for n in names if n.strip()):
        if name in presets:
            chosen.update(presets[name])
        elif name in losses:
            chosen.add(name)
        else:
            raise InputError(f"--loss: unknown {arch} loss {name!r}; use {', '.join(losses)} or a preset "
                             f"({', '.join(presets)})")
    if not chosen:
        raise InputError("--loss: name at least one loss")
    return chosen

@dataclass
class ModelConfig:
    """Settings shared by every architecture (each arch subclasses this and adds its own)."""

    feature_dim: int = 512  # D of the feature store's per-frame embeddings (set from the store by `raiv train`)
    width: int = 256  # hidden size of the visual and fusion transformer layers
    heads: int = 4  # attention heads in every layer
    mlp_ratio: float = 4.0  # MLP hidden size as a multiple of the layer width
    dropout: float = 0.1  # dropout after attention and in MLPs
    max_frames: int = 4  # frames per visual input the model sees (seed 000: K=4); more are subsampled per interval
    text_width: int = 0  # hidden size of the text encoder; 0 means the same as `width`
    text_heads: int = 0  # attention heads in the text encoder; 0 means the same as `heads`
    text_layers: int = 4  # transformer layers in the text encoder
    context_length: int = 77  # longest text in tokens, start and end tokens included (longer is truncated)
    vocab_size: int = 49408  # open_clip's BPE vocabulary (the tokenizer ships with open_clip)
    text_causal: bool = False  # causal self-attention in the text encoder, as in CLIP's text tower
    quick_gelu: bool = False  # QuickGELU in the text encoder, as OpenAI CLIP text towers use
    standardize_features: bool = True  # standardise visual features per dimension with the training data's statistics
    init_text: str = ""  # "MODEL:CHECKPOINT" of the open_clip text tower that initialised the text encoder ("" = random)

    @property
    def text_hidden(self) -> int:
        """The text encoder's hidden size."""
        return self.text_width or self.width

    @property
    def text_head_count(self) -> int:
        """The text encoder's attention heads."""
        return self.text_heads or self.heads

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready fields (tuples become lists)."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, fields: dict[str, Any]) -> ModelConfig:
        """A config from saved or user fields; unknown names raise ``InputError``; lists become tuples."""
        known = {field.name: field for field in dataclasses.fields(cls)}
        unknown = sorted(set(fields) - set(known))
        if unknown:
            raise InputError(f"{cls.__name__}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(known)}")
        values = {key: tuple(value) if isinstance(value, list) else value for key, value in fields.items()}
        return cls(**values)


class VisionLanguageModel(nn.Module):
    """The interface ``raiv train`` and ``raiv score`` use; every architecture subclasses it.

    Subclasses set :attr:`config_class` and :attr:`input_kind`, and implement :meth:`forward` and :meth:`score`.
    """

    config_class: ClassVar[type[ModelConfig]] = ModelConfig
    #: "pair" (two visual inputs + statement) or "video-text" (one visual input + caption [+ negative])
    input_kind: ClassVar[str] = "pair"
    #: parameter-name prefixes of the task head (trained at a larger learning rate)
    head_prefixes: ClassVar[tuple[str, ...]] = ("head.",)
    #: whether some parameters can go unused in a forward pass (DDP must then look for them every step);
    #: True is always safe, False is faster for models that use every parameter in every step
    ddp_find_unused_parameters: ClassVar[bool] = True
    #: set by :func:`raivtools.models.register`
    arch: ClassVar[str] = ""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, Any]:
        """Training loss: ``{"loss": scalar tensor, "losses": {name: detached scalar tensor}}``."""
        raise NotImplementedError

    def score(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Per-example probabilities: ``{"score": [B]}`` and ``{"neg_score": [B]}`` when the batch has ``neg_ids``."""
        raise NotImplementedError

    def check_training_examples(self, examples: list[Any]) -> None:
        """Raises :class:`InputError` when ``examples`` (:class:`~raivtools.train.data.Example`) cannot train this
        model as configured, before any step runs; every set can by default."""

    def set_feature_statistics(self, mean: torch.Tensor, std: torch.Tensor) -> int:
        """Gives every visual feature standardiser of the model the training features' per-dimension mean and
        std ([D] each); returns how many there were (0: the model reads raw features)."""
        from raivtools.models.layers import FeatureStandardizer

        if not self.config.standardize_features:
            return 0
        standardizers = [m for m in self.modules() if isinstance(m, FeatureStandardizer)]
        for module in standardizers:
            module.set_statistics(mean, std)
        return len(standardizers)

    @property
    def supports_retrieval(self) -> bool:
        """Whether the model has ``embed_video``/``embed_text``/``match_scores`` for ``--task retrieval``."""
        return all(hasattr(self, name) for name in ("embed_video", "embed_text", "match_scores"))

    def param_groups(self, lr: float, weight_decay: float, head_lr_mult: float) -> list[dict[str, Any]]:
        """AdamW groups: decay on weight matrices only; the head at ``lr * head_lr_mult``."""
        groups: dict[tuple[bool, bool], list[nn.Parameter]] = {}
        for name, param in self.named_parameters():
            if not param.requires_grad:
                continue
            is_head = name.startswith(self.head_prefixes)
            decays = param.ndim >= 2 and "embedding" not in name
            groups.setdefault((is_head, decays), []).append(param)
        return [
            {"params": params, "lr": lr * (head_lr_mult if is_head else 1.0),
             "weight_decay": weight_decay if decays else 0.0}
            for (is_head, decays), params in sorted(groups.items())
        ]
