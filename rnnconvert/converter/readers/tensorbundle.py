"""TensorFlow's TensorBundle checkpoint (``variables/variables.index`` + ``.data-*`` shards).

The index is a LevelDB-format table (SSTable): a 48-byte footer pointing at an index block,
whose entries point at data blocks, whose entries map each tensor's key to a BundleEntryProto
(dtype, shape, shard, offset, size, CRC-32C). The key ``""`` holds the BundleHeaderProto
(number of shards, endianness). Each tensor's bytes sit raw in its shard at its offset.

Everything is bounded before it is read: the index file's size, every block handle against
the file, the number of entries, each tensor's byte size against its dtype and shape and
against the shard's real size; a block's CRC is checked; snappy-compressed blocks (TensorFlow
writes bundles uncompressed) are refused rather than decompressed. Tensors stay lazy
(:class:`BundleArray`) until a layer converter has checked their shape; reading one checks its
CRC-32C.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import FormatError, ResourceError, SecurityError
from .crc32c import crc32c, unmask
from .lazy import LazyArray
from .protowire import fields, many, one, signed, varint

MAGIC = 0xDB4775248B80FB57
FOOTER = 48
MAX_INDEX_BYTES = 64 << 20
MAX_ENTRIES = 1 << 18
MAX_KEY = 4096
MAX_STRING_BYTES = 64 << 20
MAX_SHARDS = 1024
# TensorFlow's DataType enum -> NumPy (little-endian); strings only for the object graph.
DTYPES = {
    1: "<f4", 2: "<f8", 3: "<i4", 4: "u1", 5: "<i2", 6: "i1", 9: "<i8", 10: "?",
    17: "<u2", 19: "<f2", 22: "<u4", 23: "<u8",
}  # fmt: skip
DT_STRING = 7


def regular(path: Path, where: str) -> int:
    """The size of ``path``, a regular file that is not a symlink."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise FormatError(f"{where}: {path.name} is missing") from None
    except OSError as exc:
        raise FormatError(f"{where}: cannot read {path.name} ({exc.strerror or exc})") from None
    if stat.S_ISLNK(st.st_mode):
        raise SecurityError(f"{where}: {path.name} is a symbolic link; links are not followed in a SavedModel folder")
    if not stat.S_ISREG(st.st_mode):
        raise FormatError(f"{where}: {path.name} is not a regular file")
    return st.st_size


