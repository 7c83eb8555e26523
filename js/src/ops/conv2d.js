// 2-D convolution and global pooling over (B, H, W, C) images, or (B, C, H, W) with channels_first
// (rnnconvert/runtime/ops/conv2d.py): TensorFlow's "same" split, grouped convolutions.
// Pool2D runs on the N-D pooling of ops/pool.js.

import { Tensor, moveAxis, zeros } from "../tensor.js";
import { conv } from "./convnd.js";
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

// The N-D kernel of convnd.js (shared with Conv3D and grouped Conv1D) on two spatial axes.
export function conv2d(inputs, w, cfg) {
  return conv(inputs, w, cfg);
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
