"""VidSitu and imSitu readers on small files in the real formats, and on malformed ones."""

from __future__ import annotations

import copy
import json

import pytest

from raivtools.io.errors import InputError
from raivtools.text.importers import (
    imsitu_lemma,
    majority_value,
    object_of,
    parse_segment_name,
    read_imsitu,
    read_vidsitu,
    split_from_filename,
    vidsitu_role,
)
from tests.text.conftest import EXAMPLES


def vidsitu_train():
    return json.loads((EXAMPLES / "vsann_train_lb.json").read_text())


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_vidsitu_one_record_per_event_with_windows_and_roles():
    records = list(read_vidsitu(str(EXAMPLES / "vsann_train_lb.json"), video_root="clips", split="auto"))
    assert len(records) == 10
    first = records[0]
    assert first["id"] == "v_M3u94uEBq9o_seg_80_90_ev1"
    assert first["video"] == "clips/v_M3u94uEBq9o_seg_80_90.mp4"
    assert (first["start"], first["end"], first["split"]) == (0.0, 2.0, "train")
    [frame] = first["srl"]
    assert (frame["verb"], frame["sense"], frame["ev_rel"]) == ("dive", "dive.02", "Causes")
    assert frame["roles"] == {"ARG1": "man in wetsuit", "ARGM-DIR": "downward", "ARGM-LOC": "lake"}
    assert frame["role_desc"] == {"ARG1": "thing falling"}
    assert first["objects"] == ["man", "lake"]
    ev3 = records[2]
    assert (ev3["start"], ev3["end"]) == (4.0, 6.0) and "ev_rel" not in ev3["srl"][0]
    assert ev3["srl"][0]["roles"] == {"ARG0": "brunette girl", "ARG2": "brunette boy", "ARGM-LOC": "lake",
                                      "ARGM-MNR": "casually"}
    # a YouTube id with underscores
    assert records[5]["youtube_id"] == "hTzUYt__ogY" and records[5]["segment_start"] == 5
    assert records[6]["srl"][0]["roles"]["ARG2"] == "knife"


def test_vidsitu_valid_keeps_every_annotation_and_majority_objects():
    records = list(read_vidsitu(str(EXAMPLES / "vsann_valid_lb.json"), split="auto"))
    assert len(records) == 5 and all(r["annotations"] == 3 and r["split"] == "val" for r in records)
    ev2 = records[1]
    assert [f["annotation"] for f in ev2["srl"]] == [0, 1, 2]
    assert [f["verb"] for f in ev2["srl"]] == ["jump", "jump", "climb"]
    assert ev2["objects"] == ["man", "fence", "street"]
    ev3 = records[2]  # "police officer" twice, "policeman" once: only the majority object is sure
    assert "officer" in ev3["objects"] and "policeman" not in ev3["objects"]
    assert "policeman" in ev3["objects_mentioned"]


def test_vidsitu_role_keys():
    assert vidsitu_role("Arg0 (talker)") == ("ARG0", "talker")
    assert vidsitu_role("ArgM (purpose)") == ("ARGM-PRP", None)
    assert vidsitu_role("Scene of the Event") == ("ARGM-LOC", None)
    with pytest.raises(ValueError, match="unknown role key"):
        vidsitu_role("Instrument")
    assert parse_segment_name("v_hTzUYt__ogY_seg_5_15") == ("hTzUYt__ogY", 5, 15)
    assert parse_segment_name("v__seg_x_seg_0_10") == ("_seg_x", 0, 10)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d[0]["Ev2"].pop("Verb"), r"annotation #0 \(v_M3u94uEBq9o_seg_80_90\) Ev2: missing field 'Verb'"),
        (lambda d: d[0]["Ev1"]["Args"].update({"Weapon": "gun"}), "unknown role key 'Weapon'"),
        (lambda d: d[0]["Ev1"]["Args"].update({"ArgM (mood)": "sad"}), r"unknown role key 'ArgM \(mood\)'"),
        (lambda d: d[0]["Ev1"].update({"Extra": 1}), r"unknown field\(s\) \['Extra'\]"),
        (lambda d: d[1].pop("Ev5"), r"annotation #1: missing or malformed event 'Ev5'"),
        (lambda d: d[0]["Ev4"].update({"vid_seg_int": "v_other_seg_0_10"}), "events name different segments"),
        (lambda d: [e.update({"vid_seg_int": "M3u94uEBq9o_80_90"}) for e in d[0].values()], "does not start with 'v_'"),
        (lambda d: d[0]["Ev1"].update({"EvRel": "Because"}), "unknown EvRel 'Because'"),
        (lambda d: d[0]["Ev1"]["Args"].update({"Arg1 (thing falling)": ["man"]}), "must be a string"),
    ],
)
def test_vidsitu_malformed_names_file_and_record(tmp_path, mutate, message):
    data = vidsitu_train()
    mutate(data)
    path = write(tmp_path, "vsann_train_lb.json", data)
    with pytest.raises(InputError, match=message) as info:
        list(read_vidsitu(path))
    assert path in info.value.message


