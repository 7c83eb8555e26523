"""N-D pooling, adaptive pooling, zero padding, cropping and nearest upsampling over the
spatial axes of (B, *S, C) tensors (or (B, C, *S) with ``channels_first``), FORMAT.md 5.30-5.33.

The number of spatial axes comes from the config (``len(pool_size)``, ``len(output_size)``,
``len(padding)`` ...), so one function serves 1-D, 2-D and 3-D. Pooling sums (or maxes)
strided views of the padded input, one window offset at a time: no window matrix is
materialised. ``pool_nd`` runs ``Pool2D`` (FORMAT.md 5.25) as well as ``Pool3D``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ...errors import InputError
from .conv2d import out_size, same_pads


def _spatial_axes(x: np.ndarray, n: int, data_format: str, op: str) -> list[int]:
    """The axes of x's ``n`` spatial dimensions; x must be (B, *S, C) / (B, C, *S)."""
    if x.ndim != n + 2:
        raise InputError(f"{op}: input of rank {x.ndim}, expected {n + 2} ((batch, {n} spatial axes, channels))")
    first = 2 if data_format == "channels_first" else 1
    return list(range(first, first + n))


def _cells(start: int, n: int, step: int) -> slice:
    """``n`` cells from ``start`` every ``step`` (an empty slice when n == 0)."""
    return slice(start, start + (n - 1) * step + 1, step) if n > 0 else slice(0, 0)


def _real_counts(size: int, k: int, stride: int, before: int, n_out: int) -> np.ndarray:
    """For each output cell along one axis, how many of its k window cells are real (not padding)."""
    starts = np.arange(n_out) * stride - before
    return (np.minimum(starts + k, size) - np.maximum(starts, 0)).astype(np.float64)


def pool_nd(
    x: np.ndarray,
    *,
    mode: str,
    pool_size: list[int],
    strides: list[int],
    padding: str,
    data_format: str = "channels_last",
) -> list[np.ndarray]:
    """Max or average over each window of ``len(pool_size)`` spatial axes. With ``same``
    padding the max ignores the padding and the average divides by the number of real
    cells in the window (as TensorFlow does)."""
    axes = _spatial_axes(x, len(pool_size), data_format, f"Pool{len(pool_size)}D")
    sizes = [x.shape[a] for a in axes]
    outs = [out_size(n, k, s, 1, padding) for n, k, s in zip(sizes, pool_size, strides)]
    pads = [same_pads(n, k, s, 1) if padding == "same" else (0, 0) for n, k, s in zip(sizes, pool_size, strides)]
    width = [(0, 0)] * x.ndim
    for a, p in zip(axes, pads):
        width[a] = p
    if mode == "max" and list(strides) == list(pool_size) and not any(p for pair in pads for p in pair):
        return [_tiled_max(x, axes, pool_size)]
    fill = -np.inf if mode == "max" else 0.0
    xp = np.pad(x, width, constant_values=fill) if any(p for pair in pads for p in pair) else x
    y = None
    for offsets in itertools.product(*(range(k) for k in pool_size)):
        index: list[slice] = [slice(None)] * x.ndim
        for a, o, n_out, s in zip(axes, offsets, outs, strides):
            index[a] = _cells(o, n_out, s)
        view = xp[tuple(index)]
        if y is None:
            y = view.copy()
        elif mode == "max":
            np.maximum(y, view, out=y)
        else:
            y += view
    assert y is not None  # pool_size >= 1 on every axis (checked at load)
    if mode == "max":
        return [y]
    count = np.ones((1,) * x.ndim, np.float64)
    for a, n, k, s, (before, _), n_out in zip(axes, sizes, pool_size, strides, pads, outs):
        shape = [1] * x.ndim
        shape[a] = n_out
        count = count * _real_counts(n, k, s, before, n_out).reshape(shape)
    return [(y / count.astype(x.dtype)).astype(x.dtype, copy=False)]


