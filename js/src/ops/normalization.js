// BatchNormalization (inference), LayerNormalization, PReLU and Dot (ops/normalization.py).

import { Tensor, alongAxes, binary, moveAxis, normAxis, reshape, size } from "../tensor.js";
import { gemm } from "./linalg.js";

const f32 = Math.fround;

function bshape(x, axes) {
  const ax = axes.map((a) => normAxis(a, x.shape.length));
  return x.shape.map((d, i) => (ax.includes(i) ? d : 1));
}

const axesOf = (cfg) => (Array.isArray(cfg.axis) ? cfg.axis : [cfg.axis]);

export function batchNorm([x], w, cfg) {
  const shape = bshape(x, axesOf(cfg));
  const eps = f32(cfg.epsilon);
  const inv = w.moving_variance.data.map((v) => 1 / Math.sqrt(f32(v + eps)));
  let y = binary(x, reshape(w.moving_mean, shape), (a, b) => a - b);
  y = binary(y, reshape(new Tensor(inv, w.moving_variance.shape.slice()), shape), (a, b) => a * b);
  if (w.gamma) y = binary(y, reshape(w.gamma, shape), (a, b) => a * b);
  if (w.beta) y = binary(y, reshape(w.beta, shape), (a, b) => a + b);
  return [y];
}

export function layerNorm([x], w, cfg) {
  const axes = axesOf(cfg);
  const eps = f32(cfg.epsilon);
  let y = alongAxes(x, axes, (d, n, count) => {
    for (let r = 0; r < count; r++) {
      const o = r * n;
      let mean = 0;
      for (let j = 0; j < n; j++) mean += d[o + j];
      mean = f32(mean / n);
      let v = 0;
      for (let j = 0; j < n; j++) {
        const c = f32(d[o + j] - mean);
        v += c * c;
      }
      const den = Math.sqrt(f32(f32(v / n) + eps));
      for (let j = 0; j < n; j++) d[o + j] = f32(d[o + j] - mean) / f32(den);
    }
  });
  const shape = bshape(x, axes);
  if (w.gamma) y = binary(y, reshape(w.gamma, shape), (a, b) => a * b);
  if (w.beta) y = binary(y, reshape(w.beta, shape), (a, b) => a + b);
  return [y];
}

export function prelu([x], w) {
  const alpha = reshape(w.alpha, [1, ...w.alpha.shape]);
  return [binary(x, alpha, (v, a) => Math.max(v, 0) + a * Math.min(v, 0))];
}

function l2normalize(t, ax) {
  return alongAxes(t, [ax], (d, n, count) => {
    for (let r = 0; r < count; r++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += d[r * n + j] * d[r * n + j];
      const den = Math.sqrt(Math.max(f32(s), 1e-12));
      for (let j = 0; j < n; j++) d[r * n + j] = d[r * n + j] / den;
    }
  });
}

export function dot([a, b], w, cfg) {
  const axA = normAxis(cfg.axes[0], a.shape.length);
  const axB = normAxis(cfg.axes[1], b.shape.length);
  if (cfg.normalize) {
    a = l2normalize(a, axA);
    b = l2normalize(b, axB);
  }
  const a2 = moveAxis(a, axA, a.shape.length - 1); // (B, ..., K)
  const b2 = moveAxis(b, axB, 1); // (B, K, ...)
  const B = a2.shape[0];
  const K = a2.shape[a2.shape.length - 1];
  const restA = a2.shape.slice(1, -1);
  const restB = b2.shape.slice(2);
  const M = size(restA);
  const N = size(restB);
  const out = new Float32Array(B * M * N);
  for (let i = 0; i < B; i++) gemm(a2.data.subarray(i * M * K), 0, b2.data.subarray(i * K * N), out, i * M * N, M, K, N);
  const shape = [B, ...restA, ...restB];
  return [new Tensor(out, shape.length === 1 ? [B, 1] : shape)];
}
