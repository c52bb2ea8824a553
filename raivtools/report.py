"""The papers' tables from scored records, runs side by side, and the training curves of run directories.

Reading: :func:`read_scored_run` turns one scored JSONL file into a :class:`ScoredRun` (what each record
contributes to each metric, under its ``--by`` group, and why unusable records were not used).
Tables: :func:`build_rows` computes every metric that applies, per group, with the macro average over the
groups (the papers' "Avg") and the pooled value over all records; :func:`render` prints the rows as an aligned
text table, markdown, CSV or JSON. Curves: :func:`plot_curves` draws the ``metrics.jsonl`` logs of ``raiv train``.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from raivtools import metrics
from raivtools.io.errors import InputError
from raivtools.io.records import iter_located, require_fields
from raivtools.schema import choice_index, pair_label, shown

#: the group value of a record that lacks the ``--by`` field
MISSING = "(none)"
#: group values in the order the papers print them; other values follow, sorted
KNOWN_ORDER = {
    "neg_type": ("action", "attribute", "relation", "object", "mixed"),
    "kind": ("im-im", "im-vid", "vid-vid", "im-text", "vid-text"),
    "split": ("train", "val", "test"),
    "label": ("true", "false"),
}
FORMATS = ("table", "markdown", "csv", "json")


@dataclass(frozen=True)
class MetricSpec:
    """One row type of the report."""

    key: str  # machine name, used in CSV and JSON
    label: str  # what the text and markdown tables print
    family: str  # which observations it reads: pair, reason, aaro, t2v or v2t
    unit: str  # "%" for accuracies and recalls, "rank" for median ranks
    compute: Callable[[list[list[Any]]], float]  # the metric over the family's columns

    @property
    def averaged(self) -> bool:
        """Whether a macro average over groups means something (not for median ranks)."""
        return self.unit == "%"


def _recall_avg(ranks: list[int]) -> float:
    return (metrics.recall_at_k(ranks, 1) + metrics.recall_at_k(ranks, 5) + metrics.recall_at_k(ranks, 10)) / 3


def _retrieval_specs(direction: str) -> tuple[MetricSpec, ...]:
    return (
        *(MetricSpec(f"{direction}_r{k}", f"{direction} R@{k}", direction, "%",
                     lambda c, k=k: metrics.recall_at_k(c[0], k)) for k in (1, 5, 10)),
        MetricSpec(f"{direction}_ravg", f"{direction} R avg", direction, "%", lambda c: _recall_avg(c[0])),
        MetricSpec(f"{direction}_medr", f"{direction} MdR", direction, "rank", lambda c: metrics.median_rank(c[0])),
    )


#: every metric, in the order the report prints them
METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("pair_acc", "accuracy@1", "pair", "%", lambda c: metrics.pair_accuracy(c[0], c[1])),
    MetricSpec("reason_acc", "reasoning acc@1", "reason", "%",
               lambda c: float(sum(c[0]) / len(c[0])) if c[0] else math.nan),
    MetricSpec("aaro_acc", "AARO acc", "aaro", "%", lambda c: metrics.aaro_acc(c[0], c[1])),
    MetricSpec("aaro_acc_hat", "AARO acc_hat", "aaro", "%", lambda c: metrics.aaro_acc_hat(c[0], c[1])),
    *_retrieval_specs("t2v"),
    *_retrieval_specs("v2t"),
)

# Reading scored records ------------------------------------------------------------------------------------


@dataclass
class Observations:
    """What the records of one run contribute to one metric family."""

    groups: list[tuple[str, ...]] = field(default_factory=list)  # the --by group of each observation
    columns: list[list[Any]] = field(default_factory=list)  # one list per value (label, score; pos, neg; ...)
    _selected: dict[tuple[str, ...], list[list[Any]]] = field(default_factory=dict)  # select() cache

    def add(self, group: tuple[str, ...], *values: Any) -> None:
        if not self.columns:
            self.columns = [[] for _ in values]
        self.groups.append(group)
        for column, value in zip(self.columns, values):
            column.append(value)
        self._selected.clear()

    def select(self, group: tuple[str, ...] | None) -> list[list[Any]]:
        """The columns restricted to one group (None: every observation)."""
        if group is None:
            return self.columns
        if not self._selected:  # one pass for all groups; the metrics of a family share the selections
            for key, rows in metrics.group_indices(self.groups).items():
                self._selected[key] = [[column[i] for i in rows] for column in self.columns]
        return self._selected.get(group, [[] for _ in self.columns])


@dataclass
class ScoredRun:
    """One scored file: its name in the table and what its records contribute."""

    name: str  # the column header (--name, or the file stem)
    source: str  # the file it was read from
    records: int = 0  # records read
    used: int = 0  # records that contributed to at least one metric
    not_used: Counter = field(default_factory=Counter)  # reason -> records (a record may have several)
    observations: dict[str, Observations] = field(default_factory=dict)  # family -> observations
    ids: set[str] = field(default_factory=set)  # the ids of the records used

    def observe(self, family: str, group: tuple[str, ...], *values: Any) -> None:
        self.observations.setdefault(family, Observations()).add(group, *values)


def group_value(record: dict[str, Any], path: str) -> str:
    """The record's value of a ``--by`` field as a string; dotted paths reach inside (``left.kind``)."""
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    if value is None:
        return MISSING
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode("utf-8")


