"""Declarations of the non-recurrent ops (FORMAT.md 5), in the order FORMAT.md lists them."""

from __future__ import annotations

from typing import Any

import numpy as np

from .types import ACTIVATION_REF, FOLD, PER_STEP, UNFOLD, WHOLE_SEQUENCE, Key, Named, OpSpec, Slot, constant

#: Activations that mix values along an axis (``axis`` param, default -1).
AXIS_ACTIVATIONS = frozenset({"softmax", "log_softmax", "sparsemax", "glu"})

_BOOL = {"type": "boolean"}
_INT = {"type": "integer", "minimum": -64, "maximum": 64}  # axes: a tensor of rank > 64 is hostile
_NUM = {"type": "number"}
_POS = {"type": "integer", "minimum": 1}
_NONNEG = {"type": "integer", "minimum": 0}
_AXES = {"type": "array", "items": _INT}


def covers_time(axes: Any, rank: int) -> bool:
    """Whether ``axes`` (an int or a list, negative counting from the end) of a rank-``rank``
    tensor include axis 1, the time axis."""
    axes = axes if isinstance(axes, list) else [axes]
    return any(isinstance(a, int) and rank > 1 and a % rank == 1 for a in axes)


def activation_time(act: Any, rank: int) -> str:
    """An activation mixes timesteps when it is softmax-like over an axis covering time."""
    if isinstance(act, dict) and act.get("type") in AXIS_ACTIVATIONS and covers_time(act.get("axis", -1), rank):
        return WHOLE_SEQUENCE
    return PER_STEP


