// GroupNormalization, RMSNormalization, UnitNormalization, Normalization and Threshold
// (ops/norms.py, FORMAT.md 5.41-5.45).

import { FormatError } from "../errors.js";
import { alongAxes, binary, map, normAxis, reshape } from "../tensor.js";

const f32 = Math.fround;

function bshape(x, axes) {
  const ax = axes.map((a) => normAxis(a, x.shape.length));
  return x.shape.map((d, i) => (ax.includes(i) ? d : 1));
}

function affine(y, w, slots, shape) {
  for (const [slot, fn] of slots) if (w[slot]) y = binary(y, reshape(w[slot], shape), fn);
  return y;
}

const mul = (a, b) => a * b;
const add = (a, b) => a + b;

/** Each row of n values: (v - mean) / sqrt(biased variance + eps), in place. */
function standardize(d, n, count, eps) {
  for (let r = 0; r < count; r++) {
    const o = r * n;
    let mean = 0;
    for (let j = 0; j < n; j++) mean += d[o + j];
    mean = mean / n;
    let v = 0;
    for (let j = 0; j < n; j++) v += (d[o + j] - mean) * (d[o + j] - mean);
    const den = Math.sqrt(f32(v / n) + eps);
    for (let j = 0; j < n; j++) d[o + j] = (d[o + j] - mean) / den;
  }
}

export function groupNorm([x], w, cfg) {
  const r = x.shape.length;
  const ax = normAxis(cfg.axis, r);
  const c = x.shape[ax];
  const g = cfg.groups;
  if (ax === 0 || c % g) throw new FormatError(`GroupNormalization: axis ${cfg.axis} of [${x.shape}] does not split into ${g} groups`);
  const gshape = [...x.shape.slice(0, ax), g, c / g, ...x.shape.slice(ax + 1)];
  const red = [];
  for (let i = 1; i <= r; i++) if (i !== ax) red.push(i);
  const eps = f32(cfg.epsilon);
  const y = reshape(alongAxes(reshape(x, gshape), red, (d, n, count) => standardize(d, n, count, eps)), x.shape);
  return [affine(y, w, [["gamma", mul], ["beta", add]], bshape(x, [ax]))];
}

export function rmsNorm([x], w, cfg) {
  const eps = f32(cfg.epsilon);
  const y = alongAxes(x, cfg.axis, (d, n, count) => {
    for (let r = 0; r < count; r++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += d[r * n + j] * d[r * n + j];
      const den = Math.sqrt(f32(s / n) + eps);
      for (let j = 0; j < n; j++) d[r * n + j] = d[r * n + j] / den;
    }
  });
  return [affine(y, w, [["scale", mul]], bshape(x, cfg.axis))];
}

export function unitNorm([x], w, cfg) {
  const eps = cfg.epsilon;
  return [
    alongAxes(x, cfg.axis, (d, n, count) => {
      for (let r = 0; r < count; r++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += d[r * n + j] * d[r * n + j];
        const den = Math.sqrt(Math.max(f32(s), eps));
        for (let j = 0; j < n; j++) d[r * n + j] = d[r * n + j] / den;
      }
    }),
  ];
}

export function normalization([x], w, cfg) {
  const shape = bshape(x, cfg.axis);
  const eps = f32(cfg.epsilon);
  const mean = reshape(w.mean, shape);
  const s = reshape(map(w.variance, (v) => Math.max(f32(Math.sqrt(v)), eps)), shape);
  if (cfg.invert) return [binary(binary(x, s, mul), mean, add)];
  return [binary(binary(x, mean, (a, b) => a - b), s, (a, b) => a / b)];
}

export function threshold([x], w, cfg) {
  const t = f32(cfg.threshold);
  const v = f32(cfg.default_value);
  return [map(x, (a) => (a > t ? a : v))];
}

/** Keras 3's AutoContrast on (B, A1, A2, C): per image and channel over axes 1 and 2 (ops/norms.py). */
export function autoContrast([x], w, cfg) {
  if (x.shape.length !== 4) throw new FormatError(`AutoContrast takes a rank-4 input, got [${x.shape}]`);
  const [B, H, W, C] = x.shape;
  const a = f32(cfg.value_range[0]);
  const b = f32(cfg.value_range[1]);
  const rescale = !(a === 0 && b === 255);
  const out = map(x, (v) => v);
  const d = out.data;
  const src = x.data;
  const v = new Float32Array(H * W);
  for (let n = 0; n < B; n++) {
    for (let c = 0; c < C; c++) {
      let low = Infinity;
      let high = -Infinity;
      for (let p = 0; p < H * W; p++) {
        const s = src[(n * H * W + p) * C + c];
        const t = rescale ? f32(f32(f32(s - a) / f32(b - a)) * 255) : s;
        v[p] = t;
        if (t < low) low = t;
        if (t > high) high = t;
      }
      const scale = f32(255 / f32(high - low));
      const offset = f32(-low * scale);
      for (let p = 0; p < H * W; p++) {
        let r = f32(f32(v[p] * scale) + offset);
        r = Number.isNaN(r) ? NaN : Math.min(Math.max(r, 0), 255);
        if (rescale) r = f32(f32(f32(r / 255) * f32(b - a)) + a);
        const i = (n * H * W + p) * C + c;
        d[i] = Number.isNaN(r) ? src[i] : r;
      }
    }
  }
  return [out];
}
