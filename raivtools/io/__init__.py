"""Streams (JSONL records), array stores (NPZ shards) and the stderr side of every command."""

from raivtools.io.errors import InputError
from raivtools.io.records import iter_records, read_json_file, RecordWriter
from raivtools.io.report import RunSummary, log, progress, warn
from raivtools.io.store import ArrayStore, StoreWriter

__all__ = [
    "ArrayStore",
    "InputError",
    "RecordWriter",
    "RunSummary",
    "StoreWriter",
    "iter_records",
    "log",
    "progress",
    "read_json_file",
    "warn",
]
