"""HDF5 model files (Keras 1, 2, tf_keras, Keras 3 legacy) and JSON + weights pairs.

Each file is first probed in a child process (:func:`.probe.probe`), then opened here and
kept open: the weights are lazy handles read once their shapes are checked. The returned
:class:`KerasSource` closes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py

from ...errors import FormatError, RnnConvertError
from . import KerasSource, parse_config_json
from .access import layers_of
from .h5safe import child, has
from .probe import probe
from .weights import _text, has_names, read_keras3_weights, read_legacy_weights

MAX_ATTR_BYTES = 64 << 20


def open_h5(path: Path | Any, where: str, *, probed: bool = False) -> h5py.File:
    """Open for reading after the structure probe (``probed``: done by the caller)."""
    if not probed:
        probe(path, where)
    try:
        return h5py.File(path, "r")
    except Exception as exc:  # h5py raises OSError/KeyError/... on truncated or corrupt files
        raise FormatError(f"{where}: not a readable HDF5 Keras file ({exc})") from None


def _attr(obj: Any, name: str) -> str | None:
    v = obj.attrs.get(name)
    return None if v is None else _text(v)


def _config_attr(f: h5py.File, path: Path) -> Any:
    """The ``model_config`` attribute, its declared size checked before it is read."""
    if "model_config" not in f.attrs:
        return None
    aid = h5py.h5a.open(f.id, b"model_config")
    if not aid.dtype.kind == "O" and aid.get_storage_size() > MAX_ATTR_BYTES:
        raise FormatError(f"{path}: model_config attribute of {aid.get_storage_size()} bytes is too large")
    return f.attrs["model_config"]


def read_h5_model(path: Path, *, probed: bool = False) -> KerasSource:
    f = open_h5(path, str(path), probed=probed)
    try:
        raw = _config_attr(f, path)
        if raw is None:
            if has_names(f, "layer_names") or has(f, "layers"):
                raise FormatError(f"{path}: a weights-only file; pass the architecture JSON and this as --weights")
            raise FormatError(f"{path}: HDF5 file without a Keras model_config attribute")
        cfg = parse_config_json(raw if isinstance(raw, (bytes, str)) else bytes(raw), str(path))
        group = child(f, "model_weights", str(path)) if has(f, "model_weights") else None
        version = _attr(f, "keras_version") or (group is not None and _attr(group, "keras_version")) or None
        backend = _attr(f, "backend") or (group is not None and _attr(group, "backend")) or None
        if group is None:
            raise FormatError(f"{path}: the model has no 'model_weights' group (saved without weights?)")
        weights = read_legacy_weights(group, str(path))
    except BaseException as exc:
        f.close()
        if isinstance(exc, (KeyError, OSError, RuntimeError, ValueError)) and not isinstance(exc, RnnConvertError):
            raise FormatError(f"{path}: corrupt HDF5 Keras file ({exc})") from None
        raise
    src = KerasSource(cfg, version, backend, "hdf5", weights)
    src.on_close(f.close)
    return src


def read_json_and_weights(cfg: dict[str, Any], wpath: Path, *, probed: bool = False) -> KerasSource:
    version = cfg.get("keras_version")
    backend = cfg.get("backend")
    f = open_h5(wpath, str(wpath), probed=probed)
    try:
        if has_names(f, "layer_names"):
            weights = read_legacy_weights(f, str(wpath))
        elif has(f, "model_weights"):
            weights = read_legacy_weights(child(f, "model_weights", str(wpath)), str(wpath))
        elif has(f, "layers") or has(f, "vars"):
            layers = layers_of(cfg, str(wpath))
            weights = read_keras3_weights(f, layers, str(wpath), sequential=cfg.get("class_name") == "Sequential")
        else:
            raise FormatError(f"{wpath}: not a Keras weights file (no layer_names, model_weights or layers)")
        version = version or _attr(f, "keras_version")
        backend = backend or _attr(f, "backend")
    except BaseException as exc:
        f.close()
        if isinstance(exc, (KeyError, OSError, RuntimeError, ValueError)) and not isinstance(exc, RnnConvertError):
            raise FormatError(f"{wpath}: corrupt HDF5 weights file ({exc})") from None
        raise
    src = KerasSource(cfg, str(version) if version else None, backend, "json+hdf5", weights)
    src.on_close(f.close)
    return src
