"""make-pairs fixtures: synthetic SRL records with known truth, and a tiny random causal LM made offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from raivtools.pairs.synthetic import synthetic_srl_records
from tests.factories import write_jsonl


@pytest.fixture(scope="session")
def synthetic_records() -> list[dict]:
    return list(synthetic_srl_records(1500, seed=7))


@pytest.fixture(scope="session")
def synthetic_file(tmp_path_factory, synthetic_records) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("syn") / "srl.jsonl", synthetic_records)


def _byte_level_alphabet() -> list[str]:
    """The 256 printable stand-ins that byte-level BPE uses for bytes (GPT-2's table, rebuilt)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    codes = keep[:]
    extra = 0
    for byte in range(256):
        if byte not in keep:
            keep.append(byte)
            codes.append(256 + extra)
            extra += 1
    return [chr(code) for _, code in sorted(zip(keep, codes))]


@pytest.fixture(scope="session")
def tiny_causal_lm(tmp_path_factory) -> Path:
    """A 2-layer, width-32 random GPT-2 with a byte-level tokenizer (no merges), saved like a real model."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    directory = tmp_path_factory.mktemp("tiny-gpt2")
    vocab = {symbol: i for i, symbol in enumerate(_byte_level_alphabet())}
    vocab["<|endoftext|>"] = len(vocab)
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|endoftext|>")
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(vocab), n_positions=1024, n_embd=32, n_layer=2, n_head=2,
                        bos_token_id=len(vocab) - 1, eos_token_id=len(vocab) - 1)
    model = GPT2LMHeadModel(config)
    with torch.no_grad():
        # a constant final hidden state that points at the byte "z": greedy decoding then writes "zzz...", so a
        # test can tell generated text from the template fallback; everything before it stays random
        direction = torch.randn(config.n_embd)
        model.transformer.ln_f.weight.zero_()
        model.transformer.ln_f.bias.copy_(direction)
        model.transformer.wte.weight[ord("z")] = 10 * direction
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
