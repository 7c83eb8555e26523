"""Vocabularies a Keras 3 ``.keras`` file keeps as assets, not in its config: an adapted
``StringLookup`` / ``IntegerLookup`` / ``TextVectorization`` writes
``assets/<layer path>/vocabulary.txt`` (one token a line, special tokens first) and saves
``vocabulary: null`` in its config. The reader puts the list back into the config, so the
converters read one place."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from ...errors import FormatError, ResourceError
from .weights import snake_case

#: The most vocabulary text read from one file, over all its assets.
MAX_ASSET_BYTES = 64 << 20
LOOKUP_CLASSES = ("StringLookup", "IntegerLookup", "TextVectorization")


def _read(zf: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, budget: list[int]) -> list[str]:
    if info.file_size > budget[0]:
        raise ResourceError(f"{path}: asset {info.filename!r} takes the vocabularies past {MAX_ASSET_BYTES} bytes")
    with zf.open(info) as f:
        data = f.read(info.file_size + 1)
    if len(data) != info.file_size:
        raise FormatError(f"{path}: asset {info.filename!r} does not match its declared size")
    budget[0] -= len(data)
    try:
        lines = data.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise FormatError(f"{path}: asset {info.filename!r} is not UTF-8 text") from None
    while lines and lines[-1] == "":
        lines.pop()
    return lines


def _walk(cfg: Any, prefix: str, out: list[tuple[dict[str, Any], str]]) -> None:
    """Each lookup layer with its asset path: Keras names a layer's object path after its
    snake_case class plus a counter in layer order (as the weights groups, weights.py)."""
    inner = cfg.get("config") if isinstance(cfg, dict) else None
    layers = inner.get("layers") if isinstance(inner, dict) else None
    if not isinstance(layers, list):
        return
    sequential = cfg.get("class_name") == "Sequential"
    counters: dict[str, int] = {}
    for lc in layers:
        if not isinstance(lc, dict) or not isinstance(lc.get("config"), dict):
            continue
        cls = str(lc.get("class_name"))
        if sequential and cls == "InputLayer":
            continue
        base = snake_case(cls)
        n = counters.get(base, 0)
        counters[base] = n + 1
        here = f"{prefix}layers/{base if n == 0 else f'{base}_{n}'}"
        if cls in LOOKUP_CLASSES:
            out.append((lc, here))
        _walk(lc, here + "/", out)


def restore_vocabularies(zf: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], cfg: dict, path: Path) -> None:
    """Fill ``vocabulary`` (a list of str, or of int for an IntegerLookup) into the config of
    every lookup layer whose config has none and whose asset the zip holds."""
    found: list[tuple[dict[str, Any], str]] = []
    _walk(cfg, "", found)
    budget = [MAX_ASSET_BYTES]
    for lc, here in found:
        conf = lc["config"]
        info = members.get(f"assets/{here}/vocabulary.txt")
        if conf.get("vocabulary") is not None or info is None:
            continue
        lines = _read(zf, info, path, budget)
        if lc.get("class_name") == "IntegerLookup":
            try:
                conf["vocabulary"] = [int(t) for t in lines]
            except ValueError:
                raise FormatError(f"{path}: asset {info.filename!r} holds a token that is not an integer") from None
        else:
            conf["vocabulary"] = lines
