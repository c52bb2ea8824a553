"""Pivots a `raiv report --format json` table whose runs are named "ROW@COLUMN" into a markdown grid.

Usage: raiv report ... --name "Late@10%" ... --format json | python pivot.py METRIC > table.md
(METRIC: a metric key such as pair_acc, aaro_acc, t2v_r1; its `all` row is shown). Stdlib only.
"""

import json
import sys


def main(metric: str) -> None:
    """Prints one markdown row per ROW name and one column per COLUMN name, in first-seen order."""
    report = json.load(sys.stdin)
    cells, rows, columns = {}, [], []
    for row in report["rows"]:
        if row["metric"] != metric or row["row"] != "all":
            continue
        for name, value in row["values"].items():
            label, _, column = name.partition("@")
            rows += [label] if label not in rows else []
            columns += [column] if column not in columns else []
            cells[label, column] = value["value"] if value else None
    print(f"| {metric} | " + " | ".join(columns) + " |")
    print("| --- |" + " ---: |" * len(columns))
    for label in rows:
        values = [cells.get((label, c)) for c in columns]
        print(f"| {label} | " + " | ".join("-" if v is None else f"{v:.2f}" for v in values) + " |")


if __name__ == "__main__":
    main(sys.argv[1])
