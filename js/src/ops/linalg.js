// Matrix products on Float32Array, the runtime's hot loop. Plain JavaScript has no SIMD, so
// speed comes from keeping values in registers: sums are carried in local (double) variables
// and rounded to float32 once, when stored.

import { current } from "./wasm.js";

/** b (K, N) row-major -> its transpose (N, K). The transposes of arrays marked constant (a
 *  model's weights, which never change) are cached; others are transposed per call. */
const constants = new WeakSet();
const transposed = new WeakMap();

/** Mark ``arr`` as never changing again (its transpose may then be cached). */
export function markConstant(arr) {
  constants.add(arr);
  return arr;
}

/** Whether ``arr`` was marked constant. */
export function constantArray(arr) {
  return constants.has(arr);
}

export function transposeOf(b, K, N) {
  if (!(constants.has(b) && b.length === K * N)) return transpose(b, K, N);
  let c = transposed.get(b);
  if (c === undefined || c.K !== K) transposed.set(b, (c = { K, t: transpose(b, K, N) }));
  return c.t;
}

function transpose(b, K, N) {
  const t = new Float32Array(K * N);
  for (let k = 0; k < K; k++) {
    const bk = k * N;
    for (let j = 0; j < N; j++) t[j * K + k] = b[bk + j];
  }
  return t;
}

/** A constant b (K, N) in panels of 8 columns, (ceil(N/8), K, 8), zero-padded; cached (with
 *  K: one array read as two shapes gets the layout of the shape asked for). */
const panels = new WeakMap();

function panelsOf(b, K, N) {
  let c = panels.get(b);
  if (c === undefined || c.K !== K) panels.set(b, (c = { K, p: pack8(b, K, N) }));
  return c.p;
}

/** Whether constant b was used in an earlier call (beginCall) than this one, marking it used.
 *  A constant's packed layouts are made from the model's second call on: the first call runs
 *  every product, its recurrent steps' too, through one kernel (gemmRows). A cold process runs
 *  a function interpreted, ~50x slower, until V8 has seen it hot and compiled it (~10 ms of
 *  interpreted work each, more under load): one kernel warming up, not three plus the packing,
 *  is most of what makes the first call fast. Later calls pack and take the faster kernels. */
const firstUse = new WeakMap(); // constant -> the call it was first used in
let call = 0;

/** A model call begins (the runtime's predict/step; a benchmark's loop): constants used in an
 *  earlier call may now get their packed layouts. ``wasmKernels``: the calling model's
 *  (wasm.js), which then run its products with a constant b; null: JavaScript runs them. */
export function beginCall(wasmKernels = null) {
  call++;
  current.kernels = wasmKernels;
}

function usedBefore(b) {
  const first = firstUse.get(b);
  if (first === undefined) {
    firstUse.set(b, call);
    return false;
  }
  return first !== call;
}

function pack8(b, K, N) {
  const p = new Float32Array(K * ((N + 7) & ~7));
  for (let k = 0; k < K; k++) {
    const bk = k * N;
    for (let j = 0; j < N; j++) p[(j >> 3) * 8 * K + k * 8 + (j & 7)] = b[bk + j];
  }
  return p;
}

/** Element-wise passes over WASM_ELEMENTWISE to WASM_ELEMENTWISE_MAX values run in WebAssembly
 *  in a model's call (wasm.js inPlace: the copies cost less than a cold call's interpreted
 *  loop). Larger ones stay in JavaScript, which V8 optimizes within the loop, rather than grow
 *  the kernels' memory, which never shrinks, to their size. */
export const WASM_ELEMENTWISE = 1024;
export const WASM_ELEMENTWISE_MAX = 1 << 20;
export const inWasmRange = (n) => n >= WASM_ELEMENTWISE && n <= WASM_ELEMENTWISE_MAX;

/** out[M, N] (+)= a[M, K] @ b[K, N]; all row-major. ``accumulate`` keeps out's values.
 *  A constant b in a call of a model with WebAssembly kernels: there (wasm.js). Else in JavaScript:
 *  Four or more rows: 4 x 4 blocks of dot products over b's transpose (16 sums in registers,
 *  each a and b value loaded once per block; the transpose is cached for a constant b used in
 *  an earlier call, made per call for 16+ rows of any other). Fewer rows of a constant b used before
 *  (a recurrent step at batch 1): 8 dot products at a time over b packed in panels of 8
 *  columns (one contiguous stream). Else the i-k-j order streaming b's rows, 4 k at a time. */
