"""tf.keras / tf_keras SavedModel folders (``model.save("dir")``), read without TensorFlow.

A folder holds ``saved_model.pb`` (TensorFlow graphs, never read here), ``keras_metadata.pb`` and
``variables/variables.index`` + ``variables/variables.data-*``. Three things are read:

* the Keras config: ``keras_metadata.pb`` is a SavedMetadata message (field 1: nodes; each node
  has node_id 2, node_path 3, identifier 4, metadata 5, a JSON text); the root node's JSON
  carries ``model_config`` (``{"class_name", "config"}``) and ``keras_version``;
* the checkpoint's object graph: the scalar string tensor ``_CHECKPOINTABLE_OBJECT_GRAPH``, a
  TrackableObjectGraph (field 1: nodes; each node has children 1 = (node_id 1, local_name 2)
  and attributes 2 = (name 1, full_name 2, checkpoint_key 3));
* the variables, through the graph: the model node's ``layer-N`` children are ``model.layers``
  in order, and each layer's ``variables`` child lists its variables in ``layer.weights`` order
  (``"0"``, ``"1"``, ...), each with the checkpoint key of its value. A layer's name comes from
  the keras_metadata node whose path leads to the same object.

The weights then form the same legacy-layout :class:`~.weights.WeightStore` an ``.h5`` gives
(names ``<variable name>:0``, lazy, shape-checked by the converters before they are read).
Only regular files inside the folder are opened (a symlink is refused, so nothing outside the
folder is read); every size is bounded before it is read (see :mod:`.tensorbundle`).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from ...errors import FormatError, InputError, ResourceError, SecurityError
from . import MAX_CONFIG_BYTES, KerasSource, parse_config_json
from .protowire import fields, many, one, text
from .tensorbundle import Bundle, BundleArray, read_at, regular
from .weights import MAX_TOTAL_WEIGHT_BYTES, WeightStore

MAX_METADATA_BYTES = MAX_CONFIG_BYTES  # every layer's JSON, each also holding its config
MAX_NODES = 1 << 20
_LAYER = re.compile(r"layer-(\d+)")
NOT_WEIGHTS = {"_random_generator", "_generator", "keras_api", "signatures"}
RESAVE = "model.save('model.keras')\nrnnconvert model.keras OUT_DIR"  # the two lines that convert it instead


def is_saved_model(path: Path) -> bool:
    """A directory with ``saved_model.pb`` (or ``.pbtxt``)."""
    return path.is_dir() and any((path / n).is_file() for n in ("saved_model.pb", "saved_model.pbtxt"))


def _node_json(raw: bytes, where: str) -> dict[str, Any]:
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise FormatError(f"{where}: metadata is not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise FormatError(f"{where}: metadata is not a JSON object")
    return doc


def read_keras_metadata(folder: Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The root node's metadata and every node's (node path -> metadata JSON)."""
    path = folder / "keras_metadata.pb"
    where = str(path)
    size = regular(path, str(folder))
    if size > MAX_METADATA_BYTES:
        raise ResourceError(f"{where}: {size} bytes, over the {MAX_METADATA_BYTES}-byte bound")
    raw = read_at(path, 0, size)
    nodes = many(fields(raw, where), 1, where)
    if len(nodes) > MAX_NODES:
        raise ResourceError(f"{where}: {len(nodes)} nodes")
    by_path: dict[str, dict[str, Any]] = {}
    for i, node in enumerate(nodes):
        at = f"{where}: node {i}"
        msg = fields(node, at)
        node_path = text(msg, 3, at)
        if node_path in by_path:
            raise FormatError(f"{at}: node path {node_path!r} appears twice")
        by_path[node_path] = _node_json(one(msg, 5, bytes, at, b"{}"), f"{at} ({node_path})")
    if "root" not in by_path:
        raise FormatError(f"{where}: no root node")
    return by_path["root"], by_path


MAX_DEPTH = 200


def untuple(value: Any, where: str, depth: int = 0) -> Any:
    """The config as an ``.h5`` holds it: the SavedModel's JSON encoder writes each tuple as
    ``{"class_name": "__tuple__", "items": [...]}`` and each TensorShape as
    ``{"class_name": "TensorShape", "items": [...]}``; both become lists (JSON's own tuples)."""
    if depth > MAX_DEPTH:
        raise FormatError(f"{where}: the model config nests deeper than {MAX_DEPTH} levels")
    if isinstance(value, list):
        return [untuple(v, where, depth + 1) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"class_name", "items"} and value["class_name"] in ("__tuple__", "TensorShape"):
        items = value["items"]
        return None if items is None else untuple(items, where, depth + 1)
    return {k: untuple(v, where, depth + 1) for k, v in value.items()}


