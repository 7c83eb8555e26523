"""Keras 3's recorded ``keras.ops`` operation nodes (keyed ``ops.<Class>`` by the walker):
the allow-list of pure tensor operations, their parameters read from the operation's config
and its tensors and literals from the recorded positional arguments (FORMAT.md 5.51-5.59).
The mask operations Keras records itself (NotEqual, Any, LogicalAnd, LogicalOr, ExpandDims,
Concatenate, ...) stay in ``mask_ops.py``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..graph import GraphBuilder, LayerCall, Tensor, Unsupported
from . import tfop_build as tb
from .mask_ops import convert_any, convert_not_equal
from .tfop import slice_items

Op = Callable[[LayerCall, GraphBuilder, list[Any], dict[str, Any]], list[Tensor]]

#: Config keys each operation may carry at these values (anything else is refused by name).
_NEUTRAL = {"initial": None, "dtype": None, "decimals": 0, "sparse": False}


def _args(call: LayerCall) -> list[Any]:
    args = call.kwargs.get("__args__")
    return list(args) if isinstance(args, list) else list(call.inputs)


def _x(args: list[Any], what: str) -> Tensor:
    if not args or not isinstance(args[0], Tensor):
        raise Unsupported(f"{what}: the first argument is not a tensor")
    return args[0]


def _binary(op: str, fn: str) -> Op:
    def convert(call: LayerCall, b: GraphBuilder, args: list[Any], cfg: dict[str, Any]) -> list[Tensor]:
        if len(args) != 2:
            raise Unsupported(f"{fn} takes two arguments")
        return tb.binary(call, b, op, fn, args[0], args[1])

    return convert


def _unary(fn: str) -> Op:
    return lambda call, b, args, cfg: tb.unary(call, b, fn, _x(args, fn))


def _act(name: str) -> Op:
    return lambda call, b, args, cfg: tb.activation(call, b, name, _x(args, name), cfg.get("axis"))


def _reduce(fn: str) -> Op:
    return lambda call, b, args, cfg: tb.reduce(call, b, fn, _x(args, fn), cfg.get("axis"), cfg.get("keepdims"))


def _tensors(args: list[Any], what: str) -> list[Tensor]:
    xs = args[0] if args and isinstance(args[0], list) else args
    if not xs or not all(isinstance(t, Tensor) for t in xs):
        raise Unsupported(f"{what} of something other than a list of tensors")
    return xs


def _getitem(call: LayerCall, b: GraphBuilder, args: list[Any], cfg: dict[str, Any]) -> list[Tensor]:
    if len(args) != 2:
        raise Unsupported("GetItem takes a tensor and a key")
    return tb.slicing(call, b, _x(args, "GetItem"), slice_items(args[1]))


_OPS: dict[str, Op] = {
    "Add": _binary("Binary", "add"),
    "Subtract": _binary("Binary", "subtract"),
    "Multiply": _binary("Binary", "multiply"),
    "Divide": _binary("Binary", "divide"),
    "TrueDivide": _binary("Binary", "divide"),
    "Power": _binary("Binary", "pow"),
    "Maximum": _binary("Binary", "maximum"),
    "Minimum": _binary("Binary", "minimum"),
    "FloorDivide": _binary("Binary", "floor_divide"),
    "Mod": _binary("Binary", "mod"),
    "Equal": _binary("Compare", "equal"),
    "Less": _binary("Compare", "less"),
    "LessEqual": _binary("Compare", "less_equal"),
    "Greater": _binary("Compare", "greater"),
    "GreaterEqual": _binary("Compare", "greater_equal"),
    "LogicalXor": _binary("Compare", "logical_xor"),
    "Absolute": _unary("abs"),
    "Abs": _unary("abs"),
    "Negative": _unary("negative"),
    "Exp": _unary("exp"),
    "Log": _unary("log"),
    "Log1p": _unary("log1p"),
    "Expm1": _unary("expm1"),
    "Sqrt": _unary("sqrt"),
    "Rsqrt": _unary("rsqrt"),
    "Square": _unary("square"),
    "Reciprocal": _unary("reciprocal"),
    "Sign": _unary("sign"),
    "Floor": _unary("floor"),
    "Ceil": _unary("ceil"),
    "Round": _unary("round"),
    "Sin": _unary("sin"),
    "Cos": _unary("cos"),
    "LogicalNot": _unary("logical_not"),
    "Relu": _act("relu"),
    "Sigmoid": _act("sigmoid"),
    "Tanh": _act("tanh"),
    "Softmax": _act("softmax"),
    "Sum": _reduce("sum"),
    "Mean": _reduce("mean"),
    "Max": _reduce("max"),
    "Amax": _reduce("max"),
    "Min": _reduce("min"),
    "Amin": _reduce("min"),
    "Prod": _reduce("prod"),
    "All": _reduce("all"),
    "Transpose": lambda call, b, args, cfg: tb.transpose(call, b, _x(args, "Transpose"), cfg.get("axes")),
    "Reshape": lambda call, b, args, cfg: tb.reshape(call, b, _x(args, "Reshape"), cfg.get("newshape")),
    "Squeeze": lambda call, b, args, cfg: tb.squeeze(call, b, _x(args, "Squeeze"), cfg.get("axis")),
    "Stack": lambda call, b, args, cfg: tb.stack(call, b, _tensors(args, "Stack"), cfg.get("axis", 0)),
    "Matmul": lambda call, b, args, cfg: tb.matmul(call, b, *(args + [None, None])[:2]),
    "Cast": lambda call, b, args, cfg: tb.cast(call, b, _x(args, "Cast"), cfg.get("dtype")),
    "GetItem": _getitem,
}
_PARAMS = {"name", "axis", "keepdims", "axes", "newshape", "dtype"}


def _converter(cls: str, op: Op) -> Callable[[LayerCall, GraphBuilder], list[Tensor]]:
    def convert(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
        cfg = dict(call.config)
        for key, value in cfg.items():
            if key in _PARAMS and not (key == "dtype" and cls in ("Sum", "Prod", "Mean")):
                continue
            if key in _NEUTRAL and value == _NEUTRAL[key]:
                continue
            raise Unsupported(f"keras.ops {cls} with {key}={str(value)[:30]!r} is not converted")
        try:
            return op(call, b, _args(call), cfg)
        except Unsupported as exc:
            raise Unsupported(f"keras.ops {cls}: {exc}") from None

    return convert


def _not_equal(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    """A tensor against a number stays the mask op Keras records (``NotEqualMask``); two
    tensors compare element-wise."""
    args = _args(call)
    if sum(isinstance(a, Tensor) for a in args) == 2 and len(args) == 2:
        return _converter("NotEqual", _binary("Compare", "not_equal"))(call, b)
    return convert_not_equal(call, b)


def _any(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    """Over one axis, the mask reduction Keras records (``ReduceAny``); over several, ``Reduce``."""
    if isinstance(call.config.get("axis"), int):
        return convert_any(call, b)
    return _converter("Any", _reduce("any"))(call, b)


TFOP_KERAS3_CONVERTERS = {f"ops.{cls}": _converter(cls, op) for cls, op in _OPS.items()}
TFOP_KERAS3_CONVERTERS["ops.NotEqual"] = _not_equal
TFOP_KERAS3_CONVERTERS["ops.Any"] = _any
