"""Keras model files -> :class:`KerasSource`, with h5py, zipfile and json only.

Supported containers:

* Keras 3 ``.keras`` zip (``config.json`` + ``metadata.json`` + ``model.weights.h5``);
* full-model HDF5 ``.h5`` from Keras 1, Keras 2 / tf.keras / tf_keras, and Keras 3's
  legacy writer (JSON in the root attribute ``model_config``);
* an architecture JSON (``model.to_json()``) with a weights HDF5 (``save_weights``),
  in either the legacy layout or Keras 3's;
* a tf.keras / tf_keras SavedModel folder (``model.save("dir")``), read without TensorFlow
  (:mod:`.savedmodel`).

Files are recognised by their bytes, not their names: a ``.keras`` that is
really HDF5 reads as HDF5. Only regular files are opened (a FIFO or device given as a
model would block or never end); HDF5 goes through :mod:`.h5safe`, and the weights stay
lazy handles on the open file until :meth:`KerasSource.close` (or ``with source:``).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import FormatError, InputError
from ...runtime.common import sha256_file
from .weights import WeightStore

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ZIP_MAGIC = b"PK\x03\x04"
MAX_CONFIG_BYTES = 64 << 20


@dataclass
class KerasSource:
    """Everything the converter needs from a Keras model file."""

    config: dict[str, Any]  # {"class_name": "Sequential"|"Functional"|..., "config": {...}}
    keras_version: str | None
    backend: str | None
    container: str  # keras-zip | hdf5 | json+hdf5 | savedmodel | in-memory
    weights: WeightStore
    file: str | None = None
    sha256: str | None = None
    weights_file: str | None = None
    weights_sha256: str | None = None
    notes: list[str] = field(default_factory=list)
    _closers: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def on_close(self, fn: Callable[[], None]) -> None:
        self._closers.append(fn)

    def close(self) -> None:
        """Close the files the lazy weights read from (read what you need first)."""
        while self._closers:
            self._closers.pop()()

    def __enter__(self) -> KerasSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def regular_file(path: Path, role: str = "") -> int:
    """The size of ``path`` if it is a regular file; a FIFO, device, socket or directory is
    refused before it is opened (opening a FIFO blocks until a writer comes)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{path}: is a directory, not a Keras model file")
    if not stat.S_ISREG(st.st_mode):
        kind = "a FIFO" if stat.S_ISFIFO(st.st_mode) else "a device or socket"
        raise InputError(f"{path}: {role or 'the model'} is {kind}, not a regular file; only regular files are read")
    return st.st_size


def sniff(path: Path) -> str:
    """``"hdf5"``, ``"zip"`` or ``"json"`` from the file's first bytes."""
    regular_file(path)
    try:
        with open(path, "rb") as f:
            head = f.read(1024)
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a Keras model file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if head.startswith(HDF5_MAGIC):
        return "hdf5"
    if head.startswith(ZIP_MAGIC):
        return "zip"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return "json"
    # HDF5 allows a user block of 512, 1024, ... bytes before the signature.
    size = path.stat().st_size
    with open(path, "rb") as f:
        offset = 512
        while offset < min(size, 1 << 20):
            f.seek(offset)
            if f.read(8) == HDF5_MAGIC:
                return "hdf5"
            offset *= 2
    raise FormatError(f"{path}: not a Keras model file (neither HDF5, a .keras zip, nor JSON)")


def parse_config_json(raw: bytes | str, where: str) -> dict[str, Any]:
    if isinstance(raw, bytes):
        if len(raw) > MAX_CONFIG_BYTES:
            raise FormatError(f"{where}: model config of {len(raw)} bytes is larger than any RNN architecture")
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise FormatError(f"{where}: model config is not UTF-8 text") from None
    try:
        cfg = json.loads(raw)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise FormatError(f"{where}: model config is not valid JSON ({exc})") from None
    if not isinstance(cfg, dict) or "class_name" not in cfg:
        raise FormatError(f"{where}: not a Keras model config (no 'class_name')")
    return cfg


def read_source(
    path: str | os.PathLike[str], weights: str | os.PathLike[str] | None = None, *, trusted: bool = False
) -> KerasSource:
    """Read a Keras model file (and optional separate weights file).

    ``trusted``: a file this process just wrote (an in-memory model saved by its Keras); the
    child-process probe of its HDF5 structure is skipped (forking a process that runs
    TensorFlow's threads is best avoided).
    """
    from . import hdf5, keras_zip, savedmodel

    p = Path(path)
    if p.is_dir() and savedmodel.is_saved_model(p):
        if weights is not None:
            raise InputError(f"{p}: --weights goes with an architecture JSON file, not a SavedModel folder")
        return savedmodel.read_saved_model(p)
    size = regular_file(p, "MODEL")
    kind = sniff(p)
    if weights is not None and kind != "json":
        raise InputError(f"{p}: --weights goes with an architecture JSON file, not a {kind} model file")
    if kind == "zip":
        src = keras_zip.read_keras_zip(p, probed=trusted)
    elif kind == "hdf5":
        src = hdf5.read_h5_model(p, probed=trusted)
    else:
        if weights is None:
            raise InputError(f"{p}: an architecture JSON needs its weights file (--weights WEIGHTS_H5)")
        wp = Path(weights)
        regular_file(wp, "--weights")
        if sniff(wp) != "hdf5":
            raise FormatError(f"{wp}: weights file is not HDF5")
        if size > MAX_CONFIG_BYTES:  # checked before the file is read whole
            raise FormatError(f"{p}: model config of {size} bytes is larger than any RNN architecture")
        with open(p, "rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
        cfg = parse_config_json(raw, str(p))
        src = hdf5.read_json_and_weights(cfg, wp, probed=trusted)
        try:
            src.weights_file, src.weights_sha256 = wp.name, sha256_file(wp)
        except BaseException:
            src.close()
            raise
    try:
        src.file, src.sha256 = p.name, sha256_file(p)
    except BaseException:
        src.close()
        raise
    return src


__all__ = ["KerasSource", "read_source", "sniff"]
