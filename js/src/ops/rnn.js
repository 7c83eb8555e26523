// The scan over time shared by every recurrent op (as rnnconvert/runtime/ops/rnn.py):
// a cell step on one timestep of pre-projected input, Keras's rules for go_backwards,
// masks and return_sequences around it.

import { Tensor, zeros } from "../tensor.js";
import { activationFn, isElementwise, scalarFn } from "./activations.js";
import { gemm } from "./linalg.js";

/**
 * Run ``step(t, states, k) -> [out Float32Array(B*F), newStates]`` over T steps (k counts
 * the steps taken: a step may write into buffers it wrote two steps before, see stepBuffers).
 * Masked steps keep every state; their output is the previous output (zeros, or
 * ``initialOutput`` when streaming continues), or zeros with zeroOutputForMask.
 * Returns [y Tensor, finalStates Float32Array[]]: y (B, T, ...feat) or (B, ...feat).
 */
export function scan(step, { B, T, feat, states, mask, goBackwards, returnSequences, zeroOutputForMask, initialOutput }) {
  let F = 1;
  for (const d of feat) F *= d;
  let prev = initialOutput ? Float32Array.from(initialOutput.data) : new Float32Array(B * F);
  const seq = returnSequences ? new Float32Array(B * T * F) : null;
  const m = mask ? mask.data : null;
  for (let k = 0; k < T; k++) {
    const t = goBackwards ? T - 1 - k : k;
    let [out, next] = step(t, states, k);
    if (m) {
      const kept = next.map((n, i) => {
        const s = states[i];
        const per = n.length / B;
        const merged = new Float32Array(n.length);
        for (let b = 0; b < B; b++) {
          const src = m[b * T + t] ? n : s;
          merged.set(src.subarray(b * per, (b + 1) * per), b * per);
        }
        return merged;
      });
      const o = new Float32Array(B * F);
      for (let b = 0; b < B; b++) {
        if (m[b * T + t]) o.set(out.subarray(b * F, (b + 1) * F), b * F);
        else if (!zeroOutputForMask) o.set(prev.subarray(b * F, (b + 1) * F), b * F);
      }
      out = o;
      next = kept;
    }
    states = next;
    prev = out;
    if (seq) {
      for (let b = 0; b < B; b++) seq.set(out.subarray(b * F, (b + 1) * F), (b * T + k) * F);
    }
  }
  const y = seq ? new Tensor(seq, [B, T, ...feat]) : new Tensor(prev, [B, ...feat]);
  return [y, states];
}

/**
 * ``count`` state buffers of ``n`` floats for step k, alternating between two sets: step k
 * reads the states of step k-1 and writes the other set, and scan keeps nothing older (masked
 * steps merge into new arrays), so no state is allocated per step.
 */
export function stepBuffers(n, count) {
  const sets = [0, 1].map(() => Array.from({ length: count }, () => new Float32Array(n)));
  return (k) => sets[k & 1];
}

/** A gate activation applied in place to columns [off, off+H) of every row of z (B, G). */
export function gateActivation(spec) {
  if (isElementwise(spec)) {
    const fn = scalarFn(spec);
    return (z, B, G, off, H) => {
      if (fn === null) return;
      for (let b = 0; b < B; b++) {
        const o = b * G + off;
        for (let j = 0; j < H; j++) z[o + j] = fn(z[o + j]);
      }
    };
  }
  const tf = activationFn(spec); // softmax-like: on the (B, H) gate as the NumPy runtime does
  return (z, B, G, off, H) => {
    const g = zeros([B, H]);
    for (let b = 0; b < B; b++) g.data.set(z.subarray(b * G + off, b * G + off + H), b * H);
    const r = tf(g).data;
    for (let b = 0; b < B; b++) z.set(r.subarray(b * H, (b + 1) * H), b * G + off);
  };
}

/** The (B, T, G) projected input x @ kernel + bias as a Float32Array. */
export function projectInput(x, kernel, bias, biasOff = 0) {
  const [B, T, D] = x.shape;
  const G = kernel.shape[1];
  const xs = new Float32Array(B * T * G);
  gemm(x.data, 0, kernel.data, xs, 0, B * T, D, G);
  if (bias) {
    const bd = bias.data;
    for (let r = 0; r < B * T; r++) for (let j = 0; j < G; j++) xs[r * G + j] += bd[biasOff + j];
  }
  return xs;
}


/** Initial states: the given ones (Tensors) or zeros. */
export function initialStates(initialState, count, n) {
  if (initialState && initialState.length) return initialState.map((s) => Float32Array.from(s.data));
  return Array.from({ length: count }, () => new Float32Array(n));
}

export function stateTensors(states, shape) {
  return states.map((s) => new Tensor(s, shape.slice()));
}

/**
 * Run a recurrent layer's `step` over time with the layer's config (go_backwards,
 * return_sequences, zero_output_for_mask) and the runtime's extras (mask, initial state,
 * a carried output), and return [output, ...states] as tensors of shape [B, H].
 */
export function runLayer(step, cfg, extra, { B, T, H, nStates }) {
  const [y, states] = scan(step, {
    B,
    T,
    feat: [H],
    states: initialStates(extra.initialState, nStates, B * H),
    mask: extra.mask,
    goBackwards: !!cfg.go_backwards,
    returnSequences: !!cfg.return_sequences,
    zeroOutputForMask: !!cfg.zero_output_for_mask,
    initialOutput: extra.initialOutput,
  });
  return [y, ...stateTensors(states, [B, H])];
}

/**
 * A recurrent layer run by ``scanner`` (wasm.js recurrentScan: the whole scan in WebAssembly)
 * when it can, as runLayer returns it; null when it cannot (the op runs its JavaScript scan).
 */
export function wasmLayer(scanner, kind, x, w, cfg, extra, { B, T, H, nStates, bias }, isConstant) {
  const D = x.shape[2];
  if (x.shape.length !== 3 || w.kernel.shape[0] !== D) return null;
  const states = initialStates(extra.initialState, nStates, B * H);
  const got = scanner(kind, { x: x.data, D, kernel: w.kernel.data, U: w.recurrent_kernel.data, bias, states, B, T, H, cfg, extra }, isConstant);
  if (got === null) return null;
  const y = got.seq ? new Tensor(got.seq, [B, T, H]) : new Tensor(got.states[0].slice(), [B, H]);
  return [y, ...stateTensors(got.states, [B, H])];
}
