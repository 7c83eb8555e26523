"""The prepared convolution (Conv2D, Conv3D): bounded patch (im2col) blocks, one product each.

The reference op (ops/convnd.py) sums over the kernel offsets: KH·KW products with only
C_in terms each, an accumulate of the whole output per offset -- memory traffic and NumPy
calls that dominate at small images and few channels (a 1-channel input makes each
offset's product a K = 1 matmul that BLAS does not take). Here the kernel is flattened at
load to ``(prod(K)·C_in, C_out)`` and the call walks the output in blocks: each block's
patch rows are copied from one strided view of the padded input (``as_strided``, no
index arrays), multiplied by the flattened kernel straight into the output -- the bias
joins the product as the weight of a constant-one patch column -- and an element-wise
activation is applied while the block is still in cache.

Memory: a call holds, besides the input, its padded copy and the output, one patch block
of at most max(``PATCH_ELEMENTS``, one output row's patches) values -- whole images when an
image's patch matrix fits, else slabs of leading-axis output rows. Where a single output
row's patches exceed ``PATCH_LIMIT`` (very wide images with many channels) the reference op
runs, so no block ever passes it (FORMAT.md 5.24). Float32 inputs and kernels,
``groups = 1``; anything else runs the reference op.
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
#: Patch values a block aims at (1 MiB of float32, a core's L2 here). 2^17 split the CRNN's
#: middle convolutions into 2-3 products, each a meeting of BLAS's threads (~15% slower at
#: batch 1); 2^19 was no faster with BLAS's threads and ~7% slower on one (out of L2).
PATCH_ELEMENTS = 1 << 18
#: Inputs with at least this many channels copy patches in C_in-long runs, others along the
#: last spatial axis (a 1- or 3-channel image would otherwise copy 1-3 values per run).
CHANNEL_RUNS = 8
#: Hard bound on one patch block (4 MiB of float32); above it the reference op runs.
PATCH_LIMIT = 1 << 20
#: The zeros a ReLU block is compared with, shared read-only by every call (allocating and
#: first touching them cost ~5 us per call); blocks of more values get their own.
SHARED_ZEROS = 1 << 18
_zeros = np.zeros(0, F32)


def _zeros_for(n: int) -> np.ndarray:
    """A read-only float32 array of ``n`` zeros (a view of the shared one when n is small)."""
    global _zeros
    if n > SHARED_ZEROS:
        return np.zeros(n, F32)
    zeros = _zeros  # another thread may swap in a larger one meanwhile: both are zeros
    if zeros.size < n:
        zeros = np.zeros(max(n, 1 << 12), F32)
        zeros.flags.writeable = False
        _zeros = zeros
    return zeros[:n]


def _block_activation(spec: dict[str, Any]) -> Callable[[np.ndarray, np.ndarray], Any] | None:
    """The activation applied in place to one block ``y`` of the output, when it is
    element-wise (``zeros``: at least as many zeros as ``y``); None: the activation runs
    once on the whole output, as in the reference op."""
    kind = spec.get("type")
    params = {k: v for k, v in spec.items() if k != "type"}
    if kind == "linear":
        return lambda y, zeros: None
    if kind == "relu" and all(not params.get(k) for k in ("negative_slope", "max_value", "threshold")):
        # max(y, 0) against an array of zeros: NumPy's maximum with a broadcast scalar
        # runs ~2x slower than with a second array of the same shape.
        return lambda y, zeros: np.maximum(y, zeros[: y.shape[0]], out=y)
    if kind == "tanh":
        return lambda y, zeros: np.tanh(y, out=y)
    return None


class _Conv:
    def __init__(self, config: dict[str, Any], weights: dict[str, np.ndarray]):
        kernel = weights["kernel"]
        n = self.n = kernel.ndim - 2
        self.ksize = tuple(int(k) for k in kernel.shape[:n])
        self.c_in, self.c_out = int(kernel.shape[n]), int(kernel.shape[n + 1])
        # Patch rows ordered (*K, C_in) (C_in-long runs: enough channels) or (C_in, *K) (runs
        # along the last spatial axis: few channels), then the bias as the weight of a ones row.
        self.runs_of_channels = self.c_in >= CHANNEL_RUNS
        rows = kernel if self.runs_of_channels else np.moveaxis(kernel, n, 0)
        bias = weights.get("bias")
        self.K = math.prod(kernel.shape[:-1])
        last = np.zeros(self.c_out, F32) if bias is None else bias
        self.W = np.ascontiguousarray(np.concatenate([rows.reshape(self.K, self.c_out), last[None]]))
        self.strides = [int(s) for s in config["strides"]]
        self.dilation = [int(d) for d in config["dilation_rate"]]
        self.padding = config["padding"]
        self.channels_first = config.get("data_format", "channels_last") == "channels_first"
        self.block_act = _block_activation(config["activation"])
        #: The activation's type where it is element-wise and applied per block, else None.
        self.act_kind = config["activation"].get("type") if self.block_act is not None else None
        self.whole_act = activation_fn(config["activation"]) if self.block_act is None else None
        self._geometry: dict[tuple[int, ...], tuple[list[tuple[int, int]], list[int], list[int]]] = {}
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
        geometry = self._geometry.get(size)
        if geometry is None:
            geometry = self._geometry_of(size)
        pads, padded, out = geometry
        if math.prod(out[1:]) * (self.K + 1) > PATCH_LIMIT:  # one output row's patches alone too many
            return conv(x, **self.reference)
        y = self._blocks(self._source(x, pads, padded, out), out)
        if self.whole_act is not None:
            y = self.whole_act(y)
        return [np.ascontiguousarray(y.transpose(0, n + 1, *range(1, n + 1))) if cf else y]

    def _geometry_of(self, size: tuple[int, ...]) -> tuple[list[tuple[int, int]], list[int], list[int]]:
        """(pads, padded size, output size) per spatial axis for an input of spatial ``size``,
        remembered (a few sizes: one per distinct input shape a model is called with)."""
        n, ks, st, dl = self.n, self.ksize, self.strides, self.dilation
        pads = [axis_pads(size[a], ks[a], st[a], dl[a], self.padding) for a in range(n)]
        padded = [size[a] + pads[a][0] + pads[a][1] for a in range(n)]
        out = [max((padded[a] - (ks[a] - 1) * dl[a] - 1) // st[a] + 1, 0) for a in range(n)]
        if len(self._geometry) >= 64:
            self._geometry.clear()
        self._geometry[size] = pads, padded, out
        return pads, padded, out

    def _source(self, x: np.ndarray, pads: list[tuple[int, int]], padded: list[int], out: list[int]) -> np.ndarray:
        """The padded input as a strided view of every patch: (B, *out, *K, C_in) with runs
        of channels, else (C_in, *K, B, *out) over a channels-first padded copy."""
        n, B, cf = self.n, x.shape[0], self.channels_first
        inner = [slice(p[0], p[0] + x.shape[(2 if cf else 1) + a]) for a, p in enumerate(pads)]
        if self.runs_of_channels:
            if cf or any(p for pair in pads for p in pair):
                xp = np.zeros((B, *padded, self.c_in), F32)
                where = (slice(None), *inner)
                xp[where] = x.transpose(0, *range(2, n + 2), 1) if cf else x
            else:  # valid, channels last: the input itself (as_strided follows its strides)
                xp = x
            s = xp.strides
            shape = (B, *out, *self.ksize, self.c_in)
            strides = (s[0], *(s[1 + a] * self.strides[a] for a in range(n)))
            strides += (*(s[1 + a] * self.dilation[a] for a in range(n)), s[-1])
        else:
            xp = np.zeros((self.c_in, B, *padded), F32)
            where = (slice(None), slice(None), *inner)
            xp[where] = x.transpose(1, 0, *range(2, n + 2)) if cf else x.transpose(n + 1, 0, *range(1, n + 1))
            s = xp.strides
            shape = (self.c_in, *self.ksize, B, *out)
            strides = (s[0], *(s[2 + a] * self.dilation[a] for a in range(n)), s[1])
            strides += tuple(s[2 + a] * self.strides[a] for a in range(n))
        if not xp.flags.c_contiguous:
            return as_strided(xp, shape, strides, writeable=False)
        view = np.ndarray(shape, F32, xp, 0, strides)  # as as_strided, without its ~3 us of wrapping
        view.flags.writeable = False
        return view

    def _take(self, view: np.ndarray, index: tuple[Any, ...]) -> np.ndarray:
        """``view`` indexed on its (B, *out) axes."""
        if self.runs_of_channels:
            return view[index]
        return view[(slice(None),) * (self.n + 1) + index]

    def _blocks(self, view: np.ndarray, out: list[int]) -> np.ndarray:
        """The convolution, a patch block at a time: whole images per block when an image's
        patches fit in PATCH_ELEMENTS, else slabs of leading-axis output rows of one image."""
        rows = self.K + 1
        B = view.shape[0] if self.runs_of_channels else view.shape[self.n + 1]
        y = np.empty((B, *out, self.c_out), F32)
        per_image, per_row = math.prod(out), math.prod(out[1:])
        if B == 0 or per_image == 0:
            return y
        whole = per_image * rows <= PATCH_ELEMENTS  # whole images per block
        unit, units = (per_image, B) if whole else (per_row, out[0])
        step = max(1, PATCH_ELEMENTS // (unit * rows))
        step = -(-units // -(-units // step))  # as many blocks, of even size: no small tail block
        cap = min(step, units) * unit  # output cells of the largest block
        buf = np.empty(rows * cap, F32)
        zeros = _zeros_for(cap * self.c_out).reshape(cap, self.c_out) if self.block_act is not None else buf
        for b in range(0, B, step) if whole else range(B):
            for r in range(0, 1) if whole else range(0, out[0], step):
                m = min(step, units - (b if whole else r))
                index = (slice(b, b + m),) if whole else (b, slice(r, r + m))
                dst = y[b : b + m] if whole else y[b, r : r + m]
                self._block(self._take(view, index), buf, zeros, dst, m * unit)
        return y

    def _block(self, src: np.ndarray, buf: np.ndarray, zeros: np.ndarray, dst: np.ndarray, cols: int) -> None:
        """dst (``cols`` output cells, contiguous) = act(patches @ W)."""
        y2 = dst.reshape(cols, self.c_out)
        self._product(src, buf, y2)
        if self.block_act is not None:
            self.block_act(y2, zeros)

    def _product(self, src: np.ndarray, buf: np.ndarray, y2: np.ndarray) -> None:
        """y2 (cells, C_out) = patches @ W, the patches copied from src into ``buf`` (splitting
        axes of a buffer's slice is always a view, never a copy)."""
        rows, cols = self.K + 1, y2.shape[0]
        if self.runs_of_channels:
            p = buf[: rows * cols].reshape(cols, rows)  # (cols, K + 1): patch, then the one
            np.copyto(p[:, : self.K].reshape(src.shape), src)
            p[:, self.K] = 1.0
            np.matmul(p, self.W, out=y2)
        else:
            pt = buf[: rows * cols].reshape(rows, cols)  # (K + 1, cols): patch rows, then ones
            np.copyto(pt[: self.K].reshape(src.shape), src)
            pt[self.K] = 1.0
            np.matmul(pt.T, self.W, out=y2)


def fast_conv(config: dict[str, Any], weights: dict[str, np.ndarray]) -> FastFn | None:
    """The patch-block convolution for ``groups = 1`` float32 kernels; None: the reference op."""
    kernel, bias = weights.get("kernel"), weights.get("bias")
    if kernel is None or kernel.dtype != F32 or (bias is not None and bias.dtype != F32):
        return None
    if int(config.get("groups", 1)) != 1 or kernel.ndim not in (4, 5):
        return None
    return _Conv(config, weights)
