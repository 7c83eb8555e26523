"""Input files read a window of rows at a time: ``.npy`` (memory-mapped), ``.npz`` (each member
streamed from the zip), Parquet (record batches) and JSON Lines (streamed).

A reader yields :class:`Chunk` objects: the first row's number and, per input name, either an
array ``(rows, ...)`` (dense files) or a list with one raw value per row (ragged files), plus
the rows that could not be read at all (bad JSON) with the reason.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import FormatError, InputError, RnnConvertError
from .extras import require

Column = Any  # np.ndarray (rows, ...) or list of one raw value per row
FORMATS = ("npy", "npz", "parquet", "jsonl")


@dataclass
class Chunk:
    start: int  # the number (0-based) of the chunk's first row in the file
    size: int
    columns: dict[str, Column]
    bad: dict[int, tuple[str, str]] = field(default_factory=dict)  # row offset -> (column, reason)


def detect_format(path: str, given: str | None = None) -> str:
    """The file format from ``--input-format``/``--output-format`` or the extension."""
    if given:
        return given
    name = os.fspath(path).lower()
    for ext, fmt in ((".npy", "npy"), (".npz", "npz"), (".parquet", "parquet"), (".pq", "parquet")):
        if name.endswith(ext):
            return fmt
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    raise InputError(f"{path}: cannot tell the format from the name; use .npy, .npz, .parquet or .jsonl")


def _match_names(path: str, available: list[str], wanted: list[str]) -> dict[str, str]:
    """Input name -> the file's column/member for it. A single-input model takes a file's only column."""
    if len(wanted) == 1 and len(available) == 1:
        return {wanted[0]: available[0]}
    missing = [w for w in wanted if w not in available]
    if missing:
        raise InputError(f"{path}: no column for input(s) {missing}; the file has {available}")
    return {w: w for w in wanted}


class Reader:
    total: int | None = None  # number of rows, when the format says it up front

    def chunks(self, rows: int) -> Iterator[Chunk]:
        raise NotImplementedError

    def close(self) -> None:
        pass


class NpyReader(Reader):
    """A C-order ``.npy`` is read with plain reads, one window at a time: a memory map would
    keep every page it touched resident (and counted in the process's RSS) to the end of a
    file larger than memory. A Fortran-order file cannot be read row by row; it is mapped."""

    def __init__(self, path: str, names: list[str]):
        if len(names) != 1:
            raise InputError(f"{path}: a .npy file holds one array; this model takes inputs {names} (use .npz)")
        self.name = names[0]
        self.member: _Member | None = None
        self.array: np.ndarray | None = None
        try:
            self.file = open(path, "rb")  # noqa: SIM115 -- closed by close()
        except OSError as exc:
            raise FormatError(f"{path}: not a readable .npy array ({exc})") from None
        try:
            self.member = _checked_member(self.file, path)
            self.total = int(self.member.shape[0])
        except _FortranOrder:
            self.file.close()
            self._map(path)
        except (ValueError, OSError) as exc:
            self.file.close()
            raise FormatError(f"{path}: not a readable .npy array ({exc})") from None
        except Exception:
            self.file.close()
            raise

    def _map(self, path: str) -> None:
        try:
            array = np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise FormatError(f"{path}: not a readable .npy array ({exc})") from None
        self.array, self.total = array, int(array.shape[0])

    def chunks(self, rows: int) -> Iterator[Chunk]:
        for start in range(0, self.total or 0, rows):
            n = min(rows, (self.total or 0) - start)
            if self.member is not None:
                part = self.member.read(n)
            else:
                assert self.array is not None
                part = np.array(self.array[start : start + n])
            yield Chunk(start, len(part), {self.name: part})

    def close(self) -> None:
        if self.member is not None:
            self.file.close()


class _FortranOrder(Exception):
    """A Fortran-order array: a ``.npy`` file is then memory-mapped; an ``.npz`` member refused."""


class _Member:
    """One ``.npy`` member of a zip, read row block by row block (compressed or not)."""

    def __init__(self, stream: Any, where: str):
        self.stream = stream
        version = np.lib.format.read_magic(self.stream)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(self.stream)
        if dtype.hasobject:
            raise FormatError(f"{where}: object arrays are not read (they would need pickle)")
        if fortran and len(shape) > 1:
            raise _FortranOrder(f"{where}: a Fortran-order array cannot be read row by row; save it in C order")
        if not shape:
            raise InputError(f"{where}: a 0-d array has no rows")
        self.shape, self.dtype = shape, dtype
        self.row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize

    def read(self, rows: int) -> np.ndarray:
        out = np.empty((rows, *self.shape[1:]), self.dtype)  # a fresh, writable array: no copy of a bytes object
        got = self.stream.readinto(out.reshape(-1).view(np.uint8).data) if out.nbytes else 0
        n = got // self.row_bytes if self.row_bytes else rows
        return out[:n]


def _checked_member(f: Any, where: str) -> _Member:
    """The header of the ``.npy`` file open as ``f``, checked against the file's size."""
    member = _Member(f, where)
    if os.fstat(f.fileno()).st_size < f.tell() + member.shape[0] * member.row_bytes:
        raise FormatError(f"{where}: the file is shorter than its header's shape {member.shape} says")
    return member


@contextlib.contextmanager
def _open_npy(path: str) -> Iterator[tuple[Any, _Member]]:
    """A C-order ``.npy`` file, open, and its header checked against the file's size."""
    try:
        with open(path, "rb") as f:
            yield f, _checked_member(f, path)
    except _FortranOrder as exc:
        raise InputError(str(exc)) from None
    except RnnConvertError:
        raise
    except (ValueError, OSError) as exc:
        raise FormatError(f"{path}: not a readable .npy array ({exc})") from None


def npy_layout(path: str) -> tuple[tuple[int, ...], np.dtype, int]:
    """A C-order ``.npy`` file's shape, dtype and data offset, from its header alone."""
    with _open_npy(path) as (f, member):
        return tuple(int(d) for d in member.shape), member.dtype, f.tell()


def read_npy_rows(path: str, start: int, stop: int) -> np.ndarray:
    """Rows ``start:stop`` of a C-order ``.npy`` file, with one plain read (no memory map)."""
    with _open_npy(path) as (f, member):
        n = max(0, min(stop, member.shape[0]) - start)
        f.seek(start * member.row_bytes, os.SEEK_CUR)
        out = member.read(n)
    if len(out) != n:
        raise FormatError(f"{path}: rows {start}:{start + n} could not be read (the file changed?)")
    return out


class NpzReader(Reader):
    def __init__(self, path: str, names: list[str]):
        try:
            self.zips: list[zipfile.ZipFile] = []
            members = zipfile.ZipFile(path).namelist()
        except (zipfile.BadZipFile, OSError) as exc:
            raise FormatError(f"{path}: not a readable .npz file ({exc})") from None
        keys = [m[:-4] for m in members if m.endswith(".npy")]
        self.columns: dict[str, _Member] = {}
        for name, key in _match_names(path, keys, names).items():
            zf = zipfile.ZipFile(path)  # one handle per member: they are read side by side
            self.zips.append(zf)
            try:
                self.columns[name] = _Member(zf.open(key + ".npy"), f"{path}[{key}]")
            except _FortranOrder as exc:
                raise FormatError(str(exc)) from None
        counts = {name: m.shape[0] for name, m in self.columns.items()}
        if len(set(counts.values())) > 1:
            raise InputError(f"{path}: the inputs have different numbers of rows: {counts}")
        self.total = next(iter(counts.values()))

    def chunks(self, rows: int) -> Iterator[Chunk]:
        for start in range(0, self.total or 0, rows):
            cols = {name: m.read(min(rows, (self.total or 0) - start)) for name, m in self.columns.items()}
            yield Chunk(start, len(next(iter(cols.values()))), cols)

    def close(self) -> None:
        for zf in self.zips:
            zf.close()


class JsonlReader(Reader):
    def __init__(self, path: str, names: list[str]):
        try:
            self.file: io.TextIOBase = open(path, encoding="utf-8")  # noqa: SIM115 -- closed by close()
        except OSError as exc:
            raise InputError(f"{path}: cannot open ({exc})") from None
        self.path, self.names = path, names

    def chunks(self, rows: int) -> Iterator[Chunk]:
        start, line_no = 0, 0
        cols: dict[str, list[Any]] = {n: [] for n in self.names}
        bad: dict[int, tuple[str, str]] = {}
        for line in self.file:
            line_no += 1
            if not line.strip():
                continue
            k = len(cols[self.names[0]])
            self._parse(line, line_no, k, cols, bad)
            if k + 1 == rows:
                yield Chunk(start, rows, cols, bad)
                start += rows
                cols, bad = {n: [] for n in self.names}, {}
        n = len(cols[self.names[0]])
        if n:
            yield Chunk(start, n, cols, bad)

    def _parse(self, line: str, line_no: int, k: int, cols: dict[str, list[Any]], bad: dict) -> None:
        try:
            obj = json.loads(line)
        except ValueError as exc:
            obj, bad[k] = None, ("", f"line {line_no} is not valid JSON ({exc.args[0][:60]})")
        if obj is not None and not isinstance(obj, dict):
            obj, bad[k] = None, ("", f"line {line_no} is not a JSON object")
        for name in self.names:
            if obj is not None and name not in obj and k not in bad:
                bad[k] = (name, f"line {line_no} has no key {name!r}")
            cols[name].append(obj.get(name) if obj is not None else None)

    def close(self) -> None:
        self.file.close()


class ParquetReader(Reader):
    def __init__(self, path: str, names: list[str]):
        pq = require("pyarrow.parquet", "Parquet files")
        try:
            self.file = pq.ParquetFile(path)
        except Exception as exc:  # pyarrow raises its own ArrowInvalid/OSError family
            raise FormatError(f"{path}: not a readable Parquet file ({exc})") from None
        self.map = _match_names(path, list(self.file.schema_arrow.names), names)
        self.total = int(self.file.metadata.num_rows)

    def chunks(self, rows: int) -> Iterator[Chunk]:
        start = 0
        for batch in self.file.iter_batches(batch_size=rows, columns=list(dict.fromkeys(self.map.values()))):
            cols = {
                name: arrow_column(batch.column(batch.schema.get_field_index(col))) for name, col in self.map.items()
            }
            yield Chunk(start, batch.num_rows, cols)
            start += batch.num_rows

    def close(self) -> None:
        self.file.close()


def arrow_column(arr: Any) -> Column:
    """An Arrow array as a dense ndarray when every row has one shape (numbers, fixed-size lists),
    else as a list of one ndarray (or raw Python value, for odd rows) per row."""
    import pyarrow as pa

    t = arr.type
    if arr.null_count:
        return arr.to_pylist()
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t):
        return arr.to_numpy(zero_copy_only=False)
    if pa.types.is_fixed_size_list(t):
        inner = arrow_column(arr.flatten())
        if isinstance(inner, np.ndarray):
            return inner.reshape(len(arr), t.list_size, *inner.shape[1:])
        return arr.to_pylist()
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        offsets = arr.offsets.to_numpy()
        inner = arrow_column(arr.values)
        if isinstance(inner, np.ndarray):
            return [inner[offsets[i] : offsets[i + 1]] for i in range(len(arr))]
    return arr.to_pylist()


def open_reader(path: str, fmt: str, names: list[str]) -> Reader:
    if not os.path.isfile(path):
        raise InputError(f"{path}: no such file")
    return {"npy": NpyReader, "npz": NpzReader, "parquet": ParquetReader, "jsonl": JsonlReader}[fmt](path, names)
