"""Device results read back on the host without draining the device's queue.

A blocking copy (``.cpu()``, ``.item()``, ``.tolist()``) waits for everything queued on the stream so far, so a
loop that reads the previous batch's result after queueing the next one still waits for the next one. Copying
into page-locked memory without blocking, with an event recorded right behind the copy, lets the host wait for
just that copy later, while the device goes on with what was queued after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def start_host_copy(tensor: Any) -> Any:
    """``tensor`` on the host, floating point as float32 (other dtypes kept): on a CUDA device a page-locked copy
    not yet done (read it once an event recorded after this call has passed, see :class:`HostResult`); elsewhere
    the tensor itself."""
    import torch

    dtype = torch.float32 if tensor.is_floating_point() else tensor.dtype
    if tensor.device.type != "cuda":
        return tensor.to(dtype)
    host = torch.empty(tensor.shape, dtype=dtype, pin_memory=True)
    return host.copy_(tensor, non_blocking=True)


def record_event(device: Any) -> Any:
    """A CUDA event recorded now on ``device``'s current stream (None off CUDA): it passes once the work queued
    so far on that stream is done, whatever is queued after it. The stream is ``device``'s, not the current
    device's: a copy from ``cuda:1`` runs on ``cuda:1``'s stream whichever device is current."""
    import torch

    device = torch.device(device)
    if device.type != "cuda":
        return None
    event = torch.cuda.Event()
    event.record(torch.cuda.current_stream(device))
    return event


@dataclass
class HostResult:
    """Host copies started by :func:`start_host_copy`, readable once ``done`` has passed."""

    tensors: tuple[Any, ...]  # host tensors (None entries allowed), filled once ``done`` has passed
    done: Any  # CUDA event recorded after the copies (None off CUDA: the copies are already done)

    @classmethod
    def start(cls, device: Any, *tensors: Any) -> HostResult:
        """Starts copying ``tensors`` (device tensors or None) to the host, without waiting."""
        copies = tuple(None if tensor is None else start_host_copy(tensor) for tensor in tensors)
        return cls(copies, record_event(device))

    def wait(self) -> tuple[Any, ...]:
        """The host tensors, after waiting for their copies only."""
        if self.done is not None:
            self.done.synchronize()
        return self.tensors
