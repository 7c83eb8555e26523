"""Reading a bundle directory safely: ``model.json`` + the weights NPZ.

Everything here is a check at the edge: sizes are bounded before anything is
read, the weights file must sit inside the bundle directory, its SHA-256 must
match, and every array's ``.npy`` header is parsed and compared with the JSON
before a byte of data is read. Pickles are never loaded.
"""

from __future__ import annotations

import functools
import io
import json
import os
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FormatError, ResourceError, RnnConvertError, SecurityError
from ..schema import FORMAT_NAME, check_features, migrate
from .common import sha256_file
from .sniff import not_a_bundle

MODEL_JSON = "model.json"
MAX_JSON_BYTES = 64 << 20  # a model.json this large is not an RNN architecture
MAX_WEIGHT_BYTES = 8 << 30  # default bound on the weights file; load(max_weight_bytes=...) changes it
ALLOWED_DTYPES = {"float32", "float16", "float64", "int32", "int64", "int8", "uint8", "bool"}


@dataclass
class Bundle:
    """A parsed, checked bundle: the JSON document and its arrays by key."""

    path: Path
    doc: dict[str, Any]
    arrays: dict[str, np.ndarray]
    #: The ``format_version`` the file declares; ``doc`` holds it migrated to the current format.
    declared_version: str | None = None


def _refuse_other_kind(path: Path) -> None:
    """A Keras file, SavedModel or NPZ given where a bundle belongs: say so, and how to convert it."""
    hint = not_a_bundle(path)
    if hint:
        raise FormatError(hint)


def read_model_json(path: str | os.PathLike[str]) -> tuple[Path, dict[str, Any]]:
    """The bundle directory and its ``model.json`` document, migrated to the current format."""
    directory, doc, _ = _read_model_json(path)
    return directory, doc