def _number(value: Any, what: str, where: str, record: dict[str, Any]) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{where}: record {record.get('id', '<no id>')!r}: {what} must be a number, got {value!r}")
    return float(value)


def _rank(value: Any, what: str, where: str, record: dict[str, Any]) -> int:
    number = _number(value, what, where, record)
    if number < 1 or number != int(number):
        raise InputError(f"{where}: record {record.get('id', '<no id>')!r}: {what} must be a 1-based whole rank, "
                         f"got {value!r}")
    return int(number)


def _observe_scores(run: ScoredRun, record: dict[str, Any], where: str, group: tuple[str, ...]) -> bool:
    """The True/False and negative-caption scores of a record; returns whether it contributed."""
    rid = record.get("id", "<no id>")
    score = record.get("score")
    if isinstance(score, dict):
        if "pos" not in score or "neg" not in score:
            require_fields(score, ["pos", "neg"], f"{where}: record {rid!r}: score")
        if score["neg"] is None:
            run.not_used["negative caption not scored (null)"] += 1
            return False
        run.observe("aaro", group, _number(score["pos"], "score.pos", where, record),
                    _number(score["neg"], "score.neg", where, record))
        return True
    if score is None:
        if "label" in record:
            run.not_used["pair without a score"] += 1
        if record.get("negative") is not None:
            run.not_used["negative caption without a score"] += 1
        return False
    if "label" not in record and "negative" in record and record["negative"] is None:
        run.not_used["negative caption not scored (null)"] += 1  # negate found no edit; only p(T|V) exists
        return False
    if "label" not in record and "negative" not in record and "caption" in record:
        return False  # p(T|V) of a caption with nothing to compare it to (e.g. a retrieval-scored record)
    if record.get("negative") is not None and "label" not in record:
        raise InputError(f"{where}: record {rid!r} has a negative caption, so its score must be "
                         f'{{"pos": p(T|V), "neg": p(Tneg|V)}}, got {score!r}')
    require_fields(record, ["label"], where)
    label = pair_label(record["label"], where, rid)
    run.observe("pair", group, label, _number(score, "score", where, record))
    return True


