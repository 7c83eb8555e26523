// The web demo: load the char-LSTM bundle, then continue the typed seed one character at
// a time with model.step (the LSTM states carried, nothing recomputed). temperature 0 is
// greedy (argmax); above 0 samples with a seeded generator, so a run repeats.

import { load } from "../dist/rnnconvert.js"; // the package entry: one request

export async function setup(bundleUrl = "./bundle/") {
  const model = await load(bundleUrl);
  const vocab = model.metadata.vocab; // stored in the bundle by rnnconvert --metadata examples/charlstm/metadata.json
  if (!Array.isArray(vocab)) throw new Error("the bundle has no vocabulary: convert it with --metadata examples/charlstm/metadata.json");
  const index = new Map(vocab.map((c, i) => [c, i]));
  const encode = (text) => Int32Array.from([...text].map((c) => index.get(c) ?? index.get(" ")));

  /** The seed continued by ``n`` characters: greedy for temperature 0, else sampled (seed 0). */
  function generate(seed, n, temperature = 0) {
    const ids = encode(seed);
    let state = model.initialState(1);
    let [p, s] = model.step({ data: ids, shape: [1, ids.length] }, state); // the seed as one chunk
    state = s;
    const rand = mulberry32(0);
    let text = seed;
    for (let k = 0; k < n; k++) {
      const next = temperature > 0 ? sample(p.data, temperature, rand) : argmax(p.data);
      text += vocab[next];
      [p, state] = model.step({ data: Int32Array.of(next), shape: [1] }, state);
    }
    return text;
  }
  return { model, vocab, generate };
}

function argmax(p) {
  let best = 0;
  for (let i = 1; i < p.length; i++) if (p[i] > p[best]) best = i;
  return best;
}

function sample(p, temperature, rand) {
  const logits = Array.from(p, (v) => Math.log(Math.max(v, 1e-12)) / temperature);
  const m = Math.max(...logits);
  const w = logits.map((l) => Math.exp(l - m));
  let r = rand() * w.reduce((a, b) => a + b, 0);
  for (let i = 0; i < w.length; i++) if ((r -= w[i]) <= 0) return i;
  return w.length - 1;
}

function mulberry32(a) {
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

if (typeof document !== "undefined" && document.getElementById("go")) {
  const $ = (id) => document.getElementById(id);
  setup()
    .then(({ model, generate }) => {
      window.rnnconvertDemo = { model, generate };
      $("status").textContent = `ready: ${model}`;
      $("go").disabled = false;
      $("go").onclick = () => {
        const t0 = performance.now();
        $("out").textContent = generate($("seed").value, Number($("count").value), Number($("temperature").value));
        $("status").textContent = `${Number($("count").value)} characters in ${(performance.now() - t0).toFixed(0)} ms`;
      };
    })
    .catch((err) => {
      $("status").textContent = `error: ${err.message}`;
      window.rnnconvertDemoError = String(err && err.message);
    });
}
