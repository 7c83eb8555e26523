// The runtime model: a checked bundle turned into an execution plan (runtime/model.py).

import { dequantize, isLocalPath, readBundle, toTensor } from "./bundle.js";
import { FormatError, InputError, ResourceError, RnnConvertError } from "./errors.js";
import { checkNode } from "./checks.js";
import { OPS, OP_TYPES, RECURRENT_STATE_COUNT, loadOps } from "./ops/index.js";
import { beginCall, markConstant } from "./ops/linalg.js";
import { defaultKernels, kernelsModule, newKernels, weightsMemory } from "./ops/wasm.js";
import { TIMED, planStream } from "./streaming.js";
import { StringArray, Tensor, asFloat, reshape, sliceAxis, zeros } from "./tensor.js";
import { aheadElements } from "./estimate.js";

export const DEFAULT_MAX_ELEMENTS = 2 ** 30;
/** A model that streams and whose call would hold more than this many values runs through
 * time in chunks of about that size, carrying its states (as the NumPy runtime). */
export const DEFAULT_TIME_CHUNK_ELEMENTS = 2 ** 24;

function ref(v, where) {
  if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== "string" || !Number.isInteger(v[1]) || v[1] < 0) {
    throw new FormatError(`model.json: ${where} must be a reference [name, index], got ${JSON.stringify(v)}`);
  }
  return [v[0], v[1]];
}

function shapeOf(v, where) {
  if (!Array.isArray(v) || !v.every((d) => d === null || (Number.isInteger(d) && d >= 0))) {
    throw new FormatError(`model.json: ${where} must be a list of integers or nulls`);
  }
  return v.slice();
}

const KNOWN = new Set(OP_TYPES);

const fmt = (s) => `(${s.map((d) => (d === null ? "None" : d)).join(", ")})`;

const LEGACY_MASK_KEYS = ["query_mask", "value_mask", "masked"];

/** The optional inputs a node names (format 1.2, "named_inputs"), as positional extra inputs.
 * Before 1.2 they were positional already, flagged in the config (which 1.2 no longer has). */
function namedExtras(raw, config, where, v12) {
  let named = raw.named_inputs;
  if (!v12) {
    if (named !== undefined && named !== null) throw new FormatError(`model.json: ${where}: 'named_inputs' needs format 1.2.0`);
    return { extra: [], config };
  }
  for (const k of LEGACY_MASK_KEYS) {
    if ((raw.op === "Attention" || raw.op === "MaskedMerge") && k in config) throw new FormatError(`model.json: ${where}: unknown config key '${k}' (format 1.2 names mask inputs in 'named_inputs')`);
  }
  if (named === undefined || named === null) named = {};
  if (typeof named !== "object" || Array.isArray(named)) throw new FormatError(`model.json: ${where}: 'named_inputs' must be an object`);
  const cfg = { ...config };
  const extra = [];
  if (raw.op === "Attention") {
    for (const k of Object.keys(named)) if (!["query_mask", "value_mask"].includes(k)) throw new FormatError(`model.json: ${where}: unknown named input '${k}'`);
    cfg.query_mask = "query_mask" in named;
    cfg.value_mask = "value_mask" in named;
    if (cfg.query_mask) extra.push(ref(named.query_mask, `${where} named_inputs.query_mask`));
    if (cfg.value_mask) extra.push(ref(named.value_mask, `${where} named_inputs.value_mask`));
  } else if (raw.op === "DotProductAttention") {
    const slots = ["query_mask", "value_mask", "key_mask", "attention_mask"];
    for (const k of Object.keys(named)) if (!slots.includes(k)) throw new FormatError(`model.json: ${where}: unknown named input '${k}'`);
    cfg.__masks = slots.filter((k) => k in named);
    for (const k of cfg.__masks) extra.push(ref(named[k], `${where} named_inputs.${k}`));
  } else if (raw.op === "MaskedMerge") {
    const n = raw.inputs.length;
    cfg.masked = Array.from({ length: n }, (_, k) => `mask_${k}` in named);
    for (const k of Object.keys(named)) {
      const m = /^mask_(\d+)$/.exec(k);
      if (!m || Number(m[1]) >= n) throw new FormatError(`model.json: ${where}: unknown named input '${k}'`);
    }
    for (let k = 0; k < n; k++) if (cfg.masked[k]) extra.push(ref(named[`mask_${k}`], `${where} named_inputs.mask_${k}`));
  } else if (Object.keys(named).length) {
    throw new FormatError(`model.json: ${where}: op ${raw.op} takes no named inputs`);
  }
  return { extra, config: cfg };
}

