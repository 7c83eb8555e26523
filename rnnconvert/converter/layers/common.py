"""Helpers shared by layer converters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..activations import ActivationError, to_spec
from ..graph import LayerCall, Tensor, Unsupported


def activation(call: LayerCall, key: str = "activation", default: Any = "linear") -> dict[str, Any]:
    try:
        return to_spec(call.config.get(key, default), call.era)
    except ActivationError as exc:
        raise Unsupported(f"{key}: {exc}") from None


def check_dtype_policy(call: LayerCall) -> None:
    dt = call.config.get("dtype")
    name = dt.get("config", {}).get("name") if isinstance(dt, dict) else dt
    if name not in (None, "float32"):
        raise Unsupported(f"dtype policy {name!r}: only float32 layers are converted")


def one_input(call: LayerCall) -> Tensor:
    if len(call.inputs) != 1:
        raise Unsupported(f"expects one input, got {len(call.inputs)}")
    return call.inputs[0]


def known(dims: Sequence[int | None]) -> list[int] | None:
    """``dims`` as integers when every one is known, else None."""
    out = [d for d in dims if d is not None]
    return out if len(out) == len(dims) else None


def dim(d: int | None, what: str) -> int:
    """A dimension a conversion needs to know."""
    if d is None:
        raise Unsupported(f"{what} must be a known dimension")
    return d


def expect_weights(call: LayerCall, shapes: Sequence[Sequence[int | None]]) -> list[np.ndarray]:
    """Check the layer's arrays against the shapes its config implies; cast to float32.
    A dimension the graph leaves unknown (None) cannot be checked: the layer is refused."""
    if any(d is None for shape in shapes for d in shape):
        raise Unsupported(f"weight shapes {[tuple(s) for s in shapes]} depend on an unknown input dimension")
    got = call.weights
    if len(got) != len(shapes):
        raise Unsupported(
            f"expected {len(shapes)} weight array(s) of shapes {shapes}, the file has {len(got)}"
            f" {[tuple(a.shape) for a in got]}"
        )
    out = []
    for k, (arr, shape) in enumerate(zip(got, shapes)):
        if tuple(arr.shape) != tuple(shape):
            label = call.weight_names[k] if k < len(call.weight_names) else f"#{k}"
            raise Unsupported(f"weight {label} has shape {tuple(arr.shape)}, the config implies {tuple(shape)}")
        out.append(np.asarray(arr, dtype=np.float32, order="C"))  # keeps 0-d scalars 0-d
    return out


def passthrough_mask(outputs: list[Tensor], mask: Tensor | None) -> list[Tensor]:
    """``outputs``, each carrying ``mask``."""
    return [t.with_mask(mask) for t in outputs]


def flat_tensors(value: Any) -> list[Tensor]:
    """The tensors in a (possibly nested) list, in order: Keras nests initial states per cell."""
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in flat_tensors(v)]
    return []
