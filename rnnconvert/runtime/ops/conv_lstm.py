"""ConvLSTM: Keras's convolutional LSTM (ConvLSTM1D, ConvLSTM2D, ConvLSTM3D) over N-d frames.

An LSTM whose input and recurrent products are convolutions. With r = 1, 2 or 3
spatial axes, channels last inside the op, F = filters, K = the kernel's spatial
size (k_1, …, k_r); gate blocks of F channels in order i, f, c, o (``gate_order``):

* ``kernel`` (*K, C, 4F), ``recurrent_kernel`` (*K, F, 4F), ``bias`` (4F) or absent;
* per timestep, with ``ra`` = recurrent_activation, ``a`` = activation::

    z  = conv(x_t, kernel; strides, dilation_rate, padding) + bias     # (B, *S', 4F)
       + conv(h, recurrent_kernel; strides 1, dilation 1, padding same)
    i, f, g, o = ra(z_i), ra(z_f), a(z_c), ra(z_o)                       # each (B, *S', F)
    c' = f * c + i * g
    h' = o * a(c')                                                       # output = h'

``conv`` is TensorFlow's (cross-correlation, no kernel flip); ``same`` padding puts
the extra cell of an odd total on the right, as TensorFlow does. The scan over time
(masks, ``go_backwards``, ``return_sequences``) is the one every recurrent op shares
(``rnn.scan``). ``data_format`` ``channels_first`` means the channel axis of ``x``,
``y`` and the states directly follows the batch (and time) axes; the op moves it last,
computes, and moves it back.

Each convolution is an im2col product: the receptive fields are gathered with
``sliding_window_view`` into one (…, K·C) matrix and multiplied by the kernel
reshaped to (K·C, 4F). The input convolution runs for a block of timesteps at once;
the recurrent one is one gathered matrix per step. Products are issued in row blocks
small enough for OpenBLAS to keep each on the calling thread (see runtime/blas.py): on a busy
machine a mid-sized product handed to BLAS threads can take 50x longer.
"""

from __future__ import annotations

from math import prod
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ...errors import ResourceError
from ..blas import SINGLE_THREAD_MNK
from .activations import activation_fn
from .rnn import scan

#: Bound on the gathered input windows (and on the projected inputs) the input convolution
#: holds at once: 16 MiB of float32.
IM2COL_ELEMENTS = 1 << 22
#: Bound on one frame's padded input or gathered windows (1 GiB of float32): a bundle whose
#: dilation or kernel would need more is refused before allocating (a legitimate ConvLSTM is
#: orders of magnitude below it).
MAX_FRAME_ELEMENTS = 1 << 28


