"""Keras ``Dot``: a batched tensor product of two inputs."""

from __future__ import annotations

import numpy as np


def dot(a: np.ndarray, b: np.ndarray, *, axes: list[int], normalize: bool) -> list[np.ndarray]:
    """Keras ``Dot``: a batched tensor product over ``axes`` (one per input, batch axis
    excluded); inputs of rank 2 give (B, 1). ``normalize``: l2-normalise along those axes first."""
    ax_a, ax_b = axes[0] % a.ndim, axes[1] % b.ndim
    if normalize:
        a = a / np.sqrt(np.maximum(np.sum(a * a, axis=ax_a, keepdims=True), np.float32(1e-12)))
        b = b / np.sqrt(np.maximum(np.sum(b * b, axis=ax_b, keepdims=True), np.float32(1e-12)))
    a2 = np.moveaxis(a, ax_a, -1)  # (B, ..., K)
    b2 = np.moveaxis(b, ax_b, 1)  # (B, K, ...)
    ra, rb = a2.ndim - 2, b2.ndim - 2
    y = np.einsum("b" + "ijkl"[:ra] + "z," + "bz" + "mnop"[:rb] + "->b" + "ijkl"[:ra] + "mnop"[:rb], a2, b2)
    if y.ndim == 1:
        y = y[:, None]
    return [y.astype(np.float32, copy=False)]
