"""The masked-LM generator (tiny random BERT built offline) and the mixed generator's fallbacks."""

from __future__ import annotations

import pytest

from raivtools.io.errors import InputError
from raivtools.text.negation import MaskedLM
from raivtools.text.negation.edits import same_lemma
from tests.text.negate_fixtures import SPACY, make_negator, nlp, tiny_mlm, tiny_mlm_dir  # noqa: F401

CAPTIONS = [
    "A man runs with a red ball in the park.",
    "The girl is cutting bread with a knife in the kitchen.",
    "A woman holds a small blue cat near the table.",
    "Dogs are playing on the street.",
    "The boy sits on a wooden chair under the table.",
    "A big green car is near the park.",
]


class NoWords:
    """A masked LM that never has a usable word (to exercise the mixed generator's fallback)."""

    mask = "[MASK]"

    def top_words(self, texts, after_space, k):
        return [[] for _ in texts]


def test_predictions_are_whole_words(tiny_mlm):
    texts = ["a man [MASK] the ball .", "[MASK] dog runs ."]
    for words in tiny_mlm.top_words(texts, [True, False], k=56):
        assert words and all(p.word.isalpha() and len(p.word) > 1 for p in words)
        assert not {p.word for p in words} & {"[UNK]", "[PAD]", "[MASK]", "[CLS]", "[SEP]", ".", ","}
        assert [p.logprob for p in words] == sorted((p.logprob for p in words), reverse=True)


def test_one_forward_pass_per_batch(tiny_mlm, monkeypatch):
    calls = []
    encoder = tiny_mlm.model.base_model
    forward = encoder.forward
    monkeypatch.setattr(encoder, "forward", lambda *a, **kw: calls.append(1) or forward(*a, **kw))
    tiny_mlm.top_words(["a [MASK] runs ."] * 100, [True] * 100, k=5)
    assert len(calls) == 2  # batch_size 64


def test_mlm_edits_keep_pos_and_never_repeat_the_word(make_negator, nlp):
    negator = make_negator(generator="mlm", top_k=56)
    edited = 0
    for seed in range(4):
        negator.config.seed = seed
        for caption, result in zip(CAPTIONS, negator.negate(CAPTIONS, [f"{seed}-{i}" for i in range(len(CAPTIONS))])):
            if result.negative is None:
                assert result.error and "masked-LM" in result.error
                continue
            edited += 1
            (edit,) = result.edits
            assert edit.generator == "mlm" and result.negative != caption
            word_start = edit.start + len(edit.after) - len(edit.after.split()[-1])
            old = next(t for t in nlp(caption) if t.idx == edit.start + len(edit.before) - len(edit.before.split()[-1]))
            new = next(t for t in nlp(result.negative) if t.idx == word_start)
            assert new.pos_ == old.pos_ and {"VERB": "action", "ADJ": "attribute", "ADP": "relation",
                                             "NOUN": "object"}[old.pos_] == edit.type
            assert not same_lemma(old.text, new.text, old.lemma_)
            assert result.negative[:edit.start] == caption[:edit.start]
            assert result.negative.endswith(caption[edit.start + len(edit.before):])  # punctuation kept
    assert edited >= 8


def test_typed_mlm_edits(make_negator):
    negator = make_negator(generator="mlm", types=("object",), top_k=56)
    results = negator.negate(CAPTIONS, list(range(len(CAPTIONS))))
    assert any(r.negative for r in results)
    assert all(e.type == "object" for r in results for e in r.edits)


def test_mixed_falls_back_to_rules_when_the_mlm_has_nothing(make_negator):
    negator = make_negator(generator="mixed", mlm=NoWords())
    results = negator.negate(CAPTIONS * 2, list(range(12)))
    assert all(r.negative and r.edits[0].generator == "rule" for r in results)


def test_mixed_falls_back_to_the_mlm_when_no_rule_applies(make_negator):
    caption = "The kid paints a toy."  # nothing here is in the word lists
    negator = make_negator(generator="mixed", top_k=56)
    results = negator.negate([caption] * 8, list(range(8)))
    assert any(r.negative for r in results)
    assert all(e.generator == "mlm" for r in results for e in r.edits)


def test_mixed_uses_both_generators(make_negator):
    negator = make_negator(generator="mixed", rounds=3, top_k=56)
    results = negator.negate(CAPTIONS * 3, list(range(18)))
    generators = {e.generator for r in results for e in r.edits}
    assert generators == {"rule", "mlm"}


def test_unloadable_mlm_is_an_input_error(tmp_path):
    with pytest.raises(InputError) as info:
        MaskedLM(str(tmp_path / "missing"))
    assert "--mlm PATH" in info.value.message and "--generator rule" in info.value.message


def test_head_on_masks_only_matches_the_full_forward(tiny_mlm):
    import torch

    enc = tiny_mlm.tokenizer(["a man [MASK] the ball .", "the [MASK] runs"], padding=True, return_tensors="pt")
    rows, cols = (enc["input_ids"] == tiny_mlm.tokenizer.mask_token_id).nonzero(as_tuple=True)
    assert tiny_mlm._head is not None
    with torch.inference_mode():
        full = tiny_mlm.model(**enc).logits[rows, cols]
    assert torch.allclose(tiny_mlm.mask_logits(enc, rows.tolist(), cols.tolist()), full, atol=1e-5)


LONG = " ".join(["a man runs with a red ball in the park ."] * 120)  # 1320 words, each one token of the tiny MLM


