// dist/rnnconvert.js, the package's entry point, is index.js and src/ bundled by
// tools/build_dist.mjs: the committed file is what the current sources build to, the package
// name resolves to it, and it exports what index.js does. (golden.test.js runs the golden
// bundles through it; the unit tests import src/.)

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { OUT, bundleText } from "../tools/build_dist.mjs";

test("dist/rnnconvert.js is what the sources build to (node js/tools/build_dist.mjs)", async () => {
  assert.ok(readFileSync(OUT, "utf8") === (await bundleText()), "dist/rnnconvert.js is stale: run node js/tools/build_dist.mjs");
});

test("the package's entry point is dist/rnnconvert.js, with index.js's exports", async () => {
  assert.match(import.meta.resolve("rnnconvert"), /\/dist\/rnnconvert\.js$/);
  const dist = await import("rnnconvert");
  const src = await import("../index.js");
  assert.deepEqual(Object.keys(dist).sort(), Object.keys(src).sort());
  assert.notEqual(dist.load, src.load, "a separate copy of the code");
  assert.equal(typeof dist.Model.prototype.check, "function");
});
