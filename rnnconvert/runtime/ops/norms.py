"""GroupNormalization, RMSNormalization, UnitNormalization, Normalization (inference),
Threshold and AutoContrast (FORMAT.md 5.41-5.45)."""

from __future__ import annotations

import numpy as np


def _bshape(x: np.ndarray, axes: list[int]) -> tuple[int, ...]:
    ax = {a % x.ndim for a in axes}
    return tuple(x.shape[i] if i in ax else 1 for i in range(x.ndim))


def group_norm(
    x: np.ndarray,
    *,
    gamma: np.ndarray | None = None,
    beta: np.ndarray | None = None,
    groups: int,
    axis: int,
    epsilon: float,
) -> list[np.ndarray]:
    """Split axis ``axis`` (C channels) into ``groups`` groups of C / groups; normalise each
    (sample, group) over its channels and every other non-batch axis with its own mean and
    biased variance; then ``* gamma + beta`` per channel."""
    ax = axis % x.ndim
    c = x.shape[ax]
    if ax == 0 or c % groups:
        raise ValueError(f"GroupNormalization: axis {axis} of {x.shape} does not split into {groups} groups")
    g = x.reshape(x.shape[:ax] + (groups, c // groups) + x.shape[ax + 1 :])
    red = tuple(i for i in range(1, g.ndim) if i != ax)
    mean = g.mean(axis=red, keepdims=True)
    var = ((g - mean) ** 2).mean(axis=red, keepdims=True)
    y = ((g - mean) / np.sqrt(var + np.float32(epsilon))).reshape(x.shape)
    shape = _bshape(x, [ax])
    if gamma is not None:
        y = y * gamma.reshape(shape)
    if beta is not None:
        y = y + beta.reshape(shape)
    return [y.astype(np.float32, copy=False)]


def rms_norm(x: np.ndarray, *, scale: np.ndarray, axis: list[int], epsilon: float) -> list[np.ndarray]:
    """``x / sqrt(mean(x^2 over axis) + epsilon) * scale`` (``scale`` shaped like the axes)."""
    ax = tuple(a % x.ndim for a in axis)
    ms = np.mean(np.square(x), axis=ax, keepdims=True)
    y = x / np.sqrt(ms + np.float32(epsilon)) * scale.reshape(_bshape(x, axis))
    return [y.astype(np.float32, copy=False)]


def unit_norm(x: np.ndarray, *, axis: list[int], epsilon: float) -> list[np.ndarray]:
    """``x / sqrt(max(sum(x^2 over axis), epsilon))`` (epsilon bounds the squared norm)."""
    ax = tuple(a % x.ndim for a in axis)
    ss = np.sum(np.square(x), axis=ax, keepdims=True)
    return [(x / np.sqrt(np.maximum(ss, np.float32(epsilon)))).astype(np.float32, copy=False)]


def normalization(
    x: np.ndarray, *, mean: np.ndarray, variance: np.ndarray, axis: list[int], invert: bool, epsilon: float
) -> list[np.ndarray]:
    """Keras's Normalization at inference: ``(x - mean) / max(sqrt(variance), epsilon)``, or
    with ``invert`` ``mean + x * max(sqrt(variance), epsilon)``; mean and variance are
    shaped like the kept ``axis`` (every other axis shares them)."""
    shape = _bshape(x, axis)
    m = mean.reshape(shape)
    s = np.maximum(np.sqrt(variance.reshape(shape)), np.float32(epsilon))
    y = m + x * s if invert else (x - m) / s
    return [y.astype(np.float32, copy=False)]


def threshold(x: np.ndarray, *, threshold: float, default_value: float) -> list[np.ndarray]:
    """``x`` where ``x > threshold``, else ``default_value``."""
    return [np.where(x > np.float32(threshold), x, np.float32(default_value)).astype(np.float32, copy=False)]


def auto_contrast(x: np.ndarray, *, value_range: list[float]) -> list[np.ndarray]:
    """Keras 3's AutoContrast: each image's values (axes 1 and 2, per channel) stretched to
    the full ``value_range`` [a, b], computed on the 0-255 scale; a channel whose result is
    NaN (a constant one) keeps its input."""
    a, b = np.float32(value_range[0]), np.float32(value_range[1])
    rescale = (a, b) != (np.float32(0), np.float32(255))
    f255 = np.float32(255)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        v = (x - a) / (b - a) * f255 if rescale else x
        low = v.min(axis=(1, 2), keepdims=True)
        high = v.max(axis=(1, 2), keepdims=True)
        scale = f255 / (high - low)
        offset = -low * scale
        r = np.clip(v * scale + offset, np.float32(0), f255)
        if rescale:
            r = r / f255 * (b - a) + a
    return [np.where(np.isnan(r), x, r).astype(np.float32, copy=False)]