export class Model {
  /** @param {{where: string, doc: object, arrays: object}} bundle */
  constructor(bundle, { maxElements = DEFAULT_MAX_ELEMENTS, timeChunkElements = DEFAULT_TIME_CHUNK_ELEMENTS } = {}) {
    /** WebAssembly kernels (ops/wasm.js) set by load(); null: products run in JavaScript. */
    this.kernels = null;
    this.maxElements = maxElements;
    this.timeChunkElements = timeChunkElements;
    const doc = bundle.doc;
    this.doc = doc;
    this.formatVersion = doc.format_version;
    if ("metadata" in doc && (doc.metadata === null || typeof doc.metadata !== "object" || Array.isArray(doc.metadata))) {
      throw new FormatError("model.json: metadata must be a JSON object");
    }
    this.vectorArrays = {};
    for (const [k, v] of Object.entries(bundle.arrays)) if (k.startsWith("__vectors__/")) this.vectorArrays[k] = v;
    const produced = new Map();
    if (!Array.isArray(doc.inputs) || !doc.inputs.length) throw new FormatError("model.json: 'inputs' must be a non-empty list");
    this.inputs = doc.inputs.map((spec, i) => {
      if (!spec || typeof spec.name !== "string") throw new FormatError(`model.json: inputs[${i}] must be an object with a name`);
      const info = { name: spec.name, shape: shapeOf(spec.shape, `inputs[${i}].shape`), dtype: String(spec.dtype) };
      if (produced.has(info.name)) throw new FormatError(`model.json: duplicate name '${info.name}'`);
      if (!info.shape.length) throw new FormatError(`model.json: inputs[${i}].shape must include the batch dimension`);
      produced.set(info.name, 1);
      return info;
    });
    if (!Array.isArray(doc.nodes)) throw new FormatError("model.json: 'nodes' must be a list");
    const unknown = [...new Set(doc.nodes.filter((n) => !(n && typeof n.op === "string" && KNOWN.has(n.op))).map((n) => String(n && n.op)))].sort();
    if (unknown.length) {
      throw new FormatError(`model.json uses op(s) ${unknown.map((u) => `'${u}'`).join(", ")} unknown to this runtime (format ${this.formatVersion}); known ops: ${[...OP_TYPES].sort().join(", ")}`);
    }
    const unloaded = [...new Set(doc.nodes.map((n) => n.op).filter((op) => !(op in OPS)))];
    if (unloaded.length) throw new RnnConvertError(`the modules of op(s) ${unloaded.join(", ")} are not loaded: build models with await load(...), or await loadOps(ops) before new Model(...)`);
    const weights = {};
    for (const [k, v] of Object.entries(dequantize(doc, bundle.arrays))) weights[k] = v;
    this.nodes = doc.nodes.map((raw, k) => this._node(k, raw, produced, weights));
    if (!Array.isArray(doc.outputs) || !doc.outputs.length) throw new FormatError("model.json: 'outputs' must be a non-empty list");
    this.outputRefs = [];
    this.outputs = doc.outputs.map((spec, i) => {
      if (!spec || typeof spec.name !== "string") throw new FormatError(`model.json: outputs[${i}] must be an object with a name`);
      const r = ref(spec.from, `outputs[${i}].from`);
      this._checkRef(r, produced, `outputs[${i}]`);
      this.outputRefs.push(r);
      return { name: spec.name, shape: shapeOf(spec.shape, `outputs[${i}].shape`), dtype: String(spec.dtype) };
    });
    this.recurrent = this.nodes.filter((n) => n.nStates);
    for (const n of this.recurrent) stateShape(n, 1);
    this.stateful = this.recurrent.some((n) => n.config.stateful);
    const fixed = new Set(this.inputs.filter((i) => i.shape[0] !== null).map((i) => i.shape[0]));
    /** The batch size a stateful model is fixed to, or null. */
    this.batchSize = fixed.size === 1 ? [...fixed][0] : null;
    this._states = null;
    this._plan = null;
    // Declared output shapes are binding from format 1.2 (F5): checked on every node output.
    const [maj, min] = this.formatVersion.split(".").map(Number);
    this._checkShapes = maj > 1 || (maj === 1 && min >= 2);
  }