def _observe_reasoning(run: ScoredRun, record: dict[str, Any], where: str, group: tuple[str, ...]) -> bool:
    """The multiple-choice outcome of a record with a ``reason``; returns whether it contributed."""
    reason = record.get("reason")
    if not isinstance(reason, dict):
        return False
    rid = record.get("id", "<no id>")
    require_fields(reason, ["answer"], f"{where}: record {rid!r}: reason")
    choices = reason.get("choices")
    answer = choice_index(reason, where, rid)
    n_choices = len(choices) if isinstance(choices, list) else None
    scores, predicted = record.get("reason_scores"), record.get("reason_pred")
    if scores is not None:
        if not isinstance(scores, list) or not scores or (n_choices is not None and len(scores) != n_choices):
            raise InputError(f"{where}: record {rid!r}: reason_scores must be one number per choice, got {scores!r}")
        values = [_number(s, "reason_scores[]", where, record) for s in scores]
        if answer >= len(values):
            raise InputError(f"{where}: record {rid!r}: reason.answer {answer} but {len(values)} reason_scores")
        run.observe("reason", group, metrics.choice_correct(values, answer))
        return True
    if predicted is not None:
        # an index past the choices (a 1-based prediction, say) would otherwise just count as wrong
        limit = math.inf if n_choices is None else n_choices
        if isinstance(predicted, bool) or not isinstance(predicted, int) or not 0 <= predicted < limit:
            among = "" if n_choices is None else f" among {n_choices} choices (0-based)"
            raise InputError(f"{where}: record {rid!r}: reason_pred must be a choice index{among}, got {predicted!r}")
        run.observe("reason", group, predicted == answer)
        return True
    run.not_used["reasoning without reason_scores"] += 1
    return False


def _observe_ranks(run: ScoredRun, record: dict[str, Any], where: str, group: tuple[str, ...]) -> bool:
    used = False
    for direction in ("t2v", "v2t"):
        value = record.get(f"rank_{direction}")
        if value is not None:
            run.observe(direction, group, _rank(value, f"rank_{direction}", where, record))
            used = True
    return used


def read_scored_run(path: str, name: str, by: Sequence[str]) -> ScoredRun:
    """Reads one scored JSONL file (``-`` is stdin).

    Records with ``status: error`` and records without the scores a metric needs are counted in
    :attr:`ScoredRun.not_used`, never dropped silently. Wrongly typed scores stop with ``file:line``.
    """
    run = ScoredRun(name=name, source="<stdin>" if path in ("-", "") else path)
    for file, line, record in iter_located([path]):
        where = f"{file}:{line}"
        run.records += 1
        if record.get("status") == "error":
            run.not_used["status error"] += 1
            continue
        group = tuple(group_value(record, f) for f in by)
        reasons_before = sum(run.not_used.values())
        contributed = [_observe_scores(run, record, where, group), _observe_reasoning(run, record, where, group),
                       _observe_ranks(run, record, where, group)]
        if any(contributed):
            run.used += 1
            run.ids.add(str(record.get("id")))
        elif sum(run.not_used.values()) == reasons_before:
            run.not_used["no score of any kind"] += 1
    return run


def record_set_warnings(runs: Sequence[ScoredRun]) -> list[str]:
    """One line per run whose used records are not those of the first run: side by side, its numbers are
    over other records (another split, or records one run could not score), which the n column alone does not
    show when the counts happen to agree."""
    lines = []
    for run in runs[1:]:
        only_here, only_first = len(run.ids - runs[0].ids), len(runs[0].ids - run.ids)
        if only_here or only_first:
            lines.append(f"{run.name} and {runs[0].name} used different records ({only_here} ids only in "
                         f"{run.name}, {only_first} only in {runs[0].name}): their columns are not comparable")
    return lines


# Tables ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One run's value in one row."""

    value: float  # nan when the run has no record in the row
    n: int  # records behind the value
    groups: int | None = None  # "avg" rows: the groups with a value, which the average is taken over


@dataclass(frozen=True)
class Row:
    """One metric over one group (``kind="group"``), their macro average (``"avg"``), or all records (``"all"``)."""

    spec: MetricSpec  # the metric
    kind: str  # "group", "avg" or "all"
    group: tuple[str, ...]  # the --by values of a "group" row; empty otherwise
    cells: tuple[Cell, ...]  # one per run, in run order


