// Tensors: a typed array in C order plus a shape. dtype is "float32" (Float32Array),
// "int32" (Int32Array: token ids) or "bool" (Uint8Array of 0/1).

import { FormatError, ResourceError } from "./errors.js";

/** The data of a "string" tensor (text inputs, FORMAT.md 2.1): an Array of JS strings with the
 *  two typed-array methods the generic tensor helpers use. */
export class StringArray extends Array {
  static get [Symbol.species]() {
    return Array;
  }
  static of(values) {
    const out = new StringArray(values.length);
    for (let i = 0; i < values.length; i++) out[i] = values[i];
    return out;
  }
  set(src, offset = 0) {
    for (let i = 0; i < src.length; i++) this[offset + i] = src[i];
  }
  subarray(start, end) {
    return StringArray.of(Array.prototype.slice.call(this, start, end));
  }
}

function strings(n) {
  const out = new StringArray(n);
  out.fill("");
  return out;
}

const CTORS = { float32: Float32Array, int32: Int32Array, bool: Uint8Array, string: strings };

export class Tensor {
  /** @param {Float32Array|Int32Array|Uint8Array} data @param {number[]} shape @param {string} [dtype] */
  constructor(data, shape, dtype) {
    this.data = data;
    this.shape = shape;
    this.dtype = dtype || dtypeOf(data);
    if (data.length !== size(shape)) {
      throw new FormatError(`tensor of shape [${shape}] needs ${size(shape)} values, got ${data.length}`);
    }
  }
  get rank() {
    return this.shape.length;
  }
}

export function dtypeOf(data) {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof Uint8Array) return "bool";
  if (data instanceof StringArray) return "string";
  throw new FormatError(`unsupported typed array ${data && data.constructor && data.constructor.name}`);
}

