"""TextVectorization (FORMAT.md 5.49): standardize, split, ngrams, then the lookup of
5.48 with mask token "" and one OOV index, padded or encoded.

The tokenisation is TensorFlow's exactly: ``tf.strings.lower`` without an encoding
lowercases ASCII A-Z only; the punctuation stripped is the 32 ASCII characters of Keras's
regex; ``tf.strings.split`` splits on runs of the six ASCII whitespace characters."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ...errors import InputError
from .text import encode, token_ids, weigh_idf

ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
STRIP = {ord(c): None for c in PUNCTUATION}
WHITESPACE = re.compile("[ \t\n\x0b\x0c\r]+")


def standardize_text(s: str, standardize: str | None) -> str:
    if standardize in ("lower", "lower_and_strip_punctuation"):
        s = s.translate(ASCII_LOWER)
    if standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
        s = s.translate(STRIP)
    return s


def split_text(s: str, split: str | None) -> list[str]:
    if split == "whitespace":
        return [t for t in WHITESPACE.split(s) if t]
    if split == "character":
        return list(s)
    return [s]


def ngram_tokens(tokens: list[str], widths: list[int] | None) -> list[str]:
    if not widths:
        return tokens
    out = []
    for w in widths:
        out += [" ".join(tokens[i : i + w]) for i in range(len(tokens) - w + 1)]
    return out


def tokenize(x: np.ndarray, standardize: str | None, split: str | None, ngrams: list[int] | None) -> list[list[str]]:
    """Each row's tokens; ``x`` is (B,) or (B, 1) strings."""
    a = np.asarray(x)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        raise InputError(f"TextVectorization reads (B,) or (B, 1) strings, got shape {a.shape}")
    return [ngram_tokens(split_text(standardize_text(str(s), standardize), split), ngrams) for s in a.tolist()]


def text_vectorization(
    x: np.ndarray,
    *,
    standardize: str | None,
    split: str | None,
    ngrams: list[int] | None,
    output_sequence_length: int | None,
    vocabulary: list[str],
    output_mode: str,
    depth: int,
    idf_weights: np.ndarray | None = None,
) -> list[np.ndarray]:
    rows = tokenize(x, standardize, split, ngrams)
    flat = [t for r in rows for t in r]
    idx, drop = token_ids(flat, vocabulary, "", 1, 1 if output_mode == "int" else 0)
    ends = np.cumsum([0] + [len(r) for r in rows])
    if output_mode == "int":
        width = (
            output_sequence_length if output_sequence_length is not None else int(max(ends[1:] - ends[:-1], default=0))
        )
        out = np.zeros((len(rows), width), np.int64)
        for b in range(len(rows)):
            ids = idx[ends[b] : ends[b + 1]][:width]
            out[b, : len(ids)] = ids
        return [out]
    out = np.zeros((len(rows), depth), np.float32)
    for b in range(len(rows)):
        if ends[b + 1] > ends[b]:
            row = idx[ends[b] : ends[b + 1]][None]
            out[b] = encode(
                row, depth, "count" if output_mode == "tf_idf" else output_mode, drop=drop[None, ends[b] : ends[b + 1]]
            )[0]
    return [weigh_idf(out, idf_weights) if output_mode == "tf_idf" else out]


__all__: list[Any] = ["text_vectorization", "tokenize"]
