"""Dot-product and additive attention over sequences (Keras ``Attention`` and
``AdditiveAttention``), with value/causal score masks and a query mask."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import FormatError

# Keras subtracts this from masked scores (float32 models) before the softmax.
MASK_PENALTY = np.float32(1.0e9)


def _scores(query: np.ndarray, key: np.ndarray, score_mode: str, scale: Any, concat_score_weight: Any) -> np.ndarray:
    """(B, Tq, D), (B, Tv, D) -> (B, Tq, Tv)."""
    if score_mode == "dot":
        s = query @ np.swapaxes(key, -1, -2)  # (B, Tq, Tv)
        return s * scale if scale is not None else s
    pairs = query[:, :, None, :] + key[:, None, :, :]  # (B, Tq, Tv, D)
    if score_mode == "concat":
        if concat_score_weight is None:
            raise FormatError("Attention score_mode 'concat' needs the weight concat_score_weight")
        inner = pairs * scale if scale is not None else pairs
        return concat_score_weight * np.tanh(inner).sum(axis=-1)
    if score_mode == "additive":
        t = np.tanh(pairs)
        return (t * scale if scale is not None else t).sum(axis=-1)
    raise FormatError(f"Attention score_mode {score_mode!r} is not one of dot, concat, additive")


def attention(
    query: np.ndarray,  # (B, Tq, D)
    value: np.ndarray,  # (B, Tv, Dv)
    key: np.ndarray,  # (B, Tv, D)
    *,
    score_mode: str,
    causal: bool,
    query_mask: np.ndarray | None = None,  # (B, Tq), named input
    value_mask: np.ndarray | None = None,  # (B, Tv), named input
    scale: np.ndarray | None = None,  # () for dot / concat, (D,) for additive
    concat_score_weight: np.ndarray | None = None,  # ()
) -> list[np.ndarray]:
    """Returns ``[output (B, Tq, Dv), weights (B, Tq, Tv)]``.

    Scores S (B, Tq, Tv): ``dot`` S = scale · Q Kᵀ; ``concat`` S = w · Σ_d tanh(scale ·
    (Q_i + K_j)); ``additive`` S = Σ_d scale_d · tanh(Q_i + K_j) (scale = 1 when absent).
    The score mask M[b, i, j] = value_mask[b, j] ∧ (j ≤ i if causal); masked scores become
    S − 1e9. weights = softmax(S, axis=-1); output = weights @ V, zero at the steps where
    ``query_mask`` is false. The masks are the node's named inputs (format 1.2).
    """
    q_mask, v_mask = query_mask, value_mask
    s = _scores(query, key, score_mode, scale, concat_score_weight).astype(np.float32, copy=False)
    keep = None  # broadcastable to (B, Tq, Tv)
    if v_mask is not None:
        keep = v_mask.astype(bool)[:, None, :]  # (B, 1, Tv)
    if causal:
        tq, tv = s.shape[-2], s.shape[-1]
        tri = np.arange(tq)[:, None] >= np.arange(tv)[None, :]  # (Tq, Tv): j <= i
        keep = tri[None] if keep is None else np.logical_and(keep, tri[None])
    if keep is not None:
        s = np.where(keep, s, s - MASK_PENALTY)
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    w = (e / e.sum(axis=-1, keepdims=True)).astype(np.float32, copy=False)  # (B, Tq, Tv)
    out = w @ value  # (B, Tq, Dv)
    if q_mask is not None:
        out = np.where(q_mask.astype(bool)[:, :, None], out, np.float32(0))
    return [out.astype(np.float32, copy=False), w]
