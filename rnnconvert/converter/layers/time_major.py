"""Recurrent layers with ``time_major=True`` (tf.keras / tf_keras): Keras feeds them
(T, B, D) and they return (T, B, H) sequences. Converted as ``Transpose`` to
batch-major, the batch-major recurrent node, and ``Transpose`` back; last outputs
and states are (B, H) either way, and a time-major (T, B) mask is transposed too."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..graph import GraphBuilder, LayerCall, Tensor, Unsupported


def _swap(b: GraphBuilder, call: LayerCall, t: Tensor, suffix: str) -> Tensor:
    perm = [1, 0, *range(2, t.rank)]
    (y,) = b.node(
        "Transpose",
        name=f"{call.name}/{suffix}",
        inputs=[t],
        config={"perm": perm},
        outputs=[(tuple(t.shape[p] for p in perm), t.dtype)],
        layer=call,
    )
    return y


def convert_time_major(call: LayerCall, b: GraphBuilder, inner: Any) -> list[Tensor]:
    """``inner(call, b)`` converts the same layer batch-major."""
    if not call.inputs or call.inputs[0].rank != 3:
        raise Unsupported("time_major=True needs a (time, batch, features) input")
    x = call.inputs[0]
    mask = call.call_mask(0)
    if mask is not None and mask.rank != 2:
        raise Unsupported(f"time_major=True with a mask of shape {mask.shape}")
    xb = _swap(b, call, x, "to_batch_major")
    if mask is not None:
        xb = xb.with_mask(_swap(b, call, mask, "mask_to_batch_major"))
    call_masks = None if call.call_masks is None else [xb.mask, *call.call_masks[1:]]
    sub = replace(
        call,
        config={**call.config, "time_major": False},
        inputs=[xb, *call.inputs[1:]],
        call_masks=call_masks,
    )
    outs = inner(sub, b)
    y = outs[0]
    if call.opt("return_sequences", False):
        y = _swap(b, call, y, "to_time_major").with_mask(x.mask)  # the (T, B) mask travels on, as Keras passes it
    return [y, *outs[1:]]
