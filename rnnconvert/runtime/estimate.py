"""Pre-run output sizes (issue 12 item 9): before a node runs, the elements its outputs will
hold, from its *real* input shapes -- so a node whose bundle under-declares its output (a
``None`` where its config makes the axis huge, or a small number it will not honour) is
refused before it allocates past ``max_elements``, not after.

Declared dims are binding (FORMAT.md 2.3, F5) and are used as given, except where the op
sets the dim from its config and input shapes (the rules below): there the computed value
is used, and a declared value that disagrees is a :class:`FormatError` before the node runs.
A free dim the rules do not cover takes input 0's size on that axis (or the largest input
size there), which every op not listed keeps or shrinks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import FormatError
from .ops.convnd import transpose_length
from .spec.attn import ATTN_MORE_OUTPUTS, ATTN_SIZE_RULES, ATTN_WORKSPACE, READS_WEIGHTS
from .spec.pool import POOL_SIZE_RULES
from .spec.resize import RESIZE_WORKSPACE
from .spec.text import TEXT_SIZE_RULES
from .spec.tfop import TFOP_SIZE_RULES

Shape = tuple[int, ...]
#: op -> (config, input shapes, output rank) -> {axis: size} for output 0
Rule = Callable[[dict[str, Any], Sequence[Shape], int], dict[int, int]]


def _time(x: Shape) -> int:
    return x[1] if len(x) > 1 else 1


def _concat(config: dict[str, Any], ins: Sequence[Shape], rank: int) -> dict[int, int]:
    if config.get("mode") != "concat" or not ins or any(len(s) != rank for s in ins):
        return {}
    axis = int(config.get("axis", -1)) % rank
    return {axis: sum(s[axis] for s in ins)}


def _hw_axes(config: dict[str, Any]) -> tuple[int, int]:
    return (2, 3) if config.get("data_format") == "channels_first" else (1, 2)


def _resize(config: dict[str, Any], ins: Sequence[Shape], rank: int) -> dict[int, int]:
    """Resize2D / CenterCrop set H and W from their config (and UpSampling2D's factor)."""
    ah, aw = _hw_axes(config)
    if "factor" in config:
        return {ah: ins[0][ah] * int(config["factor"][0]), aw: ins[0][aw] * int(config["factor"][1])}
    size = config.get("output_size") or [config["height"], config["width"]]
    return {ah: int(size[0]), aw: int(size[1])}


def _conv_transpose(config: dict[str, Any], ins: Sequence[Shape], rank: int) -> dict[int, int]:
    """The spatial sizes a transposed convolution grows its input to (FORMAT.md 5.27)."""
    n, first = len(config["strides"]), config.get("data_format") == "channels_first"
    x, k = ins[0], config["kernel_size"]
    axes = range(2, 2 + n) if first else range(1, 1 + n)
    sizes = {
        ax: transpose_length(
            x[ax],
            k[a],
            config["strides"][a],
            config["dilation_rate"][a],
            config["padding"],
            config["output_padding"][a],
        )
        for a, ax in enumerate(axes)
    }
    if "filters" in config:  # the node's config (the op function's own keys omit it)
        sizes[1 if first else rank - 1] = int(config["filters"])
    return sizes


RULES: dict[str, Rule] = {
    "RepeatVector": lambda c, ins, r: {1: int(c["n"])},
    "UpSampling1D": lambda c, ins, r: {1: _time(ins[0]) * int(c["size"])},
    "ZeroPadding1D": lambda c, ins, r: {1: _time(ins[0]) + int(c["left"]) + int(c["right"])},
    "Cropping1D": lambda c, ins, r: {1: max(_time(ins[0]) - int(c["left"]) - int(c["right"]), 0)},
    "FoldTime": lambda c, ins, r: {0: ins[0][0] * _time(ins[0])},
    "UnfoldTime": lambda c, ins, r: {0: ins[1][0], 1: _time(ins[1])} if len(ins) > 1 else {},
    "Merge": _concat,
    **POOL_SIZE_RULES,  # pool helper: ZeroPadding, Cropping, UpSampling3D, AdaptivePool
    "Resize2D": _resize,
    "CenterCrop": _resize,
    "ConvTranspose": _conv_transpose,
    **TFOP_SIZE_RULES,  # Binary / Compare broadcasting, MatMul, Stack
    **TEXT_SIZE_RULES,  # CategoryEncoding, Hashing, Lookup, TextVectorization widths
    **ATTN_SIZE_RULES,  # EinsumDense (kernel letters), DotProductAttention
}
#: op -> output index -> rule, for outputs after the first
MORE_OUTPUTS: dict[str, dict[int, Rule]] = {**ATTN_MORE_OUTPUTS}
#: op -> rule of a temporary it holds while it runs, beyond its outputs
WORKSPACE: dict[str, Rule] = {**ATTN_WORKSPACE, **RESIZE_WORKSPACE}
#: Ops whose output holds exactly their input's elements, rearranged.
SAME_SIZE = frozenset({"Flatten", "Reshape", "Permute", "Transpose"})


def _fill(declared: Sequence[int | None], ins: Sequence[Shape], known: dict[int, int], where: str) -> int:
    n = 1
    whole = _product(known.values()) if sorted(known) == list(range(len(known))) else 0
    for axis, d in enumerate(declared):
        if axis in known:
            size = known[axis]
            if d is not None and axis > 1 and d != size:
                raise FormatError(f"{where}: output axis {axis} is {size} on these inputs, but the bundle declares {d}")
        elif d is not None and axis > 0:
            size = d
        elif ins and axis < len(ins[0]):
            size = ins[0][axis]
        else:
            size = max((s[axis] for s in ins if axis < len(s)), default=1)
        n *= max(int(size), 0)
    for axis in known:  # axes the op gives beyond a (lying) declared rank
        if axis >= len(declared):
            n *= max(int(known[axis]), 0)
    return max(n, whole)  # a rule giving the whole shape holds even if the declared rank is lower


def _product(sizes: Any) -> int:
    n = 1
    for d in sizes:
        n *= max(int(d), 0)
    return n


def _rule_sizes(rule: Rule | None, config: dict[str, Any], ins: Sequence[Shape], rank: int) -> dict[int, int]:
    if rule is None or not ins:
        return {}
    try:
        return rule(config, ins, rank)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        return {}  # the op itself will name what is wrong


def output_elements(node: Any, in_shapes: Sequence[Shape]) -> int:
    """The elements ``node``'s outputs will hold on inputs of ``in_shapes`` (see module doc)."""
    where = f"node {node.name!r} ({node.op})"
    if node.op in SAME_SIZE and in_shapes:
        n = 1
        for d in in_shapes[0]:
            n *= int(d)
        return n * max(len(node.out_shapes), 1)
    config = node.op_config or node.config
    if node.op in READS_WEIGHTS:
        config = {**config, "weight_shapes": {k: np.shape(w) for k, w in node.weights.items()}}
    rules = {0: RULES.get(node.op), **MORE_OUTPUTS.get(node.op, {})}
    total = 0
    for k, declared in enumerate(node.out_shapes):
        known = _rule_sizes(rules.get(k), config, in_shapes, len(declared))
        total += _fill(declared, in_shapes, known, where)
    work = _rule_sizes(WORKSPACE.get(node.op), config, in_shapes, 0)
    return total + (_product(work.values()) if work else 0)


__all__ = ["RULES", "SAME_SIZE", "output_elements"]
