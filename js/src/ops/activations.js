// Activations by the bundle's spec {"type": NAME, ...params} (FORMAT.md, activations):
// the same table and formulas as rnnconvert/runtime/ops/activations.py.

import { FormatError } from "../errors.js";
import { Tensor, alongAxes } from "../tensor.js";
import { inWasmRange } from "./linalg.js";
import { current } from "./wasm.js";

const f32 = Math.fround;
const SELU_ALPHA = 1.6732632423543772848170429916717;
const SELU_SCALE = 1.0507009873554804934193349852946;

const sigmoid = (x) => 1 / (1 + Math.exp(-x));
const softplus = (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));

function erf(x) {
  // Abramowitz & Stegun 7.1.26, as the NumPy runtime: |error| < 1.5e-7
  const z = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * z);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return Math.sign(x) * (1 - poly * Math.exp(-z * z));
}

const clip = (v, lo, hi) => (v < lo ? lo : v > hi ? hi : v);

/** Element-wise activations: make(params) -> (x) => y. */
const ELEMENTWISE = {
  linear: () => null,
  tanh: () => Math.tanh,
  sigmoid: () => sigmoid,
  hard_sigmoid: ({ slope, offset }) => {
    const s = f32(slope);
    const o = f32(offset);
    return (x) => clip(f32(f32(x * s) + o), 0, 1);
  },
  relu: ({ negative_slope = 0, max_value = null, threshold = 0 }) => {
    const t = f32(threshold);
    const ns = f32(negative_slope);
    const mv = max_value === null || max_value === undefined ? null : f32(max_value);
    return (x) => {
      let out = t !== 0 ? (x > t ? x : 0) : Math.max(x, 0);
      if (mv !== null) out = clip(out, 0, mv);
      if (ns !== 0) out = f32(out - f32(ns * Math.max(f32(t - x), 0)));
      return out;
    };
  },
  relu6: () => (x) => clip(x, 0, 6),
  leaky_relu: ({ negative_slope }) => {
    const ns = f32(negative_slope);
    return (x) => (x >= 0 ? x : x * ns);
  },
  elu: ({ alpha = 1 }) => {
    const a = f32(alpha);
    return (x) => (x > 0 ? x : a * f32(Math.expm1(Math.min(x, 0))));
  },
  selu: () => (x) => f32(SELU_SCALE) * (x > 0 ? x : f32(SELU_ALPHA) * f32(Math.expm1(Math.min(x, 0)))),
  celu: ({ alpha = 1 }) => {
    const a = f32(alpha);
    return (x) => Math.max(x, 0) + Math.min(0, a * Math.expm1(Math.min(x, 0) / a));
  },
  gelu: ({ approximate = false }) => {
    if (approximate) {
      const c = f32(Math.sqrt(2 / Math.PI));
      return (x) => 0.5 * x * (1 + Math.tanh(c * (x + f32(0.044715) * x * x * x)));
    }
    const r2 = f32(Math.SQRT2);
    return (x) => 0.5 * x * (1 + erf(f32(x / r2)));
  },
  softplus: () => softplus,
  softsign: () => (x) => x / (1 + Math.abs(x)),
  swish: () => (x) => x * sigmoid(x),
  hard_swish: ({ slope, offset }) => {
    const s = f32(slope);
    const o = f32(offset);
    return (x) => x * clip(f32(f32(x * s) + o), 0, 1);
  },
  mish: () => (x) => x * Math.tanh(softplus(x)),
  exponential: () => Math.exp,
  log_sigmoid: () => (x) => -softplus(-x),
  hard_tanh: () => (x) => clip(x, -1, 1),
  tanh_shrink: () => (x) => x - Math.tanh(x),
  soft_shrink: ({ threshold = 0.5 }) => {
    const t = f32(threshold);
    return (x) => (x > t ? x - t : x < -t ? x + t : 0);
  },
  hard_shrink: ({ threshold = 0.5 }) => {
    const t = f32(threshold);
    return (x) => (Math.abs(x) > t ? x : 0);
  },
  sparse_plus: () => (x) => (x <= -1 ? 0 : x >= 1 ? x : 0.25 * (x + 1) * (x + 1)),
  sparse_sigmoid: () => (x) => clip(0.5 * (x + 1), 0, 1),
  squareplus: ({ b = 4 }) => {
    const bb = f32(b);
    return (x) => 0.5 * (x + Math.sqrt(x * x + bb));
  },
};

// Activations that mix values along an axis: f(rows, n, count) in place on contiguous rows.
function softmaxRows(d, n, count) {
  const k = current.kernels;
  if (k !== null && inWasmRange(n * count) && k.softmaxRows(d, n, count)) return;
  for (let r = 0; r < count; r++) {
    const o = r * n;
    let m = -Infinity;
    for (let j = 0; j < n; j++) if (d[o + j] > m) m = d[o + j];
    let s = 0;
    for (let j = 0; j < n; j++) {
      const e = f32(Math.exp(f32(d[o + j] - m)));
      d[o + j] = e;
      s += e;
    }
    s = f32(s);
    for (let j = 0; j < n; j++) d[o + j] = d[o + j] / s;
  }
}

function logSoftmaxRows(d, n, count) {
  for (let r = 0; r < count; r++) {
    const o = r * n;
    let m = -Infinity;
    for (let j = 0; j < n; j++) if (d[o + j] > m) m = d[o + j];
    let s = 0;
    for (let j = 0; j < n; j++) s += f32(Math.exp(f32(d[o + j] - m)));
    const ls = Math.log(f32(s));
    for (let j = 0; j < n; j++) d[o + j] = f32(d[o + j] - m) - ls;
  }
}

