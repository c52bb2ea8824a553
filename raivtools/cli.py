"""The ``raiv`` command: one click group; each subcommand lives in ``raivtools/commands/<name>.py`` as ``main``.

Subcommands are imported only when used, so ``raiv --help`` and light commands never pay for torch.
"""

from __future__ import annotations

import importlib

import click

from raivtools import __version__

#: command name -> module under raivtools.commands (each defines a click command ``main``)
COMMANDS = {
    "synth": "synth",
    "extract-frames": "extract_frames",
    "encode": "encode",
    "srl": "srl",
    "make-pairs": "make_pairs",
    "negate": "negate",
    "train": "train",
    "score": "score",
    "report": "report",
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None:
            return None
        return importlib.import_module(f"raivtools.commands.{module}").main


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="raiv")
def cli() -> None:
    """Small composable tools for video-and-image language research.

    Records travel as JSONL on stdin/stdout, arrays in NPZ stores; logs and progress go to stderr.

    \b
    Example (offline, on the built-in toy benchmark):
      raiv synth --out toy/ --n 200 > toy.jsonl
      raiv srl toy.jsonl | raiv make-pairs --kind vid-vid > pairs.jsonl
      raiv make-pairs toy.jsonl --kind vid-text | raiv negate --rounds 5 --generator rule > aaro.jsonl
    """


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="raiv")
