// A minimal zip reader (central directory, stored and deflate members, ZIP64) and a
// stored-zip writer, for weights.npz. Decompression: DecompressionStream("deflate-raw")
// in browsers, zlib in Node.

import { FormatError, ResourceError } from "./errors.js";

const u16 = (b, o) => b[o] | (b[o + 1] << 8);
const u32 = (b, o) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)) + b[o + 3] * 0x1000000;
const u64 = (b, o) => u32(b, o) + u32(b, o + 4) * 0x100000000;

function findEocd(b) {
  for (let i = b.length - 22; i >= Math.max(0, b.length - 22 - 65535); i--) {
    if (b[i] === 0x50 && b[i + 1] === 0x4b && b[i + 2] === 5 && b[i + 3] === 6) return i;
  }
  throw new FormatError("not a valid NPZ (zip) file: no end of central directory");
}

/** The members of a zip: [{name, method, compSize, size, dataStart}], sizes from the central directory. */
export function listZip(bytes) {
  const b = bytes;
  const e = findEocd(b);
  let count = u16(b, e + 10);
  let cdSize = u32(b, e + 12);
  let cdOff = u32(b, e + 16);
  if (cdOff === 0xffffffff || count === 0xffff || cdSize === 0xffffffff) {
    const loc = e - 20;
    if (loc < 0 || u32(b, loc) !== 0x07064b50) throw new FormatError("zip: ZIP64 locator missing");
    const z = u64(b, loc + 8);
    if (z + 56 > b.length || u32(b, z) !== 0x06064b50) throw new FormatError("zip: ZIP64 end record missing");
    count = u64(b, z + 32);
    cdSize = u64(b, z + 40);
    cdOff = u64(b, z + 48);
  }
  if (cdOff + cdSize > b.length) throw new FormatError("zip: central directory outside the file");
  const members = [];
  const dec = new TextDecoder("utf-8", { fatal: false });
  let p = cdOff;
  for (let i = 0; i < count; i++) {
    if (p + 46 > b.length || u32(b, p) !== 0x02014b50) throw new FormatError("zip: corrupt central directory");
    const flags = u16(b, p + 8);
    const method = u16(b, p + 10);
    let compSize = u32(b, p + 20);
    let size = u32(b, p + 24);
    const nameLen = u16(b, p + 28);
    const extraLen = u16(b, p + 30);
    const commentLen = u16(b, p + 32);
    let local = u32(b, p + 42);
    const name = dec.decode(b.subarray(p + 46, p + 46 + nameLen));
    // ZIP64 extended information: the fields that overflowed, in order
    let x = p + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = u16(b, x);
      const len = u16(b, x + 2);
      if (id === 1) {
        let q = x + 4;
        if (size === 0xffffffff) (size = u64(b, q)), (q += 8);
        if (compSize === 0xffffffff) (compSize = u64(b, q)), (q += 8);
        if (local === 0xffffffff) local = u64(b, q);
      }
      x += 4 + len;
    }
    if (flags & 1) throw new FormatError(`zip member ${name}: encrypted members are refused`);
    if (local + 30 > b.length || u32(b, local) !== 0x04034b50) throw new FormatError(`zip member ${name}: local header missing`);
    const dataStart = local + 30 + u16(b, local + 26) + u16(b, local + 28);
    if (dataStart + compSize > b.length) throw new FormatError(`zip member ${name}: data outside the file`);
    members.push({ name, method, compSize, size, dataStart });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return members;
}

let zlibPromise = null;
async function nodeZlib() {
  if (!zlibPromise) zlibPromise = import("node:zlib").catch(() => null);
  return zlibPromise;
}

async function inflateRaw(data, expected) {
  if (typeof DecompressionStream !== "undefined") {
    const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
    const out = new Uint8Array(await new Response(stream).arrayBuffer());
    return out;
  }
  const zlib = await nodeZlib();
  if (!zlib) throw new FormatError("no deflate decoder available (DecompressionStream or node:zlib)");
  return new Uint8Array(zlib.inflateRawSync(data, { maxOutputLength: Math.max(expected, 1) }));
}

/** The bytes of one member (stored: a view; deflate: inflated and length-checked). */
export async function readMember(bytes, m, maxBytes) {
  if (m.size > maxBytes) throw new ResourceError(`zip member ${m.name} declares ${m.size} bytes, over the bound`);
  const raw = bytes.subarray(m.dataStart, m.dataStart + m.compSize);
  if (m.method === 0) {
    if (m.compSize !== m.size) throw new FormatError(`zip member ${m.name}: stored sizes differ`);
    return raw;
  }
  if (m.method !== 8) throw new FormatError(`zip member ${m.name}: compression method ${m.method} is not supported`);
  let out;
  try {
    out = await inflateRaw(raw, m.size);
  } catch (err) {
    throw new FormatError(`zip member ${m.name}: corrupt deflate data (${err.message})`);
  }
  if (out.length !== m.size) throw new FormatError(`zip member ${m.name}: inflates to ${out.length} bytes, expected ${m.size}`);
  return out;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(b) {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A stored zip of [name, Uint8Array] members (small files; no ZIP64). */
export function writeZip(entries) {
  const enc = new TextEncoder();
  const parts = [];
  const central = [];
  let off = 0;
  for (const [name, data] of entries) {
    const nb = enc.encode(name);
    const crc = crc32(data);
    const h = new Uint8Array(30 + nb.length);
    const v = new DataView(h.buffer);
    v.setUint32(0, 0x04034b50, true);
    v.setUint16(4, 20, true);
    v.setUint16(10, 0, true);
    v.setUint16(12, 0x21, true); // 1980-01-01
    v.setUint32(14, crc, true);
    v.setUint32(18, data.length, true);
    v.setUint32(22, data.length, true);
    v.setUint16(26, nb.length, true);
    h.set(nb, 30);
    const c = new Uint8Array(46 + nb.length);
    const w = new DataView(c.buffer);
    w.setUint32(0, 0x02014b50, true);
    w.setUint16(4, 20, true);
    w.setUint16(6, 20, true);
    w.setUint16(14, 0x21, true);
    w.setUint32(16, crc, true);
    w.setUint32(20, data.length, true);
    w.setUint32(24, data.length, true);
    w.setUint16(28, nb.length, true);
    w.setUint32(42, off, true);
    c.set(nb, 46);
    parts.push(h, data);
    central.push(c);
    off += h.length + data.length;
  }
  const cdSize = central.reduce((s, c) => s + c.length, 0);
  const e = new Uint8Array(22);
  const ev = new DataView(e.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, off, true);
  const all = [...parts, ...central, e];
  const out = new Uint8Array(all.reduce((s, p) => s + p.length, 0));
  let p = 0;
  for (const part of all) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}
