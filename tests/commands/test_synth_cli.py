"""`raiv synth` as a user runs it: streams, paths as given, worker-independent bytes, refusing to clobber."""

from __future__ import annotations

from pathlib import Path

import orjson

ARGS = ("--n", "12", "--seed", "7", "--size", "64", "--frames-per-clip", "12", "--image-fraction", "0.4")


def media_bytes(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "media").iterdir())}


def test_help_has_example(raiv):
    result = raiv("synth", "--help")
    assert result.returncode == 0 and "Example:" in result.text and "raiv synth --out" in result.text


def test_records_on_stdout_paths_as_given_and_same_bytes_for_any_worker_count(raiv, tmp_path):
    runs = []
    for workers in ("1", "2"):
        cwd = tmp_path / f"w{workers}"
        cwd.mkdir()
        result = raiv("synth", "--out", "toy/", *ARGS, "--workers", workers, cwd=cwd)
        assert result.returncode == 0, result.stderr
        assert "raiv synth: 12 items" in result.stderr
        runs.append((result.stdout, media_bytes(cwd / "toy")))
        records = result.records()
        assert [r["id"] for r in records] == [f"synth-7-{i:06d}" for i in range(12)]
        for record in records:
            path = record.get("video") or record["image"]
            assert path == f"toy/media/{record['id']}.{'mp4' if 'video' in record else 'png'}"
            assert (cwd / path).is_file()
        assert orjson.loads((cwd / "toy" / "synth.json").read_bytes())["config"]["seed"] == 7
    assert runs[0] == runs[1]
    assert len(runs[0][1]) == 12


def test_refuses_non_empty_out_unless_overwrite(raiv, tmp_path):
    assert raiv("synth", "--out", str(tmp_path / "toy"), "--n", "2", "--size", "64", "--workers", "1").returncode == 0
    refused = raiv("synth", "--out", str(tmp_path / "toy"), "--n", "2", "--size", "64", "--workers", "1")
    assert refused.returncode == 2 and "--overwrite" in refused.stderr and refused.stdout == b""
    again = raiv("synth", "--out", str(tmp_path / "toy"), "--n", "3", "--size", "64", "--overwrite", "--workers", "1")
    assert again.returncode == 0, again.stderr
    assert len(again.records()) == 3 and len(list((tmp_path / "toy" / "media").iterdir())) == 3
    (tmp_path / "toy" / "notes.txt").write_text("mine")
    foreign = raiv("synth", "--out", str(tmp_path / "toy"), "--n", "2", "--overwrite")
    assert foreign.returncode == 2 and "notes.txt" in foreign.stderr
    assert (tmp_path / "toy" / "notes.txt").read_text() == "mine"


def test_bad_options_exit_2(raiv, tmp_path):
    (tmp_path / "file").write_text("x")
    assert raiv("synth", "--out", str(tmp_path / "file"), "--n", "1").returncode == 2
    odd = raiv("synth", "--out", str(tmp_path / "a"), "--size", "65")
    assert odd.returncode == 2 and "even" in odd.stderr
    assert raiv("synth", "--out", str(tmp_path / "b"), "--image-fraction", "1.5").returncode == 2
    assert raiv("synth", "--n", "1").returncode == 2  # --out is required


def test_zero_items_give_empty_output(raiv, tmp_path):
    result = raiv("synth", "--out", str(tmp_path / "none"), "--n", "0")
    assert result.returncode == 0 and result.stdout == b""


def test_unicode_and_spaces_in_out_path(raiv, tmp_path):
    import av

    out = tmp_path / "tøy 视频 🎬" / "sub dir"
    result = raiv("synth", "--out", str(out), "--n", "3", "--image-fraction", "0", "--size", "64", "--workers", "1")
    assert result.returncode == 0, result.stderr
    for record in result.records():
        assert record["video"].startswith(str(out))
        with av.open(record["video"]) as container:
            assert sum(1 for _ in container.decode(video=0)) == 24
