// Dense, Activation, Embedding and the mask ops (rnnconvert/runtime/ops/core.py).

import { InputError } from "../errors.js";
import { Tensor, asBool, binary, normAxis, reshape, size, zeros } from "../tensor.js";
import { activationFn } from "./activations.js";
import { addRowBias, gemm } from "./linalg.js";

export function dense([x], w, cfg) {
  const D = x.shape[x.shape.length - 1];
  const U = w.kernel.shape[1];
  if (w.kernel.shape[0] !== D) throw new InputError(`Dense expects last axis ${w.kernel.shape[0]}, got ${D}`);
  const rows = D ? x.data.length / D : size(x.shape.slice(0, -1));
  const out = new Float32Array(rows * U);
  gemm(x.data, 0, w.kernel.data, out, 0, rows, D, U);
  if (w.bias) addRowBias(out, rows, U, w.bias.data, 0);
  return [activationFn(cfg.activation)(new Tensor(out, [...x.shape.slice(0, -1), U]))];
}

export function activation([x], w, cfg) {
  return [activationFn(cfg.activation)(x)];
}

export function embedding([ids], w) {
  const E = w.embeddings;
  const [n, d] = E.shape;
  const out = new Float32Array(ids.data.length * d);
  for (let i = 0; i < ids.data.length; i++) {
    const v = ids.data[i];
    if (!Number.isFinite(v)) throw new InputError("Embedding input contains NaN or Inf; ids must be finite integers");
    const id = Math.trunc(v);
    if (id < 0 || id >= n) throw new InputError(`Embedding id ${id} is out of range [0, ${n})`);
    out.set(E.data.subarray(id * d, id * d + d), i * d);
  }
  return [new Tensor(out, [...ids.shape, d])];
}

export function notEqualMask([ids], w, cfg) {
  const out = zeros(ids.shape, "bool");
  const v = cfg.value;
  for (let i = 0; i < out.data.length; i++) out.data[i] = ids.data[i] !== v ? 1 : 0;
  return [out];
}

export function masking([x], w, cfg) {
  const D = x.shape[x.shape.length - 1];
  const mv = Math.fround(cfg.mask_value);
  const keep = zeros(x.shape.slice(0, -1), "bool");
  const out = zeros(x.shape);
  for (let r = 0; r < keep.data.length; r++) {
    let any = 0;
    for (let j = 0; j < D; j++) if (x.data[r * D + j] !== mv) any = 1;
    keep.data[r] = any;
    if (any) out.data.set(x.data.subarray(r * D, (r + 1) * D), r * D);
  }
  return [out, keep];
}

export function reduceAny([x], w, cfg) {
  const r = x.shape.length;
  const ax = normAxis(cfg.axis, r);
  const outer = size(x.shape.slice(0, ax));
  const n = x.shape[ax];
  const inner = size(x.shape.slice(ax + 1));
  const out = zeros([...x.shape.slice(0, ax), ...x.shape.slice(ax + 1)], "bool");
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let any = 0;
      for (let j = 0; j < n; j++) if (x.data[(o * n + j) * inner + i]) any = 1;
      out.data[o * inner + i] = any;
    }
  }
  if (cfg.keepdims) {
    const s = x.shape.slice();
    s[ax] = 1;
    return [reshape(out, s)];
  }
  return [out];
}

export function logicalAnd([a, b]) {
  return [binary(asBool(a), asBool(b), (p, q) => (p && q ? 1 : 0), "bool")];
}

export function logicalOr([a, b]) {
  return [binary(asBool(a), asBool(b), (p, q) => (p || q ? 1 : 0), "bool")];
}

export function expandDims([x], w, cfg) {
  const r = x.shape.length + 1;
  const ax = normAxis(cfg.axis, r);
  const s = x.shape.slice();
  s.splice(ax, 0, 1);
  return [reshape(x, s)];
}

export function fillLike([x], w, cfg) {
  const out = zeros(x.shape, "bool");
  if (cfg.fill) out.data.fill(1);
  return [out];
}
