// GroupNormalization, RMSNormalization, UnitNormalization, Normalization and Threshold
// (ops/norms.py, FORMAT.md 5.45-5.49).

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
