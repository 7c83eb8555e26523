"""Declarations of the resizing ops (FORMAT.md 5.34-5.36): Resize2D, CenterCrop, Rescaling."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .types import PER_STEP, WHOLE_SEQUENCE, Key, OpSpec

_1_3 = "1.3.0"
_POS = {"type": "integer", "minimum": 1, "maximum": 65536}
_PAIR = {"type": "array", "items": _POS, "minItems": 2, "maxItems": 2}
_FORMAT_2D = Key({"enum": ["channels_last", "channels_first"]}, doc="channels_first: x is (B, C, H, W)")
#: tf.image.resize's methods (Keras 3 offers the first six, tf_keras all eight)
INTERPOLATIONS = ["nearest", "bilinear", "bicubic", "area", "lanczos3", "lanczos5", "gaussian", "mitchellcubic"]
_NUMS = {"type": "array", "items": {"type": "number"}, "minItems": 1, "maxItems": 65536}
_SHAPE = {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 65536}, "maxItems": 8}


def _resize_config(config: dict[str, Any], w: dict[str, np.ndarray]) -> str | None:
    if ("output_size" in config) == ("factor" in config):
        return "Resize2D takes exactly one of output_size and factor"
    if "factor" in config and config.get("aspect", "stretch") != "stretch":
        return "Resize2D aspect crop/pad needs an absolute size"
    return None


def _rescaling_config(config: dict[str, Any], w: dict[str, np.ndarray]) -> str | None:
    for what in ("scale", "offset"):
        if int(np.prod(config[f"{what}_shape"], dtype=np.int64)) != len(config[what]):
            return f"Rescaling {what} must hold prod({what}_shape) numbers"
    return None


def _rescaling_time(config: dict[str, Any], weights: dict[str, np.ndarray], rank: int) -> str:
    """Element-wise: per step unless scale or offset varies along axis 1."""
    for shape in (config["scale_shape"], config["offset_shape"]):
        if len(shape) >= rank - 1 and rank >= 2 and shape[len(shape) - (rank - 1)] != 1:
            return WHOLE_SEQUENCE
    return PER_STEP


RESIZE_SPECS = [
    # 2-D ops act on each image; under TimeDistributed they run on folded (B*T, ...) rows
    # and so stream frame by frame. On a rank-4 input axis 1 is H (or C): whole_sequence.
    OpSpec(
        "Resize2D",
        _1_3,
        {
            "output_size": Key(_PAIR, required=False, doc="[H, W] target (Resizing)"),
            "factor": Key(_PAIR, required=False, doc="[fh, fw]: output = input * factor (UpSampling2D)"),
            "interpolation": Key({"enum": INTERPOLATIONS}),
            "antialias": Key({"type": "boolean"}),
            "aspect": Key({"enum": ["stretch", "crop", "pad"]}, doc="crop/pad to the target aspect first"),
            "fill_value": Key({"type": "number"}, doc="the value aspect=pad fills with"),
            "data_format": _FORMAT_2D,
        },
        shapes=_resize_config,
    ),
    OpSpec("CenterCrop", _1_3, {"height": Key(_POS), "width": Key(_POS), "data_format": _FORMAT_2D}),
    OpSpec(
        "Rescaling",
        _1_3,
        {
            "scale": Key(_NUMS, doc="flat values, reshaped to scale_shape"),
            "scale_shape": Key(_SHAPE, doc="broadcast against x's trailing axes; [] for a scalar"),
            "offset": Key(_NUMS),
            "offset_shape": Key(_SHAPE),
        },
        time=_rescaling_time,
        shapes=_rescaling_config,
    ),
]


def _padded_to_aspect(c: dict[str, Any], ins: Sequence[tuple[int, ...]], rank: int) -> dict[int, int]:
    """The image Resize2D(aspect="pad") pads before it resizes (runtime/ops/resize.py): it can
    be far larger than the input and the output (a 1 x W image to a tall target)."""
    if c.get("aspect") != "pad" or "output_size" not in c:
        return {}
    x, (th, tw) = ins[0], c["output_size"]
    (ah, aw), ac = ((2, 3), 1) if c.get("data_format") == "channels_first" else ((1, 2), 3)
    h, w = x[ah], x[aw]
    top, left = (max(h, (w * th) // tw) - h) // 2, (max(w, (h * tw) // th) - w) // 2
    return {0: x[0], 1: h + 2 * top, 2: w + 2 * left, 3: x[ac]}


#: op -> rule of a temporary it holds while it runs (runtime/estimate.py)
RESIZE_WORKSPACE = {"Resize2D": _padded_to_aspect}
