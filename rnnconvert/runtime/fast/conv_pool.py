"""A convolution and the max pooling that alone reads it, run as one pass (Conv2D / Conv3D
then MaxPooling2D / 3D with strides = pool size, channels last).

Unfused, the convolution writes its whole output and the pooling reads it back: along the
last spatial axis the pooling's maxima compare runs of only C values (NumPy pays a call of
its inner loop per run), so a 2x2 pooling of a (64, 64, 16) image costs several times the
arithmetic. Fused, each patch block's rows are ordered (image, pooled row, window offset,
rest of the pooled cell) -- the order only changes which patch row is copied where -- so a
block's product holds each window offset's values as one contiguous slab, the maxima are
``prod(pool_size) - 1`` calls over whole slabs, and the activation runs on the pooled block
only. ReLU and linear commute with the max exactly (monotone, element-wise), so the numbers
are the unfused ones: the same patches and kernel, the same maxima.

The plan fuses a pair only where the pooling is the convolution's one reader -- directly,
or through TimeDistributed's FoldTime / UnfoldTime reshapes -- and nothing else (no model
output, mask, initial state or named input) reads the convolution's output: that output
then never exists. The convolution node returns the pooled tensor (its ``call_shapes``,
and those of the reshapes between, are the pooling's; the bundle's ``out_shapes`` stay as
declared, for tools that evaluate the reference ops), and the pooling node passes it on.
Calls the fused pass does not take (other dtypes or ranks, ``same`` pooling that would pad,
channel counts the kernel does not fit) run the convolution and then the pooling op.

Memory: besides the input, its padded copy and the pooled output, one patch block and its
product, each at most max(``PATCH_ELEMENTS``, one pooled row's) values, never more than
``PATCH_LIMIT`` (else the unfused route runs): conv.py's bound.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..ops.pool import pool_nd
from . import conv as conv_module
from .conv import F32, _Conv, _zeros_for

#: The nodes a TimeDistributed wrapper puts between the convolution and the pooling: views.
RESHAPES = ("UnfoldTime", "FoldTime")


class ConvPool:
    """``conv`` then max pooling over windows of ``pool_size`` (strides = pool size)."""

    def __init__(self, conv: _Conv, pool_size: list[int], padding: str):
        self.conv = conv
        self.k = [int(k) for k in pool_size]
        self.padding = padding
        self.relu = conv.act_kind == "relu"

    def unfused(self, x: np.ndarray) -> list[np.ndarray]:
        y = self.conv(x)[0]
        return pool_nd(y, mode="max", pool_size=self.k, strides=self.k, padding=self.padding)

    def __call__(self, x: np.ndarray, **_: Any) -> list[np.ndarray]:
        c, n = self.conv, self.conv.n
        if x.dtype != F32 or x.ndim != n + 2 or x.shape[-1] != c.c_in:
            return self.unfused(x)
        size = x.shape[1:-1]
        pads, padded, out = c._geometry.get(size) or c._geometry_of(size)
        if self.padding == "same" and any(o % k for o, k in zip(out, self.k)):
            return self.unfused(x)  # the pooling would pad: the unfused route
        q = [o // k for o, k in zip(out, self.k)]
        if math.prod(self.k) * math.prod(q[1:]) * max(c.K + 1, c.c_out) > conv_module.PATCH_LIMIT:
            return self.unfused(x)  # one pooled row's patches or product alone too many
        y = np.empty((x.shape[0], *q, c.c_out), F32)
        if y.size:
            self._blocks(self._split(c._source(x, pads, padded, out), q), y)
        return [y]

    def _split(self, view: np.ndarray, q: list[int]) -> np.ndarray:
        """conv.py's patch view with each output axis a split into (q_a, k_a) -- cells past
        q_a * k_a, which a ``valid`` pooling drops, left out -- and ordered (B, q_0, *k,
        q_1, ...): runs of channels (B, ..., *K, C_in), else (C_in, *K, B, ...)."""
        c, n, k = self.conv, self.conv.n, self.k
        lead = 0 if c.runs_of_channels else n + 1  # where the (B, *out) axes start
        s = view.strides
        so = s[lead + 1 : lead + 1 + n]
        b_axis = [(view.shape[lead], s[lead])]
        q_axes = [(q[a], so[a] * k[a]) for a in range(n)]
        k_axes = [(k[a], so[a]) for a in range(n)]
        cells = b_axis + q_axes[:1] + k_axes + q_axes[1:]
        rest = [(view.shape[i], s[i]) for i in range(view.ndim) if not lead <= i <= lead + n]
        axes = cells + rest if c.runs_of_channels else rest + cells
        return as_strided(view, [a[0] for a in axes], [a[1] for a in axes], writeable=False)

    def _blocks(self, view: np.ndarray, y: np.ndarray) -> None:
        """Whole images per block where an image fits, else slabs of pooled rows."""
        c, n = self.conv, self.conv.n
        B, q = y.shape[0], list(y.shape[1:-1])
        windows = math.prod(self.k)
        per_row = windows * math.prod(q[1:])  # output cells of one pooled row
        per_image = per_row * q[0]
        rows = max(c.K + 1, c.c_out)  # a block's patch values and its product's, per cell
        limit = conv_module.PATCH_ELEMENTS
        whole = per_image * rows <= limit
        unit, units = (per_image, B) if whole else (per_row, q[0])
        step = max(1, limit // (unit * rows))
        step = -(-units // -(-units // step))  # even blocks
        cells = min(step, units) * unit
        buf = np.empty(cells * (c.K + 1), F32)
        prod = np.empty((cells, c.c_out), F32)
        lead = 0 if c.runs_of_channels else n + 1
        for b in range(0, B, step) if whole else range(B):
            for r in range(0, 1) if whole else range(0, q[0], step):
                m = min(step, units - (b if whole else r))
                index = (slice(b, b + m),) if whole else (b, slice(r, r + m))
                src = view[(slice(None),) * lead + index]
                dst = y[b : b + m] if whole else y[b, r : r + m]
                self._block(src, buf, prod[: m * unit], dst, windows)

    def _block(self, src: np.ndarray, buf: np.ndarray, prod: np.ndarray, dst: np.ndarray, windows: int) -> None:
        """dst = act(max over the window offsets of (patches @ W)); the product's rows are
        (pooled rows, window offset, rest of the row), so each offset is one slab per pooled row."""
        self.conv._product(src, buf, prod)
        run = math.prod(dst.shape[-self.conv.n :])  # (*q[1:], F): one pooled row's values
        d2 = dst.reshape(-1, run)
        p3 = prod.reshape(d2.shape[0], windows, run)
        if windows == 1:
            np.copyto(d2, p3[:, 0])
        else:
            np.maximum(p3[:, 0], p3[:, 1], out=d2)
            for j in range(2, windows):
                np.maximum(d2, p3[:, j], out=d2)
        if self.relu:
            np.maximum(d2, _zeros_for(d2.size).reshape(d2.shape), out=d2)


def _passthrough(x: np.ndarray, **_: Any) -> list[np.ndarray]:
    """A fused pooling node: its convolution already pooled."""
    return [x]


def _uses(nodes: list[Any], output_refs: list[tuple[str, int]]) -> dict[tuple[str, int], list[tuple[Any, int]]]:
    """Every reader of each tensor that sees its values: (node, input position; -1 for a
    mask, initial state, named input or model output)."""
    uses: dict[tuple[str, int], list[tuple[Any, int]]] = {}
    for node in nodes:
        for pos, ref in enumerate(node.inputs):
            if node.op == "UnfoldTime" and pos == 1:
                continue  # ``like``: only its (B, T) axes are read, which a fusion leaves as they are
            uses.setdefault(ref, []).append((node, pos))
        others = [*([node.mask] if node.mask is not None else []), *node.initial_state, *node.named.values()]
        for ref in others:
            uses.setdefault(ref, []).append((node, -1))
    for ref in output_refs:
        uses.setdefault(ref, []).append((None, -1))
    return uses


def _fusable_conv(node: Any) -> bool:
    call = node.call
    return (
        node.op in ("Conv2D", "Conv3D")
        and isinstance(call, _Conv)
        and not call.channels_first
        and call.act_kind in ("relu", "linear")
        and node.mask is None
        and not node.named
        and node.n_outputs == 1
    )


def _fusable_pool(node: Any, n: int) -> bool:
    c = node.config
    k = c.get("pool_size")
    return (
        node.op in ("Pool2D", "Pool3D")
        and c.get("mode") == "max"
        and isinstance(k, list)
        and len(k) == n
        and list(c.get("strides") or []) == k
        and c.get("padding") in ("valid", "same")
        and c.get("data_format", "channels_last") == "channels_last"
        and node.mask is None
        and not node.named
    )


def _chain(conv: Any, uses: dict, ranks: dict) -> tuple[list[Any], Any] | None:
    """The reshapes after ``conv`` and the pooling they lead to, where each tensor on the
    way has that one reader; None if there is no such pooling."""
    n = conv.call.n
    ref, chain = (conv.name, 0), []
    while True:
        readers = uses.get(ref, [])
        if len(readers) != 1 or readers[0][0] is None or readers[0][1] != 0:
            return None
        node = readers[0][0]
        if node.op in RESHAPES:
            # FoldTime merges (B, T) of a (B, T, *S, C) tensor, UnfoldTime splits a (B*T, *S, C) one:
            # the spatial and channel axes pass unchanged.
            if ranks.get(ref) != (n + 3 if node.op == "FoldTime" else n + 2) or node.n_outputs != 1:
                return None
            chain.append(node)
            ref = (node.name, 0)
            continue
        return (chain, node) if _fusable_pool(node, n) and ranks.get(ref) == n + 2 else None


def fuse_conv_pool(nodes: list[Any], output_refs: list[tuple[str, int]]) -> int:
    """Fuse each prepared convolution whose output only a max pooling reads (see the module
    doc): the convolution node then computes the pooled tensor, the reshapes between carry
    it, and the pooling node passes it on. Returns the number of pairs fused."""
    uses = _uses(nodes, output_refs)
    ranks = {(node.name, k): len(s) for node in nodes for k, s in enumerate(node.out_shapes)}
    fused = 0
    for conv in nodes:
        if not _fusable_conv(conv):
            continue
        found = _chain(conv, uses, ranks)
        if found is None:
            continue
        chain, pool = found
        pooled = tuple(pool.out_shapes[0])
        conv.call = ConvPool(conv.call, pool.config["pool_size"], pool.config["padding"])
        conv.call_shapes = [pooled]
        conv.fused = f"{conv.op} + {pool.op} ({pool.name!r})"
        for node in chain:
            shape = node.out_shapes[0]
            node.call_shapes = [tuple(shape[: len(shape) - len(pooled) + 1]) + pooled[1:]]
        pool.call, pool.fast, pool.fused = _passthrough, True, f"pooled by {conv.name!r}"
        fused += 1
    return fused
