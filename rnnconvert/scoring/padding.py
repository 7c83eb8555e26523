"""Does padding change a bundle's outputs? The test behind per-batch padding and ``--bucket``.

A model is *padding-invariant* when adding or removing padding steps (the padding value, on
the padding side) never changes its outputs: every path from a padded input to an output
either works step by step (Dense, Embedding, activations over features...) or goes through an
op that skips the steps its mask marks as padding, with a mask that does mark them (from
``Masking`` / ``Embedding(mask_zero=True)`` on that very input, with the padding value). Then a
batch may be padded only to its own longest row and the numbers are those of full padding.

The analysis walks ``model.json`` once, tracking what each tensor is:

* ``CLEAN``: independent of the padding (an input without a free time axis, final states).
* ``RAW``: the padded input itself -- padding steps hold exactly the padding value.
* ``POS``: has the time axis; real steps do not depend on the padding, padding steps may.
* ``MASK``: a (B, T) mask that is false on every padding step; ``MASKEL`` the same before
  the reduction over features (Keras 3 records ``Masking`` as ``NotEqual`` + ``Any``).
* ``FOLDED``: a ``POS`` tensor folded to ``(B*T, ...)`` (TimeDistributed): each row is one step,
  and every op keeps batch rows apart, so whatever runs on it stays per step until ``UnfoldTime``.
* ``DIRTY``: real values may depend on the padding.

``POS``/``RAW``/``MASK`` carry an orientation, +1 or -1 (after ``Reverse`` or a
``go_backwards`` scan the padding is at the other end); mixing orientations is ``DIRTY``.
Anything not known to be safe is ``DIRTY``: the analysis may refuse a model that would have
been fine, never the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CLEAN, RAW, POS, MASK, MASKEL, FOLDED, DIRTY = "clean", "raw", "pos", "mask", "maskel", "folded", "dirty"
Kind = tuple[str, int]  # (category, orientation)

_RECURRENT = {"LSTM", "GRU", "SimpleRNN"}
# Ops whose every output step depends only on the same step of their inputs.
_PER_STEP = {"Dense", "Embedding", "PReLU", "BatchNormalization", "ZeroMasked", "MaskedMerge", "FillLike"}


@dataclass(frozen=True)
class Verdict:
    """``ok`` if per-batch padding gives the numbers of full padding; else ``reason`` says why not."""

    ok: bool
    reason: str = ""


def analyse(doc: dict[str, Any], value: float) -> Verdict:
    """Whether the bundle ``doc`` (model.json) is padding-invariant for padding ``value``.

    Example:
        >>> analyse(model.doc, 0.0).ok      # doctest: +SKIP
        True
    """
    kinds: dict[tuple[str, int], Kind] = {}
    seq_inputs = []
    for spec in doc["inputs"]:
        shape = spec["shape"]
        if len(shape) >= 2 and shape[1] is None:
            kinds[(spec["name"], 0)] = (RAW, 1)
            seq_inputs.append(spec["name"])
        else:
            kinds[(spec["name"], 0)] = (CLEAN, 1)
    if not seq_inputs:
        return Verdict(False, "no input has a free time axis")
    if any(n.get("config", {}).get("stateful") for n in doc["nodes"]):
        return Verdict(False, "the model is stateful")
    first_dirty = ""  # the first node whose outputs depend on the padding, for the message
    for node in doc["nodes"]:
        ins = [kinds[tuple(r)] for r in node["inputs"]]
        ins += [kinds[tuple(r)] for r in (node.get("named_inputs") or {}).values()]  # format 1.2 (F4)
        mask = kinds[tuple(node["mask"])] if node.get("mask") else None
        init = [kinds[tuple(r)] for r in node.get("initial_state") or []]
        outs = (
            _node_kinds(node, ins, mask, value)
            if all(c == CLEAN for c, _ in init)
            else [(DIRTY, 0)] * max(1, len(node.get("outputs") or []))
        )
        for i, kind in enumerate(outs):
            kinds[(node["name"], i)] = kind
        if not first_dirty and outs[0][0] == DIRTY:
            first_dirty = node["name"]
    for spec in doc["outputs"]:
        cat = kinds[tuple(spec["from"])][0]
        if cat != CLEAN:
            where = first_dirty
            why = (
                f"output {spec['name']!r} has a time axis"
                if cat != DIRTY
                else f"output {spec['name']!r} depends on the padding"
                + (f" (from node {where!r}: not masked, or not step by step)" if where else "")
            )
            return Verdict(False, why)
    return Verdict(True)


def _orientation(kinds: list[Kind]) -> int | None:
    """The common orientation of the time-carrying kinds, None if they disagree."""
    found = {o for c, o in kinds if c not in (CLEAN, DIRTY)}
    return found.pop() if len(found) == 1 else (1 if not found else None)


def _node_kinds(node: dict[str, Any], ins: list[Kind], mask: Kind | None, value: float) -> list[Kind]:
    op = node["op"]
    config = node.get("config", {})
    n_out = len(node.get("outputs", [])) or 1
    all_kinds = ins + ([mask] if mask else [])
    if all(c == CLEAN for c, _ in all_kinds):
        return [(CLEAN, 1)] * n_out
    if any(c == DIRTY for c, _ in all_kinds):
        return [(DIRTY, 0)] * n_out
    o = _orientation(all_kinds)
    if o is None:
        return [(DIRTY, 0)] * n_out
    rank = len(node["outputs"][0]["shape"]) if node.get("outputs") else 0
    if op == "FoldTime":
        return [(FOLDED, o)]
    if op == "UnfoldTime":
        return [(POS, o) if ins[0][0] in (FOLDED, CLEAN) else (DIRTY, 0)]
    if any(c == FOLDED for c, _ in all_kinds):
        return [(FOLDED, o) if all(c in (FOLDED, CLEAN) for c, _ in all_kinds) else (DIRTY, 0)] * n_out
    if op in _RECURRENT:
        return _recurrent(node, ins, mask, o, n_out)
    if op == "GlobalPool1D":
        ok = config.get("mode") == "average" and mask is not None and mask == (MASK, o) and ins[0][0] != RAW
        return [(CLEAN, 1) if ok and not config.get("keepdims") else (DIRTY, 0)]
    if op == "Reverse":
        flip = -o if _axis(config.get("axis"), rank) == 1 else o
        return [(ins[0][0], flip)]
    if op in _MASK_OPS:
        return _mask_kinds(op, config, ins, o, rank, value)
    if op == "Lookup":
        return [_lookup_kind(config, ins[0], o, value)]
    return [_step_kind(op, config, o, rank)] * n_out


_MASK_OPS = {"NotEqualMask", "Masking", "ReduceAny", "LogicalAnd", "LogicalOr"}


def _mask_kinds(op: str, config: dict[str, Any], ins: list[Kind], o: int, rank: int, value: float) -> list[Kind]:
    """Ops that make or combine masks: is the result still false on every padding step?"""
    if op == "NotEqualMask":
        if ins[0][0] == RAW and float(config.get("value", 0)) == float(value):
            return [(MASK if rank == 2 else MASKEL, o)]
        return [(POS, o)]
    if op == "Masking":
        is_mask = ins[0][0] == RAW and float(config.get("mask_value", 0)) == float(value)
        return [(POS, o), (MASK if is_mask else POS, o)]
    if op == "ReduceAny":
        if _axis(config.get("axis"), rank + (0 if config.get("keepdims") else 1)) == 1:
            return [(DIRTY, 0)]
        return [(MASK, o) if ins[0][0] in (MASKEL, MASK) and rank == 2 else (POS, o)]
    cats = [c for c, _ in ins]
    is_mask = (MASK in cats) if op == "LogicalAnd" else all(c == MASK for c in cats)  # false AND x is false
    return [(MASK if is_mask else POS, o)]


def _lookup_kind(config: dict[str, Any], kind: Kind, o: int, value: float) -> Kind:
    """A ``Lookup`` (5.48) with ``int`` output works token by token. Text is padded with "" (the
    scoring pads string sequences so), which a ``mask_token`` of "" maps to index 0: the ids are
    then padded with 0, exactly what a mask with ``--value`` 0 expects downstream."""
    if config.get("output_mode") != "int":
        return (DIRTY, 0)  # the other modes sum over the last axis, the time axis of a (B, T) input
    text_mask = config.get("key_dtype") == "string" and config.get("mask_token") == ""
    if kind[0] == RAW and text_mask and float(value) == 0.0:
        return (RAW, o)
    return (POS, o)


def _step_kind(op: str, config: dict[str, Any], o: int, rank: int) -> Kind:
    """Ops that work step by step, unless their config reaches along the time axis."""
    if op == "Merge":
        along_time = config.get("mode") == "concat" and _axis(config.get("axis"), rank) == 1
        return (DIRTY, 0) if along_time else (POS, o)
    if op == "ExpandDims":
        return (DIRTY, 0) if _axis(config.get("axis"), rank) <= 1 else (POS, o)
    if op in ("Activation", "Dense"):
        return (POS, o) if _activation_per_step(config.get("activation"), rank) else (DIRTY, 0)
    if op == "LayerNormalization":
        axes = config.get("axis", -1)
        axes = axes if isinstance(axes, list) else [axes]
        return (DIRTY, 0) if any(_axis(a, rank) <= 1 for a in axes) else (POS, o)
    return (POS, o) if op in _PER_STEP else (DIRTY, 0)


def _recurrent(node: dict[str, Any], ins: list[Kind], mask: Kind | None, o: int, n_out: int) -> list[Kind]:
    config = node.get("config", {})
    data, states = ins[0], ins[1:]
    if data[0] == CLEAN:
        return [(CLEAN, 1)] * n_out
    if mask != (MASK, data[1]) or any(c != CLEAN for c, _ in states):
        return [(DIRTY, 0)] * n_out
    first: Kind = (CLEAN, 1)
    if config.get("return_sequences"):
        first = (POS, -o if config.get("go_backwards") else o)
    return [first] + [(CLEAN, 1)] * (n_out - 1)


def _axis(axis: Any, rank: int) -> int:
    if not isinstance(axis, int):
        return 1  # unknown: assume the worst (the time axis)
    return axis + rank if axis < 0 else axis


def _activation_per_step(act: Any, rank: int) -> bool:
    if not isinstance(act, dict) or "axis" not in act:
        return True
    axes = act["axis"] if isinstance(act["axis"], list) else [act["axis"]]
    return all(_axis(a, rank) != 1 for a in axes)


def batch_dependence(doc: dict[str, Any]) -> str:
    """Why a row's outputs depend on the rows that share its batch, or "" when they do not.

    A ``TextVectorization`` with ``int`` output and no ``output_sequence_length`` pads each
    call's token rows with 0 to that call's longest text (FORMAT.md 5.49), in Keras as here.
    That padding is harmless only when every path from it to an output is padding-invariant
    (a ``mask_zero`` Embedding feeding masked recurrent layers): :func:`analyse` on the graph
    with those nodes' outputs as post-padded inputs (padding value 0) tells.
    """
    free = [
        n
        for n in doc["nodes"]
        if n.get("op") == "TextVectorization"
        and n.get("config", {}).get("output_mode") == "int"
        and n.get("config", {}).get("output_sequence_length") is None
    ]
    if not free:
        return ""
    names = {n["name"] for n in free}
    inputs = [{"name": i["name"], "shape": [d if d is not None else 1 for d in i["shape"]]} for i in doc["inputs"]]
    inputs += [{"name": n["name"], "shape": [None, None]} for n in free]
    sub = {"inputs": inputs, "nodes": [n for n in doc["nodes"] if n["name"] not in names], "outputs": doc["outputs"]}
    verdict = analyse(sub, 0.0)
    if verdict.ok:
        return ""
    return (
        f"TextVectorization {sorted(names)} pad(s) each batch to its longest text (no output_sequence_length) "
        f"and {verdict.reason}: a row's outputs depend on the rows batched with it, as in Keras"
    )
