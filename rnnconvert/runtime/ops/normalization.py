"""BatchNormalization (inference) and LayerNormalization, PReLU and Dot."""

from __future__ import annotations

import numpy as np


def _bshape(x: np.ndarray, axes: list[int]) -> tuple[int, ...]:
    ax = {a % x.ndim for a in axes}
    return tuple(x.shape[i] if i in ax else 1 for i in range(x.ndim))


def batch_norm(
    x: np.ndarray,
    *,
    moving_mean: np.ndarray,
    moving_variance: np.ndarray,
    gamma: np.ndarray | None = None,
    beta: np.ndarray | None = None,
    axis: list[int],
    epsilon: float,
) -> list[np.ndarray]:
    """``(x - moving_mean) / sqrt(moving_variance + epsilon) * gamma + beta`` along ``axis``."""
    shape = _bshape(x, axis)
    inv = 1.0 / np.sqrt(moving_variance.reshape(shape) + np.float32(epsilon))
    y = (x - moving_mean.reshape(shape)) * inv
    if gamma is not None:
        y = y * gamma.reshape(shape)
    if beta is not None:
        y = y + beta.reshape(shape)
    return [y.astype(np.float32, copy=False)]


def layer_norm(
    x: np.ndarray,
    *,
    gamma: np.ndarray | None = None,
    beta: np.ndarray | None = None,
    axis: list[int],
    epsilon: float,
) -> list[np.ndarray]:
    """Normalise over ``axis`` with the sample's own mean and (biased) variance."""
    ax = tuple(a % x.ndim for a in axis)
    mean = x.mean(axis=ax, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=ax, keepdims=True)
    y = (x - mean) / np.sqrt(var + np.float32(epsilon))
    shape = _bshape(x, axis)
    if gamma is not None:
        y = y * gamma.reshape(shape)
    if beta is not None:
        y = y + beta.reshape(shape)
    return [y.astype(np.float32, copy=False)]


def prelu(x: np.ndarray, *, alpha: np.ndarray) -> list[np.ndarray]:
    """``max(x, 0) + alpha * min(x, 0)``; ``alpha`` has x's non-batch shape (1 on shared axes)."""
    return [np.maximum(x, 0) + alpha * np.minimum(x, 0)]


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
