// 2-D convolution and global pooling over (B, H, W, C) images, or (B, C, H, W) with channels_first
// (rnnconvert/runtime/ops/conv2d.py): TensorFlow's "same" split, grouped convolutions.
// Pool2D runs on the N-D pooling of ops/pool.js.

import { Tensor, moveAxis, zeros } from "../tensor.js";
import { activationFn } from "./activations.js";
import { samePads } from "./conv_lstm.js";

function outSize(n, k, s, d, padding) {
  if (padding === "same") return Math.ceil(n / s);
  return Math.max(Math.floor((n - (k - 1) * d - 1) / s) + 1, 0);
}

const toLast = (x, fmt) => (fmt === "channels_first" ? moveAxis(x, 1, 3) : x);
const fromLast = (y, fmt) => (fmt === "channels_first" ? moveAxis(y, 3, 1) : y);

function geometry(x, k, s, d, padding) {
  const [, H, W] = x.shape;
  const oh = outSize(H, k[0], s[0], d[0], padding);
  const ow = outSize(W, k[1], s[1], d[1], padding);
  const top = padding === "same" ? samePads(H, k[0], s[0], d[0])[0] : 0;
  const left = padding === "same" ? samePads(W, k[1], s[1], d[1])[0] : 0;
  return { H, W, oh, ow, top, left };
}

export function conv2d([x0], w, cfg) {
  const fmt = cfg.data_format || "channels_last";
  const x = toLast(x0, fmt);
  const [B, , , C] = x.shape;
  const [kh, kw, cg, cOut] = w.kernel.shape;
  const groups = cfg.groups || 1;
  const og = cOut / groups;
  const { H, W, oh, ow, top, left } = geometry(x, [kh, kw], cfg.strides, cfg.dilation_rate, cfg.padding);
  const [sh, sw] = cfg.strides;
  const [dh, dw] = cfg.dilation_rate;
  const K = w.kernel.data;
  const X = x.data;
  const out = new Float32Array(B * oh * ow * cOut);
  const acc = new Float64Array(cOut);
  for (let b = 0; b < B; b++) {
    for (let p = 0; p < oh; p++) {
      for (let q = 0; q < ow; q++) {
        acc.fill(0);
        for (let i = 0; i < kh; i++) {
          const r = p * sh + i * dh - top;
          if (r < 0 || r >= H) continue;
          for (let j = 0; j < kw; j++) {
            const c0 = q * sw + j * dw - left;
            if (c0 < 0 || c0 >= W) continue;
            const xo = ((b * H + r) * W + c0) * C;
            const ko = (i * kw + j) * cg * cOut;
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
        const oo = ((b * oh + p) * ow + q) * cOut;
        for (let o = 0; o < cOut; o++) out[oo + o] = acc[o] + (w.bias ? w.bias.data[o] : 0);
      }
    }
  }
  return [fromLast(activationFn(cfg.activation)(new Tensor(out, [B, oh, ow, cOut])), fmt)];
}

export function globalPool2d([x0], w, cfg) {
  const fmt = cfg.data_format || "channels_last";
  const x = toLast(x0, fmt);
  const [B, H, W, C] = x.shape;
  const max = cfg.mode === "max";
  const out = new Float32Array(B * C);
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      let a = max ? -Infinity : 0;
      for (let r = 0; r < H * W; r++) {
        const v = x.data[(b * H * W + r) * C + c];
        if (max) a = v > a || Number.isNaN(v) ? v : a;
        else a += v;
      }
      out[b * C + c] = max ? a : Math.fround(a) / (H * W);
    }
  }
  if (!cfg.keepdims) return [new Tensor(out, [B, C])];
  return [new Tensor(out, fmt === "channels_first" ? [B, C, 1, 1] : [B, 1, 1, C])];
}
