// Inline tensor operations: Slice, Squeeze, Stack, Binary, Compare, Unary, Reduce, MatMul,
// Cast (rnnconvert/runtime/ops/tensor_ops.py, FORMAT.md 5.51-5.59).

import { InputError } from "../errors.js";
import { Tensor, binary as bcast, broadcastShape, normAxis, reshape, scalar, size, strides, transpose, zeros } from "../tensor.js";

const f32 = Math.fround;
// TensorFlow's float floor-mod: fmod, moved to the divisor's sign.
const floorMod = (a, b) => {
  const m = a % b;
  return m !== 0 && m < 0 !== b < 0 ? m + b : m;
};
// Half to even, as TensorFlow, Keras and NumPy round.
const roundEven = (v) => {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

const BINARY = {
  add: (a, b) => a + b,
  subtract: (a, b) => a - b,
  multiply: (a, b) => a * b,
  divide: (a, b) => a / b,
  pow: (a, b) => Math.pow(a, b),
  maximum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b)),
  minimum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b)),
  floor_divide: (a, b) => Math.floor(f32(a / b)),
  mod: floorMod,
  squared_difference: (a, b) => f32(a - b) * f32(a - b),
};
const COMPARE = {
  equal: (a, b) => a === b,
  not_equal: (a, b) => a !== b,
  less: (a, b) => a < b,
  less_equal: (a, b) => a <= b,
  greater: (a, b) => a > b,
  greater_equal: (a, b) => a >= b,
  logical_and: (a, b) => !!a && !!b,
  logical_or: (a, b) => !!a || !!b,
  logical_xor: (a, b) => !!a !== !!b,
};
const UNARY = {
  abs: Math.abs,
  negative: (v) => -v,
  exp: Math.exp,
  log: Math.log,
  log1p: Math.log1p,
  expm1: Math.expm1,
  sqrt: Math.sqrt,
  rsqrt: (v) => 1 / f32(Math.sqrt(v)),
  square: (v) => v * v,
  reciprocal: (v) => 1 / v,
  sign: (v) => (Number.isNaN(v) ? NaN : Math.sign(v)),
  floor: Math.floor,
  ceil: Math.ceil,
  round: roundEven,
  sin: Math.sin,
  cos: Math.cos,
  logical_not: (v) => (v ? 0 : 1),
};
const REDUCE = {
  sum: [0, (acc, v) => acc + v],
  mean: [0, (acc, v) => acc + v],
  prod: [1, (acc, v) => acc * v],
  max: [-Infinity, (acc, v) => (Number.isNaN(acc) || v > acc || Number.isNaN(v) ? v : acc)],
  min: [Infinity, (acc, v) => (Number.isNaN(acc) || v < acc || Number.isNaN(v) ? v : acc)],
  any: [0, (acc, v) => (acc || v ? 1 : 0)],
  all: [1, (acc, v) => (acc && v ? 1 : 0)],
};

function operands(ins, cfg) {
  if (ins.length === 2) return ins;
  if (cfg.scalar === undefined) throw new InputError("a one-input Binary/Compare node needs its scalar");
  const s = scalar(cfg.scalar, ins[0].dtype === "int32" && Number.isInteger(cfg.scalar) ? "int32" : "float32");
  return cfg.scalar_first ? [s, ins[0]] : [ins[0], s];
}

export function binaryOp(ins, w, cfg) {
  const [a, b] = operands(ins, cfg);
  const float = [a, b].some((t) => t.dtype !== "int32") || cfg.fn === "divide";
  const dtype = float ? "float32" : "int32";
  return [bcast(a, b, BINARY[cfg.fn], dtype)];
}

export function compareOp(ins, w, cfg) {
  const [a, b] = operands(ins, cfg);
  const fn = COMPARE[cfg.fn];
  return [bcast(a, b, (p, q) => (fn(p, q) ? 1 : 0), "bool")];
}

export function unaryOp([x], w, cfg) {
  const fn = UNARY[cfg.fn];
  const out = zeros(x.shape, cfg.fn === "logical_not" ? "bool" : x.dtype);
  for (let i = 0; i < out.data.length; i++) out.data[i] = fn(x.data[i]);
  return [out];
}

