// For the pytest driver (tests/test_js_runtime.py): load a bundle, run its test vectors,
// and when the model streams, feed the first vector call one timestep at a time and
// compare with predict on the whole sequence. Prints one JSON line.

import { load } from "../index.js";
import { toTensor } from "../src/bundle.js";
import { sliceAxis, reshape } from "../src/tensor.js";

const dir = process.argv[2];
const model = await load(dir);
const report = model.check();
const out = { ok: report ? report.ok : null, lines: report ? report.lines : [], outputs: report ? report.outputs : [], stream: null };
const plan = model.streamPlan();
if (!plan.error && !model.stateful && report) {
  const call = model.doc.test_vectors.calls[0];
  const ins = call.inputs.map((k) => toTensor(model.vectorArrays[k]));
  const timed = new Set(plan.timedInputs);
  const T = ins[model.inputs.findIndex((i) => timed.has(i.name))].shape[1];
  const lengths = new Set(ins.filter((_, k) => timed.has(model.inputs[k].name)).map((t) => t.shape[1]));
  if (lengths.size === 1 && T > 0) {
    let whole = model.predict(ins);
    whole = Array.isArray(whole) ? whole : [whole];
    let state = model.initialState(ins[0].shape[0]);
    let worst = 0;
    for (let t = 0; t < T; t++) {
      const x = ins.map((a, k) => {
        if (!timed.has(model.inputs[k].name)) return a;
        const s = sliceAxis(a, 1, t, t + 1);
        return reshape(s, [s.shape[0], ...s.shape.slice(2)]);
      });
      let y;
      [y, state] = model.step(x, state);
      y = Array.isArray(y) ? y : [y];
      y.forEach((yk, k) => {
        const w = whole[k];
        const kind = plan.outputKinds[k];
        let ref = w;
        if (kind === "timed") {
          const s = sliceAxis(w, 1, t, t + 1);
          ref = reshape(s, [s.shape[0], ...s.shape.slice(2)]);
        } else if (kind === "running" && t !== T - 1) return;
        for (let i = 0; i < ref.data.length; i++) {
          if (Number.isFinite(ref.data[i])) worst = Math.max(worst, Math.abs(ref.data[i] - yk.data[i]) / Math.max(1, Math.abs(ref.data[i])));
        }
      });
    }
    out.stream = worst;
  }
}
console.log(JSON.stringify(out));
