"""The attention layer: nn.MultiheadAttention's weights and arithmetic, without its per-call cost."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from torch import nn

from raivtools.io.errors import InputError
from raivtools.models.layers import Attention


def pair(seed: int = 0, kdim: int | None = None, dropout: float = 0.0) -> tuple[Attention, nn.MultiheadAttention]:
    """Ours and torch's, each built right after the same seed."""
    torch.manual_seed(seed)
    ours = Attention(16, 4, dropout=dropout, kdim=kdim, vdim=kdim)
    torch.manual_seed(seed)
    theirs = nn.MultiheadAttention(16, 4, dropout=dropout, kdim=kdim, vdim=kdim, batch_first=True)
    return ours, theirs


@pytest.mark.parametrize("kdim", [None, 24])
def test_same_seed_same_weights_names_and_order(kdim):
    ours, theirs = pair(kdim=kdim)
    assert [name for name, _ in ours.named_parameters()] == [name for name, _ in theirs.named_parameters()]
    for (name, a), b in zip(ours.named_parameters(), theirs.parameters()):
        assert torch.equal(a, b), name
    ours.load_state_dict(theirs.state_dict())  # a run saved with nn.MultiheadAttention loads as it is


def padding_mask(batch: int, length: int) -> torch.Tensor:
    mask = torch.zeros(batch, length, dtype=torch.bool)
    mask[0, -2:] = True
    mask[-1, -1] = True
    return mask


def check_same(ours: nn.Module, theirs: nn.Module, inputs: tuple, **masks) -> None:
    """Outputs and input gradients of the two layers, in training mode (torch's own arithmetic path); one input
    is self-attention (the same tensor as query, key and value)."""
    leaves = [x.detach().clone().requires_grad_() for x in inputs]
    twins = [x.detach().clone().requires_grad_() for x in inputs]
    mine = ours(*leaves * (3 // len(leaves)), **masks)
    torch_out = theirs(*twins * (3 // len(twins)), **masks, need_weights=False)[0]
    torch.testing.assert_close(mine, torch_out, atol=1e-6, rtol=1e-5)
    mine.square().sum().backward()
    torch_out.square().sum().backward()
    for a, b in zip(leaves, twins):
        torch.testing.assert_close(a.grad, b.grad, atol=1e-5, rtol=1e-4)
    for (name, a), b in zip(ours.named_parameters(), theirs.parameters()):
        torch.testing.assert_close(a.grad, b.grad, atol=1e-5, rtol=1e-4, msg=name)


def test_self_attention_with_padding_and_causal_masks_matches_torch():
    ours, theirs = pair()
    x = torch.randn(3, 5, 16)
    causal = torch.ones(5, 5, dtype=torch.bool).triu(1)
    check_same(ours, theirs, (x,), key_padding_mask=padding_mask(3, 5), attn_mask=causal)
    ours.zero_grad(), theirs.zero_grad()
    check_same(ours, theirs, (x,))


def test_self_attention_passes_one_tensor_three_times():
    ours, theirs = pair(seed=1)
    x = torch.randn(3, 5, 16, requires_grad=True)
    mine = ours(x, x, x, key_padding_mask=padding_mask(3, 5))
    torch_out = theirs(x, x, x, key_padding_mask=padding_mask(3, 5), need_weights=False)[0]
    torch.testing.assert_close(mine, torch_out, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("kdim", [None, 24])
def test_cross_attention_matches_torch(kdim):
    ours, theirs = pair(seed=2, kdim=kdim)
    query, context = torch.randn(3, 4, 16), torch.randn(3, 6, kdim or 16)
    shared = context.detach().clone().requires_grad_()
    mine = ours(query, shared, shared, key_padding_mask=padding_mask(3, 6))  # key is value: one projection
    torch_out = theirs(query, shared, shared, key_padding_mask=padding_mask(3, 6), need_weights=False)[0]
    torch.testing.assert_close(mine, torch_out, atol=1e-6, rtol=1e-5)
    check_same(ours, theirs, (query, context, torch.randn(3, 6, kdim or 16)))  # three different inputs


def test_float_masks_and_eval_mode():
    ours, theirs = pair(seed=3)
    x = torch.randn(2, 5, 16)
    bias = torch.randn(5, 5)
    ours.eval(), theirs.eval()
    with torch.no_grad():
        torch.testing.assert_close(ours(x, x, x, attn_mask=bias),
                                   theirs(x, x, x, attn_mask=bias, need_weights=False)[0], atol=1e-6, rtol=1e-5)
        # torch's eval fast path for padded self-attention: the same numbers to float precision
        torch.testing.assert_close(ours(x, x, x, key_padding_mask=padding_mask(2, 5)),
                                   theirs(x, x, x, key_padding_mask=padding_mask(2, 5))[0], atol=1e-5, rtol=1e-4)


def test_dropout_only_while_training():
    ours, _ = pair(dropout=0.5)
    x = torch.randn(2, 5, 16)
    ours.eval()
    assert torch.equal(ours(x, x, x), ours(x, x, x))
    ours.train()
    assert not torch.equal(ours(x, x, x), ours(x, x, x))


def test_width_must_split_into_heads():
    with pytest.raises(InputError, match="multiple of heads"):
        Attention(10, 4)


def test_padding_mask_does_not_import_sympy():
    # nn.MultiheadAttention's key-padding check imports sympy (over a second) on its first call
    code = ("import sys, torch\nfrom raivtools.models.layers import Attention\n"
            "x = torch.randn(2, 3, 8)\nAttention(8, 2)(x, x, x, key_padding_mask=torch.zeros(2, 3, dtype=torch.bool))"
            ".sum().backward()\nprint('sympy' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
