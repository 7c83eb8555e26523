"""Type-checked access to parsed configuration JSON in the readers.

A model file's JSON may hold any value where a dict, list or string belongs
(``"config": [1, 2]``); reading it with ``.get`` would raise AttributeError or
TypeError from deep inside a reader. These accessors turn every such shape into a
:class:`~rnnconvert.errors.FormatError` naming where it was found.
"""

from __future__ import annotations

from typing import Any

from ...errors import FormatError

_MISSING: Any = object()


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def as_dict(value: Any, where: str, *, allow_none: bool = True) -> dict[str, Any]:
    """``value`` if it is a JSON object; ``{}`` for null (when allowed); else FormatError."""
    if value is None and allow_none:
        return {}
    if not isinstance(value, dict):
        raise FormatError(f"{where}: expected a JSON object, got {_kind(value)}")
    return value


def as_list(value: Any, where: str, *, allow_none: bool = True) -> list[Any]:
    """``value`` if it is a JSON array; ``[]`` for null (when allowed); else FormatError."""
    if value is None and allow_none:
        return []
    if not isinstance(value, list):
        raise FormatError(f"{where}: expected a JSON array, got {_kind(value)}")
    return value


def get_str(obj: dict[str, Any], key: str, where: str, default: str | None = "") -> str | None:
    """``obj[key]`` as a string (``default`` when absent or null); other types: FormatError."""
    value = obj.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise FormatError(f"{where}: {key!r} must be a string, got {_kind(value)}")
    return value


def layers_of(cfg: Any, where: str) -> list[dict[str, Any]]:
    """The layer entries of a model config: ``cfg["config"]["layers"]`` (or an old Sequential's
    list ``cfg["config"]``), each checked to be a JSON object."""
    inner = as_dict(cfg, where).get("config")
    layers = (
        as_list(inner, f"{where}: config")
        if isinstance(inner, list)
        else as_dict(inner, f"{where}: config").get("layers")
    )
    return [
        as_dict(lc, f"{where}: layers[{i}]", allow_none=False)
        for i, lc in enumerate(as_list(layers, f"{where}: layers"))
    ]


__all__ = ["as_dict", "as_list", "get_str", "layers_of"]
