"""Running a bundle's stored test vectors: the inputs and expected outputs the converter
saved (from Keras itself, or from this runtime when Keras was not at hand)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import FormatError
from .common import VECTOR_PREFIX, max_abs_error
from .inputs import decode_strings
from .quantize import vector_allowance


@dataclass
class OutputCheck:
    """The worst difference on one output over every stored call."""

    name: str
    max_abs_error: float
    tolerance: float

    @property
    def ok(self) -> bool:
        return self.max_abs_error <= self.tolerance


@dataclass
class VerifyReport:
    origin: str
    outputs: list[OutputCheck]

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outputs)

    def lines(self) -> list[str]:
        out = [f"test vectors from {self.origin}:"]
        for o in self.outputs:
            verdict = "ok" if o.ok else "MISMATCH"
            out.append(f"  {o.name}: max |error| {o.max_abs_error:.3g} (tolerance {o.tolerance:.3g}) {verdict}")
        return out


def tolerance(expected: np.ndarray) -> float:
    """The parity bound: 1e-5 * max(1, max|y|) over the finite values."""
    fin = expected[np.isfinite(expected)]
    return 1e-5 * max(1.0, float(np.max(np.abs(fin))) if fin.size else 1.0)


def sensitivity_allowance(doc: dict[str, Any], output_index: int) -> float:
    """What float32 rounding alone moves this output by on the vectors' inputs, as the
    converter measured it (``test_vectors.float32_sensitivity``, FORMAT.md 8); 0.0 if absent."""
    values = (doc.get("test_vectors") or {}).get("float32_sensitivity")
    if not isinstance(values, list) or not 0 <= output_index < len(values):
        return 0.0
    v = values[output_index]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0:
        raise FormatError(f"model.json: test_vectors.float32_sensitivity[{output_index}] must be a number >= 0")
    return float(v)


def run_vectors(model: Any) -> VerifyReport | None:
    """Run every stored call (in order, from reset states) and compare; None if the bundle has none."""
    spec = model.doc.get("test_vectors")
    if not spec:
        return None
    arrays = model.vector_arrays
    calls = spec.get("calls")
    if not isinstance(calls, list) or not calls:
        raise FormatError("model.json: test_vectors.calls must be a non-empty list")
    worst = [0.0] * len(model.outputs)
    tols = [0.0] * len(model.outputs)
    saved_states = model.get_states()
    model.reset_states()
    try:
        for k, call in enumerate(calls):
            try:
                ins = [arrays[key] for key in call["inputs"]]
                ins = [
                    decode_strings(a, f"test_vectors.calls[{k}]") if i.dtype == "string" else a
                    for a, i in zip(ins, model.inputs)
                ]
                expected = [arrays[key] for key in call["outputs"]]
            except (KeyError, TypeError):
                raise FormatError(f"model.json: test_vectors.calls[{k}] names arrays the bundle lacks") from None
            got = model.predict(ins)
            got = got if isinstance(got, list) else [got]
            if len(got) != len(expected) or len(expected) != len(worst):
                raise FormatError(
                    f"model.json: test_vectors.calls[{k}] has {len(expected)} outputs, the model {len(worst)}"
                )
            for j, (g, e) in enumerate(zip(got, expected)):
                if g.shape != e.shape:
                    raise FormatError(f"test vector call {k} output {j}: shape {g.shape}, stored {e.shape}")
                worst[j] = max(worst[j], max_abs_error(g, e))
                # a quantized bundle may differ by what its storage costs (quantize.py), no more
                # an output the model makes sensitive to float32 rounding may differ by that much
                allowance = vector_allowance(model.doc, j) + sensitivity_allowance(model.doc, j)
                tols[j] = max(tols[j], tolerance(e) + allowance)
    finally:
        model.set_states(saved_states)
    origin = str(spec.get("origin", "unknown"))
    if spec.get("keras_version"):
        origin += f" {spec['keras_version']}"
    return VerifyReport(origin, [OutputCheck(o.name, w, t) for o, w, t in zip(model.outputs, worst, tols)])


__all__ = ["VECTOR_PREFIX", "OutputCheck", "VerifyReport", "run_vectors", "sensitivity_allowance", "tolerance"]
