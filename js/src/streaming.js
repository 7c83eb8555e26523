// Which models stream, chunk by chunk (runtime/streaming.py): every tensor gets a kind --
// timed (time at axis 1), running (no time axis, depends on the stream so far), folded
// (TimeDistributed's batch*time) or static (depends on no streamed input).

import { RECURRENT_STATE_COUNT } from "./ops/index.js";
import { textStepLocal } from "./ops/text.js";

export const TIMED = "timed";
export const RUNNING = "running";
export const FOLDED = "folded";
export const STATIC = "static";

const STEP_LOCAL_OPS = new Set([
  "Dense",
  "Activation",
  "Embedding",
  "NotEqualMask",
  "Masking",
  "LogicalAnd",
  "LogicalOr",
  "FillLike",
  "ZeroMasked",
  "MaskedMerge",
]);

const mod = (a, n) => ((a % n) + n) % n;

function axisActivationTouchesTime(spec, rank) {
  if (!spec || !["softmax", "log_softmax", "sparsemax", "glu"].includes(spec.type)) return false;
  const axes = spec.axis === undefined ? [-1] : Array.isArray(spec.axis) ? spec.axis : [spec.axis];
  return axes.some((a) => mod(a, rank) < 2);
}

function stepLocal(node, rank) {
  const { op, config: cfg } = node;
  if (op === "Dense" || op === "Activation") return !axisActivationTouchesTime(cfg.activation, rank);
  if (STEP_LOCAL_OPS.has(op)) return true;
  if (textStepLocal(op, cfg, rank)) return true;
  if (op === "Merge") return !(cfg.mode === "concat" && mod(cfg.axis === undefined ? -1 : cfg.axis, rank) === 1);
  if (op === "ReduceAny") return mod(cfg.axis, rank) >= 2;
  if (op === "ExpandDims") return mod(cfg.axis, rank + 1) >= 2;
  if (op === "BatchNormalization" || op === "LayerNormalization") {
    const axes = Array.isArray(cfg.axis) ? cfg.axis : [cfg.axis];
    return axes.every((a) => Number.isInteger(a) && mod(a, rank) >= 2);
  }
  if (op === "PReLU") {
    const a = node.weights.alpha;
    return !!a && a.shape.length === rank - 1 && a.shape[0] === 1;
  }
  return false;
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
