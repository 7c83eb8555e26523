// For the pytest driver (tests/test_js_runtime.py): for each bundle directory given, load it,
// run its test vectors, and when the model streams, feed the first vector call one timestep
// at a time and compare with predict on the whole sequence. All bundles run in this one
// process (one Node start for the whole suite); prints one JSON line per bundle, in order:
// {"dir", "ok", "lines", "outputs", "stream"} or {"dir", "error"} when the bundle threw.
// The vectors run twice, with the WebAssembly kernels (the default) and with the JavaScript
// ones (kernels: "js"): "ok" needs both, each output reports the worse of the two.

import { load } from "../index.js";
import { vectorInputs } from "../src/verify.js";
import { sliceAxis, reshape } from "../src/tensor.js";

function timestep(a, t) {
  const s = sliceAxis(a, 1, t, t + 1);
  return reshape(s, [s.shape[0], ...s.shape.slice(2)]);
}

// The worst relative difference between stepping one timestep at a time and the whole call,
// or null when the model does not stream (or its timed inputs differ in length).
function streamError(model, plan) {
  const call = model.doc.test_vectors.calls[0];
  const ins = vectorInputs(model, call);
  const timed = new Set(plan.timedInputs);
  const T = ins[model.inputs.findIndex((i) => timed.has(i.name))].shape[1];
  const lengths = new Set(ins.filter((_, k) => timed.has(model.inputs[k].name)).map((t) => t.shape[1]));
  if (lengths.size !== 1 || !(T > 0)) return null;
  let whole = model.predict(ins);
  whole = Array.isArray(whole) ? whole : [whole];
  let state = model.initialState(ins[0].shape[0]);
  let worst = 0;
  for (let t = 0; t < T; t++) {
    const x = ins.map((a, k) => (timed.has(model.inputs[k].name) ? timestep(a, t) : a));
    let y;
    [y, state] = model.step(x, state);
    y = Array.isArray(y) ? y : [y];
    y.forEach((yk, k) => {
      const kind = plan.outputKinds[k];
      if (kind === "running" && t !== T - 1) return;
      const ref = kind === "timed" ? timestep(whole[k], t) : whole[k];
      for (let i = 0; i < ref.data.length; i++) {
        if (Number.isFinite(ref.data[i])) worst = Math.max(worst, Math.abs(ref.data[i] - yk.data[i]) / Math.max(1, Math.abs(ref.data[i])));
      }
    });
  }
  return worst;
}

// The worst relative difference between predict run through time one step per chunk (the
// smallest timeChunkElements) and predict on the whole call; null when it would not chunk.
async function chunkedError(dir, model) {
  const call = model.doc.test_vectors.calls[0];
  const ins = vectorInputs(model, call);
  const chunked = await load(dir, { timeChunkElements: 1 });
  if (!chunked._timeChunk(chunked._coerce(ins))) return null;
  const flat = (y) => (Array.isArray(y) ? y : [y]);
  const whole = flat(model.predict(ins));
  const got = flat(chunked.predict(ins));
  let worst = 0;
  whole.forEach((ref, k) => {
    if (got[k].shape.join() !== ref.shape.join()) worst = Infinity;
    for (let i = 0; i < ref.data.length; i++) {
      if (Number.isFinite(ref.data[i])) worst = Math.max(worst, Math.abs(ref.data[i] - got[k].data[i]) / Math.max(1, Math.abs(ref.data[i])));
    }
  });
  return worst;
}

/** Both kernel paths' reports as one: ok if both are, the worse error of each output. */
function worseOf(a, b) {
  if (!a || !b) return a || b;
  const outputs = a.outputs.map((o, j) => (b.outputs[j].maxAbsError > o.maxAbsError || !b.outputs[j].ok ? b.outputs[j] : o));
  const lines = [...a.lines, ...(b.ok ? [] : ["with the JavaScript kernels:", ...b.lines.slice(1)])];
  return { ...a, ok: a.ok && b.ok, outputs, lines };
}

async function checkBundle(dir) {
  const model = await load(dir);
  const report = worseOf(model.check(), (await load(dir, { kernels: "js" })).check());
  const out = { dir, ok: report ? report.ok : null, lines: report ? report.lines : [], outputs: report ? report.outputs : [], stream: null, chunked: null };
  const plan = model.streamPlan();
  out.planError = plan.error;
  if (!plan.error && !model.stateful && report) {
    out.stream = streamError(model, plan);
    out.chunked = await chunkedError(dir, model);
  }
  return out;
}

for (const dir of process.argv.slice(2)) {
  let out;
  try {
    out = await checkBundle(dir);
  } catch (err) {
    out = { dir, error: String(err && err.stack ? err.stack : err) };
  }
  console.log(JSON.stringify(out));
}
