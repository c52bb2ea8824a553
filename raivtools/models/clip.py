"""CLIP (Radford et al. 2021) trained or fine-tuned contrastively on a frame store's pixels and the captions.

``raiv train captions.jsonl --features FRAME_STORE --arch clip --set clip_model=ViT-B-32 [--set clip_pretrained=CKPT]``
trains an open_clip model (any open_clip name, or an architecture JSON such as ``recipes/lib/toy-clip.json``) on
(frame, caption) records: each step shows one random frame of each clip (the middle one at evaluation), and the
loss is CLIP's symmetric InfoNCE with a learnable temperature (captions of the same media item are all
positives, as in :func:`raivtools.models.navero.vtc_loss`). At the end of the run the best weights are also written
as a plain open_clip checkpoint, ``RUN/open_clip.pt`` (plus ``RUN/<name>.json`` for a JSON architecture), which ``raiv encode
--pretrained`` and ``raiv train --init-text`` load like any other open_clip checkpoint.

This is what makes the toy benchmark a faithful miniature: its frames are encoded by a CLIP that has seen
captions of the same kind of pictures, so colours, shapes and motion reach the features (a CLIP with random
weights keeps only the background). On real data it is domain fine-tuning of a pretrained CLIP.

``score`` is ``(cosine + 1) / 2`` of the frame-averaged image embedding and the caption embedding: a monotone
similarity, so AARO ``acc`` and retrieval ranks are meaningful, while ``acc_hat`` (a 0.5 threshold) is not.
The shared transformer settings of :class:`ModelConfig` (width, text_layers, ...) are unused: the open_clip
architecture fixes the towers.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from raivtools.io.errors import InputError
from raivtools.models.base import ModelConfig, VisionLanguageModel
from raivtools.models.registry import register

#: CLIP caps its learnable logit scale at 100 (temperature 0.01)
MAX_LOGIT_SCALE = 100.0
#: the open_clip checkpoint written into the run directory
EXPORT_NAME = "open_clip.pt"


@dataclass
class ClipConfig(ModelConfig):
    """CLIP settings (of the shared ones only ``max_frames``, ``context_length`` and ``feature_dim`` apply)."""

    clip_model: str = "ViT-B-32"  # open_clip model name, or an architecture .json file (e.g. recipes/lib/toy-clip.json)
    clip_pretrained: str = ""  # start from this local open_clip checkpoint file ("" = random weights, trained from scratch)
    max_frames: int = 1  # frames of a clip per step: one random frame per clip (evaluation: the middle one)
    standardize_features: bool = False  # pixels are normalised with the model's own mean and std instead

    def __post_init__(self) -> None:
        if self.clip_model.endswith(".json"):
            path = Path(self.clip_model)
            if not path.is_file():
                raise InputError(f"clip: --set clip_model={self.clip_model}: no such architecture file")
            self.clip_model = str(path.resolve())  # the run's config.json must find it from anywhere
        if self.clip_pretrained:
            path = Path(self.clip_pretrained)
            if not path.is_file():
                raise InputError(f"clip: --set clip_pretrained={self.clip_pretrained}: no such checkpoint file "
                                 "(pass a local open_clip checkpoint, or leave it empty to train from scratch)")
            self.clip_pretrained = str(path.resolve())


@register("clip")
class Clip(VisionLanguageModel):
    """An open_clip model with CLIP's contrastive loss, reading uint8 frames ``[B, 1, K, H, W, 3]``."""

    config_class = ClipConfig
    input_kind = "video-text"
    head_prefixes = ()
    ddp_find_unused_parameters = False

    def __init__(self, config: ClipConfig):
        super().__init__(config)
        import open_clip

        from raivtools.media.clip import normalization_constants, open_clip_name, pixel_settings, quiet_open_clip

        name = open_clip_name(config.clip_model)
        if name not in open_clip.list_models():
            raise InputError(f"clip: unknown open_clip model {config.clip_model!r}; pass a name from "
                             "open_clip.list_models() or an architecture .json file")
        text_config = (open_clip.get_model_config(name) or {}).get("text_cfg", {})
        if text_config.get("hf_tokenizer_name") or text_config.get("hf_model_name"):
            raise InputError(f"clip: {name} reads text with a Hugging Face tokenizer; raiv tokenizes with open_clip's "
                             "BPE, so use a CLIP whose text tower is open_clip's own (ViT-B-32, ViT-L-14, ...)")
        with quiet_open_clip():
            self.clip = open_clip.create_model(name, pretrained=config.clip_pretrained or None)
        if not hasattr(self.clip, "encode_text") or not hasattr(self.clip, "logit_scale"):
            raise InputError(f"clip: {name} is not a two-tower CLIP model")
        self.image_size, mean, std = pixel_settings(self.clip)
        self.text_context = int(getattr(self.clip, "context_length", config.context_length))
        scale, shift = normalization_constants(mean, std)
        self.register_buffer("pixel_scale", scale, persistent=False)
        self.register_buffer("pixel_shift", shift, persistent=False)

    # ------------------------------------------------------------------------------------------- encoders

    def frame_embeddings(self, frames: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        """uint8 ``[B, K, H, W, 3]`` -> normalised clip embeddings ``[B, E]``: the mean of the real frames'
        normalised image embeddings, normalised again."""
        from raivtools.media.clip import normalize_pixels

        if frames.dtype != torch.uint8 or frames.dim() != 5:
            raise InputError("clip: --features must be a frame store (raiv extract-frames), not a feature store")
        batch, count = frames.shape[:2]
        pixels = normalize_pixels(frames.flatten(0, 1), self.image_size, self.pixel_scale, self.pixel_shift)
        embedded = F.normalize(self.clip.encode_image(pixels).float(), dim=-1).view(batch, count, -1)
        weights = frame_mask.float().unsqueeze(-1)
        return F.normalize((embedded * weights).sum(1) / weights.sum(1).clamp(min=1.0), dim=-1)

    def text_embeddings(self, ids: torch.Tensor) -> torch.Tensor:
        """Token ids ``[B, L]`` (0-padded, end token last) -> normalised text embeddings ``[B, E]``."""
        if ids.shape[1] > self.text_context:
            raise InputError(f"clip: text longer than the model's context of {self.text_context} tokens")
        ids = F.pad(ids, (0, self.text_context - ids.shape[1]))  # open_clip's tower adds all its positions
        return F.normalize(self.clip.encode_text(ids).float(), dim=-1)

    @property
    def logit_scale(self) -> torch.Tensor:
        return self.clip.logit_scale.exp().clamp(max=MAX_LOGIT_SCALE)

    # ------------------------------------------------------------------------------------------- training

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, Any]:
        """CLIP's symmetric contrastive loss over the batch (same-item captions are all positives)."""
        from raivtools.models.navero import vtc_loss

        video = self.frame_embeddings(batch["frames"][:, 0], batch["frame_mask"][:, 0])
        text = self.text_embeddings(batch["text_ids"])
        same_video = batch["video_key"][:, None] == batch["video_key"][None, :]
        loss = vtc_loss(self.logit_scale * text @ video.t(), same_video)
        return {"loss": loss, "losses": {"clip": loss.detach()}}

    # ------------------------------------------------------------------------------------------- scoring

    def score(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``(cosine + 1) / 2`` of (frames, caption), and of (frames, negative) when the batch has one."""
        video = self.embed_video(batch)
        out = {"score": ((video * self.text_embeddings(batch["text_ids"])).sum(-1) + 1) / 2}
        if "neg_ids" in batch:
            out["neg_score"] = ((video * self.text_embeddings(batch["neg_ids"])).sum(-1) + 1) / 2
        return out

    def embed_video(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Normalised video embeddings [B, E] (retrieval)."""
        return self.frame_embeddings(batch["frames"][:, 0], batch["frame_mask"][:, 0])

    def embed_text(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Normalised caption embeddings [B, E] (retrieval)."""
        return self.text_embeddings(batch["text_ids"])

    def match_scores(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The similarity score of each (video, caption) of the batch [B] (CLIP has no matching head)."""
        return self.score({key: value for key, value in batch.items() if not key.startswith("neg_")})["score"]

    # ------------------------------------------------------------------------------------------- export

    def export(self, run_dir: Path, state: dict[str, torch.Tensor]) -> Path:
        """Writes the open_clip weights of ``state`` (a state dict of this model, e.g. best.pt's) as
        ``run_dir/open_clip.pt`` (and a JSON architecture beside it, under its own file name) and returns the
        checkpoint path."""
        from raivtools.train.checkpoint import save_checkpoint

        path = Path(run_dir) / EXPORT_NAME
        save_checkpoint(path, {key.removeprefix("clip."): value.detach().cpu() for key, value in state.items()
                               if key.startswith("clip.")})
        if self.config.clip_model.endswith(".json"):
            target = Path(run_dir) / Path(self.config.clip_model).name
            if not target.exists():
                shutil.copyfile(self.config.clip_model, target)
        return path

    def encode_hint(self, run_dir: Path) -> str:
        """The ``raiv encode`` options that load the exported weights."""
        model = self.config.clip_model
        which = f"--model-config {Path(run_dir) / Path(model).name}" if model.endswith(".json") else f"--model {model}"
        return f"{which} --pretrained {Path(run_dir) / EXPORT_NAME}"
