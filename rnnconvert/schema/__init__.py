"""The bundle format: its name, version, the frozen JSON Schema files and ``validate``.

Each released schema is a frozen file ``bundle.v<MAJOR>.schema.json`` covering
every minor version of that major (minor versions only add). ``validate`` needs
the optional ``jsonschema`` package; the runtime never requires it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any, TypeGuard

from ..errors import FormatError, VersionError
from .validation import validator_for

FORMAT_NAME = "rnnconvert.bundle"
FORMAT_VERSION = "1.3.0"
#: Every major version this code can read.
SUPPORTED_MAJORS = (1,)

#: The version from which weights may carry a ``quantization`` entry (float16 / int8 storage).
QUANTIZATION_SINCE = "1.1.0"
#: Format 1.2.0 added the 2-D image ops ``Conv2D``, ``Pool2D``, ``GlobalPool2D``, and array ``offset`` / ``nbytes`` (F1), the recurrent
#: config key ``initial_state_rule`` (F2), explicit activation parameters (F3), node
#: ``named_inputs`` (F4) and binding declared shapes (F5). FORMAT.md 6.1.
V1_2 = "1.2.0"
# source.container "savedmodel" (a tf.keras SavedModel folder): older schemas' enum lacks it.
SAVEDMODEL_SINCE = "1.3.0"
#: Format 1.3.0 only adds ops (the spatial, attention, normalization, preprocessing and
#: tensor-operation layers; FORMAT.md 6.1): each declares ``since="1.3.0"``.
V1_3 = "1.3.0"
#: The top-level ``metadata`` object (FORMAT.md 2.1).
METADATA_SINCE = V1_3


@cache
def ops_by_version() -> dict[str, frozenset[str]]:
    """Format version -> the ops it added (FORMAT.md 6.1), read from each op's declaration
    (``OpSpec.since``): adding an op states its version in one place."""
    from ..runtime.spec import SPECS  # imported late: the runtime imports this module

    added: dict[str, set[str]] = {}
    for op, spec in SPECS.items():
        added.setdefault(spec.since, set()).add(op)
    return {v: frozenset(added[v]) for v in sorted(added, key=parse_version)}


def parse_version(text: Any) -> tuple[int, int, int]:
    """``"1.2.3" -> (1, 2, 3)``; anything else is a :class:`FormatError`."""
    parts = text.split(".") if isinstance(text, str) else []
    if len(parts) != 3 or not all(p.isdigit() and len(p) < 6 for p in parts):
        raise FormatError(f"format_version must look like '1.0.0', got {text!r}")
    major, minor, patch = (int(p) for p in parts)
    return major, minor, patch


def check_version(text: Any) -> tuple[int, int, int]:
    """Refuse a bundle whose major version this code cannot read."""
    version = parse_version(text)
    ours = parse_version(FORMAT_VERSION)
    if version[0] > ours[0]:
        raise VersionError(
            f"bundle format {text}; this runtime reads <= {ours[0]}.x (format {FORMAT_VERSION}): upgrade rnnconvert"
        )
    if version[0] not in SUPPORTED_MAJORS:
        raise VersionError(f"bundle format {text} is no longer supported; this runtime reads {FORMAT_VERSION}")
    return version


Migration = Callable[[dict[str, Any]], dict[str, Any]]


def _to_1_1(doc: dict[str, Any]) -> dict[str, Any]:
    """1.0 -> 1.1: 1.1 only added ops and reduced-precision weights; nothing changes."""
    return {**doc, "format_version": "1.1.0"}


def _to_1_2(doc: dict[str, Any]) -> dict[str, Any]:
    """1.1 -> 1.2: write out what 1.1 left implicit (FORMAT.md 6.1).

    F2: a stateful recurrent node given ``initial_state`` gets ``initial_state_rule:
    "every_call"`` (what every earlier runtime did); F3: every activation object gets
    its default parameters; F4: Attention / MaskedMerge masks move from positional
    inputs flagged in the config to ``named_inputs`` (:func:`_named_form`)."""
    from ..runtime.spec import RECURRENT_FACTS, SPECS, explicit_activation

    nodes = []
    for node in doc.get("nodes") or []:
        op = node.get("op") if isinstance(node, dict) else None
        spec = SPECS.get(op) if isinstance(op, str) else None
        config = node.get("config") if isinstance(node, dict) else None
        if spec is None or not isinstance(config, dict):
            nodes.append(node)  # the load-time checks report it
            continue
        config = {k: explicit_activation(v) if "$ref" in getattr(spec.config.get(k), "schema", {}) else v
                  for k, v in config.items()}  # fmt: skip
        if spec.op in RECURRENT_FACTS and config.get("stateful") and node.get("initial_state"):
            config.setdefault("initial_state_rule", "every_call")
        node, config = _named_form(node, config)
        nodes.append({**node, "config": config, **_glu_outputs(node, config)})
    halved = {n["name"]: n["outputs"] for n in nodes if isinstance(n, dict) and n.get("op") == "Dense"}
    outputs = [_fixed_output(o, halved) for o in doc.get("outputs") or []]
    return {**doc, "nodes": nodes, "outputs": outputs, "format_version": V1_2}


def _to_1_3(doc: dict[str, Any]) -> dict[str, Any]:
    """1.2 -> 1.3: 1.3 only added ops; nothing changes."""
    return {**doc, "format_version": V1_3}


def _named_form(node: dict[str, Any], config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """F4: 1.1 gave Attention's masks after (query, value, key), flagged by config
    ``query_mask`` / ``value_mask``, and MaskedMerge's after its n inputs, one per
    true ``masked[k]``; 1.2 names them (``query_mask``, ``value_mask``, ``mask_<k>``)."""
    op, inputs = node.get("op"), node.get("inputs")
    if op == "Attention":
        names = [k for k in ("query_mask", "value_mask") if config.get(k)]
        n = 3
    elif op == "MaskedMerge" and isinstance(config.get("masked"), list):
        names = [f"mask_{k}" for k, flag in enumerate(config["masked"]) if flag]
        n = len(config["masked"])
    else:
        return node, config
    if not isinstance(inputs, list) or len(inputs) != n + len(names):
        raise FormatError(
            f"model.json: node {node.get('name')!r} ({op}): its config flags {len(names)} mask input(s) after "
            f"{n} inputs, but it has {len(inputs) if isinstance(inputs, list) else 'no'} inputs"
        )
    config = {k: v for k, v in config.items() if k not in ("query_mask", "value_mask", "masked")}
    named = {"named_inputs": dict(zip(names, inputs[n:]))} if names else {}
    return {**node, "inputs": inputs[:n], **named}, config


def _glu_outputs(node: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """F5: a 1.1 ``Dense`` with ``glu`` declared U; it computes U/2."""
    from ..runtime.spec import activation_shape

    outs = node.get("outputs")
    act = config.get("activation")
    if node.get("op") != "Dense" or not isinstance(act, dict) or act.get("type") != "glu" or not isinstance(outs, list):
        return {}
    fixed = []
    for o in outs:
        shape = o.get("shape") if isinstance(o, dict) else None
        fixed.append({**o, "shape": list(activation_shape(act, tuple(shape)))} if _is_shape(shape) else o)
    return {"outputs": fixed}


def _is_shape(shape: Any) -> TypeGuard[list[int | None]]:
    """A non-empty list of dims, each an int or null."""
    return isinstance(shape, list) and bool(shape) and all(d is None or isinstance(d, int) for d in shape)


def _fixed_output(out: Any, dense_outputs: dict[str, Any]) -> Any:
    """A model output read straight from a migrated Dense takes its fixed shape."""
    ref = out.get("from") if isinstance(out, dict) else None
    if not (isinstance(ref, list) and len(ref) == 2 and ref[0] in dense_outputs and ref[1] == 0):
        return out
    node_out = dense_outputs[ref[0]][0] if dense_outputs[ref[0]] else None
    shape = node_out.get("shape") if isinstance(node_out, dict) else None
    return {**out, "shape": shape} if isinstance(shape, list) else out


#: One-step migrations: MIGRATIONS[(major, minor)] turns a bundle of that version into
#: the next version (returning the new document with its new ``format_version``).
MIGRATIONS: dict[tuple[int, int], Migration] = {(1, 0): _to_1_1, (1, 1): _to_1_2, (1, 2): _to_1_3}


def migrate(doc: dict[str, Any]) -> dict[str, Any]:
    """Bring an older bundle document up to this code's version, one step at a time."""
    current = parse_version(FORMAT_VERSION)
    version = check_version(doc.get("format_version"))
    check_features(doc)  # against the version it declares, before migrating it past that
    steps = 0
    while version[:2] < current[:2] and version[:2] in MIGRATIONS:
        try:
            doc = MIGRATIONS[version[:2]](doc)
        except (TypeError, KeyError, IndexError, AttributeError, ValueError) as exc:
            # Migrations run before the document is validated: junk where they read is a format error.
            raise FormatError(
                f"model.json: cannot migrate this {'.'.join(map(str, version))} document: {exc!r}"
            ) from None
        new = check_version(doc.get("format_version"))
        if new <= version or steps > 100:
            raise FormatError(f"migration from {version} did not advance the format version")
        version, steps = new, steps + 1
    return doc


