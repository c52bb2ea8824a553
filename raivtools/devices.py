"""The torch device a ``--device`` option names, for every command that runs a model (train, score, encode,
negate's masked LM, make-pairs' LLM)."""

from __future__ import annotations

from raivtools.io.errors import InputError

AUTO = ("auto", None, "")


def torch_device(name: str | None, local_rank: int = 0):
    """The device ``name`` names, checked with an empty tensor there, so a missing device fails before a model
    loads and not in the first batch.

    Args:
        name: ``auto`` (or None): this process's GPU when there is one, else the CPU; ``cpu``, ``cuda``,
            ``cuda:N`` or any other torch device string.
        local_rank: the GPU that ``auto`` and a bare ``cuda`` mean (torchrun's ``LOCAL_RANK``).

    Raises:
        InputError: ``name`` is not a device name, or this machine has no such device; says what to pass instead.
    """
    import torch

    if name in AUTO:
        return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:  # "Expected one of cpu, cuda, ipu, ... at start of device string: gpu"
        raise InputError(f"--device {name}: not a torch device name; {_device_choices()}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"--device {name}: no CUDA GPU here; {_device_choices()}")
    if device.type == "cuda" and device.index is None:
        device = torch.device(f"cuda:{local_rank}")
    try:
        torch.empty(0, device=device)
    except RuntimeError as exc:  # no such GPU (cuda:2 with two), a backend this torch lacks (mps off macOS)
        raise InputError(f"--device {name}: not usable here ({first_sentence(exc)}); {_device_choices()}") from exc
    return device


def first_sentence(exc: BaseException) -> str:
    """The first line of an exception's message, its first sentence if that line is long (torch and transformers
    add pages of advice, and torch lists every backend), else the exception's type."""
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    line = text.splitlines()[0]
    return line.split(". ")[0] + "." if len(line) > 160 and ". " in line else line


def _device_choices() -> str:
    import torch

    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if not gpus:
        return "pass --device cpu (or leave --device out)"
    return f"pass --device cpu, cuda or cuda:N for N below {gpus} (or leave --device out)"


def join_process_group(backend: str) -> None:
    """Joins torchrun's process group (once per process) and leaves it when the process exits.

    A process that exits still in a gloo group can abort in the group's threads ("terminate called without an
    active exception"): torchrun then reports the job failed although every record was written.
    """
    import atexit

    import torch.distributed as dist

    if dist.is_initialized():
        return
    dist.init_process_group(backend)
    atexit.register(_leave_process_group)


def _leave_process_group() -> None:
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()
