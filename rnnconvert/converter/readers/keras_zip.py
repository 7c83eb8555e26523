"""Keras 3 ``.keras`` files: a zip of config.json, metadata.json and model.weights.h5.

Members are checked before anything large is read: their count, their names
(no absolute paths, no ``..``, no duplicates) and their declared sizes.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import h5py

from ...errors import FormatError, ResourceError, SecurityError
from . import MAX_CONFIG_BYTES, KerasSource, parse_config_json
from .weights import MAX_TOTAL_WEIGHT_BYTES, read_keras3_weights

MAX_MEMBERS = 64


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


def read_keras_zip(path: Path) -> KerasSource:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise FormatError(f"{path}: not a Keras model file (bad zip: {exc})") from None
    with zf:
        members = _check_members(zf, path)
        if "config.json" not in members:
            raise FormatError(f"{path}: not a Keras 3 model file (no config.json in the zip)")
        try:
            cfg = parse_config_json(
                _read_member(zf, members["config.json"], MAX_CONFIG_BYTES, path), f"{path}:config.json"
            )
            meta = {}
            if "metadata.json" in members:
                try:
                    meta = json.loads(_read_member(zf, members["metadata.json"], 1 << 20, path))
                except (json.JSONDecodeError, UnicodeDecodeError):
                    raise FormatError(f"{path}: metadata.json is not valid JSON") from None
                if not isinstance(meta, dict):
                    meta = {}
            if "model.weights.h5" not in members:
                raise FormatError(f"{path}: no model.weights.h5 in the zip")
            data = _read_member(zf, members["model.weights.h5"], MAX_TOTAL_WEIGHT_BYTES, path)
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            raise FormatError(f"{path}: truncated or corrupt .keras file ({exc})") from None
    inner = cfg.get("config", {})
    layers = inner.get("layers", []) if isinstance(inner, dict) else []
    try:
        with h5py.File(io.BytesIO(data), "r") as f:
            weights = read_keras3_weights(
                f, layers, f"{path}:model.weights.h5", sequential=cfg.get("class_name") == "Sequential"
            )
    except FormatError:
        raise
    except Exception as exc:
        raise FormatError(f"{path}: model.weights.h5 is not readable HDF5 ({exc})") from None
    version = meta.get("keras_version")
    return KerasSource(cfg, str(version) if version else None, None, "keras-zip", weights)
