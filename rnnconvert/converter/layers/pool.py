"""Converters for the 3-D pooling layers, Keras 3's adaptive pooling layers, ZeroPadding2D/3D,
Cropping2D/3D and UpSampling3D (Keras 3, tf_keras / Keras 2 names; Keras 1 configs arrive
rewritten by converter/keras1.py: ``dim_ordering`` -> ``data_format``, ``border_mode`` ->
``padding``; Keras 1's 4-value / dict ZeroPadding2D padding is read here)."""

from __future__ import annotations

from typing import Any

from ..graph import GraphBuilder, LayerCall, Tensor, Unsupported
from .common import one_input


def _int(value: Any, key: str, low: int) -> int:
    """An int >= ``low`` from a config value (a malformed file gets the walker's error, not a crash)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or value < low:
        raise Unsupported(f"{key}={value!r}: expected an integer >= {low}")
    return int(value)


def _ints(value: Any, n: int, key: str, low: int = 1) -> list[int]:
    """``n`` ints from an int (repeated) or a list / tuple of ``n``."""
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise Unsupported(f"{key}={value!r}: expected {n} values")
        return [_int(v, key, low) for v in value]
    return [_int(value, key, low)] * n


def _pairs(value: Any, n: int, key: str) -> list[list[int]]:
    """[[before, after]] * n from Keras's forms: an int (everywhere), n ints (symmetric per
    axis), n pairs; for n == 2 also Keras 1's (top, bottom, left, right) and its dict."""
    if isinstance(value, dict):
        names = ("top_pad", "bottom_pad", "left_pad", "right_pad") if key == "padding" else ()
        if n != 2 or not names or set(value) - set(names):
            raise Unsupported(f"{key}={value!r}")
        flat = [_int(value.get(k, 0), key, 0) for k in names]
        return [flat[:2], flat[2:]]
    if (
        isinstance(value, (list, tuple))
        and n == 2
        and len(value) == 4
        and not any(isinstance(v, (list, tuple)) for v in value)
    ):
        flat = [_int(v, key, 0) for v in value]
        return [flat[:2], flat[2:]]
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise Unsupported(f"{key}={value!r}: expected {n} values or pairs")
        return [_ints(v, 2, key, 0) for v in value]
    return [[_int(value, key, 0)] * 2 for _ in range(n)]


def _data_format(call: LayerCall) -> str:
    if call.opt("dim_ordering") is not None:
        raise Unsupported("Keras 1 key dim_ordering in a layer not read as Keras 1")
    fmt = call.opt("data_format") or "channels_last"
    if fmt not in ("channels_last", "channels_first"):
        raise Unsupported(f"data_format={fmt!r}")
    return fmt


def _volume(call: LayerCall, n: int, fmt: str) -> tuple[Tensor, list[int | None], int | None]:
    """The input, its ``n`` spatial sizes and its channel count."""
    x = one_input(call)
    if x.rank != n + 2:
        raise Unsupported(f"input shape {x.shape}: a {n}-D layer takes (batch, {n} spatial axes, channels)")
    if fmt == "channels_first":
        return x, list(x.shape[2:]), x.shape[1]
    return x, list(x.shape[1:-1]), x.shape[-1]


def _shape(x: Tensor, fmt: str, spatial: list[int | None], channels: int | None) -> tuple[int | None, ...]:
    if fmt == "channels_first":
        return (x.shape[0], channels, *spatial)
    return (x.shape[0], *spatial, channels)


def _node(call: LayerCall, b: GraphBuilder, op: str, x: Tensor, config: dict, shape: tuple) -> list[Tensor]:
    return b.node(op, name=call.name, inputs=[x], config=config, outputs=[(shape, "float32")], layer=call)