  /** The JSON object given at conversion (--metadata), as a fresh copy; {} when the bundle has none. */
  get metadata() {
    return this.doc.metadata === undefined ? {} : JSON.parse(JSON.stringify(this.doc.metadata));
  }

  _checkRef(r, produced, where) {
    if (!produced.has(r[0])) throw new FormatError(`model.json: ${where} refers to '${r[0]}', which is not an input or an earlier node`);
    if (r[1] >= produced.get(r[0])) throw new FormatError(`model.json: ${where} refers to output ${r[1]} of '${r[0]}', which has ${produced.get(r[0])}`);
  }

  _node(k, raw, produced, arrays) {
    if (!raw || typeof raw.name !== "string") throw new FormatError(`model.json: nodes[${k}] must be an object with a name`);
    const name = raw.name;
    const where = `node '${name}'`;
    if (produced.has(name)) throw new FormatError(`model.json: duplicate name '${name}'`);
    if (!Array.isArray(raw.inputs)) throw new FormatError(`model.json: ${where}: 'inputs' must be a list`);
    const inputs = raw.inputs.map((r, i) => ref(r, `${where} inputs[${i}]`));
    if (!raw.config || typeof raw.config !== "object" || Array.isArray(raw.config)) throw new FormatError(`model.json: ${where}: 'config' must be an object`);
    const [maj, min] = String(this.formatVersion).split(".").map(Number);
    const { extra, config } = namedExtras(raw, raw.config, where, maj > 1 || (maj === 1 && min >= 2));
    const allInputs = [...inputs, ...extra];
    for (const r of allInputs) this._checkRef(r, produced, where);
    const mask = raw.mask === undefined || raw.mask === null ? null : ref(raw.mask, `${where} mask`);
    if (mask) this._checkRef(mask, produced, where);
    const init = raw.initial_state || [];
    if (!Array.isArray(init)) throw new FormatError(`model.json: ${where}: 'initial_state' must be a list`);
    const initialState = init.map((r, i) => ref(r, `${where} initial_state[${i}]`));
    for (const r of initialState) this._checkRef(r, produced, where);
    if (!raw.weights || typeof raw.weights !== "object") throw new FormatError(`model.json: ${where}: 'weights' must be an object`);
    const weights = {};
    for (const [slot, key] of Object.entries(raw.weights)) {
      if (typeof key !== "string" || !(key in arrays)) throw new FormatError(`model.json: ${where}: weight '${slot}' names array '${key}', which weights.arrays lacks`);
      weights[slot] = asFloat(toTensor(arrays[key]));
      if (weights[slot].data instanceof Float32Array) markConstant(weights[slot].data);
    }
    if (!Array.isArray(raw.outputs) || !raw.outputs.length) throw new FormatError(`model.json: ${where}: 'outputs' must be a non-empty list`);
    const outShapes = raw.outputs.map((o, i) => shapeOf(o && o.shape, `${where} outputs[${i}].shape`));
    checkNode(raw.op, config, weights, `model.json: ${where} (op ${raw.op})`, allInputs.length, mask !== null);
    produced.set(name, outShapes.length);
    const nStates = RECURRENT_STATE_COUNT[raw.op] || 0;
    const rule = config.initial_state_rule || "every_call";
    return { name, op: raw.op, fn: OPS[raw.op], inputs, allInputs, weights, config, mask, initialState, outShapes, nOutputs: outShapes.length, nStates, rule };
  }

  // -- inputs --------------------------------------------------------------------------
  _values(x) {
    const n = this.inputs.length;
    if (x && typeof x === "object" && !Array.isArray(x) && !isTensorLike(x)) {
      const missing = this.inputs.filter((i) => !(i.name in x)).map((i) => i.name);
      if (missing.length || Object.keys(x).length !== n) throw new InputError(`expected inputs ${this.inputs.map((i) => i.name)}, got ${Object.keys(x).sort()}`);
      return this.inputs.map((i) => x[i.name]);
    }
    const values = Array.isArray(x) ? x : [x];
    if (values.length !== n) throw new InputError(`the model takes ${n} input(s) [${this.inputs.map((i) => i.name)}], got ${values.length}`);
    return values;
  }