def _read_model_json(path: str | os.PathLike[str]) -> tuple[Path, dict[str, Any], str | None]:
    """Locate and parse ``model.json`` (``path`` is the bundle dir or the file itself)."""
    p = Path(path)
    if p.is_dir():
        directory, jpath = p, p / MODEL_JSON
    else:
        directory, jpath = p.parent, p
    if not p.exists():
        raise FormatError(f"{p}: no such file or directory")
    if not jpath.is_file():
        raise FormatError(not_a_bundle(p) or f"{p}: not a bundle (no {MODEL_JSON})")
    size = jpath.stat().st_size
    if size > MAX_JSON_BYTES:
        _refuse_other_kind(jpath)
        raise ResourceError(f"{jpath}: {size} bytes is larger than the {MAX_JSON_BYTES}-byte bound for model.json")
    try:
        doc = json.loads(jpath.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        _refuse_other_kind(jpath)
        raise FormatError(f"{jpath}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise FormatError(f"{jpath}: must hold a JSON object")
    if doc.get("format") != FORMAT_NAME:
        _refuse_other_kind(jpath)
        raise FormatError(f"{jpath}: 'format' is {doc.get('format')!r}, expected {FORMAT_NAME!r}")
    declared = doc.get("format_version")
    doc = migrate(doc)
    check_features(doc)
    return directory, doc, declared if isinstance(declared, str) else None


def _weights_path(directory: Path, doc: dict[str, Any]) -> Path:
    w = doc.get("weights")
    if not isinstance(w, dict) or not isinstance(w.get("file"), str):
        raise FormatError("model.json: 'weights.file' is missing")
    name = w["file"]
    if name in ("", ".", "..") or "/" in name or "\\" in name or os.path.isabs(name) or "\x00" in name:
        raise SecurityError(f"model.json: weights.file {name!r} must be a plain file name inside the bundle")
    p = directory / name
    if p.is_symlink():
        raise SecurityError(f"{p}: the weights file is a symbolic link; refusing to follow it")
    if not p.is_file():
        raise FormatError(f"{p}: weights file missing")
    return p


def _array_specs(doc: dict[str, Any]) -> dict[str, tuple[tuple[int, ...], str]]:
    arrays = doc["weights"].get("arrays")
    if not isinstance(arrays, dict):
        raise FormatError("model.json: 'weights.arrays' must be an object")
    specs: dict[str, tuple[tuple[int, ...], str]] = {}
    for key, spec in arrays.items():
        if not isinstance(spec, dict):
            raise FormatError(f"model.json: weights.arrays[{key!r}] must be an object")
        shape, dtype = spec.get("shape"), spec.get("dtype")
        if not isinstance(shape, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
        ):
            raise FormatError(f"model.json: weights.arrays[{key!r}].shape must be a list of non-negative integers")
        if not isinstance(dtype, str) or dtype not in ALLOWED_DTYPES:
            raise FormatError(f"model.json: weights.arrays[{key!r}].dtype {dtype!r} is not allowed")
        specs[key] = (tuple(shape), dtype)
    return specs


def _array_layout(doc: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """``{key: (offset, nbytes)}`` for the arrays whose entry has either (format >= 1.2)."""
    out = {}
    for key, spec in doc["weights"]["arrays"].items():
        if "offset" in spec or "nbytes" in spec:
            out[key] = (spec.get("offset"), spec.get("nbytes"))
    return out


_MAX_HEADER = 10000  # bytes of .npy header text we parse at most


def _raw_header(f: Any) -> bytes:
    """A ``.npy`` member's magic, version, length and header text, read as bytes."""
    head = f.read(8)
    if len(head) < 8:
        raise EOFError("the .npy header is cut short")
    size_bytes = {1: 2, 2: 4, 3: 4}.get(head[6], 0) if head[:6] == b"\x93NUMPY" else 0
    if not size_bytes:
        return head  # _parse_header lets NumPy say what is wrong with it
    size_raw = f.read(size_bytes)
    n = int.from_bytes(size_raw, "little")
    if len(size_raw) < size_bytes or n > _MAX_HEADER:
        raise ValueError(f"a .npy header of {n} bytes (at most {_MAX_HEADER} are read)")
    return head + size_raw + f.read(n)


@functools.lru_cache(maxsize=1024)
def _parse_header(raw: bytes) -> tuple[tuple[int, ...], bool, np.dtype[Any]]:
    """``(shape, fortran_order, dtype)`` of a raw ``.npy`` header, parsed by NumPy; the same
    header text (a dtype and shape) is parsed once per process, not once per array load."""
    f = io.BytesIO(raw)
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f, max_header_size=_MAX_HEADER)
    elif version in ((2, 0), (3, 0)):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f, max_header_size=_MAX_HEADER)
    else:
        raise ValueError(f"unsupported .npy version {version}")
    if f.read(1):
        raise ValueError("the .npy header is longer than it says")
    return tuple(shape), bool(fortran), dtype


def read_npz(
    path: Path,
    specs: dict[str, tuple[tuple[int, ...], str]],
    *,
    max_bytes: int = MAX_WEIGHT_BYTES,
) -> dict[str, np.ndarray]:
    """Read exactly the arrays ``specs`` names from an NPZ file, checking each header first."""
    try:
        return _read_npz(path, specs, max_bytes)
    except RnnConvertError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError, ValueError) as exc:
        raise FormatError(f"{path}: corrupt NPZ data ({type(exc).__name__}: {exc})") from None


