"""HDF5 model files (Keras 1, 2, tf_keras, Keras 3 legacy) and JSON + weights pairs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py

from ...errors import FormatError
from . import KerasSource, parse_config_json
from .weights import _text, has_names, read_keras3_weights, read_legacy_weights


def _open(path: Path) -> h5py.File:
    try:
        return h5py.File(path, "r")
    except Exception as exc:  # h5py raises OSError/KeyError/... on truncated or corrupt files
        raise FormatError(f"{path}: not a readable HDF5 Keras file ({exc})") from None


def _attr(obj: Any, name: str) -> str | None:
    v = obj.attrs.get(name)
    return None if v is None else _text(v)


def read_h5_model(path: Path) -> KerasSource:
    with _open(path) as f:
        try:
            raw = f.attrs.get("model_config")
            if raw is None:
                if has_names(f, "layer_names") or "layers" in f:
                    raise FormatError(f"{path}: a weights-only file; pass the architecture JSON and this as --weights")
                raise FormatError(f"{path}: HDF5 file without a Keras model_config attribute")
            cfg = parse_config_json(raw if isinstance(raw, (bytes, str)) else bytes(raw), str(path))
            group = f["model_weights"] if "model_weights" in f else None
            version = _attr(f, "keras_version") or (group is not None and _attr(group, "keras_version")) or None
            backend = _attr(f, "backend") or (group is not None and _attr(group, "backend")) or None
            if group is None:
                raise FormatError(f"{path}: the model has no 'model_weights' group (saved without weights?)")
            weights = read_legacy_weights(group, str(path))
        except (KeyError, OSError, RuntimeError, ValueError) as exc:
            if isinstance(exc, FormatError):
                raise
            raise FormatError(f"{path}: corrupt HDF5 Keras file ({exc})") from None
    return KerasSource(cfg, version, backend, "hdf5", weights)


def read_json_and_weights(cfg: dict[str, Any], wpath: Path) -> KerasSource:
    version = cfg.get("keras_version")
    backend = cfg.get("backend")
    with _open(wpath) as f:
        try:
            if has_names(f, "layer_names"):
                weights = read_legacy_weights(f, str(wpath))
            elif "model_weights" in f:
                weights = read_legacy_weights(f["model_weights"], str(wpath))
            elif "layers" in f or "vars" in f:
                inner = cfg.get("config", {})
                layers = inner.get("layers", []) if isinstance(inner, dict) else inner
                weights = read_keras3_weights(f, layers, str(wpath), sequential=cfg.get("class_name") == "Sequential")
            else:
                raise FormatError(f"{wpath}: not a Keras weights file (no layer_names, model_weights or layers)")
            version = version or _attr(f, "keras_version")
            backend = backend or _attr(f, "backend")
        except (KeyError, OSError, RuntimeError) as exc:
            raise FormatError(f"{wpath}: corrupt HDF5 weights file ({exc})") from None
    return KerasSource(cfg, str(version) if version else None, backend, "json+hdf5", weights)
