// ConvLSTM1D/2D/3D (ops/conv_lstm.py): an LSTM whose products are convolutions over the
// frame's r spatial axes; gates i, f, c, o in blocks of F channels; TensorFlow's "same"
// padding (the extra cell after). Channels last inside; channels_first moved and back.

import { ResourceError } from "../errors.js";
import { Tensor, moveAxis, size } from "../tensor.js";
import { gemm } from "./linalg.js";
import { gateActivation, scan } from "./rnn.js";

const MAX_FRAME_ELEMENTS = 2 ** 28;

export function samePads(n, k, s, d) {
  const span = (k - 1) * d + 1;
  const out = Math.ceil(n / s);
  const total = Math.max((out - 1) * s + span - n, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

function outSize(n, k, s, d, padding) {
  if (padding === "same") return Math.ceil(n / s);
  const span = (k - 1) * d + 1;
  return Math.max(Math.floor((n - span) / s) + 1, 0);
}

/** Receptive fields of every output cell of one (*S, C) frame at ``src[off]``: (cells, prod(K)*C). */
function im2col(src, off, S, C, K, st, dil, before, outSp, dst, dOff) {
  const r = S.length;
  const cells = size(outSp);
  const taps = size(K);
  const oi = new Array(r).fill(0);
  const ki = new Array(r).fill(0);
  for (let o = 0; o < cells; o++) {
    let rem = o;
    for (let a = r - 1; a >= 0; a--) {
      oi[a] = rem % outSp[a];
      rem = Math.floor(rem / outSp[a]);
    }
    for (let t = 0; t < taps; t++) {
      let tr = t;
      for (let a = r - 1; a >= 0; a--) {
        ki[a] = tr % K[a];
        tr = Math.floor(tr / K[a]);
      }
      let pos = 0;
      let inside = true;
      for (let a = 0; a < r; a++) {
        const p = oi[a] * st[a] + ki[a] * dil[a] - before[a];
        if (p < 0 || p >= S[a]) {
          inside = false;
          break;
        }
        pos = pos * S[a] + p;
      }
      const d = dOff + (o * taps + t) * C;
      if (inside) dst.set(src.subarray(off + pos * C, off + pos * C + C), d);
      else dst.fill(0, d, d + C);
    }
  }
}

export function convLstm([x], w, cfg, extra) {
  const first = cfg.data_format === "channels_first";
  const r = w.kernel.shape.length - 2;
  const F = cfg.filters;
  const G = 4 * F;
  if (first) x = moveAxis(x, 2, x.shape.length - 1);
  const [B, T] = x.shape;
  const S = x.shape.slice(2, -1);
  const C = x.shape[x.shape.length - 1];
  const K = w.kernel.shape.slice(0, r);
  const st = cfg.strides.map(Number);
  const dil = cfg.dilation_rate.map(Number);
  const outSp = S.map((n, a) => outSize(n, K[a], st[a], dil[a], cfg.padding));
  const before = S.map((n, a) => (cfg.padding === "same" ? samePads(n, K[a], st[a], dil[a])[0] : 0));
  const cells = size(outSp);
  const taps = size(K);
  const perFrame = Math.max(size(S) * C, cells * taps * Math.max(C, F));
  if (perFrame > MAX_FRAME_ELEMENTS) {
    throw new ResourceError(`ConvLSTM: one frame needs ${perFrame} elements, over the bound of ${MAX_FRAME_ELEMENTS}`);
  }
  const act = gateActivation(cfg.activation);
  const ract = gateActivation(cfg.recurrent_activation);
  const frame = size(S) * C;
  const cols = new Float32Array(cells * taps * C);
  const xs = new Float32Array(B * T * cells * G);
  for (let f = 0; f < B * T; f++) {
    im2col(x.data, f * frame, S, C, K, st, dil, before, outSp, cols, 0);
    gemm(cols, 0, w.kernel.data, xs, f * cells * G, cells, taps * C, G);
    if (w.bias) for (let c = 0; c < cells; c++) for (let j = 0; j < G; j++) xs[(f * cells + c) * G + j] += w.bias.data[j];
  }
  const ones = new Array(r).fill(1);
  const rBefore = outSp.map((n, a) => samePads(n, K[a], 1, 1)[0]);
  const hcols = new Float32Array(B * cells * taps * F);
  const N = B * cells;
  const step = (t, [h, c]) => {
    for (let b = 0; b < B; b++) im2col(h, b * cells * F, outSp, F, K, ones, ones, rBefore, outSp, hcols, b * cells * taps * F);
    const z = new Float32Array(N * G);
    gemm(hcols, 0, w.recurrent_kernel.data, z, 0, N, taps * F, G);
    for (let b = 0; b < B; b++) {
      const src = (b * T + t) * cells * G;
      for (let i = 0; i < cells * G; i++) z[b * cells * G + i] += xs[src + i];
    }
    ract(z, N, G, 0, F);
    ract(z, N, G, F, F);
    act(z, N, G, 2 * F, F);
    ract(z, N, G, 3 * F, F);
    const c2 = new Float32Array(N * F);
    for (let n = 0; n < N; n++) {
      for (let j = 0; j < F; j++) c2[n * F + j] = z[n * G + F + j] * c[n * F + j] + z[n * G + j] * z[n * G + 2 * F + j];
    }
    const ac = Float32Array.from(c2);
    act(ac, N, F, 0, F);
    const h2 = new Float32Array(N * F);
    for (let n = 0; n < N; n++) for (let j = 0; j < F; j++) h2[n * F + j] = z[n * G + 3 * F + j] * ac[n * F + j];
    return [h2, [h2, c2]];
  };
  const toLast = (s) => (first ? moveAxis(s, 1, s.shape.length - 1) : s);
  const init = extra.initialState && extra.initialState.length ? extra.initialState.map((s) => Float32Array.from(toLast(s).data)) : [new Float32Array(N * F), new Float32Array(N * F)];
  const initialOutput = extra.initialOutput ? toLast(extra.initialOutput) : null;
  let [y, [h, c]] = scan(step, {
    B,
    T,
    feat: [...outSp, F],
    states: init,
    mask: extra.mask,
    goBackwards: !!cfg.go_backwards,
    returnSequences: !!cfg.return_sequences,
    zeroOutputForMask: !!cfg.zero_output_for_mask,
    initialOutput,
  });
  let hs = new Tensor(h, [B, ...outSp, F]);
  let cs = new Tensor(c, [B, ...outSp, F]);
  if (first) {
    y = moveAxis(y, y.shape.length - 1, cfg.return_sequences ? 2 : 1);
    hs = moveAxis(hs, hs.shape.length - 1, 1);
    cs = moveAxis(cs, cs.shape.length - 1, 1);
  }
  return [y, hs, cs];
}
