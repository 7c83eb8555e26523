// Benchmark the JavaScript runtime (js/) in Node: m1 and m2 (benchmarks/bench.py) at batch 1
// and 64 and the streaming step, against TensorFlow.js (@tensorflow/tfjs CPU backend, plain
// JavaScript like ours; tfjs-backend-wasm when it loads) running the same weights, and the
// JavaScript floor: the models' own matrix products alone, as Float32Array loops (the same
// kernel our ops use, with the weights' packed layouts cached as the runtime's), at their real shapes. Every row reports ms per call and GFLOP/s.
// "js" runs the runtime's default kernels (WebAssembly where available), "js-plain" its plain
// JavaScript ones (load(..., {kernels: "js"})).
// At batch 1 js/floor is measured a second way, by CPU time of calls made in alternation, and the
// cold start reports each phase's CPU time beside its wall time: on a shared, loaded machine wall
// times of separate windows differ by more than the effects measured.
//
//   node benchmarks/bench_js.mjs WORKDIR [--quick]     (WORKDIR: m1-float32/, m2-float32/ bundles;
//   benchmarks/bench_js.py makes them, times the NumPy runtime and prints both)
// Prints one JSON object.

import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { join } from "node:path";
import { load } from "../js/index.js";
import { beginCall, gemm, markConstant } from "../js/src/ops/linalg.js";

const [work, ...flags] = process.argv.slice(2);
const QUICK = flags.includes("--quick");
const MIN_MS = QUICK ? 300 : 1500;
const T = 100;

function timeIt(fn) {
  fn(); // warm-up: JIT and first-call caches out of the measurement
  const times = [];
  const start = performance.now();
  // at least 3 calls, unless a call is slow (tfjs-cpu's m2 at B=64 takes a minute): then one
  while ((times.length < 3 && performance.now() - start < 3 * MIN_MS) || (performance.now() - start < MIN_MS && times.length < 200)) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** js / floor as the median of CPU-time ratios of calls made in alternation: other jobs on a
 *  shared machine slow both sides of each pair alike, where separate timing windows see
 *  different loads. */
function interleavedCpuRatio(js, fl, pairs = QUICK ? 15 : 40) {
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e3;
  };
  const a = [];
  const b = [];
  for (let i = 0; i < pairs; i++) {
    let c = cpu();
    js();
    a.push(cpu() - c);
    c = cpu();
    fl();
    b.push(cpu() - c);
  }
  const med = (v) => v.slice().sort((p, q) => p - q)[v.length >> 1];
  return { js_cpu_ms: med(a), floor_cpu_ms: med(b), ratio: med(a) / med(b) };
}

function randomInput(name, batch, seed = 1) {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  if (name === "m1") return { data: Float32Array.from({ length: batch * T * 32 }, () => rand() * 2 - 1), shape: [batch, T, 32] };
  return { data: Int32Array.from({ length: batch * T }, () => Math.floor(rand() * 5000)), shape: [batch, T] };
}

/** The products of one call: [M, K, N] triples (input projections once, recurrent ones per step). */
function products(name, batch) {
  if (name === "m1") {
    return [[batch * T, 32, 512], ...Array(T).fill([batch, 128, 512]), [batch * T, 128, 512], ...Array(T).fill([batch, 128, 512]), [batch, 128, 10]];
  }
  return [[batch * T, 64, 768], ...Array(T).fill([batch, 256, 768]), [batch, 256, 5000]];
}

const flopsOf = (prods) => prods.reduce((s, [m, k, n]) => s + 2 * m * k * n, 0);

function floor(prods) {
  const bufs = new Map();
  const get = (k, n) => {
    const key = `${k}x${n}`;
    // weights, as the runtime's: constant, so gemm may use (and cache) its packed layouts
    if (!bufs.has(key)) bufs.set(key, markConstant(new Float32Array(k * n).fill(0.01)));
    return bufs.get(key);
  };
  const ins = prods.map(([m, k]) => new Float32Array(m * k).fill(0.5));
  const outs = prods.map(([m, , n]) => new Float32Array(m * n));
  return () => {
    beginCall(); // one model call: from the second on, the weights' packed layouts, as the runtime's
    prods.forEach(([m, k, n], i) => gemm(ins[i], 0, get(k, n), outs[i], 0, m, k, n));
  };
}

async function tfjsModels(tf, bundles) {
  const w = (model, name) => model.nodes.find((n) => n.name === name || n.op === name).weights;
  const t = (x) => tf.tensor(x.data, x.shape);
  const out = {};
  {
    const ours = bundles.m1;
    const [l1, l2] = ours.nodes.filter((n) => n.op === "LSTM");
    const d = ours.nodes.find((n) => n.op === "Dense");
    const m = tf.sequential();
    m.add(tf.layers.lstm({ units: 128, returnSequences: true, recurrentActivation: "sigmoid", inputShape: [null, 32] }));
    m.add(tf.layers.lstm({ units: 128, recurrentActivation: "sigmoid" }));
    m.add(tf.layers.dense({ units: 10, activation: "softmax" }));
    m.setWeights([l1, l2].flatMap((n) => [t(n.weights.kernel), t(n.weights.recurrent_kernel), t(n.weights.bias)]).concat([t(d.weights.kernel), t(d.weights.bias)]));
    out.m1 = m;
  }
  {
    const ours = bundles.m2;
    const e = ours.nodes.find((n) => n.op === "Embedding");
    const g = ours.nodes.find((n) => n.op === "GRU");
    const d = ours.nodes.find((n) => n.op === "Dense");
    const m = tf.sequential();
    m.add(tf.layers.embedding({ inputDim: 5000, outputDim: 64, inputShape: [null] }));
    // tfjs's GRU has no reset_after=True (Keras 3's default): the same products, timing only
    m.add(tf.layers.gru({ units: 256, resetAfter: false, recurrentActivation: "sigmoid" }));
    m.add(tf.layers.dense({ units: 5000, activation: "softmax" }));
    const gb = g.weights.bias.data.subarray(0, 768);
    m.setWeights([t(e.weights.embeddings), t(g.weights.kernel), t(g.weights.recurrent_kernel), tf.tensor(gb, [768]), t(d.weights.kernel), t(d.weights.bias)]);
    out.m2 = m;
  }
  void w;
  return out;
}