def _sort_key(by: Sequence[str], group: tuple[str, ...]) -> tuple:
    key = []
    for path, value in zip(by, group):
        order = KNOWN_ORDER.get(path.rsplit(".", 1)[-1], ())
        if value == MISSING:
            key.append((3, 0.0, ""))
        elif value in order:
            key.append((0, float(order.index(value)), ""))
        else:
            try:
                number = float(value)
            except ValueError:
                number = math.nan
            # the value breaks ties ("1" and "1.0"), and nan/inf sort as words: the groups come from a set, so
            # any key that does not order them totally would make the order depend on PYTHONHASHSEED
            key.append((1, number, value) if math.isfinite(number) else (2, 0.0, value))
    return tuple(key)


def build_rows(runs: Sequence[ScoredRun], by: Sequence[str]) -> list[Row]:
    """Every metric that applies to at least one run: per group, macro average and pooled ("all")."""
    rows: list[Row] = []
    for spec in METRICS:
        observed = [run.observations.get(spec.family, Observations()) for run in runs]
        if not any(o.groups for o in observed):
            continue
        groups = sorted({g for o in observed for g in o.groups}, key=lambda g: _sort_key(by, g)) if by else []
        if groups == [(MISSING,) * len(by)]:
            groups = []  # no record of this metric has any --by field: one pooled row says it all
        per_group = [tuple(_cell(spec, o, g) for o in observed) for g in groups]
        rows += [Row(spec, "group", g, cells) for g, cells in zip(groups, per_group)]
        if len(groups) > 1 and spec.averaged:
            rows.append(Row(spec, "avg", (), tuple(_average(per_group, i, o) for i, o in enumerate(observed))))
        rows.append(Row(spec, "all", (), tuple(_cell(spec, o, None) for o in observed)))
    return rows


def _average(per_group: list[tuple[Cell, ...]], run: int, observed: Observations) -> Cell:
    """One run's macro average over the groups; ``groups`` counts the groups it has a value in."""
    cells = [cells[run] for cells in per_group]
    present = sum(1 for cell in cells if cell.n)
    return Cell(metrics.macro_average(cell.value for cell in cells), len(observed.groups), present)


def _cell(spec: MetricSpec, observed: Observations, group: tuple[str, ...] | None) -> Cell:
    columns = observed.select(group)
    n = len(columns[0]) if columns else 0
    return Cell(spec.compute(columns) if n else math.nan, n)


def _shown(spec: MetricSpec, value: float) -> float:
    return value * 100 if spec.unit == "%" else value


def _group_cells(row: Row, width: int) -> list[str]:
    if row.kind == "group":
        return list(row.group)
    return [row.kind] + [""] * (width - 1)


def _header(runs: Sequence[ScoredRun], by: Sequence[str]) -> list[str]:
    return ["metric", *(by or ["group"]), *(_one_line(run.name) for run in runs)]


def _text_matrix(runs: Sequence[ScoredRun], rows: Sequence[Row], by: Sequence[str]) -> list[list[str]]:
    matrix = [_header(runs, by) + ["n"]]
    for row in rows:
        values = ["-" if math.isnan(c.value) else f"{_shown(row.spec, c.value):.{2 if row.spec.unit == '%' else 1}f}"
                  for c in row.cells]
        counts = sorted({c.n for c in row.cells})
        n = str(counts[0]) if len(counts) == 1 else "/".join(str(c.n) for c in row.cells)
        if row.kind == "avg":  # runs averaged over different numbers of groups are not comparable: say so
            groups = [str(c.groups) for c in row.cells]
            n = "" if len(set(groups)) == 1 else "/".join(groups) + " groups"
        matrix.append([row.spec.label, *map(_one_line, _group_cells(row, max(len(by), 1))), *values, n])
    return matrix


def _one_line(text: str) -> str:
    """A cell of a text table: tabs and line breaks would break the columns."""
    return " ".join(text.split()) if any(c in text for c in "\t\n\r") else text


