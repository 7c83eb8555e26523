// Keras 3's mask-aware element-wise merges Multiply, Maximum, Minimum (ops/masked_merge.py).

import { FormatError } from "../errors.js";
import { Tensor, asBool, binary, reshape, where } from "../tensor.js";

const or = (a, b) => binary(a, b, (p, q) => (p || q ? 1 : 0), "bool");
const nanMax = (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b));
const nanMin = (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b));

/** args: x_0 … x_{n-1}, then the mask of each input flagged in cfg.masked, in order. */
export function maskedMerge(args, w, cfg) {
  const flags = cfg.masked;
  const n = flags.length;
  const nm = flags.filter(Boolean).length;
  if (args.length !== n + nm) {
    throw new FormatError(`MaskedMerge: ${n} inputs with ${nm} masks expected, got ${args.length} arrays`);
  }
  const xs = args.slice(0, n);
  let next = n;
  const masks = flags.map((f) => (f ? reshape(asBool(args[next]), [...args[next++].shape, 1]) : null));
  const one = new Tensor(new Float32Array([1]), []);
  const zero = new Tensor(new Float32Array([0]), []);
  if (cfg.mode === "mul") {
    let out = null;
    let union = null;
    xs.forEach((x, i) => {
      const m = masks[i];
      if (m) {
        x = where(m, x, one);
        union = union ? or(union, m) : m;
      }
      out = out ? binary(out, x, (a, b) => a * b) : x;
    });
    if (masks.every((m) => m)) out = where(union, out, zero);
    return [out];
  }
  const fold = { max: nanMax, min: nanMin }[cfg.mode];
  if (!fold) throw new FormatError(`MaskedMerge mode '${cfg.mode}' is not one of mul, max, min`);
  let out = xs[0];
  let run = masks[0];
  for (let i = 1; i < n; i++) {
    let x = xs[i];
    const m = masks[i];
    if (m) x = where(m, x, out);
    if (run) out = where(run, out, x);
    run = m && run ? or(run, m) : null;
    out = binary(out, x, fold);
  }
  return [out];
}
