"""N-D convolution (1, 2 or 3 spatial axes) and transposed convolution, channels last inside.

Both are sums over kernel offsets. A convolution takes, for each offset, the strided view of
the padded input that the offset reads for every output cell and adds ``view @ kernel[offset]``
to the output; a transposed convolution adds ``x @ kernel[offset]`` into the strided cells of
the output the offset writes. No patch (im2col) matrix is materialised: besides the input, its
padded copy (or the transposed convolution's uncropped output) and the output, a call holds one
(B, *out, C_in) view copy and one (B, *out, C_out) product at a time (FORMAT.md 5.24, 5.26).
Conv1D (grouped), Conv2D, Conv3D and ConvTranspose all run here.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from .activations import activation_fn


def same_pads(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow's ``same`` split of one axis: total = max((ceil(n/s)-1)*s + (k-1)*d + 1 - n, 0),
    ``before = total // 2`` and the extra cell after."""
    total = max((-(-size // stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def axis_pads(size: int, kernel: int, stride: int, dilation: int, padding: str) -> tuple[int, int]:
    """(before, after) zeros of one axis: none for ``valid``, TF's split for ``same``, all
    before for ``causal`` (1-D only)."""
    if padding == "same":
        return same_pads(size, kernel, stride, dilation)
    if padding == "causal":
        return (kernel - 1) * dilation, 0
    return 0, 0


def _cells(start: int, n: int, step: int) -> slice:
    """``n`` cells from ``start`` every ``step`` (an empty slice when n == 0)."""
    return slice(start, start + (n - 1) * step + 1, step) if n > 0 else slice(0, 0)


def _to_last(x: np.ndarray, data_format: str) -> np.ndarray:
    return np.moveaxis(x, 1, -1) if data_format == "channels_first" else x


def _from_last(y: np.ndarray, data_format: str) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(y, -1, 1)) if data_format == "channels_first" else y


def conv_nd(
    x: np.ndarray,  # (B, *spatial, C_in), channels last
    kernel: np.ndarray,  # (*K, C_in / groups, C_out)
    *,
    strides: Sequence[int],
    padding: str,
    dilation: Sequence[int],
    groups: int = 1,
) -> np.ndarray:
    """``y[b, p, o] = sum_{k, c} x_pad[b, p*s + k*d, g*Cg + c] * kernel[k, c, o]`` over every
    kernel offset k (a tuple), g = o // (C_out / groups), Cg = C_in / groups; no bias."""
    n = kernel.ndim - 2
    ksize, cg, c_out = kernel.shape[:n], kernel.shape[n], kernel.shape[n + 1]
    if x.ndim != n + 2 or x.shape[-1] != cg * groups:
        raise ValueError(f"input {x.shape} does not fit kernel {kernel.shape} with groups={groups}")
    pads = [axis_pads(x.shape[1 + a], ksize[a], strides[a], dilation[a], padding) for a in range(n)]
    if any(p for pair in pads for p in pair):
        x = np.pad(x, ((0, 0), *pads, (0, 0)))
    out = [max((x.shape[1 + a] - (ksize[a] - 1) * dilation[a] - 1) // strides[a] + 1, 0) for a in range(n)]
    og = c_out // groups
    y = np.zeros((x.shape[0], *out, groups, og), np.result_type(x.dtype, kernel.dtype))
    kg = kernel.reshape(*ksize, cg, groups, og)
    for off in itertools.product(*(range(k) for k in ksize)):
        index = tuple(_cells(off[a] * dilation[a], out[a], strides[a]) for a in range(n))
        where = (slice(None), *index)
        v = x[where]
        if groups == 1:
            y[..., 0, :] += v @ kernel[off]
        else:
            # (..., g, Cg) x (Cg, g, Og) -> (..., g, Og), one product per group
            y += np.einsum("...gc,cgo->...go", v.reshape(*v.shape[:-1], groups, cg), kg[off])
    return y.reshape(x.shape[0], *out, c_out)


def conv(
    x: np.ndarray,  # (B, *spatial, C_in) or (B, C_in, *spatial)
    *,
    kernel: np.ndarray,  # (*K, C_in / groups, filters)
    bias: np.ndarray | None = None,
    strides: list[int],
    padding: str,
    dilation_rate: list[int],
    groups: int = 1,
    data_format: str = "channels_last",
    activation: dict[str, Any],
) -> list[np.ndarray]:
    """The Conv2D / Conv3D op: ``act(conv_nd(x) + bias)`` in the node's data format."""
    x = _to_last(x, data_format)
    y = conv_nd(x, kernel, strides=strides, padding=padding, dilation=dilation_rate, groups=groups)
    if bias is not None:
        y += bias
    return [_from_last(activation_fn(activation)(y), data_format)]


def transpose_length(size: int, kernel: int, stride: int, dilation: int, padding: str, output_padding: int) -> int:
    """Output length of one transposed axis (Keras's formula with ``output_padding`` given):
    ``(n-1)*s + k_eff + op`` for valid, ``(n-1)*s + k_eff % 2 + op`` for same,
    k_eff = (k-1)*d + 1."""
    span = (kernel - 1) * dilation + 1
    return (size - 1) * stride + (span if padding == "valid" else span % 2) + output_padding


def conv_transpose(
    x: np.ndarray,  # (B, *spatial, C_in) or (B, C_in, *spatial)
    *,
    kernel: np.ndarray,  # (*K, C_in, filters)
    bias: np.ndarray | None = None,
    kernel_size: list[int] | None = None,  # kernel.shape[:-2] (checked at load)
    strides: list[int],
    padding: str,
    output_padding: list[int],
    dilation_rate: list[int],
    data_format: str = "channels_last",
    activation: dict[str, Any],
) -> list[np.ndarray]:
    """``y[b, q, o] = act(bias[o] + sum_{i, k, c: i*s + k*d - P = q} x[b, i, c] * kernel[k, c, o])``
    per axis: the gradient of the forward convolution that maps the (O,)-long output back to
    the input, P = 0 (valid) or same_pads(O, k, s, d)[0] (same), O = transpose_length(...)."""
    x = _to_last(x, data_format)
    n = kernel.ndim - 2
    ksize, c_in, c_out = kernel.shape[:n], kernel.shape[n], kernel.shape[n + 1]
    if x.ndim != n + 2 or x.shape[-1] != c_in:
        raise ValueError(f"input {x.shape} does not fit transposed kernel {kernel.shape}")
    size = x.shape[1:-1]
    s, d = strides, dilation_rate
    out = [transpose_length(size[a], ksize[a], s[a], d[a], padding, output_padding[a]) for a in range(n)]
    before = [same_pads(out[a], ksize[a], s[a], d[a])[0] if padding == "same" else 0 for a in range(n)]
    full = [max((size[a] - 1) * s[a] + (ksize[a] - 1) * d[a] + 1, before[a] + out[a]) for a in range(n)]
    buf = np.zeros((x.shape[0], *full, c_out), np.result_type(x.dtype, kernel.dtype))
    for off in itertools.product(*(range(k) for k in ksize)):
        index = tuple(_cells(off[a] * d[a], size[a], s[a]) for a in range(n))
        where = (slice(None), *index)
        buf[where] += x @ kernel[off]
    crop = (slice(None), *(slice(before[a], before[a] + out[a]) for a in range(n)))
    y = buf[crop]
    if bias is not None:
        y = y + bias
    return [_from_last(activation_fn(activation)(y), data_format)]
