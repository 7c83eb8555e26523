"""1-D convolution and pooling over the time axis, channels last: (B, L, C)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .activations import activation_fn
from .convnd import conv_nd


def _pads(length: int, size: int, stride: int, dilation: int, padding: str) -> tuple[int, int]:
    span = (size - 1) * dilation + 1
    if padding == "causal":
        return span - 1, 0
    if padding == "same":
        out = -(-length // stride)
        total = max((out - 1) * stride + span - length, 0)
        return total // 2, total - total // 2
    return 0, 0


def _windows(x: np.ndarray, size: int, stride: int, dilation: int) -> np.ndarray:
    """(B, L, C) -> (B, L_out, size, C): the receptive field of every output step."""
    span = (size - 1) * dilation + 1
    n_out = (x.shape[1] - span) // stride + 1 if x.shape[1] >= span else 0
    idx = np.arange(n_out)[:, None] * stride + np.arange(size)[None, :] * dilation  # (L_out, size)
    return x[:, idx, :]


def conv1d(
    x: np.ndarray,  # (B, L, C_in)
    *,
    kernel: np.ndarray,  # (K, C_in, C_out)
    bias: np.ndarray | None = None,
    strides: int,
    padding: str,
    dilation_rate: int,
    groups: int = 1,
    activation: dict[str, Any],
) -> list[np.ndarray]:
    """``y[b, t] = activation(sum_k x_pad[b, t*s + k*d] @ kernel[k] + bias)``; padding valid
    (none), same (TF's split: the extra cell on the right), causal (all on the left).
    Grouped (kernel (K, C_in / groups, C_out)): convnd.py's N-D kernel, group by group."""
    if groups != 1:
        y = conv_nd(x, kernel, strides=[strides], padding=padding, dilation=[dilation_rate], groups=groups)
        return [activation_fn(activation)(y if bias is None else y + bias)]
    k, c_in, c_out = kernel.shape
    left, right = _pads(x.shape[1], k, strides, dilation_rate, padding)
    xp = np.pad(x, ((0, 0), (left, right), (0, 0))) if left or right else x
    win = _windows(xp, k, strides, dilation_rate)  # (B, L_out, K, C_in)
    y = win.reshape(win.shape[0], win.shape[1], k * c_in) @ kernel.reshape(k * c_in, c_out)  # (B, L_out, C_out)
    if bias is not None:
        y = y + bias
    return [activation_fn(activation)(y)]


def pool1d(x: np.ndarray, *, mode: str, pool_size: int, strides: int, padding: str) -> list[np.ndarray]:
    """Max or average pooling along axis 1; with ``same`` padding the average counts only
    real positions and the max ignores the padding, as TensorFlow computes them."""
    left, right = _pads(x.shape[1], pool_size, strides, 1, padding)
    if mode == "max":
        xp = np.pad(x, ((0, 0), (left, right), (0, 0)), constant_values=-np.inf) if left or right else x
        return [_windows(xp, pool_size, strides, 1).max(axis=2)]
    xp = np.pad(x, ((0, 0), (left, right), (0, 0))) if left or right else x
    ones = np.pad(np.ones((1, x.shape[1], 1), x.dtype), ((0, 0), (left, right), (0, 0)))
    total = _windows(xp, pool_size, strides, 1).sum(axis=2)
    count = _windows(ones, pool_size, strides, 1).sum(axis=2)
    return [total / count]


def global_pool1d(x: np.ndarray, *, mode: str, keepdims: bool, mask: np.ndarray | None = None) -> list[np.ndarray]:
    """Max or mean over axis 1; the mean over unmasked steps only when a mask is given."""
    if mode == "max":
        return [x.max(axis=1, keepdims=keepdims)]
    if mask is None:
        return [x.mean(axis=1, keepdims=keepdims)]
    m = mask.astype(x.dtype)[..., None]  # (B, L, 1)
    return [(x * m).sum(axis=1, keepdims=keepdims) / m.sum(axis=1, keepdims=keepdims)]


def pad1d(x: np.ndarray, *, left: int, right: int) -> list[np.ndarray]:
    return [np.pad(x, ((0, 0), (left, right), (0, 0)))]


def crop1d(x: np.ndarray, *, left: int, right: int) -> list[np.ndarray]:
    return [x[:, left : x.shape[1] - right]]


def upsample1d(x: np.ndarray, *, size: int) -> list[np.ndarray]:
    return [np.repeat(x, size, axis=1)]
