"""Both directions of a Bidirectional LSTM in one scan, at batch 1.

A bundle runs a ``Bidirectional(LSTM)`` as two nodes on the same input -- the forward
LSTM, then the backward one (``go_backwards``) -- and a Reverse and a Merge after them. At
batch 1 each timestep of either direction is ~9 NumPy calls on vectors of a few hundred
values, so the call overhead, not the arithmetic, is the cost. When the plan holds such a
pair (consecutive prepared LSTM nodes reading the same input, the same size and gates, no
mask, no initial-state refs, not stateful) the forward node's call scans both directions
at once: one input projection ``x @ [W_f | W_b]``, and per step one stacked product
``[h_f; h_b] @ [R_f; R_b]`` and the same ~9 calls on (2, ·) arrays. The backward node's
outputs are handed to the backward node, which returns them when it is called next on the
same input object (kept per thread); any other call of either node -- batch > 1, one
timestep, initial states, streamed chunks -- runs that node's own prepared LSTM, so
results never depend on the pairing. Same folded weights, same arithmetic per element as
lstm.py's scan.

Memory: beyond the two directions' outputs (which the two nodes return anyway) a paired
call holds the (T, 8H) projection and O(T·H) step slots; pairs are only taken where
``T · H`` is at most ``PAIR_ELEMENTS``.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from .lstm import _LSTM, cell_update
from .scan import F32

#: Largest T * H a paired call takes (the (T, 8H) projection is 8x that: 8 MiB of float32).
PAIR_ELEMENTS = 1 << 18


class PairedLSTM:
    """The two prepared directions of one Bidirectional(LSTM) and their shared scan."""

    def __init__(self, fwd: _LSTM, bwd: _LSTM):
        H = self.H = fwd.H
        self.fwd, self.bwd = fwd, bwd
        self.sig = fwd.kind == "tanh"
        self.W = np.ascontiguousarray(np.concatenate([fwd.proj.W, bwd.proj.W], axis=1))  # (D, 8H)
        zeros = np.zeros(4 * H, F32)
        bf = fwd.proj.b if fwd.proj.b is not None else zeros
        bb = bwd.proj.b if bwd.proj.b is not None else zeros
        self.b = np.concatenate([bf, bb]).astype(F32)
        self.R = np.ascontiguousarray(np.stack([fwd.R, bwd.R]))  # (2, H, 4H)
        self.finite = bool(np.isfinite(self.R).all())  # else 0 @ R is not 0: step 0 multiplies too
        self._local = threading.local()

    def _takes(self, x: Any, kwargs: dict[str, Any]) -> bool:
        return (
            type(x) is np.ndarray
            and x.dtype == F32
            and x.ndim == 3
            and x.shape[0] == 1
            and 1 < x.shape[1]
            and x.shape[1] * self.H <= PAIR_ELEMENTS
            and x.shape[2] == self.W.shape[0]
            and not kwargs.get("initial_state")
            and kwargs.get("initial_output") is None
        )

    def forward(self, x: np.ndarray, **kwargs: Any) -> list[np.ndarray]:
        self._local.stash = None
        if not self._takes(x, kwargs):
            return self.fwd(x, **kwargs)
        outs_f, outs_b = self._both(x)
        self._local.stash = (x, outs_b)
        return outs_f

    def backward(self, x: np.ndarray, **kwargs: Any) -> list[np.ndarray]:
        stash = getattr(self._local, "stash", None)
        self._local.stash = None
        if stash is not None and stash[0] is x and self._takes(x, kwargs):
            return stash[1]
        return self.bwd(x, **kwargs)

    def _both(self, x: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Step k advances the forward direction at time k and the backward one at T-1-k."""
        H, T = self.H, x.shape[1]
        proj = np.matmul(x[0], self.W)  # (T, 8H)
        xd = np.empty((T, 2, 4 * H), F32)  # step k: [direction, gate c~ f i o x unit]
        np.add(proj[:, : 4 * H], self.b[: 4 * H], xd[:, 0])  # the bias added while reordering
        np.add(proj[::-1, 4 * H :], self.b[4 * H :], xd[:, 1])
        xs = xd.reshape(T, 2, 4, H)
        # Gate-major buffers [c, c~, f, i, o] x (2 directions, H): every slice the step
        # works on is contiguous; only the add after the product reorders.
        buf = np.zeros((5, 2, H), F32)
        p, t, zt = np.empty((2, 2, H), F32), np.empty((2, H), F32), np.empty((2, 1, 4 * H), F32)
        hs = np.zeros((T + 1, 2, 1, H), F32)  # hs[k]: both hidden states before step k
        z, zr = buf[1:].transpose(1, 0, 2), zt.reshape(2, 4, H)
        c, cg, fi, o, gates, cand = buf[0], buf[:2], buf[2:4], buf[4], buf[2:], buf[1]
        whole = buf[1:]
        update = cell_update(whole, cand, gates, cg, fi, o, c, p, p[0], p[1], t, self.sig)
        matmul, add, R = np.matmul, np.add, self.R
        # The step's views made once, outside the loop (each costs a few hundred ns).
        h_in, h_out, x_in = list(hs), list(hs[:, :, 0]), list(xs)
        first = 0
        if self.finite:  # h = 0 before step 0: h @ R is 0 exactly, and z = the projection
            np.copyto(z, xs[0])
            update(h_out[1])
            first = 1
        for k in range(first, T):
            matmul(h_in[k], R, zt)  # (2, 1, H) @ (2, H, 4H)
            add(zr, x_in[k], z)
            update(h_out[k + 1])
        return self._outs(self.fwd, hs[1:, 0, 0], c[0]), self._outs(self.bwd, hs[1:, 1, 0], c[1])

    @staticmethod
    def _outs(lstm: _LSTM, seq: np.ndarray, c: np.ndarray) -> list[np.ndarray]:
        """[y, h, c] as the direction's own scan returns them: y (1, T, H) or (1, H)."""
        h = seq[-1][None].copy()
        y = seq[None].copy() if lstm.return_sequences else h.copy()
        return [y, h, c[None].copy()]


def pair_bidirectional(nodes: list[Any]) -> int:
    """Give each Bidirectional(LSTM) pair among the planned ``nodes`` the shared scan
    (``node.call`` of both nodes replaced); returns the number of pairs."""
    pairs = 0
    for fwd, bwd in zip(nodes, nodes[1:]):
        if not (_pairable(fwd) and _pairable(bwd)) or fwd.inputs != bwd.inputs:
            continue
        f, b = fwd.call, bwd.call
        if f.go_backwards or not b.go_backwards or f.return_sequences != b.return_sequences:
            continue
        if f.H != b.H or f.kind != b.kind or f.proj.W.shape != b.proj.W.shape:
            continue
        pair = PairedLSTM(f, b)
        fwd.call, bwd.call = pair.forward, pair.backward
        pairs += 1
    return pairs


def _pairable(node: Any) -> bool:
    return (
        node.op == "LSTM"
        and node.fast
        and isinstance(node.call, _LSTM)
        and node.mask is None
        and not node.initial_state
        and not node.named
        and not node.config.get("stateful")
    )
