"""The one training loop every architecture uses.

AdamW (head at a larger learning rate, as METER), 10% linear warm-up then linear decay, mixed precision
(``bf16``/``fp16`` autocast, a gradient scaler for fp16), gradient accumulation, length-bucketed batches
(seed 001's dynamic batching), gradient clipping, a fraction of the training data (seed 000 Table 5),
validation each epoch with ``best.pt`` / ``last.pt``, ``metrics.jsonl``, exact ``--resume``, DDP under
``torchrun`` (each rank its share of the batches, rank 0 logs and saves), and a stop naming the step when the
loss is NaN or infinite (the last good checkpoint stays as it was).

Exact resume: the batch order of an epoch and the frames sampled for a batch are drawn from generators keyed by
(seed, epoch, batch), and the checkpoint carries every rank's torch RNG state, so a run resumed from ``last.pt``
takes the very same steps as one that was never interrupted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from raivtools.io.errors import InputError
from raivtools.io.host_copy import HostResult
from raivtools.io.prefetch import prefetch
from raivtools.io.records import iter_located
from raivtools.io.report import log, warn
from raivtools.seeding import rng_for, seed_everything
from raivtools.train import checkpoint as ckpt
from raivtools.train.data import (
    Collator,
    Example,
    FeatureSource,
    bucketed_batches,
    example_length,
    examples_for,
    feature_statistics,
    move_batch,
    shard_batches,
    split_of,
    token_source,
    usable,
)

PRECISIONS = ("fp32", "bf16", "fp16")
#: config fields that may differ between a run and its resumption
RESUMABLE_CHANGES = ("resume", "device", "log_every", "save_every")


@dataclass
class TrainConfig:
    """Everything about a training run except the model's shape (that is the model config)."""

    arch: str  # --arch: the registered architecture
    inputs: list[str]  # record files (their `split` picks train / val records)
    features: str  # the feature store with per-frame features of every media id
    out: str  # the run directory
    task: str = ""  # pairs | reason | video-text | tsp ("" = the arch's natural task)
    val: list[str] = field(default_factory=list)  # separate validation files (default: split == "val" of inputs)
    epochs: int = 10  # passes over the training data
    batch_size: int = 32  # examples per micro-batch per process
    lr: float = 1e-4  # peak learning rate of the body (AdamW)
    head_lr_mult: float = 10.0  # the task head's learning rate as a multiple of lr (METER: 10)
    weight_decay: float = 0.01  # AdamW weight decay on weight matrices
    warmup: float = 0.1  # fraction of optimizer steps of linear warm-up (then linear decay to 0)
    grad_accum: int = 1  # micro-batches per optimizer step
    clip_norm: float = 1.0  # gradient-norm clipping (0 = off)
    precision: str = "fp32"  # fp32 | bf16 | fp16 (autocast; fp16 adds a gradient scaler)
    train_fraction: float = 1.0  # fraction of training records used (seed 000 Table 5), drawn with the seed
    seed: int = 0  # every random choice follows it
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    bucket_batches: int = 50  # batches per length-sorting pool (bigger = less padding, less randomness)
    itm_candidates: int = 16  # itm: the mismatched caption is the most word-sharing of this many random ones
    pairs_per_item: float = 1.0  # tsp: statements mined per training item and epoch
    sampling: str = "cond"  # tsp: pair a media item with one sharing an object (cond) or with any (rand)
    init: str = ""  # run directory whose last.pt initialises the model (fine-tuning after tsp)
    log_every: int = 0  # also log a "step" line every N optimizer steps (0 = epoch lines only)
    save_every: int = 0  # also save last.pt every N optimizer steps (resume inside long epochs)
    resume: bool = False  # continue the run in `out` from its last.pt

    def check(self) -> None:
        """Raises InputError for values no run can use."""
        if self.precision not in PRECISIONS:
            raise InputError(f"--precision {self.precision!r}: choose one of {', '.join(PRECISIONS)}")
        if not 0 < self.train_fraction <= 1:
            raise InputError(f"--train-fraction {self.train_fraction}: must be in (0, 1]")
        if self.pairs_per_item <= 0:
            raise InputError(f"--pairs-per-item {self.pairs_per_item}: must be above 0")
        for name in ("epochs", "batch_size", "grad_accum", "itm_candidates"):
            if getattr(self, name) < 1:
                raise InputError(f"--{name.replace('_', '-')} must be at least 1")
        if not 0 <= self.warmup < 1:
            raise InputError(f"--warmup {self.warmup}: must be in [0, 1)")


class TrainingDiverged(InputError):
    """The loss became NaN or infinite; the message names the step. Exit code 3."""

    exit_code = 3


