// Hashing (rnnconvert/runtime/ops/hashing.py, FORMAT.md 5.50): FarmHash Fingerprint64
// (tf.strings.to_hash_bucket_fast) and SipHash-2-4 (to_hash_bucket_strong), in BigInt
// 64-bit arithmetic, on the UTF-8 bytes of each value's text.

import { InputError } from "../errors.js";
import { Tensor } from "../tensor.js";
import { encodeIds } from "./text.js";

const u64 = (v) => BigInt.asUintN(64, v);
const K0 = 0xc3a5c85c97cb3127n;
const K1 = 0xb492b66fbe98f273n;
const K2 = 0x9ae16a3b2f90404fn;

function f64(s, i) {
  let v = 0n;
  for (let k = 7; k >= 0; k--) v = (v << 8n) | BigInt(s[i + k]);
  return v;
}
function f32(s, i) {
  return BigInt((s[i] | (s[i + 1] << 8) | (s[i + 2] << 16)) >>> 0) + (BigInt(s[i + 3]) << 24n);
}
const rot = (v, r) => (r === 0n ? v : u64((v >> r) | (v << (64n - r))));
const mix = (v) => v ^ (v >> 47n);

function len16(u, v, mul) {
  let a = u64((u ^ v) * mul);
  a ^= a >> 47n;
  let b = u64((v ^ a) * mul);
  b ^= b >> 47n;
  return u64(b * mul);
}

function len0to16(s) {
  const n = BigInt(s.length);
  if (s.length >= 8) {
    const mul = K2 + n * 2n;
    const a = u64(f64(s, 0) + K2);
    const b = f64(s, s.length - 8);
    return len16(u64(rot(b, 37n) * mul + a), u64((rot(a, 25n) + b) * mul), mul);
  }
  if (s.length >= 4) return len16(n + (f32(s, 0) << 3n), f32(s, s.length - 4), K2 + n * 2n);
  if (s.length > 0) {
    const y = BigInt((s[0] + (s[s.length >> 1] << 8)) >>> 0);
    const z = BigInt((s.length + (s[s.length - 1] << 2)) >>> 0);
    return u64(mix(u64(y * K2) ^ u64(z * K0)) * K2);
  }
  return K2;
}

function len17to32(s) {
  const n = s.length;
  const mul = K2 + BigInt(n) * 2n;
  const a = u64(f64(s, 0) * K1);
  const b = f64(s, 8);
  const c = u64(f64(s, n - 8) * mul);
  const d = u64(f64(s, n - 16) * K2);
  return len16(u64(rot(u64(a + b), 43n) + rot(c, 30n) + d), u64(a + rot(u64(b + K2), 18n) + c), mul);
}

function len33to64(s) {
  const n = s.length;
  const mul = K2 + BigInt(n) * 2n;
  const a = u64(f64(s, 0) * K2);
  const b = f64(s, 8);
  const c = u64(f64(s, n - 8) * mul);
  const d = u64(f64(s, n - 16) * K2);
  const y = u64(rot(u64(a + b), 43n) + rot(c, 30n) + d);
  const z = len16(y, u64(a + rot(u64(b + K2), 18n) + c), mul);
  const e = u64(f64(s, 16) * mul);
  const f = f64(s, 24);
  const g = u64((y + f64(s, n - 32)) * mul);
  const h = u64((z + f64(s, n - 24)) * mul);
  return len16(u64(rot(u64(e + f), 43n) + rot(g, 30n) + h), u64(e + rot(u64(f + a), 18n) + g), mul);
}

function weak32(s, i, a, b) {
  const w = f64(s, i);
  const x = f64(s, i + 8);
  const y = f64(s, i + 16);
  const z = f64(s, i + 24);
  a = u64(a + w);
  b = rot(u64(b + a + z), 21n);
  const c = a;
  a = u64(a + x + y);
  b = u64(b + rot(a, 44n));
  return [u64(a + z), u64(b + c)];
}

