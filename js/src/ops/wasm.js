// The WebAssembly kernels (kernels.wat, embedded as kernels_wasm.js): each model gets its own
// instance and memory (newKernels, from load()); the memory goes with the model. gemm
// (linalg.js) runs a product here when a model's call set its kernels (beginCall) and b is a
// weight; else in JavaScript.
//
// Where the weights live: a bundle read from a directory in Node is read straight into a
// shared memory (weightsMemory), and its arrays are views of it, so the products use the
// weights where they lie -- no second copy, and none of the page faults a copy into fresh
// memory costs a cold start. Growing a shared memory never detaches it, so those views stay
// valid while the per-call scratch above them grows. Elsewhere (a URL, buffers, a page that is
// not cross-origin isolated) the memory is the module's own and holds copies of the weights
// its products use, made on first use.
//
// Where WebAssembly or its SIMD is missing (or refused: a page's Content-Security-Policy
// without 'wasm-unsafe-eval'), newKernels gives null and every product runs in JavaScript.
// Force that with load(..., {kernels: "js"}) or, in Node, RNNCONVERT_JS_KERNELS=js.

import { KERNELS_WASM_BASE64, KERNELS_WASM_SHARED_BASE64 } from "./kernels_wasm.js";

const PAGE = 65536;
/** A model's kernel memory stays under this; products that would need more run in JavaScript. */
export const MAX_KERNEL_BYTES = 2 ** 30;
/** Where a weights file starts in a shared memory (address 0 stays unused: kernels read a 0
 *  pointer as "none"); 64 keeps the format's 64-byte alignment of every array's data. */
export const WEIGHTS_BASE = 64;

const compiled = new Map(); // variant ("own" | "shared") -> Promise<WebAssembly.Module | null>, once per process

