"""Converters for GroupNormalization, RMSNormalization, UnitNormalization, Normalization
and Identity (FORMAT.md 5.41-5.44)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..graph import BadConfig, GraphBuilder, LayerCall, Tensor, Unsupported
from .common import dim, expect_weights, one_input
from .core import convert_identity


def _axis_list(call: LayerCall, x: Tensor, key: str = "axis", default: Any = -1) -> list[int]:
    """The layer's axis (an int or a list) as a sorted list of non-negative axes of ``x``,
    each a known, non-batch dimension."""
    value = call.opt(key, default)
    axes = value if isinstance(value, (list, tuple)) else [value]
    out = []
    for a in axes:
        if not isinstance(a, int) or isinstance(a, bool) or not -x.rank <= a < x.rank:
            raise BadConfig(f"{key}: {a!r} is not an axis of input {x.shape}")
        if a % x.rank == 0:
            raise Unsupported(f"{key}={a}: normalising over the batch axis")
        if x.shape[a] is None:
            raise Unsupported(f"axis {a} of input {x.shape} must be known")
        out.append(a % x.rank)
    if len(set(out)) != len(out):
        raise BadConfig(f"{key}: repeated axes {axes!r}")
    return sorted(out)


def _node(call: LayerCall, b: GraphBuilder, op: str, x: Tensor, config: dict, weights: dict) -> list[Tensor]:
    return b.node(
        op,
        name=call.name,
        inputs=[x],
        config=config,
        weights=weights,
        outputs=[(x.shape, "float32")],
        layer=call,
        output_masks=[x.mask],
    )


def convert_group_normalization(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = one_input(call)
    if call.era.major < 3 and call.call_mask(0) is not None:
        raise Unsupported("a mask: tf_keras's GroupNormalization weights its statistics by the mask")
    if isinstance(call.opt("axis", -1), (list, tuple)):
        raise BadConfig("axis: GroupNormalization takes one axis")
    (ax,) = _axis_list(call, x, default=-1)
    c = dim(x.shape[ax], "the channel axis")
    groups = call.int_opt("groups", 32)
    groups = c if groups == -1 else groups
    if groups < 1 or c % groups:
        raise BadConfig(f"groups={groups} does not divide the {c} channels")
    names = (["gamma"] if call.bool_opt("scale", True) else []) + (["beta"] if call.bool_opt("center", True) else [])
    arrays = expect_weights(call, [(c,)] * len(names))
    config = {"groups": groups, "axis": ax, "epsilon": call.float_opt("epsilon", 1e-3)}
    return _node(call, b, "GroupNormalization", x, config, dict(zip(names, arrays)))


def convert_rms_normalization(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = one_input(call)
    axes = _axis_list(call, x)
    # Keras multiplies by ``scale`` (shaped like the axes) with right-aligned broadcasting,
    # which is per-axis only when the axes are the trailing ones.
    if axes != list(range(x.rank - len(axes), x.rank)):
        raise Unsupported(f"axis={call.opt('axis')!r}: only trailing axes (Keras broadcasts scale from the right)")
    (scale,) = expect_weights(call, [tuple(x.shape[a] for a in axes)])
    config = {"axis": axes, "epsilon": call.float_opt("epsilon", 1e-6)}
    return _node(call, b, "RMSNormalization", x, config, {"scale": scale})


def convert_unit_normalization(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = one_input(call)
    axes = _axis_list(call, x)
    expect_weights(call, [])
    # Keras 3: x * min(rsqrt(sum x^2), 1e12); tf_keras (tf.math.l2_normalize): x * rsqrt(max(sum x^2, 1e-12)).
    epsilon = 1e-12 if call.era.major < 3 else 1e-24
    return _node(call, b, "UnitNormalization", x, {"axis": axes, "epsilon": epsilon}, {})


def _config_stats(call: LayerCall, kept: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray] | None:
    mean, variance = call.opt("mean"), call.opt("variance")
    if mean is None and variance is None:
        return None
    try:
        m = np.asarray(mean, dtype=np.float64)
        v = np.asarray(variance, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise BadConfig(f"mean / variance are not arrays of numbers: {exc}") from None
    if m.shape != v.shape or m.ndim > len(kept) or not (np.isfinite(m).all() and np.isfinite(v).all()):
        raise BadConfig(f"mean {m.shape} and variance {v.shape} must be finite, alike, of rank <= {len(kept)}")
    try:  # Keras aligns a lower-rank mean with the last kept axes and broadcasts the rest
        return (np.broadcast_to(m, kept).astype(np.float32), np.broadcast_to(v, kept).astype(np.float32))
    except ValueError:
        raise BadConfig(f"mean {m.shape} does not broadcast to the kept axes' shape {kept}") from None


def convert_normalization(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = one_input(call)
    axes = [] if call.opt("axis", -1) is None else _axis_list(call, x)
    kept = tuple(dim(x.shape[a], f"axis {a}") for a in axes)
    stats = _config_stats(call, kept)
    if stats is None:
        arrays = expect_weights(call, [kept, kept, ()])  # mean, variance, count (from adapt)
        stats = (arrays[0], arrays[1])
    else:
        expect_weights(call, [])
    if (stats[1] < 0).any():
        raise BadConfig("variance has negative entries")
    config = {"axis": axes, "invert": call.bool_opt("invert", False), "epsilon": 1e-7}
    return _node(call, b, "Normalization", x, config, {"mean": stats[0], "variance": stats[1]})


NORM_CONVERTERS = {
    "GroupNormalization": convert_group_normalization,
    "RMSNormalization": convert_rms_normalization,
    "UnitNormalization": convert_unit_normalization,
    "Normalization": convert_normalization,
    "Identity": convert_identity,
}
