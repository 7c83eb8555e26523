// GRU (gate order z, r, h), both reset_after variants, as rnnconvert/runtime/ops/gru.py.

import { isElementwise } from "./activations.js";
import { constantArray, gemm, markConstant } from "./linalg.js";
import { gateActivation, projectInput, runLayer, stepBuffers, wasmLayer } from "./rnn.js";
import { recurrentScan } from "./wasm.js";

export function gru([x], w, cfg, extra) {
  const [B, T] = x.shape;
  const H = cfg.units;
  const G = 3 * H;
  const fast = wasmLayer(recurrentScan, "gru", x, w, cfg, extra, { B, T, H, nStates: 1, bias: w.bias ? w.bias.data : null }, constantArray);
  if (fast) return fast;
  const act = gateActivation(cfg.activation);
  const ractOne = gateActivation(cfg.recurrent_activation);
  // element-wise gates act on z and r together; softmax-like ones on each separately
  const ract = isElementwise(cfg.recurrent_activation)
    ? (z) => ractOne(z, B, G, 0, 2 * H)
    : (z) => {
        ractOne(z, B, G, 0, H);
        ractOne(z, B, G, H, H);
      };
  const resetAfter = !!cfg.reset_after;
  const bias = w.bias;
  const xs = projectInput(x, w.kernel, bias, 0); // reset_after: bias[0] is the first 3H values
  const U = w.recurrent_kernel.data;
  const recBias = bias && resetAfter ? bias.data.subarray(G, 2 * G) : null;
  const [Uzr, Uh] = resetAfter ? [null, null] : splitKernel(U, H);
  // per-step buffers, reused: z (B, 3H) gates, inner (B, 3H) or zr (B, 2H) and rh (B, H), hh (B, H)
  const z = new Float32Array(B * G);
  const inner = new Float32Array(B * (resetAfter ? G : 2 * H));
  const rh = new Float32Array(B * H);
  const hh = new Float32Array(B * H);
  const next = stepBuffers(B * H, 1);
  const step = (t, [h], k) => {
    for (let b = 0; b < B; b++) z.set(xs.subarray((b * T + t) * G, (b * T + t + 1) * G), b * G);
    if (resetAfter) {
      gemm(h, 0, U, inner, 0, B, H, G);
      if (recBias) for (let b = 0; b < B; b++) for (let j = 0; j < G; j++) inner[b * G + j] += recBias[j];
      for (let b = 0; b < B; b++) for (let j = 0; j < 2 * H; j++) z[b * G + j] += inner[b * G + j];
      ract(z);
      for (let b = 0; b < B; b++) {
        for (let j = 0; j < H; j++) hh[b * H + j] = z[b * G + 2 * H + j] + z[b * G + H + j] * inner[b * G + 2 * H + j];
      }
    } else {
      gemm(h, 0, Uzr, inner, 0, B, H, 2 * H);
      for (let b = 0; b < B; b++) for (let j = 0; j < 2 * H; j++) z[b * G + j] += inner[b * 2 * H + j];
      ract(z);
      for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) rh[b * H + j] = z[b * G + H + j] * h[b * H + j];
      gemm(rh, 0, Uh, hh, 0, B, H, H);
      for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) hh[b * H + j] += z[b * G + 2 * H + j];
    }
    act(hh, B, H, 0, H);
    const [h2] = next(k);
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < H; j++) {
        const zz = z[b * G + j];
        h2[b * H + j] = zz * h[b * H + j] + (1 - zz) * hh[b * H + j];
      }
    }
    return [h2, [h2]];
  };
  return runLayer(step, cfg, extra, { B, T, H, nStates: 1 });
}

/** recurrent_kernel split for reset_after=false: U_zr (H, 2H), U_h (H, H); made once per weight
 *  (constants: gemm caches their packed layouts across calls). */
const splits = new WeakMap();

function splitKernel(U, H) {
  let got = splits.get(U);
  if (got === undefined || got[1].length !== H * H) {
    const G = 3 * H;
    const Uzr = new Float32Array(H * 2 * H);
    const Uh = new Float32Array(H * H);
    for (let i = 0; i < H; i++) {
      Uzr.set(U.subarray(i * G, i * G + 2 * H), i * 2 * H);
      Uh.set(U.subarray(i * G + 2 * H, (i + 1) * G), i * H);
    }
    got = [markConstant(Uzr), markConstant(Uh)];
    if (constantArray(U)) splits.set(U, got);
  }
  return got;
}
