// Pre-run sizes (runtime/estimate.py): before a node runs, the elements its outputs (and its
// largest temporary) will hold, from its real input shapes and config -- so a bundle whose
// node declares less than its config makes (a null, a lower rank) is refused with a
// ResourceError before it allocates, never a RangeError or an out-of-memory crash.
// Only the format 1.3 ops whose output can outgrow their inputs have a rule here. It imports no
// op module (those load by family, on demand): the equation forms and the transposed length
// are restated here, and an equation they do not match is left to the op to name.

// EinsumDense's three forms (ops/attn.js checks the letters): [x, w, y, ellipsis]
const FORMS = [
  [/^([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)$/, null],
  [/^\.\.\.([a-zA-Z]+),([a-zA-Z]+)->\.\.\.([a-zA-Z]+)$/, "left"],
  [/^([a-zA-Z]{2,})\.\.\.,([a-zA-Z]+)->([a-zA-Z]+)\.\.\.$/, "right"],
];

function parseEquation(eq) {
  for (const [re, ellipsis] of FORMS) {
    const m = typeof eq === "string" && eq.length <= 128 ? re.exec(eq) : null;
    if (m) return { x: m[1], w: m[2], y: m[3], ellipsis };
  }
  throw new Error("not an equation"); // caught below: the op names it
}

// ops/convnd.js transposeLength
function transposeLength(n, k, s, d, padding, outputPadding) {
  const span = (k - 1) * d + 1;
  return (n - 1) * s + (padding === "valid" ? span : span % 2) + outputPadding;
}

const prod = (s) => s.reduce((a, b) => a * Math.max(b, 0), 1);

function broadcast(shapes) {
  const n = Math.max(...shapes.map((s) => s.length));
  const out = [];
  for (let i = 0; i < n; i++) {
    let d = 1;
    for (const s of shapes) {
      const v = s.length - n + i >= 0 ? s[s.length - n + i] : 1;
      if (v !== 1 && d !== 1 && v !== d) return null; // the op names the shapes
      if (v !== 1) d = v;
    }
    out.push(d);
  }
  return out;
}

function matmul([a, b], c) {
  if (!b || a.length < 2 || b.length < 2) return null;
  const lead = broadcast([a.slice(0, -2), b.slice(0, -2)]);
  return lead && [...lead, c.transpose_a ? a[a.length - 1] : a[a.length - 2], c.transpose_b ? b[b.length - 2] : b[b.length - 1]];
}

function stack(ins, c) {
  const s = [...ins[0]];
  const n = s.length + 1;
  s.splice((((c.axis | 0) % n) + n) % n, 0, ins.length);
  return s;
}

const encoded = (key) => ([x], c) => {
  if (c.output_mode === "int") return null;
  const depth = c[key];
  if (c.output_mode === "one_hot") return [...(x.length > 1 && x[x.length - 1] === 1 ? x.slice(0, -1) : x), depth];
  return [...x.slice(0, -1), depth];
};

function vectorized([x], c) {
  if (c.output_mode !== "int") return [x[0], c.depth];
  return c.output_sequence_length === null || c.output_sequence_length === undefined ? null : [x[0], c.output_sequence_length];
}

function einsum([x], c, w) {
  const eq = parseEquation(c.equation);
  const n = x.length - eq.x.length;
  if (n < 0 || (eq.ellipsis === null && n) || !w.kernel) return null;
  const off = eq.ellipsis === "left" ? n : 0;
  const size = {};
  [...eq.w].forEach((ch, i) => (size[ch] = w.kernel.shape[i]));
  [...eq.x].forEach((ch, i) => (size[ch] = x[off + i]));
  const y = [...eq.y].map((ch) => size[ch]);
  if (eq.ellipsis === "left") return [...x.slice(0, n), ...y];
  if (eq.ellipsis === "right") return [...y, ...x.slice(eq.x.length)];
  return y;
}

function scores([q, k], c) {
  const axes = c.attention_axes || [];
  const batch = [0, ...q.slice(1, -2).map((_, i) => i + 1).filter((i) => !axes.includes(i))];
  return [...batch.map((i) => q[i]), q[q.length - 2], ...axes.map((a) => q[a]), ...axes.map((a) => k[a])];
}

function attention(ins, c) {
  const [q, k, v] = ins;
  const s = scores(ins, c);
  // the scores before their softmax; grouped heads: the keys and values the NumPy runtime repeats
  // to N heads (counted here too, so both runtimes refuse the same calls)
  const repeated = q[q.length - 2] !== k[k.length - 2] ? [prod(k.slice(0, -2)) * q[q.length - 2] * (k[k.length - 1] + v[v.length - 1])] : null;
  return [[...q.slice(0, -1), v[v.length - 1]], s, s, repeated];
}

// 2-D and N-D spatial ops: the spatial axes after the batch (channels_last) or the channels.
const spatial = (c, n) => Array.from({ length: n }, (_, i) => i + (c.data_format === "channels_first" ? 2 : 1));
const withAxes = (x, axes, sizes) => {
  const s = [...x];
  axes.forEach((a, i) => (s[a] = sizes[i]));
  return s;
};

function resize([x], c) {
  const [ah, aw] = spatial(c, 2);
  const [th, tw] = c.output_size || [x[ah] * c.factor[0], x[aw] * c.factor[1]];
  const out = withAxes(x, [ah, aw], [th, tw]);
  if (c.aspect !== "pad" || !c.output_size) return [out];
  const [h, w] = [x[ah], x[aw]];
  const top = Math.floor((Math.max(h, Math.floor((w * th) / tw)) - h) / 2);
  const left = Math.floor((Math.max(w, Math.floor((h * tw) / th)) - w) / 2);
  return [out, withAxes(x, [ah, aw], [h + 2 * top, w + 2 * left])]; // padded before the resize
}

function convTranspose([x], c) {
  const n = c.strides.length;
  const axes = spatial(c, n);
  const sizes = axes.map((a, i) => transposeLength(x[a], c.kernel_size[i], c.strides[i], c.dilation_rate[i], c.padding, c.output_padding[i]));
  const s = withAxes(x, axes, sizes);
  s[c.data_format === "channels_first" ? 1 : s.length - 1] = c.filters;
  return s;
}

const one = (f) => (ins, c, w) => [f(ins, c, w)];
// op -> (input shapes, config, weights) -> [shape of each output or temporary, or null]
const RULES = {
  Binary: one(broadcast),
  Compare: one(broadcast),
  MatMul: one(matmul),
  Stack: one(stack),
  CategoryEncoding: one(encoded("num_tokens")),
  Hashing: one(encoded("num_bins")),
  Lookup: one(encoded("depth")),
  TextVectorization: one(vectorized),
  EinsumDense: one(einsum),
  DotProductAttention: attention,
  Resize2D: resize,
  CenterCrop: one(([x], c) => withAxes(x, spatial(c, 2), [c.height, c.width])),
  ConvTranspose: one(convTranspose),
  UpSampling3D: one(([x], c) => withAxes(x, spatial(c, 3), spatial(c, 3).map((a, i) => x[a] * c.size[i]))),
  AdaptivePool: one(([x], c) => withAxes(x, spatial(c, c.output_size.length), c.output_size)),
  ZeroPadding: one(([x], c) => withAxes(x, spatial(c, c.padding.length), spatial(c, c.padding.length).map((a, i) => x[a] + c.padding[i][0] + c.padding[i][1]))),
};

/** Elements ``node`` will hold on inputs of ``shapes`` by its rule, or 0 when it has none. */
export function aheadElements(node, shapes) {
  const rule = RULES[node.op];
  if (!rule || !shapes.length) return 0;
  let sizes;
  try {
    sizes = rule(shapes.map((s) => s.map((d) => Math.max(d, 0))), node.config, node.weights);
  } catch {
    return 0; // a config the op itself will name
  }
  return sizes.reduce((t, s) => t + (Array.isArray(s) && s.every(Number.isFinite) ? prod(s) : 0), 0);
}