export function gemm(a, aOff, b, out, outOff, M, K, N, accumulate = false) {
  const constant = b.length === K * N && constants.has(b);
  const kernels = current.kernels;
  if (constant && kernels !== null && kernels.gemm(a, aOff, b, out, outOff, M, K, N, accumulate)) return out;
  const seen = constant && usedBefore(b);
  if (M >= 4 && K >= 4 && N >= 4 && b.length >= K * N && (seen || (M >= 16 && !constant))) {
    const bt = transposeOf(b, K, N);
    const M4 = M & ~3;
    gemmBlocked(a, aOff, bt, out, outOff, M4, K, N, accumulate);
    if (M4 < M) gemm(a, aOff + M4 * K, b, out, outOff + M4 * N, M - M4, K, N, accumulate);
    return out;
  }
  const p = seen && M < 4 ? panelsOf(b, K, N) : null;
  if (p !== null) {
    for (let i = 0; i < M; i++) gemvPanels(a, aOff + i * K, p, out, outOff + i * N, K, N, accumulate);
  } else {
    gemmRows(a, aOff, b, out, outOff, M, K, N, accumulate);
  }
  return out;
}

/** out[N] (+)= a[K] @ b, b as panelsOf gives it: whole panels here, a last partial one apart. */
function gemvPanels(a, aOff, p, out, outOff, K, N, accumulate) {
  const N8 = N & ~7;
  let q = 0;
  for (let j = 0; j < N8; j += 8) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    for (let k = 0; k < K; k++, q += 8) {
      const x = a[aOff + k];
      s0 += x * p[q]; s1 += x * p[q + 1]; s2 += x * p[q + 2]; s3 += x * p[q + 3];
      s4 += x * p[q + 4]; s5 += x * p[q + 5]; s6 += x * p[q + 6]; s7 += x * p[q + 7];
    }
    const o = outOff + j;
    if (accumulate) {
      out[o] += s0; out[o + 1] += s1; out[o + 2] += s2; out[o + 3] += s3;
      out[o + 4] += s4; out[o + 5] += s5; out[o + 6] += s6; out[o + 7] += s7;
    } else {
      out[o] = s0; out[o + 1] = s1; out[o + 2] = s2; out[o + 3] = s3;
      out[o + 4] = s4; out[o + 5] = s5; out[o + 6] = s6; out[o + 7] = s7;
    }
  }
  if (N8 < N) gemvLastPanel(a, aOff, p, out, outOff, K, N, accumulate);
}

function gemvLastPanel(a, aOff, p, out, outOff, K, N, accumulate) {
  const j0 = N & ~7;
  const q0 = j0 * K;
  for (let j = j0; j < N; j++) {
    let s = 0;
    for (let k = 0, q = q0 + j - j0; k < K; k++, q += 8) s += a[aOff + k] * p[q];
    out[outOff + j] = accumulate ? out[outOff + j] + s : s;
  }
}

function gemmRows(a, aOff, b, out, outOff, M, K, N, accumulate) {
  if (!accumulate) for (let i = outOff, e = outOff + M * N; i < e; i++) out[i] = 0;
  for (let i = 0; i < M; i++) {
    const ai = aOff + i * K;
    const oi = outOff + i * N;
    let k = 0;
    for (; k + 3 < K; k += 4) {
      const a0 = a[ai + k];
      const a1 = a[ai + k + 1];
      const a2 = a[ai + k + 2];
      const a3 = a[ai + k + 3];
      const b0 = k * N;
      const b1 = b0 + N;
      const b2 = b1 + N;
      const b3 = b2 + N;
      for (let j = 0; j < N; j++) {
        out[oi + j] += a0 * b[b0 + j] + a1 * b[b1 + j] + a2 * b[b2 + j] + a3 * b[b3 + j];
      }
    }
    for (; k < K; k++) {
      const av = a[ai + k];
      const bk = k * N;
      for (let j = 0; j < N; j++) out[oi + j] += av * b[bk + j];
    }
  }
}

