"""Converters for Conv2D and the 2-D pooling layers (Keras 3, tf_keras / Keras 2 names)."""

from __future__ import annotations

from ..graph import GraphBuilder, LayerCall, Tensor, Unsupported
from .common import activation, check_dtype_policy, expect_weights, one_input


def _positive(value, key: str) -> int:
    """A positive int from a config value (a malformed file gets the walker's error, not a crash)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or value < 1:
        raise Unsupported(f"{key}={value!r}: expected a positive integer")
    return int(value)


def _pair(value, key: str) -> list[int]:
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise Unsupported(f"{key}={value!r}: expected two values")
        return [_positive(value[0], key), _positive(value[1], key)]
    return [_positive(value, key), _positive(value, key)]


def _not_keras1(call: LayerCall) -> None:
    # converter/keras1.py rewrites Keras 1 configs first; keys left over mean a layer it does not know
    if call.opt("nb_filter") is not None or call.opt("dim_ordering") is not None:
        raise Unsupported("Keras 1 keys (nb_filter, dim_ordering) in a layer not read as Keras 1")


def _data_format(call: LayerCall) -> str:
    _not_keras1(call)
    fmt = call.opt("data_format") or "channels_last"
    if fmt not in ("channels_last", "channels_first"):
        raise Unsupported(f"data_format={fmt!r}")
    return fmt


def _padding(call: LayerCall) -> str:
    padding = str(call.opt("padding", "valid")).lower()
    if padding not in ("valid", "same"):
        raise Unsupported(f"padding={padding!r}: only valid and same are converted")
    return padding


def _image(call: LayerCall, fmt: str) -> tuple[Tensor, list[int | None], int | None]:
    """The input, its (H, W) and its channel count."""
    x = one_input(call)
    if x.rank != 4:
        raise Unsupported(f"input shape {x.shape}: 2-D layers take (batch, rows, cols, channels)")
    if fmt == "channels_first":
        return x, [x.shape[2], x.shape[3]], x.shape[1]
    return x, [x.shape[1], x.shape[2]], x.shape[3]


def _out(size: int | None, k: int, s: int, d: int, padding: str) -> int | None:
    if size is None:
        return None
    if padding == "same":
        return -(-size // s)
    return max((size - (k - 1) * d - 1) // s + 1, 0)


def _shape(x: Tensor, fmt: str, hw: list[int | None], channels: int | None) -> tuple[int | None, ...]:
    if fmt == "channels_first":
        return (x.shape[0], channels, *hw)
    return (x.shape[0], *hw, channels)


def convert_conv2d(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    check_dtype_policy(call)
    _not_keras1(call)
    fmt = _data_format(call)
    x, hw, c_in = _image(call, fmt)
    if c_in is None:
        raise Unsupported(f"input shape {x.shape}: the channel axis must be known")
    filters = _positive(call.opt("filters"), "filters")
    ksize = _pair(call.opt("kernel_size"), "kernel_size")
    strides = _pair(call.opt("strides", 1), "strides")
    dilation = _pair(call.opt("dilation_rate", 1), "dilation_rate")
    groups = _positive(1 if call.opt("groups") is None else call.opt("groups"), "groups")
    if c_in % groups or filters % groups:
        raise Unsupported(f"groups={groups} must divide the input channels ({c_in}) and filters ({filters})")
    padding = _padding(call)
    use_bias = bool(call.opt("use_bias", True))
    shapes = [(*ksize, c_in // groups, filters)] + ([(filters,)] if use_bias else [])
    arrays = expect_weights(call, shapes)
    out_hw = [_out(hw[a], ksize[a], strides[a], dilation[a], padding) for a in range(2)]
    return b.node(
        "Conv2D",
        name=call.name,
        inputs=[x],
        config={
            "filters": filters,
            "strides": strides,
            "padding": padding,
            "dilation_rate": dilation,
            "groups": groups,
            "data_format": fmt,
            "activation": activation(call),
            "use_bias": use_bias,
        },
        weights={"kernel": arrays[0], **({"bias": arrays[1]} if use_bias else {})},
        outputs=[(_shape(x, fmt, out_hw, filters), "float32")],
        layer=call,
    )


def _pool(call: LayerCall, b: GraphBuilder, mode: str) -> list[Tensor]:
    fmt = _data_format(call)
    x, hw, channels = _image(call, fmt)
    size = _pair(call.opt("pool_size", 2), "pool_size")
    stride = call.opt("strides")
    strides = size if stride is None else _pair(stride, "strides")
    padding = _padding(call)
    out_hw = [_out(hw[a], size[a], strides[a], 1, padding) for a in range(2)]
    return b.node(
        "Pool2D",
        name=call.name,
        inputs=[x],
        config={"mode": mode, "pool_size": size, "strides": strides, "padding": padding, "data_format": fmt},
        outputs=[(_shape(x, fmt, out_hw, channels), "float32")],
        layer=call,
    )


def convert_max_pooling2d(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    return _pool(call, b, "max")


def convert_average_pooling2d(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    return _pool(call, b, "average")


def _global(call: LayerCall, b: GraphBuilder, mode: str) -> list[Tensor]:
    fmt = _data_format(call)
    x, _, channels = _image(call, fmt)
    keepdims = bool(call.opt("keepdims", False))
    shape = _shape(x, fmt, [1, 1], channels) if keepdims else (x.shape[0], channels)
    return b.node(
        "GlobalPool2D",
        name=call.name,
        inputs=[x],
        config={"mode": mode, "keepdims": keepdims, "data_format": fmt},
        outputs=[(shape, "float32")],
        layer=call,
    )


def convert_global_max_pooling2d(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    return _global(call, b, "max")


def convert_global_average_pooling2d(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    return _global(call, b, "average")


#: Keras 3 and tf_keras / Keras 2 class names (aliases serialise under either name).
CONV2D_CONVERTERS = {
    "Conv2D": convert_conv2d,
    "Convolution2D": convert_conv2d,
    "MaxPooling2D": convert_max_pooling2d,
    "MaxPool2D": convert_max_pooling2d,
    "AveragePooling2D": convert_average_pooling2d,
    "AvgPool2D": convert_average_pooling2d,
    "GlobalMaxPooling2D": convert_global_max_pooling2d,
    "GlobalMaxPool2D": convert_global_max_pooling2d,
    "GlobalAveragePooling2D": convert_global_average_pooling2d,
    "GlobalAvgPool2D": convert_global_average_pooling2d,
}
