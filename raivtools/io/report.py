"""The stderr side of a command: log lines, progress bars and the end-of-run summary."""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

import click

T = TypeVar("T")


def log(message: str) -> None:
    """Prints one line to stderr (never stdout: stdout carries records)."""
    click.echo(message, err=True)


def warn(message: str) -> None:
    """Prints a warning line to stderr."""
    click.echo(f"warning: {message}", err=True)


def progress_enabled() -> bool:
    """Bars are drawn only on a terminal, unless ``RAIV_PROGRESS=1`` forces them (or ``0`` hides them)."""
    forced = os.environ.get("RAIV_PROGRESS")
    if forced is not None:
        return forced not in ("0", "", "false", "no")
    return sys.stderr.isatty()


def progress(iterable: Iterable[T], *, desc: str, total: int | None = None, unit: str = "rec") -> Iterator[T]:
    """Wraps an iterable in a tqdm bar on stderr (or passes it through when bars are off)."""
    if not progress_enabled():
        yield from iterable
        return
    from tqdm import tqdm

    yield from tqdm(iterable, desc=desc, total=total, unit=unit, file=sys.stderr, dynamic_ncols=True)


class RunSummary:
    """Counts records by ``status`` and prints one summary block to stderr at the end of a run.

    Example:
        >>> summary = RunSummary("extract-frames")
        >>> summary.add({"id": "a", "status": "error", "error": "no such file"})
        >>> summary.print()  # raiv extract-frames: 1 record: 0 ok, 1 error
    """

    max_listed_errors = 5

    def __init__(self, command: str):
        self.command = command
        self.counts: Counter[str] = Counter()
        self.errors: list[tuple[str, str]] = []
        self.extra: dict[str, Any] = {}

    def add(self, record: dict[str, Any]) -> None:
        status = str(record.get("status", "ok"))
        self.counts[status] += 1
        if status == "error":
            self.errors.append((str(record.get("id", "<no id>")), str(record.get("error", ""))))

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def line(self) -> str:
        parts = [f"{self.counts.get('ok', 0)} ok", f"{self.counts.get('error', 0)} error"]
        parts += [f"{n} {status}" for status, n in sorted(self.counts.items()) if status not in ("ok", "error")]
        parts += [f"{key} {value}" for key, value in self.extra.items()]
        noun = "record" if self.total == 1 else "records"
        return f"raiv {self.command}: {self.total} {noun}: " + ", ".join(parts)

    def print(self) -> None:
        log(self.line())
        for record_id, message in self.errors[: self.max_listed_errors]:
            log(f"  error {record_id}: {message}")
        if len(self.errors) > self.max_listed_errors:
            log(f"  ... and {len(self.errors) - self.max_listed_errors} more errors (see records with status 'error')")
