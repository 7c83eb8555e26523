"""Per-layer weight lists read out of HDF5, in the order Keras's ``get_weights()`` gives.

Two layouts exist:

* legacy (Keras 1, 2, tf_keras, Keras 3's ``.h5`` writer): a group per layer named
  in the ``layer_names`` attribute, whose ``weight_names`` attribute lists the
  datasets in ``get_weights()`` order;
* Keras 3 (``model.weights.h5`` in a ``.keras`` zip, ``*.weights.h5``): a group per
  layer under ``layers/``, with numbered datasets under ``vars/`` and nested
  objects (an RNN's ``cell``, a Bidirectional's ``forward_layer``...) as sub-groups.

Both are read through :mod:`.h5safe`: hard links only, each dataset checked (storage in the
file, standard filters, numeric dtype) and handed out as a lazy :class:`~.h5safe.H5Array`
whose values are read only once a layer converter has checked its declared shape. The file
stays open until the :class:`~..KerasSource` is closed.
"""

from __future__ import annotations

import re
from typing import Any, cast

import h5py
import numpy as np

from ...errors import FormatError, ResourceError
from .access import as_dict, as_list, get_str, layers_of
from .h5safe import H5Array, Visited, child, has, has_path, resolve

MAX_TOTAL_WEIGHT_BYTES = 16 << 30

# A layer's weights in get_weights() order, each with the name the file gives it; the arrays
# are lazy (read on np.asarray, after a converter checked the shape).
Named = list[tuple[str, H5Array]]


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _names(attr: Any) -> list[str]:
    if attr is None:
        return []
    return [_text(v) for v in np.asarray(attr).ravel().tolist()] if np.asarray(attr).size else []


def has_names(obj: Any, name: str) -> bool:
    return name in obj.attrs or f"{name}0" in obj.attrs


def names_attr(obj: Any, name: str) -> list[str]:
    """A list attribute as Keras writes it: whole, or (over 64 KiB) split into
    ``name0``, ``name1``, … (``save_attributes_to_hdf5_group``, Keras 2.1+ and tf_keras)."""
    if name in obj.attrs:
        return _names(obj.attrs[name])
    out: list[str] = []
    k = 0
    while f"{name}{k}" in obj.attrs:
        out += _names(obj.attrs[f"{name}{k}"])
        k += 1
    return out


class _Budget:
    """The declared bytes of every weight handed out, bounded before any is read."""

    def __init__(self, where: str, limit: int = MAX_TOTAL_WEIGHT_BYTES):
        self.where, self.limit, self.used = where, limit, 0

    def read(self, dataset: Any, label: str) -> H5Array:
        arr = H5Array(dataset, label, self.where)
        self.used += arr.nbytes
        if self.used > self.limit:
            raise ResourceError(f"{self.where}: weights exceed the {self.limit}-byte bound")
        return arr


