"""raiv's attention layer vs torch's nn.MultiheadAttention, side by side in one run: the same model, weights and
batches, training steps (forward + backward + AdamW) alternating one by one; and the first padded call of
each in fresh processes (torch's imports sympy).

Both compute the same thing (tests/models/test_layers.py); the difference is host time: torch's layer checks its
arguments and tests for its inference fast path on every call. On a GPU, models this size are paced by the host.

Usage:
    PYTHONPATH=. python benchmarks/attention_host.py [--arch navero] [--device cpu] [--width 128] [--layers 2]
        [--batch-size 32] [--steps 30] [--repeats 5] [--threads 0]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from train_loop_overhead import _sync, _warm_up, add_setup_arguments, set_up  # noqa: E402

FIRST_CALL = """
import time, torch
from torch import nn
from raivtools.models.layers import Attention
layer = Attention(32, 2) if {ours} else nn.MultiheadAttention(32, 2, batch_first=True)
x, pad = torch.randn(2, 5, 32), torch.zeros(2, 5, dtype=torch.bool)
start = time.perf_counter()
layer(x, x, x, key_padding_mask=pad)
print(time.perf_counter() - start)
"""


def with_torch_attention(model):
    """A copy of ``model`` whose every raiv Attention is an nn.MultiheadAttention holding the same weights."""
    import torch
    from torch import nn

    from raivtools.models.layers import Attention

    class TorchAttention(nn.MultiheadAttention):
        def forward(self, query, key, value, key_padding_mask=None, attn_mask=None):
            return super().forward(query, key, value, key_padding_mask=key_padding_mask, attn_mask=attn_mask,
                                   need_weights=False)[0]

    twin = copy.deepcopy(model)
    for name, module in list(twin.named_modules()):
        if isinstance(module, Attention):
            kdim = module.k_proj_weight.shape[1] if not module.packed else None
            replacement = TorchAttention(module.width, module.heads, dropout=module.dropout, kdim=kdim, vdim=kdim,
                                         batch_first=True)
            replacement.load_state_dict(module.state_dict())
            parent, _, child = name.rpartition(".")
            setattr(twin.get_submodule(parent) if parent else twin, child, replacement)
    assert not any(isinstance(m, Attention) for m in twin.modules())
    return twin.to(next(model.parameters()).device), torch.optim.AdamW(twin.parameters(), lr=1e-4)


def time_steps(runs: dict[str, tuple], batches, device) -> dict[str, list[float]]:
    """Seconds of each step (forward + backward + AdamW) of each (model, optimizer), alternating step by step
    so that the machine's drifts fall on both alike."""
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for model, _ in runs.values():
        model.train()
    for batch in batches:
        for name, (model, optimizer) in runs.items():
            _sync(device)
            start = time.perf_counter()
            model(batch)["loss"].backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            _sync(device)
            seconds[name].append(time.perf_counter() - start)
    return seconds


def first_call_seconds(ours: bool) -> float:
    code = FIRST_CALL.format(ours=ours)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[1])
    return float(result.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_setup_arguments(parser)
    parser.set_defaults(arch="navero", examples=256)
    parser.add_argument("--steps", type=int, default=30, help="steps per timed round (batches cycle)")
    parser.add_argument("--repeats", type=int, default=5, help="passes over the steps")
    args = parser.parse_args()
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        trainer, batches = set_up(args, Path(tmp))
        batches = [batches[i % len(batches)] for i in range(args.steps)]
        runs = {"ours": (trainer.model, torch.optim.AdamW(trainer.model.parameters(), lr=1e-4)),
                "torch": with_torch_attention(trainer.model)}
        _warm_up(trainer.device)
        time_steps(runs, batches[:3], trainer.device)
        times: dict[str, list[float]] = {"ours": [], "torch": []}
        for _ in range(args.repeats):
            for name, seconds in time_steps(runs, batches, trainer.device).items():
                times[name] += seconds
    first: dict[str, list[float]] = {"ours": [], "torch": []}
    for _ in range(3):
        first["ours"].append(first_call_seconds(True))
        first["torch"].append(first_call_seconds(False))
    layers = sum(type(m).__name__ == "Attention" for m in trainer.model.modules())
    print(f"arch {args.arch}, device {trainer.device}, width {args.width}, {layers} attention layers, batch "
          f"{args.batch_size}, {args.repeats} x {args.steps} steps each, alternating step by step")
    ours_step, torch_step = statistics.median(times["ours"]), statistics.median(times["torch"])
    print(f"step with nn.MultiheadAttention: {1000 * torch_step:.2f} ms (median step)")
    print(f"step with raiv's Attention:      {1000 * ours_step:.2f} ms (median step)")
    print(f"step time ratio, torch / ours: {torch_step / ours_step:.3f}")
    print(f"first padded call in a fresh process: torch {statistics.median(first['torch']):.2f} s, "
          f"ours {statistics.median(first['ours']):.3f} s")


if __name__ == "__main__":
    main()
