"""Keras model (file or in-memory) -> rnnconvert bundle.

Reads files with h5py, zipfile and json; TensorFlow/Keras are imported only when
``source`` is an in-memory ``keras.Model``.

Example:
    >>> from rnnconvert.converter import convert
    >>> result = convert("model.h5", "out/")        # doctest: +SKIP
    >>> print(result.summary())                     # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .keras_import import require_converter_dependencies

# A runtime-only install (NumPy and the package) gets one line naming the pip command, not an
# h5py traceback from the readers imported below.
require_converter_dependencies()

from .. import __version__  # noqa: E402
from ..display import format_shape, printable  # noqa: E402
from ..errors import FormatError, InputError  # noqa: E402
from ..runtime.common import VECTOR_PREFIX  # noqa: E402
from ..runtime.metadata import check_metadata, read_metadata_file  # noqa: E402
from ..runtime.quantize import SCALE_PREFIX  # noqa: E402
from ..schema import FORMAT_NAME, FORMAT_VERSION  # noqa: E402
from .dialects import check_config, check_text  # noqa: E402
from .keras_era import era_of  # noqa: E402
from .keras_import import file_predictor, model_predictor  # noqa: E402
from .layers import LAYER_CONVERTERS  # noqa: E402
from .quantize import DTYPES, measure_error, quantize  # noqa: E402
from .readers import KerasSource, read_source  # noqa: E402
from .vectors import attach_vectors  # noqa: E402
from .walker import build  # noqa: E402
from .writer import check_target, write_bundle  # noqa: E402


class RnnConvertWarning(UserWarning):
    """Something worth knowing about a converted model (NaN weights, guessed Keras version...)."""


@dataclass
class ConversionResult:
    """What ``convert`` wrote: the bundle directory and a summary of the model."""

    out_dir: Path
    doc: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    #: Worst |ours - Keras| over the test vectors when Keras computed them, else None.
    keras_max_error: float | None = None

    @property
    def parameter_count(self) -> int:
        arrays = self.doc["weights"]["arrays"]
        return int(
            sum(int(np.prod(a["shape"])) for k, a in arrays.items() if not k.startswith((VECTOR_PREFIX, SCALE_PREFIX)))
        )

    def summary(self) -> str:
        """What the CLI prints; every text from the model file is escaped (display.printable)."""
        src = self.doc["source"]
        ins = ", ".join(f"{printable(i['name'])}{format_shape(i['shape'])}" for i in self.doc["inputs"])
        outs = ", ".join(f"{printable(o['name'])}{format_shape(o['shape'])}" for o in self.doc["outputs"])
        ops: dict[str, int] = {}
        for n in self.doc["nodes"]:
            ops[n["op"]] = ops.get(n["op"], 0) + 1
        lines = [
            f"wrote {printable(self.out_dir)} (format {self.doc['format_version']})",
            f"  source: {printable(src.get('file') or 'in-memory model')} "
            f"(Keras {printable(src.get('keras_version') or 'unknown')}, {src['container']})",
            f"  inputs: {ins}",
            f"  outputs: {outs}",
            f"  nodes: {len(self.doc['nodes'])} ({', '.join(f'{k} x{v}' for k, v in sorted(ops.items()))}); "
            f"parameters: {self.parameter_count:,}",
        ]
        tv = self.doc.get("test_vectors") or {}
        if tv:
            lines.append(f"  test vectors: {len(tv['calls'])} call(s), expected outputs from {tv['origin']}")
        if self.keras_max_error is not None:
            lines.append(f"  verified against Keras: max |rnnconvert - keras| = {self.keras_max_error:.3g}")
        qerr = tv.get("quantization_error") if tv else None
        if qerr:
            scheme = next(
                (a["quantization"]["scheme"] for a in self.doc["weights"]["arrays"].values() if "quantization" in a),
                "?",
            )
            lines.append(f"  weights stored as {scheme}: max |error| vs float32 weights = {max(qerr):.3g}")
        lines += [f"  warning: {printable(w)}" for w in self.warnings]
        return "\n".join(lines)


def build_document(source: KerasSource) -> tuple[dict[str, Any], dict[str, np.ndarray], list[str]]:
    """Convert a read Keras model into the bundle's JSON document and arrays (nothing written)."""
    notes: list[str] = []
    check_config(source.config)  # depth and text, before anything recurses over it
    if isinstance(source.keras_version, str):
        check_text(source.keras_version, "keras_version")
    era = era_of(source.keras_version, source.config)
    if era.guessed:
        notes.append(f"the file records no Keras version; read as Keras {era.major}.x from its config")
    b, outputs = build(source, era, LAYER_CONVERTERS)
    notes = list(source.notes) + notes  # the readers' notes, and guesses layer conversions made
    for key, arr in b.arrays.items():
        if not np.all(np.isfinite(arr)):
            notes.append(f"weight {key} contains NaN or Inf")
    inner = source.config.get("config")
    doc: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "producer": {"name": "rnnconvert", "version": __version__},
        "source": {
            "file": source.file,
            "sha256": source.sha256,
            "weights_file": source.weights_file,
            "weights_sha256": source.weights_sha256,
            "container": source.container,
            "keras_version": source.keras_version,
            "backend": source.backend,
            "model_class": str(source.config.get("class_name")),
            "model_name": str(inner.get("name", "")) if isinstance(inner, dict) else "",
        },
        "inputs": b.inputs,
        "outputs": [{"name": n, "from": list(t.ref), "shape": list(t.shape), "dtype": t.dtype} for n, t in outputs],
        "nodes": b.nodes,
    }
    return doc, b.arrays, notes


