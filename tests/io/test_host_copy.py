import time

import pytest
import torch

from raivtools.io.host_copy import HostResult, record_event, start_host_copy

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def test_cpu_results_are_float32_and_ready():
    values = torch.tensor([1.5, 2.5], dtype=torch.bfloat16)
    frames = torch.tensor([[0, 7]])
    result = HostResult.start(torch.device("cpu"), values, None, frames)
    assert result.done is None
    copied, missing, same_frames = result.wait()
    assert copied.dtype == torch.float32 and copied.tolist() == [1.5, 2.5]
    assert missing is None
    assert same_frames.dtype == torch.int64 and same_frames.tolist() == [[0, 7]]  # only floats become float32


def test_cpu_needs_no_event():
    assert record_event(torch.device("cpu")) is None
    assert record_event("cpu") is None
    same = torch.ones(3)
    assert start_host_copy(same) is same


@needs_cuda
def test_cuda_copy_matches_the_device_tensor():
    values = torch.randn(4, 3, device="cuda", dtype=torch.float16)
    indices = torch.arange(6, device="cuda").view(2, 3)
    copied, same_indices = HostResult.start(values.device, values, indices).wait()
    assert copied.is_pinned() and copied.dtype == torch.float32
    assert torch.equal(copied, values.float().cpu())
    assert same_indices.dtype == torch.int64 and same_indices.tolist() == [[0, 1, 2], [3, 4, 5]]


@needs_cuda
def test_cuda_wait_does_not_wait_for_work_queued_after_the_copy():
    values = torch.arange(5, device="cuda", dtype=torch.float32)
    result = HostResult.start(values.device, values)
    torch.cuda._sleep(2_000_000_000)  # about a second of spinning on the same stream, queued after the copy
    start = time.perf_counter()
    (copied,) = result.wait()
    waited = time.perf_counter() - start
    busy = not torch.cuda.current_stream().query()
    torch.cuda.synchronize()
    assert copied.tolist() == [0, 1, 2, 3, 4]
    assert busy and waited < 0.2


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA devices")
def test_cuda_wait_covers_a_copy_from_a_device_that_is_not_the_current_one():
    # a torchrun rank copies from its own GPU while another may be current: the event must be on the copy's
    with torch.cuda.device(1):
        torch.cuda._sleep(1_000_000_000)  # the values below are made, and copied, only after this
        values = torch.arange(1, 4, device="cuda:1", dtype=torch.float32)
    with torch.cuda.device(0):
        (copied,) = HostResult.start(values.device, values).wait()
    assert copied.tolist() == [1.0, 2.0, 3.0]
