"""Declarations of the 3-D pooling, adaptive pooling, N-D zero padding / cropping and
UpSampling3D ops (FORMAT.md 5.30-5.33), format 1.3.0.

All act on each batch item (a volume or image) and mix its axis 1 (a spatial or channel
axis), so their time rule is ``whole_sequence`` on a timed input; under TimeDistributed
they run on folded (B*T, ...) rows and stream frame by frame there."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .types import Key, OpSpec

_1_3 = "1.3.0"
_POS = {"type": "integer", "minimum": 1}
_NONNEG = {"type": "integer", "minimum": 0}
_MODE = Key({"enum": ["max", "average"]})
_FORMAT = Key({"enum": ["channels_last", "channels_first"]}, doc="channels_first: x is (B, C, *spatial)")
_TRIPLE = {"type": "array", "items": _POS, "minItems": 3, "maxItems": 3}
_PAIR_NONNEG = {"type": "array", "items": _NONNEG, "minItems": 2, "maxItems": 2}
#: [[before, after], ...]: one pair per spatial axis, 2-D or 3-D (1-D has ZeroPadding1D / Cropping1D)
_PER_AXIS_PAIRS = {"type": "array", "items": _PAIR_NONNEG, "minItems": 2, "maxItems": 3}


POOL_SPECS = [
    OpSpec(
        "Pool3D",
        _1_3,
        {
            "mode": _MODE,
            "pool_size": Key(_TRIPLE),
            "strides": Key(_TRIPLE),
            "padding": Key({"enum": ["valid", "same"]}),
            "data_format": _FORMAT,
        },
    ),
    OpSpec("GlobalPool3D", _1_3, {"mode": _MODE, "keepdims": Key({"type": "boolean"}), "data_format": _FORMAT}),
    OpSpec(
        "AdaptivePool",
        _1_3,
        {
            "mode": _MODE,
            "output_size": Key({"type": "array", "items": _POS, "minItems": 1, "maxItems": 3}),
            "data_format": _FORMAT,
        },
    ),
    OpSpec("ZeroPadding", _1_3, {"padding": Key(_PER_AXIS_PAIRS), "data_format": _FORMAT}),
    OpSpec("Cropping", _1_3, {"cropping": Key(_PER_AXIS_PAIRS), "data_format": _FORMAT}),
    OpSpec("UpSampling3D", _1_3, {"size": Key(_TRIPLE), "data_format": _FORMAT}),
]


# -- output sizes before a node runs (runtime/estimate.py, issue 12 item 9) ------------------
# The ops that can grow an axis (padding, upsampling, adaptive pooling to a larger size) size
# it from the config and the real input, so an under-declared output is refused before it
# allocates; the others keep or shrink every axis.


def _axes(config: dict[str, Any], n: int) -> range:
    first = 2 if config.get("data_format") == "channels_first" else 1
    return range(first, first + n)


def _padded(c: dict[str, Any], ins: Sequence[tuple[int, ...]], rank: int) -> dict[int, int]:
    return {a: ins[0][a] + int(p[0]) + int(p[1]) for a, p in zip(_axes(c, len(c["padding"])), c["padding"])}


def _cropped(c: dict[str, Any], ins: Sequence[tuple[int, ...]], rank: int) -> dict[int, int]:
    return {a: max(ins[0][a] - int(p[0]) - int(p[1]), 0) for a, p in zip(_axes(c, len(c["cropping"])), c["cropping"])}


def _upsampled(c: dict[str, Any], ins: Sequence[tuple[int, ...]], rank: int) -> dict[int, int]:
    return {a: ins[0][a] * int(k) for a, k in zip(_axes(c, len(c["size"])), c["size"])}


def _adaptive(c: dict[str, Any], ins: Sequence[tuple[int, ...]], rank: int) -> dict[int, int]:
    return {a: int(o) for a, o in zip(_axes(c, len(c["output_size"])), c["output_size"])}


#: op -> (config, input shapes, output rank) -> {axis: size} of output 0
POOL_SIZE_RULES = {"ZeroPadding": _padded, "Cropping": _cropped, "UpSampling3D": _upsampled, "AdaptivePool": _adaptive}
