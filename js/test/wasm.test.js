// The WebAssembly kernels: the embedded bytes are what kernels.wat assembles to; gemm agrees
// with a double-precision product on every block/tail shape; exp, sigmoid and tanh with Math's;
// the recurrent scans with the JavaScript ones (tanh/sigmoid gates, go_backwards, sequences,
// batches, initial states). Keras-made vectors run on both paths in golden.test.js and in
// tests/test_js_runtime.py (stream_check.mjs).

import assert from "node:assert/strict";
import { test } from "node:test";
import { Tensor } from "../src/tensor.js";
import { KERNELS_WASM_BASE64, KERNELS_WASM_SHARED_BASE64 } from "../src/ops/kernels_wasm.js";
import { beginCall, gemm, markConstant } from "../src/ops/linalg.js";
import { lstm } from "../src/ops/lstm.js";
import { gru } from "../src/ops/gru.js";
import { WEIGHTS_BASE, newKernels, weightsMemory } from "../src/ops/wasm.js";
import { assemble, moduleText } from "../tools/build_wasm.mjs";

function rng(seed) {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
}

test("the embedded WebAssembly is what kernels.wat assembles to (node tools/build_wasm.mjs)", async () => {
  const bytes = await assemble();
  const shared = await assemble({ shared: true });
  assert.equal(Buffer.from(bytes).toString("base64"), KERNELS_WASM_BASE64);
  assert.equal(Buffer.from(shared).toString("base64"), KERNELS_WASM_SHARED_BASE64);
  assert.match(moduleText(bytes, shared), /KERNELS_WASM_SHARED_BASE64/);
});

test("kernels on a shared memory use weights read into it in place, and copies of others", async () => {
  const r = rng(5);
  const [K, N] = [7, 9];
  const home = weightsMemory(4 * K * N + 12);
  assert.equal(home.bytes.byteOffset, WEIGHTS_BASE);
  const inPlace = markConstant(new Float32Array(home.bytes.buffer, WEIGHTS_BASE + 12, K * N));
  for (let i = 0; i < inPlace.length; i++) inPlace[i] = r();
  const elsewhere = markConstant(Float32Array.from(inPlace));
  const k = await newKernels("auto", home);
  assert.equal(k.weightAt(inPlace), WEIGHTS_BASE + 12);
  assert.ok(k.weightAt(elsewhere) >= WEIGHTS_BASE + home.bytes.length, "a copy goes above the weights file");
  const a = Float32Array.from({ length: 3 * K }, r);
  const outs = [inPlace, elsewhere].map((b) => {
    const out = new Float32Array(3 * N);
    beginCall(k);
    gemm(a, 0, b, out, 0, 3, K, N, false);
    beginCall(null);
    return out;
  });
  assert.deepEqual(outs[0], outs[1]);
  assert.ok(k.reserve(k.memory.buffer.byteLength + 2 ** 20), "grown");
  assert.equal(inPlace.length, K * N, "a shared memory's growth leaves the views valid");
  assert.equal(weightsMemory(2 ** 30), null, "a file over half the kernels' bound: ordinary memory");
});

test("kernels: 'js' gives no WebAssembly kernels, the default does (Node has SIMD)", async () => {
  assert.equal(await newKernels("js"), null);
  assert.notEqual(await newKernels("auto"), null);
});

test("wasm gemm matches a double-precision product on every block and tail shape", async () => {
  const k = await newKernels("auto");
  const r = rng(3);
  for (const M of [1, 2, 3, 4, 5, 8, 9]) {
    for (const K of [1, 3, 17]) {
      for (const N of [1, 3, 4, 7, 8, 9, 16, 17, 33]) {
        for (const accumulate of [false, true]) {
          const a = Float32Array.from({ length: M * K + 2 }, r);
          const b = markConstant(Float32Array.from({ length: K * N }, r));
          const out = Float32Array.from({ length: M * N + 3 }, r);
          const want = Float64Array.from(out);
          for (let i = 0; i < M; i++) {
            for (let j = 0; j < N; j++) {
              let s = 0;
              for (let q = 0; q < K; q++) s += a[2 + i * K + q] * b[q * N + j];
              want[1 + i * N + j] = (accumulate ? out[1 + i * N + j] : 0) + s;
            }
          }
          beginCall(k);
          gemm(a, 2, b, out, 1, M, K, N, accumulate);
          beginCall(null);
          for (let i = 0; i < out.length; i++) {
            assert.ok(Math.abs(out[i] - want[i]) <= 1e-6 * (K + 1), `M=${M} K=${K} N=${N} acc=${accumulate} [${i}]: ${out[i]} vs ${want[i]}`);
          }
          assert.equal(out[0], Math.fround(want[0]), "values before outOff untouched");
        }
      }
    }
  }
});

