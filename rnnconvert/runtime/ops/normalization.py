"""BatchNormalization (inference), LayerNormalization and PReLU."""

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
