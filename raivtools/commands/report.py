"""`raiv report`: the papers' tables from scored records, runs side by side, and training curves."""

from __future__ import annotations

from pathlib import Path

import click

from raivtools.commands._options import CONTEXT, input_paths
from raivtools.io.records import write_stdout_text


@click.command(name="report", context_settings=CONTEXT)
@input_paths
@click.option("--name", "names", multiple=True, metavar="NAME",
              help="Column name of each input, in order (default: the file stem; 'stdin' for -).")
@click.option("--by", "by", multiple=True, metavar="FIELD",
              help="Group rows by a record field (repeat to cross fields; dotted paths such as left.kind work).")
@click.option("--format", "fmt", type=click.Choice(["table", "markdown", "csv", "json"]), default="table",
              show_default=True, help="Output format on stdout.")
@click.option("--transpose", is_flag=True,
              help="One run per row and metric x group as columns, the papers' layout (table and markdown).")
@click.option("--plot", "plot", type=click.Path(dir_okay=False), metavar="FILE.png",
              help="Also draw training loss and validation metrics per epoch of each --run into this PNG.")
@click.option("--run", "run_dirs", multiple=True, type=click.Path(file_okay=False), metavar="DIR",
              help="A `raiv train --out` directory (with metrics.jsonl) to draw with --plot; repeat for several.")
def main(inputs: tuple[str, ...], names: tuple[str, ...], by: tuple[str, ...], fmt: str, transpose: bool,
         plot: str | None, run_dirs: tuple[str, ...]) -> None:
    """Print the papers' metrics for one or more scored files, runs side by side.

    Reads JSONL records scored by `raiv score` (files, or stdin for - or none) and prints every metric that
    applies, as rows of metric x group with one column per input:

    \b
      accuracy@1        pairs with `label` and `score` = p(true): true above 0.5, false below (RAIV)
      reasoning acc@1   records with `reason` and `reason_scores` (or `reason_pred`); a tie for top is wrong
      AARO acc          records with `score: {"pos", "neg"}`: pos scored above neg, ties wrong (NAVERO Eq. 5)
      AARO acc_hat      half for pos > 0.5, half for neg < 0.5, over 2N (NAVERO Eq. 6)
      t2v/v2t R@1/5/10, R avg, MdR   records with `rank_t2v` / `rank_v2t` (1-based rank of the true match;
                        raiv score ranks a tie pessimistically, so R@K and MdR are never optimistic on ties)

    With --by, each metric gets a row per group, an `avg` row (the unweighted mean over groups, the papers'
    "Avg") and an `all` row (pooled over every record). Percentages in text tables have two decimals; CSV and
    JSON carry the unrounded numbers. Records with `status: error` or without the scores a metric needs are
    counted per reason on stderr, never dropped silently, and a warning says when runs side by side used
    different records (by id). Writes the table to stdout and nothing else.

    --plot draws the training curves of each --run directory (its metrics.jsonl) into a PNG; with --plot and
    no INPUTS, only the plot is made (stdin is not read).

    \b
    Example:
      raiv score aaro_test.jsonl --run runs/navero | raiv report --by neg_type
      raiv report vanilla.jsonl navero.jsonl --name Vanilla --name NAVERO --by neg_type
      raiv report pairs.scored.jsonl --by kind --by template --format markdown > table2.md
      raiv report vanilla.jsonl navero.jsonl --by neg_type --transpose
      raiv report a.jsonl b.jsonl --format csv --plot curves.png --run runs/a --run runs/b
    """
    from raivtools import report
    from raivtools.io.errors import InputError
    from raivtools.io.report import log, warn

    if transpose and fmt not in ("table", "markdown"):
        raise InputError(f"--transpose applies to --format table or markdown, not {fmt}")
    if run_dirs and not plot:
        raise InputError("--run is only used by --plot; add --plot FILE.png")
    if plot and not run_dirs:
        raise InputError("--plot needs at least one --run DIR (a `raiv train --out` directory)")
    if plot and not inputs:
        _plot(plot, run_dirs)
        return
    paths = list(inputs) or ["-"]
    labels = _run_names(paths, names)
    runs = [report.read_scored_run(path, name, by) for path, name in zip(paths, labels)]
    if plot:
        _plot(plot, run_dirs)
    for run in runs:
        log(report.describe_run(run))
    for line in report.record_set_warnings(runs):
        warn(line)
    rows = report.build_rows(runs, by)
    if not rows:
        log("raiv report: no scored records: nothing to tabulate")
    text = report.render(runs, rows, by, fmt, transpose)
    write_stdout_text(text)


def _run_names(paths: list[str], names: tuple[str, ...]) -> list[str]:
    from raivtools.io.errors import InputError

    if names and len(names) != len(paths):
        raise InputError(f"{len(names)} --name for {len(paths)} inputs: give one --name per input, in order")
    labels = list(names) or ["stdin" if p in ("-", "") else Path(p).stem for p in paths]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise InputError(f"two inputs would both be named {duplicates[0]!r}: give each a --name")
    if "-" in paths and paths.count("-") > 1:
        raise InputError("stdin (-) can be read only once")
    return labels


def _plot(out: str, run_dirs: tuple[str, ...]) -> None:
    from raivtools import report
    from raivtools.io.errors import InputError
    from raivtools.io.report import log, warn

    logs = [report.read_training_log(d) for d in run_dirs]
    seen = [log_.name for log_ in logs]
    for log_, run_dir in zip(logs, run_dirs):
        if seen.count(log_.name) > 1:
            log_.name = run_dir  # two runs named alike: the path as given tells them apart
    if not any(log_.epochs for log_ in logs):
        raise InputError(f"no epoch lines in the metrics.jsonl of {', '.join(run_dirs)}: nothing to plot")
    for log_, run_dir in zip(logs, run_dirs):
        if not log_.epochs:  # drawn as nothing: say so rather than leave it out of the legend unexplained
            warn(f"{run_dir}: no epoch lines in metrics.jsonl (no epoch finished yet?): not drawn")
    panels = report.plot_curves(logs, out)
    log(f"raiv report: wrote {out} ({len(logs)} runs; panels: {', '.join(panels)})")