function wasmBytes(b64) {
  if (typeof Buffer === "function" && typeof Buffer.from === "function") return new Uint8Array(Buffer.from(b64, "base64")); // Node: native
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** The compiled kernels module (``shared``: the variant on an imported shared memory), or null
 *  where it cannot be compiled here. */
export function kernelsModule(shared = false) {
  const key = shared ? "shared" : "own";
  if (!compiled.has(key)) {
    compiled.set(
      key,
      (async () => {
        if (typeof WebAssembly !== "object" || typeof atob !== "function") return null;
        try {
          return await WebAssembly.compile(wasmBytes(shared ? KERNELS_WASM_SHARED_BASE64 : KERNELS_WASM_BASE64));
        } catch {
          return null; // no WebAssembly SIMD (or threads), or WebAssembly disallowed (CSP)
        }
      })(),
    );
  }
  return compiled.get(key);
}

/**
 * A shared memory to read a weights file of ``nbytes`` into: {memory, bytes} (bytes: the
 * file's Uint8Array view, at WEIGHTS_BASE), for newKernels(kind, home). Null where a shared
 * WebAssembly memory cannot be made (no SharedArrayBuffer: a page that is not cross-origin
 * isolated) or the file would take over half of MAX_KERNEL_BYTES: the caller reads it into
 * ordinary memory then.
 */
export function weightsMemory(nbytes) {
  if (typeof WebAssembly !== "object" || typeof SharedArrayBuffer !== "function") return null;
  if (!(Number.isInteger(nbytes) && nbytes >= 0 && WEIGHTS_BASE + nbytes <= MAX_KERNEL_BYTES / 2)) return null;
  try {
    const memory = new WebAssembly.Memory({ initial: Math.ceil((WEIGHTS_BASE + nbytes) / PAGE) || 1, maximum: MAX_KERNEL_BYTES / PAGE, shared: true });
    return { memory, bytes: new Uint8Array(memory.buffer, WEIGHTS_BASE, nbytes) };
  } catch {
    return null;
  }
}

/** The kernels the environment asks for: "js" from RNNCONVERT_JS_KERNELS (Node), else "auto". */
export function defaultKernels() {
  const env = typeof process !== "undefined" && process.env ? process.env.RNNCONVERT_JS_KERNELS : undefined;
  return env === "js" ? "js" : "auto";
}

/** A model's kernels: a new instance (null for kind "js", or where WebAssembly is unavailable),
 *  on ``home`` (weightsMemory's {memory, bytes}, the weights read into it) if given. */
export async function newKernels(kind = defaultKernels(), home = null) {
  if (kind === "js") return null;
  const mod = await kernelsModule(home !== null);
  if (mod === null) return null;
  try {
    return new WasmKernels(await WebAssembly.instantiate(mod, home ? { env: { memory: home.memory } } : {}), home);
  } catch {
    return null;
  }
}

const align = (n) => (n + 15) & ~15;

export class WasmKernels {
  constructor(instance, home = null) {
    this.exports = instance.exports;
    this.memory = home ? home.memory : instance.exports.memory;
    /** The buffer the weights file was read into (views of it are used in place), or null. */
    this.home = home ? home.bytes.buffer : null;
    this.top = home ? align(home.bytes.byteOffset + home.bytes.length) : 0; // weights (or their copies) below, per-call scratch above
    this.at = new WeakMap(); // weight Float32Array -> its byte address here (copies)
    this.buffer = null;
    this.heap = null;
    this.maxBytes = MAX_KERNEL_BYTES;
  }

  /** The memory as float32, current after any growth. */
  f32() {
    if (this.buffer !== this.memory.buffer) {
      this.buffer = this.memory.buffer;
      this.heap = new Float32Array(this.buffer);
    }
    return this.heap;
  }

  /** Whether the memory holds ``bytes`` (growing it, within this.maxBytes). */
  reserve(bytes) {
    const have = this.memory.buffer.byteLength;
    if (bytes <= have) return true;
    if (bytes > this.maxBytes) return false;
    try {
      this.memory.grow(Math.ceil((bytes - have) / PAGE));
      return true;
    } catch {
      return false;
    }
  }

  /** The byte address of weight b: where it lies if read into this memory, else that of its
   *  copy (made now if new); -1 if it does not fit. */
  weightAt(b) {
    if (b.buffer === this.home && b.byteOffset % 4 === 0) return b.byteOffset;
    let p = this.at.get(b);
    if (p !== undefined) return p;
    p = this.top;
    const end = align(p + b.length * 4);
    if (!this.reserve(end)) return -1;
    this.f32().set(b, p >> 2);
    this.top = end;
    this.at.set(b, p);
    return p;
  }

  /** Run ``fn(address)`` on a copy of Float32Array ``d`` in scratch memory, then copy it
   *  back; false (nothing done) if it does not fit. Element-wise passes that a cold call would
   *  otherwise run in interpreted JavaScript (a Dense(5000) softmax: ~2 ms, then ~0.1). */
  inPlace(d, fn) {
    if (!(d instanceof Float32Array)) return false;
    const p = this.top;
    if (!this.reserve(p + d.length * 4)) return false;
    const h = this.f32();
    h.set(d, p >> 2);
    fn(p);
    d.set(h.subarray(p >> 2, (p >> 2) + d.length));
    return true;
  }

  /** linalg.addRowBias here: out (rows, N) += bias[bOff : bOff + N] per row. */
  addRows(out, rows, N, bias, bOff) {
    if (!(bias instanceof Float32Array) || out.length !== rows * N) return false;
    const bp = align(this.top + out.length * 4);
    if (!this.reserve(bp + N * 4)) return false;
    this.f32().set(bias.subarray(bOff, bOff + N), bp >> 2);
    return this.inPlace(out, (p) => this.exports.add_rows(p, bp, rows, N));
  }

  /** activations.js softmaxRows here: count rows of n values of d, in place. */
  softmaxRows(d, n, count) {
    return d.length === n * count && this.inPlace(d, (p) => this.exports.softmax_rows(p, n, count));
  }

  /** out[M, N] (+)= a[M, K] @ b[K, N] as linalg.gemm, b a weight; false if it cannot run here. */
  gemm(a, aOff, b, out, outOff, M, K, N, accumulate) {
    if (!(a instanceof Float32Array) || !(out instanceof Float32Array)) return false;
    const bp = this.weightAt(b);
    if (bp < 0) return false;
    const ap = this.top;
    const op = align(ap + M * K * 4);
    if (!this.reserve(op + M * N * 4)) return false;
    const h = this.f32();
    h.set(aOff === 0 && a.length === M * K ? a : a.subarray(aOff, aOff + M * K), ap >> 2);
    if (accumulate) h.set(out.subarray(outOff, outOff + M * N), op >> 2);
    this.exports.gemm(ap, bp, op, M, K, N, accumulate ? 1 : 0);
    out.set(h.subarray(op >> 2, (op >> 2) + M * N), outOff);
    return true;
  }
}

/** The kernels of the model call in progress, set by linalg.beginCall (kept here, where the
 *  recurrent ops look for them). */
export const current = { kernels: null };

const isType = (spec, type) => !!spec && spec.type === type && Object.keys(spec).length === 1;

/**
 * A recurrent layer's whole scan in WebAssembly when it can run there: the model's call has
 * kernels, no mask, the Keras default activations (tanh, recurrent sigmoid), GRU with
 * reset_after, weights marked constant. Returns {seq, states} (Float32Arrays: seq (B, T, H)
 * in step order or null, the final states) or null: the caller's JavaScript scan runs it.
 * ``kind``: "lstm" | "gru"; ``bias``: Float32Array (LSTM: G values; GRU: 2G, input then
 * recurrent) or null; ``states``: the initial states' Float32Arrays (B*H each).
 */
export function recurrentScan(kind, { x, D, kernel, U, bias, states, B, T, H, cfg, extra }, isConstant) {
  const k = current.kernels;
  if (k === null || extra.mask || !(T >= 1 && B >= 1 && H >= 1) || !(x instanceof Float32Array)) return null;
  if (!isType(cfg.activation, "tanh") || !isType(cfg.recurrent_activation, "sigmoid")) return null;
  if (kind === "gru" && !cfg.reset_after) return null;
  if (!isConstant(kernel) || !isConstant(U)) return null;
  const G = (kind === "lstm" ? 4 : 3) * H;
  if (kernel.length !== D * G || U.length !== H * G || (bias && bias.length !== (kind === "lstm" ? G : 2 * G))) return null;
  return k.scan(kind, { x, D, kernel, U, bias, states, B, T, H, back: !!cfg.go_backwards, seq: !!cfg.return_sequences });
}

WasmKernels.prototype.scan = function scan(kind, { x, D, kernel, U, bias, states, B, T, H, back, seq }) {
  const G = (kind === "lstm" ? 4 : 3) * H;
  const kp = this.weightAt(kernel);
  const up = kp < 0 ? -1 : this.weightAt(U);
  if (up < 0) return null;
  // scratch above the weights: x, xs, bias, h, c, z, inner, seq
  let top = this.top;
  const take = (n) => {
    const p = top;
    top = align(top + n * 4);
    return p;
  };
  const xp = take(B * T * D);
  const xsp = take(B * T * G);
  const bp = bias ? take(bias.length) : 0;
  const hp = take(B * H);
  const cp = take(B * H);
  const zp = take(B * G);
  const ip = take(B * G);
  const sp = seq ? take(B * T * H) : 0;
  if (!this.reserve(top)) return null;
  const m = this.f32();
  const e = this.exports;
  m.set(x.subarray(0, B * T * D), xp >> 2);
  e.gemm(xp, kp, xsp, B * T, D, G, 0);
  if (bias) {
    m.set(bias, bp >> 2);
    e.add_rows(xsp, bp, B * T, G);
  }
  m.set(states[0], hp >> 2);
  if (kind === "lstm") {
    m.set(states[1], cp >> 2);
    e.lstm_seq(xsp, up, hp, cp, sp, zp, B, T, H, back ? 1 : 0);
  } else {
    e.gru_seq(xsp, up, bias ? bp + G * 4 : 0, hp, sp, zp, ip, B, T, H, back ? 1 : 0);
  }
  const out = (p, n) => m.slice(p >> 2, (p >> 2) + n);
  return { seq: seq ? out(sp, B * T * H) : null, states: kind === "lstm" ? [out(hp, B * H), out(cp, B * H)] : [out(hp, B * H)] };
};
