"""The scoring loop: read a window of rows, check and pad them, predict batch by batch (here or
in worker processes), put rows back in input order, write; commit OUTPUT only at the end."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..runtime import load
from .padding import analyse, batch_dependence
from .readers import detect_format, open_reader
from .rows import Padding, Prepared, assemble, input_specs, plan_batches, prepare
from .workers import LocalExecutor, PoolExecutor
from .writers import RejectsWriter, open_writer

WINDOW_BATCHES = 16  # --bucket sorts the rows of this many batches at a time


@dataclass
class Options:
    """What ``rnnconvert predict`` is told (see ``command.py`` for each option's meaning)."""

    batch_size: int = 256
    maxlen: int | None = None
    padding: str = "pre"
    truncating: str = "pre"
    value: float = 0.0
    bucket: bool = False
    workers: int = 1
    on_error: str = "stop"
    rejects: str | None = None
    progress: bool | None = None  # None: a bar on a terminal when tqdm is installed
    input_format: str | None = None
    output_format: str | None = None


@dataclass
class Report:
    rows: int  # rows read
    written: int  # rows scored and written
    rejected: int
    rejects_path: str | None
    seconds: float
    note: str = ""  # a caveat about the numbers (batch-dependent outputs), for the CLI to print


@dataclass
class _Batch:
    prep: Prepared
    idx: np.ndarray
    last: bool  # the last batch of its window


def _check_options(model: Any, opts: Options, input_path: str, output_path: str) -> None:
    if opts.batch_size < 1 or opts.workers < 1:
        raise InputError("--batch-size and --workers must be at least 1")
    if opts.maxlen is not None and opts.maxlen < 1:
        raise InputError("--maxlen must be at least 1")
    if os.path.abspath(input_path) == os.path.abspath(output_path):
        raise InputError(f"{output_path}: OUTPUT must differ from INPUT")
    if model.stateful:
        raise InputError(
            "this bundle is stateful: its rows depend on the batches before them; score it from Python with load()"
        )
    if opts.padding not in ("pre", "post") or opts.truncating not in ("pre", "post"):
        raise InputError("--padding and --truncating take 'pre' or 'post'")


def _progress(opts: Options, total: int | None) -> Any:
    want = opts.progress if opts.progress is not None else sys.stderr.isatty()
    if not want:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        if opts.progress:  # asked for explicitly
            from .extras import require

            require("tqdm", "progress bars")
        return None
    return tqdm(total=total, unit="row", unit_scale=True, file=sys.stderr, dynamic_ncols=True)


def score_file(bundle: str, input_path: str, output_path: str, opts: Options | None = None) -> Report:
    """Score every row of ``input_path`` with the bundle, writing ``output_path``.

    Example:
        >>> score_file("bundle/", "in.npz", "out.npz", Options(batch_size=512, workers=2))  # doctest: +SKIP
    """
    opts = opts or Options()
    t0 = time.perf_counter()
    model = load(bundle)
    _check_options(model, opts, input_path, output_path)
    specs = input_specs(model)
    pad = Padding(opts.maxlen, opts.padding, opts.truncating, opts.value)
    verdict = analyse(model.doc, opts.value)
    if opts.bucket and not verdict.ok and all(s.text and (not s.sequence or s.shape[1]) for s in specs):
        raise InputError(
            "--bucket: this model's inputs hold a fixed number of strings per row; there is no padding to save"
        )
    if opts.bucket and not verdict.ok:
        raise InputError(f"--bucket needs a model whose outputs do not depend on padding: {verdict.reason}")
    in_fmt = detect_format(input_path, opts.input_format)
    out_fmt = detect_format(output_path, opts.output_format)
    reader = open_reader(input_path, in_fmt, [s.name for s in specs])
    rejects = RejectsWriter(opts.rejects or output_path + ".rejects.jsonl")
    writer = None
    executor: Any = None
    bar = None
    counts = {"rows": 0, "written": 0}
    try:
        writer = open_writer(output_path, out_fmt, [o.name for o in model.outputs], [o.shape for o in model.outputs])
        executor = PoolExecutor(bundle, opts.workers) if opts.workers > 1 else LocalExecutor(model)
        bar = _progress(opts, reader.total)
        window = opts.batch_size * (WINDOW_BATCHES if opts.bucket else 1)

        def tasks() -> Iterator[tuple[_Batch, list[np.ndarray]]]:
            for chunk in reader.chunks(window):
                prep = prepare(chunk, specs, pad, strict=opts.on_error == "stop")
                _ragged_needs_length(prep, specs, pad, verdict.reason)
                rejects.add(prep.rejects)
                counts["rows"] += chunk.size
                if bar is not None and prep.rejects:
                    bar.update(len(prep.rejects))
                batches = plan_batches(prep.lengths, opts.batch_size, opts.bucket)
                for j, idx in enumerate(batches):
                    yield _Batch(prep, idx, j == len(batches) - 1), assemble(prep, idx, specs, pad, opts.bucket)

        done: list[tuple[np.ndarray, list[np.ndarray]]] = []
        for meta, outs in executor.map(tasks()):
            done.append((meta.idx, outs))
            if bar is not None:
                bar.update(len(meta.idx))
            if meta.last:
                writer.write(_in_order(done, len(meta.prep.rows)))
                counts["written"] += len(meta.prep.rows)
                done = []
        writer.commit()
        rejects.commit()
    except BaseException:
        if writer is not None:
            writer.abort()
        rejects.abort()
        raise
    finally:
        if bar is not None:
            bar.close()
        if executor is not None:
            executor.close()
        reader.close()
    path = rejects.path if rejects.count else None
    note = batch_dependence(model.doc) if opts.batch_size > 1 else ""
    if note:
        note += "; --batch-size 1 scores each row alone"
    return Report(counts["rows"], counts["written"], rejects.count, path, time.perf_counter() - t0, note)


def _in_order(done: list[tuple[np.ndarray, list[np.ndarray]]], n: int) -> list[np.ndarray]:
    """A window's outputs with its rows back in input order (bucketing sorted them by length)."""
    if len(done) == 1 and np.array_equal(done[0][0], np.arange(n)):
        return done[0][1]
    outs = []
    for k in range(len(done[0][1])):
        first = done[0][1][k]
        full = np.empty((n, *first.shape[1:]), first.dtype)
        for idx, ys in done:
            full[idx] = ys[k]
        outs.append(full)
    return outs


def _ragged_needs_length(prep: Prepared, specs: list[Any], pad: Padding, reason: str) -> None:
    """Ragged rows padded batch by batch are exact only on a padding-invariant model; others need
    one length for every row, as Keras's pad_sequences gives them: --maxlen."""
    if not reason or pad.maxlen is not None:
        return
    for spec in specs:
        if spec.sequence and spec.shape[1] is None and isinstance(prep.columns.get(spec.name), list):
            raise InputError(
                f"input {spec.name!r}: ragged sequences need --maxlen for this model ({reason}), "
                "so that every row is padded to the same length"
            )
