// Which models stream, chunk by chunk (runtime/streaming.py): every tensor gets a kind --
// timed (time at axis 1), running (no time axis, depends on the stream so far), folded
// (TimeDistributed's batch*time) or static (depends on no streamed input).

import { RECURRENT_STATE_COUNT, loadedModule } from "./ops/index.js";

export const TIMED = "timed";
export const RUNNING = "running";
export const FOLDED = "folded";
export const STATIC = "static";

const mod = (a, n) => ((a % n) + n) % n;

function axisActivationTouchesTime(spec, rank) {
  if (!spec || !["softmax", "log_softmax", "sparsemax", "glu"].includes(spec.type)) return false;
  const axes = spec.axis === undefined ? [-1] : Array.isArray(spec.axis) ? spec.axis : [spec.axis];
  return axes.some((a) => mod(a, rank) < 2);
}

const always = () => true;
const axesOff = (axes, rank) => axes.every((a) => Number.isInteger(a) && mod(a, rank) >= 2);

/** The ops that may run on a chunk of timesteps: op -> (config, rank of input 0, node) -> whether it
 * is per-step there -- the per_step time rules of runtime/spec (every other op looks at more than one
 * timestep, except recurrent and fold/unfold ops, which the planner handles itself). Kept equal to the
 * NumPy runtime's rules by tests/test_js_runtime.py, which compares the two plans on every zoo model. */
const PER_STEP = {
  Dense: (cfg, rank) => !axisActivationTouchesTime(cfg.activation, rank),
  Activation: (cfg, rank) => !axisActivationTouchesTime(cfg.activation, rank),
  Embedding: always,
  NotEqualMask: always,
  Masking: always,
  LogicalAnd: always,
  LogicalOr: always,
  FillLike: always,
  ZeroMasked: always,
  MaskedMerge: always,
  Merge: (cfg, rank) => !(cfg.mode === "concat" && mod(cfg.axis === undefined ? -1 : cfg.axis, rank) === 1),
  ReduceAny: (cfg, rank) => mod(cfg.axis, rank) >= 2,
  ExpandDims: (cfg, rank) => mod(cfg.axis, rank + 1) >= 2,
  BatchNormalization: (cfg, rank) => axesOff(Array.isArray(cfg.axis) ? cfg.axis : [cfg.axis], rank),
  LayerNormalization: (cfg, rank) => axesOff(Array.isArray(cfg.axis) ? cfg.axis : [cfg.axis], rank),
  PReLU: (cfg, rank, node) => {
    const a = node.weights.alpha;
    return !!a && a.shape.length === rank - 1 && a.shape[0] === 1;
  },
  // format 1.3
  Binary: always,
  Compare: always,
  Unary: always,
  Cast: always,
  Reduce: (cfg, rank) => rank <= 1 || !cfg.axes.some((a) => mod(a, rank) === 1),
  Squeeze: (cfg, rank) => rank <= 1 || !cfg.axes.some((a) => mod(a, rank) === 1),
  Stack: (cfg, rank) => mod(cfg.axis, rank + 1) >= 2,
  Slice: (cfg, rank) => rank < 2 || cfg.kinds.length < 2 || (cfg.kinds[1] === "all" && cfg.steps[1] === 1),
  Rescaling: (cfg, rank) =>
    [cfg.scale_shape, cfg.offset_shape].every((shape) => !(rank >= 2 && shape.length >= rank - 1 && shape[shape.length - (rank - 1)] !== 1)),
  EinsumDense: (cfg, rank) => rank >= 3 && einsumKeepsAxis(cfg.equation, 0, rank) === 0 && einsumKeepsAxis(cfg.equation, 1, rank) === 1 && !axisActivationTouchesTime(cfg.activation, rank),
  Threshold: always,
  RMSNormalization: (cfg, rank) => axesOff(cfg.axis, rank),
  UnitNormalization: (cfg, rank) => axesOff(cfg.axis, rank),
  Normalization: (cfg, rank) => axesOff(cfg.axis, rank),
  Discretization: always,
  Lookup: (cfg, rank) => cfg.output_mode === "int" || rank >= 3,
  CategoryEncoding: (cfg, rank) => cfg.output_mode === "int" || rank >= 3,
  Hashing: (cfg, rank) => cfg.output_mode === "int" || rank >= 3,
};

/** Where axis ``axis`` of a rank-``rank`` EinsumDense input lands in its output when it is carried
 * through (not contracted with the kernel), else null (spec/attn.py's x_axis_to_y). */
