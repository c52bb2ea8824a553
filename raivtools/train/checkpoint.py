"""Run directories and checkpoints.

A run directory holds ``config.json`` (everything needed to rebuild the model and to resume), ``metrics.jsonl``
(one line per epoch, optional per-step lines), ``last.pt`` (the full training state after the last finished
epoch or ``--save-every`` step) and ``best.pt`` (the model at its best validation epoch). Checkpoints hold only
tensors, numbers, strings, lists and dicts, so they load with ``torch.load(..., weights_only=True)``; they are
written to a temp file and renamed, so an interruption never leaves half a checkpoint.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import orjson

from raivtools.io.errors import InputError
from raivtools.io.store import atomic_write_bytes

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
LAST = "last.pt"
BEST = "best.pt"


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Writes ``state`` atomically with ``torch.save``."""
    import torch

    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: Path, map_location: Any = "cpu") -> dict[str, Any]:
    """Reads a checkpoint with ``weights_only=True`` (no pickled code runs)."""
    import torch

    if not path.exists():
        raise InputError(f"{path}: no such checkpoint")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # a truncated or foreign file: say which, not a pickle traceback
        raise InputError(f"{path}: cannot read checkpoint: {exc}") from exc


def write_run_config(run_dir: Path, config: dict[str, Any]) -> None:
    atomic_write_bytes(run_dir / CONFIG_FILE, orjson.dumps(config, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))


def read_run_config(run_dir: Path) -> dict[str, Any]:
    """The ``config.json`` of a run directory (exit 2 when it is not one)."""
    path = Path(run_dir) / CONFIG_FILE
    if not path.exists():
        raise InputError(f"{run_dir}: not a raiv run directory (no {CONFIG_FILE}); make one with raiv train")
    try:
        return orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{path}: malformed JSON: {exc}") from None


def append_metrics(run_dir: Path, line: dict[str, Any]) -> None:
    """Appends one line to ``metrics.jsonl`` (flushed at once, so a crash keeps every finished epoch)."""
    with open(run_dir / METRICS_FILE, "ab") as handle:
        handle.write(orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_SERIALIZE_NUMPY))


def truncate_metrics(run_dir: Path, step: int, epoch: int) -> None:
    """Drops metric lines logged after ``step`` and the lines of epochs after ``epoch`` (a resumed run logs them
    again): a checkpoint saved at an epoch's last step comes before that epoch's line, whose step is the same."""
    path = run_dir / METRICS_FILE
    if not path.exists():
        return
    lines = [line for line in path.read_bytes().splitlines() if line.strip()]
    kept = [line for line in lines if _logged_by(orjson.loads(line), step, epoch)]
    atomic_write_bytes(path, b"".join(line + b"\n" for line in kept))


def _logged_by(line: dict[str, Any], step: int, epoch: int) -> bool:
    """Whether a run at ``step`` with ``epoch`` epochs finished had logged the metrics ``line``."""
    return line.get("step", 0) <= step and not (line.get("event") == "epoch" and line.get("epoch", 0) > epoch)


def checkpoint_path(run_dir: Path, which: str) -> Path:
    """``best`` / ``last`` -> the file in ``run_dir``; anything else is taken as a path."""
    if which in ("best", "last"):
        return Path(run_dir) / (BEST if which == "best" else LAST)
    return Path(which)


def load_run_model(run_dir: str | Path, which: str = "best", device: Any = "cpu"):
    """The trained model of a run, in eval mode on ``device``, and the run's config.

    Falls back from ``best`` to ``last`` when the run had no validation data (then there is no best.pt).
    """
    from raivtools.models import build_model

    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    path = checkpoint_path(run_dir, which)
    if which == "best" and not path.exists():
        path = checkpoint_path(run_dir, "last")
    state = load_checkpoint(path)
    model = build_model(config["arch"], config["model"])
    model.load_state_dict(state["model"])
    return model.to(device).eval(), config
