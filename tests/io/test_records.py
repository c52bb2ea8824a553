import io

import orjson
import pytest

from raivtools.io import InputError, RecordWriter, iter_records, read_json_file
from raivtools.io.records import record_id, require_fields
from tests.factories import write_jsonl

UNICODE = {"id": "ü-1", "caption": "Café crème 🍰 と 猫", "note": "naïve"}


def test_reads_records_in_order_across_files(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", [{"id": "1"}, {"id": "2"}])
    b = write_jsonl(tmp_path / "b.jsonl", [{"id": "3"}])
    assert [r["id"] for r in iter_records([str(a), str(b)])] == ["1", "2", "3"]


def test_bad_json_names_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "1"}\n\n{"id": 2,,}\n', encoding="utf-8")
    with pytest.raises(InputError) as err:
        list(iter_records([str(path)]))
    assert f"{path}:3: malformed JSON" in err.value.message
    assert err.value.exit_code == 2


@pytest.mark.parametrize("line, kind", [("[1, 2]", "list"), ('"text"', "str"), ("3", "int"), ("null", "NoneType")])
def test_non_object_line_is_an_error(tmp_path, line, kind):
    path = tmp_path / "x.jsonl"
    path.write_text('{"id": "ok"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=rf"x.jsonl:2: expected a JSON object, got {kind}"):
        list(iter_records([str(path)]))


def test_invalid_utf8_is_an_error_with_line(tmp_path):
    path = tmp_path / "latin.jsonl"
    path.write_bytes(b'{"id": "1"}\n{"id": "caf\xe9"}\n')
    with pytest.raises(InputError, match="latin.jsonl:2"):
        list(iter_records([str(path)]))


def test_empty_and_blank_input_gives_nothing(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    blank = tmp_path / "blank.jsonl"
    blank.write_bytes(b"\n  \n")
    assert list(iter_records([str(empty), str(blank)])) == []


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        list(iter_records([str(tmp_path / "nope.jsonl")]))


def test_unicode_and_bom_round_trip(tmp_path):
    path = tmp_path / "u.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + orjson.dumps(UNICODE) + b"\n")
    (record,) = iter_records([str(path)])
    assert record == UNICODE
    out = io.BytesIO()
    with RecordWriter(out) as writer:
        writer.write(record)
    assert out.getvalue().decode("utf-8") == orjson.dumps(UNICODE).decode("utf-8") + "\n"
    assert "🍰" in out.getvalue().decode("utf-8")  # written as UTF-8, not \u escapes


def test_writer_keeps_field_order():
    out = io.BytesIO()
    RecordWriter(out).write({"z": 1, "id": "a", "b": [1, 2]})
    assert out.getvalue() == b'{"z":1,"id":"a","b":[1,2]}\n'


def test_require_fields_names_location():
    with pytest.raises(InputError, match=r"f.jsonl:4: record 'r1' has no 'video' or 'image' field"):
        require_fields({"id": "r1"}, ["video|image"], "f.jsonl:4")
    require_fields({"id": "r1", "image": "x.png"}, ["id", "video|image"], "f.jsonl:4")


def test_read_json_file_reports_line(tmp_path):
    path = tmp_path / "ann.json"
    path.write_text('[\n {"a": 1},\n {"b": }\n]', encoding="utf-8")
    with pytest.raises(InputError, match="ann.json:3: malformed JSON"):
        read_json_file(path)
    (tmp_path / "ok.json").write_text('{"é": "猫"}', encoding="utf-8")
    assert read_json_file(tmp_path / "ok.json") == {"é": "猫"}


def test_record_id_is_a_store_key():
    assert record_id({"id": "clip-ü"}, "f:1") == "clip-ü" and record_id({"id": 391895}, "f:2") == "391895"
    for bad in (None, "", True, 1.5, ["a"]):
        with pytest.raises(InputError, match=r"f:3: 'id' must be a non-empty string or an integer"):
            record_id({"id": bad}, "f:3")
    with pytest.raises(InputError, match="has no 'id'"):
        record_id({}, "f:4")


def test_media_item_names_the_field_that_is_null():
    from raivtools.media.extract import media_item

    with pytest.raises(InputError, match=r"'video' must be a non-empty path string, got None"):
        media_item({"id": "a", "video": None}, "f:1")
    assert media_item({"id": 7, "video": None, "image": "x.png"}, "f:2").kind == "image"
    with pytest.raises(InputError, match="'id' must be"):
        media_item({"id": None, "video": "v.mp4"}, "f:3")
