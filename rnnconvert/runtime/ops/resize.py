"""Resize2D, CenterCrop and Rescaling (FORMAT.md 5.34-5.36): images (B, H, W, C), or (B, C, H, W)
with ``channels_first``.

Resize2D resamples each spatial axis through its taps (resample.py: k input cells per output
cell), so a call holds the input, one intermediate (B, H', W, C) array, one term the size of
each axis' result, and the output; the taps are (out, k), never (out, in).
"""

from __future__ import annotations

import numpy as np

from ...errors import InputError
from .resample import axis_taps


def _nhwc(x: np.ndarray, data_format: str, where: str) -> np.ndarray:
    if x.ndim != 4:
        raise InputError(f"{where} takes (batch, rows, cols, channels) images, got shape {x.shape}")
    x = np.asarray(x, dtype=np.float32)
    return x.transpose(0, 2, 3, 1) if data_format == "channels_first" else x


def _back(y: np.ndarray, data_format: str) -> np.ndarray:
    y = y.transpose(0, 3, 1, 2) if data_format == "channels_first" else y
    return np.ascontiguousarray(y, dtype=np.float32)


def aspect_crop_box(h: int, w: int, th: int, tw: int) -> tuple[int, int, int, int]:
    """Keras's crop_to_aspect_ratio / smart_resize window: (top, left, rows, cols)."""
    ch = max(min(h, (w * th) // tw), 1)
    cw = max(min(w, (h * tw) // th), 1)
    return (h - ch) // 2, (w - cw) // 2, ch, cw


def _pad_to_aspect(x: np.ndarray, th: int, tw: int, fill: float) -> np.ndarray:
    """Keras's pad_to_aspect_ratio: the deficient axis gets ``(P - n) // 2`` fill cells on BOTH
    sides, where ``P = (other * target) // target_other`` (so an odd deficit loses one cell)."""
    h, w = x.shape[1], x.shape[2]
    top = (max(h, (w * th) // tw) - h) // 2
    left = (max(w, (h * tw) // th) - w) // 2
    if top == 0 and left == 0:
        return x
    return np.pad(x, ((0, 0), (top, top), (left, left), (0, 0)), constant_values=np.float32(fill))


def _along(x: np.ndarray, axis: int, taps: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Resample axis ``axis`` (1 or 2) of (B, H, W, C) ``x``: sum_j w[:, j] * x[idx[:, j]] along it,
    holding one output-sized term at a time."""
    idx, w = taps
    shape = [1, 1, 1, 1]
    shape[axis] = idx.shape[0]
    if idx.shape[1] == 1 and bool(np.all(w == 1)):
        return np.take(x, idx[:, 0], axis=axis)
    out = np.take(x, idx[:, 0], axis=axis) * w[:, 0].reshape(shape)
    for j in range(1, idx.shape[1]):
        out += np.take(x, idx[:, j], axis=axis) * w[:, j].reshape(shape)
    return out


def resample(x: np.ndarray, oh: int, ow: int, interpolation: str, antialias: bool) -> np.ndarray:
    """tf.image.resize (v2) of (B, H, W, C) float32 images to (oh, ow): rows, then columns."""
    h, w = x.shape[1], x.shape[2]
    if h == 0 or w == 0:
        raise InputError(f"cannot resize an empty image of shape {x.shape}")
    y = _along(x, 1, axis_taps(h, oh, interpolation, antialias))
    return _along(y, 2, axis_taps(w, ow, interpolation, antialias))


def resize2d(
    x: np.ndarray,
    *,
    interpolation: str,
    antialias: bool,
    data_format: str,
    output_size: list[int] | None = None,
    factor: list[int] | None = None,
    aspect: str = "stretch",
    fill_value: float = 0.0,
) -> list[np.ndarray]:
    """Resize to ``output_size`` (or ``factor`` times the input), after cropping or padding to the
    target's aspect ratio when ``aspect`` says so (FORMAT.md 5.34)."""
    x = _nhwc(x, data_format, "Resize2D")
    if output_size is not None:
        th, tw = output_size
    elif factor is not None:
        th, tw = x.shape[1] * factor[0], x.shape[2] * factor[1]
    else:  # the declaration requires one of them (checked at load)
        raise InputError("Resize2D needs output_size or factor")
    if aspect == "crop":
        top, left, ch, cw = aspect_crop_box(x.shape[1], x.shape[2], th, tw)
        x = x[:, top : top + ch, left : left + cw]
    elif aspect == "pad":
        x = _pad_to_aspect(x, th, tw, fill_value)
    return [_back(resample(x, th, tw, interpolation, antialias), data_format)]


def center_crop(x: np.ndarray, *, height: int, width: int, data_format: str) -> list[np.ndarray]:
    """Keras CenterCrop: the central (height, width) window when the image is at least that
    large on both axes, else smart_resize (crop to the aspect ratio, bilinear resize)."""
    x = _nhwc(x, data_format, "CenterCrop")
    h, w = x.shape[1], x.shape[2]
    if h >= height and w >= width:
        top, left = (h - height) // 2, (w - width) // 2
        return [_back(x[:, top : top + height, left : left + width], data_format)]
    top, left, ch, cw = aspect_crop_box(h, w, height, width)
    y = resample(x[:, top : top + ch, left : left + cw], height, width, "bilinear", False)
    return [_back(y, data_format)]


def rescaling(
    x: np.ndarray,
    *,
    scale: list[float],
    offset: list[float],
    scale_shape: list[int],
    offset_shape: list[int],
) -> list[np.ndarray]:
    """y = x * scale + offset, each broadcast from its shape against x's trailing axes."""
    x = np.asarray(x, dtype=np.float32)
    for shape, what in ((scale_shape, "scale"), (offset_shape, "offset")):
        if len(shape) > x.ndim or any(d not in (1, n) for d, n in zip(shape[::-1], x.shape[::-1])):
            raise InputError(f"Rescaling: {what} of shape {tuple(shape)} does not fit input shape {x.shape}")
    s = np.asarray(scale, dtype=np.float32).reshape(scale_shape)
    o = np.asarray(offset, dtype=np.float32).reshape(offset_shape)
    return [np.asarray(x * s + o, dtype=np.float32)]