def test_vidsitu_corrupt_empty_and_unicode(tmp_path):
    corrupt = tmp_path / "vsann_train_lb.json"
    corrupt.write_text('[{"Ev1": {"vid_seg_int": ', encoding="utf-8")
    with pytest.raises(InputError, match="malformed JSON"):
        list(read_vidsitu(str(corrupt)))
    assert list(read_vidsitu(write(tmp_path, "empty.json", []))) == []
    (tmp_path / "zero.json").write_bytes(b" \n")  # empty input, empty output, as from every command
    assert list(read_vidsitu(str(tmp_path / "zero.json"))) == []
    with pytest.raises(InputError, match="expected a JSON list"):
        list(read_vidsitu(write(tmp_path, "obj.json", {"Ev1": {}})))
    data = vidsitu_train()[:1]
    data[0]["Ev1"]["Args"]["Arg1 (thing falling)"] = "homme en combinaison néoprène"
    [record] = [r for r in read_vidsitu(write(tmp_path, "u.json", data)) if r["event"] == "Ev1"]
    assert record["srl"][0]["roles"]["ARG1"] == "homme en combinaison néoprène"
    assert record["objects"][0] == "combinaison néoprène" or record["objects"][0]  # a head word is found


def test_split_from_filename():
    assert split_from_filename("a/vsann_valid_lb.json") == "val"
    assert split_from_filename("dev.json") == "val"
    with pytest.raises(InputError, match="--split"):
        split_from_filename("annotations.json")


def test_imsitu_majority_roles_first_gloss_and_lemma():
    records = list(read_imsitu(str(EXAMPLES / "train.json"), str(EXAMPLES / "imsitu_space.json"), image_root="imgs"))
    assert [r["id"] for r in records] == ["clinging_250", "cutting_101", "eating_33", "riding_17", "strumming_88"]
    cling = records[0]
    assert cling["image"] == "imgs/clinging_250.jpg" and cling["imsitu_verb"] == "clinging"
    # clungto: tree, tree, arm -> tree; place: "", outdoors, "" -> empty, so no ARGM-LOC
    assert cling["srl"][0] == {"verb": "cling", "sense": None, "roles": {"ARG0": "koala", "clungto": "tree"}}
    cut = records[1]["srl"][0]
    assert cut["roles"] == {"ARG0": "man", "item": "bread", "tool": "knife", "ARGM-LOC": "kitchen"}
    assert records[1]["objects"] == ["man", "bread", "knife", "kitchen"]
    assert [r["srl"][0]["verb"] for r in records[2:]] == ["eat", "ride", "strum"]


