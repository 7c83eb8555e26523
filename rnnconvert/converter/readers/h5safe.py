"""The only way the readers touch an HDF5 file: links, datasets and data, checked first.

HDF5 can make a file read other files: external links, external raw-data storage and
virtual datasets all point outside it, and libhdf5 follows them silently. It can also
declare gigabytes it does not store (fill values), compress a chunk 1000:1, or link one
group from many places so a naive walk is exponential. This layer:

* follows hard links only -- an external or soft link is refused by name, never resolved;
* accepts a dataset only if its data is stored in the file itself (contiguous, chunked or
  compact layout, no external storage, not virtual), fully written, with standard filters
  (shuffle, deflate, fletcher32) and a numeric dtype;
* hands out :class:`H5Array` handles that carry the declared shape and dtype and read
  nothing until the caller, having checked the shape against what the layer config needs,
  asks for the values; deflated chunks are then decompressed by us with an output bound of
  the chunk's own size, so no stream inflates past what was declared;
* lets walks remember what they visited (:class:`Visited`), so each object is read once.

libhdf5 itself can hang on some corrupt files (an open upstream bug); :func:`.probe.probe`
reads a file's structure in a child process with a deadline before the converter opens it.
"""

from __future__ import annotations

import zlib
from typing import Any

import h5py
import numpy as np

from ...errors import FormatError, ResourceError, SecurityError
from .lazy import LazyArray

ALLOWED_FILTERS = {
    h5py.h5z.FILTER_DEFLATE: "deflate",
    h5py.h5z.FILTER_SHUFFLE: "shuffle",
    h5py.h5z.FILTER_FLETCHER32: "fletcher32",
}
_LAYOUTS = {h5py.h5d.CONTIGUOUS: "contiguous", h5py.h5d.CHUNKED: "chunked", h5py.h5d.COMPACT: "compact"}
MAX_CHUNK_BYTES = 64 << 20  # a chunk larger than this is never what Keras writes


def has(group: Any, name: str) -> bool:
    """``name in group`` without resolving the link (h5py's ``in`` opens external files)."""
    try:
        return bool(group.id.links.exists(name.encode("utf-8")))
    except (KeyError, ValueError, RuntimeError, UnicodeEncodeError):
        return False


def child(group: Any, name: str, where: str) -> Any:
    """The object linked as ``name`` (one path component) if it is a hard link."""
    try:
        link = group.get(name, getlink=True)
    except (KeyError, ValueError, RuntimeError, OSError) as exc:
        raise FormatError(f"{where}: cannot read link {name!r} ({exc})") from None
    if link is None:
        raise FormatError(f"{where}: {name!r} is missing")
    if isinstance(link, h5py.ExternalLink):
        raise SecurityError(
            f"{where}: {name!r} is an external link to {link.filename!r}; links to other files are refused"
        )
    if isinstance(link, h5py.SoftLink):
        raise SecurityError(f"{where}: {name!r} is a soft link to {link.path!r}; only hard links are followed")
    try:
        return group[name]
    except (KeyError, ValueError, RuntimeError, OSError) as exc:
        raise FormatError(f"{where}: cannot open {name!r} ({exc})") from None


def resolve(group: Any, path: str, where: str) -> Any:
    """``group[path]`` one hard link at a time."""
    obj = group
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if not isinstance(obj, h5py.Group):
            raise FormatError(f"{where}: {path!r} passes through a dataset")
        obj = child(obj, part, f"{where}: {path!r}")
    return obj


def has_path(group: Any, path: str) -> bool:
    obj = group
    for part in (p for p in path.split("/") if p not in ("", ".")):
        if not isinstance(obj, h5py.Group) or not has(obj, part):
            return False
        link = obj.get(part, getlink=True)
        if not isinstance(link, h5py.HardLink):
            return True  # present; `resolve` refuses it by name
        obj = obj[part]
    return True


class Visited:
    """Objects a walk has reached, by file and object address: a DAG is walked linearly."""

    def __init__(self) -> None:
        self._seen: set[Any] = set()

    def first(self, obj: Any) -> bool:
        key = obj.id
        if key in self._seen:
            return False
        self._seen.add(key)
        return True


def _filters(dcpl: Any, label: str, where: str) -> list[int]:
    codes = []
    for i in range(dcpl.get_nfilters()):
        code = int(dcpl.get_filter(i)[0])
        if code not in ALLOWED_FILTERS:
            raise SecurityError(
                f"{where}: weight {label!r} uses HDF5 filter {code}; only {', '.join(ALLOWED_FILTERS.values())} are read"
            )
        codes.append(code)
    return codes


