"""Converters for Resizing, UpSampling2D, CenterCrop and Rescaling (Keras 3 and tf_keras names)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...runtime.spec.resize import INTERPOLATIONS
from ..graph import GraphBuilder, LayerCall, Tensor, Unsupported
from .common import check_dtype_policy, one_input, passthrough_mask
from .conv2d import _data_format, _image, _pair, _positive, _shape


def _interpolation(call: LayerCall, default: str) -> str:
    interp = str(call.opt("interpolation", default) or default).lower()
    if interp not in INTERPOLATIONS:
        raise Unsupported(f"interpolation={interp!r}: converted are {', '.join(INTERPOLATIONS)}")
    return interp


def _aspect(call: LayerCall) -> tuple[str, float]:
    crop, pad = bool(call.opt("crop_to_aspect_ratio", False)), bool(call.opt("pad_to_aspect_ratio", False))
    if crop and pad:
        raise Unsupported("crop_to_aspect_ratio and pad_to_aspect_ratio together (Keras refuses it too)")
    fill_mode = call.opt("fill_mode", "constant")
    if pad and fill_mode != "constant":
        raise Unsupported(f"fill_mode={fill_mode!r}: only constant padding is converted")
    fill = call.opt("fill_value", 0.0)
    if isinstance(fill, bool) or not isinstance(fill, (int, float)) or not math.isfinite(fill):
        raise Unsupported(f"fill_value={fill!r}: expected a finite number")
    return ("crop" if crop else "pad" if pad else "stretch"), float(fill)


def _resize_node(
    call: LayerCall, b: GraphBuilder, config: dict[str, Any], fmt: str, out_hw: list[int | None]
) -> list[Tensor]:
    x, _, channels = _image(call, fmt)
    return b.node(
        "Resize2D",
        name=call.name,
        inputs=[x],
        config={**config, "data_format": fmt},
        outputs=[(_shape(x, fmt, out_hw, channels), "float32")],
        layer=call,
    )


def convert_resizing(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    check_dtype_policy(call)
    fmt = _data_format(call)
    size = [_positive(call.opt("height"), "height"), _positive(call.opt("width"), "width")]
    aspect, fill = _aspect(call)
    config = {
        "output_size": size,
        "interpolation": _interpolation(call, "bilinear"),
        "antialias": bool(call.opt("antialias", False)),
        "aspect": aspect,
        "fill_value": fill,
    }
    return _resize_node(call, b, config, fmt, list(size))


def convert_upsampling2d(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    fmt = _data_format(call)
    _, hw, _ = _image(call, fmt)
    factor = _pair(call.opt("size", 2), "size")
    config = {
        "factor": factor,
        "interpolation": _interpolation(call, "nearest"),
        "antialias": False,
        "aspect": "stretch",
        "fill_value": 0.0,
    }
    out_hw: list[int | None] = [None if (n := hw[a]) is None else n * factor[a] for a in range(2)]
    return _resize_node(call, b, config, fmt, out_hw)


def convert_center_crop(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    check_dtype_policy(call)
    fmt = _data_format(call)
    x, _, channels = _image(call, fmt)
    height, width = _positive(call.opt("height"), "height"), _positive(call.opt("width"), "width")
    return b.node(
        "CenterCrop",
        name=call.name,
        inputs=[x],
        config={"height": height, "width": width, "data_format": fmt},
        outputs=[(_shape(x, fmt, [height, width], channels), "float32")],
        layer=call,
    )


def _numbers(value: Any, key: str) -> tuple[list[float], list[int]]:
    """A Rescaling scale/offset (a number, a nested list, or Keras 3's serialised NumPy array)
    as flat values and shape."""
    if isinstance(value, dict) and value.get("class_name") == "__numpy__":
        value = (value.get("config") or {}).get("value")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise Unsupported(f"{key}={value!r}: expected a number or a list of numbers") from None
    if arr.dtype == object or arr.size == 0 or arr.ndim > 8 or not np.all(np.isfinite(arr)):
        raise Unsupported(f"{key}={value!r}: expected finite numbers")
    return [float(v) for v in arr.ravel()], [int(d) for d in arr.shape]


def convert_rescaling(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    check_dtype_policy(call)
    x = one_input(call)
    scale, scale_shape = _numbers(call.opt("scale"), "scale")
    offset, offset_shape = _numbers(call.opt("offset", 0.0), "offset")
    for shape, key in ((scale_shape, "scale"), (offset_shape, "offset")):
        tail = x.shape[len(x.shape) - len(shape) :] if shape else ()
        if len(shape) > x.rank - 1 or any(d not in (1, n) and n is not None for d, n in zip(shape, tail)):
            raise Unsupported(f"{key} of shape {tuple(shape)} does not broadcast against the input {x.shape}")
    outs = b.node(
        "Rescaling",
        name=call.name,
        inputs=[x],
        config={"scale": scale, "scale_shape": scale_shape, "offset": offset, "offset_shape": offset_shape},
        outputs=[(x.shape, "float32")],
        layer=call,
    )
    # Keras 3's Rescaling supports masking (passes it on); tf_keras's does not (drops it)
    return passthrough_mask(outs, x.mask if call.era.major >= 3 else None)


RESIZE_CONVERTERS = {
    "Resizing": convert_resizing,
    "UpSampling2D": convert_upsampling2d,
    "CenterCrop": convert_center_crop,
    "Rescaling": convert_rescaling,
}