/** FarmHash Fingerprint64 of the bytes ``s`` (Uint8Array), a BigInt. */
export function fingerprint64(s) {
  const n = s.length;
  if (n <= 16) return len0to16(s);
  if (n <= 32) return len17to32(s);
  if (n <= 64) return len33to64(s);
  let x = 81n;
  let y = u64(81n * K1 + 113n);
  let z = u64(mix(u64(y * K2 + 113n)) * K2);
  let v = [0n, 0n];
  let w = [0n, 0n];
  x = u64(x * K2 + f64(s, 0));
  const end = Math.floor((n - 1) / 64) * 64;
  const last64 = end + ((n - 1) & 63) - 63;
  let i = 0;
  do {
    x = u64(rot(u64(x + y + v[0] + f64(s, i + 8)), 37n) * K1);
    y = u64(rot(u64(y + v[1] + f64(s, i + 48)), 42n) * K1);
    x ^= w[1];
    y = u64(y + v[0] + f64(s, i + 40));
    z = u64(rot(u64(z + w[0]), 33n) * K1);
    v = weak32(s, i, u64(v[1] * K1), u64(x + w[0]));
    w = weak32(s, i + 32, u64(z + w[1]), u64(y + f64(s, i + 16)));
    [z, x] = [x, z];
    i += 64;
  } while (i !== end);
  const mul = K1 + ((z & 0xffn) << 1n);
  i = last64;
  w[0] = u64(w[0] + BigInt((n - 1) & 63));
  v[0] = u64(v[0] + w[0]);
  w[0] = u64(w[0] + v[0]);
  x = u64(rot(u64(x + y + v[0] + f64(s, i + 8)), 37n) * mul);
  y = u64(rot(u64(y + v[1] + f64(s, i + 48)), 42n) * mul);
  x ^= u64(w[1] * 9n);
  y = u64(y + v[0] * 9n + f64(s, i + 40));
  z = u64(rot(u64(z + w[0]), 33n) * mul);
  v = weak32(s, i, u64(v[1] * mul), u64(x + w[0]));
  w = weak32(s, i + 32, u64(z + w[1]), u64(y + f64(s, i + 16)));
  [z, x] = [x, z];
  return len16(u64(len16(v[0], w[0], mul) + mix(y) * K0 + z), u64(len16(v[1], w[1], mul) + x), mul);
}

const rotl = (v, r) => u64((v << r) | (v >> (64n - r)));

/** SipHash-2-4 of the bytes ``s`` under the key (k0, k1) (BigInts), a BigInt. */
export function siphash24(k0, k1, s) {
  const v = [k0 ^ 0x736f6d6570736575n, k1 ^ 0x646f72616e646f6dn, k0 ^ 0x6c7967656e657261n, k1 ^ 0x7465646279746573n];
  const round = () => {
    v[0] = u64(v[0] + v[1]);
    v[1] = rotl(v[1], 13n) ^ v[0];
    v[0] = rotl(v[0], 32n);
    v[2] = u64(v[2] + v[3]);
    v[3] = rotl(v[3], 16n) ^ v[2];
    v[0] = u64(v[0] + v[3]);
    v[3] = rotl(v[3], 21n) ^ v[0];
    v[2] = u64(v[2] + v[1]);
    v[1] = rotl(v[1], 17n) ^ v[2];
    v[2] = rotl(v[2], 32n);
  };
  const n = s.length;
  const full = n - (n % 8);
  const blocks = [];
  for (let i = 0; i < full; i += 8) blocks.push(f64(s, i));
  let last = BigInt(n & 0xff) << 56n;
  for (let k = full; k < n; k++) last |= BigInt(s[k]) << BigInt(8 * (k - full));
  blocks.push(last);
  for (const m of blocks) {
    v[3] ^= m;
    round();
    round();
    v[0] ^= m;
  }
  v[2] ^= 0xffn;
  for (let r = 0; r < 4; r++) round();
  return v[0] ^ v[1] ^ v[2] ^ v[3];
}

const utf8 = new TextEncoder();

/** tf.strings.to_hash_bucket_fast (no salt) / _strong (salt: two decimal strings) of one string. */
export function hashBucket(text, bins, salt) {
  const bytes = utf8.encode(text);
  const h = salt ? siphash24(BigInt(salt[0]), BigInt(salt[1]), bytes) : fingerprint64(bytes);
  return Number(h % BigInt(bins));
}

/** A value's text as TensorFlow hashes it: a string itself, a number in decimal (truncated). */
function textOf(v) {
  if (typeof v === "string") return v;
  if (!Number.isFinite(v)) throw new InputError("Hashing input contains NaN or Inf");
  return String(Math.trunc(v));
}

export function hashing([x], w, cfg) {
  let shape = x.shape.slice();
  if (cfg.output_mode === "one_hot" && shape.length > 1 && shape[shape.length - 1] === 1) shape = shape.slice(0, -1);
  const masked = cfg.mask_token !== null && cfg.num_bins > 1;
  const bins = BigInt(masked ? cfg.num_bins - 1 : cfg.num_bins);
  const key = cfg.salt ? cfg.salt.map((k) => BigInt(k)) : null;
  const ids = new Int32Array(x.data.length);
  for (let i = 0; i < ids.length; i++) {
    const v = x.data[i];
    const bytes = utf8.encode(textOf(v));
    const h = key ? siphash24(key[0], key[1], bytes) : fingerprint64(bytes);
    ids[i] = Number(h % bins) + (masked ? 1 : 0);
    if (masked && v === cfg.mask_token) ids[i] = 0;
  }
  if (cfg.output_mode === "int") return [new Tensor(ids, shape, "int32")];
  return [encodeIds(ids, shape, cfg.num_bins, cfg.output_mode)];
}
