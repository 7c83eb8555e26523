// LSTM (gate order i, f, c, o), as rnnconvert/runtime/ops/lstm.py:
//   z = x_t @ kernel + h @ recurrent_kernel + bias; c' = f*c + i*g; h' = o * a(c').

import { gemm } from "./linalg.js";
import { gateActivation, projectInput, runLayer } from "./rnn.js";

export function lstm([x], w, cfg, extra) {
  const [B, T] = x.shape;
  const H = cfg.units;
  const G = 4 * H;
  const act = gateActivation(cfg.activation);
  const ract = gateActivation(cfg.recurrent_activation);
  const xs = projectInput(x, w.kernel, w.bias);
  const U = w.recurrent_kernel.data;
  const step = (t, [h, c]) => {
    const z = new Float32Array(B * G);
    for (let b = 0; b < B; b++) z.set(xs.subarray((b * T + t) * G, (b * T + t + 1) * G), b * G);
    gemm(h, 0, U, z, 0, B, H, G, true);
    ract(z, B, G, 0, H);
    ract(z, B, G, H, H);
    act(z, B, G, 2 * H, H);
    ract(z, B, G, 3 * H, H);
    const c2 = new Float32Array(B * H);
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < H; j++) {
        const o = b * G + j;
        c2[b * H + j] = z[o + H] * c[b * H + j] + z[o] * z[o + 2 * H];
      }
    }
    const ac = Float32Array.from(c2);
    act(ac, B, H, 0, H);
    const h2 = new Float32Array(B * H);
    for (let b = 0; b < B; b++) for (let j = 0; j < H; j++) h2[b * H + j] = z[b * G + 3 * H + j] * ac[b * H + j];
    return [h2, [h2, c2]];
  };
  return runLayer(step, cfg, extra, { B, T, H, nStates: 2 });
}
