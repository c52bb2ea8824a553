"""Natural (G) statements from a local causal language model (seed 000 §4.1: the LLM sees only the annotations).

For each sampled instance, the model gets both items' semantic roles and objects and is asked for one
statement of the instance's label (True or False) about the pair; the template statement is kept beside it
(``template_statement``), and when the model returns nothing usable the template statement is used and the
record says so (``generator: "template"``). Decoding is greedy, so the same model and inputs give the same text.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from raivtools.io.errors import InputError

ROLE_WORDS = {"ARG0": "agent", "ARG1": "patient", "ARG2": "instrument or recipient", "ARGM-LOC": "place",
              "ARGM-DIR": "direction", "ARGM-MNR": "manner", "ARGM-TMP": "time", "ARGM-PRP": "purpose",
              "ARGM-GOL": "goal"}
SIDE_NAMES = {"im-im": ("left image", "right image"), "vid-vid": ("left video", "right video"),
              "im-vid": ("image", "video")}


@dataclass
class LLMConfig:
    """Which model and how long its answers may be."""

    model: str  # a local directory saved with save_pretrained, or a hub name where there is internet
    max_new_tokens: int = 48  # the longest statement, in tokens
    device: str | None = None  # cuda / cpu; None picks cuda when available


def describe(records: dict[str, Any] | list[dict[str, Any]]) -> str:
    """One line of an item's annotations: "cut (agent: a man; patient: bread; place: kitchen). Objects: ..."

    Several records of one item (COCO and VATEX give an item five captions, each its own record) are described
    together: the statement may be about any of them.
    """
    records = [records] if isinstance(records, dict) else records
    frames = dict.fromkeys(_frame_text(frame) for record in records for frame in record.get("srl") or [])
    objects = ", ".join(dict.fromkeys(o for record in records for o in record.get("objects") or [])) or "none listed"
    captions = [r["caption"].strip() for r in records if isinstance(r.get("caption"), str) and r["caption"].strip()]
    caption = (f"Caption: {captions[0]} " if len(captions) == 1
               else f"Captions: {' | '.join(captions)} " if captions else "")
    return f"{caption}{'; '.join(frames) or 'no action annotated'}. Objects: {objects}."


def _frame_text(frame: dict[str, Any]) -> str:
    roles = "; ".join(f"{ROLE_WORDS.get(name, name)}: {value}" for name, value in frame.get("roles", {}).items()
                      if name != "ARGM-NEG")
    negated = "not " if frame.get("negated") else ""
    return f"{negated}{frame['verb']} ({roles})" if roles else f"{negated}{frame['verb']}"


def build_prompt(kind: str, left: dict[str, Any] | list[dict[str, Any]], right: dict[str, Any] | list[dict[str, Any]],
                 label: bool) -> str:
    """The instruction for one instance (``left``, ``right``: the record, or every record, of each side's item)."""
    left_name, right_name = SIDE_NAMES[kind]
    truth = "true" if label else "false"
    return (
        f"Annotations of two visual inputs.\n"
        f"The {left_name}: {describe(left)}\n"
        f"The {right_name}: {describe(right)}\n"
        f"Write one {truth} statement that compares the {left_name} and the {right_name}, "
        f"using only these annotations.\nStatement:"
    )


def clean_statement(text: str) -> str:
    """The first line and first sentence of a generation, trimmed; "" when nothing usable is left."""
    line = text.strip().split("\n", 1)[0].strip().strip('"').strip()
    for end in (". ", "! ", "? "):
        if end in line:
            line = line.split(end, 1)[0] + end.strip()
    return line if any(c.isalpha() for c in line) else ""


class LLMStatementGenerator:
    """A transformers causal LM loaded from a local path; :meth:`generate` answers a list of prompts."""

    def __init__(self, config: LLMConfig):
        self.config = config
        from raivtools.devices import torch_device

        self.device = torch_device(config.device)  # before the load: a wrong --device shows at once
        self.tokenizer, self.model = _load(config.model)
        self.model.to(self.device).eval()

    def generate(self, prompts: list[str]) -> list[str]:
        import torch

        outputs = []
        for prompt in prompts:
            encoded = self.tokenizer(prompt, return_tensors="pt").to(self.device)
            with torch.no_grad():
                tokens = self.model.generate(
                    **encoded, max_new_tokens=self.config.max_new_tokens, do_sample=False,
                    pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
                )
            new = tokens[0, encoded["input_ids"].shape[1]:]
            outputs.append(clean_statement(self.tokenizer.decode(new, skip_special_tokens=True)))
        return outputs


def _load(name: str):
    import os

    from transformers import AutoModelForCausalLM, AutoTokenizer

    local = os.path.isdir(name)
    try:
        # a hub name is tried only where the user allows the network (HF_HUB_OFFLINE unset)
        tokenizer = AutoTokenizer.from_pretrained(name, local_files_only=local)
        model = AutoModelForCausalLM.from_pretrained(name, local_files_only=local)
    except (OSError, ValueError, KeyError) as exc:
        where = "the directory" if local else "no such directory, and not a hub model that can be loaded here"
        raise InputError(
            f"--llm {name}: cannot load a transformers causal language model ({where}: "
            f"{str(exc).splitlines()[0]}). Pass a local directory saved with save_pretrained "
            "(config.json, tokenizer files and weights), e.g. --llm /models/vicuna-13b-v1.5, "
            "or a hub name on a machine with internet access."
        ) from None
    return tokenizer, model


def with_llm_statements(records: Iterable[dict[str, Any]], table: Any, generator: LLMStatementGenerator, kind: str,
                        chunk: int = 16) -> Iterator[dict[str, Any]]:
    """Pair records with the generator's statements (the template one kept as ``template_statement``).

    Args:
        records: pair records (from :func:`raivtools.pairs.generate.iter_pair_records`).
        table: their :class:`~raivtools.pairs.items.ItemTable`, built with ``keep_records=True``.
        generator: the loaded model.
        kind: the pair kind (names the sides in the prompt).
        chunk: records generated for at a time.
    """
    records_of: dict[Any, list[dict[str, Any]]] = {}  # every record of an id: an item may have several captions
    for ref, item_record in zip(table.refs, table.records):
        records_of.setdefault(ref["id"], []).append(item_record)
    batch: list[dict[str, Any]] = []

    def flush() -> Iterator[dict[str, Any]]:
        prompts = [build_prompt(kind, records_of[r["left"]["id"]], records_of[r["right"]["id"]], r["label"])
                   for r in batch]
        for record, text in zip(batch, generator.generate(prompts)):
            record["template_statement"] = record["statement"]
            record["generator"] = "llm" if text else "template"
            if text:
                record["statement"] = text
            yield record
        batch.clear()

    for record in records:
        batch.append(record)
        if len(batch) >= chunk:
            yield from flush()
    if batch:
        yield from flush()
