import numpy as np
import pytest

from raivtools.io import ArrayStore, InputError
from raivtools.io.store import ShardWriteQueue, StoredArray, iter_chunks, shard_name, shard_stats


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


# ---- reading: positioned reads of stored members, lazy arrays, damaged shards


def _one_shard(tmp_path, items, compress=False):
    ArrayStore.create(tmp_path / "s", compress=compress).write_shard(shard_name(0), items)
    return ArrayStore(tmp_path / "s")


def test_every_dtype_and_shape_round_trips(tmp_path):
    """The shard writer's zip is what zipfile (CRCs) and np.load accept, and the reader gives the arrays back."""
    import zipfile

    rng = np.random.default_rng(0)
    arrays = {"frames": rng.integers(0, 255, (4, 9, 7, 3), dtype=np.uint8),
              "feats": rng.normal(size=(4, 5)).astype(np.float16), "fortran": np.asfortranarray(rng.normal(size=(3, 5))),
              "strided": np.arange(20.0).reshape(4, 5)[:, ::2], "empty": np.zeros((0, 7), np.float32),
              "scalar": np.float64(2.5), "flags": np.array([True, False]), "text.légende 猫": np.ones(3),
              "dates": np.array(["2020-01-01"], dtype="datetime64[D]"), "words": np.array(["héllo", "x"]),
              "records": np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8")])}
    store = _one_shard(tmp_path, {"clip": arrays})
    shard = tmp_path / "s" / f"{shard_name(0)}.npz"
    with zipfile.ZipFile(shard) as archive:
        assert archive.testzip() is None
    with np.load(shard) as loaded:
        assert sorted(loaded.files) == sorted(f"0.{name}" for name in arrays)
        assert all(np.array_equal(loaded[f"0.{name}"], array) for name, array in arrays.items())
    got = store.get("clip")
    for name, array in arrays.items():
        assert got[name].dtype == np.asarray(array).dtype and np.array_equal(got[name], array), name
    assert got["fortran"].flags.f_contiguous


def test_deflated_shards_read_like_stored_ones(tmp_path):
    items = {"a": {"x": np.arange(12, dtype=np.int32).reshape(3, 4)}}
    assert np.array_equal(_one_shard(tmp_path, items, compress=True).get("a")["x"], items["a"]["x"])
    lazy = ArrayStore(tmp_path / "s").lazy("a", "x")
    assert isinstance(lazy, np.ndarray)  # a deflated member cannot be read lazily: it is read at once


def test_lazy_rows_read_straight_into_a_buffer(tmp_path):
    frames = np.arange(5 * 2 * 3, dtype=np.uint8).reshape(5, 2, 3)
    lazy = _one_shard(tmp_path, {"v": {"frames": frames}}).lazy("v", "frames")
    assert isinstance(lazy, StoredArray) and lazy.shape == (5, 2, 3) and len(lazy) == 5
    rows = lazy[1:4]
    assert rows.shape == (3, 2, 3) and np.array_equal(rows.read(), frames[1:4])
    buffer = np.zeros((6, 2, 3), np.uint8)
    rows[1:].read_into(buffer[2:4])
    assert np.array_equal(buffer[2:4], frames[2:4]) and not buffer[:2].any() and not buffer[4:].any()
    assert np.array_equal(np.asarray(lazy), frames)
    with pytest.raises(ValueError, match="C-contiguous uint8"):
        rows.read_into(np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(ValueError, match="step 1"):
        lazy[::2]


def test_lazy_reads_from_many_threads(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    items = {f"id{i}": {"frames": np.full((3, 64, 64, 3), i, np.uint8)} for i in range(40)}
    store = _one_shard(tmp_path, items)
    with ThreadPoolExecutor(8) as pool:
        sums = list(pool.map(lambda i: int(store.lazy(f"id{i}", "frames").read().sum()), range(40)))
    assert sums == [i * 3 * 64 * 64 * 3 for i in range(40)]


@pytest.mark.parametrize("threads", [1, 3])
def test_copy_pieces_fills_every_target_from_stores_and_memory(tmp_path, monkeypatch, threads):
    from raivtools.io import store as store_module

    monkeypatch.setattr(store_module, "PARALLEL_COPY_BYTES", 0)  # split even these small copies over the threads
    items = {f"clip {i} 猫": {"frames": np.full((1 + i % 3, 8, 8, 3), i, np.uint8)} for i in range(10)}
    store = _one_shard(tmp_path, items)
    sources = [store.lazy(key, "frames") if i % 2 else items[key]["frames"] for i, key in enumerate(items)]
    sources.append(np.zeros((0, 8, 8, 3), np.uint8))  # an empty piece
    out = np.full((sum(len(s) for s in sources), 8, 8, 3), 255, np.uint8)
    copies, position = [], 0
    for source in sources:
        copies.append((source, out[position: position + len(source)]))
        position += len(source)
    store_module.copy_pieces(copies, threads=threads)
    assert np.array_equal(out, np.concatenate([items[key]["frames"] for key in items]))


def test_copy_pieces_raises_a_truncated_member_read_in_a_thread(tmp_path, monkeypatch):
    from raivtools.io import store as store_module

    monkeypatch.setattr(store_module, "PARALLEL_COPY_BYTES", 0)
    items = {f"c{i}": {"frames": np.full((2, 64, 64, 3), i, np.uint8)} for i in range(4)}
    store = _one_shard(tmp_path, items)
    pieces = [store.lazy(key, "frames") for key in items]
    shard = tmp_path / "s" / f"{shard_name(0)}.npz"
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])  # the last members are cut off
    out = np.empty((8, 64, 64, 3), np.uint8)
    with pytest.raises(InputError, match="truncated"):
        store_module.copy_pieces([(piece, out[2 * i: 2 * i + 2]) for i, piece in enumerate(pieces)], threads=2)


def test_copy_pieces_finishes_every_copy_before_raising(monkeypatch):
    # the caller frees its targets once the error reaches it: no thread may still be writing into them
    from raivtools.io import store as store_module

    monkeypatch.setattr(store_module, "PARALLEL_COPY_BYTES", 0)
    big = np.ones((64, 1024, 1024), np.uint8)
    targets = [np.zeros_like(big), np.zeros_like(big)]  # equal bytes: one part per thread
    with pytest.raises(ValueError):  # the first part's source has the wrong shape, and fails at once
        store_module.copy_pieces([(big.reshape(32, 2048, 1024), targets[0]), (big, targets[1])], threads=2)
    assert targets[1].all()


def test_unicode_directory_and_ids_read_lazily(tmp_path):
    writer = ArrayStore.create(tmp_path / "magasin 倉庫")
    writer.write_shard(shard_name(0), {"vidéo 猫": {"frames": np.ones((2, 2), np.uint8)}})
    assert ArrayStore(tmp_path / "magasin 倉庫").lazy("vidéo 猫", "frames").read().sum() == 4


@pytest.mark.parametrize("damage", ["empty", "garbage", "truncated", "not-npz"])
def test_damaged_shard_is_a_clear_error(tmp_path, damage):
    store = _one_shard(tmp_path, _items(0, 3))
    shard = tmp_path / "s" / f"{shard_name(0)}.npz"
    data = shard.read_bytes()
    if damage == "not-npz":
        np.save(tmp_path / "plain.npy", np.zeros(3))
        damaged = (tmp_path / "plain.npy").read_bytes()
    else:
        damaged = {"empty": b"", "garbage": b"\x00garbage" * 50, "truncated": data[: len(data) // 2]}[damage]
    shard.write_bytes(damaged)
    with pytest.raises(InputError, match=r"shard-00000.npz: unreadable store shard .*rerun the command"):
        store.get("id1")


def test_member_that_disagrees_with_its_header_is_an_error(tmp_path):
    store = _one_shard(tmp_path, {"a": {"x": np.zeros((4, 5), np.float32)}})
    shard = tmp_path / "s" / f"{shard_name(0)}.npz"
    shard.write_bytes(shard.read_bytes().replace(b"(4, 5)", b"(9, 5)"))
    with pytest.raises(InputError, match="does not match its header"):
        store.get("a")


def test_shard_write_queue_releases_records_in_order_once_written(tmp_path):
    writer = ArrayStore.create(tmp_path / "s", meta={})
    items = {"a": {"x": np.ones(3)}, "b": {}}
    with ShardWriteQueue(writer, "test-writer") as queue:
        queue.submit(shard_name(0), items, shard_stats(items, {"b": "broken"}), [{"id": "a"}, {"id": "b"}])
        queue.release([{"id": "resumed"}])  # a shard an earlier run wrote: released behind shard 0
        queue.submit(shard_name(2), {"c": {"x": np.zeros(2)}}, None, [{"id": "c"}])
        first = list(queue.written(keep=1))
        assert [r["id"] for r in first] == ["a", "b", "resumed"]
        assert writer.is_done(shard_name(0))  # what was released is on disk
        assert [r["id"] for r in queue.written()] == ["c"]
    store = ArrayStore(tmp_path / "s")
    assert sorted(store.ids()) == ["a", "b", "c"] and store.fields("b") == []


def test_shard_write_queue_raises_a_failed_write_before_its_records(tmp_path):
    writer = ArrayStore.create(tmp_path / "s", meta={})
    unwritable = {"a": {"x": np.array([object()], dtype=object)}}  # stores refuse pickled objects
    with ShardWriteQueue(writer, "test-writer") as queue:
        queue.submit(shard_name(0), unwritable, None, [{"id": "a"}])
        released = []
        with pytest.raises(ValueError, match="allow_pickle"):
            released.extend(queue.written())
        assert released == [] and not writer.is_done(shard_name(0))


def test_directory_parse_agrees_with_zipfile_and_leaves_odd_zips_to_it(tmp_path):
    import io
    import zipfile

    from raivtools.io.store import ShardFile, _plain_zip_members

    store = _one_shard(tmp_path, {"vidéo 猫": {"frames": np.ones((2, 3), np.uint8)}, "plain": {"x": np.zeros(4)}})
    np.savez(tmp_path / "numpy.npz", a=np.arange(3), b=np.ones((2, 2)))  # zip64 extras, written by zipfile
    for path in (tmp_path / "s" / f"{shard_name(0)}.npz", tmp_path / "numpy.npz"):
        with zipfile.ZipFile(path) as archive:
            expected = {i.filename: (i.header_offset, i.compress_type, i.file_size) for i in archive.infolist()}
        with open(path, "rb") as handle:
            assert _plain_zip_members(handle.fileno()) == expected
    assert store.get("vidéo 猫")["frames"].sum() == 6
    # a zip with a comment is left to zipfile, and still reads
    member = io.BytesIO()
    np.save(member, np.arange(5))
    commented = tmp_path / "commented.npz"
    with zipfile.ZipFile(commented, "w") as archive:
        archive.writestr("k.npy", member.getvalue())
        archive.comment = b"made elsewhere"
    with open(commented, "rb") as handle:
        assert _plain_zip_members(handle.fileno()) is None
    np.testing.assert_array_equal(ShardFile(commented)["k"], np.arange(5))
