// Matrix products on Float32Array, the runtime's hot loop.

/** out[M, N] (+)= a[M, K] @ b[K, N]; all row-major. ``accumulate`` keeps out's values.
 *  The i-k-j order streams b's rows; four k at a time keeps four b rows in flight. */
export function gemm(a, aOff, b, out, outOff, M, K, N, accumulate = false) {
  if (!accumulate) out.fill(0, outOff, outOff + M * N);
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
      if (av === 0) continue;
      const bk = k * N;
      for (let j = 0; j < N; j++) out[oi + j] += av * b[bk + j];
    }
  }
  return out;
}

/** x (..., K) @ w (K, N) -> Float32Array (..., N), plus bias (N) if given. */
export function project(x, rows, K, w, N, bias) {
  const out = new Float32Array(rows * N);
  gemm(x, 0, w, out, 0, rows, K, N);
  if (bias) addRowBias(out, rows, N, bias, 0);
  return out;
}

export function addRowBias(out, rows, N, bias, bOff) {
  for (let i = 0; i < rows; i++) {
    const o = i * N;
    for (let j = 0; j < N; j++) out[o + j] += bias[bOff + j];
  }
}
