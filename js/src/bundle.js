// Reading a bundle (model.json + weights.npz) from a directory (Node), a URL (fetch) or
// in-memory buffers, with the NumPy runtime's checks (runtime/bundle.py): sizes bounded
// before reading, the weights' SHA-256, every array's header against model.json. Arrays
// are sliced by their "offset"/"nbytes" (format >= 1.2) or read from the zip.

import { FormatError, ResourceError, SecurityError, VersionError } from "./errors.js";
import { ITEMSIZE, parseNpyHeader } from "./npy.js";
import { Tensor, size, transpose } from "./tensor.js";
import { listZip, readMember } from "./zip.js";

export const FORMAT_NAME = "rnnconvert.bundle";
export const FORMAT_VERSION = "1.3.0"; // the newest format this runtime reads
export const MAX_JSON_BYTES = 64 * 2 ** 20;
export const MAX_WEIGHT_BYTES = 8 * 2 ** 30;
const isNode = typeof process !== "undefined" && !!(process.versions && process.versions.node);

/** A Node built-in module: process.getBuiltinModule where Node has it (>= 20.16), which skips
 *  the ESM loader (~1 ms of a cold start per module), else import(). */
export const builtin = async (name) => (typeof process.getBuiltinModule === "function" ? process.getBuiltinModule(name) : import(name));

/** Fetch model.json and the weights file from ``source``: returns {where, jsonBytes,
 *  weights(name, limit, into, whileReading) -> Promise<{bytes: Uint8Array, digest: string | null}>}
 *  (digest: the SHA-256 computed while reading, or null; whileReading() is called once the
 *  weights' I/O is under way). */
async function open(source) {
  if (source && typeof source === "object" && !(source instanceof URL) && "model.json" in source) {
    const get = (v) => (typeof v === "string" ? new TextEncoder().encode(v) : toBytes(v));
    const j = source["model.json"];
    const jsonBytes = j && typeof j === "object" && !ArrayBuffer.isView(j) && !(j instanceof ArrayBuffer) ? get(JSON.stringify(j)) : get(j);
    return {
      where: "buffers",
      jsonBytes,
      weights: async (name, limit, into, whileReading) => {
        if (!(name in source)) throw new FormatError(`weights file ${name} missing from the given buffers`);
        whileReading();
        return { bytes: get(source[name]), digest: null };
      },
    };
  }
  return isLocalPath(source) ? openDir(String(source)) : openUrl(source instanceof URL ? source.href : String(source));
}

/** Whether ``source`` (load()'s argument) is a local file or directory path, read with node:fs. */
export function isLocalPath(source) {
  if (!isNode || source instanceof URL || (source && typeof source === "object")) return false;
  return !/^(https?|blob|data|file):/.test(String(source));
}

