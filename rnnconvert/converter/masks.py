"""Which mask a layer call computes with, and which mask its input tensors carry.

Keras propagates a mask along with each tensor (``compute_mask``) and passes a mask to
each call; the two differ by era and call form. These rules read what a config records
about a call's masks (``mask=`` in the call's kwargs) and apply them to the walker's
tensors; the converters then read ``LayerCall.call_mask`` and ``Tensor.mask``.
"""

from __future__ import annotations

from typing import Any

from .graph import Tensor


def explicit_masks(
    inputs: list[Tensor], kwargs: dict[str, Any], *, recorded: bool = False
) -> tuple[list[Tensor], list[Tensor | None] | None]:
    """The masks a layer call computes with, and the masks its input tensors carry.

    Returns ``(inputs, call_masks)``. Keras 2 and Sequential configs record only masks
    passed explicitly (``mask=``); such a mask replaces the one we propagate, and
    ``call_masks`` is None (a layer computes with its inputs' masks).

    Keras 3 functional configs (``recorded``) write down the mask every call received,
    so ``call_masks`` is exactly that: None where nothing was recorded. Keras 3 passes
    no mask to a call with more than one tensor argument -- an RNN given
    ``initial_state`` tensors -- although its sequence still carries one, which Keras 3
    propagates to the outputs and which merges such as ``Multiply`` read; so the
    tensors keep their masks, except that for a single-tensor call the recorded mask
    (null included) *is* that tensor's mask and replaces the propagated one.
    """
    mask = kwargs.get("mask")
    masks = mask if isinstance(mask, list) else [mask]
    recorded_at = [m if isinstance(m, Tensor) else None for m in masks]
    out = list(inputs)
    if not recorded:
        for k, m in enumerate(recorded_at[: len(out)]):
            if m is not None:
                out[k] = out[k].with_mask(m)
        return out, None
    call_masks = [recorded_at[k] if k < len(recorded_at) else None for k in range(len(out))]
    if "mask" in kwargs and out and len(out) + count_tensors({k: v for k, v in kwargs.items() if k != "mask"}) == 1:
        out[0] = out[0].with_mask(call_masks[0])
    return out, call_masks


def runtime_masks(kwargs: dict[str, Any], inputs: list[Tensor]) -> bool:
    """A Keras 3 single-tensor call recorded with ``mask: null`` that Keras 3 masks anyway.

    Keras 3 fills a ``None`` mask argument in at run time from the mask the tensor
    carries. The recorded null is what the tensor carried when the model was built;
    it differs at run time inside a nested model (recorded on its own unmasked Input,
    then called on a masked tensor: an LSTM in a nested Sequential is masked) and for a
    nested model's outputs (they keep the mask the inner layers set, although the
    model "does not support masking"). The walker applies this rule there."""
    if "__args__" not in kwargs or "mask" not in kwargs or len(inputs) != 1:
        return False
    mask = kwargs["mask"]
    if isinstance(mask, list):
        return all(m is None for m in mask)
    return mask is None and count_tensors({k: v for k, v in kwargs.items() if k != "mask"}) == 0


def count_tensors(obj: Any) -> int:
    """How many tensors a call's (resolved) arguments hold."""
    count, stack = 0, [obj]
    while stack:
        o = stack.pop()
        if isinstance(o, Tensor):
            count += 1
        elif isinstance(o, dict):
            stack.extend(v for k, v in o.items() if k != "__args__")
        elif isinstance(o, (list, tuple)):
            stack.extend(o)
    return count
