"""Opening one feature store that several processes (torchrun ranks, ``--shard I/N`` jobs) write into."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from raivtools.io.errors import InputError
from raivtools.io.store import META_FILE, STORE_FORMAT, STORE_VERSION, ArrayStore, StoreWriter, atomic_write_bytes


def open_shared_store(root: str, meta: dict[str, Any], *, resume: bool, overwrite: bool, shared: bool) -> StoreWriter:
    """A writer for ``root``; with ``shared`` other processes write other shards of it at the same time.

    A single writer goes through :meth:`ArrayStore.create` (non-empty store refused without --resume or
    --overwrite). Shared writers must not remove anything another rank is writing, so they only check that
    the store was made with the same settings (or make it), never clear it, and rewrite only their own shards.

    Raises:
        InputError: ``--overwrite`` with a shared store, or a store made with other settings.
    """
    if not shared:
        return ArrayStore.create(root, meta=meta, resume=resume, overwrite=overwrite)
    if overwrite:
        raise InputError("--overwrite cannot be used with --shard or torchrun (ranks would delete each other's "
                         f"shards); remove {root} before starting the ranks")
    path = Path(root)
    if path.exists() and not path.is_dir():
        raise InputError(f"{path}: exists and is not a directory")
    header_path = path / META_FILE
    wanted = orjson.loads(orjson.dumps(meta))
    if header_path.exists():
        existing = orjson.loads(header_path.read_bytes()).get("meta", {})
        if existing != wanted:
            changed = sorted(k for k in set(existing) | set(wanted) if existing.get(k) != wanted.get(k))
            raise InputError(f"{path}: made with other settings ({', '.join(changed)}); use the same options "
                             "in every share, or remove the store")
    else:
        # every rank writes the same bytes, so racing writers are harmless (each write is a rename)
        header = {"format": STORE_FORMAT, "version": STORE_VERSION, "meta": meta}
        atomic_write_bytes(header_path, orjson.dumps(header))
    return StoreWriter(path, meta, compress=False)
