"""Shared test setup: offline, no progress bars, and a way to run ``raiv`` as a user does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ["RAIV_PROGRESS"] = "0"


class RaivResult:
    def __init__(self, proc: subprocess.CompletedProcess):
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr.decode("utf-8", "replace")

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8")

    def records(self) -> list[dict]:
        import orjson

        return [orjson.loads(line) for line in self.stdout.splitlines() if line.strip()]


def run_raiv(*args: str, input: bytes | str | None = None, cwd: Path | None = None, env: dict | None = None) -> RaivResult:
    """Runs ``python -m raivtools ARGS`` in a subprocess, with stdout and stderr kept apart."""
    if isinstance(input, str):
        input = input.encode("utf-8")
    full_env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""), **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "raivtools", *map(str, args)],
        input=input if input is not None else b"",
        capture_output=True,
        cwd=cwd,
        env=full_env,
        timeout=600,
    )
    return RaivResult(proc)


@pytest.fixture
def raiv():
    """``raiv(*args, input=...)`` runs the CLI in a subprocess and returns stdout bytes, stderr text, exit code."""
    return run_raiv
