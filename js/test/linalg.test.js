// gemm's kernels (row streaming, 4 x 4 blocks over a transpose, 8-column panels) against a
// plain product in doubles: every path, shapes with ragged tails, offsets, accumulate, and a
// constant (weight) b in its first call and later ones (when its packed layouts are made and cached).

import assert from "node:assert/strict";
import { test } from "node:test";
import { beginCall, gemm, markConstant } from "../src/ops/linalg.js";

const values = (n, f) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * f + 0.3));

function naive(a, aOff, b, init, outOff, M, K, N, accumulate) {
  const out = Array.from(init);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = accumulate ? init[outOff + i * N + j] : 0;
      for (let k = 0; k < K; k++) s += a[aOff + i * K + k] * b[k * N + j];
      out[outOff + i * N + j] = s;
    }
  }
  return out;
}

test("gemm equals a plain product on every path, to float32 rounding", () => {
  let worst = 0;
  for (const M of [1, 2, 3, 4, 5, 7, 16, 19]) {
    for (const K of [1, 3, 4, 9]) {
      for (const N of [1, 4, 7, 8, 13, 17]) {
        for (const constant of [false, true]) {
          const b = values(K * N, 0.7);
          if (constant) markConstant(b);
          for (const accumulate of [false, true]) {
            for (let use = 0; use < 4; use++) {
              if (use & 1) beginCall(); // use 0: b's first call (unpacked); 1-3: later calls (packed)
              const a = values(2 + M * K, 1.3 + use);
              const init = values(3 + M * N + 2, 0.11);
              const out = Float32Array.from(init);
              gemm(a, 2, b, out, 3, M, K, N, accumulate);
              const want = naive(a, 2, b, init, 3, M, K, N, accumulate);
              want.forEach((w, i) => (worst = Math.max(worst, Math.abs(w - out[i]) / Math.max(1, Math.abs(w)))));
              for (const i of [0, 1, 2, init.length - 2, init.length - 1]) assert.equal(out[i], init[i], `M=${M} K=${K} N=${N}: wrote outside out`);
            }
          }
        }
      }
    }
  }
  assert.ok(worst < 1e-6, `worst relative error ${worst}`);
});

test("a constant read as two shapes gets each shape's layout", () => {
  const b = markConstant(values(24, 0.5));
  for (const [M, K, N] of [[1, 4, 6], [1, 6, 4], [5, 4, 6], [5, 6, 4], [1, 4, 6], [5, 4, 6]]) {
    for (let use = 0; use < 2; use++) {
      beginCall();
      const a = values(M * K, 0.9);
      const out = new Float32Array(M * N);
      gemm(a, 0, b, out, 0, M, K, N);
      const want = naive(a, 0, b, out, 0, M, K, N, false);
      want.forEach((w, i) => assert.ok(Math.abs(w - out[i]) <= 1e-6 * Math.max(1, Math.abs(w)), `M=${M} K=${K} N=${N}`));
    }
  }
});
