"""Test vectors the converter stores in a bundle: inputs chosen to exercise what can go
wrong (padding for masked models, several calls for stateful ones, every output), with
expected outputs from Keras when it is at hand, else from our runtime (and marked so).

Their size is bounded: free dimensions are small (batch 3, 6 steps), but a model may fix its
input shape in the file. A free batch is then reduced to 1; if the fixed dimensions alone
still exceed :data:`MAX_VECTOR_VALUES` values per call, or a fixed sequence axis
:data:`MAX_VECTOR_STEPS` steps, conversion stops with a :class:`ResourceError` naming the
input, rather than allocating without bound or stepping for minutes."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import FormatError, ResourceError
from ..runtime.inputs import encode_strings
from ..runtime.model import Model
from ..runtime.verify import VECTOR_PREFIX
from .text_vectors import preprocessing_input

SEED = 20240229  # fixed: the same model always gets the same vectors (byte-identical bundles)
MAX_VECTOR_VALUES = 1 << 22  # per call, over all inputs (16 MiB of float32)
MAX_VECTOR_STEPS = 1 << 16  # a fixed sequence length above this would step for minutes


def vector_shapes(doc: dict[str, Any]) -> list[list[int]]:
    """Each input's shape in the test vectors: free dims filled small, within the bounds."""
    fixed = next((i["shape"][0] for i in doc["inputs"] if i["shape"][0] is not None), None)

    def shapes(batch: int) -> list[list[int]]:
        return [[batch] + [int(d) if d is not None else 6 for d in spec["shape"][1:]] for spec in doc["inputs"]]

    out = shapes(fixed if fixed is not None else 3)
    if fixed is None and _values(out) > MAX_VECTOR_VALUES:
        out = shapes(1)
    total = _values(out)
    biggest = max(range(len(out)), key=lambda i: _values([out[i]]), default=0)
    for k, (spec, shape) in enumerate(zip(doc["inputs"], out)):
        steps = shape[1] if len(shape) >= 2 and spec["shape"][1] is not None else 0
        if (total > MAX_VECTOR_VALUES and k == biggest) or steps > MAX_VECTOR_STEPS:
            raise ResourceError(
                f"input {spec['name']!r}: test vectors at the model's fixed input shape {tuple(spec['shape'])} "
                f"would need {total:,} values and {steps:,} steps per call, over the bounds "
                f"({MAX_VECTOR_VALUES:,} values, {MAX_VECTOR_STEPS:,} steps)"
            )
    return out


def _values(shapes: list[list[int]]) -> int:
    return sum(int(np.prod(s, dtype=np.float64)) for s in shapes)


def _id_range(doc: dict[str, Any], input_name: str) -> int | None:
    """The smallest Embedding vocabulary reading this input, if any."""
    sizes = [
        int(n["config"]["input_dim"])
        for n in doc["nodes"]
        if n["op"] == "Embedding" and any(r[0] == input_name for r in n["inputs"])
    ]
    return min(sizes) if sizes else None


def _mask_values(doc: dict[str, Any], input_name: str) -> list[float]:
    vals = []
    for n in doc["nodes"]:
        if n["op"] in ("NotEqualMask", "Masking") and any(r[0] == input_name for r in n["inputs"]):
            vals.append(float(n["config"].get("value", n["config"].get("mask_value", 0.0))))
    return vals


def make_inputs(doc: dict[str, Any], calls: int) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(SEED)
    shapes = vector_shapes(doc)
    free_batch = all(i["shape"][0] is None for i in doc["inputs"])
    out = []
    for _ in range(calls):
        arrays = []
        for spec, shape in zip(doc["inputs"], shapes):
            vocab = _id_range(doc, spec["name"])
            pre = preprocessing_input(doc, spec, shape, rng)
            if pre is not None:
                arrays.append(pre)
                continue
            if vocab is not None:
                a = rng.integers(1 if vocab > 1 else 0, max(vocab, 1), shape).astype(np.int32)
            else:
                a = rng.normal(0.0, 1.0, shape).astype(np.float32)
            masks = _mask_values(doc, spec["name"])
            if masks and len(shape) >= 2 and shape[1] >= 3:
                # Pre-padding on row 0, post-padding on row 1, interior padding on row 2.
                pad = np.zeros(shape[:2], bool)
                pad[0, :2] = True
                if shape[0] > 1:
                    pad[1, -2:] = True
                if shape[0] > 2:
                    pad[2, 1] = True
                a[pad] = a.dtype.type(masks[0])
            if spec["dtype"].startswith("int"):
                a = a.astype(np.int32)
            arrays.append(a)
        if free_batch:
            arrays = _with_masked_row(doc, arrays, rng)
        out.append(arrays)
    return out