@dataclass
class Distributed:
    """Where this process stands in a torchrun job (rank 0 of 1 without one)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls) -> Distributed:
        """Reads torchrun's RANK / WORLD_SIZE / LOCAL_RANK and joins the process group when there are several."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls()
        import torch
        import torch.distributed as dist

        from raivtools.devices import join_process_group

        join_process_group("nccl" if torch.cuda.is_available() else "gloo")
        return cls(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))

    def barrier(self) -> None:
        if self.world_size > 1:
            import torch.distributed as dist

            dist.barrier()

    def ranks_not_finite(self, losses: Any) -> Any:
        """How many ranks have a NaN or inf in ``losses`` (device tensors), as a device tensor [1] summed over the
        ranks without the host waiting (so all ranks stop together instead of waiting forever on the one that
        stopped); None in a single process."""
        if self.world_size == 1:
            return None
        import torch
        import torch.distributed as dist

        flag = (~torch.isfinite(losses)).any().float().reshape(1)
        dist.all_reduce(flag)
        return flag

    def mean_each(self, values: list[float], device) -> list[float]:
        """The mean over ranks of each of ``values`` (the same number of them on every rank)."""
        if self.world_size == 1 or not values:
            return values
        import torch
        import torch.distributed as dist

        tensor = torch.tensor(values, dtype=torch.float64, device=device)
        dist.all_reduce(tensor)
        return (tensor / self.world_size).tolist()

    def mean(self, value: float, device) -> float:
        """The mean of ``value`` over ranks."""
        if self.world_size == 1:
            return value
        import torch
        import torch.distributed as dist

        tensor = torch.tensor([value], dtype=torch.float64, device=device)
        dist.all_reduce(tensor)
        return float(tensor.item()) / self.world_size

    def gather(self, value: Any) -> list[Any] | None:
        """Every rank's ``value`` (picklable) on rank 0, in rank order; None on the other ranks."""
        if self.world_size == 1:
            return [value]
        import torch.distributed as dist

        values = [None] * self.world_size if self.is_main else None
        dist.gather_object(value, values, dst=0)
        return values

    def check_on_main(self, check: Callable[[], None], device) -> None:
        """Runs ``check`` on rank 0 alone; when it raises InputError, every rank raises one (rank 0 its own, so the
        message is printed once): the other ranks would otherwise wait for rank 0 at their next collective."""
        error = None
        if self.is_main:
            try:
                check()
            except InputError as exc:
                error = exc
        if not self.mean(float(error is not None), device):  # above 0 on every rank when rank 0's check failed
            return
        if error is not None:
            raise error
        raise InputError(f"rank {self.rank}: stopped with rank 0, which could not start the run (see its error)")


