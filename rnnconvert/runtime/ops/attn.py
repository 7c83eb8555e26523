"""EinsumDense (a kernel contracted with the input by a checked equation) and the
multi-head scaled dot-product attention that Keras's MultiHeadAttention and
GroupedQueryAttention compute between their projections (FORMAT.md 5.38-5.39)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import FormatError, InputError
from ..spec.attn import Equation, EquationError, parse_equation
from .activations import activation_fn


def _letter_sizes(eq: Equation, x: np.ndarray, kernel: np.ndarray) -> None:
    n_ell = x.ndim - len(eq.x)
    if n_ell < 0 or (eq.ellipsis is None and n_ell):
        raise InputError(f"EinsumDense {eq.x},{eq.w}->{eq.y}: input of shape {x.shape} has the wrong rank")
    off = n_ell if eq.ellipsis == "left" else 0
    sizes = {c: x.shape[off + i] for i, c in enumerate(eq.x)}
    for c, n in zip(eq.w, kernel.shape):
        if c in sizes and sizes[c] != n:
            raise InputError(f"EinsumDense: input axis {c!r} has {sizes[c]} entries, the kernel {n}")


def einsum_dense(
    x: np.ndarray,
    *,
    kernel: np.ndarray,
    bias: np.ndarray | None = None,
    equation: str,
    activation: dict[str, Any],
) -> list[np.ndarray]:
    """``activation(einsum(equation, x, kernel) + bias)``, the bias broadcast against the
    output's trailing axes."""
    try:
        eq = parse_equation(equation)
    except EquationError as exc:
        raise FormatError(f"EinsumDense: {exc}") from None
    if kernel.ndim != len(eq.w):
        raise FormatError(f"EinsumDense kernel has {kernel.ndim} axes, the equation names {len(eq.w)}")
    _letter_sizes(eq, x, kernel)
    y = np.einsum(equation, x, kernel, optimize=True).astype(np.float32, copy=False)
    if bias is not None:
        tail = y.shape[y.ndim - bias.ndim :] if bias.ndim <= y.ndim else None
        if tail is None or any(b not in (1, t) for b, t in zip(bias.shape, tail)):
            raise FormatError(f"EinsumDense bias of shape {bias.shape} does not broadcast to the output {y.shape}")
        y = y + bias
    return [activation_fn(activation)(y)]


def _to_heads(t: np.ndarray, axes: list[int]) -> tuple[np.ndarray, tuple[int, ...], list[int]]:
    """(B, d1..dk, N, H) -> (nb, N, A, H) with the attention axes flattened into A;
    returns it, the batch-like dims, and the permutation used."""
    k = t.ndim - 3
    batch = [0] + [i for i in range(1, k + 1) if i not in axes]
    perm = batch + [k + 1] + axes + [k + 2]
    moved = t.transpose(perm)
    bdims = tuple(t.shape[i] for i in batch)
    n_att = int(np.prod([t.shape[i] for i in axes], dtype=np.int64))
    return moved.reshape(int(np.prod(bdims, dtype=np.int64)), t.shape[k + 1], n_att, t.shape[k + 2]), bdims, perm


def _keep(
    tq: int,
    ts: int,
    *,
    causal: bool,
    window: int | None,
    query_mask: np.ndarray | None,
    value_mask: np.ndarray | None,
    key_mask: np.ndarray | None,
    attention_mask: np.ndarray | None,
) -> np.ndarray | None:
    """The combined boolean mask, broadcastable to (B, N, T, S), or None."""
    keep: np.ndarray | None = None

    def both(m: np.ndarray) -> None:
        nonlocal keep
        keep = m if keep is None else np.logical_and(keep, m)

    if query_mask is not None:
        both(query_mask.astype(bool)[:, None, :, None])
    for m in (value_mask, key_mask):
        if m is not None:
            both(m.astype(bool)[:, None, None, :])
    if attention_mask is not None:
        both(attention_mask.astype(bool)[:, None, :, :])
    i, j = np.arange(tq)[:, None], np.arange(ts)[None, :]
    if causal:
        both((j <= i)[None, None])
    if window is not None:
        both((np.abs(i - j) < window)[None, None])
    return keep


def dot_product_attention(
    query: np.ndarray,  # (B, d1..dk, N, H)
    key: np.ndarray,  # (B, e1..ek, M, H), N a multiple of M
    value: np.ndarray,  # (B, e1..ek, M, Hv)
    *,
    scale: float,
    scale_query: bool,
    masking: str,
    fill: float,
    causal: bool,
    attention_axes: list[int],
    window: int | None = None,
    query_mask: np.ndarray | None = None,
    value_mask: np.ndarray | None = None,
    key_mask: np.ndarray | None = None,
    attention_mask: np.ndarray | None = None,
) -> list[np.ndarray]:
    """Returns ``[y (B, d1..dk, N, Hv), scores (batch dims, N, T dims, S dims)]``."""
    k = query.ndim - 3
    axes = list(attention_axes)
    if k < 1 or key.ndim != query.ndim or value.ndim != query.ndim or any(a > k for a in axes):
        raise InputError(f"DotProductAttention: query {query.shape}, key {key.shape}, value {value.shape}, axes {axes}")
    if len(set(axes)) != len(axes):
        raise FormatError(f"DotProductAttention attention_axes {axes} repeat an axis")
    masked = any(m is not None for m in (query_mask, value_mask, key_mask, attention_mask)) or causal or window
    if masked and (k != 1 or axes != [1]):
        raise FormatError("DotProductAttention: masks, causal and window need (B, T, N, H) inputs attending over T")
    q, bdims, perm = _to_heads(query, axes)
    kk, _, _ = _to_heads(key, axes)
    v, _, _ = _to_heads(value, axes)
    n, m = q.shape[1], kk.shape[1]
    if kk.shape[0] != q.shape[0] or v.shape[:3] != kk.shape[:3] or kk.shape[3] != q.shape[3] or n % m:
        raise InputError(f"DotProductAttention: query {query.shape}, key {key.shape}, value {value.shape} do not fit")
    if m != n:  # grouped heads: query head h reads key/value head h // (N / M)
        kk, v = np.repeat(kk, n // m, axis=1), np.repeat(v, n // m, axis=1)
    s32 = np.float32(scale)
    if scale_query:
        s = (q * s32) @ np.swapaxes(kk, -1, -2)
    else:
        s = (q @ np.swapaxes(kk, -1, -2)) * s32  # (nb, N, T, S)
    keep = _keep(
        s.shape[2],
        s.shape[3],
        causal=causal,
        window=window,
        query_mask=query_mask,
        value_mask=value_mask,
        key_mask=key_mask,
        attention_mask=attention_mask,
    )
    if keep is not None:
        f = np.float32(fill)
        s = np.where(keep, s, s + f) if masking == "add" else np.where(keep, s, f)
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    p = (e / e.sum(axis=-1, keepdims=True)).astype(np.float32, copy=False)
    if keep is not None and masking == "where_zero":
        p = np.where(keep, p, np.float32(0))
    y = p @ v  # (nb, N, T, Hv)
    t_dims = tuple(query.shape[a] for a in axes)
    s_dims = tuple(key.shape[a] for a in axes)
    y = y.reshape(bdims + (n,) + t_dims + (v.shape[3],)).transpose(np.argsort(perm))
    scores = p.reshape(bdims + (n,) + t_dims + s_dims)
    return [y.astype(np.float32, copy=False), scores]
