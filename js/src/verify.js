// Running a bundle's embedded test vectors (runtime/verify.py): every stored call in
// order from reset states, each output within 1e-5 * max(1, max|y|) (plus the recorded
// quantization error for a quantized bundle, and the output's recorded float32 sensitivity).

import { FormatError } from "./errors.js";
import { toTensor } from "./bundle.js";
import { StringArray, Tensor } from "./tensor.js";

export function tolerance(expected) {
  let m = 0;
  for (const v of expected) if (Number.isFinite(v) && Math.abs(v) > m) m = Math.abs(v);
  return 1e-5 * Math.max(1, m);
}

function recorded(doc, key, j) {
  const values = doc.test_vectors && doc.test_vectors[key];
  if (!Array.isArray(values) || j >= values.length || typeof values[j] !== "number") return 0;
  if (!Number.isFinite(values[j]) || values[j] < 0) throw new FormatError(`model.json: test_vectors.${key}[${j}] must be a number >= 0`);
  return values[j];
}

// FORMAT.md 8: the quantization cost (+10%) and the output's own float32 sensitivity.
function allowance(doc, j) {
  return 1.1 * recorded(doc, "quantization_error", j) + recorded(doc, "float32_sensitivity", j);
}

/** Run the vectors: {origin, ok, outputs: [{name, maxAbsError, tolerance, ok}], lines}, or null without vectors. */
export function check(model) {
  const spec = model.doc.test_vectors;
  if (!spec) return null;
  const calls = spec.calls;
  if (!Array.isArray(calls) || !calls.length) throw new FormatError("model.json: test_vectors.calls must be a non-empty list");
  const n = model.outputs.length;
  const worst = new Array(n).fill(0);
  const tols = new Array(n).fill(0);
  const saved = model._states;
  model.resetStates();
  try {
    calls.forEach((call, k) => {
      let ins;
      let expected;
      try {
        ins = vectorInputs(model, call);
        expected = call.outputs.map((key) => toTensor(model.vectorArrays[key]));
      } catch {
        throw new FormatError(`model.json: test_vectors.calls[${k}] names arrays the bundle lacks`);
      }
      let got = model.predict(ins);
      got = Array.isArray(got) ? got : [got];
      if (got.length !== expected.length || expected.length !== n) throw new FormatError(`model.json: test_vectors.calls[${k}] has ${expected.length} outputs, the model ${n}`);
      got.forEach((g, j) => {
        const e = expected[j];
        if (g.shape.length !== e.shape.length || g.shape.some((d, i) => d !== e.shape[i])) {
          throw new FormatError(`test vector call ${k} output ${j}: shape [${g.shape}], stored [${e.shape}]`);
        }
        let err = 0;
        for (let i = 0; i < e.data.length; i++) {
          const ev = e.data[i];
          const gv = g.data[i];
          if (Number.isNaN(ev) !== Number.isNaN(gv)) err = Infinity;
          else if (Number.isFinite(ev)) err = Math.max(err, Math.abs(gv - ev));
          else if (ev !== gv && !Number.isNaN(ev)) err = Infinity;
        }
        worst[j] = Math.max(worst[j], err);
        tols[j] = Math.max(tols[j], tolerance(e.data) + allowance(model.doc, j));
      });
    });
  } finally {
    model._states = saved;
  }
  let origin = String(spec.origin || "unknown");
  if (spec.keras_version) origin += ` ${spec.keras_version}`;
  const outputs = model.outputs.map((o, j) => ({ name: o.name, maxAbsError: worst[j], tolerance: tols[j], ok: worst[j] <= tols[j] }));
  const lines = [`test vectors from ${origin}:`, ...outputs.map((o) => `  ${o.name}: max |error| ${o.maxAbsError.toPrecision(3)} (tolerance ${o.tolerance.toPrecision(3)}) ${o.ok ? "ok" : "MISMATCH"}`)];
  return { origin, ok: outputs.every((o) => o.ok), outputs, lines };
}

/** A test-vector call's inputs as tensors; a string input is stored as int32 code points
 *  (*shape, L) padded with -1 (FORMAT.md 8) and decoded here. */
export function vectorInputs(model, call) {
  return call.inputs.map((key, k) => {
    const t = toTensor(model.vectorArrays[key]);
    return model.inputs[k] && model.inputs[k].dtype === "string" ? decodeStrings(t) : t;
  });
}

function decodeStrings(t) {
  const L = t.shape[t.shape.length - 1];
  const shape = t.shape.slice(0, -1);
  const n = shape.reduce((a, d) => a * d, 1);
  const out = new StringArray(n);
  for (let i = 0; i < n; i++) {
    const row = Array.from(t.data.subarray(i * L, i * L + L));
    const end = row.indexOf(-1) < 0 ? L : row.indexOf(-1);
    if (row.slice(end).some((c) => c !== -1) || row.slice(0, end).some((c) => c < 0 || c > 0x10ffff || (c >= 0xd800 && c < 0xe000))) {
      throw new FormatError("a string test vector holds a code that is no Unicode character");
    }
    out[i] = row.slice(0, end).map((c) => String.fromCodePoint(c)).join("");
  }
  return new Tensor(out, shape, "string");
}
