"""`raiv report` as a user runs it: files and stdin, names, formats, bad input, plots, and the examples."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from tests.factories import write_jsonl
from tests.test_report import caption, mixed_records, table2_runs, write_run

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "report"

#: output file in examples/report -> the arguments that print it (run inside examples/report)
EXAMPLE_COMMANDS = {
    "aaro_by_neg_type.txt": "aaro_vanilla.scored.jsonl aaro_navero.scored.jsonl --name Vanilla --name NAVERO "
                            "--by neg_type",
    "aaro_table2.md": "aaro_vanilla.scored.jsonl aaro_navero.scored.jsonl --name Vanilla --name NAVERO --by neg_type "
                      "--transpose --format markdown",
    "pairs_by_kind.md": "pairs_vanilla.scored.jsonl pairs_navero.scored.jsonl --name Vanilla --name NAVERO --by kind "
                        "--format markdown",
    "retrieval.csv": "retrieval_vanilla.scored.jsonl retrieval_navero.scored.jsonl --name Vanilla --name NAVERO "
                     "--format csv",
}


def test_two_runs_side_by_side(raiv, tmp_path):
    vanilla, navero = table2_runs(tmp_path)
    result = raiv("report", vanilla, navero, "--by", "neg_type")
    assert result.returncode == 0, result.stderr
    lines = result.text.splitlines()
    assert lines[0].split() == ["metric", "neg_type", "vanilla", "navero", "n"]  # default names: file stems
    assert lines[4].split() == ["AARO", "acc", "avg", "75.00", "50.00"]
    assert "raiv report: vanilla" in result.stderr and "3 records, 3 used" in result.stderr
    assert "raiv report" not in result.text  # logs stay off stdout


def test_reads_stdin_and_is_deterministic(raiv, tmp_path):
    data = write_jsonl(tmp_path / "m.jsonl", mixed_records()).read_bytes()
    first = raiv("report", "--format", "json", "--by", "kind", input=data)
    second = raiv("report", "-", "--format", "json", "--by", "kind", input=data)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    document = json.loads(first.stdout)
    assert document["runs"][0]["name"] == "stdin" and document["runs"][0]["not_used"]["status error"] == 1
    assert "1 status error" in first.stderr and "1 no score of any kind" in first.stderr


def test_warns_when_runs_used_different_records(raiv, tmp_path):
    vanilla, navero = table2_runs(tmp_path)
    result = raiv("report", vanilla, navero)
    assert result.returncode == 0 and "warning" not in result.stderr
    # as many records as vanilla, so the n column cannot tell: one is another record, one failed to score
    other = write_jsonl(tmp_path / "other.jsonl", [caption("c1", "action", 0.9, 0.1), caption("c9", "action", 0.9, 0.1),
                                                   {**caption("c3", "attribute", 0.9, 0.1), "status": "error"}])
    result = raiv("report", vanilla, other)
    assert result.returncode == 0, result.stderr
    assert "warning: other and vanilla used different records (1 ids only in other, 2 only in vanilla)" in result.stderr
    assert "warning" not in result.text


def test_names_must_match_inputs_and_be_unique(raiv, tmp_path):
    vanilla, navero = table2_runs(tmp_path)
    result = raiv("report", vanilla, navero, "--name", "only-one")
    assert result.returncode == 2 and "1 --name for 2 inputs" in result.stderr
    (tmp_path / "b").mkdir()
    other = write_jsonl(tmp_path / "b" / "vanilla.jsonl", [caption("c", "action", 0.9, 0.1)])
    result = raiv("report", vanilla, other)
    assert result.returncode == 2 and "give each a --name" in result.stderr


def test_corrupt_input_names_file_and_line(raiv, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "label": true, "score": 0.9}\n{"id": "b", "label": tru\n')
    result = raiv("report", path)
    assert result.returncode == 2
    assert f"{path}:2: malformed JSON" in result.stderr and result.stdout == b""


def test_wrong_score_type_names_file_and_line(raiv, tmp_path):
    records = [caption("a", "action", 0.9, 0.1), {"id": "b", "label": 1, "score": 0.2}]
    path = write_jsonl(tmp_path / "bad.jsonl", records)
    result = raiv("report", path)
    assert result.returncode == 2 and f"{path}:2: record 'b': label must be true or false" in result.stderr


def test_empty_input(raiv, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    result = raiv("report", empty)
    assert result.returncode == 0 and result.stdout == b""
    assert "0 records, 0 used" in result.stderr and "nothing to tabulate" in result.stderr
    document = json.loads(raiv("report", empty, "--format", "json").stdout)
    assert document["rows"] == [] and document["runs"][0]["records"] == 0


def test_unicode_names_paths_and_groups(raiv, tmp_path):
    records = [caption("c1", "動作", 0.9, 0.1), caption("c2", "objet", 0.2, 0.1)]
    path = write_jsonl(tmp_path / "ésai 模型.jsonl", records)
    result = raiv("report", path, "--by", "neg_type", "--format", "markdown")
    assert result.returncode == 0, result.stderr
    assert "| metric | neg_type | ésai 模型 | n |" in result.text
    assert "| AARO acc | 動作 | 100.00 | 1 |" in result.text


def test_transpose_only_for_text_formats(raiv, tmp_path):
    vanilla, navero = table2_runs(tmp_path)
    result = raiv("report", vanilla, navero, "--by", "neg_type", "--transpose")
    assert result.text.splitlines()[2].split()[:3] == ["vanilla", "50.00", "100.00"]
    result = raiv("report", vanilla, "--transpose", "--format", "csv")
    assert result.returncode == 2 and "--transpose applies to" in result.stderr


def test_plot_from_two_run_dirs_without_reading_stdin(raiv, tmp_path):
    pytest.importorskip("matplotlib")
    write_run(tmp_path / "vanilla", [0.9, 0.7], [0.5, 0.6])
    write_run(tmp_path / "navero", [0.8, 0.4], [0.5, 0.8])
    out = tmp_path / "curves.png"
    result = raiv("report", "--plot", out, "--run", tmp_path / "vanilla", "--run", tmp_path / "navero")
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:4] == b"\x89PNG" and result.stdout == b""
    assert "panels: loss, aaro_acc, pair_acc" in result.stderr


def test_plot_warns_about_a_run_without_epochs(raiv, tmp_path):
    pytest.importorskip("matplotlib")
    write_run(tmp_path / "done", [0.9, 0.7], [0.5, 0.6])
    write_run(tmp_path / "started", [], [])
    out = tmp_path / "curves.png"
    result = raiv("report", "--plot", out, "--run", tmp_path / "done", "--run", tmp_path / "started")
    assert result.returncode == 0, result.stderr
    assert f"warning: {tmp_path / 'started'}: no epoch lines" in result.stderr and result.stdout == b""


def test_plot_option_errors(raiv, tmp_path):
    assert "needs at least one --run" in raiv("report", "--plot", tmp_path / "c.png").stderr
    assert "only used by --plot" in raiv("report", "--run", tmp_path).stderr
    result = raiv("report", "--plot", tmp_path / "c.png", "--run", tmp_path)
    assert result.returncode == 2 and "no metrics.jsonl" in result.stderr


@pytest.mark.parametrize("output", sorted(EXAMPLE_COMMANDS))
def test_examples_are_what_the_command_prints(raiv, output):
    result = raiv("report", *shlex.split(EXAMPLE_COMMANDS[output]), cwd=EXAMPLES)
    assert result.returncode == 0, result.stderr
    assert result.text == (EXAMPLES / output).read_text(encoding="utf-8"), f"regenerate examples/report/{output}"
