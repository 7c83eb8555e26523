// Load-time checks of each node's config and weights (runtime/checks.py): a malformed
// bundle fails at load with a FormatError naming the node, not deep inside predict.

import { FormatError } from "./errors.js";
import { checkActivation } from "./ops/activations.js";
import { loadedModule } from "./ops/index.js";

const GATES = { LSTM: 4, GRU: 3, SimpleRNN: 1 };
const BOOL_KEYS = new Set(["use_bias", "return_sequences", "go_backwards", "stateful", "zero_output_for_mask", "reset_after", "keepdims", "causal", "query_mask", "value_mask"]);
const INT_KEYS = new Set(["units", "input_dim", "output_dim", "filters", "strides", "dilation_rate", "pool_size", "size", "n", "left", "right"]);
const NUM_KEYS = new Set(["value", "mask_value"]);
// Ops whose strides / dilation_rate / pool_size are lists, one integer per spatial axis.
const LIST_INT_OPS = new Set(["ConvLSTM", "Conv2D", "Pool2D", "Conv3D", "ConvTranspose"]);
// Inputs each op takes (beyond these, a bundle is malformed): [min, max]
const ARITY = { Merge: [1, Infinity], LogicalAnd: [2, 2], LogicalOr: [2, 2], UnfoldTime: [2, 2], ZeroMasked: [2, 2], Dot: [2, 2], Attention: [3, 5], MaskedMerge: [1, Infinity], Binary: [1, 2], Compare: [1, 2], Stack: [1, Infinity], MatMul: [2, 2], DotProductAttention: [3, 7] };

const eq = (a, b) => a.length === b.length && a.every((d, i) => d === b[i]);

// The family checks below live in their op modules, loaded on demand (ops/index.js): a node's
// own family is loaded before its model is built, so an op's check is there when the op is.
const NO_POOL = { POOL_OPS: new Set(), checkPoolNode: () => {} };

