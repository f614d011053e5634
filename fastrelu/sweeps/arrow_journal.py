"""Columnar sweep journal: an Arrow IPC stream file (``.arrows``), one record batch per chunk.

Why this format (the alternatives were ``.npy`` chunks with a manifest and a format of our own):

* **Append-only by construction.** An Arrow IPC stream is a schema message followed by
  length-prefixed record-batch messages, with nothing to rewrite at the end (no footer as in
  the Arrow file format or Parquet, no shape in a header as in ``.npy``). A finished chunk is
  one message, appended with one ``os.write`` on an ``O_APPEND`` descriptor and an ``fsync``.
* **Crash-safe without a manifest.** A process killed at any moment leaves complete messages
  and at most one partial one; opening walks the messages and cuts the partial tail, so the
  journal is readable up to the last complete chunk. ``.npy`` chunks need a manifest kept in
  step with them (a second atomic update per chunk) and one file per column per chunk: a
  10,000,000-point sweep would leave about 700,000 files.
* **The data ecosystem's interchange format.** pandas, polars, DuckDB and pyarrow read the
  journal as it is (``pyarrow.ipc.open_stream(path).read_all()``), Parquet is one call, and
  numbers keep their float64/int64/uint64 bits (no text round trip as in JSON Lines).
* **Fast to read back.** Consecutive batches are read with one ``pread`` and decoded by
  pyarrow in C++; columns come out as NumPy arrays without per-row Python.

The cost is a dependency, pyarrow, kept optional (``pip install 'fastrelu[arrow]'``): without
it an ``.arrows`` path is refused before any work with that hint; ``.jsonl`` journals need
nothing and stay for small sweeps.

Layout: message 1 is the schema (:func:`schema`), whose metadata key ``fastrelu_sweep`` holds
the same JSON header as a JSON Lines journal's first line (format version and the settings
every row was computed with); every further message is the record batch of one finished
chunk. No end-of-stream marker is written (readers accept a stream that ends after a
message), so a resumed sweep appends to the same stream.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from fastrelu.imported import require
from fastrelu.sweeps.columns import FIELDS, OPT_FLOAT, UINT, VOCAB, Batch, dtype
from fastrelu.sweeps.header import check_header, lock, make_header

#: Suffix of an Arrow IPC stream journal.
SUFFIX = ".arrows"

#: Install hint when pyarrow is missing.
HINT = "pip install 'fastrelu[arrow]' (or pip install pyarrow), or write out= as .jsonl"

_CONTINUATION = b"\xff\xff\xff\xff"


def require_pyarrow() -> Any:
    """Import pyarrow or raise :class:`fastrelu.MissingDependencyError` with the install hint."""
    return require("pyarrow", f"out= ending in {SUFFIX} (an Arrow IPC stream journal): {HINT}")


def schema(pa: Any, header: "dict | None" = None, legacy: bool = False) -> Any:
    """The Arrow schema of a journal: one column per row field, ``None`` as null.

    ``seed`` is uint64 (:data:`~fastrelu.sweeps.columns.UINT` says why). ``legacy=True`` gives
    the schema journals were written with before, whose ``seed`` is int64: such a journal is
    still resumed and appended to in its own schema, each seed stored as the int64 of the
    same 64 bits, read back as uint64 (exact for every seed)."""
    types = {np.int64: pa.int64(), np.uint64: pa.uint64(), np.float64: pa.float64(),
             np.bool_: pa.bool_(), np.int8: pa.string()}
    fields = [pa.field("dead_fraction", pa.list_(pa.field("item", pa.float64(), nullable=False)),
                       nullable=False) if f == "dead_fraction" else
              pa.field(f, pa.int64() if legacy and f in UINT else types[dtype(f)],
                       nullable=f in OPT_FLOAT or f == "diverged_at")
              for f in FIELDS]
    meta = None if header is None else {"fastrelu_sweep": json.dumps(header, separators=(",", ":"))}
    return pa.schema(fields, metadata=meta)


def to_record_batch(pa: Any, batch: Batch, sch: Any) -> Any:
    """A :class:`~fastrelu.sweeps.columns.Batch` as an Arrow record batch of ``sch``."""
    arrays = []
    for f in FIELDS:
        if f == "dead_fraction":
            arrays.append(pa.ListArray.from_arrays(pa.array(batch.offsets.astype(np.int32)),
                                                   pa.array(batch.dead, pa.float64())))
            continue
        col = batch.cols[f]
        if f in VOCAB:
            arrays.append(pa.array(VOCAB[f], pa.string()).take(pa.array(col, pa.int8())))
        elif f in OPT_FLOAT:
            arrays.append(pa.array(col, pa.float64(), mask=np.isnan(col)))
        elif f == "diverged_at":
            arrays.append(pa.array(col, pa.int64(), mask=col < 0))
        elif f in UINT and sch.field(f).type == pa.int64():
            arrays.append(pa.array(col.view(np.int64)))  # a legacy journal: same bits
        else:
            arrays.append(pa.array(col))
    return pa.RecordBatch.from_arrays(arrays, schema=sch)


def from_table(pa: Any, table: Any, fields: Sequence[str], where: str) -> Batch:
    """Columns ``fields`` of an Arrow table (or record batch) of a journal as a Batch.

    Raises
    ------
    ValueError
        Naming ``where`` when a value cannot come from a sweep (a null where none may be, an
        unknown init or optimizer name).
    """
    import pyarrow.compute as pc

    def column(name: str) -> Any:
        c = table.column(name)
        if not hasattr(c, "combine_chunks"):
            return c
        return c.chunk(0) if c.num_chunks == 1 else c.combine_chunks()

    cols = {}
    for f in fields:
        if f == "dead_fraction":
            continue
        arr = column(f)
        if arr.null_count and f not in OPT_FLOAT and f != "diverged_at":
            raise ValueError(f"{where}: column {f!r} holds nulls")
        if f in VOCAB:
            arr = pc.index_in(arr, value_set=pa.array(VOCAB[f], pa.string()))
            if arr.null_count:
                raise ValueError(f"{where}: column {f!r} holds a name outside {', '.join(VOCAB[f])}")
            cols[f] = arr.to_numpy().astype(np.int8)
        elif f == "diverged_at":
            cols[f] = pc.fill_null(arr, -1).to_numpy().astype(np.int64)
        elif f in UINT:  # uint64, or the int64 of a legacy journal: a cast keeps the bits
            cols[f] = arr.to_numpy(zero_copy_only=False).astype(np.uint64)
        else:
            cols[f] = np.asarray(arr.to_numpy(zero_copy_only=False), dtype=dtype(f))
    n = table.num_rows
    if "dead_fraction" in fields:
        lst = column("dead_fraction")
        offsets = np.asarray(lst.offsets, dtype=np.int64)
        dead = np.asarray(lst.values.to_numpy(zero_copy_only=False), dtype=np.float64)
        dead = dead[offsets[0]:offsets[-1]]
        offsets = offsets - offsets[0]
    else:
        dead, offsets = np.empty(0), np.zeros(n + 1, np.int64)
    return Batch(cols, dead, offsets)


class ArrowJournal:
    """An open, locked ``.arrows`` journal (same contract as the JSON Lines
    :class:`~fastrelu.sweeps.storage.Journal`).

    Parameters
    ----------
    path : path-like
        The journal file (created when missing).
    config : dict
        JSON-able settings every row depends on; must equal the stored header.

    Attributes
    ----------
    schema : pyarrow.Schema
        The columns batches are written with: the current :func:`schema`, or the legacy one
        (``seed`` int64) of a journal written before seeds were uint64.
    spans : list of (offset, length, rows)
        Where each complete record batch lies in the file, in file order.

    Raises
    ------
    ValueError
        The file belongs to a sweep with other settings, is not a sweep journal, or is being
        written by another running sweep.
    fastrelu.MissingDependencyError
        pyarrow is not installed.
    """

    def __init__(self, path: "str | os.PathLike", config: dict) -> None:
        self._pa = require_pyarrow()
        self.path = Path(path)
        self.header = make_header(config)
        self.schema = schema(self._pa, self.header)
        self.spans: list[tuple[int, int, int]] = []
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            lock(self._fd, self.path)
            self._open()
        except BaseException:
            os.close(self._fd)
            raise

    def _open(self) -> None:
        pa = self._pa
        size = os.fstat(self._fd).st_size
        if size == 0:
            self._write(self.schema.serialize())
            return
        src = pa.OSFile(str(self.path))
        try:
            reader = pa.ipc.MessageReader.open_stream(src)
            try:
                first = reader.read_next_message()
                stored_schema = pa.ipc.read_schema(first) if first.type == "schema" else None
            except (pa.ArrowInvalid, StopIteration, OSError):
                stored_schema = first = None
            if first is None and _CONTINUATION.startswith(os.pread(self._fd, 4, 0)) and size < 1 << 16:
                os.ftruncate(self._fd, 0)  # killed while writing the header: start afresh
                self._write(self.schema.serialize())
                return
            meta = (stored_schema.metadata or {}) if stored_schema is not None else {}
            try:
                stored = json.loads(meta[b"fastrelu_sweep"])
            except (KeyError, ValueError):
                stored = None
            check_header(self.path, stored, self.header)
            columns = stored_schema.remove_metadata()
            if columns.equals(schema(pa, legacy=True)):
                self.schema = schema(pa, self.header, legacy=True)  # appended in its schema
            elif not columns.equals(self.schema.remove_metadata()):
                raise ValueError(f"out: {str(self.path)!r} has columns of another fastrelu version")
            end = src.tell()
            while True:
                try:
                    msg = reader.read_next_message()
                except (pa.ArrowInvalid, StopIteration, OSError):
                    break  # the partial message of a kill (or the end)
                if msg is None or msg.type != "record batch":
                    raise ValueError(f"out: {str(self.path)!r} holds a {getattr(msg, 'type', '?')} "
                                     f"message at byte {end}; expected record batches only")
                try:
                    rows = pa.ipc.read_record_batch(msg, self.schema).num_rows
                except pa.ArrowInvalid as exc:
                    raise ValueError(f"out: {str(self.path)!r} is corrupt at byte {end}: {exc}") from None
                self.spans.append((end, src.tell() - end, rows))
                end = src.tell()
        finally:
            src.close()
        if end < size:
            os.ftruncate(self._fd, end)

    def _write(self, data: Any) -> int:
        view = memoryview(data)
        written = 0
        while written < len(view):  # a regular file takes it in one call; loop for robustness
            written += os.write(self._fd, view[written:])
        os.fsync(self._fd)
        return written

    def append_batch(self, batch: Batch) -> None:
        """Append one chunk's rows as one record batch: one write, one fsync."""
        if not len(batch):
            return
        data = to_record_batch(self._pa, batch, self.schema).serialize()
        offset = os.fstat(self._fd).st_size
        self._write(data)
        self.spans.append((offset, len(data), len(batch)))

    def batches(self, fields: Sequence[str] = FIELDS, rows: int = 1 << 16) -> Iterator[Batch]:
        """The rows already in the journal, in file order, read ``rows`` or so at a time
        (whole record batches; only ``fields`` decoded)."""
        reader = SpanReader(self.path, self.schema, self.spans)
        first, count = 0, 0
        for i, (_, _, n) in enumerate(self.spans):
            count += n
            if count >= rows or i == len(self.spans) - 1:
                yield reader.read(first, i + 1, fields)
                first, count = i + 1, 0

    def close(self) -> None:
        """Release the lock and close the file."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "ArrowJournal":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class SpanReader:
    """Reads runs of consecutive record batches of a journal by their byte spans."""

    def __init__(self, path: Path, sch: Any, spans: Sequence[tuple[int, int, int]]) -> None:
        self._pa = require_pyarrow()
        self.path, self.schema = path, sch
        self._head = sch.serialize().to_pybytes()
        self.offsets = np.array([s[0] for s in spans], dtype=np.int64)
        self.lengths = np.array([s[1] for s in spans], dtype=np.int64)

    def read(self, first: int, stop: int, fields: Sequence[str] = FIELDS) -> Batch:
        """Batches ``first`` to ``stop - 1`` (consecutive in the file), as one Batch."""
        pa = self._pa
        start = int(self.offsets[first])
        end = int(self.offsets[stop - 1] + self.lengths[stop - 1])
        data = bytearray(len(self._head) + end - start)  # the schema, then the batches
        data[:len(self._head)] = self._head
        with open(self.path, "rb") as fh:
            fh.seek(start)
            got = fh.readinto(memoryview(data)[len(self._head):])
        if got != end - start:
            raise ValueError(f"{str(self.path)!r} is shorter than when it was written")
        try:
            table = pa.ipc.open_stream(pa.py_buffer(data)).read_all()
        except pa.ArrowInvalid as exc:
            raise ValueError(f"{str(self.path)!r} is corrupt near byte {start}: {exc}") from None
        return from_table(pa, table, fields, str(self.path))
