"""Fast paths for the recurrent ops and Dense, prepared once when a bundle loads.

The reference ops (lstm.py, gru.py, simple_rnn.py, core.py) state the math; the functions
prepared here compute the same numbers with as few NumPy calls per timestep as we could
find, because at small batch sizes every call costs a fixed ~0.5 µs that dwarfs its
arithmetic. ``prepare(op, config, weights)`` returns a function with the op's call
signature minus weights and config, or None where the reference op must run.

Layout. Inside a call the recurrent state and gates are kept *feature-major*: arrays
``(F, B)``. At B > 1 the recurrent product runs as ``R^T (G, H) @ h (H, B)``, so each
gate's block of the result is one contiguous ``(H, B)`` slab: NumPy runs element-wise
arithmetic on contiguous memory 2-3x faster than on the column slices of a row-major
``(B, G)`` product. At B = 1 the same memory is the row ``(1, F)`` and the product runs
as ``h (1, H) @ R (H, G)``, BLAS's fastest kernel for that shape.

Folded into the weights at load (exactly, or within float32 rounding -- see FORMAT.md):

* ``sigmoid(z) = 0.5 * tanh(z / 2) + 0.5``: the ``/ 2`` is folded into the gate columns of
  the kernels and biases (a power of two, so exact); one ``tanh`` call then covers every
  gate of a step and, for LSTM, the candidate as well;
* ``hard_sigmoid``: the slope is folded into the gate columns and the offset into their
  bias, leaving ``clip(z', 0, 1)``;
* the input bias joins the products as the weight of a constant-one input: the input
  projection at B > 1, and the one-timestep product ``[x_t, h, 1] @ [W; U; b]``;
* LSTM gate columns are reordered i,f,c,o -> c,f,i,o inside one buffer ``[c | c~ f i o]``:
  the sigmoid gates are contiguous, and ``[f, i] * [c, c~]`` is one multiply.

Memory. The input projection is computed a chunk of timesteps at a time (at most
``CHUNK_ELEMENTS`` values), so a call holds its output, O(B * G) state buffers and one
chunk of projected inputs -- bounded independently of the sequence length when only the
last output is returned. Nothing is allocated per timestep. Buffers are allocated per
call, so one loaded model may be used from several threads.

Masked calls run the reference op.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .activations import activation_fn, is_elementwise
from .core import dense

FastFn = Callable[..., list[np.ndarray]]

#: Bound on the projected-input values a recurrent call holds at once (16 MiB of float32).
CHUNK_ELEMENTS = 1 << 22

#: Products up to this M*N*K run single-threaded in OpenBLAS (65536 * GEMM_MULTITHREAD_THRESHOLD).
SINGLE_THREAD_MNK = 1 << 18
#: Vector-matrix products below this K*N run single-threaded in OpenBLAS (115200 * 4).
SINGLE_THREAD_KN = 460800


def _row_matmul(W: np.ndarray) -> Callable[..., np.ndarray]:
    """``matmul(v, W, out=)`` for one row ``v`` (1, K), in column blocks OpenBLAS runs on
    the calling thread: a BLAS thread waiting for a core costs milliseconds on a busy
    machine, and splitting one row's product costs nothing measurable on an idle one."""
    K, N = W.shape
    if K * N < SINGLE_THREAD_KN:
        return np.matmul
    width = max(16, SINGLE_THREAD_KN // max(1, K) // 16 * 16 - 16)
    parts = [(W[:, c : c + width], slice(c, c + width)) for c in range(0, N, width)]

    def blocked(v: np.ndarray, _w: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        if out is None:
            out = np.empty((v.shape[0], N), _f32)
        for w, cols in parts:
            np.matmul(v, w, out=out[:, cols])
        return out

    return blocked


_f32 = np.float32
_INF = float("inf")


def _gate_fold(spec: dict[str, Any]) -> tuple[str, float, float] | None:
    """How sigmoid-like gates fold into the weights: (kind, weight scale, bias offset).

    ``tanh``: gate = 0.5 * tanh(z') + 0.5 with z' = z / 2; ``clip``: gate = clip(z', 0, 1)
    with z' = slope * z + offset. None: not a gate activation we fold.
    """
    kind = spec.get("type")
    if kind == "sigmoid":
        return ("tanh", 0.5, 0.0)
    if kind == "hard_sigmoid":
        return ("clip", float(spec.get("slope", 0.2)), float(spec.get("offset", 0.5)))
    return None


def _scaled(a: np.ndarray, cols: slice, factor: float) -> np.ndarray:
    out = np.array(a, dtype=_f32, copy=True)
    out[..., cols] *= _f32(factor)
    return out


class _Projection:
    """``x_t @ kernel + bias`` for a chunk of timesteps, laid out ``(n, G, B)``."""

    def __init__(self, kernel: np.ndarray, bias: np.ndarray | None):
        self.D, self.G = kernel.shape
        self.W = np.ascontiguousarray(kernel, dtype=_f32)  # (D, G): B = 1
        self.b = None if bias is None else np.ascontiguousarray(bias, dtype=_f32)
        b = np.zeros(self.G, _f32) if bias is None else bias
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
            # machine, and never stalled waiting for a BLAS thread on a busy one.
            xs = np.empty((n, self.G), _f32)
            step = max(1, SINGLE_THREAD_MNK // (self.D * self.G))
            for r in range(0, n, step):
                np.matmul(x2[r : r + step], self.W, out=xs[r : r + step])
            if self.b is not None:
                xs += self.b
            return xs.reshape(n, self.G, 1)
        xa = np.empty((n, self.D + 1, B), _f32)
        xa[:, : self.D] = xc.transpose(1, 2, 0)  # (n, D, B)
        xa[:, self.D] = 1.0
        return np.matmul(self.WT1, xa)  # (n, G, B)


def _stacked(kernel: np.ndarray, rec: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """``[kernel; rec; bias]`` (D + H (+ 1), G): one timestep's whole pre-activation as
    ``[x_t, h, 1] @ W`` -- the bias folded into the product instead of a separate add."""
    parts = [kernel, rec] if bias is None else [kernel, rec, np.asarray(bias, _f32)[None]]
    return np.ascontiguousarray(np.concatenate(parts), dtype=_f32)


_ONE_ROW = np.ones((1, 1), _f32)
_ONE_ROW.flags.writeable = False


def _joined(x_t: np.ndarray, h: np.ndarray, ones: bool) -> np.ndarray:
    """``[x_t, h]`` or ``[x_t, h, 1]`` (B, D + H (+ 1)) for :func:`_stacked` weights."""
    if not ones:
        return np.concatenate((x_t, h), axis=1)
    one = _ONE_ROW if x_t.shape[0] == 1 else np.ones((x_t.shape[0], 1), _f32)
    return np.concatenate((x_t, h, one), axis=1)


def _put_outputs(y: np.ndarray, s: int, hs: np.ndarray) -> None:
    """``y[:, s + k] = hs[k].T`` for a chunk's outputs ``hs`` (n, H, B) -> ``y`` (B, T, H).

    One (H, B) -> (B, H) transpose per step: each fits in cache, where one strided copy of
    the whole chunk reads every value from a different cache line (3-5x slower)."""
    if y.shape[0] == 1:
        y[0, s : s + hs.shape[0]] = hs[:, :, 0]
        return
    for k in range(hs.shape[0]):
        y[:, s + k] = hs[k].T


class _Recurrent:
    """The chunked scan shared by the prepared recurrent ops.

    Subclasses set ``H``, ``n_states``, ``proj`` and implement ``_alloc`` (per-call
    buffers) and ``_chunk`` (the steps of one chunk). The hidden state of step ``k`` of a
    chunk lives in ``slots[k]`` (``(H, B)``); step ``k`` writes ``slots[k + 1]``.
    """

    H: int
    n_states: int
    proj: _Projection

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
            return [s if s.dtype == _f32 else s.astype(_f32) for s in map(np.asarray, initial_state)]
        return [np.zeros((B, self.H), _f32) for _ in range(self.n_states)]

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
        if x.dtype != _f32:
            x = x.astype(_f32)
        if T == 0:  # nothing to scan: the states pass through, as in the reference scan
            states = [np.array(s, _f32) for s in initial_state] if initial_state else None
            states = states or [np.zeros((B, H), _f32) for _ in range(self.n_states)]
            if self.return_sequences:
                y = np.zeros((B, 0, H), _f32)
            else:
                y = np.array(initial_output, _f32) if initial_output is not None else np.zeros((B, H), _f32)
            return [y, *states]
        if T == 1:  # streaming: one timestep, the fewest calls (go_backwards is moot)
            return self._one_step(x[:, 0], self._states_in(B, initial_state))
        if self.go_backwards:
            x = x[:, ::-1]
        chunk = max(1, min(T, CHUNK_ELEMENTS // max(1, B * self.proj.G)))
        slots = np.empty((chunk + 1, H, B), _f32)  # slots[0]: the state before the chunk
        buf = self._alloc(B)
        if initial_state:
            slots[0] = np.asarray(initial_state[0], _f32).T
            self._set_extra_states(buf, list(initial_state[1:]))
        else:
            slots[0] = 0.0
            self._set_extra_states(buf, [])
        y = np.empty((B, T, H), _f32) if self.return_sequences else None
        row = B == 1
        for s in range(0, T, chunk):
            n = min(chunk, T - s)
            xs = self.proj(x[:, s : s + n])  # (n, G, B)
            self._chunk(xs, n, slots, buf, row)
            if y is not None:
                _put_outputs(y, s, slots[1 : n + 1])
            if s + n < T:
                slots[0] = slots[n]
        h = np.ascontiguousarray(slots[n].T)  # (B, H)
        out = y if y is not None else h.copy()
        return [out, h, *self._extra_states(buf)]


class _LSTM(_Recurrent):
    n_states = 2

    def __init__(self, config: dict[str, Any], weights: dict[str, np.ndarray], fold: tuple[str, float, float]):
        super().__init__(config)
        H = self.H = int(config["units"])
        kind, scale, offset = fold
        self.kind = kind
        # Columns i, f, c, o -> c, f, i, o: the gates f, i, o contiguous after the candidate.
        perm = np.r_[2 * H : 3 * H, H : 2 * H, 0:H, 3 * H : 4 * H]
        gates = slice(H, 4 * H)
        factor = 0.5 if kind == "tanh" else scale
        kernel = _scaled(weights["kernel"][:, perm], gates, factor)
        rec = _scaled(weights["recurrent_kernel"][:, perm], gates, factor)
        bias = weights.get("bias")
        if bias is not None:
            bias = _scaled(bias[perm], gates, factor)
        if kind == "clip":
            bias = np.zeros(4 * H, _f32) if bias is None else bias
            bias[gates] += _f32(offset)
        self.proj = _Projection(kernel, bias)
        self.R = np.ascontiguousarray(rec)  # (H, 4H)
        self.RT = np.ascontiguousarray(rec.T)  # (4H, H)
        self.WR = _stacked(kernel, rec, bias)  # [x_t, h, 1] @ WR (bias row only with a bias)
        self.mm_R, self.mm_WR = _row_matmul(self.R), _row_matmul(self.WR)
        # B > 1: one product per step over [h; x_t; 1] (4H, H + D + 1) -- no separate input
        # projection, no per-step add (see _interleaved).
        b = np.zeros(4 * H, _f32) if bias is None else bias
        self.WI = np.ascontiguousarray(np.concatenate([rec.T, kernel.T, b[:, None]], axis=1))

    def __call__(
        self,
        x: np.ndarray,
        *,
        initial_state: list[np.ndarray] | None = None,
        initial_output: np.ndarray | None = None,
        **_: Any,
    ) -> list[np.ndarray]:
        if x.shape[1] == 1 and x.dtype == _f32:  # streaming: straight to the one-step path
            return self._one_step(x[:, 0], self._states_in(x.shape[0], initial_state))
        if x.shape[0] > 1 and x.shape[1] > 1:
            return self._interleaved(x if x.dtype == _f32 else x.astype(_f32), initial_state)
        return super().__call__(x, initial_state=initial_state, initial_output=initial_output)

    def _interleaved(self, x: np.ndarray, initial_state: list[np.ndarray] | None) -> list[np.ndarray]:
        """B > 1: step t multiplies slot t = [h_{t-1}; x_t; 1] (S = H + D + 1 rows, B columns)
        by WI; its h_t goes straight into slot t + 1. The input is copied into the slots a
        chunk at a time; the output is read back from them."""
        B, T, D = x.shape
        H, S = self.H, self.WI.shape[1]
        if self.go_backwards:
            x = x[:, ::-1]
        chunk = max(1, min(T, CHUNK_ELEMENTS // max(1, B * S)))
        slots = np.empty((chunk + 1, S, B), _f32)
        buf = self._alloc(B)
        h0, c0 = self._states_in(B, initial_state)
        slots[0, :H] = h0.T
        buf["buf"][:H] = c0.T
        y = np.empty((B, T, H), _f32) if self.return_sequences else None
        b, p, t = buf["buf"], buf["p"], buf["t"]
        z = b[H:]
        c, cg, fi, o, gates, cand = b[:H], b[: 2 * H], b[2 * H : 4 * H], b[4 * H :], b[2 * H :], b[H : 2 * H]
        p1, p2 = p[:H], p[H:]
        matmul, add, mul, tanh, minimum, maximum = np.matmul, np.add, np.multiply, np.tanh, np.minimum, np.maximum
        WI, sig, half = self.WI, self.kind == "tanh", _f32(0.5)
        hs = slots[:, :H]  # (chunk + 1, H, B) views of the h rows
        for s in range(0, T, chunk):
            n = min(chunk, T - s)
            if s:
                hs[0] = hs[chunk]  # carry h into the next chunk
            slots[:n, H : H + D] = x[:, s : s + n].transpose(1, 2, 0)  # (n, D, B)
            slots[:n, H + D] = 1.0
            for k in range(n):
                matmul(WI, slots[k], out=z)
                if sig:
                    tanh(z, out=z)
                    mul(gates, half, out=gates)
                    add(gates, half, out=gates)
                else:
                    tanh(cand, out=cand)
                    minimum(gates, 1.0, out=gates)
                    maximum(gates, 0.0, out=gates)
                mul(fi, cg, out=p)
                add(p1, p2, out=c)
                tanh(c, out=t)
                mul(o, t, out=hs[k + 1])
            if y is not None:
                _put_outputs(y, s, hs[1 : n + 1])
        h = np.ascontiguousarray(hs[n].T)
        return [y if y is not None else h.copy(), h, np.ascontiguousarray(c.T)]

    def _one_step(self, x_t: np.ndarray, states: list[np.ndarray]) -> list[np.ndarray]:
        H = self.H
        h0, c0 = states
        xh = _joined(x_t, h0, self.proj.b is not None)
        z = (self.mm_WR if xh.shape[0] == 1 else np.matmul)(xh, self.WR)  # (B, 4H): c~, f, i, o
        gates, cand = z[:, H:], z[:, :H]
        if self.kind == "tanh":
            np.tanh(z, out=z)
            np.multiply(gates, _f32(0.5), out=gates)
            np.add(gates, _f32(0.5), out=gates)
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
            "buf": np.zeros((5 * H, B), _f32),  # [c | c~ f i o]
            "p": np.empty((2 * H, B), _f32),
            "t": np.empty((H, B), _f32),
        }

    def _set_extra_states(self, buf: dict[str, Any], states: list[np.ndarray]) -> None:
        if states:
            buf["buf"][: self.H] = np.asarray(states[0], _f32).T

    def _extra_states(self, buf: dict[str, Any]) -> list[np.ndarray]:
        return [np.ascontiguousarray(buf["buf"][: self.H].T)]

    def _chunk(self, xs: np.ndarray, n: int, slots: np.ndarray, buf: dict[str, Any], row: bool) -> None:
        H = self.H
        b, p, t = buf["buf"], buf["p"], buf["t"]
        z = b[H:]  # (4H, B): c~, f, i, o
        c, cg, fi, o, gates, cand = b[:H], b[: 2 * H], b[2 * H : 4 * H], b[4 * H :], b[2 * H :], b[H : 2 * H]
        p1, p2 = p[:H], p[H:]
        matmul, add, mul, tanh, minimum, maximum = np.matmul, np.add, np.multiply, np.tanh, np.minimum, np.maximum
        R, RT, mm_R = self.R, self.RT, self.mm_R
        sig = self.kind == "tanh"
        half = _f32(0.5)
        if row:  # B = 1: the same memory seen as rows, for the vector-matrix kernel
            zr, hr = z.reshape(1, 4 * H), slots.reshape(slots.shape[0], 1, H)
        for k in range(n):
            if row:
                mm_R(hr[k], R, out=zr)
            else:
                matmul(RT, slots[k], out=z)
            add(z, xs[k], out=z)
            if sig:
                tanh(z, out=z)  # candidate, and the pre-halved gates
                mul(gates, half, out=gates)
                add(gates, half, out=gates)
            else:
                tanh(cand, out=cand)
                minimum(gates, 1.0, out=gates)
                maximum(gates, 0.0, out=gates)
            mul(fi, cg, out=p)  # [f * c, i * c~]
            add(p1, p2, out=c)  # c' = f * c + i * c~
            tanh(c, out=t)
            mul(o, t, out=slots[k + 1])  # h' = o * tanh(c')


class _GRU(_Recurrent):
    n_states = 1

    def __init__(self, config: dict[str, Any], weights: dict[str, np.ndarray], fold: tuple[str, float, float]):
        super().__init__(config)
        H = self.H = int(config["units"])
        kind, scale, offset = fold
        self.kind = kind
        self.reset_after = bool(config["reset_after"])
        gates = slice(0, 2 * H)  # z, r
        factor = 0.5 if kind == "tanh" else scale
        kernel = _scaled(weights["kernel"], gates, factor)
        rec = _scaled(weights["recurrent_kernel"], gates, factor)
        bias = weights.get("bias")
        bh = None
        if bias is not None:
            bias = _scaled(bias, gates, factor)
            if self.reset_after:
                # z and r add the two biases; the candidate's recurrent bias sits inside r * (...).
                bx, bh_all = bias[0].copy(), bias[1]
                bx[gates] += bh_all[gates]
                bias, bh = bx, np.ascontiguousarray(bh_all[2 * H :])
        if kind == "clip":
            bias = np.zeros(3 * H, _f32) if bias is None else bias
            bias[gates] += _f32(offset)
        self.proj = _Projection(kernel, bias)
        self.bh = None if bh is None else bh[:, None]  # (H, 1)
        self.R = np.ascontiguousarray(rec)  # (H, 3H)
        self.RT = np.ascontiguousarray(rec.T)  # (3H, H)
        self.R_zr, self.R_h = np.ascontiguousarray(rec[:, : 2 * H]), np.ascontiguousarray(rec[:, 2 * H :])
        self.RT_zr, self.RT_h = np.ascontiguousarray(self.RT[: 2 * H]), np.ascontiguousarray(self.RT[2 * H :])
        self.mm_R, self.mm_R_zr, self.mm_R_h = _row_matmul(self.R), _row_matmul(self.R_zr), _row_matmul(self.R_h)
        self.mm_W = _row_matmul(self.proj.W)

    def _alloc(self, B: int) -> dict[str, Any]:
        H = self.H
        buf: dict[str, Any] = {"inner": np.empty((3 * H, B), _f32), "t": np.empty((H, B), _f32)}
        if self.bh is not None:
            # (H, B), not (H, 1): a broadcast add along the contiguous axis costs ~3x a plain one
            buf["bh"] = np.ascontiguousarray(np.broadcast_to(self.bh, (H, B)))
        return buf

    def _one_step(self, x_t: np.ndarray, states: list[np.ndarray]) -> list[np.ndarray]:
        H = self.H
        (h0,) = states
        one = x_t.shape[0] == 1
        xz = (self.mm_W if one else np.matmul)(x_t, self.proj.W)  # (B, 3H)
        if self.proj.b is not None:
            np.add(xz, self.proj.b, out=xz)
        zr = xz[:, : 2 * H]
        if self.reset_after:
            inner = (self.mm_R if one else np.matmul)(h0, self.R)  # (B, 3H)
            np.add(zr, inner[:, : 2 * H], out=zr)
        else:
            np.add(zr, (self.mm_R_zr if one else np.matmul)(h0, self.R_zr), out=zr)
        if self.kind == "tanh":
            np.tanh(zr, out=zr)
            np.multiply(zr, _f32(0.5), out=zr)
            np.add(zr, _f32(0.5), out=zr)
        else:
            np.minimum(zr, 1.0, out=zr)
            np.maximum(zr, 0.0, out=zr)
        z, r = zr[:, :H], zr[:, H:]
        if self.reset_after:
            hh = inner[:, 2 * H :]
            if self.bh is not None:
                np.add(hh, self.bh[:, 0], out=hh)
            np.multiply(hh, r, out=hh)
        else:
            hh = (self.mm_R_h if one else np.matmul)(np.multiply(r, h0), self.R_h)
        np.add(hh, xz[:, 2 * H :], out=hh)
        np.tanh(hh, out=hh)
        h = np.subtract(h0, hh)
        np.multiply(h, z, out=h)
        np.add(h, hh, out=h)
        return [self._out(h), h]

    def _chunk(self, xs: np.ndarray, n: int, slots: np.ndarray, buf: dict[str, Any], row: bool) -> None:
        H = self.H
        inner, t = buf["inner"], buf["t"]
        izr, ih, zg, r = inner[: 2 * H], inner[2 * H :], inner[:H], inner[H : 2 * H]
        xzr, xh = xs[:, : 2 * H], xs[:, 2 * H :]
        matmul, add, sub, mul, tanh, minimum, maximum = (
            np.matmul,
            np.add,
            np.subtract,
            np.multiply,
            np.tanh,
            np.minimum,
            np.maximum,
        )
        sig, bh, reset_after = self.kind == "tanh", buf.get("bh"), self.reset_after
        half = _f32(0.5)
        if row:
            hr = slots.reshape(slots.shape[0], 1, H)
            inner_r, izr_r, ih_r, t_r = (
                inner.reshape(1, 3 * H),
                izr.reshape(1, 2 * H),
                ih.reshape(1, H),
                t.reshape(1, H),
            )
        for k in range(n):
            h = slots[k]
            if reset_after:
                if row:
                    self.mm_R(hr[k], self.R, out=inner_r)
                else:
                    matmul(self.RT, h, out=inner)
            elif row:
                self.mm_R_zr(hr[k], self.R_zr, out=izr_r)
            else:
                matmul(self.RT_zr, h, out=izr)
            add(izr, xzr[k], out=izr)
            if sig:
                tanh(izr, out=izr)
                mul(izr, half, out=izr)
                add(izr, half, out=izr)
            else:
                minimum(izr, 1.0, out=izr)
                maximum(izr, 0.0, out=izr)
            if reset_after:
                if bh is not None:
                    add(ih, bh, out=ih)
                mul(ih, r, out=ih)  # r * (h @ U_h + bh_h)
            else:
                mul(r, h, out=t)
                if row:
                    self.mm_R_h(t_r, self.R_h, out=ih_r)
                else:
                    matmul(self.RT_h, t, out=ih)  # (r * h) @ U_h
            add(ih, xh[k], out=ih)
            tanh(ih, out=ih)  # the candidate hh
            sub(h, ih, out=t)
            mul(t, zg, out=t)
            add(t, ih, out=slots[k + 1])  # h' = hh + z * (h - hh) = z * h + (1 - z) * hh


class _SimpleRNN(_Recurrent):
    n_states = 1

    def __init__(self, config: dict[str, Any], weights: dict[str, np.ndarray]):
        super().__init__(config)
        H = self.H = int(config["units"])
        self.proj = _Projection(np.asarray(weights["kernel"], _f32), weights.get("bias"))
        rec = np.asarray(weights["recurrent_kernel"], _f32)
        self.R, self.RT = np.ascontiguousarray(rec), np.ascontiguousarray(rec.T)
        self.WR = _stacked(self.proj.W, rec, self.proj.b)  # [x_t, h, 1] @ WR
        self.mm_R, self.mm_WR = _row_matmul(self.R), _row_matmul(self.WR)
        spec = config["activation"]
        self.tanh = spec.get("type") == "tanh"
        self.act = activation_fn(spec)
        self.G = H

    def _alloc(self, B: int) -> dict[str, Any]:
        return {"z": np.empty((self.H, B), _f32)}

    def _one_step(self, x_t: np.ndarray, states: list[np.ndarray]) -> list[np.ndarray]:
        xh = _joined(x_t, states[0], self.proj.b is not None)
        z = (self.mm_WR if xh.shape[0] == 1 else np.matmul)(xh, self.WR)  # (B, H)
        h = np.tanh(z, out=z) if self.tanh else self.act(z)
        return [self._out(h), h]

    def _chunk(self, xs: np.ndarray, n: int, slots: np.ndarray, buf: dict[str, Any], row: bool) -> None:
        H, z = self.H, buf["z"]
        matmul, add = np.matmul, np.add
        if row:
            zr, hr = z.reshape(1, H), slots.reshape(slots.shape[0], 1, H)
        for k in range(n):
            if row:
                self.mm_R(hr[k], self.R, out=zr)
            else:
                matmul(self.RT, slots[k], out=z)
            if self.tanh:
                add(z, xs[k], out=z)
                np.tanh(z, out=slots[k + 1])
            else:
                add(z, xs[k], out=z)
                slots[k + 1] = self.act(z)


def _eligible(config: dict[str, Any], weights: dict[str, np.ndarray]) -> tuple[str, float, float] | None:
    """The gate fold for a tanh layer with sigmoid-like gates and float32 weights; None: reference op."""
    if config["activation"].get("type") != "tanh":
        return None
    return _gate_fold(config["recurrent_activation"])


def fast_lstm(config: dict[str, Any], weights: dict[str, np.ndarray]) -> FastFn | None:
    fold = _eligible(config, weights)
    return None if fold is None else _LSTM(config, weights, fold)


def fast_gru(config: dict[str, Any], weights: dict[str, np.ndarray]) -> FastFn | None:
    fold = _eligible(config, weights)
    return None if fold is None else _GRU(config, weights, fold)


def fast_simple_rnn(config: dict[str, Any], weights: dict[str, np.ndarray]) -> FastFn | None:
    if not is_elementwise(config["activation"]):
        return None  # an axis activation over the units axis needs the row-major reference op
    return _SimpleRNN(config, weights)


def _inplace_activation(spec: dict[str, Any]) -> Callable[[np.ndarray], np.ndarray]:
    """The activation applied in place to a fresh float32 array (the reference op's math)."""
    kind = spec.get("type")
    params = {k: v for k, v in spec.items() if k != "type"}
    if kind == "linear":
        return lambda y: y
    if kind == "tanh":
        return lambda y: np.tanh(y, out=y)
    if kind == "relu" and all(not params.get(k) for k in ("negative_slope", "max_value", "threshold")):
        return lambda y: np.maximum(y, 0.0, out=y)
    if kind == "softmax" and params.get("axis", -1) == -1:

        def softmax(y: np.ndarray) -> np.ndarray:
            # exp(y - max) / sum, as the reference; the max keeps exp from overflowing.
            if y.ndim == 2 and y.shape[0] == 1:  # one row (streaming): whole-array reductions, ~2x cheaper
                m = y.max()
                if -_INF < m < _INF:  # finite: y - m raises no invalid-value warning to silence
                    np.subtract(y, m, out=y)
                    np.exp(y, out=y)
                    np.divide(y, y.sum(), out=y)
                    return y
            with np.errstate(invalid="ignore"):
                np.subtract(y, np.maximum.reduce(y, axis=-1, keepdims=True), out=y)
                np.exp(y, out=y)
                np.divide(y, np.add.reduce(y, axis=-1, keepdims=True), out=y)
            return y

        return softmax
    return activation_fn(spec)


def fast_dense(config: dict[str, Any], weights: dict[str, np.ndarray]) -> FastFn | None:
    """Dense with its activation bound at load and applied in place; float32 inputs only
    (any other dtype runs the reference op, which promotes as NumPy does)."""
    kernel = weights["kernel"]
    bias = weights.get("bias")
    if kernel.dtype != _f32 or (bias is not None and bias.dtype != _f32):
        return None
    act = _inplace_activation(config["activation"])
    mm_row = _row_matmul(kernel) if kernel.ndim == 2 else np.matmul

    def run(x: np.ndarray, **_: Any) -> list[np.ndarray]:
        if x.dtype != _f32:
            return dense(x, **weights, activation=config["activation"])
        if x.ndim == 2 and x.shape[0] == 1:  # one row: the vector-matrix product, kept on this thread
            y = mm_row(x, kernel)
        else:
            y = np.matmul(x, kernel)  # (..., U)
        if bias is not None:
            np.add(y, bias, out=y)
        return [act(y)]

    return run


FAST_PATHS: dict[str, Callable[[dict[str, Any], dict[str, np.ndarray]], FastFn | None]] = {
    "LSTM": fast_lstm,
    "GRU": fast_gru,
    "SimpleRNN": fast_simple_rnn,
    "Dense": fast_dense,
}