export function checkNode(op, config, weights, where, nInputs, hasMask) {
  const { POOL_OPS, checkPoolNode } = loadedModule("pool") || NO_POOL;
  for (const [key, value] of Object.entries(config)) {
    if (key === "activation" || key === "recurrent_activation") checkActivation(value, `${where} ${key}`);
    else if (POOL_OPS.has(op)) continue; // checked as a whole by checkPoolNode below
    else if (BOOL_KEYS.has(key) && typeof value !== "boolean") throw new FormatError(`${where}: config ${key} must be true or false, got ${JSON.stringify(value)}`);
    else if (INT_KEYS.has(key) && LIST_INT_OPS.has(op) && (key === "strides" || key === "dilation_rate" || key === "pool_size")) {
      if (!Array.isArray(value) || !value.every((v) => Number.isInteger(v) && v > 0)) throw new FormatError(`${where}: config ${key} must be a list of positive integers`);
    } else if (INT_KEYS.has(key) && !Number.isInteger(value)) throw new FormatError(`${where}: config ${key} must be an integer, got ${JSON.stringify(value)}`);
    else if (NUM_KEYS.has(key) && !Number.isFinite(value)) throw new FormatError(`${where}: config ${key} must be a number, got ${JSON.stringify(value)}`);
  }
  if (POOL_OPS.has(op)) checkPoolNode(op, config, where);
  const [lo, hi] = ARITY[op] || [1, 1];
  if (nInputs < lo || nInputs > hi) throw new FormatError(`${where}: takes ${lo === hi ? lo : `${lo}..${hi}`} input(s), got ${nInputs}`);
  const need = (cond, what) => {
    if (!cond) {
      const shapes = Object.fromEntries(Object.entries(weights).map(([k, v]) => [k, v.shape]));
      throw new FormatError(`${where}: ${what} (weights ${JSON.stringify(shapes)}, config units=${config.units})`);
    }
  };
  const k = weights.kernel;
  const r = weights.recurrent_kernel;
  const b = weights.bias;
  if (op in GATES) {
    const g = GATES[op];
    need(k && r && k.shape.length === 2 && r.shape.length === 2, "kernel and recurrent_kernel must be 2-D");
    const h = r.shape[0];
    need(config.units === h && r.shape[1] === g * h && k.shape[1] === g * h, `${op} kernels must be (D, ${g}H) and (H, ${g}H) with H = units`);
    if (op === "GRU" && config.reset_after) need(!b || eq(b.shape, [2, g * h]), "GRU reset_after bias must be (2, 3H)");
    else need(!b || eq(b.shape, [g * h]), `bias must be (${g}H,)`);
    need(!!b === !!config.use_bias, "use_bias must match the presence of a bias");
    if (op === "LSTM") need(JSON.stringify(config.gate_order) === '["i","f","c","o"]', "LSTM gate_order must be [i, f, c, o]");
    if (op === "GRU") need(JSON.stringify(config.gate_order) === '["z","r","h"]', "GRU gate_order must be [z, r, h]");
    need(typeof config.activation === "object" && (op === "SimpleRNN" || typeof config.recurrent_activation === "object"), "activations missing");
  } else if (op === "ConvLSTM") {
    need(k && r && k.shape.length >= 3 && k.shape.length <= 5, "ConvLSTM kernel must be (*K, C, 4F), 1-3 axes K");
    const f = config.filters;
    const rank = k.shape.length - 2;
    need(Number.isInteger(f) && f > 0 && k.shape[k.shape.length - 1] === 4 * f && eq(r.shape, [...k.shape.slice(0, rank), f, 4 * f]), "ConvLSTM kernels must be (*K, C, 4F) and (*K, F, 4F) with F = filters");
    need(!b || eq(b.shape, [4 * f]), "ConvLSTM bias must be (4F,)");
    need(!!b === !!config.use_bias, "use_bias must match the presence of a bias");
    for (const key of ["strides", "dilation_rate"]) need(Array.isArray(config[key]) && config[key].length === rank, `${key} needs ${rank} values`);
    need(["valid", "same"].includes(config.padding), "ConvLSTM padding must be valid or same");
    need(["channels_last", "channels_first"].includes(config.data_format), "unknown data_format");
  } else if (op === "Dense") {
    need(k && k.shape.length === 2 && config.units === k.shape[1], "Dense kernel must be (D, units)");
    need(!b || eq(b.shape, [k.shape[1]]), "Dense bias must be (units,)");
    need(typeof config.activation === "object", "Dense needs an activation");
  } else if (op === "Activation") {
    need(typeof config.activation === "object", "Activation needs an activation");
  } else if (op === "Embedding") {
    need(weights.embeddings && weights.embeddings.shape.length === 2, "embeddings must be 2-D");
  } else if (op === "Conv1D") {
    need(k && k.shape.length === 3, "Conv1D kernel must be (K, C_in, C_out)");
    need(!b || eq(b.shape, [k.shape[2]]), "Conv1D bias must be (C_out,)");
    need(["valid", "same", "causal"].includes(config.padding) && config.strides > 0 && config.dilation_rate > 0, "Conv1D padding/strides/dilation");
  } else if (op === "Conv3D" || op === "ConvTranspose") {
    // FORMAT.md 5.26-5.27: kernel (*K, C_in / groups, filters), one list entry per spatial axis
    const n = op === "Conv3D" ? 3 : (config.strides || []).length;
    need(k && k.shape.length === n + 2 && k.shape[n + 1] === config.filters, `${op} kernel must be (*K, C_in, filters) on ${n} axes`);
    need(!b || eq(b.shape, [config.filters]), `${op} bias must be (filters,)`);
    const lists = op === "Conv3D" ? ["strides", "dilation_rate"] : ["strides", "dilation_rate", "output_padding", "kernel_size"];
    for (const key of lists) need(Array.isArray(config[key]) && config[key].length === n && config[key].every((v) => Number.isInteger(v) && v >= 0), `${key} needs ${n} values`);
    if (op === "ConvTranspose") need(eq(config.kernel_size, k.shape.slice(0, n)), "kernel_size must match the kernel");
    if (op === "Conv3D") need(config.filters % (config.groups || 1) === 0, "filters must be divisible by groups");
    need(["valid", "same"].includes(config.padding), `${op} padding must be valid or same`);
  } else if (op === "Pool1D") {
    need(["max", "average"].includes(config.mode) && config.pool_size > 0 && config.strides > 0 && ["valid", "same"].includes(config.padding), "Pool1D mode/pool_size/strides/padding");
  } else if (op === "Attention") {
    need(["dot", "concat", "additive"].includes(config.score_mode), "unknown Attention score_mode");
    const scale = weights.scale;
    const csw = weights.concat_score_weight;
    need(!scale || scale.shape.length === (config.score_mode === "additive" ? 1 : 0), "bad scale shape");
    need(!!csw === (config.score_mode === "concat"), "concat_score_weight goes with concat");
    need(nInputs === 3 + Number(!!config.query_mask) + Number(!!config.value_mask), "mask inputs do not match query_mask/value_mask");
  } else if (op === "MaskedMerge") {
    need(["mul", "max", "min"].includes(config.mode), "unknown MaskedMerge mode");
    need(Array.isArray(config.masked) && config.masked.every((v) => typeof v === "boolean"), "masked must be booleans");
  } else if (op === "Transpose") {
    const perm = config.perm;
    need(Array.isArray(perm) && perm.every(Number.isInteger) && [...perm].sort((a, c) => a - c).every((v, i) => v === i), "Transpose perm must be a permutation of 0 … rank-1");
  } else if (op === "Merge") {
    need(["concat", "sum", "sub", "mul", "ave", "max", "min"].includes(config.mode), "unknown Merge mode");
  } else if (op === "BatchNormalization") {
    need(weights.moving_mean && weights.moving_variance, "BatchNormalization needs moving_mean and moving_variance");
  } else if (op === "PReLU") {
    need(!!weights.alpha, "PReLU needs alpha");
  } else if (op === "Dot") {
    need(Array.isArray(config.axes) && config.axes.length === 2 && config.axes.every(Number.isInteger), "Dot axes must be two integers");
  } else if (op === "Reshape") {
    need(Array.isArray(config.target_shape) && config.target_shape.every(Number.isInteger), "Reshape target_shape must be integers");
  } else if (op === "Permute") {
    need(Array.isArray(config.dims) && config.dims.every(Number.isInteger), "Permute dims must be integers");
  } else if (op === "Resize2D" || op === "CenterCrop" || op === "Rescaling") {
    loadedModule("resize").checkResizeOp(op, config, need);
  }
  const tensorOps = loadedModule("tensor_ops");
  if (tensorOps) tensorOps.checkTensorOp(op, config, need);
  const text = loadedModule("text");
  const textProblem = text && text.checkText(op, config, weights);
  if (textProblem) throw new FormatError(`${where}: ${textProblem}`);
  if (hasMask && !(op in GATES || op === "ConvLSTM" || op === "GlobalPool1D")) {
    throw new FormatError(`${where}: op ${op} takes no mask`);
  }
}