async function tfjsTimes(tf, backend, bundles, res) {
  try {
    await tf.setBackend(backend);
    await tf.ready();
  } catch (err) {
    res.notes.push(`tfjs ${backend}: unavailable (${err.message})`);
    return;
  }
  const models = await tfjsModels(tf, bundles);
  for (const name of ["m1", "m2"]) {
    for (const batch of [1, 64]) {
      const x = randomInput(name, batch);
      const xt = name === "m1" ? tf.tensor(x.data, x.shape) : tf.tensor(x.data, x.shape, "int32");
      const ms = timeIt(() => tf.tidy(() => models[name].predict(xt).dataSync()));
      res.rows[`${name}/${batch}`][`tfjs-${backend}`] = ms;
      if (name === "m1") {
        const ours = bundles.m1.predict(x).data;
        const theirs = tf.tidy(() => models.m1.predict(xt).dataSync());
        res.rows[`${name}/${batch}`][`tfjs-${backend}-max-diff`] = Math.max(...Array.from(ours, (v, i) => Math.abs(v - theirs[i])));
      }
      xt.dispose();
    }
  }
}

function coldStart(bundle, name) {
  // a fresh Node process: import the runtime, load the bundle, answer one call. Wall times and
  // the process's CPU time (user + system, V8's compiler threads included) per phase: on a
  // shared, loaded machine the CPU time is the steadier measure. Node's own start is not counted.
  const script = `
    const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e3; };
    const c0 = cpu(), t0 = performance.now();
    const { load } = await import(${JSON.stringify(new URL("../js/index.js", import.meta.url).href)});
    const m = await load(${JSON.stringify(bundle)});
    const c1 = cpu(), t1 = performance.now();
    m.predict(${name === "m1" ? "{data: new Float32Array(100*32), shape: [1, 100, 32]}" : "{data: new Int32Array(100), shape: [1, 100]}"});
    const c2 = cpu(), t2 = performance.now();
    console.log(JSON.stringify({ load_ms: t1 - t0, first_call_ms: t2 - t1, total_ms: t2 - t0, load_cpu_ms: c1 - c0, first_call_cpu_ms: c2 - c1, total_cpu_ms: c2 - c0 }));`;
  const runs = [];
  for (let i = 0; i < (QUICK ? 3 : 7); i++) {
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    runs.push(JSON.parse(r.stdout.trim()));
  }
  // the median of each field over the runs
  const med = (k) => runs.map((r) => r[k]).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
  return Object.fromEntries(Object.keys(runs[0]).map((k) => [k, med(k)]));
}

// TensorFlow.js is a dependency of the benchmarks/js package only, never of js/
const benchRequire = createRequire(new URL("./js/package.json", import.meta.url));
const benchImport = (name) => import(pathToFileURL(benchRequire.resolve(name)).href);

const bundles = { m1: await load(join(work, "m1-float32")), m2: await load(join(work, "m2-float32")) };
// the same bundles on the plain-JavaScript kernels (where WebAssembly is unavailable)
const plain = { m1: await load(join(work, "m1-float32"), { kernels: "js" }), m2: await load(join(work, "m2-float32"), { kernels: "js" }) };
const res = { node: process.version, quick: QUICK, rows: {}, cpuRatio: {}, stream: {}, cold: {}, flops: {}, notes: [] };
for (const name of ["m1", "m2"]) {
  for (const batch of [1, 64]) {
    const key = `${name}/${batch}`;
    const x = randomInput(name, batch);
    const prods = products(name, batch);
    res.flops[key] = flopsOf(prods);
    const fl = floor(prods);
    res.rows[key] = { js: timeIt(() => bundles[name].predict(x)), "js-plain": timeIt(() => plain[name].predict(x)), floor: timeIt(fl) };
    if (batch === 1) res.cpuRatio[key] = interleavedCpuRatio(() => bundles[name].predict(x), fl);
  }
  const m = bundles[name];
  const one = name === "m1" ? { data: new Float32Array(32).fill(0.1), shape: [1, 32] } : { data: Int32Array.of(7), shape: [1] };
  let state = m.initialState(1);
  res.stream[name] = timeIt(() => {
    [, state] = m.step(one, state);
  });
  res.cold[name] = coldStart(join(work, `${name}-float32`), name);
}
let tf = null;
try {
  tf = await benchImport("@tensorflow/tfjs");
} catch (err) {
  res.notes.push(`@tensorflow/tfjs not installed (npm ci in benchmarks/js): ${err.message}`);
}
if (tf) {
  await tfjsTimes(tf, "cpu", bundles, res);
  try {
    const wasm = await benchImport("@tensorflow/tfjs-backend-wasm");
    const dist = fileURLToPath(new URL("./js/node_modules/@tensorflow/tfjs-backend-wasm/dist/", import.meta.url));
    wasm.setWasmPaths(dist + "/");
    await tfjsTimes(tf, "wasm", bundles, res);
  } catch (err) {
    res.notes.push(`tfjs-backend-wasm: ${err.message}`);
  }
}
console.log(JSON.stringify(res));
