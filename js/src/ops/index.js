// The op table: bundle op type -> function(inputs Tensor[], weights {slot: Tensor}, config,
// extra {mask, initialState, initialOutput}) -> Tensor[]. One module per op family, as the
// NumPy runtime (rnnconvert/runtime/ops/).
//
// Op modules load on demand: load() awaits loadOps(the bundle's op types) before it builds the
// model, so a process imports only the families its bundle uses (a plain LSTM model: core, lstm,
// rnn, linalg, activations -- not the 20-odd others). A cold start spends about a millisecond of
// CPU per module imported; the whole table cost ~25 ms more than a recurrent model's share.

/** Op families: [module loader, module name, {op: export name} or [ops, name of the exported op table]]. */
const FAMILIES = [
  [() => import("./core.js"), "core", { Dense: "dense", Activation: "activation", Embedding: "embedding", NotEqualMask: "notEqualMask", Masking: "masking", ReduceAny: "reduceAny", LogicalAnd: "logicalAnd", LogicalOr: "logicalOr", ExpandDims: "expandDims", FillLike: "fillLike" }],
  [() => import("./lstm.js"), "lstm", { LSTM: "lstm" }],
  [() => import("./gru.js"), "gru", { GRU: "gru" }],
  [() => import("./simple_rnn.js"), "simple_rnn", { SimpleRNN: "simpleRnn" }],
  [() => import("./conv_lstm.js"), "conv_lstm", { ConvLSTM: "convLstm" }],
  [() => import("./sequence.js"), "sequence", { Reverse: "reverse", Merge: "merge", FoldTime: "foldTime", UnfoldTime: "unfoldTime", ZeroMasked: "zeroMasked" }],
  [() => import("./conv.js"), "conv", { Conv1D: "conv1d", Pool1D: "pool1d", GlobalPool1D: "globalPool1d", ZeroPadding1D: "pad1d", Cropping1D: "crop1d", UpSampling1D: "upsample1d" }],
  [() => import("./conv2d.js"), "conv2d", { Conv2D: "conv2d", GlobalPool2D: "globalPool2d" }],
  [() => import("./shape.js"), "shape", { Flatten: "flatten", Reshape: "reshapeOp", Permute: "permute", RepeatVector: "repeatVector", Transpose: "transposeOp" }],
  [() => import("./normalization.js"), "normalization", { BatchNormalization: "batchNorm", LayerNormalization: "layerNorm", PReLU: "prelu", Dot: "dot" }],
  [() => import("./attention.js"), "attention", { Attention: "attention" }],
  [() => import("./masked_merge.js"), "masked_merge", { MaskedMerge: "maskedMerge" }],
  // format 1.3: convolutions (issue 14)
  [() => import("./convnd.js"), "convnd", { Conv3D: "conv", ConvTranspose: "convTranspose" }],
  // format 1.3: 2-D / 3-D pooling (Pool2D is the N-D pooling too), adaptive pooling, padding, cropping (issue 14)
  [() => import("./pool.js"), "pool", { Pool2D: "poolNd", Pool3D: "poolNd", GlobalPool3D: "globalPool3d", AdaptivePool: "adaptivePool", ZeroPadding: "zeroPadding", Cropping: "cropping", UpSampling3D: "upsample3d" }],
  // format 1.3: resizing and rescaling (issue 14)
  [() => import("./resize.js"), "resize", { Resize2D: "resize2d", CenterCrop: "centerCrop", Rescaling: "rescaling" }],
  // format 1.3: attention (issue 16)
  [() => import("./attn.js"), "attn", { EinsumDense: "einsumDense", DotProductAttention: "dotProductAttention" }],
  // format 1.3: normalization and inference-time layers (issue 16)
  [() => import("./norms.js"), "norms", { GroupNormalization: "groupNorm", RMSNormalization: "rmsNorm", UnitNormalization: "unitNorm", Normalization: "normalization", Threshold: "threshold", AutoContrast: "autoContrast" }],
  // format 1.3: preprocessing and text (issue 16)
  [() => import("./text.js"), "text", [["Discretization", "CategoryEncoding", "Lookup", "TextVectorization", "Hashing"], "TEXT_OPS"]],
  // format 1.3: inline tensor operations (issue 16)
  [() => import("./tensor_ops.js"), "tensor_ops", [["Slice", "Squeeze", "Stack", "Binary", "Compare", "Unary", "Reduce", "MatMul", "Cast"], "TENSOR_OPS"]],
];

const familyOps = (f) => (Array.isArray(f[2]) ? f[2][0] : Object.keys(f[2]));
const FAMILY_OF = new Map(FAMILIES.flatMap((f) => familyOps(f).map((op) => [op, f])));

/** Every op type this runtime runs, loaded or not. */
export const OP_TYPES = Object.freeze([...FAMILY_OF.keys()]);

/** The functions of the ops loaded so far (loadOps). */
export const OPS = {};

const modules = new Map(); // module name -> its namespace, once loaded

/** A loaded op module's namespace by name ("pool", "attn", ...), or null: per-op checks and
 *  the streaming planner reach a family's helpers through it (loaded when the bundle uses it). */
export function loadedModule(name) {
  return modules.get(name) || null;
}

/** Load the modules of ``ops`` (op type names; unknown ones are left to the model's checks). */
export async function loadOps(ops) {
  const wanted = new Set();
  for (const op of ops) {
    const f = typeof op === "string" ? FAMILY_OF.get(op) : undefined;
    if (f && !modules.has(f[1])) wanted.add(f);
  }
  await Promise.all(
    [...wanted].map(async ([importer, name, table]) => {
      const mod = await importer();
      const fns = Array.isArray(table) ? mod[table[1]] : Object.fromEntries(Object.entries(table).map(([op, fn]) => [op, mod[fn]]));
      for (const op of Array.isArray(table) ? table[0] : Object.keys(table)) OPS[op] = fns[op];
      modules.set(name, mod);
    }),
  );
}

/** Load every op module (tests, tools that list ops). */
export const loadAllOps = () => loadOps(OP_TYPES);

/** Recurrent ops: how many states follow the output. */
export const RECURRENT_STATE_COUNT = { LSTM: 2, GRU: 1, SimpleRNN: 1, ConvLSTM: 2 };
