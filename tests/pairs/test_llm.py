"""The natural-statement (G) generator, with a tiny random GPT-2 made offline (in-process: torch loads once)."""

from __future__ import annotations

import pytest

from raivtools.io.errors import InputError
from raivtools.pairs import BUILTIN_TEMPLATES, PairsConfig, TableConfig, iter_pair_records, make_pairs, table_from_records
from raivtools.pairs.llm import LLMConfig, LLMStatementGenerator, build_prompt, clean_statement, with_llm_statements


def test_prompt_and_cleaning():
    left = {"srl": [{"verb": "cut", "roles": {"ARG0": "a man", "ARG1": "bread", "ARGM-LOC": "kitchen"}}],
            "objects": ["man", "bread"]}
    right = {"srl": [{"verb": "eat", "roles": {"ARG0": "a girl"}, "negated": True}], "objects": []}
    prompt = build_prompt("im-vid", left, right, False)
    assert "The image: cut (agent: a man; patient: bread; place: kitchen). Objects: man, bread." in prompt
    assert "The video: not eat (agent: a girl). Objects: none listed." in prompt
    assert "Write one false statement" in prompt and prompt.endswith("Statement:")
    assert clean_statement(' "Both show bread. And more"\nnext') == "Both show bread."
    assert clean_statement(" ... \n") == ""


def test_an_item_with_several_caption_records_is_described_whole():
    # COCO gives an image five captions, each a record of the same id: the prompt showed only the last one's
    # annotations, though the statement could be about a fact of any of them
    captions = [{"id": "c1", "caption": "A man cuts bread.", "objects": ["man", "bread"],
                 "srl": [{"verb": "cut", "roles": {"ARG0": "A man", "ARG1": "bread"}}]},
                {"id": "c1", "caption": "A knife on a table.", "objects": ["knife", "table", "man"], "srl": []}]
    other = {"id": "c2", "caption": "A dog runs.", "objects": ["dog"], "srl": [{"verb": "run", "roles": {"ARG0": "A dog"}}]}
    prompt = build_prompt("im-im", captions, other, True)
    assert ("The left image: Captions: A man cuts bread. | A knife on a table. cut (agent: A man; patient: bread). "
            "Objects: man, bread, knife, table.") in prompt
    assert "The right image: Caption: A dog runs. run (agent: A dog). Objects: dog." in prompt


def test_llm_statements_replace_template_ones(synthetic_records, tiny_causal_lm):
    config = PairsConfig(kind="vid-vid", total=6, seed=2)
    templates = list(BUILTIN_TEMPLATES)
    table = table_from_records(synthetic_records[:80], TableConfig(kinds=(1,), keep_records=True))
    results = make_pairs(table, templates, config)
    generator = LLMStatementGenerator(LLMConfig(model=str(tiny_causal_lm), max_new_tokens=6, device="cpu"))
    records = list(with_llm_statements(iter_pair_records(table, results, templates, config), table, generator,
                                       "vid-vid", chunk=4))
    assert records and all(r["generator"] in ("llm", "template") and r["template_statement"] for r in records)
    assert all(r["statement"] for r in records)
    assert all(r["generator"] == "llm" and r["statement"] == "zzzzzz" for r in records)
    again = list(with_llm_statements(iter_pair_records(table, results, templates, config), table, generator,
                                     "vid-vid", chunk=3))
    assert [r["statement"] for r in again] == [r["statement"] for r in records]  # greedy: deterministic


def test_missing_model_names_what_to_pass(tmp_path):
    missing = tmp_path / "no-model"
    with pytest.raises(InputError) as info:
        LLMStatementGenerator(LLMConfig(model=str(missing)))
    message = info.value.message
    assert message.startswith(f"--llm {missing}: cannot load a transformers causal language model")
    assert "save_pretrained" in message and "hub name" in message
