// Resize2D, CenterCrop and Rescaling over (B, H, W, C) images, or (B, C, H, W) with channels_first
// (rnnconvert/runtime/ops/resize.py, resample.py; FORMAT.md 5.34-5.36): tf.image.resize (v2)
// weights per axis, positions in float32 (Math.fround) as TensorFlow's kernels compute them.

import { InputError } from "../errors.js";
import { Tensor, asFloat, moveAxis, zeros } from "../tensor.js";

const f32 = Math.fround;
const toLast = (x, fmt) => (fmt === "channels_first" ? moveAxis(x, 1, 3) : x);
const fromLast = (y, fmt) => (fmt === "channels_first" ? moveAxis(y, 3, 1) : y);
const TABLE = 1024;
const A = -0.5;

function roundHalfEven(v) {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// One axis: n input cells -> m output cells. Returns rows[o] = [[index, weight], ...].
function nearestRows(n, m) {
  const scale = f32(n / m);
  const rows = [];
  for (let o = 0; o < m; o++) rows.push([[Math.min(Math.max(Math.floor(f32((o + 0.5) * scale)), 0), n - 1), 1]]);
  return rows;
}

function halfPixel(o, scale) {
  return f32(f32((o + 0.5) * scale) - 0.5);
}

function bilinearRows(n, m) {
  const scale = f32(n / m);
  const rows = [];
  for (let o = 0; o < m; o++) {
    const s = halfPixel(o, scale);
    const f = Math.floor(s);
    const lerp = f32(s - f);
    rows.push([
      [Math.max(f, 0), 1 - lerp],
      [Math.min(Math.ceil(s), n - 1), lerp],
    ]);
  }
  return rows;
}

const keysNear = (x) => ((A + 2) * x - (A + 3)) * x * x + 1;
const keysFar = (x) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;

function bicubicRows(n, m) {
  const scale = f32(n / m);
  const rows = [];
  for (let o = 0; o < m; o++) {
    const s = halfPixel(o, scale);
    const base = Math.floor(s);
    const k = roundHalfEven(f32(f32(s - base) * TABLE));
    const t = k / TABLE;
    const u = (TABLE - k) / TABLE;
    const taps = [keysFar(t + 1), keysNear(t), keysNear(u), keysFar(u + 1)];
    let total = 0;
    for (let j = 0; j < 4; j++) {
      const i = base - 1 + j;
      if (i < 0 || i >= n) taps[j] = 0;
      total += taps[j];
    }
    const row = [];
    for (let j = 0; j < 4; j++) {
      const i = Math.min(Math.max(base - 1 + j, 0), n - 1);
      row.push([i, total !== 0 ? taps[j] / total : taps[j]]);
    }
    rows.push(row);
  }
  return rows;
}

function areaRows(n, m) {
  const scale = f32(n / m);
  const rows = [];
  for (let o = 0; o < m; o++) {
    const lo = f32(o * scale);
    const hi = f32((o + 1) * scale);
    const row = [];
    for (let i = Math.floor(lo); i < Math.ceil(hi); i++) {
      const overlap = f32(Math.min(i + 1, hi) - Math.max(i, lo));
      row.push([Math.min(Math.max(i, 0), n - 1), overlap / scale]);
    }
    rows.push(row);
  }
  return rows;
}

function lanczos(radius) {
  const pi = 3.14159265359;
  return (x) => {
    if (x > radius) return 0;
    if (x <= 1e-3) return 1;
    return (radius * Math.sin(pi * x) * Math.sin((pi * x) / radius)) / (pi * pi * x * x);
  };
}

const KERNELS = {
  triangle: [(x) => (x < 1 ? 1 - x : 0), 1],
  keyscubic: [(x) => (x >= 2 ? 0 : x >= 1 ? ((-0.5 * x + 2.5) * x - 4) * x + 2 : (1.5 * x - 2.5) * x * x + 1), 2],
  mitchellcubic: [
    (x) =>
      x >= 2
        ? 0
        : x >= 1
          ? (((-7 / 18) * x + 2) * x - 10 / 3) * x + 16 / 9
          : ((7 / 6) * x - 2) * x * x + 8 / 9,
    2,
  ],
  gaussian: [(x) => (x >= 1.5 ? 0 : Math.exp((-x * x) / 0.5)), 1.5],
  lanczos3: [lanczos(3), 3],
  lanczos5: [lanczos(5), 5],
};

function kernelRows(n, m, name, antialias) {
  const [fn, radius] = KERNELS[name];
  const invScale = f32(1 / f32(m / n));
  const kscale = antialias ? Math.max(invScale, 1) : 1;
  const reach = f32(radius * kscale);
  const rows = [];
  for (let o = 0; o < m; o++) {
    const s = f32((o + 0.5) * invScale);
    const start = Math.min(Math.max(Math.ceil(f32(f32(s - reach) - 0.5)), 0), n - 1);
    const end = Math.min(Math.max(Math.floor(f32(f32(s + reach) - 0.5)), 0), n - 1) + 1;
    const row = [];
    let total = 0;
    for (let i = start; i < end; i++) {
      const wv = fn(Math.abs(f32(f32(i + 0.5) - s)) / kscale);
      row.push([i, wv]);
      total += wv;
    }
    if (total !== 0) for (const r of row) r[1] /= total;
    rows.push(row);
  }
  return rows;
}

function axisRows(n, m, interp, antialias) {
  if (interp === "nearest") return nearestRows(n, m);
  if (interp === "bilinear") return antialias ? kernelRows(n, m, "triangle", true) : bilinearRows(n, m);
  if (interp === "bicubic") return antialias ? kernelRows(n, m, "keyscubic", true) : bicubicRows(n, m);
  if (interp === "area") return areaRows(n, m);
  return kernelRows(n, m, interp, antialias);
}

/** tf.image.resize of a (B, H, W, C) tensor to (oh, ow). */
export function resample(x, oh, ow, interp, antialias) {
  const [B, H, W, C] = x.shape;
  if (H === 0 || W === 0) throw new InputError(`cannot resize an empty image of shape [${x.shape}]`);
  const rh = axisRows(H, oh, interp, antialias);
  const rw = axisRows(W, ow, interp, antialias);
  const X = x.data;
  const mid = new Float64Array(B * oh * W * C); // rows resampled
  for (let b = 0; b < B; b++) {
    for (let o = 0; o < oh; o++) {
      const mo = (b * oh + o) * W * C;
      for (const [i, wv] of rh[o]) {
        const xo = (b * H + i) * W * C;
        for (let k = 0; k < W * C; k++) mid[mo + k] += wv * X[xo + k];
      }
    }
  }
  const out = zeros([B, oh, ow, C]);
  for (let r = 0; r < B * oh; r++) {
    for (let p = 0; p < ow; p++) {
      const oo = (r * ow + p) * C;
      for (const [j, wv] of rw[p]) {
        const mo = (r * W + j) * C;
        for (let c = 0; c < C; c++) out.data[oo + c] += wv * mid[mo + c];
      }
    }
  }
  return out;
}

function crop(x, top, left, h, w) {
  const [B, H, W, C] = x.shape;
  const out = zeros([B, h, w, C]);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < h; i++) {
      const src = ((b * H + top + i) * W + left) * C;
      out.data.set(x.data.subarray(src, src + w * C), (b * h + i) * w * C);
    }
  }
  return out;
}

