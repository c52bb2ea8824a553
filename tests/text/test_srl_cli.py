"""`raiv srl` as a user runs it: captions through the real pipeline, native files, and bad input."""

from __future__ import annotations

import json

from tests.factories import write_jsonl
from tests.text.conftest import EXAMPLES


def test_captions_keep_fields_and_order_and_unicode(raiv, tmp_path):
    path = write_jsonl(tmp_path / "c.jsonl", [
        {"id": "a", "image": "a.jpg", "caption": "A man is cutting bread with a knife in the kitchen.", "x": 1},
        {"id": "b", "caption": ""},
        {"id": "ü", "text": "Two dogs are being chased by a girl on the beach.", "caption": "Ein Hund läuft."},
    ])
    r = raiv("srl", str(path), "--batch-size", "2")
    assert r.returncode == 0, r.stderr
    a, b, c = r.records()
    assert [x["id"] for x in (a, b, c)] == ["a", "b", "ü"]
    assert a["x"] == 1 and a["image"] == "a.jpg"
    assert a["srl"] == [{"verb": "cut", "sense": None, "roles": {"ARG0": "A man", "ARG1": "bread", "ARG2": "a knife",
                                                                  "ARGM-LOC": "the kitchen"},
                         "preps": {"ARG2": "with", "ARGM-LOC": "in"}}]
    assert a["objects"] == ["man", "bread", "knife", "kitchen"]
    assert b["srl"] == [] and b["objects"] == []
    assert "raiv srl: 3 records" in r.stderr and r.stdout.count(b"\n") == 3


def test_field_option_missing_field_corrupt_and_empty_input(raiv, tmp_path):
    path = write_jsonl(tmp_path / "c.jsonl", [{"id": "a", "caption": "x"}])
    r = raiv("srl", str(path), "--field", "text")
    assert r.returncode == 2 and f"{path}:1" in r.stderr and "'text'" in r.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": \n{"id": "a", "caption": "A dog."}\n', encoding="utf-8")
    r = raiv("srl", str(bad))
    assert r.returncode == 2 and f"{bad}:1" in r.stderr
    r = raiv("srl", input="")
    assert r.returncode == 0 and r.stdout == b""


def test_from_vidsitu_and_imsitu(raiv, tmp_path):
    r = raiv("srl", "--from", "vidsitu", str(EXAMPLES / "vsann_train_lb.json"), "--video-root", "clips")
    assert r.returncode == 0, r.stderr
    records = r.records()
    assert len(records) == 10 and records[0]["video"] == "clips/v_M3u94uEBq9o_seg_80_90.mp4"
    r = raiv("srl", "--from", "imsitu", str(EXAMPLES / "train.json"), "--space", str(EXAMPLES / "imsitu_space.json"))
    assert r.returncode == 0 and len(r.records()) == 5
    r = raiv("srl", "--from", "imsitu", str(EXAMPLES / "train.json"))
    assert r.returncode == 2 and "--space" in r.stderr
    bad = tmp_path / "vsann_train_lb.json"
    data = json.loads((EXAMPLES / "vsann_train_lb.json").read_text())
    del data[1]["Ev3"]["Args"]
    bad.write_text(json.dumps(data))
    r = raiv("srl", "--from", "vidsitu", str(bad))
    assert r.returncode == 2 and str(bad) in r.stderr and "annotation #1" in r.stderr and "'Args'" in r.stderr
    assert r.stdout == b""


def test_native_files_from_stdin(raiv):
    native = (EXAMPLES / "vsann_train_lb.json").read_bytes()
    from_file = raiv("srl", "--from", "vidsitu", str(EXAMPLES / "vsann_train_lb.json"))
    for args in ([], ["-"]):
        r = raiv("srl", "--from", "vidsitu", *args, input=native)
        assert r.returncode == 0 and r.stdout == from_file.stdout, r.stderr
    both = raiv("srl", "--from", "vidsitu", str(EXAMPLES / "vsann_valid_lb.json"), "-", input=native)
    assert both.returncode == 0 and len(both.records()) == 10 + len(raiv(
        "srl", "--from", "vidsitu", str(EXAMPLES / "vsann_valid_lb.json")).records())
    r = raiv("srl", "--from", "imsitu", "-", "--space", str(EXAMPLES / "imsitu_space.json"),
             input=(EXAMPLES / "train.json").read_bytes())
    assert r.returncode == 0 and len(r.records()) == 5
    r = raiv("srl", "--from", "vidsitu", "--split", "auto", input=native)
    assert r.returncode == 2 and "<stdin>" in r.stderr and "--split" in r.stderr
    r = raiv("srl", "--from", "vidsitu", input=b'[{"Ev1": ')
    assert r.returncode == 2 and "<stdin>:1: malformed JSON" in r.stderr
    r = raiv("srl", "--from", "vidsitu", "-", "-", input=native)
    assert r.returncode == 2 and "once" in r.stderr


def test_help_has_example(raiv):
    r = raiv("srl", "--help")
    assert r.returncode == 0 and "Example:" in r.text and "raiv srl --from vidsitu" in r.text