test("wasm exp, sigmoid and tanh match Math's to float32 rounding, at the extremes too", async () => {
  const e = (await newKernels("auto")).exports;
  const xs = [0, -0, 1e-30, -1e-8, 0.5, -0.5, 1, -1, 3.3, -7.25, 20, -20, 88, -88, 100, -104, 700, -700, 709.5, -745, 1e10, -1e10, Infinity, -Infinity];
  for (let i = -400; i <= 400; i++) xs.push(i / 17.3);
  for (const x of xs) {
    const rel = (got, want) => (want === 0 ? Math.abs(got) : Math.abs(got - want) / Math.abs(want));
    assert.ok(rel(e.sigmoid(x), 1 / (1 + Math.exp(-x))) < 1e-13, `sigmoid(${x})`);
    assert.ok(Math.abs(e.tanh(x) - Math.tanh(x)) < 1e-14, `tanh(${x}) ${e.tanh(x)} vs ${Math.tanh(x)}`);
    assert.equal(Math.fround(e.sigmoid(x)), Math.fround(1 / (1 + Math.exp(-x))), `sigmoid(${x}) as float32`);
    if (x > -700 && x < 700) assert.ok(rel(e.exp(x), Math.exp(x)) < 1e-14, `exp(${x}) ${e.exp(x)} vs ${Math.exp(x)}`);
  }
  assert.ok(Number.isNaN(e.exp(NaN)) && Number.isNaN(e.sigmoid(NaN)) && Number.isNaN(e.tanh(NaN)));
  assert.ok(Object.is(e.tanh(-0), -0));
});

function layerWeights(kind, D, H, r, resetAfter = true) {
  const G = (kind === "lstm" ? 4 : 3) * H;
  const t = (shape) => {
    const n = shape.reduce((p, q) => p * q, 1);
    return new Tensor(markConstant(Float32Array.from({ length: n }, () => r() * 0.7)), shape);
  };
  return { kernel: t([D, G]), recurrent_kernel: t([H, G]), bias: kind === "gru" && resetAfter ? t([2, G]) : t([G]) };
}

test("the recurrent scans in WebAssembly agree with the JavaScript ones", async () => {
  const k = await newKernels("auto");
  const r = rng(11);
  const cases = [];
  for (const kind of ["lstm", "gru"]) {
    for (const [B, T, D, H] of [[1, 5, 3, 4], [3, 7, 5, 9], [2, 1, 2, 17], [5, 4, 1, 1]]) {
      for (const go_backwards of [false, true]) {
        for (const return_sequences of [false, true]) cases.push([kind, B, T, D, H, { go_backwards, return_sequences }]);
      }
    }
  }
  for (const [kind, B, T, D, H, flags] of cases) {
    const op = kind === "lstm" ? lstm : gru;
    const w = layerWeights(kind, D, H, r);
    const cfg = { units: H, activation: { type: "tanh" }, recurrent_activation: { type: "sigmoid" }, reset_after: true, ...flags };
    const x = new Tensor(Float32Array.from({ length: B * T * D }, () => r() * 2), [B, T, D]);
    const init = (kind === "lstm" ? [0, 1] : [0]).map(() => new Tensor(Float32Array.from({ length: B * H }, r), [B, H]));
    for (const initialState of [null, init]) {
      const extra = { mask: null, initialState, initialOutput: null };
      beginCall(null);
      const want = op([x], w, cfg, extra);
      beginCall(k);
      const got = op([x], w, cfg, extra);
      beginCall(null);
      assert.equal(got.length, want.length);
      got.forEach((g, i) => {
        assert.deepEqual(g.shape, want[i].shape);
        for (let j = 0; j < g.data.length; j++) {
          assert.ok(Math.abs(g.data[j] - want[i].data[j]) < 1e-5, `${kind} B=${B} T=${T} H=${H} ${JSON.stringify(flags)} output ${i}[${j}]: ${g.data[j]} vs ${want[i].data[j]}`);
        }
      });
    }
  }
});

test("layers the WebAssembly scan does not cover run their JavaScript scan under wasm kernels", async () => {
  // (a mask, other activations, GRU reset_after=false): the same results with or without kernels
  const k = await newKernels("auto");
  const r = rng(5);
  const [B, T, D, H] = [2, 4, 3, 5];
  const x = new Tensor(Float32Array.from({ length: B * T * D }, r), [B, T, D]);
  const mask = new Tensor(Uint8Array.from([1, 1, 0, 1, 1, 0, 1, 1]), [B, T], "bool");
  const variants = [
    ["lstm", { activation: { type: "tanh" }, recurrent_activation: { type: "hard_sigmoid", slope: 0.2, offset: 0.5 } }, null],
    ["lstm", { activation: { type: "tanh" }, recurrent_activation: { type: "sigmoid" } }, mask],
    ["gru", { activation: { type: "relu" }, recurrent_activation: { type: "sigmoid" }, reset_after: true }, null],
    ["gru", { activation: { type: "tanh" }, recurrent_activation: { type: "sigmoid" }, reset_after: false }, null],
  ];
  for (const [kind, acts, m] of variants) {
    const w = layerWeights(kind, D, H, r, acts.reset_after !== false);
    const cfg = { units: H, return_sequences: true, ...acts };
    const extra = { mask: m, initialState: null, initialOutput: null };
    const op = kind === "lstm" ? lstm : gru;
    beginCall(null);
    const want = op([x], w, cfg, extra);
    beginCall(k);
    const got = op([x], w, cfg, extra);
    beginCall(null);
    got.forEach((g, i) => g.data.forEach((v, j) => assert.ok(Math.abs(v - want[i].data[j]) < 1e-5, `${kind} ${JSON.stringify(acts)} ${i}[${j}]`)));
  }
});