function pad(x, top, left, fill) {
  const [B, H, W, C] = x.shape;
  const h = H + 2 * top;
  const w = W + 2 * left;
  const out = zeros([B, h, w, C]);
  out.data.fill(fill);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < H; i++) {
      const src = (b * H + i) * W * C;
      out.data.set(x.data.subarray(src, src + W * C), ((b * h + top + i) * w + left) * C);
    }
  }
  return out;
}

function aspectCropBox(h, w, th, tw) {
  const ch = Math.max(Math.min(h, Math.floor((w * th) / tw)), 1);
  const cw = Math.max(Math.min(w, Math.floor((h * tw) / th)), 1);
  return [Math.floor((h - ch) / 2), Math.floor((w - cw) / 2), ch, cw];
}

function images(x0, fmt, what) {
  if (x0.rank !== 4) throw new InputError(`${what} takes (batch, rows, cols, channels) images, got [${x0.shape}]`);
  return toLast(asFloat(x0), fmt);
}

export function resize2d([x0], w, cfg) {
  const fmt = cfg.data_format;
  let x = images(x0, fmt, "Resize2D");
  const [, H, W] = x.shape;
  const [th, tw] = cfg.output_size || [H * cfg.factor[0], W * cfg.factor[1]];
  if (cfg.aspect === "crop") {
    const [top, left, ch, cw] = aspectCropBox(H, W, th, tw);
    x = crop(x, top, left, ch, cw);
  } else if (cfg.aspect === "pad") {
    const top = Math.floor((Math.max(H, Math.floor((W * th) / tw)) - H) / 2);
    const left = Math.floor((Math.max(W, Math.floor((H * tw) / th)) - W) / 2);
    if (top > 0 || left > 0) x = pad(x, top, left, cfg.fill_value);
  }
  return [fromLast(resample(x, th, tw, cfg.interpolation, cfg.antialias), fmt)];
}