def convert(
    source: str | os.PathLike[str] | Any,
    out_dir: str | os.PathLike[str],
    *,
    weights: str | os.PathLike[str] | None = None,
    force: bool = False,
    verify: bool = False,
    dtype: str = "float32",
    metadata: Mapping[str, Any] | str | os.PathLike[str] | None = None,
) -> ConversionResult:
    """Convert a Keras model to a bundle directory.

    Args:
        source: path to a ``.keras``, ``.h5`` or architecture ``.json`` file, a tf.keras
            SavedModel folder, or an in-memory ``keras.Model`` (Keras 3 or tf_keras).
        out_dir: the bundle directory to write (``model.json`` + ``weights.npz``).
        weights: the weights HDF5 that goes with an architecture JSON.
        force: replace an existing non-empty ``out_dir`` (atomically).
        verify: load the source with Keras (it must be installed) and store Keras's
            outputs as the bundle's test vectors, reporting the worst difference.
            In-memory models are always verified this way; otherwise the vectors'
            expected outputs come from our runtime and are marked so.
        dtype: how weight matrices are stored: ``float32`` (exact), ``float16`` or
            ``int8`` (per-channel scales); the runtime computes in float32 either way.
            The error a reduced precision costs is measured on the test vectors and
            recorded as ``test_vectors.quantization_error`` (see quantize.py).
        metadata: a JSON object (a dict, or the path of a ``.json`` file holding one) to
            store as the bundle's ``metadata`` -- a vocabulary, label names -- which
            ``model.metadata`` returns; at most 4 MiB of JSON (FORMAT.md 2.1).

    Returns:
        A :class:`ConversionResult`; ``result.summary()`` is what the CLI prints.

    Raises:
        RnnConvertError: any problem with the input or the output directory;
            nothing is written then.
    """
    require_converter_dependencies()  # a runtime-only install: one line naming the pip command
    check_target(out_dir, force, keep=(source, weights))
    if dtype not in DTYPES:
        raise InputError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    meta = _metadata(metadata)
    predictor, kversion = None, None
    if isinstance(source, (str, os.PathLike)):
        with read_source(source, weights) as ksrc:  # weights are read lazily, then the files closed
            doc, arrays, notes = build_document(ksrc)
        if verify:
            predictor, kversion = file_predictor(Path(source), weights, ksrc.keras_version)
    else:
        if weights is not None:
            raise InputError("weights= goes with an architecture JSON path, not an in-memory model")
        doc, arrays, notes = _convert_in_memory(source)
        predictor, kversion = model_predictor(source), doc["source"]["keras_version"]
    if meta is not None:
        doc["metadata"] = meta
    worst = attach_vectors(doc, arrays, keras_predict=predictor, keras_version=kversion)
    for note in notes:
        warnings.warn(printable(note), RnnConvertWarning, stacklevel=2)  # names from the file, escaped
    stored, qmeta = quantize(doc, arrays, dtype)
    if qmeta:
        doc["test_vectors"]["quantization_error"] = measure_error(doc, stored, qmeta)
    out = write_bundle(doc, stored, out_dir, force=force, quantization=qmeta)
    return ConversionResult(out, doc, notes, worst)


def _metadata(value: Mapping[str, Any] | str | os.PathLike[str] | None) -> dict[str, Any] | None:
    """The metadata to store: a file's JSON object, or a mapping made plain JSON and checked."""
    if value is None:
        return None
    if isinstance(value, (str, os.PathLike)):
        return read_metadata_file(value)
    if not isinstance(value, Mapping):
        raise InputError(f"metadata must be a dict or a JSON file path, got {type(value).__name__}")
    try:  # a plain, detached copy: what the bundle will hold
        plain = json.loads(json.dumps(dict(value), allow_nan=False))
    except (TypeError, ValueError, RecursionError) as exc:
        raise InputError(f"metadata is not plain JSON ({exc})") from None
    try:
        return check_metadata(plain)
    except FormatError as exc:
        raise InputError(str(exc)) from None


def _convert_in_memory(model: Any) -> tuple[dict[str, Any], dict[str, np.ndarray], list[str]]:
    """Save the model with its own Keras to a temporary file, then convert that file."""
    module = type(model).__module__
    if not hasattr(model, "save") or not module.startswith(("keras", "tf_keras", "tensorflow")):
        raise InputError(f"source must be a path or a keras.Model, got {type(model).__name__}")
    with tempfile.TemporaryDirectory(prefix="rnnconvert-") as tmp:
        if module.startswith("keras"):
            path = Path(tmp) / "model.keras"
            model.save(path)
        else:
            path = Path(tmp) / "model.h5"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.save(path)
        with read_source(path, trusted=True) as ksrc:
            ksrc.container, ksrc.file, ksrc.sha256 = "in-memory", None, None
            return build_document(ksrc)


__all__ = ["convert", "ConversionResult", "RnnConvertWarning", "build_document"]
