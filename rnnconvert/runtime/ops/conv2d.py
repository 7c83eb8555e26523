"""2-D convolution and global pooling over (B, H, W, C) images (or (B, C, H, W) with ``channels_first``).

The convolution is a sum over kernel offsets: for offset (i, j) the strided slice of the
padded input that the offset sees for every output cell is taken as a view and
multiplied by ``kernel[i, j]`` (a tensordot over channels), then accumulated. No patch
(im2col) matrix is materialised: besides the input, its padded copy and the output, a
call holds one (B, H', W', C_in) slice copy at a time (FORMAT.md 5.24). The convolution
itself is convnd.py's N-D kernel, shared with Conv3D and grouped Conv1D; ``Pool2D`` runs on
the N-D pooling of ops/pool.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .convnd import conv, same_pads


def out_size(size: int, kernel: int, stride: int, dilation: int, padding: str) -> int:
    """Length of one spatial axis after a ``valid`` or ``same`` window."""
    if padding == "same":
        return -(-size // stride)
    return max((size - (kernel - 1) * dilation - 1) // stride + 1, 0)


def _pad(x: np.ndarray, ksize, strides, dilation, padding: str, value: float) -> np.ndarray:
    """x (B, H, W, C) padded on H and W as ``padding`` says, with ``value``."""
    if padding != "same":
        return x
    pads = [same_pads(x.shape[a + 1], ksize[a], strides[a], dilation[a]) for a in range(2)]
    if not any(p for pair in pads for p in pair):
        return x
    return np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=value)


def _offsets(
    xp: np.ndarray, ksize, strides, dilation, out_hw: tuple[int, int]
) -> Iterator[tuple[int, int, np.ndarray]]:
    """(i, j, view): the (B, H', W', C) cells kernel offset (i, j) reads for every output cell."""
    (oh, ow), (sh, sw), (dh, dw) = out_hw, strides, dilation
    for i in range(ksize[0]):
        for j in range(ksize[1]):
            yield i, j, xp[:, _cells(i * dh, oh, sh), _cells(j * dw, ow, sw), :]


def _cells(start: int, n: int, step: int) -> slice:
    """``n`` cells from ``start`` every ``step`` (an empty slice when n == 0)."""
    return slice(start, start + (n - 1) * step + 1, step) if n > 0 else slice(0, 0)


def _out_hw(x: np.ndarray, ksize, strides, dilation, padding: str) -> tuple[int, int]:
    return (
        out_size(x.shape[1], ksize[0], strides[0], dilation[0], padding),
        out_size(x.shape[2], ksize[1], strides[1], dilation[1], padding),
    )


def _to_last(x: np.ndarray, data_format: str) -> np.ndarray:
    return np.moveaxis(x, 1, -1) if data_format == "channels_first" else x


def _from_last(y: np.ndarray, data_format: str) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(y, -1, 1)) if data_format == "channels_first" else y


def conv2d(
    x: np.ndarray,  # (B, H, W, C_in) or (B, C_in, H, W)
    *,
    kernel: np.ndarray,  # (KH, KW, C_in / groups, C_out)
    bias: np.ndarray | None = None,
    strides: list[int],
    padding: str,
    dilation_rate: list[int],
    groups: int = 1,
    data_format: str = "channels_last",
    activation: dict[str, Any],
) -> list[np.ndarray]:
    """``y[b, p, q, o] = act(bias[o] + sum_{i, j, c} x_pad[b, p*sh + i*dh, q*sw + j*dw, g*Cg + c]
    * kernel[i, j, c, o])`` with g = o // (C_out / groups), Cg = C_in / groups: the N-D
    kernel of convnd.py on two spatial axes."""
    return conv(
        x,
        kernel=kernel,
        bias=bias,
        strides=strides,
        padding=padding,
        dilation_rate=dilation_rate,
        groups=groups,
        data_format=data_format,
        activation=activation,
    )


def global_pool2d(x: np.ndarray, *, mode: str, keepdims: bool, data_format: str = "channels_last") -> list[np.ndarray]:
    """Max or mean over both spatial axes: (B, H, W, C) -> (B, C), or (B, 1, 1, C) with
    ``keepdims`` ((B, C, 1, 1) for channels_first)."""
    axes = (2, 3) if data_format == "channels_first" else (1, 2)
    if mode == "max":
        return [x.max(axis=axes, keepdims=keepdims)]
    return [x.mean(axis=axes, keepdims=keepdims)]
