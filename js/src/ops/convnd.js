// N-D convolution (1-3 spatial axes, grouped) and transposed convolution, channels last
// inside (rnnconvert/runtime/ops/convnd.py, FORMAT.md 5.26-5.27). Every spatial rank runs as
// 3-D with size-1 axes in front; no patch matrix is built.

import { InputError } from "../errors.js";
import { Tensor, moveAxis } from "../tensor.js";
import { activationFn } from "./activations.js";
import { pads } from "./conv.js";

const toLast = (x, fmt) => (fmt === "channels_first" ? moveAxis(x, 1, x.rank - 1) : x);
const fromLast = (y, fmt) => (fmt === "channels_first" ? moveAxis(y, y.rank - 1, 1) : y);
const lift = (v, n, fill) => [...Array(3 - n).fill(fill), ...v];

/** x (B, *spatial, C) channels last -> (B, *out, C_out) before bias/activation. */
export function convNd(x, kernel, strides, padding, dilation, groups) {
  const n = kernel.shape.length - 2;
  const B = x.shape[0];
  const C = x.shape[x.rank - 1];
  const cg = kernel.shape[n];
  const cOut = kernel.shape[n + 1];
  if (x.rank !== n + 2 || cg * groups !== C) {
    throw new InputError(`input [${x.shape}] does not fit kernel [${kernel.shape}] with groups=${groups}`);
  }
  const size = lift(x.shape.slice(1, 1 + n), n, 1);
  const k = lift(kernel.shape.slice(0, n), n, 1);
  const s = lift(strides, n, 1);
  const d = lift(dilation, n, 1);
  const before = [];
  const out = [];
  for (let a = 0; a < 3; a++) {
    const [lo, hi] = a < 3 - n ? [0, 0] : pads(size[a], k[a], s[a], d[a], padding);
    before.push(lo);
    const span = (k[a] - 1) * d[a] + 1;
    const padded = size[a] + lo + hi;
    out.push(padded >= span ? Math.floor((padded - span) / s[a]) + 1 : 0);
  }
  const og = cOut / groups;
  const K = kernel.data;
  const X = x.data;
  const y = new Float32Array(B * out[0] * out[1] * out[2] * cOut);
  const acc = new Float64Array(cOut);
  for (let b = 0; b < B; b++) {
    for (let p0 = 0; p0 < out[0]; p0++) {
      for (let p1 = 0; p1 < out[1]; p1++) {
        for (let p2 = 0; p2 < out[2]; p2++) {
          acc.fill(0);
          for (let i0 = 0; i0 < k[0]; i0++) {
            const r0 = p0 * s[0] + i0 * d[0] - before[0];
            if (r0 < 0 || r0 >= size[0]) continue;
            for (let i1 = 0; i1 < k[1]; i1++) {
              const r1 = p1 * s[1] + i1 * d[1] - before[1];
              if (r1 < 0 || r1 >= size[1]) continue;
              for (let i2 = 0; i2 < k[2]; i2++) {
                const r2 = p2 * s[2] + i2 * d[2] - before[2];
                if (r2 < 0 || r2 >= size[2]) continue;
                const xo = (((b * size[0] + r0) * size[1] + r1) * size[2] + r2) * C;
                const ko = ((i0 * k[1] + i1) * k[2] + i2) * cg * cOut;
                for (let g = 0; g < groups; g++) {
                  for (let c = 0; c < cg; c++) {
                    const xv = X[xo + g * cg + c];
                    if (xv === 0) continue;
                    const kr = ko + c * cOut + g * og;
                    for (let o = 0; o < og; o++) acc[g * og + o] += xv * K[kr + o];
                  }
                }
              }
            }
          }
          const yo = (((b * out[0] + p0) * out[1] + p1) * out[2] + p2) * cOut;
          for (let o = 0; o < cOut; o++) y[yo + o] = acc[o];
        }
      }
    }
  }
  return new Tensor(y, [B, ...out.slice(3 - n), cOut]);
}

function addBias(t, bias) {
  if (!bias) return t;
  const c = bias.data.length;
  for (let i = 0; i < t.data.length; i++) t.data[i] += bias.data[i % c];
  return t;
}

