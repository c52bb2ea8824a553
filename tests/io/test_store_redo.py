"""A shard written again over a done one never leaves the old marker vouching for the new arrays."""

import numpy as np
import pytest

import raivtools.io.store as store_module
from raivtools.io import ArrayStore
from raivtools.io.store import shard_name


def test_a_rewrite_stopped_before_its_marker_leaves_the_shard_partial(tmp_path, monkeypatch):
    writer = ArrayStore.create(tmp_path / "s")
    writer.write_shard(shard_name(0), {"a": {"x": np.zeros(2)}, "b": {"x": np.ones(2)}})
    # the shard is redone over other records (a resume over changed input, a share run again): the run dies
    # after the new .npz is renamed into place, before the new marker is written
    monkeypatch.setattr(store_module, "atomic_write_bytes", lambda path, data: (_ for _ in ()).throw(OSError("killed")))
    with pytest.raises(OSError, match="killed"):
        writer.write_shard(shard_name(0), {"b": {"x": np.full(2, 5.0)}, "c": {"x": np.full(2, 7.0)}})
    # the old marker said "a" is at position 0: in the new arrays that is b's row
    store = ArrayStore(tmp_path / "s")
    assert "a" not in store and len(store) == 0
    assert not writer.is_done(shard_name(0))
