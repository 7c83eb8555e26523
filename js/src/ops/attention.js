// Dot-product and additive attention (Keras Attention / AdditiveAttention), ops/attention.py.

import { FormatError } from "../errors.js";
import { Tensor } from "../tensor.js";

const f32 = Math.fround;
const MASK_PENALTY = 1.0e9;

/** inputs: query (B,Tq,D), value (B,Tv,Dv), key (B,Tv,D), then [query_mask] [value_mask]. */
export function attention(inputs, w, cfg) {
  const [q, v, k, ...masks] = inputs;
  const want = Number(!!cfg.query_mask) + Number(!!cfg.value_mask);
  if (masks.length !== want) {
    throw new FormatError(`Attention takes ${want} mask input(s) after query, value, key; got ${masks.length}`);
  }
  const qMask = cfg.query_mask ? masks[0] : null;
  const vMask = cfg.value_mask ? masks[masks.length - 1] : null;
  const [B, Tq, D] = q.shape;
  const Tv = k.shape[1];
  const Dv = v.shape[2];
  const mode = cfg.score_mode;
  if (!["dot", "concat", "additive"].includes(mode)) {
    throw new FormatError(`Attention score_mode '${mode}' is not one of dot, concat, additive`);
  }
  const scale = w.scale ? w.scale.data : null;
  const csw = w.concat_score_weight ? w.concat_score_weight.data[0] : null;
  if (mode === "concat" && csw === null) throw new FormatError("Attention score_mode 'concat' needs the weight concat_score_weight");
  const weights = new Float32Array(B * Tq * Tv);
  const out = new Float32Array(B * Tq * Dv);
  const s = new Float32Array(Tv);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Tq; i++) {
      const qo = (b * Tq + i) * D;
      for (let j = 0; j < Tv; j++) {
        const ko = (b * Tv + j) * D;
        let acc = 0;
        if (mode === "dot") {
          for (let d = 0; d < D; d++) acc += q.data[qo + d] * k.data[ko + d];
          acc = f32(acc);
          if (scale) acc = f32(acc * scale[0]);
        } else if (mode === "concat") {
          for (let d = 0; d < D; d++) {
            let p = f32(q.data[qo + d] + k.data[ko + d]);
            if (scale) p = f32(p * scale[0]);
            acc += f32(Math.tanh(p));
          }
          acc = f32(csw * f32(acc));
        } else {
          for (let d = 0; d < D; d++) {
            const t = f32(Math.tanh(f32(q.data[qo + d] + k.data[ko + d])));
            acc += scale ? f32(t * scale[d]) : t;
          }
          acc = f32(acc);
        }
        let keep = true;
        if (vMask && !vMask.data[b * Tv + j]) keep = false;
        if (cfg.causal && j > i) keep = false;
        s[j] = keep ? acc : f32(acc - MASK_PENALTY); // in float32, as Keras: a fully masked row is uniform
      }
      let m = -Infinity;
      for (let j = 0; j < Tv; j++) if (s[j] > m) m = s[j];
      let sum = 0;
      for (let j = 0; j < Tv; j++) {
        s[j] = f32(Math.exp(f32(s[j] - m)));
        sum += s[j];
      }
      sum = f32(sum);
      const wo = (b * Tq + i) * Tv;
      for (let j = 0; j < Tv; j++) weights[wo + j] = s[j] / sum;
      if (qMask && !qMask.data[b * Tq + i]) continue; // output stays zero
      const oo = (b * Tq + i) * Dv;
      for (let j = 0; j < Tv; j++) {
        const wj = weights[wo + j];
        const vo = (b * Tv + j) * Dv;
        for (let d = 0; d < Dv; d++) out[oo + d] += wj * v.data[vo + d];
      }
    }
  }
  return [new Tensor(out, [B, Tq, Dv]), new Tensor(weights, [B, Tq, Tv])];
}
