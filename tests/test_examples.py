"""Keeps ``examples/`` honest: each example's ``run.sh`` must print exactly the ``expected`` output stored beside it.

An example folder holds tiny real-format inputs, a ``run.sh`` that runs ``raiv`` on them (from inside the folder),
and ``expected.jsonl`` (or ``expected.txt``) with its stdout. Regenerate after a deliberate change with
``RAIV_UPDATE_EXAMPLES=1 bash recipes/test.sh tests/test_examples.py``.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

EXAMPLES = sorted(p.parent for p in (REPO / "examples").glob("*/run.sh"))


@pytest.fixture(scope="module")
def raiv_on_path(tmp_path_factory) -> dict:
    """An environment whose PATH has a ``raiv`` that runs this checkout with this interpreter."""
    bin_dir = tmp_path_factory.mktemp("bin")
    shim = bin_dir / "raiv"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m raivtools "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(REPO),
            "RAIV_PROGRESS": "0", "HF_HUB_OFFLINE": "1"}


def _expected_file(example: Path) -> Path:
    for name in ("expected.jsonl", "expected.txt", "expected.md"):
        if (example / name).exists():
            return example / name
    return example / "expected.jsonl"


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_output_is_in_sync(example, raiv_on_path, tmp_path):
    # Run in a copy, so a test never writes into the source tree (examples may use their neighbours' files).
    copy = tmp_path / "examples"
    shutil.copytree(REPO / "examples", copy)
    proc = subprocess.run(["bash", "run.sh"], cwd=copy / example.name, env=raiv_on_path, capture_output=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()
    expected = _expected_file(example)
    if os.environ.get("RAIV_UPDATE_EXAMPLES") == "1":
        expected.write_bytes(proc.stdout)
    assert proc.stdout.decode() == expected.read_text(encoding="utf-8"), f"{example.name}: output changed"
