"""Keras 3 ``.keras`` files: a zip of config.json, metadata.json and model.weights.h5.

Members are checked before anything large is read: their count, their names
(no absolute paths, no ``..``, no duplicates), encryption and compression method, their
declared sizes and compression ratio. The weights HDF5 is streamed to a private temporary
file (never held in memory whole) and read lazily through :mod:`.h5safe`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from ...errors import FormatError, ResourceError, SecurityError
from . import MAX_CONFIG_BYTES, KerasSource, parse_config_json
from .access import layers_of
from .assets import restore_vocabularies
from .hdf5 import open_h5
from .weights import MAX_TOTAL_WEIGHT_BYTES, read_keras3_weights

MAX_MEMBERS = 64
METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
# Keras writes members stored; a deflated member may expand this much (Keras's own loader
# uses the same ratio) once past a floor small models never reach.
MAX_RATIO, RATIO_FLOOR = 100, 64 << 20


def _check_members(zf: zipfile.ZipFile, path: Path) -> dict[str, zipfile.ZipInfo]:
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ResourceError(f"{path}: {len(infos)} zip members; a .keras file has a handful")
    seen: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":"):
            raise SecurityError(f"{path}: zip member {name!r} escapes the archive")
        if name in seen:
            raise FormatError(f"{path}: duplicate zip member {name!r}")
        if info.flag_bits & 0x1:
            raise FormatError(f"{path}: zip member {name!r} is encrypted; .keras files are not")
        if info.compress_type not in METHODS:
            raise FormatError(
                f"{path}: zip member {name!r} uses compression method {info.compress_type}; "
                f"only {' and '.join(METHODS.values())} are read"
            )
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise ResourceError(
                f"{path}: zip member {name!r} expands {info.compress_size} bytes to {info.file_size}; "
                f"over {MAX_RATIO}:1 it is a zip bomb, not weights"
            )
        seen[name] = info
    return seen


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, path: Path) -> bytes:
    if info.file_size > limit:
        raise ResourceError(
            f"{path}: member {info.filename!r} declares {info.file_size} bytes, over the {limit}-byte bound"
        )
    with zf.open(info) as f:
        data = f.read(limit + 1)
    if len(data) > limit or len(data) != info.file_size:
        raise FormatError(f"{path}: member {info.filename!r} does not match its declared size")
    return data


def _extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, path: Path) -> None:
    """Stream a member to ``dest``, never past its declared size (checked against the bound)."""
    if info.file_size > MAX_TOTAL_WEIGHT_BYTES:
        raise ResourceError(f"{path}: member {info.filename!r} declares {info.file_size} bytes, over the bound")
    left = info.file_size
    with zf.open(info) as src, open(dest, "wb") as out:
        while True:
            block = src.read(min(1 << 20, left + 1))
            if not block:
                break
            left -= len(block)
            if left < 0:
                break
            out.write(block)
    if left != 0:
        raise FormatError(f"{path}: member {info.filename!r} does not match its declared size")


def read_keras_zip(path: Path, *, probed: bool = False) -> KerasSource:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise FormatError(f"{path}: not a Keras model file (bad zip: {exc})") from None
    tmp = Path(tempfile.mkdtemp(prefix="rnnconvert-keras-"))
    h5 = tmp / "model.weights.h5"
    try:
        with zf:
            cfg, meta = _read_configs(zf, path, h5)
        where = f"{path}:model.weights.h5"
        f = open_h5(h5, where, probed=probed)
        try:
            layers = layers_of(cfg, where)
            weights = read_keras3_weights(f, layers, where, sequential=cfg.get("class_name") == "Sequential")
        except BaseException:
            f.close()
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    version = meta.get("keras_version")
    src = KerasSource(cfg, str(version) if version else None, None, "keras-zip", weights)
    src.on_close(lambda: shutil.rmtree(tmp, ignore_errors=True))
    src.on_close(f.close)
    if os.name == "posix":  # the open handle keeps the data; nothing is left behind if we die
        shutil.rmtree(tmp, ignore_errors=True)
    return src


def _read_configs(zf: zipfile.ZipFile, path: Path, h5: Path) -> tuple[dict, dict]:
    members = _check_members(zf, path)
    if "config.json" not in members:
        raise FormatError(f"{path}: not a Keras 3 model file (no config.json in the zip)")
    try:
        cfg = parse_config_json(_read_member(zf, members["config.json"], MAX_CONFIG_BYTES, path), f"{path}:config.json")
        meta = {}
        if "metadata.json" in members:
            try:
                meta = json.loads(_read_member(zf, members["metadata.json"], 1 << 20, path))
            except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
                raise FormatError(f"{path}: metadata.json is not valid JSON") from None
            if not isinstance(meta, dict):
                meta = {}
        if "model.weights.h5" not in members:
            raise FormatError(f"{path}: no model.weights.h5 in the zip")
        _extract(zf, members["model.weights.h5"], h5, path)
        restore_vocabularies(zf, members, cfg, path)
    except (zipfile.BadZipFile, EOFError, OSError, RuntimeError, NotImplementedError) as exc:
        raise FormatError(f"{path}: truncated or corrupt .keras file ({exc})") from None
    return cfg, meta