export function size(shape) {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function strides(shape) {
  const s = new Array(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** An empty tensor of ``shape`` (zeros). */
export function zeros(shape, dtype = "float32") {
  const n = size(shape);
  if (!Number.isSafeInteger(n) || n > 2 ** 31) throw new ResourceError(`a tensor of shape [${shape}] is too large`);
  return new Tensor(dtype === "string" ? strings(n) : new CTORS[dtype](n), shape.slice(), dtype);
}

export function like(t, shape = t.shape) {
  return zeros(shape, t.dtype);
}

export function normAxis(axis, rank) {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new FormatError(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

export function reshape(t, shape) {
  const s = shape.slice();
  const k = s.indexOf(-1);
  if (k >= 0) {
    const rest = size(s.filter((_, i) => i !== k));
    s[k] = rest ? t.data.length / rest : 0;
  }
  if (size(s) !== t.data.length || !s.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new FormatError(`cannot reshape [${t.shape}] to [${shape}]`);
  }
  return new Tensor(t.data, s, t.dtype);
}

/** y = x.transpose(perm): axis k of y is axis perm[k] of x. */
export function transpose(t, perm) {
  const r = t.shape.length;
  if (perm.every((p, i) => p === i)) return t;
  const outShape = perm.map((p) => t.shape[p]);
  const inStr = strides(t.shape);
  const st = perm.map((p) => inStr[p]);
  const out = like(t, outShape);
  const src = t.data;
  const dst = out.data;
  const n = dst.length;
  if (!n) return out;
  const idx = new Array(r).fill(0);
  let off = 0;
  const last = r - 1;
  const lastDim = outShape[last];
  const lastStr = st[last];
  for (let o = 0; o < n; ) {
    for (let j = 0; j < lastDim; j++) dst[o++] = src[off + j * lastStr];
    // odometer over the leading axes
    let a = last - 1;
    while (a >= 0) {
      idx[a]++;
      off += st[a];
      if (idx[a] < outShape[a]) break;
      off -= st[a] * outShape[a];
      idx[a] = 0;
      a--;
    }
  }
  return out;
}

export function moveAxis(t, from, to) {
  const r = t.shape.length;
  const perm = [];
  for (let i = 0; i < r; i++) if (i !== from) perm.push(i);
  perm.splice(to, 0, from);
  return transpose(t, perm);
}

/** Concatenate along ``axis``. */
export function concat(ts, axis) {
  const r = ts[0].shape.length;
  const ax = normAxis(axis, r);
  for (const t of ts) {
    if (t.shape.length !== r || t.shape.some((d, i) => i !== ax && d !== ts[0].shape[i])) {
      throw new FormatError(`cannot concatenate shapes ${ts.map((x) => `[${x.shape}]`).join(", ")} on axis ${axis}`);
    }
  }
  const outShape = ts[0].shape.slice();
  outShape[ax] = ts.reduce((s, t) => s + t.shape[ax], 0);
  const dtype = ts.every((t) => t.dtype === "bool") ? "bool" : ts[0].dtype;
  const out = zeros(outShape, dtype);
  const outer = size(outShape.slice(0, ax));
  const inner = size(outShape.slice(ax + 1));
  const rowOut = outShape[ax] * inner;
  let col = 0;
  for (const t of ts) {
    const w = t.shape[ax] * inner;
    for (let o = 0; o < outer; o++) out.data.set(t.data.subarray(o * w, o * w + w), o * rowOut + col);
    col += w;
  }
  return out;
}

/** Elements [start, end) along ``axis``. */
export function sliceAxis(t, axis, start, end) {
  const ax = normAxis(axis, t.shape.length);
  const outShape = t.shape.slice();
  outShape[ax] = Math.max(0, end - start);
  const outer = size(t.shape.slice(0, ax));
  const inner = size(t.shape.slice(ax + 1));
  const out = like(t, outShape);
  const w = outShape[ax] * inner;
  const rowIn = t.shape[ax] * inner;
  for (let o = 0; o < outer; o++) {
    const s = o * rowIn + start * inner;
    out.data.set(t.data.subarray(s, s + w), o * w);
  }
  return out;
}

/** The shape two shapes broadcast to (NumPy rules). */
export function broadcastShape(a, b) {
  const r = Math.max(a.length, b.length);
  const out = new Array(r);
  for (let i = 0; i < r; i++) {
    const x = i < r - a.length ? 1 : a[i - (r - a.length)];
    const y = i < r - b.length ? 1 : b[i - (r - b.length)];
    if (x !== y && x !== 1 && y !== 1) throw new FormatError(`shapes [${a}] and [${b}] do not broadcast`);
    out[i] = x === 1 ? y : x;
  }
  return out;
}

function bstrides(shape, outShape) {
  const r = outShape.length;
  const s = strides(shape);
  const out = new Array(r).fill(0);
  for (let i = 0; i < shape.length; i++) {
    const k = i + r - shape.length;
    out[k] = shape[i] === 1 ? 0 : s[i];
  }
  return out;
}

/** Apply ``fn(a_i, b_i)`` with broadcasting; the result has ``dtype``. */
export function binary(a, b, fn, dtype = "float32") {
  const outShape = broadcastShape(a.shape, b.shape);
  const out = zeros(outShape, dtype);
  const n = out.data.length;
  const A = a.data;
  const B = b.data;
  const D = out.data;
  if (sameShape(a.shape, outShape) && sameShape(b.shape, outShape)) {
    for (let i = 0; i < n; i++) D[i] = fn(A[i], B[i]);
    return out;
  }
  if (!n) return out;
  const sa = bstrides(a.shape, outShape);
  const sb = bstrides(b.shape, outShape);
  const r = outShape.length;
  const idx = new Array(r).fill(0);
  let ia = 0;
  let ib = 0;
  for (let o = 0; o < n; o++) {
    D[o] = fn(A[ia], B[ib]);
    let k = r - 1;
    while (k >= 0) {
      idx[k]++;
      ia += sa[k];
      ib += sb[k];
      if (idx[k] < outShape[k]) break;
      ia -= sa[k] * outShape[k];
      ib -= sb[k] * outShape[k];
      idx[k] = 0;
      k--;
    }
  }
  return out;
}

/** ``where(cond, x, y)`` with broadcasting of all three. */
export function where(cond, x, y) {
  const shape = broadcastShape(broadcastShape(cond.shape, x.shape), y.shape);
  const c = broadcastTo(cond, shape).data;
  const xs = broadcastTo(x, shape).data;
  const ys = broadcastTo(y, shape).data;
  const out = zeros(shape, x.dtype);
  for (let i = 0; i < out.data.length; i++) out.data[i] = c[i] ? xs[i] : ys[i];
  return out;
}

export function broadcastTo(t, shape) {
  if (sameShape(t.shape, shape)) return t;
  return binary(t, zeros(shape, t.dtype), (a) => a, t.dtype);
}

export function sameShape(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function scalar(v, dtype = "float32") {
  const t = zeros([], dtype);
  t.data[0] = v;
  return t;
}

export function map(t, fn) {
  const out = zeros(t.shape, "float32");
  const s = t.data;
  const d = out.data;
  for (let i = 0; i < d.length; i++) d[i] = fn(s[i]);
  return out;
}

/** Run ``fn(rows Float32Array, n, count)`` with ``axes`` moved last and flattened, then move back.
 *  fn works in place on ``count`` contiguous rows of ``n`` values. */
export function alongAxes(t, axes, fn) {
  const r = t.shape.length;
  const ax = [...new Set(axes.map((a) => normAxis(a, r)))].sort((a, b) => a - b);
  const rest = [];
  for (let i = 0; i < r; i++) if (!ax.includes(i)) rest.push(i);
  const perm = rest.concat(ax);
  const moved = transpose(t, perm);
  const work = moved === t ? new Tensor(Float32Array.from(t.data), t.shape.slice()) : moved;
  const n = size(ax.map((a) => t.shape[a]));
  fn(work.data, n, n ? work.data.length / n : 0);
  const inv = new Array(r);
  perm.forEach((p, i) => (inv[p] = i));
  return transpose(work, inv);
}

/** Reduce over ``axes`` with keepdims semantics handled by the caller: returns the reduced
 *  values as a tensor of the kept axes' shape (keepdims=false). */
export function reduce(t, axes, init, fn) {
  const r = t.shape.length;
  const ax = [...new Set(axes.map((a) => normAxis(a, r)))].sort((a, b) => a - b);
  const rest = [];
  for (let i = 0; i < r; i++) if (!ax.includes(i)) rest.push(i);
  const moved = transpose(t, rest.concat(ax));
  const n = size(ax.map((a) => t.shape[a]));
  const out = zeros(
    rest.map((i) => t.shape[i]),
    "float32",
  );
  const d = moved.data;
  for (let o = 0; o < out.data.length; o++) {
    let acc = init;
    for (let j = 0; j < n; j++) acc = fn(acc, d[o * n + j]);
    out.data[o] = acc;
  }
  return out;
}

export function keepDims(reduced, shape, axes) {
  const r = shape.length;
  const ax = axes.map((a) => normAxis(a, r));
  return reshape(
    reduced,
    shape.map((d, i) => (ax.includes(i) ? 1 : d)),
  );
}

export function asFloat(t) {
  if (t.dtype === "float32") return t;
  return new Tensor(Float32Array.from(t.data), t.shape.slice(), "float32");
}

export function asBool(t) {
  if (t.dtype === "bool") return t;
  const out = zeros(t.shape, "bool");
  for (let i = 0; i < t.data.length; i++) out.data[i] = t.data[i] ? 1 : 0;
  return out;
}
