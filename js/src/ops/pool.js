// N-D pooling, adaptive pooling, zero padding, cropping and nearest upsampling over the
// spatial axes of (B, *S, C) tensors, or (B, C, *S) with channels_first
// (rnnconvert/runtime/ops/pool.py, FORMAT.md 5.30-5.33).
//
// Pooling and adaptive pooling are one kernel: every output cell reduces a box of the input,
// a product of one [lo, hi) range of real cells per spatial axis. Padding, cropping and
// upsampling are one gather: output index i along axis a reads input index map[a][i] (-1: a zero).

import { FormatError, InputError } from "../errors.js";
import { Tensor, moveAxis, size, strides as stridesOf, zeros } from "../tensor.js";

function outSize(n, k, s, padding) {
  if (padding === "same") return Math.ceil(n / s);
  return Math.max(Math.floor((n - k) / s) + 1, 0);
}

function samePad(n, k, s) {
  const total = Math.max((Math.ceil(n / s) - 1) * s + k - n, 0);
  return Math.floor(total / 2);
}

function spatialAxes(x, n, fmt, op) {
  if (x.shape.length !== n + 2) throw new InputError(`${op}: input of rank ${x.shape.length}, expected ${n + 2}`);
  const first = fmt === "channels_first" ? 2 : 1;
  return Array.from({ length: n }, (_, a) => first + a);
}

const toLast = (x, fmt) => (fmt === "channels_first" ? moveAxis(x, 1, x.shape.length - 1) : x);
const fromLast = (y, fmt) => (fmt === "channels_first" ? moveAxis(y, y.shape.length - 1, 1) : y);

// x channels last (B, *S, C); ranges[a][p] = [lo, hi) along spatial axis a for output cell p.
function boxReduce(x, ranges, max) {
  const n = ranges.length;
  const B = x.shape[0];
  const C = x.shape[n + 1];
  const outs = ranges.map((r) => r.length);
  const out = zeros([B, ...outs, C]);
  const st = stridesOf(x.shape);
  const nOut = size(outs);
  const idx = new Array(n).fill(0);
  const acc = new Float64Array(C);
  for (let b = 0; b < B; b++) {
    for (let cell = 0; cell < nOut; cell++) {
      let rest = cell;
      for (let a = n - 1; a >= 0; a--) {
        idx[a] = rest % outs[a];
        rest = Math.floor(rest / outs[a]);
      }
      acc.fill(max ? -Infinity : 0);
      let count = 0;
      const visit = (a, off) => {
        if (a === n) {
          for (let c = 0; c < C; c++) {
            const v = x.data[off + c];
            if (max) acc[c] = v > acc[c] || Number.isNaN(v) ? v : acc[c];
            else acc[c] += v;
          }
          count++;
          return;
        }
        const [lo, hi] = ranges[a][idx[a]];
        for (let i = lo; i < hi; i++) visit(a + 1, off + i * st[a + 1]);
      };
      visit(0, b * st[0]);
      const o = (b * nOut + cell) * C;
      for (let c = 0; c < C; c++) out.data[o + c] = max ? acc[c] : Math.fround(acc[c]) / count;
    }
  }
  return out;
}

// Pool2D and Pool3D: the rank is len(pool_size).
export function poolNd([x0], w, cfg) {
  const fmt = cfg.data_format || "channels_last";
  spatialAxes(x0, cfg.pool_size.length, fmt, `Pool${cfg.pool_size.length}D`);
  const x = toLast(x0, fmt);
  const ranges = cfg.pool_size.map((k, a) => {
    const n = x.shape[a + 1];
    const s = cfg.strides[a];
    const before = cfg.padding === "same" ? samePad(n, k, s) : 0;
    return Array.from({ length: outSize(n, k, s, cfg.padding) }, (_, p) => {
      const start = p * s - before;
      return [Math.max(start, 0), Math.min(start + k, n)];
    });
  });
  return [fromLast(boxReduce(x, ranges, cfg.mode === "max"), fmt)];
}

export function globalPool3d([x0], w, cfg) {
  const fmt = cfg.data_format || "channels_last";
  spatialAxes(x0, 3, fmt, "GlobalPool3D");
  const x = toLast(x0, fmt);
  const y = boxReduce(x, [1, 2, 3].map((a) => [[0, x.shape[a]]]), cfg.mode === "max");
  const [B, C] = [x.shape[0], x.shape[4]];
  if (!cfg.keepdims) return [new Tensor(y.data, [B, C])];
  return [new Tensor(y.data, fmt === "channels_first" ? [B, C, 1, 1, 1] : [B, 1, 1, 1, C])];
}

export function adaptiveWindows(n, o) {
  return Array.from({ length: o }, (_, i) => [Math.floor((i * n) / o), Math.ceil(((i + 1) * n) / o)]);
}

