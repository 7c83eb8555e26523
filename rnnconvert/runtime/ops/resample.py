"""One-axis resampling weights, as TensorFlow's ``tf.image.resize`` (v2) computes them (FORMAT.md 5.34).

Each function returns, for an axis of ``n`` input cells resized to ``m`` output cells, its
*taps*: an ``(m, k)`` index array and an ``(m, k)`` float64 weight array, output cell ``o`` being
``sum_j w[o, j] * x[idx[o, j]]`` (k is the kernel's reach, never n: no (m, n) matrix is built,
so memory stays linear in m + n). Positions are computed in float32, as TensorFlow's kernels do, so
that a floor at an exact boundary lands on the same cell.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

F32 = np.float32
#: (indices, weights), each (m, k)
Taps = tuple[np.ndarray, np.ndarray]

#: The bicubic kernels' table resolution (TensorFlow's ResizeBicubic quantises the fractional
#: position to 1/1024 and reads Keys' cubic from a table; FORMAT.md 5.34).
TABLE_SIZE = 1024
KEYS_A = -0.5  # Keys' cubic coefficient under half-pixel centres


def _scale(n: int, m: int) -> np.float32:
    return F32(n) / F32(m)


def _positions(m: int) -> np.ndarray:
    return np.arange(m, dtype=F32) + F32(0.5)


def nearest_index(n: int, m: int) -> np.ndarray:
    """ResizeNearestNeighbor, half-pixel centres: floor((o + 0.5) * n/m), clamped to [0, n-1]."""
    src = np.floor(_positions(m) * _scale(n, m)).astype(np.int64)
    return np.clip(src, 0, n - 1)


def bilinear_weights(n: int, m: int) -> Taps:
    """ResizeBilinear, half-pixel centres: s = (o + 0.5) * n/m - 0.5, between floor(s) and
    ceil(s) (each clamped to the image), weight s - floor(s) on the upper one."""
    s = _positions(m) * _scale(n, m) - F32(0.5)
    f = np.floor(s)
    lo = np.maximum(f, 0).astype(np.int64)
    hi = np.minimum(np.ceil(s), n - 1).astype(np.int64)
    lerp = (s - f).astype(np.float64)
    return np.stack([lo, hi], 1), np.stack([1.0 - lerp, lerp], 1)


def _keys_table_near(x: np.ndarray) -> np.ndarray:
    a = KEYS_A
    return ((a + 2) * x - (a + 3)) * x * x + 1


def _keys_table_far(x: np.ndarray) -> np.ndarray:
    a = KEYS_A
    return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a


def bicubic_weights(n: int, m: int) -> Taps:
    """ResizeBicubic, half-pixel centres: s = (o + 0.5) * n/m - 0.5, taps floor(s) - 1 ... + 2,
    Keys' cubic (a = -0.5) at the fraction rounded to 1/1024; taps outside the image get
    weight 0 and the four weights are renormalised to sum 1."""
    s = _positions(m) * _scale(n, m) - F32(0.5)
    base = np.floor(s)
    k = np.rint((s - base) * F32(TABLE_SIZE)).astype(np.int64)  # lrintf: round half to even
    t = k / TABLE_SIZE
    u = (TABLE_SIZE - k) / TABLE_SIZE
    taps = np.stack([_keys_table_far(t + 1), _keys_table_near(t), _keys_table_near(u), _keys_table_far(u + 1)], 1)
    idx = base.astype(np.int64)[:, None] + np.arange(-1, 3)[None, :]
    taps = np.where((idx >= 0) & (idx < n), taps, 0.0)
    total = taps.sum(axis=1, keepdims=True)
    taps = np.where(np.abs(total) > 0, taps / np.where(total == 0, 1, total), taps)
    return np.clip(idx, 0, n - 1), taps


def _span(start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cells start[o] ... end[o] - 1 of each row as an (m, k) array, and which are real."""
    k = max(int((end - start).max(initial=1)), 1)
    cells = start[:, None] + np.arange(k)[None, :]
    return cells, cells < end[:, None]


def area_weights(n: int, m: int) -> Taps:
    """ResizeArea: output cell o covers [o * n/m, (o + 1) * n/m); each input cell weighs its
    overlap with that interval, and the sum is divided by n/m."""
    scale = _scale(n, m)
    lo = np.arange(m, dtype=F32) * scale
    hi = np.arange(1, m + 1, dtype=F32) * scale
    cells, real = _span(np.floor(lo).astype(np.int64), np.ceil(hi).astype(np.int64))
    overlap = np.minimum((cells + 1).astype(F32), hi[:, None]) - np.maximum(cells.astype(F32), lo[:, None])
    w = np.where(real, overlap.astype(np.float64), 0.0) / float(scale)
    return np.clip(cells, 0, n - 1), w


