"""open_clip models, loaded offline-friendly, and batched image / text encoding.

Weights come from the user: ``--pretrained TAG`` (downloaded into ``--cache-dir`` where there is internet,
or already there), ``--pretrained PATH`` (a checkpoint file), ``--model local-dir:DIR`` or ``hf-hub:ORG/REPO``,
or ``--pretrained none`` for random weights (a warning says the features are then meaningless). When weights
cannot be had, :func:`load_clip` raises :class:`InputError` (exit 2) saying what to pass instead.
A custom architecture (e.g. the tiny test model) is a JSON file with ``embed_dim``/``vision_cfg``/``text_cfg``
registered through open_clip's ``add_model_config``; its model name is the file's stem.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from raivtools.io.errors import InputError
from raivtools.io.host_copy import HostResult
from raivtools.io.report import warn
from raivtools.io.store import StoredArray, copy_pieces

PRECISIONS = ("fp32", "fp16", "bf16")
LOCAL_DIR = "local-dir:"  # open_clip's folder of open_clip_config.json and weights
HF_HUB = "hf-hub:"
_SCHEMAS = (HF_HUB, LOCAL_DIR)
RESIZE_MODES = ("shortest", "squash")  # open_clip's preprocess_cfg resize modes done here ("longest" pads: not done)


@dataclass(frozen=True)
class ClipSpec:
    """Which open_clip model to load and how to run it."""

    model: str = "ViT-B-32"  # open_clip name, or hf-hub:ORG/REPO, or local-dir:DIR
    pretrained: str = "openai"  # tag, checkpoint path, or "none" for random weights
    model_config: str | None = None  # JSON architecture file to register (its stem becomes a model name)
    cache_dir: str | None = None  # where tagged weights are looked for / downloaded
    device: str = "cpu"  # torch device
    precision: str = "fp32"  # fp32 | fp16 | bf16
    tokens: bool = False  # also return the patch tokens of the image tower
    cuda_graph: bool = True  # on a GPU, replay the image tower as a CUDA graph for batch shapes that recur


def register_model_config(path: str) -> str:
    """Registers an architecture JSON file with open_clip and returns its model name (the file's stem).

    Raises:
        InputError: the file is unreadable or lacks ``embed_dim``/``vision_cfg``/``text_cfg``.
    """
    import open_clip

    from raivtools.io.records import read_json_file

    config = read_json_file(path)
    missing = [key for key in ("embed_dim", "vision_cfg", "text_cfg") if not isinstance(config, dict) or key not in config]
    if missing:
        raise InputError(f"--model-config {path}: not an open_clip model config (missing {', '.join(missing)})")
    open_clip.add_model_config(Path(path))
    return Path(path).stem


def open_clip_name(model: str) -> str:
    """The open_clip model name of ``model``: a name as it is, an architecture ``.json`` registered under its stem."""
    return register_model_config(model) if model.endswith(".json") else model


def _weights_help(spec: ClipSpec) -> str:
    # --pretrained is ignored for hf-hub: and local-dir: models, so suggesting a --pretrained value would not help
    if spec.model.startswith(LOCAL_DIR):
        return (f"put the weights (open_clip_model.safetensors or open_clip_pytorch_model.bin) beside "
                f"open_clip_config.json in {spec.model[len(LOCAL_DIR):]}, or pass --model NAME with --pretrained "
                "/path/to/checkpoint (or --pretrained none for random weights: features are then meaningless)")
    if spec.model.startswith(HF_HUB):
        return (f"download {spec.model[len(HF_HUB):]} where there is internet and pass --model local-dir:DIR "
                "(the folder holding its open_clip_config.json and weights), or --cache-dir with that hub cache")
    return (
        "pass a local checkpoint (--pretrained /path/to/open_clip_pytorch_model.bin, or --model local-dir:DIR "
        "holding open_clip_config.json and the weights), put the weights in --cache-dir, or pass "
        "--pretrained none for random weights (features are then meaningless)"
    )


def _resolve_pretrained(spec: ClipSpec) -> str | None:
    """The ``pretrained`` argument for open_clip, checked before any download is tried."""
    import open_clip

    if spec.model.startswith(_SCHEMAS) or spec.pretrained.lower() == "none":
        return None
    if os.path.exists(spec.pretrained):
        if os.path.isdir(spec.pretrained):
            raise InputError(f"--pretrained {spec.pretrained}: is a directory; pass the checkpoint file in it, or "
                             f"--model local-dir:{spec.pretrained}")
        return spec.pretrained
    tags = open_clip.list_pretrained_tags_by_model(spec.model)
    if spec.pretrained not in tags:
        known = ", ".join(tags) if tags else "none for this model"
        raise InputError(f"--pretrained {spec.pretrained}: no such file, and not a weights tag of {spec.model} "
                         f"(tags: {known}); {_weights_help(spec)}")
    return spec.pretrained


def load_clip(spec: ClipSpec) -> tuple[Any, Any]:
    """Builds the model (eval mode, on ``spec.device``) and its tokenizer.

    Raises:
        InputError: unknown model, weights that cannot be found or downloaded, or ``--tokens`` with an
            image tower that has no patch tokens.
    """
    import open_clip

    if spec.precision not in PRECISIONS:
        raise InputError(f"--precision must be one of {', '.join(PRECISIONS)}")
    if not spec.model.startswith(_SCHEMAS) and spec.model not in open_clip.list_models():
        raise InputError(f"--model {spec.model}: unknown open_clip model; see open_clip.list_models(), or pass "
                         "--model-config FILE.json, --model local-dir:DIR or --model hf-hub:ORG/REPO")
    pretrained = _resolve_pretrained(spec)
    if spec.pretrained.lower() == "none" and not spec.model.startswith(_SCHEMAS):
        warn(f"--pretrained none: {spec.model} has random weights; its features are meaningless except for tests")
    # open_clip only logs (a warning we silence) when a local-dir: or hf-hub: model has no weights file, and
    # builds it with random weights: features that look fine and mean nothing
    required = pretrained is not None or spec.model.startswith(_SCHEMAS)
    try:
        with quiet_open_clip():  # the warning above already says what open_clip would log
            model = open_clip.create_model(spec.model, pretrained=pretrained, precision=spec.precision,
                                           device=spec.device, cache_dir=spec.cache_dir,
                                           require_pretrained=required)
            tokenizer = open_clip.get_tokenizer(spec.model, cache_dir=spec.cache_dir)
    except (RuntimeError, FileNotFoundError, ValueError, OSError) as exc:
        reason = " ".join(str(exc).split())[:300]
        raise InputError(f"cannot load weights for --model {spec.model} --pretrained {spec.pretrained} "
                         f"({reason}); {_weights_help(spec)}") from None
    model.eval()
    if spec.tokens:
        if not hasattr(model.visual, "output_tokens"):
            raise InputError(f"--tokens: the image tower of {spec.model} gives no patch tokens (use a ViT model)")
        model.visual.output_tokens = True
    return model, tokenizer


@contextmanager
def quiet_open_clip() -> Iterator[None]:
    """open_clip logs "initialized randomly" through the root logger (onto stderr, unformatted): silenced."""
    root_logger = logging.getLogger()
    level = root_logger.level
    root_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root_logger.setLevel(level)


def _input_dtype(tower: Any) -> Any:
    """The dtype the image tower expects its pixels in.

    open_clip's fp16/bf16 models keep some parameters (embeddings, norms) in float32, so the first parameter
    says nothing; the first convolution or linear layer, which the pixels meet, does.
    """
    import torch

    for module in tower.modules():
        if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
            return module.weight.dtype
    return next(tower.parameters()).dtype


@dataclass
class PendingEmbeddings:
    """A batch queued by :meth:`ClipEncoder.launch`; ``result()`` waits for it."""

    staged: list[Any]  # the host pixels, kept alive until the device has copied them
    copies: HostResult  # float32 [N,D] embeddings and [N,P,W] tokens (or None) on their way to the host

    def result(self) -> tuple[np.ndarray, np.ndarray | None]:
        """float32 ``[N,D]`` embeddings and, when asked for, ``[N,P,W]`` tokens, as numpy arrays."""
        pooled, tokens = self.copies.wait()
        return pooled.numpy(), (None if tokens is None else tokens.numpy())


class ClipEncoder:
    """Batched CLIP encoding of uint8 frames and of strings.

    Frames are resized on the device as the model's open_clip preprocessing says (short side to the model's
    input size then a centre crop, or both sides to it for "squash" models such as SigLIP; bicubic or bilinear,
    antialiased) and normalised with the model's own mean and std.
    """

    def __init__(self, spec: ClipSpec):
        import torch

        self.spec = spec
        self.model, self.tokenizer = load_clip(spec)
        self.image_size, mean, std = pixel_settings(self.model)
        self.resize_mode, self.interpolation = resize_settings(self.model)
        self.device = torch.device(spec.device)
        self.dtype = _input_dtype(self.model.visual)
        self.scale, self.shift = normalization_constants(mean, std, self.device)
        on_gpu = self.device.type == "cuda"
        self._copy_stream = torch.cuda.Stream(self.device) if on_gpu else None  # host-to-device copies
        self._graphs = TowerGraphs(self.model.encode_image, self.device) if on_gpu and spec.cuda_graph else None

    @property
    def embed_dim(self) -> int:
        """D, the joint embedding size (probed once with a one-word text: every tower type answers it)."""
        if not hasattr(self, "_embed_dim"):
            self._embed_dim = int(self.encode_texts(["a"]).shape[1])
        return self._embed_dim

    @property
    def token_width(self) -> int | None:
        """W, the width of the image tower's patch tokens (ViT towers)."""
        return getattr(getattr(self.model.visual, "transformer", None), "width", None)

    def preprocess(self, frames: np.ndarray):
        """uint8 ``[N,H,W,3]`` -> normalised ``[N,3,S,S]`` in the model's dtype, on the device.

        The uint8 pixels travel to the device (4x less than floats); see :func:`normalize_pixels`.
        """
        import torch

        pixels = torch.from_numpy(np.ascontiguousarray(frames)).to(self.device, non_blocking=True)
        return normalize_pixels(pixels, self.image_size, self.scale, self.shift, self.resize_mode,
                                self.interpolation).to(self.dtype)

    def stage(self, pieces: list[np.ndarray | StoredArray]) -> list[Any]:
        """The host half of a batch of uint8 pieces ``[k_i,H_i,W_i,3]``: one uint8 tensor per frame size (the
        pieces joined when they share one), in page-locked memory for a GPU so the copy can run asynchronously.
        Pieces still in a store are read straight into that memory.
        Does no device work, so a reader thread can stage the next batches while the model runs."""
        import torch

        groups = [pieces] if len({piece.shape[1:] for piece in pieces}) == 1 else [[piece] for piece in pieces]
        staged, copies = [], []
        for group in groups:
            shape = (sum(len(piece) for piece in group), *group[0].shape[1:])
            host = torch.empty(shape, dtype=torch.uint8, pin_memory=self.device.type == "cuda")
            buffer, position = host.numpy(), 0
            for piece in group:
                copies.append((piece, buffer[position: position + len(piece)]))
                position += len(piece)
            staged.append(host)
        copy_pieces(copies)
        return staged

    def launch(self, staged: list[Any]) -> PendingEmbeddings:
        """Queues a staged batch on the device (copy, preprocessing, forward, copy back) without waiting for it.

        On a GPU the pixels are copied on a side stream, so the copy of this batch overlaps the forward of the
        one before, and the embeddings come back into page-locked memory behind an event.
        """
        import torch

        on_gpu = self.device.type == "cuda"
        # the model's GPU made current: streams, events and graphs default to the current device (torchrun ranks)
        with torch.inference_mode(), torch.cuda.device(self.device) if on_gpu else nullcontext():
            on_device = staged
            if on_gpu:
                compute = torch.cuda.current_stream()
                with torch.cuda.stream(self._copy_stream):
                    on_device = [host.to(self.device, non_blocking=True) for host in staged]
                compute.wait_stream(self._copy_stream)
                for pixels in on_device:
                    pixels.record_stream(compute)  # the allocator must not reuse it before the forward ran
            batch = torch.cat([normalize_pixels(pixels, self.image_size, self.scale, self.shift, self.resize_mode,
                                                self.interpolation).to(self.dtype) for pixels in on_device])
            output = self._image_tower(batch)
            pooled, tokens = output if self.spec.tokens else (output, None)
            return PendingEmbeddings(staged, HostResult.start(self.device, pooled, tokens))

    def encode_images(self, pieces: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
        """Encodes one batch given as uint8 pieces ``[k_i,H_i,W_i,3]`` (shapes may differ between pieces).

        Returns:
            float32 ``[N,D]`` projected CLS embeddings (not normalised) and, with ``tokens``, float32 ``[N,P,W]``.
        """
        return self.launch(self.stage(pieces)).result()

    def _image_tower(self, batch: Any) -> Any:
        """``encode_image``, replayed from a CUDA graph once a batch shape has recurred (see :class:`TowerGraphs`)."""
        return self.model.encode_image(batch) if self._graphs is None else self._graphs(batch)

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """float32 ``[N,D]`` text embeddings (not normalised)."""
        import torch

        tokens = self.tokenizer(texts).to(self.device)
        with torch.inference_mode():
            return self.model.encode_text(tokens).float().cpu().numpy()


class TowerGraphs:
    """Replays a module's forward from CUDA graphs, one per recurring input shape.

    An eager ViT forward costs the host about as long as a small model's batch takes the GPU, so the host, not
    the GPU, would set the pace; a graph replay is one launch. A shape is captured when seen for the
    ``after``-th time (one-off shapes, such as a shard's last short batch, stay eager), at most ``limit`` of them,
    all in one memory pool. The outputs of a replay are only valid until the next replay: the caller copies
    them out on the same stream first. If capturing fails, a warning is printed and the forward stays eager.
    """

    def __init__(self, forward: Any, device: Any, after: int = 2, limit: int = 4):
        self.forward = forward
        self.device = device
        self.after = after
        self.limit = limit
        self._seen: dict[tuple, int] = {}
        self._graphs: dict[tuple, tuple[Any, Any, Any]] = {}  # shape -> (graph, static input, static output)
        self._pool = None
        self._failed = False

    def __call__(self, batch: Any) -> Any:
        key = (tuple(batch.shape), batch.dtype)
        if key not in self._graphs:
            self._seen[key] = self._seen.get(key, 0) + 1
            worth_capturing = not self._failed and self._seen[key] >= self.after and len(self._graphs) < self.limit
            if not (worth_capturing and self._capture(batch, key)):
                return self.forward(batch)
        graph, static_input, static_output = self._graphs[key]
        static_input.copy_(batch)
        graph.replay()
        return static_output

    def _capture(self, batch: Any, key: tuple) -> bool:
        import torch

        try:
            static_input = batch.clone()
            side = torch.cuda.Stream(self.device)
            side.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(side):  # warm-up off the capture: library handles and workspaces get made
                for _ in range(2):
                    self.forward(static_input)
            torch.cuda.current_stream(self.device).wait_stream(side)
            if self._pool is None:
                self._pool = torch.cuda.graph_pool_handle()
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, pool=self._pool):
                static_output = self.forward(static_input)
        except Exception as exc:  # an unsupported op: eager forward from now on
            warn(f"encode: the image tower cannot be captured as a CUDA graph ({type(exc).__name__}: {exc}); "
                 "running it eagerly (pass --no-cuda-graph to skip the attempt)")
            self._failed = True
            return False
        self._graphs[key] = (graph, static_input, static_output)
        return True