def resolve_device(name: str, dist_info: Distributed):
    """``auto`` -> this rank's GPU when there is one, else the CPU. A GPU becomes the current device, so streams,
    events, ``barrier()`` and NCCL's object collectives use this rank's GPU, not GPU 0 on every rank."""
    import torch

    from raivtools.devices import torch_device

    device = torch_device(name, dist_info.local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    return device


def linear_schedule(total_steps: int, warmup: float):
    """LambdaLR factor: linear warm-up over ``warmup`` of the steps, then linear decay to 0."""
    warmup_steps = max(1, int(round(total_steps * warmup))) if warmup > 0 else 0

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        remaining = max(1, total_steps - warmup_steps)
        return max(0.0, (total_steps - step) / remaining)

    return factor


# ------------------------------------------------------------------------------------------------- data


@dataclass
class TrainData:
    """The examples of a run: training (fixed, or re-mined each epoch for tsp) and validation."""

    train: list[Example]
    val_records: list[tuple[str, int, dict[str, Any]]]  # located validation records (scored whole each epoch)
    skipped: int  # training records left out for lack of features
    miner: Any = None  # tsp / itm: makes new examples every epoch (a PairMiner, a CaptionMatcher)
    miner_items: int = 0  # tsp / itm: items the miner draws from
    val_examples: list[Example] | None = None  # itm: fixed matched / mismatched validation examples
    val_skipped: int = 0  # validation records without features (scored as errors, left out of the metrics)

    def epoch_examples(self, config: TrainConfig, epoch: int, features: FeatureSource) -> list[Example]:
        """This epoch's training examples (tsp mines new pairs, itm draws new mismatches, every epoch)."""
        if self.miner is None:
            return self.train
        return self.miner.examples(rng_for(config.seed, self.miner.rng_name, epoch), features)


def natural_task(input_kind: str) -> str:
    return "pairs" if input_kind == "pair" else "video-text"


def load_data(config: TrainConfig, task: str, features: FeatureSource) -> TrainData:
    """Reads the records, splits train / val, keeps the training fraction, drops media without features."""
    located = without_upstream_errors(list(iter_located(config.inputs)))
    splits = [split_of(record) for _, _, record in located]
    warn_unknown_splits(splits)
    train_located = [item for item, split in zip(located, splits) if split == "train"]
    if config.val:
        val_located = without_upstream_errors(list(iter_located(config.val)))
    else:
        val_located = [item for item, split in zip(located, splits) if split == "val"]
    train_located = fraction_of(train_located, config.train_fraction, config.seed)
    if task == "tsp":
        return _tsp_data(config, train_located, val_located, features)
    if task == "itm":
        return _itm_data(config, train_located, val_located, features)
    _, examples = examples_for(task, train_located, labelled=True)
    examples, problems = usable(examples, features)
    warn_left_out("training", train_located, problems)
    val_skipped = check_validation(task, val_located, features)
    return TrainData(examples, val_located, len(problems), val_skipped=val_skipped)


def without_upstream_errors(located: list) -> list:
    """The records an upstream command did not fail on (``status: error``: make-pairs' items without a caption,
    extract-frames' unreadable videos), with a warning that counts the others."""
    kept = [item for item in located if item[2].get("status") != "error"]
    if len(kept) < len(located):
        warn(f"{len(located) - len(kept)} records with status error (an upstream command failed on them) are left out")
    return kept


def warn_unknown_splits(splits: list[str]) -> None:
    """Records whose split is neither train nor val (nor test) are neither trained nor validated: says how many."""
    unknown = Counter(split for split in splits if split not in ("train", "val", "test"))
    if unknown:
        named = ", ".join(f"{n} {split!r}" for split, n in unknown.most_common())
        warn(f"{sum(unknown.values())} records with an unknown split ({named}) are neither trained nor validated "
             "(splits: train; val, valid, dev or validation; test)")


def check_validation(task: str, val_located: list, features: FeatureSource) -> int:
    """Checks the validation records before training (a bad one would otherwise stop the run after its first
    epoch) and warns about those without features; returns how many those are (their metrics skip them).
    Validation scores pair records' statements and reasoning choices both, so both must be well formed."""
    if task in ("pairs", "reason"):
        _, statements = examples_for("pairs", val_located, labelled=task == "pairs")
        _, choices = examples_for("reason", val_located, labelled=task == "reason")
        examples = statements + choices
    else:
        _, examples = examples_for(task, val_located, labelled=True)
    _, problems = usable(examples, features)
    warn_left_out("validation", val_located, problems)
    return len(problems)


def warn_left_out(what: str, located: list, problems: dict[int, str], shown: int = 3) -> None:
    """One warning with how many ``located`` (``what``: training or validation) records have no features, naming
    the first few by file:line and id (``problems``: {position in ``located``: why}, as :func:`usable` gives)."""
    if not problems:
        return
    consequence = "trained on the rest" if what == "training" else "validated on the rest"
    named = []
    for index, reason in list(problems.items())[:shown]:
        name, line, record = located[index]
        named.append(f"{name}:{line}: record {record.get('id', '<no id>')!r}: {reason}")
    more = f"; and {len(problems) - shown} more" if len(problems) > shown else ""
    warn(f"{len(problems)} of {len(located)} {what} records have no features and are left out ({consequence}): "
         + "; ".join(named) + more)


def _tsp_data(config: TrainConfig, train_located: list, val_located: list, features: FeatureSource) -> TrainData:
    """tsp: a miner over the training SRL records, and validation pairs mined once from the val records that
    have features (as the training pairs are: a pair left out later would leave its twin alone)."""
    from raivtools.train.tsp import PairMiner, check_tsp_available

    check_tsp_available()
    miner = PairMiner([r for _, _, r in train_located], config.sampling, config.pairs_per_item)
    miner.leave_out_items_without(features)  # before the schedule is planned from its target
    val_pairs: list[dict[str, Any]] = []
    if val_located:
        val_miner = PairMiner([r for _, _, r in val_located], config.sampling)
        val_miner.leave_out_items_without(features, "validation")
        val_pairs = val_miner.mine(rng_for(config.seed, "tsp-val"))
    val = [("<tsp-val>", i + 1, record) for i, record in enumerate(val_pairs)]
    return TrainData([], val, 0, miner=miner, miner_items=miner.target)


def _itm_data(config: TrainConfig, train_located: list, val_located: list, features: FeatureSource) -> TrainData:
    """itm: a matcher over the training captions, and validation examples drawn once from the val captions."""
    from raivtools.train.itm import CaptionMatcher

    matcher = CaptionMatcher(train_located, config.itm_candidates)
    skipped = _warn_itm_left_out("training", matcher, train_located, features)
    matcher.leave_out_items_without(features)  # before the schedule is planned from its target
    val: list[Example] = []
    val_skipped = 0
    if val_located:
        val_matcher = CaptionMatcher(val_located, config.itm_candidates)
        val_skipped = _warn_itm_left_out("validation", val_matcher, val_located, features)
        val_matcher.leave_out_items_without(features)
        val = val_matcher.examples(rng_for(config.seed, "itm-val"), features)
    return TrainData([], [], skipped, miner=matcher, miner_items=matcher.target, val_examples=val,
                     val_skipped=val_skipped)


def _warn_itm_left_out(what: str, matcher, located: list, features: FeatureSource) -> int:
    """Warns once about the caption records without features (the matcher is to leave them out); returns how many
    they are."""
    captions = [Example(index, (media_id,), caption) for index, media_id, caption in matcher.items]
    problems = usable(captions, features)[1]
    warn_left_out(what, located, problems)
    return len(problems)


def fraction_of(items: list, fraction: float, seed: int) -> list:
    """A seeded random ``fraction`` of ``items`` (at least one), in their original order."""
    if fraction >= 1 or not items:
        return items
    keep = max(1, math.ceil(len(items) * fraction))
    chosen = np.sort(rng_for(seed, "train-fraction").permutation(len(items))[:keep])
    return [items[i] for i in chosen]


# ------------------------------------------------------------------------------------------------- trainer


class Trainer:
    """Runs one training job; :meth:`run` does everything and returns the last epoch's metrics line."""

    def __init__(self, config: TrainConfig, model_fields: dict[str, Any], init_text: str = ""):
        import torch

        config.check()
        self.config = config
        self.dist = Distributed.from_env()
        self.device = resolve_device(config.device, self.dist)
        self.run_dir = Path(config.out)
        self.features = FeatureSource(config.features)
        seed_everything(config.seed)
        self.model = self._build_model(model_fields, init_text)
        self.task = config.task or natural_task(self.model.input_kind)
        self._check_task()
        self.tokenizer = _tokenizer_for(self.model)
        visual_inputs = 2 if self.model.input_kind == "pair" and self.task != "itm" else 1
        self.collate = Collator(self.features, self.tokenizer, self.model.config.max_frames, visual_inputs,
                                tokens=token_source(type(self.model), self.features))
        self.data = load_data(config, self.task, self.features)
        self.model.check_training_examples(self.data.train)
        # a fine-tuned model keeps the statistics its first run saved with its weights
        if not config.init and self.model.config.standardize_features:
            self._set_feature_statistics()
        self.steps_per_epoch = self._steps_per_epoch()
        self.total_steps = self.steps_per_epoch * config.epochs
        self.optimizer = make_optimizer(self.model.param_groups(config.lr, config.weight_decay, config.head_lr_mult),
                                        config.lr)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, linear_schedule(self.total_steps, config.warmup))
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=config.precision == "fp16")
        self.wrapped = self._wrap(self.model)
        self.epoch, self.step, self.batch_in_epoch = 0, 0, 0
        self.epoch_losses: list[float] = []
        self.pending_loss: tuple[int, list[int], HostResult] | None = None  # the last step's loss, not yet read back
        self.best: float | None = None

    # -------------------------------------------------------------------------------------------- setup

    def _build_model(self, model_fields: dict[str, Any], init_text: str):
        from raivtools.models import build_model, model_class_for, model_config

        if self.config.init:
            return self._model_from_run(self.config.init, model_fields)
        fields = dict(model_fields)
        fields["feature_dim"] = self.features.dim
        if init_text == "store":
            init_text = self._store_text_tower()
        tokens = token_source(model_class_for(self.config.arch), self.features)
        if tokens is not None:  # models that read patch tokens (needs_tokens) are built for the store's width
            fields.setdefault("token_dim", tokens.dim)
        if init_text:
            from raivtools.models.layers import open_clip_text_settings

            fields.update(open_clip_text_settings(init_text))
            fields["init_text"] = init_text
        model = build_model(self.config.arch, model_config(self.config.arch, **fields))
        if init_text:
            from raivtools.models.layers import load_open_clip_text_tower

            load_open_clip_text_tower(model.text_encoder, init_text)
        return model.to(self.device)

    def _set_feature_statistics(self) -> None:
        """Per-dimension mean and std of the training media's frame features, for the model's standardisers
        (tsp mines its pairs later: then every item of the store)."""
        import torch

        media = {m for example in self.data.train for m in example.media} or set(self.features.store.ids())
        mean, std = feature_statistics(self.features, sorted(media))
        self.model.set_feature_statistics(torch.from_numpy(mean), torch.from_numpy(std))

    def _store_text_tower(self) -> str:
        """``--init-text store``: the open_clip model and checkpoint that encoded the features (the store's meta),
        so text and frames start in the same embedding space."""
        from raivtools.media.clip import LOCAL_DIR

        meta = self.features.store.meta
        if str(meta.get("model", "")).startswith(LOCAL_DIR):
            return meta["model"]  # the folder holds the config and the weights; its "pretrained" is not used
        if not meta.get("model") or not meta.get("pretrained"):
            raise InputError(f"--init-text store: {self.features.store.root} does not name its open_clip model and "
                             "checkpoint (meta 'model', 'pretrained'); pass --init-text MODEL:CHECKPOINT")
        return f"{meta.get('model_config') or meta['model']}:{meta['pretrained']}"

    def _model_from_run(self, run: str, model_fields: dict[str, Any]):
        """Fine-tuning: the init run's architecture and weights (its last.pt, as seed 000 uses the last TSP
        checkpoint); settings that do not change the weights' shapes (dropout, frames, losses) may be overridden."""
        from raivtools.models import build_model

        init_config = ckpt.read_run_config(Path(run))
        if init_config["arch"] != self.config.arch:
            raise InputError(f"--init {run}: that run trained --arch {init_config['arch']}, not {self.config.arch}")
        fields = {**init_config["model"], **{k: v for k, v in model_fields.items() if k in ("dropout", "max_frames", "losses")}}
        model = build_model(self.config.arch, fields)
        state = ckpt.load_checkpoint(ckpt.checkpoint_path(Path(run), "last"))
        model.load_state_dict(state["model"])
        if model.config.feature_dim != self.features.dim:
            raise InputError(f"--init {run}: features of size {model.config.feature_dim}, but --features has {self.features.dim}")
        return model.to(self.device)

    def _check_task(self) -> None:
        allowed = {"pair": ("pairs", "reason", "tsp", "itm"), "video-text": ("video-text",)}[self.model.input_kind]
        if self.task not in allowed:
            raise InputError(f"--task {self.task}: --arch {self.config.arch} trains on {', '.join(allowed)}")

    def _wrap(self, model):
        if self.dist.world_size == 1:
            return model
        from torch.nn.parallel import DistributedDataParallel

        device_ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=device_ids,
                                       find_unused_parameters=model.ddp_find_unused_parameters)

    def _steps_per_epoch(self) -> int:
        count = len(self.data.train) if self.data.miner is None else self.data.miner_items
        if count == 0:
            raise InputError("no training examples: the inputs have no usable records with split 'train' "
                             "(records without a split count as train)")
        batches = -(-count // self.config.batch_size)
        per_rank = -(-batches // self.dist.world_size)
        return -(-per_rank // self.config.grad_accum)

    # -------------------------------------------------------------------------------------------- run

    def run(self, stop_after_steps: int | None = None) -> dict[str, Any]:
        """Trains every remaining epoch. ``stop_after_steps`` ends the run abruptly after that optimizer step
        without saving (as a crash would): tests use it to check that ``--resume`` is exact."""
        self._prepare_run_dir()
        last_line: dict[str, Any] = {}
        while self.epoch < self.config.epochs:
            train_loss = self._train_epoch(stop_after_steps)
            if train_loss is None:
                return last_line
            last_line = self._end_epoch(train_loss)
        self._export()
        return last_line

    def _export(self) -> None:
        """Models that are also a standalone artefact (``clip``: an open_clip checkpoint) write it once, from
        best.pt (the last weights when no validation picked a best epoch), rank 0."""
        if not self.dist.is_main or not hasattr(self.model, "export"):
            return
        best = self.run_dir / ckpt.BEST
        state = ckpt.load_checkpoint(best)["model"] if best.exists() else self.model.state_dict()
        path = self.model.export(self.run_dir, state)
        log(f"raiv train: wrote {path}; encode with it: raiv encode ... {self.model.encode_hint(self.run_dir)}")

    def _prepare_run_dir(self) -> None:
        config_dict = self.run_config()
        last = self.run_dir / ckpt.LAST
        resuming = self.config.resume and last.exists()
        self.dist.check_on_main(lambda: self._check_run_dir(config_dict, resuming), self.device)
        if resuming:
            self._restore(ckpt.load_checkpoint(last, map_location=self.device))
            if self.dist.is_main:
                ckpt.truncate_metrics(self.run_dir, self.step, self.epoch)
                log(f"raiv train: resuming {self.run_dir} at epoch {self.epoch + 1}, step {self.step}")
            return
        if self.dist.is_main:
            if self.config.resume:
                log(f"raiv train: --resume: {self.run_dir} has no {ckpt.LAST} yet; starting the run")
                ckpt.truncate_metrics(self.run_dir, 0, 0)  # the lines the stopped attempt logged are logged again
            self.run_dir.mkdir(parents=True, exist_ok=True)
            ckpt.write_run_config(self.run_dir, config_dict)
        self.dist.barrier()

    def _check_run_dir(self, config_dict: dict[str, Any], resuming: bool) -> None:
        """Raises InputError when ``--resume`` finds another run's settings, or, without it, the run directory
        is not empty."""
        if resuming:
            self._check_same_run(ckpt.read_run_config(self.run_dir), config_dict)
        elif self.run_dir.exists() and any(self.run_dir.iterdir()) and not self.config.resume:
            raise InputError(f"{self.run_dir}: run directory is not empty: pass --resume to continue it, "
                             "or choose a new --out")

    def _check_same_run(self, saved: dict[str, Any], now: dict[str, Any]) -> None:
        changed = sorted(key for key in set(saved["train"]) | set(now["train"])
                         if key not in RESUMABLE_CHANGES and saved["train"].get(key) != now["train"].get(key))
        if saved["model"] != now["model"]:
            changed.append("model settings")
        # other data or another number of processes: other batches per rank and another lr schedule
        changed += [key for key in ("world_size", "steps") if saved.get(key) != now[key]]
        if changed:
            raise InputError(f"{self.run_dir}: --resume with other settings than the run was started with "
                             f"({', '.join(changed)}); use the same options or a new --out")

    def run_config(self) -> dict[str, Any]:
        """What goes into config.json: enough to rebuild the model, score with it, and resume."""
        import torch

        return {
            "format": "raiv-run", "version": 1, "arch": self.config.arch, "task": self.task,
            "model": self.model.config.to_dict(),
            "train": {**dataclasses.asdict(self.config), "task": self.task},
            "tokenizer": {"kind": "open_clip-bpe", "context_length": self.model.config.context_length},
            "features": {"dir": self.config.features, "meta": self.features.store.meta, "dim": self.features.dim},
            "steps": {"per_epoch": self.steps_per_epoch, "total": self.total_steps},
            "data": {"train_examples": len(self.data.train) or self.data.miner_items,
                     "val_records": len(self.data.val_records), "skipped_train_records": self.data.skipped,
                     "skipped_val_records": self.data.val_skipped},
            "world_size": self.dist.world_size, "torch": torch.__version__,
        }

    # -------------------------------------------------------------------------------------------- epoch

    def _epoch_batches(self, examples: list[Example]) -> list[list[int]]:
        lengths = [example_length(e, self.tokenizer, self.model.config.max_frames) for e in examples]
        batches = bucketed_batches(lengths, self.config.batch_size, rng_for(self.config.seed, "batches", self.epoch),
                                   self.config.bucket_batches)
        return shard_batches(batches, self.dist.rank, self.dist.world_size)

    def _train_epoch(self, stop_after_steps: int | None) -> float | None:
        """One epoch from ``batch_in_epoch`` on; returns its mean training loss, or None when stopped early."""
        examples = self.data.epoch_examples(self.config, self.epoch, self.features)
        batches = self._epoch_batches(examples)
        accum = self.config.grad_accum
        first_group = self.batch_in_epoch // accum
        numbered = list(enumerate(batches))[first_group * accum:]
        built = ((number, self._collate(examples, positions, number)) for number, positions in numbered)
        ready = self._batches_ahead(built)
        self.wrapped.train()
        try:
            for group_number in range(first_group, -(-len(batches) // accum)):
                group = [next(ready) for _ in range(min(accum, len(batches) - group_number * accum))]
                step_losses = self._optimizer_step(group)
                # Reading a loss waits for the device: the previous step's is read only now, once this step is
                # queued, and waits for that step alone, so the device is never left idle. A NaN step's weights
                # are never saved: saving reads first.
                self._read_pending_loss()
                self.step += 1
                self.batch_in_epoch = (group_number + 1) * accum
                self.pending_loss = (self.step, [number for number, _ in group], step_losses)
                self._after_step()
                if stop_after_steps is not None and self.step >= stop_after_steps:
                    return None
            self._read_pending_loss()
        finally:
            ready.close()
            self.pending_loss = None
        losses = self.epoch_losses  # with those of this epoch's earlier steps, when resumed mid-epoch
        return self.dist.mean(float(np.mean(losses)) if losses else math.nan, self.device)

    def _batches_ahead(self, built):
        """The epoch's batches: built by a background thread on a CPU, in this thread for a GPU.

        On a CPU the step runs in this thread, so a second thread building the next batch meanwhile saves its
        time. On a GPU the step is only queued and this thread is soon free again: the next batch is built while
        the device works, with no thread. A thread there takes the GIL from the thread that launches the kernels,
        and small models are launch-bound (navero at width 128: 5 ms of kernels in a 20 ms step). On an H100,
        median loop / bare ratios of 9 interleaved epochs, thread + pinned batches -> this thread, unpinned:
        navero fp32 1.19 -> 1.13, bf16 1.09 -> 1.02, raiv-late bf16 1.00 -> 0.97.
        """
        if self.device.type == "cpu":
            return prefetch(built, name="raiv-train-batches")
        return built

    def _read_pending_loss(self) -> None:
        """Moves the last step's loss to the host, into ``epoch_losses``; stops the run if it is NaN or inf."""
        if self.pending_loss is None:
            return
        step, numbers, step_losses = self.pending_loss
        self.pending_loss = None
        host_losses, bad_ranks = step_losses.wait()
        values = host_losses.tolist()
        bad = next((i for i, value in enumerate(values) if not math.isfinite(value)), None)
        if bad is not None or (bad_ranks is not None and bad_ranks.item() > 0):
            where = f"epoch {self.epoch + 1}"
            what = (f"loss is {values[bad]} at step {step} ({where}, batch {numbers[bad] + 1})" if bad is not None
                    else f"a loss is not finite on another rank at step {step} ({where})")
            last = self.run_dir / ckpt.LAST
            kept = f"The last good checkpoint is {last}" if last.exists() else "No checkpoint was saved before it"
            raise TrainingDiverged(f"{what}; stopped. {kept} (lower --lr, use --precision fp32/bf16, or check the "
                                   "features)")
        self.epoch_losses.append(sum(values) / len(values))

    def _collate(self, examples: list[Example], positions: list[int], number: int) -> dict[str, Any]:
        """Batch ``number`` of the epoch on the CPU; its frames drawn with its own generator.

        Not pinned for a GPU: pinning a batch's ten small tensors took 0.7 ms on an H100 host, more than building
        the batch (0.5 ms), and cost more step time than the pinned copies saved (``_batches_ahead``).
        """
        return self.collate([examples[p] for p in positions], rng_for(self.config.seed, "frames", self.epoch, number))

    def _optimizer_step(self, group: list[tuple[int, dict[str, Any]]]) -> HostResult:
        """Forward/backward over the micro-batches of ``group``, then one clipped optimizer step; returns the
        micro-batches' losses and (under DDP) the count of ranks with a non-finite one, on their way to the host
        (no wait for the device here).

        The losses are copied behind an event, so reading them after the next step is queued waits for this
        step only. A blocking read (``tolist()`` of a device tensor) would wait for the next step too.
        """
        import torch

        from raivtools.score import autocast_context

        losses = []
        for offset, (_, cpu_batch) in enumerate(group):
            batch = move_batch(cpu_batch, self.device)
            sync = offset == len(group) - 1 or self.dist.world_size == 1
            with contextlib.nullcontext() if sync else self.wrapped.no_sync():
                with autocast_context(self.device, self.config.precision):
                    loss = self.wrapped(batch)["loss"]
                self.scaler.scale(loss if len(group) == 1 else loss / len(group)).backward()
            losses.append(loss.detach().float())
        if self.config.clip_norm > 0:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.clip_norm, foreach=True)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        step_losses = torch.stack(losses)
        return HostResult.start(self.device, step_losses, self.dist.ranks_not_finite(step_losses))

    def _after_step(self) -> None:
        log_due = self.config.log_every and self.step % self.config.log_every == 0
        save_due = self.config.save_every and self.step % self.config.save_every == 0
        if log_due or save_due:  # on every rank, so a non-finite loss stops every rank at the same step
            self._read_pending_loss()
        if log_due:
            loss = self.dist.mean(self.epoch_losses[-1], self.device)  # every rank's micro-batches, not rank 0's
            if self.dist.is_main:
                ckpt.append_metrics(self.run_dir, {"event": "step", "epoch": self.epoch + 1, "step": self.step,
                                                   "loss": loss, "lr": self.current_lr()})
        if save_due:
            # every rank resumes with rank 0's saved losses: make them those of all ranks first
            self.epoch_losses = self.dist.mean_each(self.epoch_losses, self.device)
            self._save_last()

    def current_lr(self) -> float:
        """The body's learning rate now (the head's is ``head_lr_mult`` times it)."""
        return float(self.scheduler.get_last_lr()[0])  # group 0 is a body group (see param_groups)

    def _end_epoch(self, train_loss: float) -> dict[str, Any]:
        """Validation, the epoch's metrics line, last.pt and (when better) best.pt."""
        val = self.validate() if self.dist.is_main else {}
        self.epoch += 1
        self.batch_in_epoch = 0
        self.epoch_losses = []
        line = {"event": "epoch", "epoch": self.epoch, "step": self.step, "train_loss": train_loss,
                "lr": self.current_lr(), "val": val}
        if self.dist.is_main:
            ckpt.append_metrics(self.run_dir, line)
            log(f"raiv train: epoch {self.epoch}/{self.config.epochs} step {self.step} train_loss {train_loss:.4f} "
                + " ".join(f"val_{k} {v:.4f}" for k, v in val.items()))
            # best.pt before last.pt: last.pt carries the new best value, so a run stopped between the two would
            # resume with best.pt never written for this epoch; this way round it redoes the epoch and writes it
            if self._improved(val):
                ckpt.save_checkpoint(self.run_dir / ckpt.BEST, {"model": self.model.state_dict(), "epoch": self.epoch,
                                                                "step": self.step, "val": val})
        self._save_last()  # on every rank: each sends rank 0 its RNG state
        self.dist.barrier()
        return line

    def _improved(self, val: dict[str, float]) -> bool:
        metric = primary_metric(val, self.task)
        if metric is None:
            return False
        value = val[metric] if metric != "loss" else -val[metric]
        if math.isnan(value):
            return False
        if self.best is None or value > self.best:
            self.best = value
            return True
        return False

    def validate(self) -> dict[str, float]:
        """Scores the validation records (RNG untouched, so validation never changes the training run)."""
        import torch

        from raivtools.score import score_records, validation_metrics

        if self.data.val_examples is not None:
            return self._validate_examples(self.data.val_examples)
        if not self.data.val_records:
            return {}
        # captions without hard negatives give no AARO acc: retrieval R@1 picks the best epoch instead
        retrieval = (self.model.input_kind == "video-text" and self.model.supports_retrieval
                     and not any(record.get("negative") is not None for _, _, record in self.data.val_records))
        with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
            records = score_records(self.model, [(f, n, dict(r)) for f, n, r in self.data.val_records],
                                    self.features, self.tokenizer, self.config.batch_size, self.device,
                                    self.config.precision, task="retrieval" if retrieval else "")
        self.model.train()
        return validation_metrics(records)

    def _validate_examples(self, examples: list[Example]) -> dict[str, float]:
        """Accuracy and BCE of fixed labelled examples (itm's matched / mismatched captions)."""
        import torch

        from raivtools import metrics
        from raivtools.score import binary_cross_entropy, predict

        if not examples:
            return {}
        with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
            scores = predict(self.model, examples, self.collate, self.config.batch_size, self.device,
                             self.config.precision)["score"]
        self.model.train()
        labels = [bool(e.label) for e in examples]
        return {"accuracy": metrics.pair_accuracy(labels, scores), "loss": binary_cross_entropy(labels, scores)}

    # -------------------------------------------------------------------------------------------- state

    def _save_last(self) -> None:
        """Rank 0 writes last.pt with every rank's RNG state: call it on every rank (each sends its own)."""
        rng_states = self.dist.gather(self._rng_state())
        if not self.dist.is_main:
            return
        state = {
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(),
            "epoch": self.epoch, "step": self.step, "batch_in_epoch": self.batch_in_epoch,
            "epoch_losses": list(self.epoch_losses), "best": self.best, **rng_states[0],
        }
        if self.dist.world_size > 1:  # the ranks' batches differ, and so do their dropout draws: each resumes its own
            state["rank_rng"] = dict(enumerate(rng_states))
        ckpt.save_checkpoint(self.run_dir / ckpt.LAST, state)

    def _rng_state(self) -> dict[str, Any]:
        """This process's torch RNG states, as last.pt keeps them."""
        import torch

        state = {"torch_rng": torch.get_rng_state()}
        if self.device.type == "cuda":
            state["cuda_rng"] = torch.cuda.get_rng_state(self.device)
        return state

    def _restore(self, state: dict[str, Any]) -> None:
        import torch

        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.epoch, self.step, self.batch_in_epoch = state["epoch"], state["step"], state["batch_in_epoch"]
        self.best = state["best"]
        self.epoch_losses = list(state["epoch_losses"])
        # a single process's last.pt (or one from before rank_rng) holds one state, rank 0's
        rng = state.get("rank_rng", {}).get(self.dist.rank, state)
        torch.set_rng_state(rng["torch_rng"].cpu())
        if "cuda_rng" in rng and self.device.type == "cuda":
            torch.cuda.set_rng_state(rng["cuda_rng"].cpu(), self.device)


def make_optimizer(groups: list[dict[str, Any]], lr: float):
    """AdamW, fused into one kernel per step where torch has one for the device (on CPU about 6x faster than
    the per-parameter loop for these models), else the default implementation."""
    import torch

    try:
        return torch.optim.AdamW(groups, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.AdamW(groups, lr=lr)


#: validation numbers that pick best.pt, by task, first present wins (the loss is minimised, the rest maximised)
PRIMARY_METRICS = {"reason": ("mc_accuracy", "loss"), "video-text": ("acc", "r1", "loss")}
DEFAULT_PRIMARY = ("accuracy", "mc_accuracy", "acc", "loss")


def primary_metric(val: dict[str, float], task: str = "") -> str | None:
    """The validation number that picks best.pt: the task's own accuracy (T/F accuracy, reasoning accuracy,
    AARO acc, retrieval R@1 of captions without negatives), else the loss."""
    for name in PRIMARY_METRICS.get(task, DEFAULT_PRIMARY):
        if name in val:
            return name
    return None


def _tokenizer_for(model):
    from raivtools.models.layers import TextTokenizer

    return TextTokenizer(model.config.context_length)


def train(config: TrainConfig, model_fields: dict[str, Any] | None = None, init_text: str = "",
          stop_after_steps: int | None = None) -> Trainer:
    """Builds a :class:`Trainer` and runs it; returns the trainer (its model is trained)."""
    trainer = Trainer(config, model_fields or {}, init_text)
    trainer.run(stop_after_steps)
    return trainer