# -- ScaleAndTranslate kernels (lanczos3/5, gaussian, mitchellcubic; bilinear / bicubic with antialias)


def _triangle(x: np.ndarray) -> np.ndarray:
    return np.where(x < 1.0, 1.0 - x, 0.0)


def _keys_cubic(x: np.ndarray) -> np.ndarray:
    far = ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0
    near = (1.5 * x - 2.5) * x * x + 1.0
    return np.where(x >= 2.0, 0.0, np.where(x >= 1.0, far, near))


def _mitchell_cubic(x: np.ndarray) -> np.ndarray:
    far = ((-7.0 / 18.0 * x + 2.0) * x - 10.0 / 3.0) * x + 16.0 / 9.0
    near = (7.0 / 6.0 * x - 2.0) * x * x + 8.0 / 9.0
    return np.where(x >= 2.0, 0.0, np.where(x >= 1.0, far, near))


def _gaussian(x: np.ndarray) -> np.ndarray:
    sigma = 0.5  # radius 1.5 / 3
    return np.where(x >= 1.5, 0.0, np.exp(-x * x / (2.0 * sigma * sigma)))


def _lanczos(radius: float) -> Callable[[np.ndarray], np.ndarray]:
    def kernel(x: np.ndarray) -> np.ndarray:
        pi = 3.14159265359
        safe = np.where(x <= 1e-3, 1.0, x)
        v = radius * np.sin(pi * safe) * np.sin(pi * safe / radius) / (pi * pi * safe * safe)
        return np.where(x > radius, 0.0, np.where(x <= 1e-3, 1.0, v))

    return kernel


#: kernel name -> (function of |distance|, radius)
KERNELS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], float]] = {
    "triangle": (_triangle, 1.0),
    "keyscubic": (_keys_cubic, 2.0),
    "mitchellcubic": (_mitchell_cubic, 2.0),
    "gaussian": (_gaussian, 1.5),
    "lanczos3": (_lanczos(3.0), 3.0),
    "lanczos5": (_lanczos(5.0), 5.0),
}


def kernel_weights(n: int, m: int, kernel: str, antialias: bool) -> Taps:
    """ScaleAndTranslate (scale m/n, no translation): sample position s = (o + 0.5) * n/m;
    input cells i with centre i + 0.5 within the kernel's radius (times n/m when antialias
    and downsampling) weigh kernel(|i + 0.5 - s| / kernel_scale), normalised to sum 1."""
    fn, radius = KERNELS[kernel]
    inv_scale = F32(1.0) / (F32(m) / F32(n))
    kscale = max(float(inv_scale), 1.0) if antialias else 1.0
    s = _positions(m) * inv_scale
    reach = F32(radius * kscale)
    start = np.clip(np.ceil(s - reach - F32(0.5)), 0, n - 1).astype(np.int64)
    end = np.clip(np.floor(s + reach - F32(0.5)), 0, n - 1).astype(np.int64) + 1
    cells, real = _span(start, end)
    dist = np.abs((cells.astype(F32) + F32(0.5) - s[:, None]).astype(np.float64) / kscale)
    w = np.where(real, fn(dist), 0.0)
    total = w.sum(axis=1, keepdims=True)
    w = np.where(np.abs(total) > 0, w / np.where(total == 0, 1.0, total), w)
    return np.clip(cells, 0, n - 1), w


@lru_cache(maxsize=64)
def axis_taps(n: int, m: int, interpolation: str, antialias: bool) -> Taps:
    """The taps of one axis (FORMAT.md 5.34), weights as float32, cached per shape (a stream of
    frames of one size builds them once); read-only."""
    if interpolation == "nearest":
        idx, w = nearest_index(n, m)[:, None], np.ones((m, 1))
    else:
        idx, w = _axis_taps(n, m, interpolation, antialias)
    w = w.astype(np.float32)
    idx.flags.writeable = w.flags.writeable = False
    return idx, w


def _axis_taps(n: int, m: int, interpolation: str, antialias: bool) -> Taps:
    if interpolation == "bilinear":
        return kernel_weights(n, m, "triangle", True) if antialias else bilinear_weights(n, m)
    if interpolation == "bicubic":
        return kernel_weights(n, m, "keyscubic", True) if antialias else bicubic_weights(n, m)
    if interpolation == "area":
        return area_weights(n, m)
    return kernel_weights(n, m, interpolation, antialias)