def _out(size: int | None, k: int, s: int, padding: str) -> int | None:
    if size is None:
        return None
    return -(-size // s) if padding == "same" else max((size - k) // s + 1, 0)


def _pool3d(call: LayerCall, b: GraphBuilder, mode: str) -> list[Tensor]:
    fmt = _data_format(call)
    x, sizes, channels = _volume(call, 3, fmt)
    pool = _ints(call.opt("pool_size", 2), 3, "pool_size")
    stride = call.opt("strides")
    strides = pool if stride is None else _ints(stride, 3, "strides")
    padding = str(call.opt("padding", "valid")).lower()
    if padding not in ("valid", "same"):
        raise Unsupported(f"padding={padding!r}: only valid and same are converted")
    out = [_out(sizes[a], pool[a], strides[a], padding) for a in range(3)]
    config = {"mode": mode, "pool_size": pool, "strides": strides, "padding": padding, "data_format": fmt}
    return _node(call, b, "Pool3D", x, config, _shape(x, fmt, out, channels))


def _global3d(call: LayerCall, b: GraphBuilder, mode: str) -> list[Tensor]:
    fmt = _data_format(call)
    x, _, channels = _volume(call, 3, fmt)
    keepdims = bool(call.opt("keepdims", False))
    shape = _shape(x, fmt, [1, 1, 1], channels) if keepdims else (x.shape[0], channels)
    return _node(call, b, "GlobalPool3D", x, {"mode": mode, "keepdims": keepdims, "data_format": fmt}, shape)


def _adaptive(call: LayerCall, b: GraphBuilder, mode: str, n: int) -> list[Tensor]:
    fmt = _data_format(call)
    x, _, channels = _volume(call, n, fmt)
    size = _ints(call.opt("output_size"), n, "output_size")
    config = {"mode": mode, "output_size": size, "data_format": fmt}
    return _node(call, b, "AdaptivePool", x, config, _shape(x, fmt, list(size), channels))


def _padding(call: LayerCall, b: GraphBuilder, n: int) -> list[Tensor]:
    fmt = _data_format(call)
    x, sizes, channels = _volume(call, n, fmt)
    pads = _pairs(call.opt("padding", 1), n, "padding")
    out = [None if s is None else s + p[0] + p[1] for s, p in zip(sizes, pads)]
    return _node(call, b, "ZeroPadding", x, {"padding": pads, "data_format": fmt}, _shape(x, fmt, out, channels))


def _cropping(call: LayerCall, b: GraphBuilder, n: int) -> list[Tensor]:
    fmt = _data_format(call)
    x, sizes, channels = _volume(call, n, fmt)
    crops = _pairs(call.opt("cropping", 0), n, "cropping")
    for s, c in zip(sizes, crops):
        if s is not None and c[0] + c[1] >= s:
            raise Unsupported(f"cropping={crops}: crops all of an axis of size {s}")
    out = [None if s is None else s - c[0] - c[1] for s, c in zip(sizes, crops)]
    return _node(call, b, "Cropping", x, {"cropping": crops, "data_format": fmt}, _shape(x, fmt, out, channels))


def convert_upsampling3d(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    fmt = _data_format(call)
    x, sizes, channels = _volume(call, 3, fmt)
    size = _ints(call.opt("size", 2), 3, "size")
    out = [None if s is None else s * k for s, k in zip(sizes, size)]
    return _node(call, b, "UpSampling3D", x, {"size": size, "data_format": fmt}, _shape(x, fmt, out, channels))


def _bind(fn, *args):
    def convert(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
        return fn(call, b, *args)

    return convert


_max3d, _avg3d = _bind(_pool3d, "max"), _bind(_pool3d, "average")
_gmax3d, _gavg3d = _bind(_global3d, "max"), _bind(_global3d, "average")

#: Keras 3 and tf_keras / Keras 2 class names (aliases serialise under either name).
POOL_CONVERTERS = {
    "MaxPooling3D": _max3d,
    "MaxPool3D": _max3d,
    "AveragePooling3D": _avg3d,
    "AvgPool3D": _avg3d,
    "GlobalMaxPooling3D": _gmax3d,
    "GlobalMaxPool3D": _gmax3d,
    "GlobalAveragePooling3D": _gavg3d,
    "GlobalAvgPool3D": _gavg3d,
    **{f"AdaptiveMaxPooling{n}D": _bind(_adaptive, "max", n) for n in (1, 2, 3)},
    **{f"AdaptiveAveragePooling{n}D": _bind(_adaptive, "average", n) for n in (1, 2, 3)},
    "ZeroPadding2D": _bind(_padding, 2),
    "ZeroPadding3D": _bind(_padding, 3),
    "Cropping2D": _bind(_cropping, 2),
    "Cropping3D": _bind(_cropping, 3),
    "UpSampling3D": convert_upsampling3d,
}
