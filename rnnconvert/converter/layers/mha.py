"""Converters for ``MultiHeadAttention`` and ``GroupedQueryAttention`` onto EinsumDense
projections around one DotProductAttention node (FORMAT.md 5.39).

Masks, as both eras combine them: the query's own Keras mask (B, T, 1), the value's and
the key's (B, 1, S), ``attention_mask`` (B, T, S), the causal mask (j <= i) and Keras 3's
sliding window (|i - j| < w), ANDed. The output carries the query's mask; the scores none.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..graph import GraphBuilder, LayerCall, Tensor, Unsupported
from .attn import FILL, K3_FUSED_FILL, einsum_node, flag, proj_equation
from .common import check_dtype_policy, dim

_LINEAR = {"type": "linear"}
_SIGMOID = {"type": "sigmoid"}


def _tensors(call: LayerCall) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
    """query, value, key (None: the value), attention_mask -- positional or by keyword."""
    ins = list(call.inputs)
    kw = call.kwargs
    q = ins[0]
    v = ins[1] if len(ins) > 1 else kw.get("value")
    k = ins[2] if len(ins) > 2 else kw.get("key")
    am = ins[3] if len(ins) > 3 else kw.get("attention_mask")
    if len(ins) > 4 or not isinstance(v, Tensor):
        raise Unsupported("takes query, value[, key][, attention_mask] tensors")
    for name, t in (("key", k), ("attention_mask", am)):
        if t is not None and not isinstance(t, Tensor):
            raise Unsupported(f"{name} given as {type(t).__name__}")
    return q, v, k, am


def _masks(call: LayerCall, q: Tensor, v: Tensor, k: Tensor | None) -> dict[str, Tensor]:
    masks: dict[str, Tensor | None] = {"query_mask": q.mask, "value_mask": v.mask}
    # tf_keras reads the key's mask from the value when no key is given; it is the same mask.
    masks["key_mask"] = k.mask if k is not None else None
    for name in ("value_mask", "key_mask"):
        given = call.kwargs.get(name)
        if isinstance(given, Tensor):
            masks[name] = given  # Keras 3: a mask passed explicitly wins
    if isinstance(call.kwargs.get("query_mask"), Tensor) and call.era.major == 2:
        raise Unsupported("query_mask passed explicitly")
    return {key: m for key, m in masks.items() if m is not None}


def _part_pattern(part: str) -> str:
    """A sublayer's weight names: ``mha/query/kernel:0`` (HDF5), ``query_dense/vars/0``
    (.keras; tf_keras writes ``_query_dense``); the output projection is ``output_dense``."""
    alt = "attention_output|_?output_dense" if part == "attention_output" else rf"_?{part}(_dense)?"
    return rf"(^|/)({alt})/"


def _ordered_weights(call: LayerCall, parts: list[str], use_bias: bool) -> dict[str, list[np.ndarray]]:
    """The sublayers' arrays by part name: matched by weight name when the file names them,
    else in the order Keras builds them."""
    per = 2 if use_bias else 1
    if len(call.weights) != per * len(parts):
        raise Unsupported(
            f"expected {per * len(parts)} weight arrays ({', '.join(parts)}), the file has {len(call.weights)}"
        )
    names = call.weight_names if len(call.weight_names) == len(call.weights) else []
    found: dict[str, list[np.ndarray]] = {}
    if names:
        for part in parts:
            idx = [i for i, n in enumerate(names) if re.search(_part_pattern(part), n)]
            if len(idx) != per:
                found = {}
                break
            found[part] = [
                np.asarray(call.weights[i], dtype=np.float32) for i in sorted(idx, key=lambda i: "bias" in names[i])
            ]
    if not found:
        w = [np.asarray(a, dtype=np.float32) for a in call.weights]
        found = {part: w[i * per : (i + 1) * per] for i, part in enumerate(parts)}
    return found


def _shape_check(arrs: list[np.ndarray], kernel: tuple[int | None, ...], bias: tuple[int, ...], what: str) -> None:
    if tuple(arrs[0].shape) != kernel or (len(arrs) > 1 and tuple(arrs[1].shape) != bias):
        got = [tuple(a.shape) for a in arrs]
        raise Unsupported(f"{what} weights have shapes {got}, the config implies {kernel} and {bias}")


def _masking(call: LayerCall, return_scores: bool, rank: int) -> dict[str, Any]:
    if call.era.major >= 3:
        fused = not (return_scores or call.float_opt("dropout", 0.0) > 0 or rank != 3)
        if fused:  # ops.dot_product_attention: scores scaled after the product, tf.where fill
            return {"scale_query": False, "masking": "where", "fill": K3_FUSED_FILL}
        return {"scale_query": True, "masking": "where_zero", "fill": FILL}  # the Softmax layer
    robust = call.bool_opt("softmax_robust_masking", False)
    return {"scale_query": True, "masking": "where" if robust else "add", "fill": FILL}


def _attention_axes(call: LayerCall, rank: int) -> list[int]:
    axes = call.opt("attention_axes")
    if axes is None:
        return list(range(1, rank - 1))
    axes = [axes] if isinstance(axes, int) else axes
    if not isinstance(axes, list) or not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
        raise Unsupported(f"attention_axes={axes!r}")
    if any(a < 1 or a >= rank - 1 for a in axes) or len(set(axes)) != len(axes):
        raise Unsupported(f"attention_axes={axes!r}: only distinct axes between batch and features (1 .. {rank - 2})")
    return list(axes)


def _output_dims(call: LayerCall, q: Tensor) -> tuple[int, ...]:
    out = call.opt("output_shape")
    if out is None:
        return (dim(q.shape[-1], "the query's feature size"),)
    out = [out] if isinstance(out, int) else out
    if not isinstance(out, (list, tuple)) or not out or not all(isinstance(d, int) and d > 0 for d in out):
        raise Unsupported(f"output_shape={out!r}")
    return tuple(out)


def _project(
    b: GraphBuilder, call: LayerCall, part: str, x: Tensor, arrs: list[np.ndarray], heads: int, size: int, act: dict
) -> Tensor:
    _shape_check(arrs, (x.shape[-1], heads, size), (heads, size), part)
    eq = proj_equation(x.rank - 1, 1, 2)
    return einsum_node(
        b, call, f"{call.name}/{part}", x, eq, arrs[0], arrs[1] if len(arrs) > 1 else None, act, f"{call.name}/{part}"
    )


def _convert(call: LayerCall, b: GraphBuilder, grouped: bool) -> list[Tensor]:
    check_dtype_policy(call)
    if call.opt("flash_attention"):
        raise Unsupported("flash_attention=True")
    q, v, k, am = _tensors(call)
    kk = k if k is not None else v
    rank = q.rank
    if rank < 3 or v.rank != rank or kk.rank != rank or any(t.shape[-1] is None for t in (q, v, kk)):
        raise Unsupported(f"query {q.shape}, value {v.shape}, key {kk.shape}: same rank >= 3, known features")
    use_bias, use_gate = call.bool_opt("use_bias", True), call.bool_opt("use_gate", False)
    if grouped:
        n_q, n_kv = call.int_opt("num_query_heads", minimum=1), call.int_opt("num_key_value_heads", minimum=1)
        if n_q % n_kv:
            raise Unsupported(f"num_query_heads {n_q} is not a multiple of num_key_value_heads {n_kv}")
        h_k = h_v = call.int_opt("head_dim", minimum=1)
        axes = [1]
        out_dims: tuple[int, ...] = (dim(q.shape[-1], "the query's feature size"),)
        parts = ["query", "key"] + (["gate"] if use_gate else []) + ["value", "attention_output"]
    else:
        n_q = n_kv = call.int_opt("num_heads", minimum=1)
        h_k = call.int_opt("key_dim", minimum=1)
        h_v = call.int_opt("value_dim", h_k, minimum=1) if call.opt("value_dim") is not None else h_k
        axes, out_dims = _attention_axes(call, rank), _output_dims(call, q)
        parts = ["query"] + (["gate"] if use_gate else []) + ["key", "value", "attention_output"]
    w = _ordered_weights(call, parts, use_bias)
    return_scores = flag(call, "return_attention_scores")
    causal = flag(call, "use_causal_mask")
    shared = call.kwargs.get("__shared_inputs__")
    shared = shared if isinstance(shared, list) else ["query", "value", "key"]
    if call.era.major >= 3 and any(
        t is not None and t.mask is not None and name in shared for name, t in (("query", q), ("value", v), ("key", k))
    ):
        # Keras 3's call removes the masks from its input tensors: another layer reading the
        # same tensor sees its mask or not depending on Keras's execution order. Refused.
        raise Unsupported(
            "a masked query/value/key that another layer also reads (Keras 3 removes the mask "
            "from the tensor when the attention runs, so what the other layer sees depends on "
            "Keras's execution order)"
        )
    masks = _masks(call, q, v, k)
    if am is not None:
        masks["attention_mask"] = am
    window = call.opt("sliding_window")
    if (masks or causal or window is not None) and (rank != 3 or axes != [1]):
        raise Unsupported("masks, use_causal_mask or sliding_window with inputs of rank > 3")
    for name, m in masks.items():
        if m.rank != (3 if name == "attention_mask" else 2):
            raise Unsupported(f"{name} of shape {m.shape}")
    gate = _project(b, call, "gate", q, w["gate"], n_q, h_v, _SIGMOID) if use_gate else None
    qp = _project(b, call, "query", q, w["query"], n_q, h_k, _LINEAR)
    kp = _project(b, call, "key", kk, w["key"], n_kv, h_k, _LINEAR)
    vp = _project(b, call, "value", v, w["value"], n_kv, h_v, _LINEAR)
    config: dict[str, Any] = {"scale": 1.0 / float(np.sqrt(float(h_k))), **_masking(call, return_scores, rank)}
    config.update(causal=causal, attention_axes=axes)
    if window is not None:
        config["window"] = call.int_opt("sliding_window", minimum=1)
    batch = [qp.shape[0]] + [qp.shape[i] for i in range(1, rank - 1) if i not in axes]
    score_shape = tuple(batch) + (n_q,) + tuple(qp.shape[a] for a in axes) + tuple(kp.shape[a] for a in axes)
    ctx, scores = b.node(
        "DotProductAttention",
        name=f"{call.name}/attention",
        inputs=[qp, kp, vp],
        named_inputs=masks,
        config=config,
        outputs=[(qp.shape[:-1] + (h_v,), "float32"), (score_shape, "float32")],
        layer=call,
    )
    if gate is not None:
        (ctx,) = b.node(
            "Merge",
            name=f"{call.name}/gated",
            inputs=[ctx, gate],
            config={"mode": "mul", "axis": -1},
            outputs=[(ctx.shape, "float32")],
            layer=call,
        )
    arrs = w["attention_output"]
    _shape_check(arrs, (n_q, h_v) + out_dims, out_dims, "attention_output")
    eq = proj_equation(rank - 1, 2, len(out_dims))
    bias = arrs[1] if len(arrs) > 1 else None
    out = einsum_node(b, call, call.name, ctx, eq, arrs[0], bias, _LINEAR, f"{call.name}/attention_output")
    out = out.with_mask(q.mask)
    return [out, scores] if return_scores else [out]


def convert_mha(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    return _convert(call, b, grouped=False)


def convert_gqa(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    return _convert(call, b, grouped=True)


MHA_CONVERTERS = {
    "MultiHeadAttention": convert_mha,
    "GroupedQueryAttention": convert_gqa,
    "GroupQueryAttention": convert_gqa,
}
