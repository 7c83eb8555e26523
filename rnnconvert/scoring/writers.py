"""Output files written as the batches come, into a temporary file beside OUTPUT that is renamed
into place only when every row is written: a failure or Ctrl-C leaves no partial OUTPUT.

``.npy`` (one output), ``.npz`` (a member per output), Parquet (a column per output) and JSON
Lines (an object per row), rows in input order. The rejects file is JSON Lines, written the same way.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from typing import Any, BinaryIO

import numpy as np

from ..errors import InputError, OutputError
from .extras import require

_NPY_HEADER = 128  # bytes: magic, version, length and a dict padded so the row count can grow in place


def _temp_beside(path: str, suffix: str = "") -> str:
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise OutputError(f"{path}: the directory {directory} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=f".rnnconvert-tmp{suffix}", dir=directory)
    os.close(fd)
    return tmp


def _publish(temp: str, path: str) -> None:
    """Rename ``temp`` onto ``path`` with the permissions a new file gets (mkstemp makes 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(temp, 0o666 & ~mask)
    os.replace(temp, path)


def _npy_header(dtype: np.dtype, shape: tuple[int, ...]) -> bytes:
    header = repr({"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape})
    body = header.encode("latin1").ljust(_NPY_HEADER - 10 - 1) + b"\n"
    if len(body) != _NPY_HEADER - 10:
        raise OutputError(f"an output of shape {shape} does not fit the .npy header")
    return b"\x93NUMPY\x01\x00" + (len(body)).to_bytes(2, "little") + body


class _NpyStream:
    """An .npy file appended to batch by batch; the header gets the final row count at the end."""

    def __init__(self, path: str):
        self.path = path
        self.file: BinaryIO = open(path, "wb")  # noqa: SIM115 -- closed by finish()/close()
        self.rows = 0
        self.row_shape: tuple[int, ...] | None = None
        self.dtype = np.dtype(np.float32)

    def append(self, a: np.ndarray) -> None:
        a = np.ascontiguousarray(a, dtype=self.dtype)
        if self.row_shape is None:
            self.row_shape = a.shape[1:]
            self.file.write(_npy_header(self.dtype, (0, *self.row_shape)))
        elif a.shape[1:] != self.row_shape:
            raise OutputError(f"outputs of rows shaped {a.shape[1:]} after {self.row_shape}: cannot share one array")
        self.file.write(a.tobytes())
        self.rows += len(a)

    def finish(self, empty_shape: tuple[int, ...]) -> None:
        if self.row_shape is None:
            self.row_shape = empty_shape
            self.file.write(_npy_header(self.dtype, (0, *self.row_shape)))
        self.file.seek(0)
        self.file.write(_npy_header(self.dtype, (self.rows, *self.row_shape)))
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()

    def close(self) -> None:
        self.file.close()


class Writer:
    """Base: ``write`` a batch of outputs (one array per output, rows in order), then ``commit``
    (rename into place) or ``abort`` (remove the temporary file)."""

    def __init__(self, path: str, names: list[str], shapes: list[tuple[int | None, ...]]):
        self.path, self.names = path, names
        self.empty_shapes = [tuple(d or 0 for d in s[1:]) for s in shapes]
        self.temps: list[str] = []

    def write(self, outputs: list[np.ndarray]) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        raise NotImplementedError

    def commit(self) -> None:
        self._finish()
        _publish(self.temps[0], self.path)
        for t in self.temps[1:]:
            _remove(t)

    def abort(self) -> None:
        try:
            self._close()
        finally:
            for t in self.temps:
                _remove(t)

    def _close(self) -> None:
        pass


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


class NpyWriter(Writer):
    def __init__(self, path: str, names: list[str], shapes: list[tuple[int | None, ...]]):
        if len(names) != 1:
            raise InputError(f"{path}: a .npy file holds one array; this model has outputs {names} (use .npz)")
        super().__init__(path, names, shapes)
        self.temps = [_temp_beside(path)]
        self.stream = _NpyStream(self.temps[0])

    def write(self, outputs: list[np.ndarray]) -> None:
        self.stream.append(outputs[0])

    def _finish(self) -> None:
        self.stream.finish(self.empty_shapes[0])

    def _close(self) -> None:
        self.stream.close()


class NpzWriter(Writer):
    """Each output streams to its own temporary .npy; at the end they are stored (uncompressed)
    into the zip one after another, copied in blocks."""

    def __init__(self, path: str, names: list[str], shapes: list[tuple[int | None, ...]]):
        super().__init__(path, names, shapes)
        self.temps = [_temp_beside(path)] + [_temp_beside(path, f".{i}.npy") for i in range(len(names))]
        self.streams = [_NpyStream(t) for t in self.temps[1:]]

    def write(self, outputs: list[np.ndarray]) -> None:
        for s, a in zip(self.streams, outputs):
            s.append(a)

    def _finish(self) -> None:
        for s, shape in zip(self.streams, self.empty_shapes):
            s.finish(shape)
        with zipfile.ZipFile(self.temps[0], "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            for name, s in zip(self.names, self.streams):
                with open(s.path, "rb") as src, zf.open(name + ".npy", "w", force_zip64=True) as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)

    def _close(self) -> None:
        for s in self.streams:
            s.close()


class JsonlWriter(Writer):
    def __init__(self, path: str, names: list[str], shapes: list[tuple[int | None, ...]]):
        super().__init__(path, names, shapes)
        self.temps = [_temp_beside(path)]
        self.file = open(self.temps[0], "w", encoding="utf-8")  # noqa: SIM115 -- closed by _finish/_close

    def write(self, outputs: list[np.ndarray]) -> None:
        lists = [o.tolist() for o in outputs]
        for r in range(len(outputs[0])):
            self.file.write(json.dumps({n: col[r] for n, col in zip(self.names, lists)}) + "\n")

    def _finish(self) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()

    def _close(self) -> None:
        self.file.close()


class ParquetWriter(Writer):
    def __init__(self, path: str, names: list[str], shapes: list[tuple[int | None, ...]]):
        self.pa = require("pyarrow", "Parquet files")
        self.pq = require("pyarrow.parquet", "Parquet files")
        super().__init__(path, names, shapes)
        self.temps = [_temp_beside(path)]
        self.writer: Any = None

    def _column(self, a: np.ndarray) -> Any:
        flat = self.pa.array(np.ascontiguousarray(a, np.float32).reshape(-1))
        for size in reversed(a.shape[1:]):
            flat = self.pa.FixedSizeListArray.from_arrays(flat, size)
        return flat

    def write(self, outputs: list[np.ndarray]) -> None:
        table = self.pa.table({n: self._column(o) for n, o in zip(self.names, outputs)})
        if self.writer is None:
            self.writer = self.pq.ParquetWriter(self.temps[0], table.schema)
        self.writer.write_table(table)

    def _finish(self) -> None:
        if self.writer is None:  # no rows: an empty table of the declared shapes
            empty = [np.zeros((0, *s), np.float32) for s in self.empty_shapes]
            self.write(empty)
        self.writer.close()

    def _close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class RejectsWriter:
    """The rejects file: one JSON object per bad row, ``{"row": N, "column": NAME, "error": WHY}``;
    created only when a row is rejected, renamed into place at the end like the output."""

    def __init__(self, path: str):
        self.path = path
        self.count = 0
        self.temp: str | None = None
        self.file: Any = None

    def add(self, rejects: list[tuple[int, str, str]]) -> None:
        if not rejects:
            return
        if self.file is None:
            self.temp = _temp_beside(self.path)
            self.file = open(self.temp, "w", encoding="utf-8")  # noqa: SIM115
        for row, column, why in rejects:
            self.file.write(json.dumps({"row": int(row), "column": column or None, "error": why}) + "\n")
        self.count += len(rejects)

    def commit(self) -> None:
        if self.file is not None:
            self.file.close()
            _publish(self.temp, self.path)  # type: ignore[arg-type]

    def abort(self) -> None:
        if self.file is not None:
            self.file.close()
            _remove(self.temp)  # type: ignore[arg-type]


WRITERS = {"npy": NpyWriter, "npz": NpzWriter, "parquet": ParquetWriter, "jsonl": JsonlWriter}


def open_writer(path: str, fmt: str, names: list[str], shapes: list[tuple[int | None, ...]]) -> Writer:
    return WRITERS[fmt](path, names, shapes)