/** M a multiple of 4; bt is b transposed (N, K). */
function gemmBlocked(a, aOff, bt, out, outOff, M, K, N, accumulate) {
  const N4 = N & ~3;
  for (let i = 0; i < M; i += 4) {
    const r0 = aOff + i * K;
    const r1 = r0 + K;
    const r2 = r1 + K;
    const r3 = r2 + K;
    const o0 = outOff + i * N;
    const o1 = o0 + N;
    const o2 = o1 + N;
    const o3 = o2 + N;
    for (let j = 0; j < N4; j += 4) {
      const c0 = j * K;
      const c1 = c0 + K;
      const c2 = c1 + K;
      const c3 = c2 + K;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      for (let k = 0; k < K; k++) {
        const w0 = bt[c0 + k];
        const w1 = bt[c1 + k];
        const w2 = bt[c2 + k];
        const w3 = bt[c3 + k];
        let x = a[r0 + k];
        s00 += x * w0; s01 += x * w1; s02 += x * w2; s03 += x * w3;
        x = a[r1 + k];
        s10 += x * w0; s11 += x * w1; s12 += x * w2; s13 += x * w3;
        x = a[r2 + k];
        s20 += x * w0; s21 += x * w1; s22 += x * w2; s23 += x * w3;
        x = a[r3 + k];
        s30 += x * w0; s31 += x * w1; s32 += x * w2; s33 += x * w3;
      }
      if (accumulate) {
        out[o0 + j] += s00; out[o0 + j + 1] += s01; out[o0 + j + 2] += s02; out[o0 + j + 3] += s03;
        out[o1 + j] += s10; out[o1 + j + 1] += s11; out[o1 + j + 2] += s12; out[o1 + j + 3] += s13;
        out[o2 + j] += s20; out[o2 + j + 1] += s21; out[o2 + j + 2] += s22; out[o2 + j + 3] += s23;
        out[o3 + j] += s30; out[o3 + j + 1] += s31; out[o3 + j + 2] += s32; out[o3 + j + 3] += s33;
      } else {
        out[o0 + j] = s00; out[o0 + j + 1] = s01; out[o0 + j + 2] = s02; out[o0 + j + 3] = s03;
        out[o1 + j] = s10; out[o1 + j + 1] = s11; out[o1 + j + 2] = s12; out[o1 + j + 3] = s13;
        out[o2 + j] = s20; out[o2 + j + 1] = s21; out[o2 + j + 2] = s22; out[o2 + j + 3] = s23;
        out[o3 + j] = s30; out[o3 + j + 1] = s31; out[o3 + j + 2] = s32; out[o3 + j + 3] = s33;
      }
    }
    for (let j = N4; j < N; j++) {
      const c = j * K;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let k = 0; k < K; k++) {
        const w = bt[c + k];
        s0 += a[r0 + k] * w;
        s1 += a[r1 + k] * w;
        s2 += a[r2 + k] * w;
        s3 += a[r3 + k] * w;
      }
      out[o0 + j] = accumulate ? out[o0 + j] + s0 : s0;
      out[o1 + j] = accumulate ? out[o1 + j] + s1 : s1;
      out[o2 + j] = accumulate ? out[o2 + j] + s2 : s2;
      out[o3 + j] = accumulate ? out[o3 + j] + s3 : s3;
    }
  }
}

/** x (..., K) @ w (K, N) -> Float32Array (..., N), plus bias (N) if given. */
export function project(x, rows, K, w, N, bias) {
  const out = new Float32Array(rows * N);
  gemm(x, 0, w, out, 0, rows, K, N);
  if (bias) addRowBias(out, rows, N, bias, 0);
  return out;
}

export function addRowBias(out, rows, N, bias, bOff) {
  const k = current.kernels;
  if (k !== null && inWasmRange(rows * N) && k.addRows(out, rows, N, bias, bOff)) return;
  for (let i = 0; i < rows; i++) {
    const o = i * N;
    for (let j = 0; j < N; j++) out[o + j] += bias[bOff + j];
  }
}