def _with_masked_row(doc: dict[str, Any], arrays: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """One more row, fully masked in every masked input (FORMAT.md 8): what attention's
    float32 penalty, a masked average and a scan that never starts do with no real step.
    Drawn after the other rows, so those stay as they were."""
    masked = [_mask_values(doc, spec["name"]) for spec in doc["inputs"]]
    if not any(m and a.ndim >= 2 and a.shape[1] >= 3 for m, a in zip(masked, arrays)):
        return arrays
    out = []
    for m, a in zip(masked, arrays):
        if m and a.ndim >= 2:
            row = np.full((1, *a.shape[1:]), m[0], a.dtype)
        elif a.dtype.kind in "iuU":
            row = a[:1].copy()  # ids (or tokens): a row already known to be in range
        else:
            row = rng.normal(0.0, 1.0, (1, *a.shape[1:])).astype(a.dtype)
        out.append(np.concatenate([a, row]))
    return out


def attach_vectors(
    doc: dict[str, Any],
    arrays: dict[str, np.ndarray],
    *,
    keras_predict: Any = None,
    keras_version: str | None = None,
) -> float | None:
    """Add ``test_vectors`` to ``doc`` and its arrays to ``arrays``.

    ``keras_predict(calls) -> list of output lists`` supplies Keras's outputs; without it
    the expected outputs come from our runtime. Returns the worst |ours - Keras| when
    Keras was used, else None.
    """
    stateful = any(n["config"].get("stateful") for n in doc["nodes"])
    calls = make_inputs(doc, 3 if stateful else 1)
    ours_model = Model.from_arrays(doc, arrays)
    ours = []
    for ins in calls:
        y = ours_model.predict(ins)
        ours.append([np.asarray(a, np.float32) for a in (y if isinstance(y, list) else [y])])
    worst = None
    if keras_predict is not None:
        expected = [[np.asarray(a, np.float32) for a in outs] for outs in keras_predict(calls)]
        worst = 0.0
        for o_call, e_call in zip(ours, expected):
            _check_same_shapes(doc, o_call, e_call)
            for o, e in zip(o_call, e_call):
                fin = np.isfinite(e)
                if fin.any():
                    worst = max(worst, float(np.max(np.abs(o[fin] - e[fin]))))
        origin = "keras"
    else:
        expected, origin = ours, "rnnconvert-runtime"
    entries = []
    for c, (ins, outs) in enumerate(zip(calls, expected)):
        in_keys, out_keys = [], []
        for i, a in enumerate(ins):
            key = f"{VECTOR_PREFIX}call{c}/input{i}"
            arrays[key] = encode_strings(a) if a.dtype.kind == "U" else np.ascontiguousarray(a)
            in_keys.append(key)
        for j, a in enumerate(outs):
            key = f"{VECTOR_PREFIX}call{c}/output{j}"
            arrays[key] = np.ascontiguousarray(a, dtype=np.float32)
            out_keys.append(key)
        entries.append({"inputs": in_keys, "outputs": out_keys})
    doc["test_vectors"] = {
        "origin": origin,
        "keras_version": keras_version if origin == "keras" else None,
        "stateful_sequence": stateful,
        "calls": entries,
        "float32_sensitivity": float32_sensitivity(doc, arrays, calls, ours),
    }
    return worst


def _check_same_shapes(doc: dict[str, Any], ours: list[np.ndarray], keras: list[np.ndarray]) -> None:
    """Keras's outputs on the vectors must have our shapes: a difference means the converted
    graph computes something else (it used to surface as an IndexError comparing them)."""
    names = [str(o.get("name")) for o in doc["outputs"]]
    if len(ours) != len(keras):
        raise FormatError(f"the converted model gives {len(ours)} outputs on the test vectors, Keras {len(keras)}")
    for name, o, e in zip(names, ours, keras):
        if o.shape != e.shape:
            raise FormatError(
                f"output {name!r}: the converted model gives shape {o.shape} on the test vectors, "
                f"Keras {e.shape}; the conversion does not compute what Keras does"
            )


SENSITIVITY_DRAWS = 2


def float32_sensitivity(
    doc: dict[str, Any], arrays: dict[str, np.ndarray], calls: list[list[np.ndarray]], ours: list[list[np.ndarray]]
) -> list[float]:
    """Per output: how far float32 rounding alone moves it on these inputs (FORMAT.md 8).

    Every float32 weight is nudged by one rounding step (a relative ``±2**-24``, random
    sign) and the calls run again; the worst change over :data:`SENSITIVITY_DRAWS` seeded
    draws is recorded. For a well-conditioned output it is ~1e-7 relative, far below the
    1e-5 tolerance; where the model amplifies rounding (an exponential activation
    compounding over a recurrence) it is what two correct float32 implementations --
    Keras and ours, or Keras in another order -- may disagree by, and the check allows it.
    """
    rng = np.random.default_rng(SEED + 1)
    worst = [0.0] * len(ours[0]) if ours else []
    for _ in range(SENSITIVITY_DRAWS):
        nudged = {}
        for key, a in arrays.items():
            if a.dtype == np.float32 and not key.startswith(VECTOR_PREFIX):
                step = np.where(rng.random(a.shape) < 0.5, np.float32(-(2.0**-24)), np.float32(2.0**-24))
                a = (a * (np.float32(1) + step)).astype(np.float32)
            nudged[key] = a
        model = Model.from_arrays(doc, nudged)
        for ins, base in zip(calls, ours):
            y = model.predict(ins)
            for j, (a, b) in enumerate(zip(y if isinstance(y, list) else [y], base)):
                fin = np.isfinite(a) & np.isfinite(b)
                if fin.any():
                    worst[j] = max(worst[j], float(np.max(np.abs(np.asarray(a, np.float64)[fin] - b[fin]))))
    return [float(np.float32(w)) for w in worst]