function sparsemaxRows(d, n, count) {
  // Keras 3's formula (see the NumPy runtime): tau from the sum of the cumulative sums over the support
  const s = new Float64Array(n);
  for (let r = 0; r < count; r++) {
    const o = r * n;
    for (let j = 0; j < n; j++) s[j] = d[o + j];
    s.sort((a, b) => b - a);
    let c = 0;
    let k = 0;
    let csum = 0;
    for (let j = 0; j < n; j++) {
      c = f32(c + s[j]);
      if (f32(s[j] - f32(f32(c - 1) / (j + 1))) > 0) {
        k++;
        csum += c;
      }
    }
    const tau = f32(f32(f32(csum) - 1) / k);
    for (let j = 0; j < n; j++) d[o + j] = Math.max(f32(d[o + j] - tau), 0);
  }
}

const AXIS = { softmax: softmaxRows, log_softmax: logSoftmaxRows, sparsemax: sparsemaxRows };

export const ACTIVATION_TYPES = [...Object.keys(ELEMENTWISE), ...Object.keys(AXIS), "glu"].sort();

const PARAMS = {
  hard_sigmoid: ["slope", "offset"],
  hard_swish: ["slope", "offset"],
  relu: ["negative_slope", "max_value", "threshold"],
  leaky_relu: ["negative_slope"],
  elu: ["alpha"],
  celu: ["alpha"],
  gelu: ["approximate"],
  soft_shrink: ["threshold"],
  hard_shrink: ["threshold"],
  squareplus: ["b"],
  softmax: ["axis"],
  log_softmax: ["axis"],
  sparsemax: ["axis"],
  glu: ["axis"],
};
const REQUIRED = { hard_sigmoid: ["slope", "offset"], hard_swish: ["slope", "offset"], leaky_relu: ["negative_slope"] };

/** Check an activation spec at load time; throws FormatError naming ``where``. */
export function checkActivation(spec, where) {
  if (!spec || typeof spec !== "object" || typeof spec.type !== "string" || !ACTIVATION_TYPES.includes(spec.type)) {
    throw new FormatError(`${where}: activation ${JSON.stringify(spec)} is not a known activation spec`);
  }
  const allowed = PARAMS[spec.type] || [];
  for (const [k, v] of Object.entries(spec)) {
    if (k === "type") continue;
    if (!allowed.includes(k)) throw new FormatError(`${where}: activation '${spec.type}' takes no parameter '${k}'`);
    const ok =
      k === "approximate"
        ? typeof v === "boolean"
        : k === "max_value"
          ? v === null || Number.isFinite(v)
          : k === "axis"
            ? Number.isInteger(v) || (Array.isArray(v) && v.length > 0 && v.every(Number.isInteger))
            : Number.isFinite(v);
    if (!ok) throw new FormatError(`${where}: activation parameter ${k}=${JSON.stringify(v)} has the wrong type`);
  }
  for (const k of REQUIRED[spec.type] || []) {
    if (!(k in spec)) throw new FormatError(`${where}: activation '${spec.type}' needs parameter '${k}'`);
  }
}

/** Whether the activation acts on each value alone (safe to apply to any slice). */
export function isElementwise(spec) {
  return !(spec.type in AXIS) && spec.type !== "glu";
}

/** The scalar function of an element-wise activation (null for linear). */
export function scalarFn(spec) {
  const make = ELEMENTWISE[spec.type];
  if (!make) throw new FormatError(`activation '${spec.type}' is not element-wise`);
  return make(spec);
}

/** Apply ``fn`` in place to data[start, end). */
export function applyInPlace(fn, data, start = 0, end = data.length) {
  if (fn === null) return;
  for (let i = start; i < end; i++) data[i] = fn(data[i]);
}

/** Bind a spec to a tensor function: (Tensor float32) -> Tensor (may reuse its input's buffer). */
export function activationFn(spec) {
  const kind = spec && spec.type;
  if (kind in ELEMENTWISE) {
    const fn = ELEMENTWISE[kind](spec);
    return (x) => {
      if (fn === null) return x;
      const out = new Float32Array(x.data.length);
      const s = x.data;
      for (let i = 0; i < s.length; i++) out[i] = fn(s[i]);
      return new Tensor(out, x.shape.slice());
    };
  }
  const axes = spec.axis === undefined ? [-1] : Array.isArray(spec.axis) ? spec.axis : [spec.axis];
  if (kind in AXIS) return (x) => alongAxes(x, axes, AXIS[kind]);
  if (kind === "glu") return (x) => glu(x, axes[0]);
  throw new FormatError(`unknown activation type ${JSON.stringify(kind)}; this runtime knows: ${ACTIVATION_TYPES}`);
}

function glu(x, axis) {
  const r = x.shape.length;
  const ax = axis < 0 ? axis + r : axis;
  const n = x.shape[ax];
  if (n % 2) throw new FormatError(`glu needs an even size on axis ${axis}, got ${n}`);
  const outShape = x.shape.slice();
  outShape[ax] = n / 2;
  let outer = 1;
  for (let i = 0; i < ax; i++) outer *= x.shape[i];
  let inner = 1;
  for (let i = ax + 1; i < r; i++) inner *= x.shape[i];
  const half = (n / 2) * inner;
  const out = new Float32Array(outer * half);
  const d = x.data;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < half; j++) out[o * half + j] = d[o * 2 * half + j] * sigmoid(d[o * 2 * half + half + j]);
  }
  return new Tensor(out, outShape);
}