def _tiled_max(x: np.ndarray, axes: list[int], pool_size: list[int]) -> np.ndarray:
    """Max pooling whose windows tile the input (strides = pool size, no padding; a ``valid``
    remainder is dropped): one axis at a time, the window's k cells along axis a are k
    contiguous runs of everything after a, so each ``maximum`` call covers whole rows
    rather than C_in-long runs. The same maxima as the window walk (max is exact)."""
    for a, k in zip(axes, pool_size):
        if k == 1:
            continue
        n_out, tail = x.shape[a] // k, math.prod(x.shape[a + 1 :])
        v = x[(slice(None),) * a + (slice(0, n_out * k),)].reshape(*x.shape[:a], n_out, k * tail)
        y = np.maximum(v[..., :tail], v[..., tail : 2 * tail])
        for j in range(2, k):
            np.maximum(y, v[..., j * tail : (j + 1) * tail], out=y)
        x = y.reshape(*x.shape[:a], n_out, *x.shape[a + 1 :])
    return x if any(k > 1 for k in pool_size) else x.copy()


def global_pool_nd(
    x: np.ndarray, *, mode: str, keepdims: bool, data_format: str = "channels_last", rank: int = 3
) -> list[np.ndarray]:
    """Max or mean of each channel over every spatial axis: (B, C), or with ``keepdims``
    (B, 1, ..., 1, C) ((B, C, 1, ..., 1) channels first)."""
    axes = tuple(_spatial_axes(x, rank, data_format, "GlobalPool3D"))
    if mode == "max":
        return [x.max(axis=axes, keepdims=keepdims)]
    return [x.mean(axis=axes, keepdims=keepdims)]


def global_pool3d(x: np.ndarray, *, mode: str, keepdims: bool, data_format: str = "channels_last") -> list[np.ndarray]:
    return global_pool_nd(x, mode=mode, keepdims=keepdims, data_format=data_format, rank=3)


def adaptive_windows(size: int, n_out: int) -> list[tuple[int, int]]:
    """[start, end) of each of ``n_out`` windows over ``size`` cells: start = ⌊i·n/o⌋,
    end = ⌈(i+1)·n/o⌉ (integer arithmetic)."""
    return [((i * size) // n_out, -(-((i + 1) * size) // n_out)) for i in range(n_out)]


def adaptive_pool(
    x: np.ndarray, *, mode: str, output_size: list[int], data_format: str = "channels_last"
) -> list[np.ndarray]:
    """Adaptive max / average pooling: output cell (i, j, ...) reduces the box of
    ``adaptive_windows`` along each spatial axis. The box is a product of per-axis
    ranges, so the reduction is done one axis at a time (exact for max and mean)."""
    axes = _spatial_axes(x, len(output_size), data_format, "AdaptivePool")
    y = x
    for a, n_out in zip(axes, output_size):
        if y.shape[a] == 0:
            raise InputError(f"AdaptivePool: spatial axis {a} of the input is empty")
        parts = []
        for start, end in adaptive_windows(y.shape[a], n_out):
            window = np.take(y, np.arange(start, end), axis=a)
            parts.append(window.max(axis=a, keepdims=True) if mode == "max" else window.mean(axis=a, keepdims=True))
        y = np.concatenate(parts, axis=a)
    return [y]


def zero_padding(x: np.ndarray, *, padding: list[list[int]], data_format: str = "channels_last") -> list[np.ndarray]:
    """Zeros before / after each spatial axis: ``padding[a] = [before, after]``."""
    axes = _spatial_axes(x, len(padding), data_format, "ZeroPadding")
    width = [(0, 0)] * x.ndim
    for a, (before, after) in zip(axes, padding):
        width[a] = (before, after)
    return [np.pad(x, width)]


def cropping(x: np.ndarray, *, cropping: list[list[int]], data_format: str = "channels_last") -> list[np.ndarray]:
    """Drop ``cropping[a] = [before, after]`` cells from each spatial axis."""
    axes = _spatial_axes(x, len(cropping), data_format, "Cropping")
    index: list[slice] = [slice(None)] * x.ndim
    for a, (before, after) in zip(axes, cropping):
        if before + after > x.shape[a]:
            raise InputError(f"Cropping: {before} + {after} cells cropped from an axis of {x.shape[a]}")
        index[a] = slice(before, x.shape[a] - after)
    return [x[tuple(index)]]


def upsample3d(x: np.ndarray, *, size: list[int], data_format: str = "channels_last") -> list[np.ndarray]:
    """Nearest upsampling: every cell repeated ``size[a]`` times along spatial axis a."""
    axes = _spatial_axes(x, len(size), data_format, "UpSampling3D")
    for a, k in zip(axes, size):
        x = np.repeat(x, k, axis=a)
    return [x]