  _coerce(values, chunked = new Set()) {
    let batch = null;
    return this.inputs.map((info, k) => {
      const v = values[k];
      if (!isTensorLike(v)) throw new InputError(`input '${info.name}': expected {data: TypedArray, shape: number[]}`);
      const shape = Array.from(v.shape);
      let n = 1;
      for (const d of shape) {
        if (!Number.isInteger(d) || d < 0) throw new InputError(`input '${info.name}': bad shape [${shape}]`);
        n *= d;
      }
      if (v.data.length !== n) throw new InputError(`input '${info.name}': shape [${shape}] needs ${n} values, got ${v.data.length}`);
      if (shape.length !== info.shape.length) throw new InputError(`input '${info.name}': expected shape ${fmt(info.shape)} (rank ${info.shape.length}), got [${shape}]`);
      info.shape.forEach((want, axis) => {
        if (want !== null && shape[axis] !== want && !((axis === 1 && chunked.has(info.name)) || (axis === 0 && this.stateful))) {
          throw new InputError(`input '${info.name}': expected shape ${fmt(info.shape)}, got [${shape}] (axis ${axis})`);
        }
      });
      if (batch === null) batch = shape[0];
      else if (shape[0] !== batch) throw new InputError(`input '${info.name}': batch size ${shape[0]} differs from the first input's ${batch}`);
      if (info.dtype === "string") return stringTensor(v.data, shape, info.name);
      if (info.dtype.startsWith("int")) {
        if (v.data instanceof Int32Array) return new Tensor(v.data, shape, "int32");
        if (v.data instanceof Float32Array || v.data instanceof Float64Array) return new Tensor(v.data instanceof Float32Array ? v.data : Float32Array.from(v.data), shape, "float32");
        return new Tensor(Int32Array.from(v.data, Number), shape, "int32");
      }
      return new Tensor(v.data instanceof Float32Array ? v.data : Float32Array.from(v.data, Number), shape, "float32");
    });
  }

  _callElements(arrays) {
    const batch = arrays[0].shape[0];
    let free = 1;
    this.inputs.forEach((info, k) => {
      info.shape.forEach((want, axis) => {
        if (axis && want === null && axis < arrays[k].shape.length) free = Math.max(free, arrays[k].shape[axis]);
      });
    });
    let total = arrays.reduce((s, a) => s + a.data.length, 0);
    for (const node of this.nodes) {
      for (const shape of node.outShapes) {
        let n = 1;
        shape.forEach((d, axis) => (n *= d !== null ? d : axis === 0 ? batch : free));
        total += n;
      }
    }
    return total;
  }

  // -- running -------------------------------------------------------------------------
  _run(arrays, states = null, carryOutputs = false) {
    const total = this._callElements(arrays);
    if (total > this.maxElements) {
      throw new ResourceError(`this call needs about ${total} array elements, over maxElements=${this.maxElements}; split the batch or the sequence`);
    }
    beginCall(this.kernels); // weights get their packed layouts from their second call on (linalg.js)
    const env = new Map(this.inputs.map((info, k) => [info.name, [arrays[k]]]));
    const finals = {};
    for (const node of this.nodes) {
      const args = node.allInputs.map(([n, i]) => env.get(n)[i]);
      const extra = { mask: null, initialState: null, initialOutput: null };
      if (node.mask) extra.mask = env.get(node.mask[0])[node.mask[1]];
      const carried = states ? states[node.name] : null;
      if (node.nStates) {
        const given = node.initialState.length ? node.initialState.map(([n, i]) => env.get(n)[i]) : null;
        if (given && !(carryOutputs && carried && carried.length) && useGiven(node, carried)) extra.initialState = given;
        else if (carried && carried.length) {
          extra.initialState = carried.slice(0, node.nStates);
          if (carryOutputs) extra.initialOutput = carried[node.nStates];
        }
      }
      const ahead = aheadElements(node, args.map((a) => a.shape));
      if (ahead > this.maxElements) {
        throw new ResourceError(`node '${node.name}' (${node.op}) would hold ${ahead} array elements on these inputs, over maxElements=${this.maxElements}; split the batch or the sequence`);
      }
      let outs;
      try {
        outs = node.fn(args, node.weights, node.config, extra);
      } catch (err) {
        if (err instanceof InputError || err instanceof ResourceError) throw err;
        if (err instanceof RangeError) throw new ResourceError(`node '${node.name}' (${node.op}) ran out of memory: ${err.message}`);
        throw new FormatError(`node '${node.name}' (${node.op}) cannot run on these inputs: ${err.message}`);
      }
      if (this._checkShapes) checkDeclared(node, outs, carryOutputs);
      env.set(node.name, outs);
      if (node.nStates && states) {
        const fin = outs.slice(1);
        if (carryOutputs) {
          const y = outs[0];
          let last;
          if (!node.config.return_sequences) last = y;
          else if (y.shape[1]) last = reshape(sliceAxis(y, 1, y.shape[1] - 1, y.shape[1]), [y.shape[0], ...y.shape.slice(2)]);
          else last = extra.initialOutput || zeros([y.shape[0], ...y.shape.slice(2)]);
          fin.push(last);
        }
        finals[node.name] = fin;
      }
    }
    return [this.outputRefs.map(([n, i]) => env.get(n)[i]), finals];
  }