function einsumKeepsAxis(equation, axis, rank) {
  let eq;
  try {
    eq = loadedModule("attn").parseEquation(equation); // loaded: the model has an EinsumDense
  } catch {
    return null;
  }
  const nEll = rank - eq.x.length;
  if (eq.ellipsis === "left") {
    if (axis < nEll) return axis;
    const letter = eq.x[axis - nEll];
    const pos = eq.y.indexOf(letter);
    return pos < 0 || eq.w.includes(letter) ? null : nEll + pos;
  }
  if (eq.ellipsis === "right" && axis >= eq.x.length) return eq.y.length + axis - eq.x.length;
  const letter = axis < eq.x.length ? eq.x[axis] : "";
  const pos = letter ? eq.y.indexOf(letter) : -1;
  return pos < 0 || eq.w.includes(letter) ? null : pos;
}

function stepLocal(node, rank) {
  const rule = PER_STEP[node.op];
  return rule !== undefined && rule(node.config, rank, node);
}

function join(kinds) {
  if (kinds.has(FOLDED)) return kinds.has(RUNNING) ? null : FOLDED;
  return kinds.has(RUNNING) ? RUNNING : STATIC;
}

/** {error, timedInputs, outputKinds, streamNodes}. */
export function planStream(inputs, nodes, outputRefs) {
  const key = (r) => `${r[0]}\u0000${r[1]}`;
  const rank = new Map();
  for (const i of inputs) rank.set(key([i.name, 0]), i.shape.length);
  for (const n of nodes) n.outShapes.forEach((s, k) => rank.set(key([n.name, k]), s.length));
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const feeds = new Set();
  const todo = [];
  for (const n of nodes) if (n.op in RECURRENT_STATE_COUNT) todo.push(n.inputs[0], ...(n.mask ? [n.mask] : []));
  while (todo.length) {
    const name = todo.pop()[0];
    if (feeds.has(name)) continue;
    feeds.add(name);
    const p = byName.get(name);
    if (p) todo.push(...p.allInputs, ...(p.mask ? [p.mask] : []));
  }
  const plan = { error: null, timedInputs: [], outputKinds: [], streamNodes: [] };
  const kind = new Map();
  for (const info of inputs) {
    const r = info.shape.length;
    const timed = r >= 3 || (r === 2 && (info.shape[1] === null || feeds.has(info.name)));
    kind.set(key([info.name, 0]), timed ? TIMED : STATIC);
    if (timed) plan.timedInputs.push(info.name);
  }
  if (!plan.timedInputs.length) return { ...plan, error: "no input has a time axis" };
  const fail = (why) => ({ ...plan, error: why });
  for (const n of nodes) {
    const where = `node '${n.name}' (${n.op})`;
    const refs = [...n.allInputs, ...(n.mask ? [n.mask] : [])];
    const ins = new Set(refs.map((r) => kind.get(key(r))));
    const init = new Set(n.initialState.map((r) => kind.get(key(r))));
    let outs;
    if (!ins.has(TIMED)) {
      const out = join(new Set([...ins, ...init]));
      if (out === null) return fail(`${where} mixes per-step and whole-sequence values`);
      outs = new Array(n.nOutputs).fill(out);
    } else if (n.op in RECURRENT_STATE_COUNT) {
      if (kind.get(key(n.inputs[0])) !== TIMED || ins.size !== 1) return fail(`${where} reads a sequence and a mask that are not streamed alike`);
      if (n.config.go_backwards) return fail(`${where} runs backwards over time (e.g. the backward half of a Bidirectional layer)`);
      if ([...init].some((k) => k !== STATIC)) return fail(`${where} starts from states computed from a streamed sequence (an encoder's)`);
      plan.streamNodes.push(n.name);
      outs = [n.config.return_sequences ? TIMED : RUNNING, ...new Array(RECURRENT_STATE_COUNT[n.op]).fill(RUNNING)];
    } else if (n.op === "FoldTime") {
      outs = [FOLDED];
    } else if (n.op === "UnfoldTime") {
      if (kind.get(key(n.inputs[0])) !== FOLDED) return fail(`${where} unfolds a tensor that was not folded from the stream`);
      outs = [TIMED];
    } else if (stepLocal(n, rank.get(key(n.inputs[0])))) {
      if (ins.size !== 1) return fail(`${where} combines a streamed sequence with values that are not (${[...ins].sort()})`);
      outs = new Array(n.nOutputs).fill(TIMED);
    } else {
      return fail(`${where} looks at more than one timestep at once`);
    }
    outs.forEach((o, k) => kind.set(key([n.name, k]), o));
  }
  plan.outputKinds = outputRefs.map((r) => kind.get(key(r)));
  if (plan.outputKinds.includes(FOLDED)) return fail("a model output has its batch and time axes folded together");
  return plan;
}
