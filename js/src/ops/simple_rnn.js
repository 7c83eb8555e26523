// SimpleRNN: h' = a(x_t @ kernel + bias + h @ recurrent_kernel); output = h'.

import { gemm } from "./linalg.js";
import { gateActivation, projectInput, runLayer, stepBuffers } from "./rnn.js";

export function simpleRnn([x], w, cfg, extra) {
  const [B, T] = x.shape;
  const H = cfg.units;
  const act = gateActivation(cfg.activation);
  const xs = projectInput(x, w.kernel, w.bias);
  const U = w.recurrent_kernel.data;
  const next = stepBuffers(B * H, 1);
  const step = (t, [h], k) => {
    const [z] = next(k);
    for (let b = 0; b < B; b++) z.set(xs.subarray((b * T + t) * H, (b * T + t + 1) * H), b * H);
    gemm(h, 0, U, z, 0, B, H, H, true);
    act(z, B, H, 0, H);
    return [z, [z]];
  };
  return runLayer(step, cfg, extra, { B, T, H, nStates: 1 });
}
