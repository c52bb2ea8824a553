"""Runs every paper recipe (recipes/*.sh) on the toy benchmark at CI size and checks it prints its table.

All recipes share one tiny toy cache (made by the first one) and, where the recipes allow it, each other's runs:
raiv_tsp and raiv_sampling share an OUT (the cond runs), the video-text recipes share one (the AARO sets), and
toy_claims reads the seed-0 runs the others left, so it only aggregates.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.test_examples import raiv_on_path  # noqa: F401  (a fixture: the `raiv` shim on PATH)

RECIPES = REPO / "recipes"

#: each training recipe starts tens of `raiv` processes (minutes on 2 cores): run them with RAIV_SLOW_TESTS=1
slow = pytest.mark.skipif(not os.environ.get("RAIV_SLOW_TESTS"),
                          reason="trains a grid of tiny models (~30-80 s each on 2 cores); RAIV_SLOW_TESTS=1 runs it")


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """One directory for the module: the toy cache and every recipe's OUT."""
    return tmp_path_factory.mktemp("recipes")


def run_recipe(name: str, env: dict, work: Path, cwd: Path | None = None, **variables: str):
    """Runs recipes/<name>.sh with DATA=toy SIZE=tiny (unless overridden) and returns the finished process."""
    full_env = {**env, "DATA": "toy", "SIZE": "tiny", "DEVICE": "cpu", "RAIV_TOY_CACHE": str(work / "toy-cache"),
                **variables}
    return subprocess.run(["bash", str(RECIPES / f"{name}.sh")], cwd=cwd or work, env=full_env, capture_output=True,
                          text=True, timeout=600)


def check(proc, *expected: str) -> str:
    assert proc.returncode == 0, proc.stderr[-3000:]
    for text in expected:
        assert text in proc.stdout, f"{text!r} not in the printed table:\n{proc.stdout}"
    return proc.stdout


ALL = sorted(p.stem for p in RECIPES.glob("*.sh") if p.stem not in {"quickstart", "env", "test"})


@pytest.mark.parametrize("name", [n for n in ALL if n != "toy_claims"])
def test_real_data_missing_names_what_to_download(name, raiv_on_path, tmp_path):  # noqa: F811
    proc = run_recipe(name, raiv_on_path, tmp_path, DATA="real", SIZE="full")
    assert proc.returncode == 2, proc.stderr
    assert "missing" in proc.stderr and ("download" in proc.stderr or "recipes/raiv_datasets.sh" in proc.stderr)
    assert "DATA=toy" in proc.stderr
    assert proc.stdout == ""


def test_bad_settings_stop_with_exit_2(raiv_on_path, tmp_path):  # noqa: F811
    for variables in ({"DATA": "imagenet"}, {"SIZE": "huge"}):
        proc = run_recipe("raiv_datasets", raiv_on_path, tmp_path, **variables)
        assert proc.returncode == 2 and "must be" in proc.stderr


def test_raiv_datasets_table1(raiv_on_path, work):  # noqa: F811
    out = check(run_recipe("raiv_datasets", raiv_on_path, work, OUT=str(work / "datasets")),
                "| dataset | U-Im | U-S | I-Tr | I-Val | I-Test | I-Tot |", "| Im-Im (T) |", "| Vid-Vid (T) |")
    im_vid = next(line for line in out.splitlines() if line.startswith("| Im-Vid (T) |")).split("|")
    train, val, test, total = (int(im_vid[i]) for i in (4, 5, 6, 7))
    assert train + val + test == total > 0
    assert (work / "toy-cache").is_dir()


@slow
def test_raiv_tsp_tables_2_3(raiv_on_path, work):  # noqa: F811
    check(run_recipe("raiv_tsp", raiv_on_path, work, OUT=str(work / "claims/seed0/sampling")),
          "table2.md", "| no TSP |", "| + TSP (cond) |", "accuracy@1 vid-vid")


@slow
def test_raiv_sampling_table6_reuses_the_cond_runs(raiv_on_path, work):  # noqa: F811
    proc = run_recipe("raiv_sampling", raiv_on_path, work, OUT=str(work / "claims/seed0/sampling"))
    check(proc, "table6-pairs.md", "| Rand |", "| Cond |")
    assert "tsp-raiv-late-cond (finished before)" in proc.stderr


@slow
def test_raiv_fusion_table5(raiv_on_path, work):  # noqa: F811
    # Vid-Vid pairs, as toy_claims uses (the toy set has few stills for the default Im-Im)
    check(run_recipe("raiv_fusion", raiv_on_path, work, OUT=str(work / "claims/seed0/fusion"), FUSION_KIND="vid-vid"),
          "| pair_acc | 50 % | 100 % |", "| Late |")


@slow
def test_navero_aaro_tables_2_4(raiv_on_path, work):  # noqa: F811
    check(run_recipe("navero_aaro", raiv_on_path, work, OUT=str(work / "claims/seed0/navero")),
          "| Vanilla |", "| NAVERO |", "AARO acc action", "AARO acc_hat object")


@slow
def test_navero_retrieval_table6(raiv_on_path, work):  # noqa: F811
    check(run_recipe("navero_retrieval", raiv_on_path, work, OUT=str(work / "retrieval"),
                     RUNS_FROM=str(work / "claims/seed0/navero")),
          "| Vanilla |", "| NAVERO |", "t2v R@1 all", "v2t MdR all")


@slow
def test_videodistill_ablation_table4(raiv_on_path, work):  # noqa: F811
    check(run_recipe("videodistill_ablation", raiv_on_path, work, OUT=str(work / "claims/seed0/navero")),
          "| (f) VideoDistill |", "| (b) uniform sampling |", "AARO acc all")


@slow
def test_vlm_retrieval_table8(raiv_on_path, work):  # noqa: F811
    check(run_recipe("vlm_retrieval", raiv_on_path, work, OUT=str(work / "claims/seed0/navero")),
          "| VLM (MMM 50 %) |", "t2v R@1 all")


@slow
def test_toy_claims_aggregates_the_seed_runs(raiv_on_path, work):  # noqa: F811
    claims = work / "claims.md"
    proc = run_recipe("toy_claims", raiv_on_path, work, SEEDS="0", OUT=str(work / "claims"), CLAIMS_MD=str(claims))
    text = check(proc, "# The papers' claims on the toy benchmark", "NAVERO (neg-vtm) beats Vanilla",
                 "conditional sampling is at least as good", "The data-fraction curve")
    assert claims.read_text(encoding="utf-8") == text
    trains = [line for line in proc.stderr.splitlines() if "] train: " in line]
    assert trains and all(line.endswith("(finished before)") for line in trains), "toy_claims trained again"
    for row in ("| action | acc |", "| avg | acc_hat |", "| True/False accuracy@1 | vid-vid |", "| Late |"):
        assert row in text