def _ops_of(doc: dict[str, Any]) -> set[str]:
    nodes = doc.get("nodes")
    return (
        {n["op"] for n in nodes if isinstance(n, dict) and isinstance(n.get("op"), str)}
        if isinstance(nodes, list)
        else set()
    )


def required_version(doc: dict[str, Any], *, stamping: bool = True) -> str:
    """The oldest format version that has every op and feature ``doc`` uses.

    The converter stamps this rather than its own newest version, so a bundle that
    needs nothing new still loads in runtimes of older minor versions (FORMAT.md 6.1).
    Ops no release knows add nothing here (the runtime refuses them by name).
    ``stamping`` (the writer's question) also counts what a migration from an older
    version would change, a Dense with ``glu``; :func:`check_features` (the reader's) does not.
    """
    needed = "1.0.0"
    ops = _ops_of(doc)
    for version, added in ops_by_version().items():
        if ops & added:
            needed = max(needed, version, key=parse_version)
    weights = doc.get("weights")
    arrays = weights.get("arrays") if isinstance(weights, dict) else None
    if isinstance(arrays, dict) and any(isinstance(a, dict) and "quantization" in a for a in arrays.values()):
        needed = max(needed, QUANTIZATION_SINCE, key=parse_version)
    if _uses_1_2(doc, arrays, stamping):
        needed = max(needed, V1_2, key=parse_version)
    if "metadata" in doc:
        needed = max(needed, METADATA_SINCE, key=parse_version)
    source = doc.get("source")
    if isinstance(source, dict) and source.get("container") == "savedmodel":
        needed = max(needed, SAVEDMODEL_SINCE, key=parse_version)
    return needed