function toBytes(v) {
  if (v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  throw new FormatError("bundle buffers must be ArrayBuffer, typed arrays or strings");
}

async function openUrl(text) {
  const base = text.endsWith("model.json") ? text.slice(0, -"model.json".length) : text.endsWith("/") ? text : text + "/";
  const get = async (name, limit) => {
    const res = await fetch(new URL(name, new URL(base, globalThis.location ? globalThis.location.href : undefined)));
    if (!res.ok) throw new FormatError(`${base}${name}: HTTP ${res.status}`);
    const n = Number(res.headers.get("content-length"));
    if (n > limit) throw new ResourceError(`${base}${name}: ${n} bytes is over the ${limit}-byte bound`);
    return new Uint8Array(await res.arrayBuffer());
  };
  return {
    where: base,
    jsonBytes: await get("model.json", MAX_JSON_BYTES),
    weights: async (name, limit, into, whileReading) => {
      const fetching = get(name, MAX_WEIGHT_BYTES + 2 ** 20);
      whileReading();
      return { bytes: await fetching, digest: null };
    },
  };
}

/** node:fs (Node only). Its callback API: fs/promises would cost a cold start one more module. */
const importFs = () => builtin("node:fs");
const call = (fn, ...args) => new Promise((resolve, reject) => fn(...args, (err, value) => (err ? reject(err) : resolve(value))));

/** Bytes of a weights file read per request, and requests in flight at once. */
const READ_CHUNK = 2 ** 20;
const READS_IN_FLIGHT = 4; // libuv's default thread pool

async function openDir(text) {
  const [fs, path] = await Promise.all([importFs(), builtin("node:path")]);
  const stat = (p) => call(fs.stat, p).catch(() => null);
  let dir = text;
  let jpath = path.join(text, "model.json");
  const st = await stat(text);
  if (!st) throw new FormatError(`${text}: not a bundle (no such file or directory)`);
  if (!st.isDirectory()) {
    dir = path.dirname(text);
    jpath = text;
  }
  const js = await stat(jpath);
  if (!js || !js.isFile()) throw new FormatError(`${text}: not a bundle (no model.json)`);
  if (js.size > MAX_JSON_BYTES) throw new ResourceError(`${jpath}: ${js.size} bytes is over the ${MAX_JSON_BYTES}-byte bound for model.json`);
  return {
    where: dir,
    jsonBytes: plainBytes(await call(fs.readFile, jpath)),
    weights: (name, limit, into, whileReading) => readLocal(fs, path.join(dir, name), limit, into, whileReading),
  };
}

/**
 * Read a local weights file: {bytes, digest} (its SHA-256, hex). It is read in chunks, up to
 * READS_IN_FLIGHT at a time on libuv's threads (where the page faults of the fresh memory are
 * taken), each hashed on this thread as it arrives, in order. ``whileReading()`` runs once the
 * first reads are under way: work for this thread meanwhile (load() imports the op modules
 * there). ``into(n)``, if given, may return the Uint8Array of n bytes to read into (a shared
 * WebAssembly memory: ops/wasm.js weightsMemory); else a new one.
 */
export async function readLocal(fs, p, limit, into, whileReading) {
  const symlink = () => new SecurityError(`${p}: the weights file is a symbolic link; refusing to follow it`);
  const notRegular = () => new FormatError(`${p}: the weights file is not a regular file`); // a FIFO would block the read
  const ls = await call(fs.lstat, p).catch(() => null);
  if (!ls) throw new FormatError(`${p}: weights file missing`);
  if (ls.isSymbolicLink()) throw symlink();
  if (!ls.isFile()) throw notRegular();
  if (ls.size > limit) throw new ResourceError(`${p}: ${ls.size} bytes is over the bound`);
  // O_NOFOLLOW and O_NONBLOCK: a symbolic link or a FIFO put in the file's place since the lstat
  // above is refused (ELOOP), or opened without waiting for a writer (and refused by fstat)
  const flags = fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW || 0) | (fs.constants.O_NONBLOCK || 0);
  const fd = await call(fs.open, p, flags).catch((err) => {
    throw err && err.code === "ELOOP" ? symlink() : new FormatError(`${p}: cannot open the weights file (${err && err.code})`);
  });
  // [offset, length, Promise<bytes read | FormatError>] in file order, all settled before the
  // file is closed; a failed read resolves to its error (a rejection nobody awaits yet would be
  // an unhandled one)
  const inFlight = [];
  try {
    const fst = await call(fs.fstat, fd);
    if (!fst.isFile()) throw notRegular();
    const n = fst.size;
    if (n > limit) throw new ResourceError(`${p}: ${n} bytes is over the bound`);
    const bytes = (into && into(n)) || new Uint8Array(n);
    // one chunk, a short read continued, to its end or the file's: the bytes read, or the error
    const readChunk = async (off, len) => {
      let got = 0;
      try {
        for (let more = -1; got < len && more !== 0; got += more) more = await call(fs.read, fd, bytes, off + got, len - got, off + got);
      } catch (err) {
        return new FormatError(`${p}: cannot read the weights file (${err && err.code})`);
      }
      return got;
    };
    let next = 0;
    const issue = () => {
      if (next >= n) return;
      const len = Math.min(READ_CHUNK, n - next);
      inFlight.push([next, len, readChunk(next, len)]);
      next += len;
    };
    for (let k = 0; k < READS_IN_FLIGHT; k++) issue();
    whileReading();
    const hash = (await importCrypto()).createHash("sha256");
    while (inFlight.length) {
      const [off, len, reading] = inFlight[0];
      const got = await reading;
      inFlight.shift();
      issue();
      if (got instanceof Error) throw got;
      if (got !== len) throw new FormatError(`${p}: the weights file shrank while it was read`);
      hash.update(bytes.subarray(off, off + len));
    }
    return { bytes, digest: hash.digest("hex") };
  } finally {
    await Promise.all(inFlight.map((r) => r[2]));
    fs.close(fd, () => {});
  }
}

