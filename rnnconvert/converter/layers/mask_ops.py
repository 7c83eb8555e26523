"""Keras 3 records the mask arithmetic it did while building a functional model as
"operation" layers (``keras.src.ops``): ``NotEqual(x, 0)``, ``Any(m, axis=-1)``,
``LogicalAnd(a, b)``. Only these mask-building operations are converted; any other
recorded operation is reported as unsupported."""

from __future__ import annotations

from typing import Any

from ..graph import GraphBuilder, LayerCall, Tensor, Unsupported
from .common import known


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


def convert_logical_or(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    if len(call.inputs) != 2:
        raise Unsupported("LogicalOr takes two tensors")
    a, c = call.inputs
    shape = tuple(x if x not in (None, 1) else y for x, y in zip(a.shape, c.shape)) if a.rank == c.rank else a.shape
    return b.node("LogicalOr", name=call.name, inputs=[a, c], config={}, outputs=[(shape, "bool")], layer=call)


def convert_expand_dims(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    (x,) = call.inputs
    axis = call.opt("axis")
    if not isinstance(axis, int):
        raise Unsupported(f"ExpandDims axis {axis!r}")
    ax = axis % (x.rank + 1)
    shape = x.shape[:ax] + (1,) + x.shape[ax:]
    return b.node(
        "ExpandDims", name=call.name, inputs=[x], config={"axis": axis}, outputs=[(shape, x.dtype)], layer=call
    )


def convert_zeros_like(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    (x,) = call.inputs
    if call.opt("dtype") not in ("bool", None):
        raise Unsupported(f"{call.class_name} with dtype {call.opt('dtype')!r}: only boolean masks are converted")
    value = call.class_name == "OnesLike"
    return b.node(
        "FillLike", name=call.name, inputs=[x], config={"fill": value}, outputs=[(x.shape, "bool")], layer=call
    )


def convert_concatenate_op(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    axis = call.int_opt("axis", 0)
    ins = list(call.inputs)
    ax = axis % ins[0].rank
    dims = [t.shape[ax] for t in ins]
    shape = list(ins[0].shape)
    shape[ax] = None if (n := known(dims)) is None else sum(n)
    return b.node(
        "Merge",
        name=call.name,
        inputs=ins,
        config={"mode": "concat", "axis": axis},
        outputs=[(tuple(shape), ins[0].dtype)],
        layer=call,
    )


def convert_convert_to_tensor(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    """``convert_to_tensor(mask)``, recorded where a layer (Attention) hands on its input's
    mask: the same tensor, no node."""
    if len(call.inputs) != 1:
        raise Unsupported("ConvertToTensor takes one tensor")
    (x,) = call.inputs
    dtype = call.opt("dtype")
    if dtype not in (None, x.dtype) or call.opt("sparse") or call.opt("ragged"):
        raise Unsupported(f"ConvertToTensor to dtype {dtype!r} (sparse/ragged) is not converted")
    return [x]
