"""JSONL records in and out: streaming, order-keeping, and exact about where bad input is.

Every command reads the files named as arguments, or standard input for ``-`` or no argument, and writes
one JSON object per line to standard output. Records are plain dicts; commands add their own fields and keep
every other one in place.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import orjson

from raivtools.io.errors import InputError

STDIN_NAMES = ("-", "")
_BOM = b"\xef\xbb\xbf"


def source_name(path: str) -> str:
    """How messages name an input: its path, or ``<stdin>``."""
    return "<stdin>" if path in STDIN_NAMES else path


def _open_source(path: str) -> tuple[str, IO[bytes], bool]:
    """Returns (display name, binary stream, whether we own it)."""
    if path in STDIN_NAMES:
        return source_name(path), sys.stdin.buffer, False
    try:
        return path, open(path, "rb"), True
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc


def iter_located(paths: Sequence[str] | None) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """Yields ``(file, line_number, record)`` for every record of every input, in order.

    Blank lines are skipped. Streaming: memory stays constant whatever the input size.

    Args:
        paths: file paths; ``-`` or an empty sequence reads standard input.

    Raises:
        InputError: a line is not valid JSON or not a JSON object (names ``file:line``).
    """
    for path in paths or ["-"]:
        name, stream, owned = _open_source(str(path))
        try:
            for number, line in enumerate(stream, start=1):
                if number == 1 and line.startswith(_BOM):
                    line = line[len(_BOM):]
                if not line.strip():
                    continue
                try:
                    record = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    raise InputError(f"{name}:{number}: malformed JSON: {exc}") from None
                if not isinstance(record, dict):
                    kind = type(record).__name__
                    raise InputError(f"{name}:{number}: expected a JSON object, got {kind}")
                yield name, number, record
        finally:
            if owned:
                stream.close()


def iter_records(paths: Sequence[str] | None) -> Iterator[dict[str, Any]]:
    """Yields the records of every input in order (see :func:`iter_located`)."""
    for _, _, record in iter_located(paths):
        yield record


def record_id(record: dict[str, Any], where: str) -> str:
    """The record's ``id`` as the store key it becomes: a non-empty string, or an integer (COCO's image ids).

    Raises:
        InputError: no ``id``, or one that is null, empty, or of another type (it would be stored as "None").
    """
    require_fields(record, ["id"], where)
    value = record["id"]
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        raise InputError(f"{where}: 'id' must be a non-empty string or an integer, got {value!r}")
    return str(value)


def require_fields(record: dict[str, Any], fields: Iterable[str], where: str) -> None:
    """Raises :class:`InputError` naming ``where`` (``file:line``) when a field is missing.

    Args:
        record: the record to check.
        fields: names that must be present; ``"a|b"`` means at least one of ``a`` and ``b``.
        where: the location to name in the message.
    """
    for field in fields:
        options = field.split("|")
        if not any(option in record for option in options):
            wanted = " or ".join(repr(option) for option in options)
            raise InputError(f"{where}: record {record.get('id', '<no id>')!r} has no {wanted} field")


def read_json_file(path: str | Path, empty: Any = None) -> Any:
    """Reads a whole (non-JSONL) JSON file such as a native annotation file (``-``: standard input), with a
    clear error.

    Args:
        path: the file, or ``-``.
        empty: what a file of nothing but whitespace holds (an input's empty list, say); None: it is an error.
    """
    name, stream, owned = _open_source(str(path))
    try:
        data = stream.read()
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from exc
    finally:
        if owned:
            stream.close()
    data = data.removeprefix(_BOM)
    if empty is not None and not data.strip():
        return empty
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        line = data[: exc.pos].count(b"\n") + 1 if exc.pos is not None else "?"
        raise InputError(f"{name}:{line}: malformed JSON: {exc}") from None


def dumps(record: dict[str, Any]) -> bytes:
    """One record as a JSONL line: UTF-8, keys in insertion order, numpy scalars allowed."""
    return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_SERIALIZE_NUMPY)


class RecordWriter:
    """Writes records as JSONL to standard output (or a given binary stream).

    A closed downstream pipe (``raiv ... | head``) ends the program quietly instead of printing a traceback.

    Example:
        >>> with RecordWriter() as out:
        ...     out.write({"id": "a"})
    """

    def __init__(self, stream: IO[bytes] | None = None):
        self._stream = stream if stream is not None else sys.stdout.buffer
        self.count = 0

    def write(self, record: dict[str, Any]) -> None:
        try:
            self._stream.write(dumps(record))
        except BrokenPipeError:
            _quit_on_broken_pipe()
        self.count += 1

    def write_all(self, records: Iterable[dict[str, Any]]) -> None:
        for record in records:
            self.write(record)

    def close(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            _quit_on_broken_pipe()

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def write_stdout_text(text: str) -> None:
    """Writes a command's non-record output (a table) to stdout; a closed pipe ends the program quietly."""
    try:
        sys.stdout.buffer.write(text.encode("utf-8"))
        sys.stdout.buffer.flush()
    except BrokenPipeError:  # `raiv report | head`: the reader left
        _quit_on_broken_pipe()


def write_jsonl(path: str | Path, records: Iterable[dict[str, Any]]) -> None:
    """Writes records to a JSONL file atomically (temp file, then rename)."""
    from raivtools.io.store import atomic_write_bytes

    atomic_write_bytes(Path(path), b"".join(dumps(record) for record in records))


def _quit_on_broken_pipe() -> None:
    import os

    # Python flushes stdout again at exit; point it at devnull so that flush cannot fail too.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    raise SystemExit(0)