/** A Buffer's bytes as a plain Uint8Array view (no copy: a cold start copied megabytes here). */
const plainBytes = (buf) => new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);

export function parseVersion(text) {
  const m = typeof text === "string" ? /^(\d+)\.(\d+)\.(\d+)$/.exec(text) : null;
  if (!m) throw new FormatError(`model.json: format_version ${JSON.stringify(text)} is not MAJOR.MINOR.PATCH`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

function checkVersion(doc) {
  const v = parseVersion(doc.format_version);
  const ours = parseVersion(FORMAT_VERSION);
  if (v[0] !== ours[0]) {
    throw new VersionError(`bundle format ${doc.format_version}; this runtime reads ${ours[0]}.x (format ${FORMAT_VERSION})`);
  }
  return v;
}

/** node:crypto, imported once (Node only): its import starts while the weights are read. */
let nodeCrypto = null;
const importCrypto = () => (nodeCrypto ||= builtin("node:crypto"));

async function sha256Hex(bytes) {
  if (isNode) {
    const { createHash } = await importCrypto();
    return createHash("sha256").update(bytes).digest("hex");
  }
  const d = await globalThis.crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(d)].map((x) => x.toString(16).padStart(2, "0")).join("");
}

function arraySpecs(doc) {
  const arrays = doc.weights.arrays;
  if (!arrays || typeof arrays !== "object" || Array.isArray(arrays)) throw new FormatError("model.json: 'weights.arrays' must be an object");
  const specs = {};
  for (const [key, spec] of Object.entries(arrays)) {
    if (!spec || typeof spec !== "object") throw new FormatError(`model.json: weights.arrays['${key}'] must be an object`);
    const { shape, dtype } = spec;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new FormatError(`model.json: weights.arrays['${key}'].shape must be a list of non-negative integers`);
    }
    if (!(dtype in ITEMSIZE)) throw new FormatError(`model.json: weights.arrays['${key}'].dtype ${JSON.stringify(dtype)} is not allowed`);
    specs[key] = { shape, dtype, nbytes: size(shape) * ITEMSIZE[dtype], offset: spec.offset, declaredNbytes: spec.nbytes };
  }
  return specs;
}

function halfToFloat(h) {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** Raw little/big-endian bytes -> {dtype, shape, data}: float16/float64 become Float32Array
 *  values (dtype kept), int64 becomes Int32Array, int8 Int8Array, uint8/bool Uint8Array. */
function decode(bytes, dtype, shape, bigEndian, fortran, where) {
  const n = size(shape);
  const item = ITEMSIZE[dtype];
  let b = bytes;
  if (bigEndian && item > 1) {
    b = new Uint8Array(bytes.length);
    for (let i = 0; i < n; i++) for (let j = 0; j < item; j++) b[i * item + j] = bytes[i * item + item - 1 - j];
  }
  if (b.byteOffset % item) b = new Uint8Array(b); // a copy (Buffer.slice would be a view)
  const view = (Ctor) => new Ctor(b.buffer, b.byteOffset, n);
  let data;
  if (dtype === "float32") data = view(Float32Array);
  else if (dtype === "int32") data = view(Int32Array);
  else if (dtype === "int8") data = view(Int8Array);
  else if (dtype === "uint8" || dtype === "bool") data = view(Uint8Array);
  else if (dtype === "float16") data = Float32Array.from(view(Uint16Array), halfToFloat);
  else if (dtype === "float64") data = Float32Array.from(view(Float64Array));
  else if (dtype === "int64") {
    const big = view(BigInt64Array);
    data = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      if (big[i] > 2147483647n || big[i] < -2147483648n) throw new FormatError(`${where}: int64 value ${big[i]} does not fit int32`);
      data[i] = Number(big[i]);
    }
  }
  let arr = { dtype, shape: shape.slice(), data };
  if (fortran && shape.length > 1) {
    const t = transpose(new Tensor(data, shape.slice().reverse(), data instanceof Float32Array ? "float32" : data instanceof Int32Array ? "int32" : "bool"), shape.map((_, i) => shape.length - 1 - i));
    arr = { dtype, shape: shape.slice(), data: t.data };
  }
  return arr;
}