test("a product or scan over the kernels' memory bound runs in JavaScript, with the same results", async () => {
  const k = await newKernels("auto");
  k.maxBytes = 65536; // one page: the weights below fit, their scratch does not
  const r = rng(9);
  const [M, K, N] = [200, 40, 100]; // b: 16 KB; a and out: 112 KB more
  const a = Float32Array.from({ length: M * K }, r);
  const b = markConstant(Float32Array.from({ length: K * N }, r));
  const got = new Float32Array(M * N);
  const want = new Float32Array(M * N);
  beginCall(k);
  gemm(a, 0, b, got, 0, M, K, N);
  assert.ok(k.memory.buffer.byteLength <= 65536);
  beginCall(null);
  gemm(a, 0, markConstant(Float32Array.from(b)), want, 0, M, K, N); // a weight's first use, as b's above
  assert.deepEqual(got, want); // the JavaScript kernel both times: identical
  const w = layerWeights("lstm", 3, 6, r);
  const x = new Tensor(Float32Array.from({ length: 50 * 30 * 3 }, r), [50, 30, 3]);
  const cfg = { units: 6, activation: { type: "tanh" }, recurrent_activation: { type: "sigmoid" }, return_sequences: true };
  const extra = { mask: null, initialState: null, initialOutput: null };
  beginCall(k);
  const y1 = lstm([x], w, cfg, extra);
  beginCall(null);
  const fresh = Object.fromEntries(Object.entries(w).map(([slot, t]) => [slot, new Tensor(markConstant(Float32Array.from(t.data)), t.shape)]));
  const y2 = lstm([x], fresh, cfg, extra); // the weights' first use again, as above
  // the scan's scratch does not fit, so the JavaScript scan runs (its per-step products, small
  // enough, may still run in WebAssembly: float32 sums, hence a tolerance)
  y1.forEach((t, i) => t.data.forEach((v, j) => assert.ok(Math.abs(v - y2[i].data[j]) < 1e-5)));
  assert.ok(k.memory.buffer.byteLength <= 65536);
});

test("softmax and row bias in WebAssembly equal the JavaScript passes, NaN and infinities too", async () => {
  const { activationFn } = await import("../src/ops/activations.js");
  const { addRowBias } = await import("../src/ops/linalg.js");
  const k = await newKernels("auto");
  const ran = { softmaxRows: 0, addRows: 0 };
  for (const name of Object.keys(ran)) {
    const fn = k[name].bind(k);
    k[name] = (...args) => (ran[name]++, fn(...args));
  }
  const r = rng(11);
  const softmax = activationFn({ type: "softmax", axis: -1 });
  const specials = [NaN, Infinity, -Infinity, 88.7, -88.7, 1e30, -1e30, 0, -0];
  for (const [rows, n] of [[1, 5000], [3, 700], [64, 17], [2, 1024]]) {
    const x = Float32Array.from({ length: rows * n }, () => r() * 30);
    if (rows === 64) for (let i = 0; i < specials.length; i++) x[i * n + 3] = specials[i]; // one per row
    if (rows === 2) x.fill(-Infinity, 0, n); // a row of -inf only: NaN, as in JavaScript
    const want = softmax(new Tensor(Float32Array.from(x), [rows, n])).data;
    beginCall(k);
    const got = softmax(new Tensor(Float32Array.from(x), [rows, n])).data;
    beginCall(null);
    for (let i = 0; i < want.length; i++) {
      const same = Object.is(got[i], want[i]) || Math.abs(got[i] - want[i]) <= 2 ** -23 * Math.abs(want[i]); // exp: < 1e-14 apart before rounding
      assert.ok(same, `softmax ${rows}x${n} [${i}]: ${got[i]} vs ${want[i]}`);
    }
    const bias = Float32Array.from({ length: n + 5 }, r);
    const a = Float32Array.from(x);
    const b = Float32Array.from(x);
    addRowBias(a, rows, n, bias, 5);
    beginCall(k);
    addRowBias(b, rows, n, bias, 5);
    beginCall(null);
    assert.deepEqual(b, a, `bias ${rows}x${n}`);
  }
  assert.deepEqual(ran, { softmaxRows: 4, addRows: 4 }, "each ran in WebAssembly");
  const big = new Tensor(Float32Array.from({ length: 2 * 2 ** 20 }, r), [2, 2 ** 20]);
  const want = softmax(new Tensor(Float32Array.from(big.data), big.shape)).data;
  const before = k.memory.buffer.byteLength;
  beginCall(k);
  const got = softmax(big).data;
  beginCall(null);
  assert.equal(ran.softmaxRows, 4, "over 2**20 values: JavaScript, not the kernels' memory");
  assert.equal(k.memory.buffer.byteLength, before);
  assert.deepEqual(got, want);
});