def _read_npz(path: Path, specs: dict[str, tuple[tuple[int, ...], str]], max_bytes: int) -> dict[str, np.ndarray]:
    expected_total = 0
    for shape, dtype in specs.values():
        expected_total += int(np.prod(shape, dtype=np.float64)) * np.dtype(dtype).itemsize
    if expected_total > max_bytes:
        raise ResourceError(
            f"{path}: the arrays declared in model.json need {expected_total} bytes, over the {max_bytes}-byte bound"
        )
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise FormatError(f"{path}: not a valid NPZ (zip) file: {exc}") from None
    with zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        if len(set(names)) != len(names):
            raise FormatError(f"{path}: duplicate member names")
        members = {n[:-4]: i for n, i in zip(names, infos) if n.endswith(".npy")}
        if len(members) != len(names):
            raise FormatError(
                f"{path}: members other than .npy arrays: {sorted(set(names) - {k + '.npy' for k in members})[:5]}"
            )
        missing = sorted(set(specs) - set(members))
        extra = sorted(set(members) - set(specs))
        if missing or extra:
            raise FormatError(f"{path}: arrays do not match model.json (missing {missing[:5]}, extra {extra[:5]})")
        out: dict[str, np.ndarray] = {}
        for key, (shape, dtype) in specs.items():
            info = members[key]
            if info.file_size > max_bytes:
                raise ResourceError(f"{path}: member {key!r} declares {info.file_size} bytes, over the bound")
            with zf.open(info) as f:
                try:
                    hshape, fortran, hdtype = _parse_header(_raw_header(f))
                except (ValueError, SyntaxError, EOFError) as exc:
                    raise FormatError(f"{path}: array {key!r} has a bad .npy header: {exc}") from None
                if hdtype.hasobject or hdtype.fields is not None:
                    raise SecurityError(
                        f"{path}: array {key!r} has dtype {hdtype}; object/structured arrays are refused"
                    )
                if tuple(hshape) != shape or hdtype.newbyteorder("=") != np.dtype(dtype):
                    raise FormatError(
                        f"{path}: array {key!r} is {hdtype}{list(hshape)} but model.json says {dtype}{list(shape)}"
                    )
                nbytes = int(np.prod(shape, dtype=np.int64)) * hdtype.itemsize
                data = f.read(nbytes + 1)
            if len(data) != nbytes:
                raise FormatError(f"{path}: array {key!r} holds {len(data)} bytes of data, expected {nbytes}")
            arr = np.frombuffer(data, dtype=hdtype).reshape(shape, order="F" if fortran else "C")
            out[key] = np.asarray(arr.astype(np.dtype(dtype), copy=False), order="C")
    return out


def read_bundle(path: str | os.PathLike[str], *, max_weight_bytes: int = MAX_WEIGHT_BYTES) -> Bundle:
    """Parse and check a bundle directory; see the module docstring for what is checked."""
    directory, doc, declared = _read_model_json(path)
    wpath = _weights_path(directory, doc)
    specs = _array_specs(doc)
    size = wpath.stat().st_size
    if size > max_weight_bytes + (1 << 20) + 512 * len(specs):
        raise ResourceError(f"{wpath}: {size} bytes is over the {max_weight_bytes}-byte bound")
    digest = sha256_file(wpath)
    if digest != doc["weights"].get("sha256"):
        raise FormatError(
            f"{wpath}: SHA-256 {digest[:12]}... does not match model.json ({str(doc['weights'].get('sha256'))[:12]}...)"
        )
    arrays = read_npz(wpath, specs, max_bytes=max_weight_bytes)
    layout = _array_layout(doc)
    if layout:
        check_layout(wpath, specs, layout)
    return Bundle(directory, doc, arrays, declared)


#: Every array's data starts at a multiple of this many bytes in weights.npz (FORMAT.md 3).
NPZ_ALIGN = 64
#: The zip extra-field id of the alignment padding (the id Android's zipalign uses).
_ALIGN_EXTRA_ID = 0xD935
_LOCAL_HEADER = 30  # bytes of a zip local file header before its name and extra field


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """Serialise arrays as a deterministic NPZ (see :func:`npz_layout`)."""
    return npz_layout(arrays)[0]