async function readArrays(bytes, specs, where, maxBytes) {
  const members = listZip(bytes);
  const names = members.map((m) => m.name);
  if (new Set(names).size !== names.length) throw new FormatError(`${where}: duplicate member names`);
  const byKey = {};
  for (const m of members) {
    if (!m.name.endsWith(".npy")) throw new FormatError(`${where}: member ${m.name} is not a .npy array`);
    byKey[m.name.slice(0, -4)] = m;
  }
  const missing = Object.keys(specs).filter((k) => !(k in byKey));
  const extra = Object.keys(byKey).filter((k) => !(k in specs));
  if (missing.length || extra.length) {
    throw new FormatError(`${where}: arrays do not match model.json (missing ${missing.slice(0, 5)}, extra ${extra.slice(0, 5)})`);
  }
  const out = {};
  for (const [key, spec] of Object.entries(specs)) {
    const m = byKey[key];
    const w = `${where}: array '${key}'`;
    const hasLayout = spec.offset !== undefined || spec.declaredNbytes !== undefined;
    let member;
    if (hasLayout) {
      // format >= 1.2: the data is where model.json says; check that against the zip first
      const { offset, declaredNbytes: nb } = spec;
      if (!Number.isInteger(offset) || offset < 0 || nb !== spec.nbytes) {
        throw new FormatError(`${w}: model.json weights.arrays offset ${offset} / nbytes ${nb} are not valid`);
      }
      if (m.method !== 0 || offset !== m.dataStart + m.size - nb || m.size < nb) {
        throw new FormatError(`${w}: model.json weights.arrays offset ${offset} is not where its data lies`);
      }
      member = bytes.subarray(m.dataStart, m.dataStart + m.size); // stored: a view, no copy
    } else {
      member = await readMember(bytes, m, maxBytes);
    }
    const h = parseNpyHeader(member, w);
    if (h.dtype !== spec.dtype || h.shape.length !== spec.shape.length || h.shape.some((d, i) => d !== spec.shape[i])) {
      throw new FormatError(`${w} is ${h.dtype}[${h.shape}] but model.json says ${spec.dtype}[${spec.shape}]`);
    }
    if (member.length - h.dataOffset !== spec.nbytes) {
      throw new FormatError(`${w} holds ${member.length - h.dataOffset} bytes of data, expected ${spec.nbytes}`);
    }
    out[key] = decode(member.subarray(h.dataOffset), spec.dtype, spec.shape, h.bigEndian, h.fortran, w);
  }
  return out;
}

/** Read and check a bundle: {where, doc, arrays: {key: {dtype, shape, data}}}. ``onDoc(doc)``
 *  is called once model.json is read and checked and the weights' reading is under way (load()
 *  imports the op modules there, meanwhile). ``into(n)``: where a local weights file of n bytes
 *  may be read (readLocal). */
export async function readBundle(source, { maxWeightBytes = MAX_WEIGHT_BYTES, onDoc = null, into = null } = {}) {
  const src = await open(source);
  if (src.jsonBytes.length > MAX_JSON_BYTES) throw new ResourceError(`model.json: ${src.jsonBytes.length} bytes is over the ${MAX_JSON_BYTES}-byte bound`);
  let doc;
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(src.jsonBytes));
  } catch (err) {
    throw new FormatError(`${src.where}: model.json is not valid JSON (${err.message})`);
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) throw new FormatError("model.json: must hold a JSON object");
  if (doc.format !== FORMAT_NAME) throw new FormatError(`model.json: 'format' is ${JSON.stringify(doc.format)}, expected '${FORMAT_NAME}'`);
  checkVersion(doc);
  const w = doc.weights;
  if (!w || typeof w !== "object" || typeof w.file !== "string") throw new FormatError("model.json: 'weights.file' is missing");
  const name = w.file;
  if (["", ".", ".."].includes(name) || /[/\\\0]/.test(name)) {
    throw new SecurityError(`model.json: weights.file ${JSON.stringify(name)} must be a plain file name inside the bundle`);
  }
  const specs = arraySpecs(doc);
  const total = Object.values(specs).reduce((s, x) => s + x.nbytes, 0);
  if (total > maxWeightBytes) throw new ResourceError(`the arrays declared in model.json need ${total} bytes, over the ${maxWeightBytes}-byte bound`);
  const whileReading = () => onDoc && onDoc(doc);
  const got = await src.weights(name, maxWeightBytes + 2 ** 20 + 512 * Object.keys(specs).length, into, whileReading);
  const bytes = got.bytes;
  const digest = got.digest === null ? await sha256Hex(bytes) : got.digest;
  if (digest !== w.sha256) {
    throw new FormatError(`${name}: SHA-256 ${digest.slice(0, 12)}... does not match model.json (${String(w.sha256).slice(0, 12)}...)`);
  }
  const arrays = await readArrays(bytes, specs, `${src.where}/${name}`, maxWeightBytes);
  return { where: src.where, doc, arrays };
}

