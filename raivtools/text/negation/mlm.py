"""The masked-LM generator (NAVERO §3.1.2): mask one VERB/ADJ/ADP/NOUN token and let a masked LM refill it.

Unlike SVLC, the text keeps its punctuation (the mask goes into the caption as written), the model runs on whole
batches, and a prediction is rejected when it is the same word or another form of it, a near-synonym, a sub-word
piece, punctuation or a special token, or when spaCy tags the new sentence with another part of speech (or another
inflection) at that place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from raivtools.devices import first_sentence, torch_device
from raivtools.io.errors import InputError

#: coarse POS -> edit type (NAVERO Table 1)
POS_TYPES = {"VERB": "action", "ADJ": "attribute", "ADP": "relation", "NOUN": "object"}

DEFAULT_MLM = "distilroberta-base"


@dataclass(frozen=True)
class Prediction:
    """A usable word for one masked position."""

    word: str  # the predicted word as the model spells it (no leading space)
    logprob: float  # its log-probability at the mask


def mlm_load_error(name: str, exc: BaseException) -> InputError:
    """The exit-2 error for a masked LM that cannot be loaded; never a silent switch to the rule generator."""
    return InputError(
        f"cannot load the masked language model {name!r} ({first_sentence(exc)}). Pass --mlm PATH with a local "
        "transformers masked-LM folder (config, weights and tokenizer), or use --generator rule to negate with the "
        "word lists only"
    )


class MaskedLM:
    """A transformers masked LM that fills one mask per text, for many texts per forward pass.

    Args:
        name: hub name or local folder (``--mlm``).
        device: torch device; None picks CUDA when available.
        batch_size: texts per forward pass.

    Raises:
        InputError: the model or tokenizer cannot be loaded (offline, wrong path, not a masked LM), or ``device``
            is not a torch device this machine has.
    """

    def __init__(self, name: str = DEFAULT_MLM, device: str | None = None, batch_size: int = 64):
        import torch
        from transformers import AutoModelForMaskedLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # stderr carries our summary; a loading bar per run is noise
        self.name = name
        self.batch_size = batch_size
        self.device = torch_device(device)  # before the load: a wrong --device shows at once
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(name)
            self.model = AutoModelForMaskedLM.from_pretrained(name)
        except Exception as exc:  # transformers raises OSError, ValueError, EnvironmentError, HF hub errors
            raise mlm_load_error(name, exc) from exc
        if self.tokenizer.mask_token is None:
            raise mlm_load_error(name, ValueError("its tokenizer has no mask token"))
        self.model.to(self.device).eval()
        self.max_length = self._max_length()
        self.mask = self.tokenizer.mask_token
        # BERT/RoBERTa-style models: run the encoder on all tokens but the vocabulary head on the masks only (the
        # head is a hidden x vocabulary product per position; most of a forward pass for short captions)
        self._head = next((module for name in ("cls", "lm_head")
                           if isinstance(module := getattr(self.model, name, None), torch.nn.Module)), None)
        self._special = set(self.tokenizer.all_special_ids)
        self._space_marker = self._find_space_marker()
        self._tokens = self.tokenizer.convert_ids_to_tokens(list(range(len(self.tokenizer))))

    def _max_length(self) -> int:
        """Tokens per text the model takes: the tokenizer's limit, or the position table's where that is smaller.

        A tokenizer saved without a limit says 1e30, and longer inputs fail in the position embeddings. A table
        with a padding row (RoBERTa's: 514 rows) numbers positions from the row after it (512 usable).
        """
        limit = self.tokenizer.model_max_length
        positions = getattr(self.model.config, "max_position_embeddings", None)
        if positions:
            table = getattr(getattr(self.model.base_model, "embeddings", None), "position_embeddings", None)
            padding_row = getattr(table, "padding_idx", None)
            limit = min(limit, positions - (padding_row + 1 if padding_row is not None else 0))
        return limit

    def _find_space_marker(self) -> str | None:
        """The prefix a word-initial token carries after a space (RoBERTa's 'Ġ', SentencePiece's '▁'), if any."""
        ids = self.tokenizer("a dog", add_special_tokens=False)["input_ids"]
        last = self.tokenizer.convert_ids_to_tokens(ids)[-1]
        return last[0] if last[:1] in ("Ġ", "▁") else None

    def top_words(self, masked_texts: list[str], after_space: list[bool], k: int) -> list[list[Prediction]]:
        """The ``k`` most likely tokens at each text's mask that are whole words, best first.

        Args:
            masked_texts: texts with exactly one mask token each.
            after_space: whether each mask follows whitespace (then a word-initial token is required).
            k: how many tokens to consider per text before filtering.
        """
        out: list[list[Prediction]] = []
        for begin in range(0, len(masked_texts), self.batch_size):
            batch = masked_texts[begin : begin + self.batch_size]
            out.extend(self._top_batch(batch, after_space[begin : begin + self.batch_size], k))
        return out

    def _top_batch(self, texts: list[str], after_space: list[bool], k: int) -> list[list[Prediction]]:
        import torch

        enc = self._encode(texts)
        mask_hits = (enc["input_ids"] == self.tokenizer.mask_token_id).nonzero().tolist()
        position = {row: col for row, col in mask_hits}  # a truncated-away mask leaves the row without one
        rows = sorted(position)
        results: list[list[Prediction]] = [[] for _ in texts]
        if not rows:
            return results
        picked = self.mask_logits(enc, rows, [position[r] for r in rows]).float()
        logprobs = torch.log_softmax(picked, dim=-1)
        top = torch.topk(logprobs, min(k, logprobs.shape[-1]), dim=-1)
        for row, ids, values in zip(rows, top.indices.tolist(), top.values.tolist()):
            results[row] = [
                Prediction(word, value) for token_id, value in zip(ids, values)
                if (word := self._as_word(token_id, after_space[row])) is not None
            ]
        return results

    def _encode(self, texts: list[str]) -> dict:
        """The padded batch, one row per text; a text longer than :attr:`max_length` becomes the window of it
        that has its mask nearest the middle (cut at the end, the mask could be gone and the row predict nothing).

        Only fast tokenizers cut windows; with a slow one a mask past the cut gets no predictions.
        """
        options = {"padding": True, "truncation": True, "max_length": self.max_length, "return_tensors": "pt"}
        if not self.tokenizer.is_fast:
            return self.tokenizer(texts, **options)
        # windows overlapping by half: every token is in the middle half of one
        stride = (self.max_length - self.tokenizer.num_special_tokens_to_add()) // 2
        enc = self.tokenizer(texts, stride=stride, return_overflowing_tokens=True, **options)
        owner = enc.pop("overflow_to_sample_mapping").tolist()
        if len(owner) == len(texts):  # nothing was cut
            return dict(enc)
        rows = self._central_windows(enc, owner, len(texts))
        return {key: value[rows] for key, value in enc.items()}

    def _central_windows(self, enc, owner: list[int], count: int) -> list[int]:
        """Per text, its window (a row of ``enc``; ``owner[row]`` is the text) with the most tokens on the nearer
        side of the mask, or its first window where none has the mask."""
        chosen = {text: owner.index(text) for text in range(count)}
        room: dict[int, int] = {}
        attention = enc["attention_mask"]
        for window, col in (enc["input_ids"] == self.tokenizer.mask_token_id).nonzero().tolist():
            text = owner[window]
            nearer = min(int(attention[window, :col].sum()), int(attention[window, col + 1 :].sum()))
            if nearer > room.get(text, -1):
                chosen[text], room[text] = window, nearer
        return [chosen[text] for text in range(count)]

    def mask_logits(self, enc, rows: list[int], cols: list[int]):
        """Vocabulary logits at positions ``(rows[i], cols[i])`` of the tokenized batch ``enc``: [len(rows), V]."""
        import torch

        inputs = {key: value.to(self.device) for key, value in enc.items()}
        index = (torch.tensor(rows, device=self.device), torch.tensor(cols, device=self.device))
        with torch.inference_mode():
            if self._head is None:
                return self.model(**inputs).logits[index]
            hidden = self.model.base_model(**inputs)[0]
            return self._head(hidden[index])

    def _as_word(self, token_id: int, after_space: bool) -> str | None:
        """The token as a whole alphabetic word, or None for special tokens, sub-word pieces and punctuation."""
        if token_id in self._special or token_id >= len(self._tokens):  # models may pad the vocabulary past the tokenizer's
            return None
        token = self._tokens[token_id]
        if token.startswith("##"):
            return None
        if self._space_marker is not None:
            if token.startswith(self._space_marker) != after_space:
                return None
        word = self.tokenizer.convert_tokens_to_string([token]).strip()
        return word if len(word) >= 2 and word.isalpha() else None


def sample_order(predictions: list[Prediction], rng: np.random.Generator) -> list[Prediction]:
    """Predictions in a random order drawn in proportion to the model's probabilities (Gumbel top-k)."""
    if not predictions:
        return []
    keys = np.array([p.logprob for p in predictions]) + rng.gumbel(size=len(predictions))
    return [predictions[i] for i in np.argsort(-keys, kind="stable")]
