"""`raiv make-pairs`: RAIV True/False statements over pairs of images and videos, or video-text records."""

from __future__ import annotations

import click

from raivtools.commands._options import CONTEXT, input_paths, seed_option

PAIR_KINDS = ("im-im", "im-vid", "vid-vid")
TEXT_KINDS = ("vid-text", "im-text")


@click.command(name="make-pairs", context_settings=CONTEXT)
@input_paths
@click.option("--kind", type=click.Choice(PAIR_KINDS + TEXT_KINDS), default="im-im", show_default=True,
              help="Pairs of images / an image (left) and a video (right) / videos; or one caption record per item.")
@click.option("--sampling", type=click.Choice(["cond", "rand"]), default="cond", show_default=True,
              help="cond: the two sides share an object (object index); rand: any partner (the paper's ablation).")
@click.option("--pairs-per-item", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="Instances per item of each split.")
@click.option("--n", "total", type=click.IntRange(min=0), default=None,
              help="Total instances instead, shared by the splits in proportion to their items.")
@click.option("--unbalanced-train", is_flag=True,
              help="Train instances independent with 50/50 labels (val/test stay balanced).")
@click.option("--reasoning", is_flag=True, help="Give every False statement a 3-way reason multiple choice.")
@click.option("--templates", "templates_path", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="More templates (JSON list or JSONL of {name, family, claim, text}).")
@click.option("--no-builtin-templates", is_flag=True, help="Use only the --templates FILE ones.")
@click.option("--family", "families", multiple=True,
              type=click.Choice(["object", "action", "action_entity", "action_location"]),
              help="Use only templates of this family (repeatable).")
@click.option("--stop-objects", default=None, metavar="LIST",
              help="Comma-separated objects never used [default: person,people,sky,someone,...].")
