"""Converters for Conv1D, the 1-D pooling layers, ZeroPadding1D, Cropping1D, UpSampling1D."""

from __future__ import annotations

from ..graph import GraphBuilder, LayerCall, Tensor, Unsupported
from .common import activation, check_dtype_policy, expect_weights, one_input


def _int1(value, key: str) -> int:
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise Unsupported(f"{key}={value!r}: expected one value")
        value = value[0]
    return int(value)


def _channels_last(call: LayerCall) -> None:
    fmt = call.opt("data_format", "channels_last")
    if fmt not in (None, "channels_last"):
        raise Unsupported(f"data_format={fmt!r}: only channels_last is converted")


def _out_len(length: int | None, size: int, stride: int, dilation: int, padding: str) -> int | None:
    if length is None:
        return None
    if padding in ("same", "causal"):
        return -(-length // stride) if padding == "same" else (length - 1) // stride + 1
    span = (size - 1) * dilation + 1
    return max((length - span) // stride + 1, 0)


def convert_conv1d(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    check_dtype_policy(call)
    _channels_last(call)
    x = one_input(call)
    if x.rank != 3 or x.shape[-1] is None:
        raise Unsupported(f"input shape {x.shape}: Conv1D takes (batch, steps, channels)")
    groups = call.int_opt("groups", 1)
    filters = call.int_opt("filters")
    if groups < 1 or x.shape[-1] % groups or filters % groups:
        raise Unsupported(f"groups={groups} must divide the input channels ({x.shape[-1]}) and filters ({filters})")
    size = _int1(call.opt("kernel_size"), "kernel_size")
    stride = _int1(call.opt("strides", 1), "strides")
    dilation = _int1(call.opt("dilation_rate", 1), "dilation_rate")
    padding = str(call.opt("padding", "valid")).lower()
    if padding not in ("valid", "same", "causal", "full"):
        raise Unsupported(f"padding={padding!r}")
    use_bias = bool(call.opt("use_bias", True))
    arrays = expect_weights(call, [(size, x.shape[-1] // groups, filters)] + ([(filters,)] if use_bias else []))
    weights = {"kernel": arrays[0], **({"bias": arrays[1]} if use_bias else {})}
    if padding == "full":
        # Keras 1's border_mode='full': span - 1 zero steps on both sides, then 'valid'.
        pad = (size - 1) * dilation
        length = None if x.shape[1] is None else x.shape[1] + 2 * pad
        (x,) = b.node(
            "ZeroPadding1D",
            name=f"{call.name}/full_padding",
            inputs=[x],
            config={"left": pad, "right": pad},
            outputs=[((x.shape[0], length, x.shape[2]), "float32")],
            layer=call,
        )
        padding = "valid"
    length = _out_len(x.shape[1], size, stride, dilation, padding)
    return b.node(
        "Conv1D",
        name=call.name,
        inputs=[x],
        config={
            "filters": filters,
            "strides": stride,
            "padding": padding,
            "dilation_rate": dilation,
            "activation": activation(call),
            "use_bias": use_bias,
            **({"groups": groups} if groups != 1 else {}),  # format 1.3.0
        },
        weights=weights,
        outputs=[((x.shape[0], length, filters), "float32")],
        layer=call,
    )


def _pool(call: LayerCall, b: GraphBuilder, mode: str) -> list[Tensor]:
    _channels_last(call)
    x = one_input(call)
    if x.rank != 3:
        raise Unsupported(f"input shape {x.shape}: 1-D pooling takes (batch, steps, channels)")
    size = _int1(call.opt("pool_size", call.opt("pool_length", 2)), "pool_size")
    stride = call.opt("strides", call.opt("stride"))
    stride = size if stride is None else _int1(stride, "strides")
    padding = str(call.opt("padding", call.opt("border_mode", "valid"))).lower()
    if padding not in ("valid", "same"):
        raise Unsupported(f"padding={padding!r}")
    length = _out_len(x.shape[1], size, stride, 1, padding)
    return b.node(
        "Pool1D",
        name=call.name,
        inputs=[x],
        config={"mode": mode, "pool_size": size, "strides": stride, "padding": padding},
        outputs=[((x.shape[0], length, x.shape[2]), "float32")],
        layer=call,
    )


def convert_max_pooling1d(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    return _pool(call, b, "max")


def convert_average_pooling1d(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    return _pool(call, b, "average")


def _global(call: LayerCall, b: GraphBuilder, mode: str) -> list[Tensor]:
    _channels_last(call)
    x = one_input(call)
    keepdims = bool(call.opt("keepdims", False))
    shape = (x.shape[0], 1, x.shape[2]) if keepdims else (x.shape[0], x.shape[2])
    # GlobalAveragePooling1D averages over unmasked steps; GlobalMaxPooling1D ignores masks.
    mask = x.mask if mode == "average" else None
    return b.node(
        "GlobalPool1D",
        name=call.name,
        inputs=[x],
        config={"mode": mode, "keepdims": keepdims},
        outputs=[(shape, "float32")],
        mask=mask,
        layer=call,
    )


def convert_global_max_pooling1d(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    return _global(call, b, "max")


def convert_global_average_pooling1d(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    return _global(call, b, "average")


def _pair(value, key: str) -> tuple[int, int]:
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise Unsupported(f"{key}={value!r}")
        return int(value[0]), int(value[1])
    return int(value), int(value)


def convert_zero_padding1d(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = one_input(call)
    left, right = _pair(call.opt("padding", 1), "padding")
    length = None if x.shape[1] is None else x.shape[1] + left + right
    return b.node(
        "ZeroPadding1D",
        name=call.name,
        inputs=[x],
        config={"left": left, "right": right},
        outputs=[((x.shape[0], length, x.shape[2]), "float32")],
        layer=call,
    )


def convert_cropping1d(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = one_input(call)
    left, right = _pair(call.opt("cropping", (1, 1)), "cropping")
    length = None if x.shape[1] is None else x.shape[1] - left - right
    return b.node(
        "Cropping1D",
        name=call.name,
        inputs=[x],
        config={"left": left, "right": right},
        outputs=[((x.shape[0], length, x.shape[2]), "float32")],
        layer=call,
    )


def convert_upsampling1d(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = one_input(call)
    size = call.int_opt("size", call.opt("length", 2))
    length = None if x.shape[1] is None else x.shape[1] * size
    return b.node(
        "UpSampling1D",
        name=call.name,
        inputs=[x],
        config={"size": size},
        outputs=[((x.shape[0], length, x.shape[2]), "float32")],
        layer=call,
    )
