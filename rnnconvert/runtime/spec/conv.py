"""Declarations of the convolutions format 1.3.0 adds (FORMAT.md 5.26-5.29): Conv3D and the
N-D transposed convolution. Depthwise and separable convolutions need no op of their own:
the converter writes them as grouped Conv1D / Conv2D nodes (5.28)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .types import ACTIVATION_REF, Key, OpSpec, Slot

_1_3 = "1.3.0"
_BOOL = {"type": "boolean"}
_POS = {"type": "integer", "minimum": 1}
_NONNEG = {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
_TRIPLE = {"type": "array", "items": _POS, "minItems": 3, "maxItems": 3}
_SPATIAL = {"type": "array", "items": _POS, "minItems": 1, "maxItems": 3}
_FORMAT = Key({"enum": ["channels_last", "channels_first"]}, doc="channels_first: x is (B, C, *spatial)")
_PADDING = Key({"enum": ["valid", "same"]})


def _conv3d_shapes(config: dict[str, Any], w: dict[str, np.ndarray]) -> str | None:
    k, b, groups = w["kernel"], w.get("bias"), config.get("groups", 1)
    if k.ndim != 5 or k.shape[4] != config["filters"] or k.shape[4] % groups:
        return "Conv3D kernel must be (KD, KH, KW, C_in / groups, filters), filters divisible by groups"
    if b is not None and b.shape != (k.shape[4],):
        return "Conv3D bias must be (filters,)"
    return None


def _transpose_shapes(config: dict[str, Any], w: dict[str, np.ndarray]) -> str | None:
    k, b, n = w["kernel"], w.get("bias"), len(config["strides"])
    if any(len(config[key]) != n for key in ("kernel_size", "dilation_rate", "output_padding")):
        return "ConvTranspose kernel_size, strides, dilation_rate and output_padding need one entry per spatial axis"
    if k.ndim != n + 2 or list(k.shape[:n]) != list(config["kernel_size"]) or k.shape[-1] != config["filters"]:
        return "ConvTranspose kernel must be (*kernel_size, C_in, filters)"
    if b is not None and b.shape != (k.shape[-1],):
        return "ConvTranspose bias must be (filters,)"
    return None


_k_b = {"kernel": Slot(), "bias": Slot(required=False)}

# Like Conv2D: each batch item is one volume, so on a timed rank-5 input they mix axis 1
# (the default whole_sequence rule); under TimeDistributed they run on folded (B*T, ...)
# rows and stream frame by frame.
CONV_SPECS = [
    OpSpec(
        "Conv3D",
        _1_3,
        {
            "filters": Key(_POS),
            "strides": Key(_TRIPLE),
            "padding": _PADDING,
            "dilation_rate": Key(_TRIPLE),
            "groups": Key(_POS),
            "data_format": _FORMAT,
            "activation": Key(ACTIVATION_REF),
            "use_bias": Key(_BOOL),
        },
        dict(_k_b),
        shapes=_conv3d_shapes,
    ),
    OpSpec(
        "ConvTranspose",
        _1_3,
        {
            "filters": Key(_POS),
            "kernel_size": Key(_SPATIAL, doc="the kernel's spatial shape (sizes the output before it runs)"),
            "strides": Key(_SPATIAL),
            "padding": _PADDING,
            "output_padding": Key({"type": "array", "items": _NONNEG, "minItems": 1, "maxItems": 3}),
            "dilation_rate": Key(_SPATIAL),
            "data_format": _FORMAT,
            "activation": Key(ACTIVATION_REF),
            "use_bias": Key(_BOOL),
        },
        dict(_k_b),
        shapes=_transpose_shapes,
    ),
]
