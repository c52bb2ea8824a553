"""Options shared by several commands, so each means the same thing everywhere."""

from __future__ import annotations

from collections.abc import Callable

import click

F = Callable[..., object]

#: the context settings every subcommand uses
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def input_paths(func: F) -> F:
    """``INPUTS...``: JSONL files; ``-`` or none reads stdin."""
    return click.argument("inputs", nargs=-1, type=click.Path(allow_dash=True, dir_okay=False))(func)


def seed_option(func: F) -> F:
    """``--seed``: every random choice follows it; same inputs and seed give byte-identical outputs."""
    return click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")(func)


def store_options(func: F) -> F:
    """``--resume`` / ``--overwrite`` for commands that write an array store."""
    func = click.option("--overwrite", is_flag=True, help="Empty a non-empty store first and start over.")(func)
    func = click.option("--resume", is_flag=True, help="Continue an interrupted run: keep done shards, redo the rest.")(func)
    return func


def decode_options(func: F) -> F:
    """``--timeout`` / ``--worker-memory`` / ``--media-root`` for commands that decode media in worker processes."""
    func = click.option("--media-root", type=click.Path(file_okay=False), default=None,
                        help="Directory relative media paths are read from (default: the current directory).")(func)
    func = click.option("--timeout", type=click.FloatRange(min=0.1), default=60.0, show_default=True,
                        help="Seconds one item may take; a hung decoder is killed and that record gets "
                             "status error.")(func)
    func = click.option("--worker-memory", type=click.FloatRange(min=64), default=2048, show_default=True,
                        help="MiB of resident memory past which a decoder worker is replaced once idle "
                             "(decord's memory can grow across calls).")(func)
    return func