/** Python's slice.indices(n): [start, stop, step] clamped for a size-n axis. */
function indices(kind, start, stop, step, n) {
  const lo = step < 0 ? -1 : 0;
  const hi = step < 0 ? n - 1 : n;
  const clamp = (v) => (v < 0 ? Math.max(v + n, lo) : Math.min(v, hi));
  const s = kind === "all" || kind === "from_start" ? (step < 0 ? hi : lo) : clamp(start);
  const e = kind === "all" || kind === "to_end" ? (step < 0 ? lo : hi) : clamp(stop);
  const count = step > 0 ? Math.max(0, Math.ceil((e - s) / step)) : Math.max(0, Math.ceil((s - e) / -step));
  return [s, count];
}

export function sliceOp([x], w, cfg) {
  const r = x.shape.length;
  if (cfg.kinds.length !== r) throw new InputError(`Slice of ${cfg.kinds.length} axes given a rank-${r} tensor`);
  const st = strides(x.shape);
  const first = [];
  const counts = [];
  const steps = [];
  const outShape = [];
  for (let a = 0; a < r; a++) {
    const n = x.shape[a];
    if (cfg.kinds[a] === "index") {
      const i = cfg.starts[a];
      if (i < -n || i >= n) throw new InputError(`Slice index ${i} is out of range for axis ${a} of size ${n}`);
      first.push(i < 0 ? i + n : i);
      counts.push(1);
      steps.push(1);
    } else {
      const [s, c] = indices(cfg.kinds[a], cfg.starts[a], cfg.stops[a], cfg.steps[a], n);
      first.push(s);
      counts.push(c);
      steps.push(cfg.steps[a]);
      outShape.push(c);
    }
  }
  const out = zeros(outShape, x.dtype);
  const total = size(counts);
  if (!total) return [out];
  const idx = new Array(r).fill(0);
  let off = 0;
  for (let a = 0; a < r; a++) off += first[a] * st[a];
  for (let o = 0; o < total; o++) {
    out.data[o] = x.data[off];
    let a = r - 1;
    while (a >= 0) {
      idx[a]++;
      off += steps[a] * st[a];
      if (idx[a] < counts[a]) break;
      off -= steps[a] * st[a] * counts[a];
      idx[a] = 0;
      a--;
    }
  }
  return [out];
}

export function squeezeOp([x], w, cfg) {
  const r = x.shape.length;
  const axes = cfg.axes.map((a) => normAxis(a, r));
  for (const a of axes) if (x.shape[a] !== 1) throw new InputError(`Squeeze axis ${a} of shape [${x.shape}] is not of size 1`);
  return [reshape(x, x.shape.filter((_, i) => !axes.includes(i)))];
}

export function stackOp(xs, w, cfg) {
  const s = xs[0].shape;
  for (const t of xs) if (t.shape.length !== s.length || t.shape.some((d, i) => d !== s[i])) throw new InputError("Stack of different shapes");
  const ax = normAxis(cfg.axis, s.length + 1);
  const outer = size(s.slice(0, ax));
  const inner = size(s.slice(ax));
  const out = zeros([...s.slice(0, ax), xs.length, ...s.slice(ax)], xs[0].dtype);
  for (let o = 0; o < outer; o++) {
    xs.forEach((t, k) => out.data.set(t.data.subarray(o * inner, (o + 1) * inner), (o * xs.length + k) * inner));
  }
  return [out];
}

export function reduceOp([x], w, cfg) {
  const r = x.shape.length;
  const axes = cfg.axes.map((a) => normAxis(a, r));
  const rest = [];
  for (let i = 0; i < r; i++) if (!axes.includes(i)) rest.push(i);
  const n = size(axes.map((a) => x.shape[a]));
  if ((cfg.fn === "max" || cfg.fn === "min") && n === 0) throw new InputError(`Reduce ${cfg.fn} over an empty axis`);
  const moved = transpose(x, rest.concat(axes));
  const kept = rest.map((i) => x.shape[i]);
  const bool = cfg.fn === "any" || cfg.fn === "all";
  const out = zeros(kept, bool ? "bool" : x.dtype);
  const [init, fn] = REDUCE[cfg.fn];
  const d = moved.data;
  for (let o = 0; o < out.data.length; o++) {
    let acc = init;
    for (let j = 0; j < n; j++) acc = fn(acc, d[o * n + j]);
    out.data[o] = cfg.fn === "mean" ? acc / n : acc;
  }
  return [cfg.keepdims ? reshape(out, x.shape.map((s, i) => (axes.includes(i) ? 1 : s))) : out];
}