def pixel_settings(model: Any) -> tuple[int, tuple[float, ...], tuple[float, ...]]:
    """(input size, mean, std) of an open_clip model's image preprocessing (OpenAI's mean/std by default)."""
    config = getattr(model.visual, "preprocess_cfg", {}) or {}
    size = config.get("size", model.visual.image_size)
    mean = tuple(config.get("mean", (0.48145466, 0.4578275, 0.40821073)))
    std = tuple(config.get("std", (0.26862954, 0.26130258, 0.27577711)))
    return int(size[0] if isinstance(size, (tuple, list)) else size), mean, std


def resize_settings(model: Any) -> tuple[str, str]:
    """(resize mode, interpolation) of an open_clip model's image preprocessing: ``"shortest"`` (short side to
    the size, then a centre crop) or ``"squash"`` (both sides to the size); ``"bicubic"`` or ``"bilinear"``.

    Raises:
        InputError: a resize mode not done here (open_clip's ``"longest"``, which pads).
    """
    config = getattr(model.visual, "preprocess_cfg", {}) or {}
    mode = config.get("resize_mode") or "shortest"
    if mode not in RESIZE_MODES:
        raise InputError(f"the model's preprocessing resizes with resize_mode {mode!r}; raiv encode does "
                         f"{' and '.join(RESIZE_MODES)} only")
    # open_clip's inference transform runs "random" as bicubic
    return mode, "bilinear" if config.get("interpolation") == "bilinear" else "bicubic"


