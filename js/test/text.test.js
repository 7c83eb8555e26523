// Text inputs and the preprocessing ops (FORMAT.md 2.1, 5.48, 5.49): expected values worked by hand.

import assert from "node:assert/strict";
import { test } from "node:test";
import { InputError } from "../index.js";
import { Model } from "../src/model.js";
import { loadOps } from "../src/ops/index.js";

await loadOps(["TextVectorization", "Lookup"]); // new Model(...) needs its ops' modules loaded (load() does it)

const OOV = { oov_method: "farmhash", salt: null };

function model() {
  const doc = {
    format: "rnnconvert.bundle",
    format_version: "1.3.0",
    inputs: [{ name: "s", shape: [null, 1], dtype: "string" }],
    outputs: [
      { name: "ids", from: ["tv", 0], shape: [null, 4], dtype: "int64" },
      { name: "l", from: ["l", 0], shape: [null, 1], dtype: "int64" },
    ],
    nodes: [
      {
        name: "tv",
        op: "TextVectorization",
        inputs: [["s", 0]],
        config: { standardize: "lower_and_strip_punctuation", split: "whitespace", ngrams: null, output_sequence_length: 4, vocabulary: ["the", "ünï", "a b"], output_mode: "int", depth: 5 },
        weights: {},
        outputs: [{ shape: [null, 4], dtype: "int64" }],
      },
      {
        name: "l",
        op: "Lookup",
        inputs: [["s", 0]],
        config: { key_dtype: "string", vocabulary: ["x", "é"], mask_token: "", num_oov_indices: 1, output_mode: "int", depth: 4, ...OOV },
        weights: {},
        outputs: [{ shape: [null, 1], dtype: "int64" }],
      },
    ],
    weights: { file: "weights.npz", sha256: "", arrays: {} },
  };
  return new Model({ where: "test", doc, arrays: {} });
}

test("string inputs: TF's tokenisation and the lookups", () => {
  const m = model();
  const [ids, l] = m.predict({ data: ["THE Ünï, the!", "a\u00a0b the\tthe\nthe the", "é", ""], shape: [4, 1] });
  // lower is ASCII-only ("Ünï" stays, so it is OOV 1); the no-break space does not split
  assert.deepEqual(Array.from(ids.data), [2, 1, 2, 0, 1, 2, 2, 2, 1, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(l.data), [1, 1, 3, 0]); // mask "" -> 0, OOV -> 1, "é" -> 3
});

test("a string input refuses numbers", () => {
  assert.throws(() => model().predict({ data: [1, 2], shape: [2, 1] }), InputError);
  assert.throws(() => model().predict({ data: ["a", 3], shape: [2, 1] }), InputError);
});
