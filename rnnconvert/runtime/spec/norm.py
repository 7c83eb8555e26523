"""Declarations of the norm helper's ops (FORMAT.md 5.41-5.45): GroupNormalization,
RMSNormalization, UnitNormalization, Normalization, Threshold, AutoContrast."""

from __future__ import annotations

from typing import Any

import numpy as np

from .types import PER_STEP, WHOLE_SEQUENCE, Key, OpSpec, Slot, constant

_1_3 = "1.3.0"
_BOOL = {"type": "boolean"}
_NUM = {"type": "number"}
_EPS = {"type": "number", "minimum": 0}
_INT = {"type": "integer", "minimum": -64, "maximum": 64}
_AXES = {"type": "array", "items": _INT, "maxItems": 64}
_POS = {"type": "integer", "minimum": 1}


def _axes_time(config: dict[str, Any], weights: dict[str, np.ndarray], rank: int) -> str:
    """Per step when no listed axis is the time axis (1) or the batch axis (0)."""
    return PER_STEP if all(isinstance(a, int) and a % rank >= 2 for a in config["axis"]) else WHOLE_SEQUENCE


def _vector_shapes(slots: tuple[str, ...]) -> Any:
    def shapes(config: dict[str, Any], w: dict[str, np.ndarray]) -> str | None:
        got = [w[s].shape for s in slots if s in w]
        if any(g != got[0] for g in got):
            return f"{', '.join(slots)} must have the same shape"
        n = len(config["axis"]) if isinstance(config.get("axis"), list) else 1
        if got and len(got[0]) != n:
            return f"{', '.join(slots)} must have one axis per config axis ({n})"
        return None

    return shapes


def _group_shapes(config: dict[str, Any], w: dict[str, np.ndarray]) -> str | None:
    for s in ("gamma", "beta"):
        a = w.get(s)
        if a is not None and (a.ndim != 1 or a.shape[0] % config["groups"]):
            return f"{s} must be (C,) with C a multiple of groups"
    return None


NORM_SPECS = [
    OpSpec(
        "GroupNormalization",
        _1_3,
        {"groups": Key(_POS), "axis": Key(_INT), "epsilon": Key(_EPS)},
        {"gamma": Slot(False), "beta": Slot(False)},
        time=constant(WHOLE_SEQUENCE),  # a group's statistics span every non-batch axis
        shapes=_group_shapes,
    ),
    OpSpec(
        "RMSNormalization",
        _1_3,
        {"axis": Key(_AXES), "epsilon": Key(_EPS)},
        {"scale": Slot()},
        time=_axes_time,
        shapes=_vector_shapes(("scale",)),
    ),
    OpSpec("UnitNormalization", _1_3, {"axis": Key(_AXES), "epsilon": Key(_EPS)}, time=_axes_time),
    OpSpec(
        "Normalization",
        _1_3,
        {"axis": Key(_AXES), "invert": Key(_BOOL), "epsilon": Key(_EPS)},
        {"mean": Slot(), "variance": Slot()},
        time=_axes_time,  # statistics per timestep when time is a kept axis
        shapes=_vector_shapes(("mean", "variance")),
    ),
    OpSpec("Threshold", _1_3, {"threshold": Key(_NUM), "default_value": Key(_NUM)}, time=constant(PER_STEP)),
    OpSpec(
        "AutoContrast",
        _1_3,
        {"value_range": Key({"type": "array", "items": _NUM, "minItems": 2, "maxItems": 2})},
        time=constant(WHOLE_SEQUENCE),  # statistics over axes 1 and 2
    ),
]