def normalization_constants(mean: tuple[float, ...], std: tuple[float, ...], device: Any = None):
    """``(scale, shift)`` [1,3,1,1] tensors with ``(pixel / 255 - mean) / std == pixel * scale + shift``."""
    import torch

    mean_t = torch.tensor(mean, device=device)
    std_t = torch.tensor(std, device=device)
    return (1.0 / (255.0 * std_t)).view(1, 3, 1, 1), (-mean_t / std_t).view(1, 3, 1, 1)


def normalize_pixels(pixels: Any, size: int, scale: Any, shift: Any, mode: str = "shortest",
                     interpolation: str = "bicubic") -> Any:
    """uint8 ``[N,H,W,3]`` pixels (a tensor on the model's device) -> float32 ``[N,3,size,size]``, as open_clip's
    preprocessing: resized and cropped by :func:`resize_crop` (``mode``, ``interpolation`` from
    :func:`resize_settings`), mean/std normalisation (one fused multiply-add with :func:`normalization_constants`)."""
    import torch

    pixels = pixels.permute(0, 3, 1, 2).float()
    if tuple(pixels.shape[-2:]) != (size, size):
        pixels = resize_crop(pixels.div_(255.0), size, mode, interpolation).mul_(255.0)
    return torch.addcmul(shift, pixels, scale)


def resize_crop(pixels: Any, size: int, mode: str = "shortest", interpolation: str = "bicubic") -> Any:
    """Float ``[N,3,H,W]`` in [0, 1] -> ``[N,3,size,size]``: short side to ``size`` then the centre crop, or
    (``mode="squash"``) both sides to ``size``; sizes and offsets as torchvision's Resize and CenterCrop."""
    import torch.nn.functional as F

    height, width = pixels.shape[-2:]
    if mode == "squash":
        scaled = (size, size)
    else:  # torchvision truncates the long side (a 240x320 frame goes to 224x298, not 224x299)
        long = int(size * max(height, width) / min(height, width))
        scaled = (size, long) if height <= width else (long, size)
    if scaled != (height, width):
        pixels = F.interpolate(pixels, size=scaled, mode=interpolation, align_corners=False, antialias=True)
        pixels = pixels.clamp_(0.0, 1.0)
    top, left = round((scaled[0] - size) / 2), round((scaled[1] - size) / 2)  # CenterCrop rounds the offsets
    return pixels[:, :, top: top + size, left: left + size]
