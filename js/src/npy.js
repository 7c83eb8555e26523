// .npy headers: parse (v1/v2/v3, little- or big-endian, C or Fortran order) and write (v1.0).

import { FormatError, SecurityError } from "./errors.js";

export const ITEMSIZE = { float32: 4, float16: 2, float64: 8, int32: 4, int64: 8, int8: 1, uint8: 1, bool: 1 };
const DESCR = { f4: "float32", f2: "float16", f8: "float64", i4: "int32", i8: "int64", i1: "int8", u1: "uint8", b1: "bool" };

/** Parse a .npy member's header: {dtype, shape, fortran, bigEndian, dataOffset}. */
export function parseNpyHeader(b, where) {
  if (b.length < 10 || b[0] !== 0x93 || String.fromCharCode(...b.subarray(1, 6)) !== "NUMPY") {
    throw new FormatError(`${where}: not a .npy array (bad magic)`);
  }
  const major = b[6];
  let len;
  let start;
  if (major === 1) {
    len = b[8] | (b[9] << 8);
    start = 10;
  } else if (major === 2 || major === 3) {
    len = (b[8] | (b[9] << 8) | (b[10] << 16)) + b[11] * 0x1000000;
    start = 12;
  } else {
    throw new FormatError(`${where}: unsupported .npy version ${major}`);
  }
  if (len > 10000 || start + len > b.length) throw new FormatError(`${where}: bad .npy header length ${len}`);
  const text = new TextDecoder("latin1").decode(b.subarray(start, start + len));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) throw new FormatError(`${where}: bad .npy header ${JSON.stringify(text.slice(0, 80))}`);
  const m = /^([<>|=])([a-z]\d+)$/.exec(descr[1]);
  if (!m || !(m[2] in DESCR)) throw new SecurityError(`${where}: .npy dtype ${descr[1]} is refused`);
  const dims = shape[1]
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length);
  if (!dims.every((d) => /^\d+$/.test(d))) throw new FormatError(`${where}: bad .npy shape (${shape[1]})`);
  return {
    dtype: DESCR[m[2]],
    shape: dims.map(Number),
    fortran: fortran[1] === "True",
    bigEndian: m[1] === ">",
    dataOffset: start + len,
  };
}

/** A .npy v1.0 file for a C-order little-endian array. */
export function writeNpy(dtype, shape, bytes) {
  const descr = { float32: "<f4", int32: "<i4", bool: "|b1", float16: "<f2", int8: "|i1" }[dtype];
  const shp = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let h = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shp}, }`;
  const total = 10 + h.length + 1;
  h += " ".repeat((64 - (total % 64)) % 64) + "\n";
  const out = new Uint8Array(10 + h.length + bytes.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, h.length & 0xff, h.length >> 8]);
  for (let i = 0; i < h.length; i++) out[10 + i] = h.charCodeAt(i);
  out.set(bytes, 10 + h.length);
  return out;
}