def activation_shape(act: Any, shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
    """The shape an activation gives a tensor of ``shape``: the same, except ``glu``,
    which halves its axis (F5: Dense(glu) with U units declares (..., U/2))."""
    if not (isinstance(act, dict) and act.get("type") == "glu"):
        return tuple(shape)
    ax = int(act.get("axis", -1)) % len(shape)
    return tuple(d // 2 if i == ax and d is not None else d for i, d in enumerate(shape))


def _dense_time(config: dict[str, Any], weights: dict[str, np.ndarray], rank: int) -> str:
    # on (B, T) the kernel would mix the time axis itself
    return activation_time(config["activation"], rank) if rank >= 3 else WHOLE_SEQUENCE


def _activation_time(config: dict[str, Any], weights: dict[str, np.ndarray], rank: int) -> str:
    return activation_time(config["activation"], rank)


def _last_axis_time(config: dict[str, Any], weights: dict[str, np.ndarray], rank: int) -> str:
    return PER_STEP if rank >= 3 else WHOLE_SEQUENCE  # Masking reduces the last axis


def _axis_time(config: dict[str, Any], weights: dict[str, np.ndarray], rank: int) -> str:
    return PER_STEP if int(config["axis"]) % rank >= 2 else WHOLE_SEQUENCE


def _expand_time(config: dict[str, Any], weights: dict[str, np.ndarray], rank: int) -> str:
    return PER_STEP if int(config["axis"]) % (rank + 1) >= 2 else WHOLE_SEQUENCE


def _norm_time(config: dict[str, Any], weights: dict[str, np.ndarray], rank: int) -> str:
    axes = config["axis"]
    return PER_STEP if all(isinstance(a, int) and a % rank >= 2 for a in axes) else WHOLE_SEQUENCE


def _merge_time(config: dict[str, Any], weights: dict[str, np.ndarray], rank: int) -> str:
    concat_time = config["mode"] == "concat" and int(config.get("axis", -1)) % rank == 1
    return WHOLE_SEQUENCE if concat_time else PER_STEP


def _prelu_time(config: dict[str, Any], weights: dict[str, np.ndarray], rank: int) -> str:
    alpha = weights.get("alpha")  # x's non-batch shape, 1 on shared axes: shared over time or not
    return PER_STEP if alpha is not None and alpha.ndim == rank - 1 and alpha.shape[0] == 1 else WHOLE_SEQUENCE


def _dense_shapes(config: dict[str, Any], w: dict[str, np.ndarray]) -> str | None:
    k, b = w["kernel"], w.get("bias")
    if k.ndim != 2 or config["units"] != k.shape[1]:
        return "Dense kernel must be (D, units)"
    if b is not None and b.shape != (k.shape[1],):
        return "Dense bias must be (units,)"
    return None


def _embedding_shapes(config: dict[str, Any], w: dict[str, np.ndarray]) -> str | None:
    return None if w["embeddings"].ndim == 2 else "embeddings must be 2-D"


def _attention_shapes(config: dict[str, Any], w: dict[str, np.ndarray]) -> str | None:
    scale, csw, mode = w.get("scale"), w.get("concat_score_weight"), config["score_mode"]
    if scale is not None and scale.ndim != (1 if mode == "additive" else 0):
        return "bad scale shape"
    if (csw is not None) != (mode == "concat"):
        return "concat_score_weight goes with concat"
    if csw is not None and csw.ndim != 0:
        return "concat_score_weight must be a scalar"
    return None


def _conv2d_shapes(config: dict[str, Any], w: dict[str, np.ndarray]) -> str | None:
    k, b, groups = w["kernel"], w.get("bias"), config.get("groups", 1)
    if k.ndim != 4 or k.shape[3] != config["filters"] or k.shape[3] % groups:
        return "Conv2D kernel must be (KH, KW, C_in / groups, filters), filters divisible by groups"
    if b is not None and b.shape != (k.shape[3],):
        return "Conv2D bias must be (filters,)"
    return None


def _transpose_shapes(config: dict[str, Any], w: dict[str, np.ndarray]) -> str | None:
    perm = config["perm"]
    return None if sorted(perm) == list(range(len(perm))) else "Transpose perm must be a permutation of 0 … rank-1"


_per_step = constant(PER_STEP)
_k_b = {"kernel": Slot(), "bias": Slot(required=False)}
_1_1 = "1.1.0"
_1_2 = "1.2.0"
_PAIR = {"type": "array", "items": _POS, "minItems": 2, "maxItems": 2}
_FORMAT_2D = Key({"enum": ["channels_last", "channels_first"]}, doc="channels_first: x is (B, C, H, W)")

OP_SPECS = [
    OpSpec(
        "Dense",
        "1.0.0",
        {"units": Key(_POS), "activation": Key(ACTIVATION_REF), "use_bias": Key(_BOOL)},
        dict(_k_b),
        time=_dense_time,
        shapes=_dense_shapes,
    ),
    OpSpec("Activation", "1.0.0", {"activation": Key(ACTIVATION_REF)}, time=_activation_time),
    OpSpec(
        "Embedding",
        "1.0.0",
        {"input_dim": Key(_POS), "output_dim": Key(_POS)},
        {"embeddings": Slot()},
        inputs=("ids",),
        time=_per_step,
        shapes=_embedding_shapes,
    ),
    OpSpec("NotEqualMask", "1.0.0", {"value": Key(_NUM)}, inputs=("ids",), time=_per_step),
    OpSpec("ReduceAny", "1.0.0", {"axis": Key(_INT), "keepdims": Key(_BOOL)}, time=_axis_time),
    OpSpec("LogicalAnd", "1.0.0", {}, inputs=("a", "b"), time=_per_step),
    OpSpec("LogicalOr", _1_1, {}, inputs=("a", "b"), time=_per_step),
    OpSpec("ExpandDims", _1_1, {"axis": Key(_INT)}, time=_expand_time),
    OpSpec("FillLike", _1_1, {"fill": Key(_BOOL)}, time=_per_step),
    OpSpec("Masking", "1.0.0", {"mask_value": Key(_NUM)}, outputs=("y", "mask"), time=_last_axis_time),
    OpSpec("Reverse", "1.0.0", {"axis": Key(_INT)}),
    OpSpec("ZeroMasked", _1_1, {}, inputs=("x", "mask"), time=_per_step),
    OpSpec(
        "Merge",
        "1.0.0",
        {"mode": Key({"enum": ["concat", "sum", "sub", "mul", "ave", "max", "min"]}), "axis": Key(_INT)},
        variadic=True,
        time=_merge_time,
    ),
    OpSpec("FoldTime", "1.0.0", {}, time=constant(FOLD)),
    OpSpec("UnfoldTime", "1.0.0", {}, inputs=("y", "like"), time=constant(UNFOLD)),
    OpSpec(
        "Conv1D",
        _1_1,
        {
            "filters": Key(_POS),
            "strides": Key(_POS),
            "padding": Key({"enum": ["valid", "same", "causal"]}),
            "dilation_rate": Key(_POS),
            "activation": Key(ACTIVATION_REF),
            "use_bias": Key(_BOOL),
            # grouped Conv1D, DepthwiseConv1D, SeparableConv1D (FORMAT.md 5.27, 5.28)
            "groups": Key(_POS, required=False, since="1.3.0"),
        },
        dict(_k_b),
    ),
    OpSpec(
        "Pool1D",
        _1_1,
        {
            "mode": Key({"enum": ["max", "average"]}),
            "pool_size": Key(_POS),
            "strides": Key(_POS),
            "padding": Key({"enum": ["valid", "same"]}),
        },
    ),
    OpSpec("GlobalPool1D", _1_1, {"mode": Key({"enum": ["max", "average"]}), "keepdims": Key(_BOOL)}, mask=True),
    OpSpec("ZeroPadding1D", _1_1, {"left": Key(_NONNEG), "right": Key(_NONNEG)}),
    OpSpec("Cropping1D", _1_1, {"left": Key(_NONNEG), "right": Key(_NONNEG)}),
    OpSpec("UpSampling1D", _1_1, {"size": Key(_POS)}),
    # 2-D ops act on each batch item (an image); under TimeDistributed they run on folded
    # (B*T, ...) rows, so they stream frame by frame there. On a rank-4 timed input axis 1
    # is H (or C): they mix it, hence the default whole_sequence rule.
    OpSpec(
        "Conv2D",
        _1_2,
        {
            "filters": Key(_POS),
            "strides": Key(_PAIR),
            "padding": Key({"enum": ["valid", "same"]}),
            "dilation_rate": Key(_PAIR),
            "groups": Key(_POS),
            "data_format": _FORMAT_2D,
            "activation": Key(ACTIVATION_REF),
            "use_bias": Key(_BOOL),
        },
        dict(_k_b),
        shapes=_conv2d_shapes,
    ),
    OpSpec(
        "Pool2D",
        _1_2,
        {
            "mode": Key({"enum": ["max", "average"]}),
            "pool_size": Key(_PAIR),
            "strides": Key(_PAIR),
            "padding": Key({"enum": ["valid", "same"]}),
            "data_format": _FORMAT_2D,
        },
    ),
    OpSpec(
        "GlobalPool2D",
        _1_2,
        {"mode": Key({"enum": ["max", "average"]}), "keepdims": Key(_BOOL), "data_format": _FORMAT_2D},
    ),
    OpSpec("Flatten", _1_1, {}),
    OpSpec("Reshape", _1_1, {"target_shape": Key({"type": "array", "items": {"type": "integer", "minimum": -1}})}),
    OpSpec("Permute", _1_1, {"dims": Key({"type": "array", "items": _POS})}),
    OpSpec("RepeatVector", _1_1, {"n": Key(_POS)}),
    OpSpec(
        "BatchNormalization",
        _1_1,
        {"axis": Key(_AXES), "epsilon": Key(_NUM)},
        {"moving_mean": Slot(), "moving_variance": Slot(), "gamma": Slot(False), "beta": Slot(False)},
        time=_norm_time,
    ),
    OpSpec(
        "LayerNormalization",
        _1_1,
        {"axis": Key(_AXES), "epsilon": Key(_NUM)},
        {"gamma": Slot(False), "beta": Slot(False)},
        time=_norm_time,
    ),
    OpSpec("PReLU", _1_1, {}, {"alpha": Slot()}, time=_prelu_time),
    OpSpec(
        "Dot",
        _1_1,
        {"axes": Key({"type": "array", "items": _POS, "minItems": 2, "maxItems": 2}), "normalize": Key(_BOOL)},
        inputs=("a", "b"),
    ),
    OpSpec(
        "Attention",
        _1_1,
        {
            "score_mode": Key({"enum": ["dot", "concat", "additive"]}),
            "causal": Key(_BOOL),
            "query_mask": Key(_BOOL, False, _1_1, "a query mask follows key in inputs", until=_1_2),
            "value_mask": Key(_BOOL, False, _1_1, "a value mask follows (the query mask, if any)", until=_1_2),
        },
        {"scale": Slot(False), "concat_score_weight": Slot(False)},
        inputs=("query", "value", "key"),
        legacy_inputs=2,
        named_inputs={
            "query_mask": Named(doc="(B, Tq) bool: output rows where it is false are zero"),
            "value_mask": Named(doc="(B, Tv) bool: scores where it is false get the -1e9 penalty"),
        },
        outputs=("y", "weights"),
        shapes=_attention_shapes,
    ),
    OpSpec(
        "MaskedMerge",
        _1_1,
        {
            "mode": Key({"enum": ["mul", "max", "min"]}),
            "masked": Key(
                {"type": "array", "items": _BOOL, "minItems": 2}, False, _1_1, "which inputs' masks follow", until=_1_2
            ),
        },
        inputs=("x",),
        variadic=True,
        min_inputs=2,
        named_inputs={
            "mask": Named(per_input=True, keyword="masks", doc="mask_k: (B, T, ...) bool mask of input k, if any")
        },
        time=_per_step,
    ),
    OpSpec(
        "Transpose",
        _1_1,
        {"perm": Key({"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 1})},
        shapes=_transpose_shapes,
    ),
]
