import numpy as np
import pytest

from raivtools.io import ArrayStore, InputError
from raivtools.io.store import iter_chunks, shard_name


def _items(start, n):
    return {f"id{i}": {"frames": np.full((2, 3), i, np.uint8), "ts": np.arange(2, dtype=np.float32) + i}
            for i in range(start, start + n)}


def test_write_and_read_back(tmp_path):
    writer = ArrayStore.create(tmp_path / "s", meta={"kind": "frames", "k": 2})
    writer.write_shard(shard_name(0), _items(0, 3))
    writer.write_shard(shard_name(1), {**_items(3, 1), "bad": {}})
    store = ArrayStore(tmp_path / "s")
    assert len(store) == 5 and "id3" in store and "bad" in store
    assert store.get("id2")["frames"][0, 0] == 2
    assert store.get("bad") == {}
    assert store.meta == {"kind": "frames", "k": 2}
    with pytest.raises(KeyError):
        store.get("missing")


def test_unicode_ids(tmp_path):
    writer = ArrayStore.create(tmp_path / "s")
    writer.write_shard(shard_name(0), {"vidéo/猫 🐈": {"x": np.ones(3)}})
    assert ArrayStore(tmp_path / "s").get("vidéo/猫 🐈")["x"].sum() == 3


def test_refuses_non_empty_store_without_flag(tmp_path):
    ArrayStore.create(tmp_path / "s").write_shard(shard_name(0), _items(0, 1))
    with pytest.raises(InputError, match="pass --resume to continue it or --overwrite"):
        ArrayStore.create(tmp_path / "s")
    with pytest.raises(InputError, match="cannot be used together"):
        ArrayStore.create(tmp_path / "s", resume=True, overwrite=True)


def test_overwrite_starts_over(tmp_path):
    ArrayStore.create(tmp_path / "s").write_shard(shard_name(0), _items(0, 2))
    writer = ArrayStore.create(tmp_path / "s", overwrite=True)
    assert writer.done_ids() == set()
    assert len(ArrayStore(tmp_path / "s")) == 0


def test_interrupted_between_shard_and_marker_is_redone(tmp_path):
    root = tmp_path / "s"
    writer = ArrayStore.create(root, meta={"k": 2})
    writer.write_shard(shard_name(0), _items(0, 2))
    writer.write_shard(shard_name(1), _items(2, 2))
    (root / "shard-00001.json").unlink()  # crash after the .npz was renamed, before the marker
    (root / ".shard-00002.npz.123.tmp").write_bytes(b"half")  # crash mid-write
    assert set(ArrayStore(root).ids()) == {"id0", "id1"}  # readers never trust a partial shard

    resumed = ArrayStore.create(root, meta={"k": 2}, resume=True)
    assert resumed.is_done(shard_name(0)) and not resumed.is_done(shard_name(1))
    assert resumed.done_ids() == {"id0", "id1"}
    assert not (root / "shard-00001.npz").exists() and not list(root.glob(".*.tmp"))
    resumed.write_shard(shard_name(1), _items(2, 2))

    fresh = ArrayStore.create(tmp_path / "fresh", meta={"k": 2})
    fresh.write_shard(shard_name(0), _items(0, 2))
    fresh.write_shard(shard_name(1), _items(2, 2))
    for name in ("shard-00000.npz", "shard-00001.npz", "shard-00001.json"):
        assert (root / name).read_bytes() == (tmp_path / "fresh" / name).read_bytes()


def test_resume_with_other_settings_is_refused(tmp_path):
    ArrayStore.create(tmp_path / "s", meta={"frames": 4}).write_shard(shard_name(0), _items(0, 1))
    with pytest.raises(InputError, match=r"other settings .*\(frames\)"):
        ArrayStore.create(tmp_path / "s", meta={"frames": 8}, resume=True)


def test_stores_are_byte_identical_across_runs(tmp_path):
    for name in ("a", "b"):
        writer = ArrayStore.create(tmp_path / name, meta={"seed": 1})
        writer.write_shard(shard_name(0), _items(0, 3))
    for path in (tmp_path / "a").iterdir():
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes()


def test_not_a_store(tmp_path):
    with pytest.raises(InputError, match="not a raiv store"):
        ArrayStore(tmp_path)


def test_iter_chunks():
    assert list(iter_chunks(range(5), 2)) == [[0, 1], [2, 3], [4]]
    assert list(iter_chunks([], 3)) == []
