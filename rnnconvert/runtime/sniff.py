"""What a path given as a bundle really is, when it is not one: the hint a user needs.

``load``, ``check`` and ``inspect`` are often handed the Keras file itself, or a
TensorFlow SavedModel folder, or the bundle's ``weights.npz``. Instead of "not valid
JSON ('utf-8' codec ...)", :func:`not_a_bundle` names what the path is and the command
that converts it. Standard library only (the runtime imports it); it reads at most a
file's first bytes and a zip's member names, and only once loading has already failed.

Example:
    >>> not_a_bundle(Path("model.keras"))           # doctest: +SKIP
    "model.keras: a Keras model file (.keras zip), not an rnnconvert bundle; convert it: ..."
"""

from __future__ import annotations

import json
import shlex
import zipfile
from pathlib import Path

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ZIP_MAGIC = b"PK\x03\x04"
_HEAD = 1024
_MAX_ZIP_MEMBERS = 10_000


def _convert_hint(path: Path, what: str, extra: str = "") -> str:
    return (
        f"{path}: {what}, not an rnnconvert bundle; convert it first: "
        f"rnnconvert convert {shlex.quote(str(path))}{extra} OUT_DIR"
    )


def _hdf5_at(path: Path, head: bytes) -> bool:
    """HDF5's signature at 0, or after a user block of 512, 1024, 2048... bytes."""
    if head.startswith(HDF5_MAGIC):
        return True
    try:
        with open(path, "rb") as f:
            offset = 512
            while offset <= 1 << 20:
                f.seek(offset)
                got = f.read(len(HDF5_MAGIC))
                if len(got) < len(HDF5_MAGIC):
                    return False
                if got == HDF5_MAGIC:
                    return True
                offset *= 2
    except OSError:
        return False
    return False


def _zip_hint(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            names = [i.filename for i in infos[:_MAX_ZIP_MEMBERS]]
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError):
        return f"{path}: a damaged zip archive, not an rnnconvert bundle"
    if "config.json" in names:
        return _convert_hint(path, "a Keras model file (.keras zip)")
    if names and all(n.endswith(".npy") for n in names):
        return (
            f"{path}: an NPZ weights file, not an rnnconvert bundle; give the bundle directory that holds it "
            "and its model.json"
        )
    return f"{path}: a zip archive that is neither a Keras .keras file nor an rnnconvert bundle"


def _json_hint(path: Path, head: bytes) -> str | None:
    if not head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return None
    try:
        size = path.stat().st_size
        doc = json.loads(path.read_bytes().decode("utf-8")) if size <= 64 << 20 else None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    if isinstance(doc, dict) and "class_name" in doc and "config" in doc and "format" not in doc:
        return _convert_hint(path, "a Keras architecture JSON (model.to_json())", " --weights WEIGHTS_H5")
    return None


def _file_hint(path: Path) -> str | None:
    try:
        with open(path, "rb") as f:
            head = f.read(_HEAD)
    except OSError:
        return None
    if _hdf5_at(path, head):
        return _convert_hint(path, "a Keras model file (HDF5)")
    if head.startswith(ZIP_MAGIC):
        return _zip_hint(path)
    return _json_hint(path, head)


def saved_model_hint(path: Path) -> str | None:
    """For a TensorFlow SavedModel folder, how to convert it (``None`` for anything else)."""
    if not ((path / "saved_model.pb").is_file() or (path / "saved_model.pbtxt").is_file()):
        return None
    if (path / "keras_metadata.pb").is_file():
        return _convert_hint(path, "a tf.keras SavedModel folder")
    return (
        f"{path}: a TensorFlow SavedModel folder without a Keras config (Keras 3's model.export() or plain "
        "TensorFlow), not an rnnconvert bundle; it holds graphs, not layers: re-save the original Keras model "
        "with model.save('model.keras') and run: rnnconvert convert model.keras OUT_DIR"
    )


def not_a_bundle(path: str | Path) -> str | None:
    """A one-line message saying what ``path`` is and how to convert it, or ``None``.

    Recognised: Keras ``.keras`` zips, Keras HDF5 files (model or weights), Keras
    architecture JSON, TensorFlow SavedModel folders (tf.keras's, with
    ``keras_metadata.pb``, or an export without a Keras config), NPZ weights files.
    """
    p = Path(path)
    try:
        if p.is_dir():
            return saved_model_hint(p)
        if p.is_file():
            return _file_hint(p)
    except OSError:
        return None
    return None


__all__ = ["not_a_bundle", "saved_model_hint"]
