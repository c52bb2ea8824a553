"""Reading scored records, building the rows, the four formats and the training curves (library level)."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest

from raivtools import report
from raivtools.io.errors import InputError
from tests.factories import write_jsonl


def pair(rid, kind, template, label, score, **extra):
    return {"id": rid, "kind": kind, "left": {"id": "m1", "image": "a.png"}, "right": {"id": "m2", "video": "b.mp4"},
            "statement": "both show a dog", "label": label, "template": template, "split": "test",
            **({} if score is None else {"score": score}), **extra}


def caption(rid, neg_type, pos, neg, negative="a dog eats a cat"):
    return {"id": rid, "video": f"{rid}.mp4", "caption": "a dog chases a cat", "negative": negative,
            "neg_type": neg_type, "split": "test", "score": {"pos": pos, "neg": neg}}


def ranked(rid, t2v, v2t):
    return {"id": rid, "video": f"{rid}.mp4", "caption": "a dog", "split": "test", "rank_t2v": t2v, "rank_v2t": v2t}


def mixed_records() -> list[dict]:
    """Every kind of scored record; the expected numbers are worked out in the comments of the tests."""
    return [
        pair("p1", "im-im", "t-obj", True, 0.8),
        pair("p2", "im-im", "t-act", False, 0.3),
        pair("p3", "vid-vid", "t-obj", True, 0.5),
        pair("p4", "vid-vid", "t-act", False, 0.9, reason={"choices": ["a", "b", "c"], "answer": 2},
             reason_scores=[0.1, 0.2, 0.7], reason_pred=2),
        pair("p5", "vid-vid", "t-act", True, 0.7, reason={"choices": ["a", "b", "c"], "answer": 0},
             reason_scores=[0.4, 0.4, 0.2], reason_pred=0),
        pair("p6", "im-im", "t-obj", True, None, status="error", error="feature missing"),
        pair("p7", "im-im", "t-obj", True, None),
        caption("a1", "action", 0.9, 0.8),
        caption("a2", "action", 0.4, 0.1),
        caption("a3", "object", 0.6, 0.7),
        caption("a4", "object", 0.7, None, negative=None),
        {**caption("a5", "object", 0.7, None, negative=None), "score": 0.7},
        ranked("r1", 1, 2),
        ranked("r2", 3, 1),
        ranked("r3", 12, 6),
        {"id": "r4", "video": "r4.mp4", "caption": "a dog"},
    ]


def table2_runs(tmp_path):
    vanilla = [caption("c1", "action", 0.6, 0.4), caption("c2", "action", 0.4, 0.6),
               caption("c3", "attribute", 0.7, 0.2)]
    navero = [caption("c1", "action", 0.9, 0.1), caption("c2", "action", 0.8, 0.3),
              caption("c3", "attribute", 0.55, 0.6)]
    return (write_jsonl(tmp_path / "vanilla.jsonl", vanilla), write_jsonl(tmp_path / "navero.jsonl", navero))


def values(rows, key, kind="all", group=()):
    """The per-run values (in %, or ranks) of one row."""
    [row] = [r for r in rows if r.spec.key == key and r.kind == kind and r.group == group]
    return [round(report._shown(row.spec, c.value), 4) if not math.isnan(c.value) else None for c in row.cells]


def test_mixed_file_reports_every_metric_that_applies(tmp_path):
    run = report.read_scored_run(str(write_jsonl(tmp_path / "m.jsonl", mixed_records())), "m", [])
    rows = report.build_rows([run], [])
    assert [r.spec.key for r in rows] == [s.key for s in report.METRICS]
    assert values(rows, "pair_acc") == [60.0]  # p1, p2, p5 right; p3 at 0.5 and p4 wrong
    assert values(rows, "reason_acc") == [50.0]  # p4 right; p5 tied for the top
    assert values(rows, "aaro_acc") == [66.6667]  # a1, a2 right; a3 wrong
    assert values(rows, "aaro_acc_hat") == [50.0]  # pos > .5: a1, a3; neg < .5: a2 -> 3 / 6
    assert values(rows, "t2v_r1") + values(rows, "t2v_r5") + values(rows, "t2v_r10") == [33.3333, 66.6667, 66.6667]
    assert values(rows, "t2v_ravg") == [55.5556] and values(rows, "t2v_medr") == [3.0]
    assert values(rows, "v2t_r10") == [100.0] and values(rows, "v2t_medr") == [2.0]
    assert (run.records, run.used) == (16, 11)
    assert dict(run.not_used) == {"status error": 1, "pair without a score": 1,
                                  "negative caption not scored (null)": 2, "no score of any kind": 1}
    line = report.describe_run(run)
    assert "16 records, 11 used" in line and "1 status error" in line


def test_grouping_gives_groups_macro_avg_and_pooled(tmp_path):
    run = report.read_scored_run(str(write_jsonl(tmp_path / "m.jsonl", mixed_records())), "m", ["kind"])
    rows = report.build_rows([run], ["kind"])
    assert values(rows, "pair_acc", "group", ("im-im",)) == [100.0]
    assert values(rows, "pair_acc", "group", ("vid-vid",)) == [33.3333]
    assert values(rows, "pair_acc", "avg") == [66.6667]  # (100 + 33.33) / 2, the papers' Avg
    assert values(rows, "pair_acc", "all") == [60.0]
    # no caption record has a kind: AARO gets only its pooled row
    assert [(r.kind, r.group) for r in rows if r.spec.key == "aaro_acc"] == [("all", ())]


def test_records_without_the_field_form_the_last_group(tmp_path):
    records = [pair("p1", "vid-vid", "t", True, 0.9), pair("p2", "im-im", "t", True, 0.1),
               pair("p3", None, "t", True, 0.9)]
    del records[2]["kind"]
    run = report.read_scored_run(str(write_jsonl(tmp_path / "p.jsonl", records)), "p", ["kind"])
    rows = report.build_rows([run], ["kind"])
    assert [(r.kind, r.group) for r in rows] == [("group", ("im-im",)), ("group", ("vid-vid",)),
                                                ("group", (report.MISSING,)), ("avg", ()), ("all", ())]
    assert values(rows, "pair_acc", "avg") == [pytest.approx(200 / 3, abs=1e-3)]


def test_crossed_groups_in_paper_order(tmp_path):
    records = [caption(f"c{i}", t, 0.9, 0.1) for i, t in enumerate(["object", "relation", "zzz", "action", "mixed"])]
    records[0]["split"] = "val"
    run = report.read_scored_run(str(write_jsonl(tmp_path / "c.jsonl", records)), "c", ["neg_type", "split"])
    groups = [r.group for r in report.build_rows([run], ["neg_type", "split"]) if r.spec.key == "aaro_acc"
              and r.kind == "group"]
    assert groups == [("action", "test"), ("relation", "test"), ("object", "val"), ("mixed", "test"),
                      ("zzz", "test")]


def test_group_order_is_total_whatever_the_input_order():
    # the groups come from a set, so an order that leaves ties ("1" and "1.0") or nan keys to the input order
    # changes with PYTHONHASHSEED from one run to the next
    groups = [("1.0",), ("nan",), ("2",), ("1",), ("inf",), ("b",), (report.MISSING,)]
    orders = {tuple(sorted(g, key=lambda x: report._sort_key(["rounds"], x))) for g in (groups, groups[::-1])}
    assert orders == {(("1",), ("1.0",), ("2",), ("b",), ("inf",), ("nan",), (report.MISSING,))}


def test_avg_row_flags_runs_averaged_over_different_numbers_of_groups(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", [caption("c1", "action", 0.9, 0.1), caption("c2", "action", 0.9, 0.1),
                                           caption("c3", "object", 0.1, 0.9)])
    b = write_jsonl(tmp_path / "b.jsonl", [caption(f"c{i}", "action", 0.9, 0.1) for i in range(3)])
    runs = [report.read_scored_run(str(p), p.stem, ["neg_type"]) for p in (a, b)]
    rows = report.build_rows(runs, ["neg_type"])
    text = report.render(runs, rows, ["neg_type"], "table")
    avg_line = next(line.split() for line in text.splitlines() if "AARO acc " in line and " avg " in line)
    assert avg_line[-4:] == ["50.00", "100.00", "2/1", "groups"]  # 3 records each, but 2 groups against 1
    document = json.loads(report.render(runs, rows, ["neg_type"], "json"))
    avg_row = next(r for r in document["rows"] if r["metric"] == "aaro_acc" and r["row"] == "avg")
    assert avg_row["values"] == {"a": {"value": 50.0, "n": 3, "groups": 2}, "b": {"value": 100.0, "n": 3, "groups": 1}}
    same_groups = [report.read_scored_run(str(a), "a", ["neg_type"]),
                   report.read_scored_run(str(write_jsonl(tmp_path / "c.jsonl", [caption("c1", "action", 0.9, 0.1),
                                                                             caption("c3", "object", 0.1, 0.9)])),
                                          "c", ["neg_type"])]
    text = report.render(same_groups, report.build_rows(same_groups, ["neg_type"]), ["neg_type"], "table")
    assert "groups" not in text  # 3 and 2 records, but both over the same 2 groups


def test_group_value_of_nested_and_non_string_fields():
    record = {"left": {"kind": "image"}, "label": True, "n": 3, "none": None}
    assert report.group_value(record, "left.kind") == "image"
    assert report.group_value(record, "label") == "true"
    assert report.group_value(record, "n") == "3"
    assert report.group_value(record, "none") == report.group_value(record, "left.nope") == report.MISSING


def test_two_runs_side_by_side_table2_like(tmp_path):
    paths = table2_runs(tmp_path)
    runs = [report.read_scored_run(str(p), n, ["neg_type"]) for p, n in zip(paths, ["Vanilla", "NAVERO"])]
    rows = report.build_rows(runs, ["neg_type"])
    assert values(rows, "aaro_acc", "group", ("action",)) == [50.0, 100.0]
    assert values(rows, "aaro_acc", "group", ("attribute",)) == [100.0, 0.0]
    assert values(rows, "aaro_acc", "avg") == [75.0, 50.0]
    assert values(rows, "aaro_acc_hat", "group", ("attribute",)) == [100.0, 50.0]  # navero: pos right, neg wrong
    text = report.render(runs, rows, ["neg_type"], "table")
    lines = text.splitlines()
    assert lines[0].split() == ["metric", "neg_type", "Vanilla", "NAVERO", "n"]
    assert lines[2].split() == ["AARO", "acc", "action", "50.00", "100.00", "2"]
    assert "AARO acc_hat  avg" in text


def test_group_missing_from_one_run_shows_a_dash_and_null(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", [caption("c1", "action", 0.9, 0.1), caption("c2", "object", 0.9, 0.1)])
    b = write_jsonl(tmp_path / "b.jsonl", [caption("c1", "action", 0.1, 0.9)])
    runs = [report.read_scored_run(str(p), p.stem, ["neg_type"]) for p in (a, b)]
    rows = report.build_rows(runs, ["neg_type"])
    assert values(rows, "aaro_acc", "group", ("object",)) == [100.0, None]
    assert values(rows, "aaro_acc", "avg") == [100.0, 0.0]  # b's empty object group is left out
    text = report.render(runs, rows, ["neg_type"], "table")
    assert [line.split() for line in text.splitlines() if "object" in line][0][-3:] == ["100.00", "-", "1/0"]
    avg_line = next(line.split() for line in text.splitlines() if "AARO acc " in line and " avg " in line)
    assert avg_line[-4:] == ["100.00", "0.00", "2/1", "groups"]
    document = json.loads(report.render(runs, rows, ["neg_type"], "json"))
    object_row = next(r for r in document["rows"] if r["group"] == {"neg_type": "object"})
    assert object_row["values"]["b"] == {"value": None, "n": 0}


def test_formats_parse_back(tmp_path):
    paths = table2_runs(tmp_path)
    runs = [report.read_scored_run(str(p), n, ["neg_type"]) for p, n in zip(paths, ["vanilla", "navero|neg"])]
    rows = report.build_rows(runs, ["neg_type"])

    parsed = list(csv.DictReader(io.StringIO(report.render(runs, rows, ["neg_type"], "csv"))))
    assert len(parsed) == len(rows)
    first = parsed[0]
    assert (first["metric"], first["neg_type"], first["vanilla"], first["navero|neg"], first["n:vanilla"]) == \
        ("aaro_acc", "action", "50.0", "100.0", "2")
    assert parsed[3]["neg_type"] == "all" and float(parsed[3]["vanilla"]) == pytest.approx(200 / 3)

    document = json.loads(report.render(runs, rows, ["neg_type"], "json"))
    assert document["by"] == ["neg_type"] and [r["name"] for r in document["runs"]] == ["vanilla", "navero|neg"]
    assert document["rows"][0] == {"metric": "aaro_acc", "label": "AARO acc", "unit": "%", "row": "group",
                                   "group": {"neg_type": "action"},
                                   "values": {"vanilla": {"value": 50.0, "n": 2},
                                              "navero|neg": {"value": 100.0, "n": 2}}}

    markdown = report.render(runs, rows, ["neg_type"], "markdown").splitlines()
    assert markdown[1] == "| --- | --- | ---: | ---: | ---: |"
    cells = [c.strip() for c in markdown[0].strip("|").split(" | ")]
    assert cells == ["metric", "neg_type", "vanilla", "navero\\|neg", "n"]  # a | in a name is escaped
    assert all(line.count(" | ") == 4 for line in markdown[2:])


def test_no_rows_render_nothing_but_json_and_the_csv_header(tmp_path):
    run = report.read_scored_run(str(write_jsonl(tmp_path / "e.jsonl", [])), "e", [])
    assert report.build_rows([run], []) == []
    assert report.render([run], [], [], "table") == report.render([run], [], [], "markdown") == ""
    assert report.render([run], [], [], "csv").splitlines() == ["metric,group,e,n:e"]
    assert json.loads(report.render([run], [], [], "json"))["rows"] == []


def test_unicode_names_and_groups_stay_aligned(tmp_path):
    path = write_jsonl(tmp_path / "u.jsonl", [caption("c1", "動作", 0.9, 0.1), caption("c2", "objet-é", 0.1, 0.9)])
    runs = [report.read_scored_run(str(path), "模型", ["neg_type"])]
    text = report.render(runs, report.build_rows(runs, ["neg_type"]), ["neg_type"], "table")
    assert "模型" in text and "動作" in text
    from rich.cells import cell_len

    lines = [line for line in text.splitlines()[2:] if line.startswith("AARO acc ")]
    value_ends = {cell_len(line[: line.rindex(line.split()[3]) + len(line.split()[3])]) for line in lines}
    assert len(lines) == 4
    assert len(value_ends) == 1  # right-aligned numbers end in one column despite double-width characters


@pytest.mark.parametrize(("record", "message"), [
    (pair("x", "im-im", "t", "yes", 0.3), "m.jsonl:1: record 'x': label must be true or false"),
    (pair("x", "im-im", "t", True, "0.3"), "m.jsonl:1: record 'x': score must be a number"),
    (caption("x", "action", 0.9, "high"), "m.jsonl:1: record 'x': score.neg must be a number"),
    ({"id": "x", "score": {"neg": 0.2}}, "m.jsonl:1: record 'x': score: record"),
    (ranked("x", 0, 1), "m.jsonl:1: record 'x': rank_t2v must be a 1-based whole rank"),
    (ranked("x", 1, 2.5), "rank_v2t must be a 1-based whole rank"),
    ({"id": "x", "reason": {"choices": ["a", "b"], "answer": 1}, "reason_scores": [0.1, 0.2, 0.3]},
     "reason_scores must be one number per choice"),
    ({"id": "x", "reason": {"choices": ["a", "b"], "answer": 5}, "reason_pred": 1}, "reason.answer must index"),
    ({"id": "x", "reason": {"choices": ["a", "b", "c"], "answer": 2}, "reason_pred": 3},
     "reason_pred must be a choice index among 3 choices (0-based), got 3"),
    ({"id": "x", "negative": "a cat", "score": 0.4}, 'its score must be {"pos"'),
    ({"id": "x", "score": 0.4}, "m.jsonl:1: record 'x' has no 'label' field"),
])
def test_wrongly_typed_scores_name_file_and_line(tmp_path, record, message):
    path = write_jsonl(tmp_path / "m.jsonl", [record])
    with pytest.raises(InputError) as error:
        report.read_scored_run(str(path), "m", [])
    assert message in error.value.message


def test_reasoning_from_predictions_only(tmp_path):
    records = [{"id": "a", "reason": {"choices": ["x", "y", "z"], "answer": 1}, "reason_pred": 1},
               {"id": "b", "reason": {"choices": ["x", "y", "z"], "answer": 1}, "reason_pred": 2},
               {"id": "c", "reason": {"choices": ["x", "y", "z"], "answer": 0}}]
    run = report.read_scored_run(str(write_jsonl(tmp_path / "r.jsonl", records)), "r", [])
    assert values(report.build_rows([run], []), "reason_acc") == [50.0]
    assert run.not_used == {"reasoning without reason_scores": 1}


def write_run(directory, losses, accs, extra_lines=()):
    directory.mkdir(parents=True)
    (directory / "config.json").write_text('{"arch": "navero"}')
    lines = [{"event": "start"}]
    lines += [{"event": "epoch", "epoch": e, "step": 10 * (e + 1), "train_loss": loss, "lr": 1e-4,
               "val": {"loss": loss + 0.1, "aaro_acc": acc, "pair_acc": acc / 2}}
              for e, (loss, acc) in enumerate(zip(losses, accs))]
    write_jsonl(directory / "metrics.jsonl", [*lines, *extra_lines])
    return directory


def test_training_log_ignores_other_events_and_keeps_the_last_line_of_an_epoch(tmp_path):
    run = write_run(tmp_path / "run", [0.9, 0.7], [0.5, 0.6],
                    extra_lines=[{"event": "epoch", "epoch": 1, "train_loss": 0.65, "val": {"aaro_acc": 0.62}},
                                 {"event": "nan", "step": 30}])
    log = report.read_training_log(run)
    assert log.name == "run" and log.epochs == [0, 1] and log.train_loss == [0.9, 0.65]
    assert log.val[1] == {"aaro_acc": 0.62}


def test_plot_writes_a_png_from_two_run_dirs(tmp_path):
    pytest.importorskip("matplotlib")
    logs = [report.read_training_log(write_run(tmp_path / "vanilla", [0.9, 0.7, 0.6], [0.5, 0.55, 0.6])),
            report.read_training_log(write_run(tmp_path / "navero", [0.8, 0.5, 0.3], [0.5, 0.7, 0.8]))]
    out = tmp_path / "curves.png"
    assert report.plot_curves(logs, out) == ["loss", "aaro_acc", "pair_acc"]
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image

    assert Image.open(out).size[0] > Image.open(out).size[1]  # three panels side by side


def test_training_log_errors(tmp_path):
    with pytest.raises(InputError, match="no metrics.jsonl"):
        report.read_training_log(tmp_path)
    (tmp_path / "metrics.jsonl").write_text('{"event": "epoch", "epoch": 0}\n{"event": "epoch", "epo')
    with pytest.raises(InputError, match="metrics.jsonl:2: malformed JSON"):
        report.read_training_log(tmp_path)
    write_jsonl(tmp_path / "metrics.jsonl", [{"event": "epoch", "epoch": 0}, {"event": "epoch", "epoch": 1, "val": [1]}])
    with pytest.raises(InputError, match="metrics.jsonl:2: 'val' must be an object"):
        report.read_training_log(tmp_path)


def test_caption_scored_without_negative_or_label_is_counted_not_an_error(tmp_path):
    # raiv score writes a plain p(T|V) for video-text records without a negative (e.g. with --task retrieval)
    records = [{**ranked("r1", 1, 2), "score": 0.8}, {"id": "r2", "video": "r2.mp4", "caption": "a dog", "score": 0.4}]
    run = report.read_scored_run(str(write_jsonl(tmp_path / "r.jsonl", records)), "r", [])
    assert run.used == 1 and run.not_used == {"no score of any kind": 1}
    assert values(report.build_rows([run], []), "t2v_r1") == [100.0]