def read_at(path: Path, offset: int, size: int) -> bytes:
    """``size`` bytes at ``offset``, the file opened without following a symlink (one swapped in
    after :func:`regular` looked is refused by the OS)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as f:
        f.seek(offset)
        return f.read(size)


def _handle(raw: bytes, where: str) -> tuple[int, int]:
    offset, pos = varint(raw, 0, where)
    size, _ = varint(raw, pos, where)
    return offset, size


def _block(raw: bytes, offset: int, size: int, where: str) -> bytes:
    """The contents of the block at ``offset``, its trailer (compression type, CRC) checked."""
    if offset + size + 5 > len(raw):
        raise FormatError(f"{where}: a table block ({offset}+{size}) lies past the end of the index file")
    kind = raw[offset + size]
    if kind != 0:
        raise FormatError(
            f"{where}: table block compressed with method {kind} (snappy); TensorFlow writes bundles "
            "uncompressed and compressed blocks are not decoded"
        )
    stored = int.from_bytes(raw[offset + size + 1 : offset + size + 5], "little")
    if crc32c(raw[offset : offset + size + 1]) != unmask(stored):
        raise FormatError(f"{where}: a table block fails its CRC-32C (corrupt index)")
    return raw[offset : offset + size]


def _entries(block: bytes, where: str, limit: int) -> list[tuple[bytes, bytes]]:
    """The (key, value) pairs of one block (keys prefix-compressed against the previous one),
    at most ``limit`` of them, keys at most MAX_KEY bytes (so rebuilding them costs little)."""
    if len(block) < 4:
        raise FormatError(f"{where}: a table block is shorter than its restart count")
    restarts = int.from_bytes(block[-4:], "little")
    end = len(block) - 4 * (restarts + 1)
    if restarts < 1 or end < 0:
        raise FormatError(f"{where}: a table block declares {restarts} restart points")
    out: list[tuple[bytes, bytes]] = []
    pos, key = 0, b""
    while pos < end:
        shared, pos = varint(block, pos, where)
        unshared, pos = varint(block, pos, where)
        vlen, pos = varint(block, pos, where)
        if shared > len(key) or pos + unshared + vlen > end:
            raise FormatError(f"{where}: a table entry overruns its block")
        if shared + unshared > MAX_KEY:
            raise FormatError(f"{where}: a checkpoint key of {shared + unshared} bytes (bound {MAX_KEY})")
        key = key[:shared] + block[pos : pos + unshared]
        pos += unshared
        out.append((key, block[pos : pos + vlen]))
        pos += vlen
        if len(out) > limit:
            raise ResourceError(f"{where}: more than {MAX_ENTRIES} checkpoint entries")
    return out


def read_table(path: Path, where: str) -> dict[str, bytes]:
    """Every key -> value of an SSTable file, bounded: its data blocks must follow each other
    without overlapping, so no byte is parsed twice."""
    size = regular(path, where)
    if size > MAX_INDEX_BYTES:
        raise ResourceError(f"{where}: {path.name} is {size} bytes, over the {MAX_INDEX_BYTES}-byte bound")
    if size < FOOTER:
        raise FormatError(f"{where}: {path.name} is too short to be a checkpoint index")
    raw = read_at(path, 0, size)
    if len(raw) != size or int.from_bytes(raw[-8:], "little") != MAGIC:
        raise FormatError(f"{where}: {path.name} is not a TensorFlow checkpoint index (no table magic)")
    footer = raw[-FOOTER:]
    _, pos = varint(footer, 0, where)  # the metaindex handle: offset,
    _, pos = varint(footer, pos, where)  # size; TensorFlow leaves the metaindex empty
    index = _block(raw, *_handle(footer[pos:], where), where)
    table: dict[str, bytes] = {}
    done = 0
    for _, handle in _entries(index, where, MAX_ENTRIES):
        offset, length = _handle(handle, where)
        if offset < done:
            raise FormatError(f"{where}: table blocks overlap or are out of order")
        done = offset + length + 5
        for key, value in _entries(_block(raw, offset, length, where), where, MAX_ENTRIES - len(table)):
            try:
                name = key.decode("utf-8")
            except UnicodeDecodeError:
                raise FormatError(f"{where}: a checkpoint key is not UTF-8") from None
            if name in table:
                raise FormatError(f"{where}: checkpoint key {name!r} appears twice")
            table[name] = value
    return table


@dataclass
class Entry:
    key: str
    dtype: int
    shape: tuple[int, ...]
    shard: int
    offset: int
    size: int
    crc: int | None


def _shape(raw: bytes | None, where: str) -> tuple[int, ...]:
    if raw is None:
        return ()
    msg = fields(raw, where)
    if one(msg, 3, int, where, 0):
        raise FormatError(f"{where}: tensor of unknown rank")
    dims = []
    for d in many(msg, 2, where):
        size = signed(one(fields(d, where), 1, int, where, 0))
        if size < 0 or size > 1 << 40:
            raise FormatError(f"{where}: tensor dimension {size} out of range")
        dims.append(size)
    if len(dims) > 32:
        raise FormatError(f"{where}: tensor of rank {len(dims)}")
    return tuple(dims)


def parse_entry(key: str, raw: bytes, where: str) -> Entry:
    at = f"{where}: entry {key!r}"
    msg = fields(raw, at)
    if msg.get(7):
        raise FormatError(f"{at}: a partitioned (sliced) variable; such checkpoints are not read")
    crc = one(msg, 6, int, at)
    return Entry(
        key,
        one(msg, 1, int, at, 0),
        _shape(one(msg, 2, bytes, at), at),
        one(msg, 3, int, at, 0),
        one(msg, 4, int, at, 0),
        one(msg, 5, int, at, 0),
        None if crc is None else unmask(crc),
    )


class Bundle:
    """The entries of a TensorBundle and bounded reads of their bytes."""

    def __init__(self, prefix: Path, where: str):
        self.where = where
        table = read_table(prefix.with_name(prefix.name + ".index"), where)
        header = fields(table.pop("", b""), f"{where}: bundle header")
        self.shards = one(header, 1, int, where, 0)
        if one(header, 2, int, where, 0) != 0:
            raise FormatError(f"{where}: a big-endian checkpoint; only little-endian bundles are read")
        if not 1 <= self.shards <= MAX_SHARDS:
            raise FormatError(f"{where}: bundle declares {self.shards} data shards")
        self.entries = {k: parse_entry(k, v, where) for k, v in table.items()}
        self._files: dict[int, tuple[Path, int]] = {}
        self.prefix = prefix

    def shard_path(self, shard: int) -> Path:
        return self.prefix.with_name(f"{self.prefix.name}.data-{shard:05d}-of-{self.shards:05d}")

    def _shard(self, shard: int) -> tuple[Path, int]:
        if shard not in self._files:
            if not 0 <= shard < self.shards:
                raise FormatError(f"{self.where}: a tensor lives in shard {shard} of {self.shards}")
            path = self.shard_path(shard)
            self._files[shard] = (path, regular(path, self.where))
        return self._files[shard]

    def raw(self, entry: Entry, limit: int, *, check: bool = True) -> bytes:
        """The entry's bytes, their range checked against the shard and ``limit``, CRC checked."""
        at = f"{self.where}: tensor {entry.key!r}"
        if entry.size > limit:
            raise ResourceError(f"{at}: {entry.size} bytes, over the {limit}-byte bound")
        path, size = self._shard(entry.shard)
        if entry.offset + entry.size > size:
            raise FormatError(
                f"{at}: bytes {entry.offset}..{entry.offset + entry.size} lie past the end of {path.name}"
            )
        data = read_at(path, entry.offset, entry.size)
        if len(data) != entry.size:
            raise FormatError(f"{at}: {path.name} changed while it was read")
        if check and entry.crc is not None and crc32c(data) != entry.crc:
            raise FormatError(f"{at}: data fails its CRC-32C (corrupt checkpoint)")
        return data

    def string(self, key: str) -> bytes:
        """A scalar string tensor: varint length, a 4-byte checksum of the lengths, the bytes.
        Its CRC-32C runs over the length as a little-endian uint32, the checksum and the bytes."""
        at = f"{self.where}: tensor {key!r}"
        entry = self.entries.get(key)
        if entry is None:
            raise FormatError(f"{at}: missing")
        if entry.dtype != DT_STRING or entry.shape != ():
            raise FormatError(f"{at}: expected a scalar string")
        data = self.raw(entry, MAX_STRING_BYTES, check=False)
        length, pos = varint(data, 0, at)
        if pos + 4 + length != len(data):
            raise FormatError(f"{at}: string length {length} does not match its {len(data)} stored bytes")
        width = 4 if length < 1 << 32 else 8  # TensorFlow checksums a length below 2**32 as a uint32
        if entry.crc is not None and crc32c(length.to_bytes(width, "little") + data[pos:]) != entry.crc:
            raise FormatError(f"{at}: data fails its CRC-32C (corrupt checkpoint)")
        return data[pos + 4 :]

    def array(self, key: str, label: str) -> BundleArray:
        entry = self.entries.get(key)
        if entry is None:
            raise FormatError(f"{self.where}: weight {label!r} has no tensor {key!r} in the checkpoint")
        return BundleArray(self, entry, label)


class BundleArray(LazyArray):
    """A checked, not yet read tensor: ``shape`` and ``dtype`` now, values on ``np.asarray``
    (the interface of :class:`.h5safe.H5Array`)."""

    def __init__(self, bundle: Bundle, entry: Entry, label: str):
        self.label, self.where, self._bundle, self._entry = label, bundle.where, bundle, entry
        if entry.dtype not in DTYPES:
            raise FormatError(
                f"{self.where}: weight {label!r} has TensorFlow dtype {entry.dtype}; only numeric is read"
            )
        self.dtype = np.dtype(DTYPES[entry.dtype])
        self.shape = entry.shape
        if entry.size != self.nbytes:
            raise FormatError(
                f"{self.where}: weight {label!r} declares shape {self.shape} ({self.nbytes} bytes) "
                f"but stores {entry.size} bytes"
            )
        self._value: np.ndarray | None = None

    def read(self) -> np.ndarray:
        if self._value is None:
            data = self._bundle.raw(self._entry, self.nbytes)
            self._value = np.frombuffer(data, self.dtype).reshape(self.shape).astype(self.dtype.newbyteorder("="))
        return self._value


__all__ = ["Bundle", "BundleArray", "read_table", "regular"]
