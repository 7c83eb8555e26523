"""Converters for Flatten, Reshape, Permute, RepeatVector."""

from __future__ import annotations

import math

from ..graph import GraphBuilder, LayerCall, Tensor, Unsupported
from .common import known, one_input


def convert_flatten(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = one_input(call)
    if call.opt("data_format", "channels_last") not in (None, "channels_last"):
        raise Unsupported("data_format channels_first")
    rest = x.shape[1:]
    n = None if (k := known(rest)) is None else math.prod(k)
    return b.node("Flatten", name=call.name, inputs=[x], config={}, outputs=[((x.shape[0], n), "float32")], layer=call)


def convert_reshape(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = one_input(call)
    target = [int(d) for d in call.opt("target_shape")]
    known_size = None if (k := known(x.shape[1:])) is None else math.prod(k)
    shape: list[int | None] = list(target)
    if -1 in target:
        rest = math.prod(d for d in target if d != -1)
        shape[target.index(-1)] = None if known_size is None else known_size // rest
    return b.node(
        "Reshape",
        name=call.name,
        inputs=[x],
        config={"target_shape": target},
        outputs=[((x.shape[0], *shape), x.dtype)],
        layer=call,
    )


def convert_permute(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = one_input(call)
    dims = [int(d) for d in call.opt("dims")]
    shape = (x.shape[0], *(x.shape[d] for d in dims))
    return b.node("Permute", name=call.name, inputs=[x], config={"dims": dims}, outputs=[(shape, x.dtype)], layer=call)


def convert_repeat_vector(call: LayerCall, b: GraphBuilder) -> list[Tensor]:
    x = one_input(call)
    n = call.int_opt("n")
    return b.node(
        "RepeatVector",
        name=call.name,
        inputs=[x],
        config={"n": n},
        outputs=[((x.shape[0], n, x.shape[1]), "float32")],
        layer=call,
    )
