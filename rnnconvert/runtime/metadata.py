"""A bundle's ``metadata`` (format 1.3.0, FORMAT.md 2.1): one JSON object the user gives
at conversion -- a vocabulary, a scaler's statistics, label names -- stored in
``model.json`` and handed back as ``model.metadata``. Nothing in it changes what a
runtime computes. Checked as JSON only: an object, with no NaN or infinity, of bounded
size and depth.

The runtime imports numpy and the standard library only.
"""

from __future__ import annotations

import copy
import json
import math
import os
from pathlib import Path
from typing import Any

from ..errors import FormatError, InputError

#: Bound on the metadata, serialised as compact UTF-8 JSON (and on a metadata file's size).
MAX_METADATA_BYTES = 4 << 20
#: Bound on its nesting depth (objects and lists).
MAX_METADATA_DEPTH = 64


def _depth_and_finite(value: Any, where: str) -> None:
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, float) and not math.isfinite(v):
            raise FormatError(f"{where}: holds {v!r}, which JSON cannot carry")
        if isinstance(v, (dict, list)):
            if depth > MAX_METADATA_DEPTH:
                raise FormatError(f"{where}: nested deeper than {MAX_METADATA_DEPTH} levels")
            items = v.values() if isinstance(v, dict) else v
            stack.extend((item, depth + 1) for item in items)
            if isinstance(v, dict) and not all(isinstance(k, str) for k in v):
                raise FormatError(f"{where}: object keys must be strings")
        elif not (v is None or isinstance(v, (str, bool, int, float))):
            raise FormatError(f"{where}: holds a {type(v).__name__}, which is not a JSON value")


def check_metadata(value: Any, where: str = "metadata") -> dict[str, Any]:
    """``value`` if it is a JSON object within the bounds; else FormatError naming ``where``."""
    if not isinstance(value, dict):
        raise FormatError(f"{where}: must be a JSON object, got {type(value).__name__}")
    _depth_and_finite(value, where)
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    if size > MAX_METADATA_BYTES:
        raise FormatError(f"{where}: {size} bytes of JSON is more than the {MAX_METADATA_BYTES}-byte bound")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def read_metadata_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The JSON object in the file ``path`` (bounded), checked; InputError otherwise."""
    p = Path(path)
    try:
        if not p.is_file():
            raise InputError(f"{p}: metadata must be a regular JSON file")
        size = p.stat().st_size
        if size > MAX_METADATA_BYTES:
            raise InputError(f"{p}: {size} bytes is more than the {MAX_METADATA_BYTES}-byte bound for metadata")
        with p.open("rb") as f:
            raw = f.read(MAX_METADATA_BYTES + 1)
    except OSError as exc:
        raise InputError(f"{p}: cannot read metadata ({exc.strerror or exc})") from None
    if len(raw) > MAX_METADATA_BYTES:
        raise InputError(f"{p}: more than the {MAX_METADATA_BYTES}-byte bound for metadata")
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InputError(f"{p}: not valid JSON ({exc})") from None
    try:
        return check_metadata(value, str(p))
    except FormatError as exc:
        raise InputError(str(exc)) from None


def metadata_of(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy of the document's metadata (an empty dict when it has none)."""
    value = doc.get("metadata")
    return {} if value is None else copy.deepcopy(value)