def _model_config(root: dict[str, Any], where: str) -> dict[str, Any]:
    cfg = root.get("model_config")
    if not isinstance(cfg, dict):
        if root.get("config") is None or "class_name" not in root:
            raise FormatError(
                f"{where}: the model records no config (a subclassed model: its architecture is Python code); "
                "rebuild it in Keras and save it as .h5 or .keras"
            )
        cfg = {"class_name": root["class_name"], "config": root["config"]}
    return parse_config_json(json.dumps(untuple(cfg, where)).encode(), where)


class ObjectGraph:
    """The checkpoint's TrackableObjectGraph: each node's children and saved attributes."""

    def __init__(self, raw: bytes, where: str):
        self.where = where
        self.children: list[dict[str, int]] = []
        self.values: list[tuple[str, str] | None] = []  # (full_name, checkpoint_key) of a variable
        nodes = many(fields(raw, where), 1, where)
        if len(nodes) > MAX_NODES:
            raise ResourceError(f"{where}: {len(nodes)} objects in the checkpoint graph")
        for i, node in enumerate(nodes):
            at = f"{where}: object {i}"
            msg = fields(node, at)
            kids: dict[str, int] = {}
            for ref in many(msg, 1, at):
                r = fields(ref, at)
                kids.setdefault(text(r, 2, at), one(r, 1, int, at, 0))
            self.children.append(kids)
            value = None
            for attr in many(msg, 2, at):
                a = fields(attr, at)
                if text(a, 1, at) == "VARIABLE_VALUE":
                    value = (text(a, 2, at), text(a, 3, at))
            self.values.append(value)
        for kids in self.children:
            if any(not 0 <= k < len(nodes) for k in kids.values()):
                raise FormatError(f"{where}: a child reference points past the {len(nodes)} objects")

    def child(self, node: int, name: str) -> int | None:
        return self.children[node].get(name)

    def resolve(self, node_path: str) -> int | None:
        """The object a keras_metadata path (``root.layer-1.cell``) names."""
        parts = node_path.split(".")
        node: int | None = 0 if parts[0] == "root" else None
        for part in parts[1:]:
            if node is None:
                return None
            node = self.child(node, part)
        return node


def _tracked_variables(graph: ObjectGraph, node: int) -> list[int]:
    """A layer's variables without its ``variables`` list (a ``save_traces=False`` folder): its
    attribute children depth first, in the order the layer tracked them (the order it created its
    weights: ``kernel``, ``bias``; an RNN's ``cell``; a Bidirectional's ``forward_layer`` then
    ``backward_layer``; MultiHeadAttention's ``_query_dense``...), each object once; the random
    generator's state is not a weight and is skipped."""
    out: list[int] = []
    seen = {node}
    stack = [node]
    while stack:
        current = stack.pop()
        if graph.values[current] is not None:
            out.append(current)
            continue
        kids = [k for name, k in graph.children[current].items() if name not in NOT_WEIGHTS and k not in seen]
        seen.update(kids)
        stack.extend(reversed(kids))
    return out


def _layer_weights(graph: ObjectGraph, bundle: Bundle, node: int, name: str) -> list[tuple[str, BundleArray]]:
    """The layer's variables in ``layer.weights`` order: its ``variables`` list when the folder
    has one (a default save), else its tracked attributes."""
    var_list = graph.child(node, "variables")
    if var_list is None:
        variables = _tracked_variables(graph, node)
    else:
        items = graph.children[var_list].items()
        variables = [v for _, v in sorted(((int(k), v) for k, v in items if k.isdigit()), key=lambda t: t[0])]
    out = []
    for var in variables:
        value = graph.values[var]
        if value is None:
            raise FormatError(f"{graph.where}: layer {name!r}: a variable has no saved value in the checkpoint")
        full_name, key = value
        label = f"{full_name}:0"
        out.append((label, bundle.array(key, f"{name}/{label}")))
    return out


def _names(graph: ObjectGraph, by_path: dict[str, dict[str, Any]]) -> dict[int, str]:
    """Checkpoint object -> layer name, through the keras_metadata paths that lead to it."""
    names: dict[int, str] = {}
    for node_path, md in by_path.items():
        node = graph.resolve(node_path)
        if node is not None and isinstance(md.get("name"), str):
            names.setdefault(node, md["name"])
    return names