class WeightStore:
    """Weights by layer name; ``get`` returns ``get_weights()``-ordered arrays."""

    def __init__(
        self,
        layers: dict[str, Named],
        layout: str,
        nested: dict[str, WeightStore] | None = None,
        shared: dict[str, Named] | None = None,
    ):
        self._layers = layers
        self.layout = layout  # "legacy" | "keras3"
        self._nested = nested or {}
        # Every layer of the file by name, at any nesting depth: Keras 3 saves a layer
        # shared between a nested model and its outer model once, where it first meets
        # it, and leaves the other place without a group.
        self._shared = shared if shared is not None else {}

    def _items(self, layer: str) -> Named:
        if layer in self._layers:
            return self._layers[layer]
        return self._shared.get(layer, [])

    def nested(self, layer: str, model_name: str, owners: dict[str, list[str]] | None = None) -> WeightStore:
        """The weights of a model used as a layer, by its own sublayers' names.

        Keras 3 files keep a sub-tree per nested model. Legacy files list the nested
        model as one layer whose weight names start with the name of the layer that made
        them -- the innermost one, a model nested deeper is not named -- after the model's
        own name in Keras 3's legacy writer. ``owners`` maps each sublayer to the names
        its weights may start with (see ``graph._weight_owners``); Keras 1 names have no
        ``/`` (``lstm_1_W_i:0``) and belong to the longest ``<name>_`` prefix.
        """
        if layer in self._nested:
            return self._nested[layer]
        owners = owners or {}
        by_first = {n: sub for sub, ns in owners.items() for n in reversed(ns)}
        by_first.update({sub: sub for sub in owners})  # a sublayer's own name wins
        by_sub: dict[str, Named] = {}
        for wname, arr in self._layers.get(layer, []):
            parts = wname.split("/")
            if len(parts) > 2 and parts[0] == model_name:
                parts = parts[1:]
            owner = by_first.get(parts[0], parts[0])
            if len(parts) == 1:
                hits = [(len(n), sub) for sub, ns in owners.items() for n in ns if wname.startswith(f"{n}_")]
                owner = max(hits)[1] if hits else owner
            by_sub.setdefault(owner, []).append(("/".join(parts), arr))
        return WeightStore(by_sub, self.layout)

    def has(self, layer: str) -> bool:
        return layer in self._layers

    def names(self, layer: str) -> list[str]:
        return [n for n, _ in self._items(layer)]

    def get(self, layer: str) -> list[np.ndarray]:
        # The converters take these as arrays: an H5Array has their shape, dtype, ndim and
        # len, and gives its values to np.asarray once the converter has checked the shape.
        return cast("list[np.ndarray]", [a for _, a in self._items(layer)])

    def named(self, layer: str) -> Named:
        return list(self._items(layer))

    def layer_names(self) -> list[str]:
        return list(self._layers)


def read_legacy_weights(group: Any, where: str) -> WeightStore:
    """``group`` has a ``layer_names`` attribute (``model_weights`` of a full model, or the root of a weights file)."""
    budget = _Budget(where)
    layers: dict[str, Named] = {}
    for lname in names_attr(group, "layer_names"):
        if not has_path(group, lname):
            raise FormatError(f"{where}: layer {lname!r} is listed in layer_names but has no weight group")
        g = resolve(group, lname, where)
        items = []
        for wname in names_attr(g, "weight_names"):
            if not has_path(g, wname):
                raise FormatError(f"{where}: layer {lname!r}: weight {wname!r} is listed but missing")
            items.append((wname, budget.read(resolve(g, wname, f"{where}: layer {lname!r}"), f"{lname}/{wname}")))
        layers[lname] = items
    return WeightStore(layers, "legacy")


_NUM = re.compile(r"(\d+)")
# Children of a Keras 3 object in the order its get_weights() lists them; the rest follow, naturally sorted.
_CHILD_ORDER = ["vars", "cell", "forward_layer", "backward_layer", "layer", "cells"]


def _natural(key: str) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in _NUM.split(key)]


def _stacked_cell_keys(cfg: Any) -> list[str] | None:
    """Group names Keras 3 gives the cells of a StackedRNNCells (snake_case class name plus a
    counter), in the config's order -- the order get_weights() lists them in."""
    if isinstance(cfg, dict):
        if cfg.get("class_name") == "StackedRNNCells":
            counters: dict[str, int] = {}
            keys = []
            cells = as_list(as_dict(cfg.get("config"), "StackedRNNCells config").get("cells"), "StackedRNNCells cells")
            for c in cells:
                base = snake_case(
                    get_str(as_dict(c, "StackedRNNCells cell"), "class_name", "StackedRNNCells cell") or ""
                )
                n = counters.get(base, 0)
                counters[base] = n + 1
                keys.append(base if n == 0 else f"{base}_{n}")
            return keys
        for v in cfg.values():
            found = _stacked_cell_keys(v)
            if found:
                return found
    elif isinstance(cfg, list):
        for v in cfg:
            found = _stacked_cell_keys(v)
            if found:
                return found
    return None


