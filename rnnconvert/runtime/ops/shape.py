"""Shape ops: Flatten, Reshape, Permute, RepeatVector, Transpose."""

from __future__ import annotations

import numpy as np


def flatten(x: np.ndarray) -> list[np.ndarray]:
    # The width spelled out: -1 cannot be inferred when the batch is empty (a folded
    # empty streaming chunk).
    return [x.reshape(x.shape[0], int(np.prod(x.shape[1:], dtype=np.int64)))]


def reshape(x: np.ndarray, *, target_shape: list[int]) -> list[np.ndarray]:
    """(B, ...) -> (B, *target_shape); one entry may be -1."""
    return [x.reshape(x.shape[0], *target_shape)]


def permute(x: np.ndarray, *, dims: list[int]) -> list[np.ndarray]:
    """Transpose the non-batch axes: ``dims`` is 1-based, as Keras writes it."""
    return [np.ascontiguousarray(np.transpose(x, (0, *dims)))]


def repeat_vector(x: np.ndarray, *, n: int) -> list[np.ndarray]:
    """(B, D) -> (B, n, D)."""
    return [np.repeat(x[:, None, :], n, axis=1)]


def transpose(x: np.ndarray, *, perm: list[int]) -> list[np.ndarray]:
    """``y = x.transpose(perm)``: axis k of y is axis perm[k] of x, the batch axis included.
    A time-major recurrent layer ((T, B, D) in Keras) runs between two of these swapping axes 0 and 1."""
    return [np.ascontiguousarray(np.transpose(x, perm))]