  /**
   * Run the model like Keras's model.predict. ``x``: one {data, shape} for a single-input
   * model, an array of them in input order, or an object by input name. Returns one Tensor
   * for a single-output model, else an array. A stateful model carries its states between
   * calls until resetStates().
   */
  predict(x) {
    const arrays = this._coerce(this._values(x));
    let outs;
    if (this.stateful) {
      const batch = arrays[0].shape[0];
      if (this.batchSize === null) this.batchSize = batch;
      if (batch !== this.batchSize) throw new InputError(`this stateful model runs with batch size ${this.batchSize}, got ${batch}; Keras fixes a stateful model's batch size too`);
      const statefulNodes = this.recurrent.filter((n) => n.config.stateful);
      const states = this._states || Object.fromEntries(statefulNodes.map((n) => [n.name, zerosFor(n, batch)]));
      let finals;
      [outs, finals] = this._run(arrays, states);
      this._states = Object.fromEntries(statefulNodes.map((n) => [n.name, finals[n.name]]));
    } else {
      const chunk = this._timeChunk(arrays);
      outs = chunk ? this._runChunked(arrays, chunk) : this._run(arrays)[0];
    }
    return outs.length === 1 ? outs[0] : outs;
  }

  /** Timesteps per chunk for a call over timeChunkElements (or maxElements) values, or 0 to
   *  run it whole. Only models that stream are chunked: chunk by chunk with carried states
   *  they give exactly what they give on the whole sequence. */
  _timeChunk(arrays) {
    const limit = Math.min(this.timeChunkElements, this.maxElements);
    if (!(limit > 0) || this.stateful || this.streamPlan().error) return 0;
    const timed = new Set(this.streamPlan().timedInputs);
    const lengths = new Set(this.inputs.filter((i) => timed.has(i.name)).map((i) => arrays[this.inputs.indexOf(i)].shape[1]));
    if (lengths.size !== 1) return 0;
    const [length] = lengths;
    const total = this._callElements(arrays);
    if (total <= limit || length < 2) return 0;
    // total = fixed + perStep * T: the inputs and every node output are affine in T
    const one = this._callElements(arrays.map((a, k) => (timed.has(this.inputs[k].name) ? sliceAxis(a, 1, 0, 1) : a)));
    const perStep = Math.max(1, Math.floor((total - one) / (length - 1)));
    const chunk = Math.max(1, Math.floor((limit - (one - perStep)) / perStep));
    return chunk < length ? chunk : 0;
  }

  /** The whole call computed ``chunk`` timesteps at a time with the streaming states carried:
   *  it holds the inputs, the outputs and one chunk's tensors, whatever the sequence length. */
  _runChunked(arrays, chunk) {
    const plan = this.streamPlan();
    const timed = this.inputs.map((i) => plan.timedInputs.includes(i.name));
    const length = arrays[timed.indexOf(true)].shape[1];
    let state = this.initialState(arrays[0].shape[0]);
    let outs = [];
    for (let s = 0; s < length; s += chunk) {
      const part = arrays.map((a, k) => (timed[k] ? sliceAxis(a, 1, s, Math.min(length, s + chunk)) : a));
      const [got, finals] = this._run(part, state, true);
      state = Object.fromEntries(plan.streamNodes.map((n) => [n, finals[n]]));
      if (!s) outs = got.map((o, k) => (plan.outputKinds[k] === TIMED ? this._fullOutput(o, length) : o));
      got.forEach((o, k) => {
        if (plan.outputKinds[k] === TIMED) putTime(outs[k], o, s);
        else outs[k] = o; // a running or static value: what it is after the sequence so far
      });
    }
    return outs;
  }

