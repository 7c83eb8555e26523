// The op table loads its modules on demand (src/ops/index.js): every listed op type resolves
// to a function of its module, the modules' own op tables list exactly the ops named for them,
// and a model loads only the families its bundle uses.

import assert from "node:assert/strict";
import { test } from "node:test";
import { OPS, OP_TYPES, loadedModule, loadOps } from "../src/ops/index.js";
import { Model } from "../src/model.js";
import { RnnConvertError } from "../src/errors.js";

const DOC = {
  format: "rnnconvert.bundle",
  format_version: "1.3.0",
  inputs: [{ name: "x", shape: [null, 3, 2], dtype: "float32" }],
  outputs: [{ name: "y", from: ["r", 0], shape: [null, 3, 2], dtype: "float32" }],
  nodes: [{ name: "r", op: "Reverse", inputs: [["x", 0]], config: { axis: 1 }, weights: {}, outputs: [{ shape: [null, 3, 2], dtype: "float32" }] }],
  weights: { file: "weights.npz", sha256: "", arrays: {} },
};

test("new Model before its ops' modules are loaded: a clear error naming loadOps", { skip: "Reverse" in OPS && "loaded by an earlier test in this process" }, () => {
  assert.throws(() => new Model({ where: "test", doc: DOC, arrays: {} }), (e) => e instanceof RnnConvertError && /loadOps/.test(e.message));
});

test("loadOps loads a family; a model of it builds and runs", async () => {
  await loadOps(["Reverse", "no-such-op", 7]);
  assert.equal(typeof OPS.Reverse, "function");
  assert.ok(loadedModule("sequence"));
  const m = new Model({ where: "test", doc: DOC, arrays: {} });
  assert.deepEqual(Array.from(m.predict({ data: Float32Array.of(1, 2, 3, 4, 5, 6), shape: [1, 3, 2] }).data), [5, 6, 3, 4, 1, 2]);
});

test("every op type resolves to a function; the modules' op tables match the lists", async () => {
  await loadOps(OP_TYPES);
  for (const op of OP_TYPES) assert.equal(typeof OPS[op], "function", op);
  assert.deepEqual(Object.keys(loadedModule("text").TEXT_OPS).sort(), OP_TYPES.filter((op) => op in loadedModule("text").TEXT_OPS).sort());
  for (const [mod, table] of [["text", "TEXT_OPS"], ["tensor_ops", "TENSOR_OPS"]]) {
    for (const op of Object.keys(loadedModule(mod)[table])) assert.ok(OP_TYPES.includes(op), `${op} of ${mod}.js is not in OP_TYPES`);
  }
  assert.equal(new Set(OP_TYPES).size, OP_TYPES.length);
});
