"""Models trained by ``raiv train`` and used by ``raiv score``: a registry of architectures, one module each.

Architectures register themselves with :func:`register`; :func:`build_model` makes one by name. Every module in
this package other than ``base``, ``layers`` and ``registry`` is imported when the registry is first used, so a
new architecture is one new file (``raivtools/models/<arch>.py``) and nothing else to edit.

The model interface (see :class:`raivtools.models.base.VisionLanguageModel`)
---------------------------------------------------------------------------
A model is a ``torch.nn.Module`` subclass of ``VisionLanguageModel`` with:

- ``config_class``: a dataclass (subclass of :class:`~raivtools.models.base.ModelConfig`) whose fields carry a
  one-line comment; ``model.config`` is an instance. ``config.to_dict()`` goes into the run's ``config.json`` and
  ``config_class.from_dict`` rebuilds it, so ``raiv score`` needs nothing but the run directory.
- ``input_kind``: ``"pair"`` (two visual inputs and a statement, RAIV) or ``"video-text"`` (one visual input and
  a caption, with an optional hard ``negative``: AARO / NAVERO, VideoDistill, VLM).
- ``forward(batch) -> {"loss": scalar tensor, "losses": {name: scalar tensor}}``: the training loss and its named
  parts (detached, still on the device: turning them into floats would make every step wait for the device;
  call ``float()`` where a number is needed). Avoid reading device values on the host inside ``forward``
  (``.item()``, ``int()``, boolean-mask indexing): each such read stalls the step.
- ``score(batch) -> {"score": tensor [B], "neg_score": tensor [B] (only when the batch holds neg_ids)}``:
  per-example probabilities in [0, 1]: p(true) of the statement for pairs (and of statement+choice for
  reasoning), p(match) of (video, caption) and of (video, negative) for video-text models. Called under
  ``torch.no_grad()`` and ``model.eval()``.
- Models that support ``--task retrieval`` also define ``embed_video(batch) -> [B, E]``,
  ``embed_text(batch) -> [B, E]`` (both L2-normalised) and ``match_scores(batch) -> [B]``.
- ``head_prefixes``: parameter-name prefixes of the task head, trained with a larger learning rate
  (METER uses 10x for the head).

The batch (made by :class:`raivtools.train.data.Collator`, then :func:`raivtools.train.data.move_batch`:
every entry a tensor, on the model's device)
-----------------------------------------------------------------------------------------------------
=============  ==================  ==================================================================
key            dtype, shape        meaning
=============  ==================  ==================================================================
frames         float32 [B, V, K, D] per-frame visual features; V = 1 (video-text) or 2 (pair: left, right);
                                   K = frames, zero-padded to the longest in the batch (images have K=1)
frame_mask     bool [B, V, K]      True where a frame is real
text_ids       int64 [B, L]        token ids of the statement / caption (start .. end tokens, 0-padded)
text_mask      bool [B, L]         True where a token is real
labels         float32 [B]         1.0 true / 0.0 false (pairs, reasoning choices); absent for video-text
neg_ids        int64 [B, L2]       token ids of the record's ``negative`` (only when some example has one;
neg_mask       bool [B, L2]        examples without one get a one-token placeholder and has_neg False)
has_neg        bool [B]            whether the example has a hard negative
video_key      int64 [B]           equal for examples that show the same media item (masks in-batch
                                   negatives that are in fact positives)
index          int64 [B]           position of the source record in the input
choice         int64 [B]           reasoning choice number, -1 otherwise
=============  ==================  ==================================================================

Text is tokenized by the collator with :class:`raivtools.models.layers.TextTokenizer` (open_clip's BPE, which
ships with the package) because the text encoder lives inside the model: task-specific pre-training writes new
statements every epoch.

Example:
    >>> from raivtools.models import build_model, model_config
    >>> config = model_config("raiv-late", feature_dim=32, width=32, heads=2, text_layers=2, fusion_layers=2)
    >>> model = build_model("raiv-late", config)
"""

from raivtools.models.registry import (
    arch_names,
    build_model,
    config_class_for,
    model_class_for,
    model_config,
    register,
)

__all__ = ["arch_names", "build_model", "config_class_for", "model_class_for", "model_config", "register"]