def _render_table(matrix: list[list[str]], numeric_from: int) -> str:
    from rich.cells import cell_len  # display width, so CJK names and groups stay aligned

    widths = [max(cell_len(line[i]) for line in matrix) for i in range(len(matrix[0]))]

    def fmt(line: list[str]) -> str:
        cells = [cell + " " * (w - cell_len(cell)) if i < numeric_from else " " * (w - cell_len(cell)) + cell
                 for i, (cell, w) in enumerate(zip(line, widths))]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(matrix[0]), rule, *(fmt(line) for line in matrix[1:])]) + "\n"


def _render_markdown(matrix: list[list[str]], numeric_from: int) -> str:
    def cell(text: str) -> str:
        return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(c) for c in matrix[0]) + " |",
             "|" + "|".join(" --- " if i < numeric_from else " ---: " for i in range(len(matrix[0]))) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in line) + " |" for line in matrix[1:]]
    return "\n".join(lines) + "\n"


def _plain(value: float) -> float | None:
    """A JSON/CSV number: nan becomes null, and float noise past 1e-9 is rounded away."""
    return None if math.isnan(value) else round(value, 9)


def _render_csv(runs: Sequence[ScoredRun], rows: Sequence[Row], by: Sequence[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_header(runs, by) + [f"n:{run.name}" for run in runs])
    for row in rows:
        values = ["" if math.isnan(c.value) else repr(_plain(_shown(row.spec, c.value))) for c in row.cells]
        writer.writerow([row.spec.key, *_group_cells(row, max(len(by), 1)), *values, *(c.n for c in row.cells)])
    return out.getvalue()


def _render_json(runs: Sequence[ScoredRun], rows: Sequence[Row], by: Sequence[str]) -> str:
    document = {
        "by": list(by),
        "runs": [{"name": run.name, "source": run.source, "records": run.records, "used": run.used,
                  "not_used": dict(sorted(run.not_used.items()))} for run in runs],
        "rows": [{
            "metric": row.spec.key, "label": row.spec.label, "unit": row.spec.unit, "row": row.kind,
            "group": dict(zip(by, row.group)),
            "values": {run.name: {"value": _plain(_shown(row.spec, c.value)), "n": c.n,
                                  **({} if c.groups is None else {"groups": c.groups})}
                       for run, c in zip(runs, row.cells)},
        } for row in rows],
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE).decode("utf-8")


def _transpose(matrix: list[list[str]], numeric_from: int) -> list[list[str]]:
    """Runs as rows and metric x group as columns, the papers' own layout (the n column is left out)."""
    body = matrix[1:]
    header = ["run", *(" ".join(cell for cell in line[:numeric_from] if cell) for line in body)]
    runs = matrix[0][numeric_from:-1]
    return [header, *([run, *(line[numeric_from + i] for line in body)] for i, run in enumerate(runs))]


def render(runs: Sequence[ScoredRun], rows: Sequence[Row], by: Sequence[str], fmt: str,
           transpose: bool = False) -> str:
    """The rows as ``table`` (aligned text), ``markdown``, ``csv`` or ``json``.

    Text and markdown show percentages with two decimals and ranks with one; CSV and JSON carry the same
    numbers unrounded. Without rows, JSON prints a document with no rows and CSV its header line (so scripts
    that read it still find the columns); the others print nothing. ``transpose``
    (text and markdown only) puts one run per row, as the papers print their tables.
    """
    if transpose and fmt not in ("table", "markdown"):
        raise ValueError("transpose applies to the table and markdown formats")
    if fmt == "json":
        return _render_json(runs, rows, by)
    if fmt == "csv":
        return _render_csv(runs, rows, by)
    if not rows:
        return ""
    numeric_from = 1 + max(len(by), 1)
    matrix = _text_matrix(runs, rows, by)
    if transpose:
        matrix, numeric_from = _transpose(matrix, numeric_from), 1
    if fmt == "markdown":
        return _render_markdown(matrix, numeric_from)
    if fmt == "table":
        return _render_table(matrix, numeric_from)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def describe_run(run: ScoredRun) -> str:
    """One stderr line: how many records a run had, how many were used, and why the others were not."""
    line = f"raiv report: {run.name} ({run.source}): {run.records} records, {run.used} used"
    if run.not_used:
        line += "; not used: " + ", ".join(f"{n} {reason}" for reason, n in sorted(run.not_used.items()))
    return line


# Training curves -------------------------------------------------------------------------------------------


@dataclass
class TrainingLog:
    """The per-epoch lines of one run directory's ``metrics.jsonl``."""

    name: str  # legend label
    epochs: list[int]  # epoch numbers, ascending
    train_loss: list[float | None]  # per epoch
    val: list[dict[str, float]]  # per epoch: validation metric -> value


def read_training_log(run_dir: str | Path, name: str | None = None) -> TrainingLog:
    """Reads the ``{"event": "epoch", ...}`` lines of ``RUN_DIR/metrics.jsonl``; other events are ignored.

    A resumed run may log an epoch twice; the later line wins.
    """
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        raise InputError(f"{run_dir}: not a run directory (no metrics.jsonl); "
                         "pass --run with a `raiv train --out` directory")
    by_epoch: dict[int, dict[str, Any]] = {}
    for file, line, record in iter_located([str(path)]):
        if record.get("event") != "epoch":
            continue
        require_fields(record, ["epoch"], f"{file}:{line}")
        if not isinstance(record.get("val") or {}, dict):
            raise InputError(f"{file}:{line}: 'val' must be an object of validation metrics, "
                             f"got {shown(record['val'])}")
        by_epoch[int(_number(record["epoch"], "epoch", f"{file}:{line}", record))] = record
    epochs = sorted(by_epoch)
    loss = [by_epoch[e].get("train_loss") for e in epochs]
    val = [{k: float(v) for k, v in (by_epoch[e].get("val") or {}).items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)} for e in epochs]
    return TrainingLog(name or Path(run_dir).name or str(run_dir), epochs,
                       [float(x) if isinstance(x, (int, float)) else None for x in loss], val)