def read_weights(folder: Path, by_path: dict[str, dict[str, Any]]) -> tuple[WeightStore, Bundle]:
    """Each of the model's layers (``layer-N`` in order) -> its variables."""
    where = f"{folder}/variables"
    bundle = Bundle(folder / "variables" / "variables", where)
    graph = ObjectGraph(bundle.string("_CHECKPOINTABLE_OBJECT_GRAPH"), f"{where}: object graph")
    if not graph.children:
        raise FormatError(f"{where}: the checkpoint's object graph is empty")
    names = _names(graph, by_path)
    ordered = sorted(
        ((int(m.group(1)), node) for k, node in graph.children[0].items() if (m := _LAYER.fullmatch(k))),
        key=lambda t: t[0],
    )
    layers: dict[str, list[tuple[str, Any]]] = {}
    total = 0
    for _, node in ordered:
        name = names.get(node)
        if name is None:
            raise FormatError(f"{where}: a layer of the checkpoint has no keras_metadata entry")
        if name in layers:
            raise FormatError(f"{where}: two layers named {name!r}")
        layers[name] = _layer_weights(graph, bundle, node, name)
        total += sum(a.nbytes for _, a in layers[name])
        if total > MAX_TOTAL_WEIGHT_BYTES:
            raise ResourceError(f"{where}: weights exceed the {MAX_TOTAL_WEIGHT_BYTES}-byte bound")
    return WeightStore(layers, "legacy"), bundle


def _digest(files: list[Path]) -> str:
    """One SHA-256 over the files read (each as its name, size and own digest)."""
    h = hashlib.sha256()
    for p in files:
        fh = hashlib.sha256()
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                fh.update(block)
        h.update(f"{p.name}\0{p.stat().st_size}\0{fh.hexdigest()}\n".encode())
    return h.hexdigest()


OLD_TF_KERAS = b"_tf_keras_"  # identifiers tf.keras gives its objects in saved_model.pb
MAX_SCAN = 64 << 20


def _old_tf_keras(folder: Path) -> bool:
    """Whether saved_model.pb names tf.keras objects (TensorFlow < 2.5 kept the Keras metadata there)."""
    path = folder / "saved_model.pb"
    try:
        if path.is_symlink() or not path.is_file():
            return False
        with open(path, "rb") as f:
            return OLD_TF_KERAS in f.read(MAX_SCAN)
    except OSError:
        return False


def refuse_export(folder: Path) -> None:
    """A SavedModel without keras_metadata.pb (Keras 3's ``model.export()``, plain TensorFlow,
    or tf.keras before TensorFlow 2.5)."""
    if _old_tf_keras(folder):
        raise InputError(
            f"{folder}: a tf.keras SavedModel written before TensorFlow 2.5 (no keras_metadata.pb; its Keras config "
            "lives inside saved_model.pb, which is not read); load it with that tf.keras and save it as .h5: "
            "model.save('model.h5'); then: rnnconvert model.h5 OUT_DIR"
        )
    raise InputError(
        f"{folder}: a TensorFlow SavedModel folder without a Keras config (Keras 3's model.export() or plain "
        f"TensorFlow); it holds graphs, not layers. Re-save the original Keras model as .keras (with the Keras that made it) "
        f"and convert that: "
        f"{RESAVE.splitlines()[0]}; then: {RESAVE.splitlines()[1]}"
    )


def read_saved_model(folder: Path) -> KerasSource:
    """A tf.keras SavedModel folder -> :class:`KerasSource` (weights lazy; nothing to close)."""
    if not (folder / "keras_metadata.pb").exists() and not (folder / "keras_metadata.pb").is_symlink():
        refuse_export(folder)
    variables = folder / "variables"
    if variables.is_symlink():
        raise SecurityError(f"{folder}: 'variables' is a symbolic link; links are not followed in a SavedModel folder")
    if not variables.is_dir():
        raise FormatError(f"{folder}: no 'variables' directory (a SavedModel saved without its variables?)")
    root, by_path = read_keras_metadata(folder)
    cfg = _model_config(root, f"{folder}/keras_metadata.pb")
    weights, bundle = read_weights(folder, by_path)
    version = root.get("keras_version")
    backend = root.get("backend")
    src = KerasSource(
        cfg,
        str(version) if isinstance(version, str) else None,
        str(backend) if isinstance(backend, str) else None,
        "savedmodel",
        weights,
    )
    shards = [bundle.shard_path(i) for i in range(bundle.shards)]
    src.file, src.sha256 = folder.name, _digest([folder / "keras_metadata.pb"])
    src.weights_file = "variables"
    src.weights_sha256 = _digest([bundle.prefix.with_name("variables.index"), *shards])
    return src


__all__ = ["is_saved_model", "read_saved_model", "refuse_export", "RESAVE"]