export function centerCrop([x0], w, cfg) {
  const fmt = cfg.data_format;
  const x = images(x0, fmt, "CenterCrop");
  const [, H, W] = x.shape;
  const { height, width } = cfg;
  if (H >= height && W >= width) {
    return [fromLast(crop(x, Math.floor((H - height) / 2), Math.floor((W - width) / 2), height, width), fmt)];
  }
  const [top, left, ch, cw] = aspectCropBox(H, W, height, width);
  return [fromLast(resample(crop(x, top, left, ch, cw), height, width, "bilinear", false), fmt)];
}

// One factor of y = x * scale + offset: its value at flat index k of x, broadcast from shape.
function broadcaster(values, shape, xShape, what) {
  const r = xShape.length;
  if (shape.length > r) throw new InputError(`Rescaling: ${what} of shape [${shape}] does not fit [${xShape}]`);
  const str = [];
  let acc = 1;
  let inner = 1;
  for (let a = r - 1; a >= r - shape.length; a--) {
    const d = shape[a - (r - shape.length)];
    if (d !== 1 && d !== xShape[a]) throw new InputError(`Rescaling: ${what} of shape [${shape}] does not fit [${xShape}]`);
    str.unshift([inner, xShape[a], d === 1 ? 0 : acc]);
    if (d !== 1) acc *= d;
    inner *= xShape[a];
  }
  const f = Float32Array.from(values);
  return (k) => {
    let idx = 0;
    for (const [inn, n, s] of str) idx += (Math.floor(k / inn) % n) * s;
    return f[idx];
  };
}

export function rescaling([x0], w, cfg) {
  const x = asFloat(x0);
  const s = broadcaster(cfg.scale, cfg.scale_shape, x.shape, "scale");
  const o = broadcaster(cfg.offset, cfg.offset_shape, x.shape, "offset");
  const out = new Float32Array(x.data.length);
  for (let k = 0; k < out.length; k++) out[k] = f32(x.data[k] * s(k)) + o(k);
  return [new Tensor(out, x.shape.slice())];
}

const INTERPOLATIONS = ["nearest", "bilinear", "bicubic", "area", "lanczos3", "lanczos5", "gaussian", "mitchellcubic"];
const posPair = (v) => Array.isArray(v) && v.length === 2 && v.every((d) => Number.isInteger(d) && d > 0);
const sized = (vals, shape) => Array.isArray(vals) && Array.isArray(shape) && shape.every((d) => Number.isInteger(d) && d > 0) && vals.length === shape.reduce((a, d) => a * d, 1) && vals.every(Number.isFinite);

/** Load-time checks of Resize2D / CenterCrop / Rescaling configs (runtime/spec/resize.py). */
export function checkResizeOp(op, cfg, need) {
  if (op === "Rescaling") {
    need(sized(cfg.scale, cfg.scale_shape) && sized(cfg.offset, cfg.offset_shape), "Rescaling scale/offset must hold prod(shape) finite numbers");
    return;
  }
  need(["channels_last", "channels_first"].includes(cfg.data_format), "unknown data_format");
  if (op === "CenterCrop") {
    need(posPair([cfg.height, cfg.width]), "CenterCrop height and width must be positive integers");
    return;
  }
  need(posPair(cfg.output_size) !== posPair(cfg.factor), "Resize2D takes exactly one of output_size and factor (two positive integers)");
  need(INTERPOLATIONS.includes(cfg.interpolation) && typeof cfg.antialias === "boolean", "unknown Resize2D interpolation");
  need(["stretch", "crop", "pad"].includes(cfg.aspect) && Number.isFinite(cfg.fill_value), "bad Resize2D aspect / fill_value");
  need(cfg.aspect === "stretch" || cfg.output_size, "Resize2D aspect crop/pad needs output_size");
}