def plot_curves(logs: Sequence[TrainingLog], out: str | Path) -> list[str]:
    """Draws training loss (and validation loss, dashed) and each validation metric per epoch; returns the panels.

    One colour per run across all panels. The PNG is written atomically.
    """
    try:
        import matplotlib
    except ImportError:
        raise InputError("--plot needs matplotlib: pip install 'raivtools[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from raivtools.io.store import atomic_write_bytes

    val_names = sorted({k for log in logs for epoch in log.val for k in epoch if k != "loss"})
    panels = ["loss", *val_names]
    columns = min(len(panels), 3)
    rows = math.ceil(len(panels) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.2 * rows), squeeze=False)
    colours = plt.get_cmap("tab10")
    for index, log in enumerate(logs):
        colour = colours(index % 10)
        _plot_series(axes[0][0], log.epochs, log.train_loss, colour, f"{log.name} train", "-")
        _plot_series(axes[0][0], log.epochs, [v.get("loss") for v in log.val], colour, f"{log.name} val", "--")
        for panel, metric in enumerate(val_names, start=1):
            ax = axes[panel // columns][panel % columns]
            _plot_series(ax, log.epochs, [v.get(metric) for v in log.val], colour, log.name, "-")
    for panel, title in enumerate(panels):
        ax = axes[panel // columns][panel % columns]
        ax.set_title(title if panel else "loss (train solid, val dashed)")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize="small")
    for panel in range(len(panels), rows * columns):
        axes[panel // columns][panel % columns].axis("off")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    atomic_write_bytes(Path(out), buffer.getvalue())
    return panels


def _plot_series(ax: Any, epochs: list[int], values: list[float | None], colour: Any, label: str, style: str) -> None:
    points = [(e, v) for e, v in zip(epochs, values) if v is not None]
    if points:
        ax.plot(*zip(*points), style, color=colour, marker="o", markersize=3, label=label)
