"""``rnnconvert inspect``: a summary of a bundle a Keras user recognises, and its graph as DOT."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from .errors import OutputError
from .runtime.model import Model


def _shape(shape: list[Any]) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def _params(doc: dict[str, Any], node: dict[str, Any]) -> int:
    arrays = doc["weights"]["arrays"]
    total = 0
    for key in node.get("weights", {}).values():
        n = 1
        for d in arrays[key]["shape"]:
            n *= d
        total += n
    return total


def summary(model: Model) -> str:
    """Like Keras's ``model.summary()``: one row per node, with shapes and parameter counts."""
    doc = model.doc
    src = doc.get("source", {})
    rows = [("Node (op)", "Keras layer", "Output shape", "Param #")]
    seen_keys: set[str] = set()
    total = 0
    for info in doc["inputs"]:
        rows.append((f"{info['name']} (input)", "InputLayer", _shape(info["shape"]) + f" {info['dtype']}", "0"))
    for node in doc["nodes"]:
        keras = node.get("keras", {})
        shapes = ", ".join(
            _shape(o["shape"]) + ("" if o["dtype"] == "float32" else f" {o['dtype']}") for o in node["outputs"]
        )
        n = _params(doc, node)
        fresh = [k for k in node.get("weights", {}).values() if k not in seen_keys]
        seen_keys.update(fresh)
        total += sum(_params(doc, {"weights": {k: k}}) for k in fresh)
        rows.append(
            (
                f"{node['name']} ({node['op']})",
                f"{keras.get('layer', '')} ({keras.get('class_name', '')})",
                shapes,
                f"{n:,}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    line = "-" * (sum(widths) + 6)
    out = [
        f"Bundle {model.path} — format {doc['format_version']}, written by {doc['producer']['name']} {doc['producer']['version']}",
        f"Source: {src.get('file') or 'in-memory model'} ({src.get('model_class', '?')} {src.get('model_name', '')!r}, "
        f"Keras {src.get('keras_version') or 'unknown'}, {src.get('container')})",
        line,
    ]
    for k, r in enumerate(rows):
        out.append("  ".join(c.ljust(w) for c, w in zip(r, widths)))
        if k == 0:
            out.append(line)
    out.append(line)
    out.append(
        f"Total params: {total:,} (weights stored as {', '.join(sorted({a['dtype'] for k, a in doc['weights']['arrays'].items() if not k.startswith('__vectors__/')})) or 'none'})"
    )
    out.append("Outputs: " + ", ".join(f"{o['name']} {_shape(o['shape'])}" for o in doc["outputs"]))
    if model.stateful:
        out.append(f"Stateful: yes (batch size {model.batch_size})")
    tv = doc.get("test_vectors")
    out.append(f"Test vectors: {len(tv['calls'])} call(s) from {tv['origin']}" if tv else "Test vectors: none")
    return "\n".join(out)


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(model: Model) -> str:
    """The node graph in Graphviz DOT: inputs, nodes (op and output shapes), outputs."""
    doc = model.doc
    lines = ["digraph rnnconvert {", "  rankdir=TB;", '  node [shape=box, fontname="Helvetica"];']
    for info in doc["inputs"]:
        lines.append(f"  {_q(info['name'])} [shape=oval, label={_q(info['name'] + chr(10) + _shape(info['shape']))}];")
    for node in doc["nodes"]:
        label = f"{node['name']}\n{node['op']}\n" + ", ".join(_shape(o["shape"]) for o in node["outputs"])
        lines.append(f"  {_q(node['name'])} [label={_q(label)}];")
        for r in node["inputs"]:
            lines.append(f"  {_q(r[0])} -> {_q(node['name'])};")
        if node.get("mask"):
            lines.append(f"  {_q(node['mask'][0])} -> {_q(node['name'])} [style=dashed, label=mask];")
        for r in node.get("initial_state", []):
            lines.append(f"  {_q(r[0])} -> {_q(node['name'])} [style=dotted, label=state];")
    for out in doc["outputs"]:
        oid = "output:" + out["name"]
        lines.append(f"  {_q(oid)} [shape=oval, label={_q(out['name'])}];")
        lines.append(f"  {_q(out['from'][0])} -> {_q(oid)};")
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