def test_imsitu_helpers():
    assert majority_value(["a", "b", "b"]) == "b"
    assert majority_value(["a", "b", "c"]) == "a"
    assert imsitu_lemma("baking", "an AGENT bakes a FOOD") == "bake"
    assert imsitu_lemma("cutting", "an AGENT cuts an ITEM") == "cut"
    assert [imsitu_lemma(v) for v in ["riding", "dancing", "dying", "falling", "hoeing"]] == [
        "ride", "dance", "die", "fall", "hoe"]
    # candidates whose third-person forms coincide: ties (tie, not ty), chases (chase, not chas), pushes (push)
    abstracts = {"tying": ("an AGENT ties the ITEM", "tie"), "chasing": ("an AGENT chases a CHASEE", "chase"),
                 "squeezing": ("an AGENT squeezes an ITEM", "squeeze"), "pushing": ("an AGENT pushes an ITEM", "push"),
                 "kissing": ("an AGENT kisses a KISSED", "kiss"), "buzzing": ("an AGENT buzzes", "buzz"),
                 "lying": ("an AGENT lies on a PLACE", "lie"), "staring": ("an AGENT stares at an ITEM", "stare"),
                 "paying": ("an AGENT pays a SELLER", "pay")}
    assert {verb: imsitu_lemma(verb, abstract) for verb, (abstract, _) in abstracts.items()} == {
        verb: lemma for verb, (_, lemma) in abstracts.items()}


def test_vidsitu_objects_skip_pronouns_and_quantities():
    assert [object_of(p) for p in ["he", "herself", "them", "group of men", "a pair of red shoes",
                                   "slice of bread", "man in wetsuit", "piece", "coffee mug"]] == [
        "", "", "", "man", "shoe", "bread", "man", "piece", "mug"]


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["cutting_101.jpg"]["frames"][0].update({"agent": "n99999999"}), "noun 'n99999999'.*not in the imSitu"),
        (lambda d: d["cutting_101.jpg"]["frames"][1].update({"weapon": ""}), r"unknown role\(s\) \['weapon'\]"),
        (lambda d: d["cutting_101.jpg"]["frames"][2].pop("tool"), "a frame lacks role 'tool'"),
        (lambda d: d["cutting_101.jpg"].update({"verb": "juggling"}), "verb 'juggling' is not in"),
        (lambda d: d["riding_17.jpg"].pop("frames"), r"missing field\(s\) \['frames'\]"),
        (lambda d: d["riding_17.jpg"].update({"frames": []}), "non-empty list"),
    ],
)
def test_imsitu_malformed_names_file_and_image(tmp_path, mutate, message):
    data = json.loads((EXAMPLES / "train.json").read_text())
    mutate(data)
    path = write(tmp_path, "train.json", data)
    with pytest.raises(InputError, match=message) as info:
        list(read_imsitu(path, str(EXAMPLES / "imsitu_space.json")))
    assert path in info.value.message and ".jpg" in info.value.message


def test_imsitu_corrupt_empty_unicode_and_missing_space(tmp_path):
    space = str(EXAMPLES / "imsitu_space.json")
    corrupt = tmp_path / "train.json"
    corrupt.write_text('{"a.jpg": {"verb": ', encoding="utf-8")
    with pytest.raises(InputError, match="malformed JSON"):
        list(read_imsitu(str(corrupt), space))
    assert list(read_imsitu(write(tmp_path, "empty.json", {}), space)) == []
    (tmp_path / "zero.json").write_bytes(b"")
    assert list(read_imsitu(str(tmp_path / "zero.json"), space)) == []
    with pytest.raises(InputError, match="malformed JSON"):  # an empty space file is no space file
        list(read_imsitu(str(tmp_path / "zero.json"), str(tmp_path / "zero.json")))
    with pytest.raises(InputError, match="--space"):
        list(read_imsitu(write(tmp_path, "e2.json", {}), ""))
    data = json.loads((EXAMPLES / "train.json").read_text())
    space_data = json.loads((EXAMPLES / "imsitu_space.json").read_text())
    space_data["nouns"]["n10287213"]["gloss"] = ["señor", "caballero"]
    data = {"cortar_ñ.jpg": copy.deepcopy(data["cutting_101.jpg"])}
    [record] = read_imsitu(write(tmp_path, "t.json", data), write(tmp_path, "space.json", space_data))
    assert record["id"] == "cortar_ñ" and record["srl"][0]["roles"]["ARG0"] == "señor"
