"""Keras 3 records the mask arithmetic it did while building a functional model as
"operation" layers (``keras.src.ops``): ``NotEqual(x, 0)``, ``Any(m, axis=-1)``,
``LogicalAnd(a, b)``. Only these mask-building operations are converted; any other
recorded operation is reported as unsupported."""

from __future__ import annotations

from typing import Any

from ..graph import GraphBuilder, LayerCall, Tensor, Unsupported


def _args(call: LayerCall) -> list[Any]:
    args = call.kwargs.get("__args__")
    return list(args) if isinstance(args, list) else list(call.inputs)


def convert_not_equal(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    args = _args(call)
    tensors = [a for a in args if isinstance(a, Tensor)]
    scalars = [a for a in args if isinstance(a, (int, float)) and not isinstance(a, bool)]
    if len(tensors) != 1 or len(scalars) != 1:
        raise Unsupported("NotEqual is converted only between a tensor and a number (a Keras mask)")
    x = tensors[0]
    return b.node(
        "NotEqualMask",
        name=call.name,
        inputs=[x],
        config={"value": float(scalars[0])},
        outputs=[(x.shape, "bool")],
        layer=call,
    )


def convert_any(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    (x,) = call.inputs
    axis = call.opt("axis", None)
    keepdims = bool(call.opt("keepdims", False))
    if not isinstance(axis, int):
        raise Unsupported(f"Any over axis {axis!r}: only a single integer axis is converted")
    ax = axis % x.rank
    shape = tuple(1 if i == ax else d for i, d in enumerate(x.shape)) if keepdims else x.shape[:ax] + x.shape[ax + 1 :]
    return b.node(
        "ReduceAny",
        name=call.name,
        inputs=[x],
        config={"axis": axis, "keepdims": keepdims},
        outputs=[(shape, "bool")],
        layer=call,
    )


def convert_logical_and(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    if len(call.inputs) != 2:
        raise Unsupported("LogicalAnd takes two tensors")
    a, c = call.inputs
    return b.node(
        "LogicalAnd",
        name=call.name,
        inputs=[a, c],
        config={},
        outputs=[(a.shape, "bool")],
        layer=call,
    )
