"""Dense, Activation and Embedding."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import InputError
from .activations import activation_fn


def dense(
    x: np.ndarray,  # (..., D)
    *,
    kernel: np.ndarray,  # (D, U)
    bias: np.ndarray | None = None,  # (U,)
    activation: dict[str, Any],
) -> list[np.ndarray]:
    """``activation(x @ kernel + bias)`` on the last axis, any rank."""
    y = x @ kernel  # (..., U)
    if bias is not None:
        y = y + bias
    return [activation_fn(activation)(y)]


def activation(x: np.ndarray, *, activation: dict[str, Any]) -> list[np.ndarray]:
    return [activation_fn(activation)(x)]


def embedding(
    ids: np.ndarray,  # (...) integer ids (floats are truncated, as Keras casts them)
    *,
    embeddings: np.ndarray,  # (input_dim, output_dim)
) -> list[np.ndarray]:
    """``embeddings[ids]``; ids outside ``[0, input_dim)`` are an error."""
    if ids.dtype.kind == "f":
        if not np.all(np.isfinite(ids)):
            raise InputError("Embedding input contains NaN or Inf; ids must be finite integers")
        ids = ids.astype(np.int64)
    n = embeddings.shape[0]
    if ids.size and (ids.min() < 0 or ids.max() >= n):
        bad = ids[(ids < 0) | (ids >= n)].ravel()[0]
        raise InputError(f"Embedding id {int(bad)} is out of range [0, {n})")
    return [embeddings[ids]]


def not_equal_mask(ids: np.ndarray, *, value: float) -> list[np.ndarray]:
    """Embedding(mask_zero=True)'s mask: ``ids != value`` (True = a real step)."""
    return [np.not_equal(ids, value)]


def masking(x: np.ndarray, *, mask_value: float) -> list[np.ndarray]:
    """Keras ``Masking``: a step is real if any feature differs from ``mask_value``;
    masked steps are zeroed. Returns ``[x * mask, mask]`` with mask ``(...)`` = x.shape[:-1]."""
    keep = np.any(np.not_equal(x, np.float32(mask_value)), axis=-1)  # (B, T)
    return [x * keep[..., None].astype(x.dtype), keep]


def reduce_any(x: np.ndarray, *, axis: int, keepdims: bool) -> list[np.ndarray]:
    """``any(x, axis)``: Keras 3's recorded mask reduction."""
    return [np.any(x, axis=axis, keepdims=keepdims)]


def logical_and(a: np.ndarray, b: np.ndarray) -> list[np.ndarray]:
    return [np.logical_and(a, b)]


def logical_or(a: np.ndarray, b: np.ndarray) -> list[np.ndarray]:
    return [np.logical_or(a, b)]


def expand_dims(x: np.ndarray, *, axis: int) -> list[np.ndarray]:
    return [np.expand_dims(x, axis)]


def fill_like(x: np.ndarray, *, fill: bool) -> list[np.ndarray]:
    """A boolean tensor of ``x``'s shape filled with ``fill`` (Keras 3's zeros_like/ones_like on masks)."""
    return [np.full(x.shape, fill, dtype=bool)]