export function adaptivePool([x0], w, cfg) {
  const fmt = cfg.data_format || "channels_last";
  spatialAxes(x0, cfg.output_size.length, fmt, "AdaptivePool");
  const x = toLast(x0, fmt);
  const ranges = cfg.output_size.map((o, a) => {
    if (x.shape[a + 1] === 0) throw new InputError(`AdaptivePool: spatial axis ${a} of the input is empty`);
    return adaptiveWindows(x.shape[a + 1], o);
  });
  return [fromLast(boxReduce(x, ranges, cfg.mode === "max"), fmt)];
}

// out[i0, i1, ...] = x[maps[0][i0], maps[1][i1], ...], zero where a map holds -1.
function gather(x, maps) {
  const outShape = maps.map((m) => m.length);
  const out = zeros(outShape, x.dtype);
  const sti = stridesOf(x.shape);
  const sto = stridesOf(outShape);
  const r = maps.length;
  const visit = (a, offIn, offOut) => {
    const m = maps[a];
    if (a === r - 1) {
      for (let i = 0; i < m.length; i++) if (m[i] >= 0) out.data[offOut + i] = x.data[offIn + m[i]];
      return;
    }
    for (let i = 0; i < m.length; i++) if (m[i] >= 0) visit(a + 1, offIn + m[i] * sti[a], offOut + i * sto[a]);
  };
  if (size(outShape) > 0) visit(0, 0, 0);
  return out;
}

const identity = (n) => Int32Array.from({ length: n }, (_, i) => i);

function spatialGather(x, cfg, pairsOrSizes, op, mapOf) {
  const axes = spatialAxes(x, pairsOrSizes.length, cfg.data_format || "channels_last", op);
  const maps = x.shape.map((n) => identity(n));
  axes.forEach((a, k) => {
    maps[a] = mapOf(x.shape[a], pairsOrSizes[k]);
  });
  return [gather(x, maps)];
}

export function zeroPadding([x], w, cfg) {
  return spatialGather(x, cfg, cfg.padding, "ZeroPadding", (n, [before, after]) =>
    Int32Array.from({ length: n + before + after }, (_, i) => (i >= before && i < before + n ? i - before : -1)),
  );
}

export function cropping([x], w, cfg) {
  return spatialGather(x, cfg, cfg.cropping, "Cropping", (n, [before, after]) => {
    if (before + after > n) throw new InputError(`Cropping: ${before} + ${after} cells cropped from an axis of ${n}`);
    return Int32Array.from({ length: n - before - after }, (_, i) => i + before);
  });
}

export function upsample3d([x], w, cfg) {
  return spatialGather(x, cfg, cfg.size, "UpSampling3D", (n, k) => Int32Array.from({ length: n * k }, (_, i) => Math.floor(i / k)));
}

const FORMATS = ["channels_last", "channels_first"];
const posInts = (v, n) => Array.isArray(v) && (n === undefined || v.length === n) && v.every((d) => Number.isInteger(d) && d > 0);
const pairs = (v) => Array.isArray(v) && v.length >= 2 && v.length <= 3 && v.every((p) => Array.isArray(p) && p.length === 2 && p.every((d) => Number.isInteger(d) && d >= 0));

/** Load-time checks of the pool helper's ops (the Python runtime's spec/pool.py). */
export function checkPoolNode(op, config, where) {
  const need = (cond, what) => {
    if (!cond) throw new FormatError(`${where}: ${what}`);
  };
  need(config.data_format === undefined || FORMATS.includes(config.data_format), "unknown data_format");
  if (op === "Pool3D") {
    need(posInts(config.pool_size, 3) && posInts(config.strides, 3), "Pool3D pool_size and strides need 3 positive integers");
    need(["valid", "same"].includes(config.padding), "Pool3D padding must be valid or same");
  }
  if (op === "Pool3D" || op === "GlobalPool3D" || op === "AdaptivePool") need(["max", "average"].includes(config.mode), "mode must be max or average");
  if (op === "GlobalPool3D") need(typeof config.keepdims === "boolean", "config keepdims must be true or false");
  if (op === "AdaptivePool") need(posInts(config.output_size) && config.output_size.length >= 1 && config.output_size.length <= 3, "AdaptivePool output_size needs 1 to 3 positive integers");
  if (op === "ZeroPadding") need(pairs(config.padding), "ZeroPadding padding must be 2 or 3 [before, after] pairs");
  if (op === "Cropping") need(pairs(config.cropping), "Cropping cropping must be 2 or 3 [before, after] pairs");
  if (op === "UpSampling3D") need(posInts(config.size, 3), "UpSampling3D size needs 3 positive integers");
}

export const POOL_OPS = new Set(["Pool3D", "GlobalPool3D", "AdaptivePool", "ZeroPadding", "Cropping", "UpSampling3D"]);
