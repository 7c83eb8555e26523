// The EinsumDense equation grammar in JS refuses what spec/attn.py refuses (tests/test_attn_ops.py).
import assert from "node:assert/strict";
import { test } from "node:test";

import { FormatError } from "../src/errors.js";
import { einsumDense, parseEquation } from "../src/ops/attn.js";
import { Tensor } from "../src/tensor.js";

test("the equations Keras accepts parse", () => {
  for (const eq of ["abc,cd->abd", "...b,bc->...c", "ab...,bc->ac...", "abc,bcd->ad", "ab,b->a"]) parseEquation(eq);
});

test("equations outside the grammar are refused", () => {
  const bad = [
    "abc,cd->abd ",
    "abc,cd->abd;__import__('os')",
    "ab c,cd->abd",
    "abb,bd->ad",
    "abc,cd->abe",
    "abc,cde->abd",
    "a...,ab->b",
    "...b,...bc->...c",
    "abc,cd",
    "abc,cd->...abd",
    "a".repeat(200) + ",ab->b",
    7,
  ];
  for (const eq of bad) assert.throws(() => parseEquation(eq), FormatError, String(eq));
});

test("einsumDense contracts and adds a broadcast bias", () => {
  // x (1, 2, 3) . kernel (3, 2) -> (1, 2, 2), bias (2,)
  const x = new Tensor(Float32Array.from([1, 2, 3, 4, 5, 6]), [1, 2, 3]);
  const kernel = new Tensor(Float32Array.from([1, 0, 0, 1, 1, 1]), [3, 2]);
  const bias = new Tensor(Float32Array.from([10, 20]), [2]);
  const [y] = einsumDense([x], { kernel, bias }, { equation: "abc,cd->abd", activation: { type: "linear" } });
  assert.deepEqual([...y.shape], [1, 2, 2]);
  assert.deepEqual([...y.data], [14, 25, 20, 31]);
});