def npz_layout(arrays: dict[str, np.ndarray]) -> tuple[bytes, dict[str, tuple[int, int]]]:
    """A deterministic NPZ any language can slice, and where each array's data lies.

    Members are sorted, stored (no compression), with fixed timestamps and no pickle;
    each holds a little-endian, C-order ``.npy`` v1.0 file whose header NumPy pads to
    64 bytes, and each member starts at a multiple of ``NPZ_ALIGN`` (its local header's
    extra field is padded), so every array's data is 64-byte aligned in the file.
    Returns ``(payload, {key: (offset, nbytes)})``: the absolute byte offset of each
    array's data in the payload and its length.
    """
    buf = io.BytesIO()
    layout: dict[str, tuple[int, int]] = {}
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for key in sorted(arrays):
            arr = np.asarray(arrays[key], order="C")  # C order; 0-d arrays stay 0-d
            if arr.dtype.byteorder == ">" or (arr.dtype.byteorder == "=" and sys.byteorder == "big"):
                arr = arr.astype(arr.dtype.newbyteorder("<"))
            member = io.BytesIO()
            np.lib.format.write_array(member, arr, version=(1, 0), allow_pickle=False)
            data = member.getvalue()
            name = key + ".npy"
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            start = buf.tell() + _LOCAL_HEADER + len(name.encode("utf-8"))
            pad = -start % NPZ_ALIGN
            if pad:  # an extra-field block is at least 4 bytes (id, length)
                pad = pad if pad >= 4 else pad + NPZ_ALIGN
                info.extra = _ALIGN_EXTRA_ID.to_bytes(2, "little") + (pad - 4).to_bytes(2, "little") + bytes(pad - 4)
            zf.writestr(info, data)
            layout[key] = (buf.tell() - arr.nbytes, arr.nbytes)  # the data ends the member
    return buf.getvalue(), layout


def check_layout(path: Path, specs: dict[str, tuple[tuple[int, ...], str]], layout: dict[str, Any]) -> None:
    """Check ``weights.arrays[key]`` ``offset``/``nbytes`` against the zip: each must be where
    the member's (stored, uncompressed) ``.npy`` data really lies. FormatError otherwise."""
    try:
        size = path.stat().st_size
        with zipfile.ZipFile(path) as zf, open(path, "rb") as raw:
            infos = {i.filename[:-4]: i for i in zf.infolist() if i.filename.endswith(".npy")}
            for key, entry in layout.items():
                _check_member_layout(path, key, entry, specs.get(key), infos.get(key), raw, size)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise FormatError(f"{path}: cannot check the array offsets ({type(exc).__name__}: {exc})") from None


def _check_member_layout(path: Path, key: str, entry: Any, spec: Any, info: Any, raw: Any, size: int) -> None:
    where = f"{path}: model.json weights.arrays[{key!r}]"
    offset, nbytes = entry
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (offset, nbytes)):
        raise FormatError(f"{where}: offset and nbytes must be non-negative integers, got {offset!r}, {nbytes!r}")
    if spec is None or info is None:
        raise FormatError(f"{where}: has an offset but no such array")
    shape, dtype = spec
    want = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    if nbytes != want:
        raise FormatError(f"{where}: nbytes {nbytes} but {dtype}{list(shape)} takes {want}")
    if info.compress_type != zipfile.ZIP_STORED:
        raise FormatError(f"{where}: has an offset but its member is compressed")
    raw.seek(info.header_offset)
    head = raw.read(_LOCAL_HEADER)
    if len(head) != _LOCAL_HEADER or head[:4] != b"PK\x03\x04":
        raise FormatError(f"{where}: the member's local header is missing")
    start = info.header_offset + _LOCAL_HEADER + int.from_bytes(head[26:28], "little")
    start += int.from_bytes(head[28:30], "little")
    data_start = start + info.file_size - nbytes
    if offset != data_start or offset + nbytes > size or info.file_size < nbytes:
        raise FormatError(f"{where}: offset {offset} is not where its data lies ({data_start})")