def _uses_1_2(doc: dict[str, Any], arrays: Any, stamping: bool) -> bool:
    """Whether ``doc`` has a field format 1.2.0 added (array offsets, named inputs,
    initial_state_rule)."""
    if isinstance(arrays, dict) and any(isinstance(a, dict) and "offset" in a for a in arrays.values()):
        return True
    nodes = doc.get("nodes")
    return isinstance(nodes, list) and any(isinstance(n, dict) and _node_uses_1_2(n, stamping) for n in nodes)


def _node_uses_1_2(node: dict[str, Any], stamping: bool) -> bool:
    """named_inputs, initial_state_rule, Attention / MaskedMerge without 1.1's mask flags,
    or a Dense with glu (which 1.2 declares U/2 and the
    1.1 -> 1.2 migration would halve again)."""
    raw = node.get("config")
    config = raw if isinstance(raw, dict) else {}
    act = config.get("activation")
    glu_dense = node.get("op") == "Dense" and isinstance(act, dict) and act.get("type") == "glu"
    # Attention and MaskedMerge read their masks by name since 1.2 (and 1.1 required flags
    # a 1.2 node no longer carries): a bundle writing them in 1.2 form needs 1.2.
    named_form = node.get("op") in ("Attention", "MaskedMerge") and not {"query_mask", "value_mask", "masked"} & set(
        config
    )
    return "named_inputs" in node or "initial_state_rule" in config or (stamping and glu_dense) or named_form


def check_features(doc: dict[str, Any]) -> None:
    """Refuse a bundle that uses an op or feature added after the version it declares.

    Such a bundle would be mis-stamped by its writer; an older runtime trusting its
    version would fail on it later with a less clear error.
    """
    declared = check_version(doc.get("format_version"))
    needed = required_version(doc, stamping=False)
    if parse_version(needed) > declared:
        later = [
            f"{op!r} (added in format {v})"
            for v, added in ops_by_version().items()
            if parse_version(v) > declared
            for op in sorted(_ops_of(doc) & added)
        ]
        weights = doc.get("weights")
        arrays = weights.get("arrays") if isinstance(weights, dict) else None
        quantized = isinstance(arrays, dict) and any(
            isinstance(a, dict) and "quantization" in a for a in arrays.values()
        )
        if quantized and parse_version(QUANTIZATION_SINCE) > declared:
            later.append(f"weights stored in reduced precision (added in format {QUANTIZATION_SINCE})")
        if _uses_1_2(doc, arrays, False) and parse_version(V1_2) > declared:
            later.append(f"array offsets, initial_state_rule or named inputs (added in format {V1_2})")
        if "metadata" in doc and parse_version(METADATA_SINCE) > declared:
            later.append(f"metadata (added in format {METADATA_SINCE})")
        raise FormatError(
            f"model.json declares format {doc.get('format_version')} but uses {', '.join(later)}; "
            f"it needs format {needed}"
        )


@cache
def load_schema(major: int = 1) -> dict[str, Any]:
    """The frozen JSON Schema (draft 2020-12) for format ``major``.x."""
    name = f"bundle.v{major}.schema.json"
    try:
        text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise VersionError(f"no schema for format major version {major}") from None
    return json.loads(text)


def validate(doc: Any) -> None:
    """Validate a parsed ``model.json`` against the schema of its major version.

    Raises :class:`FormatError` naming the first offending field.

    Example:
        >>> import json
        >>> from rnnconvert.schema import validate
        >>> validate(json.load(open("out/model.json")))  # doctest: +SKIP
    """
    try:
        import jsonschema
    except ImportError:  # pragma: no cover - jsonschema is a converter dependency
        raise FormatError("schema validation needs the 'jsonschema' package (pip install jsonschema)") from None
    if not isinstance(doc, dict):
        raise FormatError("model.json must hold a JSON object")
    major = check_version(doc.get("format_version"))[0]
    validator = validator_for(load_schema(major))  # op-keyed branches looked up, not all tried
    error = jsonschema.exceptions.best_match(validator.iter_errors(doc))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise FormatError(f"model.json does not follow the bundle schema at {where}: {error.message[:300]}")


__all__ = [
    "MIGRATIONS",
    "migrate",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "SUPPORTED_MAJORS",
    "parse_version",
    "check_version",
    "required_version",
    "check_features",
    "ops_by_version",
    "load_schema",
    "validate",
]
