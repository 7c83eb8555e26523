// EinsumDense and DotProductAttention (MultiHeadAttention / GroupQueryAttention), ops/attn.py.

import { FormatError, InputError } from "../errors.js";
import { Tensor, reshape, transpose } from "../tensor.js";
import { activationFn } from "./activations.js";

const f32 = Math.fround;
const MAX_EQUATION = 128;
const FORMS = [
  [/^([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)$/, null],
  [/^\.\.\.([a-zA-Z]+),([a-zA-Z]+)->\.\.\.([a-zA-Z]+)$/, "left"],
  [/^([a-zA-Z]{2,})\.\.\.,([a-zA-Z]+)->([a-zA-Z]+)\.\.\.$/, "right"],
];

/** The equation checked against the grammar of spec/attn.py: {x, w, y, ellipsis}. */
export function parseEquation(eq) {
  if (typeof eq !== "string" || eq.length > MAX_EQUATION) {
    throw new FormatError(`EinsumDense: an equation is a string of at most ${MAX_EQUATION} characters`);
  }
  for (const [re, ellipsis] of FORMS) {
    const m = re.exec(eq);
    if (!m) continue;
    const [, x, w, y] = m;
    for (const t of [x, w, y]) {
      if (new Set(t).size !== t.length) throw new FormatError(`EinsumDense equation '${eq}': a letter repeats in '${t}'`);
    }
    for (const c of y) if (!x.includes(c) && !w.includes(c)) throw new FormatError(`EinsumDense equation '${eq}': output letter '${c}' comes from nowhere`);
    for (const c of w) if (!x.includes(c) && !y.includes(c)) throw new FormatError(`EinsumDense equation '${eq}': kernel letter '${c}' is unbound`);
    return { x, w, y, ellipsis };
  }
  throw new FormatError(`EinsumDense equation '${eq}' is not of the form 'ab,bc->ac', '...b,bc->...c' or 'ab...,bc->ac...'`);
}

function einsum(eq, x, k) {
  const n = x.shape.length - eq.x.length;
  if (n < 0 || (eq.ellipsis === null && n)) throw new InputError(`EinsumDense: input of shape [${x.shape}] has the wrong rank`);
  let xs = eq.x;
  let ys = eq.y;
  const ell = Array.from({ length: n }, (_, i) => String.fromCharCode(0x100 + i)).join("");
  if (eq.ellipsis === "left") [xs, ys] = [ell + xs, ell + ys];
  else if (eq.ellipsis === "right") [xs, ys] = [xs + ell, ys + ell];
  const sizes = new Map();
  [...xs].forEach((c, i) => sizes.set(c, x.shape[i]));
  [...eq.w].forEach((c, i) => {
    if (sizes.has(c) && sizes.get(c) !== k.shape[i]) throw new InputError(`EinsumDense: input axis '${c}' has ${sizes.get(c)} entries, the kernel ${k.shape[i]}`);
    sizes.set(c, k.shape[i]);
  });
  const sums = [...sizes.keys()].filter((c) => !ys.includes(c));
  const order = [...ys, ...sums];
  const dims = order.map((c) => sizes.get(c));
  const strideOf = (term, shape) => {
    const st = new Map();
    let s = 1;
    for (let i = term.length - 1; i >= 0; i--) {
      st.set(term[i], s);
      s *= shape[i];
    }
    return order.map((c) => st.get(c) || 0);
  };
  const outShape = [...ys].map((c) => sizes.get(c));
  const sx = strideOf(xs, x.shape);
  const sw = strideOf(eq.w, k.shape);
  const so = strideOf(ys, outShape);
  const out = new Float64Array(outShape.reduce((a, b) => a * b, 1));
  const total = dims.reduce((a, b) => a * b, 1);
  const idx = new Array(order.length).fill(0);
  let xo = 0;
  let wo = 0;
  let oo = 0;
  for (let it = 0; it < total; it++) {
    out[oo] += x.data[xo] * k.data[wo];
    for (let a = order.length - 1; a >= 0; a--) {
      idx[a]++;
      xo += sx[a];
      wo += sw[a];
      oo += so[a];
      if (idx[a] < dims[a]) break;
      xo -= sx[a] * dims[a];
      wo -= sw[a] * dims[a];
      oo -= so[a] * dims[a];
      idx[a] = 0;
    }
  }
  return new Tensor(Float32Array.from(out), outShape);
}

export function einsumDense([x], w, cfg) {
  const eq = parseEquation(cfg.equation);
  if (w.kernel.shape.length !== eq.w.length) throw new FormatError(`EinsumDense kernel has ${w.kernel.shape.length} axes, the equation names ${eq.w.length}`);
  const y = einsum(eq, x, w.kernel);
  if (w.bias) {
    const b = w.bias;
    const r = y.shape.length;
    const nb = b.shape.length;
    if (nb > r || b.shape.some((d, i) => d !== 1 && d !== y.shape[r - nb + i])) {
      throw new FormatError(`EinsumDense bias of shape [${b.shape}] does not broadcast to the output [${y.shape}]`);
    }
    const tail = y.shape.slice(r - nb);
    const tailSize = tail.reduce((a, c) => a * c, 1);
    const bStr = [];
    let s = 1;
    for (let i = nb - 1; i >= 0; i--) {
      bStr[i] = b.shape[i] === 1 ? 0 : s;
      s *= b.shape[i];
    }
    for (let t = 0; t < tailSize; t++) {
      let rem = t;
      let bo = 0;
      for (let i = nb - 1; i >= 0; i--) {
        bo += (rem % tail[i]) * bStr[i];
        rem = Math.floor(rem / tail[i]);
      }
      for (let o = t; o < y.data.length; o += tailSize) y.data[o] = f32(y.data[o] + b.data[bo]);
    }
  }
  return [activationFn(cfg.activation)(y)];
}

/** (B, d1..dk, N, H) -> {t: (nb, N, A, H), bdims, perm}: the attention axes flattened into A. */
function toHeads(t, axes) {
  const k = t.shape.length - 3;
  const batch = [0];
  for (let i = 1; i <= k; i++) if (!axes.includes(i)) batch.push(i);
  const perm = [...batch, k + 1, ...axes, k + 2];
  const bdims = batch.map((i) => t.shape[i]);
  const nAtt = axes.reduce((a, i) => a * t.shape[i], 1);
  const nb = bdims.reduce((a, c) => a * c, 1);
  return { t: reshape(transpose(t, perm), [nb, t.shape[k + 1], nAtt, t.shape[k + 2]]), bdims, perm };
}

/** inputs: query, key, value, then the named masks cfg.__masks lists, in that order. */
export function dotProductAttention(inputs, w, cfg) {
  const [query, key, value, ...rest] = inputs;
  const names = cfg.__masks || [];
  const masks = Object.fromEntries(names.map((n, i) => [n, rest[i]]));
  const axes = cfg.attention_axes;
  const k = query.shape.length - 3;
  if (k < 1 || key.shape.length !== query.shape.length || value.shape.length !== query.shape.length || axes.some((a) => a > k)) {
    throw new InputError(`DotProductAttention: query [${query.shape}], key [${key.shape}], value [${value.shape}], axes [${axes}]`);
  }
  if (new Set(axes).size !== axes.length) throw new FormatError(`DotProductAttention attention_axes [${axes}] repeat an axis`);
  const masked = names.length > 0 || cfg.causal || cfg.window !== undefined;
  if (masked && (k !== 1 || axes.length !== 1 || axes[0] !== 1)) {
    throw new FormatError("DotProductAttention: masks, causal and window need (B, T, N, H) inputs attending over T");
  }
  if (!["add", "where", "where_zero"].includes(cfg.masking)) throw new FormatError(`DotProductAttention masking '${cfg.masking}'`);
  const Q = toHeads(query, axes);
  const K = toHeads(key, axes);
  const V = toHeads(value, axes);
  const [nb, N, T, H] = Q.t.shape;
  const [nbk, M, S, Hk] = K.t.shape;
  const Hv = V.t.shape[3];
  if (nbk !== nb || Hk !== H || V.t.shape[0] !== nb || V.t.shape[1] !== M || V.t.shape[2] !== S || N % M) {
    throw new InputError(`DotProductAttention: query [${query.shape}], key [${key.shape}], value [${value.shape}] do not fit`);
  }
  const rep = N / M;
  const scale = f32(cfg.scale);
  const fill = f32(cfg.fill);
  const q = Q.t.data;
  const kd = K.t.data;
  const vd = V.t.data;
  const qm = masks.query_mask ? masks.query_mask.data : null;
  const vm = masks.value_mask ? masks.value_mask.data : null;
  const km = masks.key_mask ? masks.key_mask.data : null;
  const am = masks.attention_mask ? masks.attention_mask.data : null;
  const p = new Float32Array(nb * N * T * S);
  const y = new Float32Array(nb * N * T * Hv);
  const s = new Float32Array(S);
  const keep = new Uint8Array(S);
  for (let b = 0; b < nb; b++) {
    for (let h = 0; h < N; h++) {
      const hk = Math.floor(h / rep);
      for (let i = 0; i < T; i++) {
        const qo = ((b * N + h) * T + i) * H;
        for (let j = 0; j < S; j++) {
          const ko = ((b * M + hk) * S + j) * H;
          let acc = 0;
          if (cfg.scale_query) for (let d = 0; d < H; d++) acc += f32(q[qo + d] * scale) * kd[ko + d];
          else {
            for (let d = 0; d < H; d++) acc += q[qo + d] * kd[ko + d];
            acc = f32(acc) * scale;
          }
          let kp = true;
          if (qm && qm[b * T + i] === 0) kp = false;
          if (vm && vm[b * S + j] === 0) kp = false;
          if (km && km[b * S + j] === 0) kp = false;
          if (am && am[(b * T + i) * S + j] === 0) kp = false;
          if (cfg.causal && j > i) kp = false;
          if (cfg.window !== undefined && Math.abs(i - j) >= cfg.window) kp = false;
          keep[j] = kp ? 1 : 0;
          acc = f32(acc);
          s[j] = kp || !masked ? acc : cfg.masking === "add" ? f32(acc + fill) : fill;
        }
        let mx = -Infinity;
        for (let j = 0; j < S; j++) if (s[j] > mx) mx = s[j];
        let sum = 0;
        for (let j = 0; j < S; j++) {
          s[j] = f32(Math.exp(f32(s[j] - mx)));
          sum += s[j];
        }
        sum = f32(sum);
        const po = ((b * N + h) * T + i) * S;
        for (let j = 0; j < S; j++) {
          p[po + j] = masked && cfg.masking === "where_zero" && !keep[j] ? 0 : s[j] / sum;
        }
        const yo = ((b * N + h) * T + i) * Hv;
        for (let j = 0; j < S; j++) {
          const pj = p[po + j];
          if (!pj) continue;
          const vo = ((b * M + hk) * S + j) * Hv;
          for (let d = 0; d < Hv; d++) y[yo + d] += pj * vd[vo + d];
        }
      }
    }
  }
  const tDims = axes.map((a) => query.shape[a]);
  const sDims = axes.map((a) => key.shape[a]);
  const inv = new Array(Q.perm.length);
  Q.perm.forEach((p0, i) => {
    inv[p0] = i;
  });
  const yT = transpose(new Tensor(y, [...Q.bdims, N, ...tDims, Hv]), inv);
  return [yT, new Tensor(p, [...Q.bdims, N, ...tDims, ...sDims])];
}