/** The Conv2D / Conv3D op (5.24, 5.26): any spatial rank, read off the kernel. */
export function conv([x0], w, cfg) {
  const fmt = cfg.data_format || "channels_last";
  const y = convNd(toLast(x0, fmt), w.kernel, cfg.strides, cfg.padding, cfg.dilation_rate, cfg.groups || 1);
  return [fromLast(activationFn(cfg.activation)(addBias(y, w.bias)), fmt)];
}

export function transposeLength(n, k, s, d, padding, outputPadding) {
  const span = (k - 1) * d + 1;
  return (n - 1) * s + (padding === "valid" ? span : span % 2) + outputPadding;
}

/** The ConvTranspose op: every input cell i adds x[i] @ kernel[k] at output cell i*s + k*d - P. */
export function convTranspose([x0], w, cfg) {
  const fmt = cfg.data_format || "channels_last";
  const x = toLast(x0, fmt);
  const kernel = w.kernel;
  const n = kernel.shape.length - 2;
  const B = x.shape[0];
  const cIn = kernel.shape[n];
  const cOut = kernel.shape[n + 1];
  if (x.rank !== n + 2 || x.shape[x.rank - 1] !== cIn) {
    throw new InputError(`input [${x.shape}] does not fit transposed kernel [${kernel.shape}]`);
  }
  const size = lift(x.shape.slice(1, 1 + n), n, 1);
  const k = lift(kernel.shape.slice(0, n), n, 1);
  const s = lift(cfg.strides, n, 1);
  const d = lift(cfg.dilation_rate, n, 1);
  const op = lift(cfg.output_padding, n, 0);
  const out = [];
  const before = [];
  for (let a = 0; a < 3; a++) {
    const o = a < 3 - n ? 1 : transposeLength(size[a], k[a], s[a], d[a], cfg.padding, op[a]);
    out.push(o);
    before.push(a >= 3 - n && cfg.padding === "same" ? pads(o, k[a], s[a], d[a], "same")[0] : 0);
  }
  const K = kernel.data;
  const X = x.data;
  const acc = new Float64Array(B * out[0] * out[1] * out[2] * cOut);
  for (let b = 0; b < B; b++) {
    for (let j0 = 0; j0 < size[0]; j0++) {
      for (let j1 = 0; j1 < size[1]; j1++) {
        for (let j2 = 0; j2 < size[2]; j2++) {
          const xo = (((b * size[0] + j0) * size[1] + j1) * size[2] + j2) * cIn;
          for (let i0 = 0; i0 < k[0]; i0++) {
            const q0 = j0 * s[0] + i0 * d[0] - before[0];
            if (q0 < 0 || q0 >= out[0]) continue;
            for (let i1 = 0; i1 < k[1]; i1++) {
              const q1 = j1 * s[1] + i1 * d[1] - before[1];
              if (q1 < 0 || q1 >= out[1]) continue;
              for (let i2 = 0; i2 < k[2]; i2++) {
                const q2 = j2 * s[2] + i2 * d[2] - before[2];
                if (q2 < 0 || q2 >= out[2]) continue;
                const yo = (((b * out[0] + q0) * out[1] + q1) * out[2] + q2) * cOut;
                const ko = ((i0 * k[1] + i1) * k[2] + i2) * cIn * cOut;
                for (let c = 0; c < cIn; c++) {
                  const xv = X[xo + c];
                  if (xv === 0) continue;
                  const kr = ko + c * cOut;
                  for (let o = 0; o < cOut; o++) acc[yo + o] += xv * K[kr + o];
                }
              }
            }
          }
        }
      }
    }
  }
  const y = new Tensor(Float32Array.from(acc), [B, ...out.slice(3 - n), cOut]);
  return [fromLast(activationFn(cfg.activation)(addBias(y, w.bias)), fmt)];
}

/** Conv1D with groups > 1 (ops/conv.py's grouped path). */
export function groupedConv1d(x, w, cfg) {
  const y = convNd(x, w.kernel, [cfg.strides], cfg.padding, [cfg.dilation_rate], cfg.groups);
  return [activationFn(cfg.activation)(addBias(y, w.bias))];
}
