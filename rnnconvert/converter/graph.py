"""The graph under construction: its types and the builder that collects the bundle's nodes.

``GraphBuilder`` collects nodes, inputs and weight arrays; a layer converter receives a
``LayerCall`` and returns the layer's output ``Tensor``s, each carrying the Keras mask
that travels with it. Tensors are immutable: a converter gives each output its mask when
it makes the node (``GraphBuilder.node(..., output_masks=...)``) or derives a new tensor
with ``Tensor.with_mask``. Walking Keras configs is ``walker.py``'s job, reading their
dialects ``dialects.py``'s, and the mask rules of a call ``masks.py``'s.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .keras_era import Era

Shape = tuple[int | None, ...]


class Unsupported(Exception):
    """Raised by a layer converter for a layer/option it cannot convert (collected, then reported together)."""


class CodeInModel(Unsupported):
    """A layer that carries or references code (Lambda, custom classes): refused, never executed."""


class BadConfig(Unsupported):
    """A layer config value of the wrong type or out of range (collected, reported as a FormatError)."""


@dataclass(frozen=True)
class Tensor:
    """A value in the graph under construction (immutable)."""

    ref: tuple[str, int]  # (producer name, output index)
    shape: Shape  # with None for the batch and free dims
    dtype: str
    mask: Tensor | None = None  # the Keras mask travelling with this tensor, if any
    placeholder: bool = False  # produced by a layer that failed to convert

    @property
    def rank(self) -> int:
        return len(self.shape)

    def with_mask(self, mask: Tensor | None) -> Tensor:
        """This value carrying ``mask`` instead of its own."""
        return self if mask is self.mask else replace(self, mask=mask)


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass
class LayerCall:
    """One call of one Keras layer: what a converter function receives."""

    name: str
    class_name: str
    config: dict[str, Any]
    weights: list[np.ndarray]
    inputs: list[Tensor]
    kwargs: dict[str, Any]
    era: Era
    call_index: int = 0
    weight_names: list[str] = field(default_factory=list)
    #: Keras 3 functional configs: the mask each input was called with, as recorded
    #: (None where none was); None elsewhere. See ``call_mask``.
    call_masks: list[Tensor | None] | None = None

    def opt(self, key: str, default: Any = None) -> Any:
        return self.config.get(key, default)

    # Typed accessors: a value of the wrong type is a malformed file (BadConfig), never a traceback.
    def int_opt(self, key: str, default: Any = None, *, minimum: int | None = None) -> int:
        value = self.config.get(key, default)
        if isinstance(value, float) and math.isfinite(value) and value == int(value):
            value = int(value)  # Keras 1 configs sometimes write 32.0
        if not isinstance(value, int) or isinstance(value, bool):
            raise BadConfig(f"{key}: expected an integer, got {_describe(value)}")
        if minimum is not None and value < minimum:
            raise BadConfig(f"{key}: expected an integer >= {minimum}, got {value}")
        return value

    def float_opt(self, key: str, default: Any = None) -> float:
        value = self.config.get(key, default)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise BadConfig(f"{key}: expected a finite number, got {_describe(value)}")
        return float(value)

    def bool_opt(self, key: str, default: bool = False) -> bool:
        value = self.config.get(key, default)
        if value is None:
            return default
        if not isinstance(value, (bool, int)):
            raise BadConfig(f"{key}: expected true or false, got {_describe(value)}")
        return bool(value)

    def call_mask(self, k: int = 0) -> Tensor | None:
        """The mask Keras passes to this call for input ``k`` -- what a layer computes
        with. ``inputs[k].mask`` is the mask the tensor carries, which Keras propagates
        to the outputs (``compute_mask``); the two differ when Keras 3 calls a layer
        with several tensors (an RNN given initial states gets no mask)."""
        if self.call_masks is not None:
            return self.call_masks[k] if k < len(self.call_masks) else None
        return self.inputs[k].mask if k < len(self.inputs) else None


ConverterFn = Callable[[LayerCall, "GraphBuilder"], list[Tensor]]


class GraphBuilder:
    """Accumulates the bundle's nodes, inputs, outputs and weight arrays."""

    def __init__(self, *, free_batch: bool = False) -> None:
        #: Write every input's batch dimension as free (see ``walker.build``).
        self.free_batch = free_batch
        self.inputs: list[dict[str, Any]] = []
        self.nodes: list[dict[str, Any]] = []
        self.arrays: dict[str, np.ndarray] = {}
        self._array_ids: dict[str, int] = {}
        self._names: set[str] = set()
        # The next suffix to try per base name / key: keeps naming linear when many share one.
        self._next_name: dict[str, int] = {}
        self._next_key: dict[str, int] = {}

    def unique(self, base: str) -> str:
        base = base or "node"
        name, k = base, self._next_name.get(base, 1)
        if name in self._names:
            name = f"{base}_{k}"
            while name in self._names:
                k += 1
                name = f"{base}_{k}"
            self._next_name[base] = k + 1
        self._names.add(name)
        return name

    def add_input(self, name: str, shape: Shape, dtype: str) -> Tensor:
        name = self.unique(name)
        if self.free_batch and shape:
            shape = (None, *shape[1:])
        self.inputs.append({"name": name, "shape": list(shape), "dtype": dtype})
        return Tensor((name, 0), tuple(shape), dtype)

    def weight(self, key: str, array: np.ndarray) -> str:
        """Register ``array`` under ``key`` (a shared layer's second call reuses its key)."""
        key = re.sub(r"[^A-Za-z0-9_.\-/]", "_", key)
        if key in self.arrays:
            if self._array_ids[key] == id(array) or (
                self.arrays[key].shape == array.shape and np.array_equal(self.arrays[key], array)
            ):
                return key
            base, k = key, self._next_key.get(key, 1)
            while f"{base}_{k}" in self.arrays:
                k += 1
            self._next_key[base] = k + 1
            key = f"{base}_{k}"
        self.arrays[key] = array
        self._array_ids[key] = id(array)
        return key

    def node(
        self,
        op: str,
        *,
        name: str,
        inputs: list[Tensor],
        config: dict[str, Any],
        outputs: list[tuple[Shape, str]],
        weights: dict[str, np.ndarray] | None = None,
        weight_prefix: str | None = None,
        mask: Tensor | None = None,
        initial_state: list[Tensor] | None = None,
        layer: LayerCall | None = None,
        output_masks: Sequence[Tensor | None] | None = None,
        named_inputs: dict[str, Tensor] | None = None,
    ) -> list[Tensor]:
        """Append a node; returns its output tensors.

        ``mask`` is the mask the node computes with (its ``mask`` input); ``output_masks``
        the Keras masks its outputs carry on, one per output (none if omitted);
        ``named_inputs`` the optional inputs its op takes by name (format 1.2: Attention's
        ``query_mask`` / ``value_mask``, MaskedMerge's ``mask_<k>``)."""
        if output_masks is not None and len(output_masks) != len(outputs):
            raise ValueError(f"{len(output_masks)} output masks for {len(outputs)} outputs")
        node_name = self.unique(name)
        prefix = weight_prefix or (layer.name if layer is not None else node_name)
        wmap = {slot: self.weight(f"{prefix}/{slot}", arr) for slot, arr in (weights or {}).items()}
        entry: dict[str, Any] = {
            "name": node_name,
            "op": op,
            "inputs": [list(t.ref) for t in inputs],
            "config": config,
            "weights": wmap,
            "outputs": [{"shape": list(s), "dtype": d} for s, d in outputs],
        }
        if mask is not None:
            entry["mask"] = list(mask.ref)
        if initial_state:
            entry["initial_state"] = [list(t.ref) for t in initial_state]
        if named_inputs:
            entry["named_inputs"] = {key: list(t.ref) for key, t in named_inputs.items()}
        if layer is not None:
            entry["keras"] = {"layer": layer.name, "class_name": layer.class_name}
        self.nodes.append(entry)
        masks = output_masks if output_masks is not None else [None] * len(outputs)
        return [Tensor((node_name, i), tuple(s), d, m) for i, ((s, d), m) in enumerate(zip(outputs, masks))]

    def prune(self, outputs: Sequence[Tensor]) -> list[str]:
        """Drop the nodes no output needs (e.g. a mask nothing consumes) and the arrays
        only they used; returns the dropped node names. Linear in the graph's size."""
        by_name = {n["name"]: n for n in self.nodes}
        needed: set[str] = set()
        stack = [t.ref[0] for t in outputs]
        while stack:
            name = stack.pop()
            if name in needed or name not in by_name:
                continue
            needed.add(name)
            stack.extend(ref[0] for ref in _node_refs(by_name[name]))
        dropped = [n["name"] for n in self.nodes if n["name"] not in needed]
        if dropped:
            self.nodes = [n for n in self.nodes if n["name"] in needed]
            used = {key for n in self.nodes for key in n["weights"].values()}
            self.arrays = {k: a for k, a in self.arrays.items() if k in used}
        return dropped


def _node_refs(node: dict[str, Any]) -> list[list[Any]]:
    """Every tensor reference a node entry reads: inputs, mask, initial states, named inputs."""
    refs = list(node.get("inputs", []))
    if node.get("mask") is not None:
        refs.append(node["mask"])
    refs += node.get("initial_state") or []
    refs += list((node.get("named_inputs") or {}).values())
    return [r for r in refs if isinstance(r, list) and r]
