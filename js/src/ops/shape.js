// Flatten, Reshape, Permute, RepeatVector, Transpose (ops/shape.py, ops/transpose.py).

import { reshape, size, transpose as tr, zeros } from "../tensor.js";

export function flatten([x]) {
  return [reshape(x, [x.shape[0], size(x.shape.slice(1))])];
}

export function reshapeOp([x], w, cfg) {
  return [reshape(x, [x.shape[0], ...cfg.target_shape])];
}

export function permute([x], w, cfg) {
  return [tr(x, [0, ...cfg.dims])];
}

export function repeatVector([x], w, cfg) {
  const [B, D] = x.shape;
  const n = cfg.n;
  const out = zeros([B, n, D], x.dtype);
  for (let b = 0; b < B; b++) {
    const row = x.data.subarray(b * D, (b + 1) * D);
    for (let t = 0; t < n; t++) out.data.set(row, (b * n + t) * D);
  }
  return [out];
}

export function transposeOp([x], w, cfg) {
  return [tr(x, cfg.perm)];
}
