// Reverse, ZeroMasked, Merge, FoldTime, UnfoldTime (rnnconvert/runtime/ops/sequence.py).

import { FormatError } from "../errors.js";
import { Tensor, binary, concat, normAxis, reshape, size, zeros } from "../tensor.js";

export function reverse([x], w, cfg) {
  const ax = normAxis(cfg.axis, x.shape.length);
  const outer = size(x.shape.slice(0, ax));
  const n = x.shape[ax];
  const inner = size(x.shape.slice(ax + 1));
  const out = zeros(x.shape, x.dtype);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < n; j++) {
      const src = (o * n + j) * inner;
      out.data.set(x.data.subarray(src, src + inner), (o * n + (n - 1 - j)) * inner);
    }
  }
  return [out];
}

export function zeroMasked([x, mask]) {
  const per = x.data.length / (mask.data.length || 1);
  const out = zeros(x.shape, x.dtype);
  for (let r = 0; r < mask.data.length; r++) {
    if (mask.data[r]) out.data.set(x.data.subarray(r * per, (r + 1) * per), r * per);
  }
  return [out];
}

const f32 = Math.fround;
const FOLDS = {
  sum: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  max: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b)),
  min: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b)),
};

export function merge(xs, w, cfg) {
  const mode = cfg.mode;
  if (mode === "concat") return [concat(xs, cfg.axis === undefined ? -1 : cfg.axis)];
  const dtype = xs.every((x) => x.dtype === "bool") && (mode === "max" || mode === "min") ? "bool" : "float32";
  if (mode === "ave") {
    let total = xs[0];
    for (const x of xs.slice(1)) total = binary(total, x, FOLDS.sum);
    const n = f32(xs.length);
    return [binary(total, new Tensor(new Float32Array([n]), []), (a, b) => a / b)];
  }
  const fold = FOLDS[mode];
  if (!fold) throw new FormatError(`Merge mode '${mode}' is not one of concat, sum, sub, mul, ave, max, min`);
  let out = xs[0];
  for (const x of xs.slice(1)) out = binary(out, x, fold, dtype);
  return [out];
}

export function foldTime([x]) {
  return [reshape(x, [x.shape[0] * x.shape[1], ...x.shape.slice(2)])];
}

export function unfoldTime([y, like]) {
  return [reshape(y, [like.shape[0], like.shape[1], ...y.shape.slice(1)])];
}
