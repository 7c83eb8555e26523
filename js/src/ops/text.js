// Preprocessing ops (rnnconvert/runtime/ops/text.py, FORMAT.md 5.46-5.48): Discretization,
// CategoryEncoding, Lookup (IntegerLookup / StringLookup). Ids are int32 tensors, encodings
// float32; string tensors hold a plain Array of JS strings.

import { InputError } from "../errors.js";
import { Tensor } from "../tensor.js";
import { hashBucket, hashing } from "./hashing.js";
import { textVectorization } from "./text_vectorization.js";

/** How many of the sorted boundaries are <= v (the bucket index). */
function bucket(b, v) {
  let lo = 0;
  let hi = b.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (b[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function discretization([x], w, cfg) {
  const b = Float32Array.from(cfg.bin_boundaries);
  const out = new Int32Array(x.data.length);
  for (let i = 0; i < out.length; i++) out[i] = bucket(b, Math.fround(x.data[i]));
  return [new Tensor(out, x.shape.slice(), "int32")];
}

/** one_hot / multi_hot / count of int ids in [0, depth); drop[i] leaves id i out. */
function encode(ids, shape, depth, mode, drop) {
  if (mode === "one_hot") {
    const s = shape.length > 1 && shape[shape.length - 1] === 1 ? shape.slice(0, -1) : shape.slice();
    const out = new Float32Array(ids.length * depth);
    for (let i = 0; i < ids.length; i++) if (!(drop && drop[i])) out[i * depth + ids[i]] = 1;
    return new Tensor(out, [...s, depth]);
  }
  if (shape.length < 2) throw new InputError(`${mode} encodes the last axis of a rank >= 2 input, got shape [${shape}]`);
  const n = shape[shape.length - 1];
  const rows = n ? ids.length / n : shape.slice(0, -1).reduce((a, d) => a * d, 1);
  const out = new Float32Array(rows * depth);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < n; j++) {
      const i = r * n + j;
      if (drop && drop[i]) continue;
      const at = r * depth + ids[i];
      out[at] = mode === "multi_hot" ? 1 : out[at] + 1;
    }
  }
  return new Tensor(out, [...shape.slice(0, -1), depth]);
}

function asIds(x, what) {
  const out = new Array(x.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = x.data[i];
    if (!Number.isFinite(v)) throw new InputError(`${what} input contains NaN or Inf; ids must be finite integers`);
    out[i] = Math.trunc(v);
  }
  return out;
}

/** ids (Int32Array) of ``shape`` encoded as CategoryEncoding does (5.47). */
export function encodeIds(ids, shape, depth, mode) {
  return encode(ids, shape, depth, mode, null);
}

export function categoryEncoding([x], w, cfg) {
  const ids = asIds(x, "CategoryEncoding");
  for (const v of ids) if (v < 0 || v >= cfg.num_tokens) throw new InputError(`CategoryEncoding input ${v} is out of range [0, ${cfg.num_tokens})`);
  return [encode(ids, x.shape, cfg.num_tokens, cfg.output_mode, null)];
}

const tables = new WeakMap();

const floormod = (a, n) => ((a % n) + n) % n;

function oovBucket(tok, k, method, salt) {
  if (method === "floormod" && typeof tok === "number") return floormod(tok, k);
  return hashBucket(typeof tok === "string" ? tok : String(tok), k, salt);
}

/** Each token's index and whether it is the mask token (FORMAT.md 5.48). */
export function tokenIds(toks, vocabulary, mask, nOov, oovStart, oovMethod = "farmhash", salt = null) {
  let t = tables.get(vocabulary);
  if (!t) {
    t = new Map(vocabulary.map((tok, i) => [tok, i]));
    tables.set(vocabulary, t);
  }
  const start = oovStart + nOov;
  const ids = new Int32Array(toks.length);
  const drop = new Uint8Array(toks.length);
  for (let i = 0; i < toks.length; i++) {
    const tok = toks[i];
    if (mask !== null && tok === mask) {
      drop[i] = 1;
      continue;
    }
    const k = t.get(tok);
    if (k !== undefined) ids[i] = start + k;
    else if (nOov === 0) throw new InputError(`Lookup: token ${JSON.stringify(tok)} is not in the vocabulary and num_oov_indices is 0`);
    else ids[i] = oovStart + (nOov > 1 ? oovBucket(tok, nOov, oovMethod, salt) : 0);
  }
  return { ids, drop };
}

function weighIdf(out, idf, depth) {
  for (let i = 0; i < out.data.length; i++) out.data[i] = Math.fround(out.data[i] * idf.data[i % depth]);
  return out;
}

/** Rows of lengths ``lengths`` (ids flat, in order) encoded into (rows, depth). */
export function encodeRows(lengths, ids, drop, depth, mode, idf) {
  const out = new Float32Array(lengths.length * depth);
  let at = 0;
  lengths.forEach((n, r) => {
    for (let j = at; j < at + n; j++) {
      if (drop[j]) continue;
      const k = r * depth + ids[j];
      out[k] = mode === "multi_hot" ? 1 : out[k] + 1;
    }
    at += n;
  });
  const t = new Tensor(out, [lengths.length, depth]);
  return mode === "tf_idf" ? weighIdf(t, idf, depth) : t;
}

export function lookup([x], w, cfg) {
  const mode = cfg.output_mode;
  const oovStart = cfg.mask_token !== null && mode === "int" ? 1 : 0;
  const strings = cfg.key_dtype === "string";
  if (strings !== (x.dtype === "string")) throw new InputError(`Lookup: expects a ${cfg.key_dtype} input`);
  const toks = strings ? x.data : asIds(x, "Lookup");
  const { ids, drop } = tokenIds(toks, cfg.vocabulary, cfg.mask_token, cfg.num_oov_indices, oovStart, cfg.oov_method, cfg.salt);
  if (mode === "int") return [new Tensor(ids, x.shape.slice(), "int32")];
  const out = encode(ids, x.shape, cfg.depth, mode === "tf_idf" ? "count" : mode, drop);
  return [mode === "tf_idf" ? weighIdf(out, w.idf_weights, cfg.depth) : out];
}

const saltOk = (s) => Array.isArray(s) && s.length === 2 && s.every((k) => typeof k === "string" && /^[0-9]{1,20}$/.test(k) && BigInt(k) < 2n ** 64n);

/** Load-time checks (checks.js): why a node's config does not fit, or null. */
export function checkText(op, cfg, weights) {
  if (op === "Discretization") {
    const b = cfg.bin_boundaries;
    if (!Array.isArray(b) || !b.every(Number.isFinite) || b.some((v, i) => i && b[i - 1] > v)) return "bin_boundaries must be sorted finite numbers";
  } else if (op === "CategoryEncoding") {
    if (!Number.isInteger(cfg.num_tokens) || cfg.num_tokens < 1 || !["one_hot", "multi_hot", "count"].includes(cfg.output_mode)) return "bad num_tokens / output_mode";
  } else if (op === "Lookup" || op === "TextVectorization") {
    if (op === "TextVectorization") {
      const ng = cfg.ngrams;
      if (ng !== null && !(Array.isArray(ng) && ng.length && ng.length <= 64 && ng.every((n) => Number.isInteger(n) && n >= 1 && n <= 64))) return "bad ngrams";
      const L = cfg.output_sequence_length;
      if (L !== null && !(Number.isInteger(L) && L >= 0 && L <= 2 ** 20)) return "bad output_sequence_length";
      if (![null, "lower_and_strip_punctuation", "lower", "strip_punctuation"].includes(cfg.standardize) || ![null, "whitespace", "character"].includes(cfg.split)) return "bad standardize / split";
      if (!Array.isArray(cfg.vocabulary) || cfg.vocabulary.includes("")) return "the vocabulary may not hold the mask token ''";
      cfg = { ...cfg, key_dtype: "string", mask_token: "", num_oov_indices: 1, oov_method: "farmhash", salt: null };
    }
    const strings = cfg.key_dtype === "string";
    const ok = (v) => (strings ? typeof v === "string" : Number.isSafeInteger(v));
    if (!["string", "int64"].includes(cfg.key_dtype) || !Array.isArray(cfg.vocabulary) || !cfg.vocabulary.every(ok)) return "vocabulary must hold tokens of key_dtype";
    if (new Set(cfg.vocabulary).size !== cfg.vocabulary.length) return "vocabulary entries must be unique";
    if (cfg.mask_token !== null && !ok(cfg.mask_token)) return "mask_token must be null or of the vocabulary's type";
    if (!Number.isInteger(cfg.num_oov_indices) || cfg.num_oov_indices < 0) return "bad num_oov_indices";
    if (!["floormod", "farmhash"].includes(cfg.oov_method) || (strings && cfg.oov_method !== "farmhash")) return "bad oov_method";
    if (cfg.salt !== null && !saltOk(cfg.salt)) return "salt must be null or two unsigned 64-bit integers in decimal";
    if (!["int", "one_hot", "multi_hot", "count", "tf_idf"].includes(cfg.output_mode) || !Number.isInteger(cfg.depth) || cfg.depth < 1) return "bad output_mode / depth";
    const idf = weights.idf_weights;
    if (!!idf !== (cfg.output_mode === "tf_idf") || (idf && (idf.shape.length !== 1 || idf.shape[0] !== cfg.depth))) return "idf_weights must be (depth,) with tf_idf";
  }
  if (op === "Hashing") {
    const m = cfg.mask_token;
    if (!Number.isInteger(cfg.num_bins) || cfg.num_bins < 1 || !["int", "one_hot", "multi_hot", "count"].includes(cfg.output_mode)) return "bad num_bins / output_mode";
    if (m !== null && typeof m !== "string" && !Number.isSafeInteger(m)) return "mask_token must be null, a string or an integer";
    if (cfg.salt !== null && !saltOk(cfg.salt)) return "salt must be null or two unsigned 64-bit integers in decimal";
  }
  return null;
}

/** Whether a node acts on each timestep alone (streaming.js), for a first input of rank ``rank``. */
export const TEXT_OPS = { Discretization: discretization, CategoryEncoding: categoryEncoding, Lookup: lookup, TextVectorization: (...a) => textVectorization(...a), Hashing: (...a) => hashing(...a) };
