"""`raiv negate` as a command: fields, streams, errors, seeds."""

from __future__ import annotations

import orjson
import pytest
from click.testing import CliRunner

from raivtools.commands.negate import main
from tests.factories import write_jsonl
from tests.text.negate_fixtures import SPACY, TOY_CAPTION, nlp, tiny_mlm_dir  # noqa: F401

RECORDS = [
    {"id": "v1", "video": "toy/v1.mp4", "caption": TOY_CAPTION, "split": "test"},
    {"id": "v2", "image": "toy/v2.png", "caption": "A man wearing a hat picks up a ball in front of the house."},
    {"id": "v3", "caption": "Zxq vlorp."},
    {"id": "p1", "kind": "vid-vid", "statement": "The man in the left video cuts bread with a knife.", "label": True},
]


@pytest.fixture
def run(nlp):
    """Runs the command in-process (the session's spaCy pipeline stays loaded); returns (result, records)."""

    def invoke(*args, input: bytes | str | None = None):
        result = CliRunner().invoke(main, ["--spacy-model", SPACY, *map(str, args)], input=input)
        records = [orjson.loads(line) for line in result.stdout_bytes.splitlines() if line.strip()]
        return result, records

    return invoke


def test_adds_negatives_and_keeps_everything_else(run, tmp_path):
    path = write_jsonl(tmp_path / "in.jsonl", RECORDS)
    result, out = run(path, "--generator", "rule", "--rounds", "2")
    assert result.exit_code == 0, result.stderr
    assert [r["id"] for r in out] == ["v1", "v2", "v3", "p1"]
    for before, after in zip(RECORDS, out):
        assert {k: after[k] for k in before} == before
    ok = [r for r in out if r["negative"] is not None]
    assert len(ok) == 3 and all(len(r["edits"]) == 2 and "negate_error" not in r for r in ok)
    assert set(ok[0]["edits"][0]) == {"round", "type", "generator", "from", "to", "start"}
    assert out[3]["negative"] != out[3]["statement"]  # statements are negated when there is no caption
    assert out[2]["negative"] is None and out[2]["neg_type"] is None and out[2]["negate_error"]
    assert "raiv negate: 4 records: 3 ok" in result.stderr and "1 no-negative" in result.stderr


def test_a_negative_in_the_input_is_replaced_with_a_warning(run, tmp_path):
    records = [{"id": "a", "caption": "A man cuts bread.", "negative": "A man cuts cake."},
               {"id": "b", "caption": "A woman rides a horse.", "negative": "A woman rides a camel."},
               {"id": "c", "caption": "A dog runs.", "negative": None}]
    result, out = run(write_jsonl(tmp_path / "in.jsonl", records), "--generator", "rule")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("warning:") == 1 and "'a' already has a negative" in result.stderr
    assert "input negatives replaced 2" in result.stderr
    assert all(r["negative"] != r["caption"] for r in out)


def test_field_option(run, tmp_path):
    path = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "caption": "Zxq.", "reason": "A red ball rolls."}])
    result, out = run(path, "--generator", "rule", "--field", "reason")
    assert result.exit_code == 0 and out[0]["negative"] and out[0]["edits"][0]["from"] in out[0]["reason"]


def test_same_seed_same_bytes_other_seed_other_negatives(run, tmp_path):
    path = write_jsonl(tmp_path / "in.jsonl", RECORDS * 3)
    first, _ = run(path, "--generator", "rule", "--rounds", "3", "--seed", "7")
    second, _ = run(path, "--generator", "rule", "--rounds", "3", "--seed", "7")
    other, _ = run(path, "--generator", "rule", "--rounds", "3", "--seed", "8")
    assert first.stdout_bytes == second.stdout_bytes and first.stdout_bytes != other.stdout_bytes


def test_records_without_id_get_the_same_negatives_from_any_file_name_or_stdin(run, tmp_path):
    records = [{k: v for k, v in r.items() if k != "id"} for r in RECORDS] * 3
    outputs = [run(write_jsonl(tmp_path / name, records), "--generator", "rule", "--rounds", "2")[0].stdout_bytes
               for name in ("a.jsonl", "other name.jsonl")]
    outputs.append(run("--generator", "rule", "--rounds", "2", input=(tmp_path / "a.jsonl").read_bytes())[0].stdout_bytes)
    assert outputs[0] and outputs[0] == outputs[1] == outputs[2]


def test_mixed_with_a_local_mlm_is_deterministic(run, tmp_path, tiny_mlm_dir):
    path = write_jsonl(tmp_path / "in.jsonl", RECORDS)
    args = (path, "--mlm", tiny_mlm_dir, "--top-k", "56", "--rounds", "3", "--seed", "3", "--device", "cpu")
    first, out = run(*args)
    second, _ = run(*args)
    assert first.exit_code == 0, first.stderr
    assert first.stdout_bytes == second.stdout_bytes
    assert sum(r["negative"] is not None for r in out) >= 3


