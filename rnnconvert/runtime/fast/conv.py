"""The prepared convolution (Conv2D, Conv3D): bounded patch (im2col) blocks, one product each.

The reference op (ops/convnd.py) sums over the kernel offsets: KH·KW products with only
C_in terms each, an accumulate of the whole output per offset -- memory traffic and NumPy
calls that dominate at small images and few channels (a 1-channel input makes each
offset's product a K = 1 matmul that BLAS does not take). Here the kernel is flattened at
load to ``(prod(K)·C_in, C_out)`` and the call walks the output in blocks: each block's
patch rows are copied from one strided view of the padded input (``as_strided``, no
index arrays), multiplied by the flattened kernel straight into the output, and the
bias and activation applied while the block is still in cache.

Memory: a call holds, besides the input, its padded copy and the output, one patch block
of at most ``PATCH_ELEMENTS`` values -- whole images when an image's patch matrix fits,
else slabs of leading-axis output rows. Where a single output row's patches exceed
``PATCH_LIMIT`` (very wide images with many channels) the reference op runs, so the bound
holds for every input (FORMAT.md 5.24). Float32 inputs and kernels, ``groups = 1``; anything
else runs the reference op.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..ops.activations import activation_fn
from ..ops.convnd import axis_pads, conv
from .scan import FastFn

F32 = np.float32
#: Patch values a block aims at (256 KiB of float32: the block and its product stay in L2).
PATCH_ELEMENTS = 1 << 16
#: Hard bound on one patch block (4 MiB of float32); above it the reference op runs.
PATCH_LIMIT = 1 << 20


def _block_activation(spec: dict[str, Any]) -> Callable[[np.ndarray], Any] | None:
    """The activation applied in place to one block of the output, when it is element-wise;
    None: the activation runs once on the whole output, as in the reference op."""
    kind = spec.get("type")
    params = {k: v for k, v in spec.items() if k != "type"}
    if kind == "linear":
        return lambda y: None
    if kind == "relu" and all(not params.get(k) for k in ("negative_slope", "max_value", "threshold")):
        return lambda y: np.maximum(y, F32(0.0), out=y)
    if kind == "tanh":
        return lambda y: np.tanh(y, out=y)
    return None


class _Conv:
    def __init__(self, config: dict[str, Any], weights: dict[str, np.ndarray]):
        kernel = weights["kernel"]
        n = self.n = kernel.ndim - 2
        self.ksize = tuple(int(k) for k in kernel.shape[:n])
        self.c_in, self.c_out = int(kernel.shape[n]), int(kernel.shape[n + 1])
        # Rows ordered (C_in, *K) as the patch rows, then the bias as the weight of a ones row.
        rows = np.moveaxis(kernel, n, 0).reshape(-1, self.c_out)
        bias = weights.get("bias")
        self.K = rows.shape[0]
        self.W = np.ascontiguousarray(
            np.concatenate([rows, (np.zeros(self.c_out, F32) if bias is None else bias)[None]])
        )
        self.strides = [int(s) for s in config["strides"]]
        self.dilation = [int(d) for d in config["dilation_rate"]]
        self.padding = config["padding"]
        self.channels_first = config.get("data_format", "channels_last") == "channels_first"
        self.block_act = _block_activation(config["activation"])
        self.whole_act = activation_fn(config["activation"]) if self.block_act is None else None
        self.reference: dict[str, Any] = {
            **weights,
            **{k: config[k] for k in ("strides", "padding", "dilation_rate", "activation")},
            "groups": 1,
            "data_format": config.get("data_format", "channels_last"),
        }

    def __call__(self, x: np.ndarray, **_: Any) -> list[np.ndarray]:
        n, cf = self.n, self.channels_first
        if x.dtype != F32 or x.ndim != n + 2 or x.shape[1 if cf else -1] != self.c_in:
            return conv(x, **self.reference)
        size = x.shape[2:] if cf else x.shape[1:-1]
        ks, st, dl = self.ksize, self.strides, self.dilation
        pads = [axis_pads(size[a], ks[a], st[a], dl[a], self.padding) for a in range(n)]
        padded = [size[a] + pads[a][0] + pads[a][1] for a in range(n)]
        out = [max((padded[a] - (ks[a] - 1) * dl[a] - 1) // st[a] + 1, 0) for a in range(n)]
        if math.prod(out[1:]) * (self.K + 1) > PATCH_LIMIT:  # one output row's patches alone too many
            return conv(x, **self.reference)
        # The input channels first and padded, (C_in, B, *padded): each patch row then reads
        # runs along the last spatial axis rather than C_in-long runs.
        xc = np.zeros((self.c_in, x.shape[0], *padded), F32)
        inner = (slice(None), slice(None), *(slice(p[0], p[0] + size[a]) for a, p in enumerate(pads)))
        xc[inner] = np.moveaxis(x, 1, 0) if cf else np.moveaxis(x, -1, 0)
        y = self._blocks(xc, out)
        if self.whole_act is not None:
            y = self.whole_act(y)
        return [np.ascontiguousarray(np.moveaxis(y, -1, 1)) if cf else y]

    def _blocks(self, xc: np.ndarray, out: list[int]) -> np.ndarray:
        """The convolution of the padded channels-first ``xc``, a patch block at a time:
        whole images per block when an image's patches fit, else leading-axis row slabs."""
        n, B, rows = self.n, xc.shape[1], self.K + 1
        s = xc.strides
        view = as_strided(  # view[c, *k, b, *p] = xc[c, b, *(p * stride + k * dilation)]
            xc,
            (self.c_in, *self.ksize, B, *out),
            (
                s[0],
                *(s[2 + a] * self.dilation[a] for a in range(n)),
                s[1],
                *(s[2 + a] * self.strides[a] for a in range(n)),
            ),
            writeable=False,
        )
        y = np.empty((B, *out, self.c_out), F32)
        per_image, per_row = math.prod(out), math.prod(out[1:])
        if B == 0 or per_image == 0:
            return y
        if per_image * rows <= PATCH_ELEMENTS:  # whole images per block
            step = max(1, PATCH_ELEMENTS // (per_image * rows))
            buf = np.empty(rows * per_image * min(step, B), F32)
            for b in range(0, B, step):
                m = min(step, B - b)
                self._block(view[(Ellipsis, slice(b, b + m), *[slice(None)] * n)], buf, y[b : b + m], m * per_image)
            return y
        step = max(1, PATCH_ELEMENTS // (per_row * rows))
        buf = np.empty(rows * per_row * min(step, out[0]), F32)
        for b in range(B):
            for r in range(0, out[0], step):
                m = min(step, out[0] - r)
                src = view[(Ellipsis, b, slice(r, r + m), *[slice(None)] * (n - 1))]
                self._block(src, buf, y[b, r : r + m], m * per_row)
        return y

    def _block(self, src: np.ndarray, buf: np.ndarray, dst: np.ndarray, cols: int) -> None:
        """dst (cols output cells, contiguous) = patches^T @ W, the patches copied from src."""
        pt = buf[: (self.K + 1) * cols].reshape(self.K + 1, cols)  # (K + 1, cols): patch rows, ones
        np.copyto(pt[: self.K].reshape(src.shape), src)
        pt[self.K] = 1.0
        y2 = dst.reshape(cols, self.c_out)
        np.matmul(pt.T, self.W, out=y2)
        if self.block_act is not None:
            self.block_act(y2)


def fast_conv(config: dict[str, Any], weights: dict[str, np.ndarray]) -> FastFn | None:
    """The patch-block convolution for ``groups = 1`` float32 kernels; None: the reference op."""
    kernel, bias = weights.get("kernel"), weights.get("bias")
    if kernel is None or kernel.dtype != F32 or (bias is not None and bias.dtype != F32):
        return None
    if int(config.get("groups", 1)) != 1 or kernel.ndim not in (4, 5):
        return None
    return _Conv(config, weights)
