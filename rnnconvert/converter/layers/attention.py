"""Converters for ``Attention`` (Luong-style, dot or concat scores) and
``AdditiveAttention`` (Bahdanau-style) onto the ``Attention`` op.

Both Keras 3 and tf_keras compute, for query Q (B, Tq, D), value V (B, Tv, Dv) and
key K (B, Tv, D; V when absent): scores, masked scores minus 1e9 where the value
mask (and the causal mask) are false, softmax over Tv, weights @ V, zeroed where the
query mask is false. The layer's output mask is the query mask.
"""

from __future__ import annotations

from typing import Any

from ..graph import GraphBuilder, LayerCall, Tensor, Unsupported
from .common import check_dtype_policy, expect_weights


def _flag(call: LayerCall, key: str) -> bool:
    value = call.kwargs.get(key, False)
    if isinstance(value, Tensor):
        raise Unsupported(f"{key} given as a tensor")
    return bool(value)


def _masks_received(call: LayerCall) -> tuple[Tensor | None, Tensor | None]:
    """The [query_mask, value_mask] the layer computes with.

    A mask passed explicitly (``mask=[...]`` recorded in the call) wins. Otherwise
    Keras hands the layer its inputs' own masks -- tf_keras always, and Keras 3 too:
    the inputs list is one call argument, so Keras 3 fills ``mask`` from the tensors
    when the call runs even though it records none in the config.
    """
    if "mask" in call.kwargs and call.call_masks is not None:
        return call.call_mask(0), call.call_mask(1)
    return call.inputs[0].mask, call.inputs[1].mask


def _convert(call: LayerCall, b: GraphBuilder, additive: bool) -> list[Tensor]:
    check_dtype_policy(call)
    if len(call.inputs) not in (2, 3):
        raise Unsupported(f"takes [query, value] or [query, value, key], got {len(call.inputs)} tensors")
    q, v = call.inputs[0], call.inputs[1]
    k = call.inputs[2] if len(call.inputs) == 3 else v
    for name, t in (("query", q), ("value", v), ("key", k)):
        if t.rank != 3 or t.shape[-1] is None:
            raise Unsupported(f"{name} shape {t.shape}: attention takes (batch, steps, features) with known features")
    if q.shape[-1] != k.shape[-1]:
        raise Unsupported(f"query features {q.shape[-1]} differ from key features {k.shape[-1]}")
    use_scale = bool(call.opt("use_scale", additive))
    score_mode = "additive" if additive else str(call.opt("score_mode", "dot"))
    if score_mode not in ("dot", "concat", "additive"):
        raise Unsupported(f"score_mode={score_mode!r}")
    slots: list[tuple[str, tuple[int | None, ...]]] = []
    if use_scale:
        # AdditiveAttention's scale weighs each feature of tanh(Q_i + K_j). (Keras 3 sizes
        # it by the query, tf_keras by the value; Keras runs only when they agree.)
        slots.append(("scale", (q.shape[-1],) if additive else ()))
    if score_mode == "concat":
        slots.append(("concat_score_weight", ()))
    arrays = expect_weights(call, [s for _, s in slots])
    causal = bool(call.opt("causal", False)) or _flag(call, "use_causal_mask")
    q_mask, v_mask = _masks_received(call)
    for name, m in (("query", q_mask), ("value", v_mask)):
        if m is not None and m.rank != 2:
            raise Unsupported(f"the {name} mask has shape {m.shape}; attention takes a (batch, steps) mask")
    config: dict[str, Any] = {"score_mode": score_mode, "causal": causal}
    named = {key: m for key, m in (("query_mask", q_mask), ("value_mask", v_mask)) if m is not None}
    out, scores = b.node(
        "Attention",
        name=call.name,
        inputs=[q, v, k],
        named_inputs=named,
        config=config,
        weights={name: arr for (name, _), arr in zip(slots, arrays)},
        outputs=[((q.shape[0], q.shape[1], v.shape[-1]), "float32"), ((q.shape[0], q.shape[1], k.shape[1]), "float32")],
        layer=call,
    )
    out = out.with_mask(q_mask)  # compute_mask: the query mask
    return [out, scores] if _flag(call, "return_attention_scores") else [out]


def convert_attention(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    return _convert(call, b, additive=False)


def convert_additive_attention(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    return _convert(call, b, additive=True)
