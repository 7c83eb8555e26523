// Bad bundles and bad inputs fail with the runtime's own error types and clear messages.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { FormatError, InputError, ResourceError, SecurityError, VersionError, load } from "rnnconvert"; // dist/rnnconvert.js

const DIR = fileURLToPath(new URL("../../tests/data/golden/1.1.0/bundle/", import.meta.url));
const json = () => JSON.parse(readFileSync(DIR + "model.json", "utf8"));
const weights = readFileSync(DIR + "weights.npz");
const buffers = (doc, w = weights) => ({ "model.json": JSON.stringify(doc), "weights.npz": w });

test("loads from in-memory buffers", async () => {
  const model = await load(buffers(json()));
  assert.ok(model.check().ok);
});

test("a changed weights file fails its SHA-256", async () => {
  const w = Buffer.from(weights);
  w[w.length - 100] ^= 1;
  await assert.rejects(load(buffers(json(), w)), (e) => e instanceof FormatError && /SHA-256/.test(e.message));
});

test("a newer major version is refused", async () => {
  const doc = json();
  doc.format_version = "2.0.0";
  await assert.rejects(load(buffers(doc)), VersionError);
});

test("an unknown op is named", async () => {
  const doc = json();
  doc.nodes[0].op = "Teleport";
  await assert.rejects(load(buffers(doc)), (e) => e instanceof FormatError && /'Teleport'/.test(e.message));
});

test("a weights file outside the bundle is refused", async () => {
  const doc = json();
  doc.weights.file = "../weights.npz";
  await assert.rejects(load(buffers(doc)), SecurityError);
});

test("a dangling reference is refused at load", async () => {
  const doc = json();
  doc.nodes[1].inputs = [["nowhere", 0]];
  await assert.rejects(load(buffers(doc)), (e) => e instanceof FormatError && /nowhere/.test(e.message));
});

test("a header that disagrees with model.json is refused", async () => {
  const doc = json();
  const key = Object.keys(doc.weights.arrays).find((k) => k.endsWith("kernel"));
  doc.weights.arrays[key].shape = [1, 2, 3];
  await assert.rejects(load(buffers(doc)), FormatError);
});

test("an offset that is not where the data lies is refused", async () => {
  const doc = json();
  const key = Object.keys(doc.weights.arrays).find((k) => k.endsWith("kernel"));
  const spec = doc.weights.arrays[key];
  spec.offset = 0;
  spec.nbytes = spec.shape.reduce((a, b) => a * b, 1) * 4;
  await assert.rejects(load(buffers(doc)), (e) => e instanceof FormatError && /offset/.test(e.message));
});

test("a bound on the weights' size is honoured", async () => {
  await assert.rejects(load(buffers(json()), { maxWeightBytes: 1000 }), ResourceError);
});

test("wrong inputs are InputErrors naming the input", async () => {
  const model = await load(DIR);
  const [a, b] = model.inputs;
  assert.throws(() => model.predict([{ data: new Float32Array(3), shape: [3] }, { data: new Int32Array(6), shape: [1, 6] }]), (e) => e instanceof InputError && e.message.includes(a.name));
  assert.throws(() => model.predict({ [a.name]: null }), InputError);
  void b;
});

test("a call over maxElements is refused before computing", async () => {
  const model = await load(DIR, { maxElements: 10 });
  const x = model.inputs.map((i) => {
    const shape = i.shape.map((d) => (d === null ? 2 : d));
    shape[0] = 1;
    const n = shape.reduce((p, q) => p * q, 1);
    return { data: i.dtype.startsWith("int") ? new Int32Array(n) : new Float32Array(n), shape };
  });
  assert.throws(() => model.predict(x), ResourceError);
});
