"""Rows to model inputs: check each row, pad ragged sequences, and cut batches (bucketed or not).

A bad row (wrong width, non-numeric, an id out of range or not finite) is named by its
row number (0-based, in the input file) and column: it stops the run, or with
``--on-error skip`` goes to the rejects file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from ..runtime import Model
from .readers import Chunk
from .text import dense_text, pad_text, text_lengths, text_row


@dataclass(frozen=True)
class InputSpec:
    name: str
    shape: tuple[int | None, ...]  # with the batch axis
    ids: bool  # integer token ids (an int input), else float features
    id_limit: int | None = None  # ids must be < this (the smallest Embedding input_dim reading them)
    text: bool = False  # a string input (FORMAT.md 2.1): rows hold str; sequences are padded with ""

    @property
    def sequence(self) -> bool:
        """Has a time axis (axis 1) that rows may give at any length."""
        return len(self.shape) >= 2

    @property
    def dtype(self) -> type:
        return np.str_ if self.text else np.int64 if self.ids else np.float32

    def fill(self, pad: Padding) -> Any:
        """What padding steps hold: ``--value``, or the empty string for text."""
        return "" if self.text else pad.value


@dataclass(frozen=True)
class Padding:
    maxlen: int | None = None
    padding: str = "pre"
    truncating: str = "pre"
    value: float = 0.0


@dataclass
class Prepared:
    """The good rows of a chunk: their row numbers, their columns, their lengths."""

    rows: np.ndarray  # (n,) row numbers in the input file
    columns: dict[str, Any]  # dense (n, ...) arrays, or lists of n per-row arrays (ragged)
    lengths: np.ndarray  # (n,) each row's longest sequence, after truncation
    rejects: list[tuple[int, str, str]] = field(default_factory=list)  # (row, column, reason)


def input_specs(model: Model) -> list[InputSpec]:
    limits: dict[str, int] = {}
    for node in model.doc["nodes"]:
        if node.get("op") == "Embedding" and node.get("inputs"):
            src = node["inputs"][0][0]
            dim = int(node.get("config", {}).get("input_dim", 0)) or None
            if dim is not None:
                limits[src] = min(dim, limits.get(src, dim))
    return [
        InputSpec(i.name, i.shape, i.dtype.startswith("int"), limits.get(i.name), i.dtype == "string")
        for i in model.inputs
    ]


def _target_length(spec: InputSpec, pad: Padding) -> int | None:
    return spec.shape[1] if spec.shape[1] is not None else pad.maxlen


def prepare(chunk: Chunk, specs: list[InputSpec], pad: Padding, *, strict: bool) -> Prepared:
    """Check every row of ``chunk``; raise InputError on the first bad one when ``strict``."""
    bad: dict[int, tuple[str, str]] = dict(chunk.bad)
    columns: dict[str, Any] = {}
    lengths = np.zeros(chunk.size, np.int64)
    for spec in specs:
        col = chunk.columns[spec.name]
        if isinstance(col, np.ndarray):
            columns[spec.name], n = _dense(col, spec, pad, bad, chunk.start)
        else:
            columns[spec.name], n = _ragged(col, spec, pad, bad)
        np.maximum(lengths, n, out=lengths)
    if bad and strict:
        k = min(bad)
        column, reason = bad[k]
        where = f"row {chunk.start + k}" + (f", column {column!r}" if column else "")
        raise InputError(f"{where}: {reason} (--on-error skip writes bad rows to a rejects file and goes on)")
    keep = np.array([k for k in range(chunk.size) if k not in bad], np.int64)
    if bad:
        columns = {
            name: col[keep] if isinstance(col, np.ndarray) else [col[k] for k in keep] for name, col in columns.items()
        }
    rejects = [(chunk.start + k, *bad[k]) for k in sorted(bad)]
    return Prepared(chunk.start + keep, columns, lengths[keep], rejects)


def _dense(a: np.ndarray, spec: InputSpec, pad: Padding, bad: dict, start: int) -> tuple[np.ndarray, np.ndarray]:
    """A dense column: its shape is checked once; ids row by row. Lengths: the steps left once
    the padding steps (every value equal to ``--value``) on the padding side are stripped."""
    if spec.text:
        return _dense_text(a, spec, pad, start)
    if a.dtype.kind not in "biuf":
        raise InputError(f"rows {start}..: column {spec.name!r} has dtype {a.dtype}, not numbers")
    want = spec.shape[1:]
    got = a.shape[1:]
    if len(got) != len(want) or any(w is not None and g != w for g, w in zip(got[1:], want[1:])):
        raise InputError(f"rows {start}..: column {spec.name!r} has rows of shape {got}; the model takes {want}")
    if not spec.sequence:
        if want and want[0] is not None and got[0] != want[0]:
            raise InputError(f"rows {start}..: column {spec.name!r} has rows of shape {got}; the model takes {want}")
        lengths = np.zeros(len(a), np.int64)
    else:
        target = _target_length(spec, pad)
        if target is not None and a.shape[1] != target:
            a = _refit(a, target, pad, pad.value)
        steps = a.reshape(len(a), a.shape[1], -1)
        real = ~np.all(steps == pad.value, axis=2)  # (B, T): a step not entirely padding
        first = real[:, ::-1] if pad.padding == "post" else real
        lengths = np.where(real.any(axis=1), a.shape[1] - np.argmax(first, axis=1), 0)
    if spec.ids:
        _check_ids(a, spec, bad)
    return a, lengths


def _dense_text(a: np.ndarray, spec: InputSpec, pad: Padding, start: int) -> tuple[np.ndarray, np.ndarray]:
    a = dense_text(a, spec, start)
    if not spec.sequence:
        return a, np.zeros(len(a), np.int64)
    target = _target_length(spec, pad)
    if target is not None and a.shape[1] != target:
        a = _refit(a, target, pad, "")
    return a, text_lengths(a, pad.padding)


def _refit(a: np.ndarray, target: int, pad: Padding, fill: Any) -> np.ndarray:
    """Truncate or pad every row of a dense column to ``target`` steps, as pad_sequences would."""
    if a.shape[1] > target:
        return a[:, -target:] if pad.truncating == "pre" and target else a[:, :target]
    out = np.full((len(a), target, *a.shape[2:]), fill, a.dtype)
    if pad.padding == "post":
        out[:, : a.shape[1]] = a
    else:
        out[:, target - a.shape[1] :] = a
    return out


def _check_ids(a: np.ndarray, spec: InputSpec, bad: dict) -> None:
    flat = a.reshape(len(a), -1)
    problems = np.zeros(len(a), bool)
    if flat.dtype.kind == "f":
        problems |= ~np.isfinite(flat).all(axis=1)
    if spec.id_limit is not None and flat.size:
        with np.errstate(invalid="ignore"):
            problems |= ((flat < 0) | (flat >= spec.id_limit)).any(axis=1)
    for k in np.flatnonzero(problems):
        bad.setdefault(int(k), (spec.name, _id_problem(flat[k], spec)))


def _id_problem(row: np.ndarray, spec: InputSpec) -> str:
    if row.dtype.kind == "f" and not np.isfinite(row).all():
        return "token ids must be finite numbers (NaN/Inf found)"
    worst = row[(row < 0) | (row >= (spec.id_limit or 0))][0]
    return f"token id {worst:g} is out of range [0, {spec.id_limit})"


def _ragged(values: list[Any], spec: InputSpec, pad: Padding, bad: dict) -> tuple[list[Any], np.ndarray]:
    target = _target_length(spec, pad) if spec.sequence else None
    rows: list[Any] = []
    lengths = np.zeros(len(values), np.int64)
    step = spec.shape[2:] if spec.sequence else spec.shape[1:]
    for k, v in enumerate(values):
        if k in bad:
            rows.append(None)
            continue
        a, why = text_row(v, spec, step) if spec.text else _one_row(v, spec, step)
        if a is None:  # exactly when there is a reason
            bad[k] = (spec.name, why)
            rows.append(None)
            continue
        if target is not None and len(a) > target:
            a = a[-target:] if pad.truncating == "pre" and target else a[:target]
        rows.append(a)
        lengths[k] = len(a) if spec.sequence else 0
    return rows, lengths


def _one_row(v: Any, spec: InputSpec, step: tuple[int | None, ...]) -> tuple[np.ndarray | None, str]:
    if v is None:
        return None, "missing (null)"
    try:
        a = np.asarray(v)
    except (ValueError, TypeError):
        return None, "not a rectangular array of numbers (ragged steps?)"
    if a.size and a.dtype.kind not in "biuf":
        return None, "not numbers (strings or mixed values)" if a.dtype.kind in "USO" else f"not numbers ({a.dtype})"
    if spec.sequence and a.size == 0:
        return np.zeros((0, *[d or 0 for d in step]), spec.dtype), ""  # an empty sequence: all padding
    want_rank = len(step) + (1 if spec.sequence else 0)
    got = a.shape[1:] if spec.sequence else a.shape
    if a.ndim != want_rank or any(w is not None and g != w for g, w in zip(got, step)):
        shown = ("(T, " + ", ".join(str(d) for d in step) + ")") if spec.sequence else str(tuple(step))
        return None, f"wrong shape {a.shape}; the model takes rows of shape {shown}"
    if spec.ids:
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            return None, "token ids must be finite numbers (NaN/Inf found)"
        if spec.id_limit is not None and a.size and ((a < 0) | (a >= spec.id_limit)).any():
            worst = a[(a < 0) | (a >= spec.id_limit)].flat[0]
            return None, f"token id {worst:g} is out of range [0, {spec.id_limit})"
    return a.astype(spec.dtype, copy=False), ""


def plan_batches(lengths: np.ndarray, batch_size: int, bucket: bool) -> list[np.ndarray]:
    """Row indices of each batch: in order, or (``bucket``) sorted by length (stable)."""
    order = np.argsort(lengths, kind="stable") if bucket else np.arange(len(lengths))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def assemble(prep: Prepared, idx: np.ndarray, specs: list[InputSpec], pad: Padding, trim: bool) -> list[np.ndarray]:
    """The model inputs for rows ``idx`` of ``prep``. With ``trim`` (--bucket, on a padding-invariant
    model) sequences are padded only to the batch's longest row; without, dense rows stay as given
    and ragged rows are padded to --maxlen (to the batch's longest only when there is none, which
    the engine allows for padding-invariant models alone)."""
    longest = max(1, int(prep.lengths[idx].max())) if len(idx) else 1
    arrays = []
    for spec in specs:
        col = prep.columns[spec.name]
        if isinstance(col, np.ndarray):
            x = col[idx]
            if trim and spec.sequence and spec.shape[1] is None and x.shape[1] > longest:
                x = x[:, :longest] if pad.padding == "post" else x[:, x.shape[1] - longest :]
            arrays.append(x.astype(spec.dtype, copy=False))
        elif not spec.sequence:
            arrays.append(np.stack([col[k] for k in idx]).astype(spec.dtype, copy=False))
        else:
            target = _target_length(spec, pad)
            length = longest if (trim or target is None) else target
            if spec.shape[1] is not None:
                length = spec.shape[1]
            rows = [col[k] for k in idx]
            arrays.append(
                pad_text(rows, spec, length, pad.padding) if spec.text else _pad_rows(rows, spec, length, pad)
            )
    return arrays


def _pad_rows(rows: list[np.ndarray], spec: InputSpec, length: int, pad: Padding) -> np.ndarray:
    step = next((r.shape[1:] for r in rows if len(r)), tuple(d or 0 for d in spec.shape[2:]))
    out = np.full((len(rows), length, *step), pad.value, spec.dtype)
    for k, r in enumerate(rows):
        n = len(r)
        if n:
            if pad.padding == "post":
                out[k, :n] = r
            else:
                out[k, length - n :] = r
    return out
