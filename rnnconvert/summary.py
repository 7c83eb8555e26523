"""``rnnconvert inspect``: a summary of a bundle a Keras user recognises, and its graph as DOT.

Works on any bundle :func:`rnnconvert.runtime.load` accepts: the fields ``load`` does not
check (producer, source, each node's ``keras`` note, test vectors) are read as optional,
and every text that comes from the file is escaped (:func:`~rnnconvert.display.printable`).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from .display import format_shape, printable
from .errors import OutputError
from .runtime.common import VECTOR_PREFIX
from .runtime.model import Model
from .runtime.quantize import SCALE_PREFIX


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _shape(value: Any) -> str:
    return printable(format_shape(value)) if isinstance(value, (list, tuple)) else "?"


def _size(doc: dict[str, Any], key: str) -> int:
    spec = _dict(_dict(_dict(doc.get("weights")).get("arrays")).get(key))
    n = 1 if spec else 0
    for d in _list(spec.get("shape")):
        n *= d if isinstance(d, int) else 0
    return n


def _param_cells(doc: dict[str, Any], nodes: list[Any]) -> tuple[list[str], int]:
    """Each node's "Param #" cell, and the total counting every weight once.

    A shared layer becomes several nodes that name the same weight keys: the first
    counts them, the later ones show 0 and say whose weights they share, so the
    rows add up to the total.
    """
    owner: dict[str, str] = {}  # weight key -> name of the first node that uses it
    cells, total = [], 0
    for node in nodes:
        name = printable(node.get("name"))
        keys = [k for k in _dict(node.get("weights")).values() if isinstance(k, str)]
        fresh = [k for k in dict.fromkeys(keys) if k not in owner]
        shared = [k for k in dict.fromkeys(keys) if k in owner]
        n = sum(_size(doc, k) for k in fresh)
        total += n
        cell = f"{n:,}"
        if shared:
            owners = ", ".join(dict.fromkeys(owner[k] for k in shared))
            cell += f" (shares {sum(_size(doc, k) for k in shared):,} with {owners})"
        owner.update(dict.fromkeys(fresh, name))
        cells.append(cell)
    return cells, total


def _rows(model: Model) -> tuple[list[tuple[str, str, str, str]], int]:
    doc = model.doc
    rows = [("Node (op)", "Keras layer", "Output shape", "Param #")]
    for info in model.inputs:
        rows.append(
            (f"{printable(info.name)} (input)", "InputLayer", f"{_shape(info.shape)} {printable(info.dtype)}", "0")
        )
    nodes = [n for n in _list(doc.get("nodes")) if isinstance(n, dict)]
    cells, total = _param_cells(doc, nodes)
    for node, cell in zip(nodes, cells):
        keras = _dict(node.get("keras"))
        outs = [_dict(o) for o in _list(node.get("outputs"))]
        shapes = ", ".join(
            _shape(o.get("shape")) + ("" if o.get("dtype", "float32") == "float32" else f" {printable(o.get('dtype'))}")
            for o in outs
        )
        layer = f"{printable(keras.get('layer', ''))} ({printable(keras.get('class_name', ''))})"
        rows.append((f"{printable(node.get('name'))} ({printable(node.get('op'))})", layer, shapes, cell))
        for key, r in _dict(node.get("named_inputs")).items():  # format 1.2: optional inputs by name
            rows.append((f"  {printable(key)} <- {printable(_ref_name(r))}", "", "", ""))
    return rows, total


def _stored_dtypes(doc: dict[str, Any]) -> str:
    arrays = _dict(_dict(doc.get("weights")).get("arrays"))
    kinds = {
        printable(_dict(a).get("dtype")) for k, a in arrays.items() if not k.startswith((VECTOR_PREFIX, SCALE_PREFIX))
    }
    return ", ".join(sorted(kinds)) or "none"


def _version(model: Model) -> str:
    """The version the file declares, and the one it was migrated to when they differ."""
    declared = getattr(model, "declared_format_version", None) or model.format_version
    if declared == model.format_version:
        return printable(declared)
    return f"{printable(declared)} (migrated to {printable(model.format_version)})"


def summary(model: Model) -> str:
    """Like Keras's ``model.summary()``: one row per node, with shapes and parameter counts.

    Example:
        >>> from rnnconvert.runtime import load
        >>> print(summary(load("out/")))             # doctest: +SKIP
    """
    doc = model.doc
    src, producer = _dict(doc.get("source")), _dict(doc.get("producer"))
    rows, total = _rows(model)
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    line = "-" * (sum(widths) + 6)
    out = [
        f"Bundle {printable(model.path)} — format {_version(model)}, written by "
        f"{printable(producer.get('name', '?'))} {printable(producer.get('version', '?'))}",
        f"Source: {printable(src.get('file') or 'in-memory model')} ({printable(src.get('model_class', '?'))} "
        f"{printable(repr(src.get('model_name', '')))}, Keras {printable(src.get('keras_version') or 'unknown')}, "
        f"{printable(src.get('container'))})",
        line,
    ]
    for k, r in enumerate(rows):
        out.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if k == 0:
            out.append(line)
    out.append(line)
    out.append(f"Total params: {total:,} (weights stored as {_stored_dtypes(doc)})")
    out.append("Outputs: " + ", ".join(f"{printable(o.name)} {_shape(o.shape)}" for o in model.outputs))
    if model.stateful:
        out.append(f"Stateful: yes (batch size {model.batch_size})")
    tv = _dict(doc.get("test_vectors"))
    calls = tv.get("calls")
    if tv:
        count = len(calls) if isinstance(calls, list) else "?"
        out.append(f"Test vectors: {count} call(s) from {printable(tv.get('origin', '?'))}")
    else:
        out.append("Test vectors: none")
    out.append(_metadata_line(doc))
    return "\n".join(out)


def _metadata_line(doc: dict[str, Any]) -> str:
    """The metadata's keys (their values can be large: ``model.metadata`` has them)."""
    meta = doc.get("metadata")
    if not isinstance(meta, dict):
        return "Metadata: none"
    keys = sorted(meta)
    shown = ", ".join(printable(repr(k)) for k in keys[:20])
    more = f" and {len(keys) - 20} more" if len(keys) > 20 else ""
    return f"Metadata: {len(keys)} key(s): {shown}{more}" if keys else "Metadata: {} (empty)"


