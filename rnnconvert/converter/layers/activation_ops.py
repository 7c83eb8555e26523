"""Keras 3's activation operations recorded in a functional model (``keras.ops.relu6(x)``,
``keras.ops.gelu(x, approximate=True)``, ...; walker key ``ops.<Class>``) -> Activation
nodes with every parameter spelled out, and ``keras.ops.threshold`` -> a Threshold node.

Keras does not carry a mask through an operation, so the outputs carry none."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...runtime.spec import activation_shape, explicit_activation
from ..graph import BadConfig, GraphBuilder, LayerCall, Tensor, Unsupported

_PLAIN = {
    "Relu": "relu",
    "Relu6": "relu6",
    "Sigmoid": "sigmoid",
    "SparseSigmoid": "sparse_sigmoid",
    "Softplus": "softplus",
    "Softsign": "softsign",
    "SparsePlus": "sparse_plus",
    "Silu": "swish",
    "LogSigmoid": "log_sigmoid",
    "Selu": "selu",
    "TanhShrink": "tanh_shrink",
    "HardTanh": "hard_tanh",
    "Tanh": "tanh",
    "Exp": "exponential",
}
#: class -> (activation type, {parameter: Keras's default})
_PARAMS: dict[str, tuple[str, dict[str, Any]]] = {
    "SoftShrink": ("soft_shrink", {"threshold": 0.5}),
    "HardShrink": ("hard_shrink", {"threshold": 0.5}),
    "Squareplus": ("squareplus", {"b": 4}),
    "LeakyRelu": ("leaky_relu", {"negative_slope": 0.2}),
    "Elu": ("elu", {"alpha": 1.0}),
    "Celu": ("celu", {"alpha": 1.0}),
    "Gelu": ("gelu", {"approximate": True}),
    "Glu": ("glu", {"axis": -1}),
    "Softmax": ("softmax", {"axis": -1}),
    "LogSoftmax": ("log_softmax", {"axis": -1}),
    "Sparsemax": ("sparsemax", {"axis": -1}),
}
_MULTI_AXIS = {"softmax", "log_softmax"}


def _the_tensor(call: LayerCall) -> Tensor:
    if len(call.inputs) != 1:
        raise Unsupported(f"{call.class_name} on {len(call.inputs)} tensors")
    x = call.inputs[0]
    if x.dtype != "float32":
        raise Unsupported(f"{call.class_name} of a {x.dtype} tensor")
    return x


def _axis(kind: str, value: Any, x: Tensor) -> int | list[int]:
    axes = list(value) if isinstance(value, (list, tuple)) and kind in _MULTI_AXIS else value
    for a in axes if isinstance(axes, list) else [axes]:
        if not isinstance(a, int) or isinstance(a, bool) or not -x.rank <= a < x.rank:
            raise Unsupported(f"axis={value!r}: only integer axes of the input {x.shape}")
        if a % x.rank == 0:
            raise Unsupported(f"axis={value!r}: a softmax over the batch axis")
    return axes


def _param(call: LayerCall, kind: str, key: str, default: Any, x: Tensor) -> Any:
    value = call.opt(key, default)
    if key == "axis":
        return _axis(kind, value, x)
    if key == "approximate":
        return call.bool_opt(key, default)
    return call.float_opt(key, default)


def _spec(call: LayerCall, x: Tensor) -> dict[str, Any]:
    cls = call.class_name
    if cls in _PLAIN:
        spec: dict[str, Any] = {"type": _PLAIN[cls]}
    elif cls in ("HardSigmoid", "HardSilu"):
        spec = {"type": "hard_sigmoid" if cls == "HardSigmoid" else "hard_swish", **call.era.hard_sigmoid}
    else:
        kind, params = _PARAMS[cls]
        spec = {"type": kind, **{k: _param(call, kind, k, d, x) for k, d in params.items()}}
    return explicit_activation(spec)


def convert_activation_op(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = _the_tensor(call)
    spec = _spec(call, x)
    return b.node(
        "Activation",
        name=call.name,
        inputs=[x],
        config={"activation": spec},
        outputs=[(activation_shape(spec, x.shape), "float32")],
        layer=call,
    )


def convert_threshold_op(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = _the_tensor(call)
    if "threshold" not in call.config or "default_value" not in call.config:
        raise BadConfig("Threshold needs threshold and default_value")
    config = {"threshold": call.float_opt("threshold"), "default_value": call.float_opt("default_value")}
    return b.node("Threshold", name=call.name, inputs=[x], config=config, outputs=[(x.shape, "float32")], layer=call)


ACTIVATION_OP_CONVERTERS: dict[str, Callable[[LayerCall, GraphBuilder], list[Tensor]]] = {
    **{f"ops.{cls}": convert_activation_op for cls in (*_PLAIN, *_PARAMS, "HardSigmoid", "HardSilu")},
    "ops.Threshold": convert_threshold_op,
}
