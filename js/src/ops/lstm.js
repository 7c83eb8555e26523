// LSTM (gate order i, f, c, o), as rnnconvert/runtime/ops/lstm.py:
//   z = x_t @ kernel + h @ recurrent_kernel + bias; c' = f*c + i*g; h' = o * a(c').

import { constantArray, gemm } from "./linalg.js";
import { gateActivation, projectInput, runLayer, stepBuffers, wasmLayer } from "./rnn.js";
import { recurrentScan } from "./wasm.js";

export function lstm([x], w, cfg, extra) {
  const [B, T] = x.shape;
  const H = cfg.units;
  const G = 4 * H;
  const fast = wasmLayer(recurrentScan, "lstm", x, w, cfg, extra, { B, T, H, nStates: 2, bias: w.bias ? w.bias.data : null }, constantArray);
  if (fast) return fast;
  const act = gateActivation(cfg.activation);
  const ract = gateActivation(cfg.recurrent_activation);
  const xs = projectInput(x, w.kernel, w.bias);
  const U = w.recurrent_kernel.data;
  const z = new Float32Array(B * G); // one step's gates, reused
  const next = stepBuffers(B * H, 2); // [h', c'] written in turn into two sets of buffers
  const step = (t, [h, c], k) => {
    for (let b = 0; b < B; b++) z.set(xs.subarray((b * T + t) * G, (b * T + t + 1) * G), b * G);
    gemm(h, 0, U, z, 0, B, H, G, true);
    ract(z, B, G, 0, H);
    ract(z, B, G, H, H);
    act(z, B, G, 2 * H, H);
    ract(z, B, G, 3 * H, H);
    const [h2, c2] = next(k);
    for (let b = 0; b < B; b++) {
      const o = b * G;
      const s = b * H;
      for (let j = 0; j < H; j++) c2[s + j] = z[o + H + j] * c[s + j] + z[o + j] * z[o + 2 * H + j];
    }
    h2.set(c2);
    act(h2, B, H, 0, H);
    for (let b = 0; b < B; b++) {
      const o = b * G + 3 * H;
      const s = b * H;
      for (let j = 0; j < H; j++) h2[s + j] *= z[o + j];
    }
    return [h2, [h2, c2]];
  };
  return runLayer(step, cfg, extra, { B, T, H, nStates: 2 });
}