def _q(text: object) -> str:
    """A DOT string: file text escaped (a newline shows as ``\\n``), then quoted."""
    return '"' + printable(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _label(*lines: object) -> str:
    """A DOT label of several lines (DOT's ``\\n`` separates them)."""
    return '"' + "\\n".join(_q(line)[1:-1] for line in lines) + '"'


def _ref_name(ref: Any) -> str:
    return ref[0] if isinstance(ref, list) and ref else "?"


def to_dot(model: Model) -> str:
    """The node graph in Graphviz DOT: inputs, nodes (op and output shapes), outputs."""
    doc = model.doc
    lines = ["digraph rnnconvert {", "  rankdir=TB;", '  node [shape=box, fontname="Helvetica"];']
    for info in model.inputs:
        lines.append(f"  {_q(info.name)} [shape=oval, label={_label(info.name, format_shape(info.shape))}];")
    for node in (n for n in _list(doc.get("nodes")) if isinstance(n, dict)):
        name = node.get("name")
        shapes = ", ".join(_shape(_dict(o).get("shape")) for o in _list(node.get("outputs")))
        lines.append(f"  {_q(name)} [label={_label(name, node.get('op'), shapes)}];")
        for r in _list(node.get("inputs")):
            lines.append(f"  {_q(_ref_name(r))} -> {_q(name)};")
        if node.get("mask"):
            lines.append(f"  {_q(_ref_name(node['mask']))} -> {_q(name)} [style=dashed, label=mask];")
        for key, r in _dict(node.get("named_inputs")).items():
            lines.append(f"  {_q(_ref_name(r))} -> {_q(name)} [style=dashed, label={_q(key)}];")
        for r in _list(node.get("initial_state")):
            lines.append(f"  {_q(_ref_name(r))} -> {_q(name)} [style=dotted, label=state];")
    for out in (o for o in _list(doc.get("outputs")) if isinstance(o, dict)):
        oid = f"output:{out.get('name')}"
        lines.append(f"  {_q(oid)} [shape=oval, label={_q(out.get('name'))}];")
        lines.append(f"  {_q(_ref_name(out.get('from')))} -> {_q(oid)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_graph(model: Model, path: str | Path) -> Path:
    """Write DOT to ``path``; a ``.svg`` path is rendered with Graphviz's ``dot`` when installed."""
    p = Path(path)
    dot = to_dot(model)
    try:
        if p.suffix.lower() == ".svg":
            exe = shutil.which("dot")
            if exe is None:
                p = p.with_suffix(".dot")
                p.write_text(dot)
                return p
            svg = subprocess.run(
                [exe, "-Tsvg"], input=dot, capture_output=True, text=True, timeout=60, check=True
            ).stdout
            p.write_text(svg)
        else:
            p.write_text(dot)
    except (OSError, subprocess.SubprocessError) as exc:
        raise OutputError(f"{p}: cannot write the graph ({exc})") from None
    return p