def same_pads(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TensorFlow's ``same`` padding of one axis: (before, after), the extra cell after."""
    span = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


def conv_out_size(size: int, kernel: int, stride: int, dilation: int, padding: str) -> int:
    """Length of one spatial axis after the convolution."""
    if padding == "same":
        return -(-size // stride)
    span = (kernel - 1) * dilation + 1
    return max((size - span) // stride + 1, 0)


def _im2col(
    xp: np.ndarray,  # (N, *S_pad, C), already padded
    ksize: tuple[int, ...],
    strides: tuple[int, ...],
    dilation: tuple[int, ...],
) -> np.ndarray:
    """(N, *S_pad, C) -> (N, *S', prod(K)·C): every output cell's receptive field, in the
    kernel's (*K, C) order, as a contiguous matrix."""
    r = len(ksize)
    spans = tuple((k - 1) * d + 1 for k, d in zip(ksize, dilation))
    win = sliding_window_view(xp, spans, axis=tuple(range(1, r + 1)))  # (N, *S_full, C, *spans): a view
    # Output cells every `stride`, kernel taps every `dilation`.
    index = (
        slice(None),
        *(slice(None, None, s) for s in strides),
        slice(None),
        *(slice(None, None, d) for d in dilation),
    )
    win = win[index]
    perm = (0, *range(1, r + 1), *range(r + 2, 2 * r + 2), r + 1)  # -> (N, *S', *K, C)
    out_sp = win.shape[1 : r + 1]
    return win.transpose(perm).reshape(xp.shape[0], *out_sp, prod(ksize) * xp.shape[-1])  # the one copy


def _product(a: np.ndarray, w: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out[:] = a @ w`` for a (M, K) and w (K, N), in row blocks of at most
    SINGLE_THREAD_MNK multiply-adds."""
    step = max(1, SINGLE_THREAD_MNK // max(1, w.shape[0] * w.shape[1]))
    for r in range(0, a.shape[0], step):
        np.matmul(a[r : r + step], w, out=out[r : r + step])
    return out


class _InputConv:
    """``xs[:, t]`` = conv(x[:, t], kernel) + bias (B, *S', 4F) for the scan, computed for a
    block of timesteps at once (as many as fit IM2COL_ELEMENTS) when the scan first asks
    for one of them; blocks follow the scan's direction."""

    dtype = np.float32

    def __init__(self, x, w_in, bias, ksize, strides, dilation, pads, out_sp) -> None:
        self.x, self.w_in, self.bias = x, w_in, bias
        self.ksize, self.strides, self.dilation, self.pads = ksize, strides, dilation, pads
        self.cells = prod(out_sp)
        B, T = x.shape[0], x.shape[1]
        self.shape = (B, T, *out_sp, w_in.shape[1])
        per_step = B * self.cells * max(w_in.shape[0], w_in.shape[1])
        self.block = max(1, IM2COL_ELEMENTS // max(per_step, 1))
        self.t0, self.last = 0, -1
        self.buf: np.ndarray | None = None

    def __getitem__(self, key: tuple[slice, int]) -> np.ndarray:
        _, t = key
        buf = self.buf
        if buf is None or not self.t0 <= t < self.t0 + buf.shape[1]:
            backwards = t < self.last
            t0 = max(0, t - self.block + 1) if backwards else t
            buf = self._compute(t0, min(t0 + self.block, self.shape[1]))
            self.t0, self.buf = t0, buf
        self.last = t
        return buf[:, t - self.t0]

    def _compute(self, t0: int, t1: int) -> np.ndarray:
        B, n = self.shape[0], t1 - t0
        frames = self.x[:, t0:t1].reshape(B * n, *self.x.shape[2:])  # (B·n, *S, C)
        if any(p != (0, 0) for p in self.pads):
            frames = np.pad(frames, ((0, 0), *self.pads, (0, 0)))
        cols = _im2col(frames, self.ksize, self.strides, self.dilation)  # (B·n, *S', K·C)
        out = np.empty((B * n * self.cells, self.w_in.shape[1]), np.float32)
        _product(cols.reshape(B * n * self.cells, -1), self.w_in, out)  # (B·n·S', 4F)
        if self.bias is not None:
            out += self.bias
        return out.reshape(B, n, *self.shape[2:])  # (B, n, *S', 4F)


def conv_lstm(
    x: np.ndarray,  # (B, T, *S, C) channels_last, (B, T, C, *S) channels_first
    *,
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    bias: np.ndarray | None = None,
    filters: int,
    strides: list[int],
    dilation_rate: list[int],
    padding: str,
    data_format: str,
    activation: dict[str, Any],
    recurrent_activation: dict[str, Any],
    return_sequences: bool = False,
    go_backwards: bool = False,
    zero_output_for_mask: bool = False,
    mask: np.ndarray | None = None,
    initial_state: list[np.ndarray] | None = None,
    initial_output: np.ndarray | None = None,
) -> list[np.ndarray]:
    """Returns ``[y, h, c]``: ``y`` (B, T, *S', F) with ``return_sequences`` (in the order
    the steps were taken), else (B, *S', F); ``h`` and ``c`` (B, *S', F). Channels first:
    F directly after B (and T) instead."""
    act, ract = activation_fn(activation), activation_fn(recurrent_activation)
    r = kernel.ndim - 2
    F = filters
    first = data_format == "channels_first"
    if first:  # compute channels last: (B, T, C, *S) -> (B, T, *S, C)
        x = np.moveaxis(x, 2, -1)
        initial_state = [np.moveaxis(s, 1, -1) for s in initial_state] if initial_state else initial_state
        initial_output = np.moveaxis(initial_output, 1, -1) if initial_output is not None else None
    B, spatial, C = x.shape[0], x.shape[2:-1], x.shape[-1]
    ksize = tuple(kernel.shape[:r])
    st, dil = tuple(int(s) for s in strides), tuple(int(d) for d in dilation_rate)
    out_sp = tuple(conv_out_size(n, k, s, d, padding) for n, k, s, d in zip(spatial, ksize, st, dil))
    pads = [same_pads(n, k, s, d) if padding == "same" else (0, 0) for n, k, s, d in zip(spatial, ksize, st, dil)]
    per_frame = max(
        prod(n + a + b for n, (a, b) in zip(spatial, pads)) * C,  # padded input frame
        prod(out_sp) * prod(ksize) * max(C, F),  # its windows, and the state's
    )
    if per_frame > MAX_FRAME_ELEMENTS:
        raise ResourceError(
            f"ConvLSTM: one frame needs {per_frame:,} elements (kernel {ksize}, dilation {dil}, "
            f"frame {tuple(spatial)}), over the bound of {MAX_FRAME_ELEMENTS:,}"
        )

    # Input convolution of every timestep, computed a block of timesteps at a time as the
    # scan reaches them: memory stays bounded whatever the sequence length.
    cells = prod(out_sp)
    xs = _InputConv(x, kernel.reshape(prod(ksize) * C, 4 * F), bias, ksize, st, dil, pads, out_sp)

    # Recurrent convolution: stride 1, no dilation, same padding, on a zero-bordered buffer
    # whose interior is overwritten with h every step.
    w_rec = recurrent_kernel.reshape(prod(ksize) * F, 4 * F)
    rpads = [same_pads(n, k, 1, 1) for n, k in zip(out_sp, ksize)]
    hp = np.zeros((B, *(n + a + b for n, (a, b) in zip(out_sp, rpads)), F), dtype=np.float32)
    interior = (slice(None), *(slice(a, a + n) for n, (a, _) in zip(out_sp, rpads)), slice(None))
    ones = (1,) * r
    zbuf = np.empty((B * cells, 4 * F), dtype=np.float32)
    z = zbuf.reshape(B, *out_sp, 4 * F)

    def step(x_t: np.ndarray, states: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        h, c = states
        hp[interior] = h
        cols = _im2col(hp, ksize, ones, ones)  # (B, *S', K·F)
        _product(cols.reshape(B * cells, -1), w_rec, zbuf)
        z[...] += x_t  # (B, *S', 4F); the gates below are new arrays, so zbuf is reused
        i = ract(z[..., :F])
        f = ract(z[..., F : 2 * F])
        g = act(z[..., 2 * F : 3 * F])
        o = ract(z[..., 3 * F :])
        c2 = f * c + i * g
        h2 = o * act(c2)
        return h2, [h2, c2]

    if initial_state:
        states = [np.asarray(s, dtype=np.float32) for s in initial_state]
    else:
        states = [np.zeros((B, *out_sp, F), np.float32), np.zeros((B, *out_sp, F), np.float32)]
    y, (h, c) = scan(
        step,
        xs,  # duck-typed: scan reads .shape, .dtype and xs[:, t]
        states,
        mask=mask,
        go_backwards=go_backwards,
        return_sequences=return_sequences,
        zero_output_for_mask=zero_output_for_mask,
        initial_output=initial_output,
        units=(*out_sp, F),
    )
    if first:  # back to channels first: F after B (and T)
        y = np.ascontiguousarray(np.moveaxis(y, -1, 2 if return_sequences else 1))
        h, c = (np.ascontiguousarray(np.moveaxis(s, -1, 1)) for s in (h, c))
    return [y, h, c]