  _fullOutput(first, length) {
    const shape = [first.shape[0], length, ...first.shape.slice(2)];
    const n = shape.reduce((a, b) => a * b, 1);
    if (n > this.maxElements) throw new ResourceError(`this call's output of shape [${shape}] has ${n} elements, over maxElements=${this.maxElements}; split the batch or the sequence`);
    return zeros(shape, first.dtype);
  }

  /** Forget the states a stateful model carries between predict calls. */
  resetStates() {
    this._states = null;
  }

  // -- streaming -----------------------------------------------------------------------
  streamPlan() {
    if (!this._plan) this._plan = planStream(this.inputs, this.nodes, this.outputRefs);
    return this._plan;
  }

  _streamable() {
    const plan = this.streamPlan();
    if (plan.error) throw new InputError(`this model cannot be streamed: ${plan.error}`);
    return plan;
  }

  /** The streaming state before the first timestep: {node: [...states, lastOutput]} ([] for a
   *  node given an initial_state tensor: it takes that on its first step). */
  initialState(batchSize) {
    const plan = this._streamable();
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new InputError(`batchSize must be a positive integer, got ${batchSize}`);
    const state = {};
    for (const name of plan.streamNodes) {
      const n = this.nodes.find((m) => m.name === name);
      state[name] = n.initialState.length ? [] : [...zerosFor(n, batchSize), zeros(stateShape(n, batchSize))];
    }
    return state;
  }

  /** Feed one timestep (time axis left out) or a chunk (B, t, ...) of every streamed input;
   *  returns [y, newState]; ``state`` is not modified. */
  step(x, state) {
    const plan = this._streamable();
    const timed = new Set(plan.timedInputs);
    const values = this._values(x).slice();
    const singles = new Set();
    this.inputs.forEach((info, k) => {
      if (!timed.has(info.name)) return;
      const v = values[k];
      if (!isTensorLike(v)) throw new InputError(`input '${info.name}': expected {data, shape}`);
      const single = v.shape.length === info.shape.length - 1;
      singles.add(single);
      if (single) values[k] = { data: v.data, shape: [v.shape[0], 1, ...Array.from(v.shape).slice(1)] };
    });
    if (singles.size > 1) throw new InputError("give every streamed input one timestep, or every one a chunk, not a mix");
    const single = [...singles][0];
    const arrays = this._coerce(values, timed);
    this._checkState(state, plan, arrays[0].shape[0]);
    const [outs, finals] = this._run(arrays, state, true);
    const ys = outs.map((o, k) => (single && plan.outputKinds[k] === TIMED ? reshape(o, [o.shape[0], ...o.shape.slice(2)]) : o));
    const next = Object.fromEntries(plan.streamNodes.map((n) => [n, finals[n]]));
    return [ys.length === 1 ? ys[0] : ys, next];
  }

  _checkState(state, plan, batch) {
    if (!state || typeof state !== "object") throw new InputError("state must be the object from model.initialState(batch) or the previous step");
    for (const name of plan.streamNodes) {
      const n = this.nodes.find((m) => m.name === name);
      const entry = state[name];
      if (entry === undefined) throw new InputError(`state lacks recurrent node '${name}'; start from model.initialState(batch)`);
      if (Array.isArray(entry) && !entry.length && n.initialState.length) continue;
      const want = stateShape(n, batch);
      const ok = Array.isArray(entry) && entry.length === n.nStates + 1 && entry.every((a) => a instanceof Tensor && a.shape.length === want.length && a.shape.every((d, i) => d === want[i]));
      if (!ok) throw new InputError(`state['${name}'] must be ${n.nStates + 1} tensors of shape [${want}] for a batch of ${batch}; start from model.initialState(${batch})`);
    }
  }

  toString() {
    const ins = this.inputs.map((i) => `${i.name}${fmt(i.shape)}`).join(", ");
    const outs = this.outputs.map((o) => `${o.name}${fmt(o.shape)}`).join(", ");
    return `<rnnconvert Model format ${this.formatVersion}: ${this.nodes.length} nodes; inputs ${ins}; outputs ${outs}>`;
  }
}

function isTensorLike(v) {
  return !!v && typeof v === "object" && (ArrayBuffer.isView(v.data) || Array.isArray(v.data)) && v.shape !== undefined && typeof v.shape.length === "number";
}