/** Expand float16 / int8 (+ per-channel scale) weights to float32 (runtime/quantize.py). */
export function dequantize(doc, arrays) {
  const specs = doc.weights.arrays;
  const out = {};
  for (const [key, arr] of Object.entries(arrays)) {
    if (key.startsWith("__scales__/")) continue;
    const q = specs[key] && specs[key].quantization;
    if (q === undefined || q === null) {
      out[key] = arr;
      continue;
    }
    const where = `model.json: weights.arrays['${key}'].quantization`;
    if (!q || typeof q !== "object" || !["float16", "int8"].includes(q.scheme)) throw new FormatError(`${where} must have scheme float16 or int8`);
    if (q.scheme === "float16") {
      if (arr.dtype !== "float16") throw new FormatError(`${where}: scheme float16 needs a float16 array, got ${arr.dtype}`);
      out[key] = { dtype: "float32", shape: arr.shape, data: arr.data };
      continue;
    }
    if (arr.dtype !== "int8") throw new FormatError(`${where}: scheme int8 needs an int8 array, got ${arr.dtype}`);
    const axis = q.axis;
    if (!Number.isInteger(axis) || axis < 0 || axis >= arr.shape.length) throw new FormatError(`${where}: axis must be in [0, ${arr.shape.length}), got ${axis}`);
    const scale = typeof q.scale === "string" ? arrays[q.scale] : undefined;
    if (!scale || scale.dtype !== "float32" || scale.shape.length !== 1 || scale.shape[0] !== arr.shape[axis]) {
      throw new FormatError(`${where}: scale must name a float32 array of shape (${arr.shape[axis]},), got ${JSON.stringify(q.scale)}`);
    }
    const inner = size(arr.shape.slice(axis + 1));
    const n = arr.shape[axis];
    const data = new Float32Array(arr.data.length);
    for (let i = 0; i < data.length; i++) data[i] = Math.fround(arr.data[i] * scale.data[Math.floor(i / inner) % n]);
    out[key] = { dtype: "float32", shape: arr.shape, data };
  }
  return out;
}

/** A decoded array as a Tensor: floats float32, integers int32, bool bool. */
export function toTensor(arr) {
  const d = arr.data;
  if (d instanceof Float32Array) return new Tensor(d, arr.shape.slice(), "float32");
  if (arr.dtype === "bool") return new Tensor(d, arr.shape.slice(), "bool");
  if (d instanceof Int32Array) return new Tensor(d, arr.shape.slice(), "int32");
  return new Tensor(Int32Array.from(d), arr.shape.slice(), "int32");
}

/** Every array of an .npz file (no model.json to check against): {name: {dtype, shape, data}}. */
export async function readNpz(bytes, { maxBytes = MAX_WEIGHT_BYTES } = {}) {
  const out = {};
  for (const m of listZip(bytes)) {
    if (!m.name.endsWith(".npy")) throw new FormatError(`npz member ${m.name} is not a .npy array`);
    const member = await readMember(bytes, m, maxBytes);
    const h = parseNpyHeader(member, m.name);
    const nbytes = size(h.shape) * ITEMSIZE[h.dtype];
    if (member.length - h.dataOffset !== nbytes) throw new FormatError(`npz member ${m.name}: ${member.length - h.dataOffset} bytes of data, expected ${nbytes}`);
    out[m.name.slice(0, -4)] = decode(member.subarray(h.dataOffset), h.dtype, h.shape, h.bigEndian, h.fortran, m.name);
  }
  return out;
}
