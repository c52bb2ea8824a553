"""The README's main command, `bash recipes/quickstart.sh`, end to end at a tiny size (about a minute on 2 cores)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


def ready_venv() -> Path | None:
    """The pinned environment recipes/env.sh made (the one CI runs the tests in), or None when there is none:
    the quick start would otherwise spend minutes installing one."""
    for venv in (Path(sys.prefix), REPO / ".venv"):
        if (venv / "bin" / "raiv").exists() and (venv / ".raiv-installed").exists():
            return venv
    return None


@pytest.mark.skipif(ready_venv() is None, reason="no environment made by recipes/env.sh (run bash recipes/test.sh)")
def test_quickstart_runs_every_step_and_writes_the_tables(tmp_path):
    env = {**os.environ, "RAIV_VENV": str(ready_venv()), "RAIV_PROGRESS": "0", "OUT": str(tmp_path / "qs"),
           "N": "60", "EPOCHS": "1", "ITM_EPOCHS": "1", "CLIP_EPOCHS": "1", "PAIRS_PER_ITEM": "2"}
    proc = subprocess.run(["bash", str(REPO / "recipes/quickstart.sh")], env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert [f"[{n}/12]" in proc.stderr for n in range(1, 13)] == [True] * 12
    out = tmp_path / "qs"
    tables = (out / "tables.md").read_text(encoding="utf-8")
    assert proc.stdout.strip() == tables.strip()
    for row in ("## RAIV pairs (raiv-late)", "| accuracy@1 | all |", "| reasoning acc@1 | all |",
                "| metric | neg_type | vanilla | navero | n |", "| AARO acc_hat | relation |"):
        assert row in tables, row
    # raiv-late is fine-tuned from the itm pre-training, not trained from scratch
    itm = json.loads((out / "runs/itm/config.json").read_text())
    late = json.loads((out / "runs/raiv-late/config.json").read_text())
    assert itm["task"] == "itm" and late["task"] == "pairs"
    assert late["train"]["init"] == "runs/itm" and late["train"]["head_lr_mult"] == 100
    assert (out / "curves.png").stat().st_size > 0
