"""Keras activation names -> the bundle's explicit activation specs.

The spec carries every number the math needs, so a runtime never has to know
which Keras wrote the file: ``hard_sigmoid`` is ``clip(0.2 x + 0.5, 0, 1)`` in
Keras 1/2 and tf.keras, ``clip(x / 6 + 0.5, 0, 1)`` in Keras 3.
"""

from __future__ import annotations

from typing import Any

from ..runtime.spec import explicit_activation
from .keras_era import Era


class ActivationError(ValueError):
    """An activation the converter does not know (reported as an unsupported option)."""


_PLAIN = {
    "linear",
    "tanh",
    "sigmoid",
    "relu6",
    "selu",
    "softplus",
    "softsign",
    "mish",
    "exponential",
    "log_sigmoid",
    "hard_tanh",
    "tanh_shrink",
    "sparse_plus",
    "sparse_sigmoid",
}
_ALIASES = {"silu": "swish", "swish": "swish", "hard_silu": "hard_swish", "hard_swish": "hard_swish"}
_DEFAULTS: dict[str, dict[str, Any]] = {
    "relu": {},
    "leaky_relu": {"negative_slope": 0.2},
    "elu": {"alpha": 1.0},
    "celu": {"alpha": 1.0},
    "gelu": {"approximate": False},
    "soft_shrink": {"threshold": 0.5},
    "hard_shrink": {"threshold": 0.5},
    "squareplus": {"b": 4.0},
    "softmax": {"axis": -1},
    "log_softmax": {"axis": -1},
    "sparsemax": {"axis": -1},
    "glu": {"axis": -1},
}


def activation_name(value: Any) -> str:
    """The activation's name from a layer config value (a string or a serialized function)."""
    if value is None:
        return "linear"
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        inner = value.get("config")
        if isinstance(inner, str):
            return inner
        if isinstance(inner, dict) and isinstance(inner.get("name"), str):
            return inner["name"]
        if isinstance(value.get("class_name"), str):
            return value["class_name"]
    raise ActivationError(f"activation {value!r} is not a built-in activation name")


def to_spec(value: Any, era: Era) -> dict[str, Any]:
    """``"hard_sigmoid"`` -> ``{"type": "hard_sigmoid", "slope": 0.2, "offset": 0.5}`` etc.,
    every parameter spelled out (format 1.2.0, F3: ``"relu"`` carries its three)."""
    return explicit_activation(_to_spec(value, era))


def _to_spec(value: Any, era: Era) -> dict[str, Any]:
    name = activation_name(value)
    key = name.rsplit(">", 1)[-1].rsplit(".", 1)[-1].lower()
    if key in _PLAIN:
        return {"type": key}
    if key == "hard_sigmoid":
        return {"type": "hard_sigmoid", **era.hard_sigmoid}
    if key in _ALIASES:
        kind = _ALIASES[key]
        return {"type": kind, **era.hard_sigmoid} if kind == "hard_swish" else {"type": kind}
    if key in _DEFAULTS:
        return {"type": key, **_DEFAULTS[key]}
    raise ActivationError(f"activation {name!r} is not a Keras built-in this converter knows")
