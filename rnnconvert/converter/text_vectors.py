"""Test-vector inputs for the preprocessing ops (FORMAT.md 8): tokens drawn from the
vocabularies that read an input, plus out-of-vocabulary ones (punctuation, non-ASCII,
the empty string), the mask token, ids in range for CategoryEncoding, and values on and
around Discretization's boundaries."""

from __future__ import annotations

from typing import Any

import numpy as np

#: Out-of-vocabulary text: punctuation, accents, CJK, an emoji, case, whitespace.
OOV_STRINGS = ["[UNK]", "Ünïcödé", "naïve!", "日本語", "👍", "", "  spaced  ", "MiXeD", "a,b.c"]


def _readers(doc: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [n for n in doc["nodes"] if any(r[0] == name for r in n["inputs"])]


def _pool(nodes: list[dict[str, Any]], strings: bool) -> list[Any]:
    pool: list[Any] = []
    for n in nodes:
        c = n["config"]
        if n["op"] == "Lookup":
            pool += list(c["vocabulary"]) * 2
            if c["mask_token"] is not None:
                pool.append(c["mask_token"])
    if strings:
        long = "a sentence longer than sixty-four bytes, ünïcödé, 日本語 and 👍 included. " * 2
        return pool + OOV_STRINGS + [long[:n] for n in (17, 33, 65, 130)]
    return pool + [-7, 0, 1, 12345]


SEPARATORS = [" ", " ", " ", ", ", "  ", "\t", ". ", "! ", "\u00a0", "-"]


def _sentences(nodes: list[dict[str, Any]], n: int, rng: np.random.Generator) -> np.ndarray:
    """Text made of vocabulary words (some upper-cased) and OOV words, joined by spaces,
    tabs, punctuation and a no-break space; the first sentence is empty."""
    words = [t for nd in nodes if nd["op"] == "TextVectorization" for t in nd["config"]["vocabulary"]]
    words += OOV_STRINGS
    out = []
    for i in range(n):
        parts = []
        for _ in range(0 if i == 0 else int(rng.integers(1, 9))):
            w = words[int(rng.integers(0, len(words)))]
            parts += [w.upper() if rng.random() < 0.2 else w, SEPARATORS[int(rng.integers(0, len(SEPARATORS)))]]
        out.append("".join(parts))
    return np.array(out, dtype=str)


def preprocessing_input(
    doc: dict[str, Any], spec: dict[str, Any], shape: list[int], rng: np.random.Generator
) -> np.ndarray | None:
    """Inputs for an input read by preprocessing ops, or None when none reads it."""
    nodes = _readers(doc, spec["name"])
    ops = {n["op"] for n in nodes}
    if spec["dtype"] == "string" and "TextVectorization" in ops:
        return _sentences(nodes, int(np.prod(shape)), rng).reshape(shape)
    if spec["dtype"] == "string":
        pool = _pool(nodes, True)
        return np.array([pool[i] for i in rng.integers(0, len(pool), int(np.prod(shape)))], dtype=str).reshape(shape)
    if "Lookup" in ops and spec["dtype"].startswith("int"):
        pool = _pool(nodes, False)
        return np.array([pool[i] for i in rng.integers(0, len(pool), int(np.prod(shape)))], np.int64).reshape(shape)
    if "Hashing" in ops and spec["dtype"].startswith("int"):
        return rng.integers(-(2**31), 2**31, shape).astype(np.int64)  # int32: the JS runtime reads ids as int32
    if "CategoryEncoding" in ops:
        top = min(n["config"]["num_tokens"] for n in nodes if n["op"] == "CategoryEncoding")
        return rng.integers(0, top, shape).astype(np.int32)
    if "Discretization" in ops:
        b = [v for n in nodes if n["op"] == "Discretization" for v in n["config"]["bin_boundaries"]]
        values = np.array([*b, *(np.array(b) - 0.5), *(np.array(b) + 0.25), min(b) - 10, max(b) + 10], np.float32)
        return values[rng.integers(0, len(values), shape)]
    return None
