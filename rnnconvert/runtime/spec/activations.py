"""Declarations of the activation objects' parameters (FORMAT.md 2.4).

Each activation type's parameters and defaults are those of its runtime function
(``runtime/ops/activations.py``); the JSON Schema of each parameter is declared here.
Since format 1.2.0 writers spell every parameter out (F3), so a reader needs no
defaults table; older bundles are migrated by :func:`explicit_activation`.
"""

from __future__ import annotations

import inspect
from functools import cache
from typing import Any

from ...errors import FormatError
from ..ops.activations import ACTIVATIONS
from .types import check_value

_NUMBER = {"type": "number"}
_INT = {"type": "integer", "minimum": -64, "maximum": 64}  # an axis
#: Each parameter's JSON Schema (``axis`` takes a list of axes for softmax and log_softmax).
PARAM_SCHEMAS: dict[str, dict[str, Any]] = {
    "slope": _NUMBER,
    "offset": _NUMBER,
    "negative_slope": _NUMBER,
    "max_value": {"type": ["number", "null"]},
    "threshold": _NUMBER,
    "alpha": _NUMBER,
    "approximate": {"type": "boolean"},
    "b": _NUMBER,
    "axis": _INT,
}
_AXES = {"oneOf": [_INT, {"type": "array", "items": _INT, "minItems": 1}]}
MULTI_AXIS = frozenset({"softmax", "log_softmax"})


@cache
def activation_params(kind: str) -> dict[str, Any]:
    """An activation type's parameters -> their default (``inspect.Parameter.empty`` if
    required), from the signature of its runtime function."""
    params = inspect.signature(ACTIVATIONS[kind]).parameters
    return {name: p.default for name, p in params.items() if p.kind is p.KEYWORD_ONLY}


def param_schema(kind: str, name: str) -> dict[str, Any]:
    return _AXES if name == "axis" and kind in MULTI_AXIS else PARAM_SCHEMAS[name]


def explicit_activation(spec: Any) -> Any:
    """``spec`` with every parameter it leaves to its default written out (format 1.2.0, F3)."""
    if not isinstance(spec, dict) or spec.get("type") not in ACTIVATIONS:
        return spec
    filled = dict(spec)
    for name, default in activation_params(spec["type"]).items():
        if name not in filled and default is not inspect.Parameter.empty:
            filled[name] = default
    return filled


def _param_ok(kind: str, name: str, value: Any) -> bool:
    schema = param_schema(kind, name)
    if "oneOf" in schema:
        return any(check_value(value, s) is None for s in schema["oneOf"])
    if schema["type"] == ["number", "null"]:
        return value is None or check_value(value, _NUMBER) is None
    return check_value(value, schema) is None


def check_activation(spec: Any, where: str) -> None:
    """An activation object: a known type with only its parameters, of the right types,
    and every parameter that has no default."""
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str) or spec["type"] not in ACTIVATIONS:
        raise FormatError(f"{where}: activation {spec!r} is not a known activation spec")
    kind = spec["type"]
    params = activation_params(kind)
    for key, value in spec.items():
        if key == "type":
            continue
        if key not in params:
            raise FormatError(f"{where}: activation {kind!r} takes no parameter {key!r}")
        if not _param_ok(kind, key, value):
            raise FormatError(f"{where}: activation parameter {key}={value!r} has the wrong type")
    for name, default in params.items():
        if default is inspect.Parameter.empty and name not in spec:
            raise FormatError(f"{where}: activation {kind!r} needs parameter {name!r}")
