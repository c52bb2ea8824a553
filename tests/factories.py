"""Small fixture factories shared by the tests: tiny videos, images, a tiny open_clip config, a tiny masked LM
and parsed spaCy Docs. Everything is made offline in a second or less."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return path


def make_video(path: Path, *, frames: int = 24, fps: int = 12, size: tuple[int, int] = (64, 48), seed: int = 0,
               gop: int | None = None) -> Path:
    """Writes a small H.264 mp4 whose frame ``i`` has mean brightness that grows with ``i`` (easy to check);
    ``gop`` frames from one keyframe to the next (x264's default: one keyframe in a short video)."""
    import av

    width, height = size
    rng = np.random.default_rng(seed)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if gop is not None:
            stream.codec_context.gop_size = gop
        for i in range(frames):
            level = int(10 + 235 * i / max(frames - 1, 1))
            image = np.full((height, width, 3), level, np.uint8)
            image[: height // 4, : width // 4] = rng.integers(0, 255, 3, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def make_image(path: Path, *, size: tuple[int, int] = (64, 48), color: tuple[int, int, int] = (200, 30, 30)) -> Path:
    from PIL import Image

    Image.new("RGB", size, color).save(path)
    return path


def tiny_open_clip_config() -> dict:
    """A 2-layer, width-32 open_clip CLIP config (keeps the real BPE vocabulary so the real tokenizer works)."""
    return {
        "embed_dim": 32,
        "vision_cfg": {"image_size": 32, "layers": 2, "width": 32, "head_width": 16, "patch_size": 8},
        "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2},
    }


TINY_MLM_VOCAB = (
    "[PAD] [UNK] [CLS] [SEP] [MASK] . , a an the man woman dog cat ball red blue green big small wooden "
    "metal on in under near of front left right above below is are runs walks jumps cutting pushing bread "
    "knife kitchen with holds holding sits standing table chair car park street girl boy plays playing"
).split()


def tiny_masked_lm(directory: Path, seed: int = 0) -> Path:
    """Saves a 2-layer, width-32 random ``BertForMaskedLM`` with a hand-written vocabulary to ``directory``."""
    import inspect

    import torch
    from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "vocab.txt").write_text("\n".join(TINY_MLM_VOCAB) + "\n", encoding="utf-8")
    if "vocab" in inspect.signature(BertTokenizerFast.__init__).parameters:  # transformers >= 5 ignores vocab_file
        tokenizer = BertTokenizerFast(vocab={word: i for i, word in enumerate(TINY_MLM_VOCAB)}, do_lower_case=True)
    else:
        tokenizer = BertTokenizerFast(vocab_file=str(directory / "vocab.txt"), do_lower_case=True)
    assert len(tokenizer) == len(TINY_MLM_VOCAB), "the tiny tokenizer lost its vocabulary"
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(TINY_MLM_VOCAB), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=64,
    )
    BertForMaskedLM(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def parsed_doc(words: list[str], heads: list[int], deps: list[str], pos: list[str], lemmas: list[str] | None = None,
               tags: list[str] | None = None):
    """A parsed spaCy ``Doc`` built by hand (heads are absolute token indices), no pipeline needed."""
    import spacy
    from spacy.tokens import Doc

    vocab = spacy.blank("en").vocab
    return Doc(vocab, words=words, heads=heads, deps=deps, pos=pos, lemmas=lemmas or [w.lower() for w in words],
               tags=tags)