/** A string input (FORMAT.md 2.1): {data: string[], shape}, every item a JS string. */
function stringTensor(data, shape, name) {
  if (!Array.isArray(data)) throw new InputError(`input '${name}': expects {data: string[], shape}`);
  for (let i = 0; i < data.length; i++) {
    if (typeof data[i] !== "string") throw new InputError(`input '${name}': expects strings, got ${typeof data[i]} at item ${i}`);
  }
  return new Tensor(data instanceof StringArray ? data : StringArray.of(data), shape, "string");
}

/** F2: "while_states_zero" (tf_keras) uses the given state only while every carried state is zero. */
function useGiven(node, carried) {
  if (node.rule !== "while_states_zero" || !carried || !carried.length) return true;
  return carried.slice(0, node.nStates).every((s) => s.data.every((v) => v === 0));
}

/** Declared dimensions are binding (format 1.2), except the batch axis (the caller's) and, in a
 * streamed chunk, the time axis -- as the NumPy runtime's executor. */
function checkDeclared(node, outs, streamed) {
  const free = streamed ? 2 : 1;
  node.outShapes.forEach((want, k) => {
    const got = outs[k] && outs[k].shape;
    if (!got || got.length !== want.length || want.some((d, i) => i >= free && d !== null && d !== got[i])) {
      throw new FormatError(`node '${node.name}' (${node.op}) output ${k} has shape [${got}], but model.json declares ${fmt(want)}`);
    }
  });
}

export function stateShape(node, batch) {
  if ("units" in node.config) return [batch, node.config.units];
  const dims = node.outShapes.length > 1 ? node.outShapes[1].slice(1) : [null];
  if (dims.some((d) => !Number.isInteger(d))) throw new FormatError(`model.json: node '${node.name}' (${node.op}): its state outputs need a known shape`);
  return [batch, ...dims];
}

/** Copy ``part`` (B, t, ...) into ``full`` (B, T, ...) at timestep ``start``. */
function putTime(full, part, start) {
  const [b, t] = part.shape;
  const T = full.shape[1];
  const inner = part.shape.slice(2).reduce((a, c) => a * c, 1);
  for (let i = 0; i < b; i++) full.data.set(part.data.subarray(i * t * inner, (i + 1) * t * inner), (i * T + start) * inner);
}

function zerosFor(node, batch) {
  return Array.from({ length: node.nStates }, () => zeros(stateShape(node, batch)));
}

/**
 * Load a bundle: a directory path or model.json path (Node), a URL (fetch), or buffers
 * {"model.json": ..., "weights.npz": ArrayBuffer}. Options: maxWeightBytes, maxElements,
 * timeChunkElements (a streaming model's long call runs through time in chunks; 0: never),
 * verify (run the embedded test vectors, FormatError if they do not reproduce).
 */
export async function load(source, { maxWeightBytes, maxElements, timeChunkElements, verify = false, kernels = defaultKernels() } = {}) {
  if (!["auto", "js"].includes(kernels)) throw new RnnConvertError(`load: kernels must be "auto" or "js", got ${JSON.stringify(kernels)}`);
  // A local bundle's weights are read into a shared WebAssembly memory, the kernels' (wasm.js):
  // its variant of the kernels is compiled while the bundle is read.
  let home = null;
  const into = kernels === "js" ? null : (n) => (home = weightsMemory(n)) && home.bytes;
  if (kernels !== "js") kernelsModule(isLocalPath(source)).catch(() => {});
  let opsReady = null; // the op modules the bundle uses, imported while its weights are read
  const onDoc = (doc) => {
    if (!Array.isArray(doc.nodes)) return;
    opsReady = loadOps(doc.nodes.map((n) => n && n.op));
    opsReady.catch(() => {}); // awaited below, unless reading the weights failed first
  };
  const bundle = await readBundle(source, maxWeightBytes === undefined ? { onDoc, into } : { maxWeightBytes, onDoc, into });
  await opsReady;
  const options = {};
  if (maxElements !== undefined) options.maxElements = maxElements;
  if (timeChunkElements !== undefined) options.timeChunkElements = timeChunkElements;
  const model = new Model(bundle, options);
  model.kernels = await newKernels(kernels, home);
  if (verify) {
    const { check } = await import("./verify.js");
    const report = check(model);
    if (report && !report.ok) throw new FormatError(`the bundle's test vectors do not reproduce: ${report.lines.slice(1).join("; ")}`);
  }
  return model;
}
