import numpy as np

from raivtools.io.store import ArrayStore, shard_name
from raivtools.media.store import open_shared_store


def test_a_reader_sees_shards_finished_after_it_opened(tmp_path):
    """encode reads a frame store that extract-frames upstream of the pipe is still writing."""
    writer = ArrayStore.create(tmp_path / "s", meta={"kind": "frames"})
    writer.write_shard(shard_name(0), {"a": {"frames": np.zeros((1, 2, 2, 3), np.uint8)}})
    reader = ArrayStore(tmp_path / "s")
    writer.write_shard(shard_name(1), {"b": {"frames": np.ones((1, 2, 2, 3), np.uint8)}})
    assert "b" not in reader
    assert reader.refresh() == 1 and reader.get("b")["frames"].max() == 1
    assert reader.refresh() == 0 and len(reader) == 2


def test_shared_store_checks_settings_and_refuses_overwrite(tmp_path):
    import pytest

    from raivtools.io.errors import InputError

    open_shared_store(str(tmp_path / "f"), {"model": "m"}, resume=False, overwrite=False, shared=True)
    open_shared_store(str(tmp_path / "f"), {"model": "m"}, resume=False, overwrite=False, shared=True)
    with pytest.raises(InputError, match="other settings"):
        open_shared_store(str(tmp_path / "f"), {"model": "other"}, resume=False, overwrite=False, shared=True)
    with pytest.raises(InputError, match="--overwrite"):
        open_shared_store(str(tmp_path / "f"), {"model": "m"}, resume=False, overwrite=True, shared=True)
