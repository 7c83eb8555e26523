"""The prepared LSTM: gates folded into the weights, one product per timestep."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import blas
from . import scan
from .scan import F32, FastFn, Projection, Recurrent, eligible, joined, put_outputs, scaled, stacked


def cell_update(
    whole: np.ndarray,
    cand: np.ndarray,
    gates: np.ndarray,
    cg: np.ndarray,
    fi: np.ndarray,
    o: np.ndarray,
    c: np.ndarray,
    p: np.ndarray,
    p1: np.ndarray,
    p2: np.ndarray,
    t: np.ndarray,
    sig: bool,
) -> Callable[[np.ndarray], None]:
    """The LSTM cell after its product, over a step's buffers: ``update(out)`` activates
    ``whole`` (the candidate ``cand`` and the pre-halved, or pre-scaled, ``gates``), then
    c' = f * c + i * c~ (``[f, i] * [c, c~]`` as one multiply into ``p``) and
    h' = o * tanh(c') into ``out``. A closure, so each step pays one call, not eight lookups."""
    add, mul, tanh, minimum, maximum, half = np.add, np.multiply, np.tanh, np.minimum, np.maximum, F32(0.5)

    # The ``out`` array passed by position: NumPy parses an ``out=`` keyword on every call.
    def sigmoid_gates() -> None:
        tanh(whole, whole)  # candidate, and the pre-halved gates
        mul(gates, half, gates)
        add(gates, half, gates)

    def clipped_gates() -> None:
        tanh(cand, cand)
        minimum(gates, 1.0, gates)
        maximum(gates, 0.0, gates)

    activate = sigmoid_gates if sig else clipped_gates

    def update(out: np.ndarray) -> None:
        activate()
        mul(fi, cg, p)  # [f * c, i * c~]
        add(p1, p2, c)  # c' = f * c + i * c~
        tanh(c, t)
        mul(o, t, out)  # h' = o * tanh(c')

    return update


class _LSTM(Recurrent):
    n_states = 2

    def __init__(self, config: dict[str, Any], weights: dict[str, np.ndarray], fold: tuple[str, float, float]):
        super().__init__(config)
        self.zero_output_for_mask = bool(config.get("zero_output_for_mask", False))
        H = self.H = int(config["units"])
        kind, scale, offset = fold
        self.kind = kind
        # Columns i, f, c, o -> c, f, i, o: the gates f, i, o contiguous after the candidate.
        perm = np.r_[2 * H : 3 * H, H : 2 * H, 0:H, 3 * H : 4 * H]
        gates = slice(H, 4 * H)
        factor = 0.5 if kind == "tanh" else scale
        kernel = scaled(weights["kernel"][:, perm], gates, factor)
        rec = scaled(weights["recurrent_kernel"][:, perm], gates, factor)
        bias = weights.get("bias")
        if bias is not None:
            bias = scaled(bias[perm], gates, factor)
        if kind == "clip":
            bias = np.zeros(4 * H, F32) if bias is None else bias
            bias[gates] += F32(offset)
        self.proj = Projection(kernel, bias)
        self.R = np.ascontiguousarray(rec)  # (H, 4H)
        self.RT = np.ascontiguousarray(rec.T)  # (4H, H)
        self.WR = stacked(kernel, rec, bias)  # [x_t, h, 1] @ WR (bias row only with a bias)
        self.mm_R, self.mm_WR = blas.row_matmul(self.R), blas.row_matmul(self.WR)
        # B > 1: one product per step over [h; x_t; 1] (4H, H + D + 1) -- no separate input
        # projection, no per-step add (see _interleaved).
        b = np.zeros(4 * H, F32) if bias is None else bias
        self.WI = np.ascontiguousarray(np.concatenate([rec.T, kernel.T, b[:, None]], axis=1))

    def call_masked(
        self,
        x: np.ndarray,
        *,
        mask: np.ndarray,
        initial_state: list[np.ndarray] | None = None,
        initial_output: np.ndarray | None = None,
    ) -> list[np.ndarray] | None:
        """A masked call (``mask`` (B, T), True = a real step), or None where the reference op
        must run. Taken when a masked row's output is its carried state -- no initial state
        or output, ``zero_output_for_mask`` off -- at B > 1 over several steps: then Keras's
        rule (a masked step keeps every state; its output repeats the previous output, zeros
        before the first real step) is two ``copyto`` calls per step that has a masked row."""
        if initial_state or initial_output is not None or self.zero_output_for_mask:
            return None
        if x.shape[0] < 2 or x.shape[1] < 2 or x.dtype != F32:
            return None
        return self._interleaved(x, None, np.asarray(mask, bool))

    def __call__(
        self,
        x: np.ndarray,
        *,
        initial_state: list[np.ndarray] | None = None,
        initial_output: np.ndarray | None = None,
        **_: Any,
    ) -> list[np.ndarray]:
        if x.shape[1] == 1 and x.dtype == F32:  # streaming: straight to the one-step path
            return self._one_step(x[:, 0], self._states_in(x.shape[0], initial_state))
        if x.shape[0] > 1 and x.shape[1] > 1:
            return self._interleaved(x if x.dtype == F32 else x.astype(F32), initial_state)
        return super().__call__(x, initial_state=initial_state, initial_output=initial_output)

    def _interleaved(
        self, x: np.ndarray, initial_state: list[np.ndarray] | None, mask: np.ndarray | None = None
    ) -> list[np.ndarray]:
        """B > 1: step t multiplies slot t = [h_{t-1}; x_t; 1] (S = H + D + 1 rows, B columns)
        by WI; its h_t goes straight into slot t + 1. The input is copied into the slots a
        chunk at a time; the output is read back from them. With ``mask`` (see call_masked),
        the rows masked at a step get their h and c back from before it."""
        B, T, D = x.shape
        H, S = self.H, self.WI.shape[1]
        if self.go_backwards:
            x = x[:, ::-1]
            mask = None if mask is None else mask[:, ::-1]
        held = np.zeros((0, 1, B), bool) if mask is None else ~mask.T[:, None, :]  # (T, 1, B): True = held
        partly = None if mask is None else np.asarray(held.any(axis=(1, 2)))  # the steps with a masked row
        c_before = np.empty((H, B), F32)
        chunk = max(1, min(T, scan.CHUNK_ELEMENTS // max(1, B * S)))
        slots = np.empty((chunk + 1, S, B), F32)
        buf = self._alloc(B)
        h0, c0 = self._states_in(B, initial_state)
        slots[0, :H] = h0.T
        buf["buf"][:H] = c0.T
        y = np.empty((B, T, H), F32) if self.return_sequences else None
        b, p, t = buf["buf"], buf["p"], buf["t"]
        z = b[H:]
        c, cg, fi, o, gates, cand = b[:H], b[: 2 * H], b[2 * H : 4 * H], b[4 * H :], b[2 * H :], b[H : 2 * H]
        update = cell_update(z, cand, gates, cg, fi, o, c, p, p[:H], p[H:], t, self.kind == "tanh")
        matmul, WI = np.matmul, self.WI
        hs = slots[:, :H]  # (chunk + 1, H, B) views of the h rows
        for s in range(0, T, chunk):
            n = min(chunk, T - s)
            if s:
                hs[0] = hs[chunk]  # carry h into the next chunk
            slots[:n, H : H + D] = x[:, s : s + n].transpose(1, 2, 0)  # (n, D, B)
            slots[:n, H + D] = 1.0
            for k in range(n):
                hold = partly is not None and partly[s + k]
                if hold:
                    c_before[...] = c
                matmul(WI, slots[k], out=z)
                update(hs[k + 1])
                if hold:
                    np.copyto(hs[k + 1], hs[k], where=held[s + k])
                    np.copyto(c, c_before, where=held[s + k])
            if y is not None:
                put_outputs(y, s, hs[1 : n + 1])
        h = np.ascontiguousarray(hs[n].T)
        return [y if y is not None else h.copy(), h, np.ascontiguousarray(c.T)]

    def _one_step(self, x_t: np.ndarray, states: list[np.ndarray]) -> list[np.ndarray]:
        H = self.H
        h0, c0 = states
        xh = joined(x_t, h0, self.proj.b is not None)
        z = (self.mm_WR if xh.shape[0] == 1 else np.matmul)(xh, self.WR)  # (B, 4H): c~, f, i, o
        gates, cand = z[:, H:], z[:, :H]
        if self.kind == "tanh":
            np.tanh(z, out=z)
            np.multiply(gates, F32(0.5), out=gates)
            np.add(gates, F32(0.5), out=gates)
        else:
            np.tanh(cand, out=cand)
            np.minimum(gates, 1.0, out=gates)
            np.maximum(gates, 0.0, out=gates)
        c = np.multiply(z[:, H : 2 * H], c0)
        t = np.multiply(z[:, 2 * H : 3 * H], cand)
        np.add(c, t, out=c)
        np.tanh(c, out=t)
        h = np.multiply(z[:, 3 * H :], t)
        return [self._out(h), h, c]

    def _alloc(self, B: int) -> dict[str, Any]:
        H = self.H
        return {
            "buf": np.zeros((5 * H, B), F32),  # [c | c~ f i o]
            "p": np.empty((2 * H, B), F32),
            "t": np.empty((H, B), F32),
        }

    def _set_extra_states(self, buf: dict[str, Any], states: list[np.ndarray]) -> None:
        if states:
            buf["buf"][: self.H] = np.asarray(states[0], F32).T

    def _extra_states(self, buf: dict[str, Any]) -> list[np.ndarray]:
        return [np.ascontiguousarray(buf["buf"][: self.H].T)]

    def _chunk(self, xs: np.ndarray, n: int, slots: np.ndarray, buf: dict[str, Any], row: bool) -> None:
        H = self.H
        b, p, t = buf["buf"], buf["p"], buf["t"]
        z = b[H:]  # (4H, B): c~, f, i, o
        c, cg, fi, o, gates, cand = b[:H], b[: 2 * H], b[2 * H : 4 * H], b[4 * H :], b[2 * H :], b[H : 2 * H]
        update = cell_update(z, cand, gates, cg, fi, o, c, p, p[:H], p[H:], t, self.kind == "tanh")
        matmul, add = np.matmul, np.add
        R, RT, mm_R = self.R, self.RT, self.mm_R
        if row:  # B = 1: the same memory seen as rows, for the vector-matrix kernel
            zr, hr = z.reshape(1, 4 * H), slots.reshape(slots.shape[0], 1, H)
        for k in range(n):
            if row:
                mm_R(hr[k], R, out=zr)
            else:
                matmul(RT, slots[k], out=z)
            add(z, xs[k], out=z)
            update(slots[k + 1])


def fast_lstm(config: dict[str, Any], weights: dict[str, np.ndarray]) -> FastFn | None:
    fold = eligible(config)
    return None if fold is None else _LSTM(config, weights, fold)
