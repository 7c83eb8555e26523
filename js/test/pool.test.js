// The pool helper's ops (ops/pool.js) on small hand-checked cases and their load-time checks;
// Keras parity is tests/test_js_runtime.py on the zoo cases of tests/cases_pool.py.

import assert from "node:assert/strict";
import { test } from "node:test";
import { FormatError, InputError } from "../src/errors.js";
import { adaptivePool, adaptiveWindows, checkPoolNode, cropping, poolNd, upsample3d, zeroPadding } from "../src/ops/pool.js";
import { Tensor } from "../src/tensor.js";

const t = (values, shape) => new Tensor(Float32Array.from(values), shape);

test("adaptive windows are [floor(i n / o), ceil((i + 1) n / o))", () => {
  assert.deepEqual(adaptiveWindows(7, 5), [[0, 2], [1, 3], [2, 5], [4, 6], [5, 7]]);
  assert.deepEqual(adaptiveWindows(3, 5), [[0, 1], [0, 2], [1, 2], [1, 3], [2, 3]]);
});

test("adaptive average pooling over a (1, 7, 1) sequence to 3 cells", () => {
  const x = t([1, 2, 3, 4, 5, 6, 7], [1, 7, 1]);
  const [y] = adaptivePool([x], {}, { mode: "average", output_size: [3], data_format: "channels_last" });
  assert.deepEqual(Array.from(y.data), [2, 4, 6]); // windows [0,3) [2,5) [4,7)
});

test("same max pooling never picks the padding", () => {
  const x = t(Array.from({ length: 12 }, (_, i) => -1 - i), [1, 2, 3, 2, 1]);
  const [y] = poolNd([x], {}, { mode: "max", pool_size: [2, 2, 2], strides: [1, 1, 1], padding: "same", data_format: "channels_last" });
  assert.deepEqual(y.shape, [1, 2, 3, 2, 1]);
  assert.ok(Array.from(y.data).every((v) => v < 0));
});

test("padding, cropping and upsampling on a channels-first image", () => {
  const x = t([1, 2, 3, 4], [1, 1, 2, 2]);
  const cfg = { data_format: "channels_first" };
  const [p] = zeroPadding([x], {}, { ...cfg, padding: [[1, 0], [0, 1]] });
  assert.deepEqual(p.shape, [1, 1, 3, 3]);
  assert.deepEqual(Array.from(p.data), [0, 0, 0, 1, 2, 0, 3, 4, 0]);
  const [c] = cropping([p], {}, { ...cfg, cropping: [[1, 0], [0, 1]] });
  assert.deepEqual(Array.from(c.data), [1, 2, 3, 4]);
  const v = t([1, 2], [1, 1, 1, 2, 1]);
  const [u] = upsample3d([v], {}, { size: [2, 1, 2], data_format: "channels_last" });
  assert.deepEqual(u.shape, [1, 2, 1, 4, 1]);
  assert.deepEqual(Array.from(u.data), [1, 1, 2, 2, 1, 1, 2, 2]);
});

test("bad inputs and configs are the runtime's own errors", () => {
  assert.throws(() => cropping([t([1, 2], [1, 2, 1, 1])], {}, { cropping: [[2, 1], [0, 0]] }), InputError);
  assert.throws(() => checkPoolNode("ZeroPadding", { padding: [[1, -1], [0, 0]] }, "node 'z'"), FormatError);
  assert.throws(() => checkPoolNode("Pool3D", { mode: "max", pool_size: [2, 2], strides: [1, 1, 1], padding: "same" }, "node 'p'"), FormatError);
  assert.throws(() => checkPoolNode("GlobalPool3D", { mode: "max", keepdims: 1 }, "node 'g'"), FormatError);
  assert.throws(() => checkPoolNode("AdaptivePool", { mode: "max", output_size: [] }, "node 'a'"), FormatError);
});
