// 1-D convolution and pooling over the time axis, channels last (B, L, C); ops/conv.py.

import { InputError } from "../errors.js";
import { Tensor, zeros } from "../tensor.js";
import { activationFn } from "./activations.js";
import { groupedConv1d } from "./convnd.js";
import { gemm } from "./linalg.js";

export function pads(length, k, stride, dilation, padding) {
  const span = (k - 1) * dilation + 1;
  if (padding === "causal") return [span - 1, 0];
  if (padding === "same") {
    const out = Math.ceil(length / stride);
    const total = Math.max((out - 1) * stride + span - length, 0);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  }
  return [0, 0];
}

function outLength(padded, k, stride, dilation) {
  const span = (k - 1) * dilation + 1;
  return padded >= span ? Math.floor((padded - span) / stride) + 1 : 0;
}

export function conv1d([x], w, cfg) {
  if ((cfg.groups || 1) !== 1) return groupedConv1d(x, w, cfg);
  const [B, L, C] = x.shape;
  const [K, Cin, Cout] = w.kernel.shape;
  const { strides: s, dilation_rate: d } = cfg;
  const [left, right] = pads(L, K, s, d, cfg.padding);
  const Lp = L + left + right;
  const Lo = outLength(Lp, K, s, d);
  // im2col: (B*Lo, K*C) windows, zero outside [0, L)
  const cols = new Float32Array(B * Lo * K * C);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < Lo; t++) {
      for (let k = 0; k < K; k++) {
        const src = t * s + k * d - left;
        if (src < 0 || src >= L) continue;
        cols.set(x.data.subarray((b * L + src) * C, (b * L + src + 1) * C), ((b * Lo + t) * K + k) * C);
      }
    }
  }
  if (Cin !== C) throw new InputError(`Conv1D kernel expects ${Cin} channels, got ${C}`);
  const out = new Float32Array(B * Lo * Cout);
  gemm(cols, 0, w.kernel.data, out, 0, B * Lo, K * C, Cout);
  if (w.bias) for (let r = 0; r < B * Lo; r++) for (let j = 0; j < Cout; j++) out[r * Cout + j] += w.bias.data[j];
  return [activationFn(cfg.activation)(new Tensor(out, [B, Lo, Cout]))];
}

export function pool1d([x], w, cfg) {
  const [B, L, C] = x.shape;
  const { pool_size: k, strides: s } = cfg;
  const [left, right] = pads(L, k, s, 1, cfg.padding);
  const Lo = outLength(L + left + right, k, s, 1);
  const out = zeros([B, Lo, C]);
  const max = cfg.mode === "max";
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < Lo; t++) {
      for (let c = 0; c < C; c++) {
        let acc = max ? -Infinity : 0;
        let count = 0;
        for (let j = 0; j < k; j++) {
          const src = t * s + j - left;
          if (src < 0 || src >= L) continue;
          const v = x.data[(b * L + src) * C + c];
          if (max) acc = v > acc || Number.isNaN(v) ? v : acc;
          else acc += v;
          count++;
        }
        out.data[(b * Lo + t) * C + c] = max ? acc : acc / count;
      }
    }
  }
  return [out];
}

export function globalPool1d([x], w, cfg, extra) {
  const [B, L] = x.shape;
  const inner = x.data.length / (B * L || 1);
  const rest = x.shape.slice(2);
  const out = zeros([B, ...(cfg.keepdims ? [1] : []), ...rest]);
  const m = extra.mask ? extra.mask.data : null;
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < inner; i++) {
      let acc = cfg.mode === "max" ? -Infinity : 0;
      let count = 0;
      for (let t = 0; t < L; t++) {
        const v = x.data[(b * L + t) * inner + i];
        if (cfg.mode === "max") {
          acc = v > acc || Number.isNaN(v) ? v : acc;
        } else if (m) {
          const mm = m[b * L + t] ? 1 : 0;
          acc += v * mm;
          count += mm;
        } else {
          acc += v;
          count++;
        }
      }
      out.data[b * inner + i] = cfg.mode === "max" ? acc : Math.fround(acc) / count;
    }
  }
  return [out];
}

export function pad1d([x], w, cfg) {
  const [B, L] = x.shape;
  const Lo = L + cfg.left + cfg.right;
  const out = zeros([B, Lo, ...x.shape.slice(2)], x.dtype);
  const inner = size1(x.shape.slice(2));
  for (let b = 0; b < B; b++) out.data.set(x.data.subarray(b * L * inner, (b + 1) * L * inner), (b * Lo + cfg.left) * inner);
  return [out];
}

function size1(shape) {
  return shape.reduce((a, b) => a * b, 1);
}

export function crop1d([x], w, cfg) {
  const [B, L] = x.shape;
  const inner = size1(x.shape.slice(2));
  const Lo = Math.max(0, L - cfg.right - cfg.left);
  const out = zeros([B, Lo, ...x.shape.slice(2)], x.dtype);
  for (let b = 0; b < B; b++) {
    out.data.set(x.data.subarray((b * L + cfg.left) * inner, (b * L + cfg.left + Lo) * inner), b * Lo * inner);
  }
  return [out];
}

export function upsample1d([x], w, cfg) {
  const [B, L] = x.shape;
  const inner = size1(x.shape.slice(2));
  const n = cfg.size;
  const out = zeros([B, L * n, ...x.shape.slice(2)], x.dtype);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < L; t++) {
      const row = x.data.subarray((b * L + t) * inner, (b * L + t + 1) * inner);
      for (let r = 0; r < n; r++) out.data.set(row, ((b * L + t) * n + r) * inner);
    }
  }
  return [out];
}
