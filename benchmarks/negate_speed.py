"""How fast `raiv negate` is against its floors, measured side by side in one run.

1. rule generator throughput / bare spaCy ``nlp.pipe`` over the same captions, with the same pipeline object
   (parsing is the floor of the rule generator; the target is >= 0.8x).
2. mlm generator throughput / a bare batched forward (``model(**batch).logits``) of the same masked LM over the same
   captions, each with one mask. The generator also tags the caption, filters the predictions and tags the
   candidates in context, but runs the vocabulary head at the masks only.

Captions are generated from the Table 8 word lists in the style of the toy benchmark and of MSR-VTT. Without
``--mlm`` the masked LM is a randomly initialised BERT with distilroberta-base's shape (6 layers, width 768,
50,265-token vocabulary, probability on the real words): same cost per forward pass, random predictions (so more of
them fail the part-of-speech check than a trained model's would, which makes the ratio pessimistic).

    PYTHONPATH=. python benchmarks/negate_speed.py                 # CPU, about 2 minutes on 2 cores
    PYTHONPATH=. python benchmarks/negate_speed.py --mlm ./distilroberta-base --device cuda
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

TEMPLATES = (
    "A {size} {color} {shape} {verb_s} {relation} a {size2} {color2} {shape2} on the {noun}.",
    "a man is {verb_ing} a {material} {noun} in the kitchen",
    "Two {noun_pl} are {verb_ing} {relation} a {color} car, while a woman watches.",
    "the {size} dog {verb_ed} {relation} the {material} table and then ran away",
    "A cartoon animal {verb_s} through an ice cave in a video game.",
)
SHAPES = ("circle", "square", "triangle", "star", "cube", "ball")


def make_captions(n: int, seed: int = 0) -> list[str]:
    """``n`` captions filled from the word lists (fixed seed: every run times the same text)."""
    from raivtools.text.english import gerund, past_tense, plural, third_person
    from raivtools.text.negation import load_wordlists

    lists = load_wordlists().categories
    rng = np.random.default_rng(seed)

    def pick(name):
        values = lists[name] if name in lists else SHAPES
        return values[int(rng.integers(len(values)))]

    captions = []
    for i in range(n):
        verb = pick("action")
        noun = pick("noun").lower()
        captions.append(TEMPLATES[i % len(TEMPLATES)].format(
            size=pick("size"), size2=pick("size"), color=pick("color"), color2=pick("color"), shape=pick("shapes"),
            shape2=pick("shapes"), verb_s=third_person(verb), verb_ing=gerund(verb), verb_ed=past_tense(verb),
            relation=pick("relation"), noun=noun, noun_pl=plural(noun), material=pick("material"),
        ))
    return captions


def build_random_mlm(directory: Path) -> Path:
    """A random BERT masked LM of distilroberta-base's size, with a word-level vocabulary padded to 50,265."""
    import torch
    from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast

    from raivtools.text.negation import load_wordlists

    words = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4}
    for entries in load_wordlists().categories.values():
        for entry in entries:
            for word in entry.lower().replace("-", " ").split():
                words.setdefault(word, len(words))
    for word in ". , a an the is are and while then away on in of to man woman dog car ran watches".split():
        words.setdefault(word, len(words))
    real_words = len(words)
    for k in range(real_words, 50265):
        words[f"[unused{k}]"] = k
    tokenizer = BertTokenizerFast(vocab=words, do_lower_case=True)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(words), hidden_size=768, num_hidden_layers=6, num_attention_heads=12,
                        intermediate_size=3072, max_position_embeddings=514)
    model = BertForMaskedLM(config)
    with torch.no_grad():  # like a trained model, put the probability on real words, not on the padding tokens
        model.get_output_embeddings().bias[real_words:] = -30.0
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def best_of(repeats: int, fn) -> float:
    """The fastest of ``repeats`` runs, in seconds (the least disturbed by other work on the machine)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_rule(captions: list[str], repeats: int, spacy_model: str | None) -> None:
    from raivtools.text.negation import NegateConfig, Negator

    negator = Negator(NegateConfig(generator="rule", spacy_model=spacy_model))
    nlp, keys = negator.nlp, list(range(len(captions)))
    negator.negate(captions[:64], keys[:64])  # warm-up
    parse = best_of(repeats, lambda: list(nlp.pipe(captions, batch_size=negator.config.batch_size)))
    rule = best_of(repeats, lambda: negator.negate(captions, keys))
    negator.config.rounds = 5
    rule5 = best_of(1, lambda: negator.negate(captions, keys))
    n = len(captions)
    print(f"spaCy nlp.pipe ({'+'.join(nlp.pipe_names)}): {n / parse:8.1f} captions/s")
    print(f"rule generator, 1 round:  {n / rule:8.1f} captions/s   ratio {parse / rule:.2f}x (target >= 0.8x)")
    print(f"rule generator, 5 rounds: {n / rule5:8.1f} captions/s   ratio {parse / rule5:.2f}x (5 parses)")


def bench_mlm(captions: list[str], repeats: int, mlm: str, device: str | None, spacy_model: str | None) -> None:
    import torch

    from raivtools.text.negation import MaskedLM, NegateConfig, Negator

    config = NegateConfig(generator="mlm", mlm=mlm, device=device, spacy_model=spacy_model)
    model = MaskedLM(mlm, device=device, batch_size=config.batch_size)
    negator = Negator(config, mlm=model)
    keys = list(range(len(captions)))
    docs = list(negator.nlp.pipe(captions))
    masked = []
    for caption, doc in zip(captions, docs):  # the same kind of mask the generator makes: one content word
        token = next((t for t in doc if t.pos_ in ("NOUN", "VERB", "ADJ", "ADP")), doc[0])
        masked.append(caption[: token.idx] + model.mask + caption[token.idx + len(token.text) :])

    def bare_forward():
        for begin in range(0, len(masked), config.batch_size):
            enc = model.tokenizer(masked[begin : begin + config.batch_size], padding=True, truncation=True,
                                  return_tensors="pt")
            with torch.inference_mode():
                logits = model.model(**{k: v.to(model.device) for k, v in enc.items()}).logits
            logits[:, 0, 0].cpu()  # wait for the device

    negator.negate(captions[:16], keys[:16])  # warm-up
    bare_forward()
    forward = best_of(repeats, bare_forward)
    mlm_time = best_of(repeats, lambda: negator.negate(captions, keys))
    results = negator.negate(captions, keys)
    done = sum(r.negative is not None for r in results)
    n = len(captions)
    print(f"masked LM {mlm!r} on {model.device}: bare batched forward {n / forward:8.1f} captions/s")
    print(f"mlm generator, 1 round: {n / mlm_time:8.1f} captions/s   ratio {forward / mlm_time:.2f}x "
          f"({done}/{n} negated; the generator applies the vocabulary head at the masks only)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--captions", type=int, default=1000, help="captions for the rule benchmark")
    parser.add_argument("--mlm-captions", type=int, default=256, help="captions for the masked-LM benchmark")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--mlm", default=None, help="masked LM folder (default: a random distilroberta-sized BERT)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--spacy-model", default=None)
    parser.add_argument("--skip-mlm", action="store_true")
    parser.add_argument("--skip-rule", action="store_true")
    args = parser.parse_args()

    captions = make_captions(max(args.captions, args.mlm_captions))
    if not args.skip_rule:
        bench_rule(captions[: args.captions], args.repeats, args.spacy_model)
    if args.skip_mlm:
        return
    with tempfile.TemporaryDirectory() as tmp:
        mlm = args.mlm or str(build_random_mlm(Path(tmp)))
        bench_mlm(captions[: args.mlm_captions], args.repeats, mlm, args.device, args.spacy_model)


if __name__ == "__main__":
    main()
