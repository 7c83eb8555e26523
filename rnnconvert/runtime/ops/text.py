"""Preprocessing ops (FORMAT.md 5.46-5.48): Discretization, CategoryEncoding, Lookup.

Pure NumPy. Ids come out as int64, encodings as float32."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import InputError
from . import hashing as _hashing  # (hashing.py imports encode from here)


def discretization(x: np.ndarray, *, bin_boundaries: list[float]) -> list[np.ndarray]:
    """The index of the bucket each value falls in: how many boundaries are <= x."""
    b = np.asarray(bin_boundaries, np.float32)
    xf = np.asarray(x, np.float32)
    return [np.searchsorted(b, xf, side="right").astype(np.int64)]


def encode(ids: np.ndarray, depth: int, mode: str, *, drop: np.ndarray | None = None) -> np.ndarray:
    """one_hot / multi_hot / count of int ids in [0, depth); ``drop`` marks ids left out."""
    ids = np.asarray(ids)
    if mode == "one_hot":
        if ids.ndim > 1 and ids.shape[-1] == 1:
            ids = ids[..., 0]
            drop = None if drop is None else drop[..., 0]
        out = np.zeros((*ids.shape, depth), np.float32)
        keep = np.ones(ids.shape, bool) if drop is None else ~drop
        idx = np.nonzero(keep)
        where = (*idx, ids[idx])
        out[where] = 1.0
        return out
    if ids.ndim < 2:
        raise InputError(f"{mode} encodes the last axis of a rank >= 2 input, got shape {ids.shape}")
    lead = ids.shape[:-1]
    flat = ids.reshape(-1, ids.shape[-1])
    keep = np.ones(flat.shape, bool) if drop is None else ~drop.reshape(flat.shape)
    out = np.zeros((flat.shape[0], depth), np.float32)
    rows = np.nonzero(keep)
    np.add.at(out, (rows[0], flat[rows]), 1.0)
    if mode == "multi_hot":
        out = np.minimum(out, 1.0)
    return out.reshape(*lead, depth)


def _as_ids(x: np.ndarray, what: str) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)):
            raise InputError(f"{what} input contains NaN or Inf; ids must be finite integers")
        a = np.trunc(a)
    return a.astype(np.int64)


def category_encoding(ids: np.ndarray, *, num_tokens: int, output_mode: str) -> list[np.ndarray]:
    a = _as_ids(ids, "CategoryEncoding")
    bad = (a < 0) | (a >= num_tokens)
    if bad.any():
        raise InputError(f"CategoryEncoding input {int(a[bad][0])} is out of range [0, {num_tokens})")
    return [encode(a, num_tokens, output_mode)]


def _table(vocabulary: list[Any], start: int) -> dict[Any, int]:
    return {tok: start + i for i, tok in enumerate(vocabulary)}


def _oov_bucket(tok: Any, k: int, oov_method: str, salt: list[str] | None) -> int:
    if oov_method == "floormod" and isinstance(tok, int):
        return tok % k  # Python's % is the floor modulo
    return _hashing.hash_bucket(tok if isinstance(tok, str) else str(tok), k, salt)


def token_ids(
    flat: list[Any],
    vocabulary: list[Any],
    mask_token: Any,
    num_oov_indices: int,
    oov_start: int,
    oov_method: str = "farmhash",
    salt: list[str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each token's index, and which tokens are the mask token (FORMAT.md 5.48)."""
    table = _table(vocabulary, oov_start + num_oov_indices)
    idx = np.empty(len(flat), np.int64)
    drop = np.zeros(len(flat), bool)
    for i, tok in enumerate(flat):
        if mask_token is not None and tok == mask_token:
            idx[i], drop[i] = 0, True
            continue
        k = table.get(tok)
        if k is None:
            if num_oov_indices == 0:
                raise InputError(f"Lookup: token {tok!r} is not in the vocabulary and num_oov_indices is 0")
            k = oov_start + (_oov_bucket(tok, num_oov_indices, oov_method, salt) if num_oov_indices > 1 else 0)
        idx[i] = k
    return idx, drop


def weigh_idf(out: np.ndarray, idf_weights: np.ndarray | None) -> np.ndarray:
    if idf_weights is None:
        raise InputError("tf_idf output without idf_weights")
    return (out * np.asarray(idf_weights, np.float32)).astype(np.float32)


def lookup(
    tokens: np.ndarray,
    *,
    key_dtype: str,
    vocabulary: list[Any],
    mask_token: Any,
    num_oov_indices: int,
    output_mode: str,
    depth: int,
    oov_method: str,
    salt: list[str] | None,
    idf_weights: np.ndarray | None = None,
) -> list[np.ndarray]:
    """Each token's index: the mask token 0 (int output) or left out (other outputs); the
    i-th vocabulary entry oov_start + num_oov_indices + i; any other token an OOV index
    (oov_start, or oov_start + floormod(x, num_oov_indices) for integers)."""
    oov_start = 1 if mask_token is not None and output_mode == "int" else 0
    flat: list[str] | list[int]
    if key_dtype == "string":
        flat = [str(t) for t in np.asarray(tokens).reshape(-1)]
    else:
        flat = [int(t) for t in _as_ids(tokens, "Lookup").reshape(-1)]
    idx, drop = token_ids(flat, vocabulary, mask_token, num_oov_indices, oov_start, oov_method, salt)
    shape = np.shape(tokens)
    idx, drop = idx.reshape(shape), drop.reshape(shape)
    if output_mode == "int":
        return [idx]
    out = encode(idx, depth, "count" if output_mode == "tf_idf" else output_mode, drop=drop)
    return [weigh_idf(out, idf_weights) if output_mode == "tf_idf" else out]
