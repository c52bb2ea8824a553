"""Model tests run tiny models on one thread (fastest for them; the machine's cores are shared)."""

import pytest


@pytest.fixture(autouse=True)
def one_torch_thread():
    import torch

    torch.set_num_threads(1)