def _flatten_k3(group: Any, prefix: str, budget: _Budget, seen: Visited, cells: list[str] | None = None) -> Named:
    out: Named = []
    if not seen.first(group):  # a hard link back to a group already read: each object once
        raise FormatError(f"{budget.where}: group {prefix!r} is linked from more than one place")
    keys = list(group.keys())
    if cells is not None and prefix.endswith("cells/") and set(keys) == set(cells):
        ordered = list(cells)
    else:
        ordered = [k for k in _CHILD_ORDER if k in keys] + sorted(
            (k for k in keys if k not in _CHILD_ORDER), key=_natural
        )
    for key in ordered:
        item = child(group, key, f"{budget.where}: {prefix}")
        if key == "vars" and isinstance(item, h5py.Group):
            for idx in sorted(item.keys(), key=_natural):
                label = f"{prefix}vars/{idx}"
                out.append((label, budget.read(child(item, idx, f"{budget.where}: {label}"), label)))
        elif isinstance(item, h5py.Group):
            out.extend(_flatten_k3(item, f"{prefix}{key}/", budget, seen, cells))
    return out


def snake_case(name: str) -> str:
    """Keras 3's ``naming.to_snake_case`` (used to name object groups in ``.keras`` files)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()
    return name


def read_keras3_weights(
    root: Any,
    layers_config: list[dict[str, Any]],
    where: str,
    *,
    sequential: bool,
    _budget: _Budget | None = None,
    _shared: dict[str, Named] | None = None,
    _seen: Visited | None = None,
) -> WeightStore:
    """Map each configured layer to its group under ``layers/`` and flatten it.

    A group's ``vars`` carries the layer's name as an attribute in current Keras 3;
    older files are matched the way Keras names them: snake_case class name plus a
    counter, in ``model.layers`` order (a layer saved elsewhere still takes its number).
    Nested models are read recursively, sharing the byte budget and the by-name index.
    """
    budget = _budget or _Budget(where)
    shared = _shared if _shared is not None else {}
    seen = _seen or Visited()
    if not has(root, "layers"):
        return WeightStore({}, "keras3", shared=shared)
    groups = child(root, "layers", where)
    if not isinstance(groups, h5py.Group):
        raise FormatError(f"{where}: 'layers' is not a group")
    by_attr: dict[str, str] = {}
    for key in groups.keys():
        g = child(groups, key, f"{where}: layers")
        if isinstance(g, h5py.Group) and has(g, "vars"):
            v = child(g, "vars", f"{where}: layers/{key}")
            if "name" in v.attrs:
                by_attr[_text(v.attrs["name"])] = key
    claimed = set(by_attr.values())
    counters: dict[str, int] = {}
    layers: dict[str, Named] = {}
    nested: dict[str, WeightStore] = {}
    for i, raw in enumerate(layers_config):
        at = f"{where}: layer config {i}"
        lc = as_dict(raw, at, allow_none=False)
        cls = get_str(lc, "class_name", at) or ""
        inner_cfg = lc.get("config")
        inner = {} if cls == "Sequential" and isinstance(inner_cfg, list) else as_dict(inner_cfg, f"{at}: config")
        name = get_str(inner, "name", f"{at}: config", None) or get_str(lc, "name", at) or ""
        if sequential and cls == "InputLayer":
            continue
        base = snake_case(cls)
        n = counters.get(base, 0)
        counters[base] = n + 1
        key = by_attr.get(name) if name else None
        if key is None:
            key = base if n == 0 else f"{base}_{n}"
            if key in claimed:  # the group a named layer owns (a config op may share its class)
                continue
        if not has(groups, key):
            continue
        g = child(groups, key, f"{where}: layers")
        if not isinstance(g, h5py.Group):
            raise FormatError(f"{where}: layers/{key} is not a group")
        if cls in ("Sequential", "Functional", "Model") and has(g, "layers"):
            inner_layers = layers_of(lc, f"{where}: layer {name!r}")
            nested[name] = read_keras3_weights(
                g, inner_layers, where, sequential=cls == "Sequential", _budget=budget, _shared=shared, _seen=seen
            )
        else:
            layers[name] = _flatten_k3(g, "", budget, seen, _stacked_cell_keys(lc.get("config")))
            shared.setdefault(name, layers[name])
    return WeightStore(layers, "keras3", nested, shared)