@pytest.mark.parametrize("generator", ["mlm", "mixed"])
def test_unloadable_mlm_exits_2_and_says_what_to_pass(run, tmp_path, generator):
    path = write_jsonl(tmp_path / "in.jsonl", RECORDS)
    result, out = run(path, "--generator", generator, "--mlm", tmp_path / "no-such-model")
    assert result.exit_code == 2 and out == []
    assert "--mlm PATH" in result.stderr and "--generator rule" in result.stderr


def test_bad_types_exit_2(run):
    result, _ = run("--types", "action,colour", input="")
    assert result.exit_code == 2 and "colour" in result.stderr


def test_corrupt_input_names_file_and_line(run, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(orjson.dumps(RECORDS[0]) + b"\n{not json\n")
    result, _ = run(path, "--generator", "rule")
    assert result.exit_code == 2 and f"{path}:2" in result.stderr


def test_missing_text_field_names_file_and_line(run, tmp_path):
    path = write_jsonl(tmp_path / "in.jsonl", [RECORDS[0], {"id": "x", "video": "a.mp4"}])
    result, _ = run(path, "--generator", "rule")
    assert result.exit_code == 2 and f"{path}:2" in result.stderr and "caption" in result.stderr


def test_empty_input_gives_empty_output(run):
    result, out = run("--generator", "rule", input="")
    assert result.exit_code == 0 and out == [] and result.stdout_bytes == b""


def test_unicode_text(run):
    record = {"id": "ü", "caption": "Ein Mädchen — a red café chair near the “old” house, naïve."}
    result, out = run("--generator", "rule", "--types", "attribute", input=orjson.dumps(record) + b"\n")
    assert result.exit_code == 0, result.stderr
    (edit,) = out[0]["edits"]
    caption = record["caption"]
    assert out[0]["negative"] == caption[: edit["start"]] + edit["to"] + caption[edit["start"] + len(edit["from"]):]
    assert out[0]["id"] == "ü" and "“" in out[0]["negative"]


def test_non_string_text_is_a_per_record_reason(run):
    result, out = run("--generator", "rule", input=b'{"id": "n", "caption": null}\n')
    assert result.exit_code == 0 and out[0]["negative"] is None and "not a string" in out[0]["negate_error"]


def test_pipe_in_a_subprocess(raiv):
    pairs = b"".join(orjson.dumps(r) + b"\n" for r in RECORDS)
    r = raiv("negate", "--rounds", "5", "--generator", "rule", "--spacy-model", SPACY, input=pairs)
    assert r.returncode == 0, r.stderr
    records = r.records()
    assert [x["id"] for x in records] == [x["id"] for x in RECORDS]
    assert len(records[0]["edits"]) == 5 and records[0]["neg_type"] in ("mixed", "action", "attribute", "relation", "object")
    assert "raiv negate:" in r.stderr and b"raiv negate" not in r.stdout
    help_text = raiv("negate", "--help")
    assert help_text.returncode == 0 and "Example:" in help_text.text and "raiv negate" in help_text.text


def test_unusable_wordlists_folder_exits_2(run, tmp_path):
    result, _ = run("--generator", "rule", "--wordlists", tmp_path, input="")
    assert result.exit_code == 2 and "none of the category files" in result.stderr


def test_the_old_action_list_ablation_edits_inflected_entries(run, tmp_path):
    # Table 3's "Action (old)" list is written inflected ("eating", "sitting on"): its -ing entries never matched a
    # verb's lemma, and the one that did gave "A dog mounteds on on the grass"
    import shutil
    from pathlib import Path

    import raivtools.text

    lists = tmp_path / "lists"
    shutil.copytree(Path(raivtools.text.__file__).parent / "wordlists", lists)
    (lists / "action.txt").write_text((lists / "action_old.txt").read_text(encoding="utf-8"), encoding="utf-8")
    captions = ["A man is eating a pizza.", "A woman holds an umbrella.", "A dog sits on the grass."]
    path = write_jsonl(tmp_path / "in.jsonl", [{"id": f"c{i}", "caption": c} for i, c in enumerate(captions)])
    for seed in range(4):
        result, out = run(path, "--generator", "rule", "--types", "action", "--wordlists", lists, "--seed", seed)
        assert result.exit_code == 0, result.stderr
        assert all(r["negative"] for r in out), [r.get("negate_error") for r in out]
        for record in out:
            words = record["negative"].lower().rstrip(".").split()
            assert not any(a == b for a, b in zip(words, words[1:])), record["negative"]  # "on on"
            assert not any(w.endswith(("ings", "eds")) for w in words), record["negative"]  # "mounteds"