@click.option("--max-object-share", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Objects in more than this share of items are stop objects too (with >= 100 items).")
@click.option("--generator", type=click.Choice(["template", "llm"]), default="template", show_default=True,
              help="template: (T) statements; llm: natural (G) statements from --llm.")
@click.option("--llm", "llm_path", default=None, metavar="PATH", help="A local transformers causal LM directory.")
@click.option("--llm-max-new-tokens", type=click.IntRange(min=1), default=48, show_default=True)
@seed_option
def main(inputs: tuple[str, ...], kind: str, sampling: str, pairs_per_item: float, total: int | None,
         unbalanced_train: bool, reasoning: bool, templates_path: str | None, no_builtin_templates: bool,
         families: tuple[str, ...], stop_objects: str | None, max_object_share: float, generator: str,
         llm_path: str | None, llm_max_new_tokens: int, seed: int) -> None:
    """Make RAIV pair records (or video-text records) from SRL records.

    Reads SRL records (`srl`, `objects`, and `video` or `image`; from `raiv srl`) from files or stdin.
    Splits the visual items 7:1:2 into train/val/test with no item or video segment in two splits (records
    with a `split` keep it). For each instance it decides True/False, then a template, then samples a pair
    that makes the statement so; val/test statements appear once True and once False. Writes pair records
    (`id`, `kind`, `left`, `right`, `statement`, `label`, `template`, `split`, optional `reason`) to stdout,
    split by split, and counts per split, label and template to stderr.

    With --kind vid-text or im-text it writes one record per video (image) instead, with a `caption` (its
    own, or realised from its roles) and a `split`, ready for `raiv negate`.

    \b
    Example:
      raiv srl --from imsitu train.json --space imsitu_space.json | raiv make-pairs --kind im-im --reasoning
      raiv make-pairs vidsitu.jsonl imsitu.jsonl --kind im-vid --seed 3 > im_vid.jsonl
      raiv make-pairs vidsitu.jsonl --kind vid-text | raiv negate --rounds 5 --generator rule > aaro.jsonl
    """
    import gc

    # millions of small long-lived objects: the cyclic collector would rescan them over and over for nothing
    gc.disable()
    from raivtools.io.errors import InputError

    if generator == "llm" and not llm_path:
        raise InputError("--generator llm needs --llm PATH (a local transformers causal language model directory)")
    if kind in TEXT_KINDS:
        _video_text(inputs, kind, stop_objects, seed)
        return
    from raivtools.pairs.generate import PairsConfig

    templates = _templates(templates_path, no_builtin_templates, families)
    config = PairsConfig(kind=kind, sampling=sampling, pairs_per_item=pairs_per_item, total=total,
                         balance_train=not unbalanced_train, reasoning=reasoning, max_object_share=max_object_share,
                         seed=seed)
    _pairs(inputs, templates, config, stop_objects, llm_path if generator == "llm" else None, llm_max_new_tokens)


def _templates(path, no_builtin, families):
    from raivtools.io.errors import InputError
    from raivtools.pairs.templates import BUILTIN_TEMPLATES, load_templates

    templates = [] if no_builtin else list(BUILTIN_TEMPLATES)
    if path:
        templates += load_templates(path)
    if families:
        templates = [t for t in templates if t.family in families]
    names = [t.name for t in templates]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(f"--templates: template names must be unique; repeated: {duplicates}")
    if not templates:
        raise InputError("no templates left: pass --templates FILE, or drop --no-builtin-templates / --family")
    return templates


def _table(inputs, kinds, stop_objects, keep_records):
    from raivtools.io.records import iter_located
    from raivtools.io.report import progress
    from raivtools.pairs.items import DEFAULT_STOP_OBJECTS, TableConfig, build_table

    stop = DEFAULT_STOP_OBJECTS if stop_objects is None else [s for s in stop_objects.split(",")]
    config = TableConfig(kinds=kinds, stop_objects=frozenset(s.strip().lower() for s in stop if s.strip()),
                         keep_records=keep_records)
    return build_table(progress(iter_located(inputs), desc="read"), config)


def _pairs(inputs, templates, config, stop_objects, llm_path, llm_max_new_tokens):
    """Reads the records, makes the pairs (statements from the LLM when ``llm_path``), writes them, prints stats."""
    from collections import Counter

    from raivtools.io.records import RecordWriter
    from raivtools.io.report import progress
    from raivtools.pairs.generate import iter_pair_records, make_pairs
    from raivtools.pairs.sampling import PAIR_SIDES

    kind = config.kind
    table = _table(inputs, tuple(sorted(set(PAIR_SIDES[kind]))), stop_objects, keep_records=llm_path is not None)
    results = make_pairs(table, templates, config)
    records = iter_pair_records(table, results, templates, config)
    if llm_path is not None:
        from raivtools.pairs.llm import with_llm_statements

        records = with_llm_statements(records, table, _load_llm(llm_path, llm_max_new_tokens), kind)
    counts, statements = Counter(), {}
    with RecordWriter() as out:
        for record in progress(records, desc="pairs", total=sum(len(r.instances) for r in results)):
            out.write(record)
            counts[(record["split"], record["template"], record["label"])] += 1
            statements.setdefault(record["split"], set()).add(hash(record["statement"]))
    _print_stats(table, results, templates, counts, {split: len(s) for split, s in statements.items()}, kind)


def _load_llm(path, max_new_tokens):
    from raivtools.pairs.llm import LLMConfig, LLMStatementGenerator

    return LLMStatementGenerator(LLMConfig(model=path, max_new_tokens=max_new_tokens))


def _print_stats(table, results, templates, counts, statements, kind):
    """Counts per split, label and template on stderr (``counts``: (split, template, label) -> pairs)."""
    from collections import Counter

    from raivtools.io.report import log, warn

    kinds = Counter(table.kinds)
    log(f"raiv make-pairs --kind {kind}: {len(table)} items ({kinds.get(0, 0)} images, {kinds.get(1, 0)} videos), "
        f"{sum(len(r.instances) for r in results)} pairs")
    for reason, n in sorted(table.skipped.items()):
        log(f"  skipped {n} {reason}")
    if table.moved_splits:
        group, given, used = table.moved_splits[0]
        warn(f"{len(table.moved_splits)} records give their visual item another split than an earlier record of it "
             f"and go into the earlier one, so that no item is in two splits ({group}: {given!r} -> {used!r})")
    by_split = Counter()
    for (split, _, label), n in counts.items():
        by_split[(split, label)] += n
    log(f"  {'split':<8}{'items':>8}{'pairs':>9}{'true':>9}{'false':>9}{'statements':>12}")
    for result in results:
        split = result.split
        pairs = by_split[(split, True)] + by_split[(split, False)]
        log(f"  {split:<8}{result.items:>8}{pairs:>9}{by_split[(split, True)]:>9}{by_split[(split, False)]:>9}"
            f"{statements.get(split, 0):>12}")
        if len(result.instances) < result.target:
            warn(f"{split}: made {len(result.instances)} of {result.target} pairs (no more pairs realise the "
                 "templates in this split; more items or more templates help)")
    log("  template: " + "  ".join(r.split for r in results) + "  (true/false)")
    for template in templates:
        cells = [f"{counts[(r.split, template.name, True)]}/{counts[(r.split, template.name, False)]}"
                 for r in results]
        log(f"    {template.name:<30} " + "  ".join(cells))


def _video_text(inputs, kind, stop_objects, seed):
    from raivtools.io.records import RecordWriter
    from raivtools.io.report import RunSummary
    from raivtools.pairs.captions import video_text_record
    from raivtools.pairs.generate import assign_splits
    from raivtools.pairs.items import IMAGE, VIDEO

    table = _table(inputs, (VIDEO,) if kind == "vid-text" else (IMAGE,), stop_objects, keep_records=True)
    assign_splits(table, seed=seed)
    summary = RunSummary("make-pairs")
    with RecordWriter() as out:
        for record, split in zip(table.records, table.splits):
            result = video_text_record(record, split)
            if result["caption"] is None:
                result["status"], result["error"] = "error", "no caption and no frame to realise one from"
            summary.add(result)
            out.write(result)
    for reason, n in sorted(table.skipped.items()):
        summary.extra[f"skipped {reason}"] = n
    summary.print()