@pytest.mark.parametrize("at", [0, 660, 1318])
def test_long_text_is_cut_to_a_window_around_its_mask(tiny_mlm, at):
    words = LONG.split()
    masked = " ".join(words[:at] + ["[MASK]"] + words[at + 1 :])
    enc = tiny_mlm._encode([masked, "a [MASK] runs ."])
    assert tiny_mlm.max_length == 64  # the position table's size: the tokenizer was saved without a limit
    assert enc["input_ids"].shape == (2, 64)
    [(_, col)] = (enc["input_ids"][:1] == tiny_mlm.tokenizer.mask_token_id).nonzero().tolist()
    before, after = col - 1, int(enc["attention_mask"][0].sum()) - 2 - col  # words around it, [CLS] [SEP] aside
    assert before >= min(at, 15) and after >= min(len(words) - 1 - at, 15)  # in the middle half of its window
    long, short = tiny_mlm.top_words([masked, "a [MASK] runs ."], [at > 0, True], k=56)
    assert long and short


def test_a_mask_past_the_cut_of_a_slow_tokenizer_gets_no_words(tiny_mlm, monkeypatch):
    monkeypatch.setattr(type(tiny_mlm.tokenizer), "is_fast", False)  # slow tokenizers cannot cut windows
    cut, short = tiny_mlm.top_words([LONG + " [MASK] .", "a [MASK] runs ."], [True, True], k=56)
    assert cut == [] and short


def test_long_captions_are_negated(make_negator):
    negator = make_negator(generator="mlm", top_k=56, rounds=2)
    [result] = negator.negate([LONG.capitalize()], [0])
    assert result.negative and len(result.edits) == 2


@pytest.mark.parametrize("device, expected", [("gpu", "not a torch device name"), ("cuda", "no CUDA GPU here")])
def test_unusable_device_is_an_input_error(tiny_mlm_dir, monkeypatch, device, expected):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # no GPU, on machines with one too
    with pytest.raises(InputError) as info:
        MaskedLM(str(tiny_mlm_dir), device=device)
    assert info.value.message == f"--device {device}: {expected}; pass --device cpu (or leave --device out)"


def test_unusable_device_exits_2_with_the_message(tiny_mlm_dir):
    from click.testing import CliRunner

    from raivtools.commands.negate import main

    args = ["--spacy-model", SPACY, "--generator", "mlm", "--mlm", str(tiny_mlm_dir), "--device", "gpu"]
    result = CliRunner().invoke(main, args, input='{"caption": "A man runs."}\n')
    assert result.exit_code == 2 and "--device gpu: not a torch device name" in result.stderr
    assert "Traceback" not in result.stderr


ROBERTA_WORDS = "a man dog cat runs walks jumps the ball box red blue green on in under .".split()


def _tiny_roberta(directory):
    """A 1-layer random RoBERTa masked LM with a byte-level BPE vocabulary: whole words ('Ġman', 'man') plus the
    word-initial pieces the merges pass through ('Ġma'), which a real BPE vocabulary has too."""
    import torch
    from transformers import RobertaConfig, RobertaForMaskedLM, RobertaTokenizerFast

    vocab = {token: i for i, token in enumerate(["<s>", "<pad>", "</s>", "<unk>", "<mask>"])}
    merges = []
    for form in [f"Ġ{w}" for w in ROBERTA_WORDS] + ROBERTA_WORDS:  # spaced forms first: their merges rank first
        for i, char in enumerate(form):
            vocab.setdefault(char, len(vocab))
            if i:
                vocab.setdefault(form[: i + 1], len(vocab))
                merges.append((form[:i], char))
    tokenizer = RobertaTokenizerFast(vocab=vocab, merges=list(dict.fromkeys(merges)))
    torch.manual_seed(0)
    config = RobertaConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                           intermediate_size=64, max_position_embeddings=64, pad_token_id=1)
    RobertaForMaskedLM(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def test_byte_level_bpe_model_gives_whole_known_words(tmp_path, make_negator):
    model = MaskedLM(str(_tiny_roberta(tmp_path / "roberta")), device="cpu")
    assert model._space_marker == "Ġ" and model._head is not None
    assert model.max_length == 62  # RoBERTa numbers positions from the row after its padding row
    assert all(model.top_words([f"{LONG} <mask>.", f"<mask> {LONG}"], [True, False], k=200))
    spaced, first = model.top_words(["a man <mask> the ball.", "<mask> dog runs."], [True, False], k=200)
    assert spaced and first
    assert {p.word for p in spaced + first} - set(ROBERTA_WORDS)  # pieces such as "ma" do come back here ...
    negator = make_negator(generator="mlm", mlm=model, top_k=200, mask_tries=4)
    captions = ["A man runs on the ball.", "The dog jumps in a red box.", "A cat walks under the blue box."] * 6
    results = negator.negate(captions, list(range(len(captions))))
    words = {e.after.split()[-1].lower() for r in results for e in r.edits}
    pieces = {w[:i] for w in ROBERTA_WORDS for i in range(2, len(w))} - {"run", "jump", "walk", "do"}
    assert words and not words & pieces, words  # ... but never make it into a negative


def test_a_complex_preposition_is_masked_whole(make_negator, nlp):
    # masking one word of "in front of" gave "a guitar below front of the house" and "stands next of the window"
    negator = make_negator(generator="mlm")
    doc = nlp("A man sitting on a chair plays a guitar in front of the house next to a tree.")
    spans = [(c.text, c.type) for c in negator._mask_candidates(doc)]
    assert ("in front of", "relation") in spans and ("next to", "relation") in spans
    assert not {"front", "of", "to"} & {text for text, _ in spans}
    assert ("on", "relation") in spans  # "sitting on" is a verb's preposition: its words still edit alone
