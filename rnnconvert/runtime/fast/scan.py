"""The chunked scan over time the prepared recurrent ops share, and its building blocks:
the input projection, stacked one-step weights, the gate fold (see the package docstring)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import blas

F32 = np.float32
FastFn = Callable[..., list[np.ndarray]]

#: Bound on the projected-input values a recurrent call holds at once (16 MiB of float32).
CHUNK_ELEMENTS = 1 << 22
#: Fewest rows of a one-thread block of the batch-1 input projection (see Projection).
MIN_BLOCK_ROWS = 4


def gate_fold(spec: dict[str, Any]) -> tuple[str, float, float] | None:
    """How sigmoid-like gates fold into the weights: (kind, weight scale, bias offset).

    ``tanh``: gate = 0.5 * tanh(z') + 0.5 with z' = z / 2; ``clip``: gate = clip(z', 0, 1)
    with z' = slope * z + offset. None: not a gate activation we fold.
    """
    kind = spec.get("type")
    if kind == "sigmoid":
        return ("tanh", 0.5, 0.0)
    if kind == "hard_sigmoid":  # slope and offset are required parameters (checked at load)
        return ("clip", float(spec["slope"]), float(spec["offset"]))
    return None


def eligible(config: dict[str, Any]) -> tuple[str, float, float] | None:
    """The gate fold for a tanh layer with sigmoid-like gates; None: the reference op runs."""
    if config["activation"].get("type") != "tanh":
        return None
    return gate_fold(config["recurrent_activation"])


def scaled(a: np.ndarray, cols: slice, factor: float) -> np.ndarray:
    out = np.array(a, dtype=F32, copy=True)
    out[..., cols] *= F32(factor)
    return out


class Projection:
    """``x_t @ kernel + bias`` for a chunk of timesteps, laid out ``(n, G, B)``."""

    def __init__(self, kernel: np.ndarray, bias: np.ndarray | None):
        self.D, self.G = kernel.shape
        self.W = np.ascontiguousarray(kernel, dtype=F32)  # (D, G): B = 1
        self.b = None if bias is None else np.ascontiguousarray(bias, dtype=F32)
        b = np.zeros(self.G, F32) if bias is None else bias
        # (G, D + 1): B > 1, the bias as the weight of a constant-one input row.
        self.WT1 = np.ascontiguousarray(np.concatenate([self.W.T, b[:, None]], axis=1))

    def __call__(self, xc: np.ndarray) -> np.ndarray:
        B, n = xc.shape[0], xc.shape[1]
        if B == 1:
            x2 = xc[0]  # (n, D)
            if not x2.flags.c_contiguous:
                x2 = np.ascontiguousarray(x2)
            # Row blocks small enough that OpenBLAS runs each product on the calling thread
            # (it threads a product above M*N*K = 2^18): as fast as one product on an idle
            # machine, and never stalled waiting for a BLAS thread on a busy one -- while a
            # block keeps at least MIN_BLOCK_ROWS rows. Past that (D*G over 2^16: the CRNN's
            # 512 x 512, the LRCN's 4096 x 256) blocks would shrink to vector-matrix products
            # that read the whole kernel once per row, 3-5x slower than one product even on
            # one thread: one product then.
            xs = np.empty((n, self.G), F32)
            step = blas.SINGLE_THREAD_MNK // (self.D * self.G)
            if step < MIN_BLOCK_ROWS:
                step = n
            for r in range(0, n, step):
                np.matmul(x2[r : r + step], self.W, out=xs[r : r + step])
            if self.b is not None:
                xs += self.b
            return xs.reshape(n, self.G, 1)
        xa = np.empty((n, self.D + 1, B), F32)
        xa[:, : self.D] = xc.transpose(1, 2, 0)  # (n, D, B)
        xa[:, self.D] = 1.0
        return np.matmul(self.WT1, xa)  # (n, G, B)


def stacked(kernel: np.ndarray, rec: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """``[kernel; rec; bias]`` (D + H (+ 1), G): one timestep's whole pre-activation as
    ``[x_t, h, 1] @ W`` -- the bias folded into the product instead of a separate add."""
    parts = [kernel, rec] if bias is None else [kernel, rec, np.asarray(bias, F32)[None]]
    return np.ascontiguousarray(np.concatenate(parts), dtype=F32)


ONE_ROW = np.ones((1, 1), F32)
ONE_ROW.flags.writeable = False


def joined(x_t: np.ndarray, h: np.ndarray, ones: bool) -> np.ndarray:
    """``[x_t, h]`` or ``[x_t, h, 1]`` (B, D + H (+ 1)) for :func:`stacked` weights."""
    if not ones:
        return np.concatenate((x_t, h), axis=1)
    one = ONE_ROW if x_t.shape[0] == 1 else np.ones((x_t.shape[0], 1), F32)
    return np.concatenate((x_t, h, one), axis=1)


def put_outputs(y: np.ndarray, s: int, hs: np.ndarray) -> None:
    """``y[:, s + k] = hs[k].T`` for a chunk's outputs ``hs`` (n, H, B) -> ``y`` (B, T, H).

    One (H, B) -> (B, H) transpose per step: each fits in cache, where one strided copy of
    the whole chunk reads every value from a different cache line (3-5x slower)."""
    if y.shape[0] == 1:
        y[0, s : s + hs.shape[0]] = hs[:, :, 0]
        return
    for k in range(hs.shape[0]):
        y[:, s + k] = hs[k].T


class Recurrent:
    """The chunked scan shared by the prepared recurrent ops.

    Subclasses set ``H``, ``n_states``, ``proj`` and implement ``_alloc`` (per-call
    buffers) and ``_chunk`` (the steps of one chunk). The hidden state of step ``k`` of a
    chunk lives in ``slots[k]`` (``(H, B)``); step ``k`` writes ``slots[k + 1]``.
    """

    H: int
    n_states: int
    proj: Projection

    def __init__(self, config: dict[str, Any]):
        self.return_sequences = bool(config.get("return_sequences", False))
        self.go_backwards = bool(config.get("go_backwards", False))

    def _alloc(self, B: int) -> dict[str, Any]:
        raise NotImplementedError

    def _chunk(self, xs: np.ndarray, n: int, slots: np.ndarray, buf: dict[str, Any], row: bool) -> None:
        raise NotImplementedError

    def _set_extra_states(self, buf: dict[str, Any], states: list[np.ndarray]) -> None:
        """Load states beyond h (LSTM's c) into the buffers."""

    def _states_in(self, B: int, initial_state: list[np.ndarray] | None) -> list[np.ndarray]:
        if initial_state:
            return [s if s.dtype == F32 else s.astype(F32) for s in map(np.asarray, initial_state)]
        return [np.zeros((B, self.H), F32) for _ in range(self.n_states)]

    def _one_step(self, x_t: np.ndarray, states: list[np.ndarray]) -> list[np.ndarray]:
        """One timestep ``x_t`` (B, D) from ``states`` (each (B, H)), row-major:
        returns ``[y, *new_states]``."""
        raise NotImplementedError

    def _out(self, h: np.ndarray) -> np.ndarray:
        return h[:, None] if self.return_sequences else h  # (B, 1, H) or (B, H)

    def _extra_states(self, buf: dict[str, Any]) -> list[np.ndarray]:
        return []

    def __call__(
        self,
        x: np.ndarray,  # (B, T, D)
        *,
        initial_state: list[np.ndarray] | None = None,
        initial_output: np.ndarray | None = None,
        **_: Any,
    ) -> list[np.ndarray]:
        B, T, H = x.shape[0], x.shape[1], self.H
        if x.dtype != F32:
            x = x.astype(F32)
        if T == 0:  # nothing to scan: the states pass through, as in the reference scan
            states = [np.array(s, F32) for s in initial_state] if initial_state else None
            states = states or [np.zeros((B, H), F32) for _ in range(self.n_states)]
            if self.return_sequences:
                empty = np.zeros((B, 0, H), F32)
            else:
                empty = np.array(initial_output, F32) if initial_output is not None else np.zeros((B, H), F32)
            return [empty, *states]
        if T == 1:  # streaming: one timestep, the fewest calls (go_backwards is moot)
            return self._one_step(x[:, 0], self._states_in(B, initial_state))
        if self.go_backwards:
            x = x[:, ::-1]
        chunk = max(1, min(T, CHUNK_ELEMENTS // max(1, B * self.proj.G)))
        slots = np.empty((chunk + 1, H, B), F32)  # slots[0]: the state before the chunk
        buf = self._alloc(B)
        if initial_state:
            slots[0] = np.asarray(initial_state[0], F32).T
            self._set_extra_states(buf, list(initial_state[1:]))
        else:
            slots[0] = 0.0
            self._set_extra_states(buf, [])
        y = np.empty((B, T, H), F32) if self.return_sequences else None
        row = B == 1
        for s in range(0, T, chunk):
            n = min(chunk, T - s)
            xs = self.proj(x[:, s : s + n])  # (n, G, B)
            self._chunk(xs, n, slots, buf, row)
            if y is not None:
                put_outputs(y, s, slots[1 : n + 1])
            if s + n < T:
                slots[0] = slots[n]
        h = np.ascontiguousarray(slots[n].T)  # (B, H)
        out = y if y is not None else h.copy()
        return [out, h, *self._extra_states(buf)]