class H5Array(LazyArray):
    """A checked, not yet read dataset: ``shape`` and ``dtype`` now, values on ``np.asarray``."""

    def __init__(self, dset: Any, label: str, where: str, budget: Any = None):
        self.label, self.where, self._budget = label, where, budget
        if not isinstance(dset, h5py.Dataset):
            raise FormatError(f"{where}: weight {label!r} is a group, not a dataset")
        dt = dset.dtype
        if dt.kind not in "fiub" or dt.fields is not None or dt.subdtype is not None:
            raise FormatError(f"{where}: weight {label!r} has dtype {dt}; only numeric arrays are read")
        dcpl = dset.id.get_create_plist()
        layout = dcpl.get_layout()
        if layout == h5py.h5d.VIRTUAL:
            raise SecurityError(f"{where}: weight {label!r} is a virtual dataset (data from other files); refused")
        if dcpl.get_external_count():
            raise SecurityError(f"{where}: weight {label!r} keeps its data in an external file; refused")
        if layout not in _LAYOUTS:
            raise FormatError(f"{where}: weight {label!r} has an unknown HDF5 storage layout ({layout})")
        self.shape: tuple[int, ...] = tuple(int(d) for d in dset.shape or ())
        self.dtype = dt
        self._dset, self._layout, self._codes = dset, layout, _filters(dcpl, label, where)
        self._value: np.ndarray | None = None
        if layout == h5py.h5d.CHUNKED:
            self._chunk = tuple(int(c) for c in dset.chunks)
            if int(np.prod(self._chunk, dtype=np.float64)) * dt.itemsize > MAX_CHUNK_BYTES:
                raise ResourceError(f"{where}: weight {label!r} declares HDF5 chunks {self._chunk}, over the bound")

    def read(self) -> np.ndarray:
        """The values; the first call reads them (within the budget), later calls reuse them."""
        if self._value is None:
            if self._budget is not None:
                self._budget.charge(self.nbytes)
            try:
                self._value = self._read()
            except (FormatError, ResourceError, SecurityError):
                raise
            except Exception as exc:  # h5py raises many types for corrupt data
                raise FormatError(f"{self.where}: cannot read weight {self.label!r} ({exc})") from None
        return self._value

    def _read(self) -> np.ndarray:
        d = self._dset
        if self.size == 0:
            return np.zeros(self.shape, self.dtype)
        if self._layout == h5py.h5d.CONTIGUOUS and d.id.get_storage_size() < self.nbytes:
            raise FormatError(f"{self.where}: weight {self.label!r} declares {self.nbytes} bytes but stores none")
        if self._layout != h5py.h5d.CHUNKED:
            return np.asarray(d[()])
        return self._read_chunks()

    def _read_chunks(self) -> np.ndarray:
        d, chunk = self._dset, self._chunk
        expected = int(np.prod([-(-s // c) for s, c in zip(self.shape, chunk)], dtype=np.int64))
        if d.id.get_num_chunks() != expected:
            raise FormatError(f"{self.where}: weight {self.label!r} has unwritten chunks (no data stored)")
        if h5py.h5z.FILTER_DEFLATE not in self._codes:
            return np.asarray(d[()])  # nothing to inflate: libhdf5 reads exactly the declared bytes
        out = np.empty(self.shape, self.dtype)
        chunk_bytes = int(np.prod(chunk)) * self.dtype.itemsize
        for i in range(expected):
            info = d.id.get_chunk_info(i)
            mask, raw = d.id.read_direct_chunk(info.chunk_offset)
            data = _decode(raw, self._codes, mask, chunk_bytes, self.dtype.itemsize, self.label, self.where)
            block = np.frombuffer(data, self.dtype).reshape(chunk)
            start = info.chunk_offset
            dst = tuple(slice(o, min(o + c, s)) for o, c, s in zip(start, chunk, self.shape))
            out[dst] = block[tuple(slice(0, t.stop - t.start) for t in dst)]
        return out


def _decode(raw: bytes, codes: list[int], mask: int, size: int, itemsize: int, label: str, where: str) -> bytes:
    """Undo a chunk's filters, last applied first; inflate never yields more than ``size`` bytes."""
    data = bytes(raw)
    for i in reversed(range(len(codes))):
        if mask & (1 << i):
            continue  # this filter was skipped for this chunk
        code = codes[i]
        if code == h5py.h5z.FILTER_FLETCHER32:
            data = data[:-4]  # the checksum; deflate's own adler32 still guards the data
        elif code == h5py.h5z.FILTER_DEFLATE:
            z = zlib.decompressobj()
            try:
                data = z.decompress(data, size)
            except zlib.error as exc:
                raise FormatError(f"{where}: weight {label!r}: corrupt deflate chunk ({exc})") from None
            if z.unconsumed_tail or not z.eof:
                raise ResourceError(f"{where}: weight {label!r}: a chunk inflates past its declared {size} bytes")
        elif code == h5py.h5z.FILTER_SHUFFLE and itemsize > 1:
            n = len(data) // itemsize * itemsize
            body = np.frombuffer(data[:n], np.uint8).reshape(itemsize, -1).T.tobytes()
            data = body + data[n:]
    if len(data) != size:
        raise FormatError(f"{where}: weight {label!r}: a chunk holds {len(data)} bytes, not {size}")
    return data