function swapLast(t) {
  const r = t.shape.length;
  const perm = [...Array(r).keys()];
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return transpose(t, perm);
}

export function matmulOp([a0, b0], w, cfg) {
  const a = cfg.transpose_a ? swapLast(a0) : a0;
  const b = cfg.transpose_b ? swapLast(b0) : b0;
  const [M, K] = a.shape.slice(-2);
  const [K2, N] = b.shape.slice(-2);
  if (K !== K2) throw new InputError(`MatMul of shapes [${a.shape}] and [${b.shape}]`);
  const lead = broadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const out = zeros([...lead, M, N]);
  const L = size(lead);
  const ia = leadIndex(a.shape.slice(0, -2), lead);
  const ib = leadIndex(b.shape.slice(0, -2), lead);
  for (let l = 0; l < L; l++) {
    const pa = ia[l] * M * K;
    const pb = ib[l] * K * N;
    const po = l * M * N;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc += a.data[pa + i * K + k] * b.data[pb + k * N + j];
        out.data[po + i * N + j] = acc;
      }
    }
  }
  return [out];
}

/** For each position of the broadcast leading shape, the flat index into ``shape``'s leading block. */
function leadIndex(shape, lead) {
  const L = size(lead);
  const probe = new Tensor(Float32Array.from({ length: size(shape) }, (_, i) => i), shape);
  const spread = bcast(probe, zeros(lead), (p) => p);
  return L ? Array.from(spread.data) : [];
}

export function castOp([x], w, cfg) {
  const out = zeros(x.shape, cfg.dtype);
  const d = out.data;
  if (cfg.dtype === "bool") for (let i = 0; i < d.length; i++) d[i] = x.data[i] !== 0 ? 1 : 0;
  else if (cfg.dtype === "int32") for (let i = 0; i < d.length; i++) d[i] = Math.trunc(x.data[i]);
  else d.set(x.data);
  return [out];
}

const FNS = { Binary: BINARY, Compare: COMPARE, Unary: UNARY, Reduce: REDUCE };
const DTYPES = ["float32", "int32", "bool"];
const KINDS = ["index", "all", "from_start", "to_end", "range"];
const ints = (v) => Array.isArray(v) && v.every(Number.isInteger);

/** Load-time checks of these ops' configs (checks.js calls it); ``need(cond, what)`` throws. */
export function checkTensorOp(op, cfg, need) {
  if (op in FNS) need(Object.hasOwn(FNS[op], cfg.fn), `unknown ${op} fn ${JSON.stringify(cfg.fn)}`);
  if (op === "Binary" || op === "Compare") need(cfg.scalar === undefined || Number.isFinite(cfg.scalar), "scalar must be a number");
  if (op === "Reduce") need(ints(cfg.axes) && cfg.axes.length > 0, "Reduce axes must be integers");
  if (op === "Squeeze") need(ints(cfg.axes), "Squeeze axes must be integers");
  if (op === "Stack") need(Number.isInteger(cfg.axis), "Stack axis must be an integer");
  if (op === "Cast") need(DTYPES.includes(cfg.dtype), "Cast dtype must be float32, int32 or bool");
  if (op === "Slice") {
    const n = Array.isArray(cfg.kinds) ? cfg.kinds.length : -1;
    need(n >= 0 && cfg.kinds.every((k) => KINDS.includes(k)), "Slice kinds must be index/all/from_start/to_end/range");
    need([cfg.starts, cfg.stops, cfg.steps].every((v) => ints(v) && v.length === n), "Slice starts/stops/steps need one integer per axis");
    need(cfg.steps.every((s) => s !== 0), "Slice steps must not be 0");
  }
}

export const TENSOR_OPS = {
  Slice: sliceOp,
  Squeeze: squeezeOp,
  Stack: stackOp,
  Binary: binaryOp,
  Compare: compareOp,
  Unary: unaryOp,
  Reduce: reduceOp,
  MatMul: matmulOp,
  Cast: castOp,
};
